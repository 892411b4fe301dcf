import { createActor, type AnyActor, type AnyStateMachine, type EventObject } from 'xstate';
import type { ActorBehavior } from './behavior.ts';
import type { ActorContext } from './context.ts';
import { Rejection } from './errors.ts';
import { RUNTIME_EVENT, type RuntimeEffect } from './machine-actions.ts';
import type { LiveMachine, MachineRegistry } from './machine-registry.ts';

/** Messages that are not `{type: string}` reach a machine wrapped in this event. */
export const MESSAGE_EVENT = 'shoal.message';

export interface MachineBehaviorOptions {
  /** Observe every xstate inspection event (for the state-chart stream). */
  inspect?: (event: unknown) => void;
  /** Where running machine actors are tracked (the system's; the live transition stream reads it). */
  registry?: MachineRegistry;
}

function toEvent(message: unknown): EventObject {
  if (typeof message === 'object' && message !== null && typeof (message as EventObject).type === 'string') {
    return message as EventObject;
  }
  return { type: MESSAGE_EVENT, message } as EventObject;
}

/**
 * Runs an xstate v5 machine as an actor behaviour: mailbox messages become events, emitted
 * `shoal.*` events become runtime effects, delayed transitions use the runtime's clock, an error
 * in an action is a failure, and a final state is a normal exit.
 *
 * The machine's input is the spawn input (when it is a plain object) plus `self` (the ActorRef)
 * and `shoal` (the ActorContext).
 */
export function machineBehavior(machine: AnyStateMachine, opts: MachineBehaviorOptions = {}): ActorBehavior {
  let actor: AnyActor | undefined;
  let live: LiveMachine | undefined;
  let pendingError: unknown;
  let handling = false;
  let stopping = false;

  return {
    start(ctx) {
      const userInput = ctx.input;
      const input =
        typeof userInput === 'object' && userInput !== null && !Array.isArray(userInput)
          ? { ...(userInput as object), self: ctx.self, shoal: ctx }
          : { input: userInput, self: ctx.self, shoal: ctx };
      const watched = opts.registry?.inspectFromBirth(ctx.self.path, machine.id);
      const inspect = watched && opts.inspect ? both(watched, opts.inspect) : (watched ?? opts.inspect);
      actor = createActor(machine, {
        input,
        clock: ctx.clock,
        id: ctx.self.path,
        ...(inspect ? { inspect } : {}),
      });
      actor.on('*', (ev: EventObject) => {
        if (ev.type.startsWith('shoal.')) applyEffect(ctx, ev as RuntimeEffect);
      });
      actor.subscribe({
        error: (err) => {
          // During receive the failure is rethrown there; from a delayed transition it is reported here.
          if (handling) pendingError = err;
          else ctx.system.internals.failActor(ctx.self, err);
        },
        complete: () => {
          if (!stopping && !handling) void ctx.stop();
          else if (handling) pendingError ??= COMPLETED;
        },
      });
      if (opts.registry) opts.registry.add((live = { actor, path: ctx.self.path, kind: machine.id }));
      handling = true;
      try {
        actor.start();
      } finally {
        handling = false;
      }
      settle(ctx);
    },

    receive(ctx, message) {
      const a = actor!;
      const event = toEvent(message);
      const snapshot = a.getSnapshot();
      if (ctx.isAsk && !snapshot.can(event)) {
        throw new UnhandledEvent(event.type, JSON.stringify(snapshot.value));
      }
      handling = true;
      try {
        a.send(event);
      } finally {
        handling = false;
      }
      settle(ctx);
      return undefined;
    },

    stop() {
      stopping = true;
      actor?.stop();
      actor = undefined;
      if (live) opts.registry?.remove(live);
      live = undefined;
    },
  };

  function settle(ctx: ActorContext): void {
    const err = pendingError;
    pendingError = undefined;
    if (err === COMPLETED) void ctx.stop();
    else if (err !== undefined) throw err;
  }
}

const COMPLETED = Symbol('completed');

function both(a: (event: unknown) => void, b: (event: unknown) => void): (event: unknown) => void {
  return (event) => {
    a(event);
    b(event);
  };
}

/** An ask whose event the machine's current state does not accept: answered, not a failure. */
export class UnhandledEvent extends Rejection {
  constructor(eventType: string, state: string) {
    super('bad_message', `event '${eventType}' is not handled in state ${state}`);
    this.name = 'UnhandledEvent';
  }
}

function applyEffect(ctx: ActorContext, effect: RuntimeEffect): void {
  switch (effect.type) {
    case RUNTIME_EVENT.tell:
      ctx.tell(effect.to, effect.message);
      return;
    case RUNTIME_EVENT.reply:
      ctx.reply(effect.message);
      return;
    case RUNTIME_EVENT.spawn:
      ctx.system.internals.spawnKindUnder(ctx.self, effect.kind, effect.name, effect.input);
      return;
    case RUNTIME_EVENT.stop:
      if (effect.target === undefined) void ctx.stop();
      else void ctx.stop(typeof effect.target === 'string' ? ctx.system.ref(effect.target) : effect.target);
      return;
    case RUNTIME_EVENT.watch:
      ctx.watch(effect.target);
      return;
    case RUNTIME_EVENT.unwatch:
      ctx.unwatch(effect.target);
      return;
  }
}
