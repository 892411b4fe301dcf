import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { thrownType } from '../support/thrown.ts';

function errorType(e: ShardEngine, request: unknown): string {
  return thrownType(() => e.search(request));
}

describe('collapse', () => {
  it('keeps the best hit of each value, as the first hit of each value in the uncollapsed ranking', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            words: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 5 }),
            group: fc.option(fc.constantFrom('g1', 'g2', 'g3', 'g4', 'g5'), { nil: undefined }),
            n: fc.integer({ min: 0, max: 9 }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.constantFrom('group', 'n'),
        fc.constantFrom<unknown[] | undefined>(undefined, [{ n: 'desc' }], [{ n: 'asc' }, { _score: 'desc' }]),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom(0, 9),
        (docs, field, sort, from, size, refreshEvery) => {
          const e = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' }, group: { type: 'keyword' }, n: { type: 'long' } } } });
          docs.forEach((d, i) => {
            e.index(String(i), { body: d.words.join(' '), n: d.n, ...(d.group === undefined ? {} : { group: d.group }) });
            if (refreshEvery > 0 && i % refreshEvery === refreshEvery - 1) e.refresh();
          });
          e.refresh();
          const query = { match: { body: 'a b' } };
          const all = e.search({ query, size: 10_000, ...(sort ? { sort } : {}) }).hits.hits;
          const seen = new Set<unknown>();
          const firstPerValue = all.filter((h) => {
            const d = docs[Number(h._id)]!;
            const v = field === 'n' ? d.n : (d.group ?? null);
            if (seen.has(v)) return false;
            seen.add(v);
            return true;
          });
          const res = e.search({ query, from, size, collapse: { field }, ...(sort ? { sort } : {}) });
          expect(res.hits.hits.map((h) => [h._id, h._score, h.fields])).toEqual(
            firstPerValue.slice(from, from + size).map((h) => {
              const d = docs[Number(h._id)]!;
              return [h._id, h._score, { [field]: [field === 'n' ? d.n : (d.group ?? null)] }];
            }),
          );
          expect(res.hits.total).toEqual({ value: all.length, relation: 'eq' });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses what it cannot collapse on, with structured errors', () => {
    const e = new ShardEngine({ mappings: { properties: { body: { type: 'text' }, tags: { type: 'keyword' } } } });
    e.index('1', { body: 'x', tags: ['a', 'b'] });
    e.refresh();
    expect(errorType(e, { collapse: { field: 'body' } })).toBe('illegal_argument_exception');
    expect(errorType(e, { collapse: { field: 'nope' } })).toBe('query_shard_exception');
    expect(errorType(e, { collapse: { field: 'tags' } })).toBe('illegal_argument_exception');
    expect(errorType(e, { collapse: { field: 'tags', inner_hits: {} } })).toBe('illegal_argument_exception'); // unnamed
    expect(errorType(e, { collapse: { feild: 'tags' } })).toBe('parsing_exception');
    expect(errorType(e, { collapse: 'tags' })).toBe('parsing_exception');
    expect(errorType(e, { collapse: { field: 'tags' }, sort: [{ tags: 'asc' }], search_after: ['a'] })).toBe('illegal_argument_exception');
  });
});
