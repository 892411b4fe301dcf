import { raise, setup } from 'xstate';
import { validateRaftMessage, type RaftMessage } from '../protocols/raft.ts';
import type { ActorRef } from '../src/runtime/actor-ref.ts';
import type { ActorContext, Replier } from '../src/runtime/context.ts';
import { reply } from '../src/runtime/machine-actions.ts';
import { RaftError, RaftPeerState, type RaftConfig, type RaftStateMachine, type Role } from '../src/raft/peer-state.ts';
import type { Entry, Membership, PeerId, RaftStorage } from '../src/raft/types.ts';

/**
 * raft-peer: one member of the Raft group, as an xstate machine. The machine owns the role
 * (follower → pre-candidate → candidate → leader) and every timer (randomised election timeout,
 * heartbeats, check-quorum); RaftPeerState holds the log and applies the paper's rules.
 *
 * All peers of a group live at the same actor path on their nodes, so a peer id is a node id.
 */
export interface RaftPeerInput {
  storage: RaftStorage;
  /** Called at every (re)start: a restarted peer rebuilds its state from the snapshot and the log. */
  stateMachine: () => RaftStateMachine;
  /** Initial voters when the storage is empty. */
  bootstrap?: Membership;
  config?: Partial<RaftConfig>;
  /** [0, 1); pass a seeded source in simulation. */
  random?: () => number;
  onApply?: (entry: Entry, result: unknown) => void;
  onLeader?: (term: number) => void;
  onRole?: (role: Role, term: number) => void;
  onRestore?: (index: number) => void;
  /** Added by the runtime. */
  self: ActorRef;
  shoal: ActorContext;
}

/** Requests for a raft peer (ask). Followers forward proposals and reads to the leader. */
export type RaftRequest =
  | { type: 'raft.propose'; data: unknown; forwarded?: boolean }
  | { type: 'raft.read'; forwarded?: boolean }
  | { type: 'raft.status' }
  | { type: 'raft.change_membership'; membership: Membership; forwarded?: boolean };

type RaftEvent = RaftMessage | RaftRequest;

interface RaftContext {
  raft: RaftPeerState;
  shoal: ActorContext;
  self: ActorRef;
}

const isRaftMessage = (e: unknown): e is RaftMessage => validateRaftMessage(e).ok;

function settle(replier: Replier | undefined, work: Promise<unknown>): void {
  work.then(
    (v) => replier?.ok(v),
    (err: unknown) =>
      replier?.error(
        err instanceof RaftError ? { type: err.type, reason: err.message } : err instanceof Error ? err : { type: 'raft_error', reason: String(err) },
      ),
  );
}

/** Leader-only work: done here when leading, else forwarded once to the known leader. */
function onLeader(context: RaftContext, event: RaftRequest & { forwarded?: boolean }, work: () => Promise<unknown>): Promise<unknown> {
  const { raft, shoal, self } = context;
  if (raft.role === 'leader') return work();
  const leader = raft.leaderId;
  if (!leader || leader === raft.id || event.forwarded) {
    return Promise.reject(leader ? new RaftError('not_leader', `not the leader; try ${leader}`, leader) : new RaftError('no_leader', 'no leader is known yet'));
  }
  return shoal.ask(`shoal://${self.cluster}/${leader}${self.path}`, { ...event, forwarded: true });
}

/**
 * Pre-candidates and candidates count vote replies; a current-term leader's message makes them
 * followers (the message is raised again and handled as one); stale messages are answered.
 */
const campaigning = {
  'raft.vote_reply': { guard: 'notHigherTerm', actions: 'handleVoteReply' },
  'raft.append': [
    { guard: 'currentTerm', target: 'follower', actions: 'reraise' },
    { guard: 'lowerTerm', actions: 'handleAppend' },
  ],
  'raft.snapshot': [
    { guard: 'currentTerm', target: 'follower', actions: 'reraise' },
    { guard: 'lowerTerm', actions: 'handleSnapshot' },
  ],
  'raft.vote': { guard: 'notHigherTerm', actions: 'handleVote' },
} as const;

