/**
 * The public NATS request/reply API (protocol: protocols/api.ts, docs/PROTOCOL.md).
 *
 * Every node serves `shoal.<cluster>.api.>` in one queue group, so NATS hands each request to one
 * node, which coordinates it (`node.api`). The endpoint is registered with @nats-io/services, so
 * `$SRV.PING|INFO|STATS[.shoal-<cluster>]` discover the nodes with standard NATS tooling.
 *
 * For every message: size check → decode (JSON or msgpack) → JSON-value check → op from the
 * subject → validation against the protocol → readiness → `node.api` → reply in the request's
 * encoding. Every step before `node.api` only reads, so a malformed request changes nothing.
 */
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { Svcm, ServiceErrorCodeHeader, ServiceErrorHeader, type Service, type ServiceMsg } from '@nats-io/services';
import type { Logger } from 'pino';
import {
  API_OPS,
  API_SERVICE_VERSION,
  API_VERSION,
  apiSubjectPrefix,
  DEFAULT_MAX_PAYLOAD_BYTES,
  findNonJsonValue,
  isApiOp,
  isPlainObject,
  validateApiRequest,
  type ApiErrorReply,
} from '../../protocols/api.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import { apiErrorBody } from '../data/api.ts';
import { ApiError } from '../data/errors.ts';
import { decode, encode } from '../transport/codec.ts';

export const API_QUEUE = 'shoal-api';
export const CONTENT_TYPE_HEADER = 'Content-Type';
export const NODE_HEADER = 'Shoal-Node';
/** Reply header: the cluster-state version the answering node had applied when it answered. */
export const STATE_VERSION_HEADER = 'Shoal-State-Version';
/** Request header: answer only once this node has applied this cluster-state version (bounded wait). */
export const MIN_STATE_VERSION_HEADER = 'Shoal-Min-State-Version';
export const JSON_TYPE = 'application/json';
export const MSGPACK_TYPE = 'application/msgpack';
export const serviceName = (cluster: string) => `shoal-${cluster}`;

export interface NatsApiOptions {
  /** Largest request body accepted (bytes). Default 10 MiB; NATS' own max_payload applies first. */
  maxPayloadBytes?: number;
  /** Requests processed at once by this node; more are answered 429. Default 1024. */
  maxInFlight?: number;
  /** Longest wait for `Shoal-Min-State-Version` before answering with the state the node has. Default 5 s. */
  stateWaitMs?: number;
  /** Don't serve the API (default: served whenever the node runs on NATS). */
  disabled?: boolean;
}

/** What the API needs from a node (ShoalNode satisfies it). */
export interface NatsApiHost {
  readonly info: { id: string; name: string; roles: string[] };
  readonly state: ClusterState;
  readonly system: { cluster: string; log: Logger };
  onState(fn: (s: ClusterState) => void): () => void;
  waitForVersion(version: number, timeoutMs: number): Promise<ClusterState>;
  api(request: { op: string } & Record<string, unknown>): Promise<unknown>;
}

interface OpStats {
  requests: number;
  errors: number;
  total_ms: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const OPEN_BRACE = 0x7b;

export class NatsApi {
  private service: Service | undefined;
  private registering: Promise<void> | undefined;
  private offState: (() => void) | undefined;
  private stopped = false;
  private inFlight = 0;
  private readonly idle = new Set<() => void>();
  private readonly opStats = new Map<string, OpStats>();
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly maxPayload: number;
  private readonly maxInFlight: number;
  private readonly stateWaitMs: number;
  private readyResolve!: () => void;
  /** Resolves once the service is registered (the node has joined a cluster with a master). */
  readonly ready: Promise<void>;

  private constructor(
    private readonly host: NatsApiHost,
    private readonly nc: NatsConnection,
    opts: NatsApiOptions,
  ) {
    this.prefix = apiSubjectPrefix(host.system.cluster);
    this.maxPayload = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.maxInFlight = opts.maxInFlight ?? 1024;
    this.stateWaitMs = opts.stateWaitMs ?? 5_000;
    this.log = host.system.log.child({ component: 'nats-api' });
    this.ready = new Promise((r) => (this.readyResolve = r));
  }

  /**
   * Serve the API for `host` on `nc`. The service is registered once the node is in a cluster
   * state with a master, so the queue group never hands a request to a node that cannot answer.
   */
  static attach(host: NatsApiHost, nc: NatsConnection, opts: NatsApiOptions = {}): NatsApi {
    const api = new NatsApi(host, nc, opts);
    const joined = (s: ClusterState) => !!s.master && !!s.nodes[host.info.id];
    if (joined(host.state)) api.register();
    else {
      api.offState = host.onState((s) => {
        if (!joined(s)) return;
        api.offState?.();
        api.offState = undefined;
        api.register();
      });
    }
    return api;
  }

