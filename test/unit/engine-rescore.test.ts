import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { combine, type Rescorer } from '../../src/engine/rescore.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { thrownType } from '../support/thrown.ts';

type Mode = Rescorer['scoreMode'];

function engine(docs: { words: string[]; n: number }[], refreshEvery: number): ShardEngine {
  const e = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' }, n: { type: 'long' } } } });
  docs.forEach((d, i) => {
    e.index(String(i), { body: d.words.join(' '), n: d.n });
    if (refreshEvery > 0 && i % refreshEvery === refreshEvery - 1) e.refresh();
  });
  e.refresh();
  return e;
}

describe('rescore', () => {
  it('rescores the top window_size hits with the second query, combined by score_mode; the rest keep rank and score (property, against a reference)', () => {
    const rescorer = fc.record({
      window: fc.integer({ min: 0, max: 12 }),
      queryWeight: fc.constantFrom(1, 0.5, 2),
      rescoreWeight: fc.constantFrom(1, 3, 0.25),
      mode: fc.constantFrom<Mode>('total', 'multiply', 'avg', 'max', 'min'),
      second: fc.constantFrom<unknown>({ match: { body: 'c' } }, { range: { n: { gte: 5 } } }, { match_phrase: { body: 'a b' } }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ words: fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 6 }), n: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 40 }),
        fc.array(rescorer, { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom(0, 7),
        fc.boolean(),
        (docs, rescorers, from, size, refreshEvery, explain) => {
          const e = engine(docs, refreshEvery);
          const query = { match: { body: 'a b' } };
          const spec = rescorers.map((r) => ({ window_size: r.window, query: { rescore_query: r.second, query_weight: r.queryWeight, rescore_query_weight: r.rescoreWeight, score_mode: r.mode } }));
          // Reference: the full first ranking, then each rescorer over its window, from the second query's own scores.
          let ranked = e.search({ query, size: 10_000 }).hits.hits.map((h) => ({ id: h._id, score: h._score as number }));
          for (const [i, r] of rescorers.entries()) {
            const second = new Map(e.search({ query: r.second, size: 10_000 }).hits.hits.map((h) => [h._id, h._score as number]));
            const window = ranked.slice(0, r.window).map((h) => {
              const s = second.get(h.id);
              const mode = spec[i]!.query;
              return { id: h.id, score: s === undefined ? h.score * r.queryWeight : combine({ windowSize: r.window, query: undefined as never, queryWeight: mode.query_weight, rescoreQueryWeight: mode.rescore_query_weight, scoreMode: r.mode }, h.score, s) };
            });
            window.sort((a, b) => b.score - a.score);
            ranked = [...window, ...ranked.slice(r.window)];
          }
          const res = e.search({ query, from, size, rescore: spec.length === 1 ? spec[0] : spec, track_total_hits: true, explain });
          // An explanation's top value is the hit's rescored score.
          if (explain) for (const h of res.hits.hits) expect(h._explanation!.value).toBeCloseTo(h._score as number, 9);
          const want = ranked.slice(from, from + size);
          expect(res.hits.hits.map((h) => h._score)).toEqual(want.map((h) => expect.closeTo(h.score, 9)));
          // Ties may order differently; the scores at each rank may not.
          expect(res.hits.total.value).toBe(ranked.length);
          const max = ranked.reduce((m, h) => Math.max(m, h.score), -Infinity);
          expect(res.hits.max_score).toEqual(ranked.length === 0 ? null : expect.closeTo(max, 9));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('moves a phrase match up: the classic use', () => {
    const e = new ShardEngine({ mappings: { properties: { title: { type: 'text' } } } });
    e.index('1', { title: 'quick brown dog and a fox' });
    e.index('2', { title: 'the quick brown fox' });
    e.index('3', { title: 'fox fox fox, quick' });
    e.refresh();
    const plain = e.search({ query: { match: { title: 'quick fox' } } }).hits.hits.map((h) => h._id);
    expect(plain[0]).toBe('3');
    const res = e.search({ query: { match: { title: 'quick fox' } }, rescore: { window_size: 3, query: { rescore_query: { match_phrase: { title: { query: 'brown fox', slop: 0 } } }, rescore_query_weight: 10 } } });
    expect(res.hits.hits.map((h) => h._id)[0]).toBe('2');
    expect(res.hits.max_score).toBe(res.hits.hits[0]!._score);
    const explained = e.search({ query: { match: { title: 'quick fox' } }, explain: true, rescore: { window_size: 3, query: { rescore_query: { match_phrase: { title: 'brown fox' } }, rescore_query_weight: 10 } } }).hits.hits[0]!;
    expect(explained._explanation).toMatchObject({
      value: explained._score,
      description: 'sum of:',
      details: [
        { description: 'product of:', details: [{}, { value: 1, description: 'primaryWeight' }] },
        { description: 'product of:', details: [{}, { value: 10, description: 'secondaryWeight' }] },
      ],
    });
  });

  it('refuses what Elasticsearch refuses, and bad rescorers, with typed errors', () => {
    const e = engine([{ words: ['a'], n: 1 }], 0);
    const q = { rescore_query: { match_all: {} } };
    expect(thrownType(() => e.search({ rescore: { query: q }, sort: [{ n: 'asc' }] }))).toBe('illegal_argument_exception');
    expect(thrownType(() => e.search({ rescore: { query: q }, collapse: { field: 'n' } }))).toBe('illegal_argument_exception');
    expect(thrownType(() => e.search({ rescore: { query: q }, search_after: [1] }))).toBe('illegal_argument_exception');
    expect(e.search({ rescore: { query: q }, explain: true }).hits.hits[0]!._explanation!.value).toBe(2); // match_all: 1 + 1
    expect(thrownType(() => e.search({ rescore: { window_size: 10_001, query: q } }))).toBe('illegal_argument_exception');
    for (const bad of [[], 'x', { query: q, size: 3 }, { window_size: -1, query: q }, { window_size: 1.5, query: q }, {}, { query: {} }, { query: { ...q, score_mode: 'sum' } }, { query: { ...q, query_weight: 'big' } }, { query: { ...q, extra: 1 } }, { query: { rescore_query: { nope: {} } } }]) {
      expect(thrownType(() => e.search({ rescore: bad })), JSON.stringify(bad)).toBe('parsing_exception');
    }
    // A sort by _score alone is no sort.
    expect(e.search({ rescore: { query: q }, sort: ['_score'] }).hits.hits).toHaveLength(1);
  });
});
