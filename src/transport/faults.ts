/**
 * Fault injection for any Transport (NATS or memory). One FaultPlan is shared by all nodes in a
 * process and can be changed at run time (partitions, blocks, rates). Each node wraps its
 * transport in a FaultyTransport, which stamps its node id on everything it publishes and applies
 * the plan's decision to everything it receives. Faults are applied at the receiving side because
 * a broadcast has no single destination.
 *
 * Determinism: decide() draws from one SeededRandom, so for a given seed the decisions depend only
 * on the order of decide() calls — which is deterministic when delivery is driven by a
 * SimulatedClock over a MemoryNetwork.
 */
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import { SeededRandom } from '../runtime/random.ts';
import type {
  MessageHandler,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportMessage,
} from './transport.ts';

export interface FaultRates {
  /** Probability a message is dropped. */
  dropRate?: number;
  /** Probability a (not dropped) message is delivered twice: now and again after a random delay. */
  duplicateRate?: number;
  /** Probability a (not dropped, not duplicated) message is delivered after a random delay. */
  delayRate?: number;
  /** Random delays are uniform integers in [minDelayMs, maxDelayMs]. Defaults 1 and 100. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface FaultPlanOptions extends FaultRates {
  seed: number;
}

export type FaultDecision =
  | { action: 'deliver' }
  | { action: 'drop' }
  | { action: 'delay'; ms: number }
  | { action: 'duplicate'; delayMs: number };

export interface FaultStats {
  delivered: number;
  dropped: number;
  delayed: number;
  duplicated: number;
  /** Subset of `dropped`: dropped by a partition, block or isolation. */
  blocked: number;
}

const DELIVER: FaultDecision = Object.freeze({ action: 'deliver' });
const DROP: FaultDecision = Object.freeze({ action: 'drop' });

export class FaultPlan {
  private readonly rng: SeededRandom;
  private rates: Required<FaultRates>;
  /** Directed links that are cut: from -> set of to. */
  private readonly cut = new Map<string, Set<string>>();
  private readonly isolated = new Set<string>();
  readonly stats: FaultStats = { delivered: 0, dropped: 0, delayed: 0, duplicated: 0, blocked: 0 };

  constructor(opts: FaultPlanOptions) {
    this.rng = new SeededRandom(opts.seed);
    this.rates = { dropRate: 0, duplicateRate: 0, delayRate: 0, minDelayMs: 1, maxDelayMs: 100 };
    this.setRates(opts);
  }

  /** Symmetric partition: nothing crosses between group a and group b (either way). */
  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  /** Asymmetric: messages from `from` no longer reach `to`. */
  block(from: string, to: string): void {
    let s = this.cut.get(from);
    if (!s) this.cut.set(from, (s = new Set()));
    s.add(to);
  }

  /** Undo one block(from, to). */
  unblock(from: string, to: string): void {
    this.cut.get(from)?.delete(to);
  }

  /** Cut `node` off from every other node, both ways (including nodes that join later). */
  isolate(node: string): void {
    this.isolated.add(node);
  }

  /** Remove all partitions, blocks and isolations. Rates are unchanged. */
  heal(): void {
    this.cut.clear();
    this.isolated.clear();
  }

  /** Change some rates; unspecified ones keep their current value. */
  setRates(r: FaultRates): void {
    const next = { ...this.rates };
    for (const k of ['dropRate', 'duplicateRate', 'delayRate', 'minDelayMs', 'maxDelayMs'] as const) {
      const v = r[k];
      if (v !== undefined) next[k] = v;
    }
    for (const k of ['dropRate', 'duplicateRate', 'delayRate'] as const) {
      if (!(next[k] >= 0 && next[k] <= 1)) throw new RangeError(`FaultPlan: ${k} must be in [0, 1]`);
    }
    if (!(next.minDelayMs >= 0 && next.maxDelayMs >= next.minDelayMs)) {
      throw new RangeError('FaultPlan: need 0 <= minDelayMs <= maxDelayMs');
    }
    this.rates = next;
  }

  getRates(): Readonly<Required<FaultRates>> {
    return { ...this.rates };
  }

  /** True if a partition, block or isolation stops messages from `from` reaching `to`. */
  isBlocked(from: string, to: string): boolean {
    if (from === to) return false;
    if (this.isolated.has(from) || this.isolated.has(to)) return true;
    return this.cut.get(from)?.has(to) ?? false;
  }

