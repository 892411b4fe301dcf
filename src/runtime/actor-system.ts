import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  validateActorMail,
  validateReply,
  validateSysRequest,
  type SysRequest,
} from '../../protocols/runtime.ts';
import { decode, encode, encodeMail } from '../transport/codec.ts';
import { connectNatsTransport, type NatsConnectOptions } from '../transport/nats-transport.ts';
import { assertToken, isValidToken, subjects } from '../transport/subjects.ts';
import type { Subscription, Transport, TransportMessage } from '../transport/transport.ts';
import { ActorCell, type WatcherEntry } from './actor-cell.ts';
import { ActorRef, tryParseRef, withDecodingBinding, type RefBinding } from './actor-ref.ts';
import { receive, type BehaviorSource } from './behavior.ts';
import { CellContext } from './cell-context.ts';
import { realClock, type Clock, type TimerHandle } from './clock.ts';
import { TERMINATED, type ActorContext, type Replier, type Terminated } from './context.ts';
import {
  AskTimeoutError,
  BadMessageError,
  errorFromBody,
  NodeUnreachableError,
  NoSuchActorError,
  ShoalError,
  toErrorBody,
  type ErrorBody,
} from './errors.ts';
import { LocalReplier, RemoteReplier } from './repliers.ts';
import { HeartbeatDetector, type FailureDetector, type HeartbeatOptions } from './failure-detector.ts';
import { createNodeLogger } from './logger.ts';
import type { MachineBehaviorOptions } from './machine-behavior.ts';
import { MachineRegistry } from './machine-registry.ts';
import {
  DEFAULT_MAILBOX_SIZE,
  DEFAULT_SHUTDOWN_MS,
  type RestartType,
  type SpawnOptions,
} from './supervision.ts';
import type { RuntimeStats, SystemCore } from './system-core.ts';

export interface AskOptions {
  /** Deadline for the reply; default: the system's askTimeoutMs (5 s). */
  timeoutMs?: number;
  /** The asking actor, visible to the receiver as ctx.sender. */
  sender?: ActorRef;
}

/** A named actor kind that other nodes (or scripts) can spawn here by name. */
export interface KindDefinition {
  create: (input: unknown) => BehaviorSource;
  options?: Omit<SpawnOptions, 'input'>;
}

export interface ActorSystemOptions {
  /** This node's id: unique in the cluster; letters, digits, `_` and `-`. */
  nodeId: string;
  cluster?: string;
  /** Use this transport (in-memory, fault-injecting, …). Otherwise connect to NATS with `nats`. */
  transport?: Transport;
  /** NATS connection options (servers, name, reconnect, credentials, TLS) passed to NATS.js. */
  nats?: NatsConnectOptions;
  clock?: Clock;
  logger?: Logger;
  logLevel?: string;
  /** A custom detector, heartbeat settings, or false for none (node-down only by declareNodeDown). */
  failureDetector?: FailureDetector | HeartbeatOptions | false;
  askTimeoutMs?: number;
  /** Default mailbox capacity. */
  mailboxSize?: number;
  kinds?: Record<string, KindDefinition | KindDefinition['create']>;
  machine?: MachineBehaviorOptions;
}

type NodeEvent = 'nodeUp' | 'nodeDown';

interface PendingAsk {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: TimerHandle;
  /** Node the request went to, so node-down can fail it at once. */
  node: string;
  what: string;
}

const DEFAULT_ASK_TIMEOUT_MS = 5_000;
const DEATHWATCH_PATH = '/system/deathwatch';
const PATH_CACHE_SIZE = 10_000;

/**
 * One per process (one per node): owns the NATS connection, the actor tree under `/user` and
 * `/system`, remote tell/ask, death watch, remote spawn and the node's name registry.
 */
export class ActorSystem implements RefBinding, SystemCore {
  readonly nodeId: string;
  readonly cluster: string;
  /** Changes every start: a restarted node is a new incarnation, its old actors are gone. */
  readonly incarnation: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly transport: Transport;
  readonly machineOptions: MachineBehaviorOptions;
  readonly askTimeoutMs: number;
  /** Running machine actors (for the live transition stream, src/viz/live.ts). */
  readonly machines = new MachineRegistry();
  /** Message and restart counters (for metrics, src/viz/metrics.ts). */
  readonly stats: RuntimeStats = { sentLocal: 0, sentRemote: 0, receivedRemote: 0, restarts: 0 };

