import { checkInput, parseCompletionObject } from './completion.ts';
import { EngineError, isPlainObject } from './types.ts';

export type FieldType = 'text' | 'keyword' | 'long' | 'double' | 'date' | 'boolean' | 'completion';

export interface FieldMapping {
  type: FieldType;
  analyzer?: string;
  search_analyzer?: string;
  /** Multi-fields, e.g. `{ keyword: { type: 'keyword' } }` indexed as `title.keyword`. */
  fields?: Record<string, FieldMapping>;
  /** keyword: longer strings are not indexed (ES default for dynamic keyword sub-fields: 256). */
  ignore_above?: number;
  /** date formats, `||`-separated: strict_date_optional_time, epoch_millis, epoch_second. */
  format?: string;
  /** completion (completion.ts): separators between a key's words (default true), a removed word's position kept (default true), inputs cut to this length (default 50). */
  preserve_separators?: boolean;
  preserve_position_increments?: boolean;
  max_input_length?: number;
}

/** ES-shaped mappings: `{ dynamic, properties: { field: {type…} | {properties: …} } }`. */
export interface Mappings {
  dynamic?: boolean | 'strict';
  properties?: Record<string, unknown>;
}

/** One document's values per field path, converted to the field's type. */
export interface ParsedField {
  path: string;
  mapping: FieldMapping;
  /** text: the strings to analyze; keyword: the exact terms. */
  strings: string[];
  /** long, double, date (epoch ms), boolean (0/1). */
  numbers: number[];
}

/**
 * One document parsed: its own fields, and per nested path (`type: nested`) its nested objects,
 * each parsed the same way (a nested object may hold nested objects of a deeper path).
 */
export interface ParsedDoc {
  fields: ParsedField[];
  /** Undefined when the document has no nested objects (the common case: no allocation). */
  nested: Map<string, NestedObject[]> | undefined;
}

/** One object of a nested field: its place in the parent's array (`_nested.offset`), its source, its fields. */
export interface NestedObject {
  offset: number;
  source: Record<string, unknown>;
  doc: ParsedDoc;
}

/** A `type: nested` field's own settings. */
export interface NestedMapping {
  /** Its own `dynamic`; unset, it inherits the enclosing scope's. */
  dynamic?: boolean | 'strict';
}

/** Elasticsearch's index.mapping.nested_fields.limit and index.mapping.nested_objects.limit defaults. */
export const NESTED_FIELDS_LIMIT = 50;
export const NESTED_OBJECTS_LIMIT = 10_000;

/** Elasticsearch's index.mapping.depth.limit and index.mapping.total_fields.limit defaults. */
export const MAPPING_DEPTH_LIMIT = 20;
export const TOTAL_FIELDS_LIMIT = 1000;
/** JSON levels a document may nest (objects and arrays), so that parsing one cannot exhaust the stack. */
const MAX_DOCUMENT_NESTING = 100;

const DATE_DETECT = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The index's field mappings, flattened to dotted paths. Dynamic mapping follows Elasticsearch:
 * strings become text with a `keyword` sub-field (or date when they look like one), integers
 * long, fractions double, booleans boolean, objects are walked. A document that conflicts with the
 * mapping is rejected whole: parse() throws and adds no field.
 */
export class MappingRegistry {
  private readonly fields = new Map<string, FieldMapping>();
  private readonly objects = new Set<string>();
  /** Nested paths (also in `objects`): their fields are indexed in nested objects, not in the parent. */
  private readonly nestedPaths = new Map<string, NestedMapping>();
  /** Changes only through `merge` (a put-mapping that sets it). */
  dynamic: boolean | 'strict';

  constructor(mappings: Mappings = {}) {
    if (!isPlainObject(mappings as unknown)) throw new EngineError('mapper_parsing_exception', 'mappings must be an object');
    const unsupported = Object.keys(mappings).filter((k) => k !== 'dynamic' && k !== 'properties');
    if (unsupported.length > 0) throw new EngineError('mapper_parsing_exception', `Root mapping definition has unsupported parameters: [${unsupported.join(', ')}] (supported: dynamic, properties)`);
    if (mappings.properties !== undefined && !isPlainObject(mappings.properties)) throw new EngineError('mapper_parsing_exception', '[properties] must be an object');
    this.dynamic = mappings.dynamic ?? true;
    if (mappings.dynamic !== undefined && ![true, false, 'strict'].includes(mappings.dynamic)) {
      throw new EngineError('mapper_parsing_exception', `dynamic must be true, false or "strict"`);
    }
    this.addProperties('', mappings.properties ?? {});
    if (this.fields.size + this.objects.size > TOTAL_FIELDS_LIMIT) throw totalFieldsExceeded(this.fields.size + this.objects.size);
    if (this.nestedPaths.size > NESTED_FIELDS_LIMIT) throw nestedFieldsExceeded();
  }

