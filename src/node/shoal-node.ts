import { join } from 'node:path';
import { nodeMachine } from '../../actors/node.ts';
import { raftPeerMachine } from '../../actors/raft-peer.ts';
import { ClusterStateMachine, EMPTY_CLUSTER_STATE, type ClusterCommand, type ClusterState, type NodeInfo, type NodeRole } from '../cluster/cluster-state.ts';
import { apiErrorBody, COORD_PATH, handleApi, type ApiRequest } from '../data/api.ts';
import { Coordinator } from '../data/coordinator.ts';
import { IndicesService } from '../data/indices-service.ts';
import { FileRaftStorage } from '../raft/file-storage.ts';
import type { RaftConfig, RaftStatus, Role } from '../raft/peer-state.ts';
import type { RaftStorage } from '../raft/types.ts';
import { ActorSystem, type ActorSystemOptions } from '../runtime/actor-system.ts';
import type { ActorRef } from '../runtime/actor-ref.ts';
import { receive } from '../runtime/behavior.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import { builtinKinds } from './builtin-kinds.ts';
import { NatsApi, type NatsApiOptions } from '../api/nats-api.ts';
import { NatsTransport } from '../transport/nats-transport.ts';
import { VizPublisher } from '../viz/live.ts';
import { NodeMetrics, type MetricsOptions } from '../viz/metrics.ts';

/** The wait before proposing again when the proposal met a node that is not (or no longer) the leader. */
const PROPOSE_RETRY_MS = 50;

export const RAFT_PATH = '/system/raft';
export const NODE_PATH = '/system/node';
export const CSTATE_PATH = '/system/cstate';
const RECONCILE_MS = 250;
const STARTUP_GRACE_MS = 1_000;

export interface ShoalNodeOptions extends Omit<ActorSystemOptions, 'kinds'> {
  /** Raft log, term/vote and snapshots live here (master-eligible nodes). */
  dataDir?: string;
  /** Storage override (simulation); default: FileRaftStorage in dataDir/raft. */
  storage?: RaftStorage;
  name?: string;
  roles?: NodeRole[];
  attributes?: Record<string, string>;
  /** The initial master-eligible node ids (bootstrap voters), the same list on every node. */
  masters: string[];
  raft?: Partial<RaftConfig>;
  /** Randomness for raft election timeouts (default Math.random); seeded in simulations. */
  random?: () => number;
  /** The public NATS API (src/api/nats-api.ts), served when the node runs on a NATS connection. */
  api?: NatsApiOptions;
  /** false: no live transition stream (src/viz/live.ts); by default it runs, publishing only while watched. */
  viz?: false;
  /**
   * Prometheus metrics over HTTP (GET /metrics). Off unless given; when the option is absent,
   * the SHOAL_METRICS_PORT environment variable turns it on. `false` keeps it off either way.
   */
  metrics?: MetricsOptions | false;
  /**
   * Fault injection for simulations: virtual ms this node holds each new cluster-state version
   * before applying it (versions still apply in order), so that nodes apply a version at different
   * times, as loaded nodes do.
   */
  stateApplyLag?: () => number;
}

type Listener = (state: ClusterState) => void;

/**
 * A Shoal node: an ActorSystem with the node actor, a raft peer when master-eligible, and the
 * node's copy of the cluster state. The elected master (Raft leader) records itself in the
 * state, removes nodes the failure detector declares down, and publishes every new version to
 * the data-only nodes; everyone applies versions in order.
 */
export class ShoalNode {
  state: ClusterState = EMPTY_CLUSTER_STATE;
  private readonly listeners = new Set<Listener>();
  private reconcileTimer: TimerHandle | undefined;
  /** This node's raft role: a paused master's stale cluster state must not make it act as master. */
  private raftRole: Role = 'follower';
  private readonly startedAt: number;
  private rerouteTimer: TimerHandle | undefined;
  /** The cluster-state version of this incarnation's join (shards wait for it). */
  private joinedVersion: number | undefined;
  private indices: IndicesService | undefined;
  readonly coordinator: Coordinator;
  /** The client API service (on NATS only). */
  natsApi: NatsApi | undefined;
  /** The live transition stream (publishes only while a watcher's lease is current). */
  viz: VizPublisher | undefined;
  /** Prometheus metrics (always counted; served over HTTP when `metrics` is set). */
  readonly metrics: NodeMetrics;
  /** The metrics endpoint's URL, when it is served. */
  metricsUrl: string | undefined;

