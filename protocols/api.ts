/**
 * Client API protocol v1: the public NATS request/reply API (docs/PROTOCOL.md).
 *
 * Request   `shoal.<cluster>.api.<op>` (e.g. `shoal.c1.api.doc.index`), body = the op's fields as a
 *           JSON object (header `Content-Type: application/json`, or a body starting with `{`) or
 *           a msgpack map (anything else). An empty body is `{}`.
 * Reply     the op's response in the request's encoding, or an error in Elasticsearch's shape
 *           `{error: {type, reason}, status}` with the `Nats-Service-Error-Code` header set.
 *
 * This file is the contract: the op list, the typed request and response of every op, and the
 * validator the server runs before anything reaches the coordinator. Validation is shallow where
 * the payload belongs to the user (documents, query DSL: the engine checks those) and strict
 * everywhere else: unknown fields, wrong types, missing required fields and out-of-range values
 * are rejected with a structured error, so nothing malformed reaches the data.
 */
import type { ClusterState } from '../src/cluster/cluster-state.ts';
import { ApiError } from '../src/data/errors.ts';

export const API_VERSION = 1;
/** The service version in `$SRV` INFO (semver of the API version). */
export const API_SERVICE_VERSION = '1.0.0';
export const DEFAULT_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** Elasticsearch's index.max_result_window. */
export const MAX_RESULT_WINDOW = 10_000;
/** Searches one msearch request may hold (each runs on every shard it names). */
export const MAX_MSEARCH = 100;
export const MAX_ID_BYTES = 512;
export const MAX_TIMEOUT_MS = 600_000;
/** Nesting limit of any request body (documents included). */
export const MAX_DEPTH = 100;

export const apiSubject = (cluster: string, op: string) => `shoal.${cluster}.api.${op}`;
export const apiSubjectPrefix = (cluster: string) => `shoal.${cluster}.api.`;

// ---- errors ---------------------------------------------------------------------------------------

/** The error body on the wire, as Elasticsearch answers. */
export interface ApiErrorReply {
  /** Some errors carry more fields beside type and reason (a script error's `script_stack`, `position`, `caused_by`…). */
  error: { type: string; reason: string; [field: string]: unknown };
  status: number;
}


export function isApiErrorReply(v: unknown): v is ApiErrorReply {
  if (typeof v !== 'object' || v === null) return false;
  const e = (v as { error?: unknown }).error as { type?: unknown; reason?: unknown } | undefined;
  return typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.reason === 'string' && typeof (v as { status?: unknown }).status === 'number';
}

// ---- request types --------------------------------------------------------------------------------

export type Refresh = boolean | 'true' | 'false' | 'wait_for';
export type ActiveShards = number | 'all';
/** One name, a comma list, wildcards (`logs-*`), `_all`, or a list of those. */
export type IndexExpr = string | string[];
export type Document = Record<string, unknown>;

export interface WriteParams {
  refresh?: Refresh;
  timeout_ms?: number;
  wait_for_active_shards?: ActiveShards;
}
export interface Conditions {
  if_seq_no?: number;
  if_primary_term?: number;
}

export interface IndexCreateRequest {
  index: string;
  settings?: Record<string, unknown>;
  mappings?: Record<string, unknown>;
  wait_for_active_shards?: ActiveShards;
  timeout_ms?: number;
}
export interface IndexNameRequest {
  index: string;
}
/** Open a point in time on one copy of every shard of the indices. */
export interface PitOpenRequest {
  index: IndexExpr;
  /** How long the point in time may go without a search: a time value such as "5m". */
  keep_alive: string;
}
export interface PitCloseRequest {
  id: string;
}
/** Alias adds and removes, applied together (an atomic swap). */
export interface IndexUpdateAliasesRequest {
  actions: ({ add: { index: string; alias: string; is_write_index?: boolean } } | { remove: { index: string; alias: string } })[];
}
/** Elasticsearch's `_explain`: how one document scores for a query. */
export interface DocExplainRequest {
  index: string;
  id: string;
  routing?: string;
  body: { query: Record<string, unknown> };
}
export interface DocExplainResponse {
  _index: string;
  _id: string;
  matched: boolean;
  explanation: { value: number; description: string; details: unknown[] };
}
/** Elasticsearch's `_validate/query`: would this query run on these indices? */
export interface IndexValidateQueryRequest {
  index?: IndexExpr;
  body?: { query?: Record<string, unknown> };
  explain?: boolean;
}
export interface IndexValidateQueryResponse {
  valid: boolean;
  _shards: ShardsInfo;
  explanations?: { index: string; valid: boolean; error?: string }[];
}
/** Elasticsearch's `_analyze`: the tokens of a text, by a named analyzer, a field's, or a chain built for the request. */
export interface IndexAnalyzeRequest {
  index?: string;
  body: {
    text: string | string[];
    analyzer?: string;
    field?: string;
    tokenizer?: string | Record<string, unknown>;
    filter?: (string | Record<string, unknown>)[];
    char_filter?: (string | Record<string, unknown>)[];
  };
}
/** `{tokens}`; with `explain`, `{detail}`: each stage's output (see src/engine/analyze.ts). */
export type IndexAnalyzeResponse = import('../src/engine/analyze.ts').AnalyzeResponse;
/** An index template (Elasticsearch's composable `_index_template`): what new indices matching its patterns get. */
export interface IndexPutTemplateRequest {
  name: string;
  body: {
    index_patterns: string | string[];
    priority?: number;
    /** Component templates applied first, in this order. */
    composed_of?: string[];
    template?: { settings?: Record<string, unknown>; mappings?: Record<string, unknown>; aliases?: Record<string, { is_write_index?: boolean }> };
    version?: number;
    _meta?: Record<string, unknown>;
  };
}
export interface IndexTemplateNameRequest {
  name: string;
}
export interface IndexGetTemplateRequest {
  name?: string;
}
export interface IndexGetTemplateResponse {
  index_templates: { name: string; index_template: import('../src/cluster/templates.ts').IndexTemplate }[];
}
/** A component template (Elasticsearch's `_component_template`): settings, mappings and aliases index templates compose. */
export interface IndexPutComponentTemplateRequest {
  name: string;
  body: {
    template: { settings?: Record<string, unknown>; mappings?: Record<string, unknown>; aliases?: Record<string, { is_write_index?: boolean }> };
    version?: number;
    _meta?: Record<string, unknown>;
  };
}
export interface IndexGetComponentTemplateResponse {
  component_templates: { name: string; component_template: import('../src/cluster/component-templates.ts').ComponentTemplate }[];
}
export interface IndexSimulateIndexRequest {
  /** The name of the index that would be created. */
  name: string;
}
/** What an index of that name would get now; empty when no template matches it. */
export interface IndexSimulateIndexResponse {
  template?: { settings: { index: Record<string, unknown> }; mappings: Record<string, unknown>; aliases: Record<string, { is_write_index?: boolean }> };
  overlapping?: { name: string; index_patterns: string[] }[];
}
/**
 * The settings that may change on live indices (Elasticsearch's update-index-settings):
 * `number_of_replicas`, `refresh_interval`, `unassigned.node_left.delayed_timeout`,
 * `blocks.write`, `blocks.read_only`; flat (`index.refresh_interval`) or nested; null resets.
 */
