import { setup } from 'xstate';
import type { ShardTable } from '../src/cluster/metadata.ts';
import { ReplicationGroup, type GroupMember } from '../src/data/replication-group.ts';
import { settle, type RefreshMode, type ReplicateRequest, type ShardIO, type ShardsInfo } from '../src/data/shard-copy.ts';
import type { ReplicaOp } from '../src/engine/shard-engine.ts';
import type { ActorRef } from '../src/runtime/actor-ref.ts';
import type { ActorContext } from '../src/runtime/context.ts';
import { ShoalError } from '../src/runtime/errors.ts';

/**
 * The replica-group actor: a child of a primary shard actor (`…/<shard>/group-t<term>`) that owns
 * the replication group of its primary term — which copies get every operation (the in-sync
 * copies, plus copies recovering from this primary), their local checkpoints, the global
 * checkpoint — and fans each write out to them. A copy that fails an operation is failed through
 * the master before the write is answered, so no acknowledgement ever counts on it.
 *
 * Its machine shows the group's health: `inSync` (every copy in sync), `recovering` (copies are
 * recovering into the group), `failingCopies` (the master is being asked to drop a copy; writes
 * wait for it) and `stopped` (this primary term is over: a newer primary exists, or the copy
 * was fenced).
 */
export interface ReplicaGroupInput {
  label: string;
  primaryAllocationId: string;
  term: number;
  index: string;
  shard: number;
  /** The routing table now (read again if the actor restarts). */
  currentTable: () => ShardTable;
  io: ShardIO;
  self: ActorRef;
  shoal: ActorContext;
}

export type ReplicaGroupEvent =
  /** The routing table changed. */
  | { type: 'group.routing'; table: ShardTable }
  /** Send operations (already applied on the primary) to every copy; answers ReplicateOutcome. */
  | { type: 'group.replicate'; ops: ReplicaOp[]; refresh: RefreshMode; primaryLocalCheckpoint: number; mappingVersion: number }
  /** A copy starts recovering from the primary: from now on it gets every operation. Answers null. */
  | { type: 'group.track'; allocationId: string; node: string }
  /** A recovering copy applied the snapshot; answers whether it is still in the group (missed nothing). */
  | { type: 'group.recovered'; allocationId: string; localCheckpoint: number }
  | { type: 'group.status'; primaryLocalCheckpoint: number }
  /** Internal: a copy failure began or ended. */
  | { type: 'group.changed' };

export interface ReplicateOutcome {
  shards: ShardsInfo;
  globalCheckpoint: number;
}

const REPLICATE_TIMEOUT_MS = 5_000;

interface GroupContext {
  group: ReplicationGroup;
  input: Omit<ReplicaGroupInput, 'self' | 'shoal'>;
  table: ShardTable;
  shoal: ActorContext;
  /** Copy failures the master has not confirmed yet. */
  failing: number;
  /** In-sync copies the group never replicated to (see ReplicationGroup.update): no write is acknowledged before the master drops them. */
  mustFail: Map<string, Promise<void>>;
  /** This term is over (a newer primary term in the routing table, or fenced). */
  over: boolean;
}

/** Send `ops` to every copy of the group and wait for all; failed in-sync copies are failed through the master first. */
async function replicate(c: GroupContext, self: ActorRef, ops: ReplicaOp[], refresh: RefreshMode, primaryLocalCheckpoint: number, mappingVersion: number): Promise<ReplicateOutcome> {
  const { group, input } = c;
  const { term, io } = input;
  const targets = group.targets();
  const gcp = group.globalCheckpoint(primaryLocalCheckpoint);
  const outcomes = await Promise.allSettled(
    targets.map((t) =>
      io.askCopy<{ localCheckpoint: number }>(t.node, t.allocationId, { type: 'shard.replicate', allocationId: t.allocationId, term, ops, globalCheckpoint: gcp, refresh, mappingVersion } satisfies ReplicateRequest, REPLICATE_TIMEOUT_MS),
    ),
  );
  let failed = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    const o = outcomes[i]!;
    if (o.status === 'fulfilled') {
      group.updateLocalCheckpoint(t.allocationId, o.value.localCheckpoint);
      continue;
    }
    const err = o.reason as { type?: string; message?: string };
    if (err?.type === 'stale_primary_term') {
      c.over = true;
      throw new ShoalError('stale_primary_term', `${input.label} primary term [${term}] is stale: ${err.message}`);
    }
    failed++;
    const failure = failCopy(c, self, t, `replication failed: ${err?.type ?? ''} ${err?.message ?? String(err)}`);
    // In sync now (it may have started while this write was on its way): the master must drop it
    // first, and it stays in the group until then, or a concurrent write would skip it and be
    // acknowledged without it (by a primary the master may be replacing right now).
    if (t.inSync || c.table.inSync.includes(t.allocationId)) {
      await failure;
      group.remove(t.allocationId);
    } else {
      group.remove(t.allocationId);
      void failure.catch(() => undefined);
    }
  }
  // An in-sync copy that missed operations must be out of the in-sync set before this write counts.
  if (c.mustFail.size > 0) await Promise.all(c.mustFail.values());
  return { shards: { total: targets.length + 1, successful: targets.length + 1 - failed, failed }, globalCheckpoint: group.globalCheckpoint(primaryLocalCheckpoint) };
}

