import path from 'node:path';
import fs from 'node:fs';
import type { Logger } from 'pino';
import type { ClusterCommand, ClusterState } from '../cluster/cluster-state.ts';
import { analysisSettingsOf, type IndexMeta, type ShardCopy as RoutingCopy, type ShardTable } from '../cluster/metadata.ts';
import { MappingRegistry, type Mappings } from '../engine/mapping.ts';
import { ShardEngine, type ReplicaOp, type SearchHit, type SearchReader, type SearchResponse, type WriteResult } from '../engine/shard-engine.ts';
import { EngineError } from '../engine/types.ts';
import { parseScript, type UpdateScriptOutcome } from '../engine/script/index.ts';
import type { Replier } from '../runtime/context.ts';
import { ShoalError } from '../runtime/errors.ts';

/** What a shard copy needs from the node it runs on. */
export interface ShardIO {
  /** Ask the shard actor of `allocationId` on `node` (the same shard). */
  askCopy<T>(node: string, allocationId: string, message: unknown, timeoutMs: number): Promise<T>;
  /** Commit a cluster-state command through the master. */
  propose(command: ClusterCommand): Promise<{ version: number; changed: boolean }>;
  /** The node's cluster state once it has applied `version`. */
  waitForVersion(version: number, timeoutMs: number): Promise<ClusterState>;
  /** The cluster state version the node has applied (at least the routing this copy follows). */
  stateVersion(): number;
  now(): number;
  /** Resolves after `ms` (on the node's clock). */
  sleep(ms: number): Promise<void>;
  log: Logger;
}

/**
 * The primary's replication group of one primary term: the replica-group actor
 * (actors/replica-group.ts) beside the primary shard actor.
 */
export interface ReplicaGroupHandle {
  routing(table: ShardTable): void;
  /** Send operations the primary applied to every copy; resolves once all in-sync copies have them (or were failed through the master). */
  replicate(ops: ReplicaOp[], refresh: RefreshMode, primaryLocalCheckpoint: number, mappingVersion: number): Promise<{ shards: ShardsInfo; globalCheckpoint: number }>;
  /** A copy starts recovering from this primary: from now on it gets every operation. */
  track(allocationId: string, node: string): Promise<void>;
  /** A recovering copy applied its snapshot: is it still in the group (it missed nothing)? */
  recovered(allocationId: string, localCheckpoint: number): Promise<{ member: boolean }>;
  status(primaryLocalCheckpoint: number): Promise<Record<string, unknown>>;
}

export type ReplicaGroupFactory = (term: number, table: ShardTable) => ReplicaGroupHandle;

export interface ShardIdentity {
  index: string;
  shard: number;
  allocationId: string;
  node: string;
  /** Where the engine keeps its files; undefined = in memory (simulation). */
  dataDir: string | undefined;
}

export type WriteAction = 'index' | 'create' | 'delete' | 'update';

export interface WriteItem {
  action: WriteAction;
  id: string;
  source?: Record<string, unknown>;
  /** update: partial document, upsert document, doc_as_upsert. */
  doc?: Record<string, unknown>;
  upsert?: Record<string, unknown>;
  doc_as_upsert?: boolean;
  /**
   * update: a script (`{source, params, lang}`) the primary runs on the current source (or, with
   * `scripted_upsert`, on the upsert document when there is none); `now` is its `ctx._now`, fixed
   * by the coordinating node for the whole request; `routing` its `ctx._routing`.
   */
  script?: unknown;
  scripted_upsert?: boolean;
  now?: number;
  routing?: string;
  if_seq_no?: number;
  if_primary_term?: number;
}

/**
 * A primary's answer to a write: the items' results, and the cluster state version its node had
 * applied once they were replicated. The coordinating node applies that version before it
 * answers, so the version a client reads off the answer routes its next search away from a copy
 * the write no longer reached (a relocation's source, a failed replica).
 */
export interface WriteReply {
  items: ItemResult[];
  stateVersion: number;
}

export type ItemResult =
  | (WriteResult & { status: number; _shards?: ShardsInfo })
  | { _id: string; status: number; error: { type: string; reason: string } };

/** `refresh` of a write: none, refresh now (`true`), or answer once a refresh made it visible. */
export type RefreshMode = boolean | 'wait_for';

/** A replica waits this long for its scheduled refresh before refreshing itself (within the replication timeout). */
const REPLICA_WAIT_FOR_REFRESH_MS = 2_000;

export interface ShardsInfo {
  total: number;
  successful: number;
  failed: number;
}

export interface ReplicateRequest {
  type: 'shard.replicate';
  allocationId: string;
  term: number;
  ops: ReplicaOp[];
  globalCheckpoint: number;
  refresh?: RefreshMode;
  /** The cluster state version whose mappings cover these operations (the replica waits for it). */
  mappingVersion?: number;
}

