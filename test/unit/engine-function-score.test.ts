import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { engineOf, scores, type ScoredDoc } from '../support/scored-engine.ts';
import { thrownType } from '../support/thrown.ts';

type Doc = ScoredDoc;

// ---- a naive reference of Elasticsearch's function_score arithmetic -------------------------------

type Fn = { filterTag?: string; weight?: number } & (
  | { type: 'weight' }
  | { type: 'fvf'; factor: number; modifier: string; missing?: number }
  | { type: 'gauss' | 'exp' | 'linear'; origin: number; scale: number; offset: number; decay: number; mode: 'min' | 'max' | 'avg' | 'sum' }
);

function fnJson(f: Fn): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.filterTag !== undefined) out.filter = { term: { tag: f.filterTag } };
  if (f.weight !== undefined) out.weight = f.weight;
  if (f.type === 'fvf') out.field_value_factor = { field: 'n', factor: f.factor, modifier: f.modifier, ...(f.missing === undefined ? {} : { missing: f.missing }) };
  else if (f.type !== 'weight') out[f.type] = { n: { origin: f.origin, scale: f.scale, offset: f.offset, decay: f.decay }, multi_value_mode: f.mode };
  return out;
}

const MODIFY: Record<string, (v: number) => number> = {
  none: (v) => v,
  log1p: (v) => Math.log10(v + 1),
  ln2p: (v) => Math.log(v + 2),
  square: (v) => v * v,
  sqrt: (v) => Math.sqrt(v),
};

function refFunction(f: Fn, doc: Doc): number {
  const w = f.weight ?? 1;
  const values = doc.n === undefined ? [] : ([] as number[]).concat(doc.n).sort((a, b) => a - b);
  if (f.type === 'weight') return w;
  if (f.type === 'fvf') return MODIFY[f.modifier]!((values[0] ?? f.missing!) * f.factor) * w;
  if (values.length === 0) return w;
  const ds = values.map((v) => Math.max(0, Math.abs(v - f.origin) - f.offset));
  const d = f.mode === 'min' ? Math.min(...ds) : f.mode === 'max' ? Math.max(...ds) : ds.reduce((a, b) => a + b, 0) / (f.mode === 'avg' ? ds.length : 1);
  if (f.type === 'gauss') return Math.exp(-(d * d) / (2 * (-(f.scale * f.scale) / (2 * Math.log(f.decay))))) * w;
  if (f.type === 'exp') return Math.exp((Math.log(f.decay) / f.scale) * d) * w;
  const s = f.scale / (1 - f.decay);
  return Math.max(0, (s - d) / s) * w;
}

function refScore(fns: Fn[], scoreMode: string, boostMode: string, maxBoost: number, queryScore: number, doc: Doc): number {
  const matching = fns.filter((f) => f.filterTag === undefined || f.filterTag === doc.tag);
  const vals = matching.map((f) => refFunction(f, doc));
  let factor = 1;
  if (vals.length > 0) {
    if (scoreMode === 'multiply') factor = vals.reduce((a, b) => a * b, 1);
    else if (scoreMode === 'sum') factor = vals.reduce((a, b) => a + b, 0);
    else if (scoreMode === 'avg') factor = vals.reduce((a, b) => a + b, 0) / matching.reduce((a, f) => a + (f.weight ?? 1), 0);
    else if (scoreMode === 'first') factor = vals[0]!;
    else if (scoreMode === 'max') factor = Math.max(...vals);
    else factor = Math.min(...vals);
  }
  factor = Math.min(factor, maxBoost);
  switch (boostMode) {
    case 'multiply':
      return queryScore * factor;
    case 'replace':
      return factor;
    case 'sum':
      return queryScore + factor;
    case 'avg':
      return (queryScore + factor) / 2;
    case 'max':
      return Math.max(queryScore, factor);
    default:
      return Math.min(queryScore, factor);
  }
}