  /** Whether `path` is an object (or nested) field. */
  isObject(path: string): boolean {
    return this.objects.has(path);
  }

  /** Whether `path` is a nested field (`type: nested`). */
  isNested(path: string): boolean {
    return this.nestedPaths.has(path);
  }

  /** Whether any field is nested (documents then parse their nested objects apart). */
  get hasNested(): boolean {
    return this.nestedPaths.size > 0;
  }

  /** The nested paths, outermost first. */
  nestedPathList(): string[] {
    return [...this.nestedPaths.keys()].sort((a, b) => a.length - b.length);
  }

  /** The innermost nested path that holds `path` (a field or a nested path itself excluded), or undefined at the root. */
  nestedScopeOf(path: string): string | undefined {
    for (let at = path.lastIndexOf('.'); at > 0; at = path.lastIndexOf('.', at - 1)) {
      const prefix = path.slice(0, at);
      if (this.nestedPaths.has(prefix)) return prefix;
    }
    return undefined;
  }

  /**
   * The nested paths from scope `from` (undefined: the root) down to nested path `to`, outermost
   * first (`to` last); undefined when `to` is not inside `from`.
   */
  nestedChain(from: string | undefined, to: string): string[] | undefined {
    const chain: string[] = [];
    for (let p: string | undefined = to; p !== from; p = this.nestedScopeOf(p)) {
      if (p === undefined) return undefined;
      chain.unshift(p);
    }
    return chain;
  }

  field(path: string): FieldMapping | undefined {
    return this.fields.get(path);
  }

  paths(): string[] {
    return [...this.fields.keys()];
  }

  /** The paths of object fields (`user` of `user.name`). */
  objectPaths(): string[] {
    return [...this.objects];
  }

  /** Where a field's values sit in `_source`: a multi-field (`title.english`) reads its parent's. */
  sourcePath(path: string): string {
    const dot = path.lastIndexOf('.');
    if (dot < 0) return path;
    const parent = path.slice(0, dot);
    return this.fields.get(parent)?.fields?.[path.slice(dot + 1)] ? parent : path;
  }

  /** Every analyzer a field names (`analyzer`, `search_analyzer`), with the field. */
  analyzerReferences(): { path: string; analyzer: string }[] {
    const out: { path: string; analyzer: string }[] = [];
    for (const [path, m] of this.fields) {
      if (m.analyzer !== undefined) out.push({ path, analyzer: m.analyzer });
      if (m.search_analyzer !== undefined) out.push({ path, analyzer: m.search_analyzer });
    }
    return out;
  }

  /** ES-shaped mappings (for GET _mapping and persistence). */
  toJSON(): Mappings {
    const root: Record<string, any> = {};
    for (const [path, m] of this.fields) {
      // A multi-field lives inside its parent's `fields`.
      if (this.sourcePath(path) !== path) continue;
      const parts = path.split('.');
      let node = root;
      for (let i = 0; i < parts.length - 1; i++) node = (node[parts[i]!] ??= this.objectJSON(parts.slice(0, i + 1).join('.'))).properties;
      node[parts.at(-1)!] = m;
    }
    // Nested fields without fields of their own yet.
    for (const path of this.nestedPaths.keys()) {
      let node = root;
      const parts = path.split('.');
      for (let i = 0; i < parts.length; i++) node = (node[parts[i]!] ??= this.objectJSON(parts.slice(0, i + 1).join('.'))).properties;
    }
    return { dynamic: this.dynamic, properties: root };
  }

  /** An object's mapping JSON: `{ properties }`, with `type: nested` (and its `dynamic`) for a nested path. */
  private objectJSON(path: string): { type?: 'nested'; dynamic?: boolean | 'strict'; properties: Record<string, unknown> } {
    const nested = this.nestedPaths.get(path);
    if (!nested) return { properties: {} };
    return nested.dynamic === undefined ? { type: 'nested', properties: {} } : { type: 'nested', dynamic: nested.dynamic, properties: {} };
  }

