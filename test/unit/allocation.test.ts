import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shardHealth } from '../../src/cluster/allocation.ts';
import { applyClusterCommand, type ClusterCommand, type ClusterState, EMPTY_CLUSTER_STATE, type NodeInfo, type NodeRole } from '../../src/cluster/cluster-state.ts';
import type { ShardCopy, ShardTable } from '../../src/cluster/metadata.ts';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const node = (id: string, attributes: Record<string, string> = {}, roles: NodeRole[] = ['master', 'data']): NodeInfo => ({ id, name: id, roles, attributes });

const join = (id: string, attributes: Record<string, string> = {}, roles?: NodeRole[]): ClusterCommand => ({ op: 'node_join', node: node(id, attributes, roles) });

function createIndex(name: string, shards: number, replicas: number, delay = 60_000, uuid = `${name}-uuid`): ClusterCommand {
  return {
    op: 'create_index',
    name,
    uuid,
    settings: { number_of_shards: shards, number_of_replicas: replicas, refresh_interval_ms: 1000, delayed_timeout_ms: delay },
    mappings: {},
  };
}

function apply(state: ClusterState, ...cmds: ClusterCommand[]): ClusterState {
  return cmds.reduce((s, c) => applyClusterCommand(s, c), state);
}

/** Applies a command that must change the state, and checks the version moved by exactly one. */
function step(state: ClusterState, cmd: ClusterCommand): ClusterState {
  const next = applyClusterCommand(state, cmd);
  expect(next, `${JSON.stringify(cmd)} should change the state`).not.toBe(state);
  expect(next.version).toBe(state.version + 1);
  return next;
}

function cluster(...nodeIds: string[]): ClusterState {
  return apply(EMPTY_CLUSTER_STATE, { op: 'master', id: nodeIds[0] ?? 'n1', term: 1 }, ...nodeIds.map((id) => join(id)));
}

const table = (s: ClusterState, index: string, shard: number): ShardTable => {
  const t = s.routing[index]?.[shard];
  if (!t) throw new Error(`no routing for ${index}[${shard}]`);
  return t;
};
const primaryOf = (t: ShardTable): ShardCopy | undefined => t.copies.find((c) => c.primary);
const replicasOf = (t: ShardTable): ShardCopy[] => t.copies.filter((c) => !c.primary && !c.relocatingFrom);
const replicaCount = (s: ClusterState, index: string) => s.indices[index]!.settings.number_of_replicas;
const health = (s: ClusterState, index: string, shard: number) => shardHealth(table(s, index, shard), replicaCount(s, index));

function initializing(s: ClusterState): { index: string; shard: number; copy: ShardCopy }[] {
  const out: { index: string; shard: number; copy: ShardCopy }[] = [];
  for (const index of Object.keys(s.routing).sort()) {
    s.routing[index]!.forEach((t, shard) => {
      for (const copy of t.copies) if (copy.state === 'INITIALIZING') out.push({ index, shard, copy });
    });
  }
  return out;
}

const started = (s: ClusterState, index: string, shard: number, allocationId: string, at?: number): ClusterState =>
  step(s, { op: 'shard_started', index, shard, allocationId, ...(at !== undefined ? { at } : {}) });

/** Starts INITIALIZING copies one at a time (relocations included) until none is left. */
function startAll(s: ClusterState, at?: number, limit = 500): ClusterState {
  let state = s;
  for (let i = 0; i < limit; i++) {
    const next = initializing(state)[0];
    if (!next) return state;
    state = started(state, next.index, next.shard, next.copy.allocationId, at);
  }
  throw new Error('startAll did not converge');
}

/** Copies per data node (every data node listed, 0 when it holds nothing). */
function loadPerNode(s: ClusterState): Map<string, number> {
  const load = new Map<string, number>();
  for (const n of Object.values(s.nodes)) if (n.roles.includes('data')) load.set(n.id, 0);
  for (const tables of Object.values(s.routing)) for (const t of tables) for (const c of t.copies) load.set(c.node, (load.get(c.node) ?? 0) + 1);
  return load;
}
const spread = (s: ClusterState) => {
  const v = [...loadPerNode(s).values()];
  return Math.max(...v) - Math.min(...v);
};

const sorted = (xs: string[]) => [...xs].sort();

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

describe('allocation: creating an index', () => {
  it('allocates primaries first, replicas once their primary started, and ends green and balanced', () => {
    let s = cluster('n1', 'n2', 'n3');
    s = step(s, createIndex('logs', 3, 1));
    const v = s.version;
    expect(s.routing.logs).toHaveLength(3);
    const primaryNodes = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const t = table(s, 'logs', i);
      expect(t.copies).toHaveLength(1);
      const p = primaryOf(t)!;
      expect(p).toMatchObject({ primary: true, state: 'INITIALIZING' });
      expect(p.allocationId).toMatch(new RegExp(`^a${v}\\.\\d+$`));
      expect(t.primaryTerm).toBe(1);
      expect(t.inSync).toEqual([]);
      expect(health(s, 'logs', i)).toBe('red');
      primaryNodes.add(p.node);
    }
    expect(primaryNodes).toEqual(new Set(['n1', 'n2', 'n3']));
    expect(new Set(s.routing.logs!.flatMap((t) => t.copies.map((c) => c.allocationId))).size).toBe(3);

    // Start shard 0's primary: only shard 0 gets a replica, on another node.
    const p0 = primaryOf(table(s, 'logs', 0))!;
    s = started(s, 'logs', 0, p0.allocationId);
    const t0 = table(s, 'logs', 0);
    expect(primaryOf(t0)).toMatchObject({ allocationId: p0.allocationId, node: p0.node, state: 'STARTED' });
    expect(t0.inSync).toEqual([p0.allocationId]);
    expect(replicasOf(t0)).toHaveLength(1);
    expect(replicasOf(t0)[0]).toMatchObject({ state: 'INITIALIZING', primary: false });
    expect(replicasOf(t0)[0]!.node).not.toBe(p0.node);
    expect(replicasOf(t0)[0]!.allocationId).toMatch(new RegExp(`^a${s.version}\\.`));
    expect(health(s, 'logs', 0)).toBe('yellow');
    for (const i of [1, 2]) {
      expect(replicasOf(table(s, 'logs', i))).toEqual([]);
      expect(health(s, 'logs', i)).toBe('red');
    }
    // Starting a copy that is already started changes nothing.
    expect(applyClusterCommand(s, { op: 'shard_started', index: 'logs', shard: 0, allocationId: p0.allocationId })).toBe(s);

    // Start the other primaries: their replicas appear, never next to their primary.
    for (const i of [1, 2]) s = started(s, 'logs', i, primaryOf(table(s, 'logs', i))!.allocationId);
    for (let i = 0; i < 3; i++) {
      const t = table(s, 'logs', i);
      expect(replicasOf(t)).toHaveLength(1);
      expect(replicasOf(t)[0]!.node).not.toBe(primaryOf(t)!.node);
    }

    s = startAll(s);
    for (let i = 0; i < 3; i++) {
      const t = table(s, 'logs', i);
      expect(health(s, 'logs', i)).toBe('green');
      expect(t.copies).toHaveLength(2);
      expect(t.copies.every((c) => c.state === 'STARTED')).toBe(true);
      expect(sorted(t.inSync)).toEqual(sorted(t.copies.map((c) => c.allocationId)));
      expect(new Set(t.copies.map((c) => c.node)).size).toBe(2);
    }
    expect(spread(s)).toBeLessThanOrEqual(1);
    // Stable: a reroute finds nothing to do.
    expect(applyClusterCommand(s, { op: 'reroute', at: 1_000_000 })).toBe(s);
  });

  it('leaves shards unassigned without data nodes and allocates them when one joins', () => {
    let s = apply(EMPTY_CLUSTER_STATE, join('m1', {}, ['master']));
    s = step(s, createIndex('idx', 2, 1));
    for (let i = 0; i < 2; i++) {
      expect(table(s, 'idx', i).copies).toEqual([]);
      expect(health(s, 'idx', i)).toBe('red');
    }
    s = step(s, join('d1'));
    for (let i = 0; i < 2; i++) expect(primaryOf(table(s, 'idx', i))).toMatchObject({ node: 'd1', state: 'INITIALIZING' });
    s = startAll(s);
    // One data node: replicas cannot be allocated next to their primary.
    for (let i = 0; i < 2; i++) {
      expect(table(s, 'idx', i).copies).toHaveLength(1);
      expect(health(s, 'idx', i)).toBe('yellow');
    }
  });

  it('ignores a second create_index of the same name', () => {
    const s = apply(cluster('n1'), createIndex('a', 1, 0));
    expect(applyClusterCommand(s, createIndex('a', 3, 2, 0, 'other-uuid'))).toBe(s);
  });
});

