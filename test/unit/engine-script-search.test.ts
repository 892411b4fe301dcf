import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { engineOf, scores, type ScoredDoc } from '../support/scored-engine.ts';
import { thrownType } from '../support/thrown.ts';

type Doc = ScoredDoc;

/** A doc's smallest value of n (what doc['n'].value reads), undefined without one. */
function firstN(d: Doc): number | undefined {
  if (d.n === undefined) return undefined;
  return Math.min(...([] as number[]).concat(d.n));
}

const docArb = fc.record({
  words: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 5 }),
  tag: fc.constantFrom('x', 'y', 'z'),
  n: fc.option(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.array(fc.double({ min: 0, max: 40, noNaN: true }), { minLength: 1, maxLength: 3 })), { nil: undefined }),
});
const toDoc = (d: { words: string[]; tag: string; n: number | number[] | undefined }): Doc => ({ body: d.words.join(' '), tag: d.tag, ...(d.n === undefined ? {} : { n: d.n }) });

describe('script_score query', () => {
  it('property: script scores equal the same arithmetic in JavaScript on the inner query scores', () => {
    const source = "doc['n'].size() == 0 ? _score : _score * Math.log(2 + doc['n'].value) + params.bias";
    fc.assert(
      fc.property(fc.array(docArb, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 1, 4), fc.constantFrom('a', 'b c'), fc.constantFrom(0, 0.5), fc.constantFrom(1, 2.5), (raw, refreshEvery, text, bias, boost) => {
        const docs = raw.map(toDoc);
        const e = engineOf(docs, refreshEvery);
        const inner = { match: { body: text } };
        const base = scores(e, inner);
        const got = scores(e, { script_score: { query: inner, script: { source, params: { bias } }, boost } });
        expect([...got.keys()].sort()).toEqual([...base.keys()].sort());
        for (const [id, s] of base) {
          const n = firstN(docs[Number(id)]!);
          const want = (n === undefined ? s : s * Math.log(2 + n) + bias) * boost;
          expect(got.get(id)).toBeCloseTo(want, 9);
        }
      }),
      { seed: 7, numRuns: 60 },
    );
  });

  it('min_score drops low scores; negative scores are an error; the script must return a number', () => {
    const e = engineOf([{ body: 'a', tag: 'x', n: 1 }, { body: 'a', tag: 'y', n: 5 }, { body: 'a', tag: 'z' }]);
    const q = (script: unknown, extra: Record<string, unknown> = {}) => ({ script_score: { query: { match_all: {} }, script, ...extra } });
    expect([...scores(e, q("doc['n'].size() == 0 ? 0 : doc['n'].value", { min_score: 2 })).entries()]).toEqual([['1', 5]]);
    expect(thrownType(() => e.search({ query: q('-1') }))).toBe('illegal_argument_exception');
    try {
      e.search({ query: q('-1') });
    } catch (err) {
      expect((err as Error).message).toMatch(/script score function must not produce negative scores/);
    }
    expect(thrownType(() => e.search({ query: q("'high'") }))).toBe('script_exception');
    // The ES error for a missing value, from the doc without n.
    expect(thrownType(() => e.search({ query: q("doc['n'].value") }))).toBe('script_exception');
    expect(thrownType(() => e.search({ query: q("doc['body'].value") }))).toBe('illegal_argument_exception');
    expect(thrownType(() => e.search({ query: { script_score: { script: '1' } } }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ query: q('1', { bogus: 1 }) }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ query: q('1 +') }))).toBe('script_exception');
  });

  it('explain gives a node for the script score over the inner query', () => {
    const e = engineOf([{ body: 'a b', tag: 'x', n: 3 }]);
    const res = e.search({ query: { script_score: { query: { match: { body: 'a' } }, script: { source: "_score * doc['n'].value", params: { p: 1 } } } }, explain: true });
    const hit = res.hits.hits[0]!;
    expect(hit._explanation!.value).toBe(hit._score);
    expect(hit._explanation!.description).toMatch(/^script score function, computed with script:"_score \* doc\['n'\]\.value" and parameters: \{"p":1\}/);
    expect(hit._explanation!.details[0]!.value * 3).toBeCloseTo(hit._score as number, 12);
  });
});

