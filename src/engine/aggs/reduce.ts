/**
 * Reduction of shard partials: `reduceAggs` merges and renders the final Elasticsearch-shaped
 * response; `mergeAggs` merges without rendering (an intermediate reduce, e.g. of a node's local
 * shards), producing a partial that `reduceAggs` accepts like any shard's.
 *
 * Rendering is lazy: sub-aggregations are merged only for the buckets that make it into the
 * response (and, for metric orders, the ordering metric for all buckets).
 */

import { EngineError } from '../types.ts';
import { mergeComposite, renderComposite } from './composite.ts';
import { makeRounding } from './dates.ts';
import { renderExtendedStats } from './extended-stats.ts';
import { CardinalitySketch } from './hll.ts';
import type { CardinalityPartial } from './hll.ts';
import { bucketComparator, cardinalityValue, compareSortValues, hasMetricOrder, metricValue } from './order.ts';
import { mergePercentiles, renderPercentiles } from './percentiles.ts';
import type {
  AggNode,
  AggPartial,
  BucketOrder,
  CompositePartial,
  CountBucketPartial,
  DateHistogramNode,
  ExtendedStatsPartial,
  FiltersNode,
  FixedBucketsPartial,
  HistogramNode,
  HistogramPartial,
  HitPartial,
  KeyFormat,
  NumericMetricNode,
  PercentilesPartial,
  RangeNode,
  ShardAggs,
  SingleBucketPartial,
  StatsPartial,
  TermsNode,
  TermsPartial,
  TopHitsNode,
  TopHitsPartial,
  ValueCountPartial,
} from './types.ts';
import { CompensatedSum, compareKeys, javaDouble } from './util.ts';
import type { Key } from './util.ts';

export interface ReduceOptions {
  /** Elasticsearch's `search.max_buckets` (default 65 536): more buckets in a response is an error. */
  maxBuckets?: number;
}

interface RCtx {
  buckets: number;
  readonly maxBuckets: number;
}

export const DEFAULT_MAX_BUCKETS = 65_536;

function tooManyBuckets(ctx: RCtx): EngineError {
  return new EngineError(
    'too_many_buckets_exception',
    `Trying to create too many buckets. Must be less than or equal to: [${ctx.maxBuckets}] but this number of buckets was exceeded. This limit can be set by changing the [search.max_buckets] cluster level setting.`,
    400,
  );
}

function addBuckets(ctx: RCtx, n: number): void {
  ctx.buckets += n;
  if (ctx.buckets > ctx.maxBuckets) throw tooManyBuckets(ctx);
}

/**
 * Merges the shard partials (one per shard, any order; missing shards simply absent) and renders
 * the final response object, keyed by aggregation name.
 */
export function reduceAggs(
  aggs: readonly AggNode[],
  partials: readonly ShardAggs[],
  options: ReduceOptions = {},
): Record<string, unknown> {
  const ctx: RCtx = { buckets: 0, maxBuckets: options.maxBuckets ?? DEFAULT_MAX_BUCKETS };
  return renderLevel(aggs, partials, ctx);
}

/** Merges partials into one partial (no truncation), for a later `reduceAggs`. */
export function mergeAggs(aggs: readonly AggNode[], partials: readonly ShardAggs[]): ShardAggs {
  const out: ShardAggs = {};
  for (const node of aggs) out[node.name] = mergeNode(node, partsOf(node, partials));
  return out;
}

function partsOf<T extends AggPartial>(node: AggNode, parts: readonly ShardAggs[]): T[] {
  const out: T[] = [];
  for (const p of parts) {
    const x = p[node.name];
    if (x === undefined) continue;
    if (x.t !== node.type) {
      throw new EngineError(
        'aggregation_execution_exception',
        `partial result of aggregation [${node.name}] is of type [${String(x.t)}], expected [${node.type}]`,
        500,
      );
    }
    out.push(x as T);
  }
  return out;
}

function renderLevel(aggs: readonly AggNode[], parts: readonly ShardAggs[], ctx: RCtx): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const node of aggs) {
    const r = renderNode(node, parts, ctx);
    out[node.name] = node.meta ? { meta: node.meta, ...r } : r;
  }
  return out;
}

