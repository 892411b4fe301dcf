/**
 * `function_score`, in Elasticsearch's shape and arithmetic: a query whose scores are recombined
 * with the scores of functions of each matching doc — `weight`, `field_value_factor`, the decay
 * functions `gauss`, `exp` and `linear` on numbers and dates, and `random_score` — each optionally
 * limited to the docs of a `filter`.
 *
 * Per doc, the functions whose filter it matches are combined by `score_mode` (multiply, sum,
 * avg weighted by the functions' weights, first, max, min; 1 when none matches), capped at
 * `max_boost`, and combined with the query's score by `boost_mode` (multiply, replace, sum, avg,
 * max, min). Docs scoring below `min_score` are left out; then `boost` applies.
 */
import type { DocSet, ExecContext, Query } from './query.ts';
import { fmix, hashNumber, hashString } from './aggs/hll.ts';
import { resolveDate } from './date-math.ts';
import { checkedScriptScore, parseScript, type Script, type ScriptRunner } from './script/index.ts';
import { timeValueMs } from './time-value.ts';
import { EngineError, isPlainObject, type NumericColumn } from './types.ts';

export type ScoreMode = 'multiply' | 'sum' | 'avg' | 'first' | 'max' | 'min';
export type BoostMode = 'multiply' | 'replace' | 'sum' | 'avg' | 'max' | 'min';
const SCORE_MODES: readonly ScoreMode[] = ['multiply', 'sum', 'avg', 'first', 'max', 'min'];
const BOOST_MODES: readonly BoostMode[] = ['multiply', 'replace', 'sum', 'avg', 'max', 'min'];

export type Modifier = 'none' | 'log' | 'log1p' | 'log2p' | 'ln' | 'ln1p' | 'ln2p' | 'square' | 'sqrt' | 'reciprocal';
const MODIFIERS: readonly Modifier[] = ['none', 'log', 'log1p', 'log2p', 'ln', 'ln1p', 'ln2p', 'square', 'sqrt', 'reciprocal'];

type MultiValueMode = 'min' | 'max' | 'avg' | 'sum';
const MULTI_VALUE_MODES: readonly MultiValueMode[] = ['min', 'max', 'avg', 'sum'];

export type ScoreFunctionSpec =
  | { type: 'weight' }
  | { type: 'field_value_factor'; field: string; factor: number; modifier: Modifier; missing: number | undefined }
  | { type: 'gauss' | 'exp' | 'linear'; field: string; origin: unknown; scale: unknown; offset: unknown; decay: number; multiValueMode: MultiValueMode }
  | { type: 'random_score'; seed: number; field: string | undefined }
  /** `_score` in the script is the inner query's score of the doc. */
  | { type: 'script_score'; script: Script };

export interface ScoreFunction {
  filter: Query | undefined;
  /** Multiplies the function's value; undefined: 1 (it still counts as 1 in `avg`). */
  weight: number | undefined;
  fn: ScoreFunctionSpec;
}

export interface FunctionScoreQuery {
  kind: 'function_score';
  query: Query;
  functions: ScoreFunction[];
  scoreMode: ScoreMode;
  boostMode: BoostMode;
  maxBoost: number;
  minScore: number | undefined;
  boost: number;
}

const FUNCTION_TYPES = ['field_value_factor', 'gauss', 'exp', 'linear', 'random_score', 'script_score'] as const;
const QUERY_KEYS = new Set(['query', 'functions', 'score_mode', 'boost_mode', 'max_boost', 'min_score', 'boost', '_name', 'weight', ...FUNCTION_TYPES]);
const FUNCTION_KEYS = new Set(['filter', 'weight', ...FUNCTION_TYPES]);
const FIELD_VALUE_FACTOR_KEYS = new Set(['field', 'factor', 'modifier', 'missing']);
const DECAY_KEYS = new Set(['origin', 'scale', 'offset', 'decay']);
const RANDOM_KEYS = new Set(['seed', 'field']);
const SCRIPT_SCORE_KEYS = new Set(['script']);

