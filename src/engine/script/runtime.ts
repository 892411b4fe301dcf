/**
 * The values scripts compute with and the operations on them. Everything a script can reach is
 * one of these: null, booleans, numbers (doubles), strings, lists (arrays), maps (Map) and a
 * field's doc values (DocValues). Member access and method calls dispatch on that closed set of
 * types, never on a JavaScript object's own properties, so a script cannot reach prototypes or
 * anything else of the host.
 */
import type { Column } from '../types.ts';
import { classCast, illegalArgument, ScriptRuntimeFault } from './errors.ts';

export type Value = null | boolean | number | string | Value[] | ScriptMap | DocValues;
export type ScriptMap = Map<Value, Value>;

/**
 * Lists and maps a script may read but not change: its params (shared by every doc it runs on,
 * so a change would make results depend on the order docs are scored in) and doc values.
 */
const readOnly = new WeakSet<object>();

export function freeze(v: Value): Value {
  if (Array.isArray(v)) {
    readOnly.add(v);
    for (const x of v) freeze(x);
  } else if (v instanceof Map) {
    readOnly.add(v);
    for (const x of v.values()) freeze(x);
  }
  return v;
}

function writable(v: Value[] | ScriptMap): void {
  if (readOnly.has(v)) throw new ScriptRuntimeFault('unsupported_operation_exception', 'params and doc values are read-only');
}

/**
 * Keys of a map that a script may read but not change: the metadata in the update contexts' `ctx`
 * (`_id`, `_version`, …), where `op` and `_source` beside them are writable.
 */
const lockedKeys = new WeakMap<ScriptMap, ReadonlySet<Value>>();

export function lockKeys(m: ScriptMap, keys: ReadonlySet<Value>): ScriptMap {
  lockedKeys.set(m, keys);
  return m;
}

function changeable(m: ScriptMap, key: Value): void {
  if (lockedKeys.get(m)?.has(key)) throw illegalArgument(`[${stringOf(key)}] cannot be changed in this context`);
}

/** A map may grow by one more entry (the size limit scripts share with strings and lists). */
function roomIn(m: ScriptMap, key: Value): void {
  if (m.size >= MAX_VALUE_SIZE && !m.has(key)) throw illegalArgument(`a map larger than ${MAX_VALUE_SIZE} entries`);
}

/** Longest string, and most list or map entries, a script may build (a doubling loop would otherwise exhaust memory). */
export const MAX_VALUE_SIZE = 1_000_000;

/**
 * A field's values in the current doc (Elasticsearch's ScriptDocValues): numbers for numeric and
 * date (epoch milliseconds) fields, booleans for boolean fields, strings for keyword fields;
 * sorted ascending. Reads the column directly for the doc of the script state it was made for.
 */
export class DocValues {
  private cachedDoc = -1;
  private cached: Value[] = [];

  constructor(
    readonly field: string,
    private readonly col: Column | undefined,
    private readonly boolean: boolean,
    private readonly state: { doc: number },
  ) {}

  size(): number {
    const col = this.col;
    if (col === undefined) return 0;
    const d = this.state.doc;
    return col.offsets[d + 1]! - col.offsets[d]!;
  }

  /** The i-th value (0 <= i < size()). */
  at(i: number): Value {
    const col = this.col!;
    const k = col.offsets[this.state.doc]! + i;
    if (col.kind === 'keyword') return col.terms[col.ords[k]!]!;
    return this.boolean ? col.values[k] !== 0 : col.values[k]!;
  }

  value(): Value {
    if (this.size() === 0) throw new ScriptRuntimeFault('illegal_state_exception', "A document doesn't have a value for a field! Use doc[<field>].size()==0 to check if a document is missing a field!");
    return this.at(0);
  }

  /** All values, as a read-only list (made once per doc). */
  values(): Value[] {
    const doc = this.state.doc;
    if (doc !== this.cachedDoc) {
      const n = this.size();
      this.cached = new Array<Value>(n);
      for (let i = 0; i < n; i++) this.cached[i] = this.at(i);
      readOnly.add(this.cached);
      this.cachedDoc = doc;
    }
    return this.cached;
  }
}

export function typeName(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) ? 'java.lang.Integer' : 'java.lang.Double';
    case 'string':
      return 'java.lang.String';
    case 'boolean':
      return 'java.lang.Boolean';
  }
  if (Array.isArray(v)) return 'java.util.ArrayList';
  if (v instanceof Map) return 'java.util.HashMap';
  return 'org.elasticsearch.index.fielddata.ScriptDocValues';
}

