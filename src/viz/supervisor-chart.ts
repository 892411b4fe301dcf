import { setup } from 'xstate';
import type { RestartType } from '../runtime/supervision.ts';

/**
 * The supervisor is not an xstate machine: `supervisor()` (src/runtime/supervisor.ts) is a plain
 * behaviour, and the restart decisions live in ActorCell (childFailed, restartGroup,
 * restartChildren), where they need the cell's mailbox, generation counter and awaited stop
 * hooks. Turning that into a machine would move the runtime's core into a chart for the sake of
 * a picture.
 *
 * So the chart of supervision is this model: the life of one child under its supervisor, with
 * the decisions ActorCell takes, as a machine that is only ever drawn (never run). Its guards and
 * delays are named after the rules in docs/ARCHITECTURE.md (restart types, intensity, backoff,
 * shutdown timeout); the strategy decides which siblings join the restart (`terminateGroup`).
 */
interface ChildModel {
  restart: RestartType;
  normalExit: boolean;
  restartsInWindow: number;
  maxRestarts: number;
}

export const supervisionChart = setup({
  types: {} as {
    context: ChildModel;
    events:
      | { type: 'child.started' }
      | { type: 'child.failed' }
      | { type: 'child.exited' }
      | { type: 'child.stopped' }
      | { type: 'terminate_child' }
      | { type: 'shutdown' };
  },
  delays: { backoff: 0, shutdownMs: 5_000 },
  guards: {
    temporary: ({ context }) => context.restart === 'temporary',
    transientNormalExit: ({ context }) => context.restart === 'transient' && context.normalExit,
    intensityExceeded: ({ context }) => context.restartsInWindow >= context.maxRestarts,
  },
  actions: {
    recordFailure: () => undefined,
    recordExit: () => undefined,
    countRestart: () => undefined,
    terminateGroup: () => undefined,
    startGroupInOrder: () => undefined,
    stopChildrenInReverse: () => undefined,
    kill: () => undefined,
    failSupervisor: () => undefined,
    notifyWatchers: () => undefined,
  },
}).createMachine({
  id: 'supervisor',
  description: 'One child under an OTP supervisor (a model of ActorCell.childFailed and restartChildren)',
  context: { restart: 'permanent', normalExit: false, restartsInWindow: 0, maxRestarts: 3 },
  initial: 'starting',
  states: {
    starting: {
      on: { 'child.started': 'running', 'child.failed': { target: 'deciding', actions: 'recordFailure' } },
    },
    running: {
      on: {
        'child.failed': { target: 'deciding', actions: 'recordFailure' },
        'child.exited': { target: 'deciding', actions: 'recordExit' },
        terminate_child: 'stopping',
        shutdown: 'stopping',
      },
    },
    deciding: {
      always: [
        { guard: 'temporary', target: 'stopped' },
        { guard: 'transientNormalExit', target: 'stopped' },
        { guard: 'intensityExceeded', target: 'escalated' },
        { target: 'restarting', actions: 'countRestart' },
      ],
    },
    restarting: {
      entry: 'terminateGroup',
      after: { backoff: { target: 'starting', actions: 'startGroupInOrder' } },
    },
    stopping: {
      entry: 'stopChildrenInReverse',
      on: { 'child.stopped': 'stopped' },
      after: { shutdownMs: { target: 'stopped', actions: 'kill' } },
    },
    escalated: { type: 'final', entry: 'failSupervisor' },
    stopped: { type: 'final', entry: 'notifyWatchers' },
  },
});