export interface RecoveryStart {
  sessionId: string;
  term: number;
  maxSeqNo: number;
  globalCheckpoint: number;
  full: boolean;
  total: number;
  absent: string[];
  /** The primary's mappings, merged before the snapshot is applied. */
  mappings: Mappings;
  mappingVersion: number;
}

const REPLICATE_TIMEOUT_MS = 5_000;
const RECOVERY_CHUNK_BYTES = 256 * 1024;
const RECOVERY_SESSION_TTL_MS = 60_000;
/** How long a search's reader waits for its fetch phase (freed by the fetch, or by the coordinator when the shard has no winner). */
const READER_KEEP_ALIVE_MS = 60_000;
/** Open readers per copy at most (Elasticsearch bounds its search contexts too). */
const MAX_OPEN_READERS = 1_000;

/**
 * One copy of one shard: its engine, and the replication protocol around it.
 *
 * As primary it assigns seq_nos in its primary term, writes locally, sends the operations to every
 * copy of its replication group in parallel and acknowledges once all in-sync copies have them; a
 * copy that fails a write is removed from the in-sync set through the master first, and a replica
 * that knows a newer primary term rejects the write, which fences a stale primary.
 *
 * As replica it applies operations in seq_no order per document. Recovery (a new copy, a copy
 * coming back, or every replica after a primary change) is one protocol: the copy distrusts what
 * it has above its last known global checkpoint (its "suspects"), and the primary sends every
 * document changed above that point plus its version of each suspect; while that runs the copy
 * already receives the live operations, and a document they touch is no longer suspect.
 */
export class ShardCopy {
  readonly engine: ShardEngine;
  role: 'primary' | 'replica' = 'replica';
  /** Highest primary term seen for this shard: operations of older terms are rejected. */
  term: number;
  group: ReplicaGroupHandle | undefined;
  table: ShardTable | undefined;
  meta: IndexMeta;
  private suspects: Set<string> | undefined;
  private readonly sessions = new Map<string, { ops: ReplicaOp[]; expires: number }>();
  private sessionCounter = 0;
  /** Open readers by id: a query phase's (freed by its fetch), or a point in time's (`pitKeepAliveMs`: kept until closed or idle that long). */
  private readonly readers = new Map<string, { reader: SearchReader; expires: number; pitKeepAliveMs?: number }>();
  private readerCounter = 0;
  /** Cluster state version whose index mappings this copy has merged (see putDynamicMappings). */
  private mappingVersion = 0;
  /** Writes in flight on this primary (replicating); the engine applied them already. */
  inflight = 0;
  private closed = false;

  constructor(
    readonly id: ShardIdentity,
    meta: IndexMeta,
    private readonly io: ShardIO,
    private readonly startGroup: ReplicaGroupFactory,
  ) {
    this.meta = meta;
    // Merges run in the background, a slice at a time: a big one must not hold the node's event loop (heartbeats, Raft).
    const opts = { mappings: meta.mappings, settings: meta.settings.analysis ? analysisSettingsOf(meta.settings) : undefined, refreshIntervalMs: meta.settings.refresh_interval_ms, index: id.index, backgroundMerges: true };
    if (id.dataDir) {
      fs.mkdirSync(id.dataDir, { recursive: true });
      this.engine = ShardEngine.open(id.dataDir, opts);
    } else {
      this.engine = new ShardEngine(opts);
    }
    this.term = this.engine.primaryTerm;
  }

  static dataDir(root: string | undefined, node: string, uuid: string, shard: number): string | undefined {
    return root ? path.join(root, node, 'indices', uuid, String(shard)) : undefined;
  }

  get label(): string {
    return `[${this.id.index}][${this.id.shard}]`;
  }

  // ---- routing ----------------------------------------------------------------------------------

  /** The routing table changed: follow role, term and replication group. */
  applyRouting(table: ShardTable, meta: IndexMeta): { promoted: boolean; newTerm: boolean } {
    this.table = table;
    if (meta.mappings !== this.meta.mappings) this.mergeMappings(meta.mappings);
    if (meta.settings.refresh_interval_ms !== this.meta.settings.refresh_interval_ms) this.engine.setRefreshInterval(meta.settings.refresh_interval_ms);
    this.mappingVersion = Math.max(this.mappingVersion, meta.mappingVersion ?? 0);
    this.meta = meta;
    const me = table.copies.find((c) => c.allocationId === this.id.allocationId);
    let promoted = false;
    let newTerm = false;
    if (table.primaryTerm > this.term) {
      newTerm = this.role === 'replica' && !me?.primary;
      if (newTerm) this.distrustAbove(this.safePoint());
      this.term = table.primaryTerm;
    }
    if (me?.primary && this.role !== 'primary') {
      this.role = 'primary';
      this.suspects = undefined; // a primary is the authority
      this.engine.primaryTerm = this.term;
      // Seq_nos below our max that never arrived were never acknowledged (every in-sync copy has
      // each acknowledged write): they are abandoned, as Elasticsearch fills them with no-ops, or
      // the local checkpoint (and the global checkpoint with it) would never pass them.
      this.engine.markProcessedUpTo(this.engine.maxSeqNo);
      this.group = this.startGroup(this.term, table);
      promoted = true;
    }
    this.group?.routing(table);
    return { promoted, newTerm };
  }