export function badOperands(op: string, a: Value, b: Value): ScriptRuntimeFault {
  return classCast(`Cannot apply [${op}] operation to types [${typeName(a)}] and [${typeName(b)}].`);
}

/** How a value prints in a string concatenation. */
export function stringOf(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof DocValues) return `[${v.values().map(stringOf).join(', ')}]`;
  if (Array.isArray(v)) return `[${v.map(stringOf).join(', ')}]`;
  return `{${[...v].map(([k, x]) => `${stringOf(k)}=${stringOf(x)}`).join(', ')}}`;
}

export function add(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' || typeof b === 'string') {
    const s = stringOf(a) + stringOf(b);
    if (s.length > MAX_VALUE_SIZE) throw illegalArgument(`a string longer than ${MAX_VALUE_SIZE} characters`);
    return s;
  }
  throw badOperands('+', a, b);
}

export function arithmetic(op: string, a: Value, b: Value): number {
  if (typeof a !== 'number' || typeof b !== 'number') throw badOperands(op, a, b);
  switch (op) {
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    default:
      return a % b;
  }
}

export function compare(op: string, a: Value, b: Value): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') throw badOperands(op, a, b);
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    default:
      return a >= b;
  }
}

/** `==`: by value for scalars and (deeply) for lists and maps, as Java's equals. */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof DocValues || b instanceof DocValues) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (Array.isArray(b) || a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.has(k) || !equal(v, b.get(k)!)) return false;
  return true;
}

/** The fault of a condition or logical operand that is not a boolean. */
export function notBoolean(v: Value, what: string): ScriptRuntimeFault {
  return classCast(`Cannot cast [${typeName(v)}] to [boolean] (${what})`);
}

/** The fault of an operand that must be a number and is not. */
export function notNumber(v: Value, what: string): ScriptRuntimeFault {
  return classCast(`Cannot apply [${what}] to type [${typeName(v)}]`);
}

/** A value cast to a declared type (declarations, assignments to typed variables, casts). */
export function coerce(type: string, v: Value): Value {
  switch (type) {
    case 'int':
    case 'long':
    case 'short':
    case 'byte':
      if (typeof v !== 'number') throw classCast(`Cannot cast [${typeName(v)}] to [${type}]`);
      return Math.trunc(v);
    case 'double':
    case 'float':
      if (typeof v !== 'number') throw classCast(`Cannot cast [${typeName(v)}] to [${type}]`);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw classCast(`Cannot cast [${typeName(v)}] to [boolean]`);
      return v;
    case 'String':
      if (v !== null && typeof v !== 'string') throw classCast(`Cannot cast [${typeName(v)}] to [java.lang.String]`);
      return v;
    case 'List':
    case 'ArrayList':
      if (v !== null && !Array.isArray(v) && !(v instanceof DocValues)) throw classCast(`Cannot cast [${typeName(v)}] to [java.util.List]`);
      return v;
    case 'Map':
    case 'HashMap':
      if (v !== null && !(v instanceof Map)) throw classCast(`Cannot cast [${typeName(v)}] to [java.util.Map]`);
      return v;
    default:
      return v;
  }
}

/** Plain JSON (params) as script values: objects become maps, arrays lists. */
export function fromJson(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(fromJson);
  const m: ScriptMap = new Map();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) m.set(k, fromJson(x));
  return m;
}

/** A script's result as JSON (script_fields): maps become objects, doc values lists. */
export function toJson(v: Value): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
  if (v instanceof DocValues) return v.values().map(toJson);
  if (Array.isArray(v)) return v.map(toJson);
  const o: Record<string, unknown> = {};
  for (const [k, x] of v) Object.defineProperty(o, stringOf(k), { value: toJson(x), enumerable: true, writable: true, configurable: true });
  return o;
}

function index(v: Value, length: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw classCast(`Cannot cast [${typeName(v)}] to [int] (an index)`);
  // Painless reads negative list indexes from the end.
  const i = v < 0 ? length + v : v;
  if (i < 0 || i >= length) throw new ScriptRuntimeFault('index_out_of_bounds_exception', `Index ${v} out of bounds for length ${length}`);
  return i;
}

