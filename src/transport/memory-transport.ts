/**
 * An in-process NATS look-alike. Every MemoryTransport connected to one MemoryNetwork sees the
 * others' messages. Semantics follow NATS core:
 *  - subjects with `*` / `>` wildcards (subjectMatches);
 *  - queue groups: each message goes to one member of each queue group (grouped by queue name,
 *    as the NATS server does), picked round-robin in subscription order — deterministic;
 *  - a transport receives its own messages (NATS "echo");
 *  - publishing with `reply` to a subject nobody subscribes to delivers a no-responders status
 *    `{ subject: reply, data: <empty>, noResponders: true }` to the reply subscription(s).
 *
 * Routing happens at publish time (a subscription made after publish does not get the message);
 * delivery happens later through `clock.schedule` — never synchronously inside publish — one
 * scheduled job per published message, so order is preserved per publisher per subscription
 * (in fact globally, since schedule is FIFO). A subscription that is unsubscribed (or whose
 * transport is closed/killed) before delivery does not get the message. Payloads are not copied.
 */
import { realClock } from '../runtime/clock.ts';
import type { Clock } from '../runtime/clock.ts';
import { subjectMatches } from './transport.ts';
import type {
  MessageHandler,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportMessage,
} from './transport.ts';

interface MemSub {
  id: number;
  owner: MemoryTransport;
  subject: string;
  queue: string | undefined;
  handler: MessageHandler;
  active: boolean;
}

export interface MemoryNetworkOptions {
  /** Time source for delivery (default realClock: delivery on setImmediate). */
  clock?: Clock;
  /** Receives exceptions thrown by message handlers (default: console.error). */
  onError?: (err: unknown, msg: TransportMessage) => void;
}

const EMPTY = new Uint8Array(0);

export class MemoryNetwork {
  readonly clock: Clock;
  private readonly onError: (err: unknown, msg: TransportMessage) => void;
  private subs: MemSub[] = [];
  private nextSubId = 1;
  private nextConnId = 1;
  private readonly rr = new Map<string, number>();
  private inFlight = 0;

  constructor(opts: MemoryNetworkOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.onError =
      opts.onError ??
      ((err, msg) => console.error(`MemoryTransport: handler for ${msg.subject} threw`, err));
  }

  connect(name?: string): MemoryTransport {
    return new MemoryTransport(this, name ?? `conn-${this.nextConnId++}`);
  }

  /** Active subscriptions across all connections (for tests). */
  subscriptionCount(): number {
    return this.subs.length;
  }

  /** Published messages whose delivery job has not run yet (for tests). */
  pendingDeliveries(): number {
    return this.inFlight;
  }

  /** @internal */
  _subscribe(
    owner: MemoryTransport,
    subject: string,
    handler: MessageHandler,
    queue: string | undefined,
  ): MemSub {
    const sub: MemSub = { id: this.nextSubId++, owner, subject, queue, handler, active: true };
    this.subs.push(sub);
    return sub;
  }

  /** @internal */
  _unsubscribe(sub: MemSub): void {
    if (!sub.active) return;
    sub.active = false;
    this.subs = this.subs.filter((s) => s !== sub);
  }

  /** @internal */
  _publish(subject: string, data: Uint8Array, opts: PublishOptions | undefined): void {
    const msg: TransportMessage = { subject, data };
    if (opts?.reply !== undefined) msg.reply = opts.reply;
    if (opts?.origin !== undefined) msg.origin = opts.origin;
    let targets = this.route(subject);
    let out = msg;
    if (targets.length === 0) {
      if (opts?.reply === undefined) return;
      out = { subject: opts.reply, data: EMPTY, noResponders: true };
      targets = this.route(opts.reply);
      if (targets.length === 0) return;
    }
    this.inFlight++;
    this.clock.schedule(() => {
      this.inFlight--;
      for (const sub of targets) {
        if (!sub.active) continue;
        try {
          sub.handler(out);
        } catch (err) {
          try {
            this.onError(err, out);
          } catch {
            // never let reporting stop delivery
          }
        }
      }
    });
  }

  /** Matching plain subscriptions plus one member per queue group, in subscription order. */
  private route(subject: string): MemSub[] {
    const plain: MemSub[] = [];
    const groups = new Map<string, MemSub[]>();
    for (const s of this.subs) {
      if (!subjectMatches(s.subject, subject)) continue;
      if (s.queue === undefined) {
        plain.push(s);
      } else {
        let g = groups.get(s.queue);
        if (!g) groups.set(s.queue, (g = []));
        g.push(s);
      }
    }
    for (const [queue, members] of groups) {
      const n = this.rr.get(queue) ?? 0;
      this.rr.set(queue, n + 1);
      plain.push(members[n % members.length]!);
    }
    return plain;
  }
}

export class MemoryTransport implements Transport {
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private readonly subs = new Set<MemSub>();
  private isClosed = false;

  private readonly network: MemoryNetwork;
  readonly name: string;

  /** Use MemoryNetwork.connect(). */
  constructor(network: MemoryNetwork, name: string) {
    this.network = network;
    this.name = name;
    this.closed = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    if (this.isClosed) return;
    this.network._publish(subject, data, opts);
  }

  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Subscription {
    if (this.isClosed) return { unsubscribe() {} };
    const sub = this.network._subscribe(this, subject, handler, opts?.queue);
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        this.subs.delete(sub);
        this.network._unsubscribe(sub);
      },
    };
  }

  /**
   * Resolves immediately: publish() hands the message to the in-memory bus synchronously, which is
   * what Transport.flush promises. It does NOT wait for subscribers to receive it (NATS flush does
   * not either); drive the clock for that.
   */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Removes this connection's subscriptions (undelivered messages to them are dropped) and
   * resolves `closed`. Messages it already published stay on the bus and are delivered.
   * Idempotent.
   */
  close(): Promise<void> {
    this.shutdown();
    return this.closed;
  }

  /** Abrupt close, to simulate a crashed process. Same effect as close(), synchronous. */
  kill(): void {
    this.shutdown();
  }

  private shutdown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const sub of this.subs) this.network._unsubscribe(sub);
    this.subs.clear();
    this.resolveClosed();
  }
}
