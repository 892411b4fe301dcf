/**
 * Compiles a parsed script to a tree of JavaScript closures, once: running it on a doc calls
 * those closures, with no tree walk or name lookup per doc. Local variables live in numbered slots
 * of a frame; names, methods, `Math` functions and what may be read in each context are checked
 * here, so most mistakes are compile errors with a position, as in Painless.
 */
import { classCast, compileError, PositionedFault, ScriptRuntimeFault } from './errors.ts';
import { parseScript, type Expr, type Stmt } from './parser.ts';
import {
  add, arithmetic, callMethod, coerce, compare, typeName, DocValues, equal, getIndex, getMember, iterate, MATH_CONSTANTS, MATH_FUNCTIONS, METHOD_NAMES, notBoolean, notNumber, setIndex, setMember,
  type ScriptMap, type Value,
} from './runtime.ts';

/** Where a script runs: what it returns and whether it can read `_score`, `doc` or `ctx`. */
export type ScriptContext = 'score' | 'filter' | 'field' | 'sort' | UpdateScriptContext;
/** The contexts that change documents: they read and write `ctx` and have no doc values. */
export type UpdateScriptContext = 'update' | 'update_by_query' | 'reindex';
const UPDATE_CONTEXTS: ReadonlySet<ScriptContext> = new Set<ScriptContext>(['update', 'update_by_query', 'reindex']);

export function isUpdateContext(context: ScriptContext): context is UpdateScriptContext {
  return UPDATE_CONTEXTS.has(context);
}

/** Loop iterations one execution may run (Elasticsearch's script.max_loop_counter default). */
export const MAX_LOOP_ITERATIONS = 1_000_000;

/** A field's doc values in the segment a script is bound to. */
export interface DocAccess {
  field(name: string): DocValues;
}

/** One execution's state: the doc, its score, the locals; reused from doc to doc. */
export class ScriptState {
  doc = 0;
  score = 0;
  loops = 0;
  result: Value = null;
  /** `ctx` of the update contexts: the document's metadata and a writable copy of its `_source`. */
  ctx: ScriptMap = new Map();
  readonly frame: Value[];
  /** Doc values of the fields named by constant `doc['…']` keys, made on first use. */
  readonly fields: (DocValues | undefined)[];

  constructor(
    readonly params: ScriptMap,
    readonly docs: DocAccess,
    slots: number,
    fieldCount: number,
  ) {
    this.frame = new Array<Value>(slots).fill(null);
    this.fields = new Array<DocValues | undefined>(fieldCount);
  }
}

export { PositionedFault };

function positioned(e: unknown, pos: number): unknown {
  return e instanceof ScriptRuntimeFault ? new PositionedFault(e, pos) : e;
}

type E = (s: ScriptState) => Value;
/** A statement: 0 runs on, BREAK, CONTINUE, RETURN (the value in `s.result`). */
type S = (s: ScriptState) => number;
const NEXT = 0;
const BREAK = 1;
const CONTINUE = 2;
const RETURN = 3;

export interface CompiledProgram {
  run: (s: ScriptState) => Value;
  slots: number;
  /** The fields of constant `doc['…']` keys, by their index in `ScriptState.fields`. */
  fields: string[];
}

interface Local {
  slot: number;
  type: string;
}

const READ_ONLY_NAMES = new Set(['params', 'doc', '_score', 'Math']);
/** The update contexts add `ctx` (itself not assignable: its members are). */
const UPDATE_READ_ONLY_NAMES = new Set([...READ_ONLY_NAMES, 'ctx']);
const DOC_MEMBERS = new Set(['value', 'empty', 'values', 'length']);
const DOC_METHODS = new Set(['size', 'isEmpty', 'get', 'contains', 'getValue', 'length']);

export function compileProgram(source: string, context: ScriptContext): CompiledProgram {
  return new Compiler(source, context).program(parseScript(source));
}

