import { MappingRegistry, type Mappings } from '../engine/mapping.ts';
import type { RaftStateMachine } from '../raft/peer-state.ts';
import type { Entry } from '../raft/types.ts';
import { applyAliasActions, dropIndex, isAliasActions, type AliasAction, type Aliases } from './aliases.ts';
import { FILTER_KINDS, isAllocationFilters, type AllocationFilters } from './allocation-filters.ts';
import { allocate, failCopy, startCopy } from './allocation.ts';
import { isTemplate, type IndexTemplate, type Templates } from './templates.ts';
import { isStoredScript, type StoredScript, type StoredScripts } from './stored-scripts.ts';
import { isComponentTemplate, missingComponents, templatesUsing, type ComponentTemplate, type ComponentTemplates } from './component-templates.ts';
import type { IndexMeta, IndexSettings, ShardTable } from './metadata.ts';
import { isPlainObject as isObject } from '../engine/types.ts';

export type NodeRole = 'master' | 'data';

export interface NodeInfo {
  id: string;
  name: string;
  roles: NodeRole[];
  /** e.g. { zone: 'a' } for allocation awareness. */
  attributes: Record<string, string>;
}

/**
 * The cluster state, replicated through Raft: every committed command makes a new version.
 * `indices` holds index metadata, `routing` each shard's copies (which node, primary or replica,
 * state), its primary term and in-sync set; allocation recomputes routing after every change.
 */
export interface ClusterState {
  version: number;
  /** The elected master (the Raft leader) and the term it leads in. */
  master: { id: string; term: number } | null;
  nodes: Record<string, NodeInfo>;
  indices: Record<string, IndexMeta>;
  routing: Record<string, ShardTable[]>;
  /**
   * Cluster settings: `awareness` is the node attribute copies are spread over, `allocation` the
   * allocation filters (allocation-filters.ts).
   */
  settings: { awareness?: string; allocation?: AllocationFilters };
  /** Index aliases (aliases.ts); absent in states from before they existed. */
  aliases?: Aliases;
  /** Index templates by name (templates.ts); absent when there are none. */
  templates?: Templates;
  /** Component templates by name (component-templates.ts); absent when there are none. */
  componentTemplates?: ComponentTemplates;
  /** Stored scripts and search templates by id (stored-scripts.ts); absent when there are none. */
  storedScripts?: StoredScripts;
  /** Allocation ids are `a<version>.<n>`: unique and the same on every master. */
}

export type ClusterCommand =
  | { op: 'master'; id: string; term: number }
  | { op: 'node_join'; node: NodeInfo }
  | { op: 'node_leave'; id: string; reason: string; at?: number }
  | { op: 'create_index'; name: string; uuid: string; settings: IndexSettings; mappings: Mappings; at?: number }
  | { op: 'delete_index'; name: string; at?: number }
  | { op: 'set_replicas'; name: string; replicas: number; at?: number }
  /** An index's settings after an update of its dynamic ones (the coordinating node checked them). */
  | { op: 'update_index_settings'; name: string; settings: IndexSettings; at?: number }
  /**
   * New fields (a user's put-mapping, or the dynamic fields a primary met) and `dynamic`, merged
   * into the index's mappings; a conflicting one changes nothing (MappingRegistry.merge).
   */
  | { op: 'put_mapping'; name: string; mappings: Mappings; at?: number }
  | { op: 'open_index' | 'close_index'; name: string; at?: number }
  | { op: 'shard_started'; index: string; shard: number; allocationId: string; at?: number }
  | { op: 'shard_failed'; index: string; shard: number; allocationId: string; reason: string; primaryTerm?: number; at?: number }
  | { op: 'reroute'; at: number }
  | { op: 'cluster_settings'; awareness?: string | null; at?: number }
  /** The allocation settings as a whole (the cluster settings API): awareness and filters. */
  | { op: 'allocation_settings'; awareness: string | null; filters: AllocationFilters; at?: number }
  /** Add or replace an index template (checked by the coordinating node first). */
  | { op: 'put_template'; name: string; template: IndexTemplate; at?: number }
  | { op: 'delete_template'; name: string; at?: number }
  /** Add or replace a component template. */
  | { op: 'put_component_template'; name: string; template: ComponentTemplate; at?: number }
  /** Delete a component template no index template lists (one that is listed stays). */
  | { op: 'delete_component_template'; name: string; at?: number }
  /** Add or replace a stored script or search template (checked by the coordinating node first). */
  | { op: 'put_stored_script'; id: string; script: StoredScript; at?: number }
  | { op: 'delete_stored_script'; id: string; at?: number }
  /** Alias adds and removes, applied together as one change. */
  | { op: 'update_aliases'; actions: AliasAction[]; at?: number };

