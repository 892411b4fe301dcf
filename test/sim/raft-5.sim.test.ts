import { describe } from 'vitest';
import { raftSeedSuite } from './raft-seeds.ts';

describe('Raft simulation: 5 peers, seeded loss, delay, duplication, partitions, crashes', () => {
  raftSeedSuite(5, 5_000, 250);
});