class Compiler {
  private readonly scopes: Map<string, Local>[] = [new Map()];
  private slots = 0;
  private loopDepth = 0;
  private readonly fieldSlots = new Map<string, number>();
  private readonly updates: boolean;
  private readonly readOnlyNames: ReadonlySet<string>;

  constructor(
    private readonly source: string,
    private readonly context: ScriptContext,
  ) {
    this.updates = isUpdateContext(context);
    this.readOnlyNames = this.updates ? UPDATE_READ_ONLY_NAMES : READ_ONLY_NAMES;
  }

  /** `doc` in a context that changes documents: there are no doc values, only `ctx._source` (as Painless). */
  private noDocValues(pos: number) {
    return this.error(pos, `cannot resolve symbol [doc]: there are no doc values in the [${this.context}] context; read the document as ctx._source`);
  }

  program(body: Stmt[]): CompiledProgram {
    // The last statement's value is the script's when it is an expression (as Painless returns it).
    const stmts = body.map((st, i) => (i === body.length - 1 && st.k === 'expr' ? this.stmt({ k: 'return', pos: st.pos, e: st.e }) : this.stmt(st)));
    const block = sequence(stmts);
    return {
      run(s) {
        s.loops = 0;
        s.result = null;
        block(s);
        return s.result;
      },
      slots: this.slots,
      fields: [...this.fieldSlots.keys()],
    };
  }

  private error(pos: number, reason: string) {
    return compileError(this.source, pos, reason);
  }

  // ---- scopes ----

