import { randomBytes } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { SUBJECT_ROOT } from '../transport/subjects.ts';
import { vizSubjects, type VizEvent, type VizInterest } from './live.ts';

export interface WatchOptions {
  /** Cluster name (default `shoal`). */
  cluster?: string;
  /** Only these nodes. */
  nodes?: string[];
  /** Only actors at this path or below (`/system/indices`). */
  pathPrefix?: string;
  /** Only these machine ids (`shard`, `raft`, `node`, `replicaGroup`, …). */
  kinds?: string[];
  /** Ask for a summary of each machine's context. */
  context?: boolean;
  /** Lease of each announcement (default 10 s); renewed every third of it. */
  leaseMs?: number;
  /** Events kept for a slow reader before the oldest are dropped (default 10,000). */
  bufferSize?: number;
  /** Called for every event, as well as (or instead of) iterating. */
  onEvent?: (e: VizEvent) => void;
}

/** A live watch: iterate it for events; close it to withdraw the interest. */
export interface VizWatch extends AsyncIterable<VizEvent> {
  readonly id: string;
  /** Nodes that acknowledged the current interest (they publish for it from then on). */
  readonly nodes: ReadonlySet<string>;
  /** Events dropped because the reader was slow. */
  readonly dropped: number;
  /** Resolves when all of `nodes` acknowledged the interest (rejects after `timeoutMs`). */
  waitForNodes(nodes: string[], timeoutMs?: number): Promise<void>;
  /** Withdraw the interest (unless `{bye: false}`: then it just lapses when its lease ends) and stop. */
  close(opts?: { bye?: boolean }): Promise<void>;
}

/**
 * Watch machine transitions live. Announces interest on `shoal.<c>.vizctl.interest` (renewing the
 * lease), re-announces when a node says hello, subscribes to `shoal.<c>.viz.<node|*>.>` and yields
 * the events that match the filter.
 */
export async function watchTransitions(nc: NatsConnection, opts: WatchOptions = {}): Promise<VizWatch> {
  const cluster = opts.cluster ?? 'shoal';
  const id = `w-${randomBytes(6).toString('hex')}`;
  const leaseMs = opts.leaseMs ?? 10_000;
  const bufferSize = opts.bufferSize ?? 10_000;
  const interest: VizInterest = { id, leaseMs };
  if (opts.nodes) interest.nodes = opts.nodes;
  if (opts.pathPrefix) interest.pathPrefix = opts.pathPrefix.replace(/\/+$/, '') || '/';
  if (opts.kinds) interest.kinds = opts.kinds;
  if (opts.context) interest.context = true;
  const prefix = interest.pathPrefix && interest.pathPrefix !== '/' ? interest.pathPrefix : undefined;

  const acked = new Set<string>();
  const ackWaiters = new Set<() => void>();
  const queue: VizEvent[] = [];
  let dropped = 0;
  let wake: (() => void) | undefined;
  let closed = false;

  const node = opts.nodes?.length === 1 ? opts.nodes[0]! : '*';
  const subs: Subscription[] = [];
  subs.push(
    nc.subscribe(`${SUBJECT_ROOT}.${cluster}.viz.${node}.>`, {
      callback: (err, msg) => {
        if (err || closed) return;
        let e: VizEvent;
        try {
          e = JSON.parse(msg.string()) as VizEvent;
        } catch {
          return;
        }
        if (!matches(e)) return;
        opts.onEvent?.(e);
        if (queue.length >= bufferSize) {
          queue.shift();
          dropped++;
        }
        queue.push(e);
        wake?.();
      },
    }),
  );
  const inbox = `_INBOX.shoal-viz.${id}`;
  subs.push(
    nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const a = JSON.parse(msg.string()) as { node?: unknown; id?: unknown };
          if (a.id === id && typeof a.node === 'string') {
            acked.add(a.node);
            for (const w of ackWaiters) w();
          }
        } catch {
          // not an acknowledgement
        }
      },
    }),
  );
  // A node that starts says hello: tell it at once instead of at the next renewal.
  subs.push(nc.subscribe(vizSubjects.hello(cluster), { callback: () => announce() }));

  function matches(e: VizEvent): boolean {
    if (opts.nodes && !opts.nodes.includes(e.node)) return false;
    if (opts.kinds && !opts.kinds.includes(e.kind)) return false;
    if (prefix && e.actor !== prefix && !e.actor.startsWith(`${prefix}/`)) return false;
    return true;
  }

  function announce(lease = leaseMs): void {
    if (closed && lease > 0) return;
    nc.publish(vizSubjects.interest(cluster), JSON.stringify({ ...interest, leaseMs: lease }), { reply: inbox });
  }

  await nc.flush();
  announce();
  const renew = setInterval(() => announce(), Math.max(50, Math.floor(leaseMs / 3)));
  renew.unref?.();
  await nc.flush();

  const watch: VizWatch = {
    id,
    nodes: acked,
    get dropped() {
      return dropped;
    },
    waitForNodes(nodes, timeoutMs = 10_000) {
      const done = () => nodes.every((n) => acked.has(n));
      if (done()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          ackWaiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          ackWaiters.delete(check);
          reject(new Error(`viz watch: nodes ${nodes.filter((n) => !acked.has(n)).join(', ')} did not acknowledge within ${timeoutMs} ms`));
        }, timeoutMs);
        ackWaiters.add(check);
      });
    },
    async close({ bye = true } = {}) {
      if (closed) return;
      clearInterval(renew);
      if (bye) announce(0);
      closed = true;
      for (const s of subs) s.unsubscribe();
      wake?.();
      await nc.flush().catch(() => undefined);
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
  return watch;
}