describe('allocation: a node leaves', () => {
  /** Three nodes, three shards with one replica each, all started. */
  function greenCluster(delay = 60_000): ClusterState {
    return startAll(apply(cluster('n1', 'n2', 'n3'), createIndex('logs', 3, 1, delay)));
  }

  it('promotes the in-sync replicas at once (term + 1) and delays rebuilding the lost copies', () => {
    const before = greenCluster();
    const gone = primaryOf(table(before, 'logs', 0))!.node;
    const shardsWithPrimary = [0, 1, 2].filter((i) => primaryOf(table(before, 'logs', i))!.node === gone);
    const shardsWithReplica = [0, 1, 2].filter((i) => replicasOf(table(before, 'logs', i)).some((c) => c.node === gone));
    const affected = [...shardsWithPrimary, ...shardsWithReplica].sort();
    const untouched = [0, 1, 2].filter((i) => !affected.includes(i));
    expect(shardsWithPrimary.length).toBeGreaterThan(0);
    expect(shardsWithReplica.length).toBeGreaterThan(0);
    expect(untouched).toHaveLength(1); // 6 copies over 3 nodes: each node holds 2

    const s = step(before, { op: 'node_leave', id: gone, reason: 'node_down', at: 1_000 });
    expect(s.nodes[gone]).toBeUndefined();
    for (const i of untouched) expect(table(s, 'logs', i)).toEqual(table(before, 'logs', i));
    for (const i of affected) {
      const b = table(before, 'logs', i);
      const t = table(s, 'logs', i);
      expect(t.copies.some((c) => c.node === gone)).toBe(false);
      expect(t.copies).toHaveLength(1); // nothing rebuilt yet
      expect(health(s, 'logs', i)).toBe('yellow');
      const p = primaryOf(t)!;
      expect(p.state).toBe('STARTED');
      expect(t.inSync).toEqual([p.allocationId]);
      if (shardsWithPrimary.includes(i)) {
        // The former replica, same allocation id, is the primary now, in a new term.
        const formerReplica = replicasOf(b)[0]!;
        expect(p).toMatchObject({ allocationId: formerReplica.allocationId, node: formerReplica.node });
        expect(t.primaryTerm).toBe(b.primaryTerm + 1);
      } else {
        expect(p.allocationId).toBe(primaryOf(b)!.allocationId);
        expect(t.primaryTerm).toBe(b.primaryTerm);
      }
      expect(t.delayedUntil).toBe(61_000);
      expect(t.delayedNode).toBe(gone);
    }

    // Before the delay ran out nothing is rebuilt, whatever happens meanwhile.
    expect(applyClusterCommand(s, { op: 'reroute', at: 2_000 })).toBe(s);
    expect(applyClusterCommand(s, { op: 'reroute', at: 60_999 })).toBe(s);
    const other = step(s, join('n4'));
    for (const i of affected) expect(table(other, 'logs', i).copies).toHaveLength(1);

    // Once it ran out, the replicas are rebuilt on the nodes that are left.
    const late = step(s, { op: 'reroute', at: 61_000 });
    for (const i of affected) {
      const t = table(late, 'logs', i);
      const r = replicasOf(t);
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ state: 'INITIALIZING' });
      expect(r[0]!.node).not.toBe(gone);
      expect(r[0]!.node).not.toBe(primaryOf(t)!.node);
      expect(t.delayedUntil).toBeUndefined();
      expect(t.delayedNode).toBeUndefined();
    }
    const lateHealed = startAll(late);
    for (let i = 0; i < 3; i++) expect(health(lateHealed, 'logs', i)).toBe('green');

    // If the node comes back within the delay, the replicas go back to it.
    const back = step(s, join(gone));
    for (const i of affected) {
      const t = table(back, 'logs', i);
      const r = replicasOf(t);
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ node: gone, state: 'INITIALIZING', primary: false });
      expect(t.inSync).not.toContain(r[0]!.allocationId);
      expect(t.delayedUntil).toBeUndefined();
    }
    // The promoted primaries stay where they are.
    for (const i of shardsWithPrimary) expect(primaryOf(table(back, 'logs', i))!.node).not.toBe(gone);
    const healed = startAll(back);
    for (let i = 0; i < 3; i++) expect(health(healed, 'logs', i)).toBe('green');
  });

  it('rebuilds at once when the delay is 0', () => {
    const before = greenCluster(0);
    const s = step(before, { op: 'node_leave', id: 'n1', reason: 'node_down', at: 5 });
    for (let i = 0; i < 3; i++) {
      const t = table(s, 'logs', i);
      expect(t.copies.some((c) => c.node === 'n1')).toBe(false);
      expect(primaryOf(t)!.state).toBe('STARTED');
      // Two nodes left: either the shard's replica was not on n1, or a new one is initializing.
      expect(replicasOf(t)).toHaveLength(1);
    }
  });

  it('removes copies from a node that loses the data role', () => {
    let s = greenCluster();
    s = step(s, join('n2', {}, ['master']));
    for (let i = 0; i < 3; i++) {
      const t = table(s, 'logs', i);
      expect(t.copies.some((c) => c.node === 'n2')).toBe(false);
      expect(primaryOf(t)).toBeDefined();
    }
  });
});

