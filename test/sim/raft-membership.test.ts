import { expect, it } from 'vitest';
import { raftPeerMachine } from '../../actors/raft-peer.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import type { RaftStatus } from '../../src/raft/peer-state.ts';
import type { Membership } from '../../src/raft/types.ts';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { ShoalError } from '../../src/runtime/errors.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';

/** Await a promise while driving the simulated clock (5 s of virtual time at most). */
async function settleOn<T>(clock: SimulatedClock, p: Promise<T>): Promise<T> {
  let out: { ok: boolean; v: unknown } | undefined;
  p.then((v) => (out = { ok: true, v }), (v) => (out = { ok: false, v }));
  await clock.runUntil(() => out !== undefined, { maxTimeMs: 5_000 });
  if (!out) throw new Error('timed out');
  if (!out.ok) throw out.v;
  return out.v as T;
}

it('changes membership one voter at a time; learners follow without voting', async () => {
  const clock = new SimulatedClock({ start: 0 });
  const network = new MemoryNetwork({ clock });
  const rng = new SeededRandom(99);
  const systems = new Map<string, ActorSystem>();
  const bootstrap: Membership = { voters: ['p1', 'p2', 'p3'], learners: [] };
  const settle = <T>(p: Promise<T>) => settleOn(clock, p);
  for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) {
    const system = await settle(ActorSystem.start({ nodeId: id, transport: network.connect(id), clock, logLevel: 'silent', failureDetector: false }));
    const peerRng = rng.fork();
    system.spawn('raft', raftPeerMachine, {
      input: { storage: new MemoryRaftStorage(), stateMachine: () => ({ apply: () => null, snapshot: () => null, restore: () => undefined }), bootstrap, random: () => peerRng.next() },
    });
    systems.set(id, system);
  }
  const status = (id: string) => settle(systems.get(id)!.ask<RaftStatus>(systems.get(id)!.ref('/user/raft'), { type: 'raft.status' }));
  const ask = (id: string, msg: object) => settle(systems.get(id)!.ask(systems.get(id)!.ref('/user/raft'), msg));
  await clock.runUntil(() => false, { maxTimeMs: 1_000 });
  const leader = (await status('p1')).leader!;
  expect(['p1', 'p2', 'p3']).toContain(leader);

  // p4 joins as a voter (asked through any peer: followers forward to the leader).
  await ask('p2', { type: 'raft.change_membership', membership: { voters: ['p1', 'p2', 'p3', 'p4'], learners: [] } });
  // Two voters at once is refused.
  const twoAtOnce = await ask('p1', { type: 'raft.change_membership', membership: { voters: ['p1', 'p2'], learners: [] } }).catch((e: ShoalError) => e.type);
  expect(twoAtOnce).toBe('invalid_membership');
  // p5 joins as a learner: it receives the log but never votes or campaigns.
  await ask('p3', { type: 'raft.change_membership', membership: { voters: ['p1', 'p2', 'p3', 'p4'], learners: ['p5'] } });
  await ask('p1', { type: 'raft.propose', data: 'x' });
  await clock.runUntil(() => false, { maxTimeMs: 300 });
  const s4 = await status('p4');
  const s5 = await status('p5');
  expect(s4.membership.voters).toContain('p4');
  expect(s5.membership.learners).toEqual(['p5']);
  expect(s5.commitIndex).toBe((await status(leader)).commitIndex);

  // Remove the leader's first follower; then, with two of the remaining voters down... p4 must count.
  const removed = ['p1', 'p2', 'p3'].find((p) => p !== leader)!;
  await ask(leader, { type: 'raft.change_membership', membership: { voters: ['p1', 'p2', 'p3', 'p4'].filter((p) => p !== removed), learners: ['p5'] } });
  systems.get(removed)!.halt();
  const third = ['p1', 'p2', 'p3'].find((p) => p !== leader && p !== removed)!;
  systems.get(third)!.halt();
  // Voters are now leader, third (down) and p4: leader + p4 are a quorum of 3.
  await ask(leader, { type: 'raft.propose', data: 'with p4' });
  for (const s of systems.values()) s.halt();
}, 30_000);

it('a leader that removes itself steps down once the change commits', async () => {
  const clock = new SimulatedClock({ start: 0 });
  const network = new MemoryNetwork({ clock });
  const rng = new SeededRandom(7);
  const systems = new Map<string, ActorSystem>();
  const settle = <T>(p: Promise<T>) => settleOn(clock, p);
  for (const id of ['p1', 'p2', 'p3']) {
    const system = await settle(ActorSystem.start({ nodeId: id, transport: network.connect(id), clock, logLevel: 'silent', failureDetector: false }));
    const peerRng = rng.fork();
    system.spawn('raft', raftPeerMachine, {
      input: { storage: new MemoryRaftStorage(), stateMachine: () => ({ apply: () => null, snapshot: () => null, restore: () => undefined }), bootstrap: { voters: ['p1', 'p2', 'p3'], learners: [] }, random: () => peerRng.next() },
    });
    systems.set(id, system);
  }
  const status = (id: string) => settle(systems.get(id)!.ask<RaftStatus>(systems.get(id)!.ref('/user/raft'), { type: 'raft.status' }));
  await clock.runUntil(() => false, { maxTimeMs: 1_000 });
  const leader = (await status('p1')).leader!;
  const others = ['p1', 'p2', 'p3'].filter((p) => p !== leader);
  await settle(systems.get(leader)!.ask(systems.get(leader)!.ref('/user/raft'), { type: 'raft.change_membership', membership: { voters: others, learners: [] } }));
  await clock.runUntil(() => false, { maxTimeMs: 1_000 });
  expect((await status(leader)).role).not.toBe('leader');
  expect(others).toContain((await status(others[0]!)).leader);
  for (const s of systems.values()) s.halt();
}, 30_000);
