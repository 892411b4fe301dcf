import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzyExpansions } from '../../src/engine/fuzzy.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { thrownType } from '../support/thrown.ts';

/** Optimal string alignment distance, the whole table (no early exit). */
function osa(a: string, b: string, transpositions: boolean): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (transpositions && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function ids(e: ShardEngine, query: unknown): string[] {
  return e.search({ query, size: 100 }).hits.hits.map((h) => h._id).sort();
}

function errorType(e: ShardEngine, query: unknown): string {
  return thrownType(() => e.search({ query }));
}

describe('fuzzy expansion', () => {
  it('equals a naive scan: within the edits, prefix kept, fewest edits first, at most max_expansions', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[abc]{0,6}$/), { maxLength: 60 }),
        fc.stringMatching(/^[abc]{0,6}$/),
        fc.constantFrom<0 | 1 | 2 | { low: number; high: number }>(0, 1, 2, { low: 3, high: 6 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (dict, term, fuzziness, prefixLength, maxExpansions, transpositions) => {
          const sorted = [...dict].sort();
          const max = typeof fuzziness === 'number' ? fuzziness : term.length < fuzziness.low ? 0 : term.length < fuzziness.high ? 1 : 2;
          const prefix = term.slice(0, prefixLength);
          const want = sorted
            .filter((t) => t.startsWith(prefix))
            .map((t) => ({ t, d: osa(t.slice(prefix.length), term.slice(prefix.length), transpositions) }))
            .filter((x) => x.d <= max)
            .sort((a, b) => a.d - b.d || (a.t < b.t ? -1 : 1))
            .slice(0, maxExpansions)
            .map((x) => x.t);
          expect(fuzzyExpansions(sorted, term, { fuzziness, prefixLength, maxExpansions, transpositions })).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('fuzzy query', () => {
  const e = new ShardEngine({ mappings: { properties: { body: { type: 'text' }, tag: { type: 'keyword' }, n: { type: 'long' } } } });
  e.index('1', { body: 'the quick fox', tag: 'Quick-1', n: 1 });
  e.index('2', { body: 'a quack duck', tag: 'quack', n: 2 });
  e.index('3', { body: 'quiet please', tag: 'quiet', n: 3 });
  e.refresh();

  it('matches terms within the edits, the value not analysed', () => {
    // AUTO: five letters allow one edit; a transposition is one edit.
    expect(ids(e, { fuzzy: { body: 'quikc' } })).toEqual(['1']);
    expect(ids(e, { fuzzy: { body: { value: 'quikc', transpositions: false } } })).toEqual([]);
    expect(ids(e, { fuzzy: { body: { value: 'quick', fuzziness: 2 } } })).toEqual(['1', '2', '3']);
    expect(ids(e, { fuzzy: { body: { value: 'quick', fuzziness: 2, max_expansions: 1 } } })).toEqual(['1']);
    expect(ids(e, { fuzzy: { body: { value: 'xuick', fuzziness: 1, prefix_length: 1 } } })).toEqual([]);
    expect(ids(e, { fuzzy: { tag: 'Quick-2' } })).toEqual(['1']);
    expect(ids(e, { fuzzy: { unmapped: 'quick' } })).toEqual([]);
  });

  it('takes the same options in match, with fuzziness', () => {
    expect(ids(e, { match: { body: { query: 'quikc', fuzziness: 1, fuzzy_transpositions: false } } })).toEqual([]);
    expect(ids(e, { match: { body: { query: 'quikc fox', fuzziness: 'AUTO', prefix_length: 2 } } })).toEqual(['1']);
  });

  it('refuses bad options and non-text fields with structured errors', () => {
    expect(errorType(e, { fuzzy: { n: 1 } })).toBe('query_shard_exception');
    expect(errorType(e, { fuzzy: { body: { value: 'x', fuzziness: 3 } } })).toBe('parsing_exception');
    expect(errorType(e, { fuzzy: { body: { value: 'x', prefix_length: -1 } } })).toBe('parsing_exception');
    expect(errorType(e, { fuzzy: { body: { value: 'x', max_expansions: 0 } } })).toBe('parsing_exception');
    expect(errorType(e, { fuzzy: { body: { value: 'x', transpositions: 'yes' } } })).toBe('parsing_exception');
    expect(errorType(e, { fuzzy: { body: { value: 'x', slop: 1 } } })).toBe('parsing_exception');
    expect(errorType(e, { match: { body: { query: 'x', prefix_length: 1 } } })).toBe('parsing_exception');
  });
});

describe('boosting query', () => {
  it('scales the scores of positive matches that also match negative, and keeps the rest', () => {
    const e = new ShardEngine();
    e.index('1', { body: 'apple pie', kind: 'food' });
    e.index('2', { body: 'apple phone', kind: 'tech' });
    e.index('3', { body: 'apple apple tree', kind: 'plant' });
    e.refresh();
    const plain = new Map(e.search({ query: { match: { body: 'apple' } } }).hits.hits.map((h) => [h._id, h._score as number]));
    const res = e.search({ query: { boosting: { positive: { match: { body: 'apple' } }, negative: { term: { 'kind.keyword': 'tech' } }, negative_boost: 0.25, boost: 2 } } });
    const got = new Map(res.hits.hits.map((h) => [h._id, h._score as number]));
    expect([...got.keys()].sort()).toEqual(['1', '2', '3']);
    for (const [id, s] of plain) expect(got.get(id)).toBeCloseTo(s * 2 * (id === '2' ? 0.25 : 1), 12);
    expect(errorType(e, { boosting: { positive: { match_all: {} }, negative: { match_all: {} } } })).toBe('parsing_exception');
    expect(errorType(e, { boosting: { positive: { match_all: {} }, negative_boost: 0.5 } })).toBe('parsing_exception');
    expect(errorType(e, { boosting: { positive: { match_all: {} }, negative: { match_all: {} }, negative_boost: -1 } })).toBe('parsing_exception');
  });
});