  /** Below this seq_no every copy in sync has the same operations (the global checkpoint this copy knows). */
  safePoint(): number {
    return Math.min(this.engine.globalCheckpoint, this.engine.localCheckpoint);
  }

  get primaryCopy(): RoutingCopy | undefined {
    return this.table?.copies.find((c) => c.primary);
  }

  // ---- primary: writes --------------------------------------------------------------------------

  /**
   * `mappingVersion`: the index's mapping version the coordinating node routed with; a primary
   * whose node has not applied it yet waits for it, so a write right after a put-mapping finds
   * the new fields mapped wherever its primary is.
   */
  async write(items: WriteItem[], term: number | undefined, refresh: RefreshMode, mappingVersion = 0): Promise<WriteReply> {
    this.assertPrimary(term);
    if (mappingVersion > this.mappingVersion) await this.catchUpMappings(mappingVersion, 10_000);
    this.assertPrimary(term);
    const rejected = await this.putDynamicMappings(items);
    this.assertPrimary(term);
    const results: ItemResult[] = [];
    const ops: ReplicaOp[] = [];
    // Items apply in order. One whose script makes a document with unmapped fields waits while
    // they are mapped through the master (as the sources above were), then runs again on the
    // document as it is then; the items after it wait too, so a bulk's order is kept.
    let next = 0;
    let mappingRounds = 0;
    while (next < items.length) {
      let unmapped: Record<string, unknown> | undefined;
      // One translog fsync for the whole batch (shared with concurrent batches), off the event loop
      // and while the replicas write theirs; nothing is acknowledged before both.
      this.engine.batchUnsynced(() => {
        for (; next < items.length; next++, mappingRounds = 0) {
          const item = items[next]!;
          try {
            if (rejected.has(next)) throw rejected.get(next);
            const r = this.applyItem(item);
            results.push({ ...r.result, status: r.result.result === 'created' ? 201 : r.result.result === 'not_found' ? 404 : 200 });
            if (r.op) ops.push(r.op);
          } catch (err) {
            if (err instanceof UnmappedFields && mappingRounds < MAX_MAPPING_ROUNDS) {
              unmapped = err.source;
              return;
            }
            results.push({ _id: item.id, status: statusOf(err), error: errorBody(err) });
          }
        }
      });
      if (unmapped === undefined) break;
      mappingRounds++;
      const refused = await this.putDynamicMappings([{ action: 'index', id: items[next]!.id, source: unmapped }]);
      this.assertPrimary(term);
      if (refused.has(0)) {
        results.push({ _id: items[next]!.id, status: statusOf(refused.get(0)), error: errorBody(refused.get(0)) });
        next++;
        mappingRounds = 0;
      }
    }
    const durable = this.engine.syncTranslog();
    durable.catch(() => undefined); // awaited below, after the replicas
    if (ops.length === 0 && !refresh) {
      await durable;
      return { items: results, stateVersion: this.io.stateVersion() };
    }
    if (refresh === true) this.engine.refresh();
    // wait_for: this copy's next refresh, while the replicas wait for theirs.
    const visible = refresh === 'wait_for' ? this.engine.afterNextRefresh() : undefined;
    const shards = await this.replicate(ops, refresh);
    await durable;
    await visible;
    for (const r of results) if (!('error' in r)) r._shards = shards;
    // Read after replicating: at least the version whose routing chose the copies written.
    return { items: results, stateVersion: this.io.stateVersion() };
  }

  private applyItem(item: WriteItem): { result: WriteResult; op?: ReplicaOp } {
    const cond = { ifSeqNo: item.if_seq_no, ifPrimaryTerm: item.if_primary_term };
    const e = this.engine;
    switch (item.action) {
      case 'index':
      case 'create': {
        const result = e.index(item.id, item.source, { ...cond, opType: item.action });
        return { result, op: e.stateOf(result._id) };
      }
      case 'delete': {
        const result = e.delete(item.id, cond);
        return { result, op: { op: 'delete', id: item.id, seqNo: result._seq_no, primaryTerm: result._primary_term, version: result._version } };
      }
      case 'update': {
        if (item.script !== undefined) return this.applyScriptedUpdate(item);
        const current = e.get(item.id);
        let source: Record<string, unknown>;
        if (!current.found) {
          if (item.upsert) source = item.upsert;
          else if (item.doc_as_upsert && item.doc) source = item.doc;
          else throw new EngineError('document_missing_exception', `[${item.id}]: document missing`, 404);
        } else {
          source = deepMerge(current._source!, item.doc ?? {});
          // A no-op acknowledges the current version, so that version must be on every in-sync copy
          // (at or below the global checkpoint); otherwise it may be a write that never completed
          // (a retry after a failed replication): write it again, replicated and fenced.
          if (JSON.stringify(source) === JSON.stringify(current._source) && current._seq_no! <= e.globalCheckpoint) {
            return { result: { _id: item.id, _version: current._version!, _seq_no: current._seq_no!, _primary_term: current._primary_term!, result: 'noop' as WriteResult['result'] } };
          }
        }
        // The read and the write happen in one turn of the actor: nothing can come in between.
        const result = e.index(item.id, source, current.found ? { ifSeqNo: item.if_seq_no ?? current._seq_no, ifPrimaryTerm: item.if_primary_term ?? current._primary_term } : cond);
        return { result, op: e.stateOf(result._id) };
      }
    }
  }

