import { describe, expect, it } from 'vitest';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';

/**
 * proposeCommand while no leader is known yet (an election still settling): the raft peer
 * refuses with `no_leader`, and the proposal is tried again every 50 virtual ms until a leader
 * commits it, within its timeout; past the timeout the error comes back.
 */
const MASTERS = ['n1', 'n2', 'n3'];

async function cluster() {
  const clock = new SimulatedClock({ start: 0, settleTurns: 1 });
  const network = new MemoryNetwork({ clock });
  const nodes: ShoalNode[] = [];
  const settle = async <T>(p: Promise<T>, maxMs: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> => {
    let done: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    p.then(
      (value) => (done = { ok: true, value }),
      (error) => (done = { ok: false, error }),
    );
    await clock.runUntil(() => done !== undefined, { maxTimeMs: maxMs });
    if (!done) throw new Error(`did not settle within ${maxMs} virtual ms`);
    return done;
  };
  for (const [i, id] of MASTERS.entries()) {
    let x = i + 1;
    const random = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const started = await settle(ShoalNode.start({ nodeId: id, transport: network.connect(id), clock, random, storage: new MemoryRaftStorage(), logLevel: 'silent', masters: MASTERS }), 5_000);
    if (!started.ok) throw started.error;
    nodes.push(started.value);
  }
  return { clock, nodes, settle };
}

describe('proposeCommand while an election settles (simulated clock)', () => {
  it('retries a proposal refused for want of a leader until one commits it', async () => {
    const { clock, nodes, settle } = await cluster();
    try {
      const n1 = nodes[0]!;
      expect(n1.state.master).toBeNull(); // no election has finished yet
      const startedAt = clock.now();
      const res = await settle(n1.proposeCommand({ op: 'cluster_settings', awareness: 'zone', at: 0 }, 10_000), 20_000);
      expect(res.ok).toBe(true);
      // It waited for an election: not answered at once.
      expect(clock.now() - startedAt).toBeGreaterThan(0);
      const version = (res as { value: { version: number } }).value.version;
      const applied = await settle(n1.waitForVersion(version), 5_000);
      expect(applied.ok && applied.value.settings.awareness).toBe('zone');
    } finally {
      for (const n of nodes) await settle(n.shutdown(), 5_000);
    }
  });

  it('gives the error back once its timeout has passed', async () => {
    const { clock, nodes, settle } = await cluster();
    try {
      const startedAt = clock.now();
      // Too short for any election: refused with no_leader after the retries.
      const res = await settle(nodes[0]!.proposeCommand({ op: 'cluster_settings', awareness: 'rack', at: 0 }, 120), 5_000);
      expect(res.ok).toBe(false);
      expect((res as { error: { type?: string } }).error.type).toBe('no_leader');
      expect(clock.now() - startedAt).toBeGreaterThanOrEqual(100); // retried in between
    } finally {
      for (const n of nodes) await settle(n.shutdown(), 5_000);
    }
  });
});
