/**
 * Aggregations in Elasticsearch's request and response shape.
 *
 *   const aggs = parseAggs(aggsOfRequest(body), { fieldType, parseFilter });   // every node parses the request
 *   const partial = collectAggs(aggs, segments, { resolveFilter, index });     // on each shard
 *   const response = reduceAggs(aggs, partials);                               // on the coordinating node
 *
 * Partials are plain data (JSON and msgpack safe). `mergeAggs` merges partials without rendering.
 * A distributed search goes through `ShardEngine.search({ ...body, partial_aggs: true })` on every
 * shard and `reduceShardAggs` on the coordinating node (distributed.ts).
 */

export { aggsOfRequest, parseAggs } from './parse.ts';
export type { ParseOptions } from './parse.ts';
export { collectAggs } from './collect.ts';
export type { CollectOptions, SegmentInput } from './collect.ts';
export { DEFAULT_MAX_BUCKETS, mergeAggs, reduceAggs } from './reduce.ts';
export type { ReduceOptions } from './reduce.ts';
export { recordingFieldType, reduceShardAggs } from './distributed.ts';
export type { ShardAggsResult } from './distributed.ts';
export type { AggNode, AggPartial, AggType, ShardAggs } from './types.ts';
