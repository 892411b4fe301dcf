import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { collectAggs, parseAggs, recordingFieldType, reduceAggs } from './aggs/index.ts';
import type { ShardAggsResult } from './aggs/index.ts';
import { AnalyzerRegistry, type AnalysisSettings } from './analysis/index.ts';
import { isLinear } from './token-graph.ts';
import { MappingRegistry, type Mappings, type ParsedField } from './mapping.ts';
import { docKey, keyDoc, keySeg, MaxScoreCollector, type PruningTerm } from './maxscore.ts';
import { makeHighlighter, type Highlighter } from './highlight.ts';
import { childRange, InnerHitsFetcher, innerHitQueries, nestedChainOf, nestedContext, nestedSortSource, sortValueOf, type InnerHitsResult, type NestedSortSource } from './nested.ts';
import { contains, execute, keepOnly, namedQueries, parseQuery, withMinScore, queryTerms, resolveMsm, type ExecContext, type Query, type ShardStats } from './query.ts';
import { Explainer, type Explanation } from './explain.ts';
import { suggestTerms, type SuggestResult } from './suggest.ts';
import { collateOptions, suggestPhrase, type PhraseEntry } from './phrase-suggest.ts';
import type { PhraseSuggestSpec } from './phrase-suggest-params.ts';
import { keyOptionsOf, suggestCompletion, type CompletionEntry, type CompletionSuggestSpec } from './completion.ts';
import { CollapsingCollector, checkCollapseField, collapseValue, groupSearches, type CollapseInnerHitsResult, type CollapseValue } from './collapse.ts';
import { explainRescored, rescoreHits, rescoreWindow, type Rescorer } from './rescore.ts';
import { checkSortFields, compareSortValues, parseHighlight, parseScriptFields, parseSearchRequest, parseSourceFilter, type HighlightField, type SearchRequest, type SortSpec } from './search-request.ts';
import { scriptFieldsComputer, scriptSortRunners, scriptSortValue } from './script-fields.ts';
import type { ScriptRunner } from './script/index.ts';
import { Bm25TermScorer } from './similarity.ts';
import { Segment, SegmentBuilder, type DocMeta, type FieldIndex, type TermPostings } from './segment.ts';
import { MergeTask } from './merge-task.ts';
import { ShardStore } from './store.ts';
import { LocalCheckpointTracker } from './checkpoint.ts';
import { Translog, type TranslogOp } from './translog.ts';
import { EngineError, isPlainObject, type Analyzer, type Column } from './types.ts';

export interface EngineOptions {
  mappings?: Mappings;
  /** Index settings the analysis reads: `analysis`, and `max_ngram_diff` / `max_shingle_diff`. */
  settings?: AnalysisSettings;
  primaryTerm?: number;
  /**
   * request (default): every write is fsynced to the translog before it returns (is acknowledged);
   * async: the translog syncs on a timer, so an OS crash can lose the last interval's writes.
   */
  durability?: 'request' | 'async';
  /** Refresh this often (ms) while there are unrefreshed writes; -1 (default) = explicit refresh only. */
  refreshIntervalMs?: number;
  /** Merge when more segments than this exist after a refresh (default 10). */
  maxSegments?: number;
  /**
   * Run the merges a refresh asks for in the background, a slice of docs at a time between other
   * work, instead of inside the refresh: `true` schedules slices with setImmediate; a function
   * schedules them itself (tests drive slices one by one). Default: inside the refresh.
   */
  backgroundMerges?: boolean | ((slice: () => void) => void);
  /** Docs a background merge copies per slice (default 1,000: some 10 ms of indexing). */
  mergeSliceDocs?: number;
  /** The index this shard belongs to: `_index` of `top_hits` hits (none when not given). */
  index?: string;
}

export interface WriteOptions {
  /** create: fail if the id exists. */
  opType?: 'index' | 'create';
  ifSeqNo?: number;
  ifPrimaryTerm?: number;
}

export interface WriteResult {
  _id: string;
  _version: number;
  _seq_no: number;
  _primary_term: number;
  result: 'created' | 'updated' | 'deleted' | 'not_found';
}

export interface GetResult {
  _id: string;
  found: boolean;
  _version?: number;
  _seq_no?: number;
  _primary_term?: number;
  _source?: Record<string, unknown>;
}

type Location = { segment: Segment | SegmentBuilder; doc: number };

/** An operation as a primary hands it to its replicas (and recovery hands it to a new copy). */
export type ReplicaOp =
  | { op: 'index'; id: string; source: Record<string, unknown>; seqNo: number; primaryTerm: number; version: number }
  | { op: 'delete'; id: string; seqNo: number; primaryTerm: number; version: number };

/** Tombstones beyond this many are trimmed down to the global checkpoint. */
const MAX_TOMBSTONES = 100_000;

/**
 * One shard's engine: documents go into an in-memory buffer, a refresh seals the buffer into an
 * immutable segment that searches see (near-real-time), gets are real-time (they read the buffer
 * too), deletes and updates mark the old copy dead. Versions and seq_no/primary_term support
 * optimistic concurrency (if_seq_no / if_primary_term), as in Elasticsearch.
 */
export class ShardEngine {
  readonly mappings: MappingRegistry;
  readonly analyzers: AnalyzerRegistry;
  primaryTerm: number;
  private segments: Segment[] = [];
  private buffer: SegmentBuilder;
  private readonly locations = new Map<string, Location>();
  private seqNo = -1;
  private segmentCounter = 0;
  private readonly analyzerCache = new Map<string, Analyzer>();
  private searchable: Segment[] | undefined;
  private searchableOf: Segment[] | undefined;
  private searchableLength = 0;
  /** Search analyzers per field (keyed by the bare path: no key to build per search). */
  private readonly searchAnalyzerCache = new Map<string, Analyzer>();
  private store: ShardStore | undefined;
  private translog: Translog | undefined;
  private syncEachWrite = false;
  private commitGeneration = 0;
  /** Translog operations replayed by open() (diagnostics and tests). */
  recoveredOps = 0;
  private readonly maxSegments: number;
  readonly indexName: string | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshEveryMs = -1;
  /** `afterNextRefresh` callers, resolved by the next refresh. */
  private refreshWaiters: (() => void)[] = [];
  /** Deleted ids with the delete's identity: replicas and recoveries need to see deletes too. */
  private readonly tombstones = new Map<string, DocMeta>();
  /** Tombstones are complete above this seq_no; a recovery from below it needs a full copy. */
  private tombstoneFloor = -1;
  private readonly checkpoints = new LocalCheckpointTracker();
  /** Deletes of searchable docs, applied at the next refresh (markDeleted). */
  private readonly pendingDeletes: { segment: Segment; doc: number }[] = [];
  /** How background merge slices are scheduled; undefined: merges run inside the refresh. */
  private readonly scheduleMergeSlice: ((slice: () => void) => void) | undefined;
  /** The background merge under way, if any (one at a time). */
  private merging: MergeTask | undefined;
  private readonly mergeSliceDocs: number;
  private closed = false;
  private knownGlobalCheckpoint = -1;

  constructor(opts: EngineOptions = {}) {
    this.mappings = new MappingRegistry(opts.mappings);
    this.analyzers = new AnalyzerRegistry(opts.settings);
    for (const { path, analyzer } of this.mappings.analyzerReferences()) {
      if (!this.analyzers.has(analyzer)) throw new EngineError('mapper_parsing_exception', `analyzer [${analyzer}] has not been configured in mappings (field [${path}])`);
    }
    this.primaryTerm = opts.primaryTerm ?? 1;
    this.maxSegments = opts.maxSegments ?? 10;
    this.scheduleMergeSlice = opts.backgroundMerges === true ? scheduleWithSetImmediate : opts.backgroundMerges || undefined;
    this.mergeSliceDocs = opts.mergeSliceDocs ?? MERGE_SLICE_DOCS;
    this.indexName = opts.index;
    this.buffer = new SegmentBuilder(this.nextSegmentName());
    this.setRefreshInterval(opts.refreshIntervalMs ?? -1);
  }

  /** The scheduled refresh's interval (-1: only when asked). */
  get refreshIntervalMs(): number {
    return this.refreshEveryMs;
  }

