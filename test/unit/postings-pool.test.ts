import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntBlockPool, PostingsPool } from '../../src/engine/postings-pool.ts';

/** The reference: per term, its docs in order with their positions. */
function reference(occurrences: { term: string; doc: number; pos: number }[]): Map<string, [number, number[]][]> {
  const out = new Map<string, [number, number[]][]>();
  for (const { term, doc, pos } of occurrences) {
    const list = out.get(term) ?? (out.set(term, []), out.get(term)!);
    if (list.at(-1)?.[0] !== doc) list.push([doc, []]);
    list.at(-1)![1].push(pos);
  }
  return out;
}

describe('the postings pool of a segment being built', () => {
  it('reads back every term’s docs, freqs and positions, across slices and blocks, for fields sharing one pool (property)', () => {
    const occurrence = fc.record({ term: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), docStep: fc.nat(2), pos: fc.nat(50) });
    fc.assert(
      fc.property(fc.array(occurrence, { maxLength: 3000 }), fc.array(occurrence, { maxLength: 300 }), (textOcc, keywordOcc) => {
        const pool = new IntBlockPool();
        const text = new PostingsPool(true, pool);
        const keyword = new PostingsPool(false, pool);
        // Docs arrive in ascending order; the two fields interleave their slices in the pool.
        const withDocs = (occ: typeof textOcc) => {
          let doc = 0;
          return occ.map((o) => ({ term: o.term, doc: (doc += o.docStep), pos: o.pos }));
        };
        const t = withDocs(textOcc);
        const k = withDocs(keywordOcc);
        for (let i = 0; i < Math.max(t.length, k.length); i++) {
          if (t[i]) text.add(t[i]!.term, t[i]!.doc, t[i]!.pos);
          if (k[i]) keyword.add(k[i]!.term, k[i]!.doc, 0);
        }
        const textRef = reference(t);
        expect(text.size).toBe(textRef.size);
        for (const [term, id] of text.terms()) {
          const r = text.read(id);
          const got = Array.from(r.docs, (d, i) => [d, Array.from(r.positions!.subarray(r.posStarts![i], r.posStarts![i + 1]))]);
          expect(got).toEqual(textRef.get(term));
          expect(Array.from(r.freqs)).toEqual(textRef.get(term)!.map(([, ps]) => ps.length));
        }
        // Keyword fields: one occurrence per doc counts once per add (freq = adds in that doc).
        const kwRef = reference(k);
        for (const [term, id] of keyword.terms()) {
          const r = keyword.read(id);
          expect(r.positions).toBeUndefined();
          expect(Array.from(r.docs)).toEqual(kwRef.get(term)!.map(([d]) => d));
          expect(Array.from(r.freqs)).toEqual(kwRef.get(term)!.map(([, ps]) => ps.length));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a term with thousands of docs and many terms (the per-term arrays grow)', () => {
    const pool = new PostingsPool(true, new IntBlockPool());
    for (let doc = 0; doc < 20_000; doc++) {
      pool.add('common', doc, 0);
      pool.add('common', doc, 7);
      pool.add(`rare${doc}`, doc, 1);
    }
    expect(pool.size).toBe(20_001);
    const common = pool.read([...pool.terms()].find(([t]) => t === 'common')![1]);
    expect(common.docs.length).toBe(20_000);
    expect(common.docs[19_999]).toBe(19_999);
    expect(Array.from(common.freqs.subarray(0, 3))).toEqual([2, 2, 2]);
    expect(Array.from(common.positions!.subarray(39_996))).toEqual([0, 7, 0, 7]);
  });
});
