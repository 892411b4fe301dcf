import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import type { LiveMachine, MachineRegistry } from '../runtime/machine-registry.ts';
import { pathToTokens, SUBJECT_ROOT } from '../transport/subjects.ts';
import type { Subscription, Transport, TransportMessage } from '../transport/transport.ts';

/**
 * The live transition stream: every machine actor's transitions, published on NATS while someone
 * watches.
 *
 * Subjects (JSON payloads, so a browser dashboard on NATS over WebSocket reads them as they are):
 *
 * | subject | who publishes | payload |
 * | --- | --- | --- |
 * | `shoal.<c>.viz.<node>.<actor path tokens>` | a node, while watched | VizEvent |
 * | `shoal.<c>.vizctl.interest` | a watcher, every lease/3 | VizInterest (`leaseMs: 0` = gone) |
 * | `shoal.<c>.vizctl.hello` | a node, when it starts | `{node}`: watchers announce at once |
 *
 * Nothing is published, and xstate runs without an inspection observer, while no watcher's lease
 * is current: a watcher announces its interest (which nodes, which path prefix, which kinds) and
 * renews it; a node keeps the interests it heard, and attaches an inspection observer to the
 * machine actors they match until the last lease runs out or the watcher says goodbye.
 */
export const vizSubjects = {
  /** Transitions of one actor. */
  events: (cluster: string, node: string, path: string) => `${SUBJECT_ROOT}.${cluster}.viz.${node}.${pathToTokens(path)}`,
  /** Every transition in the cluster (for a raw subscription). */
  all: (cluster: string) => `${SUBJECT_ROOT}.${cluster}.viz.>`,
  interest: (cluster: string) => `${SUBJECT_ROOT}.${cluster}.vizctl.interest`,
  hello: (cluster: string) => `${SUBJECT_ROOT}.${cluster}.vizctl.hello`,
};

/** A watcher's announcement. Every filter field is optional: absent means everything. */
export interface VizInterest {
  /** The watcher's id (unique per watcher). */
  id: string;
  /** How long this announcement holds; 0 withdraws it. */
  leaseMs: number;
  /** Only these nodes publish. */
  nodes?: string[];
  /** Only actors at this path or below it (`/system/indices`). */
  pathPrefix?: string;
  /** Only these machine ids (`shard`, `raft`, `node`, `replicaGroup`, …). */
  kinds?: string[];
  /** Add a summary of the machine's context (its primitive fields) to each event. */
  context?: boolean;
}

/** One transition (or, with `event: 'shoal.viz.attached'`, an actor's state when watching began). */
export interface VizEvent {
  v: 1;
  cluster: string;
  node: string;
  /** Actor path. */
  actor: string;
  /** The machine's id. */
  kind: string;
  /** State value before (null when the actor was just created) and after, as xstate gives them. */
  from: unknown;
  to: unknown;
  /** Active leaf states after the transition, as chart ids (`shard.started.primary`). */
  active: string[];
  /** The event that caused it (`xstate.init` for a new actor's first steps). */
  event: string;
  /** Wall-clock milliseconds (the node's clock). */
  ts: number;
  /** Per actor and per node incarnation, from 1. */
  seq: number;
  context?: Record<string, string | number | boolean | null>;
}

export const ATTACHED_EVENT = 'shoal.viz.attached';
const MAX_LEASE_MS = 5 * 60_000;
const MAX_CONTEXT_KEYS = 24;

interface Held {
  interest: VizInterest;
  expiresAt: number;
}

interface Watched {
  path: string;
  kind: string;
  live?: LiveMachine;
  /** The observer attached through `actor.system.inspect`, when attached after birth. */
  sub?: { unsubscribe(): void };
  on: boolean;
  last: unknown;
  seq: number;
  context: boolean;
}

export interface VizHost {
  cluster: string;
  nodeId: string;
  transport: Transport;
  clock: Clock;
  machines: MachineRegistry;
  log: Logger;
}

/** Publishes one node's machine transitions while watched. */
export class VizPublisher {
  private readonly interests = new Map<string, Held>();
  private readonly watched = new Map<string, Watched>();
  private readonly sub: Subscription;
  private readonly unlisten: () => void;
  private timer: TimerHandle | undefined;
  private closed = false;
  /** Events published (for tests and metrics). */
  published = 0;

  static attach(host: VizHost): VizPublisher {
    return new VizPublisher(host);
  }

