/**
 * `extended_stats`: what the merged partial (count, min, max, sum, sum of squares) says about the
 * spread of the values, with Elasticsearch's formulas: variance from the sums, a negative variance
 * (rounding) clamped to 0, bounds at avg ± sigma · standard deviation. The same numbers serve the
 * response and bucket orders (`"order": {"ext.std_deviation": "desc"}`).
 */

import type { ExtendedStatsNode, ExtendedStatsPartial } from './types.ts';
import { compensatedValue } from './util.ts';

/** The metric names an order path can read (Elasticsearch's `ExtendedStats.Metrics`). */
export const EXTENDED_STATS_METRICS: ReadonlySet<string> = new Set([
  'count',
  'min',
  'max',
  'avg',
  'sum',
  'sum_of_squares',
  'variance',
  'variance_population',
  'variance_sampling',
  'std_deviation',
  'std_deviation_population',
  'std_deviation_sampling',
  'std_upper',
  'std_lower',
  'std_upper_population',
  'std_lower_population',
  'std_upper_sampling',
  'std_lower_sampling',
]);

/** The values Elasticsearch also prints as `<name>_as_string` for a date field (besides the bounds). */
const AS_STRING = [...EXTENDED_STATS_METRICS].filter((k) => k !== 'count' && !k.startsWith('std_upper') && !k.startsWith('std_lower'));

/**
 * Every metric by name. With no values: min +Infinity, max -Infinity, the rest NaN except count,
 * sum and sum_of_squares (0), as Elasticsearch computes them (orders compare NaN as greatest).
 */
export function extendedStatsValues(p: ExtendedStatsPartial | undefined, sigma: number): Record<string, number> {
  const c = p?.c ?? 0;
  const sum = p?.sum ?? 0;
  const sq = p ? compensatedValue(p.sq, p.sqc) : 0;
  const avg = sum / c;
  const clamp = (v: number): number => (v < 0 ? 0 : v);
  // One value: the sampling variance is 0/0, NaN, as in Elasticsearch.
  const varPop = clamp((sq - (sum * sum) / c) / c);
  const varSam = clamp((sq - (sum * sum) / c) / (c - 1));
  const sdPop = Math.sqrt(varPop);
  const sdSam = Math.sqrt(varSam);
  return {
    count: c,
    min: c > 0 && p!.min !== null ? p!.min : Infinity,
    max: c > 0 && p!.max !== null ? p!.max : -Infinity,
    avg,
    sum,
    sum_of_squares: sq,
    variance: varPop,
    variance_population: varPop,
    variance_sampling: varSam,
    std_deviation: sdPop,
    std_deviation_population: sdPop,
    std_deviation_sampling: sdSam,
    std_upper: avg + sigma * sdPop,
    std_lower: avg - sigma * sdPop,
    std_upper_population: avg + sigma * sdPop,
    std_lower_population: avg - sigma * sdPop,
    std_upper_sampling: avg + sigma * sdSam,
    std_lower_sampling: avg - sigma * sdSam,
  };
}

/** The response. JSON has no NaN: a value that is not finite (e.g. variance_sampling of one value) is null. */
export function renderExtendedStats(node: ExtendedStatsNode, p: ExtendedStatsPartial): Record<string, unknown> {
  const v = extendedStatsValues(p, node.sigma);
  const has = p.c > 0;
  const num = (x: number): number | null => (has && Number.isFinite(x) ? x : null);
  const bounds = (get: (k: string) => unknown): Record<string, unknown> => ({
    upper: get('std_upper'),
    lower: get('std_lower'),
    upper_population: get('std_upper_population'),
    lower_population: get('std_lower_population'),
    upper_sampling: get('std_upper_sampling'),
    lower_sampling: get('std_lower_sampling'),
  });
  const out: Record<string, unknown> = {
    count: p.c,
    min: num(v['min']!),
    max: num(v['max']!),
    avg: num(v['avg']!),
    sum: p.sum,
    sum_of_squares: num(v['sum_of_squares']!),
    variance: num(v['variance']!),
    variance_population: num(v['variance_population']!),
    variance_sampling: num(v['variance_sampling']!),
    std_deviation: num(v['std_deviation']!),
    std_deviation_population: num(v['std_deviation_population']!),
    std_deviation_sampling: num(v['std_deviation_sampling']!),
    std_deviation_bounds: bounds((k) => num(v[k]!)),
  };
  const fmt = node.keyFormat?.kind === 'date' ? node.keyFormat.format : undefined;
  if (fmt && has) {
    // Elasticsearch prints every value with the field's format, spreads (ms², ms) included.
    const str = (k: string): string | null => (Number.isFinite(v[k]!) ? fmt(v[k]!) : null);
    for (const k of AS_STRING) out[`${k}_as_string`] = str(k);
    out['std_deviation_bounds_as_string'] = bounds(str);
  }
  return out;
}
