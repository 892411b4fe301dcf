import type { Logger } from 'pino';
import { decode, encode } from '../transport/codec.ts';
import { subjects } from '../transport/subjects.ts';
import type { Subscription, Transport } from '../transport/transport.ts';
import { validateHeartbeat } from '../../protocols/runtime.ts';
import type { Clock, TimerHandle } from './clock.ts';

/** Node-down comes from here; death watch turns it into `Terminated` for actors on that node. */
export interface FailureDetectorHooks {
  onNodeUp(node: string): void;
  onNodeDown(node: string, reason: string): void;
}

export interface FailureDetector {
  start(hooks: FailureDetectorHooks): void;
  /** Stop detecting; `announce` (default true) tells peers this node leaves on purpose. */
  stop(opts?: { announce?: boolean }): Promise<void>;
  isUp(node: string): boolean;
  /** Nodes currently considered up (not including this one). */
  upNodes(): string[];
}

export interface HeartbeatOptions {
  /** How often this node says it is alive. */
  intervalMs?: number;
  /** Silence after which a peer is declared down. */
  timeoutMs?: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 100;
// 10 missed beats: a node busy indexing on a loaded machine can stall its event loop for several
// hundred ms, and a false "down" costs a failover; a real crash still fails over well within 2 s.
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 1_000;

interface PeerState {
  incarnation: string;
  lastSeen: number;
}

/**
 * Every node publishes a heartbeat on `shoal.<c>.hb.<node>` and listens to everyone's. A peer
 * silent for `timeoutMs` is down; a peer that comes back with a new incarnation restarted, so
 * its old actors are gone (down, then up). A graceful shutdown says so in its last heartbeat.
 */
export class HeartbeatDetector implements FailureDetector {
  private readonly peers = new Map<string, PeerState>();
  private hooks: FailureDetectorHooks | undefined;
  private sub: Subscription | undefined;
  private beatTimer: TimerHandle | undefined;
  private checkTimer: TimerHandle | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly cluster: string,
    private readonly nodeId: string,
    private readonly incarnation: string,
    private readonly log: Logger,
    opts: HeartbeatOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS;
    if (!(this.timeoutMs > this.intervalMs)) throw new RangeError('heartbeat timeoutMs must exceed intervalMs');
  }

  start(hooks: FailureDetectorHooks): void {
    this.hooks = hooks;
    this.sub = this.transport.subscribe(subjects.heartbeatWildcard(this.cluster), (msg) => {
      let hb;
      try {
        hb = validateHeartbeat(decode(msg.data));
      } catch {
        hb = { ok: false as const, reason: 'undecodable' };
      }
      if (!hb.ok) return void this.log.warn({ subject: msg.subject, reason: hb.reason }, 'bad heartbeat');
      if (hb.value.n !== this.nodeId) this.heard(hb.value.n, hb.value.i, hb.value.l === true);
    });
    this.beat();
    this.scheduleCheck();
  }

  async stop(opts: { announce?: boolean } = {}): Promise<void> {
    if (this.beatTimer !== undefined) this.clock.clearTimeout(this.beatTimer);
    if (this.checkTimer !== undefined) this.clock.clearTimeout(this.checkTimer);
    this.beatTimer = this.checkTimer = undefined;
    if (opts.announce !== false) this.publish(true);
    this.sub?.unsubscribe();
    this.hooks = undefined;
  }

  isUp(node: string): boolean {
    return node === this.nodeId || this.peers.has(node);
  }

  upNodes(): string[] {
    return [...this.peers.keys()];
  }

  private heard(node: string, incarnation: string, leaving: boolean): void {
    const peer = this.peers.get(node);
    if (leaving) {
      if (peer && peer.incarnation === incarnation) this.down(node, 'left');
      return;
    }
    if (peer && peer.incarnation !== incarnation) this.down(node, 'restarted');
    const now = this.clock.now();
    if (peer && peer.incarnation === incarnation) {
      peer.lastSeen = now;
      return;
    }
    this.peers.set(node, { incarnation, lastSeen: now });
    this.log.info({ peer: node }, 'node up');
    this.hooks?.onNodeUp(node);
  }

  private down(node: string, reason: string): void {
    this.peers.delete(node);
    this.log.warn({ peer: node, reason }, 'node down');
    this.hooks?.onNodeDown(node, reason);
  }

  private beat(): void {
    this.publish(false);
    this.beatTimer = this.clock.setTimeout(() => this.beat(), this.intervalMs);
  }

  private publish(leaving: boolean): void {
    const hb = leaving ? { n: this.nodeId, i: this.incarnation, l: true } : { n: this.nodeId, i: this.incarnation };
    this.transport.publish(subjects.heartbeat(this.cluster, this.nodeId), encode(hb));
  }

  private scheduleCheck(): void {
    // Check at half the interval so detection lands close to timeoutMs.
    const interval = Math.max(1, Math.floor(this.intervalMs / 2));
    const scheduledAt = this.clock.now();
    this.checkTimer = this.clock.setTimeout(() => {
      const now = this.clock.now();
      if (now - scheduledAt > this.timeoutMs) {
        // Our own timer ran this late: this process was paused (SIGSTOP, GC, swap), so silence
        // says nothing about the peers. Give them a fresh timeout instead of declaring them down.
        this.log.warn({ lateMs: now - scheduledAt - interval }, 'failure detector was paused; not blaming peers');
        for (const peer of this.peers.values()) peer.lastSeen = now;
      } else {
        const deadline = now - this.timeoutMs;
        for (const [node, peer] of [...this.peers]) if (peer.lastSeen < deadline) this.down(node, 'heartbeat timeout');
      }
      this.scheduleCheck();
    }, interval);
  }
}