export const EMPTY_CLUSTER_STATE: ClusterState = { version: 0, master: null, nodes: {}, indices: {}, routing: {}, settings: {} };

/** Pure: the state after one command, or the same object when the command changes nothing. */
export function applyClusterCommand(state: ClusterState, cmd: ClusterCommand): ClusterState {
  const next = applyMetadata(state, cmd);
  if (next === state && cmd.op !== 'reroute') return state;
  // Allocation runs after every change; ids it hands out are unique to this version.
  let n = 0;
  const version = state.version + 1;
  const routing = allocate({
    nodes: next.nodes,
    indices: next.indices,
    routing: next.routing,
    awareness: next.settings.awareness,
    filters: next.settings.allocation,
    now: 'at' in cmd && typeof cmd.at === 'number' ? cmd.at : 0,
    newId: () => `a${version}.${n++}`,
  });
  if (next === state && JSON.stringify(routing) === JSON.stringify(state.routing)) return state;
  return { ...next, version, routing };
}

function applyMetadata(state: ClusterState, cmd: ClusterCommand): ClusterState {
  const at = 'at' in cmd && typeof cmd.at === 'number' ? cmd.at : 0;
  switch (cmd.op) {
    case 'master':
      if (state.master && state.master.term > cmd.term) return state; // a stale leader's claim
      if (state.master && state.master.term === cmd.term && state.master.id === cmd.id) return state;
      return { ...state, master: { id: cmd.id, term: cmd.term } };
    case 'node_join': {
      const current = state.nodes[cmd.node.id];
      if (current && JSON.stringify(current) === JSON.stringify(cmd.node)) return state;
      return { ...state, nodes: { ...state.nodes, [cmd.node.id]: cmd.node } };
    }
    case 'node_leave': {
      if (!state.nodes[cmd.id]) return state;
      const nodes = { ...state.nodes };
      delete nodes[cmd.id];
      const routing = mapTables(state.routing, (t, name) => {
        let table = t;
        for (const c of t.copies) if (c.node === cmd.id) table = failCopy(table, c.allocationId, at, state.indices[name]?.settings.delayed_timeout_ms ?? 0);
        return table;
      });
      return { ...state, nodes, routing };
    }
    case 'create_index': {
      if (state.indices[cmd.name]) return state;
      const meta: IndexMeta = { name: cmd.name, uuid: cmd.uuid, settings: cmd.settings, mappings: cmd.mappings, state: 'open' };
      return { ...state, indices: { ...state.indices, [cmd.name]: meta } };
    }
    case 'delete_index': {
      if (!state.indices[cmd.name]) return state;
      const indices = { ...state.indices };
      delete indices[cmd.name];
      const routing = { ...state.routing };
      delete routing[cmd.name];
      const aliases = state.aliases && dropIndex(state.aliases, cmd.name);
      return aliases === undefined ? { ...state, indices, routing } : { ...state, indices, routing, aliases };
    }
    case 'set_replicas': {
      const meta = state.indices[cmd.name];
      if (!meta || meta.settings.number_of_replicas === cmd.replicas) return state;
      return { ...state, indices: { ...state.indices, [cmd.name]: { ...meta, settings: { ...meta.settings, number_of_replicas: cmd.replicas } } } };
    }
    case 'update_index_settings': {
      const meta = state.indices[cmd.name];
      // Shards and analysis are fixed at creation (a stale or forged command cannot change them).
      if (!meta || cmd.settings.number_of_shards !== meta.settings.number_of_shards || JSON.stringify(cmd.settings.analysis) !== JSON.stringify(meta.settings.analysis)) return state;
      if (JSON.stringify(cmd.settings) === JSON.stringify(meta.settings)) return state;
      return { ...state, indices: { ...state.indices, [cmd.name]: { ...meta, settings: cmd.settings } } };
    }
    case 'put_mapping': {
      const meta = state.indices[cmd.name];
      if (!meta) return state;
      const merged = mergeMappings(meta.mappings, cmd.mappings);
      // A change always makes version + 1 (applyClusterCommand).
      return merged ? { ...state, indices: { ...state.indices, [cmd.name]: { ...meta, mappings: merged, mappingVersion: state.version + 1 } } } : state;
    }
    case 'open_index':
    case 'close_index': {
      const meta = state.indices[cmd.name];
      const want = cmd.op === 'open_index' ? 'open' : 'close';
      if (!meta || meta.state === want) return state;
      return { ...state, indices: { ...state.indices, [cmd.name]: { ...meta, state: want } } };
    }
    case 'shard_started':
      return updateTable(state, cmd.index, cmd.shard, (t) => startCopy(t, cmd.allocationId));
    case 'shard_failed':
      return updateTable(state, cmd.index, cmd.shard, (t) =>
        // A failure report from an older primary term is stale: that primary was already replaced.
        cmd.primaryTerm !== undefined && cmd.primaryTerm < t.primaryTerm ? t : failCopy(t, cmd.allocationId, at, 0),
      );
    case 'reroute':
      return state;
    case 'cluster_settings': {
      const awareness = cmd.awareness || undefined; // null, undefined and '' all mean none
      if (awareness === state.settings.awareness) return state;
      return { ...state, settings: clusterSettings(awareness, state.settings.allocation) };
    }
    case 'allocation_settings': {
      const settings = clusterSettings(cmd.awareness || undefined, cmd.filters);
      return JSON.stringify(settings) === JSON.stringify(state.settings) ? state : { ...state, settings };
    }
    case 'put_template': {
      if (JSON.stringify(state.templates?.[cmd.name]) === JSON.stringify(cmd.template)) return state;
      // Checked here too, where every master agrees: a component deleted since the coordinating node looked.
      if (missingComponents(state.componentTemplates, cmd.template).length > 0) return state;
      return { ...state, templates: { ...state.templates, [cmd.name]: cmd.template } };
    }
    case 'delete_template': {
      if (!state.templates?.[cmd.name]) return state;
      const { [cmd.name]: _gone, ...templates } = state.templates;
      return Object.keys(templates).length > 0 ? { ...state, templates } : withoutTemplates(state);
    }
    case 'put_component_template': {
      if (JSON.stringify(state.componentTemplates?.[cmd.name]) === JSON.stringify(cmd.template)) return state;
      return { ...state, componentTemplates: { ...state.componentTemplates, [cmd.name]: cmd.template } };
    }
    case 'delete_component_template': {
      if (!state.componentTemplates?.[cmd.name] || templatesUsing(state.templates, cmd.name).length > 0) return state;
      const { [cmd.name]: _gone, ...rest } = state.componentTemplates;
      if (Object.keys(rest).length > 0) return { ...state, componentTemplates: rest };
      const { componentTemplates: _none, ...without } = state;
      return without;
    }
    case 'put_stored_script': {
      if (JSON.stringify(state.storedScripts?.[cmd.id]) === JSON.stringify(cmd.script)) return state;
      return { ...state, storedScripts: { ...state.storedScripts, [cmd.id]: cmd.script } };
    }
    case 'delete_stored_script': {
      if (!state.storedScripts?.[cmd.id]) return state;
      const { [cmd.id]: _gone, ...rest } = state.storedScripts;
      if (Object.keys(rest).length > 0) return { ...state, storedScripts: rest };
      const { storedScripts: _none, ...without } = state;
      return without;
    }
    case 'update_aliases': {
      const before = state.aliases ?? {};
      const aliases = applyAliasActions(before, (name) => state.indices[name] !== undefined, cmd.actions);
      return JSON.stringify(aliases) === JSON.stringify(before) ? state : { ...state, aliases };
    }
  }
}

