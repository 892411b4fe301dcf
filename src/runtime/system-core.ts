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
  localRef(path: string): ActorRef;
  makeContext(cell: ActorCell): ActorContext;
  /** A cell has stopped for good: forget it and tell its watchers. */
  cellStopped(cell: ActorCell, reason: string): void;
}
