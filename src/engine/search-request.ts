/**
 * A search request body in Elasticsearch's shape, parsed and validated in one place: the shard
 * engine runs the result, and the coordinating node parses the body first, so a bad request fails
 * before any shard sees it. Anything unknown or malformed is a `parsing_exception` (400): an
 * option a user misspells must not be silently ignored.
 */
import type { MappingRegistry } from './mapping.ts';
import { aggsOfRequest } from './aggs/parse.ts';
import { filterSource, parseSourceSpec } from './aggs/util.ts';
import { parseCollapse, type CollapseExpand } from './collapse.ts';
import { innerHitQueries } from './nested.ts';
import { parseSuggest, type SuggestSpec } from './suggest.ts';
import { parseQuery, type Query } from './query.ts';
import { parseRescore, type Rescorer } from './rescore.ts';
import { parseScript, type Script } from './script/index.ts';
import { timeValueMs } from './time-value.ts';
import { EngineError, isPlainObject } from './types.ts';

/**
 * Sort keys, in order. `unmappedType`: a field no mapping has sorts as if every value were missing.
 * `missing`: where docs without a value go (`_last`, the default, or `_first`), or the value they
 * sort as.
 */
export type SortSpec = SortKey[];
export interface SortKey {
  field: string;
  order: 'asc' | 'desc';
  unmappedType?: string;
  missing?: '_first' | '_last' | number | string;
  /** Which of a doc's values it sorts by (default: min ascending, max descending). */
  mode?: SortMode;
  /** A field inside a nested path: the doc's nested objects of `path` (those `filter` matches) give its values. */
  nested?: { path: string; filter?: Query };
  /** `_script` sort: the script whose value (a number or a string, as `type` says) each doc sorts by. */
  script?: { script: Script; type: 'number' | 'string' };
}
export type SortMode = 'min' | 'max' | 'avg' | 'sum';
const SORT_MODES: readonly SortMode[] = ['min', 'max', 'avg', 'sum'];

/** `script_fields`: a value computed per hit, returned in `fields`. */
export interface ScriptField {
  name: string;
  script: Script;
}

/** Filters a stored `_source` down to what the request asked for. */
export type SourceFilter = (source: Record<string, unknown>) => Record<string, unknown>;

export interface HighlightField {
  field: string;
  preTag: string;
  postTag: string;
  /** Infinity: every matching value, whole. */
  numberOfFragments: number;
  /** About how many characters a fragment of a longer value has. */
  fragmentSize: number;
}

export interface SearchRequest {
  query: Query;
  /** Narrows the hits (and their total) after the aggregations ran on the query's matches. */
  postFilter: Query | undefined;
  /** Matches scoring below it are left out, of the hits and of the aggregations. */
  minScore: number | undefined;
  from: number;
  size: number;
  /** Empty: by score. */
  sort: SortSpec;
  /** Ranked by score, best first (no sort, or `_score` descending alone). */
  byScore: boolean;
  searchAfter: unknown[] | undefined;
  /** track_total_hits as a number (true: Infinity, false: 0). */
  limit: number;
  aggs: unknown;
  /** A shard request of a distributed search: mergeable aggregation state instead of rendered aggregations. */
  partialAggs: boolean;
  highlight: HighlightField[] | undefined;
  /** Undefined: hits carry no `_source`. */
  source: SourceFilter | undefined;
  /** Stop collecting after this long (checked between segments) and answer `timed_out: true`. */
  timeoutMs: number | undefined;
  /** `collapse.field`: one hit per value of it (collapse.ts). */
  collapse: string | undefined;
  /** `collapse.inner_hits`: each collapsed hit's group searches (the expand phase, collapse.ts). */
  collapseExpand: CollapseExpand | undefined;
  /** Each hit carries `_explanation` (explain.ts). */
  explain: boolean;
  /** Term suggesters (suggest.ts). */
  suggest: SuggestSpec[] | undefined;
  /** Query rescorers, in order (rescore.ts). */
  rescore: Rescorer[] | undefined;
  /** Hits carry `_seq_no` and `_primary_term` (for conditional writes), and `_version`. */
  seqNoPrimaryTerm: boolean;
  version: boolean;
  /** Computed for each hit (in the fetch phase of a distributed search). */
  scriptFields: ScriptField[] | undefined;
  /** Stop collecting after this many docs (per shard); the response says `terminated_early`. */
  terminateAfter: number | undefined;
  /** `indices_boost`: scores of an index's hits multiplied by the first entry whose pattern names it. */
  indicesBoost: { pattern: string; boost: number }[] | undefined;
}

