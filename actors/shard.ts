import { assign, fromPromise, not, setup } from 'xstate';
import type { IndexMeta, ShardTable } from '../src/cluster/metadata.ts';
import { settle, ShardCopy, type RefreshMode, type ReplicaGroupHandle, type ReplicateRequest, type ShardIdentity, type ShardIO, type WriteItem } from '../src/data/shard-copy.ts';
import type { ReplicaOp } from '../src/engine/shard-engine.ts';
import { replicaGroupMachine, type ReplicateOutcome } from './replica-group.ts';
import type { ActorRef } from '../src/runtime/actor-ref.ts';
import type { ActorContext } from '../src/runtime/context.ts';
import { ShoalError } from '../src/runtime/errors.ts';

/**
 * The shard actor: one copy of one shard on this node. Its machine is the copy's lifecycle —
 * initializing → recovering (replicas, from the primary) → started as primary or replica →
 * closed, or failed — and the replication protocol of src/data/shard-copy.ts runs inside it.
 * A replica the cluster state promotes moves to `started.primary` in the new primary term; a
 * replica that sees a new primary term resyncs from the new primary while it keeps taking writes.
 */
export interface ShardActorInput {
  identity: ShardIdentity;
  meta: IndexMeta;
  table: ShardTable;
  io: ShardIO;
  self: ActorRef;
  shoal: ActorContext;
}

export type ShardEvent =
  | { type: 'shard.routing'; table: ShardTable; meta: IndexMeta }
  | { type: 'shard.write'; items: WriteItem[]; term?: number; refresh?: RefreshMode; mappingVersion?: number }
  | ReplicateRequest
  | { type: 'shard.recovery_plan'; from: number }
  | { type: 'shard.recover'; allocationId: string; node: string; from: number; full: boolean; suspects: string[]; term?: number }
  | { type: 'shard.recovery_chunk'; sessionId: string; offset: number }
  | { type: 'shard.recovery_done'; sessionId: string; allocationId: string; localCheckpoint: number }
  | { type: 'shard.get'; id: string }
  | { type: 'shard.search'; request: unknown; keepReader?: boolean; pitId?: string; keepAliveMs?: number }
  | { type: 'shard.open_pit'; keepAliveMs: number }
  | { type: 'shard.fetch'; readerId: string; addresses: unknown; _source?: unknown; highlight?: unknown; query?: unknown; script_fields?: unknown }
  | { type: 'shard.free_reader'; readerId: string }
  | { type: 'shard.refresh' }
  | { type: 'shard.flush' }
  | { type: 'shard.forcemerge'; maxNumSegments?: number; onlyExpungeDeletes?: boolean; flush?: boolean }
  | { type: 'shard.stats' }
  | { type: 'shard.close' };

interface ShardContext {
  copy: ShardCopy;
  io: ShardIO;
  shoal: ActorContext;
  attempts: number;
  lastError: string | undefined;
}

const MAX_RECOVERY_ATTEMPTS = 10;

/** A new primary tells the master it has started, until the routing table says so (replicas are reported by their primary). */
async function reportStarted(c: ShardContext): Promise<void> {
  const { copy } = c;
  for (let attempt = 0; c.shoal.system.isRunning; attempt++) {
    const me = copy.table?.copies.find((x) => x.allocationId === copy.id.allocationId);
    if (!me || me.state !== 'INITIALIZING' || !me.primary) return;
    try {
      const res = await c.io.propose({ op: 'shard_started', index: copy.id.index, shard: copy.id.shard, allocationId: copy.id.allocationId, at: c.io.now() });
      await c.io.waitForVersion(res.version, 5_000);
      return;
    } catch (err) {
      c.io.log.warn({ shard: copy.label, err: (err as Error).message, attempt }, 'reporting shard started failed; retrying');
      await new Promise<void>((r) => c.shoal.clock.setTimeout(() => r(), Math.min(1_000, 100 * 2 ** attempt)));
    }
  }
}