export interface IndexPutSettingsRequest {
  index: IndexExpr;
  body: Record<string, unknown>;
}
export interface IndexGetSettingsRequest {
  index?: IndexExpr;
}
export type IndexGetSettingsResponse = Record<string, { settings: { index: Record<string, unknown> } }>;
/** New fields for the indices (and `dynamic`): Elasticsearch's put-mapping. */
export interface IndexPutMappingRequest {
  index: IndexExpr;
  body: { dynamic?: boolean | 'strict'; properties?: Record<string, unknown> };
}
export interface IndexGetMappingRequest {
  index?: IndexExpr;
}
export type IndexGetMappingResponse = Record<string, { mappings: { dynamic: boolean | 'strict'; properties: Record<string, unknown> } }>;
export interface CatAlias {
  alias: string;
  index: string;
  /** Where writes through the alias go (its only index, or its write index). */
  is_write_index: boolean;
}
export interface IndexSetReplicasRequest {
  index: string;
  number_of_replicas: number;
}
export interface IndexRefreshRequest {
  index?: IndexExpr;
}
export interface IndexForceMergeRequest {
  index?: IndexExpr;
  /** Merge down to this many segments per copy (1 when neither this nor only_expunge_deletes is given). */
  max_num_segments?: number;
  /** Merge only the segments holding deleted docs. */
  only_expunge_deletes?: boolean;
  /** Flush after merging (default true). */
  flush?: boolean;
}
interface IndexStatsBlock {
  docs: { count: number; deleted: number };
  store: { size_in_bytes: number };
  segments: { count: number };
}
export interface IndexStatsResponse {
  _shards: ShardsInfo;
  _all: { primaries: IndexStatsBlock; total: IndexStatsBlock };
  indices: Record<string, { uuid: string; primaries: IndexStatsBlock; total: IndexStatsBlock }>;
}
export type IndexGetResponse = Record<string, { aliases: Record<string, { is_write_index?: boolean }>; mappings: Record<string, unknown>; settings: { index: Record<string, unknown> } }>;
export interface IndexExistsRequest {
  index: IndexExpr;
}
export interface FieldCapsRequest {
  index?: IndexExpr;
  /** Field names or patterns (`*`, `user.*`); a list or comma-separated. */
  fields: string | string[];
}
export interface FieldCapsResponse {
  indices: string[];
  fields: Record<string, Record<string, import('../src/data/index-info.ts').FieldCapability>>;
}
export interface DocIndexRequest extends WriteParams, Conditions {
  index: string;
  id?: string;
  document: Document;
  routing?: string;
  op_type?: 'index' | 'create';
}
export interface DocCreateRequest extends WriteParams {
  index: string;
  id?: string;
  document: Document;
  routing?: string;
}
export interface DocGetRequest {
  index: string;
  id: string;
  routing?: string;
}
export interface DocDeleteRequest extends WriteParams, Conditions {
  index: string;
  id: string;
  routing?: string;
}
/** Delete every document a query matches (Elasticsearch's _delete_by_query). */
export interface DocDeleteByQueryRequest {
  index: IndexExpr;
  body?: { query?: Record<string, unknown>; max_docs?: number };
  /** abort (default): stop at the first version conflict; proceed: count it and go on. */
  conflicts?: 'abort' | 'proceed';
  timeout_ms?: number;
}
/**
 * Index every document a query matches again (Elasticsearch's _update_by_query): as it is (so
 * documents written before a put-mapping pick up its new fields), or as its `script` changes it
 * (`ctx._source`; `ctx.op` `noop` or `delete`), each on the condition that it has not changed.
 */
