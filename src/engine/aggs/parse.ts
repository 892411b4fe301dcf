/**
 * Parsing and validation of the `aggs` / `aggregations` object of a search request into `AggNode`s.
 * Structural problems (not an object, unknown aggregation type or parameter, wrong JSON type) are
 * `parsing_exception`; bad values (size 0, missing field, bad interval, bad order path) are
 * `illegal_argument_exception`.
 */

import { EngineError, isPlainObject } from '../types.ts';
import { parseComposite } from './composite.ts';
import { makeDateFormatter, parseDateValue, parseOffset, parseTimeZone } from './dates.ts';
import { DEFAULT_PRECISION_THRESHOLD, MAX_PRECISION_THRESHOLD } from './hll.ts';
import { jsonType, Params, parseDateInterval, parseDir, TEXT_TYPES } from './params.ts';
import { EXTENDED_STATS_METRICS } from './extended-stats.ts';
import { DEFAULT_PERCENTS } from './percentiles.ts';
import { DEFAULT_COMPRESSION } from './tdigest.ts';
import type { AggNode, AggType, BucketOrder, KeyFormat, RangeSpec, SortDir, SortSpec, TermFilter } from './types.ts';
import { illegal, javaDouble, parseSourceSpec, parsing } from './util.ts';
import type { Key } from './util.ts';

export interface ParseOptions {
  /**
   * The mapped type of a field (`keyword`, `long`, `double`, `date`, `boolean`, `text`, …), or
   * undefined if unmapped. Optional: it enables `key_as_string` / `value_as_string` for date and
   * boolean fields and early errors (text fields, numeric aggregations on keyword fields).
   */
  fieldType?: (field: string) => string | undefined;
  /**
   * Validates/compiles the query of a `filters` / `filter` aggregation at parse time. Whatever it
   * returns is stored in the node and handed back to `CollectOptions.resolveFilter`. Without it the
   * raw query object is stored.
   */
  parseFilter?: (query: unknown) => unknown;
}

const TYPES: readonly AggType[] = [
  'terms',
  'range',
  'histogram',
  'date_histogram',
  'filters',
  'filter',
  'missing',
  'nested',
  'reverse_nested',
  'min',
  'max',
  'avg',
  'sum',
  'stats',
  'extended_stats',
  'percentiles',
  'percentile_ranks',
  'value_count',
  'cardinality',
  'top_hits',
  'composite',
];

const BUCKET_TYPES = new Set<AggType>(['terms', 'range', 'histogram', 'date_histogram', 'filters', 'filter', 'missing', 'nested', 'reverse_nested', 'composite']);
const SINGLE_VALUE_METRICS = new Set<AggType>(['min', 'max', 'avg', 'sum', 'value_count', 'cardinality']);
const STATS_METRICS = new Set(['count', 'min', 'max', 'avg', 'sum']);

/** Picks the aggregations object out of a search request body (`aggs` or `aggregations`). */
export function aggsOfRequest(body: unknown): unknown {
  if (!isPlainObject(body)) return undefined;
  const a = body['aggs'];
  const b = body['aggregations'];
  if (a !== undefined && b !== undefined) {
    throw parsing('Found two aggregation definitions: [aggs] and [aggregations]');
  }
  return a ?? b;
}

/**
 * Parses the `aggs` / `aggregations` object of a search request (`undefined`/`null` → no
 * aggregations). Throws `EngineError` (`parsing_exception` or `illegal_argument_exception`).
 */
export function parseAggs(request: unknown, options: ParseOptions = {}): AggNode[] {
  if (request === undefined || request === null) return [];
  return parseLevel(request, options, undefined, 0);
}

/** How deep sub-aggregations may nest. */
export const MAX_AGGS_DEPTH = 30;

