/**
 * Field collapsing (`collapse: { field }`), as Elasticsearch does it: of the docs sharing a value
 * of a single-valued keyword or numeric field, only the best (by the request's sort, or score)
 * is a hit, and it carries the value in `fields`. Docs without a value form one group of their
 * own (value null). The total still counts every match. Across shards the coordinating node
 * collapses the shards' collapsed hits again: a group's best doc is among the top groups of the
 * shard that holds it, so that is exact.
 *
 * `collapse.inner_hits` expands each collapsed hit (Elasticsearch's expand phase): per hit and
 * inner hits definition, one more search for the docs of that group (groupSearches), run by the
 * engine itself or, across shards, by the coordinating node.
 */
import type { MappingRegistry } from './mapping.ts';
import { MAX_INNER_RESULT_WINDOW } from './nested.ts';
import { EngineError, isPlainObject, type Column } from './types.ts';

const COLLAPSIBLE = new Set(['keyword', 'long', 'double', 'date', 'boolean']);
const COLLAPSE_KEYS = new Set(['field', 'inner_hits', 'max_concurrent_group_searches']);
/** Inner hits options a group search takes as they are (search request options of the same name). */
const GROUP_SEARCH_KEYS = new Set(['from', 'size', 'sort', '_source', 'collapse', 'explain', 'version', 'seq_no_primary_term', 'highlight', 'script_fields']);
/** Elasticsearch's inner hits options that Shoal does not implement: refused by name. */
const UNSUPPORTED_INNER_HITS_KEYS = new Set(['ignore_unmapped', 'track_scores', 'stored_fields', 'docvalue_fields', 'fields']);
/** How many group searches the coordinating node runs at once when the request does not say. */
export const DEFAULT_MAX_CONCURRENT_GROUP_SEARCHES = 4;

export interface CollapseSpec {
  field: string;
  /** With `inner_hits`: how to expand each collapsed hit. */
  expand: CollapseExpand | undefined;
}

export interface CollapseExpand {
  innerHits: CollapseInnerHits[];
  maxConcurrentGroupSearches: number;
}

/** One `inner_hits` definition: its name, and the options of its group searches (a search request body without the query). */
export interface CollapseInnerHits {
  name: string;
  options: Record<string, unknown>;
}

/** A collapsed hit's inner hits under one name: a group search's `hits`, as a search answers them. */
export interface CollapseInnerHitsResult<H> {
  hits: { total: { value: number; relation: 'eq' | 'gte' }; max_score: number | null; hits: H[] };
}

const parsing = (reason: string) => new EngineError('parsing_exception', reason);

/** `collapse: { field, inner_hits?, max_concurrent_group_searches? }`; `inner_hits` is one definition or a list. */
export function parseCollapse(v: unknown): CollapseSpec {
  if (!isPlainObject(v)) throw parsing('[collapse] must be an object: { field, inner_hits?, max_concurrent_group_searches? }');
  for (const k in v) if (!COLLAPSE_KEYS.has(k)) throw parsing(`[collapse] does not support [${k}]`);
  if (typeof v.field !== 'string' || v.field === '') throw parsing('[collapse] requires a [field]');
  let maxConcurrentGroupSearches = DEFAULT_MAX_CONCURRENT_GROUP_SEARCHES;
  if (v.max_concurrent_group_searches !== undefined) {
    if (!Number.isInteger(v.max_concurrent_group_searches)) throw parsing('[collapse] [max_concurrent_group_searches] must be an integer');
    if ((v.max_concurrent_group_searches as number) < 1) throw new EngineError('illegal_argument_exception', '[max_concurrent_group_searches] must be positive');
    maxConcurrentGroupSearches = v.max_concurrent_group_searches as number;
  }
  if (v.inner_hits === undefined) return { field: v.field, expand: undefined };
  const list = Array.isArray(v.inner_hits) ? v.inner_hits : [v.inner_hits];
  const innerHits = list.map(parseCollapseInnerHits);
  const names = new Set<string>();
  for (const { name } of innerHits) {
    if (names.has(name)) throw new EngineError('illegal_argument_exception', `[inner_hits] already contains an entry for key [${name}]`);
    names.add(name);
  }
  return { field: v.field, expand: innerHits.length === 0 ? undefined : { innerHits, maxConcurrentGroupSearches } };
}