  private lookup(name: string): Local | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const l = this.scopes[i]!.get(name);
      if (l) return l;
    }
    return undefined;
  }

  private declare(name: string, type: string, pos: number): Local {
    if (this.readOnlyNames.has(name) || this.lookup(name)) throw this.error(pos, `variable [${name}] is already defined`);
    const local = { slot: this.slots++, type };
    this.scopes.at(-1)!.set(name, local);
    return local;
  }

  private scoped<T>(fn: () => T): T {
    this.scopes.push(new Map());
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  // ---- statements ----

  private stmt(st: Stmt): S {
    switch (st.k) {
      case 'empty':
        return () => NEXT;
      case 'expr': {
        const e = this.expr(st.e);
        return (s) => {
          e(s);
          return NEXT;
        };
      }
      case 'decl':
        return sequence(st.vars.map((v) => this.declaration(st.type, v.name, v.pos, v.init)));
      case 'block':
        return this.scoped(() => sequence(st.body.map((x) => this.stmt(x))));
      case 'return': {
        if (st.e === undefined) {
          return (s) => {
            s.result = null;
            return RETURN;
          };
        }
        const e = this.expr(st.e);
        return (s) => {
          s.result = e(s);
          return RETURN;
        };
      }
      case 'break':
      case 'continue': {
        if (this.loopDepth === 0) throw this.error(st.pos, `[${st.k}] outside a loop`);
        const code = st.k === 'break' ? BREAK : CONTINUE;
        return () => code;
      }
      case 'if': {
        const c = this.condition(st.c, 'if');
        const then = this.scoped(() => this.stmt(st.then));
        const otherwise = st.else === undefined ? undefined : this.scoped(() => this.stmt(st.else!));
        if (otherwise === undefined) return (s) => (c(s) ? then(s) : NEXT);
        return (s) => (c(s) ? then(s) : otherwise(s));
      }
      case 'while':
      case 'do': {
        const c = this.condition(st.c, st.k);
        const body = this.loopBody(st.body);
        const pos = st.pos;
        const first = st.k === 'do';
        return (s) => {
          for (let go = first || c(s); go; go = c(s)) {
            tick(s, pos);
            const r = body(s);
            if (r === BREAK) break;
            if (r === RETURN) return RETURN;
          }
          return NEXT;
        };
      }
      case 'for':
        return this.scoped(() => {
          const init = st.init === undefined ? undefined : this.stmt(st.init);
          const c = st.c === undefined ? undefined : this.condition(st.c, 'for');
          const steps = st.step.map((x) => this.expr(x));
          const body = this.loopBody(st.body);
          const pos = st.pos;
          return (s) => {
            if (init) init(s);
            while (c === undefined || c(s)) {
              tick(s, pos);
              const r = body(s);
              if (r === BREAK) break;
              if (r === RETURN) return RETURN;
              for (const step of steps) step(s);
            }
            return NEXT;
          };
        });
      case 'foreach':
        return this.scoped(() => {
          const iterable = this.expr(st.iterable);
          const local = this.declare(st.name, st.type, st.pos);
          const body = this.loopBody(st.body);
          const { slot, type } = local;
          const pos = st.pos;
          return (s) => {
            let items: Value[];
            try {
              items = iterate(iterable(s));
            } catch (e) {
              throw positioned(e, pos);
            }
            for (const item of items) {
              tick(s, pos);
              s.frame[slot] = typed(type, item, pos);
              const r = body(s);
              if (r === BREAK) break;
              if (r === RETURN) return RETURN;
            }
            return NEXT;
          };
        });
    }
  }

  private loopBody(body: Stmt): S {
    this.loopDepth++;
    try {
      return this.scoped(() => this.stmt(body));
    } finally {
      this.loopDepth--;
    }
  }

  private declaration(type: string, name: string, pos: number, init: Expr | undefined): S {
    // Compiled before the name is declared: `def x = x` is an error, as in Java.
    const value = init === undefined ? undefined : this.expr(init);
    const { slot } = this.declare(name, type, pos);
    const initial: Value = type === 'boolean' ? false : NUMERIC_TYPES.has(type) ? 0 : null;
    if (value === undefined) {
      return (s) => {
        s.frame[slot] = initial;
        return NEXT;
      };
    }
    if (type === 'def' || type === 'var' || type === 'Object') {
      return (s) => {
        s.frame[slot] = value(s);
        return NEXT;
      };
    }
    return (s) => {
      s.frame[slot] = typed(type, value(s), pos);
      return NEXT;
    };
  }

  /** A condition: must be a boolean at run time. */
  private condition(e: Expr, what: string): (s: ScriptState) => boolean {
    const f = this.expr(e);
    const pos = e.pos;
    return (s) => {
      const v = f(s);
      if (v === true) return true;
      if (v === false) return false;
      throw new PositionedFault(notBoolean(v, what), pos);
    };
  }

  // ---- expressions ----

  private expr(e: Expr): E {
    switch (e.k) {
      case 'num':
      case 'str':
      case 'bool': {
        const v = e.v;
        return () => v;
      }
      case 'null':
        return () => null;
      case 'name':
        return this.name(e.name, e.pos);
      case 'list': {
        const items = e.items.map((x) => this.expr(x));
        return (s) => items.map((f) => f(s));
      }
      case 'map': {
        const entries = e.entries.map(([k, v]) => [this.expr(k), this.expr(v)] as const);
        return (s) => {
          const m: ScriptMap = new Map();
          for (const [k, v] of entries) m.set(k(s), v(s));
          return m;
        };
      }
      case 'unary':
        return this.unary(e);
      case 'binary':
        return this.binary(e.op, this.expr(e.l), this.expr(e.r), e.pos);
      case 'logical': {
        const l = this.condition(e.l, e.op);
        const r = this.condition(e.r, e.op);
        return e.op === '&&' ? (s) => l(s) && r(s) : (s) => l(s) || r(s);
      }
      case 'elvis': {
        const l = this.expr(e.l);
        const r = this.expr(e.r);
        return (s) => l(s) ?? r(s);
      }
      case 'cond': {
        const c = this.condition(e.c, '?:');
        const t = this.expr(e.t);
        const f = this.expr(e.f);
        return (s) => (c(s) ? t(s) : f(s));
      }
      case 'cast': {
        const v = this.expr(e.e);
        const { type, pos } = e;
        return (s) => typed(type, v(s), pos);
      }
      case 'member':
        return this.member(e);
      case 'index':
        return this.index(e);
      case 'call':
        return this.call(e);
      case 'assign':
        return this.assign(e);
      case 'update':
        return this.update(e);
    }
  }

  private name(name: string, pos: number): E {
    const local = this.lookup(name);
    if (local) {
      const slot = local.slot;
      return (s) => s.frame[slot]!;
    }
    switch (name) {
      case 'params':
        return (s) => s.params;
      case '_score':
        if (this.context !== 'score' && this.context !== 'sort') throw this.error(pos, 'cannot resolve symbol [_score]: there is no score in this context');
        return (s) => s.score;
      case 'ctx':
        if (!this.updates) break;
        return (s) => s.ctx;
      case 'doc':
        if (this.updates) throw this.noDocValues(pos);
        throw this.error(pos, "[doc] is only readable as doc['field']");
      case 'Math':
        throw this.error(pos, '[Math] is only readable as Math.function(…) or Math.PI / Math.E');
    }
    throw this.error(pos, `cannot resolve symbol [${name}]`);
  }

  private isName(e: Expr, name: string): boolean {
    return e.k === 'name' && e.name === name && this.lookup(name) === undefined;
  }

  private unary(e: Expr & { k: 'unary' }): E {
    const v = this.expr(e.e);
    const pos = e.pos;
    if (e.op === '!') {
      return (s) => {
        const x = v(s);
        if (typeof x !== 'boolean') throw new PositionedFault(notBoolean(x, '!'), pos);
        return !x;
      };
    }
    const negate = e.op === '-';
    return (s) => {
      const x = v(s);
      if (typeof x !== 'number') throw new PositionedFault(notNumber(x, e.op), pos);
      return negate ? -x : x;
    };
  }

  private binary(op: string, l: E, r: E, pos: number): E {
    switch (op) {
      case '+':
        return (s) => {
          const a = l(s);
          const b = r(s);
          if (typeof a === 'number' && typeof b === 'number') return a + b;
          return at(pos, () => add(a, b));
        };
      case '-':
      case '*':
      case '/':
      case '%':
        return this.numeric(op, l, r, pos);
      case '<':
      case '>':
      case '<=':
      case '>=':
        return (s) => {
          const a = l(s);
          const b = r(s);
          if (typeof a === 'number' && typeof b === 'number') return op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
          return at(pos, () => compare(op, a, b));
        };
      case '==':
      case '===':
        return (s) => equal(l(s), r(s));
      default:
        return (s) => !equal(l(s), r(s));
    }
  }

  /** Arithmetic on two numbers, inline (the common case of a scoring script); anything else faults. */
  private numeric(op: string, l: E, r: E, pos: number): E {
    const slow = (a: Value, b: Value) => at(pos, () => arithmetic(op, a, b));
    switch (op) {
      case '-':
        return (s) => {
          const a = l(s);
          const b = r(s);
          return typeof a === 'number' && typeof b === 'number' ? a - b : slow(a, b);
        };
      case '*':
        return (s) => {
          const a = l(s);
          const b = r(s);
          return typeof a === 'number' && typeof b === 'number' ? a * b : slow(a, b);
        };
      case '/':
        return (s) => {
          const a = l(s);
          const b = r(s);
          return typeof a === 'number' && typeof b === 'number' ? a / b : slow(a, b);
        };
      default:
        return (s) => {
          const a = l(s);
          const b = r(s);
          return typeof a === 'number' && typeof b === 'number' ? a % b : slow(a, b);
        };
    }
  }

  private docField(key: Expr): E {
    // A constant field name: its doc values are looked up once per segment.
    if (key.k === 'str') {
      let slot = this.fieldSlots.get(key.v);
      if (slot === undefined) this.fieldSlots.set(key.v, (slot = this.fieldSlots.size));
      const name = key.v;
      const pos = key.pos;
      return (s) => {
        const dv = s.fields[slot];
        if (dv !== undefined) return dv;
        try {
          return (s.fields[slot] = s.docs.field(name));
        } catch (e) {
          throw positioned(e, pos);
        }
      };
    }
    const k = this.expr(key);
    const pos = key.pos;
    return (s) => {
      const name = k(s);
      if (typeof name !== 'string') throw new PositionedFault(classCast(`Cannot cast [${typeName(name)}] to [java.lang.String] (a field name)`), pos);
      return at(pos, () => s.docs.field(name));
    };
  }

  private member(e: Expr & { k: 'member' }): E {
    const { name, pos } = e;
    if (this.isName(e.obj, 'Math')) {
      const c = MATH_CONSTANTS[name];
      if (c === undefined) throw this.error(pos, `unknown field [${name}] of [Math]`);
      return () => c;
    }
    if (!this.updates && e.obj.k === 'index' && this.isName(e.obj.obj, 'doc') && !DOC_MEMBERS.has(name)) {
      throw this.error(pos, `unknown field [${name}] of doc values: use .value, .empty, .size() or [i]`);
    }
    const obj = this.expr(e.obj);
    const safe = e.safe;
    return (s) => {
      const o = obj(s);
      if (safe && o === null) return null;
      try {
        return getMember(o, name);
      } catch (e) {
        throw positioned(e, pos);
      }
    };
  }

  private index(e: Expr & { k: 'index' }): E {
    if (this.isName(e.obj, 'doc')) {
      if (this.updates) throw this.noDocValues(e.obj.pos);
      return this.docField(e.key);
    }
    const obj = this.expr(e.obj);
    const key = this.expr(e.key);
    const pos = e.pos;
    return (s) => {
      const o = obj(s);
      const k = key(s);
      try {
        return getIndex(o, k);
      } catch (e) {
        throw positioned(e, pos);
      }
    };
  }

  private call(e: Expr & { k: 'call' }): E {
    const { name, pos } = e;
    const args = e.args.map((a) => this.expr(a));
    if (this.isName(e.obj, 'Math')) {
      const fn = MATH_FUNCTIONS[name];
      if (fn === undefined || fn.arity !== args.length) throw this.error(pos, `Unknown call [${name}] with [${args.length}] arguments on type [Math]`);
      const f = fn.fn;
      if (args.length === 1) {
        const a = args[0]!;
        return (s) => {
          const x = a(s);
          if (typeof x !== 'number') throw new PositionedFault(notNumber(x, `Math.${name}`), pos);
          return f(x);
        };
      }
      return (s) =>
        f(
          ...args.map((a) => {
            const x = a(s);
            if (typeof x !== 'number') throw new PositionedFault(notNumber(x, `Math.${name}`), pos);
            return x;
          }),
        );
    }
    if (this.isName(e.obj, 'doc')) {
      if (this.updates) throw this.noDocValues(e.obj.pos);
      if (name !== 'containsKey' || args.length !== 1) throw this.error(pos, `unknown method [${name}] of [doc]: use doc['field'] or doc.containsKey('field')`);
      const a = args[0]!;
      return (s) => {
        const f = a(s);
        if (typeof f !== 'string') return false;
        try {
          s.docs.field(f);
          return true;
        } catch {
          return false;
        }
      };
    }
    if (!METHOD_NAMES.has(name)) throw this.error(pos, `unknown method [${name}]`);
    if (!this.updates && e.obj.k === 'index' && this.isName(e.obj.obj, 'doc') && !DOC_METHODS.has(name)) throw this.error(pos, `unknown method [${name}] of doc values`);
    const obj = this.expr(e.obj);
    const safe = e.safe;
    return (s) => {
      const o = obj(s);
      if (safe && o === null) return null;
      const values = args.map((a) => a(s));
      try {
        return callMethod(o, name, values);
      } catch (e) {
        throw positioned(e, pos);
      }
    };
  }

  /** A local, `obj.name` or `obj[key]` as something to read and write. */
  private place(target: Expr, pos: number): { get: E; set: (s: ScriptState, v: Value) => Value; prepare?: (s: ScriptState) => void } {
    if (target.k === 'name') {
      const local = this.lookup(target.name);
      if (!local) {
        if (this.readOnlyNames.has(target.name)) throw this.error(target.pos, `cannot assign a value to [${target.name}]`);
        throw this.error(target.pos, `cannot resolve symbol [${target.name}]`);
      }
      const { slot, type } = local;
      const untyped = type === 'def' || type === 'var' || type === 'Object';
      return {
        get: (s) => s.frame[slot]!,
        set: untyped ? (s, v) => (s.frame[slot] = v) : (s, v) => (s.frame[slot] = typed(type, v, pos)),
      };
    }
    if (target.k === 'member') {
      const obj = this.expr(target.obj);
      const name = target.name;
      // The object is evaluated once per assignment (`a.b += 1` reads and writes the same a).
      let held: Value = null;
      return {
        prepare: (s) => {
          held = obj(s);
        },
        get: () => at(pos, () => getMember(held, name)),
        set: (_s, v) => {
          at(pos, () => setMember(held, name, v));
          return v;
        },
      };
    }
    if (target.k === 'index') {
      if (this.isName(target.obj, 'doc')) throw this.updates ? this.noDocValues(target.obj.pos) : this.error(target.pos, 'doc values are read-only');
      const obj = this.expr(target.obj);
      const key = this.expr(target.key);
      let heldObj: Value = null;
      let heldKey: Value = null;
      return {
        prepare: (s) => {
          heldObj = obj(s);
          heldKey = key(s);
        },
        get: () => at(pos, () => getIndex(heldObj, heldKey)),
        set: (_s, v) => {
          at(pos, () => setIndex(heldObj, heldKey, v));
          return v;
        },
      };
    }
    throw this.error(pos, 'cannot assign a value to this expression');
  }

  private assign(e: Expr & { k: 'assign' }): E {
    const p = this.place(e.target, e.pos);
    const value = this.expr(e.value);
    const { prepare, get, set } = p;
    if (e.op === '=') {
      return (s) => {
        if (prepare) prepare(s);
        return set(s, value(s));
      };
    }
    const op = e.op.slice(0, -1);
    const combine = this.binary(op, get, value, e.pos);
    return (s) => {
      if (prepare) prepare(s);
      return set(s, combine(s));
    };
  }

  private update(e: Expr & { k: 'update' }): E {
    const { prepare, get, set } = this.place(e.target, e.pos);
    const delta = e.op === '++' ? 1 : -1;
    const { prefix, pos } = e;
    return (s) => {
      if (prepare) prepare(s);
      const old = get(s);
      if (typeof old !== 'number') throw new PositionedFault(notNumber(old, e.op), pos);
      const next = old + delta;
      set(s, next);
      return prefix ? next : old;
    };
  }
}

const NUMERIC_TYPES = new Set(['int', 'long', 'short', 'byte', 'double', 'float']);

function sequence(stmts: S[]): S {
  if (stmts.length === 1) return stmts[0]!;
  return (s) => {
    for (let i = 0; i < stmts.length; i++) {
      const r = stmts[i]!(s);
      if (r !== NEXT) return r;
    }
    return NEXT;
  };
}

function tick(s: ScriptState, pos: number): void {
  if (++s.loops > MAX_LOOP_ITERATIONS) {
    throw new PositionedFault(new ScriptRuntimeFault('painless_error', `The maximum number of statements that can be executed in a loop has been reached (${MAX_LOOP_ITERATIONS}).`), pos);
  }
}

function typed(type: string, v: Value, pos: number): Value {
  try {
    return coerce(type, v);
  } catch (e) {
    throw positioned(e, pos);
  }
}

/** Runs fn, giving a runtime fault it raises the position `pos`. */
function at<T>(pos: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw positioned(e, pos);
  }
}