/** `obj[key]`. */
export function getIndex(obj: Value, key: Value): Value {
  if (obj instanceof DocValues) return obj.at(index(key, obj.size()));
  if (Array.isArray(obj)) return obj[index(key, obj.length)]!;
  if (obj instanceof Map) return obj.get(key) ?? null;
  throw nullOrNot(obj, `[${stringOf(key)}]`);
}

/** `obj[key] = value`. */
export function setIndex(obj: Value, key: Value, value: Value): void {
  if (Array.isArray(obj)) {
    writable(obj);
    obj[index(key, obj.length)] = value;
  } else if (obj instanceof Map) {
    writable(obj);
    changeable(obj, key);
    roomIn(obj, key);
    obj.set(key, value);
  }
  else throw nullOrNot(obj, `[${stringOf(key)}] =`);
}

function nullOrNot(obj: Value, what: string): ScriptRuntimeFault {
  if (obj === null) return new ScriptRuntimeFault('null_pointer_exception', `cannot access ${what} of null`);
  return illegalArgument(`Attempting to address a non-array-like type [${typeName(obj)}] as an array.`);
}

/** `obj.name` (not a call): doc values' `value`/`empty`/`values`, a list's `length`, a map's key. */
export function getMember(obj: Value, name: string): Value {
  if (obj instanceof DocValues) {
    if (name === 'value') return obj.value();
    if (name === 'empty') return obj.size() === 0;
    if (name === 'values') return obj.values();
    if (name === 'length') return obj.size();
  } else if (obj instanceof Map) return obj.get(name) ?? null;
  else if (Array.isArray(obj)) {
    if (name === 'length' || name === 'size') return obj.length;
    if (name === 'empty') return obj.length === 0;
  } else if (typeof obj === 'number' && name === 'millis') return obj;
  if (obj === null) throw new ScriptRuntimeFault('null_pointer_exception', `cannot access [${name}] of null`);
  throw illegalArgument(`dynamic getter [${typeName(obj)}, ${name}] not found`);
}

/** `obj.name = value`: only a map's key. */
export function setMember(obj: Value, name: string, value: Value): void {
  if (obj instanceof Map) {
    writable(obj);
    changeable(obj, name);
    roomIn(obj, name);
    obj.set(name, value);
  } else if (obj === null) throw new ScriptRuntimeFault('null_pointer_exception', `cannot set [${name}] of null`);
  else throw illegalArgument(`dynamic setter [${typeName(obj)}, ${name}] not found`);
}

/** Every method name a script may call; anything else fails to compile. */
export const METHOD_NAMES = new Set([
  'size', 'get', 'add', 'contains', 'containsKey', 'put', 'isEmpty', 'remove', 'indexOf', 'set', 'getOrDefault', 'keySet', 'values', 'addAll', 'clear', 'sort',
  'length', 'toLowerCase', 'toUpperCase', 'startsWith', 'endsWith', 'substring', 'trim', 'equals', 'replace', 'charAt', 'compareTo',
  'getValue', 'getMillis', 'toInstant', 'toEpochMilli', 'intValue', 'longValue', 'doubleValue', 'toString',
]);

function arity(name: string, args: Value[], ...allowed: number[]): void {
  if (!allowed.includes(args.length)) throw illegalArgument(`Unknown call [${name}] with [${args.length}] arguments.`);
}

function str(v: Value, what: string): string {
  if (typeof v !== 'string') throw classCast(`Cannot cast [${typeName(v)}] to [java.lang.String] (${what})`);
  return v;
}

function int(v: Value, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw classCast(`Cannot cast [${typeName(v)}] to [int] (${what})`);
  return v;
}

/** `obj.name(args)`. */
export function callMethod(obj: Value, name: string, args: Value[]): Value {
  if (obj === null) throw new ScriptRuntimeFault('null_pointer_exception', `cannot invoke [${name}] on null`);
  if (obj instanceof DocValues) {
    switch (name) {
      case 'getValue':
        arity(name, args, 0);
        return obj.value();
      case 'size':
      case 'length':
        arity(name, args, 0);
        return obj.size();
      case 'isEmpty':
        arity(name, args, 0);
        return obj.size() === 0;
      case 'get':
        arity(name, args, 1);
        return obj.at(index(args[0]!, obj.size()));
      case 'contains':
        arity(name, args, 1);
        return obj.values().some((v) => equal(v, args[0]!));
    }
  } else if (Array.isArray(obj)) return listMethod(obj, name, args);
  else if (obj instanceof Map) return mapMethod(obj, name, args);
  else if (typeof obj === 'string') return stringMethod(obj, name, args);
  else if (typeof obj === 'number') {
    arity(name, args, 0);
    switch (name) {
      // Dates are epoch milliseconds: their Java accessors give the number itself.
      case 'getMillis':
      case 'toInstant':
      case 'toEpochMilli':
      case 'doubleValue':
        return obj;
      case 'intValue':
      case 'longValue':
        return Math.trunc(obj);
      case 'toString':
        return String(obj);
    }
  } else if (name === 'toString') return String(obj);
  throw illegalArgument(`dynamic method [${typeName(obj)}, ${name}/${args.length}] not found`);
}

