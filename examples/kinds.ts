/**
 * Actor kinds for the examples. A node runs a kind only if its code is loaded there, so nodes load
 * this module at start:
 *
 *   bin/shoal up --kinds examples/kinds.ts            (npm start does this)
 *   bin/shoal start … --kinds examples/kinds.ts
 *
 * Then any script or `bin/shoal spawn counter-sup --node n2` can start them on any node.
 *
 * - `counter`: an xstate machine counting `inc` events; `get` answers the count; `crash` throws
 *   in an action (a failure, for its supervisor); `done` reaches the final state (a normal exit).
 * - `counter-sup`: a one_for_one supervisor (3 restarts in 5 s) over one `counter`, answering the
 *   supervisor requests (`which_children`, …) plus `shutdown`, which stops it and its child.
 */
import { assign, setup } from 'xstate';
import { actions, supervisor, type ActorBehavior, type KindDefinition } from '../src/index.ts';

export type CounterEvent = { type: 'inc'; by?: number } | { type: 'get' } | { type: 'crash' } | { type: 'done' };

export const counterMachine = setup({
  types: {
    context: {} as { count: number; label: string },
    input: {} as { label?: string } | undefined,
    events: {} as CounterEvent,
  },
  actions: {
    crash: ({ context }) => {
      throw new Error(`counter ${context.label} was told to crash at ${context.count}`);
    },
  },
}).createMachine({
  id: 'counter',
  context: ({ input }) => ({ count: 0, label: input?.label ?? 'counter' }),
  initial: 'counting',
  states: {
    counting: {
      on: {
        inc: { actions: assign({ count: ({ context, event }) => context.count + (event.by ?? 1) }) },
        get: { actions: actions.reply(({ context }) => ({ label: context.label, count: context.count })) },
        crash: { actions: 'crash' },
        done: 'finished',
      },
    },
    finished: { type: 'final' },
  },
});

/** A supervisor over one counter that also understands `{type: 'shutdown'}` (stops itself and the counter). */
function counterSupervisor(input: unknown): () => ActorBehavior {
  const label = (input as { label?: string } | undefined)?.label ?? 'counter';
  const base = supervisor({
    strategy: 'one_for_one',
    maxRestarts: 3,
    periodMs: 5_000,
    children: [{ id: 'counter', start: counterMachine, input: { label }, restart: 'permanent' }],
  });
  return () => {
    const sup = base();
    return {
      start: sup.start,
      receive(ctx, message) {
        if ((message as { type?: string } | undefined)?.type === 'shutdown') {
          void ctx.stop();
          return 'stopping';
        }
        return sup.receive(ctx, message);
      },
    };
  };
}

export const kinds: Record<string, KindDefinition['create']> = {
  counter: () => counterMachine,
  'counter-sup': counterSupervisor,
};
