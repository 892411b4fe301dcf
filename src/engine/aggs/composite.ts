/**
 * The `composite` aggregation: one bucket per distinct tuple of key values, one value per source
 * (`terms`, `histogram`, `date_histogram`), in a fixed total order, paged with `after`.
 *
 * A doc with several values yields every combination (the cartesian product of its sources'
 * values), each counted once for the doc.
 *
 * Exact when distributed, with no shard_size: each shard returns its first `size` buckets after
 * `after`, with full counts, and the reduce keeps the first `size` of their merge. A key among the
 * first `size` overall is preceded on any shard by fewer than `size` keys, so every shard holding
 * it returned it; merging partials that were already cut to `size` (mergeAggs) keeps that true.
 *
 * A shard keeps only the first `size` keys seen so far (a bounded max-heap), so its memory is
 * bounded by `size`, not by the number of distinct keys: a key dropped because `size` smaller keys
 * were seen can never come back among the first `size`.
 */

import { isPlainObject } from '../types.ts';
import type { SegmentColumns } from '../types.ts';
import { makeDateFormatter, makeDateParser, makeRounding, parseDateValue, parseOffset, parseTimeZone } from './dates.ts';
import { jsonType, Params, parseDateInterval, parseDir } from './params.ts';
import type { ParseOptions } from './parse.ts';
import type { AggNode, CompositeNode, CompositePartial, CompositeSource, CompositeValue, ShardAggs } from './types.ts';
import { compareKeys, illegal, normNum, PairBuf, partitionInto, parsing } from './util.ts';
import type { Key, SegView } from './util.ts';

// ---- parse ----

const SOURCE_TYPES = ['terms', 'histogram', 'date_histogram'] as const;
type SourceType = (typeof SOURCE_TYPES)[number];

const COMMON_PARAMS = ['field', 'order', 'missing_bucket', 'missing_order'];
const SOURCE_PARAMS: Record<SourceType, readonly string[]> = {
  terms: COMMON_PARAMS,
  histogram: [...COMMON_PARAMS, 'interval'],
  // `interval` is accepted here only to be refused with date_histogram's own message.
  date_histogram: [...COMMON_PARAMS, 'calendar_interval', 'fixed_interval', 'interval', 'time_zone', 'offset', 'format'],
};

/** A parsed source and how to read its value in `after` (which depends on the source's type and format). */
interface ParsedSource {
  source: CompositeSource;
  readAfter: (v: unknown) => CompositeValue;
}

/** Parses a `composite` definition (the caller has already refused it under a parent aggregation). */
export function parseComposite(
  name: string,
  obj: Record<string, unknown>,
  aggs: AggNode[],
  meta: Record<string, unknown> | undefined,
  opts: ParseOptions,
): CompositeNode {
  const p = new Params('composite', name, obj, ['sources', 'size', 'after']);
  const size = p.positive('size', 10);
  const raw = obj['sources'];
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    throw illegal(`Composite [sources] cannot be null or empty (aggregation [${name}])`);
  }
  if (!Array.isArray(raw)) throw parsing(`[composite] [sources] of aggregation [${name}] must be an array, got [${jsonType(raw)}]`);
  const parsed = raw.map((s) => parseSource(s, name, opts));
  const names = new Set<string>();
  for (const { source } of parsed) {
    if (names.has(source.name)) {
      throw illegal(`Composite source names must be unique, found duplicates: [${source.name}] (aggregation [${name}])`);
    }
    names.add(source.name);
  }
  const after = obj['after'] === undefined ? undefined : parseAfter(obj['after'], parsed, name);
  return { type: 'composite', name, aggs, meta, size, sources: parsed.map((s) => s.source), after };
}

