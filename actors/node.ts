import { assign, fromPromise, setup } from 'xstate';
import type { NodeInfo } from '../src/cluster/cluster-state.ts';
import type { ActorRef } from '../src/runtime/actor-ref.ts';
import type { ActorContext } from '../src/runtime/context.ts';
import type { RaftStatus } from '../src/raft/peer-state.ts';

/**
 * The node actor: how a node becomes a cluster member. It discovers the master through the
 * master-eligible nodes' raft peers, joins by committing `node_join` through Raft (followers
 * forward to the leader), stays a member while the cluster state lists it (rejoining if the
 * master removed it), and leaves gracefully by committing `node_leave`.
 */
export interface NodeActorInput {
  info: NodeInfo;
  /** Master-eligible node ids (where raft peers run). */
  masters: string[];
  raftPath: string;
  retryMs?: number;
  /** Called with the result of this incarnation's committed join (`{version}`). */
  onJoined?: (result: unknown) => void;
  self: ActorRef;
  shoal: ActorContext;
}

export type NodeEvent = { type: 'node.removed' } | { type: 'node.leave' } | { type: 'node.status' };

interface NodeContext {
  info: NodeInfo;
  masters: string[];
  raftPath: string;
  retryMs: number;
  shoal: ActorContext;
  self: ActorRef;
  master: string | null;
  onJoined: ((result: unknown) => void) | undefined;
}

const raftRef = (c: NodeContext, node: string) => `shoal://${c.self.cluster}/${node}${c.raftPath}`;

export const nodeMachine = setup({
  types: {} as { context: NodeContext; events: NodeEvent; input: NodeActorInput },
  delays: { retry: ({ context }) => context.retryMs },
  actors: {
    findMaster: fromPromise<string, NodeContext>(async ({ input: c }) => {
      // Ask the master-eligible peers in turn; the first that knows a leader answers.
      for (const node of c.masters) {
        try {
          const status = await c.shoal.ask<RaftStatus>(raftRef(c, node), { type: 'raft.status' }, { timeoutMs: 500 });
          if (status.leader) return status.leader;
        } catch {
          // unreachable or not started yet: try the next one
        }
      }
      throw new Error('no master known yet');
    }),
    propose: fromPromise<unknown, { c: NodeContext; command: unknown }>(({ input: { c, command } }) =>
      c.shoal.ask(raftRef(c, c.master ?? c.masters[0]!), { type: 'raft.propose', data: command }, { timeoutMs: 2_000 }),
    ),
  },
}).createMachine({
  id: 'node',
  context: ({ input }) => ({
    info: input.info,
    masters: input.masters,
    raftPath: input.raftPath,
    retryMs: input.retryMs ?? 100,
    onJoined: input.onJoined,
    shoal: input.shoal,
    self: input.self,
    master: null,
  }),
  initial: 'starting',
  on: {
    'node.status': { actions: ({ context, self }) => context.shoal.reply({ state: self.getSnapshot().value, master: context.master }) },
  },
  states: {
    starting: { always: 'discovering' },
    discovering: {
      invoke: {
        src: 'findMaster',
        input: ({ context }) => context,
        onDone: { target: 'joining', actions: assign({ master: ({ event }) => event.output }) },
        onError: 'waitingToDiscover',
      },
      on: { 'node.leave': 'stopped' },
    },
    waitingToDiscover: { after: { retry: 'discovering' }, on: { 'node.leave': 'stopped' } },
    joining: {
      invoke: {
        src: 'propose',
        input: ({ context }) => ({ c: context, command: { op: 'node_join', node: context.info } }),
        onDone: { target: 'member', actions: ({ context, event }) => context.onJoined?.(event.output) },
        onError: 'waitingToDiscover',
      },
    },
    member: {
      on: {
        'node.removed': 'discovering',
        'node.leave': 'leaving',
      },
    },
    leaving: {
      invoke: {
        src: 'propose',
        input: ({ context }) => ({ c: context, command: { op: 'node_leave', id: context.info.id, reason: 'left' } }),
        onDone: 'stopped',
        onError: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});