  get subjectPrefix(): string {
    return this.prefix;
  }

  /** Stop serving: unsubscribe (the queue group moves on to the other nodes), then let in-flight requests finish. */
  async stop(drainMs = 2_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.offState?.();
    await this.registering?.catch(() => undefined);
    if (this.service && !this.service.isStopped) await this.service.stop().catch(() => undefined);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, drainMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.idle.add(done);
      });
    }
    this.log.info({ requests: this.totalRequests() }, 'client API stopped');
  }

  private register(): void {
    if (this.stopped || this.registering) return;
    const { cluster } = this.host.system;
    const node = this.host.info;
    this.registering = (async () => {
      // @nats-io/services bundles its own nats-core version: the connection is the same object at runtime.
      const service = await new Svcm(this.nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({
        name: serviceName(cluster),
        version: API_SERVICE_VERSION,
        description: `Shoal search cluster [${cluster}], node [${node.id}]: request/reply API v${API_VERSION} on ${this.prefix}<op>`,
        queue: API_QUEUE,
        metadata: {
          cluster,
          node: node.id,
          node_name: node.name,
          roles: node.roles.join(','),
          api_version: String(API_VERSION),
          subject_prefix: this.prefix,
          encodings: `${JSON_TYPE},${MSGPACK_TYPE}`,
          max_payload_bytes: String(this.maxPayload),
        },
        statsHandler: async () => ({ node: node.id, in_flight: this.inFlight, ops: Object.fromEntries(this.opStats) }),
      });
      service.addEndpoint('api', {
        subject: `${this.prefix}>`,
        queue: API_QUEUE,
        metadata: { api_version: String(API_VERSION), ops: API_OPS.join(',') },
        handler: (err, msg) => {
          if (err) {
            this.log.error({ err: err.message }, 'client API subscription failed');
            return;
          }
          void this.handle(msg);
        },
      });
      if (this.stopped) {
        await service.stop().catch(() => undefined);
        return;
      }
      this.service = service;
      void service.stopped.then((e) => {
        if (!this.stopped) this.log.warn({ err: e instanceof Error ? e.message : undefined }, 'client API service stopped');
      });
      // The subscription is known to the server once a flush comes back.
      await this.nc.flush();
      this.log.info({ subject: `${this.prefix}>`, queue: API_QUEUE, service: serviceName(cluster), id: service.info().id }, 'client API serving');
      this.readyResolve();
    })().catch((err: unknown) => {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'client API registration failed');
    });
  }

  private totalRequests(): number {
    let n = 0;
    for (const s of this.opStats.values()) n += s.requests;
    return n;
  }

  private async handle(msg: ServiceMsg): Promise<void> {
    const started = performance.now();
    const op = msg.subject.slice(this.prefix.length);
    const hdrs = msg.headers as MsgHdrs | undefined;
    const json = isJsonRequest(hdrs, msg.data);
    if (!msg.reply) {
      // Nobody could learn the outcome: nothing is executed.
      this.log.debug({ op }, 'client API request without a reply subject dropped');
      return;
    }
    const statsKey = isApiOp(op) ? op : '_unknown';
    this.inFlight++;
    let status = 200;
    try {
      let result: unknown;
      try {
        result = await this.execute(op, msg.data, json, hdrs);
      } catch (err) {
        const body = errorReply(err);
        status = body.status;
        this.respond(msg, body, json, status, `${body.error.type}: ${body.error.reason}`);
        if (status >= 500) this.log.warn({ op, status, type: body.error.type, reason: body.error.reason }, 'client API request failed');
        else this.log.debug({ op, status, type: body.error.type }, 'client API request rejected');
        return;
      }
      this.respond(msg, result, json, 200);
    } finally {
      this.inFlight--;
      const s = this.opStats.get(statsKey) ?? { requests: 0, errors: 0, total_ms: 0 };
      s.requests++;
      if (status >= 400) s.errors++;
      s.total_ms += performance.now() - started;
      this.opStats.set(statsKey, s);
      if (this.inFlight === 0) for (const f of [...this.idle]) (this.idle.delete(f), f());
    }
  }

  private async execute(op: string, data: Uint8Array, json: boolean, hdrs: MsgHdrs | undefined): Promise<unknown> {
    if (data.length > this.maxPayload) {
      throw new ApiError('payload_too_large', `the request is ${data.length} bytes; the limit is ${this.maxPayload} bytes`, 413);
    }
    if (!isApiOp(op)) {
      throw new ApiError('invalid_operation_exception', `unknown operation [${op}]: api v${API_VERSION} has ${API_OPS.join(', ')}`, 400);
    }
    const body = parseBody(data, json);
    const request = validateApiRequest(op, body);
    if (this.inFlight > this.maxInFlight) {
      throw new ApiError('es_rejected_execution_exception', `node [${this.host.info.id}] has ${this.maxInFlight} requests in flight`, 429);
    }
    await this.awaitStateVersion(hdrs);
    if (!this.host.state.master) throw new ApiError('master_not_discovered_exception', `node [${this.host.info.id}] does not know an elected master`, 503);
    return this.host.api({ ...(request as Record<string, unknown>), op });
  }

  /**
   * Read your writes across nodes: a client that saw version N (an index created through another
   * node) asks this node to have applied N first. Bounded: past the wait the node answers with the
   * state it has (in practice versions spread in milliseconds).
   */
  private async awaitStateVersion(hdrs: MsgHdrs | undefined): Promise<void> {
    const raw = hdrs?.get(MIN_STATE_VERSION_HEADER);
    if (!raw) return;
    const want = /^\d{1,15}$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(want)) throw new ApiError('illegal_argument_exception', `the ${MIN_STATE_VERSION_HEADER} header must be a non-negative integer, got [${raw.slice(0, 40)}]`, 400);
    if (this.host.state.version >= want) return;
    await this.host.waitForVersion(want, this.stateWaitMs).catch(() => {
      this.log.debug({ want, have: this.host.state.version }, 'answering with an older cluster state than the client saw');
    });
  }

  private respond(msg: ServiceMsg, body: unknown, json: boolean, status: number, error?: string): void {
    let data: Uint8Array;
    try {
      data = encodeBody(body, json);
    } catch (err) {
      status = 500;
      error = `serialization_exception: ${(err as Error).message}`;
      data = encodeBody(errorBody('serialization_exception', `the response could not be encoded: ${(err as Error).message}`, 500), json);
    }
    const max = this.nc.info?.max_payload ?? Infinity;
    if (data.length > max - 4_096) {
      status = 500;
      error = 'response_too_large_exception';
      data = encodeBody(errorBody('response_too_large_exception', `the response is ${data.length} bytes, more than the NATS max_payload of ${max}; ask for less (size, _source, a smaller bulk)`, 500), json);
    }
    const h = natsHeaders();
    h.set(CONTENT_TYPE_HEADER, json ? JSON_TYPE : MSGPACK_TYPE);
    h.set(NODE_HEADER, this.host.info.id);
    h.set(STATE_VERSION_HEADER, String(this.host.state.version));
    if (error !== undefined) {
      h.set(ServiceErrorCodeHeader, String(status));
      h.set(ServiceErrorHeader, oneLine(error));
    }
    try {
      msg.respond(data, { headers: h as never });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'client API reply could not be sent');
    }
  }
}

