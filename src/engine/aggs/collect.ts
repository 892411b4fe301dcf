/**
 * Shard-level collection. Each aggregation is computed over the whole shard at once (all of its
 * segments' matching docs), which lets `terms` count first and collect sub-aggregations only for the
 * buckets it will return (the `shard_size` best), as Elasticsearch's deferred collection does.
 *
 * Inner loops run over the Int32Array doc ids and the columns' typed arrays; counts are kept per
 * segment ordinal (a typed array, or a Map when the dictionary is much larger than the doc set) and
 * translated to terms once per segment. Bucket doc sets for sub-aggregations are built by a counting
 * sort (`partitionInto`), one allocation per segment, not per doc.
 */

import { EngineError } from '../types.ts';
import type { Column, KeywordColumn, SegmentColumns } from '../types.ts';
import { collectComposite } from './composite.ts';
import { CardinalitySketch, hashNumber, hashString } from './hll.ts';
import { TDigest } from './tdigest.ts';
import { makeRounding } from './dates.ts';
import { bucketComparator, hasMetricOrder, metricValue } from './order.ts';
import type {
  AggNode,
  AggPartial,
  CardinalityNode,
  CountBucketPartial,
  DateHistogramNode,
  ExtendedStatsNode,
  ExtendedStatsPartial,
  FilterNode,
  FiltersNode,
  FixedBucketsPartial,
  HistogramNode,
  HistogramPartial,
  HitPartial,
  MissingNode,
  NestedNode,
  ReverseNestedNode,
  NumericMetricNode,
  PercentilesNode,
  PercentilesPartial,
  RangeNode,
  ShardAggs,
  SingleBucketPartial,
  SortSpec,
  SortValue,
  StatsPartial,
  TermFilter,
  TermsNode,
  TermsPartial,
  TopHitsNode,
  ValueCountNode,
} from './types.ts';
import { compareSortValues } from './order.ts';
import { CompensatedSum, filterSource, illegal, IntList, intersectPositions, normNum, NumIntMap, PairBuf, partitionInto, subView } from './util.ts';
import type { Key, SegView } from './util.ts';

/** One segment of the shard, as the engine hands it over. */
export interface SegmentInput {
  columns: SegmentColumns;
  /** Sorted ascending ids of the docs that matched the query (live docs only). */
  docs: Int32Array;
  /** Scores parallel to `docs` (needed only for `top_hits` sorted by score). */
  scores?: Float32Array;
}

export interface CollectOptions {
  /**
   * Evaluates the query of a `filters` / `filter` aggregation (as stored by `parseAggs`, i.e. the
   * result of `ParseOptions.parseFilter`, or the raw query) on segment `segmentIndex` (its index in
   * the `segments` array given to `collectAggs`). Returns the sorted ascending, de-duplicated ids of
   * the docs of that segment that match it. It may ignore the search query (the result is
   * intersected with the matched docs here) and may return a superset of non-matching deleted docs
   * for the same reason. Called at most once per (query, segment) per `collectAggs` call.
   */
  resolveFilter?: (query: unknown, segmentIndex: number, nestedPath?: string) => ArrayLike<number>;
  /**
   * The nested paths from scope `from` (undefined: the root) down to nested path `to`, outermost
   * first (`to` last): a nested aggregation descends them one level at a time. Without it, `to` is
   * taken as one level below. It throws when `to` is not a nested path inside `from`; an unmapped
   * path gives [] (no objects).
   */
  nestedChain?: (from: string | undefined, to: string) => string[];
  /** Index name reported as `_index` in `top_hits` hits. */
  index?: string;
}

interface Ctx {
  readonly opts: CollectOptions;
  readonly filterCache: Map<unknown, ArrayLike<number>[]>;
  readonly hashCache: WeakMap<KeywordColumn, Float64Array>;
  readonly docBase: number[];
  /** Every segment of the shard, including those with no doc in the current bucket. */
  readonly allColumns: readonly SegmentColumns[];
  /** The root, then each nested path a nested aggregation descended into (the current scope last). */
  readonly scopes: readonly AggScope[];
}

/** One level of nested aggregation scopes: its path, and per segment (by index) its columns and its docs' parents one level up. */
interface AggScope {
  readonly path: string | undefined;
  readonly columns: readonly (SegmentColumns | undefined)[];
  readonly parentOf: readonly (Int32Array | undefined)[];
}

/**
 * Collects the shard-level partial results of `aggs` over one shard's segments. The result is plain
 * data (JSON/msgpack safe) to be merged by `reduceAggs` (or `mergeAggs`) with other shards'.
 */
export function collectAggs(
  aggs: readonly AggNode[],
  segments: readonly SegmentInput[],
  options: CollectOptions = {},
): ShardAggs {
  const docBase: number[] = [];
  let base = 0;
  const views: SegView[] = segments.map((s, i) => {
    if (s.scores && s.scores.length !== s.docs.length) {
      throw new Error(`segment ${i}: scores (${s.scores.length}) and docs (${s.docs.length}) differ in length`);
    }
    docBase.push(base);
    base += s.columns.maxDoc;
    return { seg: i, columns: s.columns, docs: s.docs, scores: s.scores };
  });
  const columns = segments.map((s) => s.columns);
  const ctx: Ctx = { opts: options, filterCache: new Map(), hashCache: new WeakMap(), docBase, allColumns: columns, scopes: [{ path: undefined, columns, parentOf: [] }] };
  return collectLevel(aggs, views, ctx);
}