  /** Refresh every `ms` from now on (-1 or 0: only when asked), as `index.refresh_interval` changes. */
  setRefreshInterval(ms: number): void {
    this.refreshEveryMs = ms > 0 ? ms : -1;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    if (ms > 0) {
      this.refreshTimer = setInterval(() => this.refresh(), ms);
      this.refreshTimer.unref();
    }
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /**
   * A durable engine in `dir`: loads the last commit point's segments (read from their segment
   * files as they were sealed), then replays every translog operation after it, so every
   * acknowledged write is back after a crash.
   */
  static open(dir: string, opts: EngineOptions = {}): ShardEngine {
    const store = new ShardStore(dir);
    const commit = store.readCommit();
    const engine = new ShardEngine({ ...opts, mappings: commit?.mappings ?? opts.mappings, primaryTerm: Math.max(opts.primaryTerm ?? 1, commit?.primaryTerm ?? 1) });
    // Fields mapped since the commit (a put-mapping) must be mapped before the translog replays
    // the documents that use them: the given mappings (the cluster state's) only ever grow.
    if (commit && opts.mappings) engine.mergeMappings(opts.mappings);
    // New segments must never take the name of a file on disk: flush() skips segments that exist.
    engine.segmentCounter = store.nextSegmentNumber();
    engine.buffer = new SegmentBuilder(engine.nextSegmentName());
    for (const name of commit?.segments ?? []) {
      const loaded = store.readSegment(name);
      if (loaded.format === 'segment') {
        // Served as it was written: no analysis, no inversion.
        const segment = loaded.segment;
        engine.segments.push(segment);
        for (let d = 0; d < segment.maxDoc; d++) if (segment.isLive(d)) engine.locations.set(segment.id(d), { segment, doc: d });
        continue;
      }
      // A shard written before segment files: re-index its live docs (the next flush writes them as a segment file).
      const { stored } = loaded;
      const live = store.readLive(name);
      stored.metas.forEach((meta, doc) => {
        if (live[doc] === 1) engine.applyIndex(meta.id, stored.sources[doc]!, meta);
      });
    }
    engine.seqNo = commit?.maxSeqNo ?? -1;
    const committedCheckpoint = commit?.localCheckpoint ?? engine.seqNo;
    engine.checkpoints.markProcessedUpTo(committedCheckpoint);
    for (const t of commit?.tombstones ?? []) engine.tombstones.set(t.id, t);
    engine.tombstoneFloor = commit?.tombstoneFloor ?? -1;
    engine.commitGeneration = commit?.generation ?? 0;
    engine.translog = Translog.open(path.join(dir, 'translog'), { durability: opts.durability ?? 'request' });
    engine.knownGlobalCheckpoint = engine.translog.checkpoint().globalCheckpoint ?? -1;
    // Every op above the committed local checkpoint, in log order; an op older than what the
    // document already has (out-of-order replication) does not overwrite it.
    for (const op of engine.translog.readOpsAfter(committedCheckpoint)) {
      engine.replay(op);
      engine.recoveredOps++;
    }
    engine.refresh();
    engine.store = store;
    engine.syncEachWrite = (opts.durability ?? 'request') === 'request';
    return engine;
  }

  /** The highest sequence number assigned (the local checkpoint, for one copy). */
  get maxSeqNo(): number {
    return this.seqNo;
  }

  get docCount(): number {
    return this.locations.size;
  }

  index(id: string | undefined, source: unknown, opts: WriteOptions = {}): WriteResult {
    if (!isPlainObject(source)) {
      throw new EngineError('mapper_parsing_exception', 'the document must be a JSON object');
    }
    const docId = id ?? randomBytes(15).toString('base64url');
    if (docId.length === 0 || docId.length > 512) throw new EngineError('illegal_argument_exception', 'id must be 1 to 512 characters');
    const current = this.locations.get(docId);
    if (opts.opType === 'create' && current) {
      throw new EngineError('version_conflict_engine_exception', `[${docId}]: version conflict, document already exists`, 409);
    }
    this.checkConditions(docId, current, opts);
    const version = current ? current.segment.meta(current.doc).version + 1 : (this.tombstones.get(docId)?.version ?? 0) + 1;
    const meta: DocMeta = { id: docId, seqNo: this.seqNo + 1, primaryTerm: this.primaryTerm, version };
    this.applyIndex(docId, source as Record<string, unknown>, meta); // throws, changing nothing, on a mapping conflict
    this.seqNo = meta.seqNo;
    this.checkpoints.markProcessed(meta.seqNo);
    this.log({ op: 'index', id: docId, source: source as Record<string, unknown>, seqNo: meta.seqNo, primaryTerm: meta.primaryTerm, version });
    return { _id: docId, _version: version, _seq_no: meta.seqNo, _primary_term: this.primaryTerm, result: current ? 'updated' : 'created' };
  }

  delete(id: string, opts: WriteOptions = {}): WriteResult {
    const current = this.locations.get(id);
    this.checkConditions(id, current, opts);
    const seqNo = ++this.seqNo;
    this.checkpoints.markProcessed(seqNo);
    if (!current) {
      // Still an operation with a seq_no (replicas and recovery see every seq_no).
      const version = (this.tombstones.get(id)?.version ?? 0) + 1;
      this.addTombstone({ id, seqNo, primaryTerm: this.primaryTerm, version });
      this.log({ op: 'delete', id, seqNo, primaryTerm: this.primaryTerm, version });
      return { _id: id, _version: version, _seq_no: seqNo, _primary_term: this.primaryTerm, result: 'not_found' };
    }
    const version = current.segment.meta(current.doc).version + 1;
    this.markDeleted(current);
    this.locations.delete(id);
    this.addTombstone({ id, seqNo, primaryTerm: this.primaryTerm, version });
    this.log({ op: 'delete', id, seqNo, primaryTerm: this.primaryTerm, version });
    return { _id: id, _version: version, _seq_no: seqNo, _primary_term: this.primaryTerm, result: 'deleted' };
  }

  /**
   * Make everything durable as a commit: seal the buffer, write new segments and changed live-docs
   * files, then the commit point; the translog keeps only what came after it.
   */
  flush(): void {
    if (!this.store || !this.translog) return;
    this.refresh();
    for (const seg of this.segments) {
      if (!this.store.hasSegment(seg.name)) this.store.writeSegment(seg);
      this.store.writeLive(seg.name, seg.liveBitmap());
    }
    this.translog.sync();
    const localCheckpoint = this.checkpoints.localCheckpoint;
    this.store.writeCommit({
      generation: ++this.commitGeneration,
      segments: this.segments.map((s) => s.name),
      maxSeqNo: this.seqNo,
      localCheckpoint,
      primaryTerm: this.primaryTerm,
      mappings: this.mappings.toJSON(),
      tombstones: [...this.tombstones.values()],
      tombstoneFloor: this.tombstoneFloor,
    });
    this.translog.rollGeneration();
    // Ops above the local checkpoint may be missing from older generations' neighbours: keep them.
    this.translog.trimUntil(localCheckpoint);
  }

  close(): void {
    this.closed = true;
    this.merging = undefined;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const wake of this.refreshWaiters.splice(0)) wake();
    this.translog?.close();
    this.translog = undefined;
  }

  /** Index with a given identity (new writes, recovery from the translog, later replication). */
  private applyIndex(id: string, source: Record<string, unknown>, meta: DocMeta): void {
    const parsed = this.mappings.parseDocument(source);
    const current = this.locations.get(id);
    if (current) this.markDeleted(current);
    const doc = this.buffer.add(meta, source, parsed.fields, (f) => this.analyzerForIndexing(f), parsed.nested);
    this.locations.set(id, { segment: this.buffer, doc });
    this.tombstones.delete(id);
  }

  private replay(op: TranslogOp): void {
    if (op.op !== 'noop' && this.isNewer(op)) this.applyOp(op);
    this.seqNo = Math.max(this.seqNo, op.seqNo);
    this.checkpoints.markProcessed(op.seqNo);
  }

  // ---- replication ------------------------------------------------------------------------------

  get localCheckpoint(): number {
    return this.checkpoints.localCheckpoint;
  }

  /** The last global checkpoint this copy heard of (persisted with the translog). */
  get globalCheckpoint(): number {
    return this.knownGlobalCheckpoint;
  }

  set globalCheckpoint(value: number) {
    if (value <= this.knownGlobalCheckpoint) return;
    this.knownGlobalCheckpoint = value;
    this.translog?.setGlobalCheckpoint(value);
    if (this.tombstones.size > MAX_TOMBSTONES) {
      for (const [id, t] of this.tombstones) if (t.seqNo <= value) this.tombstones.delete(id);
      this.tombstoneFloor = Math.max(this.tombstoneFloor, value);
    }
  }

  /** A recovery from `seqNo` can be operations-based only if every delete above it is known here. */
  hasHistoryAbove(seqNo: number): boolean {
    return seqNo >= this.tombstoneFloor;
  }

  /**
   * Apply an operation a primary assigned (on a replica, or a recovering copy). An operation
   * older than what the document already has is skipped but still fills its seq_no; `force`
   * overwrites whatever is there (a new primary's version of a document this copy cannot trust).
   * Durable before it returns (request durability), like a primary's write.
   */
  applyReplicated(op: ReplicaOp, force = false): boolean {
    const apply = force || this.isNewer(op);
    if (apply) {
      this.applyOp(op); // throws, changing nothing, on a mapping conflict
      this.log(op);
    } else {
      this.log({ op: 'noop', seqNo: op.seqNo, primaryTerm: op.primaryTerm, reason: 'stale' });
    }
    this.seqNo = Math.max(this.seqNo, op.seqNo);
    this.checkpoints.markProcessed(op.seqNo);
    return apply;
  }

