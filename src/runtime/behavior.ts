import type { AnyStateMachine } from 'xstate';
import type { ActorContext } from './context.ts';

/**
 * What an actor does. `receive` handles one message at a time; if it returns a promise the
 * mailbox waits for it. For an ask, the value returned (or resolved) is the reply, unless the
 * handler already replied or took the reply over with `ctx.deferReply()`. Anything thrown is a
 * failure for the supervisor.
 */
export interface ActorBehavior {
  start?(ctx: ActorContext): void | Promise<void>;
  receive(ctx: ActorContext, message: unknown): unknown;
  stop?(ctx: ActorContext, reason: string): void | Promise<void>;
}

/** Called at every (re)start, so state held in its closure starts fresh after a restart. */
export type BehaviorFactory = (input: any) => ActorBehavior | AnyStateMachine;

/** An xstate machine, a behaviour object (shared across restarts: keep it stateless) or a factory. */
export type BehaviorSource = AnyStateMachine | ActorBehavior | BehaviorFactory;

export type ReceiveFn = (ctx: ActorContext, message: any) => unknown;

/** A tiny stateless actor from one function. */
export function receive(fn: ReceiveFn): ActorBehavior {
  return { receive: fn };
}

export function isMachine(x: unknown): x is AnyStateMachine {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as AnyStateMachine).getInitialSnapshot === 'function' &&
    typeof (x as AnyStateMachine).transition === 'function'
  );
}

export function isBehavior(x: unknown): x is ActorBehavior {
  return typeof x === 'object' && x !== null && typeof (x as ActorBehavior).receive === 'function';
}

/** Resolve a source to a machine or a behaviour object for one incarnation of an actor. */
export function instantiate(source: BehaviorSource, input: unknown): ActorBehavior | AnyStateMachine {
  if (isMachine(source) || isBehavior(source)) return source;
  if (typeof source === 'function') {
    const made = source(input);
    if (isMachine(made) || isBehavior(made)) return made;
    throw new TypeError('a behaviour factory must return an xstate machine or an object with receive()');
  }
  throw new TypeError('a behaviour must be an xstate machine, an object with receive(), or a factory');
}