  /**
   * An update by script, on the primary only: read the current source, run the script, then index
   * what it made, delete, or do nothing (`noop`: nothing written, nothing replicated). Replicas get
   * the resulting index or delete operation, never the script, so every copy has the same document.
   * The read, the run and the write happen in one turn of the actor: concurrent updates of one
   * document apply one after the other, each to the result of the one before.
   */
  private applyScriptedUpdate(item: WriteItem): { result: WriteResult; op?: ReplicaOp } {
    const e = this.engine;
    const current = e.get(item.id);
    const runner = parseScript(item.script, 'update').updater();
    const meta = { index: this.id.index, id: item.id, routing: item.routing ?? null, now: item.now ?? this.io.now() };
    if (!current.found) {
      if (!item.upsert) throw new EngineError('document_missing_exception', `[${item.id}]: document missing`, 404);
      const cond = { ifSeqNo: item.if_seq_no, ifPrimaryTerm: item.if_primary_term };
      if (!item.scripted_upsert) {
        const result = e.index(item.id, item.upsert, cond);
        return { result, op: e.stateOf(result._id) };
      }
      const outcome = runner.run({ ...meta, source: item.upsert, op: 'create' });
      // Nothing is written: Elasticsearch's answer for a noop upsert has no version or seq_no.
      if (outcome.op === 'noop') return { result: { _id: item.id, _version: -1, _seq_no: -2, _primary_term: 0, result: 'noop' as WriteResult['result'] } };
      const result = e.index(item.id, this.mapped(outcome), cond);
      return { result, op: e.stateOf(result._id) };
    }
    // A condition is checked before the script runs: a noop must not hide a conflict.
    if (item.if_seq_no !== undefined || item.if_primary_term !== undefined) {
      if (item.if_seq_no !== current._seq_no || item.if_primary_term !== current._primary_term) {
        throw new EngineError(
          'version_conflict_engine_exception',
          `[${item.id}]: version conflict, required seqNo [${item.if_seq_no}], primary term [${item.if_primary_term}]. current document has seqNo [${current._seq_no}] and primary term [${current._primary_term}]`,
          409,
        );
      }
    }
    const outcome = runner.run({ ...meta, source: current._source!, op: 'index', version: current._version });
    const guard = { ifSeqNo: current._seq_no, ifPrimaryTerm: current._primary_term };
    switch (outcome.op) {
      case 'noop':
        // As a doc update that changes nothing: acknowledged as is only once every in-sync copy has it.
        if (current._seq_no! <= e.globalCheckpoint) {
          return { result: { _id: item.id, _version: current._version!, _seq_no: current._seq_no!, _primary_term: current._primary_term!, result: 'noop' as WriteResult['result'] } };
        }
        return this.indexed(item.id, current._source!, guard);
      case 'delete': {
        const result = e.delete(item.id, guard);
        return { result, op: { op: 'delete', id: item.id, seqNo: result._seq_no, primaryTerm: result._primary_term, version: result._version } };
      }
      default:
        return this.indexed(item.id, this.mapped(outcome), guard);
    }
  }

  private indexed(id: string, source: Record<string, unknown>, guard: { ifSeqNo?: number; ifPrimaryTerm?: number }): { result: WriteResult; op?: ReplicaOp } {
    const result = this.engine.index(id, source, guard);
    return { result, op: this.engine.stateOf(result._id) };
  }

  /** A script's new source, once every field it adds is mapped (else the write waits for the master: UnmappedFields). */
  private mapped(outcome: UpdateScriptOutcome): Record<string, unknown> {
    if (this.engine.mappings.hasUnmapped(outcome.source)) throw new UnmappedFields(outcome.source);
    return outcome.source;
  }

