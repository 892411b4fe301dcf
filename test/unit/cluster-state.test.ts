import { describe, expect, it } from 'vitest';
import { applyClusterCommand, ClusterStateMachine, EMPTY_CLUSTER_STATE, isClusterCommand } from '../../src/cluster/cluster-state.ts';

const node = (id: string) => ({ id, name: id, roles: ['master' as const, 'data' as const], attributes: { zone: 'a' } });

describe('cluster state', () => {
  it('versions every change and ignores commands that change nothing', () => {
    let s = applyClusterCommand(EMPTY_CLUSTER_STATE, { op: 'master', id: 'n1', term: 3 });
    s = applyClusterCommand(s, { op: 'node_join', node: node('n1') });
    s = applyClusterCommand(s, { op: 'node_join', node: node('n2') });
    expect(s.version).toBe(3);
    expect(applyClusterCommand(s, { op: 'node_join', node: node('n2') })).toBe(s);
    expect(applyClusterCommand(s, { op: 'node_leave', id: 'ghost', reason: 'x' })).toBe(s);
    s = applyClusterCommand(s, { op: 'node_leave', id: 'n2', reason: 'node_down' });
    expect(Object.keys(s.nodes)).toEqual(['n1']);
    expect(s.version).toBe(4);
  });

  it("ignores a stale leader's master claim", () => {
    const s = applyClusterCommand(EMPTY_CLUSTER_STATE, { op: 'master', id: 'n2', term: 5 });
    expect(applyClusterCommand(s, { op: 'master', id: 'n1', term: 4 })).toBe(s);
  });

  it('rejects malformed commands and survives snapshot/restore', () => {
    expect(isClusterCommand({ op: 'node_join', node: { id: 1 } })).toBe(false);
    expect(isClusterCommand({ op: 'format' })).toBe(false);
    const seen: number[] = [];
    const sm = new ClusterStateMachine((st) => seen.push(st.version));
    sm.apply({ term: 1, index: 1, kind: 'command', data: { op: 'master', id: 'n1', term: 1 } });
    expect(sm.apply({ term: 1, index: 2, kind: 'command', data: { op: 'bogus' } })).toEqual({ version: 1, ignored: true });
    const copy = new ClusterStateMachine();
    copy.restore(sm.snapshot());
    expect(copy.state).toEqual(sm.state);
    expect(seen).toEqual([1]);
  });
});