  private constructor(private readonly host: VizHost) {
    this.sub = host.transport.subscribe(vizSubjects.interest(host.cluster), (m) => this.onInterest(m));
    this.unlisten = host.machines.listen({
      added: (m) => this.added(m),
      removed: (m) => this.removed(m),
      inspectFromBirth: (path, kind) => this.fromBirth(path, kind),
    });
    host.transport.publish(vizSubjects.hello(host.cluster), Buffer.from(JSON.stringify({ node: host.nodeId })));
  }

  /** Watchers whose lease is current. */
  get activeInterests(): number {
    this.prune();
    return this.interests.size;
  }

  /** Actors with an inspection observer on. */
  get watchedActors(): number {
    let n = 0;
    for (const w of this.watched.values()) if (w.on) n++;
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub.unsubscribe();
    this.unlisten();
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.interests.clear();
    this.update();
  }

  // ---- interest ---------------------------------------------------------------------------------

  private onInterest(m: TransportMessage): void {
    if (this.closed) return;
    let interest: VizInterest | undefined;
    try {
      interest = validateInterest(JSON.parse(Buffer.from(m.data).toString('utf8')));
    } catch {
      interest = undefined;
    }
    if (!interest) return void this.host.log.debug('malformed viz interest ignored');
    if (interest.nodes && !interest.nodes.includes(this.host.nodeId)) {
      if (this.interests.delete(interest.id)) this.update();
      return;
    }
    if (interest.leaseMs <= 0) this.interests.delete(interest.id);
    else this.interests.set(interest.id, { interest, expiresAt: this.host.clock.now() + Math.min(interest.leaseMs, MAX_LEASE_MS) });
    this.update();
    // A watcher that asked for an acknowledgement knows this node now publishes what it asked for.
    if (m.reply) this.host.transport.publish(m.reply, Buffer.from(JSON.stringify({ node: this.host.nodeId, id: interest.id })));
  }

  private prune(): boolean {
    const now = this.host.clock.now();
    let changed = false;
    for (const [id, h] of this.interests) {
      if (h.expiresAt <= now) {
        this.interests.delete(id);
        changed = true;
      }
    }
    return changed;
  }

  /** Attach or detach observers to match the current interests; wake up when the next lease ends. */
  private update(): void {
    this.prune();
    for (const m of this.host.machines.all()) this.reconcile(m);
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
    let next = Infinity;
    for (const h of this.interests.values()) next = Math.min(next, h.expiresAt);
    if (next !== Infinity) {
      this.timer = this.host.clock.setTimeout(() => {
        this.timer = undefined;
        this.update();
      }, Math.max(1, next - this.host.clock.now()));
    }
  }

  /** Does some current interest want this actor, and does it want its context? */
  private wants(path: string, kind: string): { on: boolean; context: boolean } {
    let on = false;
    let context = false;
    for (const { interest: i } of this.interests.values()) {
      if (i.kinds && !i.kinds.includes(kind)) continue;
      if (i.pathPrefix && i.pathPrefix !== '/' && path !== i.pathPrefix && !path.startsWith(`${i.pathPrefix}/`)) continue;
      on = true;
      if (i.context) context = true;
    }
    return { on, context };
  }

  // ---- machines ---------------------------------------------------------------------------------

  private fromBirth(path: string, kind: string): ((event: unknown) => void) | undefined {
    if (this.interests.size === 0 || this.closed) return undefined;
    const want = this.wants(path, kind);
    if (!want.on) return undefined;
    const w: Watched = { path, kind, on: true, last: null, seq: 0, context: want.context };
    this.watched.set(path, w);
    return (ev) => this.onInspect(w, ev);
  }

  private added(m: LiveMachine): void {
    const w = this.watched.get(m.path);
    if (w && !w.live && w.kind === m.kind) {
      // Inspected since its creation: its first steps (if any) are already out.
      w.live = m;
      if (w.seq === 0) this.publish(w, m.actor.getSnapshot(), 'xstate.init');
      w.last = m.actor.getSnapshot().value;
      return;
    }
    this.reconcile(m);
  }

  private removed(m: LiveMachine): void {
    const w = this.watched.get(m.path);
    if (!w || w.live !== m) return;
    w.sub?.unsubscribe();
    w.on = false;
    this.watched.delete(m.path);
  }

