/**
 * Field collapsing (`collapse: { field }`), as Elasticsearch does it: of the docs sharing a value
 * of a single-valued keyword or numeric field, only the best (by the request's sort, or score)
 * is a hit, and it carries the value in `fields`. Docs without a value form one group of their
 * own (value null). The total still counts every match. Across shards the coordinating node
 * collapses the shards' collapsed hits again: a group's best doc is among the top groups of the
 * shard that holds it, so that is exact.
 */
import type { MappingRegistry } from './mapping.ts';
import { EngineError, isPlainObject, type Column } from './types.ts';

const COLLAPSIBLE = new Set(['keyword', 'long', 'double', 'date', 'boolean']);

export function parseCollapse(v: unknown): string {
  if (!isPlainObject(v)) throw new EngineError('parsing_exception', '[collapse] must be an object: { field }');
  for (const k in v) {
    if (k === 'inner_hits' || k === 'max_concurrent_group_searches') throw new EngineError('parsing_exception', `[collapse] [${k}] is not supported`);
    if (k !== 'field') throw new EngineError('parsing_exception', `[collapse] does not support [${k}]`);
  }
  if (typeof v.field !== 'string' || v.field === '') throw new EngineError('parsing_exception', '[collapse] requires a [field]');
  return v.field;
}

/** The collapse field must have doc values: a keyword, numeric, date or boolean field. */
export function checkCollapseField(field: string, mappings: MappingRegistry): void {
  const type = mappings.field(field)?.type;
  if (type === undefined) throw new EngineError('query_shard_exception', `no mapping found for [${field}] in order to collapse on`);
  if (!COLLAPSIBLE.has(type)) {
    throw new EngineError('illegal_argument_exception', `cannot collapse on field [${field}] of type [${type}]: collapse needs a keyword or numeric field`);
  }
}

/** A doc's collapse value (null without one); more than one value is an error, as in Elasticsearch. */
export function collapseValue(column: Column | undefined, field: string, doc: number): string | number | null {
  if (!column) return null;
  const lo = column.offsets[doc]!;
  const hi = column.offsets[doc + 1]!;
  if (hi === lo) return null;
  if (hi - lo > 1) throw new EngineError('illegal_argument_exception', `failed to collapse on [${field}]: the collapse field must be single valued`);
  return column.kind === 'numeric' ? column.values[lo]! : column.terms[column.ords[lo]!]!;
}

/**
 * Keeps the best candidate per collapse value. `compare(a, b)` is negative when a ranks first.
 */
export class CollapsingCollector<C> {
  private readonly best = new Map<string | number | null, C>();

  constructor(private readonly compare: (a: C, b: C) => number) {}

  offer(value: string | number | null, candidate: C): void {
    const kept = this.best.get(value);
    if (kept === undefined || this.compare(candidate, kept) < 0) this.best.set(value, candidate);
  }

  /** The groups' best candidates, ranked. */
  ranked(): C[] {
    return [...this.best.values()].sort(this.compare);
  }
}
