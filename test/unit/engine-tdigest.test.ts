/**
 * The t-digest behind `percentiles` / `percentile_ranks` (src/engine/aggs/tdigest.ts): exact answers
 * while it holds few values, rank errors within the k1 scale function's bound once it compresses
 * (tighter at the tails), merges that stay within that bound, and a state that is plain data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TDigest } from '../../src/engine/aggs/tdigest.ts';
import type { TDigestState } from '../../src/engine/aggs/tdigest.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import { SeededRandom } from '../../src/runtime/random.ts';

/** A seeded PRNG (the runtime's mulberry32), so the random-data tests are reproducible. */
function prng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

const digestOf = (values: readonly number[], compression = 100): TDigest => {
  const d = new TDigest(compression);
  for (const v of values) d.add(v);
  return d;
};

const sortedCopy = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** Number of values < v and ≤ v in sorted data. */
function rankInterval(sorted: readonly number[], v: number): [number, number] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m]! < v) lo = m + 1;
    else hi = m;
  }
  const below = lo;
  hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m]! <= v) lo = m + 1;
    else hi = m;
  }
  return [below, lo];
}

/** How far (as a fraction of n) quantile q's answer v lies from the ranks v really has. */
function rankError(sorted: readonly number[], v: number, q: number): number {
  const n = sorted.length;
  const [below, atMost] = rankInterval(sorted, v);
  const r = q * n;
  return r < below ? (below - r) / n : r > atMost ? (r - atMost) / n : 0;
}

/**
 * Under k1 a centroid around quantile q spans at most 2π·√(q(1−q))/δ of the values (so less at the
 * tails). An answer interpolated between two neighbouring centroids' means has its true rank
 * within those two centroids: off by at most two spans, plus one value. A merged digest joins
 * centroids whose value ranges overlap, so it gets a third span.
 */
const tolerance = (q: number, n: number, compression = 100, centroids = 2): number =>
  (centroids * 2 * Math.PI * Math.sqrt(q * (1 - q))) / compression + 1 / n;

/** The exact quantile the digest answers while uncompressed: the middle of the step where ranks meet. */
function exactQuantile(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  const r = q * n;
  if (r <= 0) return sorted[0]!;
  if (r >= n) return sorted[n - 1]!;
  if (Number.isInteger(r)) {
    const a = sorted[r - 1]!;
    const b = sorted[r]!;
    return a === b ? a : a / 2 + b / 2;
  }
  return sorted[Math.ceil(r) - 1]!;
}

const QS = [0, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1];

describe('t-digest: exact answers for few values', () => {
  it('empty: NaN answers and an empty state', () => {
    const d = new TDigest();
    expect(d.quantile(0.5)).toBeNaN();
    expect(d.cdf(0)).toBeNaN();
    expect(d.toState()).toEqual({ m: [], w: [], min: null, max: null });
  });

  it('one value answers itself everywhere', () => {
    const d = digestOf([-3.5]);
    for (const q of [0, 0.01, 0.5, 0.99, 1]) expect(d.quantile(q)).toBe(-3.5);
    expect(d.cdf(-3.5)).toBe(1);
    expect(d.cdf(-3.6)).toBe(0);
    expect(d.cdf(100)).toBe(1);
    // -0 is 0 (toBe tells them apart).
    expect(digestOf([-0, 0]).quantile(0)).toBe(0);
  });

  it('two values: each owns half the ranks, the median is their midpoint', () => {
    const d = digestOf([30, 10]);
    expect([0, 0.25, 0.4, 0.5, 0.6, 0.75, 1].map((q) => d.quantile(q))).toEqual([10, 10, 10, 20, 30, 30, 30]);
    expect([9, 10, 20, 29.9, 30].map((x) => d.cdf(x))).toEqual([0, 0.5, 0.5, 0.5, 1]);
  });

  it('all-equal values (compressed or not) answer that value exactly', () => {
    for (const n of [3, 500, 20_000]) {
      const d = digestOf(Array.from({ length: n }, () => 0.1));
      if (n === 20_000) expect(d.centroidCount).toBeLessThan(100);
      for (const q of QS) expect(d.quantile(q)).toBe(0.1);
      expect(d.cdf(0.1)).toBe(1);
      expect(d.cdf(0.09999)).toBe(0);
    }
  });

  it('up to 5·compression values, quantiles and ranks are exact, however the values were split and merged', () => {
    // -0 is 0 to the digest (and to Elasticsearch's sort): the reference would put it anywhere among zeros.
    const value = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => (v === 0 ? 0 : v)));
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 500, size: 'max' }),
        fc.array(fc.nat(5), { maxLength: 500, size: 'max' }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 10 }),
        (values, splitAt, qs) => {
          const sorted = sortedCopy(values);
          const parts = Array.from({ length: 6 }, () => new TDigest());
          values.forEach((v, i) => parts[splitAt[i] ?? 0]!.add(v));
          const merged = new TDigest();
          for (const p of parts) merged.merge(p.toState());
          for (const d of [digestOf(values), merged]) {
            for (const q of [...qs, 0, 0.5, 1]) expect(d.quantile(q)).toBe(exactQuantile(sorted, q));
            for (const x of [...values, -2e6, 0, 2e6]) expect(d.cdf(x)).toBe(rankInterval(sorted, x)[1] / sorted.length);
          }
        },
      ),
      { numRuns: 200, seed: 0x7d1 },
    );
  });
});