function parsing(reason: string): EngineError {
  return new EngineError('parsing_exception', reason);
}

function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

function objectOf(v: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw parsing(`[${what}] must be an object`);
  return v;
}

function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): void {
  for (const k in o) if (!allowed.has(k)) throw parsing(`[${what}] does not support [${k}]`);
}

function numberOf(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw parsing(`[${what}] must be a number`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw parsing(`[${what}] must be one of [${allowed.join(', ')}], got [${String(v)}]`);
  return v as T;
}

/**
 * Parse a `function_score` body. `parseSub` parses its query and filters (one level deeper).
 * The single-function shorthand (a function and `weight` beside `query`) is one unfiltered function.
 */
export function parseFunctionScore(b: Record<string, unknown>, boost: number, parseSub: (json: unknown) => Query): FunctionScoreQuery {
  onlyKeys(b, QUERY_KEYS, 'function_score');
  const topLevel = FUNCTION_TYPES.some((t) => b[t] !== undefined) || b.weight !== undefined;
  if (topLevel && b.functions !== undefined) {
    throw parsing('[function_score] already has a [functions] array; a function cannot also be given at the top level');
  }
  let functions: ScoreFunction[];
  if (topLevel) functions = [parseFunction({ weight: b.weight, ...pickFunctions(b) }, parseSub, false)];
  else if (b.functions === undefined) functions = [];
  else {
    if (!Array.isArray(b.functions)) throw parsing('[functions] must be an array');
    functions = b.functions.map((f) => parseFunction(objectOf(f, 'functions'), parseSub, true));
  }
  const maxBoost = b.max_boost === undefined ? Infinity : numberOf(b.max_boost, 'max_boost');
  return {
    kind: 'function_score',
    query: b.query === undefined ? { kind: 'match_all', boost: 1 } : parseSub(b.query),
    functions,
    scoreMode: b.score_mode === undefined ? 'multiply' : oneOf(b.score_mode, SCORE_MODES, 'score_mode'),
    boostMode: b.boost_mode === undefined ? 'multiply' : oneOf(b.boost_mode, BOOST_MODES, 'boost_mode'),
    maxBoost,
    minScore: b.min_score === undefined ? undefined : numberOf(b.min_score, 'min_score'),
    boost,
  };
}

function pickFunctions(b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of FUNCTION_TYPES) if (b[t] !== undefined) out[t] = b[t];
  return out;
}

function parseFunction(o: Record<string, unknown>, parseSub: (json: unknown) => Query, inList: boolean): ScoreFunction {
  onlyKeys(o, FUNCTION_KEYS, inList ? 'functions' : 'function_score');
  const present = FUNCTION_TYPES.filter((t) => o[t] !== undefined);
  if (present.length > 1) throw parsing(`a score function has one type, got [${present.join(', ')}]`);
  const weight = o.weight === undefined ? undefined : numberOf(o.weight, 'weight');
  if (weight !== undefined && weight < 0) throw illegal('[weight] must not be negative');
  if (present.length === 0 && weight === undefined) throw parsing('an entry in [functions] has neither a function nor a [weight]');
  const filter = o.filter === undefined ? undefined : parseSub(o.filter);
  const type = present[0];
  const fn: ScoreFunctionSpec = type === undefined ? { type: 'weight' } : parseSpec(type, o[type]);
  return { filter, weight, fn };
}

