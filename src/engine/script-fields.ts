/**
 * `script_fields` and `_script` sort keys of a search: their scripts bound to each segment once
 * (by the segment object), then run per hit or per candidate.
 */
import type { MappingRegistry } from './mapping.ts';
import type { ScriptField, SortSpec } from './search-request.ts';
import { scriptValueToJson, type ScriptRunner, type ScriptSegment } from './script/index.ts';

/** A hit's `fields` from the request's script fields: each value as a list (a list value as itself), as Elasticsearch returns them. */
export function scriptFieldsComputer(fields: readonly ScriptField[], mappings: MappingRegistry): (segment: ScriptSegment, doc: number) => Record<string, unknown[]> {
  const bound = new Map<ScriptSegment, ScriptRunner[]>();
  return (segment, doc) => {
    let runners = bound.get(segment);
    if (!runners) bound.set(segment, (runners = fields.map((f) => f.script.bind(segment, mappings))));
    const out: Record<string, unknown[]> = {};
    fields.forEach((f, i) => {
      const value = scriptValueToJson(runners[i]!.run(doc));
      Object.defineProperty(out, f.name, { value: Array.isArray(value) ? value : [value], enumerable: true, writable: true, configurable: true });
    });
    return out;
  };
}

/** Per sort key, the bound script of a `_script` key (undefined for other keys); undefined when no key is a script. */
export function scriptSortRunners(sort: SortSpec, segment: ScriptSegment, mappings: MappingRegistry): (ScriptRunner | undefined)[] | undefined {
  // A plain loop: this runs per segment of every sorted search, and a closure per call costs there.
  let any = false;
  for (const k of sort) if (k.script !== undefined) any = true;
  if (!any) return undefined;
  return sort.map((k) => k.script?.script.bind(segment, mappings));
}

/** A `_script` sort key's value for a doc: a number or a string as its `type` says; null sorts as missing. */
export function scriptSortValue(runner: ScriptRunner, type: 'number' | 'string', doc: number, score: number): number | string | null {
  if (type === 'number') {
    const v = runner.run(doc, score);
    // NaN and the infinities sort as missing (they would not survive JSON between nodes).
    if (typeof v === 'number') return Number.isFinite(v) ? v : null;
    if (v === null) return null;
    return runner.number(doc, score, 'a [_script] sort of type number'); // throws: not a number
  }
  const v = scriptValueToJson(runner.run(doc, score));
  return v === null ? null : typeof v === 'string' ? v : JSON.stringify(v);
}