describe('function_score script_score', () => {
  it('is one function among the others: weight, filter, score_mode and boost_mode', () => {
    const docs: Doc[] = [{ body: 'a', tag: 'x', n: 2 }, { body: 'a a', tag: 'y', n: 3 }, { body: 'a', tag: 'y' }];
    const e = engineOf(docs);
    const inner = { match: { body: 'a' } };
    const base = scores(e, inner);
    const script = { source: "doc['n'].size() == 0 ? 1 : doc['n'].value * _score" };
    const fs = (extra: Record<string, unknown>) => scores(e, { function_score: { query: inner, ...extra } });
    // Multiply (the defaults): the query score × the function (which reads the query score too).
    let got = fs({ functions: [{ script_score: { script } }] });
    for (const [id, s] of base) {
      const n = firstN(docs[Number(id)]!);
      expect(got.get(id)).toBeCloseTo(s * (n === undefined ? 1 : n * s), 9);
    }
    // A filtered, weighted script function summed with a weight; replace.
    got = fs({ functions: [{ filter: { term: { tag: 'y' } }, script_score: { script }, weight: 2 }, { weight: 10 }], score_mode: 'sum', boost_mode: 'replace' });
    for (const [id, s] of base) {
      const d = docs[Number(id)]!;
      const n = firstN(d);
      const scriptPart = d.tag === 'y' ? (n === undefined ? 1 : n * s) * 2 : 0;
      expect(got.get(id)).toBeCloseTo(scriptPart + 10, 9);
    }
    // The top-level shorthand.
    got = scores(e, { function_score: { query: inner, script_score: { script: { source: 'params.k', params: { k: 4 } } }, boost_mode: 'replace' } });
    expect([...got.values()]).toEqual([4, 4, 4]);
    expect(thrownType(() => fs({ functions: [{ script_score: { script: '0 - 1' } }] }))).toBe('illegal_argument_exception');
    expect(thrownType(() => fs({ functions: [{ script_score: { script: '1', bogus: 1 } }] }))).toBe('parsing_exception');
    const explained = e.search({ query: { function_score: { query: inner, functions: [{ script_score: { script } }] } }, explain: true }).hits.hits[0]!;
    expect(explained._explanation!.details.some((d) => d.description.startsWith('script_score(script:'))).toBe(true);
  });
});

