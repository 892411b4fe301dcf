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

  it('counts a copy from the end of its recovery on, even while this node applies the state that starts it later than the master', () => {
    const g = new ReplicationGroup('p');
    const before = table([['p', 'n1', 'STARTED'], ['r1', 'n2', 'INITIALIZING']], ['p']);
    g.update(before);
    g.track('r1', 'n2');
    g.updateLocalCheckpoint('r1', 3);
    expect(g.globalCheckpoint(9)).toBe(9); // recovering: not counted
    g.markInSync('r1'); // its recovery ended: this primary reports it started
    expect(g.globalCheckpoint(9)).toBe(3);
    // A table from before the master started it (this node lags) does not take that back.
    expect(g.update(before)).toEqual([]);
    expect(g.get('r1')?.inSync).toBe(true);
    expect(g.globalCheckpoint(9)).toBe(3);
    g.markInSync('unknown'); // not a member: nothing happens
    expect(g.get('unknown')).toBeUndefined();
  });
});