export interface DocUpdateByQueryRequest {
  index: IndexExpr;
  body?: { query?: Record<string, unknown>; max_docs?: number; script?: ScriptSpec };
  /** abort (default): stop at the first version conflict; proceed: count it and go on. */
  conflicts?: 'abort' | 'proceed';
  refresh?: boolean | 'wait_for';
  timeout_ms?: number;
}
/** What update_by_query answers: reindex's answer without `created`. */
export type UpdateByQueryResponse = Omit<ReindexResponse, 'created'>;
/** Copy documents from source indices into a destination (Elasticsearch's _reindex). */
export interface ReindexRequest {
  /** `script`: run on each source document (`ctx._source`, `ctx._id`, `ctx._index`, `ctx._routing`, `ctx.op`). */
  body: { source: { index: IndexExpr; query?: Record<string, unknown> }; dest: { index: string; op_type?: 'index' | 'create' }; max_docs?: number; script?: ScriptSpec };
  conflicts?: 'abort' | 'proceed';
  refresh?: boolean | 'wait_for';
  timeout_ms?: number;
}
export interface ReindexResponse {
  took: number;
  timed_out: boolean;
  total: number;
  created: number;
  updated: number;
  deleted: number;
  batches: number;
  version_conflicts: number;
  noops: number;
  failures: { index: string; id?: string; status: number; cause: { type: string; reason: string } }[];
}
export interface DeleteByQueryResponse {
  took: number;
  timed_out: boolean;
  total: number;
  deleted: number;
  batches: number;
  version_conflicts: number;
  noops: number;
  failures: { index: string; id?: string; shard?: number; status: number; cause: { type: string; reason: string } }[];
}
export interface DocUpdateRequest extends WriteParams, Conditions {
  index: string;
  id: string;
  /**
   * `doc` (merged into the source) or `script` (run on the primary: `ctx._source`, `ctx.op`; see
   * docs/ENGINE.md, Scripts), not both; `upsert`: indexed when the document is missing (with
   * `scripted_upsert`, the script runs on it instead); `doc_as_upsert`: `doc` is the upsert.
   */
  body: { doc?: Document; upsert?: Document; doc_as_upsert?: boolean; script?: ScriptSpec; scripted_upsert?: boolean };
  routing?: string;
}
/** A script: a Painless-subset source string, or `{source, params, lang}` (docs/ENGINE.md, Scripts). */
export type ScriptSpec = string | { source: string; params?: Record<string, unknown>; lang?: 'painless' | 'expression'; options?: Record<string, unknown> };
export interface DocMgetRequest {
  index?: string;
  body: { ids: string[] } | { docs: { _index?: string; _id: string; routing?: string }[] };
}
/** Elasticsearch's bulk lines as objects: `{index: {_index, _id}}, {...source}, {delete: {_id}}, …`. */
export type BulkLine = Record<string, unknown>;
export interface DocBulkRequest extends WriteParams {
  index?: string;
  operations: BulkLine[];
}
export interface SearchBody {
  query?: Record<string, unknown>;
  from?: number;
  size?: number;
  sort?: unknown;
  search_after?: unknown[];
  track_total_hits?: boolean | number;
  _source?: boolean | string | string[] | Record<string, unknown>;
  aggs?: Record<string, unknown>;
  aggregations?: Record<string, unknown>;
  highlight?: Record<string, unknown>;
  /** Search a point in time (then the request names no index). */
  pit?: { id: string; keep_alive?: string };
  [key: string]: unknown;
}
export interface SearchRequest {
  index?: IndexExpr;
  body?: SearchBody;
  timeout_ms?: number;
}
/** A search template (Elasticsearch's _search/template): a Mustache `source` (or a stored template's `id`) rendered with `params` into a search body. */
export interface SearchTemplateRequest {
  index?: IndexExpr;
  body: { id?: string; source?: string | Record<string, unknown>; params?: Record<string, unknown>; explain?: boolean };
  timeout_ms?: number;
}
export interface RenderTemplateRequest {
  body: { id?: string; source?: string | Record<string, unknown>; params?: Record<string, unknown> };
}
/** A stored script (Elasticsearch's _scripts/<id>): Painless, or a Mustache search template. */
export interface ScriptPutRequest {
  id: string;
  body: { script: { lang: 'painless' | 'mustache'; source: string | Record<string, unknown> } };
}
export interface ScriptIdRequest {
  id: string;
}
export type ScriptGetResponse = { _id: string; found: true; script: import('../src/cluster/stored-scripts.ts').StoredScript } | { _id: string; found: false };
/** Many searches in one request (Elasticsearch's _msearch): each its own index expression and body. */
export interface MsearchRequest {
  searches: { index?: IndexExpr; body?: SearchBody }[];
  timeout_ms?: number;
}
export interface CountRequest {
  index?: IndexExpr;
  body?: { query?: Record<string, unknown> };
}
export interface ClusterHealthRequest {
  index?: IndexExpr;
  wait_for_status?: 'green' | 'yellow' | 'red';
  timeout_ms?: number;
}
export type EmptyRequest = Record<string, never>;
/** Cluster settings, as flat names (`cluster.routing.allocation.exclude._name`) or nested objects; null removes one. */
export interface ClusterPutSettingsRequest {
  persistent?: Record<string, unknown>;
  transient?: Record<string, never>;
}
export interface ClusterSettingsResponse {
  persistent: Record<string, string>;
  transient: Record<string, never>;
}
export interface ClusterPutSettingsResponse {
  acknowledged: boolean;
  /** The settings the request named, as they are now (null: removed). */
  persistent: Record<string, string | null>;
  transient: Record<string, never>;
}
/** A shard copy to explain; none given: the first unassigned one. */
export interface ClusterAllocationExplainRequest {
  index?: string;
  shard?: number;
  primary?: boolean;
  current_node?: string;
}
export type { AllocationExplanation } from '../src/cluster/allocation-explain.ts';
export interface ShardStatsRequest {
  index?: IndexExpr;
}

// ---- response types -------------------------------------------------------------------------------

export interface Acknowledged {
  acknowledged: boolean;
}
export interface IndexCreateResponse extends Acknowledged {
  shards_acknowledged: boolean;
  index: string;
}
export interface ShardsInfo {
  total: number;
  successful: number;
  failed: number;
  skipped?: number;
  failures?: { index: string; shard: number; node?: string; reason: { type: string; reason: string } }[];
}
export interface WriteResponse {
  _index: string;
  _id: string;
  _version: number;
  result: 'created' | 'updated' | 'deleted' | 'not_found' | 'noop';
  _seq_no: number;
  _primary_term: number;
  _shards: ShardsInfo;
  [key: string]: unknown;
}
export interface GetResponse<T = Document> {
  _index: string;
  _id: string;
  found: boolean;
  _version?: number;
  _seq_no?: number;
  _primary_term?: number;
  _source?: T;
}
export interface MgetResponse<T = Document> {
  docs: (GetResponse<T> | { _index: unknown; _id: unknown; error: { type: string; reason: string } })[];
}
export interface BulkItemResult {
  _index: string;
  _id: string;
  status: number;
  result?: string;
  _version?: number;
  _seq_no?: number;
  _primary_term?: number;
  error?: { type: string; reason: string };
}
export interface BulkResponse {
  took: number;
  errors: boolean;
  items: Partial<Record<'index' | 'create' | 'update' | 'delete', BulkItemResult>>[];
}
export interface SearchHitResponse<T = Document> {
  _index: string;
  _id: string;
  _score: number | null;
  _source?: T;
  sort?: unknown[];
  highlight?: Record<string, string[]>;
  matched_queries?: string[];
  /** With `collapse`: the hit's collapse value; with `script_fields`: their values. */
  fields?: Record<string, unknown[]>;
  /** With `explain: true`: { value, description, details } all the way down. */
  _explanation?: { value: number; description: string; details: unknown[] };
  /**
   * Per inner hits name: a `nested` query's `inner_hits` (the hit's matching nested objects), or a
   * `collapse.inner_hits` definition's (the hits of the collapsed hit's group, found by a search of their own).
   */
  inner_hits?: Record<string, { hits: { total: { value: number; relation: 'eq' | 'gte' }; max_score: number | null; hits: (NestedHitResponse | CollapsedGroupHitResponse<T>)[] } }>;
}
/** One doc of a collapsed hit's group (`collapse.inner_hits`): a search hit of the group search. */
export type CollapsedGroupHitResponse<T = Document> = Omit<SearchHitResponse<T>, 'inner_hits'>;
/** One nested object of an inner hit: `_id` is its parent's, `_nested` where it sits in the parent. */
export interface NestedHitResponse {
  _index: string;
  _id: string;
  _nested: NestedIdentity;
  _score: number;
  _source?: Record<string, unknown>;
}
/** Where a nested object sits: its field and index in the parent's array (and deeper, for nested in nested). */
export type NestedIdentity = import('../src/engine/nested.ts').NestedIdentity;
export interface SearchResponse<T = Document> {
  took: number;
  timed_out: boolean;
  _shards: ShardsInfo;
  hits: { total: { value: number; relation: 'eq' | 'gte' }; max_score: number | null; hits: SearchHitResponse<T>[] };
  aggregations?: Record<string, unknown>;
  /** By suggester name: term suggestions carry `freq`, phrase suggestions `highlighted` when asked, completions `_id` and `_source`. */
  suggest?: Record<string, { text: string; offset: number; length: number; options: { text: string; score: number; freq?: number; highlighted?: string; [k: string]: unknown }[] }[]>;
  /** The point in time searched, if any. */
  pit_id?: string;
}
/** One answer per search, in order: its response, or the error it failed with. */
export interface MsearchResponse<T = Document> {
  took: number;
  responses: (SearchResponse<T> | { error: { type: string; reason: string }; status: number })[];
}
export interface CountResponse {
  count: number;
  _shards: ShardsInfo;
}
export type HealthStatus = 'green' | 'yellow' | 'red';
export interface ClusterHealthResponse {
  cluster_name: string;
  status: HealthStatus;
  timed_out: boolean;
  number_of_nodes: number;
  number_of_data_nodes: number;
  active_primary_shards: number;
  active_shards: number;
  relocating_shards: number;
  initializing_shards: number;
  unassigned_shards: number;
  master_node: string | null;
  cluster_state_version: number;
  indices: Record<string, { status: HealthStatus; number_of_shards: number; number_of_replicas: number }>;
}
export interface CatNode {
  id: string;
  name: string;
  roles: string[];
  attributes: Record<string, string>;
  master: boolean;
  shards: number;
}
export interface CatIndex {
  index: string;
  uuid: string;
  status: 'open' | 'close';
  health: HealthStatus | 'closed';
  pri: number;
  rep: number;
}
export interface CatShard {
  index: string;
  shard: number;
  prirep: 'p' | 'r';
  state: 'INITIALIZING' | 'STARTED' | 'RELOCATING' | 'UNASSIGNED';
  node: string | null;
  allocation_id?: string;
  primary_term?: number;
  in_sync?: boolean;
}
export interface ShardStat {
  index: string;
  shard: number;
  node: string;
  primary: boolean;
  error?: string;
  [key: string]: unknown;
}

