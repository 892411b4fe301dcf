import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const ids = (e: ShardEngine, query: unknown) => e.search({ query, size: 100 }).hits.hits.map((h) => h._id).sort();

describe('engine: mapping new fields into a live index (put-mapping)', () => {
  it('a field searched before it was mapped is analysed by its new analyzer afterwards', () => {
    const e = new ShardEngine({ mappings: { dynamic: false }, settings: { analysis: { analyzer: { ws: { type: 'custom', tokenizer: 'whitespace' } } } } });
    e.index('0', { tag: 'Foo' }); // dynamic false: kept in _source only
    e.refresh();
    expect(ids(e, { match_phrase: { tag: 'Foo' } })).toEqual([]); // looks the field's analyzer up
    e.mergeMappings({ properties: { tag: { type: 'text', analyzer: 'ws' } } });
    e.index('1', { tag: 'Foo Bar' });
    e.refresh();
    // whitespace: no lowercasing, so only the exact case matches
    expect(ids(e, { match: { tag: 'Foo' } })).toEqual(['1']);
    expect(ids(e, { match: { tag: 'foo' } })).toEqual([]);
    e.close();
  });

  it('refuses a field whose analyzer the index does not define, and maps nothing of it', () => {
    const e = new ShardEngine({ mappings: { properties: { a: { type: 'long' } } } });
    expect(() => e.mergeMappings({ properties: { b: { type: 'text', analyzer: 'nope' } } })).toThrow(/analyzer \[nope\] has not been configured/);
    expect(e.mappings.field('b')).toBeUndefined();
    e.close();
  });

  it('reopening after a crash maps the fields given since the commit before replaying the translog', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-putmap-'));
    dirs.push(dir);
    const created = { dynamic: 'strict' as const, properties: { title: { type: 'text' } } };
    const e = ShardEngine.open(dir, { mappings: created });
    e.index('1', { title: 'first' });
    e.flush(); // the commit holds the mappings as created
    const updated = { dynamic: 'strict' as const, properties: { title: { type: 'text' }, code: { type: 'keyword' } } };
    e.mergeMappings(updated);
    e.index('2', { title: 'second', code: 'AB-1' });
    // Crash: no flush. The cluster state's mappings come back with the reopen.
    const again = ShardEngine.open(dir, { mappings: updated });
    expect(again.recoveredOps).toBe(1);
    again.refresh();
    expect(ids(again, { term: { code: 'AB-1' } })).toEqual(['2']);
    expect(again.mappings.field('code')?.type).toBe('keyword');
    again.close();
    e.close();
  });
});
