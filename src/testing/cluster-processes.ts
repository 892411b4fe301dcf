import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterState } from '../cluster/cluster-state.ts';
import { COORD_PATH } from '../data/api.ts';
import { CSTATE_PATH, RAFT_PATH } from '../node/shoal-node.ts';
import type { RaftStatus } from '../raft/peer-state.ts';
import { ActorSystem } from '../runtime/actor-system.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { terminateProcess } from './terminate.ts';

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface NodeProcessHandle {
  id: string;
  child: ChildProcess;
  exited: Promise<unknown>;
  output(): string;
}

/**
 * A Shoal cluster of real node processes (`shoal start`) on a real nats-server, with a probe
 * ActorSystem to read cluster state and raft status. For failover tests and benchmarks.
 */
export class ProcessCluster {
  readonly nodes = new Map<string, NodeProcessHandle>();

  private constructor(
    readonly server: NatsServerHandle,
    readonly probe: ActorSystem,
    readonly masters: string[],
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
  ) {}

  static async start(opts: { masters?: string[]; dataNodes?: string[]; dataDir?: string } = {}): Promise<ProcessCluster> {
    const masters = opts.masters ?? ['n1', 'n2', 'n3'];
    const server = await startNatsServer();
    const probe = await ActorSystem.start({ nodeId: `probe-${process.pid}`, nats: { servers: server.url }, logLevel: 'silent' });
    const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'shoal-cluster-'));
    const cluster = new ProcessCluster(server, probe, masters, dataDir, !opts.dataDir);
    try {
      await Promise.all([...masters, ...(opts.dataNodes ?? [])].map((id) => cluster.startNode(id, { waitForMember: false })));
      await cluster.waitFor((s) => !!s.master && [...cluster.nodes.keys()].every((id) => !!s.nodes[id]), 'every node to be a member', 30_000);
    } catch (err) {
      await cluster.stop(); // never leave node processes behind
      throw err;
    }
    return cluster;
  }

  /** Start (or restart, with the same data directory) one node process. */
  async startNode(id: string, opts: { waitForMember?: boolean } = {}): Promise<NodeProcessHandle> {
    const args = ['start', '--nats', this.server.url, '--node', id, '--masters', this.masters.join(','), '--data-dir', this.dataDir];
    // SHOAL_NODE_ARGS: extra Node.js flags for the node processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
    const nodeArgs = (process.env.SHOAL_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SHOAL_LOG_LEVEL: process.env.SHOAL_NODE_LOG_LEVEL ?? 'warn' },
    });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-50_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const handle: NodeProcessHandle = {
      id,
      child,
      exited: new Promise((resolve) => child.once('exit', resolve)),
      output: () => out,
    };
    this.nodes.set(id, handle);
    if (opts.waitForMember !== false) {
      // Ask the master: a lagging follower may still list this node from before it died.
      const master = (await this.state())?.master?.id;
      await this.waitFor((s) => !!s.nodes[id], `${id} to be a member`, 20_000, master);
    }
    return handle;
  }

  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    n.child.kill(signal);
    if (signal === 'SIGKILL') this.nodes.delete(id);
  }

  /** The committed cluster state as one live node sees it (the first that answers). */
  async state(from?: string): Promise<ClusterState | undefined> {
    const ids = from ? [from] : [...this.nodes.keys()];
    for (const id of ids) {
      try {
        return await this.probe.ask<ClusterState>(this.probe.ref(`shoal://shoal/${id}${CSTATE_PATH}`), { type: 'get' }, { timeoutMs: 300 });
      } catch {
        // try the next node
      }
    }
    return undefined;
  }

  /**
   * Run a data-plane API operation (see src/data/api.ts) coordinated by node `via` (default: any
   * live node, trying the next on no answer). Errors come back as {type, reason, status}.
   */
  async api<T = any>(request: { op: string } & Record<string, unknown>, opts: { via?: string; timeoutMs?: number } = {}): Promise<T> {
    const ids = opts.via ? [opts.via] : [...this.nodes.keys()];
    let lastError: unknown;
    for (const id of ids) {
      try {
        return await this.probe.ask<T>(this.probe.ref(`shoal://shoal/${id}${COORD_PATH}`), { type: 'api', ...request }, { timeoutMs: opts.timeoutMs ?? 30_000 });
      } catch (err) {
        lastError = err;
        const type = (err as { type?: string }).type;
        if (type !== 'node_unreachable' && type !== 'no_such_actor') throw err;
      }
    }
    throw lastError;
  }

  raftStatus(id: string, timeoutMs = 500): Promise<RaftStatus> {
    return this.probe.ask<RaftStatus>(this.probe.ref(`shoal://shoal/${id}${RAFT_PATH}`), { type: 'raft.status' }, { timeoutMs });
  }

  /** Poll the cluster state until pred holds (real processes: real time, with a deadline). */
  async waitFor(pred: (s: ClusterState) => boolean, what: string, timeoutMs = 10_000, from?: string): Promise<ClusterState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.state(from);
      if (s && pred(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last state: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => terminateProcess(n.child, n.exited, 3_000)));
    this.nodes.clear();
    await this.probe.shutdown();
    await this.server.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
