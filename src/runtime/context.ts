import type { Logger } from 'pino';
import type { ActorRef } from './actor-ref.ts';
import type { BehaviorSource } from './behavior.ts';
import type { Clock } from './clock.ts';
import type { ErrorBody } from './errors.ts';
import type { AskOptions, ActorSystem } from './actor-system.ts';
import type { SpawnOptions, SupervisionOptions } from './supervision.ts';

/** Answers one ask; later calls are ignored. */
export interface Replier {
  ok(value: unknown): void;
  error(err: ErrorBody | Error): void;
  readonly done: boolean;
}

/** Message a watcher receives: also an xstate event, so machines can transition on it. */
export interface Terminated {
  type: 'shoal.terminated';
  ref: ActorRef;
  /** normal | shutdown | failed: … | escalated | node_down | no_such_actor | node_unreachable */
  reason: string;
}

export const TERMINATED = 'shoal.terminated';

/** What a behaviour sees of the runtime while it handles a message. */
export interface ActorContext {
  readonly self: ActorRef;
  readonly parent: ActorRef | undefined;
  readonly system: ActorSystem;
  readonly log: Logger;
  readonly clock: Clock;
  /** The input given at spawn. */
  readonly input: unknown;
  /** Sender of the current message, when the sender was an actor. */
  readonly sender: ActorRef | undefined;
  /** True while handling an ask. */
  readonly isAsk: boolean;

  /** Answer the current ask. */
  reply(value: unknown): void;
  replyError(err: ErrorBody | Error): void;
  /** Take over the current ask's reply, to answer after the handler has returned. */
  deferReply(): Replier | undefined;

  tell(to: ActorRef | string, message: unknown): void;
  ask<T = unknown>(to: ActorRef | string, message: unknown, opts?: AskOptions): Promise<T>;

  spawn(name: string, source: BehaviorSource, opts?: SpawnOptions): ActorRef;
  /** Stop a child; with no argument, stop this actor (a normal exit). */
  stop(child?: ActorRef): Promise<void>;
  children(): ActorRef[];
  child(name: string): ActorRef | undefined;
  /** How this actor supervises its children (defaults: one_for_one, 3 restarts in 5 s). */
  supervise(opts: SupervisionOptions): void;

  watch(target: ActorRef | string): void;
  unwatch(target: ActorRef | string): void;
}