export const raftPeerMachine = setup({
  types: {} as { context: RaftContext; events: RaftEvent; input: RaftPeerInput },
  delays: {
    election: ({ context }) => context.raft.electionTimeout(),
    heartbeat: ({ context }) => context.raft.config.heartbeatMs,
    quorumCheck: ({ context }) => context.raft.config.electionMaxMs,
  },
  guards: {
    higherTerm: ({ context, event }) => isRaftMessage(event) && context.raft.isHigherTerm(event),
    notHigherTerm: ({ context, event }) => isRaftMessage(event) && !context.raft.isHigherTerm(event),
    currentTerm: ({ context, event }) => isRaftMessage(event) && !context.raft.isHigherTerm(event) && event.term === context.raft.term,
    lowerTerm: ({ context, event }) => isRaftMessage(event) && event.term < context.raft.term,
    grantsVote: ({ context, event }) =>
      isRaftMessage(event) && event.type === 'raft.vote' && !event.pre && !context.raft.isHigherTerm(event) && context.raft.wouldGrantVote(event),
    canCampaign: ({ context }) => context.raft.isVoter,
    wonVotes: ({ context }) => context.raft.hasVoteQuorum,
    quorumLost: ({ context }) => !context.raft.quorumActive(),
    removedFromVoters: ({ context }) => context.raft.removedFromVoters,
  },
  actions: {
    adoptTerm: ({ context, event }) => context.raft.adoptTerm((event as RaftMessage).term),
    reraise: raise(({ event }) => event),
    enterFollower: ({ context }) => context.raft.becomeFollower(),
    startPreVote: ({ context }) => context.raft.startPreVote(),
    startElection: ({ context }) => context.raft.startElection(),
    becomeLeader: ({ context }) => context.raft.becomeLeader(),
    broadcastHeartbeat: ({ context }) => context.raft.broadcastHeartbeat(),
    resetActivity: ({ context }) => context.raft.resetActivity(),
    handleVote: ({ context, event }) => event.type === 'raft.vote' && context.raft.handleVote(event),
    handleVoteReply: ({ context, event }) => event.type === 'raft.vote_reply' && context.raft.handleVoteReply(event),
    handleAppend: ({ context, event }) => event.type === 'raft.append' && context.raft.handleAppend(event),
    handleAppendReply: ({ context, event }) => event.type === 'raft.append_reply' && context.raft.handleAppendReply(event),
    handleSnapshot: ({ context, event }) => event.type === 'raft.snapshot' && context.raft.handleSnapshot(event),
    propose: ({ context, event }) => {
      if (event.type !== 'raft.propose') return;
      settle(context.shoal.deferReply(), onLeader(context, event, () => context.raft.propose(event.data)));
    },
    changeMembership: ({ context, event }) => {
      if (event.type !== 'raft.change_membership') return;
      settle(context.shoal.deferReply(), onLeader(context, event, () => context.raft.changeMembership(event.membership)));
    },
    read: ({ context, event }) => {
      if (event.type !== 'raft.read') return;
      const { raft } = context;
      // The leader confirms its leadership (ReadIndex); a follower asks it for the index, then
      // waits until it has applied that far itself.
      const index = onLeader(context, event, () => raft.readIndex()) as Promise<number>;
      settle(context.shoal.deferReply(), index.then((i) => raft.waitApplied(i).then(() => i)));
    },
  },
}).createMachine({
  id: 'raft',
  context: ({ input }) => ({
    self: input.self,
    shoal: input.shoal,
    raft: new RaftPeerState({
      id: input.self.node,
      storage: input.storage,
      stateMachine: input.stateMachine(),
      bootstrap: input.bootstrap,
      config: input.config,
      onApply: input.onApply,
      onLeader: input.onLeader,
      onRole: input.onRole,
      onRestore: input.onRestore,
      now: () => input.shoal.clock.now(),
      random: input.random ?? Math.random,
      log: input.shoal.log,
      send: peerSender(input.self, input.shoal),
    }),
  }),
  initial: 'follower',
  // Any message from a newer term: adopt the term, become follower, then handle it as one (§5.1).
  on: {
    'raft.vote': { guard: 'higherTerm', target: '.follower', reenter: true, actions: ['adoptTerm', 'reraise'] },
    'raft.vote_reply': { guard: 'higherTerm', target: '.follower', reenter: true, actions: ['adoptTerm', 'reraise'] },
    'raft.append': { guard: 'higherTerm', target: '.follower', reenter: true, actions: ['adoptTerm', 'reraise'] },
    'raft.append_reply': { guard: 'higherTerm', target: '.follower', reenter: true, actions: ['adoptTerm', 'reraise'] },
    'raft.snapshot': { guard: 'higherTerm', target: '.follower', reenter: true, actions: ['adoptTerm', 'reraise'] },
    'raft.propose': { actions: 'propose' },
    'raft.change_membership': { actions: 'changeMembership' },
    'raft.read': { actions: 'read' },
    'raft.status': { actions: reply(({ context }) => (context as RaftContext).raft.status()) },
  },
  states: {
    follower: {
      entry: 'enterFollower',
      after: {
        election: [{ guard: 'canCampaign', target: 'preCandidate' }, { target: 'follower', reenter: true }],
      },
      on: {
        // Hearing from the current leader, or granting a vote, restarts the election timer.
        'raft.append': [
          { guard: 'currentTerm', target: 'follower', reenter: true, actions: 'handleAppend' },
          { guard: 'lowerTerm', actions: 'handleAppend' },
        ],
        'raft.snapshot': [
          { guard: 'currentTerm', target: 'follower', reenter: true, actions: 'handleSnapshot' },
          { guard: 'lowerTerm', actions: 'handleSnapshot' },
        ],
        'raft.vote': [
          { guard: 'grantsVote', target: 'follower', reenter: true, actions: 'handleVote' },
          { guard: 'notHigherTerm', actions: 'handleVote' },
        ],
      },
    },
    preCandidate: {
      entry: 'startPreVote',
      always: { guard: 'wonVotes', target: 'candidate' },
      after: { election: { target: 'preCandidate', reenter: true } },
      on: campaigning,
    },
    candidate: {
      entry: 'startElection',
      always: { guard: 'wonVotes', target: 'leader' },
      after: { election: 'preCandidate' },
      on: campaigning,
    },
    leader: {
      entry: 'becomeLeader',
      type: 'parallel',
      always: { guard: 'removedFromVoters', target: 'follower' },
      states: {
        heartbeat: {
          initial: 'waiting',
          states: { waiting: { after: { heartbeat: { target: 'waiting', reenter: true, actions: 'broadcastHeartbeat' } } } },
        },
        // Check-quorum: a leader that has not heard from a quorum for an election timeout steps down.
        quorum: {
          initial: 'waiting',
          states: {
            waiting: {
              after: {
                quorumCheck: [{ guard: 'quorumLost', target: '#raft.follower' }, { target: 'waiting', reenter: true, actions: 'resetActivity' }],
              },
            },
          },
        },
      },
      on: {
        'raft.append_reply': { guard: 'notHigherTerm', actions: 'handleAppendReply' },
        'raft.vote': { guard: 'notHigherTerm', actions: 'handleVote' },
        'raft.append': { guard: 'lowerTerm', actions: 'handleAppend' },
        'raft.snapshot': { guard: 'lowerTerm', actions: 'handleSnapshot' },
      },
    },
  },
});

/** Raft messages go to the peer at the same path on the other node; refs are made once per peer. */
function peerSender(self: ActorRef, shoal: ActorContext): (to: PeerId, msg: RaftMessage) => void {
  const refs = new Map<PeerId, ActorRef>();
  return (to, msg) => {
    let ref = refs.get(to);
    if (!ref) refs.set(to, (ref = shoal.system.ref(`shoal://${self.cluster}/${to}${self.path}`)));
    shoal.tell(ref, msg);
  };
}