const SEARCH_KEYS = new Set(['query', 'post_filter', 'min_score', 'from', 'size', 'sort', 'search_after', 'track_total_hits', '_source', 'aggs', 'aggregations', 'highlight', 'timeout', 'partial_aggs', 'collapse', 'explain', 'suggest', 'seq_no_primary_term', 'version', 'rescore', 'script_fields', 'terminate_after', 'indices_boost']);
const MATCH_ALL: Query = { kind: 'match_all', boost: 1 };
const NO_SORT: SortSpec = [];
/** Elasticsearch's index.max_result_window default. */
const MAX_RESULT_WINDOW = 10_000;

function bad(reason: string): never {
  throw new EngineError('parsing_exception', reason);
}

export function parseSearchRequest(request: unknown): SearchRequest {
  if (!isPlainObject(request)) bad('a search request must be an object');
  const r = request as Record<string, unknown>;
  for (const k in r) if (!SEARCH_KEYS.has(k)) bad(`unknown key [${k}] in the search request`);
  const query = r.query === undefined ? MATCH_ALL : parseQuery(r.query);
  const from = intParam(r.from, 'from', 0);
  const size = intParam(r.size, 'size', 10);
  if (from + size > MAX_RESULT_WINDOW) throw new EngineError('illegal_argument_exception', `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}]`);
  const sort = parseSort(r.sort);
  const byScore = sort.length === 0 || (sort.length === 1 && sort[0]!.field === '_score' && sort[0]!.order === 'desc');
  let searchAfter: unknown[] | undefined;
  if (r.search_after !== undefined) {
    if (!Array.isArray(r.search_after)) bad('[search_after] must be an array');
    const keys = sort.length === 0 ? 1 : sort.length;
    if (r.search_after.length !== keys) bad(`search_after has ${r.search_after.length} value(s) but sort has ${keys}`);
    searchAfter = r.search_after;
  }
  if (r.min_score !== undefined && (typeof r.min_score !== 'number' || !Number.isFinite(r.min_score))) bad('[min_score] must be a number');
  const collapseSpec = r.collapse === undefined ? undefined : parseCollapse(r.collapse);
  const collapse = collapseSpec?.field;
  if (collapseSpec?.expand !== undefined) {
    // Each inner hits definition's group search is checked whole now, as any search request.
    for (const spec of collapseSpec.expand.innerHits) parseSearchRequest(spec.options);
    // A hit's inner hits hold a nested query's and the collapse definitions' under one key each.
    for (const nested of innerHitQueries(query)) {
      const name = nested.innerHits!.name;
      if (collapseSpec.expand.innerHits.some((spec) => spec.name === name)) throw new EngineError('illegal_argument_exception', `[inner_hits] already contains an entry for key [${name}]`);
    }
  }
  if (collapse !== undefined && searchAfter !== undefined) throw new EngineError('illegal_argument_exception', 'cannot use [collapse] in conjunction with [search_after]');
  const rescore = r.rescore === undefined ? undefined : parseRescore(r.rescore);
  if (rescore !== undefined) {
    if (!byScore) throw new EngineError('illegal_argument_exception', 'Cannot use [sort] option in conjunction with [rescore].');
    if (collapse !== undefined) throw new EngineError('illegal_argument_exception', 'cannot use `collapse` in conjunction with `rescore`');
    if (searchAfter !== undefined) throw new EngineError('illegal_argument_exception', 'Cannot use [search_after] in conjunction with [rescore]: page with from and size.');
  }
  return {
    query,
    postFilter: r.post_filter === undefined ? undefined : parseQuery(r.post_filter),
    minScore: r.min_score as number | undefined,
    from,
    size,
    sort,
    byScore,
    searchAfter,
    limit: trackTotalHits(r.track_total_hits),
    aggs: aggsOfRequest(r),
    partialAggs: r.partial_aggs === undefined ? false : typeof r.partial_aggs === 'boolean' ? r.partial_aggs : bad('[partial_aggs] must be a boolean'),
    highlight: r.highlight === undefined ? undefined : parseHighlight(r.highlight),
    source: parseSourceFilter(r._source),
    timeoutMs: r.timeout === undefined ? undefined : parseTimeout(r.timeout),
    collapse,
    collapseExpand: collapseSpec?.expand,
    explain: flag(r.explain, 'explain'),
    seqNoPrimaryTerm: flag(r.seq_no_primary_term, 'seq_no_primary_term'),
    version: flag(r.version, 'version'),
    suggest: r.suggest === undefined ? undefined : parseSuggest(r.suggest),
    rescore,
    scriptFields: r.script_fields === undefined ? undefined : parseScriptFields(r.script_fields),
    // 0 is Elasticsearch's "no limit".
    terminateAfter: r.terminate_after === undefined || r.terminate_after === 0 ? undefined : intParam(r.terminate_after, 'terminate_after', 0),
    indicesBoost: r.indices_boost === undefined ? undefined : parseIndicesBoost(r.indices_boost),
  };
}