function renderNode(node: AggNode, parts: readonly ShardAggs[], ctx: RCtx): Record<string, unknown> {
  switch (node.type) {
    case 'terms':
      return renderTerms(node, partsOf(node, parts), ctx);
    case 'histogram':
    case 'date_histogram':
      return renderHistogram(node, partsOf(node, parts), ctx);
    case 'range':
      return renderRange(node, partsOf(node, parts), ctx);
    case 'filters':
      return renderFilters(node, partsOf(node, parts), ctx);
    case 'filter':
    case 'missing':
    case 'nested':
    case 'reverse_nested': {
      const ps = partsOf<SingleBucketPartial>(node, parts);
      let n = 0;
      for (const p of ps) n += p.n;
      addBuckets(ctx, 1);
      return { doc_count: n, ...renderLevel(node.aggs, ps.map((p) => p.a), ctx) };
    }
    case 'min':
    case 'max':
    case 'avg':
    case 'sum':
    case 'stats':
      return renderStats(node, mergeStats(node, partsOf(node, parts)));
    case 'extended_stats':
      return renderExtendedStats(node, mergeExtendedStats(partsOf(node, parts)));
    case 'percentiles':
    case 'percentile_ranks':
      return renderPercentiles(node, mergePercentiles(node, partsOf(node, parts)));
    case 'value_count':
      return { value: mergeValueCount(partsOf(node, parts)).c };
    case 'cardinality':
      return { value: cardinalityValue(mergeCardinality(node.precisionThreshold, partsOf(node, parts)), node.precisionThreshold) };
    case 'top_hits':
      return renderTopHits(node, partsOf(node, parts));
    case 'composite':
      return renderComposite(
        node,
        partsOf(node, parts),
        (subs) => renderLevel(node.aggs, subs, ctx),
        (n) => addBuckets(ctx, n),
      );
  }
}

function mergeLevel(aggs: readonly AggNode[], parts: readonly ShardAggs[]): ShardAggs {
  const out: ShardAggs = {};
  for (const node of aggs) out[node.name] = mergeNode(node, partsOf(node, parts));
  return out;
}

function mergeNode(node: AggNode, ps: AggPartial[]): AggPartial {
  switch (node.type) {
    case 'terms': {
      const g = groupTerms(ps as TermsPartial[]);
      const b = [...g.buckets.values()].sort((x, y) => compareKeys(x.k, y.k));
      return {
        t: 'terms',
        b: b.map((x) => ({ k: x.k, n: x.n, e: g.sumErr === -1 ? -1 : g.sumErr + x.adj, a: mergeLevel(node.aggs, x.subs) })),
        o: g.other,
        err: g.sumErr,
        s: g.shards,
      };
    }
    case 'histogram':
    case 'date_histogram': {
      const groups = groupKeyed(ps as HistogramPartial[]);
      return {
        t: node.type,
        b: groups.map((x) => ({ k: x.k, n: x.n, a: mergeLevel(node.aggs, x.subs) })),
      };
    }
    case 'range':
    case 'filters': {
      const fixed = ps as FixedBucketsPartial[];
      const nb = node.type === 'range' ? node.ranges.length : node.filters.length;
      const out: FixedBucketsPartial = { t: node.type, b: [] };
      for (let i = 0; i < nb; i++) out.b.push(mergeCount(node.aggs, fixed.map((p) => p.b[i]!)));
      if (node.type === 'filters' && node.otherBucketKey !== undefined) {
        out.other = mergeCount(node.aggs, fixed.map((p) => p.other ?? { n: 0, a: {} }));
      }
      return out;
    }
    case 'filter':
    case 'missing':
    case 'nested':
    case 'reverse_nested': {
      const c = mergeCount(node.aggs, ps as SingleBucketPartial[]);
      return { t: node.type, n: c.n, a: c.a };
    }
    case 'min':
    case 'max':
    case 'avg':
    case 'sum':
    case 'stats':
      return mergeStats(node, ps as StatsPartial[]);
    case 'extended_stats':
      return mergeExtendedStats(ps as ExtendedStatsPartial[]);
    case 'percentiles':
    case 'percentile_ranks':
      return mergePercentiles(node, ps as PercentilesPartial[]);
    case 'value_count':
      return mergeValueCount(ps as ValueCountPartial[]);
    case 'cardinality':
      return mergeCardinality(node.precisionThreshold, ps as CardinalityPartial[]);
    case 'top_hits': {
      const { total, max, hits } = mergeHits(node, ps as TopHitsPartial[]);
      return { t: 'top_hits', total, max, hits: hits.slice(0, node.from + node.size) };
    }
    case 'composite':
      return mergeComposite(node, ps as CompositePartial[], (subs) => mergeLevel(node.aggs, subs));
  }
}