function collectLevel(aggs: readonly AggNode[], views: SegView[], ctx: Ctx): ShardAggs {
  const out: ShardAggs = {};
  for (const node of aggs) out[node.name] = collectNode(node, views, ctx);
  return out;
}

function collectNode(node: AggNode, views: SegView[], ctx: Ctx): AggPartial {
  switch (node.type) {
    case 'terms':
      return collectTerms(node, views, ctx);
    case 'histogram':
      return collectHistogram(node, views, ctx);
    case 'date_histogram':
      return collectHistogram(node, views, ctx);
    case 'range':
      return collectRange(node, views, ctx);
    case 'filters':
      return collectFilters(node, views, ctx);
    case 'filter':
      return collectFilter(node, views, ctx);
    case 'missing':
      return collectMissing(node, views, ctx);
    case 'nested':
      return collectNested(node, views, ctx);
    case 'reverse_nested':
      return collectReverseNested(node, views, ctx);
    case 'min':
    case 'max':
    case 'avg':
    case 'sum':
    case 'stats':
    case 'extended_stats':
      return collectStats(node, views);
    case 'percentiles':
    case 'percentile_ranks':
      return collectPercentiles(node, views);
    case 'value_count':
      return collectValueCount(node, views);
    case 'cardinality':
      return collectCardinality(node, views, ctx);
    case 'top_hits':
      return collectTopHits(node, views, ctx);
    case 'composite':
      return collectComposite(
        node,
        views,
        node.aggs.length === 0 ? undefined : { withScores: subsNeedScores(node), collect: (sub) => collectLevel(node.aggs, sub, ctx) },
      );
  }
}

const scoreNeeds = new WeakMap<AggNode, boolean>();

/** Whether any aggregation below `node` reads scores (so bucket doc sets must carry them). */
function subsNeedScores(node: AggNode): boolean {
  let v = scoreNeeds.get(node);
  if (v === undefined) {
    v = node.aggs.some((a) => a.type === 'top_hits' || subsNeedScores(a));
    scoreNeeds.set(node, v);
  }
  return v;
}

function unsupported(field: string, kind: string, type: string): EngineError {
  return illegal(`Field [${field}] of type [${kind}] is not supported for aggregation [${type}]`);
}

/** Dictionary-sized arrays only when the dictionary isn't much larger than the doc set. */
function denseOk(dictSize: number, docs: number): boolean {
  return dictSize <= docs * 4 + 1024;
}

// ---- terms ----

function termAccept(node: TermsNode): ((k: Key) => boolean) | undefined {
  const inc = node.include;
  const exc = node.exclude;
  if (!inc && !exc) return undefined;
  const test = (f: TermFilter, k: Key): boolean =>
    f.kind === 'set' ? f.values.has(k) : typeof k === 'string' && f.re.test(k);
  return (k) => (!inc || test(inc, k)) && (!exc || !test(exc, k));
}

function missingKeyFor(missing: string | number, col: Column | undefined): Key {
  if (col?.kind === 'numeric' && typeof missing === 'string') {
    const n = Number(missing);
    if (missing.trim() === '' || !Number.isFinite(n)) {
      throw illegal(`[missing] value [${missing}] is not a number, but the field is numeric`);
    }
    return normNum(n);
  }
  if (col?.kind === 'keyword' && typeof missing === 'number') return String(missing);
  return missing;
}

interface TermsSeg {
  view: SegView;
  col: Column | undefined;
  dense: Int32Array | undefined;
  sparse: Map<number, number> | undefined;
  missingKey: Key | undefined;
}

interface TermsWork {
  k: Key;
  n: number;
  a: ShardAggs;
  m?: number[];
}

