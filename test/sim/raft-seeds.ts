import { expect, it } from 'vitest';
import { runRaftSimulation } from './raft-sim.ts';

/**
 * Runs seeded Raft simulations. SHOAL_SIM_SEED=<n> replays one seed; SHOAL_SIM_SEEDS=<count>
 * changes how many run. A failure names its seed and how to replay it.
 */
export function raftSeedSuite(peers: 3 | 5, firstSeed: number, defaultCount: number): void {
  const only = process.env.SHOAL_SIM_SEED;
  const count = Number(process.env.SHOAL_SIM_SEEDS ?? defaultCount);
  const seeds = only ? [Number(only)] : Array.from({ length: count }, (_, i) => firstSeed + i);
  it(`${seeds.length} seeded runs of ${peers} peers keep Raft's safety properties and converge`, async () => {
    const failures: string[] = [];
    let acknowledged = 0;
    for (const seed of seeds) {
      const r = await runRaftSimulation({ seed, peers });
      acknowledged += r.acknowledged;
      if (r.violations.length > 0) {
        failures.push(`seed ${seed} (replay: SHOAL_SIM_SEED=${seed} npx vitest run test/sim/raft-${peers}.sim.test.ts):\n  ${r.violations.join('\n  ')}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(acknowledged).toBeGreaterThan(seeds.length * 50);
  }, 300_000);
}