/** Remove a copy from the in-sync set through the master; if the master says this primary is stale, it is fenced. */
async function failCopy(c: GroupContext, self: ActorRef, member: GroupMember, reason: string): Promise<void> {
  const { io, term, label, index, shard } = c.input;
  io.log.warn({ shard: label, allocationId: member.allocationId, reason }, 'failing shard copy');
  c.failing++;
  self.tell({ type: 'group.changed' });
  try {
    let res: { version: number };
    for (let attempt = 0; ; attempt++) {
      try {
        res = await io.propose({ op: 'shard_failed', index, shard, allocationId: member.allocationId, reason, primaryTerm: term, at: io.now() });
        break;
      } catch (err) {
        // The copy missed this write but is still in sync for everyone else: ask until the master
        // confirms (as Elasticsearch does), or it would stay in sync with a hole in its history.
        if (c.over || !c.shoal.system.isRunning) {
          throw new ShoalError('shard_failure_not_acknowledged', `${label} the master did not confirm the failure of ${member.allocationId}: ${(err as Error).message}`);
        }
        await io.sleep(Math.min(1_000, 100 * 2 ** attempt));
      }
    }
    const state = await io.waitForVersion(res.version, 10_000);
    const table = state.routing[index]?.[shard];
    const me = table?.copies.find((x) => x.allocationId === c.input.primaryAllocationId);
    if (!table || table.primaryTerm > term || !me?.primary) {
      c.over = true;
      throw new ShoalError('stale_primary_term', `${label} this copy is no longer the primary (term ${term})`);
    }
  } finally {
    c.failing--;
    self.tell({ type: 'group.changed' });
  }
}

/** Fail an in-sync copy this group never replicated to; writes wait for it (`mustFail`). */
function failMissed(c: GroupContext, allocationId: string): void {
  if (c.mustFail.has(allocationId) || c.over) return;
  const node = c.table.copies.find((x) => x.allocationId === allocationId)?.node ?? '';
  const member: GroupMember = { allocationId, node, inSync: true, localCheckpoint: -1 };
  const failure = failCopy(c, c.shoal.self, member, 'in sync, but this primary never replicated to it (it missed operations)').finally(() => c.mustFail.delete(allocationId));
  failure.catch(() => undefined); // awaited by the writes
  c.mustFail.set(allocationId, failure);
}

export const replicaGroupMachine = setup({
  types: {} as { context: GroupContext; events: ReplicaGroupEvent; input: ReplicaGroupInput },
  guards: {
    over: ({ context }) => context.over,
    failing: ({ context }) => context.failing > 0,
    recovering: ({ context }) => context.group.targets().some((m) => !m.inSync),
  },
  actions: {
    routing: ({ context: c, event }) => {
      if (event.type !== 'group.routing') return;
      c.table = event.table;
      if (event.table.primaryTerm > c.input.term) c.over = true;
      for (const allocationId of c.group.update(event.table)) failMissed(c, allocationId);
    },
    replicate: ({ context: c, event }) => {
      if (event.type !== 'group.replicate') return;
      settle(c.shoal.deferReply(), () => replicate(c, c.shoal.self, event.ops, event.refresh, event.primaryLocalCheckpoint, event.mappingVersion));
    },
    track: ({ context: c, event }) => {
      if (event.type !== 'group.track') return;
      c.group.track(event.allocationId, event.node);
      c.shoal.reply(null);
    },
    recovered: ({ context: c, event }) => {
      if (event.type !== 'group.recovered') return;
      const member = c.group.get(event.allocationId);
      if (member) {
        c.group.updateLocalCheckpoint(event.allocationId, event.localCheckpoint);
        c.group.markInSync(event.allocationId);
      }
      c.shoal.reply({ member: !!member });
    },
    status: ({ context: c, event, self }) => {
      if (event.type !== 'group.status') return;
      c.shoal.reply({ state: self.getSnapshot().value, term: c.input.term, ...c.group.status(event.primaryLocalCheckpoint), failing: c.failing });
    },
    refuse: ({ context: c, event }) => {
      if (event.type === 'group.replicate' || event.type === 'group.track' || event.type === 'group.recovered') {
        c.shoal.replyError(new ShoalError('stale_primary_term', `${c.input.label} primary term [${c.input.term}] is over`));
      }
    },
  },
}).createMachine({
  id: 'replicaGroup',
  context: ({ input }) => {
    const { self: _self, shoal, ...rest } = input;
    const table = input.currentTable();
    const group = new ReplicationGroup(input.primaryAllocationId);
    group.update(table);
    return { group, input: rest, table, shoal, failing: 0, mustFail: new Map(), over: table.primaryTerm > input.term };
  },
  initial: 'evaluating',
  on: {
    'group.routing': { actions: 'routing', target: '.evaluating' },
    'group.replicate': { actions: 'replicate' },
    'group.track': { actions: 'track', target: '.evaluating' },
    'group.recovered': { actions: 'recovered', target: '.evaluating' },
    'group.status': { actions: 'status' },
    'group.changed': { target: '.evaluating' },
  },
  states: {
    /** Transient: pick the state that describes the group now. */
    evaluating: {
      always: [
        { guard: 'over', target: 'stopped' },
        { guard: 'failing', target: 'failingCopies' },
        { guard: 'recovering', target: 'recovering' },
        { target: 'inSync' },
      ],
    },
    inSync: {},
    recovering: {},
    failingCopies: {},
    stopped: {
      on: {
        'group.routing': { actions: 'routing' },
        'group.replicate': { actions: 'refuse' },
        'group.track': { actions: 'refuse' },
        'group.recovered': { actions: 'refuse' },
        'group.changed': {},
      },
    },
  },
});