function parseSpec(type: (typeof FUNCTION_TYPES)[number], v: unknown): ScoreFunctionSpec {
  const o = objectOf(v, type);
  switch (type) {
    case 'field_value_factor': {
      onlyKeys(o, FIELD_VALUE_FACTOR_KEYS, type);
      if (typeof o.field !== 'string' || o.field === '') throw parsing('[field_value_factor] requires a [field]');
      return {
        type,
        field: o.field,
        factor: o.factor === undefined ? 1 : numberOf(o.factor, 'factor'),
        modifier: o.modifier === undefined ? 'none' : oneOf(o.modifier, MODIFIERS, 'modifier'),
        missing: o.missing === undefined ? undefined : numberOf(o.missing, 'missing'),
      };
    }
    case 'script_score':
      onlyKeys(o, SCRIPT_SCORE_KEYS, type);
      if (o.script === undefined) throw parsing('[script_score] requires a [script]');
      return { type, script: parseScript(o.script, 'score', 'script_score.script') };
    case 'random_score': {
      onlyKeys(o, RANDOM_KEYS, type);
      if (o.field !== undefined && (typeof o.field !== 'string' || o.field === '')) throw parsing('[random_score] [field] must be a field name');
      if (o.seed !== undefined && !Number.isInteger(o.seed) && typeof o.seed !== 'string') throw parsing('[random_score] [seed] must be an integer or a string');
      // Without a seed, scores differ from request to request (as Elasticsearch's do).
      const seed = o.seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : typeof o.seed === 'string' ? seeded(hashString(o.seed), 0) : (o.seed as number) | 0;
      return { type, seed, field: o.field as string | undefined };
    }
    default:
      return parseDecay(type, o);
  }
}

function parseDecay(type: 'gauss' | 'exp' | 'linear', o: Record<string, unknown>): ScoreFunctionSpec {
  let field: string | undefined;
  for (const k in o) {
    if (k === 'multi_value_mode') continue;
    if (field !== undefined) throw parsing(`[${type}] takes one field, got [${field}] and [${k}]`);
    field = k;
  }
  if (field === undefined) throw parsing(`[${type}] requires a field`);
  const p = objectOf(o[field], `${type}.${field}`);
  onlyKeys(p, DECAY_KEYS, `${type}.${field}`);
  if (p.scale === undefined) throw parsing(`[${type}] requires [scale]`);
  const decay = p.decay === undefined ? 0.5 : numberOf(p.decay, 'decay');
  if (!(decay > 0 && decay < 1)) throw illegal(`[decay] must be in the range (0, 1), got [${decay}]`);
  const multiValueMode = o.multi_value_mode === undefined ? 'min' : oneOf(o.multi_value_mode, MULTI_VALUE_MODES, 'multi_value_mode');
  return { type, field, origin: p.origin, scale: p.scale, offset: p.offset, decay, multiValueMode };
}

// ---- execution ----------------------------------------------------------------------------------

/** One function, bound to a segment: its value for a doc (weight included); `queryScore`: the inner query's score of the doc. */
interface LeafFunction {
  score(doc: number, queryScore: number): number;
}

/**
 * Run a function_score query on one segment. `run` executes its inner query and filters.
 */
export function executeFunctionScore(q: FunctionScoreQuery, ctx: ExecContext, run: (q: Query, ctx: ExecContext) => DocSet): DocSet {
  const inner = run(q.query, ctx);
  const k = q.functions.length;
  const leaves: LeafFunction[] = [];
  const filters: (Int32Array | undefined)[] = [];
  const weights: number[] = [];
  for (const f of q.functions) {
    leaves.push(leafFunction(f, ctx));
    filters.push(f.filter === undefined ? undefined : run(f.filter, ctx).docs);
    weights.push(f.weight ?? 1);
  }
  const cursors = new Int32Array(k);
  const matched = new Uint8Array(k);
  const n = inner.docs.length;
  const docs = new Int32Array(n);
  const scores = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const doc = inner.docs[i]!;
    for (let j = 0; j < k; j++) {
      const filter = filters[j];
      if (filter === undefined) {
        matched[j] = 1;
        continue;
      }
      let c = cursors[j]!;
      while (c < filter.length && filter[c]! < doc) c++;
      cursors[j] = c;
      matched[j] = c < filter.length && filter[c] === doc ? 1 : 0;
    }
    const factor = Math.min(combineFunctions(q.scoreMode, leaves, weights, matched, doc, inner.scores[i]!), q.maxBoost);
    const score = combineWithQuery(q.boostMode, inner.scores[i]!, factor);
    if (!(score >= 0)) throw illegal(`function score query returned an invalid score: ${score} for doc: ${doc}`);
    if (q.minScore !== undefined && score < q.minScore) continue;
    docs[m] = doc;
    scores[m++] = score * q.boost;
  }
  return { docs: docs.slice(0, m), scores: scores.slice(0, m) };
}

