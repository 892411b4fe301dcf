import { raftPeerMachine } from '../../actors/raft-peer.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import type { RaftStateMachine } from '../../src/raft/peer-state.ts';
import type { Entry } from '../../src/raft/types.ts';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import type { ActorRef } from '../../src/runtime/actor-ref.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { FaultPlan, FaultyTransport } from '../../src/transport/faults.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';

export interface RaftSimOptions {
  seed: number;
  peers: 3 | 5;
  /** Virtual time with faults, then a calm period in which the cluster must converge. */
  chaosMs?: number;
  calmMs?: number;
  dropRate?: number;
  crashes?: boolean;
  partitions?: boolean;
}

export interface RaftSimResult {
  seed: number;
  violations: string[];
  acknowledged: number;
  committed: number;
  leaders: number;
  reads: number;
  crashes: number;
  partitions: number;
}

/** A list of applied commands: a state machine every peer must build identically. */
class CommandList implements RaftStateMachine {
  items: unknown[] = [];
  apply(entry: Entry): unknown {
    this.items.push(entry.data);
    return this.items.length;
  }
  snapshot(): unknown {
    return [...this.items];
  }
  restore(data: unknown): void {
    this.items = [...(data as unknown[])];
  }
}

/**
 * One seeded run of a Raft group on the in-memory transport under a simulated clock: a client
 * workload, message loss/delay/duplication, partitions (symmetric and one-way) and crashes with
 * restart from the peer's persisted storage. Checks Raft's safety properties throughout and
 * liveness after the faults stop. Same seed ⇒ same run.
 */
