import { describe, expect, it } from 'vitest';
import { explainAllocation } from '../../src/cluster/allocation-explain.ts';
import { flattenSettings, settingsAsFlat, updateSettings } from '../../src/cluster/cluster-settings.ts';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, type ClusterCommand, type ClusterState } from '../../src/cluster/cluster-state.ts';
import { SettingsError } from '../../src/cluster/metadata.ts';

const join = (id: string, attributes: Record<string, string> = {}, roles: ('master' | 'data')[] = ['master', 'data']): ClusterCommand => ({ op: 'node_join', node: { id, name: id, roles, attributes } });
const apply = (s: ClusterState, ...cmds: ClusterCommand[]) => cmds.reduce((x, c) => applyClusterCommand(x, c), s);
const create = (name: string, shards: number, replicas: number, delay = 60_000): ClusterCommand => ({
  op: 'create_index',
  name,
  uuid: `${name}-u`,
  settings: { number_of_shards: shards, number_of_replicas: replicas, refresh_interval_ms: 1000, delayed_timeout_ms: delay },
  mappings: {},
});
function startAll(s: ClusterState): ClusterState {
  for (let i = 0; i < 200; i++) {
    const init = Object.entries(s.routing).flatMap(([index, ts]) => ts.flatMap((t, shard) => t.copies.filter((c) => c.state === 'INITIALIZING').map((c) => ({ index, shard, c }))))[0];
    if (!init) return s;
    s = applyClusterCommand(s, { op: 'shard_started', index: init.index, shard: init.shard, allocationId: init.c.allocationId });
  }
  throw new Error('did not settle');
}
const settingsCmd = (s: ClusterState, update: Record<string, unknown>): ClusterCommand => {
  const next = updateSettings(s.settings, flattenSettings(update));
  return { op: 'allocation_settings', awareness: next.awareness ?? null, filters: next.allocation ?? {} };
};

describe('cluster settings (allocation awareness and filters)', () => {
  it('reads flat and nested names, lists, and null to remove; answers flat names', () => {
    const flat = flattenSettings({ cluster: { routing: { allocation: { exclude: { _name: 'n2, n3' } } } }, 'cluster.routing.allocation.awareness.attributes': 'zone' });
    expect(flat).toEqual({ 'cluster.routing.allocation.exclude._name': 'n2, n3', 'cluster.routing.allocation.awareness.attributes': 'zone' });
    let settings = updateSettings({}, flat);
    expect(settings).toEqual({ awareness: 'zone', allocation: { exclude: { _name: ['n2', 'n3'] } } });
    settings = updateSettings(settings, { 'cluster.routing.allocation.require.tier': ['hot', 'warm'], 'cluster.routing.allocation.exclude._name': null });
    expect(settingsAsFlat(settings)).toEqual({ 'cluster.routing.allocation.awareness.attributes': 'zone', 'cluster.routing.allocation.require.tier': 'hot,warm' });
    // Through the Raft command: empty parts drop out, so settings equal as JSON.
    let s = apply(EMPTY_CLUSTER_STATE, join('n1'));
    s = apply(s, settingsCmd(s, { 'cluster.routing.allocation.exclude._name': 'n9' }));
    expect(s.settings).toEqual({ allocation: { exclude: { _name: ['n9'] } } });
    const cleared = apply(s, settingsCmd(s, { 'cluster.routing.allocation.exclude._name': null }));
    expect(cleared.settings).toEqual({});
    expect(apply(cleared, settingsCmd(cleared, {}))).toBe(cleared);
  });

  it('refuses unknown names and bad values, with a reason', () => {
    for (const [update, reason] of [
      [{ 'cluster.routing.allocation.enable': 'none' }, /not recognized/],
      [{ 'indices.recovery.max_bytes_per_sec': '50mb' }, /not recognized/],
      [{ 'cluster.routing.allocation.exclude._name': 3 }, /comma-separated/],
      [{ 'cluster.routing.allocation.awareness.attributes': 'zone,rack' }, /one awareness attribute/],
      [{ 'cluster.routing.allocation.awareness.attributes': true }, /string or null/],
    ] as const) {
      expect(() => updateSettings({}, flattenSettings(update)), JSON.stringify(update)).toThrow(reason);
      expect(() => updateSettings({}, flattenSettings(update))).toThrow(SettingsError);
    }
    expect(() => flattenSettings('x')).toThrow(SettingsError);
  });
});

