/**
 * TypeScript client for Shoal's NATS API (protocols/api.ts, docs/PROTOCOL.md).
 *
 *   const client = await ShoalClient.connect({ servers: 'nats://127.0.0.1:4222', cluster: 'c1' });
 *   await client.index({ index: 'books', id: '1', document: { title: 'Dune' }, refresh: true });
 *   const res = await client.search({ index: 'books', body: { query: { match: { title: 'dune' } } } });
 *
 * msgpack on the wire (JSON with `encoding: 'json'`). Every request goes to
 * `shoal.<cluster>.api.<op>`, where the nodes' queue group picks one node to coordinate it.
 * The client remembers the newest cluster-state version a reply showed and sends it
 * (`Shoal-Min-State-Version`), so an index it just created is known to whichever node answers next.
 *
 * Retries (at most `maxAttempts` sends, each waiting `timeoutMs` for its reply, exponential backoff
 * between them):
 * - no responders (no node serves the API right now, e.g. during a restart): the request reached
 *   nobody, so every op is retried;
 * - `es_rejected_execution_exception` (429) and `master_not_discovered_exception` (503): the node
 *   refused the request before executing it, so every op is retried;
 * - timeout, and any other 503 (e.g. no started shard copy yet): the request may have been
 *   applied. Only requests that give the same result when
 *   applied twice are retried: reads, `doc.index` with an explicit id (no `op_type: create`, no
 *   if_seq_no), `doc.update` and `doc.delete` without conditions, bulks made only of those, and
 *   open/close/refresh/set_replicas. A retried delete can answer `result: not_found` when its
 *   first attempt did delete; a retried index answers `updated` with a higher `_version`.
 *   `doc.create`, generated ids, conditional writes and index create/delete are never retried
 *   after a timeout: the caller gets the `timeout` error and must check.
 */
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { errors as natsErrors, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/nats-core';
import {
  apiSubject,
  isApiErrorReply,
  isIdempotent,
  type ApiOp,
  type ApiRequestOf,
  type ApiResponseOf,
  type CatIndex,
  type CatNode,
  type CatShard,
  type ClusterHealthRequest,
  type ClusterPutSettingsRequest,
  type ClusterAllocationExplainRequest,
  type ClusterHealthResponse,
  type CountRequest,
  type MsearchRequest,
  type PitOpenRequest,
  type PitCloseRequest,
  type IndexUpdateAliasesRequest,
  type IndexPutMappingRequest,
  type IndexPutTemplateRequest,
  type IndexPutSettingsRequest,
  type IndexAnalyzeRequest,
  type IndexValidateQueryRequest,
  type IndexGetSettingsRequest,
  type IndexGetTemplateRequest,
  type IndexTemplateNameRequest,
  type SearchTemplateRequest,
  type RenderTemplateRequest,
  type ScriptPutRequest,
  type ScriptIdRequest,
  type IndexForceMergeRequest,
  type IndexExistsRequest,
  type FieldCapsRequest,
  type IndexPutComponentTemplateRequest,
  type IndexSimulateIndexRequest,
  type IndexGetMappingRequest,
  type CatAlias,
  type DocDeleteByQueryRequest,
  type DocUpdateByQueryRequest,
  type DocExplainRequest,
  type ReindexRequest,
  type MsearchResponse,
  type DocBulkRequest,
  type DocCreateRequest,
  type DocDeleteRequest,
  type DocGetRequest,
  type DocIndexRequest,
  type DocMgetRequest,
  type DocUpdateRequest,
  type Document,
  type GetResponse,
  type IndexCreateRequest,
  type IndexExpr,
  type MgetResponse,
  type SearchRequest,
  type SearchResponse,
  type ShardStatsRequest,
} from '../../protocols/api.ts';
import { decode, encode } from '../transport/codec.ts';
import { bulkHelper, type BulkHelperOptions, type BulkHelperResult } from './bulk-helper.ts';
import { ShoalApiError } from './errors.ts';

export { ShoalApiError } from './errors.ts';

export interface ShoalClientOptions {
  /** The Shoal cluster name (the subject token in `shoal.<cluster>.api.<op>`). Default `shoal`. */
  cluster?: string;
  /** Wire encoding. Default msgpack. */
  encoding?: 'msgpack' | 'json';
  /** Default time to wait for each attempt's reply, in ms. Default 30 s, or the request's timeout_ms + 5 s when larger. */
  timeoutMs?: number;
  /** Most attempts per request (1 = no retries). Default 4. */
  maxAttempts?: number;
  /** First backoff between attempts; doubles each time, capped at 2 s. Default 50 ms. */
  retryBackoffMs?: number;
}

export interface ConnectOptions extends ShoalClientOptions {
  servers: string | string[];
  /** Connection name shown by the NATS server. */
  name?: string;
  /** Anything else NATS.js `connect()` accepts (credentials, TLS, reconnect, …). */
  nats?: Partial<NodeConnectionOptions>;
}

export interface RequestOptions {
  /** Time to wait for each attempt's reply (the request is sent at most maxAttempts times). */
  timeoutMs?: number;
  /** Override the retry policy: false = one attempt only. */
  retry?: boolean;
}

const RETRY_BEFORE_EXECUTION = new Set(['no_responders', 'es_rejected_execution_exception', 'master_not_discovered_exception']);

export class ShoalClient {
  /** The Shoal cluster this client talks to. */
  readonly clusterName: string;
  private readonly json: boolean;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  /** The newest cluster-state version any reply showed: sent along so every node answers at least that fresh. */
  private stateVersion = 0;

  private constructor(
    readonly nc: NatsConnection,
    opts: ShoalClientOptions,
    private readonly ownsConnection: boolean,
  ) {
    this.clusterName = opts.cluster ?? 'shoal';
    this.json = opts.encoding === 'json';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.backoffMs = opts.retryBackoffMs ?? 50;
  }

  static async connect(opts: ConnectOptions): Promise<ShoalClient> {
    const nc = await connect({ name: opts.name ?? 'shoal-client', ...opts.nats, servers: opts.servers });
    return new ShoalClient(nc, opts, true);
  }

  /** Use an existing NATS connection (not closed by `close()`). */
  static fromConnection(nc: NatsConnection, opts: ShoalClientOptions = {}): ShoalClient {
    return new ShoalClient(nc, opts, false);
  }

  async close(): Promise<void> {
    if (this.ownsConnection && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  /** The largest request the NATS server takes (its max_payload). */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Encoded size of a value on the wire (for batching). */
  encodedSize(value: unknown): number {
    return this.json ? Buffer.byteLength(JSON.stringify(value)) : encode(value).length;
  }

  /** Send any op: the typed methods below all come here. */
  async request<O extends ApiOp>(op: O, params: ApiRequestOf<O>, opts: RequestOptions = {}): Promise<ApiResponseOf<O>> {
    const body = params as unknown as Record<string, unknown>;
    const data = this.json ? Buffer.from(JSON.stringify(body)) : encode(body);
    if (data.length > this.maxPayload) {
      throw new ShoalApiError('payload_too_large', `the request is ${data.length} bytes; the NATS server takes at most ${this.maxPayload}`, 413, op);
    }
    const serverTimeout = typeof body.timeout_ms === 'number' ? body.timeout_ms + 5_000 : undefined;
    const attemptTimeout = opts.timeoutMs ?? Math.max(serverTimeout ?? 0, this.timeoutMs);
    const idempotent = isIdempotent(op, body);
    const h = natsHeaders();
    h.set('Content-Type', this.json ? 'application/json' : 'application/msgpack');
    if (this.stateVersion > 0) h.set('Shoal-Min-State-Version', String(this.stateVersion));
    const subject = apiSubject(this.clusterName, op);
    for (let attempt = 1; ; attempt++) {
      let error: ShoalApiError;
      try {
        const msg = await this.nc.request(subject, data, { timeout: attemptTimeout, headers: h });
        return this.decodeReply(op, msg) as ApiResponseOf<O>;
      } catch (err) {
        error = toClientError(err, op, attemptTimeout);
        error.attempts = attempt;
      }
      const retriable = RETRY_BEFORE_EXECUTION.has(error.type) || (idempotent && (error.type === 'timeout' || error.status === 503));
      if (opts.retry === false || !retriable || attempt >= this.maxAttempts) throw error;
      await new Promise((r) => setTimeout(r, Math.min(2_000, this.backoffMs * 2 ** (attempt - 1))));
    }
  }

  private decodeReply(op: string, msg: Msg): unknown {
    const ct = msg.headers?.get('Content-Type') ?? '';
    const node = msg.headers?.get('Shoal-Node') || undefined;
    const version = Number(msg.headers?.get('Shoal-State-Version'));
    if (Number.isSafeInteger(version) && version > this.stateVersion) this.stateVersion = version;
    let body: unknown;
    try {
      body = msg.data.length === 0 ? undefined : ct.includes('json') ? JSON.parse(msg.string()) : decode(msg.data);
    } catch (err) {
      throw new ShoalApiError('parse_exception', `could not decode the reply: ${(err as Error).message}`, 502, op, { node });
    }
    const code = msg.headers?.get('Nats-Service-Error-Code');
    if (code || isApiErrorReply(body)) {
      if (isApiErrorReply(body)) {
        const { type, reason, ...details } = body.error;
        throw new ShoalApiError(type, reason, body.status, op, { node, ...(Object.keys(details).length > 0 ? { details } : {}) });
      }
      throw new ShoalApiError('exception', msg.headers?.get('Nats-Service-Error') || 'error without a body', Number(code) || 500, op, { node });
    }
    return body;
  }

  // ---- documents ------------------------------------------------------------------------------

  /** Index (create or replace) a document; without `id` one is generated. */
  index(p: DocIndexRequest, o?: RequestOptions) {
    return this.request('doc.index', p, o);
  }
  /** Create a document; 409 `version_conflict_engine_exception` when the id exists. */
  create(p: DocCreateRequest, o?: RequestOptions) {
    return this.request('doc.create', p, o);
  }
  /** Real-time get: `found: false` when there is no such document. */
  get<T = Document>(p: DocGetRequest, o?: RequestOptions): Promise<GetResponse<T>> {
    return this.request('doc.get', p, o) as Promise<GetResponse<T>>;
  }
  /**
   * Partial update (`doc` merged), or a `script` run on the primary (`ctx._source`, `ctx.op`:
   * `result: 'noop'` when it writes nothing); `upsert`, `doc_as_upsert`, `scripted_upsert`. A
   * scripted update is never retried after a timeout (it may have been applied).
   */
  update(p: DocUpdateRequest, o?: RequestOptions) {
    return this.request('doc.update', p, o);
  }
  delete(p: DocDeleteRequest, o?: RequestOptions) {
    return this.request('doc.delete', p, o);
  }
  mget<T = Document>(p: DocMgetRequest, o?: RequestOptions): Promise<MgetResponse<T>> {
    return this.request('doc.mget', p, o) as Promise<MgetResponse<T>>;
  }
  /** One bulk request (Elasticsearch's lines as objects). For many documents see `helpers.bulk`. */
  bulk(p: DocBulkRequest, o?: RequestOptions) {
    return this.request('doc.bulk', p, o);
  }

  /** Copy documents from source indices into a destination, from a point in time; a `script` may change, retarget or skip each. */
  reindex(p: ReindexRequest, o?: RequestOptions) {
    return this.request('reindex', p, o);
  }

  /** Index every document a query matches again, as it is (to pick up a put-mapping's new fields) or as a `script` changes it. */
  updateByQuery(p: DocUpdateByQueryRequest, o?: RequestOptions) {
    return this.request('doc.update_by_query', p, o);
  }

  /** How one document scores for a query (its explanation tree), or that it does not match. */
  explain(p: DocExplainRequest, o?: RequestOptions) {
    return this.request('doc.explain', p, o);
  }

  /** Delete every document a query matches, each on the condition that it has not changed. */
  deleteByQuery(p: DocDeleteByQueryRequest, o?: RequestOptions) {
    return this.request('doc.delete_by_query', p, o);
  }

  // ---- search ---------------------------------------------------------------------------------

  search<T = Document>(p: SearchRequest = {}, o?: RequestOptions): Promise<SearchResponse<T>> {
    return this.request('search', p, o) as Promise<SearchResponse<T>>;
  }
  /** A Mustache search template (inline `source` or a stored `id`) rendered with `params`, then searched. */
  searchTemplate<T = Document>(p: SearchTemplateRequest, o?: RequestOptions): Promise<SearchResponse<T>> {
    return this.request('search_template', p, o) as Promise<SearchResponse<T>>;
  }
  /** What a search template renders to. */
  renderTemplate(p: RenderTemplateRequest, o?: RequestOptions) {
    return this.request('render_template', p, o);
  }
  /** Stored scripts: Painless scripts (used as `script: { id, params }`) and Mustache search templates. */
  readonly scripts = {
    put: (p: ScriptPutRequest, o?: RequestOptions) => this.request('script.put', p, o),
    get: (p: ScriptIdRequest, o?: RequestOptions) => this.request('script.get', p, o),
    delete: (p: ScriptIdRequest, o?: RequestOptions) => this.request('script.delete', p, o),
  };
  /** Many searches in one round trip: one response (or error) per search, in order. */
  msearch<T = Document>(p: MsearchRequest, o?: RequestOptions): Promise<MsearchResponse<T>> {
    return this.request('msearch', p, o) as Promise<MsearchResponse<T>>;
  }
  /** Open a point in time; search it with `body.pit: {id, keep_alive}` and page with search_after. */
  openPointInTime(p: PitOpenRequest, o?: RequestOptions) {
    return this.request('pit.open', p, o);
  }
  closePointInTime(p: PitCloseRequest, o?: RequestOptions) {
    return this.request('pit.close', p, o);
  }
  count(p: CountRequest = {}, o?: RequestOptions) {
    return this.request('count', p, o);
  }

  // ---- admin ----------------------------------------------------------------------------------

  readonly indices = {
    create: (p: IndexCreateRequest, o?: RequestOptions) => this.request('index.create', p, o),
    delete: (p: { index: string }, o?: RequestOptions) => this.request('index.delete', p, o),
    open: (p: { index: string }, o?: RequestOptions) => this.request('index.open', p, o),
    close: (p: { index: string }, o?: RequestOptions) => this.request('index.close', p, o),
    refresh: (p: { index?: IndexExpr } = {}, o?: RequestOptions) => this.request('index.refresh', p, o),
    /** Write every copy's segments and a commit point, and trim its translog. */
    flush: (p: { index?: IndexExpr } = {}, o?: RequestOptions) => this.request('index.flush', p, o),
    /** Merge every copy's segments, dropping deleted docs. */
    forcemerge: (p: IndexForceMergeRequest = {}, o?: RequestOptions) => this.request('index.forcemerge', p, o),
    stats: (p: { index?: IndexExpr } = {}, o?: RequestOptions) => this.request('index.stats', p, o),
    /** Aliases, mappings and settings of each index. */
    get: (p: { index?: IndexExpr } = {}, o?: RequestOptions) => this.request('index.get', p, o),
    exists: (p: IndexExistsRequest, o?: RequestOptions) => this.request('index.exists', p, o),
    /** Field types across indices, searchable and aggregatable. */
    fieldCaps: (p: FieldCapsRequest, o?: RequestOptions) => this.request('field_caps', p, o),
    setReplicas: (p: { index: string; number_of_replicas: number }, o?: RequestOptions) => this.request('index.set_replicas', p, o),
    /** Add and remove aliases in one atomic change (swap an alias to a reindexed index). */
    updateAliases: (p: IndexUpdateAliasesRequest, o?: RequestOptions) => this.request('index.update_aliases', p, o),
    /** Map new fields (or change `dynamic`) on existing indices; a field already mapped cannot change. */
    putMapping: (p: IndexPutMappingRequest, o?: RequestOptions) => this.request('index.put_mapping', p, o),
    /** Whether a query would run on the indices (with `explain`, why not, per index). */
    validateQuery: (p: IndexValidateQueryRequest = {}, o?: RequestOptions) => this.request('index.validate_query', p, o),
    /** The tokens an analyzer makes of a text: `{ body: { analyzer | field | tokenizer + filter, text } }`, with `index` for its analyzers. */
    analyze: (p: IndexAnalyzeRequest, o?: RequestOptions) => this.request('index.analyze', p, o),
    /** Change the dynamic settings of live indices, e.g. `{ index: { refresh_interval: '30s', blocks: { write: true } } }`. */
    putSettings: (p: IndexPutSettingsRequest, o?: RequestOptions) => this.request('index.put_settings', p, o),
    getSettings: (p: IndexGetSettingsRequest = {}, o?: RequestOptions) => this.request('index.get_settings', p, o),
    /** Add or replace an index template (settings, mappings, aliases for new indices matching its patterns). */
    putTemplate: (p: IndexPutTemplateRequest, o?: RequestOptions) => this.request('index.put_template', p, o),
    getTemplate: (p: IndexGetTemplateRequest = {}, o?: RequestOptions) => this.request('index.get_template', p, o),
    deleteTemplate: (p: IndexTemplateNameRequest, o?: RequestOptions) => this.request('index.delete_template', p, o),
    /** Add or replace a component template (index templates list it in `composed_of`). */
    putComponentTemplate: (p: IndexPutComponentTemplateRequest, o?: RequestOptions) => this.request('index.put_component_template', p, o),
    getComponentTemplate: (p: IndexGetTemplateRequest = {}, o?: RequestOptions) => this.request('index.get_component_template', p, o),
    deleteComponentTemplate: (p: IndexTemplateNameRequest, o?: RequestOptions) => this.request('index.delete_component_template', p, o),
    /** What an index of this name would be created with now (its matching template, composed). */
    simulateIndex: (p: IndexSimulateIndexRequest, o?: RequestOptions) => this.request('index.simulate_index', p, o),
    /** The indices' mappings. */
    getMapping: (p: IndexGetMappingRequest = {}, o?: RequestOptions) => this.request('index.get_mapping', p, o),
    /** Per-copy doc counts, checkpoints and replication group. */
    shardStats: (p: ShardStatsRequest = {}, o?: RequestOptions) => this.request('shard.stats', p, o),
  };

  readonly cluster = {
    health: (p: ClusterHealthRequest = {}, o?: RequestOptions): Promise<ClusterHealthResponse> => this.request('cluster.health', p, o),
    state: (o?: RequestOptions) => this.request('cluster.state', {}, o),
    /** Allocation awareness and filters, e.g. `{ persistent: { 'cluster.routing.allocation.exclude._name': 'n2' } }` drains n2. */
    putSettings: (p: ClusterPutSettingsRequest, o?: RequestOptions) => this.request('cluster.put_settings', p, o),
    getSettings: (o?: RequestOptions) => this.request('cluster.get_settings', {}, o),
    /** Why a shard copy is (or is not) allocated where it is; with no target, the first unassigned copy. */
    allocationExplain: (p: ClusterAllocationExplainRequest = {}, o?: RequestOptions) => this.request('cluster.allocation_explain', p, o),
  };

  readonly cat = {
    nodes: (o?: RequestOptions): Promise<CatNode[]> => this.request('cat.nodes', {}, o),
    indices: (o?: RequestOptions): Promise<CatIndex[]> => this.request('cat.indices', {}, o),
    shards: (o?: RequestOptions): Promise<CatShard[]> => this.request('cat.shards', {}, o),
    aliases: (o?: RequestOptions): Promise<CatAlias[]> => this.request('cat.aliases', {}, o),
  };

  readonly helpers = {
    /** Index many documents in batches (by count and bytes), a few batches in flight, with progress. */
    bulk: <T extends Document>(opts: BulkHelperOptions<T>): Promise<BulkHelperResult> => bulkHelper(this, opts),
  };
}

function toClientError(err: unknown, op: string, budget: number): ShoalApiError {
  if (err instanceof ShoalApiError) return err;
  if (err instanceof natsErrors.TimeoutError || (err instanceof natsErrors.RequestError && err.cause instanceof natsErrors.TimeoutError)) {
    return new ShoalApiError('timeout', `no reply within ${budget} ms (the request may have been applied)`, 504, op, { cause: err });
  }
  if (err instanceof natsErrors.NoRespondersError || (err instanceof natsErrors.RequestError && err.isNoResponders())) {
    return new ShoalApiError('no_responders', `no Shoal node serves ${op} (nothing was sent to a node)`, 503, op, { cause: err });
  }
  if (err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
    return new ShoalApiError('connection_closed', 'the NATS connection is closed', 503, op, { cause: err });
  }
  const e = err as Error;
  return new ShoalApiError('transport_exception', e?.message ?? String(err), 503, op, { cause: err });
}