/** Every op: its request and its response. */
export interface ApiOps {
  'index.create': { request: IndexCreateRequest; response: IndexCreateResponse };
  'index.delete': { request: IndexNameRequest; response: Acknowledged };
  'index.open': { request: IndexNameRequest; response: Acknowledged };
  'index.close': { request: IndexNameRequest; response: Acknowledged };
  'index.refresh': { request: IndexRefreshRequest; response: { _shards: ShardsInfo } };
  'index.flush': { request: IndexRefreshRequest; response: { _shards: ShardsInfo } };
  'index.forcemerge': { request: IndexForceMergeRequest; response: { _shards: ShardsInfo } };
  'index.stats': { request: IndexRefreshRequest; response: IndexStatsResponse };
  'index.get': { request: IndexRefreshRequest; response: IndexGetResponse };
  'index.exists': { request: IndexExistsRequest; response: { exists: boolean } };
  field_caps: { request: FieldCapsRequest; response: FieldCapsResponse };
  'index.set_replicas': { request: IndexSetReplicasRequest; response: Acknowledged };
  'index.update_aliases': { request: IndexUpdateAliasesRequest; response: Acknowledged };
  'index.put_mapping': { request: IndexPutMappingRequest; response: Acknowledged };
  'index.get_mapping': { request: IndexGetMappingRequest; response: IndexGetMappingResponse };
  'index.analyze': { request: IndexAnalyzeRequest; response: IndexAnalyzeResponse };
  'index.validate_query': { request: IndexValidateQueryRequest; response: IndexValidateQueryResponse };
  'doc.explain': { request: DocExplainRequest; response: DocExplainResponse };
  'index.put_settings': { request: IndexPutSettingsRequest; response: Acknowledged };
  'index.get_settings': { request: IndexGetSettingsRequest; response: IndexGetSettingsResponse };
  'index.put_template': { request: IndexPutTemplateRequest; response: Acknowledged };
  'index.get_template': { request: IndexGetTemplateRequest; response: IndexGetTemplateResponse };
  'index.delete_template': { request: IndexTemplateNameRequest; response: Acknowledged };
  'index.put_component_template': { request: IndexPutComponentTemplateRequest; response: Acknowledged };
  'index.get_component_template': { request: IndexGetTemplateRequest; response: IndexGetComponentTemplateResponse };
  'index.delete_component_template': { request: IndexTemplateNameRequest; response: Acknowledged };
  'index.simulate_index': { request: IndexSimulateIndexRequest; response: IndexSimulateIndexResponse };
  'doc.index': { request: DocIndexRequest; response: WriteResponse };
  'doc.create': { request: DocCreateRequest; response: WriteResponse };
  'doc.get': { request: DocGetRequest; response: GetResponse };
  'doc.delete': { request: DocDeleteRequest; response: WriteResponse };
  'doc.update': { request: DocUpdateRequest; response: WriteResponse };
  'doc.mget': { request: DocMgetRequest; response: MgetResponse };
  'doc.bulk': { request: DocBulkRequest; response: BulkResponse };
  'doc.delete_by_query': { request: DocDeleteByQueryRequest; response: DeleteByQueryResponse };
  'doc.update_by_query': { request: DocUpdateByQueryRequest; response: UpdateByQueryResponse };
  reindex: { request: ReindexRequest; response: ReindexResponse };
  search: { request: SearchRequest; response: SearchResponse };
  search_template: { request: SearchTemplateRequest; response: SearchResponse };
  render_template: { request: RenderTemplateRequest; response: { template_output: Record<string, unknown> } };
  'script.put': { request: ScriptPutRequest; response: Acknowledged };
  'script.get': { request: ScriptIdRequest; response: ScriptGetResponse };
  'script.delete': { request: ScriptIdRequest; response: Acknowledged };
  msearch: { request: MsearchRequest; response: MsearchResponse };
  'pit.open': { request: PitOpenRequest; response: { id: string } };
  'pit.close': { request: PitCloseRequest; response: { succeeded: boolean; num_freed: number } };
  count: { request: CountRequest; response: CountResponse };
  'cluster.health': { request: ClusterHealthRequest; response: ClusterHealthResponse };
  'cluster.state': { request: EmptyRequest; response: ClusterState };
  'cluster.put_settings': { request: ClusterPutSettingsRequest; response: ClusterPutSettingsResponse };
  'cluster.get_settings': { request: EmptyRequest; response: ClusterSettingsResponse };
  'cluster.allocation_explain': { request: ClusterAllocationExplainRequest; response: import('../src/cluster/allocation-explain.ts').AllocationExplanation };
  'cat.nodes': { request: EmptyRequest; response: CatNode[] };
  'cat.indices': { request: EmptyRequest; response: CatIndex[] };
  'cat.shards': { request: EmptyRequest; response: CatShard[] };
  'cat.aliases': { request: EmptyRequest; response: CatAlias[] };
  'shard.stats': { request: ShardStatsRequest; response: ShardStat[] };
}
export type ApiOp = keyof ApiOps;
export type ApiRequestOf<O extends ApiOp> = ApiOps[O]['request'];
export type ApiResponseOf<O extends ApiOp> = ApiOps[O]['response'];