function collectTerms(node: TermsNode, views: SegView[], ctx: Ctx): TermsPartial {
  const counts = new Map<Key, number>();
  const accept = termAccept(node);
  const segs: TermsSeg[] = [];
  const add = (k: Key, c: number): void => {
    if (accept && !accept(k)) return;
    counts.set(k, (counts.get(k) ?? 0) + c);
  };
  for (const view of views) {
    const col = view.columns.column(node.field);
    const docs = view.docs;
    const nd = docs.length;
    const missingKey = node.missing === undefined ? undefined : missingKeyFor(node.missing, col);
    const seg: TermsSeg = { view, col, dense: undefined, sparse: undefined, missingKey };
    segs.push(seg);
    let missingCount = 0;
    if (col === undefined) {
      missingCount = nd;
    } else if (col.kind === 'keyword') {
      const { offsets, ords, terms } = col;
      if (denseOk(terms.length, nd)) {
        const arr = new Int32Array(terms.length);
        for (let i = 0; i < nd; i++) {
          const d = docs[i]!;
          const s = offsets[d]!;
          const e = offsets[d + 1]!;
          if (s === e) {
            missingCount++;
            continue;
          }
          let prev = -1;
          for (let j = s; j < e; j++) {
            const o = ords[j]!;
            if (o !== prev) {
              arr[o]!++;
              prev = o;
            }
          }
        }
        for (let o = 0; o < arr.length; o++) {
          const c = arr[o]!;
          if (c !== 0) add(terms[o]!, c);
        }
        seg.dense = arr;
      } else {
        const map = new Map<number, number>();
        for (let i = 0; i < nd; i++) {
          const d = docs[i]!;
          const s = offsets[d]!;
          const e = offsets[d + 1]!;
          if (s === e) {
            missingCount++;
            continue;
          }
          let prev = -1;
          for (let j = s; j < e; j++) {
            const o = ords[j]!;
            if (o !== prev) {
              map.set(o, (map.get(o) ?? 0) + 1);
              prev = o;
            }
          }
        }
        for (const [o, c] of map) add(terms[o]!, c);
        seg.sparse = map;
      }
    } else {
      const { offsets, values } = col;
      const ids = new NumIntMap(Math.min(nd, 1024));
      const keys: number[] = [];
      const cnt = new IntList();
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        const s = offsets[d]!;
        const e = offsets[d + 1]!;
        if (s === e) {
          missingCount++;
          continue;
        }
        let prev = NaN;
        for (let j = s; j < e; j++) {
          const v = values[j]!;
          if (v !== prev) {
            prev = v;
            const id = ids.getOrSet(v, keys.length);
            if (id === keys.length) {
              keys.push(v === 0 ? 0 : v);
              cnt.push(0);
            }
            cnt.a[id]!++;
          }
        }
      }
      for (let id = 0; id < keys.length; id++) add(keys[id]!, cnt.a[id]!);
    }
    if (missingKey !== undefined && missingCount > 0) add(missingKey, missingCount);
  }
  if (node.minDocCount === 0) {
    // Elasticsearch also returns terms of the shard that no matching doc has: every segment's,
    // not only those of the segments holding this bucket's docs (else the result would depend on
    // how docs fall into segments, and differ between one shard and several).
    for (const columns of ctx.allColumns) {
      const col = columns.column(node.field);
      if (!col) continue;
      if (col.kind === 'keyword') {
        for (const t of col.terms) if (!counts.has(t) && (!accept || accept(t))) counts.set(t, 0);
      } else {
        const values = col.values;
        for (let j = 0; j < values.length; j++) {
          const k = normNum(values[j]!);
          if (!counts.has(k) && (!accept || accept(k))) counts.set(k, 0);
        }
      }
    }
  }

  let total = 0;
  let droppedByMin = false;
  const entries: TermsWork[] = [];
  for (const [k, n] of counts) {
    total += n;
    if (n >= node.shardMinDocCount) entries.push({ k, n, a: {} });
    else droppedByMin = true;
  }
  const cmp = bucketComparator(node.order);
  const metricOrder = hasMetricOrder(node.order);
  let selected = entries;
  if (!metricOrder) selected = selectTop(entries, node.shardSize, cmp);
  if (node.aggs.length > 0 && selected.length > 0) collectTermsSubs(node, segs, selected, ctx);
  if (metricOrder) {
    for (const b of selected) b.m = metricsOf(node, b.a);
    selected.sort(cmp);
    if (selected.length > node.shardSize) selected = selected.slice(0, node.shardSize);
  }
  let kept = 0;
  for (const b of selected) kept += b.n;
  const truncated = selected.length < entries.length;
  const first = node.order[0]!;
  let err = 0;
  if (first.kind === '_count' && first.dir === 'desc') {
    if (truncated) err = selected[selected.length - 1]!.n;
    else if (droppedByMin) err = node.shardMinDocCount - 1;
  } else if (truncated && first.kind !== '_key') err = -1;
  return {
    t: 'terms',
    b: selected.map((b) => ({ k: b.k, n: b.n, e: 0, a: b.a })),
    o: total - kept,
    err,
    s: 1,
  };
}

/** Metric values for each order criterion (0 for non-metric ones). */
function metricsOf(node: { order: TermsNode['order']; aggs: readonly AggNode[] }, subs: ShardAggs): number[] {
  return node.order.map((o) => {
    if (o.kind !== 'metric') return 0;
    const sub = node.aggs.find((a) => a.name === o.agg)!;
    return metricValue(sub, subs[o.agg], o.metric);
  });
}

/** The `k` first entries in comparator order (sorted). */
function selectTop<T>(entries: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (entries.length <= k) return entries.sort(cmp);
  if (entries.length < 4 * k + 64) return entries.sort(cmp).slice(0, k);
  // Bounded max-heap of the best k (root = worst kept).
  const heap: T[] = [];
  const worse = (a: T, b: T): boolean => cmp(a, b) > 0;
  const down = (i: number): void => {
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && worse(heap[l]!, heap[m]!)) m = l;
      if (r < n && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (const e of entries) {
    if (heap.length < k) {
      heap.push(e);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[p]!)) break;
        const t = heap[i]!;
        heap[i] = heap[p]!;
        heap[p] = t;
        i = p;
      }
    } else if (cmp(e, heap[0]!) < 0) {
      heap[0] = e;
      down(0);
    }
  }
  return heap.sort(cmp);
}

