/**
 * The TypeScript client against a Shoal cluster: create an index, bulk-load documents with
 * progress, search with an aggregation, get, update, handle an error, look at health and shards.
 *
 *   npx tsx examples/client.ts                         # starts its own nats-server + one node
 *   NATS_URL=nats://127.0.0.1:PORT npx tsx examples/client.ts   # against `npm start`'s cluster
 *
 * SHOAL_CLUSTER names the cluster (default `shoal`). Run by test/integration/client-example.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalApiError, ShoalClient } from '../src/client/index.ts';
import { ShoalNode } from '../src/node/shoal-node.ts';
import { startNatsServer, type NatsServerHandle } from '../src/testing/nats-server.ts';

const cluster = process.env.SHOAL_CLUSTER ?? 'shoal';
let server: NatsServerHandle | undefined;
let node: ShoalNode | undefined;
let dataDir: string | undefined;
let url = process.env.NATS_URL;

if (!url) {
  server = await startNatsServer();
  url = server.url;
  dataDir = mkdtempSync(join(tmpdir(), 'shoal-example-'));
  node = await ShoalNode.start({ nodeId: 'n1', cluster, nats: { servers: url }, dataDir, masters: ['n1'], logLevel: 'warn' });
  await node.natsApi!.ready;
  console.log(`started nats-server ${url} and node n1`);
}

const client = await ShoalClient.connect({ servers: url, cluster });
const index = `example-${Date.now().toString(36)}`;
try {
  await client.indices.create({
    index,
    settings: { number_of_shards: 2, number_of_replicas: 0 },
    mappings: { properties: { title: { type: 'text' }, genre: { type: 'keyword' }, year: { type: 'long' } } },
  });
  console.log(`created index ${index}`);

  const genres = ['scifi', 'crime', 'drama'];
  const films = Array.from({ length: 3_000 }, (_, i) => ({ id: `f${i}`, title: `film number ${i}${i % 10 === 0 ? ' space' : ''}`, genre: genres[i % 3]!, year: 1950 + (i % 70) }));
  const loaded = await client.helpers.bulk({
    datasource: films,
    index,
    id: (f) => f.id as string,
    batchSize: 1_000,
    refresh: true,
    onProgress: (p) => console.log(`bulk: ${p.sent} sent, ${p.successful} ok, ${p.failed} failed`),
  });
  console.log(`bulk done: ${loaded.successful} documents in ${loaded.batches} batches`);

  const res = await client.search<{ title: string; year: number }>({
    index,
    body: { query: { match: { title: 'space' } }, size: 3, sort: [{ year: 'desc' }], aggs: { genres: { terms: { field: 'genre' } } } },
  });
  console.log(`search: ${res.hits.total.value} hits for "space"; newest: ${res.hits.hits.map((h) => `${h._id} (${h._source?.year})`).join(', ')}`);
  const buckets = (res.aggregations?.genres as { buckets: { key: string; doc_count: number }[] }).buckets;
  console.log(`by genre: ${buckets.map((b) => `${b.key}=${b.doc_count}`).join(' ')}`);

  await client.update({ index, id: 'f0', body: { doc: { title: 'film number 0 revisited' } } });
  const f0 = await client.get<{ title: string }>({ index, id: 'f0' });
  console.log(`get f0: "${f0._source?.title}" version ${f0._version}`);

  try {
    await client.create({ index, id: 'f1', document: { title: 'duplicate' } });
  } catch (e) {
    if (!(e instanceof ShoalApiError)) throw e;
    console.log(`error: ${e.type} (${e.status})`);
  }

  const health = await client.cluster.health({ index });
  const shards = await client.cat.shards();
  console.log(`health: ${health.status}; shards of ${index}: ${shards.filter((s) => s.index === index).map((s) => `${s.shard}${s.prirep}@${s.node}`).join(' ')}`);
  await client.indices.delete({ index });
  console.log('done');
} finally {
  await client.close();
  await node?.shutdown();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
