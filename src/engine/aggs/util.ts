/**
 * Small shared helpers for aggregations: key ordering, Java-style number printing, doc-set
 * partitioning and intersection (the columnar inner loops), and `_source` filtering.
 */

import { EngineError, isPlainObject } from '../types.ts';
import type { SegmentColumns } from '../types.ts';

/** A bucket key: a term (keyword fields) or a number (numeric fields, histogram keys, dates). */
export type Key = string | number;

/** One segment's share of the docs an aggregation (or one of its buckets) sees. */
export interface SegView {
  /** Index of the segment in the array given to `collectAggs` (passed to `resolveFilter`). */
  readonly seg: number;
  readonly columns: SegmentColumns;
  /** Sorted ascending doc ids. */
  readonly docs: Int32Array;
  /** Scores parallel to `docs`, when the engine gave them and something below needs them. */
  readonly scores: Float32Array | undefined;
}

/**
 * Strings compare in UTF-8 byte order (= code point order), as Lucene's BytesRef does, which differs
 * from JS's UTF-16 order only between surrogate pairs and U+E000..U+FFFF.
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Numbers before strings; numbers numerically, strings in UTF-8 order. */
export function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    return -1;
  }
  if (typeof b === 'number') return 1;
  return compareStrings(a, b);
}

/** Java's `Double.compare`: NaN is greater than everything (including +Infinity) and equal to itself. */
export function compareDouble(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const an = a !== a;
  const bn = b !== b;
  if (an) return bn ? 0 : 1;
  if (bn) return -1;
  return 0;
}

/** Java's `Double.toString` (what Elasticsearch prints in range keys): `100.0`, `1.5`, `1.0E7`. */
export function javaDouble(x: number): string {
  if (x !== x) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [m = '', e = '0'] = x.toExponential().split('e');
  return `${m.includes('.') ? m : `${m}.0`}E${e.startsWith('+') ? e.slice(1) : e}`;
}

/**
 * Neumaier (improved Kahan) summation, as Elasticsearch's CompensatedSum. `sum` is the running
 * float sum and `compensation` the rounding it lost, so that another sum can take both over.
 */
export class CompensatedSum {
  sum = 0;
  compensation = 0;

  add(v: number): void {
    const t = this.sum + v;
    if (Math.abs(this.sum) >= Math.abs(v)) this.compensation += this.sum - t + v;
    else this.compensation += v - t + this.sum;
    this.sum = t;
  }

  /** Adds another compensated sum without rounding its compensation into its sum first. */
  addCompensated(sum: number, compensation: number): void {
    this.add(sum);
    this.compensation += compensation;
  }

  /** The compensated total (the plain one once it overflowed: the compensation is NaN then). */
  value(): number {
    return compensatedValue(this.sum, this.compensation);
  }
}

export function compensatedValue(sum: number, compensation: number): number {
  return Number.isFinite(sum) ? sum + compensation : sum;
}

/** -0 → 0, so that keys compare and serialize consistently. */
export function normNum(v: number): number {
  return v === 0 ? 0 : v;
}

/** A growable list of (bucket, position-in-docs) pairs for one segment: the input to `partition`. */
export class PairBuf {
  bucket: Int32Array;
  pos: Int32Array;
  n = 0;
  constructor(capacity = 64) {
    this.bucket = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }
  push(bucket: number, pos: number): void {
    if (this.n === this.bucket.length) {
      const b = new Int32Array(this.n * 2);
      b.set(this.bucket);
      this.bucket = b;
      const p = new Int32Array(this.n * 2);
      p.set(this.pos);
      this.pos = p;
    }
    this.bucket[this.n] = bucket;
    this.pos[this.n] = pos;
    this.n++;
  }
}

/**
 * Counting sort of (bucket, pos) pairs into one doc array per segment: bucket b's docs are
 * `docs[start[b] .. start[b+1])`, ascending (pairs are pushed in doc order). Appends a sub-view for
 * every non-empty bucket to `out[b]`.
 */