  private readonly cells = new Map<string, ActorCell>();
  private readonly userGuardian: ActorCell;
  private readonly systemGuardian: ActorCell;
  private readonly kinds = new Map<string, KindDefinition>();
  private readonly names = new Map<string, ActorRef>();
  private readonly pending = new Map<string, PendingAsk>();
  /** Remote targets watched from here: target ref id → local watchers. */
  private readonly remoteWatches = new Map<string, Map<string, WatcherEntry>>();
  private readonly listeners: Record<NodeEvent, Set<(node: string, reason?: string) => void>> = {
    nodeUp: new Set(),
    nodeDown: new Set(),
  };
  private readonly subs: Subscription[] = [];
  private readonly pathBySubject = new Map<string, string>();
  private readonly replyPrefix: string;
  private readonly actorPrefixLength: number;
  private readonly mailboxSize: number;
  private readonly detector: FailureDetector | undefined;
  private readonly ownsTransport: boolean;
  private nextCorrelation = 0;
  private nextWatcherId = 0;
  private nextAnonymous = 0;
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  private shutdownPromise: Promise<void> | undefined;

  static async start(opts: ActorSystemOptions): Promise<ActorSystem> {
    assertToken('nodeId', opts.nodeId);
    const cluster = opts.cluster ?? 'shoal';
    assertToken('cluster', cluster);
    let transport = opts.transport;
    const ownsTransport = !transport;
    if (!transport) {
      if (!opts.nats) throw new TypeError('ActorSystem.start needs `transport` or `nats` options');
      transport = await connectNatsTransport({ name: `shoal-${opts.nodeId}`, ...opts.nats });
    }
    const system = new ActorSystem(opts, cluster, transport, ownsTransport);
    await transport.flush();
    return system;
  }

  private constructor(opts: ActorSystemOptions, cluster: string, transport: Transport, ownsTransport: boolean) {
    this.nodeId = opts.nodeId;
    this.cluster = cluster;
    this.transport = transport;
    this.ownsTransport = ownsTransport;
    this.incarnation = randomBytes(6).toString('hex');
    this.clock = opts.clock ?? realClock;
    this.log = createNodeLogger({ nodeId: opts.nodeId, level: opts.logLevel, logger: opts.logger });
    this.machineOptions = { registry: this.machines, ...opts.machine };
    this.askTimeoutMs = opts.askTimeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
    this.mailboxSize = opts.mailboxSize ?? DEFAULT_MAILBOX_SIZE;
    this.replyPrefix = subjects.replyPrefix(cluster, this.nodeId, this.incarnation);
    this.actorPrefixLength = subjects.actorPrefixLength(cluster, this.nodeId);

    for (const [name, def] of Object.entries(opts.kinds ?? {})) this.registerKind(name, def);

    const idle = receive(() => undefined);
    const guardianOpts = { input: undefined, restart: 'permanent' as RestartType, shutdownMs: 60_000, mailboxSize: 16, guardian: true };
    this.userGuardian = new ActorCell(this, undefined, 'user', idle, guardianOpts);
    this.systemGuardian = new ActorCell(this, undefined, 'system', idle, guardianOpts);
    for (const g of [this.userGuardian, this.systemGuardian]) {
      this.cells.set(g.path, g);
      void g.start();
    }
    // The node-level watcher: remote nodes report terminations of actors watched from here to it.
    this.spawnUnder(this.systemGuardian, 'deathwatch', receive(() => undefined), { restart: 'permanent' });

    this.subs.push(
      transport.subscribe(subjects.actorWildcard(cluster, this.nodeId), (m) => this.onActorMail(m)),
      transport.subscribe(subjects.sys(cluster, this.nodeId), (m) => this.onSysMessage(m)),
      transport.subscribe(`${this.replyPrefix}.*`, (m) => this.onReply(m)),
    );

    const fd = opts.failureDetector;
    if (fd !== false) {
      this.detector =
        fd && typeof (fd as FailureDetector).start === 'function'
          ? (fd as FailureDetector)
          : new HeartbeatDetector(transport, this.clock, cluster, this.nodeId, this.incarnation, this.log, fd as HeartbeatOptions);
      this.detector.start({
        onNodeUp: (node) => this.emit('nodeUp', node),
        onNodeDown: (node, reason) => this.declareNodeDown(node, reason),
      });
    }
    transport.closed.then(() => {
      if (this.state === 'running') this.log.error('transport closed under a running system');
    });
  }