describe('allocation: failed shards', () => {
  function oneShard(): ClusterState {
    return startAll(apply(cluster('n1', 'n2', 'n3'), createIndex('idx', 1, 1)));
  }

  it('a failed replica leaves copies and the in-sync set, and a new replica is allocated', () => {
    const before = oneShard();
    const b = table(before, 'idx', 0);
    const replica = replicasOf(b)[0]!;
    const s = step(before, { op: 'shard_failed', index: 'idx', shard: 0, allocationId: replica.allocationId, reason: 'disk', primaryTerm: b.primaryTerm });
    const t = table(s, 'idx', 0);
    expect(t.copies.map((c) => c.allocationId)).not.toContain(replica.allocationId);
    expect(t.inSync).toEqual([primaryOf(b)!.allocationId]);
    expect(t.primaryTerm).toBe(b.primaryTerm);
    expect(primaryOf(t)).toEqual(primaryOf(b));
    const fresh = replicasOf(t);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).toMatchObject({ state: 'INITIALIZING', primary: false });
    expect(fresh[0]!.allocationId).toMatch(new RegExp(`^a${s.version}\\.`));
    expect(t.delayedUntil).toBeUndefined(); // a failure is not a node leaving: no delay
    expect(health(s, 'idx', 0)).toBe('yellow');
  });

  it('a failed primary is replaced by the in-sync replica; stale primary terms are fenced', () => {
    let s = oneShard();
    const b = table(s, 'idx', 0);
    const oldPrimary = primaryOf(b)!;
    const replica = replicasOf(b)[0]!;
    s = step(s, { op: 'shard_failed', index: 'idx', shard: 0, allocationId: oldPrimary.allocationId, reason: 'x', primaryTerm: b.primaryTerm });
    let t = table(s, 'idx', 0);
    expect(primaryOf(t)).toMatchObject({ allocationId: replica.allocationId, state: 'STARTED' });
    expect(t.primaryTerm).toBe(b.primaryTerm + 1);
    s = startAll(s);
    t = table(s, 'idx', 0);
    const newReplica = replicasOf(t)[0]!;
    expect(t.inSync).toContain(newReplica.allocationId);

    // The deposed primary reports a failure of the new replica: ignored.
    const stale = { op: 'shard_failed', index: 'idx', shard: 0, allocationId: newReplica.allocationId, reason: 'stale', primaryTerm: b.primaryTerm } as const;
    expect(applyClusterCommand(s, stale)).toBe(s);
    // Also a stale report against the current primary.
    expect(applyClusterCommand(s, { ...stale, allocationId: replica.allocationId })).toBe(s);
    // The current term is accepted, and so is a report without a term.
    expect(table(step(s, { ...stale, primaryTerm: t.primaryTerm }), 'idx', 0).inSync).not.toContain(newReplica.allocationId);
    expect(table(step(s, { op: 'shard_failed', index: 'idx', shard: 0, allocationId: newReplica.allocationId, reason: 'x' }), 'idx', 0).inSync).not.toContain(
      newReplica.allocationId,
    );
  });

  it('ignores failures of unknown copies, shards and indices', () => {
    const s = oneShard();
    expect(applyClusterCommand(s, { op: 'shard_failed', index: 'idx', shard: 0, allocationId: 'a999.0', reason: 'x' })).toBe(s);
    expect(applyClusterCommand(s, { op: 'shard_failed', index: 'idx', shard: 7, allocationId: 'a1.0', reason: 'x' })).toBe(s);
    expect(applyClusterCommand(s, { op: 'shard_failed', index: 'nope', shard: 0, allocationId: 'a1.0', reason: 'x' })).toBe(s);
    expect(applyClusterCommand(s, { op: 'shard_started', index: 'nope', shard: 0, allocationId: 'a1.0' })).toBe(s);
  });

  it('a primary that fails before it started is allocated again, in a new term', () => {
    let s = apply(cluster('n1', 'n2'), createIndex('idx', 1, 1));
    const first = primaryOf(table(s, 'idx', 0))!;
    s = step(s, { op: 'shard_failed', index: 'idx', shard: 0, allocationId: first.allocationId, reason: 'x' });
    const t = table(s, 'idx', 0);
    const p = primaryOf(t)!;
    expect(p.allocationId).not.toBe(first.allocationId);
    expect(p.state).toBe('INITIALIZING');
    expect(t.lostInSyncNodes).toBeUndefined(); // it never held data
    expect(t.primaryTerm).toBeGreaterThan(1);
  });
});

describe('allocation: every in-sync copy lost', () => {
  it('the shard is red and its primary comes back only on a node that held in-sync data', () => {
    let s = startAll(apply(cluster('n1', 'n2'), createIndex('idx', 1, 1)));
    const b = table(s, 'idx', 0);
    const pNode = primaryOf(b)!.node;
    const rNode = replicasOf(b)[0]!.node;
    // The replica's node leaves first (the primary goes on accepting writes), then the primary's.
    s = step(s, { op: 'node_leave', id: rNode, reason: 'down', at: 10 });
    s = step(s, { op: 'node_leave', id: pNode, reason: 'down', at: 20 });
    let t = table(s, 'idx', 0);
    expect(t.copies).toEqual([]);
    expect(t.inSync).toEqual([]);
    expect(t.lostInSyncNodes).toEqual([pNode]);
    expect(health(s, 'idx', 0)).toBe('red');

    // A fresh node, or the node with the stale replica, does not get the primary.
    s = step(s, join('n3'));
    expect(table(s, 'idx', 0).copies).toEqual([]);
    s = step(s, join(rNode));
    expect(table(s, 'idx', 0).copies).toEqual([]);
    expect(applyClusterCommand(s, { op: 'reroute', at: 1_000_000 })).toBe(s);

    s = step(s, join(pNode));
    t = table(s, 'idx', 0);
    expect(t.copies).toHaveLength(1);
    expect(primaryOf(t)).toMatchObject({ node: pNode, state: 'INITIALIZING' });
    expect(t.primaryTerm).toBeGreaterThan(b.primaryTerm);
    s = started(s, 'idx', 0, primaryOf(t)!.allocationId);
    t = table(s, 'idx', 0);
    expect(t.lostInSyncNodes).toBeUndefined();
    expect(t.inSync).toEqual([primaryOf(t)!.allocationId]);
    expect(replicasOf(t)).toHaveLength(1);
  });

  it('a primary that fails while recovering from a lost node keeps waiting for the lost nodes', () => {
    let s = startAll(apply(cluster('n1', 'n2'), createIndex('idx', 1, 0)));
    const pNode = primaryOf(table(s, 'idx', 0))!.node;
    s = step(s, { op: 'node_leave', id: pNode, reason: 'down', at: 1 });
    expect(table(s, 'idx', 0).lostInSyncNodes).toEqual([pNode]);
    s = step(s, join(pNode));
    const recovering = primaryOf(table(s, 'idx', 0))!;
    s = step(s, { op: 'shard_failed', index: 'idx', shard: 0, allocationId: recovering.allocationId, reason: 'x' });
    const t = table(s, 'idx', 0);
    expect(t.lostInSyncNodes).toEqual([pNode]);
    for (const c of t.copies) expect(c.node).toBe(pNode);
  });
});