/** `[{ <index or pattern>: boost }, …]` (or one object of them, the older form), boosts positive numbers. */
export function parseIndicesBoost(v: unknown): { pattern: string; boost: number }[] {
  const entries = Array.isArray(v) ? v : isPlainObject(v) ? Object.entries(v).map(([k, b]) => ({ [k]: b })) : bad('[indices_boost] must be a list of { index: boost } objects');
  return entries.map((e) => {
    if (!isPlainObject(e) || Object.keys(e).length !== 1) bad('[indices_boost] entries must be objects of one { index: boost }');
    const [pattern, boost] = Object.entries(e)[0]!;
    if (typeof boost !== 'number' || !Number.isFinite(boost) || boost < 0) bad(`[indices_boost] boost of [${pattern}] must be a non-negative number`);
    return { pattern, boost };
  });
}

function flag(v: unknown, name: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') bad(`[${name}] must be a boolean`);
  return v;
}

function intParam(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < 0) bad(`[${name}] must be a non-negative integer`);
  return v as number;
}

function trackTotalHits(v: unknown): number {
  if (v === undefined) return 10_000;
  if (v === true) return Infinity;
  if (v === false) return 0;
  if (Number.isInteger(v) && (v as number) >= 0) return v as number;
  return bad('[track_total_hits] must be true, false or a non-negative integer');
}

const SORT_OPTIONS = new Set(['order', 'unmapped_type', 'missing', 'mode', 'nested']);
const SCRIPT_SORT_OPTIONS = new Set(['type', 'script', 'order']);
const SCRIPT_FIELD_OPTIONS = new Set(['script', 'ignore_failure']);

/** `script_fields: { name: { script } }`. */
export function parseScriptFields(v: unknown): ScriptField[] {
  if (!isPlainObject(v)) bad('[script_fields] must be an object of { name: { script } }');
  return Object.entries(v).map(([name, spec]) => {
    if (!isPlainObject(spec)) bad(`[script_fields] [${name}] must be an object with a [script]`);
    for (const k in spec) if (!SCRIPT_FIELD_OPTIONS.has(k)) bad(`[script_fields] [${name}] does not support [${k}]`);
    if (spec.ignore_failure !== undefined && spec.ignore_failure !== false) bad(`[script_fields] [${name}] ignore_failure is not supported`);
    if (spec.script === undefined) bad(`[script_fields] [${name}] requires a [script]`);
    return { name, script: parseScript(spec.script, 'field', `script_fields.${name}.script`) };
  });
}

