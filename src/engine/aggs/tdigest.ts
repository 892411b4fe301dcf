/**
 * t-digest for the `percentiles` and `percentile_ranks` aggregations: Dunning's merging digest
 * ("Computing extremely accurate quantiles using t-digests", Dunning & Ertl, 2019) with the k1
 * scale function k(q) = δ/2π · asin(2q − 1).
 *
 * The digest is a list of centroids (mean, weight) sorted by mean. New values go to a buffer; when
 * centroids and buffer together pass `capacity` (5δ), the buffer is sorted and merged in, and one
 * left-to-right pass joins neighbours while a centroid spans at most 1 in k. k is steep near q = 0
 * and q = 1, so centroids stay small (often single values) at the tails and grow towards the
 * median: a centroid around quantile q holds at most ≈ 2π·√(q(1−q))/δ of the values, which bounds
 * the rank error there. After a merge there are at most about δ centroids.
 *
 * Until the digest holds more than `capacity` centroids nothing is joined: up to 5δ values (500 at
 * the default compression) the digest is the sorted values themselves and every answer is exact.
 * Two digests merge by the same sorted merge (and a pass only if over capacity), so the union of
 * small digests is exact too, whichever way the values were split.
 *
 * Answers read the digest as a non-decreasing, piecewise-linear rank → value function: a centroid
 * of weight 1 is a known value and occupies the ranks [start, start + 1] flat; a heavier centroid
 * is anchored at its mean in the middle of its ranks; the exact min and max anchor the ends (with
 * one rank each when the end centroid is heavier). `quantile` reads the function at rank q·n
 * (the average of both sides where two values meet, so the median of [a, b] is (a + b) / 2);
 * `cdf` inverts it, taking the highest rank whose value is ≤ x, so over exact values it is the
 * fraction of values ≤ x.
 *
 * The state travels as plain arrays of numbers (`TDigestState`), safe for JSON and msgpack.
 */

export const DEFAULT_COMPRESSION = 100;

/** How many centroids (×δ) a digest holds before joining any: below it, answers are exact. */
const CAPACITY_FACTOR = 5;

/** Serialised digest: centroids sorted by mean, as parallel arrays. */
export interface TDigestState {
  /** Means, ascending. */
  m: number[];
  /** Weights (counts of values), parallel to `m`. */
  w: number[];
  /** Smallest and largest value added; null when empty. */
  min: number | null;
  max: number | null;
}

export class TDigest {
  readonly capacity: number;
  private means: number[] = [];
  private weights: number[] = [];
  /** Values added since the last merge (unit weight, unsorted); grows by doubling up to `capacity`. */
  private pending = new Float64Array(16);
  private pendingCount = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;
  /** Rank → value anchors for answers, rebuilt after any change. */
  private ranks: number[] | undefined;
  private values: number[] = [];

  constructor(readonly compression: number = DEFAULT_COMPRESSION) {
    if (!(compression > 0) || !Number.isFinite(compression)) throw new Error(`t-digest compression must be > 0, got ${compression}`);
    this.capacity = Math.max(1, Math.ceil(compression * CAPACITY_FACTOR));
  }

  static fromState(state: TDigestState, compression: number = DEFAULT_COMPRESSION): TDigest {
    const d = new TDigest(compression);
    d.merge(state);
    return d;
  }

  /** Number of values added (the total weight). */
  get count(): number {
    return this.total;
  }

  /** Number of centroids once pending values are merged in (for tests and sizing). */
  get centroidCount(): number {
    this.flush();
    return this.means.length;
  }

  add(x: number): void {
    if (x !== x) return; // NaN has no rank
    if (x === 0) x = 0; // nor has the sign of zero
    if (this.pendingCount === this.pending.length) {
      if (this.pendingCount + this.means.length >= this.capacity) this.flush();
      else this.growPending();
    }
    this.pending[this.pendingCount++] = x;
    this.total++;
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
    this.ranks = undefined;
  }

  /** Adds another digest's centroids (a shard's partial, say). */
  merge(state: TDigestState): void {
    const { m, w } = state;
    if (!Array.isArray(m) || !Array.isArray(w) || m.length !== w.length) {
      throw new Error('malformed t-digest state: means and weights differ in length');
    }
    if (m.length === 0) return;
    this.flush();
    let weight = 0;
    for (const x of w) weight += x;
    this.mergeSorted(m, w);
    this.total += weight;
    if (state.min !== null && state.min < this.lo) this.lo = state.min;
    if (state.max !== null && state.max > this.hi) this.hi = state.max;
    if (this.means.length > this.capacity) this.compress();
    this.ranks = undefined;
  }

  toState(): TDigestState {
    this.flush();
    return {
      m: this.means.slice(),
      w: this.weights.slice(),
      min: this.total > 0 ? this.lo : null,
      max: this.total > 0 ? this.hi : null,
    };
  }