export function partitionInto(
  view: SegView,
  buf: PairBuf,
  numBuckets: number,
  withScores: boolean,
  out: SegView[][],
): void {
  const n = buf.n;
  if (n === 0) return;
  const start = new Int32Array(numBuckets + 1);
  const bk = buf.bucket;
  const ps = buf.pos;
  for (let i = 0; i < n; i++) start[bk[i]! + 1]!++;
  for (let b = 0; b < numBuckets; b++) start[b + 1]! += start[b]!;
  const cursor = start.slice(0, numBuckets);
  const docs = new Int32Array(n);
  const src = view.docs;
  const srcScores = withScores ? view.scores : undefined;
  const scores = srcScores ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const c = cursor[bk[i]!]!++;
    const p = ps[i]!;
    docs[c] = src[p]!;
    if (scores) scores[c] = srcScores![p]!;
  }
  for (let b = 0; b < numBuckets; b++) {
    const s = start[b]!;
    const e = start[b + 1]!;
    if (e > s) {
      let list = out[b];
      if (!list) out[b] = list = [];
      list.push({
        seg: view.seg,
        columns: view.columns,
        docs: docs.subarray(s, e),
        scores: scores ? scores.subarray(s, e) : undefined,
      });
    }
  }
}

/** Positions in `a` of the docs also in `b` (both sorted ascending); gallops when sizes differ a lot. */
export function intersectPositions(a: Int32Array, b: ArrayLike<number>): Int32Array {
  const na = a.length;
  const nb = b.length;
  const out = new Int32Array(na < nb ? na : nb);
  let k = 0;
  if (na === 0 || nb === 0) return out.subarray(0, 0);
  if (nb > 8 * na) {
    // Binary search each of a in the remaining part of b.
    let lo = 0;
    for (let i = 0; i < na; i++) {
      const x = a[i]!;
      let hi = nb;
      let l = lo;
      while (l < hi) {
        const m = (l + hi) >>> 1;
        if (b[m]! < x) l = m + 1;
        else hi = m;
      }
      lo = l;
      if (lo >= nb) break;
      if (b[lo] === x) out[k++] = i;
    }
  } else if (na > 8 * nb) {
    let lo = 0;
    for (let j = 0; j < nb; j++) {
      const x = b[j]!;
      let hi = na;
      let l = lo;
      while (l < hi) {
        const m = (l + hi) >>> 1;
        if (a[m]! < x) l = m + 1;
        else hi = m;
      }
      lo = l;
      if (lo >= na) break;
      if (a[lo] === x) out[k++] = lo;
    }
  } else {
    let i = 0;
    let j = 0;
    while (i < na && j < nb) {
      const x = a[i]!;
      const y = b[j]!;
      if (x < y) i++;
      else if (x > y) j++;
      else {
        out[k++] = i;
        i++;
        j++;
      }
    }
  }
  return out.subarray(0, k);
}

/** The sub-view of `view` at the given positions. */
export function subView(view: SegView, positions: Int32Array, withScores: boolean): SegView {
  const n = positions.length;
  const docs = new Int32Array(n);
  const src = view.docs;
  const srcScores = withScores ? view.scores : undefined;
  const scores = srcScores ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const p = positions[i]!;
    docs[i] = src[p]!;
    if (scores) scores[i] = srcScores![p]!;
  }
  return { seg: view.seg, columns: view.columns, docs, scores };
}

/** Elasticsearch's `Regex.simpleMatch`: `*` matches any run of characters (dots included). */
export function simpleMatch(pattern: string, s: string): boolean {
  if (!pattern.includes('*')) return pattern === s;
  const parts = pattern.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!s.startsWith(first)) return false;
  if (s.length - first.length < last.length || !s.endsWith(last)) return false;
  let at = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i]!;
    const found = s.indexOf(p, at);
    if (found < 0 || found + p.length > end) return false;
    at = found + p.length;
  }
  return at <= end;
}

export interface SourceFilter {
  readonly enabled: boolean;
  readonly includes: readonly string[];
  readonly excludes: readonly string[];
}


/** Could a pattern match some path strictly below `path`? */
function mayMatchBelow(pattern: string, path: string): boolean {
  if (pattern.includes('*')) {
    const lit = pattern.slice(0, pattern.indexOf('*'));
    const prefix = `${path}.`;
    return lit.length <= prefix.length ? prefix.startsWith(lit) : lit.startsWith(prefix);
  }
  return pattern.startsWith(`${path}.`);
}

/**
 * `_source` of a request: a boolean, a pattern or a list of them, or `{ includes, excludes }`
 * (also `include` / `exclude`). `where` ends error messages (" of top_hits aggregation [x]").
 */