const GROUP_ASK_MS = 10_000;
/** Replication waits for slow copies and for the master to drop failed ones; the coordinator's own timeout bounds the request. */
const GROUP_REPLICATE_MS = 120_000;

/**
 * The replica-group actor of one primary term, a child of this shard actor: spawned on first use
 * (not while the shard actor itself is still starting).
 */
function replicaGroup(shoal: ActorContext, copy: () => ShardCopy, io: ShardIO, term: number): ReplicaGroupHandle {
  let ref: ActorRef | undefined;
  const actor = async (): Promise<ActorRef> => {
    if (ref) return ref;
    // Spawned a microtask later: not from inside the xstate action that asked (xstate starts the
    // child's machine synchronously, and must not do so while running another machine's action).
    await null;
    if (ref) return ref;
    const c = copy();
    ref = shoal.spawn(`group-t${term}`, replicaGroupMachine, {
      input: { label: c.label, primaryAllocationId: c.id.allocationId, term, index: c.id.index, shard: c.id.shard, currentTable: () => c.table!, io },
      restart: 'permanent',
    });
    return ref;
  };
  const ask = async <T>(message: unknown, timeoutMs: number): Promise<T> => shoal.ask<T>(await actor(), message, { timeoutMs });
  return {
    routing: (table) => void (ref ? shoal.tell(ref, { type: 'group.routing', table }) : undefined),
    replicate: (ops: ReplicaOp[], refresh: RefreshMode, primaryLocalCheckpoint: number, mappingVersion: number) =>
      ask<ReplicateOutcome>({ type: 'group.replicate', ops, refresh, primaryLocalCheckpoint, mappingVersion }, GROUP_REPLICATE_MS),
    track: (allocationId, node) => ask<void>({ type: 'group.track', allocationId, node }, GROUP_ASK_MS),
    recovered: (allocationId, localCheckpoint) => ask<{ member: boolean }>({ type: 'group.recovered', allocationId, localCheckpoint }, GROUP_ASK_MS),
    status: (primaryLocalCheckpoint) => ask<Record<string, unknown>>({ type: 'group.status', primaryLocalCheckpoint }, GROUP_ASK_MS),
  };
}

