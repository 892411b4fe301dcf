import { resolveDate } from './date-math.ts';
import { luceneRegExp, regexpOperators } from './regexp.ts';
import { fuzzinessOf, fuzzyExpansions, fuzzyOptionsOf, type FuzzyOptions } from './fuzzy.ts';
import { executeFunctionScore, parseFunctionScore, type FunctionScoreQuery } from './function-score.ts';
import { executeNested, parseNested, type NestedQuery } from './nested.ts';
import { parseDate, type FieldMapping, type MappingRegistry } from './mapping.ts';
import { checkedScriptScore, parseScript, type Script } from './script/index.ts';
import { firstTermAtOrAfter, postingsOf, type PostingsView, type Segment, type TermPostings } from './segment.ts';
import { advance } from './maxscore.ts';
import { B, Bm25TermScorer, decodeNorm as decodeLength, K1 } from './similarity.ts';
import { graphParts, graphPaths, hasSpans, isLinear, stackedSlots, type Slot } from './token-graph.ts';
import { EngineError, isPlainObject, type Analyzer, type Token } from './types.ts';

/** The parsed query tree (Elasticsearch's query DSL, normalised); `name`: its `_name` (hits list the named queries they match). */
export type Query = QueryNode & { name?: string };

type QueryNode =
  | { kind: 'match_all'; boost: number }
  | { kind: 'match_none' }
  | { kind: 'term'; field: string; value: string | number | boolean; boost: number }
  | { kind: 'terms'; field: string; values: (string | number | boolean)[]; boost: number }
  | { kind: 'ids'; values: string[]; boost: number }
  | { kind: 'exists'; field: string; boost: number }
  | { kind: 'range'; field: string; gt?: unknown; gte?: unknown; lt?: unknown; lte?: unknown; format?: string; boost: number }
  | { kind: 'prefix'; field: string; value: string; boost: number }
  | { kind: 'wildcard'; field: string; value: string; boost: number }
  /** Compiled at parse time (regexp.ts): a bad pattern fails before any shard runs it. */
  | { kind: 'regexp'; field: string; value: string; re: RegExp; prefix: string; boost: number }
  | { kind: 'match'; field: string; query: string; operator: 'or' | 'and'; msm?: string | number; fuzzy?: FuzzyOptions; analyzer?: string; boost: number }
  | { kind: 'fuzzy'; field: string; value: string; fuzzy: FuzzyOptions; boost: number }
  | { kind: 'boosting'; positive: Query; negative: Query; negativeBoost: number; boost: number }
  | { kind: 'match_phrase'; field: string; query: string; slop: number; analyzer?: string; boost: number }
  | { kind: 'match_phrase_prefix'; field: string; query: string; slop: number; maxExpansions: number; analyzer?: string; boost: number }
  | { kind: 'match_bool_prefix'; field: string; query: string; operator: 'or' | 'and'; analyzer?: string; boost: number }
  | { kind: 'multi_match'; fields: { field: string; boost: number }[]; query: string; type: 'best_fields' | 'most_fields'; operator: 'or' | 'and'; tieBreaker: number; boost: number }
  | { kind: 'bool'; must: Query[]; should: Query[]; filter: Query[]; mustNot: Query[]; msm?: string | number; boost: number }
  | { kind: 'constant_score'; filter: Query; boost: number }
  | { kind: 'dis_max'; queries: Query[]; tieBreaker: number; boost: number }
  /** Scores the inner query's matches with a script (`_score`: the inner score); min_score compares the boosted score. */
  | { kind: 'script_score'; query: Query; script: Script; minScore: number | undefined; boost: number }
  /** Filter: the docs for which the script returns true (constant score, the boost). */
  | { kind: 'script'; script: Script; boost: number }
  | FunctionScoreQuery
  | NestedQuery;

const parsing = (reason: string) => new EngineError('parsing_exception', reason);

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw parsing(`[${what}] must be an object`);
  return v as Record<string, unknown>;
}

/**
 * The one `{ field: value }` pair of a leaf query; value may be a shorthand (it becomes
 * `{ [valueKey]: value }`) or an options object, whose keys must be in `allowed`.
 */
function fieldAndBody(v: unknown, what: string, valueKey: string, allowed: ReadonlySet<string>): [string, Record<string, unknown>] {
  const o = obj(v, what);
  // (for-in, not Object.keys: this runs on every search, and allocations show in a 1 µs query.)
  let field: string | undefined;
  for (const k in o) {
    if (field !== undefined) throw parsing(`[${what}] query doesn't support multiple fields, found [${field}] and [${k}]`);
    field = k;
  }
  if (field === undefined) throw parsing(`[${what}] query must name a field`);
  const body = o[field];
  if (!isPlainObject(body)) return [field, { [valueKey]: body }];
  onlyKeys(body as Record<string, unknown>, allowed, what);
  return [field, body as Record<string, unknown>];
}

/** Unknown options are errors, as in Elasticsearch (a typo must not silently change a query). */
function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): void {
  for (const k in o) if (!allowed.has(k)) throw parsing(`[${what}] query does not support [${k}]`);
}

// Every query takes `_name` too.
const keys = (...names: string[]): ReadonlySet<string> => new Set([...names, '_name']);
/** The options each query type accepts (Elasticsearch's names; what Shoal implements). */
const OPTIONS = {
  match_all: keys('boost'),
  term: keys('value', 'boost'),
  ids: keys('values', 'boost'),
  exists: keys('field', 'boost'),
  range: keys('gt', 'gte', 'lt', 'lte', 'format', 'boost'),
  prefix: keys('value', 'boost'),
  wildcard: keys('value', 'wildcard', 'boost'),
  regexp: keys('value', 'flags', 'case_insensitive', 'max_determinized_states', 'boost'),
  match: keys('query', 'operator', 'minimum_should_match', 'fuzziness', 'prefix_length', 'max_expansions', 'fuzzy_transpositions', 'analyzer', 'boost'),
  fuzzy: keys('value', 'fuzziness', 'prefix_length', 'max_expansions', 'transpositions', 'boost'),
  boosting: keys('positive', 'negative', 'negative_boost', 'boost'),
  match_phrase: keys('query', 'slop', 'analyzer', 'boost'),
  match_phrase_prefix: keys('query', 'slop', 'max_expansions', 'analyzer', 'boost'),
  match_bool_prefix: keys('query', 'operator', 'analyzer', 'boost'),
  multi_match: keys('query', 'fields', 'type', 'operator', 'tie_breaker', 'boost'),
  bool: keys('must', 'should', 'filter', 'must_not', 'minimum_should_match', 'boost'),
  constant_score: keys('filter', 'boost'),
  dis_max: keys('queries', 'tie_breaker', 'boost'),
  script_score: keys('query', 'script', 'min_score', 'boost'),
  script: keys('script', 'boost'),
  query_string: keys('query', 'fields', 'default_field', 'default_operator', 'boost'),
};

function boostOf(o: Record<string, unknown>): number {
  if (o.boost === undefined) return 1;
  if (typeof o.boost !== 'number' || !(o.boost >= 0)) throw parsing('[boost] must be a non-negative number');
  return o.boost;
}