// ---- field specs and the validator ----------------------------------------------------------------

type FieldType =
  | 'index' // one index name (string, 1..255 chars; the coordinator checks the characters)
  | 'indexExpr' // string or non-empty list of strings
  | 'id' // string, 1..512 bytes
  | 'string' // non-empty string up to 512 bytes
  | 'token' // an opaque id the server made (a point in time's): non-empty string up to 64 KiB
  | 'object' // a map (user payload: not looked into beyond the JSON-value check)
  | 'array'
  | 'boolean'
  | 'refresh'
  | 'seqNo' // integer >= 0
  | 'term' // integer >= 1
  | 'replicas' // integer 0..
  | 'timeout' // integer 0..MAX_TIMEOUT_MS
  | 'activeShards'
  | { enum: readonly string[] };

interface OpSpec {
  fields: Record<string, FieldType>;
  required: readonly string[];
  /** May this op be retried after a timeout (same outcome when applied twice)? See the client. */
  idempotent: boolean | ((req: Record<string, unknown>) => boolean);
  summary: string;
}

const WRITE: Record<string, FieldType> = { refresh: 'refresh', timeout_ms: 'timeout', wait_for_active_shards: 'activeShards' };
const COND: Record<string, FieldType> = { if_seq_no: 'seqNo', if_primary_term: 'term' };
const unconditional = (r: Record<string, unknown>) => r.if_seq_no === undefined && r.if_primary_term === undefined;