const LIST_MUTATORS = new Set(['add', 'addAll', 'set', 'remove', 'clear', 'sort']);
const MAP_MUTATORS = new Set(['put', 'remove', 'clear']);

function listMethod(list: Value[], name: string, args: Value[]): Value {
  if (LIST_MUTATORS.has(name)) writable(list);
  switch (name) {
    case 'size':
    case 'length':
      arity(name, args, 0);
      return list.length;
    case 'isEmpty':
      arity(name, args, 0);
      return list.length === 0;
    case 'get':
      arity(name, args, 1);
      return list[index(args[0]!, list.length)]!;
    case 'add':
      arity(name, args, 1, 2);
      if (list.length >= MAX_VALUE_SIZE) throw illegalArgument(`a list longer than ${MAX_VALUE_SIZE} elements`);
      if (args.length === 1) {
        list.push(args[0]!);
        return true;
      }
      list.splice(args[0] === list.length ? list.length : index(args[0]!, list.length), 0, args[1]!);
      return null;
    case 'addAll': {
      arity(name, args, 1);
      const other = args[0]!;
      const items = other instanceof DocValues ? other.values() : Array.isArray(other) ? other : null;
      if (items === null) throw classCast(`Cannot cast [${typeName(other)}] to [java.util.Collection]`);
      if (list.length + items.length > MAX_VALUE_SIZE) throw illegalArgument(`a list longer than ${MAX_VALUE_SIZE} elements`);
      list.push(...items);
      return true;
    }
    case 'set': {
      arity(name, args, 2);
      const i = index(args[0]!, list.length);
      const old = list[i]!;
      list[i] = args[1]!;
      return old;
    }
    case 'remove':
      arity(name, args, 1);
      return list.splice(index(args[0]!, list.length), 1)[0]!;
    case 'contains':
      arity(name, args, 1);
      return list.some((v) => equal(v, args[0]!));
    case 'indexOf':
      arity(name, args, 1);
      return list.findIndex((v) => equal(v, args[0]!));
    case 'clear':
      arity(name, args, 0);
      list.length = 0;
      return null;
    case 'sort':
      // list.sort(null): natural order of numbers or of strings.
      arity(name, args, 0, 1);
      if (args.length === 1 && args[0] !== null) throw illegalArgument('list.sort takes no comparator here: sort(null) or sort()');
      if (list.every((v) => typeof v === 'number')) (list as number[]).sort((a, b) => a - b);
      else if (list.every((v) => typeof v === 'string')) (list as string[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      else throw classCast('list.sort needs a list of numbers or of strings');
      return null;
  }
  throw illegalArgument(`dynamic method [java.util.ArrayList, ${name}/${args.length}] not found`);
}

function mapMethod(map: ScriptMap, name: string, args: Value[]): Value {
  if (MAP_MUTATORS.has(name)) writable(map);
  switch (name) {
    case 'size':
      arity(name, args, 0);
      return map.size;
    case 'isEmpty':
      arity(name, args, 0);
      return map.size === 0;
    case 'get':
      arity(name, args, 1);
      return map.get(args[0]!) ?? null;
    case 'getOrDefault':
      arity(name, args, 2);
      return map.has(args[0]!) ? map.get(args[0]!)! : args[1]!;
    case 'containsKey':
      arity(name, args, 1);
      return map.has(args[0]!);
    case 'put': {
      arity(name, args, 2);
      changeable(map, args[0]!);
      roomIn(map, args[0]!);
      const old = map.get(args[0]!) ?? null;
      map.set(args[0]!, args[1]!);
      return old;
    }
    case 'remove': {
      arity(name, args, 1);
      changeable(map, args[0]!);
      const old = map.get(args[0]!) ?? null;
      map.delete(args[0]!);
      return old;
    }
    case 'keySet':
      arity(name, args, 0);
      return [...map.keys()];
    case 'values':
      arity(name, args, 0);
      return [...map.values()];
    case 'clear':
      arity(name, args, 0);
      for (const k of lockedKeys.get(map) ?? []) changeable(map, k);
      map.clear();
      return null;
  }
  throw illegalArgument(`dynamic method [java.util.HashMap, ${name}/${args.length}] not found`);
}

function stringMethod(s: string, name: string, args: Value[]): Value {
  switch (name) {
    case 'length':
      arity(name, args, 0);
      return s.length;
    case 'isEmpty':
      arity(name, args, 0);
      return s.length === 0;
    case 'toLowerCase':
      arity(name, args, 0);
      return s.toLowerCase();
    case 'toUpperCase':
      arity(name, args, 0);
      return s.toUpperCase();
    case 'trim':
      arity(name, args, 0);
      return s.trim();
    case 'contains':
      arity(name, args, 1);
      return s.includes(str(args[0]!, name));
    case 'startsWith':
      arity(name, args, 1);
      return s.startsWith(str(args[0]!, name));
    case 'endsWith':
      arity(name, args, 1);
      return s.endsWith(str(args[0]!, name));
    case 'indexOf':
      arity(name, args, 1);
      return s.indexOf(str(args[0]!, name));
    case 'equals':
      arity(name, args, 1);
      return s === args[0];
    case 'compareTo': {
      arity(name, args, 1);
      const o = str(args[0]!, name);
      return s < o ? -1 : s > o ? 1 : 0;
    }
    case 'charAt': {
      arity(name, args, 1);
      return s[index(args[0]!, s.length)]!;
    }
    case 'replace':
      arity(name, args, 2);
      return s.split(str(args[0]!, name)).join(str(args[1]!, name));
    case 'substring': {
      arity(name, args, 1, 2);
      const from = int(args[0]!, name);
      const to = args.length === 2 ? int(args[1]!, name) : s.length;
      if (from < 0 || to > s.length || from > to) throw new ScriptRuntimeFault('string_index_out_of_bounds_exception', `begin ${from}, end ${to}, length ${s.length}`);
      return s.slice(from, to);
    }
    case 'toString':
      arity(name, args, 0);
      return s;
  }
  throw illegalArgument(`dynamic method [java.lang.String, ${name}/${args.length}] not found`);
}

/** The elements a `for (x : v)` loop walks. */
export function iterate(v: Value): Value[] {
  if (v instanceof DocValues) return v.values();
  if (Array.isArray(v)) return v;
  if (v instanceof Map) return [...v.keys()];
  throw illegalArgument(`Cannot iterate over [${typeName(v)}]`);
}

/** Math's functions by name and arity (no random: scripts are deterministic). */
export const MATH_FUNCTIONS: Record<string, { arity: number; fn: (...x: number[]) => number }> = {
  log: { arity: 1, fn: Math.log },
  log10: { arity: 1, fn: Math.log10 },
  log1p: { arity: 1, fn: Math.log1p },
  sqrt: { arity: 1, fn: Math.sqrt },
  cbrt: { arity: 1, fn: Math.cbrt },
  exp: { arity: 1, fn: Math.exp },
  expm1: { arity: 1, fn: Math.expm1 },
  abs: { arity: 1, fn: Math.abs },
  floor: { arity: 1, fn: Math.floor },
  ceil: { arity: 1, fn: Math.ceil },
  // Java's Math.round: half up (towards positive infinity), as JavaScript's.
  round: { arity: 1, fn: Math.round },
  signum: { arity: 1, fn: Math.sign },
  sin: { arity: 1, fn: Math.sin },
  cos: { arity: 1, fn: Math.cos },
  tan: { arity: 1, fn: Math.tan },
  atan: { arity: 1, fn: Math.atan },
  pow: { arity: 2, fn: Math.pow },
  min: { arity: 2, fn: Math.min },
  max: { arity: 2, fn: Math.max },
  atan2: { arity: 2, fn: Math.atan2 },
  hypot: { arity: 2, fn: Math.hypot },
};
export const MATH_CONSTANTS: Record<string, number> = { PI: Math.PI, E: Math.E };