describe('allocation: replicas setting, close, open and delete', () => {
  it('set_replicas up and down', () => {
    let s = startAll(apply(cluster('n1', 'n2', 'n3'), createIndex('idx', 2, 0)));
    for (let i = 0; i < 2; i++) expect(health(s, 'idx', i)).toBe('green');
    s = step(s, { op: 'set_replicas', name: 'idx', replicas: 2 });
    expect(s.indices.idx!.settings.number_of_replicas).toBe(2);
    for (let i = 0; i < 2; i++) {
      const t = table(s, 'idx', i);
      expect(replicasOf(t)).toHaveLength(2);
      expect(replicasOf(t).every((c) => c.state === 'INITIALIZING')).toBe(true);
      expect(new Set(t.copies.map((c) => c.node)).size).toBe(3);
      expect(health(s, 'idx', i)).toBe('yellow');
    }
    expect(applyClusterCommand(s, { op: 'set_replicas', name: 'idx', replicas: 2 })).toBe(s);
    s = startAll(s);
    for (let i = 0; i < 2; i++) {
      expect(health(s, 'idx', i)).toBe('green');
      expect(table(s, 'idx', i).inSync).toHaveLength(3);
    }

    // More replicas than nodes allow: as many as fit, yellow.
    const tooMany = step(s, { op: 'set_replicas', name: 'idx', replicas: 3 });
    for (let i = 0; i < 2; i++) {
      expect(table(tooMany, 'idx', i).copies).toHaveLength(3);
      expect(health(tooMany, 'idx', i)).toBe('yellow');
    }

    s = step(s, { op: 'set_replicas', name: 'idx', replicas: 0 });
    for (let i = 0; i < 2; i++) {
      const t = table(s, 'idx', i);
      expect(t.copies).toHaveLength(1);
      expect(t.inSync).toEqual([primaryOf(t)!.allocationId]);
      expect(health(s, 'idx', i)).toBe('green');
    }

    // Initializing replicas are dropped before started ones.
    s = step(s, { op: 'set_replicas', name: 'idx', replicas: 1 });
    const init = replicasOf(table(s, 'idx', 0))[0]!;
    s = started(s, 'idx', 0, init.allocationId);
    s = step(s, { op: 'set_replicas', name: 'idx', replicas: 2 });
    s = step(s, { op: 'set_replicas', name: 'idx', replicas: 1 });
    expect(replicasOf(table(s, 'idx', 0)).map((c) => c.allocationId)).toEqual([init.allocationId]);

    expect(applyClusterCommand(s, { op: 'set_replicas', name: 'missing', replicas: 1 })).toBe(s);
  });

  it('close_index keeps the data on the in-sync nodes; open_index brings the primaries back there', () => {
    let s = startAll(apply(cluster('n1', 'n2', 'n3'), createIndex('idx', 2, 1)));
    const before = s.routing.idx!;
    const inSyncNodes = before.map((t) => sorted(t.copies.map((c) => c.node)));
    s = step(s, { op: 'close_index', name: 'idx' });
    expect(s.indices.idx!.state).toBe('close');
    for (let i = 0; i < 2; i++) {
      const t = table(s, 'idx', i);
      expect(t.copies).toEqual([]);
      expect(t.inSync).toEqual([]);
      expect(sorted(t.lostInSyncNodes ?? [])).toEqual(inSyncNodes[i]);
    }
    expect(applyClusterCommand(s, { op: 'close_index', name: 'idx' })).toBe(s);
    // A closed index is not allocated, not even to a new node.
    s = step(s, join('n4'));
    expect(s.routing.idx!.every((t) => t.copies.length === 0)).toBe(true);

    s = step(s, { op: 'open_index', name: 'idx' });
    expect(s.indices.idx!.state).toBe('open');
    for (let i = 0; i < 2; i++) {
      const t = table(s, 'idx', i);
      const p = primaryOf(t)!;
      expect(p.state).toBe('INITIALIZING');
      expect(inSyncNodes[i]).toContain(p.node);
      expect(t.primaryTerm).toBeGreaterThan(before[i]!.primaryTerm);
    }
    s = startAll(s);
    for (let i = 0; i < 2; i++) expect(health(s, 'idx', i)).toBe('green');
  });

  it('an index reopened while its in-sync nodes are away stays red until one of them is back', () => {
    let s = startAll(apply(cluster('n1', 'n2', 'n3'), createIndex('idx', 1, 1)));
    const holders = sorted(table(s, 'idx', 0).copies.map((c) => c.node));
    const other = ['n1', 'n2', 'n3'].find((n) => !holders.includes(n))!;
    s = step(s, { op: 'close_index', name: 'idx' });
    for (const n of holders) s = step(s, { op: 'node_leave', id: n, reason: 'down', at: 1 });
    s = step(s, { op: 'open_index', name: 'idx' });
    expect(table(s, 'idx', 0).copies).toEqual([]);
    expect(health(s, 'idx', 0)).toBe('red');
    expect(s.nodes[other]).toBeDefined();
    s = step(s, join(holders[1]!));
    expect(primaryOf(table(s, 'idx', 0))).toMatchObject({ node: holders[1], state: 'INITIALIZING' });
  });

  it('delete_index removes metadata and routing; the name can be reused with fresh routing', () => {
    let s = startAll(apply(cluster('n1', 'n2'), createIndex('idx', 2, 1), createIndex('keep', 1, 1)));
    const keep = s.routing.keep;
    s = step(s, { op: 'delete_index', name: 'idx' });
    expect(s.indices.idx).toBeUndefined();
    expect(s.routing.idx).toBeUndefined();
    expect(s.routing.keep).toEqual(keep);
    expect(applyClusterCommand(s, { op: 'delete_index', name: 'idx' })).toBe(s);
    s = step(s, createIndex('idx', 1, 0, 60_000, 'uuid-2'));
    expect(s.indices.idx!.uuid).toBe('uuid-2');
    expect(s.routing.idx).toHaveLength(1);
    const t = table(s, 'idx', 0);
    expect(t.primaryTerm).toBe(1);
    expect(t.copies).toHaveLength(1);
    expect(t.copies[0]!.allocationId).toMatch(new RegExp(`^a${s.version}\\.`));
  });
});

describe('allocation: filters (cluster.routing.allocation.*)', () => {
  const filters = (s: ClusterState, f: Extract<ClusterCommand, { op: 'allocation_settings' }>['filters']) => step(s, { op: 'allocation_settings', awareness: s.settings.awareness ?? null, filters: f });
  const nodesOf = (s: ClusterState, index: string) => new Set(s.routing[index]!.flatMap((t) => t.copies.map((c) => c.node)));

  it('drains an excluded node: its copies, primaries too (by handoff), move to the others, a few at a time', () => {
    let s = startAll(step(cluster('n1', 'n2', 'n3'), createIndex('idx', 3, 1)));
    expect(nodesOf(s, 'idx').has('n2')).toBe(true);
    const primariesOnN2 = s.routing.idx!.filter((t) => primaryOf(t)!.node === 'n2').length;
    expect(primariesOnN2).toBeGreaterThan(0);
    s = filters(s, { exclude: { _name: ['n2'] } });
    expect(s.settings.allocation).toEqual({ exclude: { _name: ['n2'] } });
    const moving = s.routing.idx!.filter((t) => t.copies.some((c) => c.state === 'RELOCATING' && c.node === 'n2'));
    expect(moving.length).toBeGreaterThan(0);
    expect(moving.length).toBeLessThanOrEqual(2);
    const termsBefore = s.routing.idx!.map((t) => t.primaryTerm);
    s = startAll(s);
    expect(nodesOf(s, 'idx').has('n2')).toBe(false);
    for (let i = 0; i < 3; i++) expect(health(s, 'idx', i)).toBe('green');
    // A primary that moved off n2 did so in a new term (handoff).
    expect(s.routing.idx!.filter((t, i) => t.primaryTerm > termsBefore[i]!).length).toBe(primariesOnN2);
    // New indices avoid n2; clearing the filter lets rebalancing use it again.
    s = startAll(step(s, createIndex('more', 2, 1)));
    expect(nodesOf(s, 'more').has('n2')).toBe(false);
    s = startAll(filters(s, {}));
    expect(s.settings).toEqual({});
    expect(loadPerNode(s).get('n2')).toBeGreaterThan(0);
    expect(spread(s)).toBeLessThanOrEqual(1);
  });

  it('require and include by attribute, with wildcards; a copy with nowhere to go stays', () => {
    let s = apply(EMPTY_CLUSTER_STATE, { op: 'master', id: 'n1', term: 1 }, join('n1', { tier: 'hot' }), join('n2', { tier: 'hot' }), join('n3', { tier: 'warm-1' }), join('n4', { tier: 'warm-2' }));
    s = startAll(filters(step(s, createIndex('idx', 2, 1)), { require: { tier: ['warm-*'] } }));
    expect(nodesOf(s, 'idx')).toEqual(new Set(['n3', 'n4']));
    s = startAll(filters(s, { include: { tier: ['hot'], _name: ['n3'] } }));
    for (const n of nodesOf(s, 'idx')) expect(['n1', 'n2', 'n3']).toContain(n);
    // Only n1 allowed: one copy of each shard moves there; the other has nowhere to go, so it
    // stays where it is, started (green), rather than being dropped.
    s = startAll(filters(s, { require: { _name: ['n1'] } }));
    for (let i = 0; i < 2; i++) {
      const t = table(s, 'idx', i);
      expect(t.copies.map((c) => c.node)).toContain('n1');
      expect(t.copies).toHaveLength(2);
      expect(health(s, 'idx', i)).toBe('green');
    }
    // A new index gets its primaries on n1, and its replicas nowhere (yellow).
    s = startAll(step(s, createIndex('new', 1, 1)));
    expect(primaryOf(table(s, 'new', 0))!.node).toBe('n1');
    expect(health(s, 'new', 0)).toBe('yellow');
  });

  it('brings a lost primary back to the node with its only data even when that node is excluded', () => {
    let s = startAll(step(cluster('n1', 'n2'), createIndex('solo', 1, 0)));
    const node = primaryOf(table(s, 'solo', 0))!.node;
    s = step(s, { op: 'node_leave', id: node, reason: 'node_down', at: 0 });
    expect(table(s, 'solo', 0).lostInSyncNodes).toEqual([node]);
    s = filters(s, { exclude: { _name: [node] } });
    s = step(s, join(node));
    expect(primaryOf(table(s, 'solo', 0))).toMatchObject({ node, state: 'INITIALIZING' });
    // Started, it then moves off the excluded node.
    s = startAll(s);
    expect(primaryOf(table(s, 'solo', 0))!.node).not.toBe(node);
  });
});

