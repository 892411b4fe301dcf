/**
 * Parsed aggregation trees (`AggNode`) and the shard-level partial results (`ShardAggs`).
 *
 * Partials are plain data: numbers, strings, arrays and objects only (HLL registers travel as
 * base64), so they survive JSON and msgpack unchanged and can be sent from a shard to the
 * coordinating node as they are.
 */

import type { CalendarUnit, DateFormatter } from './dates.ts';
import type { CardinalityPartial } from './hll.ts';
import type { TDigestState } from './tdigest.ts';
import type { Key, SourceFilter } from './util.ts';

export type SortDir = 'asc' | 'desc';

/**
 * One criterion of a bucket order. A `metric` order names a metric sub-aggregation (and for a
 * multi-value one, which value: a stats name, or a percent / value of percentiles / ranks).
 */
export type BucketOrder =
  | { readonly kind: '_count'; readonly dir: SortDir }
  | { readonly kind: '_key'; readonly dir: SortDir }
  | { readonly kind: 'metric'; readonly dir: SortDir; readonly path: string; readonly agg: string; readonly metric: string | undefined };

/** How keys of a numeric field are printed as `key_as_string` (from the mapping, via `fieldType`). */
export type KeyFormat = { readonly kind: 'date'; readonly format: DateFormatter } | { readonly kind: 'boolean' } | undefined;

interface NodeBase {
  readonly name: string;
  /** Sub-aggregations (empty for metrics). */
  readonly aggs: readonly AggNode[];
  readonly meta: Record<string, unknown> | undefined;
}

export interface TermsNode extends NodeBase {
  readonly type: 'terms';
  readonly field: string;
  readonly size: number;
  readonly shardSize: number;
  readonly minDocCount: number;
  readonly shardMinDocCount: number;
  /** Always ends with a `_key` criterion (Elasticsearch's tie-breaker). */
  readonly order: readonly BucketOrder[];
  readonly missing: string | number | undefined;
  readonly include: TermFilter | undefined;
  readonly exclude: TermFilter | undefined;
  readonly showTermDocCountError: boolean;
  readonly keyFormat: KeyFormat;
}

/** `include`/`exclude` of terms: a set of exact values, or a regular expression over string terms. */
export type TermFilter = { readonly kind: 'set'; readonly values: ReadonlySet<Key> } | { readonly kind: 'regex'; readonly re: RegExp };

export interface RangeSpec {
  readonly key: string;
  readonly from: number | undefined;
  readonly to: number | undefined;
}

export interface RangeNode extends NodeBase {
  readonly type: 'range';
  readonly field: string;
  /** Sorted by (from, to) as Elasticsearch does. */
  readonly ranges: readonly RangeSpec[];
  readonly keyed: boolean;
  readonly missing: number | undefined;
  readonly keyFormat: KeyFormat;
}

export interface HistogramNode extends NodeBase {
  readonly type: 'histogram';
  readonly field: string;
  readonly interval: number;
  readonly offset: number;
  readonly minDocCount: number;
  readonly extendedBounds: { readonly min: number | undefined; readonly max: number | undefined } | undefined;
  readonly order: readonly BucketOrder[];
  readonly keyed: boolean;
  readonly missing: number | undefined;
}

export interface DateHistogramNode extends NodeBase {
  readonly type: 'date_histogram';
  readonly field: string;
  readonly interval: { readonly kind: 'fixed'; readonly ms: number } | { readonly kind: 'calendar'; readonly unit: CalendarUnit };
  readonly offsetMs: number;
  readonly tzMs: number;
  readonly minDocCount: number;
  readonly extendedBounds: { readonly min: number | undefined; readonly max: number | undefined } | undefined;
  readonly order: readonly BucketOrder[];
  readonly keyed: boolean;
  readonly missing: number | undefined;
  readonly format: DateFormatter;
}

