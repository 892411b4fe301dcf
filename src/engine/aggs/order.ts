/**
 * Bucket ordering (by count, key or a metric sub-aggregation) and the metric values used for it,
 * with Elasticsearch's semantics: metric values compare like Java's `Double.compare` (NaN, the avg
 * of nothing, is greatest), min of nothing is +Infinity and max of nothing -Infinity.
 */

import { extendedStatsValues } from './extended-stats.ts';
import { CardinalitySketch } from './hll.ts';
import type { CardinalityPartial } from './hll.ts';
import { percentilesMetric } from './percentiles.ts';
import type {
  AggNode,
  AggPartial,
  BucketOrder,
  ExtendedStatsPartial,
  PercentilesPartial,
  SortSpec,
  SortValue,
  StatsPartial,
} from './types.ts';
import { compareDouble, compareKeys } from './util.ts';
import type { Key } from './util.ts';

/** What bucket comparators look at: key, doc count, and one metric value per order criterion. */
export interface Orderable {
  k: Key;
  n: number;
  m?: number[];
}

export function bucketComparator(order: readonly BucketOrder[]): (a: Orderable, b: Orderable) => number {
  return (a, b) => {
    for (let i = 0; i < order.length; i++) {
      const o = order[i]!;
      let c: number;
      if (o.kind === '_count') c = a.n - b.n;
      else if (o.kind === '_key') c = compareKeys(a.k, b.k);
      else c = compareDouble(a.m![i]!, b.m![i]!);
      if (c !== 0) return o.dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

export function hasMetricOrder(order: readonly BucketOrder[]): boolean {
  return order.some((o) => o.kind === 'metric');
}

export function cardinalityValue(part: CardinalityPartial | undefined, threshold: number): number {
  if (!part) return 0;
  if (part.h) return part.h.length;
  const s = new CardinalitySketch(threshold);
  s.merge(part);
  return s.value();
}

/**
 * The value a metric order reads from a (merged) partial of sub-aggregation `sub`; `metric` names
 * the value of a multi-value metric (a stats name, or the percent / value of percentiles / ranks).
 */
export function metricValue(sub: AggNode, part: AggPartial | undefined, metric: string | undefined): number {
  switch (sub.type) {
    case 'min':
    case 'max':
    case 'avg':
    case 'sum':
    case 'stats': {
      const p = part as StatsPartial | undefined;
      const c = p?.c ?? 0;
      const which = sub.type === 'stats' ? metric : sub.type;
      switch (which) {
        case 'count':
          return c;
        case 'min':
          return c > 0 && p!.min !== null ? p!.min : Infinity;
        case 'max':
          return c > 0 && p!.max !== null ? p!.max : -Infinity;
        case 'avg':
          return c > 0 ? p!.sum / c : NaN;
        default:
          return p?.sum ?? 0;
      }
    }
    case 'extended_stats':
      return extendedStatsValues(part as ExtendedStatsPartial | undefined, sub.sigma)[metric!] ?? NaN;
    case 'percentiles':
    case 'percentile_ranks':
      return percentilesMetric(sub, part as PercentilesPartial | undefined, Number(metric));
    case 'value_count':
      return (part as { c: number } | undefined)?.c ?? 0;
    case 'cardinality':
      return cardinalityValue(part as CardinalityPartial | undefined, sub.precisionThreshold);
    case 'filter':
    case 'missing':
    case 'nested':
    case 'reverse_nested':
      return (part as { n: number } | undefined)?.n ?? 0;
    default:
      return NaN;
  }
}

/** Compares two sort values under one top_hits sort criterion (missing values by `_first`/`_last`). */
export function compareSortValue(x: SortValue, y: SortValue, spec: SortSpec): number {
  if (x === null || y === null) {
    if (x === y) return 0;
    const first = spec.kind === 'field' && spec.missing === '_first';
    return x === null ? (first ? -1 : 1) : first ? 1 : -1;
  }
  const c = compareKeys(x, y);
  return spec.dir === 'asc' ? c : -c;
}

export function compareSortValues(a: readonly SortValue[], b: readonly SortValue[], specs: readonly SortSpec[]): number {
  for (let i = 0; i < specs.length; i++) {
    const c = compareSortValue(a[i]!, b[i]!, specs[i]!);
    if (c !== 0) return c;
  }
  return 0;
}
