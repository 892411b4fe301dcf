import type { ClusterState } from '../cluster/cluster-state.ts';
import { indexSettingsView } from '../cluster/index-settings-update.ts';
import { wildcardMatch } from '../cluster/wildcard.ts';
import { MappingRegistry } from '../engine/mapping.ts';
import { badRequest } from './errors.ts';

/**
 * Read-only views of indices for the index APIs: get-index, field capabilities, and index stats
 * summed from the shard copies' own stats. Pure: the coordinating node gathers the inputs.
 */

/** Elasticsearch's get-index: each index's aliases, mappings and settings. */
export function indexView(state: ClusterState, index: string) {
  const meta = state.indices[index]!;
  const aliases: Record<string, { is_write_index?: boolean }> = {};
  for (const [alias, a] of Object.entries(state.aliases ?? {})) {
    if (!a.indices.includes(index)) continue;
    aliases[alias] = a.writeIndex === undefined ? {} : { is_write_index: a.writeIndex === index };
  }
  return { aliases, mappings: new MappingRegistry(meta.mappings).toJSON(), settings: indexSettingsView(meta.uuid, meta.settings) };
}

export interface FieldCapability {
  type: string;
  metadata_field: boolean;
  searchable: boolean;
  aggregatable: boolean;
  /** Only when the field has more than one type across the indices: the indices with this one. */
  indices?: string[];
}

/** The metadata fields field_caps lists, as Elasticsearch does for `*`. */
const METADATA: Record<string, Omit<FieldCapability, 'indices'>> = {
  _id: { type: '_id', metadata_field: true, searchable: true, aggregatable: false },
  _index: { type: '_index', metadata_field: true, searchable: true, aggregatable: true },
  _source: { type: '_source', metadata_field: true, searchable: false, aggregatable: false },
  _seq_no: { type: '_seq_no', metadata_field: true, searchable: true, aggregatable: true },
  _version: { type: '_version', metadata_field: true, searchable: false, aggregatable: true },
};

/** `fields`: a pattern or a list (or comma-separated), `*` wildcards; required, as in Elasticsearch. */
export function fieldPatterns(fields: unknown): string[] {
  const raw = typeof fields === 'string' ? fields.split(',') : fields;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((f) => typeof f === 'string' && f.trim().length > 0)) throw badRequest('[fields] must be a field name or pattern, or a non-empty list of them');
  return raw.map((f: string) => f.trim());
}

/**
 * Elasticsearch's field capabilities over these indices: per field, per type it has, whether it
 * can be searched and aggregated (text cannot be aggregated: it has no doc values), and which
 * indices have the type when the indices disagree.
 */
export function fieldCaps(state: ClusterState, indices: string[], patterns: string[]) {
  const wanted = (path: string) => patterns.some((p) => wildcardMatch(p, path));
  const byField = new Map<string, Map<string, { cap: Omit<FieldCapability, 'indices'>; indices: string[] }>>();
  const add = (path: string, cap: Omit<FieldCapability, 'indices'>, index: string) => {
    if (!wanted(path)) return;
    const types = byField.get(path) ?? new Map();
    byField.set(path, types);
    const entry = types.get(cap.type) ?? { cap, indices: [] };
    types.set(cap.type, entry);
    entry.indices.push(index);
  };
  for (const index of indices) {
    const registry = new MappingRegistry(state.indices[index]!.mappings);
    for (const path of registry.paths()) {
      const type = registry.field(path)!.type;
      add(path, { type, metadata_field: false, searchable: true, aggregatable: type !== 'text' }, index);
    }
    for (const path of registry.objectPaths()) add(path, { type: registry.isNested(path) ? 'nested' : 'object', metadata_field: false, searchable: false, aggregatable: false }, index);
    for (const [name, cap] of Object.entries(METADATA)) add(name, cap, index);
  }
  const fields: Record<string, Record<string, FieldCapability>> = {};
  for (const path of [...byField.keys()].sort()) {
    const types = byField.get(path)!;
    fields[path] = Object.fromEntries([...types].map(([type, e]) => [type, types.size > 1 ? { ...e.cap, indices: e.indices.sort() } : e.cap]));
  }
  return { indices: [...indices].sort(), fields };
}

/** One copy's figures, as `shard.stats` answers them (ShardCopy.stats). */
export interface CopyStats {
  index: string;
  primary: boolean;
  docs?: number;
  docs_deleted?: number;
  segments?: number;
  store_bytes?: number;
  error?: string;
}

interface StatsBlock {
  docs: { count: number; deleted: number };
  store: { size_in_bytes: number };
  segments: { count: number };
}

const emptyBlock = (): StatsBlock => ({ docs: { count: 0, deleted: 0 }, store: { size_in_bytes: 0 }, segments: { count: 0 } });

function addTo(block: StatsBlock, c: CopyStats): void {
  block.docs.count += c.docs ?? 0;
  block.docs.deleted += c.docs_deleted ?? 0;
  block.store.size_in_bytes += c.store_bytes ?? 0;
  block.segments.count += c.segments ?? 0;
}

/** Elasticsearch's index stats: per index and for all, the primaries' figures and every copy's. */
export function indexStats(state: ClusterState, names: string[], copies: CopyStats[]) {
  const all = { primaries: emptyBlock(), total: emptyBlock() };
  const indices: Record<string, { uuid: string; primaries: StatsBlock; total: StatsBlock }> = {};
  for (const index of [...names].sort()) indices[index] = { uuid: state.indices[index]!.uuid, primaries: emptyBlock(), total: emptyBlock() };
  let failed = 0;
  for (const c of copies) {
    if (c.error !== undefined) {
      failed++;
      continue;
    }
    const entry = indices[c.index];
    if (!entry) continue;
    addTo(entry.total, c);
    addTo(all.total, c);
    if (c.primary) {
      addTo(entry.primaries, c);
      addTo(all.primaries, c);
    }
  }
  return { _shards: { total: copies.length, successful: copies.length - failed, failed }, _all: all, indices };
}