function collectTermsSubs(node: TermsNode, segs: TermsSeg[], selected: TermsWork[], ctx: Ctx): void {
  const nc = selected.length;
  const candIdx = new Map<Key, number>();
  const numCand = new NumIntMap(nc);
  for (let i = 0; i < nc; i++) {
    const k = selected[i]!.k;
    candIdx.set(k, i);
    if (typeof k === 'number') numCand.getOrSet(k, i);
  }
  const withScores = subsNeedScores(node);
  const bucketViews: SegView[][] = [];
  for (const seg of segs) {
    const { view, col } = seg;
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    const buf = new PairBuf(Math.min(nd, 1 << 16) + 1);
    const missingCand = seg.missingKey === undefined ? -1 : (candIdx.get(seg.missingKey) ?? -1);
    if (col === undefined) {
      if (missingCand >= 0) for (let i = 0; i < nd; i++) buf.push(missingCand, i);
    } else if (col.kind === 'keyword') {
      const { offsets, ords, terms } = col;
      let dense: Int32Array | undefined;
      let sparse: Map<number, number> | undefined;
      if (seg.dense) {
        const counts = seg.dense;
        dense = new Int32Array(counts.length).fill(-1);
        for (let o = 0; o < counts.length; o++) {
          if (counts[o] !== 0) {
            const c = candIdx.get(terms[o]!);
            if (c !== undefined) dense[o] = c;
          }
        }
      } else {
        sparse = new Map();
        for (const o of seg.sparse!.keys()) {
          const c = candIdx.get(terms[o]!);
          if (c !== undefined) sparse.set(o, c);
        }
      }
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        const s = offsets[d]!;
        const e = offsets[d + 1]!;
        if (s === e) {
          if (missingCand >= 0) buf.push(missingCand, i);
          continue;
        }
        let prev = -1;
        for (let j = s; j < e; j++) {
          const o = ords[j]!;
          if (o === prev) continue;
          prev = o;
          const c = dense ? dense[o]! : (sparse!.get(o) ?? -1);
          if (c >= 0) buf.push(c, i);
        }
      }
    } else {
      const { offsets, values } = col;
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        const s = offsets[d]!;
        const e = offsets[d + 1]!;
        if (s === e) {
          if (missingCand >= 0) buf.push(missingCand, i);
          continue;
        }
        let prev = NaN;
        for (let j = s; j < e; j++) {
          const v = values[j]!;
          if (v === prev) continue;
          prev = v;
          const c = numCand.get(v);
          if (c >= 0) buf.push(c, i);
        }
      }
    }
    partitionInto(view, buf, nc, withScores, bucketViews);
  }
  for (let c = 0; c < nc; c++) selected[c]!.a = collectLevel(node.aggs, bucketViews[c] ?? [], ctx);
}

// ---- histogram / date_histogram ----

function collectHistogram(node: HistogramNode | DateHistogramNode, views: SegView[], ctx: Ctx): HistogramPartial {
  let keyOf: (v: number) => number;
  if (node.type === 'histogram') {
    const { interval, offset } = node;
    keyOf = (v) => Math.floor((v - offset) / interval);
  } else {
    keyOf = makeRounding(node.interval, node.offsetMs, node.tzMs).round;
  }
  const ids = new NumIntMap();
  const keys: number[] = [];
  const counts: number[] = [];
  const idOf = (k: number): number => {
    const id = ids.getOrSet(k, keys.length);
    if (id === keys.length) {
      keys.push(k);
      counts.push(0);
    }
    return id;
  };
  const subs = node.aggs.length > 0;
  const withScores = subs && subsNeedScores(node);
  const bucketViews: SegView[][] = [];
  const missing = node.missing;
  for (const view of views) {
    const col = view.columns.column(node.field);
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    if (col?.kind === 'keyword') throw unsupported(node.field, 'keyword', node.type);
    const buf = subs ? new PairBuf(Math.min(nd, 1 << 16) + 1) : undefined;
    if (col === undefined) {
      if (missing !== undefined) {
        const missingId = idOf(keyOf(missing));
        counts[missingId]! += nd;
        if (buf) for (let i = 0; i < nd; i++) buf.push(missingId, i);
      }
    } else {
      let missingId = -1;
      const { offsets, values } = col;
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        const s = offsets[d]!;
        const e = offsets[d + 1]!;
        if (s === e) {
          if (missing !== undefined) {
            if (missingId < 0) missingId = idOf(keyOf(missing));
            counts[missingId]!++;
            buf?.push(missingId, i);
          }
          continue;
        }
        let prevKey = NaN;
        for (let j = s; j < e; j++) {
          const k = keyOf(values[j]!);
          if (k === prevKey) continue;
          prevKey = k;
          const id = idOf(k);
          counts[id]!++;
          buf?.push(id, i);
        }
      }
    }
    if (buf) partitionInto(view, buf, keys.length, withScores, bucketViews);
  }
  const b = keys.map((k, id) => ({
    k,
    n: counts[id]!,
    a: subs ? collectLevel(node.aggs, bucketViews[id] ?? [], ctx) : {},
  }));
  b.sort((x, y) => x.k - y.k);
  return { t: node.type, b };
}

// ---- range ----

