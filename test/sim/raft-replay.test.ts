import { expect, it } from 'vitest';
import { runRaftSimulation } from './raft-sim.ts';

it('a seed replays exactly', async () => {
  const a = await runRaftSimulation({ seed: 4242, peers: 5 });
  const b = await runRaftSimulation({ seed: 4242, peers: 5 });
  const c = await runRaftSimulation({ seed: 4243, peers: 5 });
  expect(b).toEqual(a);
  expect(c).not.toEqual(a);
});
