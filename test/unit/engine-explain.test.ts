import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/engine/explain.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

const WORDS = ['a', 'b', 'c', 'd'];

function engineOf(docs: { words: string[]; tag: string; n: number }[], refreshEvery: number): ShardEngine {
  const e = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' }, tag: { type: 'keyword' }, n: { type: 'long' } } } });
  docs.forEach((d, i) => {
    e.index(String(i), { body: d.words.join(' '), tag: d.tag, n: d.n });
    if (refreshEvery > 0 && i % refreshEvery === refreshEvery - 1) e.refresh();
  });
  e.refresh();
  return e;
}

const leaf = fc.oneof(
  fc.record({ match: fc.record({ body: fc.record({ query: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }).map((w) => w.join(' ')), operator: fc.constantFrom('or', 'and'), boost: fc.constantFrom(1, 2.5) }) }) }),
  fc.record({ term: fc.record({ tag: fc.constantFrom('x', 'y') }) }),
  fc.record({ match_phrase: fc.record({ body: fc.constantFrom('a b', 'b c') }) }),
  fc.record({ range: fc.record({ n: fc.record({ gte: fc.integer({ min: 0, max: 5 }) }) }) }),
);
const query: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  q: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('compound')),
  compound: fc.oneof(
    fc.record({ bool: fc.record({ must: fc.array(tie('q'), { maxLength: 2 }), should: fc.array(tie('q'), { maxLength: 2 }), filter: fc.array(tie('q'), { maxLength: 1 }), boost: fc.constantFrom(1, 3) }) }),
    fc.record({ dis_max: fc.record({ queries: fc.array(tie('q'), { minLength: 1, maxLength: 2 }), tie_breaker: fc.constantFrom(0, 0.3) }) }),
    fc.record({ constant_score: fc.record({ filter: tie('q'), boost: fc.constantFrom(1, 2) }) }),
    fc.record({ boosting: fc.record({ positive: tie('q'), negative: leaf, negative_boost: fc.constantFrom(0.5) }) }),
    fc.record({ function_score: fc.record({ query: tie('q'), weight: fc.constantFrom(2), boost_mode: fc.constantFrom('multiply', 'sum') }) }),
  ),
})).q;

/** Every BM25 leaf's value is boost · idf · tf of its own details, and tf and idf follow from theirs. */
function checkTree(x: Explanation): void {
  if (x.description.startsWith('score(freq=')) {
    const [boost, idfNode, tfNode] = x.details as [Explanation, Explanation, Explanation];
    expect(x.value).toBeCloseTo(boost.value * idfNode.value * tfNode.value, 10);
    const [n, N] = idfNode.details.map((d) => d.value) as [number, number];
    expect(idfNode.value).toBeCloseTo(Math.log(1 + (N - n + 0.5) / (n + 0.5)), 12);
    const [freq, k1, b, dl, avgdl] = tfNode.details.map((d) => d.value) as number[];
    expect(tfNode.value).toBeCloseTo(dl === undefined ? freq! / (freq! + k1!) : freq! / (freq! + k1! * (1 - b! + (b! * dl) / avgdl!)), 12);
  }
  for (const d of x.details) checkTree(d);
}

describe('explain', () => {
  it('gives every hit an explanation whose value is its score, with BM25 leaves that recompute', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ words: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 8 }), tag: fc.constantFrom('x', 'y'), n: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 30 }),
        query,
        fc.constantFrom(0, 7),
        (docs, q, refreshEvery) => {
          const e = engineOf(docs, refreshEvery);
          const plain = e.search({ query: q, size: 50 });
          const explained = e.search({ query: q, size: 50, explain: true });
          expect(explained.hits.hits.map((h) => [h._id, h._score])).toEqual(plain.hits.hits.map((h) => [h._id, h._score]));
          for (const h of explained.hits.hits) {
            expect(h._explanation!.value).toBe(h._score);
            checkTree(h._explanation!);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('spells out a one-term score with the numbers Lucene uses', () => {
    const e = new ShardEngine({ mappings: { properties: { body: { type: 'text' } } } });
    e.index('1', { body: 'fox' });
    e.index('2', { body: 'the quick brown fox jumps' });
    e.index('3', { body: 'lazy dog' });
    e.refresh();
    const hit = e.search({ query: { match: { body: 'fox' } }, explain: true }).hits.hits.find((h) => h._id === '2')!;
    const weight = hit._explanation!.details[0]!;
    expect(weight.description).toMatch(/^weight\(body:fox in \d+\) \[BM25\]/);
    const [boost, idfNode, tfNode] = weight.details[0]!.details;
    expect(boost!.value).toBe(1);
    expect(idfNode!.details.map((d) => d.value)).toEqual([2, 3]);
    expect(tfNode!.details.map((d) => d.value)).toEqual([1, 1.2, 0.75, 5, (1 + 5 + 2) / 3]);
    expect(hit._score).toBeCloseTo(Math.log(1 + 1.5 / 2.5) * (1 / (1 + 1.2 * (0.25 + (0.75 * 5) / (8 / 3)))), 12);
  });

  it('refuses a non-boolean explain', () => {
    const e = new ShardEngine();
    expect(() => e.search({ explain: 'yes' })).toThrow(expect.objectContaining({ type: 'parsing_exception' }));
  });
});