function parseSource(raw: unknown, agg: string, opts: ParseOptions): ParsedSource {
  if (!isPlainObject(raw) || Object.keys(raw).length !== 1) {
    throw parsing(`[composite] every item of [sources] must be an object with one key, the source's name (aggregation [${agg}])`);
  }
  const [name, def] = Object.entries(raw)[0]!;
  if (!isPlainObject(def) || Object.keys(def).length !== 1) {
    throw parsing(`[composite] source [${name}] must be an object with one key, its type (aggregation [${agg}])`);
  }
  const [type, params] = Object.entries(def)[0]!;
  if (!(SOURCE_TYPES as readonly string[]).includes(type)) {
    throw parsing(`[composite] unknown source type [${type}] of source [${name}] (aggregation [${agg}]): expected terms, histogram or date_histogram`);
  }
  const t = type as SourceType;
  if (!isPlainObject(params)) {
    throw parsing(`[${t}] expected [START_OBJECT] for source [${name}] of aggregation [${agg}], but got [${jsonType(params)}]`);
  }
  const p = new Params(t, `${agg}.${name}`, params, SOURCE_PARAMS[t]);
  const field = p.field(opts);
  const dir = params['order'] === undefined ? 'asc' : parseDir(params['order'], name);
  const missingBucket = p.bool('missing_bucket', false);
  const missingOrder = p.str('missing_order') ?? 'default';
  if (missingOrder !== 'first' && missingOrder !== 'last' && missingOrder !== 'default') {
    throw illegal(`[missing_order] must be one of [first, last, default], got [${missingOrder}] (source [${name}] of aggregation [${agg}])`);
  }
  if (missingOrder !== 'default' && !missingBucket) {
    throw illegal(`[missing_order] can only be set if [missing_bucket] is true (source [${name}] of aggregation [${agg}])`);
  }
  // Elasticsearch's default puts the missing bucket first in ascending order, last in descending.
  const nullFirst = missingOrder === 'default' ? dir === 'asc' : missingOrder === 'first';
  const base = { name, type: t, field, dir, missingBucket, nullFirst };
  const invalid = (v: unknown, want: string) =>
    illegal(`Invalid value for [after.${name}] of composite aggregation [${agg}]: expected ${want}, got [${JSON.stringify(v)}]`);
  const afterReader = (read: (v: string | number | boolean) => Key | undefined, want: string) => (v: unknown): CompositeValue => {
    if (v === null) {
      if (missingBucket) return null;
      throw invalid(v, `${want} (null needs [missing_bucket] on the source)`);
    }
    const k = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? read(v) : undefined;
    if (k === undefined) throw invalid(v, want);
    return typeof k === 'number' ? normNum(k) : k;
  };

  switch (t) {
    case 'terms': {
      const mapped = opts.fieldType?.(field);
      const render = mapped === 'boolean' ? (v: Key) => (typeof v === 'number' ? v !== 0 : v) : (v: Key) => v;
      return { source: { ...base, round: undefined, render }, readAfter: afterReader(termsAfterValue(mapped), afterWant(mapped)) };
    }
    case 'histogram': {
      const interval = p.num('interval');
      if (interval === undefined || !(interval > 0)) {
        throw illegal(`[interval] must be >0 for histogram source [${name}] of aggregation [${agg}]`);
      }
      const round = (v: number): number => normNum(Math.floor(v / interval) * interval);
      return { source: { ...base, round, render: (v) => v }, readAfter: afterReader(numberOf, 'a number') };
    }
    case 'date_histogram': {
      const tzMs = params['time_zone'] === undefined ? 0 : parseTimeZone(params['time_zone']);
      const offsetMs = params['offset'] === undefined ? 0 : parseOffset(params['offset'], 'offset');
      const rounding = makeRounding(parseDateInterval(p), offsetMs, tzMs);
      const round = (v: number): number => normNum(rounding.round(v));
      const format = p.str('format');
      if (format === undefined) {
        // Without a format the key is the bucket's start in epoch ms, as Elasticsearch returns it.
        return { source: { ...base, round, render: (v) => v }, readAfter: afterReader(numberOf, 'epoch milliseconds') };
      }
      const print = makeDateFormatter(format, tzMs);
      const read = makeDateParser(format, tzMs);
      const render = (v: Key): unknown => {
        const text = print(v as number);
        // The formatted key is also the `after` of the next page: it must read back to the same
        // bucket, or paging would skip or repeat buckets (Elasticsearch refuses such formats too).
        if (read(text) !== v) {
          throw illegal(
            `[format] [${format}] of composite source [${name}] prints bucket key [${v}] as [${text}], which does not read back to it: use a format that keeps the whole bucket start (aggregation [${agg}])`,
          );
        }
        return text;
      };
      const readAfter = afterReader((v) => (typeof v === 'string' ? read(v) : numberOf(v)), `a date in format [${format}] or epoch milliseconds`);
      return { source: { ...base, round, render }, readAfter };
    }
  }
}