function mergeCount(aggs: readonly AggNode[], ps: readonly CountBucketPartial[]): CountBucketPartial {
  let n = 0;
  for (const p of ps) n += p.n;
  return { n, a: mergeLevel(aggs, ps.map((p) => p.a)) };
}

// ---- terms ----

interface TermsGroup {
  k: Key;
  n: number;
  /** Σ (bucket error − partial error) over the partials holding the bucket. */
  adj: number;
  subs: ShardAggs[];
  m?: number[];
}

function groupTerms(ps: readonly TermsPartial[]): {
  buckets: Map<Key, TermsGroup>;
  other: number;
  sumErr: number;
  shards: number;
} {
  const buckets = new Map<Key, TermsGroup>();
  let other = 0;
  let sumErr = 0;
  let shards = 0;
  for (const p of ps) {
    shards += p.s;
    other += p.o;
    sumErr = sumErr === -1 || p.err === -1 ? -1 : sumErr + p.err;
    for (const b of p.b) {
      let g = buckets.get(b.k);
      if (!g) buckets.set(b.k, (g = { k: b.k, n: 0, adj: 0, subs: [] }));
      g.n += b.n;
      g.adj += b.e - p.err;
      g.subs.push(b.a);
    }
  }
  return { buckets, other, sumErr, shards };
}

/** Metric values of a bucket for each order criterion, merging only the ordering sub-aggregations. */
function metricsFromSubs(order: readonly BucketOrder[], aggs: readonly AggNode[], subs: readonly ShardAggs[]): number[] {
  return order.map((o) => {
    if (o.kind !== 'metric') return 0;
    const sub = aggs.find((a) => a.name === o.agg)!;
    return metricValue(sub, mergeNode(sub, partsOf(sub, subs)), o.metric);
  });
}

function renderKey(out: Record<string, unknown>, k: Key, fmt: KeyFormat): void {
  out['key'] = k;
  if (typeof k === 'number') {
    if (fmt?.kind === 'date') out['key_as_string'] = fmt.format(k);
    else if (fmt?.kind === 'boolean') out['key_as_string'] = k !== 0 ? 'true' : 'false';
  }
}

function renderTerms(node: TermsNode, ps: TermsPartial[], ctx: RCtx): Record<string, unknown> {
  const g = groupTerms(ps);
  let list = [...g.buckets.values()].filter((b) => b.n >= node.minDocCount);
  if (hasMetricOrder(node.order)) for (const b of list) b.m = metricsFromSubs(node.order, node.aggs, b.subs);
  list.sort(bucketComparator(node.order));
  let other = g.other;
  for (let i = node.size; i < list.length; i++) other += list[i]!.n;
  list = list.slice(0, node.size);
  addBuckets(ctx, list.length);
  // One shard's counts are exact: no error, as Elasticsearch reports for single-shard searches.
  const exact = g.shards <= 1;
  const err = exact ? 0 : g.sumErr;
  const buckets = list.map((b) => {
    const out: Record<string, unknown> = {};
    renderKey(out, b.k, node.keyFormat);
    out['doc_count'] = b.n;
    if (node.showTermDocCountError) out['doc_count_error_upper_bound'] = exact ? 0 : err === -1 ? -1 : err + b.adj;
    Object.assign(out, renderLevel(node.aggs, b.subs, ctx));
    return out;
  });
  return { doc_count_error_upper_bound: err, sum_other_doc_count: other, buckets };
}

// ---- histogram / date_histogram ----

interface KeyedGroup {
  k: number;
  n: number;
  subs: ShardAggs[];
  m?: number[];
}

function groupKeyed(ps: readonly HistogramPartial[]): KeyedGroup[] {
  const map = new Map<number, KeyedGroup>();
  for (const p of ps) {
    for (const b of p.b) {
      let g = map.get(b.k);
      if (!g) map.set(b.k, (g = { k: b.k, n: 0, subs: [] }));
      g.n += b.n;
      g.subs.push(b.a);
    }
  }
  return [...map.values()].sort((a, b) => a.k - b.k);
}

function isDefaultKeyOrder(order: readonly BucketOrder[]): boolean {
  return order.length === 1 && order[0]!.kind === '_key' && order[0]!.dir === 'asc';
}