  // ---- public API -------------------------------------------------------------------------------

  /** Spawn a top-level actor under `/user`. */
  spawn(name: string, source: BehaviorSource, opts?: SpawnOptions): ActorRef {
    return this.spawnUnder(this.userGuardian, name, source, opts);
  }

  registerKind(name: string, def: KindDefinition | KindDefinition['create']): void {
    assertToken('kind name', name);
    this.kinds.set(name, typeof def === 'function' ? { create: def } : def);
  }

  /** Start a registered kind on another node (or this one) and return its ref once it has started. */
  async spawnRemote(
    node: string,
    kind: string,
    opts: { name?: string; input?: unknown; parent?: string; timeoutMs?: number } = {},
  ): Promise<ActorRef> {
    const req: SysRequest = { op: 'spawn', kind };
    if (opts.name !== undefined) req.name = opts.name;
    if (opts.input !== undefined) req.input = opts.input;
    if (opts.parent !== undefined) req.parent = opts.parent;
    const id = await this.sysAsk<string>(node, req, opts.timeoutMs);
    return this.ref(id);
  }

  /**
   * Stop an actor (children first, in reverse start order). A remote one must live under `/user`:
   * its node stops it and answers once it has stopped.
   */
  async stop(ref: ActorRef | string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const r = this.ref(ref);
    if (r.node !== this.nodeId || r.cluster !== this.cluster) {
      await this.sysAsk(r.node, { op: 'stop', target: r.path }, opts.timeoutMs);
      return;
    }
    const cell = this.cells.get(r.path);
    if (!cell) throw new NoSuchActorError(`no local actor ${r.id}`);
    await cell.stop('stopped');
  }

  /** Fire and forget. Throws OverloadedError/NoSuchActorError for a local target that cannot take it. */
  tell(ref: ActorRef, message: unknown, from?: ActorRef): void {
    if (this.state === 'stopped') return;
    if (ref.node === this.nodeId && ref.cluster === this.cluster) {
      const cell = this.cells.get(ref.path);
      if (!cell) return void this.log.debug({ to: ref.path }, 'dead letter: no such actor');
      this.stats.sentLocal++;
      cell.enqueue(from ? { message, sender: from } : { message });
      return;
    }
    this.stats.sentRemote++;
    this.transport.publish(ref.mailSubject, this.encodeMail(message, from));
  }