function collectRange(node: RangeNode, views: SegView[], ctx: Ctx): FixedBucketsPartial {
  const nr = node.ranges.length;
  const from = new Float64Array(nr);
  const to = new Float64Array(nr);
  node.ranges.forEach((r, i) => {
    from[i] = r.from ?? -Infinity;
    to[i] = r.to ?? Infinity;
  });
  const counts = new Array<number>(nr).fill(0);
  const subs = node.aggs.length > 0;
  const withScores = subs && subsNeedScores(node);
  const bucketViews: SegView[][] = [];
  const missing = node.missing;
  for (const view of views) {
    const col = view.columns.column(node.field);
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    if (col?.kind === 'keyword') throw unsupported(node.field, 'keyword', 'range');
    const buf = subs ? new PairBuf(Math.min(nd, 1 << 16) + 1) : undefined;
    const missingHits: number[] = [];
    if (missing !== undefined) for (let r = 0; r < nr; r++) if (missing >= from[r]! && missing < to[r]!) missingHits.push(r);
    if (col === undefined) {
      for (const r of missingHits) {
        counts[r]! += nd;
        if (buf) for (let i = 0; i < nd; i++) buf.push(r, i);
      }
    } else {
      const { offsets, values } = col;
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        const s = offsets[d]!;
        const e = offsets[d + 1]!;
        if (s === e) {
          for (const r of missingHits) {
            counts[r]!++;
            buf?.push(r, i);
          }
          continue;
        }
        for (let r = 0; r < nr; r++) {
          const f = from[r]!;
          let j = s;
          while (j < e && values[j]! < f) j++;
          if (j < e && values[j]! < to[r]!) {
            counts[r]!++;
            buf?.push(r, i);
          }
        }
      }
    }
    if (buf) partitionInto(view, buf, nr, withScores, bucketViews);
  }
  return {
    t: 'range',
    b: counts.map((n, r) => ({ n, a: subs ? collectLevel(node.aggs, bucketViews[r] ?? [], ctx) : {} })),
  };
}

// ---- filters / filter / missing ----

function resolve(ctx: Ctx, query: unknown, seg: number): ArrayLike<number> {
  let perSeg = ctx.filterCache.get(query);
  if (!perSeg) ctx.filterCache.set(query, (perSeg = []));
  let r = perSeg[seg];
  if (r === undefined) {
    const fn = ctx.opts.resolveFilter;
    if (!fn) {
      throw new EngineError(
        'aggregation_execution_exception',
        'filter aggregations need CollectOptions.resolveFilter from the engine',
        500,
      );
    }
    r = fn(query, seg, ctx.scopes.at(-1)!.path);
    perSeg[seg] = r;
  }
  return r;
}

function collectFilters(node: FiltersNode, views: SegView[], ctx: Ctx): FixedBucketsPartial {
  const nf = node.filters.length;
  const counts = new Array<number>(nf).fill(0);
  const subs = node.aggs.length > 0;
  const withScores = subs && subsNeedScores(node);
  const bucketViews: SegView[][] = Array.from({ length: nf }, () => []);
  const otherViews: SegView[] = [];
  let otherCount = 0;
  const other = node.otherBucketKey !== undefined;
  for (const view of views) {
    const nd = view.docs.length;
    if (nd === 0) continue;
    const mark = other ? new Uint8Array(nd) : undefined;
    for (let f = 0; f < nf; f++) {
      const pos = intersectPositions(view.docs, resolve(ctx, node.filters[f]!.query, view.seg));
      counts[f]! += pos.length;
      if (mark) for (let i = 0; i < pos.length; i++) mark[pos[i]!] = 1;
      if (subs && pos.length > 0) bucketViews[f]!.push(subView(view, pos, withScores));
    }
    if (mark) {
      let n = 0;
      for (let i = 0; i < nd; i++) if (mark[i] === 0) n++;
      otherCount += n;
      if (subs && n > 0) {
        const pos = new Int32Array(n);
        let k = 0;
        for (let i = 0; i < nd; i++) if (mark[i] === 0) pos[k++] = i;
        otherViews.push(subView(view, pos, withScores));
      }
    }
  }
  const out: FixedBucketsPartial = {
    t: 'filters',
    b: counts.map((n, f) => ({ n, a: subs ? collectLevel(node.aggs, bucketViews[f]!, ctx) : {} })),
  };
  if (other) {
    const o: CountBucketPartial = { n: otherCount, a: subs ? collectLevel(node.aggs, otherViews, ctx) : {} };
    out.other = o;
  }
  return out;
}

function collectFilter(node: FilterNode, views: SegView[], ctx: Ctx): SingleBucketPartial {
  const subs = node.aggs.length > 0;
  const withScores = subs && subsNeedScores(node);
  let n = 0;
  const sub: SegView[] = [];
  for (const view of views) {
    if (view.docs.length === 0) continue;
    const pos = intersectPositions(view.docs, resolve(ctx, node.query, view.seg));
    n += pos.length;
    if (subs && pos.length > 0) sub.push(subView(view, pos, withScores));
  }
  return { t: 'filter', n, a: subs ? collectLevel(node.aggs, sub, ctx) : {} };
}

