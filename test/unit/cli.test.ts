/** The CLI's pure parts: finding the cluster, NDJSON, the synthetic sample. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError, EXIT, resolveTarget } from '../../src/cli/common.ts';
import { parseNdjson } from '../../src/cli/documents.ts';
import { synthetic } from '../../src/cli/sample-data.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['SHOAL_NATS', 'SHOAL_CLUSTER', 'SHOAL_DATA_DIR']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('resolveTarget', () => {
  it('takes --nats, else $SHOAL_NATS, else the shoal-up.json of $SHOAL_DATA_DIR; cluster likewise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-cli-unit-'));
    try {
      delete process.env.SHOAL_NATS;
      delete process.env.SHOAL_CLUSTER;
      process.env.SHOAL_DATA_DIR = dir;
      expect(() => resolveTarget({})).toThrow(CliError);
      try {
        resolveTarget({});
      } catch (err) {
        expect((err as CliError).exitCode).toBe(EXIT.unreachable);
      }
      writeFileSync(join(dir, 'shoal-up.json'), JSON.stringify({ pid: 999_999_999, nats: 'nats://127.0.0.1:5555', cluster: 'demo', nodes: {} }));
      expect(resolveTarget({})).toMatchObject({ servers: ['nats://127.0.0.1:5555'], cluster: 'demo' });
      expect(resolveTarget({}).source).toMatch(/not running any more/);
      process.env.SHOAL_NATS = 'nats://a:1,nats://b:2';
      expect(resolveTarget({})).toMatchObject({ servers: ['nats://a:1', 'nats://b:2'], cluster: 'demo', source: '$SHOAL_NATS' });
      process.env.SHOAL_CLUSTER = 'env';
      expect(resolveTarget({ nats: 'nats://c:3', cluster: 'flag' })).toMatchObject({ servers: ['nats://c:3'], cluster: 'flag', source: '--nats' });
      expect(resolveTarget({ nats: 'nats://c:3' }).cluster).toBe('env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseNdjson', () => {
  it('reads one object per non-empty line', () => {
    expect(parseNdjson('{"index":{"_id":"1"}}\n{"a":1}\n\n{"delete":{"_id":"2"}}\n')).toEqual([{ index: { _id: '1' } }, { a: 1 }, { delete: { _id: '2' } }]);
  });
  it('rejects bad lines and empty input as usage errors, naming the line', () => {
    for (const [text, re] of [
      ['{"a":1}\n{oops', /line 2 is not valid JSON/],
      ['[1,2]', /line 1 must be a JSON object/],
      ['\n\n', /no bulk lines/],
    ] as const) {
      try {
        parseNdjson(text);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(CliError);
        expect((err as CliError).exitCode).toBe(EXIT.usage);
        expect((err as Error).message).toMatch(re);
      }
    }
  });
});

describe('synthetic sample', () => {
  it('is deterministic, with unique ids and the WordNet fields', () => {
    const a = synthetic(500, 42);
    expect(synthetic(500, 42)).toEqual(a);
    expect(new Set(a.map((d) => d.id)).size).toBe(500);
    for (const d of a) expect(Object.keys(d).sort()).toEqual(['category', 'gloss', 'id', 'words']);
  });
});