  /** Request/reply with a deadline; rejects with a typed ShoalError. */
  ask<T = unknown>(ref: ActorRef, message: unknown, opts: AskOptions = {}): Promise<T> {
    if (this.state === 'stopped') return Promise.reject(new ShoalError('system_stopped', 'actor system has stopped'));
    const timeoutMs = opts.timeoutMs ?? this.askTimeoutMs;
    if (ref.node === this.nodeId && ref.cluster === this.cluster) {
      this.stats.sentLocal++;
      return this.askLocal<T>(ref, message, opts.sender, timeoutMs);
    }
    this.stats.sentRemote++;
    let data: Uint8Array;
    try {
      data = this.encodeMail(message, opts.sender);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request<T>(ref.mailSubject, data, ref.node, ref.id, timeoutMs);
  }

  /** A bound ref from a ref id (`shoal://c/node/path`), a local path (`/user/a`), or a ref. */
  ref(target: ActorRef | string): ActorRef {
    if (typeof target !== 'string') return target.withBinding(this);
    if (target.startsWith('/')) return this.localRef(target);
    return ActorRef.parse(target, this);
  }

  localRef(path: string): ActorRef {
    return new ActorRef(this.cluster, this.nodeId, path, this);
  }

  /** Death watch from a script: `onTerminated` runs once when the target stops or its node goes down. */
  watch(target: ActorRef | string, onTerminated: (ref: ActorRef, reason: string) => void): () => void {
    const ref = this.ref(target);
    const key = `cb:${this.nextWatcherId++}`;
    this.addWatch(ref, key, { kind: 'callback', fn: onTerminated });
    return () => this.removeWatch(ref, key);
  }

  /** Register a name in this node's registry (names are unique per node). */
  register(name: string, ref: ActorRef): void {
    assertToken('registered name', name);
    const existing = this.names.get(name);
    if (existing && !existing.equals(ref)) throw new ShoalError('name_taken', `name '${name}' is registered to ${existing.id}`);
    this.names.set(name, ref);
  }

  unregister(name: string): void {
    this.names.delete(name);
  }

  whereis(name: string): ActorRef | undefined {
    return this.names.get(name);
  }

  /** Find a registered name on another node. */
  async lookup(node: string, name: string, timeoutMs?: number): Promise<ActorRef | undefined> {
    if (node === this.nodeId) return this.whereis(name);
    const id = await this.sysAsk<string | null>(node, { op: 'lookup', name }, timeoutMs);
    return id ? this.ref(id) : undefined;
  }

  /** Nodes the failure detector currently sees as up (other than this one). */
  nodes(): string[] {
    return this.detector?.upNodes() ?? [];
  }

  on(event: NodeEvent, fn: (node: string, reason?: string) => void): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  /** Node-down from any failure detector: every watch of an actor on that node fires. */
  declareNodeDown(node: string, reason = 'node_down'): void {
    if (node === this.nodeId) return;
    for (const [targetId, watchers] of [...this.remoteWatches]) {
      const target = tryParseRef(targetId, this);
      if (target?.node !== node) continue;
      this.remoteWatches.delete(targetId);
      for (const w of watchers.values()) this.deliverTerminated(w, target, 'node_down');
    }
    // Watchers that lived on the dead node will never read a Terminated.
    for (const cell of this.cells.values()) {
      for (const [key, w] of cell.watchers) if (w.kind === 'actor' && w.ref.node === node) cell.watchers.delete(key);
    }
    for (const [id, p] of [...this.pending]) {
      if (p.node !== node) continue;
      this.clock.clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new NodeUnreachableError(`node ${node} is down (${reason})`));
    }
    this.emit('nodeDown', node, reason);
  }

  /** Graceful shutdown: actors stop in reverse start order, peers hear we left, the connection drains. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  /** Stop dead, as a crashed process would: no stop hooks, no goodbye (for simulation). */
  halt(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const g of [this.userGuardian, this.systemGuardian]) g.kill('killed');
    for (const s of this.subs) s.unsubscribe();
    this.rejectAllPending();
    void this.detector?.stop({ announce: false }).catch(() => undefined);
    void this.transport.close().catch(() => undefined);
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** Actor paths alive on this node (for diagnostics and tests). */
  actorPaths(): string[] {
    return [...this.cells.keys()];
  }

  /** Runtime hooks used by behaviours (machines, contexts); not for applications. */
  readonly internals = {
    spawnUnder: (parent: ActorCell, name: string, source: BehaviorSource, opts?: SpawnOptions) =>
      this.spawnUnder(parent, name, source, opts),
    spawnKindUnder: (parent: ActorRef, kind: string, name: string | undefined, input: unknown) => {
      const cell = this.cells.get(parent.path);
      if (!cell) throw new NoSuchActorError(`no local actor ${parent.path}`);
      return this.spawnKind(cell, kind, name || undefined, input);
    },
    failActor: (ref: ActorRef, err: unknown) => this.cells.get(ref.path)?.fail(err),
    watchFromActor: (watcher: ActorCell, target: ActorRef) => {
      watcher.watching.add(target.id);
      this.addWatch(target, watcher.ref.id, { kind: 'actor', ref: watcher.ref });
    },
    unwatchFromActor: (watcher: ActorCell, target: ActorRef) => {
      watcher.watching.delete(target.id);
      this.removeWatch(target, watcher.ref.id);
    },
    cell: (path: string) => this.cells.get(path),
  };

  // ---- SystemCore (used by cells) -----------------------------------------------------------------

  makeContext(cell: ActorCell): ActorContext {
    return new CellContext(cell, this);
  }

  cellStopped(cell: ActorCell, reason: string): void {
    if (this.cells.get(cell.path) === cell) this.cells.delete(cell.path);
    for (const [name, ref] of this.names) if (ref.equals(cell.ref)) this.names.delete(name);
    for (const targetId of cell.watching) this.removeWatch(this.ref(targetId), cell.ref.id);
    cell.watching.clear();
    const watchers = [...cell.watchers.values()];
    cell.watchers.clear();
    for (const w of watchers) this.deliverTerminated(w, cell.ref, reason);
  }