export function parseSourceSpec(v: unknown, where = ''): SourceFilter {
  if (v === undefined || v === true) return { enabled: true, includes: [], excludes: [] };
  if (v === false) return { enabled: false, includes: [], excludes: [] };
  const strings = (x: unknown, what: string): string[] => {
    if (x === undefined || x === null) return [];
    if (typeof x === 'string') return [x];
    if (Array.isArray(x) && x.every((s) => typeof s === 'string')) return x as string[];
    throw parsing(`[_source.${what}]${where} must be a string or an array of strings`);
  };
  if (typeof v === 'string' || Array.isArray(v)) return { enabled: true, includes: strings(v, 'includes'), excludes: [] };
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      if (!['includes', 'include', 'excludes', 'exclude'].includes(k)) throw parsing(`[_source] unknown field [${k}]${where}`);
    }
    return { enabled: true, includes: strings(v['includes'] ?? v['include'], 'includes'), excludes: strings(v['excludes'] ?? v['exclude'], 'excludes') };
  }
  throw parsing(`[_source]${where} must be a boolean, a string, an array or an object`);
}

/**
 * `_source` filtering: an include pattern selects a field and everything below it; excludes win.
 * Patterns are full dotted paths with `*` wildcards.
 */
export function filterSource(
  source: Record<string, unknown>,
  filter: SourceFilter,
): Record<string, unknown> {
  if (filter.includes.length === 0 && filter.excludes.length === 0) return source;
  return filterObject(source, '', false, filter);
}

function filterObject(
  obj: Record<string, unknown>,
  prefix: string,
  included: boolean,
  filter: SourceFilter,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (filter.excludes.some((p) => simpleMatch(p, path))) continue;
    const value = obj[key];
    const inc =
      included || filter.includes.length === 0 || filter.includes.some((p) => simpleMatch(p, path));
    const deeper = !inc && filter.includes.some((p) => mayMatchBelow(p, path));
    if (!inc && !deeper) continue;
    const needWalk = inc ? filter.excludes.some((p) => mayMatchBelow(p, path)) : true;
    if (isPlainObject(value)) {
      if (!needWalk) out[key] = value;
      else {
        const sub = filterObject(value, path, inc, filter);
        if (inc || Object.keys(sub).length > 0) out[key] = sub;
      }
    } else if (Array.isArray(value) && needWalk) {
      const items: unknown[] = [];
      for (const item of value) {
        if (isPlainObject(item)) {
          const sub = filterObject(item, path, inc, filter);
          if (inc || Object.keys(sub).length > 0) items.push(sub);
        } else if (inc) items.push(item);
      }
      if (inc || items.length > 0) out[key] = items;
    } else if (inc) {
      out[key] = value;
    }
  }
  return out;
}

export function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

export function parsing(reason: string): EngineError {
  return new EngineError('parsing_exception', reason);
}

const f64s = new Float64Array(1);
const u32s = new Uint32Array(f64s.buffer);

/**
 * An open-addressing map from numbers to non-negative ints (bucket ids, counts), much faster than
 * `Map<number, number>` in per-value loops. Keys must not be NaN; -0 and 0 are the same key.
 */
export class NumIntMap {
  private keys: Float64Array;
  private vals: Int32Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  private static hash(k: number): number {
    let h: number;
    if ((k | 0) === k) h = Math.imul(k, 0x9e3779b1);
    else {
      f64s[0] = k;
      h = Math.imul(u32s[0]! ^ Math.imul(u32s[1]!, 0x85ebca6b), 0x9e3779b1);
    }
    return h ^ (h >>> 16);
  }

  private slot(k: number): number {
    const keys = this.keys;
    const used = this.used;
    const mask = this.mask;
    let i = NumIntMap.hash(k) & mask;
    while (used[i] === 1 && keys[i] !== k) i = (i + 1) & mask;
    return i;
  }

  /** The value of `k`, or -1. */
  get(k: number): number {
    const i = this.slot(k === 0 ? 0 : k);
    return this.used[i] === 1 ? this.vals[i]! : -1;
  }

  /** The value of `k`; if absent, stores and returns `fresh`. */
  getOrSet(k: number, fresh: number): number {
    if (k === 0) k = 0;
    let i = this.slot(k);
    if (this.used[i] === 1) return this.vals[i]!;
    if ((this.size + 1) * 2 > this.mask + 1) {
      this.grow();
      i = this.slot(k);
    }
    this.used[i] = 1;
    this.keys[i] = k;
    this.vals[i] = fresh;
    this.size++;
    return fresh;
  }

  private grow(): void {
    const { keys, vals, used } = this;
    const cap = (this.mask + 1) * 2;
    this.keys = new Float64Array(cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < used.length; i++) {
      if (used[i] === 1) {
        const j = this.slot(keys[i]!);
        this.used[j] = 1;
        this.keys[j] = keys[i]!;
        this.vals[j] = vals[i]!;
      }
    }
  }
}

/** A growable Int32 list (counts by id). */
export class IntList {
  a = new Int32Array(16);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.n * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}