/** A number, or a string holding one (as Elasticsearch reads numeric `after` values). */
function numberOf(v: string | number | boolean): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * How a terms source reads `after`: by the field's mapped type. Unmapped (or no type information):
 * a string is a term and a number a number, which is what `after_key` returns.
 */
function termsAfterValue(mapped: string | undefined): (v: string | number | boolean) => Key | undefined {
  switch (mapped) {
    case 'keyword':
      return (v) => (typeof v === 'string' ? v : undefined);
    case 'boolean':
      return (v) => {
        if (v === true || v === 'true' || v === 1) return 1;
        if (v === false || v === 'false' || v === 0) return 0;
        return undefined;
      };
    case 'date':
    case 'date_nanos':
      return (v) => numberOf(v) ?? (typeof v === 'string' ? dateOrUndefined(v) : undefined);
    case 'long':
    case 'double':
      return numberOf;
    default:
      return (v) => (typeof v === 'boolean' ? Number(v) : v);
  }
}

function afterWant(mapped: string | undefined): string {
  if (mapped === 'keyword') return 'a string';
  if (mapped === 'boolean') return 'a boolean';
  if (mapped === 'date' || mapped === 'date_nanos') return 'epoch milliseconds or a date';
  if (mapped === 'long' || mapped === 'double') return 'a number';
  return 'a string, number or boolean';
}

function dateOrUndefined(s: string): number | undefined {
  try {
    return parseDateValue(s, 'after');
  } catch {
    return undefined;
  }
}

function parseAfter(raw: unknown, sources: readonly ParsedSource[], agg: string): CompositeValue[] {
  if (!isPlainObject(raw)) {
    throw parsing(`[composite] [after] of aggregation [${agg}] must be an object with one value per source, got [${jsonType(raw)}]`);
  }
  const given = Object.keys(raw).length;
  if (given !== sources.length) {
    throw illegal(`[after] has ${given} value(s) but [sources] has ${sources.length} (composite aggregation [${agg}])`);
  }
  return sources.map(({ source, readAfter }) => {
    if (!Object.hasOwn(raw, source.name)) throw illegal(`Missing value for [after.${source.name}] (composite aggregation [${agg}])`);
    return readAfter(raw[source.name]);
  });
}

// ---- key order ----

export type KeyOrder = (a: readonly CompositeValue[], b: readonly CompositeValue[]) => number;