describe('script query', () => {
  it('property: matches the docs a reference filter keeps, in filter context', () => {
    fc.assert(
      fc.property(fc.array(docArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 40 }), fc.constantFrom('x', 'y'), fc.constantFrom(0, 3), (raw, t, tag, refreshEvery) => {
        const docs = raw.map(toDoc);
        const e = engineOf(docs, refreshEvery);
        const script = { source: "(doc['n'].size() > 0 && doc['n'].value > params.t) || doc['tag'].value == params.tag", params: { t, tag } };
        const got = scores(e, { bool: { filter: [{ script: { script } }] } });
        const want = docs.flatMap((d, i) => ((firstN(d) !== undefined && firstN(d)! > t) || d.tag === tag ? [String(i)] : []));
        expect([...got.keys()].sort()).toEqual(want.sort());
        for (const s of got.values()) expect(s).toBe(0);
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it('scores its boost outside a filter; a non-boolean result and _score are errors', () => {
    const e = engineOf([{ body: 'a', tag: 'x', n: 1 }, { body: 'b', tag: 'y', n: 2 }]);
    expect([...scores(e, { script: { script: "doc['n'].value > 1", boost: 3 } })]).toEqual([['1', 3]]);
    expect(thrownType(() => e.search({ query: { script: { script: "doc['n'].value" } } }))).toBe('script_exception');
    expect(thrownType(() => e.search({ query: { script: { script: '_score > 1' } } }))).toBe('script_exception');
    expect(thrownType(() => e.search({ query: { script: {} } }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ query: { script: { script: 'true', lang: 'x' } } }))).toBe('parsing_exception');
  });
});

describe('script_fields and _script sort', () => {
  const docs: Doc[] = [
    { body: 'a', tag: 'x', n: 4, at: '2024-01-02T00:00:00Z' },
    { body: 'a', tag: 'y', n: [1, 9] },
    { body: 'a', tag: 'z' },
  ];

  it('script_fields: one value (or a list) per hit in fields, beside _source, on the pruned and the general paths', () => {
    const e = engineOf(docs, 2);
    const script_fields = {
      doubled: { script: { source: "doc['n'].size() == 0 ? null : doc['n'].value * params.f", params: { f: 2 } } },
      all: { script: "def l = []; for (def v : doc['n']) l.add(v); l" },
      day: { script: "doc['at'].size() == 0 ? -1 : doc['at'].value / 86400000" },
    };
    // A one-term match ranked by score takes the pruned path; a sorted bool the general one.
    for (const body of [{ query: { match: { body: 'a' } } }, { query: { bool: { must: [{ match: { body: 'a' } }] } }, sort: ['_doc'] }]) {
      const res = e.search({ ...body, script_fields });
      const hits = [...res.hits.hits].sort((a, b) => a._id.localeCompare(b._id));
      expect(hits.map((h) => h.fields)).toEqual([
        { doubled: [8], all: [4], day: [Date.parse('2024-01-02T00:00:00Z') / 86_400_000] },
        { doubled: [2], all: [1, 9], day: [-1] },
        { doubled: [null], all: [], day: [-1] },
      ]);
      expect(hits[0]!._source).toEqual(docs[0]);
    }
    // The fetch phase of a reader computes them too.
    const reader = e.openReader();
    const found = e.search({ query: { match: { body: 'a' } }, _source: false }, reader).hits.hits;
    const fetched = e.fetch(reader, found.map((h) => h._address), { _source: false, script_fields: { t: { script: "doc['tag'].value" } } });
    expect(fetched.map((h) => [h._id, h.fields])).toEqual(found.map((h) => [h._id, { t: [docs[Number(h._id)]!.tag] }]));
    // Beside a collapse value.
    const collapsed = e.search({ query: { match_all: {} }, collapse: { field: 'tag' }, script_fields: { t: { script: "doc['tag'].value.toUpperCase()" } }, sort: ['_doc'] });
    expect(collapsed.hits.hits.map((h) => h.fields)).toEqual([{ tag: ['x'], t: ['X'] }, { tag: ['y'], t: ['Y'] }, { tag: ['z'], t: ['Z'] }]);
    expect(thrownType(() => e.search({ script_fields: { f: { script: '_score' } } }))).toBe('script_exception');
    expect(thrownType(() => e.search({ script_fields: { f: {} } }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ script_fields: { f: { script: '1', x: 1 } } }))).toBe('parsing_exception');
  });

  it('_script sort: by number or string, asc or desc, with sort values in hits and search_after', () => {
    const e = engineOf(docs, 2);
    const byNumber = (order: string) => e.search({ sort: [{ _script: { type: 'number', script: { source: "doc['n'].size() == 0 ? params.d : doc['n'].value", params: { d: 5 } }, order } }] }).hits.hits;
    expect(byNumber('asc').map((h) => [h._id, h.sort])).toEqual([['1', [1]], ['0', [4]], ['2', [5]]]);
    expect(byNumber('desc').map((h) => h._id)).toEqual(['2', '0', '1']);
    const byString = e.search({ sort: [{ _script: { type: 'string', script: "doc['tag'].value + '-' + doc['n'].size()", order: 'desc' } }] }).hits.hits;
    expect(byString.map((h) => h.sort)).toEqual([['z-0'], ['y-2'], ['x-1']]);
    // null sorts last, as a missing value does; _score is readable.
    const withNull = e.search({ query: { match: { body: 'a' } }, sort: [{ _script: { type: 'number', script: "doc['n'].size() == 0 ? null : _score * 0 + doc['n'].value" } }] }).hits.hits;
    expect(withNull.map((h) => h.sort)).toEqual([[1], [4], [null]]);
    const after = e.search({ sort: [{ _script: { type: 'number', script: "doc['n'].size() == 0 ? 5 : doc['n'].value" } }], search_after: [1] }).hits.hits;
    expect(after.map((h) => h._id)).toEqual(['0', '2']);
    expect(thrownType(() => e.search({ sort: [{ _script: { type: 'date', script: '1' } }] }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ sort: [{ _script: { type: 'number' } }] }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ sort: [{ _script: { type: 'number', script: "'a'" } }] }))).toBe('script_exception');
  });
});