export interface FiltersNode extends NodeBase {
  readonly type: 'filters';
  /** Named filters (sorted by name, as Elasticsearch does) or anonymous ones (request order; key = index). */
  readonly filters: readonly { readonly key: string; readonly query: unknown }[];
  readonly keyed: boolean;
  readonly otherBucketKey: string | undefined;
}

export interface FilterNode extends NodeBase {
  readonly type: 'filter';
  readonly query: unknown;
}

/** Sub-aggregations over the nested objects (of `path`) of the docs in the bucket. */
export interface NestedNode extends NodeBase {
  readonly type: 'nested';
  readonly path: string;
}

/** Inside a nested aggregation: sub-aggregations over the docs of an enclosing scope (`path`, or the root) that hold the bucket's objects. */
export interface ReverseNestedNode extends NodeBase {
  readonly type: 'reverse_nested';
  readonly path: string | undefined;
}

export interface MissingNode extends NodeBase {
  readonly type: 'missing';
  readonly field: string;
}

export type NumericMetricType = 'min' | 'max' | 'avg' | 'sum' | 'stats';

export interface NumericMetricNode extends NodeBase {
  readonly type: NumericMetricType;
  readonly field: string;
  readonly missing: number | undefined;
  readonly keyFormat: KeyFormat;
}

export interface ExtendedStatsNode extends NodeBase {
  readonly type: 'extended_stats';
  readonly field: string;
  readonly missing: number | undefined;
  readonly keyFormat: KeyFormat;
  /** How many standard deviations `std_deviation_bounds` lie from the mean. */
  readonly sigma: number;
}

/** `percentiles` (keys are percents) and `percentile_ranks` (keys are values), over one t-digest. */
export interface PercentilesNode extends NodeBase {
  readonly type: 'percentiles' | 'percentile_ranks';
  readonly field: string;
  /** The requested percents or values, sorted ascending as Elasticsearch does. */
  readonly keys: readonly number[];
  readonly keyed: boolean;
  readonly missing: number | undefined;
  readonly compression: number;
  readonly keyFormat: KeyFormat;
}

export interface ValueCountNode extends NodeBase {
  readonly type: 'value_count';
  readonly field: string;
}

export interface CardinalityNode extends NodeBase {
  readonly type: 'cardinality';
  readonly field: string;
  readonly precisionThreshold: number;
}

/** One source's value in a composite bucket key; null is the missing bucket (`missing_bucket`). */
export type CompositeValue = Key | null;

/** One of a composite aggregation's `sources`: how a doc's field values become key values. */
export interface CompositeSource {
  readonly name: string;
  readonly type: 'terms' | 'histogram' | 'date_histogram';
  readonly field: string;
  readonly dir: SortDir;
  /** Docs without a value get a null key value (else they are left out). */
  readonly missingBucket: boolean;
  /** Whether null sorts before every value (whatever `dir`). */
  readonly nullFirst: boolean;
  /** Field value → key value (the bucket's start for histograms); undefined for terms. */
  readonly round: ((v: number) => number) | undefined;
  /** Key value → what `key` / `after_key` show (booleans, formatted dates). */
  readonly render: (v: Key) => unknown;
}

export interface CompositeNode extends NodeBase {
  readonly type: 'composite';
  readonly size: number;
  readonly sources: readonly CompositeSource[];
  /** `after`, one value per source (already converted to key values). */
  readonly after: readonly CompositeValue[] | undefined;
}

export type SortSpec =
  | { readonly kind: 'score'; readonly dir: SortDir }
  | { readonly kind: 'doc'; readonly dir: SortDir }
  | {
      readonly kind: 'field';
      readonly field: string;
      readonly dir: SortDir;
      readonly mode: 'min' | 'max' | 'sum' | 'avg';
      /** `_first`, `_last` or a value to use for docs without one. */
      readonly missing: '_first' | '_last' | number | string;
    };

export interface TopHitsNode extends NodeBase {
  readonly type: 'top_hits';
  readonly from: number;
  readonly size: number;
  readonly sort: readonly SortSpec[];
  /** False when the request gave no `sort` (then hits carry no `sort` values). */
  readonly explicitSort: boolean;
  readonly source: SourceFilter;
  readonly trackScores: boolean;
}