/** The composite order: source by source, each in its direction, null where `nullFirst` says. */
export function compositeOrder(sources: readonly CompositeSource[]): KeyOrder {
  return (a, b) => {
    for (let i = 0; i < sources.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      const s = sources[i]!;
      if (x === null) return s.nullFirst ? -1 : 1;
      if (y === null) return s.nullFirst ? 1 : -1;
      const c = compareKeys(x, y);
      if (c !== 0) return s.dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

/** A map key for a tuple of key values (strings and numbers stay distinct). */
function keyId(key: readonly CompositeValue[]): string {
  return JSON.stringify(key);
}

// ---- collect ----

/** What collection needs from collect.ts for sub-aggregations (passed in to avoid an import cycle). */
export interface SubCollector {
  readonly withScores: boolean;
  collect(views: SegView[]): ShardAggs;
}

/** Writes the distinct key values of doc `d` for one source into `out`, returns how many. */
type SourceReader = (d: number, out: CompositeValue[]) => number;

function sourceReader(source: CompositeSource, columns: SegmentColumns): SourceReader {
  const col = columns.column(source.field);
  if (col === undefined) return () => 0;
  const { offsets } = col;
  if (col.kind === 'keyword') {
    if (source.type !== 'terms') {
      throw illegal(`Field [${source.field}] of type [keyword] is not supported for aggregation [${source.type}]`);
    }
    const { ords, terms } = col;
    return (d, out) => {
      let n = 0;
      let prev = -1;
      for (let j = offsets[d]!, e = offsets[d + 1]!; j < e; j++) {
        const o = ords[j]!;
        if (o !== prev) out[n++] = terms[o]!;
        prev = o;
      }
      return n;
    };
  }
  const { values } = col;
  const round = source.round ?? normNum;
  return (d, out) => {
    let n = 0;
    let prev = NaN;
    // Values are sorted within a doc and rounding is monotonic: duplicates are adjacent.
    for (let j = offsets[d]!, e = offsets[d + 1]!; j < e; j++) {
      const k = round(values[j]!);
      if (k !== prev) out[n++] = k;
      prev = k;
    }
    return n;
  };
}

/** Enumerates the keys of a doc of one segment: the cartesian product of its sources' values. */
class DocKeys {
  private readonly readers: SourceReader[];
  private readonly values: CompositeValue[][];
  private readonly counts: Int32Array;
  private readonly at: Int32Array;
  private readonly key: CompositeValue[];

  constructor(
    private readonly sources: readonly CompositeSource[],
    columns: SegmentColumns,
  ) {
    this.readers = sources.map((s) => sourceReader(s, columns));
    this.values = sources.map(() => []);
    this.counts = new Int32Array(sources.length);
    this.at = new Int32Array(sources.length);
    this.key = new Array<CompositeValue>(sources.length).fill(null);
  }

  /** Calls `emit` once per key of doc `d` (with a reused array: copy it to keep it). */
  forEach(d: number, emit: (key: readonly CompositeValue[]) => void): void {
    const m = this.sources.length;
    const { values, counts, at, key } = this;
    for (let i = 0; i < m; i++) {
      let c = this.readers[i]!(d, values[i]!);
      if (c === 0) {
        if (!this.sources[i]!.missingBucket) return;
        values[i]![0] = null;
        c = 1;
      }
      counts[i] = c;
      at[i] = 0;
      key[i] = values[i]![0]!;
    }
    for (;;) {
      emit(key);
      let i = m - 1;
      while (i >= 0 && ++at[i]! === counts[i]) {
        at[i] = 0;
        key[i] = values[i]![0]!;
        i--;
      }
      if (i < 0) return;
      key[i] = values[i]![at[i]!]!;
    }
  }
}

interface Counted {
  k: CompositeValue[];
  id: string;
  n: number;
}

/** The first `size` distinct keys offered, with their counts: a max-heap whose root is the last kept key. */
class FirstKeys {
  private readonly heap: Counted[] = [];
  private readonly byId = new Map<string, Counted>();

  constructor(
    private readonly size: number,
    private readonly order: KeyOrder,
  ) {}

  offer(key: readonly CompositeValue[]): void {
    const heap = this.heap;
    const full = heap.length === this.size;
    if (full && this.order(key, heap[0]!.k) > 0) return;
    const id = keyId(key);
    const known = this.byId.get(id);
    if (known) {
      known.n++;
      return;
    }
    const entry: Counted = { k: key.slice(), id, n: 1 };
    this.byId.set(id, entry);
    if (full) {
      this.byId.delete(heap[0]!.id);
      heap[0] = entry;
      this.siftDown(0);
    } else {
      heap.push(entry);
      this.siftUp(heap.length - 1);
    }
  }

  sorted(): Counted[] {
    return [...this.heap].sort((a, b) => this.order(a.k, b.k));
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.order(heap[i]!.k, heap[parent]!.k) <= 0) return;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      let top = i;
      if (l < heap.length && this.order(heap[l]!.k, heap[top]!.k) > 0) top = l;
      if (l + 1 < heap.length && this.order(heap[l + 1]!.k, heap[top]!.k) > 0) top = l + 1;
      if (top === i) return;
      [heap[i], heap[top]] = [heap[top]!, heap[i]!];
      i = top;
    }
  }
}

/** The shard's first `size` buckets after `after`, with sub-aggregations collected for those only. */
export function collectComposite(node: CompositeNode, views: readonly SegView[], subs: SubCollector | undefined): CompositePartial {
  const order = compositeOrder(node.sources);
  const after = node.after;
  const first = new FirstKeys(node.size, order);
  const keysOf = views.map((v) => (v.docs.length > 0 ? new DocKeys(node.sources, v.columns) : undefined));
  const offer = (key: readonly CompositeValue[]): void => {
    if (after === undefined || order(key, after) > 0) first.offer(key);
  };
  views.forEach((view, v) => {
    const keys = keysOf[v];
    if (keys) for (const d of view.docs) keys.forEach(d, offer);
  });
  const kept = first.sorted();
  if (subs === undefined || kept.length === 0) return { t: 'composite', b: kept.map((e) => ({ k: e.k, n: e.n, a: {} })) };

  // Second pass: the doc set of each kept bucket (a doc may sit in several).
  const bucketOf = new Map(kept.map((e, i) => [e.id, i]));
  const last = kept[kept.length - 1]!.k;
  const bucketViews: SegView[][] = [];
  views.forEach((view, v) => {
    const keys = keysOf[v];
    if (!keys) return;
    const buf = new PairBuf(Math.min(view.docs.length, 1 << 16) + 1);
    view.docs.forEach((d, i) => {
      keys.forEach(d, (key) => {
        // Shortcuts only (bucketOf holds exactly the keys in (after, last]): skip the key's id.
        if (order(key, last) > 0 || (after !== undefined && order(key, after) <= 0)) return;
        const b = bucketOf.get(keyId(key));
        if (b !== undefined) buf.push(b, i);
      });
    });
    partitionInto(view, buf, kept.length, subs.withScores, bucketViews);
  });
  return { t: 'composite', b: kept.map((e, i) => ({ k: e.k, n: e.n, a: subs.collect(bucketViews[i] ?? []) })) };
}

// ---- reduce ----

interface MergedBucket {
  k: CompositeValue[];
  n: number;
  subs: ShardAggs[];
}

/** The first `size` buckets of the partials, counts added by key. */
function firstMerged(node: CompositeNode, parts: readonly CompositePartial[]): MergedBucket[] {
  const byId = new Map<string, MergedBucket>();
  for (const p of parts) {
    for (const b of p.b) {
      const id = keyId(b.k);
      let m = byId.get(id);
      if (!m) byId.set(id, (m = { k: b.k, n: 0, subs: [] }));
      m.n += b.n;
      m.subs.push(b.a);
    }
  }
  const order = compositeOrder(node.sources);
  return [...byId.values()].sort((a, b) => order(a.k, b.k)).slice(0, node.size);
}

/** Intermediate reduce: still the first `size` buckets, so a later reduce stays exact. */
export function mergeComposite(
  node: CompositeNode,
  parts: readonly CompositePartial[],
  mergeSubs: (subs: readonly ShardAggs[]) => ShardAggs,
): CompositePartial {
  return { t: 'composite', b: firstMerged(node, parts).map((m) => ({ k: m.k, n: m.n, a: mergeSubs(m.subs) })) };
}

/** The response: `after_key` (the last bucket's key, absent when there is no bucket) and `buckets`. */
export function renderComposite(
  node: CompositeNode,
  parts: readonly CompositePartial[],
  renderSubs: (subs: readonly ShardAggs[]) => Record<string, unknown>,
  countBuckets: (n: number) => void,
): Record<string, unknown> {
  const list = firstMerged(node, parts);
  countBuckets(list.length);
  const keyObject = (k: readonly CompositeValue[]): Record<string, unknown> =>
    Object.fromEntries(node.sources.map((s, i) => [s.name, k[i] === null ? null : s.render(k[i]!)]));
  const buckets = list.map((m) => ({ key: keyObject(m.k), doc_count: m.n, ...renderSubs(m.subs) }));
  const last = list[list.length - 1];
  return last === undefined ? { buckets } : { after_key: keyObject(last.k), buckets };
}
