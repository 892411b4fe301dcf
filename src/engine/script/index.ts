/**
 * Scripts in search requests: `{ source, params, lang }` (or a bare source string), parsed and
 * compiled once per request (compiled programs are cached by source in a small LRU, as
 * Elasticsearch caches compiled scripts), then bound to one segment at a time and run per doc.
 * The language is a Painless subset (see docs/ENGINE.md, "Scripts").
 */
import { EngineError, isPlainObject, type Column } from '../types.ts';
import { compileProgram, isUpdateContext, ScriptState, type CompiledProgram, type DocAccess, type ScriptContext } from './compile.ts';
import { UpdateScriptRunner } from './update.ts';
import { asScriptError, runtimeError, ScriptRuntimeFault } from './errors.ts';
import { DocValues, freeze, fromJson, typeName, type ScriptMap, type Value } from './runtime.ts';

export type { ScriptContext, UpdateScriptContext } from './compile.ts';
export type { UpdateScriptInput, UpdateScriptOutcome } from './update.ts';
export { UpdateScriptRunner } from './update.ts';
export type { Value as ScriptValue } from './runtime.ts';
export { toJson as scriptValueToJson } from './runtime.ts';

/** Longest script source accepted (Elasticsearch's script.max_size_in_bytes default). */
export const MAX_SCRIPT_LENGTH = 65_535;
/** Compiled programs kept (Elasticsearch's script.cache.max_size default). */
export const SCRIPT_CACHE_SIZE = 100;

const SCRIPT_KEYS = new Set(['source', 'params', 'lang', 'options', 'id']);
const LANGS = new Set(['painless', 'expression']);

/** A parsed, compiled script with its params: bind it to a segment to run it. */
export interface Script {
  readonly source: string;
  readonly lang: string;
  /** The params as given (for explanations). */
  readonly paramsJson: Record<string, unknown>;
  readonly context: ScriptContext;
  bind(segment: ScriptSegment, mappings: ScriptMappings): ScriptRunner;
  /** A runner for the contexts that change documents (update, update_by_query, reindex). */
  updater(): UpdateScriptRunner;
}

/** What a script reads of a segment and of the index's mappings. */
export interface ScriptSegment {
  column(field: string): Column | undefined;
}
export interface ScriptMappings {
  field(path: string): { type: string } | undefined;
}

/** Parse a `script` object (or string) for a context; bad input is a parsing or script error. */
export function parseScript(json: unknown, context: ScriptContext, what = 'script'): Script {
  let source: unknown;
  let params: unknown;
  let lang: unknown = 'painless';
  if (typeof json === 'string') source = json;
  else if (isPlainObject(json)) {
    for (const k in json) if (!SCRIPT_KEYS.has(k)) throw new EngineError('parsing_exception', `[${what}] unknown field [${k}]; a script takes source, params, lang and options`);
    if (json.id !== undefined) throw new EngineError('illegal_argument_exception', `[${what}] stored scripts ([id]) are resolved by the cluster's coordinating node (script.put); a shard engine alone takes the script inline as [source]`);
    if (json.options !== undefined && !isPlainObject(json.options)) throw new EngineError('parsing_exception', `[${what}] [options] must be an object`);
    ({ source, params } = json);
    if (json.lang !== undefined) lang = json.lang;
  } else throw new EngineError('parsing_exception', `[${what}] must be a string or an object with [source]`);
  if (typeof lang !== 'string' || !LANGS.has(lang)) throw new EngineError('illegal_argument_exception', `script_lang not supported [${String(lang)}]`);
  if (source === undefined) throw new EngineError('parsing_exception', `[${what}] must specify either [source] for an inline script or [id] for a stored script`);
  if (typeof source !== 'string') throw new EngineError('parsing_exception', `[${what}] [source] must be a string`);
  if (source.length > MAX_SCRIPT_LENGTH) throw new EngineError('illegal_argument_exception', `[${what}] is ${source.length} characters long; the limit is ${MAX_SCRIPT_LENGTH} (script.max_size_in_bytes)`);
  if (params !== undefined && !isPlainObject(params)) throw new EngineError('parsing_exception', `[${what}] [params] must be an object`);
  const paramsJson = (params ?? {}) as Record<string, unknown>;
  return new CompiledScript(source, lang, paramsJson, freeze(fromJson(paramsJson)) as ScriptMap, context, compiled(source, context));
}

// ---- the compiled-program cache -----------------------------------------------------------------

const cache = new Map<string, CompiledProgram>();