  private constructor(
    readonly system: ActorSystem,
    readonly info: NodeInfo,
    private readonly opts: ShoalNodeOptions,
  ) {
    this.startedAt = system.clock.now();
    const node = this;
    this.metrics = new NodeMetrics({
      system,
      state: () => this.state,
      raftStatus: info.roles.includes('master') ? () => this.raftStatus() : undefined,
      viz: () => this.viz,
    });
    this.coordinator = new Coordinator({
      system,
      nodeId: info.id,
      get state() {
        return node.state;
      },
      onState: (fn) => this.onState(fn),
      propose: (cmd) => this.proposeCommand(cmd),
      waitForVersion: (v, ms) => this.waitForVersion(v, ms),
    });
  }

  static async start(opts: ShoalNodeOptions): Promise<ShoalNode> {
    const system = await ActorSystem.start({ ...opts, kinds: builtinKinds });
    const roles = opts.roles ?? (opts.masters.includes(opts.nodeId) ? ['master', 'data'] : ['data']);
    const info: NodeInfo = { id: opts.nodeId, name: opts.name ?? opts.nodeId, roles, attributes: opts.attributes ?? {} };
    const node = new ShoalNode(system, info, opts);
    if (opts.viz !== false) node.viz = VizPublisher.attach(system);
    node.startActors();
    if (system.transport instanceof NatsTransport && !opts.api?.disabled) node.natsApi = NatsApi.attach(node, system.transport.nc, opts.api);
    const metrics = opts.metrics ?? metricsFromEnv();
    if (metrics) {
      try {
        node.metricsUrl = await node.metrics.listen(metrics);
      } catch (err) {
        await node.shutdown();
        throw err;
      }
    }
    return node;
  }

  get isMasterEligible(): boolean {
    return this.info.roles.includes('master');
  }

  get raftRef(): ActorRef {
    return this.system.ref(RAFT_PATH);
  }

