/**
 * Drain a node before retiring it, with the TypeScript client against a running cluster: exclude
 * it through the cluster settings (Elasticsearch's cluster.routing.allocation.exclude._name), wait
 * until no shard copy is left on it, check that every document is still there, ask allocation
 * explain why a copy that has nowhere to go is unassigned, then let the node take copies again.
 *
 *   bin/shoal up                                     # or: npm start
 *   npx tsx examples/drain-node.ts [nats://HOST:PORT] [node]   # node: default n3
 *
 * Exit code 0 on success, 1 on failure (or when the node does not drain within 30 s).
 */
import { ShoalApiError, ShoalClient } from '../src/client/index.ts';
import { clusterAddress } from './connect.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const INDEX = 'drain-demo';
const EXCLUDE = 'cluster.routing.allocation.exclude._name';

async function main(): Promise<void> {
  const { nats, cluster } = clusterAddress();
  const node = process.argv.slice(2).find((a) => !a.includes('://')) ?? 'n3';
  const client = await ShoalClient.connect({ servers: nats, cluster });
  try {
    await client.indices.delete({ index: INDEX }).catch((err: unknown) => {
      if (!(err instanceof ShoalApiError && err.isNotFound)) throw err;
    });
    await client.indices.create({ index: INDEX, settings: { number_of_shards: 3, number_of_replicas: 1 }, wait_for_active_shards: 'all' });
    const docs = Array.from({ length: 200 }, (_, i) => ({ n: i }));
    await client.helpers.bulk({ datasource: docs, index: INDEX, id: (d) => `d${d.n}`, refresh: true });
    const onNode = async () => (await client.cat.shards()).filter((s) => s.index === INDEX && s.node === node).length;
    say(`copies on ${node} before: ${(await onNode()) > 0 ? 'some' : 'none'}`);

    await client.cluster.putSettings({ persistent: { [EXCLUDE]: node } });
    say(`excluded ${node}`);
    const deadline = Date.now() + 30_000;
    while ((await onNode()) > 0 || (await client.cluster.health({ index: INDEX })).status !== 'green') {
      if (Date.now() > deadline) throw new Error(`${node} did not drain within 30 s`);
      await new Promise((r) => setTimeout(r, 200)); // polling the cluster, with a deadline
    }
    say(`copies on ${node} after: none; health green`);
    say(`documents: ${(await client.count({ index: INDEX })).count}`);
    say(`settings: ${JSON.stringify((await client.cluster.getSettings()).persistent)}`);
    // A second replica has nowhere to go now (two nodes allowed, three copies): explain says why.
    await client.indices.setReplicas({ index: INDEX, number_of_replicas: 2 });
    const explained = await client.cluster.allocationExplain();
    say(`explain [${explained.index}][${explained.shard}] ${explained.primary ? 'primary' : 'replica'}: ${explained.current_state}, can allocate: ${explained.can_allocate}`);
    for (const d of explained.node_allocation_decisions ?? []) say(`  ${d.node_id === node ? 'drained node' : 'other node'}: ${(d.deciders ?? []).map((x) => x.decider).join(', ')}`);
    await client.indices.setReplicas({ index: INDEX, number_of_replicas: 1 });

    await client.cluster.putSettings({ persistent: { [EXCLUDE]: null } });
    say(`settings after clearing: ${JSON.stringify((await client.cluster.getSettings()).persistent)}`);
    await client.indices.delete({ index: INDEX });
    say('done');
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