const fnArb: fc.Arbitrary<Fn> = fc.oneof(
  fc.record({ type: fc.constant('weight' as const), weight: fc.constantFrom(0.5, 2, 3) }),
  fc.record({ type: fc.constant('fvf' as const), factor: fc.constantFrom(1, 0.5, 3), modifier: fc.constantFrom('none', 'log1p', 'ln2p', 'square', 'sqrt'), missing: fc.constantFrom(1, 4) }),
  fc.record({
    type: fc.constantFrom('gauss' as const, 'exp' as const, 'linear' as const),
    origin: fc.integer({ min: 0, max: 20 }),
    scale: fc.constantFrom(1, 5, 12.5),
    offset: fc.constantFrom(0, 2),
    decay: fc.constantFrom(0.5, 0.1, 0.9),
    mode: fc.constantFrom('min' as const, 'max' as const, 'avg' as const, 'sum' as const),
  }),
).chain((f) => fc.record({ filterTag: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }), weight: fc.option(fc.constantFrom(0.5, 2), { nil: undefined }) }).map((extra) => ({ ...f, ...extra, weight: extra.weight ?? (f as { weight?: number }).weight }) as Fn));

describe('function_score', () => {
  it('scores every doc as a naive evaluation of the functions, modes, max_boost, min_score and boost does', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            words: fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 6 }),
            tag: fc.constantFrom('x', 'y', 'z'),
            n: fc.option(fc.oneof(fc.integer({ min: 0, max: 30 }), fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 3 })), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(fnArb, { maxLength: 4 }),
        fc.constantFrom('multiply', 'sum', 'avg', 'first', 'max', 'min'),
        fc.constantFrom('multiply', 'replace', 'sum', 'avg', 'max', 'min'),
        fc.constantFrom(Infinity, 1.5),
        fc.option(fc.constantFrom(0.2, 1), { nil: undefined }),
        fc.constantFrom(1, 2),
        fc.constantFrom(0, 7),
        (raw, fns, scoreMode, boostMode, maxBoost, minScore, boost, refreshEvery) => {
          const docs: Doc[] = raw.map((d) => ({ body: d.words.join(' '), tag: d.tag, ...(d.n === undefined ? {} : { n: d.n }) }));
          const e = engineOf(docs, refreshEvery);
          const inner = { match: { body: 'a b' } };
          const query = {
            function_score: {
              query: inner,
              functions: fns.map(fnJson),
              score_mode: scoreMode,
              boost_mode: boostMode,
              ...(maxBoost === Infinity ? {} : { max_boost: maxBoost }),
              ...(minScore === undefined ? {} : { min_score: minScore }),
              boost,
            },
          };
          const got = scores(e, query);
          const want = new Map<string, number>();
          for (const [id, s] of scores(e, inner)) {
            const score = refScore(fns, scoreMode, boostMode, maxBoost, s, docs[Number(id)]!);
            if (minScore === undefined || score >= minScore) want.set(id, score * boost);
          }
          expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
          for (const [id, s] of want) expect(got.get(id)).toBeCloseTo(s, 9);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('takes one function at the top level, and matches every doc with no query', () => {
    const e = engineOf([{ body: 'a', tag: 'x', n: 4 }, { body: 'b', tag: 'y', n: 9 }]);
    const got = scores(e, { function_score: { field_value_factor: { field: 'n', modifier: 'sqrt' }, weight: 2, boost_mode: 'replace' } });
    expect(got).toEqual(new Map([['0', 4], ['1', 6]]));
    expect(scores(e, { function_score: {} })).toEqual(new Map([['0', 1], ['1', 1]]));
  });

  it('decays dates from now by default, with a time-value scale', () => {
    const day = 86_400_000;
    const now = Date.now();
    const e = new ShardEngine({ mappings: { properties: { at: { type: 'date' } } } });
    e.index('today', { at: now });
    e.index('ten-days-ago', { at: now - 10 * day });
    e.index('no-date', {});
    e.refresh();
    const got = scores(e, { function_score: { gauss: { at: { scale: '10d' } }, boost_mode: 'replace' } });
    expect(got.get('today')).toBeCloseTo(1, 4);
    // At origin + scale a decay function is worth `decay` (0.5 by default).
    expect(got.get('ten-days-ago')).toBeCloseTo(0.5, 4);
    expect(got.get('no-date')).toBe(1);
    const fromDate = scores(e, { function_score: { exp: { at: { origin: 'now-10d', scale: '5d', decay: 0.25 } }, boost_mode: 'replace' } });
    expect(fromDate.get('ten-days-ago')).toBeCloseTo(1, 4);
    expect(fromDate.get('today')).toBeCloseTo(0.25 ** 2, 4);
  });

  it('gives random_score with a seed the same scores on every request, in [0, 1)', () => {
    const docs = Array.from({ length: 50 }, (_, i) => ({ body: 'a', tag: 'x', n: i }));
    const e = engineOf(docs, 13);
    const q = (seed: number, field?: string) => ({ function_score: { random_score: { seed, ...(field ? { field } : {}) }, boost_mode: 'replace' } });
    const first = scores(e, q(42));
    expect(scores(e, q(42))).toEqual(first);
    expect(new Set(first.values()).size).toBeGreaterThan(45);
    for (const s of first.values()) expect(s >= 0 && s < 1).toBe(true);
    expect(scores(e, q(7))).not.toEqual(first);
    expect(scores(e, q(42, 'n'))).toEqual(scores(e, q(42, 'n')));
  });

  it('lists matched_queries inside it and highlights the terms of its query', () => {
    const e = engineOf([{ body: 'quick fox', tag: 'x' }]);
    const res = e.search({ query: { function_score: { query: { match: { body: { query: 'fox', _name: 'animal' } } }, weight: 2 } }, highlight: { fields: { body: {} } } });
    expect(res.hits.hits[0]!.matched_queries).toEqual(['animal']);
    expect(res.hits.hits[0]!.highlight).toEqual({ body: ['quick <em>fox</em>'] });
  });

  it('refuses malformed requests with a structured error, and a field value it cannot use', () => {
    const e = engineOf([{ body: 'a', tag: 'x' }, { body: 'a', tag: 'y', n: -5 }]);
    const err = (query: unknown) => thrownType(() => e.search({ query }));
    expect(err({ function_score: { functions: [], weight: 2 } })).toBe('parsing_exception');
    expect(err({ function_score: { functions: [{}] } })).toBe('parsing_exception');
    expect(err({ function_score: { functions: [{ weight: 1, gauss: { n: { origin: 0, scale: 1 } }, exp: { n: { origin: 0, scale: 1 } } }] } })).toBe('parsing_exception');
    expect(err({ function_score: { score_mode: 'median' } })).toBe('parsing_exception');
    expect(err({ function_score: { boost_mode: 3 } })).toBe('parsing_exception');
    expect(err({ function_score: { script_score: {} } })).toBe('parsing_exception');
    expect(err({ function_score: { gauss: { n: { origin: 0 } } } })).toBe('parsing_exception');
    expect(err({ function_score: { gauss: { n: { origin: 0, scale: 1, decay: 1.5 } } } })).toBe('illegal_argument_exception');
    expect(err({ function_score: { gauss: { n: { scale: 1 } } } })).toBe('parsing_exception');
    expect(err({ function_score: { gauss: { nope: { origin: 0, scale: 1 } } } })).toBe('parsing_exception');
    expect(err({ function_score: { linear: { tag: { origin: 0, scale: 1 } } } })).toBe('illegal_argument_exception');
    expect(err({ function_score: { weight: -1 } })).toBe('illegal_argument_exception');
    // Doc 0 has no n and there is no `missing`; doc 1's n makes the log negative.
    expect(err({ function_score: { field_value_factor: { field: 'n' } } })).toBe('illegal_argument_exception');
    expect(err({ function_score: { field_value_factor: { field: 'n', missing: 1, modifier: 'ln' } } })).toBe('illegal_argument_exception');
    expect(err({ function_score: { field_value_factor: { field: 'tag' } } })).toBe('illegal_argument_exception');
    expect(err({ function_score: { field_value_factor: { field: 'n', missing: 2 } } })).toBe('illegal_argument_exception');
    expect(err({ function_score: { field_value_factor: { field: 'unmapped', missing: 2 } } })).toBe('none');
  });
});
