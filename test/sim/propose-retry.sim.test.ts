import { describe, expect, it } from 'vitest';
import { SIM_MASTERS, simCluster } from '../support/sim-cluster.ts';

/**
 * proposeCommand while no leader is known yet (an election still settling): the raft peer
 * refuses with `no_leader`, and the proposal is tried again every 50 virtual ms until a leader
 * commits it, within its timeout; past the timeout the error comes back.
 */
async function cluster() {
  const sim = simCluster();
  for (const id of SIM_MASTERS) await sim.start(id);
  return { clock: sim.clock, nodes: [...sim.nodes.values()], settle: sim.settle, shutdown: sim.shutdown };
}

describe('proposeCommand while an election settles (simulated clock)', () => {
  it('retries a proposal refused for want of a leader until one commits it', async () => {
    const { clock, nodes, settle, shutdown } = await cluster();
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
      await shutdown();
    }
  });

  it('gives the error back once its timeout has passed', async () => {
    const { clock, nodes, settle, shutdown } = await cluster();
    try {
      const startedAt = clock.now();
      // Too short for any election: refused with no_leader after the retries.
      const res = await settle(nodes[0]!.proposeCommand({ op: 'cluster_settings', awareness: 'rack', at: 0 }, 120), 5_000);
      expect(res.ok).toBe(false);
      expect((res as { error: { type?: string } }).error.type).toBe('no_leader');
      expect(clock.now() - startedAt).toBeGreaterThanOrEqual(100); // retried in between
    } finally {
      await shutdown();
    }
  });
});
