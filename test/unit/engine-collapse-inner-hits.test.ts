import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CollapseInnerHitsResult } from '../../src/engine/collapse.ts';
import { ShardEngine, type SearchHit } from '../../src/engine/shard-engine.ts';
import { thrownType } from '../support/thrown.ts';

const mappings = { properties: { body: { type: 'text' }, g: { type: 'keyword' }, k: { type: 'keyword' }, n: { type: 'long' } } };

/** A hit's inner hits under `name`, as a collapse definition returns them. */
function inner(hit: SearchHit, name: string): CollapseInnerHitsResult<SearchHit>['hits'] {
  return (hit.inner_hits![name] as CollapseInnerHitsResult<SearchHit>).hits;
}

describe('collapse inner_hits on one engine', () => {
  // Query `a` matches 1-6 (7 has no `a`); groups x: 1 2 3, y: 4, no value: 5 6.
  const e = new ShardEngine({ maxSegments: 100, mappings });
  const docs: [string, Record<string, unknown>][] = [
    ['1', { body: 'a', g: 'x', k: 'p', n: 1 }],
    ['2', { body: 'a a', g: 'x', k: 'p', n: 2 }],
    ['3', { body: 'a a a', g: 'x', k: 'q', n: 3 }],
    ['4', { body: 'a', g: 'y', k: 'p', n: 4 }],
    ['5', { body: 'a', k: 'q', n: 5 }],
    ['6', { body: 'a a', k: 'q', n: 6 }],
    ['7', { body: 'b', g: 'x', k: 'p', n: 7 }],
  ];
  docs.forEach(([id, d], i) => {
    e.index(id, d);
    if (i % 3 === 2) e.refresh(); // several segments
  });
  e.refresh();
  const query = { match: { body: 'a' } };
  const scoreOf = new Map(e.search({ query, size: 10 }).hits.hits.map((h) => [h._id, h._score]));

  it("expands each collapsed hit with its group's matching docs, per definition (size, from, sort, _source), the group without a value too", () => {
    const res = e.search({
      query,
      collapse: {
        field: 'g',
        inner_hits: [
          { name: 'best', size: 2 },
          { name: 'by_n', from: 1, size: 1, sort: [{ n: 'desc' }], _source: ['n'] },
        ],
      },
    });
    expect(res.hits.hits.map((h) => [h._id, h.fields])).toEqual([
      ['3', { g: ['x'] }],
      ['6', { g: [null] }],
      ['4', { g: ['y'] }],
    ]);
    const [x, none, y] = res.hits.hits as [SearchHit, SearchHit, SearchHit];
    // By score (the query's own scores), whole sources; 7 does not match the query.
    expect(inner(x, 'best')).toEqual({ total: { value: 3, relation: 'eq' }, max_score: scoreOf.get('3'), hits: ['3', '2'].map((id) => ({ _id: id, _score: scoreOf.get(id), _source: docs[Number(id) - 1]![1] })) });
    expect(inner(none, 'best').hits.map((h) => h._id)).toEqual(['6', '5']);
    expect(inner(y, 'best').hits.map((h) => h._id)).toEqual(['4']);
    // By n descending, from 1, size 1, only `n` of the source.
    expect(inner(x, 'by_n')).toEqual({ total: { value: 3, relation: 'eq' }, max_score: null, hits: [{ _id: '2', _score: null, _source: { n: 2 }, sort: [2] }] });
    expect(inner(none, 'by_n')).toEqual({ total: { value: 2, relation: 'eq' }, max_score: null, hits: [{ _id: '5', _score: null, _source: { n: 5 }, sort: [5] }] });
    expect(inner(y, 'by_n')).toEqual({ total: { value: 1, relation: 'eq' }, max_score: null, hits: [] });
    expect(Object.keys(x.inner_hits!)).toEqual(['best', 'by_n']);
  });

  it('keeps the request’s post_filter, pages the collapsed hits first, and collapses a second level', () => {
    // post_filter (n < 3) leaves 1 and 2, in the collapsed hits and in their group searches.
    const res = e.search({ query, post_filter: { range: { n: { lt: 3 } } }, collapse: { field: 'g', inner_hits: { name: 'all', size: 10, _source: false } } });
    expect(res.hits.hits.map((h) => [h._id, inner(h, 'all').hits.map((i) => i._id)])).toEqual([['2', ['2', '1']]]);
    // from 1, size 1: only the second collapsed hit (the group without a value) is expanded.
    const paged = e.search({ query, from: 1, size: 1, collapse: { field: 'g', inner_hits: { name: 'all', size: 10, _source: false } } });
    expect(paged.hits.hits.map((h) => [h._id, inner(h, 'all').hits.map((i) => i._id)])).toEqual([['6', ['6', '5']]]);
    // Second level: the best doc of each k within the group, with its k.
    const two = e.search({ query, size: 1, collapse: { field: 'g', inner_hits: { name: 'per_k', _source: false, collapse: { field: 'k' } } } });
    expect(inner(two.hits.hits[0]!, 'per_k')).toEqual({
      total: { value: 3, relation: 'eq' },
      max_score: scoreOf.get('3'),
      hits: [
        { _id: '3', _score: scoreOf.get('3'), fields: { k: ['q'] } },
        { _id: '2', _score: scoreOf.get('2'), fields: { k: ['p'] } },
      ],
    });
  });

  it('groups numeric, date and boolean values exactly (a date whatever its format)', () => {
    const t = new ShardEngine({ mappings: { properties: { n: { type: 'double' }, at: { type: 'date', format: 'strict_date_optional_time' }, b: { type: 'boolean' } } } });
    const rows = [
      { n: 1.5, at: '2024-01-01', b: true },
      { n: 1.5, at: '2024-01-02', b: false },
      { n: 2, at: '2024-01-01', b: true },
      { n: 2 },
    ];
    rows.forEach((r, i) => t.index(String(i), r));
    t.refresh();
    const members = (field: string) =>
      t.search({ sort: ['_doc'], collapse: { field, inner_hits: { name: 'm', size: 10, sort: ['_doc'], _source: false } } }).hits.hits.map((h) => [h.fields![field]![0], inner(h, 'm').hits.map((i) => i._id)]);
    expect(members('n')).toEqual([[1.5, ['0', '1']], [2, ['2', '3']]]);
    expect(members('at')).toEqual([[Date.UTC(2024, 0, 1), ['0', '2']], [Date.UTC(2024, 0, 2), ['1']], [null, ['3']]]);
    expect(members('b')).toEqual([[true, ['0', '2']], [false, ['1']], [null, ['3']]]);
  });

  it('refuses bad definitions with structured errors, before searching', () => {
    const refused = (collapse: unknown, extra: Record<string, unknown> = {}) => thrownType(() => e.search({ query, collapse, ...extra }));
    expect(refused({ field: 'g', inner_hits: {} })).toBe('illegal_argument_exception'); // no name
    expect(refused({ field: 'g', inner_hits: [{ name: 'a' }, { size: 1 }] })).toBe('illegal_argument_exception');
    expect(refused({ field: 'g', inner_hits: [{ name: 'a' }, { name: 'a', size: 1 }] })).toBe('illegal_argument_exception');
    // A nested query's inner hits of the same name.
    expect(thrownType(() => e.search({ query: { nested: { path: 'users', query: { match_all: {} }, inner_hits: { name: 'a' } } }, collapse: { field: 'g', inner_hits: { name: 'a' } } }))).toBe('illegal_argument_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a', from: 98, size: 3 } })).toBe('illegal_argument_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a', size: -1 } })).toBe('parsing_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a', bogus: 1 } })).toBe('parsing_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a', track_scores: true } })).toBe('parsing_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a', sort: [{ n: 'up' }] } })).toBe('parsing_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a', collapse: { field: 'k', inner_hits: { name: 'b' } } } })).toBe('illegal_argument_exception');
    expect(refused({ field: 'g', inner_hits: 'a' })).toBe('parsing_exception');
    expect(refused({ field: 'g', inner_hits: [1] })).toBe('parsing_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a' }, max_concurrent_group_searches: 0 })).toBe('illegal_argument_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a' }, max_concurrent_group_searches: 'x' })).toBe('parsing_exception');
    // What collapse refuses anyway.
    expect(refused({ field: 'g', inner_hits: { name: 'a' } }, { rescore: { query: { rescore_query: query } } })).toBe('illegal_argument_exception');
    expect(refused({ field: 'g', inner_hits: { name: 'a' } }, { sort: [{ n: 'asc' }], search_after: [1] })).toBe('illegal_argument_exception');
    // A group search on an unmapped sort field: the shard's own error.
    expect(refused({ field: 'g', inner_hits: { name: 'a', sort: [{ nope: 'asc' }] } })).toBe('query_shard_exception');
  });

  it("equals, per group and definition, the group's docs in the uncollapsed ranking, paged", () => {
    const sorts = [undefined, [{ n: 'asc' }], [{ n: 'desc' }, { _score: 'desc' }], ['_doc']];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            words: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 4 }),
            group: fc.option(fc.constantFrom('g1', 'g2', 'g3'), { nil: undefined }),
            n: fc.integer({ min: 0, max: 5 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.constantFrom('group', 'n'),
        fc.constantFrom(...sorts),
        fc.array(fc.record({ from: fc.integer({ min: 0, max: 3 }), size: fc.integer({ min: 0, max: 5 }), sort: fc.constantFrom(...sorts), source: fc.boolean() }), { minLength: 1, maxLength: 2 }),
        fc.constantFrom(0, 7),
        (rows, field, sort, specs, refreshEvery) => {
          const t = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' }, group: { type: 'keyword' }, n: { type: 'long' } } } });
          rows.forEach((r, i) => {
            t.index(String(i), { body: r.words.join(' '), n: r.n, ...(r.group === undefined ? {} : { group: r.group }) });
            if (refreshEvery > 0 && i % refreshEvery === refreshEvery - 1) t.refresh();
          });
          t.refresh();
          const q = { match: { body: 'a b' } };
          const valueOf = (id: string) => {
            const r = rows[Number(id)]!;
            return field === 'n' ? r.n : (r.group ?? null);
          };
          const innerHits = specs.map((s, i) => ({ name: `h${i}`, from: s.from, size: s.size, ...(s.sort ? { sort: s.sort } : {}), _source: s.source ? ['n'] : false }));
          const res = t.search({ query: q, size: 4, collapse: { field, inner_hits: innerHits }, ...(sort ? { sort } : {}) });
          for (const hit of res.hits.hits) {
            specs.forEach((s, i) => {
              const ranking = t.search({ query: q, size: 10_000, ...(s.sort ? { sort: s.sort } : {}) }).hits.hits.filter((h) => valueOf(h._id) === valueOf(hit._id));
              const expected = ranking.slice(s.from, s.from + s.size).map((h) => ({ ...h, _source: undefined, ...(s.source ? { _source: { n: rows[Number(h._id)]!.n } } : {}) }));
              const got = inner(hit, `h${i}`);
              expect(got.total).toEqual({ value: ranking.length, relation: 'eq' });
              expect(got.hits.map((h) => ({ ...h, _source: h._source }))).toEqual(expected);
              expect(got.max_score).toBe(s.sort === undefined && ranking.length > 0 ? ranking[0]!._score : null);
            });
          }
        },
      ),
      { numRuns: 150, seed: 20261203 },
    );
  });
});
