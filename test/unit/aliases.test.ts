import { describe, expect, it } from 'vitest';
import { applyAliasActions, dropIndex, isAliasActions, writeIndexOf } from '../../src/cluster/aliases.ts';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, isClusterCommand, type ClusterState } from '../../src/cluster/cluster-state.ts';

const exists = (name: string) => ['a', 'b', 'c'].includes(name);

describe('aliases', () => {
  it('applies adds and removes in order, as one change: a swap never leaves the alias empty in between', () => {
    const one = applyAliasActions({}, exists, [{ add: { index: 'a', alias: 'x' } }]);
    expect(one).toEqual({ x: { indices: ['a'] } });
    const swapped = applyAliasActions(one, exists, [{ remove: { index: 'a', alias: 'x' } }, { add: { index: 'b', alias: 'x' } }]);
    expect(swapped).toEqual({ x: { indices: ['b'] } });
    // Actions on a missing index are skipped; an alias left empty is gone.
    expect(applyAliasActions(swapped, exists, [{ add: { index: 'zz', alias: 'x' } }, { remove: { index: 'b', alias: 'x' } }])).toEqual({});
  });

  it('sends writes to the only index, or to the write index, and to nowhere otherwise', () => {
    const two = applyAliasActions({}, exists, [{ add: { index: 'b', alias: 'x' } }, { add: { index: 'a', alias: 'x' } }]);
    expect(two.x!.indices).toEqual(['a', 'b']);
    expect(writeIndexOf(two.x!)).toEqual({ error: expect.stringContaining('no write index') });
    const withWrite = applyAliasActions(two, exists, [{ add: { index: 'b', alias: 'x', is_write_index: true } }]);
    expect(writeIndexOf(withWrite.x!)).toEqual({ index: 'b' });
    expect(writeIndexOf(applyAliasActions(withWrite, exists, [{ add: { index: 'c', alias: 'x', is_write_index: true } }]).x!)).toEqual({ index: 'c' });
    expect(applyAliasActions(withWrite, exists, [{ add: { index: 'b', alias: 'x', is_write_index: false } }]).x).toEqual({ indices: ['a', 'b'] });
    // Removing the write index removes the write target with it.
    expect(applyAliasActions(withWrite, exists, [{ remove: { index: 'b', alias: 'x' } }]).x).toEqual({ indices: ['a'] });
    expect(writeIndexOf({ indices: ['a'] })).toEqual({ index: 'a' });
  });

  it('leaves a deleted index out of every alias', () => {
    const aliases = { x: { indices: ['a', 'b'], writeIndex: 'a' }, y: { indices: ['a'] }, z: { indices: ['c'] } };
    expect(dropIndex(aliases, 'a')).toEqual({ x: { indices: ['b'] }, z: { indices: ['c'] } });
    expect(dropIndex(aliases, 'q')).toBe(aliases);
  });

  it('is a cluster command: validated, applied, and cleaned up when an index is deleted', () => {
    let s: ClusterState = EMPTY_CLUSTER_STATE;
    for (const name of ['a', 'b']) s = applyClusterCommand(s, { op: 'create_index', name, uuid: `u-${name}`, settings: { number_of_shards: 1, number_of_replicas: 0 } as never, mappings: {} });
    const cmd = { op: 'update_aliases', actions: [{ add: { index: 'a', alias: 'x' } }, { add: { index: 'b', alias: 'x', is_write_index: true } }] };
    expect(isClusterCommand(cmd)).toBe(true);
    const before = s.version;
    s = applyClusterCommand(s, cmd as never);
    expect(s.version).toBe(before + 1);
    expect(s.aliases).toEqual({ x: { indices: ['a', 'b'], writeIndex: 'b' } });
    // The same actions again change nothing: no new version.
    expect(applyClusterCommand(s, cmd as never)).toBe(s);
    s = applyClusterCommand(s, { op: 'delete_index', name: 'b' });
    expect(s.aliases).toEqual({ x: { indices: ['a'] } });
    for (const bad of [{ op: 'update_aliases' }, { op: 'update_aliases', actions: [{ add: { index: 1, alias: 'x' } }] }, { op: 'update_aliases', actions: [{ move: {} }] }, { op: 'update_aliases', actions: [{ add: { index: 'a', alias: 'x', is_write_index: 'yes' } }] }]) {
      expect(isClusterCommand(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(isAliasActions([])).toBe(true);
  });
});