  /**
   * Dynamic fields go through the master before a document that adds them is indexed (as in
   * Elasticsearch), so every shard and every copy maps a field the same way: the engine's mapping
   * only ever grows from the cluster state's. Answers the items that cannot be indexed (their
   * error), as indexing them one by one would.
   */
  private async putDynamicMappings(items: WriteItem[]): Promise<Map<number, unknown>> {
    const rejected = new Map<number, unknown>();
    const sources = (item: WriteItem) => (item.action === 'update' ? [item.doc, item.upsert] : [item.source]).filter((s): s is Record<string, unknown> => !!s);
    const unmapped = () => items.some((item, i) => !rejected.has(i) && sources(item).some((s) => this.engine.mappings.hasUnmapped(s)));
    for (let round = 0; round < 3 && unmapped(); round++) {
      rejected.clear();
      const pending = new MappingRegistry(this.engine.mappings.toJSON());
      let adds = false;
      items.forEach((item, i) => {
        for (const source of sources(item)) {
          if (!pending.hasUnmapped(source)) continue;
          try {
            const delta = pending.dynamicUpdate(source);
            if (delta) (pending.merge(delta), (adds = true));
          } catch (err) {
            rejected.set(i, err);
          }
        }
      });
      if (!adds) break;
      const res = await this.io.propose({ op: 'put_mapping', name: this.id.index, mappings: { properties: pending.toJSON().properties }, at: this.io.now() });
      const state = await this.io.waitForVersion(res.version, 10_000);
      const meta = state.indices[this.id.index];
      if (!meta || meta.uuid !== this.meta.uuid) throw new ShoalError('index_not_found_exception', `no such index [${this.id.index}]`);
      this.mergeMappings(meta.mappings);
      this.mappingVersion = Math.max(this.mappingVersion, res.version);
      // Another shard may have mapped one of these fields differently meanwhile: look again.
    }
    return rejected;
  }

  private mergeMappings(mappings: Mappings): void {
    try {
      this.engine.mergeMappings(mappings);
    } catch (err) {
      // Only the master's mappings are merged, and they only grow: this would be a bug.
      this.io.log.error({ shard: this.label, err: (err as Error).message }, 'index mappings do not merge into the shard');
    }
  }

  /** Replicate through the replica-group actor; the global checkpoint follows its answer. */
  private async replicate(ops: ReplicaOp[], refresh: RefreshMode): Promise<ShardsInfo> {
    this.inflight++;
    try {
      const { shards, globalCheckpoint } = await this.group!.replicate(ops, refresh, this.engine.localCheckpoint, this.mappingVersion);
      if (globalCheckpoint > this.engine.globalCheckpoint) this.engine.globalCheckpoint = Math.min(globalCheckpoint, this.engine.localCheckpoint);
      return shards;
    } finally {
      this.inflight--;
    }
  }

  private assertPrimary(term: number | undefined): void {
    if (this.role !== 'primary') throw new ShoalError('not_primary', `${this.label} this copy (${this.id.allocationId}) is not the primary`);
    if (term !== undefined && term > this.term) throw new ShoalError('not_primary', `${this.label} the request expects primary term ${term}, this copy has ${this.term}`);
  }

  // ---- replica: replicated operations -----------------------------------------------------------

  applyReplicated(req: ReplicateRequest): Promise<{ localCheckpoint: number }> {
    const version = req.mappingVersion ?? 0;
    // The primary mapped new fields through the master: map them as it does before applying.
    if (version > this.mappingVersion) return this.catchUpMappings(version, REPLICATE_TIMEOUT_MS).then(() => this.applyReplicatedNow(req));
    return this.applyReplicatedNow(req);
  }

  /** Wait for this node to apply cluster state `version`, then merge the index's mappings from it. */
  private async catchUpMappings(version: number, timeoutMs: number): Promise<void> {
    const state = await this.io.waitForVersion(version, timeoutMs);
    const meta = state.indices[this.id.index];
    if (meta?.uuid === this.meta.uuid) this.mergeMappings(meta.mappings);
    this.mappingVersion = Math.max(this.mappingVersion, version);
  }

  private async applyReplicatedNow(req: ReplicateRequest): Promise<{ localCheckpoint: number }> {
    if (req.term < this.term) {
      throw new ShoalError('stale_primary_term', `${this.label} operation primary term [${req.term}] is older than this copy's [${this.term}]`);
    }
    if (this.role === 'primary' && req.term === this.term) throw new ShoalError('not_replica', `${this.label} this copy is the primary`);
    if (req.term > this.term) {
      // A new primary, seen before the cluster state said so: distrust what is not in sync yet.
      if (this.role === 'replica') this.distrustAbove(this.safePoint());
      this.term = req.term;
    }
    this.engine.batchUnsynced(() => {
      for (const op of req.ops) {
        const suspect = this.suspects?.delete(op.id) ?? false;
        this.engine.applyReplicated(op, suspect);
      }
    });
    this.engine.globalCheckpoint = Math.min(req.globalCheckpoint, this.engine.localCheckpoint);
    const localCheckpoint = this.engine.localCheckpoint;
    if (req.refresh === true) this.engine.refresh();
    // Answered once durable here (the fsync off the event loop, shared with concurrent batches).
    await Promise.all([this.engine.syncTranslog(), req.refresh === 'wait_for' ? this.engine.afterNextRefresh(REPLICA_WAIT_FOR_REFRESH_MS) : undefined]);
    return { localCheckpoint };
  }

  /** From now on what this copy has above `seqNo` must be confirmed by the primary (recovery). */
  private distrustAbove(seqNo: number): void {
    const ids = this.engine.idsAbove(seqNo);
    this.suspects = new Set([...(this.suspects ?? []), ...ids]);
    this.engine.resetLocalCheckpoint(seqNo);
  }

