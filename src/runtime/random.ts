/**
 * A small seeded PRNG (mulberry32) for deterministic simulation: fault decisions, jitter, test
 * scenarios. Not cryptographic. The same seed always yields the same sequence.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError(`SeededRandom: seed must be finite, got ${seed}`);
    // Fold the high bits of large seeds in, so e.g. 1 and 2**32 + 1 differ.
    const hi = Math.floor(Math.abs(seed) / 4294967296);
    this.state = (Math.trunc(seed) ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0) {
      throw new RangeError(`SeededRandom.int: maxExclusive must be a positive integer, got ${maxExclusive}`);
    }
    return Math.floor(this.next() * maxExclusive);
  }

  /** True with probability p. Always consumes exactly one draw, whatever p is. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError('SeededRandom.pick: empty array');
    return xs[this.int(xs.length)] as T;
  }

  /** An independent generator seeded from this one (advances this one by one draw). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32() ^ 0x5bd1e995);
  }
}