function collectMissing(node: MissingNode, views: SegView[], ctx: Ctx): SingleBucketPartial {
  const subs = node.aggs.length > 0;
  const withScores = subs && subsNeedScores(node);
  let n = 0;
  const sub: SegView[] = [];
  for (const view of views) {
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    const col = view.columns.column(node.field);
    if (!col) {
      n += nd;
      if (subs) sub.push(view.scores && !withScores ? { ...view, scores: undefined } : view);
      continue;
    }
    const offsets = col.offsets;
    const pos = new Int32Array(nd);
    let k = 0;
    for (let i = 0; i < nd; i++) {
      const d = docs[i]!;
      if (offsets[d] === offsets[d + 1]) pos[k++] = i;
    }
    n += k;
    if (subs && k > 0) sub.push(subView(view, pos.subarray(0, k), withScores));
  }
  return { t: 'missing', n, a: subs ? collectLevel(node.aggs, sub, ctx) : {} };
}

// ---- nested and reverse_nested ----

function collectNested(node: NestedNode, views: SegView[], ctx: Ctx): SingleBucketPartial {
  const from = ctx.scopes.at(-1)!.path;
  const chain = ctx.opts.nestedChain ? ctx.opts.nestedChain(from, node.path) : [node.path];
  let n = 0;
  if (chain.length === 0) return { t: 'nested', n, a: node.aggs.length > 0 ? collectLevel(node.aggs, [], ctx) : {} };
  let level = views;
  let scoped = ctx;
  for (const path of chain) [level, scoped] = descend(level, scoped, path);
  for (const v of level) n += v.docs.length;
  return { t: 'nested', n, a: node.aggs.length > 0 ? collectLevel(node.aggs, level, scoped) : {} };
}

/** The nested objects of `path` (one level below the current scope) of the views' docs, and the scope they form. */
function descend(views: SegView[], ctx: Ctx, path: string): [SegView[], Ctx] {
  const top = ctx.scopes.at(-1)!;
  const nested = top.columns.map((c) => c?.nested?.(path));
  const out: SegView[] = [];
  for (const v of views) {
    const n = nested[v.seg];
    if (!n) continue;
    let count = 0;
    for (let i = 0; i < v.docs.length; i++) count += n.childStart[v.docs[i]! + 1]! - n.childStart[v.docs[i]!]!;
    if (count === 0) continue;
    const docs = new Int32Array(count);
    let k = 0;
    for (let i = 0; i < v.docs.length; i++) for (let c = n.childStart[v.docs[i]!]!; c < n.childStart[v.docs[i]! + 1]!; c++) docs[k++] = c;
    out.push({ seg: v.seg, columns: n.segment, docs, scores: undefined });
  }
  const scope: AggScope = { path, columns: nested.map((n) => n?.segment), parentOf: nested.map((n) => n?.parentOf) };
  return [out, scopedCtx(ctx, [...ctx.scopes, scope])];
}

function scopedCtx(ctx: Ctx, scopes: AggScope[]): Ctx {
  const columns = scopes.at(-1)!.columns;
  const docBase: number[] = [];
  let base = 0;
  for (const c of columns) {
    docBase.push(base);
    base += c?.maxDoc ?? 0;
  }
  return { opts: ctx.opts, filterCache: new Map(), hashCache: ctx.hashCache, docBase, allColumns: columns.filter((c): c is SegmentColumns => c !== undefined), scopes };
}

function collectReverseNested(node: ReverseNestedNode, views: SegView[], ctx: Ctx): SingleBucketPartial {
  const scopes = ctx.scopes;
  if (scopes.length === 1) throw illegal(`Reverse nested aggregation [${node.name}] can only be used inside a [nested] aggregation`);
  const target = node.path === undefined ? 0 : scopes.findIndex((s) => s.path === node.path);
  if (target < 0 || target === scopes.length - 1) {
    throw illegal(`[reverse_nested] path [${node.path}] of aggregation [${node.name}] is not a parent of the current nested path [${scopes.at(-1)!.path}]`);
  }
  const out: SegView[] = [];
  let n = 0;
  for (const v of views) {
    let docs = v.docs;
    // Up one level at a time; parents come in order, so duplicates are neighbours.
    for (let s = scopes.length - 1; s > target; s--) {
      const parentOf = scopes[s]!.parentOf[v.seg]!;
      const up = new Int32Array(docs.length);
      let k = 0;
      for (let i = 0; i < docs.length; i++) {
        const p = parentOf[docs[i]!]!;
        if (k === 0 || up[k - 1] !== p) up[k++] = p;
      }
      docs = up.subarray(0, k);
    }
    if (docs.length === 0) continue;
    n += docs.length;
    out.push({ seg: v.seg, columns: scopes[target]!.columns[v.seg]!, docs, scores: undefined });
  }
  const scoped = scopedCtx(ctx, scopes.slice(0, target + 1));
  return { t: 'reverse_nested', n, a: node.aggs.length > 0 ? collectLevel(node.aggs, out, scoped) : {} };
}

// ---- metrics ----

