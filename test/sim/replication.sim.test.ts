import { describe, expect, it } from 'vitest';
import { runReplicationSimulation } from './replication-sim.ts';

/**
 * Seeded simulations of the data plane's replication (see replication-sim.ts): three nodes on the
 * in-memory transport under a simulated clock, clients writing while messages are lost, delayed
 * and duplicated, nodes crash and come back, and partitions cut nodes off.
 * SHOAL_REPL_SEED=<n> replays one seed (SIM_DEBUG=1 prints its trace); SHOAL_REPL_SEEDS=<count>
 * changes how many run.
 */
const FIRST_SEED = 1;
const only = process.env.SHOAL_REPL_SEED;
const count = Number(process.env.SHOAL_REPL_SEEDS ?? 250);
const seeds = only ? [Number(only)] : Array.from({ length: count }, (_, i) => FIRST_SEED + i);
const replay = (seed: number) => `SHOAL_REPL_SEED=${seed} SIM_DEBUG=1 npx vitest run test/sim/replication.sim.test.ts`;

describe('replication simulation: seeded loss, delay, duplication, crashes and partitions', () => {
  it(`${seeds.length} seeded runs: no acknowledged write lost, in-sync copies converge`, async () => {
    const failures: string[] = [];
    const totals = { acknowledged: 0, failed: 0, crashes: 0, partitions: 0 };
    for (const seed of seeds) {
      const r = await runReplicationSimulation({ seed });
      totals.acknowledged += r.acknowledged;
      totals.failed += r.failed;
      totals.crashes += r.crashes;
      totals.partitions += r.partitions;
      if (r.violations.length > 0) failures.push(`seed ${seed} (replay: ${replay(seed)}):\n  ${r.violations.join('\n  ')}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    // The faults must really happen, and writes must really be acknowledged through them.
    if (!only) {
      expect(totals.acknowledged).toBeGreaterThan(seeds.length * 20);
      expect(totals.crashes).toBeGreaterThan(seeds.length / 2);
      expect(totals.partitions).toBeGreaterThan(seeds.length / 2);
      expect(totals.failed).toBeGreaterThan(0);
    }
  }, 600_000);

  it('is deterministic: the same seed gives the same trace', async () => {
    const a = await runReplicationSimulation({ seed: 42 });
    const b = await runReplicationSimulation({ seed: 42 });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a).toEqual(b);
    const c = await runReplicationSimulation({ seed: 43 });
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });

  it('without faults every write is acknowledged, unless the document says no', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = await runReplicationSimulation({ seed, faults: false });
      expect(r.violations).toEqual([]);
      expect(r.unresolved, `seed ${seed}`).toBe(0);
      // create of an existing id, update of a missing one: the only refusals without faults.
      const refusals = Object.keys(r.errors).filter((t) => t !== 'version_conflict_engine_exception' && t !== 'document_missing_exception');
      expect(refusals, `seed ${seed}: ${JSON.stringify(r.errors)}`).toEqual([]);
      expect(r.acknowledged + r.failed).toBe(r.attempted);
    }
  });
});
