import { describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { thrownType } from '../support/thrown.ts';

/** 30 docs over 3 segments: n = 0..29, tag a/b/c by n % 3, body "fox" in every other doc. */
function engine(index?: string): ShardEngine {
  const e = new ShardEngine({ index, maxSegments: 100, mappings: { properties: { n: { type: 'long' }, tag: { type: 'keyword' }, body: { type: 'text' } } } });
  for (let i = 0; i < 30; i++) {
    e.index(`d${i}`, { n: i, tag: ['a', 'b', 'c'][i % 3], body: i % 2 === 0 ? 'quick fox' : 'lazy dog' });
    if (i % 10 === 9) e.refresh();
  }
  return e;
}

describe('terminate_after', () => {
  it('collects at most that many docs, in doc order across segments: totals, hits and aggregations see only those', () => {
    const e = engine();
    const res = e.search({ terminate_after: 12, size: 100, sort: [{ n: 'asc' }], aggs: { tags: { terms: { field: 'tag' } } } });
    expect(res.terminated_early).toBe(true);
    expect(res.hits.total).toEqual({ value: 12, relation: 'eq' });
    expect(res.hits.hits.map((h) => h.sort![0])).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect((res.aggregations!.tags as { buckets: { key: string; doc_count: number }[] }).buckets).toEqual([
      { key: 'a', doc_count: 4 },
      { key: 'b', doc_count: 4 },
      { key: 'c', doc_count: 4 },
    ]);
    // A query's matches count, not the segment's docs: 15 foxes, the first 5 of them.
    const foxes = e.search({ query: { match: { body: 'fox' } }, terminate_after: 5, size: 100, sort: [{ n: 'asc' }] });
    expect(foxes.hits.hits.map((h) => h.sort![0])).toEqual([0, 2, 4, 6, 8]);
    expect(foxes.terminated_early).toBe(true);
  });

  it('not reached: everything, terminated_early false; 0 means no limit; absent, no flag', () => {
    const e = engine();
    expect(e.search({ terminate_after: 100, size: 0 })).toMatchObject({ terminated_early: false, hits: { total: { value: 30 } } });
    expect(e.search({ terminate_after: 30, size: 0 })).toMatchObject({ terminated_early: true, hits: { total: { value: 30 } } });
    expect(e.search({ terminate_after: 0, size: 0 }).hits.total.value).toBe(30);
    expect(e.search({ size: 0 })).not.toHaveProperty('terminated_early');
    expect(thrownType(() => e.search({ terminate_after: -1 }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ terminate_after: 'x' }))).toBe('parsing_exception');
  });
});

describe('indices_boost', () => {
  it("multiplies the scores of its own index's hits by the first entry naming it", () => {
    const plain = engine('logs').search({ query: { match: { body: 'fox' } }, size: 3 }).hits.hits;
    const boosted = engine('logs').search({ query: { match: { body: 'fox' } }, size: 3, indices_boost: [{ other: 5 }, { logs: 2 }, { logs: 7 }] }).hits.hits;
    expect(boosted.map((h) => h._id)).toEqual(plain.map((h) => h._id));
    boosted.forEach((h, i) => expect(h._score).toBeCloseTo(plain[i]!._score! * 2, 5));
    // Another index's entry, or no index name: unchanged. The older object form works too.
    expect(engine('metrics').search({ query: { match: { body: 'fox' } }, size: 3, indices_boost: { logs: 2 } }).hits.hits.map((h) => h._score)).toEqual(plain.map((h) => h._score));
    expect(engine().search({ query: { match: { body: 'fox' } }, size: 3, indices_boost: [{ logs: 2 }] }).hits.hits.map((h) => h._score)).toEqual(plain.map((h) => h._score));
  });

  it('refuses entries that are not { index: boost }', () => {
    const e = engine('logs');
    for (const bad of ['x', [{ logs: 'a' }], [{ logs: 1, other: 2 }], [{ logs: -1 }], [3]]) expect(thrownType(() => e.search({ indices_boost: bad })), JSON.stringify(bad)).toBe('parsing_exception');
  });
});