describe('t-digest: accuracy once compressed', () => {
  const distributions: [string, (r: () => number) => number][] = [
    ['uniform', (r) => r() * 1000],
    ['exponential', (r) => -Math.log(1 - r())],
    // Heavy right tail: values spread over ~12 orders of magnitude.
    ['log-normal (σ = 3)', (r) => Math.exp(3 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()))],
  ];

  for (const [name, draw] of distributions) {
    it(`${name}: quantile and rank errors within the k1 bound, tighter at the tails; min and max exact`, () => {
      const r = prng(name.length * 7919);
      const n = 100_000;
      const values = Array.from({ length: n }, () => draw(r));
      const sorted = sortedCopy(values);
      const d = digestOf(values);
      expect(d.centroidCount).toBeLessThanOrEqual(100);
      for (const q of QS) {
        const err = rankError(sorted, d.quantile(q), q);
        expect(err, `q=${q}`).toBeLessThanOrEqual(tolerance(q, n));
      }
      expect(d.quantile(0)).toBe(sorted[0]);
      expect(d.quantile(1)).toBe(sorted[n - 1]);
      for (const q of QS) {
        const x = sorted[Math.min(n - 1, Math.floor(q * n))]!;
        const truth = rankInterval(sorted, x);
        const got = d.cdf(x) * n;
        const off = got < truth[0] ? truth[0] - got : got > truth[1] ? got - truth[1] : 0;
        expect(off / n, `cdf at q=${q}`).toBeLessThanOrEqual(tolerance(q, n));
      }
    });
  }

  it('a smaller compression keeps fewer centroids and is less accurate, within its own bound', () => {
    const r = prng(11);
    const values = Array.from({ length: 50_000 }, () => r());
    const sorted = sortedCopy(values);
    const d = digestOf(values, 20);
    expect(d.centroidCount).toBeLessThanOrEqual(20);
    for (const q of QS) expect(rankError(sorted, d.quantile(q), q)).toBeLessThanOrEqual(tolerance(q, values.length, 20));
  });
});

describe('t-digest: merging and serialisation', () => {
  it('merging many digests ≈ one digest of every value (both within the bound of the truth)', () => {
    // Values with enough resolution to have few ties; not doubles across hundreds of orders of
    // magnitude in one centroid, where a centroid's mean says little about its ranks.
    const values = fc.oneof(
      fc.array(fc.integer({ min: -1e6, max: 1e6 }).map((x) => x / 1000), { minLength: 600, maxLength: 3000, size: 'max' }),
      // Skewed, with many duplicates.
      fc.array(fc.integer({ min: 0, max: 400 }).map((x) => Math.floor((x * x) / 400)), { minLength: 600, maxLength: 3000, size: 'max' }),
    );
    fc.assert(
      fc.property(values, fc.integer({ min: 2, max: 40 }), fc.nat(1000), (vals, parts, offset) => {
        const n = vals.length;
        const sorted = sortedCopy(vals);
        const digests = Array.from({ length: parts }, () => new TDigest());
        // Contiguous runs (as shards holding different time ranges would), not round robin.
        vals.forEach((v, i) => digests[Math.floor(((i + offset) % n) / Math.ceil(n / parts))]!.add(v));
        const merged = new TDigest();
        for (const p of digests) merged.merge(JSON.parse(JSON.stringify(p.toState())) as TDigestState);
        const one = digestOf(vals);
        expect(merged.count).toBe(n);
        // Merging compresses too: the merged state stays small.
        expect(merged.centroidCount).toBeLessThanOrEqual(merged.capacity);
        for (const q of QS) {
          expect(rankError(sorted, merged.quantile(q), q), `merged q=${q}`).toBeLessThanOrEqual(tolerance(q, n, 100, 3));
          expect(rankError(sorted, one.quantile(q), q), `one q=${q}`).toBeLessThanOrEqual(tolerance(q, n));
        }
        expect(merged.quantile(0)).toBe(sorted[0]);
        expect(merged.quantile(1)).toBe(sorted[n - 1]);
      }),
      // No shrinking of arrays this long: report the failing case as found.
      { numRuns: 200, seed: 0x5eed, endOnFailure: true },
    );
  });

  it('the state is plain arrays of numbers: through JSON and msgpack it answers the same', () => {
    const r = prng(3);
    const d = digestOf(Array.from({ length: 10_000 }, () => r() * 100 - 50));
    const state = d.toState();
    expect(Array.isArray(state.m) && Array.isArray(state.w)).toBe(true);
    expect(state.m.length).toBe(state.w.length);
    expect(state.w.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(state.m.length).toBeLessThanOrEqual(100);
    const viaJson = JSON.parse(JSON.stringify(state)) as TDigestState;
    const viaMsgpack = decode(encode(state)) as TDigestState;
    expect(viaJson).toEqual(state);
    expect(viaMsgpack).toEqual(state);
    for (const back of [TDigest.fromState(viaJson), TDigest.fromState(viaMsgpack)]) {
      for (const q of QS) expect(back.quantile(q)).toBe(d.quantile(q));
      for (const x of [-50, -10, 0, 3.3, 49.9]) expect(back.cdf(x)).toBe(d.cdf(x));
      expect(back.toState()).toEqual(state);
    }
  });

  it('refuses a malformed state', () => {
    expect(() => new TDigest().merge({ m: [1, 2], w: [1], min: 1, max: 2 })).toThrow(/differ in length/);
    expect(() => new TDigest(0)).toThrow(/compression/);
  });

  it('answers stay within [min, max] and non-decreasing even if merged means drifted past them', () => {
    // Joined means can be off in the last bit; a state whose means lie outside [min, max] shows the clamp.
    const d = TDigest.fromState({ m: [0.5, 2, 1.5, 10], w: [4, 4, 4, 4], min: 1, max: 9 });
    const answers = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1].map((q) => d.quantile(q));
    for (const a of answers) expect(a >= 1 && a <= 9).toBe(true);
    expect(answers).toEqual(sortedCopy(answers));
  });
});