export const OP_SPECS: { readonly [O in ApiOp]: OpSpec } = {
  'index.create': {
    fields: { index: 'index', settings: 'object', mappings: 'object', wait_for_active_shards: 'activeShards', timeout_ms: 'timeout' },
    required: ['index'],
    idempotent: false,
    summary: 'create an index with settings and mappings',
  },
  'index.delete': { fields: { index: 'index' }, required: ['index'], idempotent: false, summary: 'delete an index and its data' },
  'index.open': { fields: { index: 'index' }, required: ['index'], idempotent: true, summary: 'open a closed index' },
  'index.close': { fields: { index: 'index' }, required: ['index'], idempotent: true, summary: 'close an index (no reads or writes)' },
  'index.refresh': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: 'make recent writes searchable' },
  'index.flush': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: 'write every copy\'s segments and a commit point, and trim its translog' },
  'index.forcemerge': { fields: { index: 'indexExpr', max_num_segments: 'term', only_expunge_deletes: 'boolean', flush: 'boolean' }, required: [], idempotent: true, summary: 'merge every copy\'s segments (down to max_num_segments, or only those with deleted docs), dropping deleted docs' },
  'index.stats': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: 'docs, deleted docs, segments and store bytes per index, primaries and all copies' },
  'index.get': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: 'aliases, mappings and settings of each index' },
  'index.exists': { fields: { index: 'indexExpr' }, required: ['index'], idempotent: true, summary: 'whether an index, alias or pattern names any index' },
  field_caps: { fields: { index: 'indexExpr', fields: 'indexExpr' }, required: ['fields'], idempotent: true, summary: 'the type of each field across indices, and whether it can be searched and aggregated' },
  'index.set_replicas': { fields: { index: 'index', number_of_replicas: 'replicas' }, required: ['index', 'number_of_replicas'], idempotent: true, summary: 'change the number of replicas' },
  'index.update_aliases': { fields: { actions: 'array' }, required: ['actions'], idempotent: true, summary: 'add and remove aliases in one atomic change' },
  'index.put_mapping': { fields: { index: 'indexExpr', body: 'object' }, required: ['index', 'body'], idempotent: true, summary: 'map new fields (or change dynamic) on existing indices' },
  'index.get_mapping': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: "the indices' mappings" },
  'doc.explain': { fields: { index: 'index', id: 'id', routing: 'string', body: 'object' }, required: ['index', 'id', 'body'], idempotent: true, summary: 'how one document scores for a query, or that it does not match' },
  'index.validate_query': { fields: { index: 'indexExpr', body: 'object', explain: 'boolean' }, required: [], idempotent: true, summary: 'whether a query would run on the indices (and, with explain, why not)' },
  'index.analyze': { fields: { index: 'string', body: 'object' }, required: ['body'], idempotent: true, summary: 'the tokens an analyzer makes of a text (a named one, a field\'s, or a chain)' },
  'index.put_settings': { fields: { index: 'indexExpr', body: 'object' }, required: ['index', 'body'], idempotent: true, summary: 'change the dynamic settings of live indices: replicas, refresh interval, delayed allocation, write blocks' },
  'index.get_settings': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: "the indices' settings" },
  'index.put_template': { fields: { name: 'string', body: 'object' }, required: ['name', 'body'], idempotent: true, summary: 'add or replace an index template: settings, mappings and aliases for new indices matching its patterns' },
  'index.get_template': { fields: { name: 'string' }, required: [], idempotent: true, summary: 'index templates by name (wildcards), or all' },
  'index.delete_template': { fields: { name: 'string' }, required: ['name'], idempotent: false, summary: 'delete an index template (indices made from it keep what they got)' },
  'index.put_component_template': { fields: { name: 'string', body: 'object' }, required: ['name', 'body'], idempotent: true, summary: 'add or replace a component template: settings, mappings and aliases that index templates compose (composed_of)' },
  'index.get_component_template': { fields: { name: 'string' }, required: [], idempotent: true, summary: 'component templates by name (wildcards), or all' },
  'index.delete_component_template': { fields: { name: 'string' }, required: ['name'], idempotent: false, summary: 'delete a component template no index template uses' },
  'index.simulate_index': { fields: { name: 'string' }, required: ['name'], idempotent: true, summary: 'the settings, mappings and aliases an index of this name would be created with now' },
  'doc.index': {
    fields: { index: 'index', id: 'id', document: 'object', routing: 'string', op_type: { enum: ['index', 'create'] }, ...COND, ...WRITE },
    required: ['index', 'document'],
    idempotent: (r) => r.id !== undefined && r.op_type !== 'create' && unconditional(r),
    summary: 'index (create or replace) a document',
  },
  'doc.create': {
    fields: { index: 'index', id: 'id', document: 'object', routing: 'string', ...WRITE },
    required: ['index', 'document'],
    idempotent: false,
    summary: 'create a document; 409 if the id exists',
  },
  'doc.get': { fields: { index: 'index', id: 'id', routing: 'string' }, required: ['index', 'id'], idempotent: true, summary: 'real-time get by id' },
  'doc.delete': {
    fields: { index: 'index', id: 'id', routing: 'string', ...COND, ...WRITE },
    required: ['index', 'id'],
    idempotent: unconditional,
    summary: 'delete a document by id',
  },
  'doc.update': {
    fields: { index: 'index', id: 'id', body: 'object', routing: 'string', ...COND, ...WRITE },
    required: ['index', 'id', 'body'],
    // A script may not be (a counter += 1 applied twice counts twice).
    idempotent: (r) => unconditional(r) && !hasScript(r.body),
    summary: 'partial update (merge doc) or scripted update (script, run on the primary), upsert, doc_as_upsert, scripted_upsert',
  },
  'doc.mget': { fields: { index: 'index', body: 'object' }, required: ['body'], idempotent: true, summary: 'get many documents' },
  'doc.bulk': {
    fields: { index: 'index', operations: 'array', ...WRITE },
    required: ['operations'],
    idempotent: (r) => bulkIsIdempotent(r.operations),
    summary: 'many index/create/update/delete actions in one request',
  },
  'doc.delete_by_query': {
    fields: { index: 'indexExpr', body: 'object', conflicts: { enum: ['abort', 'proceed'] }, timeout_ms: 'timeout' },
    required: ['index'],
    idempotent: false,
    summary: 'delete every document a query matches, each on the condition that it has not changed',
  },
  'doc.update_by_query': {
    fields: { index: 'indexExpr', body: 'object', conflicts: { enum: ['abort', 'proceed'] }, refresh: 'refresh', timeout_ms: 'timeout' },
    required: ['index'],
    idempotent: false,
    summary: 'index every document a query matches again, as it is or as a script changes it, each on the condition that it has not changed',
  },
  reindex: {
    fields: { body: 'object', conflicts: { enum: ['abort', 'proceed'] }, refresh: 'refresh', timeout_ms: 'timeout' },
    required: ['body'],
    idempotent: false,
    summary: 'copy documents from source indices into a destination, from a point in time, optionally changed by a script',
  },
  search: { fields: { index: 'indexExpr', body: 'object', timeout_ms: 'timeout' }, required: [], idempotent: true, summary: 'query then fetch over every shard' },
  search_template: { fields: { index: 'indexExpr', body: 'object', timeout_ms: 'timeout' }, required: ['body'], idempotent: true, summary: 'a Mustache search template (inline or stored) rendered with params, then searched' },
  render_template: { fields: { body: 'object' }, required: ['body'], idempotent: true, summary: 'what a search template renders to, without searching' },
  'script.put': { fields: { id: 'string', body: 'object' }, required: ['id', 'body'], idempotent: true, summary: 'store a Painless script or a Mustache search template under an id' },
  'script.get': { fields: { id: 'string' }, required: ['id'], idempotent: true, summary: 'a stored script by id' },
  'script.delete': { fields: { id: 'string' }, required: ['id'], idempotent: false, summary: 'delete a stored script' },
  msearch: { fields: { searches: 'array', timeout_ms: 'timeout' }, required: ['searches'], idempotent: true, summary: 'many searches in one request, each answered or failed on its own' },
  'pit.open': { fields: { index: 'indexExpr', keep_alive: 'string' }, required: ['index', 'keep_alive'], idempotent: false, summary: 'open a point in time: searches that name it see the indices as they are now' },
  'pit.close': { fields: { id: 'token' }, required: ['id'], idempotent: true, summary: 'close a point in time, freeing its readers' },
  count: { fields: { index: 'indexExpr', body: 'object' }, required: [], idempotent: true, summary: 'count matching documents' },
  'cluster.health': {
    fields: { index: 'indexExpr', wait_for_status: { enum: ['green', 'yellow', 'red'] }, timeout_ms: 'timeout' },
    required: [],
    idempotent: true,
    summary: 'cluster or index health, optionally waiting for a status',
  },
  'cluster.state': { fields: {}, required: [], idempotent: true, summary: "this node's copy of the cluster state" },
  'cluster.put_settings': { fields: { persistent: 'object', transient: 'object' }, required: [], idempotent: true, summary: 'set allocation awareness and filters (drain a node before retiring it)' },
  'cluster.get_settings': { fields: {}, required: [], idempotent: true, summary: 'the cluster settings that are set' },
  'cluster.allocation_explain': {
    fields: { index: 'string', shard: 'seqNo', primary: 'boolean', current_node: 'string' },
    required: [],
    idempotent: true,
    summary: 'why a shard copy is, or is not, allocated where it is, node by node',
  },
  'cat.nodes': { fields: {}, required: [], idempotent: true, summary: 'the nodes, their roles and shard counts' },
  'cat.indices': { fields: {}, required: [], idempotent: true, summary: 'the indices, health, shards and replicas' },
  'cat.shards': { fields: {}, required: [], idempotent: true, summary: 'every shard copy and where it is' },
  'cat.aliases': { fields: {}, required: [], idempotent: true, summary: 'every alias and the indices it stands for' },
  'shard.stats': { fields: { index: 'indexExpr' }, required: [], idempotent: true, summary: 'per-copy doc counts and checkpoints' },
};

export const API_OPS = Object.keys(OP_SPECS) as ApiOp[];

export function isApiOp(op: unknown): op is ApiOp {
  return typeof op === 'string' && Object.prototype.hasOwnProperty.call(OP_SPECS, op);
}

/** May `op` with these fields be sent twice with the same outcome (for retries after a timeout)? */
export function isIdempotent(op: ApiOp, request: Record<string, unknown>): boolean {
  const i = OP_SPECS[op].idempotent;
  return typeof i === 'function' ? i(request) : i;
}

const hasScript = (body: unknown) => isPlainObject(body) && body.script !== undefined;