describe('allocation explain', () => {
  it('says why a replica is unassigned: every node excluded, node by node', () => {
    let s = startAll(apply(EMPTY_CLUSTER_STATE, join('n1'), join('n2'), join('n3', {}, ['master']), create('idx', 1, 0)));
    const primaryNode = s.routing.idx![0]!.copies[0]!.node;
    const other = primaryNode === 'n1' ? 'n2' : 'n1';
    s = apply(s, settingsCmd(s, { 'cluster.routing.allocation.exclude._name': other }), { op: 'set_replicas', name: 'idx', replicas: 1 });
    expect(s.routing.idx![0]!.copies).toHaveLength(1);
    const e = explainAllocation(s, {}, 0); // the first unassigned copy
    expect(e).toMatchObject({ index: 'idx', shard: 0, primary: false, current_state: 'unassigned', can_allocate: 'no', unassigned_info: { reason: 'REPLICA_ADDED' } });
    const byNode = Object.fromEntries(e.node_allocation_decisions!.map((d) => [d.node_id, d.deciders!.map((x) => x.decider)]));
    expect(byNode).toEqual({ [primaryNode]: ['same_shard'], [other]: ['filter'], n3: ['data_node'] });
    expect(e.node_allocation_decisions!.find((d) => d.node_id === other)!.deciders![0]!.explanation).toBe(`node matches cluster setting [cluster.routing.allocation.exclude._name:"${other}"]`);
  });

  it('explains an allocated copy that must leave its node, and where it can go', () => {
    let s = startAll(apply(EMPTY_CLUSTER_STATE, join('n1'), join('n2'), create('idx', 1, 0)));
    const at = s.routing.idx![0]!.copies[0]!.node;
    expect(explainAllocation(s, { index: 'idx', shard: 0, primary: true }, 0)).toMatchObject({ current_state: 'started', current_node: { id: at }, can_remain_on_current_node: 'yes' });
    // Excluded: it moves to the other node, and says so.
    s = apply(s, settingsCmd(s, { 'cluster.routing.allocation.exclude._name': at }));
    const other = at === 'n1' ? 'n2' : 'n1';
    const e = explainAllocation(s, { index: 'idx', shard: 0, primary: true }, 0);
    expect(e).toMatchObject({ current_state: 'relocating', can_remain_on_current_node: 'no', allocate_explanation: expect.stringContaining(`moving to node [${other}]`) });
    expect(e.can_remain_decisions![0]!.decider).toBe('filter');
    // Excluded everywhere once it has moved: it cannot remain, and nothing can take it.
    s = startAll(s);
    s = apply(s, settingsCmd(s, { 'cluster.routing.allocation.exclude._name': 'n1,n2' }));
    const stuck = explainAllocation(s, { index: 'idx', shard: 0, primary: true }, 0);
    expect(stuck).toMatchObject({ current_state: 'started', current_node: { id: other }, can_remain_on_current_node: 'no', can_move_to_other_node: 'no' });
    expect(stuck.node_allocation_decisions!.map((d) => d.deciders!.map((x) => x.decider))).toEqual([['filter']]);
  });

  it('a delayed replica, a replica waiting for its primary, and a primary whose data is gone', () => {
    let s = startAll(apply(EMPTY_CLUSTER_STATE, join('n1'), join('n2'), create('idx', 1, 1, 60_000)));
    const replicaNode = s.routing.idx![0]!.copies.find((c) => !c.primary)!.node;
    s = apply(s, { op: 'node_leave', id: replicaNode, reason: 'node_down', at: 1_000 });
    expect(explainAllocation(s, { index: 'idx', shard: 0, primary: false }, 11_000)).toMatchObject({ can_allocate: 'allocation_delayed', remaining_delay_in_millis: 50_000, unassigned_info: { reason: 'NODE_LEFT' } });
    let t = apply(EMPTY_CLUSTER_STATE, join('n1'), create('fresh', 1, 1));
    expect(explainAllocation(t, { index: 'fresh', shard: 0, primary: false }, 0)).toMatchObject({ can_allocate: 'no', allocate_explanation: expect.stringMatching(/primary is not active/) });
    t = startAll(apply(EMPTY_CLUSTER_STATE, join('n1'), join('n2'), create('solo', 1, 0)));
    const holder = t.routing.solo![0]!.copies[0]!.node;
    t = apply(t, { op: 'node_leave', id: holder, reason: 'node_down', at: 0 });
    expect(explainAllocation(t, { index: 'solo', shard: 0, primary: true }, 0)).toMatchObject({ current_state: 'unassigned', can_allocate: 'no_valid_shard_copy', allocate_explanation: expect.stringContaining(holder) });
  });

  it('refuses a target that does not exist', () => {
    const s = startAll(apply(EMPTY_CLUSTER_STATE, join('n1'), create('idx', 1, 0)));
    expect(() => explainAllocation(s, { index: 'nope', shard: 0, primary: true }, 0)).toThrow(expect.objectContaining({ type: 'index_not_found_exception', status: 404 }));
    expect(() => explainAllocation(s, { index: 'idx', shard: 3, primary: true }, 0)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => explainAllocation(s, { index: 'idx' }, 0)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => explainAllocation(s, { index: 'idx', shard: 0, primary: false }, 0)).toThrow(/no replicas/);
    expect(() => explainAllocation(s, {}, 0)).toThrow(/unable to find any unassigned shards/);
  });
});
