import type { ClusterState } from '../cluster/cluster-state.ts';
import { badRequest, toApiError } from './errors.ts';
import { conditions, updateBody, type BulkItem, type Coordinator, type Health } from './coordinator.ts';

/**
 * The coordinator actor's message protocol (`/system/coord` on every node): `{type: 'api', op,
 * ...params}`. Every reply is either the operation's result or a structured error
 * `{type, reason, status}`. Issue 6 puts the NATS request/reply API and the client on top.
 */
export type ApiRequest = { type: 'api'; op: string } & Record<string, unknown>;

export const COORD_PATH = '/system/coord';

export async function handleApi(coord: Coordinator, state: () => ClusterState, msg: ApiRequest): Promise<unknown> {
  const p = msg;
  const write = { refresh: p.refresh as never, timeoutMs: num(p.timeout_ms), waitForActiveShards: p.wait_for_active_shards as never };
  switch (p.op) {
    case 'index.create':
      return coord.createIndex(p.index, { settings: p.settings, mappings: p.mappings }, { timeoutMs: num(p.timeout_ms), waitForActiveShards: p.wait_for_active_shards as never });
    case 'index.delete':
      return coord.deleteIndex(p.index);
    case 'index.set_replicas':
      return coord.setReplicas(p.index, p.number_of_replicas);
    case 'index.update_aliases':
      return coord.updateAliases(p.actions);
    case 'index.put_mapping':
      return coord.putMapping(p.index, p.body);
    case 'index.get_mapping':
      return coord.getMapping(p.index);
    case 'doc.explain':
      return coord.explainDoc(p.index, p.id, p.body, { routing: p.routing });
    case 'index.validate_query':
      return coord.validateQuery(p.index, p.body, p.explain === true);
    case 'index.analyze':
      return coord.analyze(p.index, p.body);
    case 'index.put_settings':
      return coord.putIndexSettings(p.index, p.body);
    case 'index.get_settings':
      return coord.getIndexSettings(p.index);
    case 'index.put_template':
      return coord.putTemplate(p.name, p.body);
    case 'index.get_template':
      return coord.getTemplate(p.name);
    case 'index.delete_template':
      return coord.deleteTemplate(p.name);
    case 'index.put_component_template':
      return coord.putComponentTemplate(p.name, p.body);
    case 'index.get_component_template':
      return coord.getComponentTemplate(p.name);
    case 'index.delete_component_template':
      return coord.deleteComponentTemplate(p.name);
    case 'index.simulate_index':
      return coord.simulateIndex(p.name);
    case 'index.open':
      return coord.openClose(p.index, 'open_index');
    case 'index.close':
      return coord.openClose(p.index, 'close_index');
    case 'index.refresh':
      return coord.refresh(p.index);
    case 'index.flush':
      return coord.flush(p.index);
    case 'index.forcemerge':
      return coord.forceMerge(p.index, { max_num_segments: p.max_num_segments, only_expunge_deletes: p.only_expunge_deletes, flush: p.flush });
    case 'index.stats':
      return coord.indexStats(p.index);
    case 'index.get':
      return coord.getIndex(p.index);
    case 'index.exists':
      return coord.indexExists(p.index);
    case 'field_caps':
      return coord.fieldCaps(p.index, p.fields);
    case 'doc.index':
      return coord.index(p.index, p.id, p.document, { ...write, op_type: p.op_type, routing: p.routing, if_seq_no: p.if_seq_no, if_primary_term: p.if_primary_term });
    case 'doc.create':
      return coord.index(p.index, p.id, p.document, { ...write, op_type: 'create', routing: p.routing });
    case 'doc.get':
      return coord.get(p.index, p.id, { routing: p.routing });
    case 'doc.delete':
      return coord.delete(p.index, p.id, { ...write, routing: p.routing, if_seq_no: p.if_seq_no, if_primary_term: p.if_primary_term });
    case 'doc.update':
      return coord.update(p.index, p.id, p.body, { ...write, routing: p.routing, if_seq_no: p.if_seq_no, if_primary_term: p.if_primary_term });
    case 'doc.mget':
      return coord.mget(p.body, p.index);
    case 'doc.bulk': {
      const started = performance.now();
      const items = parseBulk(p.operations, p.index, (script) => coord.resolveScript(script));
      const results = await coord.bulk(items, write);
      return {
        took: Math.round(performance.now() - started),
        errors: results.some((r) => 'error' in r.result),
        items: results.map((r) => ({ [r.action]: { _index: r.index, ...r.result } })),
      };
    }
    case 'reindex':
      return coord.reindex(p.body, { conflicts: p.conflicts, refresh: p.refresh, timeoutMs: num(p.timeout_ms) });
    case 'doc.update_by_query':
      return coord.updateByQuery(p.index, p.body, { conflicts: p.conflicts, refresh: p.refresh, timeoutMs: num(p.timeout_ms) });
    case 'doc.delete_by_query':
      return coord.deleteByQuery(p.index, p.body, { conflicts: p.conflicts, timeoutMs: num(p.timeout_ms) });
    case 'search':
      return coord.search(p.index, p.body, { timeoutMs: num(p.timeout_ms) });
    case 'search_template':
      return coord.searchTemplate(p.index, p.body, { timeoutMs: num(p.timeout_ms) });
    case 'render_template':
      return coord.renderTemplate(p.body);
    case 'script.put':
      return coord.putScript(p.id, p.body);
    case 'script.get':
      return coord.getScript(p.id);
    case 'script.delete':
      return coord.deleteScript(p.id);
    case 'msearch': {
      const started = performance.now();
      const searches = p.searches as { index?: unknown; body?: unknown }[];
      // Concurrently; each answers or fails on its own, as in Elasticsearch.
      const responses = await Promise.all(
        searches.map((s) =>
          coord.search(s.index, s.body ?? {}, { timeoutMs: num(p.timeout_ms) }).catch((err: unknown) => {
            const { type, reason, status, details } = apiErrorBody(err);
            return { error: { ...details, type, reason }, status };
          }),
        ),
      );
      return { took: Math.round(performance.now() - started), responses };
    }
    case 'pit.open':
      return coord.openPit(p.index, p.keep_alive);
    case 'pit.close':
      return coord.closePit(p.id);
    case 'count':
      return coord.count(p.index, p.body);
    case 'cluster.health':
      if (p.wait_for_status !== undefined) {
        if (!['green', 'yellow', 'red'].includes(p.wait_for_status as string)) throw badRequest('wait_for_status must be green, yellow or red');
        return coord.waitForHealth(p.wait_for_status as Health, p.index, num(p.timeout_ms) ?? 30_000);
      }
      return coord.health(p.index);
    case 'cluster.state':
      return state();
    case 'cluster.put_settings':
      return coord.putClusterSettings(p.persistent, p.transient);
    case 'cluster.get_settings':
      return coord.getClusterSettings();
    case 'cluster.allocation_explain':
      return coord.allocationExplain({ index: p.index, shard: p.shard, primary: p.primary, current_node: p.current_node });
    case 'cat.nodes':
      return coord.catNodes();
    case 'cat.indices':
      return coord.catIndices();
    case 'cat.shards':
      return coord.catShards();
    case 'cat.aliases':
      return coord.catAliases();
    case 'shard.stats':
      return coord.shardStats(p.index);
    default:
      throw badRequest(`unknown operation [${String(p.op)}]`);
  }
}

