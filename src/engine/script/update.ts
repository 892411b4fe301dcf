/**
 * Scripts that change documents: `_update` (and its scripted upsert), update_by_query and reindex.
 * The script reads and writes `ctx`: `ctx._source` (a writable copy of the document's source),
 * `ctx.op` (what to do with it) and the document's metadata (`_index`, `_id`, `_version`,
 * `_routing`, `_now`), read-only except where the context lets it change (reindex: `_id`,
 * `_index`, `_routing`). After the run, the outcome is read back from `ctx` and checked.
 */
import { EngineError } from '../types.ts';
import { ScriptState, type CompiledProgram, type DocAccess, type UpdateScriptContext } from './compile.ts';
import { asScriptError } from './errors.ts';
import { DocValues, fromJson, lockKeys, stringOf, typeName, type ScriptMap, type Value } from './runtime.ts';

/** The document a script is run on, and its metadata. */
export interface UpdateScriptInput {
  /** The document's source; for a scripted upsert, the upsert document. */
  source: Record<string, unknown>;
  /** `create` for a scripted upsert (the document is missing), `index` otherwise. */
  op: 'index' | 'create';
  index: string;
  id: string;
  /** The current version (none for a scripted upsert). */
  version?: number;
  routing: string | null;
  /** Epoch milliseconds, one value for the whole request. */
  now: number;
}

/** What the script decided. `source` is the new source for `index` and `create`. */
export interface UpdateScriptOutcome {
  op: 'index' | 'create' | 'noop' | 'delete';
  source: Record<string, unknown>;
  /** reindex may change these; elsewhere they are the input's. */
  index: string;
  id: string;
  routing: string | null;
}

/** How deep the source a script makes may nest (as deep as a document may). */
const MAX_SOURCE_DEPTH = 100;

const METADATA = ['_index', '_id', '_version', '_routing', '_now'] as const;
/** Metadata a script may change, by context (Elasticsearch's reindex can retarget a document). */
const SETTABLE: Record<UpdateScriptContext, ReadonlySet<string>> = {
  update: new Set(),
  update_by_query: new Set(),
  reindex: new Set(['_id', '_index', '_routing']),
};
const LOCKED: Record<UpdateScriptContext, ReadonlySet<Value>> = {
  update: new Set(METADATA),
  update_by_query: new Set(METADATA),
  reindex: new Set(METADATA.filter((k) => !SETTABLE.reindex.has(k))),
};

/** `ctx.op` values accepted, and what each means (`none` is Elasticsearch's older name of `noop`). */
const OPS: ReadonlyMap<string, UpdateScriptOutcome['op']> = new Map([
  ['index', 'index'],
  ['noop', 'noop'],
  ['none', 'noop'],
  ['delete', 'delete'],
]);
const UPSERT_OPS: ReadonlyMap<string, UpdateScriptOutcome['op']> = new Map([
  ['create', 'create'],
  ['noop', 'noop'],
  ['none', 'noop'],
]);

/** There are no doc values in these contexts (the compiler refuses `doc`): never called. */
const NO_DOCS: DocAccess = {
  field(name: string): DocValues {
    throw new EngineError('illegal_state_exception', `no doc values for [${name}] in an update script`);
  },
};

/** A compiled update-context script with its params: run it on one document at a time. */
export class UpdateScriptRunner {
  private readonly state: ScriptState;

  constructor(
    private readonly source: string,
    private readonly program: CompiledProgram,
    params: ScriptMap,
    private readonly context: UpdateScriptContext,
  ) {
    this.state = new ScriptState(params, NO_DOCS, program.slots, 0);
  }

  run(input: UpdateScriptInput): UpdateScriptOutcome {
    const ctx: ScriptMap = new Map<Value, Value>([
      ['op', input.op],
      // A fresh copy per run: the script changes it in place.
      ['_source', fromJson(input.source)],
      ['_index', input.index],
      ['_id', input.id],
      ['_routing', input.routing],
      ['_now', input.now],
    ]);
    if (input.version !== undefined) ctx.set('_version', input.version);
    lockKeys(ctx, LOCKED[this.context]);
    const s = this.state;
    s.ctx = ctx;
    try {
      this.program.run(s);
    } catch (e) {
      throw asScriptError(this.source, e);
    } finally {
      s.ctx = new Map();
    }
    return this.outcome(ctx, input);
  }

  private outcome(ctx: ScriptMap, input: UpdateScriptInput): UpdateScriptOutcome {
    const ops = input.op === 'create' ? UPSERT_OPS : OPS;
    const opValue = ctx.get('op') ?? null;
    const op = typeof opValue === 'string' ? ops.get(opValue) : undefined;
    if (op === undefined) throw new EngineError('illegal_argument_exception', `[ctx.op] must be one of [${[...ops.keys()].join(', ')}], not [${stringOf(opValue)}]`);
    const settable = SETTABLE[this.context];
    const out: UpdateScriptOutcome = {
      op,
      source: {},
      index: settable.has('_index') ? metadataString(ctx, '_index') : input.index,
      id: settable.has('_id') ? metadataString(ctx, '_id') : input.id,
      routing: settable.has('_routing') ? optionalMetadataString(ctx, '_routing') : input.routing,
    };
    if (op === 'index' || op === 'create') {
      const src = ctx.get('_source') ?? null;
      if (!(src instanceof Map)) throw new EngineError('illegal_argument_exception', `[ctx._source] must be a map (a JSON object), not [${typeName(src)}]`);
      out.source = sourceJson(src, 0) as Record<string, unknown>;
    }
    return out;
  }
}

function metadataString(ctx: ScriptMap, key: string): string {
  const v = ctx.get(key) ?? null;
  if (typeof v !== 'string' || v.length === 0) throw new EngineError('illegal_argument_exception', `[ctx.${key}] must be a non-empty string, not [${stringOf(v)}]`);
  return v;
}

function optionalMetadataString(ctx: ScriptMap, key: string): string | null {
  return (ctx.get(key) ?? null) === null ? null : metadataString(ctx, key);
}

/** A script's value as a document's JSON: plain objects, arrays, finite numbers, strings, booleans, null. */
function sourceJson(v: Value, depth: number): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new EngineError('illegal_argument_exception', `[ctx._source] holds the number [${v}], which a JSON document cannot`);
    return v;
  }
  // A map that holds itself (ctx._source.me = ctx._source) nests without end.
  if (depth >= MAX_SOURCE_DEPTH) throw new EngineError('illegal_argument_exception', `[ctx._source] nests deeper than ${MAX_SOURCE_DEPTH} levels`);
  if (v instanceof DocValues) return v.values().map((x) => sourceJson(x, depth + 1));
  if (Array.isArray(v)) return v.map((x) => sourceJson(x, depth + 1));
  const o: Record<string, unknown> = {};
  // defineProperty: a key named __proto__ is an ordinary field, as in JSON.
  for (const [k, x] of v) Object.defineProperty(o, stringOf(k), { value: sourceJson(x, depth + 1), enumerable: true, writable: true, configurable: true });
  return o;
}