function renderHistogram(
  node: HistogramNode | DateHistogramNode,
  ps: HistogramPartial[],
  ctx: RCtx,
): Record<string, unknown> {
  let list = groupKeyed(ps);
  if (node.minDocCount === 0) {
    // Fill the gaps (and extend to extended_bounds) with empty buckets.
    const eb = node.extendedBounds;
    let lo = list.length > 0 ? list[0]!.k : undefined;
    let hi = list.length > 0 ? list[list.length - 1]!.k : undefined;
    let toKey: (v: number) => number;
    let next: (k: number) => number;
    if (node.type === 'histogram') {
      const { interval, offset } = node;
      toKey = (v) => Math.floor((v - offset) / interval);
      next = (k) => k + 1;
    } else {
      const r = makeRounding(node.interval, node.offsetMs, node.tzMs);
      toKey = (v) => r.round(v);
      next = (k) => r.next(k);
    }
    if (eb?.min !== undefined) {
      const k = toKey(eb.min);
      lo = lo === undefined ? k : Math.min(lo, k);
    }
    if (eb?.max !== undefined) {
      const k = toKey(eb.max);
      hi = hi === undefined ? k : Math.max(hi, k);
    }
    lo ??= hi;
    hi ??= lo;
    if (lo !== undefined && hi !== undefined) {
      const budget = ctx.maxBuckets - ctx.buckets;
      if (node.type === 'histogram' && hi - lo + 1 > budget) throw tooManyBuckets(ctx);
      const byKey = new Map(list.map((b) => [b.k, b]));
      const filled: KeyedGroup[] = [];
      for (let k = lo; k <= hi; k = next(k)) {
        if (filled.length >= budget) throw tooManyBuckets(ctx);
        filled.push(byKey.get(k) ?? { k, n: 0, subs: [] });
      }
      list = filled;
    }
  } else {
    list = list.filter((b) => b.n >= node.minDocCount);
  }
  if (!isDefaultKeyOrder(node.order)) {
    if (hasMetricOrder(node.order)) for (const b of list) b.m = metricsFromSubs(node.order, node.aggs, b.subs);
    list.sort(bucketComparator(node.order));
  }
  addBuckets(ctx, list.length);
  const rendered: [string, Record<string, unknown>][] = list.map((b) => {
    const out: Record<string, unknown> = {};
    let name: string;
    if (node.type === 'histogram') {
      const key = b.k * node.interval + node.offset;
      out['key'] = key;
      name = javaDouble(key);
    } else {
      name = node.format(b.k);
      out['key_as_string'] = name;
      out['key'] = b.k;
    }
    out['doc_count'] = b.n;
    Object.assign(out, renderLevel(node.aggs, b.subs, ctx));
    return [name, out];
  });
  if (node.keyed) return { buckets: Object.fromEntries(rendered) };
  return { buckets: rendered.map((r) => r[1]) };
}

// ---- range / filters ----

function renderRange(node: RangeNode, ps: FixedBucketsPartial[], ctx: RCtx): Record<string, unknown> {
  addBuckets(ctx, node.ranges.length);
  const fmt = node.keyFormat?.kind === 'date' ? node.keyFormat.format : undefined;
  const rendered = node.ranges.map((r, i): [string, Record<string, unknown>] => {
    const out: Record<string, unknown> = {};
    if (!node.keyed) out['key'] = r.key;
    if (r.from !== undefined) {
      out['from'] = r.from;
      if (fmt) out['from_as_string'] = fmt(r.from);
    }
    if (r.to !== undefined) {
      out['to'] = r.to;
      if (fmt) out['to_as_string'] = fmt(r.to);
    }
    let n = 0;
    const subs: ShardAggs[] = [];
    for (const p of ps) {
      const b = p.b[i]!;
      n += b.n;
      subs.push(b.a);
    }
    out['doc_count'] = n;
    Object.assign(out, renderLevel(node.aggs, subs, ctx));
    return [r.key, out];
  });
  if (node.keyed) return { buckets: Object.fromEntries(rendered) };
  return { buckets: rendered.map((r) => r[1]) };
}

function renderFilters(node: FiltersNode, ps: FixedBucketsPartial[], ctx: RCtx): Record<string, unknown> {
  const render = (get: (p: FixedBucketsPartial) => CountBucketPartial | undefined): Record<string, unknown> => {
    let n = 0;
    const subs: ShardAggs[] = [];
    for (const p of ps) {
      const b = get(p);
      if (!b) continue;
      n += b.n;
      subs.push(b.a);
    }
    return { doc_count: n, ...renderLevel(node.aggs, subs, ctx) };
  };
  const rendered: [string, Record<string, unknown>][] = node.filters.map((f, i) => [f.key, render((p) => p.b[i])]);
  if (node.otherBucketKey !== undefined) rendered.push([node.otherBucketKey, render((p) => p.other)]);
  addBuckets(ctx, rendered.length);
  if (node.keyed) return { buckets: Object.fromEntries(rendered) };
  return { buckets: rendered.map((r) => r[1]) };
}

