import { describe, expect, it } from 'vitest';
import { SIM_MASTERS, simCluster } from '../support/sim-cluster.ts';

/**
 * A write right after a put-mapping, while the node holding a copy of the shard has not applied
 * the new mappings yet (it holds each cluster-state version back for LAG_MS virtual ms): three
 * nodes on the in-memory transport under one simulated clock, an index with `dynamic: strict`.
 * Without the mapping version on writes, the lagging primary (or replica) would refuse the new
 * field as unmapped; with it, the copy waits for the version and the write succeeds on both.
 */
const LAG_MS = 400;
type Any = Record<string, any>;

async function scenario(lagging: 'primary' | 'replica', writeVia: 'fast' | 'slow' = 'fast') {
  const { clock, nodes, lag, drive, start, shutdown } = simCluster();
  for (const id of SIM_MASTERS) await start(id);
  try {
    const all = [...nodes.values()];
    await clock.runUntil(() => all.every((n) => Object.keys(n.state.nodes).length === 3 && !!n.state.master), { maxTimeMs: 20_000 });
    const n1 = nodes.get('n1')!;
    await drive(n1.api({ op: 'index.create', index: 'm', settings: { number_of_shards: 1, number_of_replicas: 1, refresh_interval_ms: -1 }, mappings: { dynamic: 'strict', properties: { title: { type: 'text' } } } } as never), 'create');
    const settled = () => all.every((n) => n.state.routing.m?.[0]?.copies.length === 2 && n.state.routing.m[0]!.copies.every((c) => c.state === 'STARTED'));
    await clock.runUntil(settled, { maxTimeMs: 20_000 });
    expect(settled()).toBe(true);
    const copies = n1.state.routing.m![0]!.copies;
    const slow = copies.find((c) => c.primary === (lagging === 'primary'))!.node;
    // The coordinating node: one that applies every version at once (not the lagging one).
    const coord = nodes.get(SIM_MASTERS.find((id) => id !== slow)!)!;
    // Where the write after the put-mapping goes: through the lagging node too, its coordinator
    // routes with the old state (the primary's own mapping version must then reach the replica).
    const writer = writeVia === 'fast' ? coord : nodes.get(slow)!;
    await expect(drive(coord.api({ op: 'doc.index', index: 'm', id: 'early', document: { title: 'x', code: 'A' } } as never), 'early write')).rejects.toMatchObject({ type: 'strict_dynamic_mapping_exception' });
    lag.set(slow, LAG_MS);
    const started = clock.now();
    expect(await drive(coord.api({ op: 'index.put_mapping', index: 'm', body: { properties: { code: { type: 'keyword' } } } } as never), 'put_mapping')).toEqual({ acknowledged: true });
    // The slow node has not applied the new mappings yet: the write below reaches it before it does.
    expect(nodes.get(slow)!.state.indices.m!.mappings.properties!.code).toBeUndefined();
    const res = (await drive(writer.api({ op: 'doc.index', index: 'm', id: 'late', document: { title: 'y', code: 'B-2' }, refresh: true } as never), 'late write')) as Any;
    expect(res).toMatchObject({ result: 'created', _shards: { total: 2, successful: 2, failed: 0 } });
    expect(clock.now() - started).toBeLessThan(LAG_MS * 3);
    // Both copies applied it (no copy failed out of the group), mapped as keyword: an exact term matches.
    const stats = (await drive(coord.api({ op: 'shard.stats', index: 'm' } as never), 'stats')) as unknown as Any[];
    expect(stats.map((x) => x.docs)).toEqual([1, 1]);
    const r = (await drive(coord.api({ op: 'search', index: 'm', body: { query: { term: { code: 'B-2' } } } } as never), 'search')) as Any;
    expect(r.hits.hits.map((h: Any) => h._id)).toEqual(['late']);
    expect(n1.state.routing.m![0]!.copies.map((c) => c.allocationId).sort()).toEqual(copies.map((c) => c.allocationId).sort());
  } finally {
    await shutdown();
  }
}

describe('put-mapping under a simulated clock, with one node applying cluster states late', () => {
  it('a write right after it succeeds on a primary that has not applied the new mappings yet', () => scenario('primary'));
  it('and on a replica that has not', () => scenario('replica'));
  it('and through the lagging node itself, to a replica on it', () => scenario('replica', 'slow'));
});
