/**
 * The dashboard: a small HTTP server (node:http) that `shoal up` runs on localhost.
 *
 *   GET /              the page (index.html, app.js, style.css from this directory, served as they are)
 *   GET /charts.json   every known machine's chart (src/viz/chart.ts), keyed by machine id (a VizEvent's `kind`)
 *   GET /view.json     the current ClusterView (view.ts)
 *   GET /events        Server-Sent Events: `hello`, `cluster` (a ClusterView, on every change),
 *                      `actors` (the last transition of every actor seen, on connect), `transition`
 *                      (one VizEvent per transition)
 *
 * While at least one page is connected the server polls the API (cluster.state, then cat.shards and
 * cluster.health at that state version) and watches the live transition stream (src/viz/watch.ts)
 * with an interest lease; a transition of a shard or node actor triggers a refresh at once. When
 * the last page goes, it withdraws the interest and stops polling, so a cluster nobody looks at pays
 * nothing.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/nats-core';
import type { AnyStateMachine } from 'xstate';
import type { ProcessInfo } from '../cli/up-control.ts';
import { ShoalClient } from '../client/shoal-client.ts';
import { BUILTIN_CHARTS } from '../viz/catalog.ts';
import { chartOf, type Chart } from '../viz/chart.ts';
import type { VizEvent } from '../viz/live.ts';
import { watchTransitions, type VizWatch } from '../viz/watch.ts';
import { buildView, viewKey, type ClusterView } from './view.ts';

export interface DashboardOptions {
  nc: NatsConnection;
  cluster?: string;
  /** Port to listen on; 0 = a free one. Default 7600, or a free one when 7600 is taken. */
  port?: number;
  /** When the port is taken, take a free one instead of failing (default: true unless a port was given). */
  fallback?: boolean;
  host?: string;
  /** `shoal up`'s node processes (to show a killed node as down at once). */
  processes?: () => ProcessInfo[];
  /** More machines to draw (e.g. from `--kinds` modules), besides the built-in ones. */
  machines?: AnyStateMachine[];
  /** Time between API polls while a page is open (default 1,000 ms). */
  pollMs?: number;
  /** The interest lease of the live watch (default 10 s). */
  leaseMs?: number;
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  /** Pages connected now. */
  readonly clients: number;
  close(): Promise<void>;
}