function list(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const QUERY_TYPES = ['match_all', 'match_none', 'term', 'terms', 'ids', 'exists', 'range', 'prefix', 'wildcard', 'regexp', 'match', 'match_phrase', 'match_phrase_prefix', 'match_bool_prefix', 'multi_match', 'bool', 'boosting', 'constant_score', 'dis_max', 'function_score', 'script_score', 'script', 'fuzzy', 'query_string', 'simple_query_string', 'nested'];

/** Parse Elasticsearch's query JSON; anything unknown or malformed is a `parsing_exception`. */
/** How deep compound queries (bool, dis_max, constant_score) may nest: Elasticsearch's indices.query.bool.max_nested_depth. */
export const MAX_QUERY_DEPTH = 30;
/** Values a terms query may hold: Elasticsearch's index.max_terms_count. */
export const MAX_TERMS_COUNT = 65_536;

export function parseQuery(json: unknown, depth = 0): Query {
  if (depth > MAX_QUERY_DEPTH) throw new EngineError('illegal_argument_exception', `the query nests deeper than ${MAX_QUERY_DEPTH} levels (indices.query.bool.max_nested_depth)`);
  const o = obj(json, 'query');
  let type: string | undefined;
  for (const k in o) {
    if (type !== undefined) throw parsing(`a query must have exactly one type, got [${Object.keys(o).join(', ')}]`);
    type = k;
  }
  if (type === undefined) throw parsing('a query must have exactly one type, got none');
  const v = o[type];
  const q = parseTyped(type, v, depth);
  const name = nameOf(type, v);
  if (name !== undefined) q.name = name;
  return q;
}

/** Queries whose options sit under the field: `{ match: { title: { query, _name } } }`. */
const FIELD_QUERIES = new Set(['term', 'range', 'prefix', 'wildcard', 'match', 'match_phrase', 'match_phrase_prefix', 'match_bool_prefix']);

/** A query's `_name`, among its options or (for a one-field query) its field's options. */
function nameOf(type: string, v: unknown): string | undefined {
  if (!isPlainObject(v)) return undefined;
  let name = (v as Record<string, unknown>)._name;
  if (name === undefined && FIELD_QUERIES.has(type)) {
    for (const k in v) {
      const body = (v as Record<string, unknown>)[k];
      if (isPlainObject(body)) name = body._name;
    }
  }
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '') throw parsing('[_name] must be a non-empty string');
  return name;
}

/** The named queries of a tree, outermost first (a hit lists those it matches as `matched_queries`). */
export function namedQueries(q: Query, out: Query[] = []): Query[] {
  if (q.name !== undefined) out.push(q);
  if (q.kind === 'bool') for (const c of [...q.must, ...q.should, ...q.filter, ...q.mustNot]) namedQueries(c, out);
  else if (q.kind === 'dis_max') for (const c of q.queries) namedQueries(c, out);
  else if (q.kind === 'constant_score') namedQueries(q.filter, out);
  else if (q.kind === 'boosting') for (const c of [q.positive, q.negative]) namedQueries(c, out);
  else if (q.kind === 'script_score') namedQueries(q.query, out);
  else if (q.kind === 'function_score') for (const c of [q.query, ...q.functions.flatMap((f) => (f.filter ? [f.filter] : []))]) namedQueries(c, out);
  // A nested query's inner names are of its objects, not of the hit (Elasticsearch lists them in inner hits).
  return out;
}

/** The sub-queries of a compound query, one level deeper. */
function subQueries(v: unknown, depth: number): Query[] {
  return list(v).map((c) => parseQuery(c, depth + 1));
}

// No closures are made per call on the search path: tsx (esbuild keepNames) names each one with an
// Object.defineProperty call, which costs more than a whole one-term query's parse.
function parseTyped(type: string, v: unknown, depth: number): Query {
  switch (type) {
    case 'match_all': {
      const b = obj(v ?? {}, type);
      onlyKeys(b, OPTIONS.match_all, type);
      return { kind: 'match_all', boost: boostOf(b) };
    }
    case 'match_none':
      onlyKeys(obj(v ?? {}, type), NO_OPTIONS, type);
      return { kind: 'match_none' };
    case 'term': {
      const [field, body] = fieldAndBody(v, type, 'value', OPTIONS.term);
      const value = body.value;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw parsing('[term] value must be a string, number or boolean');
      return { kind: 'term', field, value, boost: boostOf(body) };
    }
    case 'terms': {
      const b = obj(v, type);
      let field: string | undefined;
      for (const k in b) {
        if (k === 'boost' || k === '_name') continue;
        if (field !== undefined) throw parsing(`[terms] query does not support multiple fields, found [${field}] and [${k}]`);
        field = k;
      }
      const values = field === undefined ? undefined : b[field];
      if (field === undefined || !Array.isArray(values)) throw parsing('[terms] needs one field with an array of values');
      if (!values.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) throw parsing('[terms] values must be strings, numbers or booleans');
      if (values.length > MAX_TERMS_COUNT) throw new EngineError('illegal_argument_exception', `The number of terms [${values.length}] used in the Terms Query request has exceeded the allowed maximum of [${MAX_TERMS_COUNT}] (index.max_terms_count)`);
      return { kind: 'terms', field, values: values as (string | number | boolean)[], boost: boostOf(b) };
    }
    case 'ids': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.ids, type);
      if (!Array.isArray(b.values) || !b.values.every((x) => typeof x === 'string')) throw parsing('[ids] needs values: string[]');
      return { kind: 'ids', values: b.values as string[], boost: boostOf(b) };
    }
    case 'exists': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.exists, type);
      if (typeof b.field !== 'string') throw parsing('[exists] needs a field');
      return { kind: 'exists', field: b.field, boost: boostOf(b) };
    }
    case 'range': {
      const [field, body] = fieldAndBody(v, type, 'gte', OPTIONS.range);
      if (body.format !== undefined && typeof body.format !== 'string') throw parsing('[range] format must be a string');
      return { kind: 'range', field, gt: body.gt, gte: body.gte, lt: body.lt, lte: body.lte, format: body.format as string | undefined, boost: boostOf(body) };
    }
    case 'prefix':
    case 'wildcard': {
      const [field, body] = fieldAndBody(v, type, 'value', OPTIONS[type]);
      const value = body.value ?? body.wildcard;
      if (typeof value !== 'string') throw parsing(`[${type}] value must be a string`);
      return { kind: type, field, value, boost: boostOf(body) };
    }
    case 'regexp': {
      const [field, body] = fieldAndBody(v, type, 'value', OPTIONS.regexp);
      if (typeof body.value !== 'string') throw parsing('[regexp] value must be a string');
      if (body.case_insensitive !== undefined && typeof body.case_insensitive !== 'boolean') throw parsing('[regexp] case_insensitive must be a boolean');
      if (body.max_determinized_states !== undefined && !(Number.isInteger(body.max_determinized_states) && (body.max_determinized_states as number) > 0)) throw parsing('[regexp] max_determinized_states must be a positive integer');
      const { re, prefix } = luceneRegExp(body.value, regexpOperators(body.flags), body.case_insensitive === true);
      return { kind: 'regexp', field, value: body.value, re, prefix, boost: boostOf(body) };
    }
    case 'match': {
      const [field, body] = fieldAndBody(v, type, 'query', OPTIONS.match);
      if (typeof body.query !== 'string' && typeof body.query !== 'number' && typeof body.query !== 'boolean') throw parsing('[match] query must be a string');
      const q: Extract<Query, { kind: 'match' }> = { kind: 'match', field, query: String(body.query), operator: operatorOf(body.operator, type), boost: boostOf(body) };
      // Optional keys only when given: a one-term search reads this object, and a smaller one is quicker to make.
      if (body.minimum_should_match !== undefined) q.msm = msmOf(body.minimum_should_match);
      if (body.fuzziness !== undefined) q.fuzzy = fuzzyOptionsOf(body, fuzzinessOf(body.fuzziness), 'fuzzy_transpositions');
      else if (body.prefix_length !== undefined || body.max_expansions !== undefined || body.fuzzy_transpositions !== undefined) throw parsing('[match] prefix_length, max_expansions and fuzzy_transpositions need [fuzziness]');
      if (body.analyzer !== undefined) q.analyzer = analyzerOf(body, type);
      return q;
    }
    case 'match_phrase': {
      const [field, body] = fieldAndBody(v, type, 'query', OPTIONS.match_phrase);
      return { kind: 'match_phrase', field, query: queryText(body, type), slop: slopOf(body.slop, type), boost: boostOf(body), analyzer: analyzerOf(body, type) };
    }
    case 'match_phrase_prefix': {
      const [field, body] = fieldAndBody(v, type, 'query', OPTIONS.match_phrase_prefix);
      const maxExpansions = body.max_expansions ?? 50;
      if (!Number.isInteger(maxExpansions) || (maxExpansions as number) < 1 || (maxExpansions as number) > 10_000) throw parsing('[match_phrase_prefix] max_expansions must be an integer from 1 to 10000');
      return { kind: type, field, query: queryText(body, type), slop: slopOf(body.slop, type), maxExpansions: maxExpansions as number, boost: boostOf(body), analyzer: analyzerOf(body, type) };
    }
    case 'match_bool_prefix': {
      const [field, body] = fieldAndBody(v, type, 'query', OPTIONS.match_bool_prefix);
      return { kind: type, field, query: queryText(body, type), operator: operatorOf(body.operator, type), boost: boostOf(body), analyzer: analyzerOf(body, type) };
    }
    case 'multi_match': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.multi_match, type);
      if (typeof b.query !== 'string' || !Array.isArray(b.fields) || b.fields.length === 0) throw parsing('[multi_match] needs query and fields');
      const fields = b.fields.map((f) => {
        if (typeof f !== 'string') throw parsing('[multi_match] fields must be strings');
        const [field, boost] = f.split('^');
        const n = boost === undefined ? 1 : Number(boost);
        if (!field || !(n >= 0)) throw parsing(`[multi_match] field [${f}] is not a field name with an optional ^boost`);
        return { field, boost: n };
      });
      const t = b.type ?? 'best_fields';
      if (t !== 'best_fields' && t !== 'most_fields') throw parsing(`[multi_match] type [${String(t)}] is not supported`);
      return { kind: 'multi_match', fields, query: b.query, type: t, operator: operatorOf(b.operator, type), tieBreaker: tieBreakerOf(b.tie_breaker, type), boost: boostOf(b) };
    }
    case 'bool': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.bool, type);
      return {
        kind: 'bool', must: subQueries(b.must, depth), should: subQueries(b.should, depth), filter: subQueries(b.filter, depth),
        mustNot: subQueries(b.must_not, depth), msm: b.minimum_should_match === undefined ? undefined : msmOf(b.minimum_should_match), boost: boostOf(b),
      };
    }
    case 'constant_score': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.constant_score, type);
      if (b.filter === undefined) throw parsing('[constant_score] requires a [filter]');
      return { kind: 'constant_score', filter: parseQuery(b.filter, depth + 1), boost: boostOf(b) };
    }
    case 'dis_max': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.dis_max, type);
      if (!Array.isArray(b.queries) || b.queries.length === 0) throw parsing('[dis_max] requires [queries]: a non-empty array of queries');
      return { kind: 'dis_max', queries: subQueries(b.queries, depth), tieBreaker: tieBreakerOf(b.tie_breaker, type), boost: boostOf(b) };
    }
    case 'fuzzy': {
      const [field, body] = fieldAndBody(v, type, 'value', OPTIONS.fuzzy);
      if (typeof body.value !== 'string' && typeof body.value !== 'number') throw parsing('[fuzzy] value must be a string');
      return { kind: 'fuzzy', field, value: String(body.value), fuzzy: fuzzyOptionsOf(body, fuzzinessOf(body.fuzziness ?? 'AUTO'), 'transpositions'), boost: boostOf(body) };
    }
    case 'boosting': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.boosting, type);
      if (b.positive === undefined || b.negative === undefined) throw parsing('[boosting] requires [positive] and [negative]');
      if (typeof b.negative_boost !== 'number' || !(b.negative_boost >= 0)) throw parsing('[boosting] requires [negative_boost]: a non-negative number');
      return { kind: 'boosting', positive: parseQuery(b.positive, depth + 1), negative: parseQuery(b.negative, depth + 1), negativeBoost: b.negative_boost, boost: boostOf(b) };
    }
    case 'function_score': {
      const b = obj(v, type);
      return parseFunctionScore(b, boostOf(b), (json) => parseQuery(json, depth + 1));
    }
    case 'nested': {
      const b = obj(v, type);
      return parseNested(b, boostOf(b), (json) => parseQuery(json, depth + 1));
    }
    case 'script_score': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.script_score, type);
      if (b.query === undefined) throw parsing('[script_score] requires a [query]');
      if (b.script === undefined) throw parsing('[script_score] requires a [script]');
      if (b.min_score !== undefined && (typeof b.min_score !== 'number' || !Number.isFinite(b.min_score))) throw parsing('[script_score] min_score must be a number');
      return { kind: 'script_score', query: parseQuery(b.query, depth + 1), script: parseScript(b.script, 'score', 'script_score.script'), minScore: b.min_score as number | undefined, boost: boostOf(b) };
    }
    case 'script': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.script, type);
      if (b.script === undefined) throw parsing('[script] query requires a [script]');
      return { kind: 'script', script: parseScript(b.script, 'filter', 'script.script'), boost: boostOf(b) };
    }
    case 'query_string':
    case 'simple_query_string': {
      const b = obj(v, type);
      onlyKeys(b, OPTIONS.query_string, type);
      return parseQueryString(b, type);
    }
    default:
      throw parsing(`unknown query [${type}]; supported: ${QUERY_TYPES.join(', ')}`);
  }
}