/** For explain: the value of each function the doc matches (its filter, if any), weight included. */
export function explainFunctions(q: FunctionScoreQuery, ctx: ExecContext, doc: number, queryScore: number, run: (q: Query, ctx: ExecContext) => DocSet): { value: number; description: string }[] {
  const out: { value: number; description: string }[] = [];
  for (const f of q.functions) {
    if (f.filter !== undefined && !run(f.filter, ctx).docs.includes(doc)) continue;
    const what = f.fn.type === 'weight' ? 'weight' : f.fn.type === 'random_score' ? `random_score(seed ${f.fn.seed})` : f.fn.type === 'script_score' ? `script_score(script: ${f.fn.script.source}, params: ${JSON.stringify(f.fn.script.paramsJson)})` : `${f.fn.type}(${f.fn.field})`;
    out.push({ value: leafFunction(f, ctx).score(doc, queryScore), description: `${what}${f.weight !== undefined && f.fn.type !== 'weight' ? ` × weight ${f.weight}` : ''}${f.filter ? ', its filter matched' : ''}` });
  }
  if (out.length === 0) out.push({ value: 1, description: 'no function matched: the factor is 1' });
  return out;
}

/** The functions a doc matches, combined by score_mode; 1 when it matches none. */
function combineFunctions(mode: ScoreMode, leaves: LeafFunction[], weights: number[], matched: Uint8Array, doc: number, queryScore: number): number {
  let factor = 1;
  let any = false;
  let total = 0;
  let weightSum = 0;
  for (let j = 0; j < leaves.length; j++) {
    if (matched[j] === 0) continue;
    const s = leaves[j]!.score(doc, queryScore);
    if (mode === 'first') return s;
    if (mode === 'multiply') factor *= s;
    else if (mode === 'max') factor = any ? Math.max(factor, s) : s;
    else if (mode === 'min') factor = any ? Math.min(factor, s) : s;
    else {
      total += s;
      weightSum += weights[j]!;
    }
    any = true;
  }
  if ((mode === 'sum' || mode === 'avg') && weightSum !== 0) return mode === 'avg' ? total / weightSum : total;
  return factor;
}

function combineWithQuery(mode: BoostMode, queryScore: number, factor: number): number {
  switch (mode) {
    case 'multiply':
      return queryScore * factor;
    case 'replace':
      return factor;
    case 'sum':
      return queryScore + factor;
    case 'avg':
      return (queryScore + factor) / 2;
    case 'max':
      return Math.max(queryScore, factor);
    case 'min':
      return Math.min(queryScore, factor);
  }
}

function leafFunction(f: ScoreFunction, ctx: ExecContext): LeafFunction {
  const weight = f.weight ?? 1;
  const spec = f.fn;
  switch (spec.type) {
    case 'weight':
      return new ConstantFunction(weight);
    case 'field_value_factor':
      return new FieldValueFactor(spec, numericColumn(ctx, spec.field, 'field_value_factor', spec.missing !== undefined), weight);
    case 'random_score':
      return new RandomScore(spec.seed, spec.field, ctx, weight);
    case 'script_score':
      return new ScriptScore(spec.script.bind(ctx.segment, ctx.mappings), weight);
    default:
      return decayFunction(spec, ctx, weight);
  }
}

/**
 * The field's numeric doc values in this segment (undefined: no doc of it has a value). An
 * unmapped field is an error unless the function has a value for docs without one (`missing`).
 */
