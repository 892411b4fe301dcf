import { describe, expect, it } from 'vitest';
import { shardFor } from '../../src/cluster/routing.ts';
import type { ShoalNode } from '../../src/node/shoal-node.ts';
import { simCluster } from '../support/sim-cluster.ts';

/**
 * Read your own write across a relocation, under a simulated clock. A third node joins and a
 * replica moves to it; the node the replica moves away from applies cluster states late (it holds
 * each version back), so for a while its old copy is still open though the primary has stopped
 * writing to it. A write acknowledged through that node, then a search through it: the write's
 * answer carries the primary's state version (WriteReply), the node applies it before answering,
 * and the search is routed by it, away from the old copy. Without that, the search is served by
 * the old copy and misses the write.
 */
type Any = Record<string, any>;

describe('a write through a node that applies cluster states late, then a search through it, across a relocation', () => {
  it('finds the write: the answer waits for the primary\'s routing, and the search follows it', async () => {
    const { clock, nodes, lag, drive, start, shutdown } = simCluster();
    try {
      await start('n1');
      await start('n2');
      const n1 = nodes.get('n1')!;
      await clock.runUntil(() => !!n1.state.master && Object.keys(n1.state.nodes).length === 2, { maxTimeMs: 20_000 });
      await drive(n1.api({ op: 'index.create', index: 'r', settings: { number_of_shards: 2, number_of_replicas: 1, refresh_interval_ms: -1 } } as never), 'create');
      const allStarted = (n: ShoalNode) => (n.state.routing.r ?? []).length === 2 && n.state.routing.r!.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED'));
      await clock.runUntil(() => allStarted(n1), { maxTimeMs: 20_000 });
      expect(allStarted(n1)).toBe(true);
      // n3 joins: rebalancing moves copies to it. Watch for a replica leaving its node.
      await start('n3');
      const leader = () => [...nodes.values()].find((n) => n.state.master?.id === n.info.id) ?? n1;
      const movingReplica = () => {
        for (const [shard, t] of (leader().state.routing.r ?? []).entries()) {
          const source = t.copies.find((c) => c.state === 'RELOCATING' && !c.primary);
          if (source) return { shard, source, primaryNode: t.copies.find((c) => c.primary)!.node };
        }
        return undefined;
      };
      await clock.runUntil(() => movingReplica() !== undefined, { maxTimeMs: 20_000 });
      const moving = movingReplica();
      expect(moving).toBeDefined();
      const { shard, source, primaryNode } = moving!;
      const slow = nodes.get(source.node)!;
      // From now on the source's node applies each version 800 virtual ms late.
      lag.set(source.node, 800);
      const gone = (n: ShoalNode) => !n.state.routing.r![shard]!.copies.some((c) => c.allocationId === source.allocationId);
      const primary = nodes.get(primaryNode)!;
      // The primary has applied the end of the relocation (its group no longer has the source) ...
      await clock.runUntil(() => gone(primary), { maxTimeMs: 20_000 });
      expect(gone(primary)).toBe(true);
      const stats = async () => ((await drive(primary.api({ op: 'shard.stats', index: 'r' } as never), 'stats')) as unknown as Any[]).find((s) => s.shard === shard && s.primary);
      // The shard actor takes the new routing a turn after its node applies it.
      const inGroup = async () => (await stats())!.group.copies.some((c: Any) => c.allocationId === source.allocationId);
      for (let tries = 0; tries < 20 && (await inGroup()); tries++);
      expect(await inGroup()).toBe(false);
      // ... while the source's node has not: its old copy is still open there.
      expect(gone(slow)).toBe(false);
      const id = Array.from({ length: 50 }, (_, i) => `doc${i}`).find((x) => shardFor(x, 2) === shard)!;
      const written = (await drive(slow.api({ op: 'doc.index', index: 'r', id, document: { n: 1 }, refresh: true } as never), 'write')) as Any;
      expect(written.result).toBe('created');
      const found = (await drive(slow.api({ op: 'search', index: 'r', body: { query: { ids: { values: [id] } } } } as never), 'search')) as Any;
      expect(found.hits.hits.map((h: Any) => h._id)).toEqual([id]);
    } finally {
      await shutdown();
    }
  });
});
