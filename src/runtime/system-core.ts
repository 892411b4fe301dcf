import type { Logger } from 'pino';
import type { ActorCell } from './actor-cell.ts';
import type { ActorRef } from './actor-ref.ts';
import type { Clock } from './clock.ts';
import type { ActorContext } from './context.ts';
import type { MachineBehaviorOptions } from './machine-behavior.ts';

/** The part of the ActorSystem that actor cells use. */
export interface SystemCore {
  readonly log: Logger;
  readonly clock: Clock;
  readonly machineOptions: MachineBehaviorOptions;
  /** Plain counters, read by the metrics endpoint at scrape time. */
  readonly stats: RuntimeStats;
  localRef(path: string): ActorRef;
  makeContext(cell: ActorCell): ActorContext;
  /** A cell has stopped for good: forget it and tell its watchers. */
  cellStopped(cell: ActorCell, reason: string): void;
}

/** Runtime counters: plain numbers bumped on the hot path, read at scrape time. */
export interface RuntimeStats {
  /** tell/ask to an actor on this node, and to another node (one NATS publish each). */
  sentLocal: number;
  sentRemote: number;
  /** Actor mail that arrived from the network. */
  receivedRemote: number;
  /** Actor restarts by their supervisor. */
  restarts: number;
}