  // ---- spawning ------------------------------------------------------------------------------------------

  private spawnUnder(parent: ActorCell, name: string, source: BehaviorSource, opts: SpawnOptions = {}): ActorRef {
    if (this.state !== 'running') throw new ShoalError('system_stopped', 'actor system is shutting down');
    if (!isValidToken(name)) throw new ShoalError('invalid_argument', `actor name must match [A-Za-z0-9_-]{1,128}, got ${JSON.stringify(name)}`);
    if (parent.status === 'stopping' || parent.status === 'stopped') {
      throw new NoSuchActorError(`parent ${parent.path} is stopping`);
    }
    if (parent.children.has(name)) throw new ShoalError('name_taken', `${parent.path}/${name} already exists`);
    if (opts.register) this.register(opts.register, this.localRef(`${parent.path}/${name}`));
    const cell = new ActorCell(this, parent, name, source, {
      input: opts.input,
      restart: opts.restart ?? 'transient',
      shutdownMs: opts.shutdownMs ?? DEFAULT_SHUTDOWN_MS,
      mailboxSize: opts.mailboxSize ?? this.mailboxSize,
    });
    parent.children.set(name, cell);
    this.cells.set(cell.path, cell);
    void cell.start();
    return cell.ref;
  }

  private spawnKind(parent: ActorCell, kind: string, name: string | undefined, input: unknown): ActorRef {
    const def = this.kinds.get(kind);
    if (!def) throw new ShoalError('unknown_kind', `no actor kind '${kind}' is registered on node ${this.nodeId}`);
    const actorName = name ?? `${kind}-${(this.nextAnonymous++).toString(36)}`;
    return this.spawnUnder(parent, actorName, def.create(input), { ...def.options, input });
  }

  // ---- death watch ---------------------------------------------------------------------------------------

  private addWatch(target: ActorRef, key: string, entry: WatcherEntry): void {
    if (target.node === this.nodeId) {
      const cell = this.cells.get(target.path);
      if (!cell) return this.clock.schedule(() => this.deliverTerminated(entry, target, 'no_such_actor'));
      cell.watchers.set(key, entry);
      return;
    }
    let watchers = this.remoteWatches.get(target.id);
    const first = !watchers;
    if (!watchers) this.remoteWatches.set(target.id, (watchers = new Map()));
    watchers.set(key, entry);
    if (!first) return;
    // One watch per remote target per node; the remote side reports to our deathwatch actor.
    const req: SysRequest = { op: 'watch', target: target.path, watcher: this.localRef(DEATHWATCH_PATH).id };
    this.sysAsk(target.node, req).catch((err: unknown) => {
      const reason = err instanceof ShoalError && err.type === 'no_such_actor' ? 'no_such_actor' : 'node_unreachable';
      this.fireRemoteTerminated(target, reason);
    });
  }

  private removeWatch(target: ActorRef, key: string): void {
    if (target.node === this.nodeId) {
      this.cells.get(target.path)?.watchers.delete(key);
      return;
    }
    const watchers = this.remoteWatches.get(target.id);
    if (!watchers?.delete(key) || watchers.size > 0) return;
    this.remoteWatches.delete(target.id);
    this.sysTell(target.node, { op: 'unwatch', target: target.path, watcher: this.localRef(DEATHWATCH_PATH).id });
  }

  private fireRemoteTerminated(target: ActorRef, reason: string): void {
    const watchers = this.remoteWatches.get(target.id);
    if (!watchers) return;
    this.remoteWatches.delete(target.id);
    for (const w of watchers.values()) this.deliverTerminated(w, target, reason);
  }

  private deliverTerminated(w: WatcherEntry, ref: ActorRef, reason: string): void {
    if (w.kind === 'callback') {
      try {
        w.fn(ref, reason);
      } catch (err) {
        this.log.error({ err }, 'death-watch callback threw');
      }
      return;
    }
    if (w.ref.node !== this.nodeId) {
      this.sysTell(w.ref.node, { op: 'terminated', ref: ref.id, watcher: w.ref.id, reason });
      return;
    }
    const cell = this.cells.get(w.ref.path);
    if (!cell) return;
    cell.watching.delete(ref.id);
    const msg: Terminated = { type: TERMINATED, ref, reason };
    cell.enqueueSystem({ message: msg });
  }

