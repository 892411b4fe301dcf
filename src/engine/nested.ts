import { filterSource, parseSourceSpec, type SourceFilter as SourceSpec } from './aggs/util.ts';
import type { MappingRegistry } from './mapping.ts';
import type { DocSet, ExecContext, Query, ShardStats } from './query.ts';
import { SegmentBuilder, type NestedDocs, type Segment } from './segment.ts';
import type { SortKey, SortMode } from './search-request.ts';
import { EngineError, isPlainObject, type Column } from './types.ts';

/**
 * The `nested` query: its inner query runs over the nested objects of `path` (child segments,
 * segment.ts: NestedDocs), and a parent matches when one of its objects does, scored from its
 * matching objects' scores as `score_mode` says.
 */
export type NestedScoreMode = 'avg' | 'max' | 'min' | 'sum' | 'none';

export interface InnerHitsSpec {
  /** The key under the hit's `inner_hits` (default: the path). */
  name: string;
  from: number;
  size: number;
  /** Undefined: the whole object; null: `_source: false`. */
  source: SourceSpec | undefined | null;
}

export interface NestedQuery {
  kind: 'nested';
  path: string;
  query: Query;
  scoreMode: NestedScoreMode;
  ignoreUnmapped: boolean;
  innerHits?: InnerHitsSpec;
  boost: number;
  name?: string;
}

const parsing = (reason: string) => new EngineError('parsing_exception', reason);
const NESTED_KEYS = new Set(['path', 'query', 'score_mode', 'ignore_unmapped', 'inner_hits', 'boost', '_name']);
const INNER_HITS_KEYS = new Set(['name', 'from', 'size', '_source']);
const SCORE_MODES: readonly NestedScoreMode[] = ['avg', 'max', 'min', 'sum', 'none'];
/** Elasticsearch's index.max_inner_result_window. */
export const MAX_INNER_RESULT_WINDOW = 100;

export function parseNested(b: Record<string, unknown>, boost: number, parseSub: (json: unknown) => Query): NestedQuery {
  for (const k in b) if (!NESTED_KEYS.has(k)) throw parsing(`[nested] query does not support [${k}]`);
  if (typeof b.path !== 'string' || b.path === '') throw parsing('[nested] requires [path]: a field name');
  if (b.query === undefined) throw parsing('[nested] requires [query]');
  const scoreMode = (b.score_mode ?? 'avg') as NestedScoreMode;
  if (!SCORE_MODES.includes(scoreMode)) throw parsing(`[nested] illegal score_mode [${String(b.score_mode)}]: one of ${SCORE_MODES.join(', ')}`);
  if (b.ignore_unmapped !== undefined && typeof b.ignore_unmapped !== 'boolean') throw parsing('[nested] [ignore_unmapped] must be a boolean');
  const q: NestedQuery = { kind: 'nested', path: b.path, query: parseSub(b.query), scoreMode, ignoreUnmapped: b.ignore_unmapped === true, boost };
  if (b.inner_hits !== undefined) q.innerHits = parseInnerHits(b.inner_hits, b.path);
  return q;
}