export function isJsonRequest(hdrs: MsgHdrs | undefined, data: Uint8Array): boolean {
  const ct = hdrs?.get(CONTENT_TYPE_HEADER);
  if (ct) return ct.toLowerCase().includes('json');
  return data.length > 0 && data[0] === OPEN_BRACE;
}

function parseBody(data: Uint8Array, json: boolean): unknown {
  if (data.length === 0) return {};
  let body: unknown;
  try {
    body = json ? JSON.parse(utf8.decode(data)) : decode(data);
  } catch (err) {
    throw new ApiError('parse_exception', `malformed ${json ? 'JSON' : 'msgpack'} request: ${(err as Error).message}`, 400);
  }
  if (!isPlainObject(body)) throw new ApiError('parse_exception', `the request must be a ${json ? 'JSON object' : 'msgpack map'}`, 400);
  const bad = findNonJsonValue(body);
  if (bad) throw new ApiError('parse_exception', `unsupported value at ${bad}`, 400);
  return body;
}

function encodeBody(body: unknown, json: boolean): Uint8Array {
  return json ? Buffer.from(JSON.stringify(body ?? null)) : encode(body);
}

function errorBody(type: string, reason: string, status: number, details?: Readonly<Record<string, unknown>>): ApiErrorReply {
  return { error: details === undefined ? { type, reason } : { ...details, type, reason }, status };
}

export function errorReply(err: unknown): ApiErrorReply {
  const e = apiErrorBody(err);
  return errorBody(e.type, e.reason, e.status, e.details);
}

function oneLine(s: string): string {
  const t = s.replace(/[\r\n]+/g, ' ');
  return t.length > 512 ? `${t.slice(0, 509)}...` : t;
}