  get needsResync(): boolean {
    return this.suspects !== undefined;
  }

  // ---- recovery ---------------------------------------------------------------------------------

  /** Recover from the primary (replica side). Resolves once this copy has everything the primary had when it started. */
  async recover(primary: RoutingCopy, timeoutMs: number): Promise<{ ops: number; full: boolean }> {
    const from = this.safePoint();
    if (!this.suspects) this.distrustAbove(from);
    const ask = <T>(msg: unknown) => this.io.askCopy<T>(primary.node, primary.allocationId, msg, timeoutMs);
    const fullNeeded = !(await ask<{ opsBased: boolean }>({ type: 'shard.recovery_plan', from })).opsBased;
    if (fullNeeded) this.suspects = new Set([...this.suspects!, ...this.engine.idsAbove(-2)]);
    const start = await ask<RecoveryStart>({
      type: 'shard.recover',
      allocationId: this.id.allocationId,
      node: this.id.node,
      from: fullNeeded ? -1 : from,
      full: fullNeeded,
      suspects: [...(this.suspects ?? [])],
      term: this.term,
    });
    // A primary of an older term than this copy has seen was replaced (its node may not know yet):
    // what it has above the global checkpoint is not agreed history. Recover from the new one.
    const fenced = () => {
      if (start.term < this.term) throw new ShoalError('stale_primary_term', `${this.label} recovery source has primary term [${start.term}], this copy has seen [${this.term}]`);
    };
    fenced();
    if (start.term > this.term) this.term = start.term;
    this.mergeMappings(start.mappings);
    this.mappingVersion = Math.max(this.mappingVersion, start.mappingVersion);
    let received = 0;
    while (received < start.total) {
      const chunk = await ask<{ ops: ReplicaOp[] }>({ type: 'shard.recovery_chunk', sessionId: start.sessionId, offset: received });
      if (chunk.ops.length === 0) throw new ShoalError('recovery_failed', `${this.label} recovery session ended early`);
      fenced(); // a newer primary's operation may have arrived meanwhile
      this.engine.batch(() => {
        for (const op of chunk.ops) {
          const suspect = this.suspects?.delete(op.id) ?? false;
          this.engine.applyReplicated(op, suspect);
        }
      });
      received += chunk.ops.length;
    }
    fenced();
    // What the primary does not have at all, and suspects it did not mention, go.
    for (const id of start.absent) if (this.suspects?.delete(id)) this.engine.purge(id);
    for (const id of this.suspects ?? []) this.engine.purge(id);
    this.suspects = undefined;
    this.engine.trimMaxSeqNo(start.maxSeqNo);
    this.engine.markProcessedUpTo(start.maxSeqNo);
    this.engine.globalCheckpoint = Math.min(start.globalCheckpoint, this.engine.localCheckpoint);
    this.engine.refresh();
    this.engine.flush();
    // The primary, which knows whether this copy missed any operation since, marks it started.
    await ask({ type: 'shard.recovery_done', sessionId: start.sessionId, allocationId: this.id.allocationId, localCheckpoint: this.engine.localCheckpoint });
    return { ops: start.total, full: fullNeeded };
  }

  /** Primary side: can a copy that has everything up to `from` recover from operations? */
  recoveryPlan(from: number): { opsBased: boolean } {
    this.assertPrimary(undefined);
    return { opsBased: from >= 0 && this.engine.hasHistoryAbove(from) };
  }

  /** Primary side: start a recovery session; the copy gets every operation from now on. */
  async startRecovery(req: { allocationId: string; node: string; from: number; full: boolean; suspects: string[]; term?: number }): Promise<RecoveryStart> {
    // A copy that has seen a newer primary term must not recover from this (replaced) primary.
    this.assertPrimary(req.term);
    // The copy may know a newer cluster state than this primary: wait (the copy retries) until
    // our routing lists it, or a routing update from before its allocation would drop it from the
    // replication group while it recovers (Elasticsearch delays such recoveries likewise).
    if (!this.table?.copies.some((c) => c.allocationId === req.allocationId)) {
      throw new ShoalError('recovery_failed', `${this.label} the primary's routing does not list ${req.allocationId} yet`);
    }
    if (!req.full && !this.engine.hasHistoryAbove(req.from)) throw new ShoalError('recovery_failed', `${this.label} history above ${req.from} is no longer retained`);
    // Tracked first, snapshot after: a write applied in between reaches the copy twice at worst
    // (applying is idempotent by seq_no), never not at all.
    await this.group!.track(req.allocationId, req.node);
    this.assertPrimary(undefined);
    const ops = req.full ? this.engine.fullCopy() : this.engine.changesAbove(req.from);
    const seen = new Set(ops.map((o) => o.id));
    const absent: string[] = [];
    for (const id of req.suspects) {
      if (seen.has(id)) continue;
      const st = this.engine.stateOf(id);
      if (st) ops.push(st);
      else absent.push(id);
    }
    this.expireSessions();
    const sessionId = `${req.allocationId}-${this.sessionCounter++}`;
    this.sessions.set(sessionId, { ops, expires: this.io.now() + RECOVERY_SESSION_TTL_MS });
    this.io.log.info({ shard: this.label, target: req.allocationId, ops: ops.length, full: req.full }, 'recovery started');
    return {
      sessionId,
      term: this.term,
      maxSeqNo: this.engine.maxSeqNo,
      globalCheckpoint: this.engine.globalCheckpoint,
      full: req.full,
      total: ops.length,
      absent,
      mappings: this.engine.mappings.toJSON(),
      mappingVersion: this.mappingVersion,
    };
  }