function parseLevel(aggs: unknown, opts: ParseOptions, parent: string | undefined, depth: number): AggNode[] {
  if (depth > MAX_AGGS_DEPTH) throw illegal(`aggregations nest deeper than ${MAX_AGGS_DEPTH} levels (under [${parent}])`);
  if (!isPlainObject(aggs)) {
    throw parsing(
      `Expected [START_OBJECT] for aggregations${parent ? ` under [${parent}]` : ''}, but got [${jsonType(aggs)}]`,
    );
  }
  const nodes: AggNode[] = [];
  for (const [name, def] of Object.entries(aggs)) {
    if (name.length === 0) throw parsing('Aggregation name must not be empty');
    if (/[[\]>]/.test(name)) {
      throw parsing(
        `Invalid aggregation name [${name}]. Aggregation names can contain any character except '[', ']', and '>'`,
      );
    }
    if (!isPlainObject(def)) {
      throw parsing(`Expected [START_OBJECT] under [${name}], but got a [${jsonType(def)}] in [${name}]`);
    }
    let type: string | undefined;
    let params: unknown;
    let subs: unknown;
    let meta: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(def)) {
      if (k === 'aggs' || k === 'aggregations') {
        if (subs !== undefined) throw parsing(`Found two sub aggregation definitions under [${name}]`);
        subs = v;
      } else if (k === 'meta') {
        if (!isPlainObject(v)) throw parsing(`[meta] of aggregation [${name}] must be an object`);
        meta = v;
      } else {
        if (type !== undefined) {
          throw parsing(`Found two aggregation type definitions in [${name}]: [${type}] and [${k}]`);
        }
        type = k;
        params = v;
      }
    }
    if (type === undefined) throw parsing(`Missing definition for aggregation [${name}]`);
    if (!(TYPES as readonly string[]).includes(type)) {
      throw parsing(`Unknown aggregation type [${type}] for aggregation [${name}]`);
    }
    const t = type as AggType;
    if (!isPlainObject(params)) {
      throw parsing(`[${t}] expected [START_OBJECT] in aggregation [${name}], but got [${jsonType(params)}]`);
    }
    if (t === 'composite' && parent !== undefined) {
      // As Elasticsearch: paging by `after` only makes sense over the whole result.
      throw illegal(`[composite] aggregation cannot be used with a parent aggregation ([${name}] is under [${parent}])`);
    }
    const children = subs === undefined ? [] : parseLevel(subs, opts, name, depth + 1);
    if (children.length > 0 && !BUCKET_TYPES.has(t)) {
      throw parsing(`Aggregator [${name}] of type [${t}] cannot accept sub-aggregations`);
    }
    nodes.push(parseNode(t, name, params, children, meta, opts));
  }
  return nodes;
}

function keyFormatOf(opts: ParseOptions, field: string): KeyFormat {
  const t = opts.fieldType?.(field);
  if (t === 'date' || t === 'date_nanos') return { kind: 'date', format: makeDateFormatter(undefined, 0) };
  if (t === 'boolean') return { kind: 'boolean' };
  return undefined;
}

function orderPathError(path: string, why: string): EngineError {
  return illegal(`Invalid aggregation order path [${path}]. ${why}`);
}