  // ---- inbound traffic --------------------------------------------------------------------------------

  private onActorMail(m: TransportMessage): void {
    if (this.state === 'stopped') return;
    this.stats.receivedRemote++;
    const path = this.pathOf(m.subject);
    const replier = m.reply ? new RemoteReplier(this.transport, m.reply) : undefined;
    let mail;
    try {
      mail = validateActorMail(this.decodeBound(m.data));
    } catch (err) {
      mail = { ok: false as const, reason: `undecodable msgpack: ${(err as Error).message}` };
    }
    if (!mail.ok) {
      this.log.warn({ to: path, reason: mail.reason }, 'malformed actor mail');
      replier?.error(new BadMessageError(mail.reason));
      return;
    }
    const cell = this.cells.get(path);
    if (!cell) {
      if (replier) replier.error(new NoSuchActorError(`no actor ${path} on node ${this.nodeId}`));
      else this.log.debug({ to: path }, 'dead letter: no such actor');
      return;
    }
    const sender = mail.value.f !== undefined ? tryParseRef(mail.value.f, this) : undefined;
    try {
      cell.enqueue({ message: mail.value.m, sender, reply: replier }, { inline: true });
    } catch (err) {
      // A remote tell into a full mailbox: the sender has no reply subject to hear it on.
      this.log.warn({ to: path, reason: (err as Error).message }, 'tell dropped');
    }
  }

  private onReply(m: TransportMessage): void {
    const id = m.subject.slice(this.replyPrefix.length + 1);
    const p = this.pending.get(id);
    if (!p) return; // late reply after a timeout
    this.pending.delete(id);
    this.clock.clearTimeout(p.timer);
    if (m.noResponders) {
      p.reject(new NodeUnreachableError(`node ${p.node} is not reachable (no responders for ${p.what})`));
      return;
    }
    let reply;
    try {
      reply = validateReply(this.decodeBound(m.data));
    } catch (err) {
      reply = { ok: false as const, reason: `undecodable reply: ${(err as Error).message}` };
    }
    if (!reply.ok) return p.reject(new BadMessageError(reply.reason));
    if ('err' in reply.value) p.reject(errorFromBody(reply.value.err));
    else p.resolve(reply.value.ok);
  }

  private onSysMessage(m: TransportMessage): void {
    if (this.state === 'stopped') return;
    const replier = m.reply ? new RemoteReplier(this.transport, m.reply) : undefined;
    let req;
    try {
      req = validateSysRequest(this.decodeBound(m.data));
    } catch (err) {
      req = { ok: false as const, reason: `undecodable msgpack: ${(err as Error).message}` };
    }
    if (!req.ok) {
      this.log.warn({ reason: req.reason }, 'malformed system message');
      replier?.error(new BadMessageError(req.reason));
      return;
    }
    try {
      this.handleSys(req.value, replier);
    } catch (err) {
      replier?.error(toErrorBody(err));
    }
  }