/** `[{index: {_index, _id}}, {...source}, {delete: {...}}, {update: {...}}, {doc: ...}]` or `[{action, index, id, document}]`. */
export function parseBulk(operations: unknown, defaultIndex: unknown, resolveScript?: (script: unknown) => unknown): BulkItem[] {
  if (!Array.isArray(operations)) throw badRequest('bulk [operations] must be an array');
  if (operations.length > 100_000) throw badRequest('a bulk request holds at most 100000 operations');
  const items: BulkItem[] = [];
  for (let i = 0; i < operations.length; i++) {
    const line = operations[i] as Record<string, unknown>;
    if (typeof line !== 'object' || line === null || Array.isArray(line)) throw badRequest(`bulk line ${i} must be an object`);
    const keys = Object.keys(line);
    const action = keys[0] as BulkItem['action'];
    if (keys.length !== 1 || !['index', 'create', 'delete', 'update'].includes(action)) throw badRequest(`bulk line ${i}: expected one of index, create, delete, update`);
    const header = line[action] as Record<string, unknown>;
    if (typeof header !== 'object' || header === null) throw badRequest(`bulk line ${i}: the action must be an object`);
    for (const k in header) if (!BULK_HEADER_KEYS.has(k)) throw badRequest(`bulk line ${i}: unknown key [${k}] in the ${action} action`);
    const index = header._index ?? defaultIndex;
    if (typeof index !== 'string') throw badRequest(`bulk line ${i}: [_index] is missing`);
    const item: BulkItem = { action, index, ...conditions(header) };
    if (header._id !== undefined) item.id = bulkString(header._id, '_id', i);
    if (header.routing !== undefined) item.routing = bulkString(header.routing, 'routing', i);
    if (action !== 'delete') {
      const body = operations[++i] as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest(`bulk line ${i}: a ${action} needs a document object on the next line`);
      if (action === 'update') Object.assign(item, updateBody(body, `the update of bulk line ${i}`, resolveScript));
      else item.source = body;
    } else if (item.id === undefined) throw badRequest(`bulk line ${i}: a delete needs an [_id]`);
    if (action === 'update' && item.id === undefined) throw badRequest(`bulk line ${i}: an update needs an [_id]`);
    items.push(item);
  }
  return items;
}

const BULK_HEADER_KEYS = new Set(['_index', '_id', 'routing', 'if_seq_no', 'if_primary_term']);

/** An `_id` or `routing` of a bulk line: a string (a number is taken as its decimal string, as Elasticsearch does). */
function bulkString(v: unknown, what: string, line: number): string {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v === '') throw badRequest(`bulk line ${line}: [${what}] must be a non-empty string`);
  return v;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export function apiErrorBody(err: unknown): { type: string; reason: string; status: number; details?: Readonly<Record<string, unknown>> } {
  const e = toApiError(err);
  return e.details === undefined ? { type: e.type, reason: e.message, status: e.status } : { type: e.type, reason: e.message, status: e.status, details: e.details };
}