function parseCollapseInnerHits(v: unknown): CollapseInnerHits {
  if (!isPlainObject(v)) throw parsing('[collapse] [inner_hits] must be an object, or a list of objects');
  const options: Record<string, unknown> = { from: 0, size: 3 };
  for (const k in v) {
    if (UNSUPPORTED_INNER_HITS_KEYS.has(k)) throw parsing(`[inner_hits] option [${k}] is not supported`);
    if (k !== 'name' && !GROUP_SEARCH_KEYS.has(k)) throw parsing(`[inner_hits] does not support [${k}] (supported: name, ${[...GROUP_SEARCH_KEYS].join(', ')})`);
    if (k !== 'name' && v[k] !== undefined) options[k] = v[k];
  }
  // As in Elasticsearch 8: every definition is named, since its name is its key in the hit's `inner_hits`.
  if (v.name === undefined) throw new EngineError('illegal_argument_exception', 'inner_hits must have a [name]; set the [name] field in the inner_hits definition');
  if (typeof v.name !== 'string' || v.name === '') throw parsing('[inner_hits] [name] must be a non-empty string');
  for (const k of ['from', 'size'] as const) {
    if (!Number.isInteger(options[k]) || (options[k] as number) < 0) throw parsing(`[inner_hits] [${k}] must be a non-negative integer`);
  }
  const window = (options.from as number) + (options.size as number);
  if (window > MAX_INNER_RESULT_WINDOW) {
    throw new EngineError('illegal_argument_exception', `Inner result window is too large, the inner hit definition's [${v.name}]'s from + size must be less than or equal to: [${MAX_INNER_RESULT_WINDOW}] but was [${window}]`);
  }
  if (isPlainObject(options.collapse) && ('inner_hits' in options.collapse || 'max_concurrent_group_searches' in options.collapse)) {
    throw new EngineError('illegal_argument_exception', '[inner_hits] [collapse]: the second level of collapsing does not allow [inner_hits] or [max_concurrent_group_searches]');
  }
  return { name: v.name, options };
}

/** One search of the expand phase: which hit it expands, under which name, and its request body. */
export interface GroupSearch<H> {
  hit: H;
  name: string;
  body: Record<string, unknown>;
}

/**
 * The group searches that expand collapsed hits, hit by hit, definition by definition: the
 * original query (and post_filter, min_score) AND the hit's collapse value (no value: the docs
 * without the field), with the definition's options.
 */
export function groupSearches<H extends { fields?: Record<string, unknown[]> }>(hits: readonly H[], request: Record<string, unknown>, field: string, expand: CollapseExpand): GroupSearch<H>[] {
  const out: GroupSearch<H>[] = [];
  for (const hit of hits) {
    const value = hit.fields?.[field]?.[0] ?? null;
    const query = request.query ?? { match_all: {} };
    // The group filter does not score: a member's _score is the original query's.
    const group =
      value === null
        ? { bool: { must: [query], must_not: [{ exists: { field } }] } }
        : { bool: { must: [query], filter: [groupFilter(field, value)] } };
    for (const spec of expand.innerHits) {
      const body: Record<string, unknown> = { ...spec.options, query: group };
      if (request.post_filter !== undefined) body.post_filter = request.post_filter;
      if (request.min_score !== undefined) body.min_score = request.min_score;
      out.push({ hit, name: spec.name, body });
    }
  }
  return out;
}

/** Docs whose collapse value is `value`: a keyword or boolean term, or a number (a date's epoch millis, whatever its format). */
function groupFilter(field: string, value: unknown): Record<string, unknown> {
  if (typeof value === 'number') return { range: { [field]: { gte: value, lte: value, format: 'epoch_millis' } } };
  return { term: { [field]: value } };
}

/** The collapse field must have doc values: a keyword, numeric, date or boolean field. */
export function checkCollapseField(field: string, mappings: MappingRegistry): void {
  const type = mappings.field(field)?.type;
  if (type === undefined) throw new EngineError('query_shard_exception', `no mapping found for [${field}] in order to collapse on`);
  if (!COLLAPSIBLE.has(type)) {
    throw new EngineError('illegal_argument_exception', `cannot collapse on field [${field}] of type [${type}]: collapse needs a keyword or numeric field`);
  }
}

export type CollapseValue = string | number | boolean | null;

/**
 * A doc's collapse value (null without one); more than one value is an error, as in Elasticsearch.
 * A boolean field's value is true or false (its column holds 1 and 0), as Elasticsearch shows it.
 */
export function collapseValue(column: Column | undefined, field: string, doc: number, boolean = false): CollapseValue {
  if (!column) return null;
  const lo = column.offsets[doc]!;
  const hi = column.offsets[doc + 1]!;
  if (hi === lo) return null;
  if (hi - lo > 1) throw new EngineError('illegal_argument_exception', `failed to collapse on [${field}]: the collapse field must be single valued`);
  if (column.kind === 'keyword') return column.terms[column.ords[lo]!]!;
  return boolean ? column.values[lo] === 1 : column.values[lo]!;
}

/**
 * Keeps the best candidate per collapse value. `compare(a, b)` is negative when a ranks first.
 */
export class CollapsingCollector<C> {
  private readonly best = new Map<CollapseValue, C>();

  constructor(private readonly compare: (a: C, b: C) => number) {}

  offer(value: CollapseValue, candidate: C): void {
    const kept = this.best.get(value);
    if (kept === undefined || this.compare(candidate, kept) < 0) this.best.set(value, candidate);
  }

  /** The groups' best candidates, ranked. */
  ranked(): C[] {
    return [...this.best.values()].sort(this.compare);
  }
}
