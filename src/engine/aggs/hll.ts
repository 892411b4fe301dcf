/**
 * Cardinality sketches: HyperLogLog++ in the shape Elasticsearch uses for the `cardinality`
 * aggregation. Below `precision_threshold` distinct values the sketch is a set of hashes (exact, up
 * to 53-bit hash collisions: ~1e-7 at 40 000 values); above it, 2^p one-byte registers, p derived
 * from the threshold as Elasticsearch does. Estimation uses Ertl's improved raw estimator
 * ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which is unbiased over
 * the whole range without HLL++'s empirical bias tables.
 *
 * Values are hashed with MurmurHash3 x86_128 (Math.imul only, no BigInt): strings over their UTF-8
 * bytes, numbers over the 8 little-endian bytes of their float64 (-0 as 0). The sketch keeps 53
 * bits of it (h1's 32 bits, then the top 21 of h2) so a hash fits a JS number exactly.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function word(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** MurmurHash3_x86_128 of `bytes[0..len)`; writes h1..h4 (unsigned 32-bit) into `out`. */
export function murmur3x86_128(bytes: Uint8Array, len: number, seed: number, out: Uint32Array): void {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const nblocks = len >>> 4;
  for (let i = 0; i < nblocks; i++) {
    const o = i << 4;
    let k1 = word(bytes, o);
    let k2 = word(bytes, o + 4);
    let k3 = word(bytes, o + 8);
    let k4 = word(bytes, o + 12);
    k1 = Math.imul(k1, C1);
    k1 = rotl(k1, 15);
    k1 = Math.imul(k1, C2);
    h1 ^= k1;
    h1 = rotl(h1, 19);
    h1 = (h1 + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(k2, C2);
    k2 = rotl(k2, 16);
    k2 = Math.imul(k2, C3);
    h2 ^= k2;
    h2 = rotl(h2, 17);
    h2 = (h2 + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(k3, C3);
    k3 = rotl(k3, 17);
    k3 = Math.imul(k3, C4);
    h3 ^= k3;
    h3 = rotl(h3, 15);
    h3 = (h3 + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(k4, C4);
    k4 = rotl(k4, 18);
    k4 = Math.imul(k4, C1);
    h4 ^= k4;
    h4 = rotl(h4, 13);
    h4 = (h4 + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  const t = nblocks << 4;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  switch (len & 15) {
    case 15:
      k4 ^= bytes[t + 14]! << 16;
    // falls through
    case 14:
      k4 ^= bytes[t + 13]! << 8;
    // falls through
    case 13:
      k4 ^= bytes[t + 12]!;
      k4 = Math.imul(k4, C4);
      k4 = rotl(k4, 18);
      k4 = Math.imul(k4, C1);
      h4 ^= k4;
    // falls through
    case 12:
      k3 ^= bytes[t + 11]! << 24;
    // falls through
    case 11:
      k3 ^= bytes[t + 10]! << 16;
    // falls through
    case 10:
      k3 ^= bytes[t + 9]! << 8;
    // falls through
    case 9:
      k3 ^= bytes[t + 8]!;
      k3 = Math.imul(k3, C3);
      k3 = rotl(k3, 17);
      k3 = Math.imul(k3, C4);
      h3 ^= k3;
    // falls through
    case 8:
      k2 ^= bytes[t + 7]! << 24;
    // falls through
    case 7:
      k2 ^= bytes[t + 6]! << 16;
    // falls through
    case 6:
      k2 ^= bytes[t + 5]! << 8;
    // falls through
    case 5:
      k2 ^= bytes[t + 4]!;
      k2 = Math.imul(k2, C2);
      k2 = rotl(k2, 16);
      k2 = Math.imul(k2, C3);
      h2 ^= k2;
    // falls through
    case 4:
      k1 ^= bytes[t + 3]! << 24;
    // falls through
    case 3:
      k1 ^= bytes[t + 2]! << 16;
    // falls through
    case 2:
      k1 ^= bytes[t + 1]! << 8;
    // falls through
    case 1:
      k1 ^= bytes[t]!;
      k1 = Math.imul(k1, C1);
      k1 = rotl(k1, 15);
      k1 = Math.imul(k1, C2);
      h1 ^= k1;
  }
  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2) | 0;
  h1 = (h1 + h3) | 0;
  h1 = (h1 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

const TWO21 = 2097152;
const encoder = new TextEncoder();
let scratch = new Uint8Array(256);
const hashOut = new Uint32Array(4);
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);

function hash53(len: number, bytes: Uint8Array): number {
  murmur3x86_128(bytes, len, 0, hashOut);
  return hashOut[0]! * TWO21 + (hashOut[1]! >>> 11);
}

/** 53-bit hash of a string's UTF-8 bytes. */
export function hashString(s: string): number {
  if (scratch.length < s.length * 3) scratch = new Uint8Array(s.length * 3 + 16);
  const { written } = encoder.encodeInto(s, scratch);
  return hash53(written, scratch);
}

/** 53-bit hash of a number's float64 bytes (little-endian; -0 hashes as 0). */
export function hashNumber(v: number): number {
  f64[0] = v === 0 ? 0 : v;
  if (!littleEndian) f64Bytes.reverse();
  return hash53(8, f64Bytes);
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const MAX_PRECISION_THRESHOLD = 40_000;
export const DEFAULT_PRECISION_THRESHOLD = 3_000;

/** Elasticsearch's `HyperLogLogPlusPlus.precisionFromThreshold`. */
export function precisionFromThreshold(threshold: number): number {
  const entries = Math.ceil(threshold / 0.75);
  const bits = Math.max(1, Math.ceil(Math.log2(entries * 4 + 1)));
  return Math.min(18, Math.max(4, bits));
}

/** Adds a 53-bit hash to registers of precision p (register values 0..(53-p)+1). */
function registerAdd(regs: Uint8Array, p: number, h: number): void {
  const hi = Math.floor(h / TWO21) >>> 0;
  const lo = (h - hi * TWO21) << 11; // top 21 bits of the low word, left-aligned
  const idx = hi >>> (32 - p);
  const w = (hi << p) >>> 0;
  let rank: number;
  if (w !== 0) rank = Math.clz32(w) + 1;
  else if (lo !== 0) rank = 32 - p + Math.clz32(lo) + 1;
  else rank = 32 - p + 21 + 1;
  if (rank > regs[idx]!) regs[idx] = rank;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const prev = z;
    z += x * y;
    y += y;
    if (z === prev) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === prev) return z / 3;
  }
}

/** Ertl's improved raw estimator over the register histogram. */
export function estimateRegisters(regs: Uint8Array, p: number): number {
  const m = regs.length;
  const q = 53 - p;
  const c = new Float64Array(q + 2);
  for (let i = 0; i < m; i++) c[regs[i]!]!++;
  let z = m * tau(1 - c[q + 1]! / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + c[k]!);
  z += m * sigma(c[0]! / m);
  const alphaInf = 0.5 / Math.LN2;
  return Math.round((alphaInf * m * m) / z);
}

/** Serialized sketch: `h` (the exact hash set) or `r` (base64 registers) and `p`. */
export interface CardinalityPartial {
  t: 'cardinality';
  h?: number[];
  r?: string;
  p: number;
}

export class CardinalitySketch {
  private exact: Set<number> | undefined = new Set();
  private regs: Uint8Array | undefined;
  readonly p: number;

  constructor(readonly threshold: number) {
    this.p = precisionFromThreshold(threshold);
  }

  add(hash: number): void {
    const exact = this.exact;
    if (exact) {
      exact.add(hash);
      if (exact.size > this.threshold) this.toRegisters();
    } else registerAdd(this.regs!, this.p, hash);
  }

  private toRegisters(): void {
    const regs = new Uint8Array(1 << this.p);
    for (const h of this.exact!) registerAdd(regs, this.p, h);
    this.regs = regs;
    this.exact = undefined;
  }

  merge(part: CardinalityPartial): void {
    if (part.h) {
      for (const h of part.h) this.add(h);
      return;
    }
    if (part.r === undefined) return;
    const other = new Uint8Array(Buffer.from(part.r, 'base64'));
    if (other.length !== 1 << this.p || part.p !== this.p) {
      throw new Error(`cardinality sketches of different precision (${part.p} vs ${this.p})`);
    }
    if (this.exact) this.toRegisters();
    const regs = this.regs!;
    for (let i = 0; i < regs.length; i++) if (other[i]! > regs[i]!) regs[i] = other[i]!;
  }

  value(): number {
    return this.exact ? this.exact.size : estimateRegisters(this.regs!, this.p);
  }

  toPartial(): CardinalityPartial {
    if (this.exact) return { t: 'cardinality', h: [...this.exact], p: this.p };
    const r = this.regs!;
    return { t: 'cardinality', r: Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('base64'), p: this.p };
  }
}
