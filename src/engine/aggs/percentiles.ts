/**
 * `percentiles` and `percentile_ranks`: a t-digest (tdigest.ts) of the field's values per bucket.
 * Shards send the digest's state; the coordinating node merges the states and reads the merged
 * digest: percentiles at each percent, ranks (percent of values ≤ v) at each value.
 */

import { TDigest } from './tdigest.ts';
import type { PercentilesNode, PercentilesPartial } from './types.ts';
import { javaDouble } from './util.ts';

export const DEFAULT_PERCENTS: readonly number[] = [1, 5, 25, 50, 75, 95, 99];

export function mergePercentiles(node: PercentilesNode, ps: readonly PercentilesPartial[]): PercentilesPartial {
  const digest = new TDigest(node.compression);
  for (const p of ps) digest.merge(p.d);
  return { t: node.type, d: digest.toState() };
}

/** One answer of the digest: the percentile at percent `key`, or the rank (0–100) of value `key`; NaN when empty. */
function answer(node: PercentilesNode, digest: TDigest, key: number): number {
  return node.type === 'percentiles' ? digest.quantile(key / 100) : digest.cdf(key) * 100;
}

/** The value an order path (`"pct.99"`, `"ranks[500]"`) reads; NaN when empty (sorts last ascending, as in Elasticsearch). */
export function percentilesMetric(node: PercentilesNode, part: PercentilesPartial | undefined, key: number): number {
  if (!part) return NaN;
  return answer(node, TDigest.fromState(part.d, node.compression), key);
}

/**
 * Elasticsearch's shape: keyed, `values: {"50.0": v, "50.0_as_string": …}` (keys printed like
 * Java doubles); else `values: [{key, value, value_as_string}]`. Null values when the digest is
 * empty. `_as_string` only for date fields, formatting the answer with the field's format (for
 * ranks too, as Elasticsearch does, although a rank is a percentage).
 */
export function renderPercentiles(node: PercentilesNode, part: PercentilesPartial): Record<string, unknown> {
  const digest = TDigest.fromState(part.d, node.compression);
  const empty = digest.count === 0;
  const fmt = node.keyFormat?.kind === 'date' && !empty ? node.keyFormat.format : undefined;
  if (node.keyed) {
    const values: Record<string, unknown> = {};
    for (const key of node.keys) {
      const name = javaDouble(key);
      const v = answer(node, digest, key);
      values[name] = empty ? null : v;
      if (fmt) values[`${name}_as_string`] = fmt(v);
    }
    return { values };
  }
  return {
    values: node.keys.map((key) => {
      const v = answer(node, digest, key);
      const out: Record<string, unknown> = { key, value: empty ? null : v };
      if (fmt) out['value_as_string'] = fmt(v);
      return out;
    }),
  };
}