// ---- metrics ----

type StatsFields = Omit<StatsPartial, 't'>;

/** Count, min, max and the compensated sum over partials of stats or extended_stats. */
function mergeStatsFields(ps: readonly StatsFields[]): StatsFields {
  let c = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let comp = 0;
  for (const p of ps) {
    c += p.c;
    if (p.min !== null && p.min < min) min = p.min;
    if (p.max !== null && p.max > max) max = p.max;
    const v = p.sum;
    const t = sum + v;
    if (Math.abs(sum) >= Math.abs(v)) comp += sum - t + v;
    else comp += v - t + sum;
    sum = t;
  }
  return {
    c,
    min: min === Infinity ? null : min,
    max: max === -Infinity ? null : max,
    sum: Number.isFinite(sum) ? sum + comp : sum,
  };
}

function mergeStats(node: NumericMetricNode, ps: readonly StatsPartial[]): StatsPartial {
  return { t: node.type, ...mergeStatsFields(ps) };
}

function mergeExtendedStats(ps: readonly ExtendedStatsPartial[]): ExtendedStatsPartial {
  const squares = new CompensatedSum();
  for (const p of ps) squares.addCompensated(p.sq, p.sqc);
  return { t: 'extended_stats', ...mergeStatsFields(ps), sq: squares.sum, sqc: squares.compensation };
}

function renderStats(node: NumericMetricNode, p: StatsPartial): Record<string, unknown> {
  const fmt = node.keyFormat?.kind === 'date' ? node.keyFormat.format : undefined;
  const avg = p.c > 0 ? p.sum / p.c : null;
  const one = (v: number | null): Record<string, unknown> =>
    fmt && v !== null ? { value: v, value_as_string: fmt(v) } : { value: v };
  switch (node.type) {
    case 'min':
      return one(p.c > 0 ? p.min : null);
    case 'max':
      return one(p.c > 0 ? p.max : null);
    case 'avg':
      return one(avg);
    case 'sum':
      return one(p.sum);
    case 'stats': {
      const out: Record<string, unknown> = {
        count: p.c,
        min: p.c > 0 ? p.min : null,
        max: p.c > 0 ? p.max : null,
        avg,
        sum: p.sum,
      };
      if (fmt && p.c > 0) {
        out['min_as_string'] = fmt(p.min!);
        out['max_as_string'] = fmt(p.max!);
        out['avg_as_string'] = fmt(avg!);
        out['sum_as_string'] = fmt(p.sum);
      }
      return out;
    }
  }
}

function mergeValueCount(ps: readonly ValueCountPartial[]): ValueCountPartial {
  let c = 0;
  for (const p of ps) c += p.c;
  return { t: 'value_count', c };
}

function mergeCardinality(threshold: number, ps: readonly CardinalityPartial[]): CardinalityPartial {
  const s = new CardinalitySketch(threshold);
  for (const p of ps) s.merge(p);
  return s.toPartial();
}

// ---- top_hits ----

function mergeHits(node: TopHitsNode, ps: readonly TopHitsPartial[]): { total: number; max: number | null; hits: HitPartial[] } {
  let total = 0;
  let max: number | null = null;
  const hits: HitPartial[] = [];
  for (const p of ps) {
    total += p.total;
    if (p.max !== null && (max === null || p.max > max)) max = p.max;
    for (const h of p.hits) hits.push(h);
  }
  // Stable: ties keep shard order, then each shard's own order.
  hits.sort((a, b) => compareSortValues(a.sv, b.sv, node.sort));
  return { total, max, hits };
}

function renderTopHits(node: TopHitsNode, ps: readonly TopHitsPartial[]): Record<string, unknown> {
  const { total, max, hits } = mergeHits(node, ps);
  return {
    hits: {
      total: { value: total, relation: 'eq' },
      max_score: max,
      hits: hits.slice(node.from, node.from + node.size).map((h) => {
        const out: Record<string, unknown> = {};
        if (h.ix !== undefined) out['_index'] = h.ix;
        out['_id'] = h.id;
        out['_score'] = h.s;
        if (h.src !== undefined) out['_source'] = h.src;
        if (node.explicitSort) out['sort'] = h.sv;
        return out;
      }),
    },
  };
}