/** `{ _script: { type, script, order } }`. */
function parseScriptSort(spec: unknown): SortKey {
  if (!isPlainObject(spec)) bad('[_script] sort must be an object with [type] and [script]');
  for (const k in spec) if (!SCRIPT_SORT_OPTIONS.has(k)) bad(`[_script] sort option [${k}] is not supported (supported: type, script, order)`);
  if (spec.type !== 'number' && spec.type !== 'string') bad(`[_script] sort [type] must be number or string, got [${String(spec.type)}]`);
  if (spec.script === undefined) bad('[_script] sort requires a [script]');
  const order = spec.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') bad(`sort order must be asc or desc, got [${String(order)}]`);
  return { field: '_script', order, script: { script: parseScript(spec.script, 'sort', '_script.script'), type: spec.type } };
}

/** `sort`: a field name, `{ field: order }`, `{ field: { order, missing, unmapped_type } }`, or a list of them. */
function parseSort(v: unknown): SortSpec {
  if (v === undefined) return NO_SORT;
  return (Array.isArray(v) ? v : [v]).map((s): SortSpec[number] => {
    if (typeof s === 'string') {
      if (s === '') bad('a sort field name must not be empty');
      return { field: s, order: s === '_score' ? 'desc' : 'asc' };
    }
    if (!isPlainObject(s)) bad('sort must be a field name or { field: order }');
    const entries = Object.entries(s as Record<string, unknown>);
    if (entries.length !== 1) bad(`a sort key names exactly one field, got [${entries.map(([k]) => k).join(', ')}]`);
    const [field, spec] = entries[0]!;
    if (field === '_script') return parseScriptSort(spec);
    let order: unknown = field === '_score' ? 'desc' : 'asc';
    let unmappedType: string | undefined;
    let missing: SortSpec[number]['missing'];
    let mode: SortMode | undefined;
    let nested: SortKey['nested'];
    if (typeof spec === 'string') order = spec;
    else if (isPlainObject(spec)) {
      const o = spec as Record<string, unknown>;
      for (const k in o) if (!SORT_OPTIONS.has(k)) bad(`[sort] option [${k}] of [${field}] is not supported (supported: ${[...SORT_OPTIONS].join(', ')})`);
      if (o.mode !== undefined) {
        if (!SORT_MODES.includes(o.mode as SortMode)) bad(`[sort] mode of [${field}] must be one of ${SORT_MODES.join(', ')}`);
        mode = o.mode as SortMode;
      }
      if (o.nested !== undefined) nested = parseNestedSort(o.nested, field);
      if (o.missing !== undefined) {
        if (typeof o.missing !== 'string' && (typeof o.missing !== 'number' || !Number.isFinite(o.missing))) bad(`[sort] missing of [${field}] must be _last, _first or a value`);
        missing = o.missing as string | number;
      }
      if (o.order !== undefined) order = o.order;
      if (o.unmapped_type !== undefined) {
        if (typeof o.unmapped_type !== 'string') bad('[sort] unmapped_type must be a type name');
        unmappedType = o.unmapped_type;
      }
    } else bad(`[sort] of [${field}] must be an order or an object`);
    if (order !== 'asc' && order !== 'desc') bad(`sort order must be asc or desc, got [${String(order)}]`);
    const key: SortSpec[number] = { field, order };
    if (unmappedType !== undefined) key.unmappedType = unmappedType;
    if (missing !== undefined && missing !== '_last') key.missing = missing as SortSpec[number]['missing'];
    if (mode !== undefined) key.mode = mode;
    if (nested !== undefined) key.nested = nested;
    return key;
  });
}