  /** Parse a source document: all of it is valid, or an EngineError names the problem. */
  parse(source: Record<string, unknown>): ParsedField[] {
    return this.parseDocument(source).fields;
  }

  /** Parse a source document with its nested objects (what indexing needs): all valid, or an EngineError. */
  parseDocument(source: Record<string, unknown>): ParsedDoc {
    const added = new Map<string, FieldMapping>();
    const doc = this.parseObject(source, '', undefined, added, 1, 0);
    if (doc.nested) checkNestedObjects(doc);
    if (added.size > 0) this.checkTotalFields(added);
    // The document is valid: only now do dynamic fields join the mapping.
    for (const [path, m] of added) this.addField(path, m);
    return doc;
  }

  /** The fields of one (root or nested) object; `prefix`: its path ('' at the root), `scope`: its nested path. */
  private parseObject(obj: Record<string, unknown>, prefix: string, scope: string | undefined, added: Map<string, FieldMapping>, depth: number, nesting: number): ParsedDoc {
    const into: ParsedDoc = { fields: [], nested: undefined };
    const byPath = new Map<string, ParsedField>();
    if (prefix === '') {
      for (const k in obj) {
        if (this.nestedPaths.size > 0 && k.includes('.') && this.crossesNested(prefix, k)) this.visitExpanded(prefix, k, obj[k], added, byPath, depth, nesting, scope, into);
        else this.visit(k, obj[k], added, byPath, depth, nesting, scope, into);
      }
    } else {
      for (const k in obj) this.visitKey(prefix, k, obj[k], added, byPath, depth + 1, nesting + 1, scope, into);
    }
    into.fields = [...byPath.values()];
    return into;
  }

  /** One key of an object below the root: a valid name, and a dotted one that crosses a nested path expanded. */
  private visitKey(prefix: string, k: string, value: unknown, added: Map<string, FieldMapping>, byPath: Map<string, ParsedField>, depth: number, nesting: number, scope: string | undefined, doc: ParsedDoc): void {
    checkFieldName(k);
    if (this.nestedPaths.size > 0 && k.includes('.') && this.crossesNested(prefix, k)) this.visitExpanded(prefix, k, value, added, byPath, depth, nesting, scope, doc);
    else this.visit(prefix ? `${prefix}.${k}` : k, value, added, byPath, depth, nesting, scope, doc);
  }

  /** Whether a dotted key (`users.first`) under `prefix` passes through a nested path (then it must become an object). */
  private crossesNested(prefix: string, key: string): boolean {
    const base = prefix === '' ? '' : `${prefix}.`;
    for (let at = key.indexOf('.'); at > 0; at = key.indexOf('.', at + 1)) if (this.nestedPaths.has(base + key.slice(0, at))) return true;
    return false;
  }

  /** A dotted key whose path crosses a nested path, visited as the objects it stands for (`{ "users.first": x }` is `{ users: { first: x } }`), as Elasticsearch expands it. */
  private visitExpanded(prefix: string, key: string, value: unknown, added: Map<string, FieldMapping>, byPath: Map<string, ParsedField>, depth: number, nesting: number, scope: string | undefined, doc: ParsedDoc): void {
    const dot = key.indexOf('.');
    const head = key.slice(0, dot);
    this.visit(prefix === '' ? head : `${prefix}.${head}`, { [key.slice(dot + 1)]: value }, added, byPath, depth, nesting, scope, doc);
  }

  /** `dynamic` in a nested scope: the innermost nested path's own, else the root's. */
  private dynamicIn(scope: string | undefined): boolean | 'strict' {
    for (let p = scope; p !== undefined; p = this.nestedScopeOf(p)) {
      const d = this.nestedPaths.get(p)!.dynamic;
      if (d !== undefined) return d;
    }
    return this.dynamic;
  }