function numericColumn(ctx: ExecContext, field: string, what: string, hasMissing: boolean): NumericColumn | undefined {
  const m = ctx.mappings.field(field);
  if (!m) {
    if (hasMissing) return undefined;
    throw illegal(`[${what}] unable to find a field mapper for field [${field}], and no [missing] value is defined`);
  }
  if (m.type !== 'long' && m.type !== 'double' && m.type !== 'date' && m.type !== 'boolean') {
    throw illegal(`[${what}] field [${field}] is of type [${m.type}], but only numeric and date fields are supported`);
  }
  const col = ctx.segment.column(field);
  return col?.kind === 'numeric' ? col : undefined;
}

/** script_score: the script's value (not negative), times the weight. */
class ScriptScore implements LeafFunction {
  constructor(
    private readonly runner: ScriptRunner,
    private readonly weight: number,
  ) {}

  score(doc: number, queryScore: number): number {
    return checkedScriptScore(this.runner.number(doc, queryScore, 'a script_score function'), doc) * this.weight;
  }
}

class ConstantFunction implements LeafFunction {
  constructor(private readonly value: number) {}
  score(): number {
    return this.value;
  }
}

class FieldValueFactor implements LeafFunction {
  constructor(
    private readonly spec: Extract<ScoreFunctionSpec, { type: 'field_value_factor' }>,
    private readonly col: NumericColumn | undefined,
    private readonly weight: number,
  ) {}

  score(doc: number): number {
    const col = this.col;
    // A doc's smallest value, as Elasticsearch reads the first of its sorted doc values.
    const has = col !== undefined && col.offsets[doc + 1]! > col.offsets[doc]!;
    if (!has && this.spec.missing === undefined) throw new EngineError('illegal_argument_exception', `Missing value for field [${this.spec.field}]`);
    const value = has ? col.values[col.offsets[doc]!]! : this.spec.missing!;
    const v = modify(this.spec.modifier, value * this.spec.factor);
    if (!Number.isFinite(v)) throw illegal(`Result of field modification [${this.spec.modifier}(${value * this.spec.factor})] must be a number`);
    if (v < 0) throw illegal(`field value function must not produce negative scores, but got: [${v}] for field value: [${value}]`);
    return v * this.weight;
  }
}

function modify(modifier: Modifier, v: number): number {
  switch (modifier) {
    case 'none':
      return v;
    case 'log':
      return Math.log10(v);
    case 'log1p':
      return Math.log10(v + 1);
    case 'log2p':
      return Math.log10(v + 2);
    case 'ln':
      return Math.log(v);
    case 'ln1p':
      return Math.log1p(v);
    case 'ln2p':
      return Math.log(v + 2);
    case 'square':
      return v * v;
    case 'sqrt':
      return Math.sqrt(v);
    case 'reciprocal':
      return 1 / v;
  }
}

/**
 * A decay function: 1 at `origin` (and within `offset` of it), `decay` at `offset + scale` from
 * it, falling as a Gaussian, an exponential or a line. A doc without a value scores 1.
 */
class DecayFunction implements LeafFunction {
  constructor(
    private readonly type: 'gauss' | 'exp' | 'linear',
    private readonly col: NumericColumn | undefined,
    private readonly origin: number,
    private readonly offset: number,
    /** The scale as each curve uses it (Elasticsearch's processScale). */
    private readonly curve: number,
    private readonly mode: MultiValueMode,
    private readonly weight: number,
  ) {}

  score(doc: number): number {
    const col = this.col;
    if (col === undefined) return this.weight;
    const lo = col.offsets[doc]!;
    const hi = col.offsets[doc + 1]!;
    if (hi === lo) return this.weight;
    let distance = this.mode === 'min' ? Infinity : this.mode === 'max' ? -Infinity : 0;
    for (let i = lo; i < hi; i++) {
      const d = Math.max(0, Math.abs(col.values[i]! - this.origin) - this.offset);
      if (this.mode === 'min') distance = Math.min(distance, d);
      else if (this.mode === 'max') distance = Math.max(distance, d);
      else distance += d;
    }
    if (this.mode === 'avg') distance /= hi - lo;
    return this.evaluate(distance) * this.weight;
  }