function parseInnerHits(v: unknown, path: string): InnerHitsSpec {
  if (!isPlainObject(v)) throw parsing('[inner_hits] must be an object');
  const o = v as Record<string, unknown>;
  for (const k in o) if (!INNER_HITS_KEYS.has(k)) throw parsing(`[inner_hits] option [${k}] is not supported (supported: ${[...INNER_HITS_KEYS].join(', ')})`);
  const from = innerHitsCount(o.from, 'from', 0);
  const size = innerHitsCount(o.size, 'size', 3);
  if (from + size > MAX_INNER_RESULT_WINDOW) {
    throw new EngineError('illegal_argument_exception', `Inner result window is too large, the inner hit definition's [${path}]'s from + size must be less than or equal to: [${MAX_INNER_RESULT_WINDOW}] but was [${from + size}]`);
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw parsing('[inner_hits] [name] must be a non-empty string');
  let source: InnerHitsSpec['source'];
  if (o._source === false) source = null;
  else if (o._source !== undefined && o._source !== true) {
    const spec = parseSourceSpec(o._source);
    source = spec.enabled ? spec : null;
  }
  return { name: (o.name as string | undefined) ?? path, from, size, source };
}

function innerHitsCount(x: unknown, what: string, dflt: number): number {
  if (x === undefined) return dflt;
  if (!Number.isInteger(x) || (x as number) < 0) throw parsing(`[inner_hits] [${what}] must be a non-negative integer`);
  return x as number;
}

/**
 * The nested paths from the context's scope down to the query's path, outermost first; undefined
 * when the path is unmapped and `ignore_unmapped` is set (the query matches nothing).
 */
export function nestedChainOf(mappings: MappingRegistry, from: string | undefined, path: string, ignoreUnmapped: boolean, what = 'nested'): string[] | undefined {
  if (!mappings.isNested(path)) {
    if (mappings.field(path) !== undefined || mappings.isObject(path)) throw new EngineError('query_shard_exception', `[${what}] nested object under path [${path}] is not of nested type`);
    if (ignoreUnmapped) return undefined;
    throw new EngineError('query_shard_exception', `[${what}] failed to find nested object under path [${path}]`);
  }
  const chain = mappings.nestedChain(from, path);
  if (!chain || chain.length === 0) throw new EngineError('query_shard_exception', `[${what}] nested path [${path}] is not inside the enclosing nested path [${from ?? ''}]`);
  return chain;
}

/** The nested objects one segment holds along a chain of nested paths: one NestedDocs per level. */
export function levelsOf(segment: Segment, chain: readonly string[]): NestedDocs[] | undefined {
  const levels: NestedDocs[] = [];
  let seg = segment;
  for (const p of chain) {
    const n = seg.nested(p);
    if (!n) return undefined;
    levels.push(n);
    seg = n.segment;
  }
  return levels;
}

/** The deepest level's children of a top doc: contiguous, as every level stores children in parent order. */
export function childRange(levels: readonly NestedDocs[], doc: number): [number, number] {
  let lo = doc;
  let hi = doc + 1;
  for (const n of levels) {
    lo = n.childStart[lo]!;
    hi = n.childStart[hi]!;
  }
  return [lo, hi];
}

/** The top doc (of the chain's first level's parent segment) that a deepest-level child belongs to. */
export function rootOf(levels: readonly NestedDocs[], child: number): number {
  let d = child;
  for (let i = levels.length - 1; i >= 0; i--) d = levels[i]!.parentOf[d]!;
  return d;
}

/** The inner query's matches among the nested objects, with the nested paths and levels that lead to them. */
export interface NestedMatches {
  chain: string[];
  levels: NestedDocs[];
  set: DocSet;
}

export function nestedMatches(q: NestedQuery, ctx: ExecContext, run: (q: Query, ctx: ExecContext) => DocSet): NestedMatches | undefined {
  const chain = nestedChainOf(ctx.mappings, ctx.nestedPath, q.path, q.ignoreUnmapped);
  if (!chain) return undefined;
  const levels = levelsOf(ctx.segment, chain);
  if (!levels) return undefined;
  let stats: ShardStats = ctx.stats;
  for (const p of chain) stats = stats.nested(p);
  const set = run(q.query, { ...ctx, segment: levels.at(-1)!.segment, stats, nestedPath: q.path });
  return { chain, levels, set };
}

/** A context over the nested objects of `path` (from the root) of the context's segment: a filter inside a nested aggregation runs there. */
export function nestedContext(ctx: ExecContext, path: string): ExecContext {
  const chain = nestedChainOf(ctx.mappings, undefined, path, false)!;
  const levels = levelsOf(ctx.segment, chain);
  let stats: ShardStats = ctx.stats;
  for (const p of chain) stats = stats.nested(p);
  // A segment without such objects: an empty one (nothing matches).
  return { ...ctx, segment: levels ? levels.at(-1)!.segment : (emptySegment ??= new SegmentBuilder('empty').seal()), stats, nestedPath: path };
}

let emptySegment: Segment | undefined;
const EMPTY: DocSet = { docs: new Int32Array(0), scores: new Float64Array(0) };

export function executeNested(q: NestedQuery, ctx: ExecContext, run: (q: Query, ctx: ExecContext) => DocSet): DocSet {
  const m = nestedMatches(q, ctx, run);
  if (!m || m.set.docs.length === 0) return EMPTY;
  const { levels, set } = m;
  const docs = new Int32Array(set.docs.length);
  const scores = new Float64Array(set.docs.length);
  let n = 0;
  // Children are in parent order, so each parent's matching children are consecutive here.
  for (let i = 0; i < set.docs.length; ) {
    const parent = rootOf(levels, set.docs[i]!);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let count = 0;
    for (; i < set.docs.length && rootOf(levels, set.docs[i]!) === parent; i++) {
      const s = set.scores[i]!;
      sum += s;
      if (s < min) min = s;
      if (s > max) max = s;
      count++;
    }
    docs[n] = parent;
    scores[n++] = q.boost * combine(q.scoreMode, sum, min, max, count);
  }
  return { docs: docs.subarray(0, n), scores: scores.subarray(0, n) };
}

function combine(mode: NestedScoreMode, sum: number, min: number, max: number, count: number): number {
  switch (mode) {
    case 'avg':
      return sum / count;
    case 'sum':
      return sum;
    case 'max':
      return max;
    case 'min':
      return min;
    case 'none':
      return 0;
  }
}

// ---- inner_hits -----------------------------------------------------------------------------------

export interface InnerHit {
  _id: string;
  _nested: NestedIdentity;
  _score: number;
  _source?: Record<string, unknown>;
}

export interface NestedIdentity {
  field: string;
  offset: number;
  _nested?: NestedIdentity;
}

export interface InnerHitsResult {
  hits: { total: { value: number; relation: 'eq' }; max_score: number | null; hits: InnerHit[] };
}

/** The nested queries of a tree that return inner hits (those outside any other nested query), outermost first. */
export function innerHitQueries(q: Query, out: NestedQuery[] = []): NestedQuery[] {
  switch (q.kind) {
    case 'nested':
      if (q.innerHits) {
        if (out.some((o) => o.innerHits!.name === q.innerHits!.name)) throw new EngineError('illegal_argument_exception', `[inner_hits] already contains an entry for key [${q.innerHits.name}]`);
        out.push(q);
      }
      break;
    case 'bool':
      for (const c of q.must) innerHitQueries(c, out);
      for (const c of q.should) innerHitQueries(c, out);
      for (const c of q.filter) innerHitQueries(c, out);
      break;
    case 'dis_max':
      for (const c of q.queries) innerHitQueries(c, out);
      break;
    case 'constant_score':
      innerHitQueries(q.filter, out);
      break;
    case 'boosting':
      innerHitQueries(q.positive, out);
      break;
    case 'function_score':
      innerHitQueries(q.query, out);
      break;
  }
  return out;
}

/**
 * Inner hits of hits in one reader: per nested query and segment, the inner query runs once; a
 * hit's inner hits are its matching objects, best score first (then in document order).
 */
export class InnerHitsFetcher {
  private readonly perSegment = new Map<number, (NestedMatches | undefined)[]>();

  constructor(
    private readonly queries: readonly NestedQuery[],
    private readonly contextOf: (seg: number) => ExecContext,
    private readonly run: (q: Query, ctx: ExecContext) => DocSet,
  ) {}

  innerHits(seg: number, doc: number): Record<string, InnerHitsResult> {
    let matches = this.perSegment.get(seg);
    if (!matches) {
      const ctx = this.contextOf(seg);
      this.perSegment.set(seg, (matches = this.queries.map((q) => nestedMatches(q, ctx, this.run))));
    }
    const out: Record<string, InnerHitsResult> = {};
    this.queries.forEach((q, i) => {
      out[q.innerHits!.name] = innerHitsOf(q, matches[i], doc);
    });
    return out;
  }
}

function innerHitsOf(q: NestedQuery, m: NestedMatches | undefined, doc: number): InnerHitsResult {
  const spec = q.innerHits!;
  const picked: { child: number; score: number }[] = [];
  if (m) {
    const [lo, hi] = childRange(m.levels, doc);
    const { docs, scores } = m.set;
    for (let i = lowerBound(docs, lo); i < docs.length && docs[i]! < hi; i++) picked.push({ child: docs[i]!, score: scores[i]! });
  }
  picked.sort((a, b) => b.score - a.score || a.child - b.child);
  const deepest = m?.levels.at(-1)?.segment;
  const hits = picked.slice(spec.from, spec.from + spec.size).map(({ child, score }): InnerHit => {
    const hit: InnerHit = { _id: deepest!.id(child), _nested: identityOf(m!.levels, m!.chain, child), _score: score };
    if (spec.source !== null) hit._source = spec.source === undefined ? deepest!.source(child) : filterNestedSource(deepest!.source(child), q.path, spec.source);
    return hit;
  });
  return { hits: { total: { value: picked.length, relation: 'eq' }, max_score: picked.length > 0 ? picked[0]!.score : null, hits } };
}

/** `_nested`: the object's field and offset at each level, outermost first, field names relative to the level above. */
function identityOf(levels: readonly NestedDocs[], paths: readonly string[], child: number): NestedIdentity {
  let identity: NestedIdentity | undefined;
  let c = child;
  for (let i = levels.length - 1; i >= 0; i--) {
    const field = i === 0 ? paths[0]! : paths[i]!.slice(paths[i - 1]!.length + 1);
    identity = identity ? { field, offset: levels[i]!.offsetOf[c]!, _nested: identity } : { field, offset: levels[i]!.offsetOf[c]! };
    c = levels[i]!.parentOf[c]!;
  }
  return identity!;
}

/** `_source` filtering of a nested object, its patterns being full paths (`users.first`), as for a whole document. */
function filterNestedSource(object: Record<string, unknown>, path: string, spec: SourceSpec): Record<string, unknown> {
  const parts = path.split('.');
  let wrapped: Record<string, unknown> = object;
  for (let i = parts.length - 1; i >= 0; i--) wrapped = { [parts[i]!]: wrapped };
  let out: unknown = filterSource(wrapped, spec);
  for (const p of parts) out = isPlainObject(out) ? (out as Record<string, unknown>)[p] : undefined;
  return isPlainObject(out) ? (out as Record<string, unknown>) : {};
}

function lowerBound(list: Int32Array, x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- sort on a field inside a nested path ------------------------------------------------------------

/** One segment's view of a nested sort key: its objects, the filter's matches among them, the field's column. */
export interface NestedSortSource {
  levels: NestedDocs[];
  /** 1 for the objects the key's `filter` matches; undefined without a filter (every object). */
  mask: Uint8Array | undefined;
  column: Column | undefined;
}

export function nestedSortSource(key: SortKey, ctx: ExecContext, run: (q: Query, ctx: ExecContext) => DocSet): NestedSortSource | undefined {
  const path = key.nested!.path;
  const chain = ctx.mappings.nestedChain(undefined, path);
  const levels = chain && levelsOf(ctx.segment, chain);
  if (!chain || !levels) return undefined;
  const deepest = levels.at(-1)!.segment;
  let mask: Uint8Array | undefined;
  if (key.nested!.filter) {
    let stats: ShardStats = ctx.stats;
    for (const p of chain) stats = stats.nested(p);
    mask = new Uint8Array(deepest.maxDoc);
    for (const c of run(key.nested!.filter, { ...ctx, segment: deepest, stats, nestedPath: path }).docs) mask[c] = 1;
  }
  return { levels, mask, column: deepest.column(key.field) };
}

/**
 * The value a doc sorts by under `mode` (min ascending and max descending by default), from the
 * column's values of docs lo .. hi (one doc, or a parent's nested objects) that `mask` keeps;
 * undefined when they have none.
 */
export function sortValueOf(col: Column, lo: number, hi: number, mask: Uint8Array | undefined, mode: SortMode | undefined, order: 'asc' | 'desc'): number | string | undefined {
  const m = mode ?? (order === 'asc' ? 'min' : 'max');
  let count = 0;
  let sum = 0;
  let best = -1;
  for (let d = lo; d < hi; d++) {
    if (mask && mask[d] !== 1) continue;
    const from = col.offsets[d]!;
    const to = col.offsets[d + 1]!;
    if (from === to) continue;
    if (col.kind === 'numeric') {
      for (let i = from; i < to; i++) sum += col.values[i]!;
      const v = m === 'max' ? col.values[to - 1]! : col.values[from]!;
      if (count === 0 || (m === 'max' ? v > best : v < best)) best = v;
    } else {
      const ord = m === 'max' ? col.ords[to - 1]! : col.ords[from]!;
      if (count === 0 || (m === 'max' ? ord > best : ord < best)) best = ord;
    }
    count += to - from;
  }
  if (count === 0) return undefined;
  if (col.kind === 'keyword') return col.terms[best];
  return m === 'sum' ? sum : m === 'avg' ? sum / count : best;
}