function mapTables(routing: Record<string, ShardTable[]>, fn: (t: ShardTable, index: string) => ShardTable): Record<string, ShardTable[]> {
  const out: Record<string, ShardTable[]> = {};
  for (const [name, tables] of Object.entries(routing)) out[name] = tables.map((t) => fn(t, name));
  return out;
}

function updateTable(state: ClusterState, index: string, shard: number, fn: (t: ShardTable) => ShardTable): ClusterState {
  const tables = state.routing[index];
  const t = tables?.[shard];
  if (!tables || !t) return state;
  const next = fn(t);
  if (next === t) return state;
  const copy = [...tables];
  copy[shard] = next;
  return { ...state, routing: { ...state.routing, [index]: copy } };
}

export function isClusterCommand(v: unknown): v is ClusterCommand {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  switch (c.op) {
    case 'master':
      return typeof c.id === 'string' && typeof c.term === 'number';
    case 'node_join': {
      const n = c.node as Record<string, unknown> | undefined;
      return !!n && typeof n.id === 'string' && typeof n.name === 'string' && Array.isArray(n.roles) && typeof n.attributes === 'object';
    }
    case 'node_leave':
      return typeof c.id === 'string' && typeof c.reason === 'string' && optNumber(c.at);
    case 'create_index':
      return typeof c.name === 'string' && typeof c.uuid === 'string' && isObject(c.settings) && isObject(c.mappings) && optNumber(c.at);
    case 'delete_index':
    case 'open_index':
    case 'close_index':
      return typeof c.name === 'string' && optNumber(c.at);
    case 'put_mapping':
      return typeof c.name === 'string' && isObject(c.mappings) && optNumber(c.at);
    case 'set_replicas':
      return typeof c.name === 'string' && Number.isInteger(c.replicas) && (c.replicas as number) >= 0 && optNumber(c.at);
    case 'shard_started':
      return typeof c.index === 'string' && Number.isInteger(c.shard) && typeof c.allocationId === 'string' && optNumber(c.at);
    case 'shard_failed':
      return typeof c.index === 'string' && Number.isInteger(c.shard) && typeof c.allocationId === 'string' && typeof c.reason === 'string' && optNumber(c.primaryTerm) && optNumber(c.at);
    case 'reroute':
      return typeof c.at === 'number';
    case 'cluster_settings':
      return (c.awareness === undefined || c.awareness === null || typeof c.awareness === 'string') && optNumber(c.at);
    case 'put_template':
      return typeof c.name === 'string' && isTemplate(c.template) && optNumber(c.at);
    case 'update_index_settings': {
      const st = c.settings as Record<string, unknown> | undefined;
      return typeof c.name === 'string' && isObject(st) && [st!.number_of_shards, st!.number_of_replicas, st!.refresh_interval_ms, st!.delayed_timeout_ms].every((x) => Number.isInteger(x)) && optNumber(c.at);
    }
    case 'delete_template':
    case 'delete_component_template':
      return typeof c.name === 'string' && optNumber(c.at);
    case 'put_component_template':
      return typeof c.name === 'string' && isComponentTemplate(c.template) && optNumber(c.at);
    case 'put_stored_script':
      return typeof c.id === 'string' && isStoredScript(c.script) && optNumber(c.at);
    case 'delete_stored_script':
      return typeof c.id === 'string' && optNumber(c.at);
    case 'allocation_settings':
      return (c.awareness === null || typeof c.awareness === 'string') && isAllocationFilters(c.filters) && optNumber(c.at);
    case 'update_aliases':
      return isAliasActions(c.actions) && optNumber(c.at);
    default:
      return false;
  }
}