describe('allocation: zone awareness', () => {
  const zoneOf = (s: ClusterState, n: string) => s.nodes[n]!.attributes.zone;

  it('puts the copies of a shard in different zones when it can', () => {
    let s = apply(
      EMPTY_CLUSTER_STATE,
      { op: 'cluster_settings', awareness: 'zone' },
      join('n1', { zone: 'a' }),
      join('n2', { zone: 'a' }),
      join('n3', { zone: 'b' }),
      join('n4', { zone: 'b' }),
    );
    expect(s.settings).toEqual({ awareness: 'zone' });
    s = startAll(step(s, createIndex('idx', 6, 1)));
    for (let i = 0; i < 6; i++) {
      const t = table(s, 'idx', i);
      expect(t.copies).toHaveLength(2);
      expect(new Set(t.copies.map((c) => zoneOf(s, c.node))).size).toBe(2);
    }
    expect(spread(s)).toBeLessThanOrEqual(1);
  });

  it('falls back to the same zone when there is no other', () => {
    let s = apply(EMPTY_CLUSTER_STATE, { op: 'cluster_settings', awareness: 'zone' }, join('n1', { zone: 'a' }), join('n2', { zone: 'a' }));
    s = startAll(step(s, createIndex('idx', 2, 1)));
    for (let i = 0; i < 2; i++) expect(table(s, 'idx', i).copies).toHaveLength(2); // "when possible": still allocated
    expect(applyClusterCommand(s, { op: 'cluster_settings', awareness: 'zone' })).toBe(s);
    expect(step(s, { op: 'cluster_settings', awareness: null }).settings).toEqual({});
  });

  it('rebalancing keeps the copies of a shard spread over the zones', () => {
    // n1 (a) and n3 (b) hold both shards; n2 (a) joins and takes a share, without doubling up zone a.
    let s = apply(EMPTY_CLUSTER_STATE, { op: 'cluster_settings', awareness: 'zone' }, join('n1', { zone: 'a' }), join('n3', { zone: 'b' }));
    s = startAll(step(s, createIndex('idx', 2, 1)));
    for (let i = 0; i < 2; i++) expect(new Set(table(s, 'idx', i).copies.map((c) => zoneOf(s, c.node))).size).toBe(2);
    s = step(s, join('n2', { zone: 'a' }));
    const moves = s.routing.idx!.flatMap((t) => t.copies.filter((c) => c.relocatingFrom));
    expect(moves.length).toBeGreaterThan(0);
    for (let guard = 0; guard < 50; guard++) {
      for (let i = 0; i < 2; i++) {
        const t = table(s, 'idx', i);
        // Every copy that will remain (targets instead of their sources) spans both zones.
        const remaining = t.copies.filter((c) => c.state !== 'RELOCATING');
        expect(new Set(remaining.map((c) => zoneOf(s, c.node))).size, JSON.stringify(t)).toBe(2);
      }
      const next = initializing(s)[0];
      if (!next) break;
      s = started(s, next.index, next.shard, next.copy.allocationId);
    }
    expect(initializing(s)).toEqual([]);
    expect(loadPerNode(s).get('n2')).toBeGreaterThan(0);
    expect(loadPerNode(s).get('n3')).toBe(2); // zone b holds one copy of each shard
  });
});

describe('allocation: rebalancing', () => {
  it('relocates copies to new nodes: RELOCATING source, INITIALIZING target, the target replaces the source once started', () => {
    let s = startAll(apply(cluster('n1'), createIndex('idx', 4, 1)));
    for (let i = 0; i < 4; i++) {
      const t = table(s, 'idx', i);
      expect(t.copies).toHaveLength(1);
      expect(primaryOf(t)).toMatchObject({ node: 'n1', state: 'STARTED' });
      expect(health(s, 'idx', i)).toBe('yellow');
    }
    s = step(s, join('n2'));
    s = step(s, join('n3'));
    // The replicas are allocated as soon as there is room for them.
    for (let i = 0; i < 4; i++) {
      const r = replicasOf(table(s, 'idx', i));
      expect(r).toHaveLength(1);
      expect(r[0]!.state).toBe('INITIALIZING');
      expect(r[0]!.node).not.toBe('n1');
    }
    // Start the replicas: the cluster then moves copies to the least loaded node.
    for (const { index, shard, copy } of initializing(s)) s = started(s, index, shard, copy.allocationId);
    let relocationsSeen = 0;
    let primaryRelocationsSeen = 0;
    for (let guard = 0; guard < 100; guard++) {
      const relocating = s.routing.idx!.flatMap((t, shard) => t.copies.filter((c) => c.state === 'RELOCATING').map((c) => ({ t, shard, c })));
      expect(relocating.length).toBeLessThanOrEqual(2); // a few at a time
      for (let i = 0; i < 4; i++) expect(health(s, 'idx', i)).toBe('green'); // the source still serves
      if (relocating.length === 0) {
        expect(initializing(s)).toEqual([]);
        break;
      }
      const { t, shard, c: source } = relocating[0]!;
      const target = t.copies.find((c) => c.allocationId === source.relocatingTo)!;
      expect(target).toBeDefined();
      expect(target).toMatchObject({ state: 'INITIALIZING', primary: false, relocatingFrom: source.allocationId });
      expect(target.node).not.toBe(source.node);
      expect(t.copies.filter((c) => c.node === target.node)).toHaveLength(1);
      expect(t.inSync).toContain(source.allocationId);
      expect(t.inSync).not.toContain(target.allocationId);
      relocationsSeen++;
      if (source.primary) primaryRelocationsSeen++;

      s = started(s, 'idx', shard, target.allocationId);
      const after = table(s, 'idx', shard);
      expect(after.copies.find((c) => c.allocationId === source.allocationId)).toBeUndefined();
      expect(after.inSync).not.toContain(source.allocationId);
      expect(after.inSync).toContain(target.allocationId);
      const moved = after.copies.find((c) => c.allocationId === target.allocationId)!;
      expect(moved).toMatchObject({ state: 'STARTED', node: target.node });
      expect(moved.relocatingFrom).toBeUndefined();
      expect(moved.primary).toBe(source.primary); // a relocated primary hands over its role
      expect(after.primaryTerm).toBe(source.primary ? t.primaryTerm + 1 : t.primaryTerm);
      expect(after.copies.filter((c) => c.primary)).toHaveLength(1);
      expect(after.copies).toHaveLength(2);
    }
    expect(relocationsSeen).toBeGreaterThan(0);
    // n1 held only primaries (4 copies against 2 and 2): balancing had to move primaries.
    expect(primaryRelocationsSeen).toBeGreaterThan(0);
    expect(spread(s)).toBeLessThanOrEqual(1);
    expect([...loadPerNode(s).values()].reduce((a, b) => a + b)).toBe(8);
    expect(applyClusterCommand(s, { op: 'reroute', at: 1 })).toBe(s);
  });

  it('spreads an index without replicas over nodes that join later', () => {
    let s = startAll(apply(cluster('n1'), createIndex('idx', 6, 0)));
    s = apply(s, join('n2'), join('n3'));
    s = startAll(s);
    expect(spread(s)).toBeLessThanOrEqual(1);
    for (let i = 0; i < 6; i++) expect(health(s, 'idx', i)).toBe('green');
  });

  it('lowering number_of_replicas drops a relocating replica together with its target', () => {
    let s = startAll(apply(cluster('n1', 'n2'), createIndex('idx', 2, 1)));
    s = step(s, join('n3'));
    const moving = s.routing.idx!.flatMap((t) => t.copies.filter((c) => c.state === 'RELOCATING'));
    expect(moving).toHaveLength(1);
    expect(moving[0]!.primary).toBe(false); // replicas move before primaries
    s = step(s, { op: 'set_replicas', name: 'idx', replicas: 0 });
    for (let i = 0; i < 2; i++) {
      const t = table(s, 'idx', i);
      expect(t.copies).toHaveLength(1);
      expect(t.copies[0]).toMatchObject({ primary: true, state: 'STARTED' });
      expect(t.copies[0]!.relocatingFrom).toBeUndefined();
    }
  });

  it('a failed relocation target gives the source back; a failed source takes its target with it', () => {
    let s = startAll(apply(cluster('n1'), createIndex('idx', 4, 1)));
    s = startAll(apply(s, join('n2')));
    s = step(s, join('n3'));
    const relocating = () => s.routing.idx!.flatMap((t, shard) => t.copies.filter((c) => c.state === 'RELOCATING').map((c) => ({ t, shard, c })));
    expect(relocating().length).toBeGreaterThan(0);
    const { shard, c: source } = relocating()[0]!;
    const before = table(s, 'idx', shard);
    const failedTarget = step(s, { op: 'shard_failed', index: 'idx', shard, allocationId: source.relocatingTo!, reason: 'x' });
    const t = table(failedTarget, 'idx', shard);
    expect(t.copies.find((c) => c.allocationId === source.relocatingTo)).toBeUndefined();
    const back = t.copies.find((c) => c.allocationId === source.allocationId)!;
    expect(back).toBeDefined();
    expect(t.inSync).toContain(source.allocationId);
    // Started again, unless the rebalancer at once picked a new target for it.
    expect(back.relocatingTo).not.toBe(source.relocatingTo);
    expect(back.state).toBe(back.relocatingTo ? 'RELOCATING' : 'STARTED');
    expect(t.primaryTerm).toBe(before.primaryTerm);

    const failedSource = step(s, { op: 'shard_failed', index: 'idx', shard, allocationId: source.allocationId, reason: 'x' });
    const u = table(failedSource, 'idx', shard);
    expect(u.copies.find((c) => c.allocationId === source.allocationId || c.allocationId === source.relocatingTo)).toBeUndefined();
    expect(primaryOf(u)).toBeDefined();
  });
});