  /**
   * Whether a document has a field this mapping does not know (a cheap walk over its keys, for
   * the hot path: only then is `dynamicUpdate` worth running).
   */
  hasUnmapped(source: Record<string, unknown>, prefix = '', nesting = 0): boolean {
    // A nested field may map dynamically under a root that does not: walk then.
    if (this.dynamic !== true && !this.hasNested) return false;
    // Too deep to walk: let dynamicUpdate refuse it.
    if (nesting > MAX_DOCUMENT_NESTING) return true;
    for (const k in source) {
      const path = prefix ? `${prefix}.${k}` : k;
      const v = source[k];
      if (v === null || v === undefined) continue;
      const first = Array.isArray(v) ? v.find((x) => x !== null && x !== undefined) : v;
      if (first === undefined) continue;
      if (typeof first === 'object') {
        if (this.fields.get(path)?.type === 'completion') continue;
        const objects = (Array.isArray(v) ? v : [v]).filter((x) => typeof x === 'object' && x !== null);
        if (objects.some((x) => this.hasUnmapped(x as Record<string, unknown>, path, nesting + 1))) return true;
      } else if (!this.fields.has(path) && this.dynamicIn(this.nestedScopeOf(path)) === true) return true;
    }
    return false;
  }

  /**
   * The mapping a document would add (its dynamic fields), without adding it: undefined when it
   * adds nothing; throws, as `parse` does, when the document does not fit.
   */
  dynamicUpdate(source: Record<string, unknown>): Mappings | undefined {
    const added = new Map<string, FieldMapping>();
    const doc = this.parseObject(source, '', undefined, added, 1, 0);
    if (doc.nested) checkNestedObjects(doc);
    if (added.size === 0) return undefined;
    this.checkTotalFields(added);
    const delta = new MappingRegistry();
    // The delta keeps the nested fields its fields sit in nested (merging them as objects would conflict).
    for (const path of added.keys()) for (let p = this.nestedScopeOf(path); p !== undefined; p = this.nestedScopeOf(p)) delta.nestedPaths.set(p, { ...this.nestedPaths.get(p) });
    for (const [path, m] of added) delta.addField(path, m);
    return { properties: delta.toJSON().properties };
  }

  /**
   * Merge `other` in, as Elasticsearch's put-mapping does: new fields and objects are added, a
   * field already mapped keeps its type and parameters (only new multi-fields may join it), and
   * `dynamic` changes when `other` sets it. All or nothing: a conflict throws before anything
   * changes. The master merges both users' put-mappings and the dynamic fields shards propose
   * with this, and shards merge the master's mappings with it.
   */
  merge(other: Mappings): void {
    const o = new MappingRegistry(other);
    const dynamic = other.dynamic === undefined ? this.dynamic : o.dynamic;
    const updated = new Map<string, FieldMapping>();
    const updatedNested = new Map<string, boolean | 'strict'>();
    for (const [path, m] of o.fields) {
      const mine = this.fields.get(path);
      if (!mine) {
        if (this.objects.has(path)) throw new EngineError('illegal_argument_exception', `mapper [${path}] cannot be changed from type [${this.nestedPaths.has(path) ? 'nested' : 'object'}] to [${m.type}]`);
        continue;
      }
      checkUnchanged(path, mine, m);
      const added = Object.keys(m.fields ?? {}).filter((sub) => !mine.fields?.[sub]);
      if (added.length > 0) updated.set(path, { ...mine, fields: { ...mine.fields, ...Object.fromEntries(added.map((sub) => [sub, m.fields![sub]!])) } });
    }
    for (const path of o.objects) {
      if (this.fields.has(path)) throw new EngineError('illegal_argument_exception', `mapper [${path}] cannot be changed from type [${this.fields.get(path)!.type}] to [${o.nestedPaths.has(path) ? 'nested' : 'object'}]`);
      // An object stays an object and a nested field nested (Elasticsearch refuses the change either way).
      if (this.objects.has(path) && this.nestedPaths.has(path) !== o.nestedPaths.has(path)) {
        const [from, to] = this.nestedPaths.has(path) ? ['nested', 'object'] : ['object', 'nested'];
        throw new EngineError('illegal_argument_exception', `mapper [${path}] cannot be changed from type [${from}] to [${to}]`);
      }
      const mine = this.nestedPaths.get(path);
      const theirs = o.nestedPaths.get(path);
      if (mine && theirs && theirs.dynamic !== undefined && theirs.dynamic !== mine.dynamic) updatedNested.set(path, theirs.dynamic);
    }
    let newNested = 0;
    for (const path of o.nestedPaths.keys()) if (!this.nestedPaths.has(path)) newNested++;
    if (this.nestedPaths.size + newNested > NESTED_FIELDS_LIMIT) throw nestedFieldsExceeded();
    let adds = 0;
    for (const path of o.objects) if (!this.objects.has(path)) adds++;
    for (const path of o.fields.keys()) if (!this.fields.has(path)) adds++;
    // Checked here too, where the master merges what shards propose: two shards' documents could pass it together.
    if (this.fields.size + this.objects.size + adds > TOTAL_FIELDS_LIMIT) throw totalFieldsExceeded(adds);
    for (const path of o.objects) this.objects.add(path);
    for (const [path, n] of o.nestedPaths) if (!this.nestedPaths.has(path)) this.nestedPaths.set(path, { ...n });
    for (const [path, dynamic] of updatedNested) this.nestedPaths.set(path, { dynamic });
    for (const [path, m] of updated) this.addField(path, m);
    for (const [path, m] of o.fields) if (!this.fields.has(path)) this.fields.set(path, m);
    this.dynamic = dynamic;
  }

