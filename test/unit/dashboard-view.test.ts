/**
 * The dashboard's cluster view (src/dashboard/view.ts): node status from membership and `shoal up`'s
 * processes, copies with their shard actors' paths, indices with their health.
 */
import { describe, expect, it } from 'vitest';
import type { CatShard, ClusterHealthResponse } from '../../protocols/api.ts';
import type { ClusterState } from '../../src/cluster/cluster-state.ts';
import type { ProcessInfo } from '../../src/cli/up-control.ts';
import { buildView, viewKey } from '../../src/dashboard/view.ts';

const node = (id: string, roles: ('master' | 'data')[] = ['master', 'data']) => ({ id, name: id, roles, attributes: { zone: id === 'n1' ? 'a' : 'b' } });

function state(members: string[], version = 7): ClusterState {
  return {
    version,
    master: { id: 'n1', term: 3 },
    nodes: Object.fromEntries(members.map((id) => [id, node(id, id === 'n4' ? ['data'] : ['master', 'data'])])),
    indices: {
      books: {
        name: 'books',
        uuid: 'u1',
        state: 'open',
        mappings: {} as never,
        settings: { number_of_shards: 2, number_of_replicas: 1, refresh_interval_ms: 1_000, delayed_timeout_ms: 60_000 },
      },
    },
    routing: {},
    settings: {},
  };
}

const shards: CatShard[] = [
  { index: 'books', shard: 1, prirep: 'r', state: 'UNASSIGNED', node: null },
  { index: 'books', shard: 1, prirep: 'p', state: 'STARTED', node: 'n1', allocation_id: 'a3.0', primary_term: 2, in_sync: true },
  { index: 'books', shard: 0, prirep: 'r', state: 'INITIALIZING', node: 'n1', allocation_id: 'a3.1', primary_term: 1, in_sync: false },
  { index: 'books', shard: 0, prirep: 'p', state: 'STARTED', node: 'n3', allocation_id: 'a2.0', primary_term: 1, in_sync: true },
];

const health: ClusterHealthResponse = {
  cluster_name: 'shoal',
  status: 'yellow',
  timed_out: false,
  number_of_nodes: 2,
  number_of_data_nodes: 2,
  active_primary_shards: 2,
  active_shards: 2,
  relocating_shards: 0,
  initializing_shards: 1,
  unassigned_shards: 1,
  master_node: 'n1',
  cluster_state_version: 7,
  indices: { books: { status: 'yellow', number_of_shards: 2, number_of_replicas: 1 } },
};

const proc = (n: string, status: 'running' | 'exited', exit?: string): ProcessInfo => ({ node: n, pid: 100, status, started_at: '2025-01-01T00:00:00Z', restarts: 0, ...(exit ? { exit } : {}) });

describe('dashboard cluster view', () => {
  it('a node is up while a member, down once its process exited (before the master removes it), down when it left', () => {
    const seen = new Map();
    const first = buildView({ cluster: 'shoal', state: state(['n1', 'n2', 'n3']), shards, health, seen, now: 1 });
    expect(first.nodes.map((n) => `${n.id}:${n.status}`)).toEqual(['n1:up', 'n2:up', 'n3:up']);
    expect(first.nodes.find((n) => n.id === 'n1')!.master).toBe(true);

    // Killed: still a member of the state, but shoal up saw its process exit.
    const killed = buildView({ cluster: 'shoal', state: state(['n1', 'n2', 'n3']), shards, health, seen, processes: [proc('n1', 'running'), proc('n2', 'exited', 'SIGKILL'), proc('n3', 'running')] });
    expect(killed.nodes.find((n) => n.id === 'n2')).toMatchObject({ status: 'down', reason: 'process exited (SIGKILL)', roles: ['master', 'data'] });

    // Removed from the state and no process info: down, and it keeps the roles it had.
    const left = buildView({ cluster: 'shoal', state: state(['n1', 'n3'], 8), shards, health, seen });
    expect(left.nodes.find((n) => n.id === 'n2')).toMatchObject({ status: 'down', reason: 'left the cluster state', roles: ['master', 'data'], master: false });

    // Restarted by shoal up, not joined yet.
    const back = buildView({ cluster: 'shoal', state: state(['n1', 'n3'], 9), shards, health, seen, processes: [proc('n1', 'running'), proc('n2', 'running'), proc('n3', 'running')] });
    expect(back.nodes.find((n) => n.id === 'n2')!.status).toBe('joining');
  });

  it('node actors: the node actor everywhere, the raft peer on master-eligible nodes only; ids sort numerically', () => {
    const v = buildView({ cluster: 'shoal', state: state(['n10', 'n1', 'n4', 'n2']), shards: [], health, seen: new Map() });
    expect(v.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n4', 'n10']);
    expect(v.nodes.find((n) => n.id === 'n4')!.actors).toEqual([{ path: '/system/node', kind: 'node' }]);
    expect(v.nodes.find((n) => n.id === 'n1')!.actors).toEqual([
      { path: '/system/node', kind: 'node' },
      { path: '/system/raft', kind: 'raft' },
    ]);
  });

  it('copies: sorted by index, shard, primary first; assigned ones name their shard actor', () => {
    const v = buildView({ cluster: 'shoal', state: state(['n1', 'n3']), shards, health, seen: new Map() });
    expect(v.copies.map((c) => `${c.index}/${c.shard}/${c.primary ? 'p' : 'r'}/${c.node ?? '-'}:${c.state}`)).toEqual([
      'books/0/p/n3:STARTED',
      'books/0/r/n1:INITIALIZING',
      'books/1/p/n1:STARTED',
      'books/1/r/-:UNASSIGNED',
    ]);
    expect(v.copies[0]).toMatchObject({ actor: '/system/indices/u1_0', allocationId: 'a2.0', primaryTerm: 1, inSync: true });
    expect(v.copies[3]!.actor).toBeUndefined();
    expect(v.indices).toEqual([{ name: 'books', uuid: 'u1', state: 'open', shards: 2, replicas: 1, health: 'yellow' }]);
    expect(v.health).toMatchObject({ status: 'yellow', unassigned_shards: 1, initializing_shards: 1 });
  });

  it('viewKey ignores only the timestamp', () => {
    const a = buildView({ cluster: 'shoal', state: state(['n1']), shards, health, seen: new Map(), now: 1 });
    const b = buildView({ cluster: 'shoal', state: state(['n1']), shards, health, seen: new Map(), now: 2 });
    expect(viewKey(a)).toBe(viewKey(b));
    const c = buildView({ cluster: 'shoal', state: state(['n1'], 8), shards, health, seen: new Map(), now: 2 });
    expect(viewKey(c)).not.toBe(viewKey(a));
  });
});