/** A sort key's `nested`: `{ path, filter? }` (one level: the field's own nested path). */
function parseNestedSort(v: unknown, field: string): NonNullable<SortKey['nested']> {
  if (!isPlainObject(v)) bad(`[sort] nested of [${field}] must be an object`);
  const o = v as Record<string, unknown>;
  for (const k in o) if (k !== 'path' && k !== 'filter') bad(`[sort] nested option [${k}] of [${field}] is not supported (supported: path, filter)`);
  if (typeof o.path !== 'string' || o.path === '') bad(`[sort] nested of [${field}] requires [path]`);
  return o.filter === undefined ? { path: o.path as string } : { path: o.path as string, filter: parseQuery(o.filter) };
}

/**
 * Sort keys need doc values: `_score`, `_doc`, or a mapped keyword, numeric, date or boolean field.
 * A text field or an unmapped one (without `unmapped_type`) is an error, as in Elasticsearch.
 */
export function checkSortFields(sort: SortSpec, mappings: MappingRegistry): void {
  for (const key of sort) {
    const { field, unmappedType } = key;
    if (field === '_score' || field === '_doc' || key.script !== undefined) continue;
    const type = mappings.field(field)?.type;
    if (type === undefined) {
      if (unmappedType === undefined) throw new EngineError('query_shard_exception', `No mapping found for [${field}] in order to sort on`);
    } else if (type === 'text') {
      throw new EngineError('illegal_argument_exception', `Text fields are not sortable: [${field}] is a text field; sort on a keyword field (such as [${field}.keyword]) instead`);
    }
    checkNestedSort(key, type, mappings);
    if (key.missing !== undefined && key.missing !== '_first') {
      const keyword = (type ?? key.unmappedType) === 'keyword';
      if (keyword ? typeof key.missing !== 'string' : typeof key.missing !== 'number') {
        throw new EngineError('illegal_argument_exception', `[sort] missing of [${field}] must be _last, _first or a ${keyword ? 'string' : 'number'}`);
      }
    }
  }
}

/** A field inside a nested path sorts only with `nested` naming that path; avg and sum need numbers. */
function checkNestedSort(key: SortKey, type: string | undefined, mappings: MappingRegistry): void {
  const { field } = key;
  if ((key.mode === 'avg' || key.mode === 'sum') && (type === 'keyword' || (type === undefined && key.unmappedType === 'keyword'))) {
    throw new EngineError('illegal_argument_exception', `[sort] mode [${key.mode}] of [${field}] needs a numeric field`);
  }
  const scope = mappings.nestedScopeOf(field);
  if (key.nested === undefined) {
    if (scope !== undefined && type !== undefined) throw new EngineError('query_shard_exception', `it is mandatory to set the [nested] context on the nested sort field: [${field}].`);
    return;
  }
  if (!mappings.isNested(key.nested.path)) throw new EngineError('query_shard_exception', `[nested] nested object under path [${key.nested.path}] is not of nested type`);
  if (type !== undefined && scope !== key.nested.path) throw new EngineError('query_shard_exception', `[nested] sort field [${field}] is not inside nested path [${key.nested.path}]`);
}

/**
 * Orders two hits' sort values under the request's sort (engine and coordinator alike): by each
 * key in turn; a missing value (null) goes last, or first with `missing: _first`, whatever the order.
 */
export function compareSortValues(a: readonly unknown[], b: readonly unknown[], sort: SortSpec): number {
  for (let i = 0; i < sort.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    const first = sort[i]!.missing === '_first';
    if (x === null || x === undefined) return first ? -1 : 1;
    if (y === null || y === undefined) return first ? 1 : -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
    if (c !== 0) return sort[i]!.order === 'desc' ? -c : c;
  }
  return 0;
}

const KEEP_ALL: SourceFilter = (s) => s;