const NO_OPTIONS: ReadonlySet<string> = keys();

function operatorOf(v: unknown, what: string): 'or' | 'and' {
  if (v === undefined || v === 'or') return 'or';
  if (v === 'and') return 'and';
  const op = typeof v === 'string' ? v.toLowerCase() : v;
  if (op !== 'or' && op !== 'and') throw parsing(`[${what}] operator must be "or" or "and", got [${String(v)}]`);
  return op;
}

function tieBreakerOf(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw parsing(`[${what}] tie_breaker must be a number from 0 to 1`);
  return v;
}

/** The `analyzer` option of a full-text query, when given. */
function analyzerOf(body: Record<string, unknown>, what: string): string | undefined {
  const v = body.analyzer;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw parsing(`[${what}] analyzer must be a name`);
  return v;
}

/** The text of a phrase or prefix query. */
function queryText(body: Record<string, unknown>, what: string): string {
  if (typeof body.query !== 'string') throw parsing(`[${what}] query must be a string`);
  return body.query;
}

function slopOf(v: unknown, what: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || (v as number) < 0) throw parsing(`[${what}] slop must be a non-negative integer`);
  return v as number;
}

/**
 * minimum_should_match: an integer or a percentage, negative for "all but" (Elasticsearch's
 * simple forms; the conditional `3<90%` form is not supported).
 */