  // Methods rather than closures: parse() runs once per document on the indexing hot path.
  /**
   * `depth`: the field's depth in objects (1 at the root); `nesting`: JSON levels (objects and
   * arrays) above the value, bounded so that no document can exhaust the stack.
   */
  private visit(prefix: string, value: unknown, added: Map<string, FieldMapping>, byPath: Map<string, ParsedField>, depth: number, nesting: number, scope: string | undefined, doc: ParsedDoc): void {
    if (nesting > MAX_DOCUMENT_NESTING) throw new EngineError('mapper_parsing_exception', `the document nests deeper than ${MAX_DOCUMENT_NESTING} levels at [${prefix}]`);
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const v of value) this.visit(prefix, v, added, byPath, depth, nesting + 1, scope, doc);
      return;
    }
    if (typeof value === 'object') {
      const existing = this.fields.get(prefix) ?? added.get(prefix);
      if (existing?.type === 'completion') return convertCompletionObject(prefix, value as Record<string, unknown>, parsedField(byPath, prefix, existing));
      if (existing) throw conflict(prefix, existing.type, 'object');
      const obj = value as Record<string, unknown>;
      const dynamic = this.dynamicIn(scope);
      // Only where new fields get mapped: with dynamic false an unmapped subtree is only kept in _source.
      if (dynamic === true && depth + 1 > MAPPING_DEPTH_LIMIT) throw new EngineError('illegal_argument_exception', `Limit of mapping depth [${MAPPING_DEPTH_LIMIT}] has been exceeded due to object field [${prefix}]`);
      if (this.nestedPaths.size > 0 && this.nestedPaths.has(prefix)) {
        // A nested object is a document of its own: its fields are not the parent's.
        const objects = ((doc.nested ??= new Map()).get(prefix) ?? []);
        doc.nested.set(prefix, objects);
        objects.push({ offset: objects.length, source: obj, doc: this.parseObject(obj, prefix, prefix, added, depth, nesting) });
        return;
      }
      for (const k in obj) this.visitKey(prefix, k, obj[k], added, byPath, depth + 1, nesting + 1, scope, doc);
      return;
    }
    if (this.objects.has(prefix)) throw conflict(prefix, this.nestedPaths.has(prefix) ? 'nested' : 'object', typeof value);
    let mapping = this.fields.get(prefix) ?? added.get(prefix);
    if (!mapping) {
      const dynamic = this.dynamicIn(scope);
      if (dynamic === 'strict') {
        throw new EngineError('strict_dynamic_mapping_exception', `mapping set to strict, dynamic introduction of [${prefix}] is not allowed`);
      }
      if (dynamic === false) return; // kept in _source, not indexed
      mapping = dynamicMapping(value);
      added.set(prefix, mapping);
    }
    convert(prefix, mapping, value, parsedField(byPath, prefix, mapping));
    if (mapping.fields) for (const sub in mapping.fields) convert(`${prefix}.${sub}`, mapping.fields[sub]!, value, parsedField(byPath, `${prefix}.${sub}`, mapping.fields[sub]!));
  }

  /** Elasticsearch's index.mapping.total_fields.limit: fields, their multi-fields and objects, with what a document would add. */
  private checkTotalFields(added: Map<string, FieldMapping>): void {
    let total = this.fields.size + this.objects.size;
    const newObjects = new Set<string>();
    for (const [path, m] of added) {
      total += 1 + Object.keys(m.fields ?? {}).length;
      for (let at = path.indexOf('.'); at > 0; at = path.indexOf('.', at + 1)) {
        const parent = path.slice(0, at);
        if (!this.objects.has(parent)) newObjects.add(parent);
      }
    }
    total += newObjects.size;
    if (total > TOTAL_FIELDS_LIMIT) throw totalFieldsExceeded(added.size);
  }

  private addProperties(prefix: string, props: Record<string, unknown>): void {
    for (const [name, def] of Object.entries(props)) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (typeof def !== 'object' || def === null) throw new EngineError('mapper_parsing_exception', `mapping for [${path}] must be an object`);
      const d = def as Record<string, unknown>;
      if (d.type === 'nested') {
        for (const k in d) if (k !== 'type' && k !== 'properties' && k !== 'dynamic') throw unknownParameter(k, path, 'nested');
        if (d.dynamic !== undefined && ![true, false, 'strict'].includes(d.dynamic as boolean | string)) throw new EngineError('mapper_parsing_exception', `dynamic of [${path}] must be true, false or "strict"`);
        if (d.properties !== undefined && !isPlainObject(d.properties)) throw new EngineError('mapper_parsing_exception', `[properties] of [${path}] must be an object`);
        this.objects.add(path);
        this.nestedPaths.set(path, d.dynamic === undefined ? {} : { dynamic: d.dynamic as boolean | 'strict' });
        this.addProperties(path, (d.properties ?? {}) as Record<string, unknown>);
        continue;
      }
      if (d.properties !== undefined || d.type === 'object') {
        for (const k in d) if (k !== 'type' && k !== 'properties') throw unknownParameter(k, path, 'object');
        if (d.properties !== undefined && !isPlainObject(d.properties)) throw new EngineError('mapper_parsing_exception', `[properties] of [${path}] must be an object`);
        this.objects.add(path);
        this.addProperties(path, (d.properties ?? {}) as Record<string, unknown>);
        continue;
      }
      this.addField(path, validateFieldMapping(path, d));
    }
  }

  private addField(path: string, m: FieldMapping): void {
    this.fields.set(path, m);
    for (const [sub, sm] of Object.entries(m.fields ?? {})) this.fields.set(`${path}.${sub}`, sm);
    const parts = path.split('.');
    for (let i = 1; i < parts.length; i++) this.objects.add(parts.slice(0, i).join('.'));
  }
}