/** `order` of terms / histogram / date_histogram, validated against the sub-aggregations. */
function parseOrder(v: unknown, p: Params, subs: readonly AggNode[], keyAliases: readonly string[]): BucketOrder[] {
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) throw illegal(`[order] must not be empty in aggregation [${p.name}]`);
  const out: BucketOrder[] = [];
  for (const item of items) {
    if (!isPlainObject(item) || Object.keys(item).length !== 1) {
      throw parsing(`[order] of aggregation [${p.name}] must be an object with one key (or an array of them)`);
    }
    const [path, dirRaw] = Object.entries(item)[0]!;
    const dir = parseDir(dirRaw, path);
    if (path === '_count') {
      out.push({ kind: '_count', dir });
      continue;
    }
    if (path === '_key' || keyAliases.includes(path)) {
      out.push({ kind: '_key', dir });
      continue;
    }
    if (path.includes('>')) {
      throw orderPathError(path, 'Paths through several aggregations (with [>]) are not supported.');
    }
    let agg = path;
    let metric: string | undefined;
    if (!subs.some((s) => s.name === path)) {
      const br = /^(.*)\[([^\]]*)\]$/.exec(path);
      if (br) {
        agg = br[1]!;
        metric = br[2]!;
      } else {
        // The longest prefix that names a sub-aggregation: `pct.99.9` is percentile 99.9 of `pct`.
        let dot = path.lastIndexOf('.');
        while (dot > 0 && !subs.some((s) => s.name === path.slice(0, dot))) dot = path.lastIndexOf('.', dot - 1);
        if (dot <= 0) dot = path.lastIndexOf('.');
        if (dot > 0) {
          agg = path.slice(0, dot);
          metric = path.slice(dot + 1);
        }
      }
    }
    const sub = subs.find((s) => s.name === agg);
    if (!sub) {
      throw orderPathError(
        path,
        `The provided aggregation [${agg}] either does not exist, or is a pipeline aggregation and cannot be used to sort the buckets.`,
      );
    }
    if (SINGLE_VALUE_METRICS.has(sub.type)) {
      if (metric !== undefined && metric !== 'value') {
        throw orderPathError(path, `[${agg}] is a single-value metrics aggregation: it has no metric [${metric}].`);
      }
      metric = undefined;
    } else if (sub.type === 'stats' || sub.type === 'extended_stats') {
      if (metric === undefined) {
        throw orderPathError(path, 'When ordering on a multi-value metrics aggregation a metric name must be specified.');
      }
      if (!(sub.type === 'stats' ? STATS_METRICS : EXTENDED_STATS_METRICS).has(metric)) {
        throw orderPathError(path, `Unknown metric name [${metric}] on multi-value metrics aggregation [${agg}]`);
      }
    } else if (sub.type === 'percentiles' || sub.type === 'percentile_ranks') {
      if (metric === undefined) {
        throw orderPathError(path, 'When ordering on a multi-value metrics aggregation a metric name must be specified.');
      }
      const key = metric.trim() === '' ? NaN : Number(metric);
      const what = sub.type === 'percentiles' ? 'a percent between 0 and 100' : 'a number (the value to rank)';
      if (!Number.isFinite(key) || (sub.type === 'percentiles' && (key < 0 || key > 100))) {
        throw orderPathError(path, `[${metric}] of [${agg}] is not ${what}.`);
      }
    } else if (sub.type === 'filter' || sub.type === 'missing' || sub.type === 'nested' || sub.type === 'reverse_nested') {
      if (metric !== undefined && metric !== '_count' && metric !== 'doc_count') {
        throw orderPathError(path, `[${agg}] is a single-bucket aggregation: only its [_count] can be used.`);
      }
      metric = '_count';
    } else {
      throw orderPathError(
        path,
        'Buckets can only be sorted on a sub-aggregator path that is built out of zero or more single-bucket aggregations within the path and a final single-bucket or a metrics aggregation at the path end.',
      );
    }
    out.push({ kind: 'metric', dir, path, agg, metric });
  }
  const last = out[out.length - 1]!;
  if (last.kind !== '_key') out.push({ kind: '_key', dir: 'asc' });
  return out;
}

function parseTermFilter(v: unknown, p: Params, key: string): TermFilter | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    try {
      return { kind: 'regex', re: new RegExp(`^(?:${v})$`) };
    } catch {
      throw illegal(`[${key}] of aggregation [${p.name}] is not a valid regular expression: [${v}]`);
    }
  }
  if (Array.isArray(v)) {
    const values = new Set<Key>();
    for (const x of v) {
      if (typeof x === 'string') values.add(x);
      else if (typeof x === 'number' && Number.isFinite(x)) values.add(x === 0 ? 0 : x);
      else if (typeof x === 'boolean') values.add(x ? 1 : 0);
      else throw parsing(`[${key}] of aggregation [${p.name}] must hold strings or numbers`);
    }
    return { kind: 'set', values };
  }
  if (isPlainObject(v)) throw illegal(`[${key}] partitions are not supported (aggregation [${p.name}])`);
  throw parsing(`[${key}] of aggregation [${p.name}] must be a regular expression or an array of values`);
}

