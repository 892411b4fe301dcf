import type { NodeInfo } from './cluster-state.ts';
import { wildcardMatch } from './wildcard.ts';

/**
 * Elasticsearch's shard allocation filtering (cluster.routing.allocation.require|include|exclude.*):
 * which nodes may hold shard copies. Per kind, per attribute (`_name`, `_id`, or a node attribute
 * such as `zone`), the values, where `*` matches any run of characters. A node must match every
 * `require` attribute, at least one `include` attribute when there are any, and no `exclude` one.
 * Copies on a node the filters no longer allow are moved off it (allocation.ts).
 */
export type FilterKind = 'require' | 'include' | 'exclude';
export type AllocationFilters = Partial<Record<FilterKind, Record<string, string[]>>>;

export const FILTER_KINDS: readonly FilterKind[] = ['require', 'include', 'exclude'];
export const FILTER_PREFIX = 'cluster.routing.allocation.';

/** Why a node may not hold copies, as the setting that says so; undefined when it may. */
export function filterVeto(node: NodeInfo, filters: AllocationFilters | undefined): string | undefined {
  if (!filters) return undefined;
  for (const [attr, values] of Object.entries(filters.require ?? {})) {
    if (!matches(node, attr, values)) return `node does not match cluster setting [${settingName('require', attr)}:"${values.join(',')}"]`;
  }
  const include = Object.entries(filters.include ?? {});
  if (include.length > 0 && !include.some(([attr, values]) => matches(node, attr, values))) {
    return `node does not match any of cluster settings [${include.map(([attr, values]) => `${settingName('include', attr)}:"${values.join(',')}"`).join(', ')}]`;
  }
  for (const [attr, values] of Object.entries(filters.exclude ?? {})) {
    if (matches(node, attr, values)) return `node matches cluster setting [${settingName('exclude', attr)}:"${values.join(',')}"]`;
  }
  return undefined;
}

export function settingName(kind: FilterKind, attr: string): string {
  return `${FILTER_PREFIX}${kind}.${attr}`;
}

function matches(node: NodeInfo, attr: string, values: readonly string[]): boolean {
  const own = attr === '_name' ? node.name : attr === '_id' ? node.id : node.attributes[attr];
  return own !== undefined && values.some((v) => wildcardMatch(v, own));
}

/** Plain-data check for the Raft log (cluster-state.ts validates commands). */
export function isAllocationFilters(v: unknown): v is AllocationFilters {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(
    ([kind, attrs]) =>
      FILTER_KINDS.includes(kind as FilterKind) &&
      typeof attrs === 'object' &&
      attrs !== null &&
      !Array.isArray(attrs) &&
      Object.values(attrs).every((values) => Array.isArray(values) && values.every((x) => typeof x === 'string')),
  );
}
