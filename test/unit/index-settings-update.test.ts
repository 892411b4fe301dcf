import { describe, expect, it } from 'vitest';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, isClusterCommand, type ClusterState } from '../../src/cluster/cluster-state.ts';
import { indexSettingsView, updateIndexSettings, writeBlock } from '../../src/cluster/index-settings-update.ts';
import { parseIndexSettings, SettingsError } from '../../src/cluster/metadata.ts';

const base = parseIndexSettings({ number_of_shards: 3, number_of_replicas: 1 });

describe('update index settings', () => {
  it('changes the dynamic settings, flat or nested, with or without the index. prefix; null resets', () => {
    let s = updateIndexSettings('i', base, { index: { number_of_replicas: 2, refresh_interval: '30s' } });
    expect(s).toMatchObject({ number_of_shards: 3, number_of_replicas: 2, refresh_interval_ms: 30_000 });
    s = updateIndexSettings('i', s, { 'index.unassigned.node_left.delayed_timeout': '5m', 'blocks.write': 'true' });
    expect(s).toMatchObject({ delayed_timeout_ms: 300_000, blocks: { write: true } });
    expect(writeBlock('i', s)).toMatch(/FORBIDDEN\/8\/index write/);
    s = updateIndexSettings('i', s, { index: { blocks: { write: null, read_only: true } }, refresh_interval: null });
    expect(s.blocks).toEqual({ read_only: true });
    expect(s.refresh_interval_ms).toBe(1000);
    expect(writeBlock('i', s)).toMatch(/read-only/);
    s = updateIndexSettings('i', s, { 'index.blocks.read_only': false });
    expect(s.blocks).toBeUndefined();
    expect(writeBlock('i', s)).toBeUndefined();
    expect(updateIndexSettings('i', base, { refresh_interval: -1 }).refresh_interval_ms).toBe(-1);
    expect(indexSettingsView('u1', updateIndexSettings('i', base, { 'blocks.write': true }))).toEqual({
      index: { uuid: 'u1', number_of_shards: '3', number_of_replicas: '1', refresh_interval: '1000ms', unassigned: { node_left: { delayed_timeout: '60000ms' } }, blocks: { write: 'true' } },
    });
  });

  it('refuses static, unknown and bad settings, and changes nothing', () => {
    for (const [update, reason] of [
      [{ number_of_shards: 5 }, /non dynamic settings \[\[index.number_of_shards\]\]/],
      [{ index: { analysis: { analyzer: { a: { type: 'standard' } } } } }, /non dynamic settings \[\[index.analysis.analyzer.a.type\]\]/],
      [{ 'index.codec': 'best_compression' }, /unknown setting \[index.codec\]/],
      [{ number_of_replicas: -1 }, /number_of_replicas/],
      [{ refresh_interval: 'soon' }, /time value/],
      [{ 'blocks.write': 'yes' }, /only \[true\] or \[false\]/],
    ] as const) {
      expect(() => updateIndexSettings('i', base, update), JSON.stringify(update)).toThrow(reason);
      expect(() => updateIndexSettings('i', base, update)).toThrow(SettingsError);
    }
  });

  it('the Raft command replaces the settings, never the shard count; replicas follow', () => {
    let s: ClusterState = applyClusterCommand(EMPTY_CLUSTER_STATE, { op: 'node_join', node: { id: 'n1', name: 'n1', roles: ['master', 'data'], attributes: {} } });
    s = applyClusterCommand(s, { op: 'create_index', name: 'i', uuid: 'u', settings: base, mappings: {} });
    const cmd = { op: 'update_index_settings' as const, name: 'i', settings: { ...base, refresh_interval_ms: 5000 } };
    expect(isClusterCommand(cmd)).toBe(true);
    expect(isClusterCommand({ op: 'update_index_settings', name: 'i', settings: { number_of_shards: 'x' } })).toBe(false);
    const next = applyClusterCommand(s, cmd);
    expect(next.indices.i!.settings.refresh_interval_ms).toBe(5000);
    expect(applyClusterCommand(next, cmd)).toBe(next);
    expect(applyClusterCommand(next, { ...cmd, settings: { ...cmd.settings, number_of_shards: 9 } })).toBe(next);
    expect(applyClusterCommand(s, { op: 'update_index_settings', name: 'nope', settings: base })).toBe(s);
  });
});