function parseNode(
  type: AggType,
  name: string,
  obj: Record<string, unknown>,
  aggs: AggNode[],
  meta: Record<string, unknown> | undefined,
  opts: ParseOptions,
): AggNode {
  switch (type) {
    case 'terms': {
      const p = new Params(type, name, obj, [
        'field',
        'size',
        'shard_size',
        'min_doc_count',
        'shard_min_doc_count',
        'order',
        'missing',
        'include',
        'exclude',
        'show_term_doc_count_error',
        'execution_hint',
        'collect_mode',
      ]);
      const field = p.field(opts);
      const size = p.positive('size', 10);
      const defaultShardSize = Math.min(2 ** 31 - 1, Math.floor(size * 1.5 + 10));
      const shardSize = Math.max(size, p.has('shard_size') ? p.positive('shard_size', size) : defaultShardSize);
      const minDocCount = p.nonNegative('min_doc_count', 1);
      const shardMinDocCount = Math.min(minDocCount, p.nonNegative('shard_min_doc_count', 0));
      const order =
        obj['order'] === undefined
          ? ([
              { kind: '_count', dir: 'desc' },
              { kind: '_key', dir: 'asc' },
            ] as BucketOrder[])
          : parseOrder(obj['order'], p, aggs, ['_term']);
      let missing: string | number | undefined;
      const m = obj['missing'];
      if (m !== undefined) {
        if (typeof m === 'string') missing = m;
        else if (typeof m === 'number' && Number.isFinite(m)) missing = m === 0 ? 0 : m;
        else if (typeof m === 'boolean') missing = m ? 1 : 0;
        else throw parsing(`[missing] of aggregation [${name}] must be a string, number or boolean`);
      }
      const hint = obj['execution_hint'];
      if (hint !== undefined && typeof hint !== 'string') throw parsing(`[execution_hint] must be a string`);
      const mode = obj['collect_mode'];
      if (mode !== undefined && mode !== 'depth_first' && mode !== 'breadth_first') {
        throw illegal(`[collect_mode] must be [depth_first] or [breadth_first] in aggregation [${name}]`);
      }
      return {
        type,
        name,
        aggs,
        meta,
        field,
        size,
        shardSize,
        minDocCount,
        shardMinDocCount,
        order,
        missing,
        include: parseTermFilter(obj['include'], p, 'include'),
        exclude: parseTermFilter(obj['exclude'], p, 'exclude'),
        showTermDocCountError: p.bool('show_term_doc_count_error', false),
        keyFormat: keyFormatOf(opts, field),
      };
    }
    case 'range': {
      const p = new Params(type, name, obj, ['field', 'ranges', 'keyed', 'missing']);
      const field = p.field(opts);
      const keyFormat = keyFormatOf(opts, field);
      const isDate = keyFormat?.kind === 'date';
      const raw = obj['ranges'];
      if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
        throw illegal(`No [ranges] specified for the [${name}] aggregation`);
      }
      if (!Array.isArray(raw)) throw parsing(`[ranges] of aggregation [${name}] must be an array`);
      const bound = (v: unknown, k: string): number | undefined => {
        if (v === undefined || v === null) return undefined;
        if (isDate && typeof v === 'string' && !/^-?\d+(\.\d+)?$/.test(v.trim())) return parseDateValue(v, name);
        return p.toNum(k, v);
      };
      const fmt = (v: number | undefined): string =>
        v === undefined ? '*' : isDate ? keyFormat.format(v) : javaDouble(v);
      const ranges: RangeSpec[] = raw.map((r) => {
        if (!isPlainObject(r)) throw parsing(`[ranges] of aggregation [${name}] must hold objects`);
        for (const k of Object.keys(r)) {
          if (k !== 'from' && k !== 'to' && k !== 'key') throw parsing(`[range] unknown field [${k}] in aggregation [${name}]`);
        }
        const from = bound(r['from'], 'from');
        const to = bound(r['to'], 'to');
        const key = r['key'];
        if (key !== undefined && typeof key !== 'string') throw parsing(`[key] of a range must be a string`);
        return { key: key ?? `${fmt(from)}-${fmt(to)}`, from, to };
      });
      ranges.sort(
        (a, b) =>
          (a.from ?? -Infinity) - (b.from ?? -Infinity) || (a.to ?? Infinity) - (b.to ?? Infinity) || 0,
      );
      const missing = obj['missing'] === undefined ? undefined : bound(obj['missing'], 'missing');
      return { type, name, aggs, meta, field, ranges, keyed: p.bool('keyed', false), missing, keyFormat };
    }
    case 'histogram': {
      const p = new Params(type, name, obj, [
        'field',
        'interval',
        'offset',
        'min_doc_count',
        'extended_bounds',
        'order',
        'keyed',
        'missing',
      ]);
      const field = p.field(opts);
      const interval = p.num('interval');
      if (interval === undefined || !(interval > 0)) {
        throw illegal(`[interval] must be >0 for histogram aggregation [${name}]`);
      }
      const extendedBounds = parseExtendedBounds(obj['extended_bounds'], name, (key, v) => p.toNum(`extended_bounds.${key}`, v));
      return {
        type,
        name,
        aggs,
        meta,
        field,
        interval,
        offset: p.num('offset') ?? 0,
        minDocCount: p.nonNegative('min_doc_count', 0),
        extendedBounds,
        order: obj['order'] === undefined ? [{ kind: '_key', dir: 'asc' }] : parseOrder(obj['order'], p, aggs, []),
        keyed: p.bool('keyed', false),
        missing: p.num('missing'),
      };
    }
    case 'date_histogram': {
      const p = new Params(type, name, obj, [
        'field',
        'calendar_interval',
        'fixed_interval',
        'interval',
        'offset',
        'time_zone',
        'min_doc_count',
        'extended_bounds',
        'order',
        'keyed',
        'missing',
        'format',
      ]);
      const field = p.field(opts);
      const interval = parseDateInterval(p);
      const tzMs = obj['time_zone'] === undefined ? 0 : parseTimeZone(obj['time_zone']);
      const offsetMs = obj['offset'] === undefined ? 0 : parseOffset(obj['offset'], 'offset');
      const format = makeDateFormatter(p.str('format'), tzMs);
      const extendedBounds = parseExtendedBounds(obj['extended_bounds'], name, (_key, v) => parseDateValue(v, name));
      return {
        type,
        name,
        aggs,
        meta,
        field,
        interval,
        offsetMs,
        tzMs,
        minDocCount: p.nonNegative('min_doc_count', 0),
        extendedBounds,
        order:
          obj['order'] === undefined ? [{ kind: '_key', dir: 'asc' }] : parseOrder(obj['order'], p, aggs, ['_time']),
        keyed: p.bool('keyed', false),
        missing: obj['missing'] === undefined ? undefined : parseDateValue(obj['missing'], name),
        format,
      };
    }
    case 'filters': {
      const p = new Params(type, name, obj, ['filters', 'other_bucket', 'other_bucket_key', 'keyed']);
      const raw = obj['filters'];
      const compile = (q: unknown, key: string): unknown => {
        if (!isPlainObject(q)) throw parsing(`filter [${key}] of aggregation [${name}] must be a query object`);
        return opts.parseFilter ? opts.parseFilter(q) : q;
      };
      let filters: { key: string; query: unknown }[];
      let keyed: boolean;
      if (Array.isArray(raw)) {
        filters = raw.map((q, i) => ({ key: String(i), query: compile(q, String(i)) }));
        keyed = false;
        if (p.bool('keyed', false)) throw illegal(`[keyed] needs named filters in aggregation [${name}]`);
      } else if (isPlainObject(raw)) {
        filters = Object.keys(raw)
          .sort()
          .map((key) => ({ key, query: compile(raw[key], key) }));
        keyed = p.bool('keyed', true);
      } else if (raw === undefined) {
        throw illegal(`[filters] must be specified in aggregation [${name}]`);
      } else {
        throw parsing(`[filters] of aggregation [${name}] must be an object of named queries or an array of queries`);
      }
      if (filters.length === 0) throw illegal(`[filters] cannot be empty (aggregation [${name}])`);
      const otherKey = p.str('other_bucket_key');
      const other = p.bool('other_bucket', otherKey !== undefined);
      return { type, name, aggs, meta, filters, keyed, otherBucketKey: other ? (otherKey ?? '_other_') : undefined };
    }
    case 'filter': {
      if (Object.keys(obj).length === 0) throw illegal(`[filter] of aggregation [${name}] must be a query`);
      return { type, name, aggs, meta, query: opts.parseFilter ? opts.parseFilter(obj) : obj };
    }
    case 'missing': {
      const p = new Params(type, name, obj, ['field']);
      return { type, name, aggs, meta, field: p.field(opts) };
    }
    case 'nested': {
      const p = new Params(type, name, obj, ['path']);
      const path = p.str('path');
      if (path === undefined || path === '') throw illegal(`[path] must be specified in aggregation [${name}]`);
      return { type, name, aggs, meta, path };
    }
    case 'reverse_nested': {
      const p = new Params(type, name, obj, ['path']);
      const path = p.str('path');
      return { type, name, aggs, meta, path: path === '' ? undefined : path };
    }
    case 'min':
    case 'max':
    case 'avg':
    case 'sum':
    case 'stats': {
      const p = new Params(type, name, obj, ['field', 'missing']);
      const field = p.field(opts);
      const keyFormat = keyFormatOf(opts, field);
      return { type, name, aggs, meta, field, missing: metricMissing(p, keyFormat), keyFormat };
    }
    case 'extended_stats': {
      const p = new Params(type, name, obj, ['field', 'missing', 'sigma']);
      const field = p.field(opts);
      const keyFormat = keyFormatOf(opts, field);
      const sigma = p.num('sigma') ?? 2;
      if (sigma < 0) throw illegal(`[sigma] must be greater than or equal to 0. Found [${sigma}] in [${name}]`);
      return { type, name, aggs, meta, field, missing: metricMissing(p, keyFormat), keyFormat, sigma };
    }
    case 'percentiles':
    case 'percentile_ranks': {
      const keysParam = type === 'percentiles' ? 'percents' : 'values';
      const p = new Params(type, name, obj, ['field', keysParam, 'keyed', 'missing', 'tdigest', 'hdr']);
      if (obj['hdr'] !== undefined) {
        throw illegal(`[hdr] is not supported (aggregation [${name}]): ${type} are computed with a t-digest only; use [tdigest] or leave both out`);
      }
      const field = p.field(opts);
      const keyFormat = keyFormatOf(opts, field);
      return {
        type,
        name,
        aggs,
        meta,
        field,
        keys: parsePercentKeys(p, keysParam),
        keyed: p.bool('keyed', true),
        missing: metricMissing(p, keyFormat),
        compression: parseCompression(p),
        keyFormat,
      };
    }
    case 'value_count': {
      const p = new Params(type, name, obj, ['field']);
      return { type, name, aggs, meta, field: p.field(opts) };
    }
    case 'cardinality': {
      const p = new Params(type, name, obj, ['field', 'precision_threshold']);
      const field = p.field(opts);
      const t = p.nonNegative('precision_threshold', DEFAULT_PRECISION_THRESHOLD);
      return { type, name, aggs, meta, field, precisionThreshold: Math.min(t, MAX_PRECISION_THRESHOLD) };
    }
    case 'composite':
      return parseComposite(name, obj, aggs, meta, opts);
    case 'top_hits': {
      const p = new Params(type, name, obj, ['from', 'size', 'sort', '_source', 'track_scores']);
      const from = p.nonNegative('from', 0);
      const size = p.nonNegative('size', 3);
      if (from + size > 100) {
        throw illegal(
          `Top hits result window is too large, the top hits aggregator [${name}]'s from + size must be less than or equal to: [100] but was [${from + size}]. This limit can be set by changing the [index.max_inner_result_window] index level setting.`,
        );
      }
      const explicitSort = obj['sort'] !== undefined;
      const sort = explicitSort ? parseSort(obj['sort'], name, opts) : [{ kind: 'score', dir: 'desc' } as const];
      return {
        type,
        name,
        aggs,
        meta,
        from,
        size,
        sort,
        explicitSort,
        source: parseSourceSpec(obj['_source'], ` of top_hits aggregation [${name}]`),
        trackScores: p.bool('track_scores', false),
      };
    }
  }
}