  recoveryChunk(sessionId: string, offset: number): { ops: ReplicaOp[] } {
    const s = this.sessions.get(sessionId);
    if (!s) throw new ShoalError('recovery_failed', `${this.label} no recovery session ${sessionId}`);
    s.expires = this.io.now() + RECOVERY_SESSION_TTL_MS;
    const ops: ReplicaOp[] = [];
    let bytes = 0;
    for (let i = offset; i < s.ops.length && bytes < RECOVERY_CHUNK_BYTES; i++) {
      const op = s.ops[i]!;
      bytes += 64 + (op.op === 'index' ? JSON.stringify(op.source).length : 0);
      ops.push(op);
    }
    return { ops };
  }

  /**
   * Primary side: the copy has applied the snapshot. It is in the group still only if no operation
   * to it has failed since the snapshot, so it has everything: a new copy is reported started (and
   * so in sync) by this primary, never by the copy itself.
   */
  async endRecovery(sessionId: string, allocationId: string, localCheckpoint: number): Promise<{ started: boolean }> {
    this.sessions.delete(sessionId);
    this.assertPrimary(undefined);
    const { member } = await this.group!.recovered(allocationId, localCheckpoint);
    if (!member) throw new ShoalError('recovery_failed', `${this.label} ${allocationId} missed operations during recovery`);
    // This copy's routing may lag the recovering copy's: only a copy known to be started is skipped.
    const copy = this.table?.copies.find((c) => c.allocationId === allocationId);
    if (copy && copy.state !== 'INITIALIZING') return { started: false };
    const res = await this.io.propose({ op: 'shard_started', index: this.id.index, shard: this.id.shard, allocationId, at: this.io.now() });
    await this.io.waitForVersion(res.version, 10_000);
    return { started: true };
  }

  private expireSessions(): void {
    const now = this.io.now();
    for (const [id, s] of this.sessions) if (s.expires < now) this.sessions.delete(id);
  }

  // ---- reads ------------------------------------------------------------------------------------

  get(id: string): ReturnType<ShardEngine['get']> {
    return this.engine.get(id);
  }

  /**
   * The query phase. With `keepReader`, the point-in-time reader it ran on stays open for the
   * fetch phase (`reader_id` in the answer, `_address` on every hit). With `pitId`, it runs on
   * that point in time's reader, which stays open.
   */
  search(request: unknown, keepReader = false, pitId?: string, pitKeepAliveMs?: number): SearchResponse & { reader_id?: string } {
    if (pitId !== undefined) {
      const pit = this.pitReader(pitId, pitKeepAliveMs);
      return { ...this.engine.search(request, pit.reader), reader_id: pitId };
    }
    if (!keepReader) return this.engine.search(request);
    this.checkReaderRoom();
    const reader = this.engine.openReader();
    const response = this.engine.search(request, reader);
    const readerId = `r${this.readerCounter++}`;
    this.readers.set(readerId, { reader, expires: this.io.now() + READER_KEEP_ALIVE_MS });
    return { ...response, reader_id: readerId };
  }

  /**
   * Open a point in time: this copy's reader as it is now, kept for searches that name it until
   * it is closed or goes `keepAliveMs` without one (each search restarts the wait).
   */
  openPit(keepAliveMs: number): { reader_id: string } {
    this.checkReaderRoom();
    const readerId = `p${this.readerCounter++}`;
    this.readers.set(readerId, { reader: this.engine.openReader(), expires: this.io.now() + keepAliveMs, pitKeepAliveMs: keepAliveMs });
    return { reader_id: readerId };
  }

  /** A point in time's reader, its idle wait restarted (with a new keep_alive, when given). */
  private pitReader(pitId: string, keepAliveMs?: number): { reader: SearchReader } {
    this.expireReaders();
    const kept = this.readers.get(pitId);
    if (!kept || kept.pitKeepAliveMs === undefined) throw new ShoalError('search_context_missing_exception', `${this.label} no point in time [${pitId}]: closed, idle past its keep_alive, or this copy restarted`, 404);
    if (keepAliveMs !== undefined) kept.pitKeepAliveMs = keepAliveMs;
    kept.expires = this.io.now() + kept.pitKeepAliveMs;
    return kept;
  }

