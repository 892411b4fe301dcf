/**
 * Core shapes of the per-shard search engine (no NATS here). A shard's index is a set of immutable
 * segments; each holds an inverted index (postings with frequencies and positions), stored
 * `_source`, and doc values (columnar per-field values for sorting and aggregations).
 */

/**
 * One token produced by analysis. Positions count tokens (stop words leave gaps); tokens stacked at
 * one position (synonyms, n-grams of one word) share it. Offsets are UTF-16 indexes into the text
 * as given to analyze(), before any char filter.
 */
export interface Token {
  term: string;
  position: number;
  startOffset: number;
  endOffset: number;
  /**
   * How many positions the token spans (a multi-word synonym's single-word side): absent means 1.
   * Only the synonym filters set it; the query side reads it to walk the alternatives as a graph.
   */
  positionLength?: number;
  /** Set by keyword_marker: stemmers leave the token as it is. Absent on other tokens. */
  keyword?: boolean;
}

export interface Analyzer {
  readonly name: string;
  analyze(text: string): Token[];
}

/** Numeric doc values: the values of doc d are values[offsets[d] .. offsets[d+1]), sorted ascending. */
export interface NumericColumn {
  readonly kind: 'numeric';
  readonly offsets: Uint32Array; // length maxDoc + 1
  readonly values: Float64Array;
}

/**
 * Keyword doc values: a sorted, de-duplicated dictionary of terms; the ordinals of doc d are
 * ords[offsets[d] .. offsets[d+1]), sorted ascending (so terms are in dictionary order).
 */
export interface KeywordColumn {
  readonly kind: 'keyword';
  readonly terms: readonly string[];
  readonly offsets: Uint32Array; // length maxDoc + 1
  readonly ords: Uint32Array;
}

export type Column = NumericColumn | KeywordColumn;

/** A nested path's objects under one segment (segment.ts: NestedDocs). */
export interface NestedColumns {
  readonly segment: SegmentColumns;
  /** child → parent doc */
  readonly parentOf: Int32Array;
  /** parent p's children are childStart[p] .. childStart[p + 1] */
  readonly childStart: Int32Array;
}

/** What aggregations and sorting need from one segment. */
export interface SegmentColumns {
  readonly maxDoc: number;
  column(field: string): Column | undefined;
  /**
   * The nested objects of a nested path directly under this scope (nested and reverse_nested
   * aggregations): their own columns, each object's parent, each parent's range of objects.
   */
  nested?(path: string): NestedColumns | undefined;
  /** The stored source of a doc (for top_hits). */
  source(doc: number): Record<string, unknown>;
  id(doc: number): string;
}

/**
 * Errors in Elasticsearch's shape: a type and a reason, and for some types the extra structured
 * fields Elasticsearch adds (a script error's `script_stack`, `position` and `caused_by`).
 */
export class EngineError extends Error {
  constructor(
    readonly type: string,
    reason: string,
    readonly status = 400,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(reason);
    this.name = 'EngineError';
  }
  get reason(): string {
    return this.message;
  }
  toJSON(): { type: string; reason: string } & Record<string, unknown> {
    return { type: this.type, reason: this.message, ...this.details };
  }
}

/** A JSON object (not null, not an array): what request bodies, mappings and definitions must be. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