  private reconcile(m: LiveMachine): void {
    const want = this.wants(m.path, m.kind);
    let w = this.watched.get(m.path);
    if (w && w.live !== m) w = undefined;
    if (!want.on) {
      if (w?.on) {
        w.on = false; // an observer given at creation cannot be removed: it is switched off
        w.sub?.unsubscribe();
        w.sub = undefined;
      }
      return;
    }
    if (w?.on) {
      w.context = want.context;
      return;
    }
    if (!w) {
      w = { path: m.path, kind: m.kind, live: m, on: false, last: null, seq: 0, context: want.context };
      this.watched.set(m.path, w);
    }
    const watched = w;
    watched.on = true;
    watched.context = want.context;
    watched.last = m.actor.getSnapshot().value;
    if (!watched.sub) watched.sub = m.actor.system.inspect((ev: unknown) => this.onInspect(watched, ev));
    this.publish(watched, m.actor.getSnapshot(), ATTACHED_EVENT, null);
  }

  private onInspect(w: Watched, ev: unknown): void {
    if (!w.on) return;
    const e = ev as { type: string; actorRef?: { id?: string }; event?: { type?: string }; snapshot?: { value?: unknown }; _transitions?: { target?: unknown[] }[] };
    if (e.type !== '@xstate.microstep' || e.actorRef?.id !== w.path) return;
    // Transitions that only run actions do not move the machine: they are not published.
    if (!e._transitions?.some((t) => t.target && t.target.length > 0)) return;
    this.publish(w, e.snapshot as Snap, e.event?.type ?? '');
  }

  private publish(w: Watched, snap: Snap, event: string, from: unknown = w.last): void {
    const to = snap?.value;
    w.last = to;
    const out: VizEvent = {
      v: 1,
      cluster: this.host.cluster,
      node: this.host.nodeId,
      actor: w.path,
      kind: w.kind,
      from,
      to,
      active: activeLeaves(w.kind, to),
      event,
      ts: Date.now(),
      seq: ++w.seq,
    };
    if (w.context) out.context = summarize(snap?.context);
    let data: Buffer;
    try {
      data = Buffer.from(JSON.stringify(out));
    } catch {
      return;
    }
    this.published++;
    this.host.transport.publish(vizSubjects.events(this.host.cluster, this.host.nodeId, w.path), data);
  }
}

type Snap = { value?: unknown; context?: unknown };

/** Leaf state ids of a state value: `{started: {replica: 'active'}}` → `shard.started.replica.active`. */
export function activeLeaves(machineId: string, value: unknown): string[] {
  const out: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') out.push(`${prefix}.${v}`);
    else if (v && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) out.push(prefix);
      for (const [k, sub] of entries) walk(`${prefix}.${k}`, sub);
    }
  };
  walk(machineId, value);
  return out;
}

/** The primitive fields of a context (objects, functions and long strings left out). */
export function summarize(context: unknown): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  if (!context || typeof context !== 'object') return out;
  let n = 0;
  for (const [k, v] of Object.entries(context as Record<string, unknown>)) {
    if (n >= MAX_CONTEXT_KEYS) break;
    if (v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 200)) {
      out[k] = v as string | number | boolean | null;
      n++;
    }
  }
  return out;
}

const strings = (x: unknown): x is string[] => Array.isArray(x) && x.length <= 1_000 && x.every((s) => typeof s === 'string');

export function validateInterest(x: unknown): VizInterest | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const o = x as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id.length === 0 || o.id.length > 200) return undefined;
  if (typeof o.leaseMs !== 'number' || !Number.isFinite(o.leaseMs)) return undefined;
  if (o.nodes !== undefined && !strings(o.nodes)) return undefined;
  if (o.kinds !== undefined && !strings(o.kinds)) return undefined;
  if (o.pathPrefix !== undefined && (typeof o.pathPrefix !== 'string' || !o.pathPrefix.startsWith('/'))) return undefined;
  if (o.context !== undefined && typeof o.context !== 'boolean') return undefined;
  const out: VizInterest = { id: o.id, leaseMs: o.leaseMs };
  if (o.nodes) out.nodes = o.nodes as string[];
  if (o.kinds) out.kinds = o.kinds as string[];
  if (o.pathPrefix) out.pathPrefix = (o.pathPrefix as string).replace(/\/+$/, '') || '/';
  if (o.context) out.context = true;
  return out;
}