function collectStats(node: NumericMetricNode | ExtendedStatsNode, views: SegView[]): StatsPartial | ExtendedStatsPartial {
  let c = 0;
  let min = Infinity;
  let max = -Infinity;
  // Neumaier (improved Kahan) summation, as Elasticsearch's CompensatedSum.
  const sum = new CompensatedSum();
  const needSum = node.type !== 'min' && node.type !== 'max';
  const squares = node.type === 'extended_stats' ? new CompensatedSum() : undefined;
  const hasMissing = node.missing !== undefined;
  const mv = node.missing ?? 0;
  let missingDocs = 0;
  for (const view of views) {
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    const col = view.columns.column(node.field);
    if (col === undefined) {
      missingDocs += nd;
      continue;
    }
    if (col.kind === 'keyword') throw unsupported(node.field, 'keyword', node.type);
    const { offsets, values } = col;
    if (!needSum) {
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        const s = offsets[d]!;
        const e = offsets[d + 1]!;
        if (s === e) {
          missingDocs++;
          continue;
        }
        c += e - s;
        const lo = values[s]!;
        const hi = values[e - 1]!;
        if (lo < min) min = lo;
        if (hi > max) max = hi;
      }
      continue;
    }
    for (let i = 0; i < nd; i++) {
      const d = docs[i]!;
      const s = offsets[d]!;
      const e = offsets[d + 1]!;
      if (s === e) {
        missingDocs++;
        continue;
      }
      c += e - s;
      const lo = values[s]!;
      const hi = values[e - 1]!;
      if (lo < min) min = lo;
      if (hi > max) max = hi;
      for (let j = s; j < e; j++) {
        const v = values[j]!;
        sum.add(v);
        squares?.add(v * v);
      }
    }
  }
  if (hasMissing && missingDocs > 0) {
    c += missingDocs;
    if (mv < min) min = mv;
    if (mv > max) max = mv;
    sum.add(mv * missingDocs);
    squares?.add(mv * mv * missingDocs);
  }
  const stats = { c, min: c > 0 ? min : null, max: c > 0 ? max : null, sum: needSum ? sum.value() : 0 };
  if (node.type === 'extended_stats') return { t: node.type, ...stats, sq: squares!.sum, sqc: squares!.compensation };
  return { t: node.type, ...stats };
}

function collectPercentiles(node: PercentilesNode, views: SegView[]): PercentilesPartial {
  const digest = new TDigest(node.compression);
  let missingDocs = 0;
  for (const view of views) {
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    const col = view.columns.column(node.field);
    if (col === undefined) {
      missingDocs += nd;
      continue;
    }
    if (col.kind === 'keyword') throw unsupported(node.field, 'keyword', node.type);
    const { offsets, values } = col;
    for (let i = 0; i < nd; i++) {
      const d = docs[i]!;
      const s = offsets[d]!;
      const e = offsets[d + 1]!;
      if (s === e) missingDocs++;
      for (let j = s; j < e; j++) digest.add(values[j]!);
    }
  }
  if (node.missing !== undefined) for (let i = 0; i < missingDocs; i++) digest.add(node.missing);
  return { t: node.type, d: digest.toState() };
}

function collectValueCount(node: ValueCountNode, views: SegView[]): AggPartial {
  let c = 0;
  for (const view of views) {
    const col = view.columns.column(node.field);
    if (!col) continue;
    const offsets = col.offsets;
    const docs = view.docs;
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i]!;
      c += offsets[d + 1]! - offsets[d]!;
    }
  }
  return { t: 'value_count', c };
}

function collectCardinality(node: CardinalityNode, views: SegView[], ctx: Ctx): AggPartial {
  const sketch = new CardinalitySketch(node.precisionThreshold);
  for (const view of views) {
    const docs = view.docs;
    const nd = docs.length;
    if (nd === 0) continue;
    const col = view.columns.column(node.field);
    if (!col) continue;
    if (col.kind === 'keyword') {
      const { offsets, ords, terms } = col;
      let hashes = ctx.hashCache.get(col);
      if (!hashes) {
        hashes = new Float64Array(terms.length).fill(NaN);
        ctx.hashCache.set(col, hashes);
      }
      const addOrd = (o: number): void => {
        let h = hashes[o]!;
        if (h !== h) hashes[o] = h = hashString(terms[o]!);
        sketch.add(h);
      };
      if (denseOk(terms.length, nd)) {
        const seen = new Uint8Array(terms.length);
        for (let i = 0; i < nd; i++) {
          const d = docs[i]!;
          for (let j = offsets[d]!, e = offsets[d + 1]!; j < e; j++) seen[ords[j]!] = 1;
        }
        for (let o = 0; o < seen.length; o++) if (seen[o] === 1) addOrd(o);
      } else {
        const seen = new Set<number>();
        for (let i = 0; i < nd; i++) {
          const d = docs[i]!;
          for (let j = offsets[d]!, e = offsets[d + 1]!; j < e; j++) seen.add(ords[j]!);
        }
        for (const o of seen) addOrd(o);
      }
    } else {
      const { offsets, values } = col;
      for (let i = 0; i < nd; i++) {
        const d = docs[i]!;
        let prev = NaN;
        for (let j = offsets[d]!, e = offsets[d + 1]!; j < e; j++) {
          const v = values[j]!;
          if (v !== prev) {
            prev = v;
            sketch.add(hashNumber(v));
          }
        }
      }
    }
  }
  return sketch.toPartial();
}

// ---- top_hits ----

interface HitEntry {
  seg: number;
  doc: number;
  score: number;
  sv: SortValue[];
}