const TYPES: FieldType[] = ['text', 'keyword', 'long', 'double', 'date', 'boolean', 'completion'];
const ALIASES: Record<string, FieldType> = { integer: 'long', short: 'long', byte: 'long', float: 'double', half_float: 'double', scaled_float: 'double' };

/** The parameters each field type takes besides `type`: anything else is an error, as in Elasticsearch. */
const PARAMETERS: Record<FieldType, readonly string[]> = {
  text: ['analyzer', 'search_analyzer', 'fields'],
  keyword: ['ignore_above', 'fields'],
  long: ['fields'],
  double: ['fields'],
  date: ['format', 'fields'],
  boolean: ['fields'],
  completion: ['analyzer', 'search_analyzer', 'preserve_separators', 'preserve_position_increments', 'max_input_length'],
};
const DATE_FORMATS = new Set(['strict_date_optional_time', 'date_optional_time', 'date', 'epoch_millis', 'epoch_second']);

function unknownParameter(k: string, path: string, type: string): EngineError {
  return new EngineError('mapper_parsing_exception', `unknown parameter [${k}] on mapper [${path}] of type [${type}]`);
}

function validateFieldMapping(path: string, def: unknown): FieldMapping {
  if (!isPlainObject(def)) throw new EngineError('mapper_parsing_exception', `mapping for [${path}] must be an object`);
  const d = def as Record<string, unknown>;
  const type = (ALIASES[d.type as string] ?? d.type) as FieldType;
  if (!TYPES.includes(type)) throw new EngineError('mapper_parsing_exception', `no handler for type [${String(d.type)}] declared on field [${path}]`);
  for (const k in d) if (k !== 'type' && !PARAMETERS[type].includes(k)) throw unknownParameter(k, path, String(d.type));
  const m: FieldMapping = { type };
  for (const k of ['analyzer', 'search_analyzer', 'format'] as const) {
    if (d[k] !== undefined) {
      if (typeof d[k] !== 'string') throw new EngineError('mapper_parsing_exception', `[${k}] on field [${path}] must be a string`);
      m[k] = d[k] as string;
    }
  }
  if (m.format !== undefined) {
    for (const f of m.format.split('||')) if (!DATE_FORMATS.has(f)) throw new EngineError('mapper_parsing_exception', `Invalid format: [${m.format}] on field [${path}]: supported formats are ${[...DATE_FORMATS].join(', ')}, joined by ||`);
  }
  for (const k of ['preserve_separators', 'preserve_position_increments'] as const) {
    if (d[k] !== undefined) {
      if (typeof d[k] !== 'boolean') throw new EngineError('mapper_parsing_exception', `[${k}] on field [${path}] must be a boolean`);
      m[k] = d[k] as boolean;
    }
  }
  if (d.max_input_length !== undefined) {
    if (!Number.isInteger(d.max_input_length) || (d.max_input_length as number) < 1) throw new EngineError('mapper_parsing_exception', `[max_input_length] on [${path}] must be a positive integer`);
    m.max_input_length = d.max_input_length as number;
  }
  if (d.ignore_above !== undefined) {
    if (!Number.isInteger(d.ignore_above) || (d.ignore_above as number) < 0) throw new EngineError('mapper_parsing_exception', `[ignore_above] on [${path}] must be a non-negative integer`);
    m.ignore_above = d.ignore_above as number;
  }
  if (d.fields !== undefined) {
    if (!isPlainObject(d.fields)) throw new EngineError('mapper_parsing_exception', `[fields] of [${path}] must be an object`);
    m.fields = {};
    for (const [sub, sd] of Object.entries(d.fields as Record<string, unknown>)) {
      const sm = validateFieldMapping(`${path}.${sub}`, sd);
      if (sm.fields) throw new EngineError('mapper_parsing_exception', `[${path}.${sub}]: a multi-field cannot have multi-fields of its own`);
      m.fields[sub] = sm;
    }
  }
  return m;
}