  /**
   * What happens to one message from `from` arriving at `to`. Unknown `from` (e.g. no-responders
   * status) and self-delivery are always delivered and draw nothing from the generator.
   * Otherwise a random draw is made for each non-zero rate, in the order drop, duplicate, delay.
   */
  decide(from: string | undefined, to: string): FaultDecision {
    if (from === undefined || from === to) return this.count(DELIVER);
    if (this.isBlocked(from, to)) {
      this.stats.blocked++;
      return this.count(DROP);
    }
    const { dropRate, duplicateRate, delayRate } = this.rates;
    if (dropRate > 0 && this.rng.chance(dropRate)) return this.count(DROP);
    if (duplicateRate > 0 && this.rng.chance(duplicateRate)) {
      return this.count({ action: 'duplicate', delayMs: this.randomDelay() });
    }
    if (delayRate > 0 && this.rng.chance(delayRate)) {
      return this.count({ action: 'delay', ms: this.randomDelay() });
    }
    return this.count(DELIVER);
  }

  private randomDelay(): number {
    const { minDelayMs, maxDelayMs } = this.rates;
    const lo = Math.ceil(minDelayMs);
    const hi = Math.floor(maxDelayMs);
    if (hi <= lo) return lo;
    return lo + this.rng.int(hi - lo + 1);
  }

  private count(d: FaultDecision): FaultDecision {
    switch (d.action) {
      case 'deliver':
        this.stats.delivered++;
        break;
      case 'drop':
        this.stats.dropped++;
        break;
      case 'delay':
        this.stats.delayed++;
        break;
      case 'duplicate':
        this.stats.duplicated++;
        break;
    }
    return d;
  }
}

export class FaultyTransport implements Transport {
  readonly nodeId: string;
  private readonly inner: Transport;
  private readonly plan: FaultPlan;
  private readonly clock: Clock;
  /** Delayed deliveries not yet made, so unsubscribe/close can cancel them. */
  private readonly timers = new Set<TimerHandle>();
  private isClosed = false;

  constructor(inner: Transport, nodeId: string, plan: FaultPlan, clock: Clock) {
    this.inner = inner;
    this.nodeId = nodeId;
    this.plan = plan;
    this.clock = clock;
    // However the inner connection ends (close, kill, lost server), drop delayed deliveries.
    const stop = () => this.cancelPending();
    inner.closed.then(stop, stop);
  }

  get closed(): Promise<void> {
    return this.inner.closed;
  }

  /** Stamps origin = nodeId and forwards. No faults on the sending side. */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    if (this.isClosed) return;
    this.inner.publish(subject, data, { ...opts, origin: this.nodeId });
  }

  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Subscription {
    let active = true;
    const mine = new Set<TimerHandle>();
    const deliver = (msg: TransportMessage): void => {
      if (active && !this.isClosed) handler(msg);
    };
    const later = (msg: TransportMessage, ms: number): void => {
      const h = this.clock.setTimeout(() => {
        mine.delete(h);
        this.timers.delete(h);
        try {
          deliver(msg);
        } catch (err) {
          // The inner transport is not on the stack any more; report like it would.
          console.error(`FaultyTransport(${this.nodeId}): handler for ${msg.subject} threw`, err);
        }
      }, ms);
      mine.add(h);
      this.timers.add(h);
    };
    const wrapped: MessageHandler = (msg) => {
      if (!active || this.isClosed) return;
      const d = this.plan.decide(msg.origin, this.nodeId);
      switch (d.action) {
        case 'deliver':
          deliver(msg);
          return;
        case 'drop':
          return;
        case 'delay':
          later(msg, d.ms);
          return;
        case 'duplicate':
          later(msg, d.delayMs);
          deliver(msg);
          return;
      }
    };
    const sub = this.inner.subscribe(subject, wrapped, opts);
    return {
      unsubscribe: () => {
        active = false;
        for (const h of mine) {
          this.clock.clearTimeout(h);
          this.timers.delete(h);
        }
        mine.clear();
        sub.unsubscribe();
      },
    };
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  /** Cancels pending delayed deliveries and closes the inner transport. */
  close(): Promise<void> {
    this.cancelPending();
    return this.inner.close();
  }

  /**
   * Abrupt close (simulated crash): cancels delayed deliveries at once and kills the inner
   * transport if it supports kill() (MemoryTransport does), else closes it.
   */
  kill(): void {
    this.cancelPending();
    const inner = this.inner as Transport & { kill?: () => void };
    if (typeof inner.kill === 'function') inner.kill();
    else void inner.close().catch(() => {});
  }

  private cancelPending(): void {
    this.isClosed = true;
    for (const h of this.timers) this.clock.clearTimeout(h);
    this.timers.clear();
  }
}