export const shardMachine = setup({
  types: {} as { context: ShardContext; events: ShardEvent; input: ShardActorInput },
  delays: { retry: ({ context }) => Math.min(2_000, 100 * 2 ** context.attempts) },
  actors: {
    recover: fromPromise<unknown, ShardContext>(async ({ input: c }) => {
      // The primary may not have this copy's routing yet: the recovery is simply retried.
      const primary = c.copy.primaryCopy;
      if (!primary || primary.state === 'INITIALIZING' || primary.allocationId === c.copy.id.allocationId) throw new Error('no started primary to recover from');
      const res = await c.copy.recover(primary, 30_000);
      c.io.log.info({ shard: c.copy.label, ...res }, 'recovered from the primary');
      return res;
    }),
  },
  guards: {
    isPrimary: ({ context }) => context.copy.role === 'primary',
    needsResync: ({ context }) => context.copy.needsResync,
    givesUp: ({ context }) => context.attempts >= MAX_RECOVERY_ATTEMPTS,
    isRelocating: ({ context }) => context.copy.table?.copies.find((c) => c.allocationId === context.copy.id.allocationId)?.state === 'RELOCATING',
  },
  actions: {
    routing: ({ context, event }) => {
      if (event.type === 'shard.routing') context.copy.applyRouting(event.table, event.meta);
    },
    reportStarted: ({ context }) => void reportStarted(context),
    write: ({ context: c, event }) => {
      if (event.type !== 'shard.write') return;
      settle(c.shoal.deferReply(), () => c.copy.write(event.items, event.term, event.refresh === 'wait_for' ? 'wait_for' : event.refresh === true, event.mappingVersion));
    },
    replicate: ({ context: c, event }) => {
      if (event.type !== 'shard.replicate') return;
      settle(c.shoal.deferReply(), () => c.copy.applyReplicated(event));
    },
    recoveryPlan: ({ context: c, event }) => {
      if (event.type === 'shard.recovery_plan') settle(c.shoal.deferReply(), () => c.copy.recoveryPlan(event.from));
    },
    startRecovery: ({ context: c, event }) => {
      if (event.type === 'shard.recover') settle(c.shoal.deferReply(), () => c.copy.startRecovery(event));
    },
    recoveryChunk: ({ context: c, event }) => {
      if (event.type === 'shard.recovery_chunk') settle(c.shoal.deferReply(), () => c.copy.recoveryChunk(event.sessionId, event.offset));
    },
    recoveryDone: ({ context: c, event }) => {
      if (event.type === 'shard.recovery_done') settle(c.shoal.deferReply(), () => c.copy.endRecovery(event.sessionId, event.allocationId, event.localCheckpoint));
    },
    get: ({ context: c, event }) => {
      if (event.type === 'shard.get') settle(c.shoal.deferReply(), () => c.copy.get(event.id));
    },
    search: ({ context: c, event }) => {
      if (event.type === 'shard.search') settle(c.shoal.deferReply(), () => c.copy.search(event.request, event.keepReader === true, event.pitId === undefined ? undefined : String(event.pitId), typeof event.keepAliveMs === 'number' ? event.keepAliveMs : undefined));
    },
    openPit: ({ context: c, event }) => {
      if (event.type === 'shard.open_pit') settle(c.shoal.deferReply(), () => c.copy.openPit(Number(event.keepAliveMs)));
    },
    fetch: ({ context: c, event }) => {
      if (event.type === 'shard.fetch') settle(c.shoal.deferReply(), () => c.copy.fetch(String(event.readerId), event.addresses, event));
    },
    freeReader: ({ context: c, event }) => {
      if (event.type === 'shard.free_reader') settle(c.shoal.deferReply(), () => c.copy.freeReader(String(event.readerId)));
    },
    refresh: ({ context: c }) => settle(c.shoal.deferReply(), () => (c.copy.engine.refresh(), { ok: true })),
    /** Becoming searchable: what arrived since the recovery's own refresh is visible at once. */
    refreshNow: ({ context: c }) => c.copy.engine.refresh(),
    flush: ({ context: c }) => settle(c.shoal.deferReply(), () => (c.copy.engine.flush(), { ok: true })),
    forceMerge: ({ context: c, event }) => {
      if (event.type === 'shard.forcemerge') settle(c.shoal.deferReply(), () => c.copy.forceMerge(event));
    },
    stats: ({ context: c, self }) => {
      const state = self.getSnapshot().value;
      settle(c.shoal.deferReply(), async () => ({ ...(await c.copy.stats()), state }));
    },
    notReady: ({ context: c, event }) =>
      settle(c.shoal.deferReply(), () => {
        throw new ShoalError('shard_not_ready', `${c.copy.label} copy ${c.copy.id.allocationId} is not started (${event.type})`);
      }),
    notPrimary: ({ context: c }) =>
      settle(c.shoal.deferReply(), () => {
        throw new ShoalError('not_primary', `${c.copy.label} copy ${c.copy.id.allocationId} is not the primary`);
      }),
    close: ({ context }) => context.copy.close(),
    reportFailed: ({ context: c }) => {
      c.copy.close();
      void c.io
        .propose({ op: 'shard_failed', index: c.copy.id.index, shard: c.copy.id.shard, allocationId: c.copy.id.allocationId, reason: c.lastError ?? 'failed', at: c.io.now() })
        .catch(() => undefined);
    },
  },
}).createMachine({
  id: 'shard',
  context: ({ input }) => {
    const copy: ShardCopy = new ShardCopy(input.identity, input.meta, input.io, (term) => replicaGroup(input.shoal, () => copy, input.io, term));
    copy.applyRouting(input.table, input.meta);
    return { copy, io: input.io, shoal: input.shoal, attempts: 0, lastError: undefined };
  },
  initial: 'initializing',
  on: {
    'shard.routing': { actions: 'routing' },
    // Any copy answers replication (a stale primary learns it is stale from the error).
    'shard.replicate': { actions: 'replicate' },
    'shard.stats': { actions: 'stats' },
    'shard.close': '.closed',
    'shard.write': { actions: 'notReady' },
    'shard.get': { actions: 'notReady' },
    'shard.search': { actions: 'notReady' },
    'shard.open_pit': { actions: 'notReady' },
    // A reader outlives role changes (it is this copy's own view): any copy fetches and frees.
    'shard.fetch': { actions: 'fetch' },
    'shard.free_reader': { actions: 'freeReader' },
    // Any live copy refreshes, a recovering one too: it may turn searchable right after (as
    // Elasticsearch's refresh reaches every copy of the replication group).
    'shard.refresh': { actions: 'refresh' },
    'shard.flush': { actions: 'flush' },
    // Every copy merges its own segments, as Elasticsearch's force merge reaches every copy.
    'shard.forcemerge': { actions: 'forceMerge' },
    'shard.recovery_plan': { actions: 'notPrimary' },
    'shard.recover': { actions: 'notPrimary' },
    'shard.recovery_chunk': { actions: 'notPrimary' },
    'shard.recovery_done': { actions: 'notPrimary' },
  },
  states: {
    initializing: {
      always: [{ guard: 'isPrimary', target: 'started.primary' }, { target: 'recovering' }],
    },
    recovering: {
      invoke: {
        src: 'recover',
        input: ({ context }) => context,
        onDone: { target: 'started.replica', actions: assign({ attempts: 0 }) },
        onError: [
          { guard: 'givesUp', target: 'failed', actions: assign({ lastError: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
          { target: 'waitingToRecover', actions: assign({ attempts: ({ context }) => context.attempts + 1, lastError: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
        ],
      },
    },
    waitingToRecover: {
      after: { retry: 'initializing' },
    },
    started: {
      entry: 'reportStarted',
      initial: 'replica',
      states: {
        primary: {
          on: {
            'shard.write': { actions: 'write' },
            'shard.recovery_plan': { actions: 'recoveryPlan' },
            'shard.recover': { actions: 'startRecovery' },
            'shard.recovery_chunk': { actions: 'recoveryChunk' },
            'shard.recovery_done': { actions: 'recoveryDone' },
            'shard.get': { actions: 'get' },
            'shard.search': { actions: 'search' },
            'shard.open_pit': { actions: 'openPit' },
          },
        },
        replica: {
          entry: 'refreshNow',
          initial: 'active',
          always: { guard: 'isPrimary', target: 'primary' },
          on: {
            'shard.write': { actions: 'notPrimary' },
            'shard.get': { actions: 'get' },
            'shard.search': { actions: 'search' },
            'shard.open_pit': { actions: 'openPit' },
          },
          states: {
            active: {
              always: [
                { guard: 'needsResync', target: 'resyncing' },
                { guard: 'isRelocating', target: 'relocating' },
              ],
            },
            /** A copy elsewhere is recovering to replace this one; it keeps serving until then. */
            relocating: {
              always: [
                { guard: 'needsResync', target: 'resyncing' },
                { guard: not('isRelocating'), target: 'active' },
              ],
            },
            /** A new primary: confirm what this copy has above the global checkpoint. */
            resyncing: {
              invoke: {
                src: 'recover',
                input: ({ context }) => context,
                onDone: 'active',
                onError: 'resyncWait',
              },
            },
            resyncWait: { after: { retry: 'resyncing' } },
          },
        },
      },
    },
    closed: { type: 'final', entry: 'close' },
    failed: { type: 'final', entry: 'reportFailed' },
  },
});