/** A compiled program from the cache, or compiled now (compile errors are not cached: they throw). */
function compiled(source: string, context: ScriptContext): CompiledProgram {
  const key = `${context}\u0000${source}`;
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last: Map keeps insertion order.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const program = compileProgram(source, context);
  cache.set(key, program);
  if (cache.size > SCRIPT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return program;
}

/** Tests: how many programs the cache holds, and emptying it. */
export function scriptCacheSize(): number {
  return cache.size;
}
export function clearScriptCache(): void {
  cache.clear();
}

// ---- binding and running ------------------------------------------------------------------------

class CompiledScript implements Script {
  constructor(
    readonly source: string,
    readonly lang: string,
    readonly paramsJson: Record<string, unknown>,
    private readonly params: ScriptMap,
    readonly context: ScriptContext,
    private readonly program: CompiledProgram,
  ) {}

  bind(segment: ScriptSegment, mappings: ScriptMappings): ScriptRunner {
    return new ScriptRunner(this.source, this.program, this.params, segment, mappings);
  }

  updater(): UpdateScriptRunner {
    if (!isUpdateContext(this.context)) throw new EngineError('illegal_state_exception', `a [${this.context}] script does not change documents`);
    return new UpdateScriptRunner(this.source, this.program, this.params, this.context);
  }
}

/** A script bound to one segment: runs it on that segment's docs. */
export class ScriptRunner {
  private readonly state: ScriptState;

  constructor(
    private readonly source: string,
    private readonly program: CompiledProgram,
    params: ScriptMap,
    segment: ScriptSegment,
    mappings: ScriptMappings,
  ) {
    const docs = new SegmentDocs(segment, mappings);
    this.state = new ScriptState(params, docs, program.slots, program.fields.length);
    docs.state = this.state;
  }

  /** The script's value for a doc (`score`: what `_score` reads, where it may be read). */
  run(doc: number, score = 0): Value {
    const s = this.state;
    s.doc = doc;
    s.score = score;
    try {
      return this.program.run(s);
    } catch (e) {
      throw this.engineError(e);
    }
  }

  /** A score or number sort value: the script must return a number. */
  number(doc: number, score: number, what: string): number {
    const v = this.run(doc, score);
    if (typeof v !== 'number') throw runtimeError(this.source, 0, new ScriptRuntimeFault('class_cast_exception', `Cannot cast [${typeName(v)}] to [double]: ${what} must return a number`));
    return v;
  }

  /** A filter script's answer: the script must return a boolean. */
  boolean(doc: number): boolean {
    const v = this.run(doc);
    if (typeof v !== 'boolean') throw runtimeError(this.source, 0, new ScriptRuntimeFault('class_cast_exception', `Cannot cast [${typeName(v)}] to [boolean]: a [script] query's script must return true or false`));
    return v;
  }

  private engineError(e: unknown): EngineError {
    return asScriptError(this.source, e);
  }
}

/** `doc['field']` in one segment: its doc values, typed by the field's mapping. */
class SegmentDocs implements DocAccess {
  state: { doc: number } = { doc: 0 };
  private readonly made = new Map<string, DocValues>();

  constructor(
    private readonly segment: ScriptSegment,
    private readonly mappings: ScriptMappings,
  ) {}

  field(name: string): DocValues {
    let dv = this.made.get(name);
    if (!dv) this.made.set(name, (dv = this.make(name)));
    return dv;
  }

  private make(name: string): DocValues {
    const type = this.mappings.field(name)?.type;
    if (type === undefined) throw new ScriptRuntimeFault('illegal_argument_exception', `No field found for [${name}] in mapping`);
    if (type === 'text') {
      throw new EngineError(
        'illegal_argument_exception',
        `Fielddata is disabled on [${name}]. Text fields are not optimised for operations that require per-document field data like aggregations, sorting and scripting, so these operations are disabled: use a keyword field instead (such as [${name}.keyword]).`,
      );
    }
    return new DocValues(name, this.segment.column(name), type === 'boolean', this.state);
  }
}


/** A script's score: finite and not negative, as Elasticsearch requires. */
export function checkedScriptScore(score: number, doc: number): number {
  if (score < 0) throw new EngineError('illegal_argument_exception', `script score function must not produce negative scores, but got: [${score}]`);
  if (!Number.isFinite(score)) throw new EngineError('illegal_argument_exception', `script_score script returned an invalid score [${score}] for doc [${doc}].`);
  return score;
}