export async function runRaftSimulation(opts: RaftSimOptions): Promise<RaftSimResult> {
  const { seed, peers } = opts;
  const chaosMs = opts.chaosMs ?? 3_000;
  const calmMs = opts.calmMs ?? 3_000;
  const rng = new SeededRandom(seed);
  const clock = new SimulatedClock({ start: 0 });
  const network = new MemoryNetwork({ clock });
  const plan = new FaultPlan({
    seed: rng.int(2 ** 31),
    dropRate: opts.dropRate ?? 0.05,
    duplicateRate: 0.02,
    delayRate: 0.2,
    minDelayMs: 1,
    maxDelayMs: 30,
  });
  const ids = Array.from({ length: peers }, (_, i) => `p${i + 1}`);
  const storages = new Map(ids.map((id) => [id, new MemoryRaftStorage()]));
  const systems = new Map<string, ActorSystem>();
  const violations: string[] = [];
  const leaderOfTerm = new Map<number, string>();
  const committed = new Map<number, string>();
  const appliedUpTo = new Map<string, number>();
  const acknowledged: string[] = [];
  const indexOfCommand = new Map<unknown, number>();
  let reads = 0;
  let crashes = 0;
  let partitions = 0;

  const violate = (what: string) => {
    if (violations.length < 10) violations.push(`t=${clock.now()} ${what}`);
  };

  async function startPeer(id: string): Promise<void> {
    let system: ActorSystem | undefined;
    void ActorSystem.start({
      nodeId: id,
      transport: new FaultyTransport(network.connect(id), id, plan, clock),
      clock,
      logLevel: 'silent',
      failureDetector: false,
    }).then((s) => (system = s));
    await clock.runUntil(() => system !== undefined, { maxTimeMs: 100 });
    systems.set(id, system!);
    const peerRng = rng.fork();
    appliedUpTo.delete(id);
    system!.spawn('raft', raftPeerMachine, {
      input: {
        storage: storages.get(id)!,
        stateMachine: () => new CommandList(),
        bootstrap: { voters: ids, learners: [] },
        random: () => peerRng.next(),
        config: { snapshotThreshold: 40 },
        onLeader: (term: number) => {
          const other = leaderOfTerm.get(term);
          if (other !== undefined && other !== id) violate(`two leaders in term ${term}: ${other} and ${id}`);
          leaderOfTerm.set(term, id);
        },
        onRestore: (index: number) => appliedUpTo.set(id, index),
        onApply: (entry: Entry) => {
          const key = `${entry.term}:${entry.kind}:${JSON.stringify(entry.data ?? null)}`;
          const seen = committed.get(entry.index);
          if (seen !== undefined && seen !== key) violate(`entry ${entry.index} applied as ${key} on ${id} but ${seen} elsewhere`);
          committed.set(entry.index, key);
          // A duplicated request can commit a command twice; the first copy is where it took effect.
          if (entry.kind === 'command' && !indexOfCommand.has(entry.data)) indexOfCommand.set(entry.data, entry.index);
          const prev = appliedUpTo.get(id);
          if (prev !== undefined && entry.index !== prev + 1) violate(`${id} applied ${entry.index} after ${prev}`);
          appliedUpTo.set(id, entry.index);
        },
      },
      restart: 'permanent',
    });
  }

  for (const id of ids) await startPeer(id);

  // Client: one proposal at a time to a random live peer (followers forward to the leader).
  let proposal = 0;
  let clientRunning = true;
  const client = (async () => {
    while (clientRunning) {
      const live = [...systems.entries()];
      if (live.length === 0) {
        await new Promise<void>((r) => clock.setTimeout(r, 20));
        continue;
      }
      const [id, system] = live[rng.int(live.length)]!;
      const ref: ActorRef = system.ref(`/user/raft`);
      if (rng.chance(0.2)) {
        // Linearizable read: its index covers every write acknowledged before it began.
        const ackedBefore = [...acknowledged];
        try {
          const index = await system.ask<number>(ref, { type: 'raft.read' }, { timeoutMs: 300 });
          reads++;
          for (const data of ackedBefore.slice(-20)) {
            const at = indexOfCommand.get(data);
            if (at === undefined || at > index) violate(`read on ${id} returned index ${index}, before acknowledged ${data} (index ${at})`);
          }
        } catch {
          // no leader right now: fine
        }
      } else {
        const data = `c${proposal++}`;
        try {
          await system.ask(ref, { type: 'raft.propose', data }, { timeoutMs: 300 });
          acknowledged.push(data);
        } catch {
          // not acknowledged: may or may not be committed
        }
      }
      await new Promise<void>((r) => clock.setTimeout(r, 5 + rng.int(20)));
    }
  })();

  // Chaos: crashes with restart from storage, partitions, heals.
  const crashed = new Set<string>();
  while (clock.now() < chaosMs) {
    await clock.runFor(100 + rng.int(300));
    const roll = rng.next();
    if (opts.crashes !== false && roll < 0.35 && crashed.size < Math.floor((peers - 1) / 2) + 1) {
      const victim = rng.pick(ids.filter((i) => !crashed.has(i)));
      systems.get(victim)!.halt();
      systems.delete(victim);
      crashed.add(victim);
      crashes++;
    } else if (roll < 0.6 && crashed.size > 0) {
      const back = rng.pick([...crashed]);
      crashed.delete(back);
      await startPeer(back);
    } else if (opts.partitions !== false && roll < 0.8) {
      plan.heal();
      const shuffled = [...ids].sort(() => rng.next() - 0.5);
      const cut = 1 + rng.int(peers - 1);
      if (rng.chance(0.3)) plan.block(shuffled[0]!, shuffled[1]!);
      else plan.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      partitions++;
    } else {
      plan.heal();
    }
  }

  // Calm: everything back, no loss; a leader must emerge and every peer must converge.
  plan.heal();
  plan.setRates({ dropRate: 0, duplicateRate: 0, delayRate: 0 });
  for (const id of [...crashed]) await startPeer(id);
  crashed.clear();
  await clock.runFor(calmMs);
  clientRunning = false;
  await clock.runUntil(() => false, { maxTimeMs: 400 });
  await clock.runFor(500);

  const lastCommitted = Math.max(0, ...committed.keys());
  const lagging = ids.filter((id) => (appliedUpTo.get(id) ?? 0) < lastCommitted);
  // A peer restarted from a snapshot reports applies only after it; converge means reaching the top.
  if (lagging.length > 0) violate(`peers ${lagging.join(',')} did not converge to ${lastCommitted}`);
  const committedData = new Set([...committed.values()].map((k) => k.split(':').slice(2).join(':')));
  for (const data of acknowledged) if (!committedData.has(JSON.stringify(data))) violate(`acknowledged ${data} is not committed`);
  if (leaderOfTerm.size === 0) violate('no leader was ever elected');

  for (const s of systems.values()) s.halt();
  void client;
  return { seed, violations, acknowledged: acknowledged.length, committed: lastCommitted, leaders: leaderOfTerm.size, reads, crashes, partitions };
}