/** A bulk is idempotent when every action is: index with an explicit _id, delete, update without a script; no conditions. */
function bulkIsIdempotent(operations: unknown): boolean {
  if (!Array.isArray(operations)) return false;
  for (let i = 0; i < operations.length; i++) {
    const line = operations[i] as Record<string, unknown>;
    const action = line && typeof line === 'object' ? Object.keys(line)[0] : undefined;
    const header = (action ? line[action] : undefined) as Record<string, unknown> | undefined;
    if (!header || typeof header !== 'object') return false;
    if (header.if_seq_no !== undefined || header.if_primary_term !== undefined) return false;
    if (action === 'create') return false;
    if (action === 'index' && header._id === undefined) return false;
    if (action === 'update' && hasScript(operations[i + 1])) return false;
    if (action !== 'delete') i++;
  }
  return true;
}

const UPDATE_BODY_KEYS = ['doc', 'upsert', 'doc_as_upsert', 'script', 'scripted_upsert'];
const invalid = (reason: string) => new ApiError('illegal_argument_exception', reason, 400);
const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

function checkField(op: string, name: string, type: FieldType, v: unknown): void {
  const where = `[${name}] in a [${op}] request`;
  const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
  if (typeof type === 'object') {
    if (typeof v !== 'string' || !type.enum.includes(v)) throw invalid(`${where} must be one of ${type.enum.join(', ')}`);
    return;
  }
  switch (type) {
    case 'index':
      if (typeof v !== 'string' || v.length === 0 || utf8Length(v) > 255) throw invalid(`${where} must be an index name (a string of 1 to 255 bytes)`);
      return;
    case 'indexExpr': {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0 || list.length > 1_000 || list.some((x) => typeof x !== 'string' || x.length === 0 || utf8Length(x) > 4_096)) {
        throw invalid(`${where} must be an index name, a comma list or wildcard, or a non-empty list of those`);
      }
      return;
    }
    case 'id':
      if (typeof v !== 'string' || v.length === 0 || utf8Length(v) > MAX_ID_BYTES) throw invalid(`${where} must be a string of 1 to ${MAX_ID_BYTES} bytes`);
      return;
    case 'string':
      if (typeof v !== 'string' || v.length === 0 || utf8Length(v) > 512) throw invalid(`${where} must be a string of 1 to 512 bytes`);
      return;
    case 'token':
      if (typeof v !== 'string' || v.length === 0 || utf8Length(v) > 65_536) throw invalid(`${where} must be a string of 1 to 65536 bytes`);
      return;
    case 'object':
      if (!isPlainObject(v)) throw invalid(`${where} must be an object`);
      return;
    case 'array':
      if (!Array.isArray(v)) throw invalid(`${where} must be an array`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') throw invalid(`${where} must be a boolean`);
      return;
    case 'refresh':
      if (!(typeof v === 'boolean' || v === 'true' || v === 'false' || v === 'wait_for')) throw invalid(`${where} must be true, false or "wait_for"`);
      return;
    case 'seqNo':
      if (!isInt(v) || v < 0) throw invalid(`${where} must be a non-negative integer`);
      return;
    case 'term':
      if (!isInt(v) || v < 1) throw invalid(`${where} must be a positive integer`);
      return;
    case 'replicas':
      if (!isInt(v) || v < 0 || v > 64) throw invalid(`${where} must be an integer from 0 to 64`);
      return;
    case 'timeout':
      if (!isInt(v) || v < 0 || v > MAX_TIMEOUT_MS) throw invalid(`${where} must be an integer number of milliseconds from 0 to ${MAX_TIMEOUT_MS}`);
      return;
    case 'activeShards':
      if (!(v === 'all' || (isInt(v) && v >= 0 && v <= 65))) throw invalid(`${where} must be "all" or an integer from 0 to 65`);
      return;
  }
}

/**
 * Check a decoded request body for `op`. Throws an ApiError (400) for a missing required
 * field, an unknown field, a wrong type or an out-of-range value. `op` in the body is accepted
 * only when it names the same op as the subject.
 */
export function validateApiRequest<O extends ApiOp>(op: O, body: unknown): ApiRequestOf<O> {
  if (!isPlainObject(body)) throw new ApiError('parse_exception', `a [${op}] request must be an object`, 400);
  const spec = OP_SPECS[op];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === 'op') {
      if (v !== op) throw invalid(`[op] is [${String(v)}] but the subject names [${op}]`);
      continue;
    }
    const type = Object.hasOwn(spec.fields, k) ? spec.fields[k] : undefined;
    if (type === undefined) {
      const known = Object.keys(spec.fields);
      throw invalid(`unknown field [${k}] in a [${op}] request${known.length ? `; known fields: ${known.join(', ')}` : ' (it takes no fields)'}`);
    }
    if (v === undefined || v === null) continue; // absent
    checkField(op, k, type, v);
    out[k] = v;
  }
  const missing = spec.required.filter((k) => out[k] === undefined);
  if (missing.length > 0) {
    throw new ApiError('action_request_validation_exception', `Validation Failed: ${missing.map((k, i) => `${i + 1}: [${k}] is missing;`).join(' ')}`, 400);
  }
  checkOpSpecific(op, out);
  return out as ApiRequestOf<O>;
}

