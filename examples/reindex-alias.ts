/**
 * A mapping change without downtime, with the TypeScript client against a running cluster:
 * applications read and write through an alias; a new index with the new mapping is filled by
 * `reindex` (from a point in time of the old one); the alias moves to it in one atomic step.
 *
 *   bin/shoal up                                     # or: npm start
 *   npx tsx examples/reindex-alias.ts [nats://HOST:PORT]
 *
 * `products-v1` maps `category` as text, so a terms aggregation on it fails. `products-v2` maps it
 * as a keyword. The example indexes through the alias `products`, reindexes v1 into v2, swaps the
 * alias, aggregates on `category`, pages through every product with a point in time and
 * `search_after`, and deletes both indices. Exit code 0 on success, 1 on failure.
 */
import { ShoalApiError, ShoalClient } from '../src/client/index.ts';
import { clusterAddress } from './connect.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ALIAS = 'products';
const V1 = 'products-v1';
const V2 = 'products-v2';
const CATEGORIES = ['books', 'games', 'music', 'tools'];
const PRODUCTS = Array.from({ length: 60 }, (_, i) => ({ sku: `p${i}`, name: `product ${i}`, category: CATEGORIES[i % CATEGORIES.length]!, price: 5 + (i % 13) }));

async function main(): Promise<void> {
  const { nats, cluster } = clusterAddress();
  const client = await ShoalClient.connect({ servers: nats, cluster });
  try {
    for (const index of [V1, V2]) {
      await client.indices.delete({ index }).catch((err: unknown) => {
        if (!(err instanceof ShoalApiError && err.isNotFound)) throw err;
      });
    }
    const shards = { number_of_shards: 2, number_of_replicas: 1 };
    await client.indices.create({ index: V1, settings: shards, mappings: { properties: { sku: { type: 'keyword' }, name: { type: 'text' }, category: { type: 'text' }, price: { type: 'integer' } } }, wait_for_active_shards: 'all' });
    await client.indices.updateAliases({ actions: [{ add: { index: V1, alias: ALIAS } }] });
    const bulk = await client.helpers.bulk({ datasource: PRODUCTS, index: ALIAS, id: (p) => p.sku, refresh: true });
    say(`indexed through ${ALIAS}: ${bulk.successful} products into ${V1}`);
    try {
      await client.search({ index: ALIAS, body: { size: 0, aggs: { c: { terms: { field: 'category' } } } } });
      throw new Error('a terms aggregation on a text field succeeded');
    } catch (err) {
      if (!(err instanceof ShoalApiError)) throw err;
      say(`terms on text category: ${err.status} ${err.type}`);
    }

    await client.indices.create({ index: V2, settings: shards, mappings: { properties: { sku: { type: 'keyword' }, name: { type: 'text' }, category: { type: 'keyword' }, price: { type: 'integer' } } }, wait_for_active_shards: 'all' });
    const copied = await client.reindex({ body: { source: { index: V1 }, dest: { index: V2 } }, refresh: true });
    say(`reindex ${V1} -> ${V2}: ${copied.created} created, ${copied.failures.length} failures`);
    if (copied.created !== PRODUCTS.length) throw new Error(`expected ${PRODUCTS.length} created`);
    await client.indices.updateAliases({ actions: [{ remove: { index: V1, alias: ALIAS } }, { add: { index: V2, alias: ALIAS } }] });
    const aliases = await client.cat.aliases();
    say(`alias: ${aliases.map((a) => `${a.alias} -> ${a.index}`).join(', ')}`);

    const res = await client.search({ index: ALIAS, body: { size: 0, aggs: { c: { terms: { field: 'category' } } } } });
    const buckets = (res.aggregations!.c as { buckets: { key: string; doc_count: number }[] }).buckets;
    say(`categories: ${buckets.map((b) => `${b.key}=${b.doc_count}`).join(', ')}`);

    // Every product, 25 at a time by price (prices tie: the point in time breaks ties itself).
    const { id } = await client.openPointInTime({ index: ALIAS, keep_alive: '1m' });
    const seen = new Set<string>();
    let after: unknown[] | undefined;
    let pages = 0;
    for (;;) {
      const page = await client.search({ body: { pit: { id, keep_alive: '1m' }, size: 25, sort: [{ price: 'asc' }], _source: false, ...(after ? { search_after: after } : {}) } });
      if (page.hits.hits.length === 0) break;
      pages++;
      for (const h of page.hits.hits) seen.add(h._id);
      after = page.hits.hits.at(-1)!.sort;
    }
    await client.closePointInTime({ id });
    say(`paged through a point in time: ${seen.size} products in ${pages} pages`);
    if (seen.size !== PRODUCTS.length) throw new Error(`expected ${PRODUCTS.length} products, saw ${seen.size}`);

    for (const index of [V1, V2]) await client.indices.delete({ index });
    say('done');
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`reindex-alias: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
