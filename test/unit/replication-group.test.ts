import { describe, expect, it } from 'vitest';
import type { ShardTable } from '../../src/cluster/metadata.ts';
import { ReplicationGroup } from '../../src/data/replication-group.ts';

const table = (copies: [string, string, 'STARTED' | 'INITIALIZING'][], inSync: string[]): ShardTable => ({
  primaryTerm: 1,
  copies: copies.map(([allocationId, node, state], i) => ({ allocationId, node, primary: i === 0, state })),
  inSync,
});

describe('the replication group', () => {
  it('starts from the in-sync copies, then admits only copies tracked from their recovery on', () => {
    const g = new ReplicationGroup('p');
    expect(g.update(table([['p', 'n1', 'STARTED'], ['r1', 'n2', 'STARTED']], ['p', 'r1']))).toEqual([]);
    expect(g.targets().map((m) => m.allocationId)).toEqual(['r1']);
    // A recovering copy is tracked, becomes in sync, and stays.
    g.track('r2', 'n3');
    expect(g.update(table([['p', 'n1', 'STARTED'], ['r1', 'n2', 'STARTED'], ['r2', 'n3', 'STARTED']], ['p', 'r1', 'r2']))).toEqual([]);
    expect(g.get('r2')?.inSync).toBe(true);
    // A copy the group dropped (a failed operation) that the table still has in sync missed writes:
    // it is reported, not joined again with a hole in its history.
    g.remove('r2');
    expect(g.update(table([['p', 'n1', 'STARTED'], ['r1', 'n2', 'STARTED'], ['r2', 'n3', 'STARTED']], ['p', 'r1', 'r2']))).toEqual(['r2']);
    expect(g.get('r2')).toBeUndefined();
    // Copies that leave the table leave the group.
    g.update(table([['p', 'n1', 'STARTED']], ['p']));
    expect(g.targets()).toEqual([]);
  });

  it('the global checkpoint is the lowest local checkpoint of the in-sync copies and the primary', () => {
    const g = new ReplicationGroup('p');
    g.update(table([['p', 'n1', 'STARTED'], ['r1', 'n2', 'STARTED']], ['p', 'r1']));
    g.track('r2', 'n3');
    g.updateLocalCheckpoint('r1', 7);
    g.updateLocalCheckpoint('r2', 2); // recovering: not counted
    expect(g.globalCheckpoint(9)).toBe(7);
    g.updateLocalCheckpoint('r1', 5); // never goes back
    expect(g.globalCheckpoint(9)).toBe(7);
    expect(g.globalCheckpoint(4)).toBe(4);
  });
});