  /** The value at quantile q ∈ [0, 1]; NaN when empty. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    // The ends are known exactly (in a merged digest the min may sit inside a heavy centroid
    // whose mean comes after another digest's single value).
    if (q <= 0) return this.lo;
    if (q >= 1) return this.hi;
    const { ranks, values } = this.anchors();
    const r = q * this.total;
    // First anchor at or past r (ranks[0] is 0, the last one total).
    let lo = 0;
    let hi = ranks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ranks[mid]! < r) lo = mid + 1;
      else hi = mid;
    }
    const i = lo;
    if (ranks[i]! > r) {
      const r0 = ranks[i - 1]!;
      const v0 = values[i - 1]!;
      const v1 = values[i]!;
      return v0 + (v1 - v0) * ((r - r0) / (ranks[i]! - r0));
    }
    // On an anchor: where two known values meet at this rank, take the middle of the step.
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === r) j++;
    const left = values[i]!;
    const right = values[j]!;
    return left === right ? left : left / 2 + right / 2;
  }

  /** The fraction (0..1) of values ≤ x; NaN when empty. */
  cdf(x: number): number {
    if (this.total === 0) return NaN;
    if (x < this.lo) return 0;
    if (x >= this.hi) return 1;
    const { ranks, values } = this.anchors();
    // Last anchor whose value is ≤ x (values[0] is min ≤ x, the last is max > x).
    let lo = 0;
    let hi = values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (values[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    const j = lo;
    const r0 = ranks[j]!;
    const r1 = ranks[j + 1]!;
    const r = r1 === r0 ? r0 : r0 + ((x - values[j]!) / (values[j + 1]! - values[j]!)) * (r1 - r0);
    return r / this.total;
  }

  private growPending(): void {
    const next = new Float64Array(Math.min(this.capacity, this.pending.length * 2));
    next.set(this.pending);
    this.pending = next;
  }

  /** Sorts pending values into the centroids; joins centroids only when over capacity. */
  private flush(): void {
    if (this.pendingCount === 0) return;
    const sorted = this.pending.subarray(0, this.pendingCount).sort();
    this.pendingCount = 0;
    this.mergeSorted(sorted, undefined);
    if (this.means.length > this.capacity) this.compress();
  }

  /**
   * Merges centroids sorted by mean into ours (also sorted), without joining any. `w` undefined:
   * every weight is 1 (pending values).
   */
  private mergeSorted(m: ArrayLike<number>, w: ArrayLike<number> | undefined): void {
    const am = this.means;
    const aw = this.weights;
    const total = am.length + m.length;
    const outM = new Array<number>(total);
    const outW = new Array<number>(total);
    let i = 0;
    let j = 0;
    for (let k = 0; k < total; k++) {
      if (j < m.length && (i === am.length || m[j]! < am[i]!)) {
        outM[k] = m[j]!;
        outW[k] = w === undefined ? 1 : w[j]!;
        j++;
      } else {
        outM[k] = am[i]!;
        outW[k] = aw[i]!;
        i++;
      }
    }
    this.means = outM;
    this.weights = outW;
  }

  /**
   * One left-to-right pass joining neighbours: a centroid starting at quantile q0 may grow while
   * its right edge stays within k(q0) + 1, i.e. up to q = k⁻¹(k(q0) + 1).
   */
  private compress(): void {
    const means = this.means;
    const weights = this.weights;
    const n = this.total;
    const outM: number[] = [];
    const outW: number[] = [];
    let mean = means[0]!;
    let weight = weights[0]!;
    let before = 0;
    let limit = this.qLimit(0) * n;
    for (let i = 1; i < means.length; i++) {
      const w = weights[i]!;
      if (before + weight + w <= limit) {
        weight += w;
        mean += (means[i]! - mean) * (w / weight);
      } else {
        outM.push(mean);
        outW.push(weight);
        before += weight;
        limit = this.qLimit(before / n) * n;
        mean = means[i]!;
        weight = w;
      }
    }
    outM.push(mean);
    outW.push(weight);
    this.means = outM;
    this.weights = outW;
  }

  /** k⁻¹(k(q) + 1) under k1, or 1 once past the top of the scale (k = δ/4). */
  private qLimit(q: number): number {
    const d = this.compression;
    const k = (d / (2 * Math.PI)) * Math.asin(2 * q - 1) + 1;
    if (k >= d / 4) return 1;
    return (1 + Math.sin((2 * Math.PI * k) / d)) / 2;
  }

  /**
   * The rank → value function as anchors, ranks ascending from 0 to `total`; equal ranks with
   * different values are a step between two known values. Clamped to [min, max] and made
   * non-decreasing against the last-bit drift of merged means.
   */
  private anchors(): { ranks: number[]; values: number[] } {
    if (this.ranks) return { ranks: this.ranks, values: this.values };
    this.flush();
    const means = this.means;
    const weights = this.weights;
    const last = means.length - 1;
    const ranks: number[] = [];
    const values: number[] = [];
    let prev = this.lo;
    const push = (r: number, v: number): void => {
      if (v < prev) v = prev;
      if (v > this.hi) v = this.hi;
      ranks.push(r);
      values.push(v);
      prev = v;
    };
    push(0, this.lo);
    // A heavy first centroid still holds the min itself: one rank of it is known exactly.
    if (weights[0]! > 2) push(1, this.lo);
    let start = 0;
    for (let i = 0; i <= last; i++) {
      const w = weights[i]!;
      if (w === 1) {
        push(start, means[i]!);
        push(start + 1, means[i]!);
      } else {
        push(start + w / 2, means[i]!);
      }
      start += w;
    }
    if (weights[last]! > 2) push(this.total - 1, this.hi);
    push(this.total, this.hi);
    this.ranks = ranks;
    this.values = values;
    return { ranks, values };
  }
}