  /** Record that seq_nos up to `seqNo` are processed (a recovery copied everything up to there). */
  markProcessedUpTo(seqNo: number): void {
    this.checkpoints.markProcessedUpTo(seqNo);
    this.seqNo = Math.max(this.seqNo, seqNo);
  }

  /** A new primary replaces this copy's operations above `seqNo`: they no longer count as processed. */
  resetLocalCheckpoint(seqNo: number): void {
    this.checkpoints.resetTo(seqNo);
  }

  /** The latest operation of every document (and delete) with a seq_no above `seqNo`. */
  changesAbove(seqNo: number): ReplicaOp[] {
    const out: ReplicaOp[] = [];
    for (const [id, loc] of this.locations) {
      const meta = loc.segment.meta(loc.doc);
      if (meta.seqNo > seqNo) out.push({ op: 'index', id, source: loc.segment.source(loc.doc), seqNo: meta.seqNo, primaryTerm: meta.primaryTerm, version: meta.version });
    }
    for (const t of this.tombstones.values()) if (t.seqNo > seqNo) out.push({ op: 'delete', ...t });
    return out.sort((a, b) => a.seqNo - b.seqNo);
  }

  /** Ids whose latest operation here has a seq_no above `seqNo`. */
  idsAbove(seqNo: number): string[] {
    const out: string[] = [];
    for (const [id, loc] of this.locations) if (loc.segment.meta(loc.doc).seqNo > seqNo) out.push(id);
    for (const t of this.tombstones.values()) if (t.seqNo > seqNo) out.push(t.id);
    return out;
  }

  /** The latest operation for `id` here, if any. */
  stateOf(id: string): ReplicaOp | undefined {
    const loc = this.locations.get(id);
    if (loc) {
      const m = loc.segment.meta(loc.doc);
      return { op: 'index', id, source: loc.segment.source(loc.doc), seqNo: m.seqNo, primaryTerm: m.primaryTerm, version: m.version };
    }
    const t = this.tombstones.get(id);
    return t ? { op: 'delete', ...t } : undefined;
  }

  /** Forget `id` entirely (a new primary has never seen it); made durable by the next flush. */
  purge(id: string): void {
    const loc = this.locations.get(id);
    if (loc) {
      this.markDeleted(loc);
      this.locations.delete(id);
    }
    this.tombstones.delete(id);
  }

  /**
   * After a recovery purged what the primary never had: the max seq_no is the highest one still
   * here (documents, tombstones) or `floor` (what the primary had), not an operation rolled back.
   */
  trimMaxSeqNo(floor: number): void {
    let max = floor;
    for (const loc of this.locations.values()) max = Math.max(max, loc.segment.meta(loc.doc).seqNo);
    for (const t of this.tombstones.values()) max = Math.max(max, t.seqNo);
    this.seqNo = Math.min(this.seqNo, max);
  }

  /** Every live document's latest operation. */
  allDocs(): ReplicaOp[] {
    return this.changesAbove(-2).filter((op) => op.op === 'index');
  }

  /**
   * What a full-copy recovery ships: every live document and every retained tombstone. The
   * tombstones matter: without them a recovered copy that becomes primary would restart the
   * version of a deleted-then-recreated id at 1 (Lucene's file copy keeps soft deletes likewise).
   */
  fullCopy(): ReplicaOp[] {
    return this.changesAbove(-2);
  }

  private isNewer(op: { id: string; seqNo: number }): boolean {
    const loc = this.locations.get(op.id);
    const have = loc ? loc.segment.meta(loc.doc).seqNo : this.tombstones.get(op.id)?.seqNo;
    return have === undefined || op.seqNo > have;
  }

  private applyOp(op: ReplicaOp): void {
    const meta: DocMeta = { id: op.id, seqNo: op.seqNo, primaryTerm: op.primaryTerm, version: op.version };
    if (op.op === 'index') {
      this.applyIndex(op.id, op.source, meta);
      return;
    }
    const current = this.locations.get(op.id);
    if (current) {
      this.markDeleted(current);
      this.locations.delete(op.id);
    }
    this.addTombstone(meta);
  }

  private addTombstone(meta: DocMeta): void {
    this.tombstones.set(meta.id, meta);
  }

  /**
   * Run several writes with one translog fsync at the end (a bulk request): each write is still
   * logged before it is applied, and none is acknowledged before `fn` returns and the sync is done.
   */
  batch<T>(fn: () => T): T {
    if (!this.syncEachWrite) return fn();
    try {
      return this.batchUnsynced(fn);
    } finally {
      this.translog?.sync();
    }
  }

  /** Run several writes without syncing the translog; `syncTranslog()` makes them durable. */
  batchUnsynced<T>(fn: () => T): T {
    if (!this.syncEachWrite) return fn();
    this.syncEachWrite = false;
    // The batch's translog records go to the file in one write at its end.
    this.translog?.beginBatch();
    try {
      return fn();
    } finally {
      this.syncEachWrite = true;
      this.translog?.endBatch();
    }
  }

  /** Every write so far durable (request durability), the fsync on the thread pool. */
  syncTranslog(): Promise<void> {
    return this.syncEachWrite && this.translog ? this.translog.syncAsync() : Promise.resolve();
  }

  /** Into the translog, fsynced before the write is acknowledged (request durability). */
  private log(op: TranslogOp): void {
    if (!this.translog) return;
    this.translog.add(op);
    if (this.syncEachWrite) this.translog.sync();
  }

  /** Real-time get: sees writes that no refresh has made searchable yet. */
  get(id: string): GetResult {
    const loc = this.locations.get(id);
    if (!loc) return { _id: id, found: false };
    const meta = loc.segment.meta(loc.doc);
    return { _id: id, found: true, _version: meta.version, _seq_no: meta.seqNo, _primary_term: meta.primaryTerm, _source: loc.segment.source(loc.doc) };
  }