/** The parameters a mapped field cannot change (Elasticsearch's put-mapping refuses these updates too). */
const FIXED_PARAMETERS = ['analyzer', 'search_analyzer', 'ignore_above', 'format', 'preserve_separators', 'preserve_position_increments', 'max_input_length'] as const;

function checkUnchanged(path: string, mine: FieldMapping, update: FieldMapping): void {
  if (mine.type !== update.type) throw new EngineError('illegal_argument_exception', `mapper [${path}] cannot be changed from type [${mine.type}] to [${update.type}]`);
  for (const p of FIXED_PARAMETERS) {
    if (mine[p] !== update[p]) {
      throw new EngineError('illegal_argument_exception', `Mapper for [${path}] conflicts with existing mapper: Cannot update parameter [${p}] from [${mine[p] ?? 'default'}] to [${update[p] ?? 'default'}]`);
    }
  }
}

function parsedField(byPath: Map<string, ParsedField>, path: string, mapping: FieldMapping): ParsedField {
  let f = byPath.get(path);
  if (!f) byPath.set(path, (f = { path, mapping, strings: [], numbers: [] }));
  return f;
}

function dynamicMapping(value: unknown): FieldMapping {
  switch (typeof value) {
    case 'string':
      if (DATE_DETECT.test(value) && !Number.isNaN(Date.parse(value))) return { type: 'date' };
      return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
    case 'number':
      return Number.isInteger(value) ? { type: 'long' } : { type: 'double' };
    case 'boolean':
      return { type: 'boolean' };
    default:
      throw new EngineError('mapper_parsing_exception', `cannot map a value of type ${typeof value}`);
  }
}

function nestedFieldsExceeded(): EngineError {
  return new EngineError('illegal_argument_exception', `Limit of nested fields [${NESTED_FIELDS_LIMIT}] has been exceeded`);
}

function checkFieldName(k: string): void {
  if (k === '' || (k.includes('.') && k.split('.').some((p) => p === ''))) throw new EngineError('mapper_parsing_exception', `field name [${k}] is not valid`);
}

