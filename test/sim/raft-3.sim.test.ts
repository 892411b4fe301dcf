import { describe } from 'vitest';
import { raftSeedSuite } from './raft-seeds.ts';

describe('Raft simulation: 3 peers, seeded loss, delay, duplication, partitions, crashes', () => {
  raftSeedSuite(3, 1_000, 250);
});