export type BucketNode =
  | TermsNode
  | RangeNode
  | HistogramNode
  | DateHistogramNode
  | FiltersNode
  | FilterNode
  | MissingNode
  | NestedNode
  | ReverseNestedNode
  | CompositeNode;
export type MetricNode =
  | NumericMetricNode
  | ExtendedStatsNode
  | PercentilesNode
  | ValueCountNode
  | CardinalityNode
  | TopHitsNode;
export type AggNode = BucketNode | MetricNode;
export type AggType = AggNode['type'];

// ---- partials ----

/** Sub-aggregation partials of one bucket, by name. */
export type ShardAggs = Record<string, AggPartial>;

export interface TermsBucketPartial {
  k: Key;
  n: number;
  /** Doc count error of this bucket (0 at shard level). */
  e: number;
  a: ShardAggs;
}

export interface TermsPartial {
  t: 'terms';
  b: TermsBucketPartial[];
  /** Docs of terms not returned. */
  o: number;
  /** Upper bound on the count of a term this partial did not return: 0 exact, -1 unknown. */
  err: number;
  /** Number of shards merged into this partial. */
  s: number;
}

export interface KeyedBucketPartial {
  /** histogram: bucket index (key = k × interval + offset); date_histogram: key in epoch ms. */
  k: number;
  n: number;
  a: ShardAggs;
}

export interface HistogramPartial {
  t: 'histogram' | 'date_histogram';
  b: KeyedBucketPartial[];
}

export interface CompositeBucketPartial {
  /** Key values, one per source. */
  k: CompositeValue[];
  n: number;
  a: ShardAggs;
}

/** The first `size` composite buckets (after `after`), in composite order. */
export interface CompositePartial {
  t: 'composite';
  b: CompositeBucketPartial[];
}

export interface CountBucketPartial {
  n: number;
  a: ShardAggs;
}

/** range and filters: buckets in the node's order; `other` for filters' other bucket. */
export interface FixedBucketsPartial {
  t: 'range' | 'filters';
  b: CountBucketPartial[];
  other?: CountBucketPartial;
}

export interface SingleBucketPartial {
  t: 'filter' | 'missing' | 'nested' | 'reverse_nested';
  n: number;
  a: ShardAggs;
}

/** min, max, sum, avg and stats share one shape. min/max are null on no values. */
export interface StatsPartial {
  t: NumericMetricType;
  c: number;
  min: number | null;
  max: number | null;
  sum: number;
}

/**
 * Stats plus the sum of squares, kept as a running sum and its compensation (sq + sqc): squares of
 * large values (epoch millis ~3e24) round, and merging the two parts keeps the reduce as exact as
 * one shard's sum.
 */
export interface ExtendedStatsPartial {
  t: 'extended_stats';
  c: number;
  min: number | null;
  max: number | null;
  sum: number;
  sq: number;
  sqc: number;
}

export interface PercentilesPartial {
  t: 'percentiles' | 'percentile_ranks';
  d: TDigestState;
}

export interface ValueCountPartial {
  t: 'value_count';
  c: number;
}

export type SortValue = number | string | null;

export interface HitPartial {
  /** `_index`, when the engine passed `CollectOptions.index`. */
  ix?: string;
  id: string;
  /** Score, or null when not tracked. */
  s: number | null;
  /** One value per sort criterion (for `_score` the score, for `_doc` the doc position). */
  sv: SortValue[];
  src?: Record<string, unknown>;
}

export interface TopHitsPartial {
  t: 'top_hits';
  total: number;
  max: number | null;
  hits: HitPartial[];
}

export type AggPartial =
  | TermsPartial
  | HistogramPartial
  | CompositePartial
  | FixedBucketsPartial
  | SingleBucketPartial
  | StatsPartial
  | ExtendedStatsPartial
  | PercentilesPartial
  | ValueCountPartial
  | CardinalityPartial
  | TopHitsPartial;
