/**
 * Index and search with the TypeScript client (src/client) against a running cluster.
 *
 *   bin/shoal up                                     # or: npm start
 *   npx tsx examples/search-client.ts [nats://HOST:PORT]
 *
 * Creates an index `example-books` (2 shards, 1 replica; a previous run's is deleted first),
 * bulk-indexes a few books with the bulk helper, then: a full-text search, a filtered search
 * with a terms aggregation, a real-time get, a partial update, a conditional write that
 * conflicts (409), a count, and deletes the index. Exit code 0 on success, 1 on failure.
 */
import { ShoalApiError, ShoalClient } from '../src/client/index.ts';
import { clusterAddress } from './connect.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const INDEX = 'example-books';

interface Book {
  id: string;
  title: string;
  author: string;
  genre: string;
  year: number;
  blurb: string;
  [key: string]: unknown;
}

const BOOKS: Book[] = [
  { id: 'dune', title: 'Dune', author: 'Frank Herbert', genre: 'sf', year: 1965, blurb: 'a desert planet, spice and a young duke' },
  { id: 'foundation', title: 'Foundation', author: 'Isaac Asimov', genre: 'sf', year: 1951, blurb: 'a mathematician foresees the fall of a galactic empire' },
  { id: 'neuromancer', title: 'Neuromancer', author: 'William Gibson', genre: 'sf', year: 1984, blurb: 'a washed-up hacker hired for one last job in cyberspace' },
  { id: 'hobbit', title: 'The Hobbit', author: 'J. R. R. Tolkien', genre: 'fantasy', year: 1937, blurb: 'a hobbit, a wizard, dwarves and a dragon guarding gold' },
  { id: 'earthsea', title: 'A Wizard of Earthsea', author: 'Ursula K. Le Guin', genre: 'fantasy', year: 1968, blurb: 'a young wizard unleashes a shadow' },
  { id: 'dispossessed', title: 'The Dispossessed', author: 'Ursula K. Le Guin', genre: 'sf', year: 1974, blurb: 'a physicist travels between an anarchist moon and its planet' },
  { id: 'rebecca', title: 'Rebecca', author: 'Daphne du Maurier', genre: 'mystery', year: 1938, blurb: 'a young bride haunted by the first wife of her husband' },
  { id: 'big-sleep', title: 'The Big Sleep', author: 'Raymond Chandler', genre: 'mystery', year: 1939, blurb: 'a private detective, a general and his two daughters' },
];

async function main(): Promise<void> {
  const { nats, cluster } = clusterAddress();
  const client = await ShoalClient.connect({ servers: nats, cluster });
  try {
    say(`connected to ${nats} (cluster '${cluster}')`);
    await client.indices.delete({ index: INDEX }).catch((err: unknown) => {
      if (!(err instanceof ShoalApiError && err.isNotFound)) throw err;
    });
    await client.indices.create({
      index: INDEX,
      settings: { number_of_shards: 2, number_of_replicas: 1 },
      mappings: { properties: { title: { type: 'text' }, blurb: { type: 'text' }, author: { type: 'keyword' }, genre: { type: 'keyword' }, year: { type: 'integer' } } },
      // Answer once the replicas have started too, so the first searches see every copy refreshed.
      wait_for_active_shards: 'all',
    });
    say(`created ${INDEX} (2 shards, 1 replica)`);

    const bulk = await client.helpers.bulk({ datasource: BOOKS, index: INDEX, id: (b) => b.id, refresh: true });
    say(`bulk: ${bulk.successful} indexed, ${bulk.failed} failed`);
    if (bulk.successful !== BOOKS.length) throw new Error('bulk indexing failed');

    const wizard = await client.search<Book>({ index: INDEX, body: { query: { match: { blurb: 'young wizard' } }, size: 3 } });
    say(`search "young wizard": ${wizard.hits.total.value} hits; best: ${wizard.hits.hits.map((h) => `${h._source!.title} (${h._score!.toFixed(2)})`).join(', ')}`);
    if (wizard.hits.hits[0]?._id !== 'earthsea') throw new Error(`expected earthsea first, got ${wizard.hits.hits[0]?._id}`);

    const sf = await client.search<Book>({
      index: INDEX,
      body: {
        query: { bool: { filter: [{ range: { year: { gte: 1960 } } }] } },
        sort: [{ year: 'asc' }],
        aggs: { genres: { terms: { field: 'genre' } } },
      },
    });
    const buckets = (sf.aggregations!.genres as { buckets: { key: string; doc_count: number }[] }).buckets;
    say(`since 1960, by year: ${sf.hits.hits.map((h) => `${h._source!.title} ${h._source!.year}`).join(', ')}`);
    say(`genres since 1960: ${buckets.map((b) => `${b.key}=${b.doc_count}`).join(', ')}`);

    const got = await client.get<Book>({ index: INDEX, id: 'dune' });
    say(`get dune: found=${got.found} version=${got._version} seq_no=${got._seq_no} primary_term=${got._primary_term}`);
    const upd = await client.update({ index: INDEX, id: 'dune', body: { doc: { rating: 5 } }, refresh: true });
    say(`update dune: ${upd.result}, version ${upd._version}`);
    try {
      await client.index({ index: INDEX, id: 'dune', document: BOOKS[0]!, if_seq_no: got._seq_no!, if_primary_term: got._primary_term! });
      throw new Error('a write with a stale if_seq_no succeeded');
    } catch (err) {
      if (!(err instanceof ShoalApiError && err.isConflict)) throw err;
      say(`stale conditional write: ${err.status} ${err.type}`);
    }
    const count = await client.count({ index: INDEX, body: { query: { term: { author: 'Ursula K. Le Guin' } } } });
    say(`count by Ursula K. Le Guin: ${count.count}`);
    if (count.count !== 2) throw new Error(`expected 2, got ${count.count}`);

    await client.indices.delete({ index: INDEX });
    say(`deleted ${INDEX}`);
    say('done');
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`search-client: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
