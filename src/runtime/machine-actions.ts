import { emit } from 'xstate';
import type { ActorRef } from './actor-ref.ts';

/**
 * Runtime effects for xstate machines, as emitted events the runtime carries out. They are plain
 * xstate actions, so `transition()` returns them as data and a machine stays pure and testable.
 *
 *   on: { ping: { actions: reply(() => 'pong') } }
 *   entry: tell(({ context }) => context.peer, () => ({ type: 'hello' }))
 */
type ActionArgs = { context: any; event: any };
/** A literal, or a function of the machine's context and event (kept apart so lambdas get typed args). */
type Expr<T> = T | ((args: ActionArgs) => T);
type Value = string | number | boolean | bigint | null | undefined | object;
/**
 * The helpers return an xstate action usable in any machine, whatever its context and event
 * types; `any` here is deliberate (xstate cannot express "fits every machine").
 */
type AnyMachineAction = any;
type RefLike = ActorRef | string;

const resolve = <T>(e: Expr<T>, args: { context: any; event: any }): T =>
  typeof e === 'function' ? (e as (a: { context: any; event: any }) => T)(args) : e;

export const RUNTIME_EVENT = {
  tell: 'shoal.tell',
  reply: 'shoal.reply',
  spawn: 'shoal.spawn',
  stop: 'shoal.stop',
  watch: 'shoal.watch',
  unwatch: 'shoal.unwatch',
} as const;

export type RuntimeEffect =
  | { type: 'shoal.tell'; to: RefLike; message: unknown }
  | { type: 'shoal.reply'; message: unknown }
  | { type: 'shoal.spawn'; name: string; kind: string; input?: unknown }
  | { type: 'shoal.stop'; target?: RefLike }
  | { type: 'shoal.watch'; target: RefLike }
  | { type: 'shoal.unwatch'; target: RefLike };

/** Send a message to an actor (fire and forget). */
export const tell = (to: Expr<RefLike>, message: Expr<Value>): AnyMachineAction =>
  emit((args: any) => ({ type: RUNTIME_EVENT.tell, to: resolve(to, args), message: resolve(message, args) }));

/** Answer the ask that delivered the current event. */
export const reply = (message: Expr<Value>): AnyMachineAction =>
  emit((args: any) => ({ type: RUNTIME_EVENT.reply, message: resolve(message, args) }));

/** Spawn a child of a registered kind under this actor. */
export const spawnChild = (name: Expr<string>, kind: string, input?: Expr<Value>): AnyMachineAction =>
  emit((args: any) => ({
    type: RUNTIME_EVENT.spawn,
    name: resolve(name, args),
    kind,
    input: input === undefined ? undefined : resolve(input, args),
  }));

/** Stop a child (or, with no target, this actor). */
export const stop = (target?: Expr<RefLike>): AnyMachineAction =>
  emit((args: any) => ({ type: RUNTIME_EVENT.stop, target: target === undefined ? undefined : resolve(target, args) }));

/** Death watch: a `shoal.terminated` event arrives when the target stops or its node goes down. */
export const watch = (target: Expr<RefLike>): AnyMachineAction =>
  emit((args: any) => ({ type: RUNTIME_EVENT.watch, target: resolve(target, args) }));

export const unwatch = (target: Expr<RefLike>): AnyMachineAction =>
  emit((args: any) => ({ type: RUNTIME_EVENT.unwatch, target: resolve(target, args) }));