  private evaluate(distance: number): number {
    if (this.type === 'gauss') return Math.exp((0.5 * distance * distance) / this.curve);
    if (this.type === 'exp') return Math.exp(this.curve * distance);
    return Math.max(0, (this.curve - distance) / this.curve);
  }
}

function decayFunction(spec: Extract<ScoreFunctionSpec, { type: 'gauss' | 'exp' | 'linear' }>, ctx: ExecContext, weight: number): LeafFunction {
  const m = ctx.mappings.field(spec.field);
  if (!m) throw parsing(`unknown field [${spec.field}]`);
  const isDate = m.type === 'date';
  if (!isDate && m.type !== 'long' && m.type !== 'double') throw illegal(`field [${spec.field}] is of type [${m.type}], but only numeric and date fields are supported`);
  let origin: number;
  if (spec.origin === undefined) {
    if (!isDate) throw parsing(`[${spec.type}] on the numeric field [${spec.field}] requires an [origin]`);
    origin = ctx.now;
  } else origin = isDate ? resolveDate(spec.origin, m.format, false, ctx.now) : numberOf(spec.origin, 'origin');
  const scale = distanceOf(spec.scale, isDate, 'scale');
  if (!(scale > 0)) throw illegal(`[scale] must be positive, got [${String(spec.scale)}]`);
  const offset = spec.offset === undefined ? 0 : distanceOf(spec.offset, isDate, 'offset');
  if (!(offset >= 0)) throw illegal(`[offset] must not be negative, got [${String(spec.offset)}]`);
  const curve = spec.type === 'gauss' ? (0.5 * scale * scale) / Math.log(spec.decay) : spec.type === 'exp' ? Math.log(spec.decay) / scale : scale / (1 - spec.decay);
  const col = ctx.segment.column(spec.field);
  return new DecayFunction(spec.type, col?.kind === 'numeric' ? col : undefined, origin, offset, curve, spec.multiValueMode, weight);
}

/** A scale or offset: a number, or on a date field a time value such as `10d` (in ms). */
function distanceOf(v: unknown, isDate: boolean, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (isDate && typeof v === 'string') {
    const ms = timeValueMs(v);
    if (ms !== undefined) return ms;
  }
  throw parsing(`[${what}] must be ${isDate ? 'a time value such as 10d or a number of milliseconds' : 'a number'}, got [${String(v)}]`);
}

/**
 * Uniform in [0, 1) and the same for a doc on every request with the same seed: a hash of the
 * seed and the doc's value of `field` (its `_id` without one).
 */
class RandomScore implements LeafFunction {
  private readonly col: NumericColumn | undefined;
  constructor(
    private readonly seed: number,
    private readonly field: string | undefined,
    private readonly ctx: ExecContext,
    private readonly weight: number,
  ) {
    const col = field === undefined || field === '_id' ? undefined : ctx.segment.column(field);
    if (field !== undefined && field !== '_id' && col?.kind === 'keyword') throw illegal(`[random_score] field [${field}] must be numeric (or _id)`);
    this.col = col?.kind === 'numeric' ? col : undefined;
  }

  score(doc: number): number {
    let h: number;
    if (this.field === undefined || this.field === '_id') h = seeded(hashString(this.ctx.segment.id(doc)), this.seed);
    else {
      const col = this.col;
      const has = col !== undefined && col.offsets[doc + 1]! > col.offsets[doc]!;
      h = seeded(hashNumber(has ? col.values[col.offsets[doc]!]! : 0), this.seed);
    }
    // 24 bits, as Elasticsearch's RandomScoreFunction keeps.
    return ((h >>> 8) / 2 ** 24) * this.weight;
  }
}

/** A value's 53-bit murmur3 hash (the one cardinality uses), mixed with the seed, as 32 bits. */
function seeded(hash: number, seed: number): number {
  return fmix((hash % 2 ** 32) ^ seed) >>> 0;
}
