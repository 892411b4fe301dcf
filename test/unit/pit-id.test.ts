import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePit, encodePit, keepAliveMs } from '../../src/data/pit-id.ts';
import { ApiError } from '../../src/data/errors.ts';

describe('point-in-time ids', () => {
  it('decode what they encode, and refuse anything else with a 400', () => {
    const shards = [{ index: 'a', uuid: 'u1', shard: 0, node: 'n1', allocationId: 'a1.0', reader: 'p0' }];
    expect(decodePit(encodePit(shards))).toEqual(shards);
    const malformed = [undefined, '', 'x', 42, Buffer.from('{"v":2,"shards":[]}').toString('base64url'), Buffer.from('{"v":1,"shards":[{"index":1}]}').toString('base64url'), Buffer.from('[1]').toString('base64url')];
    for (const id of malformed) expect(() => decodePit(id), String(id)).toThrow(ApiError);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url'))), (id) => {
        try {
          decodePit(id);
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('take keep_alive as a time value up to a day', () => {
    expect(keepAliveMs('5m')).toBe(300_000);
    expect(keepAliveMs(1500)).toBe(1500);
    for (const bad of ['forever', '0s', '25h', -1, null]) expect(() => keepAliveMs(bad), String(bad)).toThrow(ApiError);
  });
});