function fieldSortValue(
  col: Column | undefined,
  d: number,
  spec: Extract<SortSpec, { kind: 'field' }>,
): SortValue {
  let v: SortValue = null;
  if (col) {
    const s = col.offsets[d]!;
    const e = col.offsets[d + 1]!;
    if (e > s) {
      if (col.kind === 'keyword') {
        if (spec.mode === 'sum' || spec.mode === 'avg') {
          throw illegal(`sort mode [${spec.mode}] is not supported on keyword field [${spec.field}]`);
        }
        v = col.terms[col.ords[spec.mode === 'min' ? s : e - 1]!]!;
      } else if (spec.mode === 'min') v = col.values[s]!;
      else if (spec.mode === 'max') v = col.values[e - 1]!;
      else {
        let t = 0;
        for (let j = s; j < e; j++) t += col.values[j]!;
        v = spec.mode === 'sum' ? t : t / (e - s);
      }
    }
  }
  if (v === null && spec.missing !== '_first' && spec.missing !== '_last') {
    const m = spec.missing;
    v = col?.kind === 'numeric' && typeof m === 'string' && Number.isFinite(Number(m)) ? Number(m) : m;
  }
  return v;
}

function collectTopHits(node: TopHitsNode, views: SegView[], ctx: Ctx): AggPartial {
  const k = node.from + node.size;
  const specs = node.sort;
  const nspec = specs.length;
  const trackScores = node.trackScores || specs.some((s) => s.kind === 'score');
  let total = 0;
  let maxScore = -Infinity;
  let anyScores = false;
  const heap: HitEntry[] = [];
  const cmp = (a: HitEntry, b: HitEntry): number =>
    compareSortValues(a.sv, b.sv, specs) || a.seg - b.seg || a.doc - b.doc;
  // +1: sorted by score desc first, -1: by score asc first, 0: not by score first.
  const lead = specs[0];
  const scoreFirst = lead?.kind === 'score' ? (lead.dir === 'desc' ? 1 : -1) : 0;
  const scoreOnly = nspec === 1;
  const scratch: HitEntry = { seg: 0, doc: 0, score: NaN, sv: new Array<SortValue>(nspec).fill(null) };
  for (const view of views) {
    const docs = view.docs;
    const nd = docs.length;
    total += nd;
    const scores = view.scores;
    if (scores && trackScores && nd > 0) {
      anyScores = true;
      for (let i = 0; i < nd; i++) if (scores[i]! > maxScore) maxScore = scores[i]!;
    }
    if (k === 0 || nd === 0) continue;
    const cols = specs.map((s) => (s.kind === 'field' ? view.columns.column(s.field) : undefined));
    const base = ctx.docBase[view.seg] ?? 0;
    for (let i = 0; i < nd; i++) {
      if (scoreFirst !== 0 && heap.length === k) {
        // Fast reject on the leading score criterion (ties lose: earlier docs win them).
        const sc = scores ? scores[i]! : NaN;
        const w = heap[0]!.score;
        if (w === w && !(scoreFirst > 0 ? sc > w : sc < w) && !(sc === w && !scoreOnly)) continue;
      }
      const d = docs[i]!;
      scratch.seg = view.seg;
      scratch.doc = d;
      scratch.score = scores ? scores[i]! : NaN;
      for (let x = 0; x < nspec; x++) {
        const spec = specs[x]!;
        scratch.sv[x] =
          spec.kind === 'score'
            ? scores
              ? scores[i]!
              : null
            : spec.kind === 'doc'
              ? base + d
              : fieldSortValue(cols[x], d, spec);
      }
      if (heap.length < k) {
        heap.push({ seg: scratch.seg, doc: d, score: scratch.score, sv: scratch.sv.slice() });
        let j = heap.length - 1;
        while (j > 0) {
          const p = (j - 1) >> 1;
          if (cmp(heap[j]!, heap[p]!) <= 0) break;
          const t = heap[j]!;
          heap[j] = heap[p]!;
          heap[p] = t;
          j = p;
        }
      } else if (cmp(scratch, heap[0]!) < 0) {
        heap[0] = { seg: scratch.seg, doc: d, score: scratch.score, sv: scratch.sv.slice() };
        let j = 0;
        for (;;) {
          const l = 2 * j + 1;
          const r = l + 1;
          let m = j;
          if (l < heap.length && cmp(heap[l]!, heap[m]!) > 0) m = l;
          if (r < heap.length && cmp(heap[r]!, heap[m]!) > 0) m = r;
          if (m === j) break;
          const t = heap[j]!;
          heap[j] = heap[m]!;
          heap[m] = t;
          j = m;
        }
      }
    }
  }
  heap.sort(cmp);
  const columnsOf = new Map<number, SegmentColumns>();
  for (const v of views) columnsOf.set(v.seg, v.columns);
  const hits: HitPartial[] = heap.map((e) => {
    const columns = columnsOf.get(e.seg)!;
    const h: HitPartial = {
      id: columns.id(e.doc),
      s: trackScores && e.score === e.score ? e.score : null,
      sv: e.sv,
    };
    if (ctx.opts.index !== undefined) h.ix = ctx.opts.index;
    if (node.source.enabled) h.src = filterSource(columns.source(e.doc), node.source);
    return h;
  });
  return { t: 'top_hits', total, max: anyScores && maxScore > -Infinity ? maxScore : null, hits };
}