/** `missing` of a numeric metric: a number, a boolean (0/1), or a date for date fields. */
function metricMissing(p: Params, keyFormat: KeyFormat): number | undefined {
  const m = p.obj['missing'];
  if (m === undefined) return undefined;
  if (keyFormat?.kind === 'date') return parseDateValue(m, p.name);
  return typeof m === 'boolean' ? Number(m) : p.toNum('missing', m);
}

/** `percents` of percentiles (default 1…99, each in [0, 100]) or `values` of percentile_ranks (required), sorted. */
function parsePercentKeys(p: Params, key: 'percents' | 'values'): number[] {
  const raw = p.obj[key];
  if (raw === undefined || raw === null) {
    if (key === 'percents') return [...DEFAULT_PERCENTS];
    throw illegal(`[values] must not be null: [${p.name}]`);
  }
  if (!Array.isArray(raw)) throw parsing(`[${p.type}] [${key}] of aggregation [${p.name}] must be an array of numbers`);
  if (raw.length === 0) {
    throw illegal(key === 'percents' ? `[percents] must not be empty: [${p.name}]` : `[values] must not be an empty array: [${p.name}]`);
  }
  const keys = raw.map((v) => p.toNum(key, v));
  if (key === 'percents') {
    for (const k of keys) if (k < 0 || k > 100) throw illegal(`percent must be in [0,100], got [${k}]: [${p.name}]`);
  }
  return keys.sort((a, b) => a - b);
}