export const DEFAULT_DASHBOARD_PORT = 7600;

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Kinds whose transitions mean the cluster picture may have changed. */
const REFRESH_KINDS = new Set(['shard', 'node']);
/** Most transitions kept per actor for a page that connects later (only the last is sent). */
const MAX_ACTORS = 10_000;

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const cluster = opts.cluster ?? 'shoal';
  const pollMs = opts.pollMs ?? 1_000;
  const client = ShoalClient.fromConnection(opts.nc, { cluster, maxAttempts: 1, timeoutMs: 3_000 });
  const files = new Map<string, Buffer>();
  for (const { file } of Object.values(STATIC)) if (!files.has(file)) files.set(file, readFileSync(new URL(`./${file}`, import.meta.url)));
  const charts: Record<string, { name: string; chart: Chart }> = {};
  for (const e of BUILTIN_CHARTS) charts[e.machine.id] = { name: e.kind, chart: chartOf(e.machine) };
  for (const m of opts.machines ?? []) if (!charts[m.id]) charts[m.id] = { name: m.id, chart: chartOf(m) };
  const chartsJson = Buffer.from(JSON.stringify({ charts }));

  const clients = new Set<ServerResponse>();
  const seen = new Map<string, { roles: string[]; attributes: Record<string, string> }>();
  /** Last transition per actor (`node path`), while watching. */
  const actors = new Map<string, VizEvent>();
  let view: ClusterView = buildView({ cluster, state: undefined, shards: undefined, health: undefined, processes: opts.processes?.(), seen });
  let lastKey = viewKey(view);
  let watch: VizWatch | undefined;
  let polling = false;
  let kick: (() => void) | undefined;
  let kicked = false;
  let closed = false;

  const send = (res: ServerResponse, event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcast = (event: string, data: unknown) => {
    for (const res of clients) send(res, event, data);
  };

  let refreshing: Promise<void> | undefined;
  /** One refresh at a time: a caller during one waits for it. */
  function refresh(): Promise<void> {
    refreshing ??= doRefresh().finally(() => (refreshing = undefined));
    return refreshing;
  }

  async function doRefresh(): Promise<void> {
    const processes = opts.processes?.();
    let next: ClusterView;
    try {
      const state = await client.cluster.state();
      // The client sends the state version it saw, so these answer at least as fresh.
      const [shards, health] = await Promise.all([client.cat.shards(), client.cluster.health()]);
      next = buildView({ cluster, state, shards, health, processes, seen });
    } catch (err) {
      // Keep the last good answer; node processes and the error are current.
      const fresh = buildView({ cluster, state: undefined, shards: undefined, health: undefined, processes, seen });
      next = { ...view, nodes: view.version > 0 ? mergeProcesses(view, fresh) : fresh.nodes, ts: Date.now(), error: (err as Error).message };
    }
    // Actors of a node that is down are gone: forget their states.
    for (const n of next.nodes) if (n.status === 'down') for (const k of actors.keys()) if (k.startsWith(`${n.id} `)) actors.delete(k);
    view = next;
    const key = viewKey(next);
    if (key !== lastKey) {
      lastKey = key;
      broadcast('cluster', next);
    }
  }

  async function pollLoop(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      while (clients.size > 0 && !closed) {
        kicked = false;
        await refresh();
        if (clients.size === 0 || closed) break;
        if (kicked) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, pollMs);
          function done() {
            clearTimeout(t);
            kick = undefined;
            resolve();
          }
          kick = done;
        });
      }
    } finally {
      polling = false;
    }
  }

  /** Refresh now (a transition hinted at a change), or right after the refresh in flight. */
  function refreshSoon(): void {
    kicked = true;
    kick?.();
  }

  function onEvent(e: VizEvent): void {
    const key = `${e.node} ${e.actor}`;
    if (!actors.has(key) && actors.size >= MAX_ACTORS) return;
    actors.set(key, e);
    broadcast('transition', e);
    if (REFRESH_KINDS.has(e.kind)) refreshSoon();
  }

  let watchOp: Promise<void> = Promise.resolve();
  /** Watch while a page is connected, not otherwise (one change at a time). */
  function syncWatch(): Promise<void> {
    watchOp = watchOp
      .then(async () => {
        const want = clients.size > 0 && !closed;
        if (want && !watch) {
          watch = await watchTransitions(opts.nc, { cluster, leaseMs: opts.leaseMs ?? 10_000, onEvent });
        } else if (!want && watch) {
          const w = watch;
          watch = undefined;
          actors.clear();
          await w.close();
        }
      })
      .catch(() => undefined);
    return watchOp;
  }

  async function serveEvents(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 1000\n\n');
    send(res, 'hello', { v: 1, cluster, charts: '/charts.json' });
    let gone = false;
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      gone = true;
      clearInterval(ping);
      clients.delete(res);
      if (clients.size === 0) void syncWatch();
    });
    // Nobody was watching, so the last view may be old: answer with a fresh one (or the old one
    // if the cluster does not answer within a few seconds).
    if (clients.size === 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([refresh(), new Promise<void>((r) => (timer = setTimeout(r, 3_000)))]);
      clearTimeout(timer);
    }
    if (gone || closed) return;
    send(res, 'cluster', view);
    send(res, 'actors', [...actors.values()]);
    clients.add(res);
    void syncWatch();
    void pollLoop();
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { Allow: 'GET' }).end();
    if (url.pathname === '/events') return void serveEvents(req, res);
    const json = (body: Buffer | string) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-cache' });
      res.end(body);
    };
    if (url.pathname === '/charts.json') return json(chartsJson);
    if (url.pathname === '/view.json') return json(JSON.stringify(view));
    const s = STATIC[url.pathname];
    if (!s) return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    res.writeHead(200, { 'Content-Type': s.type, 'Cache-Control': 'no-cache' });
    res.end(files.get(s.file));
  });

  const host = opts.host ?? '127.0.0.1';
  const wanted = opts.port ?? DEFAULT_DASHBOARD_PORT;
  const fallback = opts.fallback ?? opts.port === undefined;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
  try {
    await listen(wanted);
  } catch (err) {
    if (!fallback || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    await listen(0);
  }
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${port}/`,
    port,
    get clients() {
      return clients.size;
    },
    async close() {
      closed = true;
      kick?.();
      for (const res of clients) res.end();
      clients.clear();
      await syncWatch();
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Node statuses from the processes, everything else from the last good view. */
function mergeProcesses(last: ClusterView, fresh: ClusterView): ClusterView['nodes'] {
  const procs = new Map(fresh.nodes.map((n) => [n.id, n]));
  return last.nodes.map((n) => {
    const p = procs.get(n.id);
    if (p?.process?.status === 'exited') return { ...n, status: 'down', reason: p.reason ?? 'process exited', process: p.process };
    return p?.process ? { ...n, process: p.process } : n;
  });
}
