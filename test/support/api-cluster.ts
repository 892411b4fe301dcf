import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/nats-core';
import type { NatsApiOptions } from '../../src/api/nats-api.ts';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';

/**
 * In-process ShoalNodes on a real nats-server, each serving the client API, plus a raw NATS
 * connection for requests the way any NATS tool would send them.
 */
export interface ApiCluster {
  server: NatsServerHandle;
  url: string;
  cluster: string;
  nodes: Map<string, ShoalNode>;
  nc: NatsConnection;
  start(id: string): Promise<ShoalNode>;
  /**
   * Raw request: JSON with the Content-Type header, or msgpack (no header). Like the client, it
   * sends the newest cluster-state version seen (Shoal-Min-State-Version) unless `session: false`.
   */
  raw(op: string, body: unknown, opts?: { encoding?: 'json' | 'msgpack' | 'bytes'; timeoutMs?: number; session?: boolean; headers?: Record<string, string> }): Promise<RawReply>;
  stop(): Promise<void>;
}

export interface RawReply {
  msg: Msg;
  status: number;
  /** the Nats-Service-Error-Code header, when set */
  errorCode: string | undefined;
  node: string | undefined;
  /** Shoal-State-Version of the reply */
  stateVersion: number | undefined;
  contentType: string | undefined;
  body: any;
}

export function decodeReply(msg: Msg): RawReply {
  const contentType = msg.headers?.get('Content-Type') || undefined;
  const errorCode = msg.headers?.get('Nats-Service-Error-Code') || undefined;
  const body = msg.data.length === 0 ? undefined : contentType?.includes('json') ? JSON.parse(msg.string()) : decode(msg.data);
  return { msg, status: errorCode ? Number(errorCode) : 200, errorCode, node: msg.headers?.get('Shoal-Node') || undefined, stateVersion: msg.headers?.get('Shoal-State-Version') ? Number(msg.headers.get('Shoal-State-Version')) : undefined, contentType, body };
}

export async function startApiCluster(opts: { cluster: string; nodes: string[]; masters?: string[]; api?: NatsApiOptions }): Promise<ApiCluster> {
  const server = await startNatsServer();
  const dataDir = mkdtempSync(join(tmpdir(), `shoal-api-${opts.cluster}-`));
  const masters = opts.masters ?? opts.nodes;
  const nodes = new Map<string, ShoalNode>();
  const start = async (id: string) => {
    const node = await ShoalNode.start({ nodeId: id, cluster: opts.cluster, nats: { servers: server.url }, dataDir, masters, logLevel: 'silent', api: opts.api });
    nodes.set(id, node);
    return node;
  };
  for (const id of opts.nodes) await start(id);
  // Serving means joined: the API registers once the node is in a state with a master.
  await Promise.all([...nodes.values()].map((n) => withDeadline(n.natsApi!.ready, 20_000, `node ${n.info.id} serving the API`)));
  await Promise.all([...nodes.values()].map((n) => n.waitFor((s) => Object.keys(s.nodes).length === opts.nodes.length, 'every node joined', 20_000)));
  const nc = await connect({ servers: server.url, name: 'api-test' });
  let seenVersion = 0;
  return {
    server,
    url: server.url,
    cluster: opts.cluster,
    nodes,
    nc,
    start,
    async raw(op, body, o = {}) {
      const enc = o.encoding ?? 'json';
      const data = enc === 'bytes' ? (body as Uint8Array) : enc === 'json' ? Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) : encode(body);
      const h = natsHeaders();
      if (enc === 'json') h.set('Content-Type', 'application/json');
      if (o.session !== false && seenVersion > 0) h.set('Shoal-Min-State-Version', String(seenVersion));
      for (const [k, v] of Object.entries(o.headers ?? {})) h.set(k, v);
      const msg = await nc.request(`shoal.${opts.cluster}.api.${op}`, data, { timeout: o.timeoutMs ?? 30_000, headers: h });
      const reply = decodeReply(msg);
      if (reply.stateVersion !== undefined && reply.stateVersion > seenVersion) seenVersion = reply.stateVersion;
      return reply;
    },
    async stop() {
      await nc.close().catch(() => undefined);
      await Promise.all([...nodes.values()].map((n) => (n.system.isRunning ? n.shutdown() : undefined)));
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms))),
  ]);
}

/** Poll `cond` until it holds or the deadline passes. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