  /**
   * Resolves once everything indexed so far is searchable (`refresh=wait_for`): at the next
   * scheduled refresh, or by refreshing now when none is scheduled or none came within `maxWaitMs`.
   */
  afterNextRefresh(maxWaitMs = Infinity): Promise<void> {
    if (!this.refreshTimer || this.buffer.size === 0) {
      this.refresh();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = Number.isFinite(maxWaitMs) ? setTimeout(() => this.refresh(), maxWaitMs) : undefined;
      timer?.unref();
      this.refreshWaiters.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /** Make everything indexed (and deleted) so far searchable. */
  refresh(): void {
    // Woken first, yet they run only after this (synchronous) refresh: promise continuations.
    for (const wake of this.refreshWaiters.splice(0)) wake();
    this.applyPendingDeletes();
    if (this.buffer.size === 0) return;
    const builder = this.buffer;
    const segment = builder.seal();
    this.buffer = new SegmentBuilder(this.nextSegmentName());
    for (const [id, loc] of this.locations) if (loc.segment === builder) this.locations.set(id, { segment, doc: loc.doc });
    // Docs of the buffer that were replaced before the refresh are dead in the segment too.
    for (let d = 0; d < segment.maxDoc; d++) {
      const loc = this.locations.get(segment.id(d));
      if (!loc || loc.segment !== segment || loc.doc !== d) segment.delete(d);
    }
    this.segments.push(segment);
    if (this.segments.length > this.maxSegments) this.requestMerge();
  }

  /**
   * Merge the smallest segments into one: their live docs are re-indexed into a new segment and
   * the old ones (with their deleted docs) go away. Searches already running keep their old list.
   */
  merge(count = Math.max(2, this.segments.length - this.maxSegments + 1)): void {
    this.finishRunningMerge();
    // A doc whose delete waits for the next refresh moves into the merged segment live, its
    // pending delete with it (finishMerge): it stays searchable until that refresh, as it would have.
    const victims = [...this.segments].sort((a, b) => a.liveCount - b.liveCount).slice(0, count);
    if (victims.length < 2) return;
    this.mergeInto(victims);
  }

  /**
   * Elasticsearch's force merge: down to `maxNumSegments` segments (1 by default), then every
   * segment still holding deleted docs is rewritten alone (Lucene's singleton merge), so none
   * remain. With `onlyExpungeDeletes`, only the segments with deleted docs merge, into one.
   * The buffer is not refreshed: what is not searchable yet stays so.
   */
  forceMerge(opts: { maxNumSegments?: number; onlyExpungeDeletes?: boolean } = {}): void {
    const { maxNumSegments = 1, onlyExpungeDeletes = false } = opts;
    if (!Number.isInteger(maxNumSegments) || maxNumSegments < 1) throw new EngineError('illegal_argument_exception', `[max_num_segments] must be a positive integer, got [${maxNumSegments}]`);
    this.finishRunningMerge();
    if (onlyExpungeDeletes) {
      const victims = this.segmentsWithDeletes();
      if (victims.length > 0) this.mergeInto(victims);
      return;
    }
    if (this.segments.length > maxNumSegments) this.merge(this.segments.length - maxNumSegments + 1);
    for (const seg of this.segmentsWithDeletes()) this.mergeInto([seg]);
  }

  private segmentsWithDeletes(): Segment[] {
    return this.segments.filter((s) => s.hasDeletions);
  }

  /**
   * forceMerge with background merges' slicing: each of its merges runs a slice at a time through
   * the merge scheduler, so writes, searches and a node's heartbeats go on meanwhile; the promise
   * settles once the last merged segment is swapped in. Without background merges, forceMerge.
   * Only the segments there were when it started are rewritten alone, so it ends whatever is
   * written meanwhile (deletes arriving during it can leave deleted docs: the next force merge
   * takes them).
   */
  forceMergeInSlices(opts: { maxNumSegments?: number; onlyExpungeDeletes?: boolean } = {}): Promise<void> {
    if (!this.scheduleMergeSlice) {
      this.forceMerge(opts);
      return Promise.resolve();
    }
    const { maxNumSegments = 1, onlyExpungeDeletes = false } = opts;
    if (!Number.isInteger(maxNumSegments) || maxNumSegments < 1) return Promise.reject(new EngineError('illegal_argument_exception', `[max_num_segments] must be a positive integer, got [${maxNumSegments}]`));
    this.finishRunningMerge();
    return new Promise((resolve) => this.nextForcedMerge({ maxNumSegments, onlyExpungeDeletes, phase: 'reduce', eligible: new Set(this.segments), resolve }));
  }

  /** Starts the force merge's next merge, or settles it when none is left. */
  private nextForcedMerge(f: ForcedMerge): void {
    let victims: Segment[] = [];
    if (f.phase === 'reduce') {
      f.phase = 'singles';
      if (f.onlyExpungeDeletes) {
        victims = this.segmentsWithDeletes();
        f.phase = 'done';
      } else if (this.segments.length > f.maxNumSegments) {
        victims = [...this.segments].sort((a, b) => a.liveCount - b.liveCount).slice(0, this.segments.length - f.maxNumSegments + 1);
      }
    }
    if (victims.length === 0 && f.phase === 'singles') {
      const next = this.segments.find((s) => s.hasDeletions && f.eligible.has(s));
      if (next) victims = [next];
      else f.phase = 'done';
    }
    if (victims.length === 0 || this.closed) {
      f.resolve();
      if (this.segments.length > this.maxSegments) this.requestMerge();
      return;
    }
    const task = this.mergeTask(victims);
    // Refresh-triggered merges wait meanwhile (one merge at a time, and these victims are taken).
    this.merging = task;
    this.scheduleMergeSlice!(() => this.forcedMergeSlice(task, f));
  }

  private forcedMergeSlice(task: MergeTask, f: ForcedMerge): void {
    // An explicit merge finished it meanwhile (or the engine closed): go on from what there is now.
    if (this.merging !== task) return this.nextForcedMerge(f);
    if (!task.step(this.mergeSliceDocs)) return this.scheduleMergeSlice!(() => this.forcedMergeSlice(task, f));
    this.merging = undefined;
    this.finishMerge(task);
    this.nextForcedMerge(f);
  }

  /** Re-index the victims' live docs into one new segment (none when no doc is live); the victims and their deleted docs go away. */
  private mergeInto(victims: Segment[]): void {
    const task = this.mergeTask(victims);
    task.step(Infinity);
    this.finishMerge(task);
  }

  private mergeTask(victims: readonly Segment[]): MergeTask {
    const builder = new SegmentBuilder(this.nextSegmentName());
    return new MergeTask(victims, builder, (seg, d) => this.copyDoc(builder, seg, d));
  }

  private copyDoc(builder: SegmentBuilder, seg: Segment, d: number): number {
    const source = seg.source(d);
    // Re-parsed from _source: the nested objects move with their parent.
    const parsed = this.mappings.parseDocument(source);
    return builder.add(seg.meta(d), source, parsed.fields, (f) => this.analyzerForIndexing(f), parsed.nested);
  }

  /**
   * A refresh left too many segments: merge the smallest now, or, with background merges, start
   * merging them a slice at a time (unless a merge is under way: it asks again when it is done).
   */
  private requestMerge(): void {
    if (!this.scheduleMergeSlice) return this.merge();
    if (this.merging) return;
    const count = Math.max(2, this.segments.length - this.maxSegments + 1);
    const victims = [...this.segments].sort((a, b) => a.liveCount - b.liveCount).slice(0, count);
    if (victims.length < 2) return;
    this.merging = this.mergeTask(victims);
    this.scheduleMergeSlice(this.mergeSlice);
  }

  /** One slice of the background merge; the last one swaps the merged segment in. */
  private readonly mergeSlice = (): void => {
    const task = this.merging;
    if (!task || this.closed) return;
    if (!task.step(this.mergeSliceDocs)) return this.scheduleMergeSlice!(this.mergeSlice);
    this.merging = undefined;
    this.finishMerge(task);
    if (this.segments.length > this.maxSegments) this.requestMerge();
  };

  /** A merge that must see every segment (an explicit or force merge) first finishes the one under way. */
  private finishRunningMerge(): void {
    const task = this.merging;
    if (!task) return;
    this.merging = undefined;
    task.step(Infinity);
    this.finishMerge(task);
  }

  /**
   * Swap the merged segment in for its victims, carrying over what happened while it ran: a copied
   * doc whose delete a refresh has applied since is deleted in the merged segment too; one replaced
   * or deleted since whose delete still waits for the next refresh has that pending delete moved
   * to its merged copy (so it stays searchable until then, as it would have); every other copied
   * doc now lives in the merged segment.
   */
  private finishMerge(task: MergeTask): void {
    const gone = new Set(task.victims);
    const kept = this.segments.filter((s) => !gone.has(s));
    if (task.from.length === 0) {
      this.segments = kept;
      return;
    }
    const merged = task.builder.seal();
    const copyOf = new Map<Segment, Int32Array>(task.victims.map((v) => [v, new Int32Array(v.maxDoc).fill(-1)]));
    for (let nd = 0; nd < task.from.length; nd++) {
      const { segment, doc } = task.from[nd]!;
      copyOf.get(segment)![doc] = nd;
      if (!segment.isLive(doc)) {
        merged.delete(nd);
        continue;
      }
      const id = segment.id(doc);
      const loc = this.locations.get(id);
      if (loc && loc.segment === segment && loc.doc === doc) this.locations.set(id, { segment: merged, doc: nd });
    }
    for (let i = 0; i < this.pendingDeletes.length; i++) {
      const { segment, doc } = this.pendingDeletes[i]!;
      const map = copyOf.get(segment);
      if (map) this.pendingDeletes[i] = { segment: merged, doc: map[doc]! };
    }
    this.segments = [...kept, merged];
  }

  /** Docs that are deleted but still take room in their segments (until a merge drops them). */
  get deletedDocCount(): number {
    let n = 0;
    for (const s of this.segments) n += s.maxDoc - s.liveCount;
    return n;
  }

  /** Bytes of the shard's files (0 for an engine in memory). */
  storeSizeBytes(): number {
    return this.store ? this.store.sizeBytes() : 0;
  }

  /** Reused by every pruned search (searches are synchronous; the response copies its hits out). */
  readonly prunedCollector = new MaxScoreCollector(0, 0);

  /**
   * Search what is searchable now; with a reader, what was searchable when it was opened, every
   * hit then carrying its `_address` in the reader for `fetch` (query then fetch).
   */
  search(request: unknown = {}, reader?: SearchReader): SearchResponse {
    return reader ? search(this, reader.segments as Segment[], request, true) : search(this, this.pointInTime(), request, false);
  }

  /**
   * A point-in-time view, as Elasticsearch keeps a reader context between the query and fetch
   * phases: the segments searchable now, with their deletes as they are now. Later refreshes,
   * merges, deletes and updates do not change it: its searches see what was searchable when it
   * opened, and a hit fetched through it is the version that was scored.
   * It holds its segments in memory until dropped.
   */
  openReader(): SearchReader {
    return { segments: this.pointInTime().map(snapshotOf) };
  }

  /** The fetch phase: `_id`, `_source` (filtered as `_source` says) and highlights of hits by `_address`. */
  fetch(reader: SearchReader, addresses: unknown, opts: { _source?: unknown; highlight?: unknown; query?: unknown; script_fields?: unknown } = {}): SearchHit[] {
    if (!Array.isArray(addresses)) throw new EngineError('illegal_argument_exception', 'fetch addresses must be an array');
    const sourceFilter = parseSourceFilter(opts._source);
    const scriptFields = opts.script_fields === undefined ? undefined : scriptFieldsComputer(parseScriptFields(opts.script_fields), this.mappings);
    const highlight = opts.highlight === undefined ? undefined : parseHighlight(opts.highlight);
    const query: Query = opts.query === undefined ? { kind: 'match_all', boost: 1 } : parseQuery(opts.query);
    const highlighter = highlight ? highlighterFor(this, query, highlight) : undefined;
    const innerHits = innerHitsFetcher(this, reader.segments, query, Date.now());
    return addresses.map((address): SearchHit => {
      const seg = Number.isSafeInteger(address) && address >= 0 ? keySeg(address) : -1;
      const doc = seg >= 0 ? keyDoc(address) : -1;
      const segment = reader.segments[seg];
      if (!segment || doc >= segment.maxDoc) throw new EngineError('illegal_argument_exception', `no document at address [${String(address)}] of this reader`);
      const source = segment.source(doc);
      const hit: SearchHit = { _id: segment.id(doc), _score: null };
      if (sourceFilter) hit._source = sourceFilter(source);
      if (scriptFields) hit.fields = scriptFields(segment, doc);
      if (highlighter) {
        const h = highlighter(source);
        if (Object.keys(h).length > 0) hit.highlight = h;
      }
      if (innerHits) hit.inner_hits = innerHits.innerHits(seg, doc);
      return hit;
    });
  }

  /**
   * searchableSegments(), kept between searches: still valid while `segments` is the same array
   * with the same length (refresh appends, merge replaces it) and no kept segment lost its last
   * live doc (segments only lose docs). Searches only read it.
   */
  private pointInTime(): Segment[] {
    const kept = this.searchable;
    if (kept !== undefined && this.searchableOf === this.segments && this.searchableLength === this.segments.length) {
      let valid = true;
      for (let i = 0; i < kept.length; i++) if (kept[i]!.liveCount === 0) valid = false;
      if (valid) return kept;
    }
    this.searchableOf = this.segments;
    this.searchableLength = this.segments.length;
    return (this.searchable = this.searchableSegments());
  }

  /** Segments a search sees now (a point-in-time list). */
  searchableSegments(): Segment[] {
    return this.segments.filter((s) => s.liveCount > 0);
  }

  /**
   * Merge new fields (and `dynamic`) into the mapping (MappingRegistry.merge): all or nothing, and
   * an analyzer a new field names must exist. Analyzers cached per field are looked up again.
   */
  mergeMappings(mappings: Mappings): void {
    for (const { path, analyzer } of new MappingRegistry({ properties: mappings.properties }).analyzerReferences()) {
      if (!this.analyzers.has(analyzer)) throw new EngineError('mapper_parsing_exception', `analyzer [${analyzer}] has not been configured in mappings (field [${path}])`);
    }
    this.mappings.merge(mappings);
    this.analyzerCache.clear();
    this.searchAnalyzerCache.clear();
  }

  analyzerFor(field: string, name?: string): Analyzer {
    if (name) return this.analyzers.get(name);
    let a = this.searchAnalyzerCache.get(field);
    if (!a) {
      const m = this.mappings.field(field);
      this.searchAnalyzerCache.set(field, (a = this.analyzers.get(m?.search_analyzer ?? m?.analyzer ?? defaultAnalyzer(m?.type))));
    }
    return a;
  }

  /** The analyzer a field's text is indexed with: the highlighter finds the query's terms in its tokens. */
  indexAnalyzerFor(field: string): Analyzer {
    return this.analyzers.get(this.mappings.field(field)?.analyzer ?? 'standard');
  }

  private analyzerForIndexing(f: ParsedField): Analyzer {
    let a = this.analyzerCache.get(f.path);
    if (!a) this.analyzerCache.set(f.path, (a = this.analyzers.get(f.mapping.analyzer ?? defaultAnalyzer(f.mapping.type))));
    return a;
  }

  private checkConditions(id: string, current: Location | undefined, opts: WriteOptions): void {
    if (opts.ifSeqNo === undefined && opts.ifPrimaryTerm === undefined) return;
    if (opts.ifSeqNo === undefined || opts.ifPrimaryTerm === undefined) {
      throw new EngineError('action_request_validation_exception', 'if_seq_no and if_primary_term must be given together');
    }
    const meta = current?.segment.meta(current.doc);
    if (!meta || meta.seqNo !== opts.ifSeqNo || meta.primaryTerm !== opts.ifPrimaryTerm) {
      throw new EngineError(
        'version_conflict_engine_exception',
        `[${id}]: version conflict, required seqNo [${opts.ifSeqNo}], primary term [${opts.ifPrimaryTerm}]. ` +
          (meta ? `current document has seqNo [${meta.seqNo}] and primary term [${meta.primaryTerm}]` : 'but no document was found'),
        409,
      );
    }
  }

  /**
   * A searchable doc that was deleted or replaced stays visible until the next refresh, as in
   * Lucene's near-real-time readers: its delete waits here, so that a search between an update
   * and the refresh finds the old version rather than neither. Real-time gets and conditions
   * read `locations`, which already point at the new version.
   */
  private markDeleted(loc: Location): void {
    if (loc.segment instanceof Segment) this.pendingDeletes.push(loc as { segment: Segment; doc: number });
    // A buffered doc is dropped at refresh (its id then points elsewhere).
  }

  /** Apply the deletes that waited for a refresh (markDeleted). */
  private applyPendingDeletes(): void {
    for (const { segment, doc } of this.pendingDeletes) segment.delete(doc);
    this.pendingDeletes.length = 0;
  }

  private nextSegmentName(): string {
    return `_${(this.segmentCounter++).toString(36)}`;
  }
}

/**
 * `indices_boost` on one shard: the query's scores times the first entry naming this index (by
 * exact name: the coordinating node resolves aliases and patterns to the indices they name).
 */
function withIndexBoost(req: SearchRequest, index: string | undefined): SearchRequest {
  const entry = req.indicesBoost!.find((e) => e.pattern === index);
  if (!entry || entry.boost === 1) return req;
  return { ...req, query: { kind: 'bool', must: [req.query], should: [], filter: [], mustNot: [], boost: entry.boost } };
}

/** The phrase suggester on this shard's segments, its options collated here against this shard's docs. */
function phraseSuggestions(engine: ShardEngine, segments: Segment[], stats: ShardStats, spec: PhraseSuggestSpec): PhraseEntry[] {
  const entries = suggestPhrase(spec, segments, stats, (field, name) => engine.analyzerFor(field, name));
  if (!spec.collate) return entries;
  return collateOptions(entries, spec.collate, (query) => search(engine, segments, { query, size: 0, track_total_hits: 1 }, false).hits.total.value > 0);
}

/** The completion suggester on this shard's segments (completion.ts); options carry their doc's `_source` as the request filters it. */
function completionSuggestions(engine: ShardEngine, segments: Segment[], spec: CompletionSuggestSpec, sourceFilter: SearchRequest['source']): CompletionEntry[] {
  const m = engine.mappings.field(spec.field);
  if (m === undefined) return [{ text: spec.text, offset: 0, length: spec.text.length, options: [] }];
  if (m.type !== 'completion') throw new EngineError('illegal_argument_exception', `Field [${spec.field}] is not a completion suggest field`);
  return suggestCompletion(spec, segments, engine.analyzerFor(spec.field, spec.analyzer), keyOptionsOf(m), (seg, doc) => {
    const segment = segments[seg]!;
    return { ...(engine.indexName !== undefined ? { _index: engine.indexName } : {}), _id: segment.id(doc), ...(sourceFilter ? { _source: sourceFilter(segment.source(doc)) } : {}) };
  });
}

/** A field's analyzer when its mapping names none: completion fields use `simple`, as in Elasticsearch. */
function defaultAnalyzer(type: string | undefined): string {
  return type === 'completion' ? 'simple' : 'standard';
}

/** Docs a background merge copies per slice by default: some 10 ms of indexing, so writes and searches wait no longer. */
const MERGE_SLICE_DOCS = 1_000;

/** A force merge run in slices (forceMergeInSlices): where it is, and what it has merged. */
interface ForcedMerge {
  maxNumSegments: number;
  onlyExpungeDeletes: boolean;
  /** reduce: down to maxNumSegments (or the segments with deletes, together); singles: each segment with deletes alone. */
  phase: 'reduce' | 'singles' | 'done';
  /** The segments there were when it started: the only ones merged alone (so it ends, whatever is written meanwhile). */
  eligible: Set<Segment>;
  resolve: () => void;
}

function scheduleWithSetImmediate(slice: () => void): void {
  setImmediate(slice);
}

// ---- search ---------------------------------------------------------------------------------------

/**
 * Throws what creating an index with these mappings and settings would throw (a bad mapping, an
 * unknown analyzer, a bad analysis definition), so the master is never asked to create it.
 */
export function validateIndexDefinition(mappings: unknown, settings: unknown): void {
  new ShardEngine({ mappings: mappings as Mappings, settings: settings as EngineOptions['settings'] }).close();
}

/** A point-in-time view for query then fetch (ShardEngine.openReader). */
export interface SearchReader {
  readonly segments: readonly Segment[];
}

export interface SearchHit {
  _id: string;
  /** Where the hit is in the reader it was found with: docKey(segment index, doc) (searches with a reader only). */
  _address?: number;
  _score: number | null;
  _source?: Record<string, unknown>;
  sort?: unknown[];
  highlight?: Record<string, string[]>;
  /** The `_name`s of the query's named parts that the hit matches. */
  matched_queries?: string[];
  /** With `collapse`: the hit's value of the collapse field; with `script_fields`: their values. */
  fields?: Record<string, unknown[]>;
  /** With `explain`: how its score was computed. */
  _explanation?: Explanation;
  /**
   * Per inner hits name: a nested query's `inner_hits` (the hit's matching nested objects), or a
   * `collapse.inner_hits` definition's (the hits of the collapsed hit's group).
   */
  inner_hits?: Record<string, InnerHitsResult | CollapseInnerHitsResult<SearchHit>>;
  /** With `seq_no_primary_term` (what a conditional write needs), and with `version`. */
  _seq_no?: number;
  _primary_term?: number;
  _version?: number;
}

/** `seq_no_primary_term` and `version`: the hit's write metadata. */
function addMeta(hit: SearchHit, segment: Segment, doc: number, req: SearchRequest): void {
  const meta = segment.meta(doc);
  if (req.seqNoPrimaryTerm) {
    hit._seq_no = meta.seqNo;
    hit._primary_term = meta.primaryTerm;
  }
  if (req.version) hit._version = meta.version;
}

export interface SearchResponse {
  took: number;
  timed_out: boolean;
  hits: { total: { value: number; relation: 'eq' | 'gte' }; max_score: number | null; hits: SearchHit[] };
  aggregations?: Record<string, unknown>;
  suggest?: Record<string, SuggestResult>;
  /**
   * Instead of `aggregations` when the request says `partial_aggs: true` (a shard request of a
   * distributed search): mergeable state for the coordinating node's `reduceShardAggs`.
   */
  partial_aggregations?: ShardAggsResult;
  /** With `terminate_after`: whether collecting stopped there. */
  terminated_early?: boolean;
}

interface Candidate {
  seg: number;
  doc: number;
  score: number;
  sortValues: unknown[];
  /** Its collapse value, when the request collapses. */
  group?: CollapseValue;
  /** The rescorers whose window it was in (rescore.ts). */
  rescoredBy?: Rescorer[];
}
const NO_VALUES: unknown[] = [];

function snapshotOf(segment: Segment): Segment {
  return segment.snapshot();
}

function search(engine: ShardEngine, segments: Segment[], request: unknown, addresses: boolean): SearchResponse {
  const started = performance.now();
  let req = parseSearchRequest(request);
  if (req.indicesBoost !== undefined) req = withIndexBoost(req, engine.indexName);
  if (req.sort.length > 0) checkSortFields(req.sort, engine.mappings);
  if (req.collapse !== undefined) checkCollapseField(req.collapse, engine.mappings);
  // Checked between segments: at least one segment is always searched.
  const deadline = req.timeoutMs === undefined ? Infinity : started + req.timeoutMs;
  if (req.byScore && req.aggs === undefined && req.searchAfter === undefined && req.highlight === undefined && req.postFilter === undefined && req.minScore === undefined && req.collapse === undefined && !req.explain && req.suggest === undefined && req.rescore === undefined && req.terminateAfter === undefined) {
    const pruned = searchPruned(engine, segments, req.query, req.from + req.size, req.limit, deadline);
    if (pruned) return prunedResponse(engine, segments, pruned, req, started, addresses);
  }
  const response = searchGeneral(engine, segments, shardStats(segments), req, started, deadline, addresses);
  if (req.collapseExpand !== undefined) {
    expandCollapsed(engine, segments, request as Record<string, unknown>, req, response);
    response.took = Math.round(performance.now() - started);
  }
  return response;
}

/**
 * `collapse.inner_hits` on one engine: each returned hit's group searches run here, on the same
 * segments (across shards the coordinating node runs them instead: its query phase leaves them out).
 */
function expandCollapsed(engine: ShardEngine, segments: Segment[], request: Record<string, unknown>, req: SearchRequest, response: SearchResponse): void {
  for (const { hit, name, body } of groupSearches(response.hits.hits, request, req.collapse!, req.collapseExpand!)) {
    (hit.inner_hits ??= {})[name] = { hits: search(engine, segments, body, false).hits };
  }
}

/** The response of searchPruned's collector: its hits from `from` on, and its total. */
function prunedResponse(engine: ShardEngine, segments: Segment[], pruned: MaxScoreCollector, req: SearchRequest, started: number, addresses: boolean): SearchResponse {
  const { from, limit, source: sourceFilter } = req;
  const scriptFields = req.scriptFields === undefined ? undefined : scriptFieldsComputer(req.scriptFields, engine.mappings);
  pruned.finish();
  const n = pruned.hitCount;
  const hits: SearchHit[] = [];
  for (let i = from; i < n; i++) {
    const segment = segments[pruned.hitSeg(i)]!;
    const doc = pruned.hitDoc(i);
    const hit: SearchHit = { _id: segment.id(doc), _score: pruned.hitScore(i) };
    if (addresses) hit._address = pruned.hitKey(i);
    if (sourceFilter) hit._source = sourceFilter(segment.source(doc));
    if (scriptFields) hit.fields = scriptFields(segment, doc);
    if (req.seqNoPrimaryTerm || req.version) addMeta(hit, segment, doc, req);
    hits.push(hit);
  }
  return {
    took: Math.round(performance.now() - started),
    timed_out: pruned.timedOut,
    hits: {
      // Past the track_total_hits limit the count stopped being exact (pruning skipped docs).
      total: !pruned.exact || pruned.total > limit ? { value: limit, relation: 'gte' } : { value: pruned.total, relation: 'eq' },
      max_score: n > 0 ? pruned.hitScore(0) : null,
      hits,
    },
  };
}

/** Any query, sort and aggregations: every segment's matches, evaluated in full (query.ts). */
function searchGeneral(engine: ShardEngine, segments: Segment[], stats: ShardStats, req: SearchRequest, started: number, deadline: number, addresses: boolean): SearchResponse {
  const { query, from, size, sort, byScore, searchAfter, limit } = req;
  // Rescoring ranks its window, and one hit past it: the best score a rescorer left unchanged.
  const k = req.rescore === undefined ? from + size : Math.max(from + size, rescoreWindow(req.rescore) + 1);
  // One `now` for the whole search (date math), as Elasticsearch fixes it per request.
  const now = Date.now();
  // Ranked by score (no search_after): the top k in a heap of parallel arrays, no object per match.
  const ranked = byScore && searchAfter === undefined && req.collapse === undefined ? engine.prunedCollector.reset(k, Infinity) : undefined;
  const top: Candidate[] = [];
  let total = 0;
  let maxScore = -Infinity;
  const perSegmentMatches: { columns: Segment; docs: Int32Array; scores: Float32Array }[] = [];
  const effectiveSort: SortSpec = byScore ? [{ field: '_score', order: 'desc' }] : sort;
  const collapsing = req.collapse === undefined ? undefined : new CollapsingCollector<Candidate>((a, b) => compareCandidates(a, b, effectiveSort));
  let timedOut = false;
  let docBase = 0;
  const sortsNested = sort.some((key) => key.nested !== undefined);
  // terminate_after: docs collected so far, and whether the limit was reached.
  let collected = 0;
  let terminated = false;
  for (let seg = 0; seg < segments.length && !terminated; seg++) {
    if (seg > 0 && timeIsUp(deadline)) {
      timedOut = true;
      break;
    }
    const segment = segments[seg]!;
    if (seg > 0) docBase += segments[seg - 1]!.maxDoc;
    const ctx = execContext(engine, segment, stats, now);
    let matches = execute(query, ctx);
    if (req.minScore !== undefined) matches = withMinScore(matches, req.minScore);
    if (req.terminateAfter !== undefined) {
      // Collected in doc order, as Lucene's collector sees them; aggregations see only these too.
      const room = req.terminateAfter - collected;
      if (matches.docs.length >= room) {
        matches = { docs: matches.docs.subarray(0, room), scores: matches.scores.subarray(0, room) };
        terminated = true;
      }
      collected += matches.docs.length;
    }
    if (req.aggs !== undefined) perSegmentMatches.push({ columns: segment, docs: matches.docs, scores: Float32Array.from(matches.scores) });
    if (req.postFilter !== undefined) matches = keepOnly(matches, execute(req.postFilter, ctx).docs);
    const { docs, scores } = matches;
    total += docs.length;
    for (let i = 0; i < scores.length; i++) if (scores[i]! > maxScore) maxScore = scores[i]!;
    if (ranked) {
      ranked.collectScored(seg, docs, scores);
      continue;
    }
    const groupColumn = req.collapse === undefined ? undefined : segment.column(req.collapse);
    const booleanGroups = req.collapse !== undefined && engine.mappings.field(req.collapse)?.type === 'boolean';
    const nestedSorts = sortsNested ? sort.map((key) => (key.nested ? nestedSortSource(key, ctx, execute) : undefined)) : undefined;
    const sortScripts = byScore ? undefined : scriptSortRunners(sort, segment, engine.mappings);
    for (let i = 0; i < docs.length; i++) {
      const score = scores[i]!;
      const c: Candidate = { seg, doc: docs[i]!, score, sortValues: byScore ? [score] : sortValues(segment, docBase, docs[i]!, score, sort, nestedSorts, sortScripts) };
      if (searchAfter && compareSortValues(c.sortValues, searchAfter, effectiveSort) <= 0) continue;
      if (collapsing) {
        c.group = collapseValue(groupColumn, req.collapse!, c.doc, booleanGroups);
        collapsing.offer(c.group, c);
      } else pushTop(top, c, k, effectiveSort);
    }
  }
  if (ranked) {
    ranked.finish();
    for (let i = 0; i < ranked.hitCount; i++) top.push({ seg: ranked.hitSeg(i), doc: ranked.hitDoc(i), score: ranked.hitScore(i), sortValues: NO_VALUES });
  } else if (collapsing) top.push(...collapsing.ranked().slice(0, k));
  else top.sort((a, b) => compareCandidates(a, b, effectiveSort));
  if (req.rescore !== undefined) {
    rescoreHits(top, req.rescore, (q, seg) => execute(q, execContext(engine, segments[seg]!, stats, now)));
    maxScore = -Infinity;
    for (const c of top) if (c.score > maxScore) maxScore = c.score;
  }
  const sourceFilter = req.source;
  const highlighter = req.highlight ? highlighterFor(engine, query, req.highlight) : undefined;
  const scriptFields = req.scriptFields === undefined ? undefined : scriptFieldsComputer(req.scriptFields, engine.mappings);
  const matchedQueries = namedQueriesMatcher(engine, segments, stats, query, now);
  // Query then fetch: the fetch phase adds inner hits (fetch), not the query phase.
  const innerHits = addresses ? undefined : innerHitsFetcher(engine, segments, query, now, stats);
  const explainers = new Map<number, Explainer>();
  const hits = top.slice(from, from + size).map((c): SearchHit => {
    const segment = segments[c.seg]!;
    const hit: SearchHit = { _id: segment.id(c.doc), _score: byScore ? c.score : null };
    if (addresses) hit._address = docKey(c.seg, c.doc);
    const matched = matchedQueries?.(c.seg, c.doc);
    if (matched && matched.length > 0) hit.matched_queries = matched;
    const source = segment.source(c.doc);
    if (sourceFilter) hit._source = sourceFilter(source);
    if (!byScore) hit.sort = c.sortValues;
    if (c.group !== undefined) hit.fields = { [req.collapse!]: [c.group] };
    if (scriptFields) hit.fields = { ...hit.fields, ...scriptFields(segment, c.doc) };
    if (req.seqNoPrimaryTerm || req.version) addMeta(hit, segment, c.doc, req);
    if (req.explain) {
      let explainer = explainers.get(c.seg);
      if (!explainer) explainers.set(c.seg, (explainer = new Explainer(execContext(engine, segment, stats, now), execute)));
      const first = explainer.explain(query, c.doc);
      hit._explanation = c.rescoredBy ? explainRescored(first, c.rescoredBy, (q) => explainer.explain(q, c.doc)) : first;
    }
    if (highlighter) {
      const h = highlighter(source);
      if (Object.keys(h).length > 0) hit.highlight = h;
    }
    if (innerHits) hit.inner_hits = innerHits.innerHits(c.seg, c.doc);
    return hit;
  });
  const response: SearchResponse = {
    took: Math.round(performance.now() - started),
    timed_out: timedOut,
    ...(req.terminateAfter !== undefined ? { terminated_early: terminated } : {}),
    hits: {
      total: total > limit ? { value: limit, relation: 'gte' } : { value: total, relation: 'eq' },
      max_score: byScore && total > 0 ? maxScore : null,
      hits,
    },
  };
  if (req.suggest !== undefined) {
    response.suggest = {};
    for (const spec of req.suggest) {
      response.suggest[spec.name] =
        spec.kind === 'completion'
          ? completionSuggestions(engine, segments, spec, req.source)
          : spec.kind === 'phrase'
            ? phraseSuggestions(engine, segments, stats, spec)
            : suggestTerms(spec, segments, stats, engine.analyzerFor(spec.field, spec.analyzer));
    }
  }
  if (req.aggs !== undefined) {
    const { fieldType, types } = recordingFieldType((f) => engine.mappings.field(f)?.type);
    const { nodes, partial } = runAggs(engine, req.aggs, fieldType, perSegmentMatches, stats, now);
    if (req.partialAggs) response.partial_aggregations = { partials: partial, field_types: types() };
    else response.aggregations = reduceAggs(nodes, [partial]);
  }
  return response;
}

/**
 * The top-k of a plain `match` disjunction, or of one term (a one-term `match`, a `term` on a text
 * or keyword field), with MaxScore and block-max pruning (see maxscore.ts); undefined when the
 * query has another shape and the general path must run.
 */
function searchPruned(engine: ShardEngine, segments: Segment[], q: Query, k: number, limit: number, deadline: number): MaxScoreCollector | undefined {
  if (q.name !== undefined) return undefined; // matched_queries: the general path
  let field: string;
  let terms: string[];
  if (q.kind === 'match') {
    if (q.fuzzy !== undefined || engine.mappings.field(q.field)?.type !== 'text') return undefined;
    const tokens = engine.analyzerFor(q.field, q.analyzer).analyze(q.query);
    // Stacked or multi-position tokens (synonyms) group into clauses per word: the general path.
    if (tokens.length > 1 && !isLinear(tokens)) return undefined;
    terms = tokens.length === 1 ? [tokens[0]!.term] : [...new Set(tokens.map((t) => t.term))];
    if (terms.length === 0) return undefined;
    // One term: `and` is the same query as `or`.
    if ((q.operator === 'and' && terms.length > 1) || (q.msm !== undefined && resolveMsm(q.msm, terms.length, 1) > 1)) return undefined;
    field = q.field;
  } else if (q.kind === 'term' && k > 0) {
    const type = engine.mappings.field(q.field)?.type;
    if (type !== 'text' && type !== 'keyword') return undefined;
    terms = [String(q.value)];
    field = q.field;
  } else return undefined;
  const collector = engine.prunedCollector.reset(k, limit);
  if (terms.length === 1) {
    collectOneTerm(collector, segments, field, terms[0]!, q.boost, deadline);
    return collector;
  }
  const stats = shardStats(segments);
  const st = stats.field(field);
  const scorers = terms.map((t) => new Bm25TermScorer(q.boost, stats.docFreq(field, t), st.docCount, st.sumTotalTermFreq));
  for (let seg = 0; seg < segments.length; seg++) {
    if (seg > 0 && pastDeadline(collector, deadline)) break;
    const segment = segments[seg]!;
    const fi = segment.field(field);
    if (!fi) continue;
    const present: PruningTerm[] = [];
    terms.forEach((t, i) => {
      const postings = fi.terms.get(t);
      if (postings) present.push({ field: fi, postings, scorer: scorers[i]! });
    });
    collector.collectSegment(seg, segment, present);
  }
  return collector;
}

/**
 * A one-term query: the shard statistics (the same sums as shardStats) in one pass over the
 * segments, then each segment's postings of the term (maxscore.ts: collectTerm).
 */
function collectOneTerm(collector: MaxScoreCollector, segments: Segment[], field: string, term: string, boost: number, deadline: number): void {
  let docCount = 0;
  let sumTotalTermFreq = 0;
  let docFreq = 0;
  let holders = 0;
  // The segment and postings, when one segment alone has the term (no second dictionary lookup).
  let onlySeg = -1;
  let only: TermPostings | undefined;
  let onlyField: FieldIndex | undefined;
  for (let seg = 0; seg < segments.length; seg++) {
    const fi = segments[seg]!.field(field);
    if (!fi) continue;
    docCount += fi.docCount;
    sumTotalTermFreq += fi.sumTotalTermFreq;
    const postings = fi.terms.get(term);
    if (postings) {
      docFreq += postings.df;
      holders++;
      onlySeg = seg;
      only = postings;
      onlyField = fi;
    }
  }
  if (docFreq === 0) return;
  const scorer = new Bm25TermScorer(boost, docFreq, docCount, sumTotalTermFreq);
  if (holders === 1) return collector.collectTerm(onlySeg, segments[onlySeg]!, { field: onlyField!, postings: only!, scorer });
  let collected = false;
  for (let seg = 0; seg < segments.length; seg++) {
    const fi = segments[seg]!.field(field);
    const postings = fi?.terms.get(term);
    if (!postings) continue;
    if (collected && pastDeadline(collector, deadline)) return;
    collector.collectTerm(seg, segments[seg]!, { field: fi!, postings, scorer });
    collected = true;
  }
}

/** The request's timeout has passed (a search checks between segments). */
function timeIsUp(deadline: number): boolean {
  return deadline !== Infinity && performance.now() >= deadline;
}

/** timeIsUp, and if so the collection stops, marked timed out. */
function pastDeadline(collector: MaxScoreCollector, deadline: number): boolean {
  if (!timeIsUp(deadline)) return false;
  collector.timedOut = true;
  return true;
}

function runAggs(engine: ShardEngine, json: unknown, fieldType: (f: string) => string | undefined, matches: { columns: Segment; docs: Int32Array; scores: Float32Array }[], stats: ShardStats, now: number) {
  const nodes = parseAggs(json, { fieldType });
  const segments = matches.map((m) => m.columns);
  const partial = collectAggs(nodes, matches, {
    index: engine.indexName,
    resolveFilter(q: unknown, segmentIndex: number, nestedPath?: string): Int32Array {
      const ctx = execContext(engine, segments[segmentIndex]!, stats, now);
      return execute(parseQuery(q), nestedPath === undefined ? ctx : nestedContext(ctx, nestedPath)).docs;
    },
    nestedChain(from: string | undefined, to: string): string[] {
      return nestedChainOf(engine.mappings, from, to, true, 'nested aggregation') ?? [];
    },
  });
  return { nodes, partial };
}

/**
 * ES semantics: asc sorts by a doc's smallest value, desc by its largest; a doc without one has
 * null (placed by compareSortValues), or the key's `missing` value.
 */
function sortValues(segment: Segment, docBase: number, doc: number, score: number, sort: SortSpec, nested: (NestedSortSource | undefined)[] | undefined, scripts: (ScriptRunner | undefined)[] | undefined): unknown[] {
  return sort.map(({ field, order, missing, mode, script }, k) => {
    if (script !== undefined) return scriptSortValue(scripts![k]!, script.type, doc, score);
    if (field === '_score') return score;
    // Index order: the doc's number in the reader (its segment's docs come after the earlier segments').
    if (field === '_doc') return docBase + doc;
    const none = missing === undefined || missing === '_first' || missing === '_last' ? null : missing;
    if (nested?.[k] !== undefined || sort[k]!.nested !== undefined) {
      const source = nested?.[k];
      if (!source?.column) return none;
      const [lo, hi] = childRange(source.levels, doc);
      return sortValueOf(source.column, lo, hi, source.mask, mode, order) ?? none;
    }
    const col: Column | undefined = segment.column(field);
    if (!col) return none;
    const lo = col.offsets[doc]!;
    const hi = col.offsets[doc + 1]!;
    if (hi === lo) return none;
    if (mode === undefined || mode === 'min' || mode === 'max') {
      const max = mode === undefined ? order === 'desc' : mode === 'max';
      if (col.kind === 'numeric') return max ? col.values[hi - 1] : col.values[lo];
      return col.terms[max ? col.ords[hi - 1]! : col.ords[lo]!];
    }
    return sortValueOf(col, doc, doc + 1, undefined, mode, order) ?? none;
  });
}

function compareCandidates(a: Candidate, b: Candidate, sort: SortSpec): number {
  return compareSortValues(a.sortValues, b.sortValues, sort) || a.seg - b.seg || a.doc - b.doc;
}

/** Keep the k best candidates (a binary max-heap on "worst first" would do; k is small). */
function pushTop(top: Candidate[], c: Candidate, k: number, sort: SortSpec): void {
  if (k === 0) return;
  if (top.length < k) {
    top.push(c);
    if (top.length === k) top.sort((a, b) => compareCandidates(a, b, sort));
    return;
  }
  if (compareCandidates(c, top[k - 1]!, sort) >= 0) return;
  // Insert in order, drop the worst.
  let i = k - 1;
  while (i > 0 && compareCandidates(c, top[i - 1]!, sort) < 0) {
    top[i] = top[i - 1]!;
    i--;
  }
  top[i] = c;
}

/** Fields a `*` expands to (query_string, multi_match, highlight): the text fields. */
function textFieldsOf(engine: ShardEngine): string[] {
  return engine.mappings.paths().filter((p) => engine.mappings.field(p)?.type === 'text');
}

function shardStats(segments: readonly Segment[]): ShardStats {
  const fieldCache = new Map<string, { docCount: number; sumTotalTermFreq: number }>();
  let nestedCache: Map<string, ShardStats> | undefined;
  return {
    field(field) {
      let s = fieldCache.get(field);
      if (!s) {
        s = { docCount: 0, sumTotalTermFreq: 0 };
        for (const seg of segments) {
          const fi = seg.field(field);
          if (fi) {
            s.docCount += fi.docCount;
            s.sumTotalTermFreq += fi.sumTotalTermFreq;
          }
        }
        fieldCache.set(field, s);
      }
      return s;
    },
    docFreq(field, term) {
      let n = 0;
      for (const seg of segments) n += seg.field(field)?.terms.get(term)?.df ?? 0;
      return n;
    },
    nested(path) {
      let s = (nestedCache ??= new Map()).get(path);
      if (!s) nestedCache.set(path, (s = shardStats(segments.flatMap((seg) => nestedSegment(seg, path)))));
      return s;
    },
  };
}

function nestedSegment(seg: Segment, path: string): Segment[] {
  const n = seg.nested(path);
  return n ? [n.segment] : [];
}

function execContext(engine: ShardEngine, segment: Segment, stats: ShardStats, now: number): ExecContext {
  // Methods, not arrow-function properties: tsx (esbuild keepNames) names each arrow property made
  // per call with an Object.defineProperty, and this runs per segment of every search.
  return {
    segment,
    stats,
    mappings: engine.mappings,
    now,
    analyzer(f, name) {
      return engine.analyzerFor(f, name);
    },
    textFields() {
      return textFieldsOf(engine);
    },
  };
}

/**
 * The `_name`s of the query's named parts that a hit matches (its `matched_queries`), or
 * undefined when nothing is named. Each named query runs once per segment with a hit in it.
 */
function namedQueriesMatcher(engine: ShardEngine, segments: Segment[], stats: ShardStats, query: Query, now: number): ((seg: number, doc: number) => string[]) | undefined {
  const named = namedQueries(query);
  if (named.length === 0) return undefined;
  const matches = new Map<number, Int32Array[]>();
  return (seg, doc) => {
    let perQuery = matches.get(seg);
    if (!perQuery) {
      const ctx = execContext(engine, segments[seg]!, stats, now);
      matches.set(seg, (perQuery = named.map((q) => execute(q, ctx).docs)));
    }
    return named.filter((_, i) => contains(perQuery[i]!, doc)).map((q) => q.name!);
  };
}

/** The inner hits of a query's nested queries (nested.ts), or undefined when none asks for them. */
function innerHitsFetcher(engine: ShardEngine, segments: readonly Segment[], query: Query, now: number, stats?: ShardStats): InnerHitsFetcher | undefined {
  const queries = innerHitQueries(query);
  if (queries.length === 0) return undefined;
  const shared = stats ?? shardStats(segments);
  return new InnerHitsFetcher(queries, (seg) => execContext(engine, segments[seg]!, shared, now), execute);
}

/** The highlighter of a search: the query's terms per field (highlight.ts). */
function highlighterFor(engine: ShardEngine, query: Query, spec: HighlightField[]): Highlighter {
  const textFields = textFieldsOf(engine);
  const terms = queryTerms(query, {
    mappings: engine.mappings,
    analyzer(f, n) {
      return engine.analyzerFor(f, n);
    },
    textFields() {
      return textFields;
    },
  });
  return makeHighlighter(spec, terms, textFields, (field) => engine.indexAnalyzerFor(field), (field) => engine.mappings.sourcePath(field));
}
