/**
 * Aggregations of a distributed search (Elasticsearch's query phase + reduce phase).
 *
 *   shard:        engine.search({ ...body, partial_aggs: true }).partial_aggregations   // ShardAggsResult
 *   coordinator:  reduceShardAggs(aggsOfRequest(body), results)                          // final response
 *
 * A shard answers with its mergeable partial state (`collectAggs`) instead of a rendered response,
 * plus the mapped type of every field the aggregations name. The coordinating node has no engine
 * and no per-shard dynamic mappings, so it parses the request again with those types (they decide
 * `key_as_string` / `value_as_string`, date strings in `range`, ...) and reduces the partials
 * exactly as a single shard renders its own (`reduceAggs`): one shard's result through this path
 * equals the shard's non-partial response.
 */

import { parseAggs } from './parse.ts';
import { reduceAggs } from './reduce.ts';
import type { ReduceOptions } from './reduce.ts';
import type { ShardAggs } from './types.ts';

/** What one shard returns for the aggregations of a distributed search. Plain data (JSON/msgpack safe). */
export interface ShardAggsResult {
  /** Mergeable state, by aggregation name (see `ShardAggs`). */
  partials: ShardAggs;
  /** Mapped types of the fields the aggregations name (unmapped fields are absent). */
  field_types: Record<string, string>;
}

/**
 * Wraps a `ParseOptions.fieldType` so that every field the parse asks about (and that is mapped)
 * is recorded into `types`, for `ShardAggsResult.field_types`.
 */
export function recordingFieldType(fieldType: (field: string) => string | undefined): {
  fieldType: (field: string) => string | undefined;
  types: () => Record<string, string>;
} {
  const seen = new Map<string, string>();
  return {
    fieldType: (field) => {
      const t = fieldType(field);
      if (t !== undefined) seen.set(field, t);
      return t;
    },
    types: () => Object.fromEntries(seen),
  };
}

/**
 * The reduce phase: parses `aggsJson` (the request's `aggs`) with the field types the shards
 * reported (the first shard that maps a field wins, as Elasticsearch takes formats from the shard
 * results), merges every shard's partials and renders the final Elasticsearch-shaped response.
 * Throws `EngineError` (parse errors, `too_many_buckets_exception`, mismatched partials).
 */
export function reduceShardAggs(
  aggsJson: unknown,
  results: readonly ShardAggsResult[],
  options: ReduceOptions = {},
): Record<string, unknown> {
  const types = new Map<string, string>();
  for (const r of results) {
    for (const [field, type] of Object.entries(r.field_types)) if (!types.has(field)) types.set(field, type);
  }
  const nodes = parseAggs(aggsJson, { fieldType: (f) => types.get(f) });
  return reduceAggs(
    nodes,
    results.map((r) => r.partials),
    options,
  );
}