  private handleSys(req: SysRequest, replier: Replier | undefined): void {
    switch (req.op) {
      case 'ping':
        return replier?.ok('pong');
      case 'watch': {
        const cell = this.cells.get(req.target);
        const watcher = tryParseRef(req.watcher, this);
        if (!watcher) return replier?.error(new BadMessageError('watcher is not an actor ref'));
        if (!cell) return replier?.error(new NoSuchActorError(`no actor ${req.target} on node ${this.nodeId}`));
        cell.watchers.set(watcher.id, { kind: 'actor', ref: watcher });
        return replier?.ok(true);
      }
      case 'unwatch':
        this.cells.get(req.target)?.watchers.delete(req.watcher);
        return replier?.ok(true);
      case 'terminated': {
        const ref = tryParseRef(req.ref, this);
        if (ref) this.fireRemoteTerminated(ref, req.reason);
        return replier?.ok(true);
      }
      case 'lookup':
        return replier?.ok(this.names.get(req.name)?.id ?? null);
      case 'stop': {
        if (!req.target.startsWith('/user/')) return replier?.error(new BadMessageError(`only actors under /user can be stopped from another node, not ${req.target}`));
        const cell = this.cells.get(req.target);
        if (!cell) return replier?.error(new NoSuchActorError(`no actor ${req.target} on node ${this.nodeId}`));
        cell.stop('stopped').then(
          () => replier?.ok(true),
          (err: Error) => replier?.error(err),
        );
        return;
      }
      case 'spawn': {
        const parent = this.cells.get(req.parent ?? '/user');
        if (!parent) return replier?.error(new NoSuchActorError(`no parent ${req.parent} on node ${this.nodeId}`));
        const ref = this.spawnKind(parent, req.kind, req.name, req.input);
        const cell = this.cells.get(ref.path)!;
        cell.whenStarted().then(() => replier?.ok(ref.id));
        return;
      }
    }
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  private askLocal<T>(ref: ActorRef, message: unknown, sender: ActorRef | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const cell = this.cells.get(ref.path);
      if (!cell) return reject(new NoSuchActorError(`no actor ${ref.path} on node ${this.nodeId}`));
      // (An argument, not a named const: tsx names every closure bound to a name with a defineProperty call.)
      const replier = new LocalReplier(this.clock, resolve as (v: unknown) => void, reject, timeoutMs, () => new AskTimeoutError(`no reply from ${ref.id} within ${timeoutMs} ms`));
      cell.enqueue({ message, sender, reply: replier });
    });
  }

  /** Publish with a reply subject on our muxed inbox; the reply, no-responders or the deadline settles it. */
  private request<T>(subject: string, data: Uint8Array, node: string, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = (this.nextCorrelation++).toString(36);
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new AskTimeoutError(`no reply from ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, node, what });
      this.transport.publish(subject, data, { reply: `${this.replyPrefix}.${id}` });
    });
  }

  private sysAsk<T>(node: string, req: SysRequest, timeoutMs?: number): Promise<T> {
    if (node === this.nodeId) {
      return new Promise<T>((resolve, reject) =>
        this.handleSys(req, {
          done: false,
          ok(v) {
            resolve(v as T);
          },
          error(e) {
            reject(e instanceof Error ? e : errorFromBody(e));
          },
        }),
      );
    }
    if (this.state === 'stopped') return Promise.reject(new ShoalError('system_stopped', 'actor system has stopped'));
    return this.request<T>(subjects.sys(this.cluster, node), encode(req), node, `node ${node}`, timeoutMs ?? this.askTimeoutMs);
  }

  private sysTell(node: string, req: SysRequest): void {
    if (this.state === 'stopped') return;
    this.transport.publish(subjects.sys(this.cluster, node), encode(req));
  }

  private encodeMail(message: unknown, from: ActorRef | undefined): Uint8Array {
    try {
      return encodeMail(from ? { m: message, f: from.id } : { m: message });
    } catch (err) {
      throw new BadMessageError(`message is not serialisable: ${(err as Error).message}`);
    }
  }

  /** Actor path from a mail subject; cached, since a node talks to few actors many times. */
  private pathOf(subject: string): string {
    let path = this.pathBySubject.get(subject);
    if (path === undefined) {
      path = '/' + subject.slice(this.actorPrefixLength).replaceAll('.', '/');
      if (this.pathBySubject.size >= PATH_CACHE_SIZE) this.pathBySubject.clear();
      this.pathBySubject.set(subject, path);
    }
    return path;
  }

  private decodeBound(data: Uint8Array): unknown {
    return withDecodingBinding(this, () => decode(data));
  }

  private emit(event: NodeEvent, node: string, reason?: string): void {
    for (const fn of this.listeners[event]) {
      try {
        fn(node, reason);
      } catch (err) {
        this.log.error({ err }, `${event} listener threw`);
      }
    }
  }

  private rejectAllPending(): void {
    for (const p of this.pending.values()) {
      this.clock.clearTimeout(p.timer);
      p.reject(new ShoalError('system_stopped', 'actor system has stopped'));
    }
    this.pending.clear();
  }

  private async doShutdown(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.log.info('shutting down');
    await this.userGuardian.stop('shutdown');
    await this.systemGuardian.stop('shutdown');
    await this.detector?.stop();
    this.state = 'stopped';
    this.rejectAllPending();
    for (const s of this.subs) s.unsubscribe();
    if (this.ownsTransport) await this.transport.close();
    else await this.transport.flush().catch(() => undefined);
  }
}