  private checkReaderRoom(): void {
    this.expireReaders();
    if (this.readers.size >= MAX_OPEN_READERS) {
      throw new ShoalError('es_rejected_execution_exception', `${this.label} too many open search readers [${this.readers.size}]; they are freed by their fetch phase or after ${READER_KEEP_ALIVE_MS} ms, and points in time when closed`, 429);
    }
  }

  /** The fetch phase on the reader of a query phase (which it frees) or of a point in time. */
  fetch(readerId: string, addresses: unknown, opts: { _source?: unknown; highlight?: unknown; query?: unknown; script_fields?: unknown }): { hits: SearchHit[] } {
    this.expireReaders();
    const kept = this.readers.get(readerId);
    if (!kept) throw new ShoalError('search_context_missing_exception', `${this.label} no search reader [${readerId}]: freed, expired after ${READER_KEEP_ALIVE_MS} ms, or this copy restarted`, 404);
    // A point in time serves page after page: only a query phase's own reader goes with its fetch.
    if (kept.pitKeepAliveMs === undefined) this.readers.delete(readerId);
    return { hits: this.engine.fetch(kept.reader, addresses, opts) };
  }

  freeReader(readerId: string): { freed: boolean } {
    return { freed: this.readers.delete(readerId) };
  }

  private expireReaders(): void {
    const now = this.io.now();
    for (const [id, r] of this.readers) if (r.expires < now) this.readers.delete(id);
  }

  async stats(): Promise<Record<string, unknown>> {
    return {
      allocation_id: this.id.allocationId,
      role: this.role,
      primary_term: this.term,
      docs: this.engine.docCount,
      docs_deleted: this.engine.deletedDocCount,
      segments: this.engine.segmentCount,
      store_bytes: this.engine.storeSizeBytes(),
      max_seq_no: this.engine.maxSeqNo,
      local_checkpoint: this.engine.localCheckpoint,
      global_checkpoint: this.engine.globalCheckpoint,
      open_readers: this.readers.size,
      refresh_interval_ms: this.engine.refreshIntervalMs,
      ...(this.group ? { group: await this.group.status(this.engine.localCheckpoint) } : {}),
    };
  }

  /** Force merge (engine.forceMergeInSlices), then a flush unless told not to, so the merged segments are what a restart loads. */
  async forceMerge(req: { maxNumSegments?: number; onlyExpungeDeletes?: boolean; flush?: boolean }): Promise<{ segments: number }> {
    // In slices (background merges): writes, searches and the node's heartbeats go on meanwhile.
    await this.engine.forceMergeInSlices({ maxNumSegments: req.maxNumSegments ?? undefined, onlyExpungeDeletes: req.onlyExpungeDeletes ?? undefined });
    if (req.flush !== false && !this.closed) this.engine.flush();
    return { segments: this.engine.segmentCount };
  }

  close(): void {
    this.closed = true;
    this.readers.clear();
    try {
      this.engine.flush();
    } catch (err) {
      this.io.log.warn({ shard: this.label, err: (err as Error).message }, 'flush on close failed');
    }
    this.engine.close();
  }
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof b === 'object' && b !== null && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Answer a deferred ask with what `work` returns or resolves to, or with its error (sync or async)
 * as a `{type, reason}` body: how the shard and replica-group actors answer.
 */
export function settle(replier: Replier | undefined, work: () => unknown): void {
  let result: Promise<unknown>;
  try {
    result = Promise.resolve(work());
  } catch (err) {
    result = Promise.reject(err);
  }
  result.then(
    (v) => replier?.ok(v),
    (err: unknown) => {
      // The asker sees the error's status too (a 404 or 429 of this copy), when it has one.
      const status = (err as { status?: unknown })?.status;
      replier?.error(typeof status === 'number' ? { ...errorBody(err), status } : errorBody(err));
    },
  );
}

export function errorBody(err: unknown): { type: string; reason: string } {
  const e = err as { type?: string; message?: string; details?: unknown };
  const body = { type: typeof e?.type === 'string' ? e.type : 'exception', reason: e?.message ?? String(err) };
  // A script error's structured fields (script_stack, position, caused_by) go with it.
  return err instanceof EngineError && e.details !== undefined ? { ...(e.details as Record<string, unknown>), ...body } : body;
}

/** A script made a document with fields the index does not map yet: map them through the master first. */
class UnmappedFields {
  constructor(readonly source: Record<string, unknown>) {}
}

/** How often one item's script may run again after its fields were mapped (another write may map them differently meanwhile). */
const MAX_MAPPING_ROUNDS = 3;

export function statusOf(err: unknown): number {
  const e = err as { status?: number; type?: string };
  if (typeof e?.status === 'number') return e.status;
  switch (e?.type) {
    case 'version_conflict_engine_exception':
      return 409;
    case 'document_missing_exception':
    case 'index_not_found_exception':
      return 404;
    case 'timeout':
    case 'unavailable_shards_exception':
      return 503;
    default:
      return 400;
  }
}
