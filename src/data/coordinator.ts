import { randomBytes, randomUUID } from 'node:crypto';
import { shardHealth } from '../cluster/allocation.ts';
import type { ClusterCommand, ClusterState } from '../cluster/cluster-state.ts';
import { writeIndexOf, type AliasAction } from '../cluster/aliases.ts';
import { explainAllocation, ExplainError } from '../cluster/allocation-explain.ts';
import { indexSettingsView, readOnlyBlock, updateIndexSettings, writeBlock } from '../cluster/index-settings-update.ts';
import { wildcardMatch } from '../cluster/wildcard.ts';
import { flattenSettings, settingsAsFlat, updateSettings } from '../cluster/cluster-settings.ts';
import { analysisSettingsOf, parseIndexSettings, SettingsError, validateIndexName, type ShardCopy as RoutingCopy, type ShardTable } from '../cluster/metadata.ts';
import { shardFor } from '../cluster/routing.ts';
import { reduceShardAggs, type ShardAggsResult } from '../engine/aggs/index.ts';
import { MappingRegistry, type Mappings } from '../engine/mapping.ts';
import { compareSortValues, parseSearchRequest } from '../engine/search-request.ts';
import { parseScript, type UpdateScriptContext, type UpdateScriptRunner } from '../engine/script/index.ts';
import { innerHitQueries } from '../engine/nested.ts';
import type { CollapseInnerHitsResult } from '../engine/collapse.ts';
import { expandCollapsedHits } from './expand-phase.ts';
import { analyzeRequest } from '../engine/analyze.ts';
import { validateIndexDefinition, type SearchHit, type SearchResponse, type WriteResult } from '../engine/shard-engine.ts';
import { mergeSuggestions } from '../engine/suggest.ts';
import { decodePit, encodePit, keepAliveMs, shardDoc, shardSearchAfter, withShardDocTiebreaker, type PitShard } from './pit-id.ts';
import type { ActorSystem } from '../runtime/actor-system.ts';
import { deleteStoredScript, getStoredScript, putStoredScript, renderSearchTemplate, resolveStoredScripts, templateSearchBody } from './script-admin.ts';
import { deleteComponentTemplate, deleteIndexTemplate, getComponentTemplates, getIndexTemplates, indexDefinition, putComponentTemplate, putIndexTemplate, simulateIndex, type TemplateHost } from './template-admin.ts';
import { fieldCaps, fieldPatterns, indexStats, indexView, type CopyStats } from './index-info.ts';
import { ApiError, badRequest, indexNotFound, RETRYABLE, str, toApiError, wrap, wrapEngine } from './errors.ts';
import { shardActorName, INDICES_PATH } from './indices-service.ts';
import type { ItemResult, RefreshMode, WriteAction, WriteItem, WriteReply } from './shard-copy.ts';

export interface CoordinatorHost {
  system: ActorSystem;
  nodeId: string;
  readonly state: ClusterState;
  onState(fn: (s: ClusterState) => void): () => void;
  propose(command: ClusterCommand): Promise<{ version: number; changed: boolean }>;
  waitForVersion(version: number, timeoutMs: number): Promise<ClusterState>;
}

export type Health = 'green' | 'yellow' | 'red';

export interface BulkItem {
  action: WriteAction;
  index: string;
  id?: string;
  routing?: string;
  source?: Record<string, unknown>;
  doc?: Record<string, unknown>;
  upsert?: Record<string, unknown>;
  doc_as_upsert?: boolean;
  /** update: a script run on the primary (checked by updateBody), and whether it runs on the upsert document too. */
  script?: unknown;
  scripted_upsert?: boolean;
  if_seq_no?: number;
  if_primary_term?: number;
  /** Coordinator-internal: the shard, when known (a hit's), instead of hashing routing or id. */
  shard?: number;
}

export interface WriteOpts {
  refresh?: boolean | 'true' | 'false' | 'wait_for';
  timeoutMs?: number;
  waitForActiveShards?: number | 'all';
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A force merge re-indexes whole shards: give it time (Elasticsearch waits for it by default). */
const FORCE_MERGE_TIMEOUT_MS = 10 * 60_000;
/** Documents delete_by_query and reindex take from a shard per batch (Elasticsearch's scroll size). */
const SCROLL_BATCH = 1000;
/** Longest a write's answer waits for this node to apply the primary's cluster state version. */
const STATE_CATCH_UP_MS = 2_000;
/** How long a reindex's point-in-time readers may go between batches. */
const REINDEX_KEEP_ALIVE_MS = 5 * 60_000;

/**
 * The coordinating node's side of every document, search and index operation. Any node can
 * coordinate: it routes a write to its shard's primary (by a hash of the id or routing key),
 * waits out primary failover by retrying on the new primary until the timeout, and searches one
 * copy of every shard (query, then fetch of the winners), merging hits and aggregations.
 */
export class Coordinator {
  private roundRobin = 0;

  constructor(private readonly host: CoordinatorHost) {}

  private get state(): ClusterState {
    return this.host.state;
  }

  /** Commit a cluster-state command through the master, and answer once this node has applied it. */
  private async commit(command: ClusterCommand): Promise<ClusterState> {
    const res = await this.host.propose(command);
    return this.host.waitForVersion(res.version, 10_000);
  }

  // ---- index admin ------------------------------------------------------------------------------

  async createIndex(name: unknown, body: { settings?: unknown; mappings?: unknown } = {}, opts: { timeoutMs?: number; waitForActiveShards?: number | 'all' } = {}) {
    const index = wrap(() => validateIndexName(name));
    if (this.state.indices[index]) throw new ApiError('resource_already_exists_exception', `index [${index}] already exists`, 400);
    if (this.state.aliases?.[index]) throw new ApiError('invalid_index_name_exception', `Invalid index name [${index}], an alias with the same name already exists`, 400);
    if (body.mappings !== undefined && (typeof body.mappings !== 'object' || body.mappings === null || Array.isArray(body.mappings))) throw badRequest('mappings must be an object');
    // The matching index template composed with its components, under what the request gives itself.
    const { settings, mappings, aliases: templateAliases } = indexDefinition(this.state, index, body);
    const aliases = Object.entries(templateAliases).map(([alias, opts]): AliasAction => ({ add: { index, alias, ...(opts.is_write_index !== undefined ? { is_write_index: opts.is_write_index } : {}) } }));
    for (const a of aliases) if ('add' in a && this.state.indices[a.add.alias]) throw new ApiError('invalid_alias_name_exception', `the template's alias [${a.add.alias}] is the name of an index`, 400);
    const uuid = randomUUID().replace(/-/g, '').slice(0, 22);
    await this.commit({ op: 'create_index', name: index, uuid, settings, mappings, at: this.now() });
    const created = this.host.state.indices[index] as { uuid: string } | undefined;
    if (created?.uuid !== uuid) throw new ApiError('resource_already_exists_exception', `index [${index}] already exists`, 400);
    if (aliases.length > 0) await this.commit({ op: 'update_aliases', actions: aliases, at: this.now() });
    const shardsAcknowledged = await this.waitForActive(index, opts.waitForActiveShards ?? 1, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
      .then(() => true)
      .catch(() => false);
    return { acknowledged: true, shards_acknowledged: shardsAcknowledged, index };
  }

  async deleteIndex(name: unknown) {
    const index = this.existing(name);
    await this.commit({ op: 'delete_index', name: index, at: this.now() });
    return { acknowledged: true };
  }

  async setReplicas(name: unknown, replicas: unknown) {
    const index = this.existing(name);
    const n = wrap(() => parseIndexSettings({ number_of_replicas: replicas }).number_of_replicas);
    await this.commit({ op: 'set_replicas', name: index, replicas: n, at: this.now() });
    return { acknowledged: true };
  }

  async openClose(name: unknown, op: 'open_index' | 'close_index') {
    const index = this.existing(name);
    await this.commit({ op, name: index, at: this.now() });
    return { acknowledged: true };
  }

  /** Every copy of every shard, recovering ones too: one may turn searchable right after. */
  refresh(indexExpr: unknown) {
    return this.broadcast(indexExpr, { type: 'shard.refresh' }, 10_000);
  }

  /** Every copy writes its segments and a commit point and trims its translog. */
  flush(indexExpr: unknown) {
    return this.broadcast(indexExpr, { type: 'shard.flush' }, 60_000);
  }

  /**
   * Elasticsearch's force merge, on every copy: down to `max_num_segments` (1 by default), or only
   * the segments with deleted docs; then a flush unless `flush` is false.
   */
  forceMerge(indexExpr: unknown, params: { max_num_segments?: unknown; only_expunge_deletes?: unknown; flush?: unknown } = {}) {
    const { max_num_segments: max, only_expunge_deletes: expunge, flush } = params;
    if (max !== undefined && (!Number.isInteger(max) || (max as number) < 1)) throw badRequest(`[max_num_segments] must be a positive integer, got [${String(max)}]`);
    if (expunge !== undefined && typeof expunge !== 'boolean') throw badRequest('[only_expunge_deletes] must be a boolean');
    if (flush !== undefined && typeof flush !== 'boolean') throw badRequest('[flush] must be a boolean');
    if (max !== undefined && expunge === true) throw badRequest('cannot set only_expunge_deletes and max_num_segments at the same time, those two parameters are mutually exclusive');
    const message = { type: 'shard.forcemerge', ...(max !== undefined ? { maxNumSegments: max } : {}), ...(expunge !== undefined ? { onlyExpungeDeletes: expunge } : {}), ...(flush !== undefined ? { flush } : {}) };
    return this.broadcast(indexExpr, message, FORCE_MERGE_TIMEOUT_MS);
  }

  /** Ask every copy of every shard of the indices, and count the answers as Elasticsearch's broadcast APIs do. */
  private async broadcast(indexExpr: unknown, message: { type: string; [k: string]: unknown }, timeoutMs: number) {
    const targets = this.resolveIndices(indexExpr ?? '_all').flatMap((index) =>
      (this.state.routing[index] ?? []).flatMap((table, shard) => table.copies.map((copy) => ({ index, uuid: this.state.indices[index]!.uuid, shard, copy }))),
    );
    const results = await Promise.allSettled(targets.map((t) => this.askShard(t.copy.node, t.uuid, t.shard, message, timeoutMs)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ index: targets[i]!.index, shard: targets[i]!.shard, node: targets[i]!.copy.node, reason: { type: toApiError(r.reason).type, reason: toApiError(r.reason).message } }] : []));
    return { _shards: { total: targets.length, successful: targets.length - failures.length, failed: failures.length, ...(failures.length > 0 ? { failures } : {}) } };
  }