/** `base` with what `extra` adds, or undefined when it adds nothing or conflicts (a deterministic merge: every master agrees). */
function withoutTemplates(state: ClusterState): ClusterState {
  const { templates: _none, ...rest } = state;
  return rest;
}

/** Settings with no empty parts (so that equal settings compare equal as JSON). */
function clusterSettings(awareness: string | undefined, filters: AllocationFilters | undefined): ClusterState['settings'] {
  const allocation: AllocationFilters = {};
  for (const kind of FILTER_KINDS) {
    const attrs = Object.entries(filters?.[kind] ?? {}).filter(([, values]) => values.length > 0);
    if (attrs.length > 0) allocation[kind] = Object.fromEntries(attrs.sort(([a], [b]) => a.localeCompare(b)));
  }
  return { ...(awareness ? { awareness } : {}), ...(Object.keys(allocation).length > 0 ? { allocation } : {}) };
}

function mergeMappings(base: Mappings, extra: Mappings): Mappings | undefined {
  try {
    const registry = new MappingRegistry(base);
    const before = JSON.stringify(registry.toJSON());
    registry.merge(extra);
    const after = registry.toJSON();
    return JSON.stringify(after) === before ? undefined : { ...base, dynamic: after.dynamic, properties: after.properties };
  } catch {
    return undefined;
  }
}

const optNumber = (v: unknown) => v === undefined || typeof v === 'number';

/** The Raft state machine of the master-eligible nodes. Listeners see every new version in order. */
export class ClusterStateMachine implements RaftStateMachine {
  state: ClusterState = EMPTY_CLUSTER_STATE;

  constructor(private readonly onChange: (state: ClusterState) => void = () => undefined) {}

  apply(entry: Entry): unknown {
    if (!isClusterCommand(entry.data)) return { version: this.state.version, ignored: true };
    const next = applyClusterCommand(this.state, entry.data);
    const changed = next !== this.state;
    if (changed) {
      this.state = next;
      this.onChange(next);
    }
    return { version: this.state.version, changed };
  }

  snapshot(): unknown {
    return this.state;
  }

  restore(data: unknown): void {
    this.state = { ...EMPTY_CLUSTER_STATE, ...(data as ClusterState) };
    this.onChange(this.state);
  }
}