/** `tdigest: {compression}` (default 100, > 0). */
function parseCompression(p: Params): number {
  const td = p.obj['tdigest'];
  if (td === undefined) return DEFAULT_COMPRESSION;
  if (!isPlainObject(td)) throw parsing(`[${p.type}] [tdigest] of aggregation [${p.name}] must be an object`);
  for (const k of Object.keys(td)) {
    if (k !== 'compression') throw parsing(`[tdigest] unknown field [${k}] in aggregation [${p.name}]`);
  }
  if (td['compression'] === undefined) return DEFAULT_COMPRESSION;
  const c = p.toNum('tdigest.compression', td['compression']);
  if (!(c > 0)) throw illegal(`[compression] must be greater than 0. Found [${c}] in [${p.name}]`);
  return c;
}

function parseSort(v: unknown, name: string, opts: ParseOptions): SortSpec[] {
  const items = Array.isArray(v) ? v : [v];
  const out: SortSpec[] = [];
  const fieldSpec = (field: string, o: Record<string, unknown>): SortSpec => {
    for (const k of Object.keys(o)) {
      if (!['order', 'missing', 'mode', 'unmapped_type'].includes(k)) {
        throw parsing(`[sort] unknown field [${k}] in top_hits aggregation [${name}]`);
      }
    }
    const dir = o['order'] === undefined ? (field === '_score' ? 'desc' : 'asc') : parseDir(o['order'], field);
    if (field === '_score') return { kind: 'score', dir };
    if (field === '_doc') return { kind: 'doc', dir };
    const t = opts.fieldType?.(field);
    if (t !== undefined && TEXT_TYPES.has(t)) {
      throw illegal(
        `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`,
      );
    }
    const modeRaw = o['mode'];
    let mode: 'min' | 'max' | 'sum' | 'avg' = dir === 'asc' ? 'min' : 'max';
    if (modeRaw !== undefined) {
      if (modeRaw !== 'min' && modeRaw !== 'max' && modeRaw !== 'sum' && modeRaw !== 'avg') {
        throw illegal(`Unknown sort mode [${String(modeRaw)}]: expected one of min, max, sum, avg`);
      }
      mode = modeRaw;
    }
    const m = o['missing'];
    let missing: '_first' | '_last' | number | string = '_last';
    if (m !== undefined) {
      if (m === '_first' || m === '_last' || typeof m === 'string') missing = m;
      else if (typeof m === 'number' && Number.isFinite(m)) missing = m;
      else throw parsing(`[missing] of sort [${field}] must be [_first], [_last] or a value`);
    }
    return { kind: 'field', field, dir, mode, missing };
  };
  for (const item of items) {
    if (typeof item === 'string') out.push(fieldSpec(item, {}));
    else if (isPlainObject(item) && Object.keys(item).length === 1) {
      const [field, spec] = Object.entries(item)[0]!;
      if (typeof spec === 'string') out.push(fieldSpec(field, { order: spec }));
      else if (isPlainObject(spec)) out.push(fieldSpec(field, spec));
      else throw parsing(`[sort] of [${field}] must be a direction or an object in top_hits aggregation [${name}]`);
    } else throw parsing(`[sort] of top_hits aggregation [${name}] must be a field name, an object or an array of them`);
  }
  return out;
}

/** `extended_bounds` of a (date) histogram: optional min/max, converted by `toValue`, min <= max. */
function parseExtendedBounds(
  eb: unknown,
  name: string,
  toValue: (key: 'min' | 'max', v: unknown) => number,
): { min: number | undefined; max: number | undefined } | undefined {
  if (eb === undefined) return undefined;
  if (!isPlainObject(eb)) throw parsing(`[extended_bounds] of aggregation [${name}] must be an object`);
  for (const k of Object.keys(eb)) {
    if (k !== 'min' && k !== 'max') throw parsing(`[extended_bounds] unknown field [${k}]`);
  }
  const min = eb['min'] === undefined || eb['min'] === null ? undefined : toValue('min', eb['min']);
  const max = eb['max'] === undefined || eb['max'] === null ? undefined : toValue('max', eb['max']);
  if (min !== undefined && max !== undefined && min > max) {
    throw illegal(`[extended_bounds.min][${min}] cannot be greater than [extended_bounds.max][${max}] for histogram aggregation [${name}]`);
  }
  return { min, max };
}