/** Elasticsearch's index.mapping.nested_objects.limit: nested objects of every path and depth, per document. */
function checkNestedObjects(doc: ParsedDoc): void {
  if (countNestedObjects(doc, 0) > NESTED_OBJECTS_LIMIT) {
    throw new EngineError('mapper_parsing_exception', `The number of nested documents has exceeded the allowed limit of [${NESTED_OBJECTS_LIMIT}]. This limit can be set by changing the [index.mapping.nested_objects.limit] index level setting.`);
  }
}

/** `count` plus the document's nested objects at every depth (stops counting past the limit). */
function countNestedObjects(doc: ParsedDoc, count: number): number {
  if (!doc.nested) return count;
  for (const objects of doc.nested.values()) {
    count += objects.length;
    for (const o of objects) {
      if (count > NESTED_OBJECTS_LIMIT) return count;
      count = countNestedObjects(o.doc, count);
    }
  }
  return count;
}

function totalFieldsExceeded(adding: number): EngineError {
  return new EngineError('illegal_argument_exception', `Limit of total fields [${TOTAL_FIELDS_LIMIT}] has been exceeded while adding new fields [${adding}]`);
}

function conflict(path: string, mapped: string, got: string): EngineError {
  return new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [${mapped}]: got ${got}`);
}

/** Convert one value to the field's type, or throw (the whole document is rejected). */
function convert(path: string, m: FieldMapping, value: unknown, into: ParsedField): void {
  if (m.type === 'text' && typeof value === 'string') {
    into.strings.push(value); // the common case, first
    return;
  }
  switch (m.type) {
    case 'text':
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw conversionError(path, m, `unexpected ${typeof value}`);
      into.strings.push(String(value));
      return;
    case 'keyword': {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw conversionError(path, m, `unexpected ${typeof value}`);
      const s = String(value);
      if (m.ignore_above === undefined || s.length <= m.ignore_above) into.strings.push(s);
      return;
    }
    case 'long': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw conversionError(path, m, `[${String(value)}] is not a number`);
      if (!Number.isSafeInteger(Math.trunc(n))) throw conversionError(path, m, `[${String(value)}] is out of range for a long`);
      into.numbers.push(Math.trunc(n));
      return;
    }
    case 'double': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw conversionError(path, m, `[${String(value)}] is not a number`);
      into.numbers.push(n);
      return;
    }
    case 'boolean':
      if (value === true || value === 'true') into.numbers.push(1);
      else if (value === false || value === 'false' || value === '') into.numbers.push(0);
      else throw conversionError(path, m, `[${String(value)}] is not a boolean`);
      return;
    case 'date':
      into.numbers.push(parseDate(value, m.format, (why) => conversionError(path, m, why)));
      return;
    case 'completion':
      // An input with weight 1; `{ input, weight }` objects come through convertCompletionObject.
      into.strings.push(checkInput(path, value));
      into.numbers.push(1);
      return;
  }
}

/** A completion field's `{ input, weight }`: each input with the weight. */
function convertCompletionObject(path: string, value: Record<string, unknown>, into: ParsedField): void {
  const { inputs, weight } = parseCompletionObject(path, value);
  for (const input of inputs) {
    into.strings.push(input);
    into.numbers.push(weight);
  }
}

function conversionError(path: string, m: FieldMapping, why: string): EngineError {
  return new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [${m.type}]: ${why}`);
}

/** Dates as epoch milliseconds; formats: strict_date_optional_time (ISO 8601), epoch_millis, epoch_second. */
export function parseDate(value: unknown, format: string | undefined, fail: (why: string) => Error = (w) => new EngineError('parse_exception', w)): number {
  const formats = (format ?? 'strict_date_optional_time||epoch_millis').split('||');
  for (const f of formats) {
    if ((f === 'epoch_millis' || f === 'epoch_second') && (typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)))) {
      const n = Number(value);
      return f === 'epoch_second' ? n * 1000 : n;
    }
    if ((f === 'strict_date_optional_time' || f === 'date_optional_time' || f === 'date') && typeof value === 'string' && DATE_DETECT.test(value)) {
      // A date without a zone is UTC, as in Elasticsearch.
      const iso = /[zZ]|[+-]\d{2}:?\d{2}$/.test(value) || value.length <= 10 ? value : `${value}Z`;
      const t = Date.parse(iso.replace(' ', 'T'));
      if (!Number.isNaN(t)) return t;
    }
  }
  throw fail(`failed to parse date [${String(value)}] with format [${formats.join('||')}]`);
}
