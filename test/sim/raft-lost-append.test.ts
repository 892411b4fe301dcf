import { expect, it } from 'vitest';
import { raftPeerMachine } from '../../actors/raft-peer.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import type { RaftStatus } from '../../src/raft/peer-state.ts';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { FaultPlan, FaultyTransport } from '../../src/transport/faults.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';

// A leader sends entries optimistically (pipelined). When the only live follower loses that
// append and nothing new is proposed afterwards, heartbeats alone must get the entry resent:
// otherwise an idle cluster never commits (seen as a new master's state never committing).
it('resends an append that was lost while nothing new is proposed', async () => {
  const clock = new SimulatedClock({ start: 0 });
  const network = new MemoryNetwork({ clock });
  const plan = new FaultPlan({ seed: 1 });
  const rng = new SeededRandom(7);
  const ids = ['p1', 'p2', 'p3'];
  const systems = new Map<string, ActorSystem>();
  const settle = async <T>(p: Promise<T>, maxTimeMs = 5_000): Promise<T | undefined> => {
    let out: { v: T } | undefined;
    p.then((v) => (out = { v }), () => undefined);
    await clock.runUntil(() => out !== undefined, { maxTimeMs });
    return out?.v;
  };
  for (const id of ids) {
    const transport = new FaultyTransport(network.connect(id), id, plan, clock);
    const system = (await settle(ActorSystem.start({ nodeId: id, transport, clock, logLevel: 'silent', failureDetector: false })))!;
    const peerRng = rng.fork();
    system.spawn('raft', raftPeerMachine, {
      input: {
        storage: new MemoryRaftStorage(),
        stateMachine: () => ({ apply: () => null, snapshot: () => null, restore: () => undefined }),
        bootstrap: { voters: ids, learners: [] },
        random: () => peerRng.next(),
      },
    });
    systems.set(id, system);
  }
  const raft = (id: string) => systems.get(id)!.ref('/user/raft');
  const status = async (id: string) => (await settle(systems.get(id)!.ask<RaftStatus>(raft(id), { type: 'raft.status' })))!;
  await clock.runUntil(() => false, { maxTimeMs: 1_000 });
  const leader = (await status('p1')).leader!;
  const [a, b] = ids.filter((p) => p !== leader) as [string, string];

  // b is gone; the leader's appends to a are lost for a moment; then one entry is proposed.
  plan.isolate(b);
  plan.block(leader, a);
  const proposed = systems.get(leader)!.ask(raft(leader), { type: 'raft.propose', data: 'x' }, { timeoutMs: 10_000 });
  await clock.runUntil(() => false, { maxTimeMs: 20 });
  plan.unblock(leader, a);

  // Heartbeats flow again; the entry must be resent and committed with no further proposal.
  expect(await settle(proposed, 2_000)).toBeNull();
  await clock.runUntil(() => false, { maxTimeMs: 200 }); // the next heartbeat carries the commit
  const s = await status(a);
  expect(s.commitIndex).toBe((await status(leader)).commitIndex);
  for (const system of systems.values()) system.halt();
});