  /** Elasticsearch's get-index: aliases, mappings and settings of each index (closed ones too, when named). */
  getIndex(indexExpr: unknown) {
    return Object.fromEntries(this.resolveIndices(indexExpr ?? '_all', true).map((index) => [index, indexView(this.state, index)]));
  }

  /** Whether the expression names anything: an index, an alias, or a pattern that matches one. */
  indexExists(indexExpr: unknown) {
    try {
      return { exists: this.resolveIndices(str(indexExpr, 'index'), true).length > 0 };
    } catch (err) {
      if ((err as ApiError).type === 'index_not_found_exception') return { exists: false };
      throw err;
    }
  }

  /** Field capabilities across the indices (index-info.ts). */
  fieldCaps(indexExpr: unknown, fields: unknown) {
    return fieldCaps(this.state, this.resolveIndices(indexExpr ?? '_all'), fieldPatterns(fields));
  }

  /** Index stats summed from every copy's shard stats: docs, deleted docs, segments, store bytes. */
  async indexStats(indexExpr: unknown) {
    const names = this.resolveIndices(indexExpr ?? '_all');
    const copies = await Promise.all(
      names.flatMap((index) =>
        (this.state.routing[index] ?? []).flatMap((table, shard) =>
          table.copies
            .filter((c) => c.state === 'STARTED' || c.state === 'RELOCATING')
            .map((c) =>
              this.askShard<Record<string, unknown>>(c.node, this.state.indices[index]!.uuid, shard, { type: 'shard.stats' }, 5_000).then(
                (st): CopyStats => ({ index, primary: c.primary, ...st }),
                (err): CopyStats => ({ index, primary: c.primary, error: toApiError(err).message }),
              ),
            ),
        ),
      ),
    );
    return indexStats(this.state, names, copies);
  }

  // ---- documents --------------------------------------------------------------------------------

  async index(index: unknown, id: unknown, source: unknown, params: { op_type?: unknown; routing?: unknown; if_seq_no?: unknown; if_primary_term?: unknown } & WriteOpts = {}) {
    const action = params.op_type === undefined || params.op_type === 'index' ? 'index' : params.op_type === 'create' ? 'create' : undefined;
    if (!action) throw badRequest(`op_type must be index or create, got [${String(params.op_type)}]`);
    return this.single({ action, index: str(index, 'index'), id: optStr(id, 'id'), source: obj(source, 'document'), routing: optStr(params.routing, 'routing'), ...conditions(params) }, params);
  }

  async delete(index: unknown, id: unknown, params: { routing?: unknown; if_seq_no?: unknown; if_primary_term?: unknown } & WriteOpts = {}) {
    return this.single({ action: 'delete', index: str(index, 'index'), id: str(id, 'id'), routing: optStr(params.routing, 'routing'), ...conditions(params) }, params);
  }

  async update(index: unknown, id: unknown, body: unknown, params: { routing?: unknown; if_seq_no?: unknown; if_primary_term?: unknown } & WriteOpts = {}) {
    return this.single({ action: 'update', index: str(index, 'index'), id: str(id, 'id'), routing: optStr(params.routing, 'routing'), ...updateBody(body, 'the update request', (s) => this.resolveScript(s)), ...conditions(params) }, params);
  }

  private async single(item: BulkItem, opts: WriteOpts) {
    const [result] = await this.bulk([item], opts);
    const r = result!.result;
    if ('error' in r) {
      // A script error's structured fields (script_stack, position, caused_by) stay with it.
      const { type, reason, ...details } = r.error as { type: string; reason: string } & Record<string, unknown>;
      throw new ApiError(type, reason, r.status, Object.keys(details).length > 0 ? details : undefined);
    }
    // The concrete index (a write through an alias names the alias).
    return { _index: result!.index, ...r };
  }

