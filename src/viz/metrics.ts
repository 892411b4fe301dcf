import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterState } from '../cluster/cluster-state.ts';
import type { RaftStatus } from '../raft/peer-state.ts';
import type { ActorSystem } from '../runtime/actor-system.ts';
import type { VizPublisher } from './live.ts';

/**
 * Prometheus metrics of one node (prom-client, one Registry per node so several nodes can share a
 * process). The hot paths only bump plain numbers (ActorSystem.stats) or observe one histogram
 * per API request; everything else (mailbox depths, Raft, shard copies) is read at scrape time.
 */
export interface MetricsOptions {
  /** TCP port of the HTTP endpoint (0: any free port). */
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Add prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
}

export interface MetricsSource {
  system: ActorSystem;
  state: () => ClusterState;
  /** This node's raft status, when it is master-eligible. */
  raftStatus?: () => Promise<RaftStatus>;
  viz?: () => VizPublisher | undefined;
}

const WRITE_OPS = new Set(['doc.index', 'doc.create', 'doc.update', 'doc.delete', 'doc.bulk']);
const SEARCH_OPS = new Set(['search', 'count', 'doc.get', 'doc.mget']);
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The metric names, for docs and tests. */
export const METRIC_NAMES = [
  'shoal_messages_sent_total',
  'shoal_messages_received_total',
  'shoal_mailbox_depth',
  'shoal_mailbox_depth_max',
  'shoal_actors',
  'shoal_machine_actors',
  'shoal_actor_restarts_total',
  'shoal_raft_term',
  'shoal_raft_commit_index',
  'shoal_raft_applied_index',
  'shoal_raft_leader',
  'shoal_cluster_state_version',
  'shoal_shard_copies',
  'shoal_index_requests_total',
  'shoal_index_docs_total',
  'shoal_index_duration_seconds',
  'shoal_search_requests_total',
  'shoal_search_duration_seconds',
  'shoal_viz_events_published_total',
  'shoal_viz_watchers',
] as const;

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly indexDuration: Histogram<'op'>;
  private readonly searchDuration: Histogram<'op'>;
  private readonly indexRequests: Counter<'op' | 'outcome'>;
  private readonly indexDocs: Counter;
  private readonly searchRequests: Counter<'op' | 'outcome'>;
  private server: Server | undefined;

  constructor(private readonly src: MetricsSource, opts: { defaultMetrics?: boolean } = {}) {
    const { system } = src;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: system.nodeId, cluster: system.cluster });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    new Counter({
      name: 'shoal_messages_sent_total',
      help: 'Actor messages sent (tell and ask), to actors on this node (local) or other nodes (remote)',
      labelNames: ['scope'],
      registers,
      collect() {
        this.reset();
        this.inc({ scope: 'local' }, system.stats.sentLocal);
        this.inc({ scope: 'remote' }, system.stats.sentRemote);
      },
    });
    new Counter({
      name: 'shoal_messages_received_total',
      help: 'Actor messages received: from this node (local) and from the network (remote)',
      labelNames: ['scope'],
      registers,
      collect() {
        this.reset();
        this.inc({ scope: 'local' }, system.stats.sentLocal);
        this.inc({ scope: 'remote' }, system.stats.receivedRemote);
      },
    });
    const mailboxes = () => {
      let total = 0;
      let max = 0;
      let actors = 0;
      for (const path of system.actorPaths()) {
        const depth = system.internals.cell(path)?.mailboxDepth ?? 0;
        total += depth;
        if (depth > max) max = depth;
        actors++;
      }
      return { total, max, actors };
    };
    new Gauge({ name: 'shoal_mailbox_depth', help: 'Messages waiting in all mailboxes of this node', registers, collect() { this.set(mailboxes().total); } });
    new Gauge({ name: 'shoal_mailbox_depth_max', help: 'The fullest mailbox on this node', registers, collect() { this.set(mailboxes().max); } });
    new Gauge({ name: 'shoal_actors', help: 'Actors alive on this node', registers, collect() { this.set(mailboxes().actors); } });
    new Gauge({ name: 'shoal_machine_actors', help: 'xstate machine actors running on this node', registers, collect() { this.set(system.machines.size); } });
    new Counter({
      name: 'shoal_actor_restarts_total',
      help: 'Actors restarted by their supervisor',
      registers,
      collect() {
        this.reset();
        this.inc(system.stats.restarts);
      },
    });

    let raft: Promise<RaftStatus | undefined> | undefined;
    // One raft status per scrape, shared by the gauges below.
    const raftStatus = () => {
      raft ??= (src.raftStatus?.() ?? Promise.resolve(undefined)).catch(() => undefined).finally(() => setTimeout(() => (raft = undefined), 0));
      return raft;
    };
    const raftGauge = (name: string, help: string, read: (s: RaftStatus) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const s = await raftStatus();
          this.reset();
          if (s) this.set(read(s));
        },
      });
    raftGauge('shoal_raft_term', 'Current Raft term of this peer', (s) => s.term);
    raftGauge('shoal_raft_commit_index', 'Raft commit index known to this peer', (s) => s.commitIndex);
    raftGauge('shoal_raft_applied_index', 'Raft index applied to the cluster state on this peer', (s) => s.appliedIndex);
    raftGauge('shoal_raft_leader', '1 while this peer is the Raft leader (the master)', (s) => (s.role === 'leader' ? 1 : 0));
    new Gauge({ name: 'shoal_cluster_state_version', help: 'Cluster-state version applied on this node', registers, collect() { this.set(src.state().version); } });
    new Gauge({
      name: 'shoal_shard_copies',
      help: 'Shard copies on this node by routing state and role',
      labelNames: ['state', 'role'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const tables of Object.values(src.state().routing)) {
          for (const t of tables) {
            for (const c of t.copies) {
              if (c.node !== system.nodeId) continue;
              const key = `${c.state}|${c.primary ? 'primary' : 'replica'}`;
              counts.set(key, (counts.get(key) ?? 0) + 1);
            }
          }
        }
        for (const state of ['INITIALIZING', 'STARTED', 'RELOCATING']) {
          for (const role of ['primary', 'replica']) this.set({ state, role }, counts.get(`${state}|${role}`) ?? 0);
        }
      },
    });

    this.indexRequests = new Counter({ name: 'shoal_index_requests_total', help: 'Write requests coordinated by this node (index, create, update, delete, bulk)', labelNames: ['op', 'outcome'], registers });
    this.indexDocs = new Counter({ name: 'shoal_index_docs_total', help: 'Documents in the write requests coordinated by this node (a bulk counts its items)', registers });
    this.indexDuration = new Histogram({ name: 'shoal_index_duration_seconds', help: 'Latency of write requests coordinated by this node', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers });
    this.searchRequests = new Counter({ name: 'shoal_search_requests_total', help: 'Read requests coordinated by this node (search, count, get, mget)', labelNames: ['op', 'outcome'], registers });
    this.searchDuration = new Histogram({ name: 'shoal_search_duration_seconds', help: 'Latency of read requests coordinated by this node', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers });

    new Counter({
      name: 'shoal_viz_events_published_total',
      help: 'Machine transitions published on the live stream (only while watched)',
      registers,
      collect() {
        this.reset();
        this.inc(src.viz?.()?.published ?? 0);
      },
    });
    new Gauge({ name: 'shoal_viz_watchers', help: 'Live-stream watchers whose lease is current', registers, collect() { this.set(src.viz?.()?.activeInterests ?? 0); } });
  }

  /** Time one API request (only writes and reads are measured; other ops pass through). */
  measure<T>(request: { op?: unknown; operations?: unknown }, run: () => Promise<T>): Promise<T> {
    const op = typeof request.op === 'string' ? request.op : '';
    const write = WRITE_OPS.has(op);
    if (!write && !SEARCH_OPS.has(op)) return run();
    const started = performance.now();
    const done = (outcome: 'ok' | 'error') => {
      const seconds = (performance.now() - started) / 1_000;
      if (write) {
        this.indexDuration.observe({ op }, seconds);
        this.indexRequests.inc({ op, outcome });
        if (outcome === 'ok') this.indexDocs.inc(op === 'doc.bulk' ? bulkItems(request.operations) : 1);
      } else {
        this.searchDuration.observe({ op }, seconds);
        this.searchRequests.inc({ op, outcome });
      }
    };
    return run().then(
      (v) => (done('ok'), v),
      (err) => {
        done('error');
        throw err;
      },
    );
  }

  /** Serve GET /metrics over HTTP; resolves with the URL once listening. */
  async listen(opts: MetricsOptions): Promise<string> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
    });
    const addr = server.address() as AddressInfo;
    const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/metrics`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** A bulk's operations are action lines, each followed by a source line except delete. */
function bulkItems(operations: unknown): number {
  if (!Array.isArray(operations)) return 0;
  let n = 0;
  for (let i = 0; i < operations.length; i++) {
    const action = operations[i] as Record<string, unknown> | undefined;
    n++;
    if (action && typeof action === 'object' && !('delete' in action)) i++;
  }
  return n;
}