describe('cluster state: no-op commands', () => {
  it('returns the same object for a repeated master claim and empty settings', () => {
    const s = apply(cluster('n1'), { op: 'master', id: 'n1', term: 2 });
    expect(applyClusterCommand(s, { op: 'master', id: 'n1', term: 2 })).toBe(s);
    expect(applyClusterCommand(s, { op: 'cluster_settings', awareness: null })).toBe(s);
    expect(applyClusterCommand(s, { op: 'cluster_settings' })).toBe(s);
    expect(step(s, { op: 'master', id: 'n2', term: 2 }).master).toEqual({ id: 'n2', term: 2 });
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random command sequences keep the routing invariants
// ---------------------------------------------------------------------------------------------

type Step =
  | { k: 'join'; n: number; zone: 'a' | 'b' | null; data: boolean }
  | { k: 'leave'; n: number }
  | { k: 'create'; i: number; shards: number; replicas: number; delay: number }
  | { k: 'replicas'; i: number; replicas: number }
  | { k: 'start'; pick: number }
  | { k: 'fail'; pick: number; term: 'current' | 'stale' | 'none' }
  | { k: 'reroute'; dt: number }
  | { k: 'close' | 'open' | 'delete'; i: number }
  | { k: 'awareness'; on: boolean }
  /** Exclude one node by name through the allocation filters (null: no filter). */
  | { k: 'exclude'; n: number | null }
  | { k: 'master'; n: number; term: number }
  /** Start every initializing copy, one shard_started at a time (reaches green states often). */
  | { k: 'settle' };

/** More runs: SHOAL_PROPERTY_RUNS=20000 npx vitest run test/unit/allocation.test.ts */
const RUNS = Number(process.env.SHOAL_PROPERTY_RUNS ?? 300);
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const INDICES = ['i0', 'i1', 'i2'];

/** Steps over the first `nodes` of n1..n5. */
const stepsOver = (nodes: number): fc.Arbitrary<Step> => fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('join' as const), n: fc.nat(nodes - 1), zone: fc.constantFrom('a' as const, 'b' as const, null), data: fc.constant(true) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('join' as const), n: fc.nat(nodes - 1), zone: fc.constantFrom('a' as const, 'b' as const, null), data: fc.constant(false) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('leave' as const), n: fc.nat(nodes - 1) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('create' as const), i: fc.nat(2), shards: fc.integer({ min: 1, max: 4 }), replicas: fc.nat(2), delay: fc.constantFrom(0, 1_000, 60_000) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('replicas' as const), i: fc.nat(2), replicas: fc.nat(2) }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('start' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('fail' as const), pick: fc.nat(), term: fc.constantFrom('current' as const, 'stale' as const, 'none' as const) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('reroute' as const), dt: fc.constantFrom(0, 10, 999, 1_000, 30_000, 60_000, 70_000) }) },
  { weight: 3, arbitrary: fc.constant({ k: 'settle' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('close' as const, 'open' as const, 'delete' as const), i: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('awareness' as const), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('exclude' as const), n: fc.option(fc.nat(nodes - 1), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('master' as const), n: fc.nat(2), term: fc.integer({ min: 1, max: 3 }) }) },
);

interface Loc {
  index: string;
  shard: number;
  t: ShardTable;
  c: ShardCopy;
}
function allCopies(s: ClusterState): Loc[] {
  const out: Loc[] = [];
  for (const index of Object.keys(s.routing).sort()) s.routing[index]!.forEach((t, shard) => t.copies.forEach((c) => out.push({ index, shard, t, c })));
  return out;
}

/** Turns an abstract step into a concrete command against the current state. */
function resolve(s: ClusterState, st: Step, clock: { now: number }): ClusterCommand {
  const at = clock.now;
  switch (st.k) {
    case 'join': {
      const id = NODES[st.n]!;
      return join(id, st.zone ? { zone: st.zone } : {}, st.data ? ['master', 'data'] : ['master']);
    }
    case 'leave':
      return { op: 'node_leave', id: NODES[st.n]!, reason: 'node_down', at };
    case 'create':
      return { ...(createIndex(INDICES[st.i]!, st.shards, st.replicas, st.delay, `${INDICES[st.i]}-${s.version}`) as Extract<ClusterCommand, { op: 'create_index' }>), at };
    case 'replicas':
      return { op: 'set_replicas', name: INDICES[st.i]!, replicas: st.replicas, at };
    case 'start': {
      const init = allCopies(s).filter((l) => l.c.state === 'INITIALIZING');
      const l = init[st.pick % Math.max(1, init.length)];
      return l ? { op: 'shard_started', index: l.index, shard: l.shard, allocationId: l.c.allocationId, at } : { op: 'shard_started', index: 'i0', shard: 0, allocationId: 'a0.0', at };
    }
    case 'fail': {
      const all = allCopies(s);
      const l = all[st.pick % Math.max(1, all.length)];
      if (!l) return { op: 'shard_failed', index: 'i0', shard: 0, allocationId: 'a0.0', reason: 'none', at };
      const cmd: ClusterCommand = { op: 'shard_failed', index: l.index, shard: l.shard, allocationId: l.c.allocationId, reason: 'x', at };
      if (st.term === 'current') cmd.primaryTerm = l.t.primaryTerm;
      if (st.term === 'stale') cmd.primaryTerm = l.t.primaryTerm - 1;
      return cmd;
    }
    case 'reroute':
      clock.now += st.dt;
      return { op: 'reroute', at: clock.now };
    case 'close':
      return { op: 'close_index', name: INDICES[st.i]!, at };
    case 'open':
      return { op: 'open_index', name: INDICES[st.i]!, at };
    case 'delete':
      return { op: 'delete_index', name: INDICES[st.i]!, at };
    case 'awareness':
      return { op: 'cluster_settings', awareness: st.on ? 'zone' : null, at };
    case 'exclude':
      return { op: 'allocation_settings', awareness: s.settings.awareness ?? null, filters: st.n === null ? {} : { exclude: { _name: [NODES[st.n]!] } }, at };
    case 'master':
      return { op: 'master', id: NODES[st.n]!, term: st.term };
    case 'settle':
      throw new Error('settle is run by runSteps');
  }
}

class Violation extends Error {}

/** History kept across one run, per shard incarnation (`uuid/shard`). */
interface History {
  /** primary term → the one allocation id that was primary in it */
  termOwner: Map<string, Map<number, string>>;
  lastTerm: Map<string, number>;
  /** allocation id → node it lives on; ids never move nor come back */
  idNode: Map<string, string>;
}

function checkState(s: ClusterState, h: History, fail: (msg: string) => never): void {
  for (const [name, tables] of Object.entries(s.routing)) {
    const meta = s.indices[name];
    if (!meta) fail(`routing for unknown index ${name}`);
    if (tables.length !== meta.settings.number_of_shards) fail(`${name}: ${tables.length} tables for ${meta.settings.number_of_shards} shards`);
  }
  for (const [name, meta] of Object.entries(s.indices)) {
    const tables = s.routing[name];
    if (!tables) fail(`index ${name} has no routing`);
    tables.forEach((t, shard) => {
      const where = `${name}[${shard}] ${JSON.stringify(t)}`;
      const ids = t.copies.map((c) => c.allocationId);
      if (new Set(ids).size !== ids.length) fail(`duplicate allocation id in ${where}`);
      const nodes = t.copies.map((c) => c.node);
      if (new Set(nodes).size !== nodes.length) fail(`two copies on one node in ${where}`);
      for (const c of t.copies) {
        const n = s.nodes[c.node];
        if (!n || !n.roles.includes('data')) fail(`copy on a node that is not a data node of the cluster in ${where}`);
        if (!/^a\d+\.\d+$/.test(c.allocationId)) fail(`bad allocation id ${c.allocationId}`);
        if ((c.state === 'RELOCATING') !== (c.relocatingTo !== undefined)) fail(`RELOCATING iff relocatingTo in ${where}`);
        if (c.relocatingTo !== undefined) {
          const target = t.copies.find((x) => x.allocationId === c.relocatingTo);
          if (!target || target.state !== 'INITIALIZING' || target.relocatingFrom !== c.allocationId || target.primary) fail(`dangling relocation source in ${where}`);
        }
        if (c.relocatingFrom !== undefined) {
          const source = t.copies.find((x) => x.allocationId === c.relocatingFrom);
          if (c.state !== 'INITIALIZING' || !source || source.relocatingTo !== c.allocationId) fail(`dangling relocation target in ${where}`);
        }
      }
      if (meta.state === 'close' && t.copies.length > 0) fail(`closed index has copies: ${where}`);
      const primaries = t.copies.filter((c) => c.primary);
      if (primaries.length > 1) fail(`two primaries in ${where}`);
      const replicas = replicasOf(t);
      if (replicas.length > meta.settings.number_of_replicas) fail(`${replicas.length} replicas > ${meta.settings.number_of_replicas} in ${where}`);
      const p = primaries[0];
      if (!p && t.copies.length > 0) fail(`copies without a primary in ${where}`);
      if (p?.state === 'INITIALIZING' && t.copies.length > 1) fail(`replicas of an initializing primary in ${where}`);
      for (const a of t.inSync) {
        const c = t.copies.find((x) => x.allocationId === a);
        if (!c) fail(`in-sync id ${a} is not a copy in ${where}`);
        if (c.state === 'INITIALIZING') fail(`initializing copy in sync in ${where}`);
      }
      if (new Set(t.inSync).size !== t.inSync.length) fail(`duplicate in-sync id in ${where}`);
      if (p && p.state !== 'INITIALIZING' && !t.inSync.includes(p.allocationId)) fail(`started primary not in sync in ${where}`);
      if (t.copies.some((c) => c.state !== 'INITIALIZING' && !t.inSync.includes(c.allocationId))) fail(`started copy not in sync in ${where}`);

      // History: terms never go down, one primary per term, ids never move nor come back.
      const key = `${meta.uuid}/${shard}`;
      const last = h.lastTerm.get(key);
      if (last !== undefined && t.primaryTerm < last) fail(`primary term went down ${last} → ${t.primaryTerm} in ${where}`);
      h.lastTerm.set(key, t.primaryTerm);
      if (p) {
        const owners = h.termOwner.get(key) ?? new Map<number, string>();
        h.termOwner.set(key, owners);
        const owner = owners.get(t.primaryTerm);
        if (owner !== undefined && owner !== p.allocationId) fail(`term ${t.primaryTerm} had primary ${owner}, now ${p.allocationId} in ${where}`);
        owners.set(t.primaryTerm, p.allocationId);
      }
      for (const c of t.copies) {
        const seen = h.idNode.get(c.allocationId);
        if (seen !== undefined && seen !== c.node) fail(`allocation id ${c.allocationId} moved from ${seen} to ${c.node}`);
        h.idNode.set(c.allocationId, c.node);
      }
    });
  }
}

const keyed = (s: ClusterState) => {
  const out = new Map<string, ShardTable>();
  for (const [name, tables] of Object.entries(s.routing)) tables.forEach((t, i) => out.set(`${s.indices[name]!.uuid}/${i}`, t));
  return out;
};

function checkTransition(prev: ClusterState, next: ClusterState, cmd: ClusterCommand, fail: (msg: string) => never): void {
  const now = 'at' in cmd && typeof cmd.at === 'number' ? cmd.at : 0;
  if (next === prev) return;
  if (next.version !== prev.version + 1) fail(`version ${prev.version} → ${next.version}`);
  if (isDeepStrictEqual({ ...next, version: prev.version }, prev)) fail('a new state object although nothing changed');

  const before = keyed(prev);
  const after = keyed(next);
  const excluded = new Set(next.settings.allocation?.exclude?._name ?? []);
  const prevIds = new Set(allCopies(prev).map((l) => l.c.allocationId));
  for (const [key, t] of after) {
    for (const c of t.copies) {
      if (!prevIds.has(c.allocationId) && !c.allocationId.startsWith(`a${next.version}.`)) fail(`new copy ${c.allocationId} not named after version ${next.version}`);
    }
    // The filters: a new copy never goes to an excluded node, but for a primary brought back to
    // the node holding its only in-sync data (lostInSyncNodes).
    for (const c of t.copies) {
      if (prevIds.has(c.allocationId) || !excluded.has(c.node)) continue;
      if (!(c.primary && t.lostInSyncNodes?.includes(c.node))) fail(`new copy ${c.allocationId} on excluded node ${c.node} on ${key}`);
    }
    // With awareness, a new relocation never puts the copy in a zone holding more copies of the shard.
    const attr = next.settings.awareness;
    if (attr) {
      const zoneOf = (n: string) => next.nodes[n]?.attributes[attr] ?? '';
      for (const target of t.copies.filter((c) => c.relocatingFrom && !prevIds.has(c.allocationId))) {
        const source = t.copies.find((c) => c.allocationId === target.relocatingFrom)!;
        if (excluded.has(source.node)) continue; // drained: the filter wins over the spread
        const others = t.copies.filter((c) => c !== source && c !== target);
        const count = (z: string) => others.filter((c) => zoneOf(c.node) === z).length;
        if (count(zoneOf(target.node)) > count(zoneOf(source.node))) fail(`relocation ${source.allocationId} → ${target.allocationId} concentrates zone ${zoneOf(target.node)} on ${key}`);
      }
    }
    const b = before.get(key);
    if (!b) continue;
    if (t.primaryTerm < b.primaryTerm) fail(`term went down on ${key}`);
    const bp = primaryOf(b);
    const np = primaryOf(t);
    if (bp && np && bp.allocationId !== np.allocationId && t.primaryTerm <= b.primaryTerm) fail(`primary changed ${bp.allocationId} → ${np.allocationId} without a new term on ${key}`);
    if (np && b.copies.some((c) => c.allocationId === np.allocationId && !c.primary) && t.primaryTerm <= b.primaryTerm) fail(`promotion without a new term on ${key}`);

    // Promotion is immediate: a lost primary with an in-sync started replica is replaced in the same version.
    const lostPrimary =
      bp &&
      ((cmd.op === 'node_leave' && bp.node === cmd.id) ||
        (cmd.op === 'shard_failed' && cmd.allocationId === bp.allocationId && (cmd.primaryTerm === undefined || cmd.primaryTerm >= b.primaryTerm)));
    if (lostPrimary) {
      const candidates = b.copies.filter((c) => !c.primary && c.state !== 'INITIALIZING' && b.inSync.includes(c.allocationId) && c.node !== bp.node);
      if (candidates.length > 0) {
        if (!np) fail(`no primary after losing ${bp.allocationId} although ${candidates.map((c) => c.allocationId)} were in sync on ${key}`);
        if (!candidates.some((c) => c.allocationId === np.allocationId)) fail(`promoted ${np.allocationId}, not an in-sync replica, on ${key}`);
        if (t.primaryTerm !== b.primaryTerm + 1) fail(`promotion to term ${t.primaryTerm} from ${b.primaryTerm} on ${key}`);
      }
    }

    // Delayed allocation: while waiting for the node that left, no new replica is built elsewhere.
    if (b.delayedUntil !== undefined && now < b.delayedUntil && b.delayedNode !== undefined && !next.nodes[b.delayedNode]?.roles.includes('data')) {
      const newReplicas = t.copies.filter((c) => !c.primary && !c.relocatingFrom && !b.copies.some((x) => x.allocationId === c.allocationId));
      if (newReplicas.length > 0) fail(`replica ${newReplicas[0]!.allocationId} built at ${now} before ${b.delayedUntil} on ${key}`);
    }
  }

  // A node that left with a started copy: that copy is not rebuilt elsewhere in the same version.
  if (cmd.op === 'node_leave') {
    for (const [key, b] of before) {
      const lost = b.copies.find((c) => c.node === cmd.id);
      const t = after.get(key);
      const name = Object.keys(prev.indices).find((n) => key.startsWith(`${prev.indices[n]!.uuid}/`))!;
      if (!lost || !t || lost.state === 'INITIALIZING' || prev.indices[name]!.settings.delayed_timeout_ms === 0) continue;
      if (!primaryOf(t)) continue; // nothing left to rebuild from
      const fresh = t.copies.filter((c) => !c.relocatingFrom && !b.copies.some((x) => x.allocationId === c.allocationId));
      if (fresh.length > 0) fail(`${key}: ${fresh[0]!.allocationId} built at once although ${cmd.id} may come back`);
    }
  }
}

interface Scenario {
  /** n1..nK join first (zones a, b, a, ... when zoned), then an index is created if `index`. */
  nodes: number;
  zoned: boolean;
  index: { shards: number; replicas: number; delay: number } | null;
  steps: Step[];
}

const scenarioArb = (nodes: number, maxSteps: number): fc.Arbitrary<Scenario> =>
  fc.record({
    nodes: fc.integer({ min: 0, max: nodes }),
    zoned: fc.boolean(),
    index: fc.option(fc.record({ shards: fc.integer({ min: 1, max: 4 }), replicas: fc.nat(2), delay: fc.constantFrom(0, 1_000, 60_000) }), { freq: 4 }),
    steps: fc.array(stepsOver(nodes), { maxLength: maxSteps, size: 'max' }),
  });

function runScenario(sc: Scenario): void {
  const prefix: Step[] = [];
  for (let n = 0; n < sc.nodes; n++) prefix.push({ k: 'join', n, zone: sc.zoned ? (n % 2 === 0 ? 'a' : 'b') : null, data: true });
  if (sc.index) prefix.push({ k: 'create', i: 0, ...sc.index }, { k: 'settle' });
  runSteps([...prefix, ...sc.steps]);
}

function runSteps(steps: Step[], numberOfHealingSteps = 400): void {
  let s = EMPTY_CLUSTER_STATE;
  const clock = { now: 0 };
  const trace: ClusterCommand[] = [];
  const h: History = { termOwner: new Map(), lastTerm: new Map(), idNode: new Map() };
  const fail = (msg: string): never => {
    throw new Violation(`${msg}\n  after commands:\n    ${trace.map((c) => JSON.stringify(c)).join('\n    ')}`);
  };
  const exec = (cmd: ClusterCommand) => {
    trace.push(cmd);
    const frozen = JSON.stringify(s);
    const next = applyClusterCommand(s, cmd);
    if (JSON.stringify(s) !== frozen) fail('applyClusterCommand mutated its input');
    // Deterministic: the same input gives the same output, also on a copy of the input.
    const again = applyClusterCommand(structuredClone(s), structuredClone(cmd));
    if (!isDeepStrictEqual(again, next)) fail('applyClusterCommand is not deterministic');
    if ((applyClusterCommand(s, cmd) === s) !== (next === s)) fail('no-op detection is not deterministic');
    checkTransition(s, next, cmd, fail);
    // Allocation reaches its fixpoint in one pass: a reroute at the time the command ran allocation
    // with (`at`, or 0 without one) finds nothing to do.
    const now = 'at' in cmd && typeof cmd.at === 'number' ? cmd.at : 0;
    const rerouted = next === s ? next : applyClusterCommand(next, { op: 'reroute', at: now });
    if (rerouted !== next) fail(`a reroute right after changes the state:\n${JSON.stringify(next.routing)}\n→ ${JSON.stringify(rerouted.routing)}`);
    checkState(next, h, fail);
    s = next;
  };
  for (const st of steps) {
    if (st.k !== 'settle') {
      exec(resolve(s, st, clock));
      continue;
    }
    for (let i = 0; i < 100; i++) {
      const init = allCopies(s).find((l) => l.c.state === 'INITIALIZING');
      if (!init) break;
      exec({ op: 'shard_started', index: init.index, shard: init.shard, allocationId: init.c.allocationId, at: clock.now });
    }
  }

  // Heal: every node back as a data node, delays over; then start copies until nothing moves.
  for (const id of NODES) exec(join(id, s.nodes[id]?.attributes ?? {}, ['master', 'data']));
  clock.now += 10_000_000;
  exec({ op: 'reroute', at: clock.now });
  for (let i = 0; i < numberOfHealingSteps; i++) {
    const init = allCopies(s).find((l) => l.c.state === 'INITIALIZING');
    if (!init) break;
    exec({ op: 'shard_started', index: init.index, shard: init.shard, allocationId: init.c.allocationId, at: clock.now });
  }
  if (allCopies(s).some((l) => l.c.state !== 'STARTED')) fail('did not settle');
  for (const [name, meta] of Object.entries(s.indices)) {
    if (meta.state === 'close') continue;
    s.routing[name]!.forEach((t, i) => {
      if (shardHealth(t, meta.settings.number_of_replicas) !== 'green') fail(`${name}[${i}] not green after healing: ${JSON.stringify(t)}`);
    });
  }
  if (applyClusterCommand(s, { op: 'reroute', at: clock.now }) !== s) fail('a settled cluster still changes on reroute');
  // Without awareness a settled cluster is balanced: if the heaviest node held 2 copies more than
  // the lightest, one of its shards would have no copy on the lightest, and could move there.
  // Excluded nodes are drained: with 5 nodes and at most 3 copies a shard, there is always room.
  const excluded = new Set(s.settings.allocation?.exclude?._name ?? []);
  for (const l of allCopies(s)) if (excluded.has(l.c.node)) fail(`${l.index}[${l.shard}] still has ${l.c.allocationId} on excluded ${l.c.node} after settling`);
  const allowedLoad = [...loadPerNode(s)].filter(([n]) => !excluded.has(n)).map(([, v]) => v);
  if (!s.settings.awareness && Math.max(...allowedLoad) - Math.min(...allowedLoad) > 1) fail(`unbalanced after settling: ${JSON.stringify([...loadPerNode(s)])}`);
}

describe('allocation: random command sequences', () => {
  it('keep the routing invariants after every command', () => {
    fc.assert(
      fc.property(scenarioArb(5, 40), runScenario),
      { numRuns: RUNS },
    );
  });

  it('keep the invariants on long runs with few nodes', () => {
    fc.assert(
      fc.property(scenarioArb(3, 80), runScenario),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});