  /** Mixed actions; every item gets its own result (or error) in order. */
  async bulk(items: BulkItem[], opts: WriteOpts = {}): Promise<{ index: string; action: WriteAction; result: ItemResult }[]> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const refresh = refreshMode(opts.refresh);
    const out: { index: string; action: WriteAction; result: ItemResult }[] = new Array(items.length);
    const now = this.now();
    const groups = new Map<string, { index: string; shard: number; items: WriteItem[]; slots: number[] }>();
    // A write through an alias goes to its write index (an alias that has none fails the item).
    const aliasError = new Map<number, string>();
    items = items.map((item, slot) => {
      const alias = this.state.aliases?.[item.index];
      if (!alias) return item;
      const target = writeIndexOf(alias);
      if ('error' in target) aliasError.set(slot, `alias [${item.index}] has ${target.error}`);
      return 'index' in target ? { ...item, index: target.index } : item;
    });
    for (const name of new Set(items.map((i) => i.index))) {
      if (!this.state.indices[name] && !this.state.aliases?.[name] && items.some((i) => i.index === name && i.action !== 'delete')) await this.autoCreate(name, timeoutMs);
    }
    items.forEach((item, slot) => {
      const badAlias = aliasError.get(slot);
      if (badAlias !== undefined) {
        out[slot] = { index: item.index, action: item.action, result: { _id: item.id ?? '', status: 400, error: { type: 'illegal_argument_exception', reason: badAlias } } };
        return;
      }
      const meta = this.state.indices[item.index];
      if (!meta) {
        out[slot] = { index: item.index, action: item.action, result: { _id: item.id ?? '', status: 404, error: { type: 'index_not_found_exception', reason: `no such index [${item.index}]` } } };
        return;
      }
      if (meta.state === 'close') {
        out[slot] = { index: item.index, action: item.action, result: { _id: item.id ?? '', status: 400, error: { type: 'index_closed_exception', reason: `closed index [${item.index}]` } } };
        return;
      }
      const blocked = writeBlock(item.index, meta.settings);
      if (blocked) {
        out[slot] = { index: item.index, action: item.action, result: { _id: item.id ?? '', status: 403, error: { type: 'cluster_block_exception', reason: blocked } } };
        return;
      }
      // Ids are made here, so a retried write cannot create a second document.
      const id = item.id ?? randomBytes(15).toString('base64url');
      const shard = item.shard ?? shardFor(item.routing ?? id, meta.settings.number_of_shards);
      const key = `${item.index}\u0000${shard}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { index: item.index, shard, items: [], slots: [] }));
      const { index: _i, routing, shard: _s, ...rest } = item;
      // A script's ctx._now and ctx._routing: one time for the whole request, fixed here so a retry on a new primary sees the same.
      g.items.push(item.script === undefined ? { ...rest, id } : { ...rest, id, now, ...(routing !== undefined ? { routing } : {}) });
      g.slots.push(slot);
    });
    await Promise.all(
      [...groups.values()].map(async (g) => {
        let results: ItemResult[];
        try {
          results = await this.writeShard(g.index, g.shard, g.items, refresh, timeoutMs, opts.waitForActiveShards ?? 1);
        } catch (err) {
          const e = toApiError(err);
          results = g.items.map((i) => ({ _id: i.id, status: e.status, error: { type: e.type, reason: e.message } }));
        }
        results.forEach((r, i) => (out[g.slots[i]!] = { index: g.index, action: g.items[i]!.action, result: r }));
      }),
    );
    return out;
  }

  /** Send one shard's items to its primary; retry on the new primary while the shard fails over. */
  private async writeShard(index: string, shard: number, items: WriteItem[], refresh: RefreshMode, timeoutMs: number, waitForActive: number | 'all'): Promise<ItemResult[]> {
    const deadline = this.now() + timeoutMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - this.now();
      if (remaining <= 0) {
        throw new ApiError('unavailable_shards_exception', `[${index}][${shard}] primary shard is not active or the write timed out after ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`, 503);
      }
      const meta = this.state.indices[index];
      if (!meta) throw indexNotFound(index);
      const table = this.state.routing[index]?.[shard];
      const primary = table?.copies.find((c) => c.primary && c.state !== 'INITIALIZING');
      if (!table || !primary || !this.enoughActive(table, waitForActive, meta.settings.number_of_replicas)) {
        await this.routingChange(index, shard, table, Math.min(remaining, 1_000));
        continue;
      }
      const changed = this.routingChangeAbort(index, shard, primary.allocationId, table.primaryTerm);
      try {
        const reply = await Promise.race([
          this.askShard<WriteReply>(primary.node, meta.uuid, shard, { type: 'shard.write', items, term: table.primaryTerm, refresh, mappingVersion: meta.mappingVersion }, Math.min(remaining, 15_000)),
          changed.promise,
        ]);
        // Answer with at least the primary's routing (WriteReply); bounded, a lagging node answers anyway.
        if (reply.stateVersion > this.state.version) await this.host.waitForVersion(reply.stateVersion, Math.max(0, Math.min(deadline - this.now(), STATE_CATCH_UP_MS))).catch(() => undefined);
        return reply.items;
      } catch (err) {
        const type = (err as { type?: string }).type ?? '';
        if (!RETRYABLE.has(type) && type !== 'routing_changed') throw err;
        lastError = err;
        // Wait for a new routing table (the master replacing the primary), or back off a little.
        if (type !== 'routing_changed') await this.routingChange(index, shard, table, Math.min(deadline - this.now(), 50 * 2 ** Math.min(attempt, 4)));
      } finally {
        changed.cancel();
      }
    }
  }

  private enoughActive(table: ShardTable, want: number | 'all', replicas: number): boolean {
    const active = table.copies.filter((c) => c.state !== 'INITIALIZING').length;
    return want === 'all' ? active >= replicas + 1 : active >= want;
  }

  async get(index: unknown, id: unknown, params: { routing?: unknown } = {}) {
    const name = this.concrete(index);
    const docId = str(id, 'id');
    const meta = this.state.indices[name]!;
    const shard = shardFor(optStr(params.routing, 'routing') ?? docId, meta.settings.number_of_shards);
    const copies = this.readableCopies(this.state.routing[name]?.[shard], true);
    if (copies.length === 0) throw new ApiError('no_shard_available_action_exception', `[${name}][${shard}] no started copy`, 503);
    let lastError: unknown;
    // Real-time get: the primary first (it has every acknowledged write), then the others.
    for (const copy of copies) {
      try {
        const r = await this.askShard<Record<string, unknown>>(copy.node, meta.uuid, shard, { type: 'shard.get', id: docId }, 5_000);
        return { _index: name, ...r };
      } catch (err) {
        lastError = err;
      }
    }
    throw toApiError(lastError);
  }

  /**
   * Elasticsearch's `_explain`: how one document scores for a query (src/engine/explain.ts), or
   * that it does not match. Runs on a copy of the document's shard, against what is searchable.
   */
  async explainDoc(index: unknown, id: unknown, body: unknown, params: { routing?: unknown; timeoutMs?: number } = {}) {
    const name = this.concrete(index);
    const docId = str(id, 'id');
    const b = obj(body, 'explain body');
    for (const k of Object.keys(b)) if (k !== 'query') throw badRequest(`unknown key [${k}] in the explain request; known: query`);
    if (b.query === undefined) throw badRequest('the explain request needs a [query]');
    wrapEngine(() => parseSearchRequest({ query: b.query }));
    const routing = optStr(params.routing, 'routing');
    if ((await this.get(name, docId, { routing }) as { found?: boolean }).found !== true) throw new ApiError('document_missing_exception', `[${docId}]: document missing`, 404);
    const shard = shardFor(routing ?? docId, this.state.indices[name]!.settings.number_of_shards);
    const target = this.searchTargets([name], false)[shard]!;
    if (!target.copy) throw new ApiError('no_shard_available_action_exception', `[${name}][${shard}] no started copy`, 503);
    // The post filter picks the document out without changing its score or its explanation.
    const request = { query: b.query, post_filter: { ids: { values: [docId] } }, explain: true, size: 1, _source: false, track_total_hits: false };
    const hit = (await this.searchWithRetry(target, request, params.timeoutMs ?? DEFAULT_TIMEOUT_MS)).r.hits.hits[0];
    if (!hit) return { _index: name, _id: docId, matched: false, explanation: { value: 0, description: 'the document does not match the query', details: [] } };
    return { _index: name, _id: docId, matched: true, explanation: hit._explanation };
  }

  async mget(body: unknown, defaultIndex?: unknown) {
    const b = obj(body, 'mget body');
    const docs: { _index: unknown; _id: unknown; routing?: unknown }[] = Array.isArray(b.docs)
      ? (b.docs as Record<string, unknown>[]).map((d) => ({ _index: d?._index ?? defaultIndex, _id: d?._id, routing: d?.routing }))
      : Array.isArray(b.ids)
        ? (b.ids as unknown[]).map((id) => ({ _index: defaultIndex, _id: id }))
        : (() => {
            throw badRequest('mget needs [docs] or [ids]');
          })();
    const out = await Promise.all(
      docs.map((d) =>
        this.get(d._index, d._id, { routing: d.routing }).catch((err) => {
          const e = toApiError(err);
          return { _index: d._index, _id: d._id, error: { type: e.type, reason: e.message } };
        }),
      ),
    );
    return { docs: out };
  }

  // ---- search -----------------------------------------------------------------------------------

  /**
   * Query then fetch: every shard (one copy each) returns the ids, scores and sort values of its
   * top from+size; the coordinator merges them, then fetches the sources of the winners from the
   * copies that found them. A shard that fails is reported in `_shards.failures`, with partial
   * results from the others. Aggregations: every shard returns mergeable partial state
   * (`partial_aggs`), reduced here into the final response (`reduceShardAggs`).
   */
  async search(indexExpr: unknown, body: unknown = {}, params: { timeoutMs?: number } = {}) {
    const started = performance.now();
    // Stored scripts (`script: { id }`) get their source here: shards know no ids.
    const { pit, ...plain } = obj(resolveStoredScripts(this.state, body ?? {}), 'search body');
    const request = pit === undefined ? plain : withShardDocTiebreaker(plain);
    // Shard-level flag only: a client cannot ask for unreduced aggregation state.
    if (request.partial_aggs !== undefined) throw badRequest('unknown key [partial_aggs] in the search request');
    // The whole body is checked here, once: a bad request fails before any shard sees it.
    const parsed = wrapEngine(() => parseSearchRequest(request));
    const point = pit === undefined ? undefined : this.pitOf(pit, indexExpr);
    const { from, size } = parsed;
    if (point && parsed.searchAfter) shardSearchAfter(parsed.searchAfter, 0); // a bad tiebreaker fails here, once
    // With a point in time the score order is explicit (`_score`, then the tiebreaker): scores are still reported.
    const scoreFirst = point !== undefined && parsed.sort[0]?.field === '_score';
    const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // A point in time searches the readers it opened; otherwise, one copy of every shard now.
    const targets = point ? point.targets : this.searchTargets(this.resolveIndices(indexExpr ?? '_all'), false);
    // _source, highlight and script_fields are the fetch phase's: only the winners need them.
    const { from: _f, size: _s, _source, highlight, script_fields, indices_boost: _ib, ...rest } = request;
    // indices_boost: each shard is told its own index's boost (aliases and patterns resolved here; the first entry naming an index wins).
    const indexBoosts = new Map<string, number>();
    for (const { pattern, boost } of parsed.indicesBoost ?? []) for (const index of this.resolveIndices(pattern)) if (!indexBoosts.has(index)) indexBoosts.set(index, boost);
    const hasAggs = parsed.aggs !== undefined;
    // Completion suggestions carry their docs' _source from the query phase (the only one they have).
    const completions = parsed.suggest?.some((spec) => spec.kind === 'completion') === true;
    // The shards collapse; the expand phase (collapse.inner_hits) is this node's, after the fetch.
    const collapse = parsed.collapse === undefined ? {} : { collapse: { field: parsed.collapse } };
    const queryPhase = { ...rest, ...collapse, from: 0, size: from + size, _source: completions ? (_source ?? true) : false, ...(hasAggs ? { partial_aggs: true } : {}) };
    // The fetch phase reads the winners from the readers their query phase ran on (point in time).
    // Inner hits (of nested queries) and script fields come with the fetch phase, as in Elasticsearch.
    const innerHits = wrapEngine(() => innerHitQueries(parsed.query)).length > 0;
    const fetchNeeded = size > 0 && (_source !== false || highlight !== undefined || script_fields !== undefined || innerHits);
    const failures: { index: string; shard: number; node?: string; reason: { type: string; reason: string } }[] = [];
    let timedOut = false;
    const shardResults = await Promise.all(
      targets.map(async (t, ordinal) => {
        if (!t.copy) {
          failures.push({ index: t.index, shard: t.shard, reason: { type: 'no_shard_available_action_exception', reason: 'no started copy' } });
          return undefined;
        }
        try {
          const paged = point && parsed.searchAfter ? { ...queryPhase, search_after: shardSearchAfter(parsed.searchAfter, ordinal) } : queryPhase;
          const boost = indexBoosts.get(t.index);
          const phase = boost === undefined ? paged : { ...paged, indices_boost: [{ [t.index]: boost }] };
          const { r, copy } = await this.searchWithRetry(t, phase, timeoutMs, fetchNeeded);
          // The request's `timeout` passed on that shard: its hits are partial.
          if (r.timed_out) timedOut = true;
          // The shard sorted by `_doc` last: the tiebreaker is its `_shard_doc`.
          if (point) for (const hit of r.hits.hits) hit.sort![hit.sort!.length - 1] = shardDoc(ordinal, hit.sort!.at(-1) as number);
          return { t, r, copy };
        } catch (err) {
          const e = toApiError(err);
          if (e.type === 'timeout') timedOut = true;
          // A bad request is the caller's error, not a shard failure.
          if (e.status === 400) throw e;
          failures.push({ index: t.index, shard: t.shard, node: t.copy.node, reason: { type: e.type, reason: e.message } });
          return undefined;
        }
      }),
    );
    const ok = shardResults.filter((x): x is NonNullable<typeof x> => x !== undefined);
    if (ok.length === 0 && targets.length > 0) {
      throw new ApiError('search_phase_execution_exception', `all shards failed: ${failures.map((f) => f.reason.reason).join('; ')}`, 503);
    }
    // Merge: by sort values when sorting, else by score; ties by shard order, then rank in shard.
    const sorted = !parsed.byScore;
    type Ranked = { hit: SearchHit; shardIdx: number; rank: number };
    const all: Ranked[] = [];
    ok.forEach(({ r }, shardIdx) => r.hits.hits.forEach((hit, rank) => all.push({ hit, shardIdx, rank })));
    all.sort((a, b) => (sorted ? compareSortValues(a.hit.sort ?? [], b.hit.sort ?? [], parsed.sort) : (b.hit._score ?? 0) - (a.hit._score ?? 0)) || a.shardIdx - b.shardIdx || a.rank - b.rank);
    // Collapsed shard hits collapse again: the first (best) hit of each value wins.
    const page = (parsed.collapse === undefined ? all : collapseMerged(all, parsed.collapse)).slice(from, from + size);
    // Fetch phase: the winners' sources (and highlights) from the copies that scored them.
    const byShard = new Map<number, Ranked[]>();
    for (const p of page) byShard.set(p.shardIdx, [...(byShard.get(p.shardIdx) ?? []), p]);
    const fetched = new Map<Ranked, SearchHit>();
    if (fetchNeeded) {
      // Shards without a winner only free their reader (not awaited).
      ok.forEach(({ t, r, copy }, shardIdx) => {
        if (!byShard.has(shardIdx) && r.reader_id !== undefined && t.pitReader === undefined) {
          this.askShard(copy.node, t.uuid, t.shard, { type: 'shard.free_reader', readerId: r.reader_id }, 5_000).catch(() => undefined);
        }
      });
      await Promise.all(
        [...byShard].map(async ([shardIdx, ranked]) => {
          const { t, r, copy } = ok[shardIdx]!;
          try {
            // The copy that ran the query phase: the reader is its own.
            const res = await this.askShard<{ hits: SearchHit[] }>(
              copy.node,
              t.uuid,
              t.shard,
              { type: 'shard.fetch', readerId: r.reader_id, addresses: ranked.map((x) => x.hit._address), _source: _source ?? true, highlight, script_fields, query: request.query },
              timeoutMs,
            );
            ranked.forEach((x, i) => {
              const h = res.hits[i];
              if (h) fetched.set(x, h);
            });
          } catch (err) {
            const e = toApiError(err);
            failures.push({ index: t.index, shard: t.shard, node: copy.node, reason: { type: e.type, reason: `fetch phase: ${e.message}` } });
          }
        }),
      );
    }
    const hits = page.map((p) => {
      const f = fetched.get(p);
      const hit: Record<string, unknown> = { _index: ok[p.shardIdx]!.t.index, _id: p.hit._id, _score: scoreFirst ? p.hit.sort![0] : p.hit._score };
      if (f?._source !== undefined) hit._source = f._source;
      if (p.hit.sort !== undefined) hit.sort = p.hit.sort;
      if (p.hit.matched_queries !== undefined) hit.matched_queries = p.hit.matched_queries;
      // The collapse value (query phase) and the script fields (fetch phase).
      if (p.hit.fields !== undefined || f?.fields !== undefined) hit.fields = { ...p.hit.fields, ...f?.fields };
      if (p.hit._explanation !== undefined) hit._explanation = p.hit._explanation;
      if (p.hit._seq_no !== undefined) hit._seq_no = p.hit._seq_no;
      if (p.hit._primary_term !== undefined) hit._primary_term = p.hit._primary_term;
      if (p.hit._version !== undefined) hit._version = p.hit._version;
      if (f?.highlight !== undefined) hit.highlight = f.highlight;
      if (f?.inner_hits !== undefined) hit.inner_hits = withIndex(f.inner_hits, ok[p.shardIdx]!.t.index);
      return hit;
    });
    if (parsed.collapseExpand !== undefined && hits.length > 0) {
      const groupSearch = async (groupBody: Record<string, unknown>) => {
        // With a point in time the group searches search its readers too.
        const r = (await this.search(indexExpr, point ? { ...groupBody, pit } : groupBody, params)) as { hits: CollapseInnerHitsResult<Record<string, unknown>>['hits'] };
        if (point) for (const h of r.hits.hits) withoutTiebreaker(h, groupBody.sort !== undefined);
        return { hits: r.hits };
      };
      await expandCollapsedHits(hits, plain, parsed.collapse!, parsed.collapseExpand, groupSearch);
    }
    let total = 0;
    let relation: 'eq' | 'gte' = 'eq';
    let maxScore: number | null = null;
    for (const { r } of ok) {
      total += r.hits.total.value;
      if (r.hits.total.relation === 'gte') relation = 'gte';
      if (r.hits.max_score !== null) maxScore = Math.max(maxScore ?? -Infinity, r.hits.max_score);
    }
    const response: Record<string, unknown> = {
      took: Math.round(performance.now() - started),
      timed_out: timedOut,
      _shards: { total: targets.length, successful: ok.length, skipped: 0, failed: targets.length - ok.length, ...(failures.length > 0 ? { failures } : {}) },
      hits: { total: { value: total, relation }, max_score: scoreFirst ? ((all[0]?.hit.sort?.[0] as number | undefined) ?? null) : sorted ? null : maxScore, hits },
    };
    if (point) response.pit_id = point.id;
    if (parsed.terminateAfter !== undefined) response.terminated_early = ok.some(({ r }) => r.terminated_early === true);
    if (parsed.suggest !== undefined) {
      response.suggest = Object.fromEntries(parsed.suggest.map((spec) => [spec.name, mergeSuggestions(ok.map(({ r }) => r.suggest?.[spec.name] ?? []), spec)]));
    }
    if (hasAggs && ok.length > 0) {
      // The reduce phase: merge every shard's partial state, then render (one shard renders as it would alone).
      const partials: ShardAggsResult[] = ok.map(({ t, r }) => {
        if (r.partial_aggregations === undefined) {
          throw new ApiError('aggregation_execution_exception', `shard [${t.index}][${t.shard}] returned no partial aggregations`, 500);
        }
        return r.partial_aggregations;
      });
      response.aggregations = wrapEngine(() => reduceShardAggs(parsed.aggs, partials));
    }
    return response;
  }

  /**
   * Delete every document a query matches (Elasticsearch's _delete_by_query): in batches, each
   * shard's next matches with their seq_no and primary term, deleted on that very shard on the
   * condition that they have not changed since (a doc updated meanwhile is a version conflict,
   * not a lost update). `conflicts: abort` (the default) stops at the first conflict and reports
   * it; `proceed` counts it and goes on. `max_docs` bounds the deletions.
   */
  async deleteByQuery(indexExpr: unknown, body: unknown, params: { conflicts?: unknown; timeoutMs?: number } = {}) {
    const started = performance.now();
    const b = obj(body ?? {}, 'delete_by_query body');
    for (const k of Object.keys(b)) if (k !== 'query' && k !== 'max_docs') throw badRequest(`unknown key [${k}] in the delete_by_query request; known: query, max_docs`);
    const { query, maxDocs, proceed } = scrollOptions(b.query, b.max_docs, params.conflicts);
    const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const indices = this.resolveIndices(indexExpr);
    let deleted = 0;
    let conflicts = 0;
    let batches = 0;
    const failures: ByQueryFailure[] = [];
    for (const t of this.searchTargets(indices, false)) {
      // This shard's docs that conflicted: left out of its later batches (else they would match again).
      const conflicted: string[] = [];
      while (deleted < maxDocs && failures.length === 0) {
        // The shard's copies as routed now: one that moved away since the last batch has stopped
        // receiving its writes.
        const routed = this.searchTargets([t.index], false)[t.shard] ?? t;
        if (!routed.copy) {
          failures.push({ index: t.index, shard: t.shard, status: 503, cause: { type: 'no_shard_available_action_exception', reason: 'no started copy' } });
          break;
        }
        const q = conflicted.length > 0 ? { bool: { must: [query], must_not: [{ ids: { values: conflicted } }] } } : query;
        const size = Math.min(SCROLL_BATCH, maxDocs - deleted);
        const { r } = await this.searchWithRetry(routed, { query: q, size, sort: ['_doc'], _source: false, seq_no_primary_term: true, track_total_hits: false }, timeoutMs);
        const hits = r.hits.hits;
        if (hits.length === 0) break;
        batches++;
        const items: BulkItem[] = hits.map((h) => ({ action: 'delete', index: t.index, id: h._id, shard: t.shard, if_seq_no: h._seq_no, if_primary_term: h._primary_term }));
        // Refreshed, so that the next batch does not find these again.
        const results = await this.bulk(items, { refresh: true, timeoutMs });
        results.forEach(({ result }, i) => {
          if (!('error' in result)) deleted++;
          else if (result.status === 409 || result.status === 404) {
            conflicts++;
            conflicted.push(items[i]!.id!);
            if (!proceed) failures.push({ index: t.index, id: items[i]!.id, status: 409, cause: result.error });
          } else failures.push({ index: t.index, id: items[i]!.id, status: result.status, cause: result.error });
        });
      }
      if (failures.length > 0) break;
    }
    return { took: Math.round(performance.now() - started), timed_out: false, total: deleted + conflicts, deleted, batches, version_conflicts: conflicts, noops: 0, failures };
  }

  /**
   * Open a point in time (Elasticsearch's PIT): on one copy of every shard, a reader as it is now.
   * Searches that name its id see those readers, whatever is written, deleted or merged since:
   * pages with `search_after` then neither skip nor repeat. Each reader is freed by `closePit`,
   * or once it goes `keep_alive` without a search.
   */
  async openPit(indexExpr: unknown, keepAlive: unknown) {
    const ms = keepAliveMs(keepAlive);
    const targets = this.searchTargets(this.resolveIndices(indexExpr), false);
    const opened: PitShard[] = [];
    try {
      for (const t of targets) opened.push(await this.openPitOn(t, ms));
    } catch (err) {
      await this.freePitReaders(opened);
      throw toApiError(err);
    }
    return { id: encodePit(opened) };
  }

  /** A point-in-time reader on one copy of a shard: the chosen copy, else the next (as searches retry). */
  private async openPitOn(t: SearchTarget, keepAliveMs: number): Promise<PitShard> {
    if (!t.copy) throw new ApiError('no_shard_available_action_exception', `[${t.index}][${t.shard}] no started copy`, 503);
    let lastError: unknown;
    for (const copy of [t.copy, ...t.others]) {
      try {
        const { reader_id } = await this.askShard<{ reader_id: string }>(copy.node, t.uuid, t.shard, { type: 'shard.open_pit', keepAliveMs }, DEFAULT_TIMEOUT_MS);
        return { index: t.index, uuid: t.uuid, shard: t.shard, node: copy.node, allocationId: copy.allocationId, reader: reader_id };
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  /** Close a point in time: free its readers (those already gone count as not freed). */
  async closePit(id: unknown) {
    const freed = await this.freePitReaders(decodePit(id));
    return { succeeded: true, num_freed: freed };
  }

  private async freePitReaders(shards: PitShard[]): Promise<number> {
    const results = await Promise.all(
      shards.map((p) => this.askShard<{ freed: boolean }>(p.node, p.uuid, p.shard, { type: 'shard.free_reader', readerId: p.reader }, 5_000).then((r) => r.freed, () => false)),
    );
    return results.filter(Boolean).length;
  }

  /** A search's `pit: {id, keep_alive}`: the targets its id names. It names the indices itself. */
  private pitOf(pit: unknown, indexExpr: unknown): { id: string; targets: SearchTarget[] } {
    if (indexExpr !== undefined) throw badRequest('[index] cannot be given with a point in time: its id names the indices');
    const spec = obj(pit, 'pit');
    for (const k of Object.keys(spec)) if (k !== 'id' && k !== 'keep_alive') throw badRequest(`unknown key [${k}] in [pit]; known: id, keep_alive`);
    const keepAlive = spec.keep_alive === undefined ? undefined : keepAliveMs(spec.keep_alive);
    const shards = decodePit(spec.id);
    const targets = shards.map((p): SearchTarget => ({ index: p.index, uuid: p.uuid, shard: p.shard, copy: { node: p.node, allocationId: p.allocationId, primary: false, state: 'STARTED' }, others: [], pitReader: p.reader, pitKeepAliveMs: keepAlive }));
    return { id: spec.id as string, targets };
  }

  /**
   * Copy documents from source indices into a destination (Elasticsearch's _reindex): per source
   * shard, a point-in-time reader paged in `_doc` order (so concurrent writes neither skip nor
   * repeat a doc), each batch's sources bulk-indexed into `dest` under the same ids. `op_type:
   * create` keeps documents the destination already has: each is a version conflict, which
   * `conflicts: proceed` counts and `abort` (the default) stops at. A `script` (reindex context)
   * runs on each source document here, on the coordinating node: it may change `ctx._source`,
   * retarget `ctx._id`, `ctx._index` and `ctx._routing`, or set `ctx.op` to `noop` (skipped,
   * counted in `noops`) or `delete` (deleted from the destination, counted in `deleted`).
   */
  async reindex(body: unknown, params: { conflicts?: unknown; refresh?: unknown; timeoutMs?: number } = {}) {
    const started = performance.now();
    const b = obj(body, 'reindex body');
    for (const k of Object.keys(b)) if (!['source', 'dest', 'max_docs', 'script'].includes(k)) throw badRequest(`unknown key [${k}] in the reindex request; known: source, dest, max_docs, script`);
    const source = obj(b.source, 'source');
    for (const k of Object.keys(source)) if (k !== 'index' && k !== 'query') throw badRequest(`unknown key [source.${k}] in the reindex request; known: index, query`);
    const dest = obj(b.dest, 'dest');
    for (const k of Object.keys(dest)) if (k !== 'index' && k !== 'op_type') throw badRequest(`unknown key [dest.${k}] in the reindex request; known: index, op_type`);
    const destIndex = str(dest.index, 'dest.index');
    if (dest.op_type !== undefined && dest.op_type !== 'index' && dest.op_type !== 'create') throw badRequest('[dest.op_type] must be index or create');
    const action: WriteAction = dest.op_type === 'create' ? 'create' : 'index';
    const { query, maxDocs, proceed } = scrollOptions(source.query, b.max_docs, params.conflicts);
    const script = updateScript(this.resolveScript(b.script), 'reindex');
    const indices = this.resolveIndices(source.index);
    const readsFrom = (index: string) => indices.includes(index) || !!this.state.aliases?.[index]?.indices.some((i) => indices.includes(i));
    if (readsFrom(destIndex)) throw badRequest(`reindex cannot write into an index it reads from [${destIndex}]`);
    const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const counts = { created: 0, updated: 0, deleted: 0, noops: 0, version_conflicts: 0, batches: 0 };
    const failures: ByQueryFailure[] = [];
    const now = this.now();
    const done = () => counts.created + counts.updated + counts.deleted + counts.noops;
    await this.scanFromPit(indices, { query, _source: true }, timeoutMs, async (t, hits) => {
      counts.batches++;
      const items: BulkItem[] = [];
      for (const h of hits.slice(0, maxDocs - done())) {
        if (!script) {
          items.push({ action, index: destIndex, id: h._id, source: h._source });
          continue;
        }
        // The source doc's own index in ctx._index, as Elasticsearch: left as it is, the doc goes to dest.
        const out = wrapEngine(() => script.run({ source: h._source ?? {}, op: 'index', index: t.index, id: h._id, routing: null, now }));
        const index = out.index === t.index ? destIndex : out.index;
        if (out.op === 'noop') {
          counts.noops++;
          continue;
        }
        if (readsFrom(index)) {
          failures.push({ index, id: out.id, status: 400, cause: { type: 'illegal_argument_exception', reason: `reindex cannot write into an index it reads from [${index}]` } });
          break;
        }
        const routing = out.routing ?? undefined;
        items.push(out.op === 'delete' ? { action: 'delete', index, id: out.id, routing } : { action, index, id: out.id, routing, source: out.source });
      }
      if (items.length > 0) {
        const results = await this.bulk(items, { refresh: params.refresh as WriteOpts['refresh'], timeoutMs });
        // A delete counts whether or not the destination had the doc (as Elasticsearch counts it).
        tallyWrites(results, proceed, counts, failures, (r) => counts[r.result === 'created' ? 'created' : r.result === 'deleted' || r.result === 'not_found' ? 'deleted' : 'updated']++);
      }
      return failures.length === 0 && done() < maxDocs;
    });
    const total = done() + counts.version_conflicts;
    return { took: Math.round(performance.now() - started), timed_out: false, total, ...counts, failures };
  }

  /**
   * Elasticsearch's _update_by_query: each matching document is indexed again, on the condition
   * that it has not changed since the point in time the scan reads (a document changed meanwhile
   * is a version conflict, never overwritten). Without a script it is indexed as it is: this is how
   * documents written before a put-mapping pick up its new fields and multi-fields. A `script`
   * (update_by_query context) runs on each hit here, on the coordinating node, and its outcome is
   * written with the same condition: the new source, a delete (`deleted`), or nothing (`noops`).
   * A script error fails the request; the batches written before it stay written.
   */
  async updateByQuery(indexExpr: unknown, body: unknown, params: { conflicts?: unknown; refresh?: unknown; timeoutMs?: number } = {}) {
    const started = performance.now();
    const b = obj(body ?? {}, 'update_by_query body');
    for (const k of Object.keys(b)) if (k !== 'query' && k !== 'max_docs' && k !== 'script') throw badRequest(`unknown key [${k}] in the update_by_query request; known: query, max_docs, script`);
    const { query, maxDocs, proceed } = scrollOptions(b.query, b.max_docs, params.conflicts);
    const script = updateScript(this.resolveScript(b.script), 'update_by_query');
    const refresh = refreshMode(params.refresh);
    const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const counts = { updated: 0, deleted: 0, noops: 0, version_conflicts: 0, batches: 0 };
    const failures: ByQueryFailure[] = [];
    const now = this.now();
    const done = () => counts.updated + counts.deleted + counts.noops;
    await this.scanFromPit(this.resolveIndices(indexExpr), { query, _source: true, seq_no_primary_term: true, version: true }, timeoutMs, async (t, hits) => {
      counts.batches++;
      const items: BulkItem[] = [];
      for (const h of hits.slice(0, maxDocs - done())) {
        // On the condition that the doc is still the one the scan read.
        const same = { index: t.index, id: h._id, shard: t.shard, if_seq_no: h._seq_no, if_primary_term: h._primary_term };
        if (!script) {
          items.push({ action: 'index', ...same, source: h._source });
          continue;
        }
        const out = wrapEngine(() => script.run({ source: h._source ?? {}, op: 'index', index: t.index, id: h._id, version: h._version, routing: null, now }));
        if (out.op === 'noop') counts.noops++;
        else items.push(out.op === 'delete' ? { action: 'delete', ...same } : { action: 'index', ...same, source: out.source });
      }
      if (items.length > 0) {
        const results = await this.bulk(items, { refresh, timeoutMs });
        tallyWrites(results, proceed, counts, failures, (r) => counts[r.result === 'deleted' ? 'deleted' : 'updated']++);
      }
      return failures.length === 0 && done() < maxDocs;
    });
    const total = done() + counts.version_conflicts;
    return { took: Math.round(performance.now() - started), timed_out: false, total, ...counts, failures };
  }

  /**
   * Every shard of the indices through a point-in-time reader on one copy, paged by `_doc` in
   * batches of SCROLL_BATCH: `batch` gets each page and answers whether to go on. Writes made
   * meanwhile (the batches' own included) neither move the pages nor come back in them.
   */
  private async scanFromPit(indices: string[], request: Record<string, unknown>, timeoutMs: number, batch: (t: SearchTarget, hits: SearchHit[]) => Promise<boolean>): Promise<void> {
    const readers: PitShard[] = [];
    try {
      for (const t of this.searchTargets(indices, false)) {
        const pit = await this.openPitOn(t, REINDEX_KEEP_ALIVE_MS);
        readers.push(pit);
        const target: SearchTarget = { ...t, copy: { node: pit.node, allocationId: pit.allocationId, primary: false, state: 'STARTED' }, others: [], pitReader: pit.reader };
        let after: unknown[] | undefined;
        for (;;) {
          const page = { ...request, size: SCROLL_BATCH, sort: ['_doc'], track_total_hits: false, ...(after ? { search_after: after } : {}) };
          const hits = (await this.searchWithRetry(target, page, timeoutMs)).r.hits.hits;
          if (hits.length === 0) break;
          after = hits.at(-1)!.sort;
          if (!(await batch(t, hits))) return;
        }
      }
    } finally {
      await this.freePitReaders(readers);
    }
  }

  /**
   * Elasticsearch's `_validate/query`: whether a query would run on the indices, checked the way a
   * search checks it (parsed here, then against each shard's mappings), without collecting hits.
   * `explain`: per index, why not.
   */
  async validateQuery(indexExpr: unknown, body: unknown, explain = false) {
    const b = obj(body ?? {}, 'validate body');
    for (const k of Object.keys(b)) if (k !== 'query') throw badRequest(`unknown key [${k}] in the validate request; known: query`);
    const indices = this.resolveIndices(indexExpr ?? '_all');
    const results = await Promise.all(
      indices.map(async (index) => {
        try {
          const r = (await this.search(index, { query: b.query, size: 0, track_total_hits: false })) as { _shards: { total: number; successful: number; failed: number } };
          return { index, valid: true, shards: r._shards };
        } catch (err) {
          const e = toApiError(err);
          if (e.status !== 400) throw e;
          return { index, valid: false, error: `[${index}] ${e.type}: ${e.message}` };
        }
      }),
    );
    const shards = results.reduce((s, r) => ({ total: s.total + (r.shards?.total ?? 0), successful: s.successful + (r.shards?.successful ?? 0), failed: s.failed + (r.shards?.failed ?? 0) }), { total: 0, successful: 0, failed: 0 });
    const valid = results.every((r) => r.valid);
    return { valid, _shards: shards, ...(explain ? { explanations: results.map(({ index, valid: ok, error }) => ({ index, valid: ok, ...(error ? { error } : {}) })) } : {}) };
  }

  async count(indexExpr: unknown, body: unknown = {}) {
    const b = obj(body ?? {}, 'count body');
    for (const k of Object.keys(b)) if (k !== 'query') throw badRequest(`unknown key [${k}] in the count request`);
    const r = (await this.search(indexExpr, { query: b.query, size: 0, track_total_hits: true })) as { hits: { total: { value: number } }; _shards: unknown };
    return { count: r.hits.total.value, _shards: r._shards };
  }

  private async searchWithRetry(t: SearchTarget, request: unknown, timeoutMs: number, keepReader = false): Promise<{ r: SearchResponse & { reader_id?: string }; copy: RoutingCopy }> {
    let lastError: unknown;
    // Another copy of the same shard is tried when the chosen one fails.
    for (const copy of [t.copy!, ...t.others]) {
      try {
        const message = t.pitReader === undefined ? { type: 'shard.search', request, keepReader } : { type: 'shard.search', request, pitId: t.pitReader, keepAliveMs: t.pitKeepAliveMs };
        return { r: await this.askShard<SearchResponse & { reader_id?: string }>(copy.node, t.uuid, t.shard, message, timeoutMs), copy };
      } catch (err) {
        const e = toApiError(err);
        if (e.status === 400) throw e;
        lastError = err;
      }
    }
    throw lastError;
  }

  // ---- cluster ----------------------------------------------------------------------------------

  health(indexExpr?: unknown): Record<string, unknown> {
    const s = this.state;
    const names = indexExpr === undefined ? Object.keys(s.indices) : this.resolveIndices(indexExpr);
    let status: Health = 'green';
    const counts = { active_primary_shards: 0, active_shards: 0, relocating_shards: 0, initializing_shards: 0, unassigned_shards: 0 };
    const indices: Record<string, { status: Health; number_of_shards: number; number_of_replicas: number }> = {};
    for (const name of names) {
      const meta = s.indices[name]!;
      if (meta.state === 'close') continue;
      let idxStatus: Health = 'green';
      (s.routing[name] ?? []).forEach((t) => {
        const h = shardHealth(t, meta.settings.number_of_replicas);
        idxStatus = worse(idxStatus, h);
        for (const c of t.copies) {
          if (c.state === 'STARTED' || c.state === 'RELOCATING') {
            counts.active_shards++;
            if (c.primary) counts.active_primary_shards++;
          }
          if (c.state === 'RELOCATING') counts.relocating_shards++;
          if (c.state === 'INITIALIZING' && !c.relocatingFrom) counts.initializing_shards++;
        }
        const present = t.copies.filter((c) => !c.relocatingFrom).length;
        counts.unassigned_shards += Math.max(0, meta.settings.number_of_replicas + 1 - present);
      });
      indices[name] = { status: idxStatus, number_of_shards: meta.settings.number_of_shards, number_of_replicas: meta.settings.number_of_replicas };
      status = worse(status, idxStatus);
    }
    const nodes = Object.values(s.nodes);
    return {
      cluster_name: this.host.system.cluster,
      status,
      timed_out: false,
      number_of_nodes: nodes.length,
      number_of_data_nodes: nodes.filter((n) => n.roles.includes('data')).length,
      ...counts,
      master_node: s.master?.id ?? null,
      cluster_state_version: s.version,
      indices,
    };
  }

  /** Health once it is at least `status` (green > yellow > red), or with timed_out: true. */
  async waitForHealth(status: Health, indexExpr: unknown, timeoutMs: number): Promise<Record<string, unknown>> {
    const rank = { red: 0, yellow: 1, green: 2 };
    const good = () => rank[this.health(indexExpr).status as Health] >= rank[status];
    if (good()) return this.health(indexExpr);
    const ok = await new Promise<boolean>((resolve) => {
      const timer = this.host.system.clock.setTimeout(() => (off(), resolve(false)), timeoutMs);
      const off = this.host.onState(() => {
        if (!good()) return;
        off();
        this.host.system.clock.clearTimeout(timer);
        resolve(true);
      });
    });
    return { ...this.health(indexExpr), timed_out: !ok };
  }

  catNodes() {
    const s = this.state;
    const copies = Object.values(s.routing).flatMap((ts) => ts.flatMap((t) => t.copies));
    return Object.values(s.nodes).map((n) => ({
      id: n.id,
      name: n.name,
      roles: n.roles,
      attributes: n.attributes,
      master: s.master?.id === n.id,
      shards: copies.filter((c) => c.node === n.id).length,
    }));
  }

  catIndices() {
    const s = this.state;
    return Object.values(s.indices).map((m) => ({
      index: m.name,
      uuid: m.uuid,
      status: m.state,
      health: m.state === 'close' ? 'closed' : ((this.health(m.name).indices as Record<string, { status: string }>)[m.name]?.status ?? 'red'),
      pri: m.settings.number_of_shards,
      rep: m.settings.number_of_replicas,
    }));
  }

  catShards() {
    const s = this.state;
    return Object.entries(s.routing).flatMap(([index, tables]) =>
      tables.flatMap((t, shard) => {
        const rows: Record<string, unknown>[] = t.copies.map((c) => ({
          index,
          shard,
          prirep: c.primary ? 'p' : 'r',
          state: c.state,
          node: c.node,
          allocation_id: c.allocationId,
          primary_term: t.primaryTerm,
          in_sync: t.inSync.includes(c.allocationId),
        }));
        const meta = s.indices[index];
        const missing = meta ? meta.settings.number_of_replicas + 1 - t.copies.filter((c) => !c.relocatingFrom).length : 0;
        for (let i = 0; i < missing; i++) rows.push({ index, shard, prirep: t.copies.some((c) => c.primary) ? 'r' : 'p', state: 'UNASSIGNED', node: null });
        return rows;
      }),
    );
  }

  /** Shard-level stats from every copy (doc counts, checkpoints, replication group). */
  async shardStats(indexExpr: unknown) {
    const out: Record<string, unknown>[] = [];
    for (const index of this.resolveIndices(indexExpr ?? '_all')) {
      const meta = this.state.indices[index]!;
      const tables = this.state.routing[index] ?? [];
      for (let shard = 0; shard < tables.length; shard++) {
        for (const c of tables[shard]!.copies) {
          const stats = await this.askShard<Record<string, unknown>>(c.node, meta.uuid, shard, { type: 'shard.stats' }, 5_000).catch((err) => ({ error: toApiError(err).message }));
          out.push({ index, shard, node: c.node, primary: c.primary, ...stats });
        }
      }
    }
    return out;
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private askShard<T>(node: string, uuid: string, shard: number, message: unknown, timeoutMs: number): Promise<T> {
    const { system } = this.host;
    return system.ask<T>(system.ref(`shoal://${system.cluster}/${node}${INDICES_PATH}/${shardActorName(uuid, shard)}`), message, { timeoutMs });
  }

  private now(): number {
    return this.host.system.clock.now();
  }

  private existing(name: unknown): string {
    const index = str(name, 'index');
    if (!this.state.indices[index]) {
      if (this.state.aliases?.[index]) throw badRequest(`the expression [${index}] is an alias: name the concrete index instead`);
      throw indexNotFound(index);
    }
    return index;
  }

  /** An index name, or an alias with one index or a write index. */
  private concrete(name: unknown): string {
    const alias = this.state.aliases?.[str(name, 'index')];
    if (!alias) return this.existing(name);
    const target = writeIndexOf(alias);
    if ('error' in target) throw badRequest(`alias [${String(name)}] has ${target.error}`);
    return target.index;
  }

  /**
   * Apply alias actions (`{add: {index, alias, is_write_index}}`, `{remove: {index, alias}}`) as
   * one change: all of them, or none when one is invalid.
   */
  async updateAliases(actions: unknown) {
    if (!Array.isArray(actions) || actions.length === 0) throw badRequest('[actions] must be a non-empty array');
    const checked: AliasAction[] = actions.map((a, i) => {
      const keys = typeof a === 'object' && a !== null && !Array.isArray(a) ? Object.keys(a) : [];
      if (keys.length !== 1 || (keys[0] !== 'add' && keys[0] !== 'remove')) throw badRequest(`[actions][${i}] must be {add: {...}} or {remove: {...}}`);
      const kind = keys[0] as 'add' | 'remove';
      const body = obj((a as Record<string, unknown>)[kind], `actions[${i}].${kind}`);
      for (const k of Object.keys(body)) if (k !== 'index' && k !== 'alias' && !(kind === 'add' && k === 'is_write_index')) throw badRequest(`unknown key [${k}] in [actions][${i}].${kind}`);
      const index = this.existing(body.index);
      const alias = wrap(() => validateIndexName(body.alias));
      if (this.state.indices[alias]) throw new ApiError('invalid_alias_name_exception', `an index exists with the same name as the alias [${alias}]`, 400);
      if (kind === 'remove') {
        if (!this.state.aliases?.[alias]?.indices.includes(index)) throw new ApiError('aliases_not_found_exception', `alias [${alias}] is not on index [${index}]`, 404);
        return { remove: { index, alias } };
      }
      if (body.is_write_index !== undefined && typeof body.is_write_index !== 'boolean') throw badRequest('[is_write_index] must be a boolean');
      return { add: { index, alias, ...(body.is_write_index === undefined ? {} : { is_write_index: body.is_write_index as boolean }) } };
    });
    await this.commit({ op: 'update_aliases', actions: checked, at: this.now() });
    return { acknowledged: true };
  }

  /**
   * Elasticsearch's update-index-settings for the dynamic settings (index-settings-update.ts),
   * checked on every index of the expression before any changes; a read-only index takes only
   * changes to its blocks.
   */
  async putIndexSettings(indexExpr: unknown, body: unknown) {
    const update = obj(body, 'body');
    const indices = this.resolveIndices(indexExpr);
    const next = indices.map((index) => {
      const meta = this.state.indices[index]!;
      const settings = wrap(() => updateIndexSettings(index, meta.settings, update));
      const { blocks: _before, ...restBefore } = meta.settings;
      const { blocks: _after, ...restAfter } = settings;
      const blocked = readOnlyBlock(index, meta.settings);
      if (blocked && JSON.stringify(restBefore) !== JSON.stringify(restAfter)) throw new ApiError('cluster_block_exception', blocked, 403);
      return { index, settings };
    });
    for (const { index, settings } of next) {
      await this.commit({ op: 'update_index_settings', name: index, settings, at: this.now() });
    }
    return { acknowledged: true };
  }

  /** Each index's settings, as Elasticsearch's get-settings shows them. */
  getIndexSettings(indexExpr: unknown) {
    const out: Record<string, { settings: Record<string, unknown> }> = {};
    for (const index of this.resolveIndices(indexExpr ?? '_all')) {
      const meta = this.state.indices[index]!;
      out[index] = { settings: indexSettingsView(meta.uuid, meta.settings) };
    }
    return out;
  }

  // ---- stored scripts and search templates (script-admin.ts) -------------------------------------

  /** A script as given, or a stored one's (`{ id, params }`) with its source. */
  resolveScript(script: unknown): unknown {
    return script === undefined ? undefined : (resolveStoredScripts(this.state, { script }) as { script: unknown }).script;
  }

  putScript(id: unknown, body: unknown) {
    return putStoredScript(this.templateHost(), id, body);
  }
  getScript(id: unknown) {
    return getStoredScript(this.state, id);
  }
  deleteScript(id: unknown) {
    return deleteStoredScript(this.templateHost(), id);
  }
  /** `_search/template`: the template rendered with its params, then searched as any body. */
  searchTemplate(indexExpr: unknown, body: unknown, params: { timeoutMs?: number } = {}) {
    return this.search(indexExpr, templateSearchBody(this.state, body), params);
  }
  renderTemplate(body: unknown) {
    return renderSearchTemplate(this.state, body);
  }

  // ---- templates (template-admin.ts) -----------------------------------------------------------

  putTemplate(name: unknown, body: unknown) {
    return putIndexTemplate(this.templateHost(), name, body);
  }
  getTemplate(name: unknown) {
    return getIndexTemplates(this.state, name);
  }
  deleteTemplate(name: unknown) {
    return deleteIndexTemplate(this.templateHost(), name);
  }
  putComponentTemplate(name: unknown, body: unknown) {
    return putComponentTemplate(this.templateHost(), name, body);
  }
  getComponentTemplate(name: unknown) {
    return getComponentTemplates(this.state, name);
  }
  deleteComponentTemplate(name: unknown) {
    return deleteComponentTemplate(this.templateHost(), name);
  }
  simulateIndex(name: unknown) {
    return simulateIndex(this.state, name);
  }

  private templateHost(): TemplateHost {
    const coordinator = this;
    return {
      get state() {
        return coordinator.state;
      },
      commit: (command) => this.commit(command),
      now: () => this.now(),
    };
  }

  /** Every alias and index pair. */
  /**
   * Elasticsearch's cluster update-settings, for the allocation settings (cluster-settings.ts):
   * checked whole, then committed as one change; `transient` (deprecated there) is refused.
   */
  async putClusterSettings(persistent: unknown, transient: unknown) {
    if (transient !== undefined && !(typeof transient === 'object' && transient !== null && !Array.isArray(transient) && Object.keys(transient).length === 0)) {
      throw badRequest('transient cluster settings are not supported (Elasticsearch deprecated them): use persistent');
    }
    const update = wrap(() => flattenSettings(persistent ?? {}));
    const next = wrap(() => updateSettings(this.state.settings, update));
    await this.commit({ op: 'allocation_settings', awareness: next.awareness ?? null, filters: next.allocation ?? {}, at: this.now() });
    const applied = settingsAsFlat(this.state.settings);
    return { acknowledged: true, persistent: Object.fromEntries(Object.keys(update).map((k) => [k, applied[k] ?? null])), transient: {} };
  }

  getClusterSettings() {
    return { persistent: settingsAsFlat(this.state.settings), transient: {} };
  }

  /** Why a shard copy is (or is not) where it is, node by node (allocation-explain.ts). */
  allocationExplain(target: { index?: unknown; shard?: unknown; primary?: unknown; current_node?: unknown }) {
    if (target.shard !== undefined && !Number.isInteger(target.shard)) throw badRequest('[shard] must be an integer');
    if (target.primary !== undefined && typeof target.primary !== 'boolean') throw badRequest('[primary] must be a boolean');
    try {
      return explainAllocation(
        this.state,
        { index: optStr(target.index, 'index'), shard: target.shard as number | undefined, primary: target.primary as boolean | undefined, currentNode: optStr(target.current_node, 'current_node') },
        this.now(),
      );
    } catch (err) {
      if (err instanceof ExplainError) throw new ApiError(err.type, err.message, err.status);
      throw err;
    }
  }

  catAliases() {
    return Object.entries(this.state.aliases ?? {}).flatMap(([alias, meta]) => meta.indices.map((index) => ({ alias, index, is_write_index: meta.indices.length === 1 || meta.writeIndex === index })));
  }

  /**
   * Elasticsearch's put-mapping: new fields (and `dynamic`) for each index of the expression. It
   * is checked against each index's current mappings first (a field already mapped keeps its type
   * and parameters), then committed through the master; a write routed after the answer finds
   * the fields mapped on every copy (the write carries the index's mapping version).
   */
  async putMapping(indexExpr: unknown, body: unknown) {
    const mappings = obj(body, 'body') as Mappings;
    const indices = this.resolveIndices(indexExpr);
    for (const index of indices) {
      const blocked = readOnlyBlock(index, this.state.indices[index]!.settings);
      if (blocked) throw new ApiError('cluster_block_exception', blocked, 403);
    }
    for (const index of indices) wrapEngine(() => this.mergedMappings(index, mappings));
    for (const index of indices) {
      // A shard's dynamic field may be committed in between and conflict: the command then changes
      // nothing, so check what was applied and say why.
      for (let attempt = 0; wrapEngine(() => this.mergedMappings(index, mappings)) !== undefined; attempt++) {
        if (attempt === 3) throw new ApiError('illegal_argument_exception', `the mappings of [${index}] kept changing; try again`, 409);
        await this.commit({ op: 'put_mapping', name: index, mappings, at: this.now() });
        if (!this.state.indices[index]) throw indexNotFound(index);
      }
    }
    return { acknowledged: true };
  }

  /** The index's mappings with `update` merged in (undefined: it changes nothing); throws what the merge would. */
  private mergedMappings(index: string, update: Mappings): Mappings | undefined {
    const meta = this.state.indices[index];
    if (!meta) throw indexNotFound(index);
    const registry = new MappingRegistry(meta.mappings);
    const before = JSON.stringify(registry.toJSON());
    registry.merge(update);
    const merged = registry.toJSON();
    if (JSON.stringify(merged) === before) return undefined;
    // Every node would fail to map a field whose analyzer the index does not define: refuse it here.
    validateIndexDefinition(merged, analysisSettingsOf(meta.settings));
    return merged;
  }

  /**
   * Elasticsearch's `_analyze` (src/engine/analyze.ts): with an index, against its analysis
   * settings and mappings (an alias must stand for one index); without one, the built-ins.
   */
  analyze(indexName: unknown, body: unknown) {
    if (indexName === undefined) return wrapEngine(() => analyzeRequest(body));
    const [index, ...more] = this.resolveIndices(str(indexName, 'index'));
    if (!index || more.length > 0) throw badRequest(`[${String(indexName)}] stands for ${more.length + (index ? 1 : 0)} indices; _analyze takes one`);
    const meta = this.state.indices[index]!;
    return wrapEngine(() => analyzeRequest(body, { settings: analysisSettingsOf(meta.settings), mappings: new MappingRegistry(meta.mappings) }));
  }

  /** Each index's mappings, as Elasticsearch's get-mapping shows them. */
  getMapping(indexExpr: unknown) {
    const out: Record<string, { mappings: Mappings }> = {};
    for (const index of this.resolveIndices(indexExpr ?? '_all')) out[index] = { mappings: new MappingRegistry(this.state.indices[index]!.mappings).toJSON() };
    return out;
  }

  private async autoCreate(index: string, timeoutMs: number): Promise<void> {
    try {
      // Elasticsearch's defaults (1 shard, 1 replica), or what a matching template says.
      await this.createIndex(index, {}, { timeoutMs });
    } catch (err) {
      if ((err as ApiError).type !== 'resource_already_exists_exception') throw err;
    }
  }

  private async waitForActive(index: string, want: number | 'all', timeoutMs: number): Promise<void> {
    const ok = (s: ClusterState) => {
      const meta = s.indices[index];
      return !!meta && (s.routing[index] ?? []).every((t) => this.enoughActive(t, want, meta.settings.number_of_replicas));
    };
    if (ok(this.state)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = this.host.system.clock.setTimeout(() => (off(), reject(new ApiError('timeout', 'timed out waiting for active shards', 503))), timeoutMs);
      const off = this.host.onState((s) => {
        if (!ok(s)) return;
        off();
        this.host.system.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves when this shard's routing table changes (or after `ms`). */
  private routingChange(index: string, shard: number, table: ShardTable | undefined, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (ms <= 0) return resolve();
      const timer = this.host.system.clock.setTimeout(() => (off(), resolve()), ms);
      const off = this.host.onState((s) => {
        if (s.routing[index]?.[shard] === table) return;
        off();
        this.host.system.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Rejects with `routing_changed` if the shard gets a different primary while a write waits on the old one. */
  private routingChangeAbort(index: string, shard: number, allocationId: string, term: number): { promise: Promise<never>; cancel: () => void } {
    let off = () => {};
    const promise = new Promise<never>((_, reject) => {
      off = this.host.onState((s) => {
        const t = s.routing[index]?.[shard];
        const p = t?.copies.find((c) => c.primary);
        if (!t || t.primaryTerm !== term || p?.allocationId !== allocationId) {
          off();
          reject(Object.assign(new Error(`[${index}][${shard}] primary changed`), { type: 'routing_changed' }));
        }
      });
    });
    promise.catch(() => undefined);
    return { promise, cancel: () => off() };
  }

  /**
   * Index names an expression means (names, aliases, `*` patterns over index names, `_all`).
   * Patterns and aliases skip closed indices; a closed index named explicitly is an
   * `index_closed_exception`, as in Elasticsearch.
   */
  /** The indices an expression names (comma lists, `*` patterns, aliases); open ones only unless `includeClosed`. */
  resolveIndices(expr: unknown, includeClosed = false): string[] {
    const raw = Array.isArray(expr) ? expr : typeof expr === 'string' ? expr.split(',') : undefined;
    if (!raw || raw.some((x) => typeof x !== 'string')) throw badRequest('index must be a string or a list of strings');
    const names = Object.keys(this.state.indices).sort();
    const isOpen = (n: string) => includeClosed || this.state.indices[n]!.state === 'open';
    const out = new Set<string>();
    for (const part of raw as string[]) {
      const p = part.trim();
      if (p === '_all' || p === '*') names.filter(isOpen).forEach((n) => out.add(n));
      else if (p.includes('*')) {
        names.filter((n) => wildcardMatch(p, n) && isOpen(n)).forEach((n) => out.add(n));
      } else if (this.state.aliases?.[p]) this.state.aliases[p].indices.filter(isOpen).forEach((n) => out.add(n));
      else if (!this.state.indices[p]) throw indexNotFound(p);
      else if (!isOpen(p)) throw new ApiError('index_closed_exception', `closed index [${p}]`, 400);
      else out.add(p);
    }
    return [...out];
  }

  private readableCopies(table: ShardTable | undefined, primaryFirst: boolean): RoutingCopy[] {
    if (!table) return [];
    const started = table.copies.filter((c) => c.state === 'STARTED' || c.state === 'RELOCATING');
    if (primaryFirst) return started.sort((a, b) => Number(b.primary) - Number(a.primary));
    // Prefer a copy on this node, then spread over the others.
    const local = started.filter((c) => c.node === this.host.nodeId);
    const rest = started.filter((c) => c.node !== this.host.nodeId);
    const offset = rest.length > 0 ? this.roundRobin++ % rest.length : 0;
    return [...local, ...rest.slice(offset), ...rest.slice(0, offset)];
  }

  private searchTargets(indices: string[], everyCopy: boolean): SearchTarget[] {
    const out: SearchTarget[] = [];
    for (const index of indices) {
      const meta = this.state.indices[index]!;
      (this.state.routing[index] ?? []).forEach((table, shard) => {
        const copies = this.readableCopies(table, false);
        if (everyCopy) for (const copy of copies) out.push({ index, uuid: meta.uuid, shard, copy, others: [] });
        else out.push({ index, uuid: meta.uuid, shard, copy: copies[0], others: copies.slice(1) });
      });
    }
    return out;
  }
}

/** A document (or shard) that a by-query operation or reindex could not write. */
interface ByQueryFailure {
  index: string;
  id?: string;
  shard?: number;
  status: number;
  cause: { type: string; reason: string };
}

interface SearchTarget {
  index: string;
  uuid: string;
  shard: number;
  copy: RoutingCopy | undefined;
  others: RoutingCopy[];
  /** A point in time's reader on `copy` (no other copy has it), and its new keep_alive if the search gives one. */
  pitReader?: string;
  pitKeepAliveMs?: number;
}

/** The `script` of update_by_query or reindex, compiled once for the request (a compile error fails it before anything is written). */
function updateScript(script: unknown, context: UpdateScriptContext): UpdateScriptRunner | undefined {
  return script === undefined ? undefined : wrapEngine(() => parseScript(script, context, 'script').updater());
}

/** What delete_by_query and reindex share: the query (checked whole), max_docs and conflicts. */
function scrollOptions(query: unknown, maxDocs: unknown, conflicts: unknown): { query: unknown; maxDocs: number; proceed: boolean } {
  const q = query ?? { match_all: {} };
  wrapEngine(() => parseSearchRequest({ query: q }));
  if (maxDocs !== undefined && !(Number.isSafeInteger(maxDocs) && (maxDocs as number) > 0)) throw badRequest('[max_docs] must be a positive integer');
  if (conflicts !== undefined && conflicts !== 'abort' && conflicts !== 'proceed') throw badRequest('[conflicts] must be abort or proceed');
  return { query: q, maxDocs: (maxDocs as number | undefined) ?? Infinity, proceed: conflicts === 'proceed' };
}


/**
 * A by-query batch's bulk results: each write counted by `written`, each version conflict counted
 * (and a failure unless the request said `conflicts: proceed`), anything else a failure.
 */
function tallyWrites(results: { index: string; result: ItemResult }[], proceed: boolean, counts: { version_conflicts: number }, failures: ByQueryFailure[], written: (result: WriteResult) => void): void {
  for (const { index, result } of results) {
    if (!('error' in result)) written(result);
    else if (result.status === 409) {
      counts.version_conflicts++;
      if (!proceed) failures.push({ index, id: result._id, status: 409, cause: result.error });
    } else failures.push({ index, id: result._id, status: result.status, cause: result.error });
  }
}

/** Elasticsearch's `refresh` parameter: true / "true" / "" refresh now, "wait_for" waits for a refresh. */
function refreshMode(value: unknown): RefreshMode {
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true' || value === '') return true;
  if (value === 'wait_for') return 'wait_for';
  throw badRequest(`[refresh] must be true, false or wait_for, got [${String(value)}]`);
}

function worse(a: Health, b: Health): Health {
  const rank = { green: 0, yellow: 1, red: 2 };
  return rank[b] > rank[a] ? b : a;
}

function optStr(v: unknown, what: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, what);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * An update's body, checked; `where` names it in errors. Either `doc` (merged into the source;
 * `doc_as_upsert`: indexed as is when there is none) or `script` (run on the primary against the
 * source; `scripted_upsert`: against `upsert` when there is none), and an `upsert` document.
 */
export function updateBody(
  body: unknown,
  where: string,
  resolveScript: (script: unknown) => unknown = (script) => script,
): { doc?: Record<string, unknown>; upsert?: Record<string, unknown>; doc_as_upsert: boolean; script?: unknown; scripted_upsert?: boolean } {
  const raw = obj(body, `the body of ${where}`);
  // A stored script (`{ id, params }`) is given its source first (the cluster state has it).
  const b = raw.script === undefined ? raw : { ...raw, script: resolveScript(raw.script) };
  for (const k in b) if (!UPDATE_KEYS.includes(k)) throw badRequest(`unknown key [${k}] in ${where} (${UPDATE_KEYS.join(', ')})`);
  if (b.doc !== undefined && b.script !== undefined) throw new ApiError('action_request_validation_exception', "Validation Failed: 1: can't provide both script and doc;", 400);
  if (b.doc === undefined && b.upsert === undefined && b.script === undefined) throw new ApiError('action_request_validation_exception', `Validation Failed: 1: script or doc is missing; (${where} needs [doc], [script] or [upsert])`, 400);
  if (b.doc_as_upsert !== undefined && typeof b.doc_as_upsert !== 'boolean') throw badRequest(`[doc_as_upsert] of ${where} must be a boolean`);
  if (b.scripted_upsert !== undefined && typeof b.scripted_upsert !== 'boolean') throw badRequest(`[scripted_upsert] of ${where} must be a boolean`);
  if (b.doc_as_upsert === true && b.script !== undefined) throw new ApiError('action_request_validation_exception', 'Validation Failed: 1: doc must be specified if doc_as_upsert is enabled;', 400);
  // Compiled here once, so a script that cannot compile fails the request before any shard sees it.
  if (b.script !== undefined) wrapEngine(() => parseScript(b.script, 'update', 'script'));
  return {
    doc: b.doc === undefined ? undefined : obj(b.doc, `[doc] of ${where}`),
    upsert: b.upsert === undefined ? undefined : obj(b.upsert, `[upsert] of ${where}`),
    doc_as_upsert: b.doc_as_upsert === true,
    ...(b.script !== undefined ? { script: b.script, scripted_upsert: b.scripted_upsert === true } : {}),
  };
}

const UPDATE_KEYS = ['doc', 'upsert', 'doc_as_upsert', 'script', 'scripted_upsert'];

/** `if_seq_no` / `if_primary_term` of a write, checked. */
export function conditions(p: { if_seq_no?: unknown; if_primary_term?: unknown }): { if_seq_no?: number; if_primary_term?: number } {
  const out: { if_seq_no?: number; if_primary_term?: number } = {};
  if (p.if_seq_no !== undefined) {
    if (!Number.isInteger(p.if_seq_no) || (p.if_seq_no as number) < 0) throw badRequest('[if_seq_no] must be a non-negative integer');
    out.if_seq_no = p.if_seq_no as number;
  }
  if (p.if_primary_term !== undefined) {
    if (!Number.isInteger(p.if_primary_term) || (p.if_primary_term as number) < 1) throw badRequest('[if_primary_term] must be a positive integer');
    out.if_primary_term = p.if_primary_term as number;
  }
  return out;
}

/** An inner hit of a point-in-time group search, as without one: no implicit `_shard_doc` (nor `_score`) sort value. */
function withoutTiebreaker(hit: Record<string, unknown>, sorted: boolean): void {
  if (!sorted) delete hit.sort;
  else if (Array.isArray(hit.sort)) hit.sort = hit.sort.slice(0, -1);
}

/** Ranked hits of collapsed shard results: the best hit of each collapse value, in order. */
function collapseMerged<T extends { hit: SearchHit }>(ranked: T[], field: string): T[] {
  const seen = new Set<unknown>();
  return ranked.filter((r) => {
    const value = r.hit.fields?.[field]?.[0] ?? null;
    if (seen.has(value)) return false;
    seen.add(value);
    return true;
  });
}

/** Inner hits as the client sees them: each nested hit names its index, as a top-level hit does. */
function withIndex(innerHits: NonNullable<SearchHit['inner_hits']>, index: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, r] of Object.entries(innerHits)) out[name] = { hits: { ...r.hits, hits: r.hits.hits.map((h) => ({ _index: index, ...h })) } };
  return out;
}