function checkOpSpecific(op: ApiOp, r: Record<string, unknown>): void {
  if (op === 'search' && r.body !== undefined) {
    const b = r.body as Record<string, unknown>;
    const from = b.from ?? 0;
    const size = b.size ?? 10;
    if (typeof from === 'number' && typeof size === 'number' && from + size > MAX_RESULT_WINDOW) {
      throw invalid(`Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was [${from + size}]`);
    }
  }
  if (op === 'doc.update') {
    const b = r.body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!UPDATE_BODY_KEYS.includes(k)) throw invalid(`unknown field [body.${k}] in a [doc.update] request; known: ${UPDATE_BODY_KEYS.join(', ')}`);
    if (b.doc !== undefined && !isPlainObject(b.doc)) throw invalid('[body.doc] in a [doc.update] request must be an object');
    if (b.upsert !== undefined && !isPlainObject(b.upsert)) throw invalid('[body.upsert] in a [doc.update] request must be an object');
    if (b.doc_as_upsert !== undefined && typeof b.doc_as_upsert !== 'boolean') throw invalid('[body.doc_as_upsert] in a [doc.update] request must be a boolean');
    if (b.scripted_upsert !== undefined && typeof b.scripted_upsert !== 'boolean') throw invalid('[body.scripted_upsert] in a [doc.update] request must be a boolean');
    if (b.script !== undefined && typeof b.script !== 'string' && !isPlainObject(b.script)) throw invalid('[body.script] in a [doc.update] request must be a string or an object');
  }
  if (op === 'msearch') {
    const searches = r.searches as unknown[];
    if (searches.length === 0) throw invalid('an [msearch] request needs at least one search in [searches]');
    if (searches.length > MAX_MSEARCH) throw invalid(`an [msearch] request holds at most ${MAX_MSEARCH} searches`);
    searches.forEach((s, i) => {
      if (!isPlainObject(s)) throw invalid(`[searches][${i}] must be an object: {index, body}`);
      for (const [k, v] of Object.entries(s)) {
        if (k !== 'index' && k !== 'body') throw invalid(`unknown field [searches][${i}].${k} in an [msearch] request; known: index, body`);
        if (v !== undefined && v !== null) checkField(op, `searches[${i}].${k}`, k === 'index' ? 'indexExpr' : 'object', v);
      }
    });
  }
  if (op === 'count' && r.body !== undefined) {
    for (const k of Object.keys(r.body as object)) if (k !== 'query') throw invalid(`unknown field [body.${k}] in a [count] request; known: query`);
  }
  if (op === 'doc.mget') {
    const b = r.body as Record<string, unknown>;
    for (const k of Object.keys(b)) if (k !== 'ids' && k !== 'docs') throw invalid(`unknown field [body.${k}] in a [doc.mget] request; known: ids, docs`);
    const list = (b.ids ?? b.docs) as unknown;
    if (!Array.isArray(list)) throw invalid('a [doc.mget] request needs [body.ids] or [body.docs] (an array)');
    if (list.length > 10_000) throw invalid('a [doc.mget] request holds at most 10000 ids');
    if (b.ids !== undefined) for (const id of b.ids as unknown[]) checkField(op, 'body.ids[]', 'id', id);
    if (b.docs !== undefined) {
      for (const d of b.docs as unknown[]) {
        if (!isPlainObject(d)) throw invalid('every entry of [body.docs] must be an object');
        for (const [k, v] of Object.entries(d)) {
          if (k === '_id') checkField(op, 'body.docs[]._id', 'id', v);
          else if (k === '_index') checkField(op, 'body.docs[]._index', 'index', v);
          else if (k === 'routing') checkField(op, 'body.docs[].routing', 'string', v);
          else throw invalid(`unknown field [body.docs[].${k}] in a [doc.mget] request`);
        }
        if (d._id === undefined) throw invalid('every entry of [body.docs] needs an [_id]');
        if (d._index === undefined && r.index === undefined) throw invalid('every entry of [body.docs] needs an [_index] when the request has no [index]');
      }
    } else if (r.index === undefined) throw invalid('a [doc.mget] request with [body.ids] needs [index]');
  }
  if (op === 'doc.bulk') {
    const ops = r.operations as unknown[];
    if (ops.length === 0) throw invalid('a [doc.bulk] request needs at least one operation');
    if (ops.length > 100_000) throw invalid('a [doc.bulk] request holds at most 100000 lines');
    // The coordinator parses the lines (parseBulk) before anything is written; here only the headers' fields.
    for (let i = 0; i < ops.length; i++) {
      const line = ops[i];
      if (!isPlainObject(line)) throw invalid(`bulk line ${i} must be an object`);
      const keys = Object.keys(line);
      const action = keys[0]!;
      if (keys.length !== 1 || !['index', 'create', 'delete', 'update'].includes(action)) throw invalid(`bulk line ${i}: expected one of index, create, delete, update`);
      const header = line[action];
      if (!isPlainObject(header)) throw invalid(`bulk line ${i}: the [${action}] action must be an object`);
      for (const [k, v] of Object.entries(header)) {
        if (k === '_id') checkField(op, `operations[${i}].${action}._id`, 'id', v);
        else if (k === '_index') checkField(op, `operations[${i}].${action}._index`, 'index', v);
        else if (k === 'routing') checkField(op, `operations[${i}].${action}.routing`, 'string', v);
        else if (k === 'if_seq_no') checkField(op, `operations[${i}].${action}.if_seq_no`, 'seqNo', v);
        else if (k === 'if_primary_term') checkField(op, `operations[${i}].${action}.if_primary_term`, 'term', v);
        else throw invalid(`bulk line ${i}: unknown field [${k}] in the [${action}] action`);
      }
      if (header._index === undefined && r.index === undefined) throw invalid(`bulk line ${i}: [_index] is missing and the request has no [index]`);
      if (action === 'update') {
        const body = ops[i + 1];
        if (!isPlainObject(body)) throw invalid(`bulk line ${i + 1}: an update needs its body on the next line`);
        for (const k of Object.keys(body)) if (!UPDATE_BODY_KEYS.includes(k)) throw invalid(`bulk line ${i + 1}: unknown field [${k}] in an update body`);
        if (body.doc !== undefined && !isPlainObject(body.doc)) throw invalid(`bulk line ${i + 1}: [doc] must be an object`);
        if (body.upsert !== undefined && !isPlainObject(body.upsert)) throw invalid(`bulk line ${i + 1}: [upsert] must be an object`);
        if (body.script !== undefined && typeof body.script !== 'string' && !isPlainObject(body.script)) throw invalid(`bulk line ${i + 1}: [script] must be a string or an object`);
        if (body.doc === undefined && body.upsert === undefined && body.script === undefined) throw invalid(`bulk line ${i + 1}: an update needs [doc], [script] or [upsert]`);
      }
      if (action !== 'delete') {
        if (!isPlainObject(ops[i + 1])) throw invalid(`bulk line ${i + 1}: a ${action} needs a document object on the next line`);
        i++;
      }
    }
  }
}

// ---- JSON-value check -----------------------------------------------------------------------------

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Requests carry JSON values only, whatever the encoding: null, booleans, finite numbers,
 * strings, arrays and plain objects, nested at most MAX_DEPTH deep, with no `__proto__` key.
 * msgpack can carry more (binary, timestamps, extensions, NaN): those are rejected, so a
 * request means the same in JSON and in msgpack. Returns the path of the first offender.
 */
export function findNonJsonValue(v: unknown, path = '', depth = 0): string | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${path || '.'}: a non-finite number`;
  if (depth >= MAX_DEPTH) return `${path || '.'}: nested deeper than ${MAX_DEPTH}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = findNonJsonValue(v[i], `${path}[${i}]`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  if (isPlainObject(v)) {
    for (const k in v) {
      if (k === '__proto__') return `${path}.__proto__: a forbidden key`;
      const bad = findNonJsonValue(v[k], `${path}.${k}`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  const kind = v instanceof Uint8Array ? 'binary data' : v instanceof Date ? 'a timestamp' : typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-JSON'} value` : `a ${typeof v}`;
  return `${path || '.'}: ${kind} (only JSON values are allowed)`;
}