/** `_source` (see parseSourceSpec); undefined when hits carry none. */
export function parseSourceFilter(v: unknown): SourceFilter | undefined {
  if (v === false) return undefined;
  if (v === undefined || v === true) return KEEP_ALL;
  const spec = parseSourceSpec(v);
  if (!spec.enabled) return undefined;
  if (spec.includes.length === 0 && spec.excludes.length === 0) return KEEP_ALL;
  return (s) => filterSource(s, spec);
}

const HIGHLIGHT_KEYS = new Set(['fields', 'pre_tags', 'post_tags', 'number_of_fragments', 'fragment_size']);
const HIGHLIGHT_FIELD_KEYS = new Set(['pre_tags', 'post_tags', 'number_of_fragments', 'fragment_size']);

/**
 * `highlight`: `fields` (an object, or a list of one-field objects as Elasticsearch also takes),
 * with `pre_tags`, `post_tags`, `number_of_fragments` (default 5; 0: whole values) and
 * `fragment_size` (default 100 characters) at the top or per field (highlight.ts).
 */
export function parseHighlight(v: unknown): HighlightField[] {
  const top = options(v, HIGHLIGHT_KEYS, 'highlight');
  const defaults = { preTag: tag(top.pre_tags, 'pre_tags', '<em>'), postTag: tag(top.post_tags, 'post_tags', '</em>'), numberOfFragments: fragments(top.number_of_fragments, 5), fragmentSize: fragmentSize(top.fragment_size, 100) };
  const specs: [string, unknown][] = [];
  if (Array.isArray(top.fields)) {
    for (const f of top.fields) {
      const entries = isPlainObject(f) ? Object.entries(f) : [];
      if (entries.length !== 1) bad('[highlight] fields as a list holds one-field objects such as { "title": {} }');
      specs.push(entries[0]!);
    }
  } else specs.push(...Object.entries(options(top.fields, null, 'highlight.fields')));
  if (specs.length === 0) bad('[highlight] needs [fields]');
  return specs.map(([field, spec]) => {
    const o = options(spec ?? {}, HIGHLIGHT_FIELD_KEYS, `highlight.fields.${field}`);
    return {
      field,
      preTag: tag(o.pre_tags, 'pre_tags', defaults.preTag),
      postTag: tag(o.post_tags, 'post_tags', defaults.postTag),
      numberOfFragments: fragments(o.number_of_fragments, defaults.numberOfFragments),
      fragmentSize: fragmentSize(o.fragment_size, defaults.fragmentSize),
    };
  });
}

function options(v: unknown, allowed: ReadonlySet<string> | null, what: string): Record<string, unknown> {
  if (!isPlainObject(v)) bad(`[${what}] must be an object`);
  const o = v as Record<string, unknown>;
  if (allowed) for (const k in o) if (!allowed.has(k)) bad(`[${what}] does not support [${k}] (supported: ${[...allowed].join(', ')})`);
  return o;
}

function tag(v: unknown, what: string, dflt: string): string {
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.length === 0 || !v.every((t) => typeof t === 'string')) bad(`[highlight] ${what} must be a non-empty list of strings`);
  return v[0] as string;
}

function fragments(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < 0) bad('[highlight] number_of_fragments must be a non-negative integer');
  // 0: every value whole, as Elasticsearch's 0 is the whole field.
  return v === 0 ? Infinity : (v as number);
}

function fragmentSize(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < 1) bad('[highlight] fragment_size must be a positive integer');
  return v as number;
}

/** A time value such as `"50ms"` or `"2s"` (Elasticsearch's units); `-1` / `"-1"`: none. */
export function parseTimeout(v: unknown): number | undefined {
  if (v === -1 || v === '-1') return undefined;
  const ms = typeof v === 'string' ? timeValueMs(v) : undefined;
  return ms ?? bad(`[timeout] [${String(v)}] must be a time value such as "500ms" or "2s"`);
}
