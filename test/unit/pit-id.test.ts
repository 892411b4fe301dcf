import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePit, encodePit, keepAliveMs, shardDoc, shardSearchAfter, withShardDocTiebreaker } from '../../src/data/pit-id.ts';
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

  it('end every sort with the _shard_doc tiebreaker, and turn it into the _doc each shard starts after', () => {
    expect(withShardDocTiebreaker({ query: {} }).sort).toEqual(['_score', { _doc: 'asc' }]);
    expect(withShardDocTiebreaker({ sort: { n: 'desc' } }).sort).toEqual([{ n: 'desc' }, { _doc: 'asc' }]);
    expect(() => withShardDocTiebreaker({ sort: ['_shard_doc'] })).toThrow(ApiError);
    const after = [7, shardDoc(1, 42)];
    // Shard 0 comes before shard 1: none of its ties are after; shard 2's all are.
    expect(shardSearchAfter(after, 0)).toEqual([7, Number.MAX_SAFE_INTEGER]);
    expect(shardSearchAfter(after, 1)).toEqual([7, 42]);
    expect(shardSearchAfter(after, 2)).toEqual([7, -1]);
    for (const bad of [[7, 'x'], [7, -1], [7, 1.5], []]) expect(() => shardSearchAfter(bad, 0), JSON.stringify(bad)).toThrow(ApiError);
  });
});