function msmOf(v: unknown): string | number {
  if (typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' && /^\s*-?\d+(\.\d+)?%?\s*$/.test(v) && (v.includes('%') || Number.isInteger(Number(v)))) return v as string | number;
  throw parsing(`[minimum_should_match] [${String(v)}] must be an integer or a percentage such as "75%" or "-1"`);
}

/**
 * query_string, simple syntax: terms, "quoted phrases", field:term, +required, -excluded, AND/OR/NOT.
 * Default fields: `default_field` / `fields`, else every text field (as `*`).
 */
function parseQueryString(b: Record<string, unknown>, what: string): Query {
  if (typeof b.query !== 'string') throw parsing(`[${what}] needs a query string`);
  if (b.fields !== undefined && (!Array.isArray(b.fields) || !b.fields.every((f) => typeof f === 'string'))) throw parsing(`[${what}] fields must be an array of field names`);
  if (b.default_field !== undefined && typeof b.default_field !== 'string') throw parsing(`[${what}] default_field must be a field name`);
  const fields = Array.isArray(b.fields) ? (b.fields as string[]) : typeof b.default_field === 'string' ? [b.default_field] : ['*'];
  const defaultAnd = operatorOf(b.default_operator, what) === 'and';
  const tokens = b.query.match(/[+-]?(?:[^\s:"]+:)?(?:"[^"]*"|[^\s"]+)/g) ?? [];
  const must: Query[] = [];
  const should: Query[] = [];
  const mustNot: Query[] = [];
  let next: 'must' | 'should' | 'not' | undefined;
  for (const raw of tokens) {
    if (raw === 'AND') { next = 'must'; if (should.length) must.push(should.pop()!); continue; }
    if (raw === 'OR') { next = 'should'; continue; }
    if (raw === 'NOT') { next = 'not'; continue; }
    let t = raw;
    let occur: 'must' | 'should' | 'not' = next ?? (defaultAnd ? 'must' : 'should');
    next = undefined;
    if (t.startsWith('+')) { occur = 'must'; t = t.slice(1); } else if (t.startsWith('-')) { occur = 'not'; t = t.slice(1); }
    const colon = t.indexOf(':');
    const targetFields = colon > 0 && !t.startsWith('"') ? [t.slice(0, colon)] : fields;
    const text = colon > 0 && !t.startsWith('"') ? t.slice(colon + 1) : t;
    const phrase = text.startsWith('"');
    const body = phrase ? text.slice(1, -1) : text;
    const per: Query[] = targetFields.map((field) =>
      phrase
        ? { kind: 'match_phrase', field, query: body, slop: 0, boost: 1 }
        : field === '*' // every text field, as multi_match expands it
          ? { kind: 'multi_match', fields: [{ field, boost: 1 }], query: body, type: 'best_fields', operator: 'or', tieBreaker: 0, boost: 1 }
          : { kind: 'match', field, query: body, operator: 'or', boost: 1 },
    );
    const q: Query = per.length === 1 ? per[0]! : { kind: 'dis_max', queries: per, tieBreaker: 0, boost: 1 };
    (occur === 'must' ? must : occur === 'not' ? mustNot : should).push(q);
  }
  return { kind: 'bool', must, should, filter: [], mustNot, boost: boostOf(b), msm: must.length === 0 && should.length > 0 ? 1 : undefined };
}

// ---- execution ---------------------------------------------------------------------------------

/** Matching docs of one segment: ascending, live only, with their scores. */
export interface DocSet {
  docs: Int32Array;
  scores: Float64Array;
}

const EMPTY: DocSet = { docs: new Int32Array(0), scores: new Float64Array(0) };

/** Collection-wide statistics of a field and its terms, summed over the segments (BM25). */
export interface ShardStats {
  field(field: string): { docCount: number; sumTotalTermFreq: number };
  docFreq(field: string, term: string): number;
  /** The statistics of a nested path's objects (one level below these), as Lucene keeps them for its hidden child docs. */
  nested(path: string): ShardStats;
}

export interface ExecContext {
  segment: Segment;
  stats: ShardStats;
  mappings: MappingRegistry;
  /** The search analyzer of a text field (or an explicitly named analyzer). */
  analyzer(field: string, name?: string): Analyzer;
  /** Fields a `*` in query_string or multi_match expands to. */
  textFields(): string[];
  /** The search's current time (epoch ms): what `now` in date math stands for. */
  now: number;
  /** Inside a nested query: its path (`segment` then holds that path's objects); undefined at the root. */
  nestedPath?: string;
}

export function execute(q: Query, ctx: ExecContext): DocSet {
  switch (q.kind) {
    case 'match_all':
      return constant(allLive(ctx.segment), q.boost);
    case 'match_none':
      return EMPTY;
    case 'term':
      return termQuery(ctx, q.field, q.value, q.boost);
    case 'terms':
      return constant(union(q.values.map((v) => termQuery(ctx, q.field, v, 1).docs)), q.boost);
    case 'ids': {
      const want = new Set(q.values);
      return constant(filterLive(ctx.segment, (d) => want.has(ctx.segment.id(d))), q.boost);
    }
    case 'exists':
      return constant(existsDocs(ctx, q.field), q.boost);
    case 'range':
      return constant(rangeDocs(ctx, q), q.boost);
    case 'prefix':
      return constant(termsMatching(ctx, q.field, () => true, q.value), q.boost);
    case 'wildcard': {
      const re = new RegExp(`^${q.value.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
      // The literal part before the first wildcard narrows the dictionary scan.
      return constant(termsMatching(ctx, q.field, (t) => re.test(t), q.value.slice(0, q.value.search(/[*?]|$/))), q.boost);
    }
    case 'regexp':
      return constant(termsMatching(ctx, q.field, (t) => q.re.test(t), q.prefix), q.boost);
    case 'match_phrase_prefix':
      return phrasePrefixQuery(ctx, q);
    case 'match_bool_prefix':
      return boolPrefixQuery(ctx, q);
    case 'match':
      return matchQuery(ctx, q);
    case 'match_phrase':
      return phraseOfTokens(ctx, q.field, ctx.analyzer(q.field, q.analyzer).analyze(q.query), q.slop, q.boost);
    case 'multi_match': {
      const fields = q.fields.flatMap((f) => (f.field === '*' ? ctx.textFields().map((field) => ({ field, boost: f.boost })) : [f]));
      const per = fields.map((f) => matchQuery(ctx, { kind: 'match', field: f.field, query: q.query, operator: q.operator, boost: q.boost * f.boost }));
      return q.type === 'best_fields' ? disMax(per, q.tieBreaker) : sumUnion(per, 1);
    }
    case 'dis_max':
      return scale(disMax(q.queries.map((c) => execute(c, ctx)), q.tieBreaker), q.boost);
    case 'constant_score':
      return constant(execute(q.filter, ctx).docs, q.boost);
    case 'function_score':
      return executeFunctionScore(q, ctx, execute);
    case 'script_score':
      return scriptScoreQuery(ctx, q);
    case 'script': {
      const runner = q.script.bind(ctx.segment, ctx.mappings);
      return constant(filterLive(ctx.segment, (d) => runner.boolean(d)), q.boost);
    }
    case 'fuzzy':
      return fuzzyQuery(ctx, q);
    case 'boosting':
      return boostingQuery(ctx, q);
    case 'bool':
      return boolQuery(ctx, q);
    case 'nested':
      return executeNested(q, ctx, execute);
  }
}

/** script_score: each match of the inner query scored by the script, times the boost. */
function scriptScoreQuery(ctx: ExecContext, q: Extract<Query, { kind: 'script_score' }>): DocSet {
  const inner = execute(q.query, ctx);
  const runner = q.script.bind(ctx.segment, ctx.mappings);
  const n = inner.docs.length;
  const docs = new Int32Array(n);
  const scores = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const doc = inner.docs[i]!;
    const score = checkedScriptScore(runner.number(doc, inner.scores[i]!, 'a script_score script'), doc) * q.boost;
    if (q.minScore !== undefined && score < q.minScore) continue;
    docs[m] = doc;
    scores[m++] = score;
  }
  return m === n ? { docs, scores } : { docs: docs.slice(0, m), scores: scores.slice(0, m) };
}

function boolQuery(ctx: ExecContext, q: Extract<Query, { kind: 'bool' }>): DocSet {
  let result: DocSet | undefined;
  for (const c of q.must) result = result ? intersect(result, execute(c, ctx), true) : execute(c, ctx);
  for (const c of q.filter) {
    const f = execute(c, ctx);
    result = result ? intersect(result, f, false) : { docs: f.docs, scores: new Float64Array(f.docs.length) };
  }
  const needShould = q.should.length > 0;
  const defaultMsm = q.must.length === 0 && q.filter.length === 0 ? 1 : 0;
  const msm = needShould ? resolveMsm(q.msm, q.should.length, defaultMsm) : 0;
  if (needShould) {
    const shoulds = sumUnion(q.should.map((c) => execute(c, ctx)), msm);
    if (result) result = msm > 0 ? intersect(result, shoulds, true) : addScores(result, shoulds);
    else result = shoulds;
  }
  // No positive clause: an empty bool matches everything (as match_all), a must_not-only bool
  // everything but its exclusions, with score 0.
  if (!result) {
    const docs = allLive(ctx.segment);
    result = { docs, scores: new Float64Array(docs.length).fill(q.mustNot.length > 0 ? 0 : 1) };
  }
  for (const c of q.mustNot) result = subtract(result, execute(c, ctx).docs);
  return scale(result, q.boost);
}

function matchQuery(ctx: ExecContext, q: Extract<Query, { kind: 'match' }>): DocSet {
  const mapping = ctx.mappings.field(q.field);
  if (!mapping) return EMPTY;
  if (mapping.type !== 'text') return termQuery(ctx, q.field, q.query, q.boost);
  const tokens = ctx.analyzer(q.field, q.analyzer).analyze(q.query);
  if (!isLinear(tokens)) return graphMatch(ctx, q, tokens);
  const terms = [...new Set(tokens.map((t) => t.term))];
  if (terms.length === 0) return EMPTY;
  const msm = q.operator === 'and' ? terms.length : resolveMsm(q.msm, terms.length, 1);
  // Every term required: walk the rarest term's postings and skip ahead in the others.
  if (msm === terms.length && terms.length > 1 && q.fuzzy === undefined) return conjunction(ctx, q.field, terms, q.boost);
  const clauses = terms.map((t) => (q.fuzzy !== undefined ? fuzzyTerm(ctx, q.field, t, q.fuzzy, q.boost) : textTerm(ctx, q.field, t, q.boost)));
  return sumUnion(clauses, msm);
}

/**
 * match over stacked or multi-position tokens (synonyms, n-gram filters; see token-graph.ts): one
 * clause per word of the query, each the disjunction of that word's alternatives (terms, or
 * phrases for multi-word synonyms); `operator` and `minimum_should_match` count those clauses.
 */
function graphMatch(ctx: ExecContext, q: Extract<Query, { kind: 'match' }>, tokens: Token[]): DocSet {
  const clauses = graphParts(tokens).map((part) => graphPartClause(ctx, q, part));
  const msm = q.operator === 'and' ? clauses.length : resolveMsm(q.msm, clauses.length, 1);
  return sumUnion(clauses, msm);
}

function graphPartClause(ctx: ExecContext, q: Extract<Query, { kind: 'match' }>, part: Token[]): DocSet {
  const paths = (hasSpans(part) ? graphPaths(part) : null) ?? [stackedSlots(part)];
  const alternatives = paths.map((path) => (path.length === 1 ? anyTerm(ctx, q, path[0]!.terms) : multiPhraseQuery(ctx, q.field, path, 0, q.boost)));
  return alternatives.length === 1 ? alternatives[0]! : sumUnion(alternatives, 1);
}

/** Docs with any of the terms (fuzzily when the match is fuzzy), scored as the sum of their matches. */
function anyTerm(ctx: ExecContext, q: Extract<Query, { kind: 'match' }>, terms: string[]): DocSet {
  const sets = terms.map((t) => (q.fuzzy !== undefined ? fuzzyTerm(ctx, q.field, t, q.fuzzy, q.boost) : textTerm(ctx, q.field, t, q.boost)));
  return sets.length === 1 ? sets[0]! : sumUnion(sets, 1);
}

/** match_phrase over analysed tokens: a phrase, or with stacked or multi-position tokens the best of its phrasings. */
function phraseOfTokens(ctx: ExecContext, field: string, tokens: Token[], slop: number, boost: number): DocSet {
  if (isLinear(tokens)) return phraseQuery(ctx, field, tokens.map((t) => ({ term: t.term, position: t.position })), slop, boost);
  const paths = (hasSpans(tokens) ? graphPaths(tokens) : null) ?? [stackedSlots(tokens)];
  if (paths.length === 1) return multiPhraseQuery(ctx, field, paths[0]!, slop, boost);
  return disMax(paths.map((path) => multiPhraseQuery(ctx, field, path, slop, boost)), 0);
}

/**
 * A phrase whose positions may each hold any of several terms (Lucene's MultiPhraseQuery): its
 * weight is the sum of all its terms' idfs, its frequency counted over the merged positions.
 */
function multiPhraseQuery(ctx: ExecContext, field: string, slots: Slot[], slop: number, boost: number): DocSet {
  if (slots.length === 0) return EMPTY;
  if (slots.every((s) => s.terms.length === 1)) return phraseQuery(ctx, field, slots.map((s) => ({ term: s.terms[0]!, position: s.position })), slop, boost);
  if (slots.length === 1) return sumUnion(slots[0]!.terms.map((t) => textTerm(ctx, field, t, boost)), 1);
  const fi = ctx.segment.field(field);
  if (!fi) return EMPTY;
  const perSlot: Required<PostingsView>[][] = [];
  for (const slot of slots) {
    const ps: Required<PostingsView>[] = [];
    for (const term of slot.terms) {
      const entry = fi.terms.get(term);
      if (entry && entry.posBase >= 0) ps.push(postingsOf(fi, entry) as Required<PostingsView>);
    }
    if (ps.length === 0) return EMPTY;
    perSlot.push(ps);
  }
  const st = ctx.stats.field(field);
  let idfSum = 0;
  for (const slot of slots) for (const term of slot.terms) idfSum += new Bm25TermScorer(1, ctx.stats.docFreq(field, term), st.docCount, st.sumTotalTermFreq).weight;
  const weight = boost * idfSum;
  const avgdl = st.docCount > 0 ? st.sumTotalTermFreq / st.docCount : 1;
  let candidates = union(perSlot[0]!.map((p) => p.docs));
  for (let k = 1; k < perSlot.length && candidates.length > 0; k++) candidates = intersectDocs(candidates, union(perSlot[k]!.map((p) => p.docs)));
  const docsOut: number[] = [];
  const scoresOut: number[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const doc = candidates[i]!;
    if (!ctx.segment.isLive(doc)) continue;
    const lists = perSlot.map((ps) => positionsInDoc(ps, doc));
    const freq = phraseFreqOf(lists, slots, slop);
    if (freq <= 0) continue;
    const dl = fi.norms ? decodeLength(fi.norms[doc]!) : avgdl;
    docsOut.push(doc);
    scoresOut.push((weight * freq) / (freq + K1 * (1 - B + (B * dl) / avgdl)));
  }
  return { docs: Int32Array.from(docsOut), scores: Float64Array.from(scoresOut) };
}

/** The positions of a doc in any of the postings, sorted, each once. */
function positionsInDoc(ps: Required<PostingsView>[], doc: number): Int32Array {
  const merged: number[] = [];
  for (const p of ps) {
    const i = lowerBound(p.docs, doc);
    if (i >= p.docs.length || p.docs[i] !== doc) continue;
    for (let j = p.posStarts[i]!; j < p.posStarts[i + 1]!; j++) merged.push(p.positions[j]!);
  }
  if (ps.length > 1) merged.sort((a, b) => a - b);
  const out = new Int32Array(merged.length);
  let n = 0;
  for (const x of merged) if (n === 0 || out[n - 1] !== x) out[n++] = x;
  return out.subarray(0, n);
}

/** Docs in both sorted lists. */
function intersectDocs(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(Math.min(a.length, b.length));
  let n = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out[n++] = a[i]!;
      i++;
      j++;
    }
  }
  return out.subarray(0, n);
}

/** Docs containing every term, scored as the sum of the terms' BM25 scores (in query order). */
function conjunction(ctx: ExecContext, field: string, terms: string[], boost: number): DocSet {
  const fi = ctx.segment.field(field);
  if (!fi) return EMPTY;
  const postings = terms.map((t) => fi.terms.get(t));
  if (postings.some((p) => !p)) return EMPTY;
  const ps = (postings as TermPostings[]).map((p) => postingsOf(fi, p));
  const st = ctx.stats.field(field);
  const scorers = terms.map((t) => new Bm25TermScorer(boost, ctx.stats.docFreq(field, t), st.docCount, st.sumTotalTermFreq));
  const lead = ps.reduce((best, p, i) => (p.docs.length < ps[best]!.docs.length ? i : best), 0);
  const cursors = new Int32Array(ps.length);
  const docsOut: number[] = [];
  const scoresOut: number[] = [];
  const leadDocs = ps[lead]!.docs;
  outer: for (let li = 0; li < leadDocs.length; li++) {
    const doc = leadDocs[li]!;
    for (let k = 0; k < ps.length; k++) {
      if (k === lead) continue;
      const c = advance(ps[k]!.docs, cursors[k]!, doc);
      cursors[k] = c;
      if (c >= ps[k]!.docs.length) break outer; // another term has no docs left
      if (ps[k]!.docs[c] !== doc) continue outer;
    }
    cursors[lead] = li;
    if (!ctx.segment.isLive(doc)) continue;
    let score = 0;
    for (let k = 0; k < ps.length; k++) {
      const freq = ps[k]!.freqs[cursors[k]!]!;
      score += fi.norms ? scorers[k]!.score(freq, fi.norms[doc]!) : (scorers[k]!.weight * freq) / (freq + K1);
    }
    docsOut.push(doc);
    scoresOut.push(score);
  }
  return { docs: Int32Array.from(docsOut), scores: Float64Array.from(scoresOut) };
}

/** minimum_should_match: an integer, a negative integer, or a (negative) percentage, as in ES. */
export function resolveMsm(spec: string | number | undefined, optional: number, dflt: number): number {
  if (spec === undefined) return dflt;
  const s = String(spec).trim();
  let n: number;
  if (s.endsWith('%')) {
    const p = Number(s.slice(0, -1));
    n = p < 0 ? optional - Math.floor((optional * -p) / 100) : Math.floor((optional * p) / 100);
  } else {
    const v = Number(s);
    if (!Number.isInteger(v)) throw parsing(`minimum_should_match [${s}] is not valid`);
    n = v < 0 ? optional + v : v;
  }
  return Math.max(0, Math.min(optional, n));
}

function textTerm(ctx: ExecContext, field: string, term: string, boost: number): DocSet {
  const fi = ctx.segment.field(field);
  const entry = fi?.terms.get(term);
  if (!fi || !entry) return EMPTY;
  const p = postingsOf(fi, entry);
  const st = ctx.stats.field(field);
  const scorer = new Bm25TermScorer(boost, ctx.stats.docFreq(field, term), st.docCount, st.sumTotalTermFreq);
  return scorePostings(ctx.segment, p, (i, doc) => (fi.norms ? scorer.score(p.freqs[i]!, fi.norms[doc]!) : (scorer.weight * p.freqs[i]!) / (p.freqs[i]! + K1)));
}

function scorePostings(segment: Segment, p: PostingsView, score: (i: number, doc: number) => number): DocSet {
  const docs = new Int32Array(p.docs.length);
  const scores = new Float64Array(p.docs.length);
  let n = 0;
  for (let i = 0; i < p.docs.length; i++) {
    const doc = p.docs[i]!;
    if (!segment.isLive(doc)) continue;
    docs[n] = doc;
    scores[n++] = score(i, doc);
  }
  return { docs: docs.subarray(0, n), scores: scores.subarray(0, n) };
}

/** term on any field type: indexed terms for text/keyword, doc values for numbers, dates, booleans. */
function termQuery(ctx: ExecContext, field: string, value: string | number | boolean, boost: number): DocSet {
  const mapping = ctx.mappings.field(field);
  if (!mapping) return EMPTY;
  if (mapping.type === 'text' || mapping.type === 'keyword') return textTerm(ctx, field, String(value), boost);
  const n = toNumber(mapping, value);
  return constant(numericMatching(ctx, field, (v) => v === n), boost);
}

function toNumber(m: FieldMapping, v: unknown): number {
  if (m.type === 'date') return parseDate(v, m.format);
  if (m.type === 'boolean') return v === true || v === 'true' ? 1 : 0;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || Number.isNaN(n)) throw new EngineError('query_shard_exception', `[${String(v)}] is not a number for field of type [${m.type}]`);
  return n;
}

function fuzzyTerm(ctx: ExecContext, field: string, term: string, fuzzy: FuzzyOptions, boost: number): DocSet {
  const fi = ctx.segment.field(field);
  if (!fi) return EMPTY;
  const matches = fuzzyExpansions(fi.sortedTerms, term, fuzzy);
  // Each expansion scores as its own term; a doc keeps its best (as Lucene's fuzzy rewrite roughly does).
  return disMax(matches.map((t) => textTerm(ctx, field, t, boost)), 0);
}

/** A fuzzy term query: the value as it is (not analysed), on a text or keyword field's terms. */
function fuzzyQuery(ctx: ExecContext, q: Extract<Query, { kind: 'fuzzy' }>): DocSet {
  const type = ctx.mappings.field(q.field)?.type;
  if (type === undefined) return EMPTY;
  if (type !== 'text' && type !== 'keyword') throw new EngineError('query_shard_exception', `Can only use fuzzy queries on keyword and text fields - not on [${q.field}] which is of type [${type}]`);
  return fuzzyTerm(ctx, q.field, q.value, q.fuzzy, q.boost);
}

/** `positive`'s matches; those that also match `negative` score `negative_boost` times as much. */
function boostingQuery(ctx: ExecContext, q: Extract<Query, { kind: 'boosting' }>): DocSet {
  const { docs, scores } = execute(q.positive, ctx);
  const negative = execute(q.negative, ctx).docs;
  const out = new Float64Array(scores.length);
  let j = 0;
  for (let i = 0; i < docs.length; i++) {
    while (j < negative.length && negative[j]! < docs[i]!) j++;
    out[i] = scores[i]! * q.boost * (j < negative.length && negative[j] === docs[i] ? q.negativeBoost : 1);
  }
  return { docs, scores: out };
}

function phraseQuery(ctx: ExecContext, field: string, terms: { term: string; position: number }[], slop: number, boost: number): DocSet {
  if (terms.length === 0) return EMPTY;
  if (terms.length === 1) return textTerm(ctx, field, terms[0]!.term, boost);
  const fi = ctx.segment.field(field);
  if (!fi) return EMPTY;
  const postings = terms.map((t) => fi.terms.get(t.term));
  if (postings.some((p) => !p || p.posBase < 0)) return EMPTY;
  const ps = (postings as TermPostings[]).map((p) => postingsOf(fi, p) as Required<PostingsView>);
  const st = ctx.stats.field(field);
  // Lucene's phrase weight: the sum of the terms' idfs.
  let idfSum = 0;
  for (const t of terms) idfSum += new Bm25TermScorer(1, ctx.stats.docFreq(field, t.term), st.docCount, st.sumTotalTermFreq).weight;
  const weight = boost * idfSum;
  const avgdl = st.docCount > 0 ? st.sumTotalTermFreq / st.docCount : 1;
  const docsOut: number[] = [];
  const scoresOut: number[] = [];
  const cursors = new Int32Array(ps.length);
  // Walk the rarest term's docs; find each in the others.
  const lead = ps.reduce((best, p, i) => (p.docs.length < ps[best]!.docs.length ? i : best), 0);
  for (let li = 0; li < ps[lead]!.docs.length; li++) {
    const doc = ps[lead]!.docs[li]!;
    if (!ctx.segment.isLive(doc)) continue;
    let all = true;
    const idx: number[] = [];
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k]!;
      const c = advance(p.docs, cursors[k]!, doc);
      cursors[k] = c;
      if (c >= p.docs.length || p.docs[c] !== doc) {
        all = false;
        break;
      }
      idx.push(c);
    }
    if (!all) continue;
    const freq = phraseFreq(ps, idx, terms, slop);
    if (freq <= 0) continue;
    const dl = fi.norms ? decodeLength(fi.norms[doc]!) : avgdl;
    docsOut.push(doc);
    scoresOut.push((weight * freq) / (freq + K1 * (1 - B + (B * dl) / avgdl)));
  }
  return { docs: Int32Array.from(docsOut), scores: Float64Array.from(scoresOut) };
}

/** Exact phrases count 1 each; sloppy matches count 1/(distance + 1), as Lucene's sloppy freq. */
function phraseFreq(ps: Required<PostingsView>[], idx: number[], terms: { position: number }[], slop: number): number {
  // Each term's positions in this doc: sorted, so membership is a binary search, not a Set.
  return phraseFreqOf(ps.map((p, k) => p.positions.subarray(p.posStarts[idx[k]!]!, p.posStarts[idx[k]! + 1]!)), terms, slop);
}

/** phraseFreq over each phrase position's sorted positions in the doc. */
function phraseFreqOf(lists: Int32Array[], terms: { position: number }[], slop: number): number {
  let freq = 0;
  for (const start of lists[0]!) {
    const base = start - terms[0]!.position;
    if (slop === 0) {
      let all = true;
      for (let k = 1; k < terms.length && all; k++) all = contains(lists[k]!, base + terms[k]!.position);
      if (all) freq += 1;
      continue;
    }
    // Sloppy: each term within slop of where the phrase wants it; distance is the total displacement.
    let distance = 0;
    let ok = true;
    for (let k = 1; k < terms.length && ok; k++) {
      const best = nearest(lists[k]!, base + terms[k]!.position);
      if (best > slop) ok = false;
      distance += best;
    }
    if (ok && distance <= slop) freq += 1 / (distance + 1);
  }
  return freq;
}

/** Index of the first element >= x in a sorted list. */
function lowerBound(list: Int32Array, x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a sorted list holds x (binary search). */
export function contains(list: Int32Array, x: number): boolean {
  const i = lowerBound(list, x);
  return i < list.length && list[i] === x;
}

/** Distance from x to the closest element of a sorted list. */
function nearest(list: Int32Array, x: number): number {
  const i = lowerBound(list, x);
  let best = Infinity;
  if (i < list.length) best = list[i]! - x;
  if (i > 0) best = Math.min(best, x - list[i - 1]!);
  return best;
}

function numericMatching(ctx: ExecContext, field: string, pred: (v: number) => boolean): Int32Array {
  const col = ctx.segment.column(field);
  if (!col || col.kind !== 'numeric') return new Int32Array(0);
  return filterLive(ctx.segment, (d) => {
    for (let i = col.offsets[d]!; i < col.offsets[d + 1]!; i++) if (pred(col.values[i]!)) return true;
    return false;
  });
}

function rangeDocs(ctx: ExecContext, q: Extract<Query, { kind: 'range' }>): Int32Array {
  const m = ctx.mappings.field(q.field);
  if (!m) return new Int32Array(0);
  if (m.type === 'text' || m.type === 'keyword') {
    const [gt, gte, lt, lte] = [q.gt, q.gte, q.lt, q.lte].map((v) => (v === undefined ? undefined : String(v)));
    return termsMatching(ctx, q.field, (t) => (gt === undefined || t > gt) && (gte === undefined || t >= gte) && (lt === undefined || t < lt) && (lte === undefined || t <= lte));
  }
  const fm = q.format ? { ...m, format: q.format } : m;
  // Date math rounds gt and lte up, gte and lt down (date-math.ts).
  const gt = rangeBound(fm, q.gt, true, ctx.now);
  const gte = rangeBound(fm, q.gte, false, ctx.now);
  const lt = rangeBound(fm, q.lt, false, ctx.now);
  const lte = rangeBound(fm, q.lte, true, ctx.now);
  return numericMatching(ctx, q.field, (v) => (gt === undefined || v > gt) && (gte === undefined || v >= gte) && (lt === undefined || v < lt) && (lte === undefined || v <= lte));
}

function rangeBound(m: FieldMapping, v: unknown, roundUp: boolean, now: number): number | undefined {
  if (v === undefined) return undefined;
  return m.type === 'date' ? resolveDate(v, m.format, roundUp, now) : toNumber(m, v);
}

function existsDocs(ctx: ExecContext, field: string): Int32Array {
  const col = ctx.segment.column(field);
  if (col) return filterLive(ctx.segment, (d) => col.offsets[d + 1]! > col.offsets[d]!);
  const fi = ctx.segment.field(field);
  if (fi?.norms) return filterLive(ctx.segment, (d) => fi.norms![d]! > 0);
  return new Int32Array(0);
}

/** Live docs of the terms that pass `pred`, among those starting with `prefix` (all when ''). */
function termsMatching(ctx: ExecContext, field: string, pred: (t: string) => boolean, prefix = ''): Int32Array {
  const fi = ctx.segment.field(field);
  if (!fi) return new Int32Array(0);
  const lists: Int32Array[] = [];
  for (const t of termsWithPrefix(fi.sortedTerms, prefix)) if (pred(t)) lists.push(postingsOf(fi, fi.terms.get(t)!).docs);
  return union(lists).filter((d) => ctx.segment.isLive(d));
}

/** The sorted dictionary's terms that start with `prefix`, in order, at most `max`: a binary search, then a scan of the range only. */
export function termsWithPrefix(sorted: readonly string[], prefix: string, max = Infinity): string[] {
  if (prefix === '') return max >= sorted.length ? (sorted as string[]) : sorted.slice(0, max);
  const out: string[] = [];
  for (let i = firstTermAtOrAfter(sorted, prefix); i < sorted.length && out.length < max && sorted[i]!.startsWith(prefix); i++) out.push(sorted[i]!);
  return out;
}

/**
 * match_phrase_prefix: a phrase whose last term is a prefix, expanded to the first
 * `maxExpansions` terms of the segment's dictionary that start with it (as Lucene's
 * MultiPhraseQuery is built). A doc scores as the best of its expanded phrases.
 */
function phrasePrefixQuery(ctx: ExecContext, q: Extract<Query, { kind: 'match_phrase_prefix' }>): DocSet {
  const tokens = ctx.analyzer(q.field, q.analyzer).analyze(q.query).map((t) => ({ term: t.term, position: t.position }));
  const fi = ctx.segment.field(q.field);
  if (tokens.length === 0 || !fi) return EMPTY;
  const last = tokens.at(-1)!;
  const expansions = termsWithPrefix(fi.sortedTerms, last.term, q.maxExpansions);
  return disMax(expansions.map((term) => phraseQuery(ctx, q.field, [...tokens.slice(0, -1), { term, position: last.position }], q.slop, q.boost)), 0);
}

/**
 * match_bool_prefix: every analysed term but the last as a scored term, the last as a prefix
 * (constant score, its boost), combined as `operator` says.
 */
function boolPrefixQuery(ctx: ExecContext, q: Extract<Query, { kind: 'match_bool_prefix' }>): DocSet {
  const terms = ctx.analyzer(q.field, q.analyzer).analyze(q.query).map((t) => t.term);
  if (terms.length === 0) return EMPTY;
  const clauses: DocSet[] = terms.slice(0, -1).map((t) => textTerm(ctx, q.field, t, q.boost));
  clauses.push(constant(termsMatching(ctx, q.field, () => true, terms.at(-1)!), q.boost));
  return sumUnion(clauses, q.operator === 'and' ? clauses.length : 1);
}

// ---- doc-set algebra (sorted arrays) --------------------------------------------------------------

function allLive(segment: Segment): Int32Array {
  return filterLive(segment, () => true);
}

function filterLive(segment: Segment, pred: (doc: number) => boolean): Int32Array {
  const out = new Int32Array(segment.maxDoc);
  let n = 0;
  for (let d = 0; d < segment.maxDoc; d++) if (segment.isLive(d) && pred(d)) out[n++] = d;
  return out.slice(0, n);
}

function constant(docs: Int32Array, score: number): DocSet {
  return { docs, scores: new Float64Array(docs.length).fill(score) };
}

function scale(s: DocSet, boost: number): DocSet {
  if (boost === 1) return s;
  return { docs: s.docs, scores: s.scores.map((x) => x * boost) };
}

function union(lists: Int32Array[]): Int32Array {
  if (lists.length === 0) return new Int32Array(0);
  if (lists.length === 1) return lists[0]!;
  return sumUnion(lists.map((docs) => ({ docs, scores: new Float64Array(docs.length) })), 1).docs;
}

/**
 * Dense per-segment accumulators, reused across clauses and queries: one slot per doc, plus the
 * list of docs touched, so a union costs O(postings) without hashing or per-doc objects.
 */
class Accumulator {
  score = new Float64Array(0);
  extra = new Float64Array(0);
  count = new Uint32Array(0);
  touched = new Int32Array(0);
  n = 0;

  reset(maxDoc: number): void {
    if (this.score.length < maxDoc) {
      this.score = new Float64Array(maxDoc);
      this.extra = new Float64Array(maxDoc);
      this.count = new Uint32Array(maxDoc);
      this.touched = new Int32Array(maxDoc);
    }
    this.n = 0;
  }

  /** Collect the touched docs with count >= min, sorted, and clear their slots. */
  drain(min: number, value: (doc: number) => number): DocSet {
    const t = this.touched.subarray(0, this.n).sort();
    let k = 0;
    for (let i = 0; i < t.length; i++) if (this.count[t[i]!]! >= min) k++;
    const docs = new Int32Array(k);
    const scores = new Float64Array(k);
    let j = 0;
    for (let i = 0; i < t.length; i++) {
      const d = t[i]!;
      if (this.count[d]! >= min) {
        docs[j] = d;
        scores[j++] = value(d);
      }
      this.score[d] = 0;
      this.extra[d] = 0;
      this.count[d] = 0;
    }
    this.n = 0;
    return { docs, scores };
  }
}

// Nested unions (a bool inside a bool) each get their own accumulator from this pool.
const pool: Accumulator[] = [];
function withAccumulator<T>(maxDoc: number, fn: (acc: Accumulator) => T): T {
  const acc = pool.pop() ?? new Accumulator();
  acc.reset(maxDoc);
  try {
    return fn(acc);
  } finally {
    pool.push(acc);
  }
}

function maxDocOf(sets: DocSet[]): number {
  let m = 0;
  for (const s of sets) if (s.docs.length > 0) m = Math.max(m, s.docs[s.docs.length - 1]! + 1);
  return m;
}

/** Docs in at least `msm` of the sets; scores summed over the sets that match. */
function sumUnion(sets: DocSet[], msm: number): DocSet {
  if (sets.length === 1 && msm <= 1) return sets[0]!;
  return withAccumulator(maxDocOf(sets), (acc) => {
    for (const s of sets) {
      for (let i = 0; i < s.docs.length; i++) {
        const d = s.docs[i]!;
        if (acc.count[d] === 0) acc.touched[acc.n++] = d;
        acc.count[d]!++;
        acc.score[d]! += s.scores[i]!;
      }
    }
    return acc.drain(Math.max(1, msm), (d) => acc.score[d]!);
  });
}

/** Best score per doc, plus tieBreaker × the others. */
function disMax(sets: DocSet[], tieBreaker: number): DocSet {
  if (sets.length === 1) return sets[0]!;
  return withAccumulator(maxDocOf(sets), (acc) => {
    for (const s of sets) {
      for (let i = 0; i < s.docs.length; i++) {
        const d = s.docs[i]!;
        const x = s.scores[i]!;
        if (acc.count[d] === 0) {
          acc.touched[acc.n++] = d;
          acc.score[d] = x; // best
        } else if (x > acc.score[d]!) acc.score[d] = x;
        acc.count[d]!++;
        acc.extra[d]! += x; // total
      }
    }
    return acc.drain(1, (d) => acc.score[d]! + tieBreaker * (acc.extra[d]! - acc.score[d]!));
  });
}

/** `set` restricted to the docs in `keep` (ascending), its scores unchanged: a filter applied afterwards (post_filter). */
export function keepOnly(set: DocSet, keep: Int32Array): DocSet {
  return intersect(set, { docs: keep, scores: set.scores }, false);
}

/** The docs of `set` scoring at least `min` (min_score). */
export function withMinScore(set: DocSet, min: number): DocSet {
  let n = 0;
  for (let i = 0; i < set.scores.length; i++) if (set.scores[i]! >= min) n++;
  if (n === set.scores.length) return set;
  const docs = new Int32Array(n);
  const scores = new Float64Array(n);
  n = 0;
  for (let i = 0; i < set.scores.length; i++) {
    if (set.scores[i]! < min) continue;
    docs[n] = set.docs[i]!;
    scores[n++] = set.scores[i]!;
  }
  return { docs, scores };
}

function intersect(a: DocSet, b: DocSet, addB: boolean): DocSet {
  const docs = new Int32Array(Math.min(a.docs.length, b.docs.length));
  const scores = new Float64Array(docs.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.docs.length && j < b.docs.length) {
    const x = a.docs[i]!;
    const y = b.docs[j]!;
    if (x < y) i++;
    else if (y < x) j++;
    else {
      docs[n] = x;
      scores[n++] = a.scores[i]! + (addB ? b.scores[j]! : 0);
      i++;
      j++;
    }
  }
  return { docs: docs.subarray(0, n), scores: scores.subarray(0, n) };
}

/** a's docs, with b's scores added where b matches too (optional should clauses). */
function addScores(a: DocSet, b: DocSet): DocSet {
  const scores = Float64Array.from(a.scores);
  let j = 0;
  for (let i = 0; i < a.docs.length; i++) {
    while (j < b.docs.length && b.docs[j]! < a.docs[i]!) j++;
    if (j < b.docs.length && b.docs[j] === a.docs[i]) scores[i]! += b.scores[j]!;
  }
  return { docs: a.docs, scores };
}

function subtract(a: DocSet, remove: Int32Array): DocSet {
  const docs: number[] = [];
  const scores: number[] = [];
  let j = 0;
  for (let i = 0; i < a.docs.length; i++) {
    while (j < remove.length && remove[j]! < a.docs[i]!) j++;
    if (j < remove.length && remove[j] === a.docs[i]) continue;
    docs.push(a.docs[i]!);
    scores.push(a.scores[i]!);
  }
  return { docs: Int32Array.from(docs), scores: Float64Array.from(scores) };
}

/** Terms a query looks for, per field (highlighting). */
/** What a query looks for in one field (highlighting): exact terms, and prefixes. */
export class FieldTerms {
  readonly terms = new Set<string>();
  readonly prefixes: string[] = [];

  has(term: string): boolean {
    return this.terms.has(term) || this.prefixes.some((p) => term.startsWith(p));
  }
}

export function queryTerms(q: Query, ctx: Pick<ExecContext, 'analyzer' | 'mappings' | 'textFields'>, out = new Map<string, FieldTerms>()): Map<string, FieldTerms> {
  switch (q.kind) {
    case 'prefix':
      fieldTermsOf(out, q.field).prefixes.push(q.value);
      break;
    case 'match_phrase_prefix':
    case 'match_bool_prefix': {
      if (ctx.mappings.field(q.field)?.type !== 'text') break;
      const terms = ctx.analyzer(q.field, q.analyzer).analyze(q.query).map((t) => t.term);
      if (terms.length === 0) break;
      addTerms(out, q.field, terms.slice(0, -1));
      fieldTermsOf(out, q.field).prefixes.push(terms.at(-1)!);
      break;
    }
    case 'match':
    case 'match_phrase':
      if (ctx.mappings.field(q.field)?.type === 'text') addTerms(out, q.field, ctx.analyzer(q.field).analyze(q.query).map((t) => t.term));
      break;
    case 'multi_match':
      for (const f of q.fields) for (const field of f.field === '*' ? ctx.textFields() : [f.field]) queryTerms({ kind: 'match', field, query: q.query, operator: 'or', boost: 1 }, ctx, out);
      break;
    case 'term':
      addTerms(out, q.field, [String(q.value)]);
      break;
    case 'bool':
      for (const c of [...q.must, ...q.should, ...q.filter]) queryTerms(c, ctx, out);
      break;
    case 'dis_max':
      for (const c of q.queries) queryTerms(c, ctx, out);
      break;
    case 'constant_score':
      queryTerms(q.filter, ctx, out);
      break;
    case 'function_score':
    case 'script_score':
      queryTerms(q.query, ctx, out);
      break;
    case 'boosting':
      queryTerms(q.positive, ctx, out);
      break;
  }
  return out;
}

function fieldTermsOf(out: Map<string, FieldTerms>, field: string): FieldTerms {
  let s = out.get(field);
  if (!s) out.set(field, (s = new FieldTerms()));
  return s;
}

function addTerms(out: Map<string, FieldTerms>, field: string, terms: string[]): void {
  const s = fieldTermsOf(out, field);
  for (const t of terms) s.terms.add(t);
}