  /** Every new cluster-state version, in order. */
  onState(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves with the state once this node has applied `version` (or a later one). */
  waitForVersion(version: number, timeoutMs = 10_000): Promise<ClusterState> {
    if (this.state.version >= version) return Promise.resolve(this.state);
    return this.waitFor((s) => s.version >= version, `cluster state version ${version}`, timeoutMs);
  }

  waitFor(pred: (s: ClusterState) => boolean, what: string, timeoutMs = 10_000): Promise<ClusterState> {
    if (pred(this.state)) return Promise.resolve(this.state);
    return new Promise((resolve, reject) => {
      const timer = this.system.clock.setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const off = this.onState((s) => {
        if (!pred(s)) return;
        off();
        this.system.clock.clearTimeout(timer);
        resolve(s);
      });
    });
  }

  raftStatus(): Promise<RaftStatus> {
    return this.system.ask<RaftStatus>(this.raftRef, { type: 'raft.status' });
  }

  /** Leave the cluster (commits node_leave), then shut the node down. */
  async leave(timeoutMs = 2_000): Promise<void> {
    const ref = this.system.ref(NODE_PATH);
    let done!: () => void;
    const stopped = new Promise<void>((r) => (done = r));
    const off = this.system.watch(ref, () => done());
    ref.tell({ type: 'node.leave' });
    await Promise.race([stopped, new Promise<void>((r) => this.system.clock.setTimeout(() => r(), timeoutMs))]);
    off();
    await this.shutdown();
  }

  /**
   * Commit a cluster-state command through the master (any node may call this: a follower's raft
   * peer forwards to the leader). Resolves once committed, with the version it produced.
   */
  async proposeCommand(command: ClusterCommand, timeoutMs = 5_000): Promise<{ version: number; changed: boolean }> {
    // Leadership can move between a forward and its arrival (an election settling): try again
    // until the timeout. Commands are idempotent, so one that did commit is harmless twice.
    const deadline = this.system.clock.now() + timeoutMs;
    for (;;) {
      try {
        return await this.proposeOnce(command, timeoutMs);
      } catch (err) {
        const type = (err as { type?: unknown } | undefined)?.type;
        if ((type !== 'not_leader' && type !== 'no_leader') || this.system.clock.now() + PROPOSE_RETRY_MS >= deadline) throw err;
        await new Promise<void>((resolve) => this.system.clock.setTimeout(resolve, PROPOSE_RETRY_MS));
      }
    }
  }

  private async proposeOnce(command: ClusterCommand, timeoutMs: number): Promise<{ version: number; changed: boolean }> {
    const targets = this.isMasterEligible
      ? [this.info.id]
      : [...new Set([this.state.master?.id, ...this.opts.masters].filter((x): x is string => !!x))];
    let lastError: unknown;
    for (const node of targets) {
      try {
        const ref = node === this.info.id ? this.raftRef : this.system.ref(`shoal://${this.system.cluster}/${node}${RAFT_PATH}`);
        return await this.system.ask<{ version: number; changed: boolean }>(ref, { type: 'raft.propose', data: command }, { timeoutMs });
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError ?? new Error('no master-eligible node to propose to');
  }

  /** Run an API operation (what /system/coord does for a remote caller). */
  api(request: Omit<ApiRequest, 'type'>): Promise<unknown> {
    return this.metrics.measure(request, () => handleApi(this.coordinator, () => this.state, { ...request, type: 'api' } as ApiRequest));
  }

  async shutdown(): Promise<void> {
    await this.natsApi?.stop();
    await this.metrics.close();
    this.viz?.close();
    if (this.reconcileTimer !== undefined) this.system.clock.clearTimeout(this.reconcileTimer);
    if (this.rerouteTimer !== undefined) this.system.clock.clearTimeout(this.rerouteTimer);
    await this.system.shutdown();
  }

  // ---- internals -------------------------------------------------------------------------------

  private startActors(): void {
    const { system } = this;
    system.internals.spawnUnder(
      system.internals.cell('/system')!,
      'cstate',
      receive((_ctx, msg: { type: string; state?: ClusterState }) => {
        if (msg?.type === 'get') return this.state;
        // Data-only nodes get versions published by the master.
        if (msg?.type === 'publish' && msg.state && !this.isMasterEligible) this.applyState(msg.state);
        return undefined;
      }),
      { restart: 'permanent' },
    );
    if (this.isMasterEligible) {
      const storage = this.opts.storage ?? new FileRaftStorage(join(this.opts.dataDir ?? '.data', this.info.id, 'raft'));
      system.internals.spawnUnder(system.internals.cell('/system')!, 'raft', raftPeerMachine, {
        restart: 'permanent',
        input: {
          storage,
          stateMachine: () => new ClusterStateMachine((s) => this.applyState(s)),
          bootstrap: { voters: this.opts.masters, learners: [] },
          config: this.opts.raft,
          random: this.opts.random,
          onLeader: (term: number) => this.becameMaster(term),
          onRole: (role: Role) => (this.raftRole = role),
        },
      });
    }
    if (this.info.roles.includes('data')) {
      this.indices = new IndicesService({
        system,
        nodeId: this.info.id,
        dataDir: this.opts.storage ? undefined : (this.opts.dataDir ?? '.data'),
        propose: (cmd) => this.proposeCommand(cmd),
        waitForVersion: (v, ms) => this.waitForVersion(v, ms),
        stateVersion: () => this.state.version,
      });
      this.indices.start();
    }
    system.internals.spawnUnder(
      system.internals.cell('/system')!,
      'coord',
      receive((ctx, msg: ApiRequest) => {
        if (msg?.type !== 'api' || typeof msg.op !== 'string') throw Object.assign(new Error('expected {type: "api", op}'), { type: 'bad_message' });
        const replier = ctx.deferReply();
        this.metrics.measure(msg, () => handleApi(this.coordinator, () => this.state, msg)).then(
          (v) => replier?.ok(v),
          (err) => replier?.error(apiErrorBody(err)),
        );
        return undefined;
      }),
      { restart: 'permanent' },
    );
    system.internals.spawnUnder(system.internals.cell('/system')!, 'node', nodeMachine, {
      restart: 'permanent',
      input: {
        info: this.info,
        masters: this.opts.masters,
        raftPath: RAFT_PATH,
        onJoined: (result: unknown) => {
          // Shards follow the state only from this incarnation's join on: before it, a restarted
          // master-eligible node is still replaying old states from its raft log.
          const version = (result as { version?: number })?.version ?? 0;
          if (this.joinedVersion === undefined || version < this.joinedVersion) this.joinedVersion = version;
          if (this.state.version >= this.joinedVersion) this.indices?.onState(this.state);
        },
      },
    });
    system.on('nodeDown', (id) => void this.removeIfMaster(id, 'node_down'));
  }

  /** Versions held back by `stateApplyLag`, oldest first. */
  private readonly laggingStates: ClusterState[] = [];

  private applyState(next: ClusterState): void {
    const lag = this.opts.stateApplyLag;
    if (!lag) return this.applyStateNow(next);
    this.laggingStates.push(next);
    if (this.laggingStates.length === 1) this.system.clock.setTimeout(() => this.applyLaggingState(lag), lag());
  }

  private applyLaggingState(lag: () => number): void {
    const next = this.laggingStates.shift();
    if (!next || !this.system.isRunning) return;
    this.applyStateNow(next);
    if (this.laggingStates.length > 0) this.system.clock.setTimeout(() => this.applyLaggingState(lag), lag());
  }

  private applyStateNow(next: ClusterState): void {
    if (next.version < this.state.version) return;
    const before = this.state;
    this.state = next;
    // Nodes the master removed are down for death watch here too.
    for (const id of Object.keys(before.nodes)) if (!next.nodes[id] && id !== this.info.id) this.system.declareNodeDown(id, 'removed');
    if (before.nodes[this.info.id] && !next.nodes[this.info.id]) this.system.ref(NODE_PATH).tell({ type: 'node.removed' });
    if (this.joinedVersion !== undefined && next.version >= this.joinedVersion) this.indices?.onState(next);
    for (const fn of this.listeners) fn(next);
    if (this.isLeader()) {
      this.publish(next);
      this.scheduleDelayedReroute(next);
    }
  }

  private isLeader(): boolean {
    return this.raftRole === 'leader' && this.state.master?.id === this.info.id;
  }

  private becameMaster(term: number): void {
    this.propose({ op: 'master', id: this.info.id, term });
    this.scheduleReconcile(0);
  }

  /**
   * While master: drop nodes that are in the state but not alive, e.g. ones that died while there
   * was no master (their node-down came before this election). Right after this node started its
   * detector has not heard everyone yet, hence the grace period.
   */
  private scheduleReconcile(delayMs = RECONCILE_MS): void {
    if (this.reconcileTimer !== undefined) this.system.clock.clearTimeout(this.reconcileTimer);
    this.reconcileTimer = this.system.clock.setTimeout(() => {
      this.reconcileTimer = undefined;
      if (this.raftRole !== 'leader' || !this.system.isRunning) return;
      if (this.isLeader() && this.system.clock.now() - this.startedAt > STARTUP_GRACE_MS) {
        const alive = new Set(this.system.nodes());
        for (const id of Object.keys(this.state.nodes)) if (id !== this.info.id && !alive.has(id)) void this.removeIfMaster(id, 'not_alive');
      }
      this.scheduleReconcile();
    }, delayMs);
  }

  private async removeIfMaster(id: string, reason: string): Promise<void> {
    if (!this.isLeader() || !this.state.nodes[id]) return;
    this.propose({ op: 'node_leave', id, reason, at: this.system.clock.now() });
  }

  /** Replicas waiting for their node to come back are rebuilt elsewhere when their delay ends. */
  private scheduleDelayedReroute(state: ClusterState): void {
    let next = Infinity;
    for (const tables of Object.values(state.routing)) for (const t of tables) if (t.delayedUntil !== undefined) next = Math.min(next, t.delayedUntil);
    if (this.rerouteTimer !== undefined) this.system.clock.clearTimeout(this.rerouteTimer);
    this.rerouteTimer = undefined;
    if (next === Infinity) return;
    this.rerouteTimer = this.system.clock.setTimeout(() => {
      this.rerouteTimer = undefined;
      if (this.isLeader()) this.propose({ op: 'reroute', at: this.system.clock.now() });
    }, Math.max(0, next - this.system.clock.now()) + 10);
  }

  private propose(command: unknown): void {
    this.system.ask(this.raftRef, { type: 'raft.propose', data: command }, { timeoutMs: 5_000 }).catch((err: Error) => {
      this.system.log.warn({ err: err.message, command }, 'cluster-state proposal failed');
    });
  }

  private publish(state: ClusterState): void {
    for (const n of Object.values(state.nodes)) {
      if (n.roles.includes('master') || n.id === this.info.id) continue;
      this.system.tell(this.system.ref(`shoal://${this.system.cluster}/${n.id}${CSTATE_PATH}`), { type: 'publish', state });
    }
  }
}

function metricsFromEnv(): MetricsOptions | undefined {
  const port = process.env.SHOAL_METRICS_PORT;
  if (port === undefined || port === '') return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new TypeError(`SHOAL_METRICS_PORT must be a port number, got ${JSON.stringify(port)}`);
  return { port: n, host: process.env.SHOAL_METRICS_HOST || undefined };
}
