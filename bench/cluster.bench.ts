/**
 * Cluster benchmark: bulk indexing through a 3-node cluster against the same engine embedded in
 * one process, search latency through the cluster, and primary failover time.
 *
 *   npm run bench:cluster [-- --docs 20000 --batch 500 --inflight 4 --searches 300 --trials 10 --json]
 *
 * Setup: a real nats-server and three node processes (`shoal start`, all master+data, each with
 * its own data directory: translogs are fsynced to a real file system), driven from this process
 * through ProcessCluster's probe (NATS request/reply to a node's coordinator actor).
 *
 * Indexing: the same wordnet documents (the engine bench's corpus) as `bulk` requests of
 * `--batch` docs, `--inflight` requests at a time, into an index of 3 shards and 1 replica
 * (every doc is written to a primary and a replica, both fsync their translog per request).
 * Embedded: one ShardEngine per shard in this process, opened on a temp directory with the same
 * durability and refresh interval, fed the same batches (one fsync per batch per shard), going back
 * to the event loop between batches as an application would. First a warm-up of `--warmup-docs`
 * on both sides (not measured), then `--rounds` rounds, each an embedded run on fresh engines and
 * a cluster run into a freshly created index; each side's rate is the median of its rounds (docs/s)
 * and the ratio is cluster / embedded, measured side by side in one run.
 *
 * Search: `--searches` match queries (random wordnet gloss terms, top 10) through rotating
 * coordinating nodes, one at a time: p50 and p99 latency as the client sees it.
 *
 * Failover (per trial): pick a node holding primaries of the index (never the same twice in a
 * row when possible), SIGKILL it (t0), and keep writing, from the probe, one doc at a time to
 * every shard whose primary was on that node (ids chosen to route there), through a surviving
 * node; the shard's failover time is t(first acknowledged write sent after t0) - t0. Each
 * trial's figure is the slowest affected shard. The killed node then restarts and the cluster is
 * green, with every copy started, before the next trial.
 *
 * Output: progress on stderr, a table on stdout; with --json the last line is one JSON object
 * { cluster_vs_embedded_ratio, cluster_docs_per_s, embedded_docs_per_s, search_p50_ms,
 * search_p99_ms, primary_failover_median_ms, primary_failover_p99_ms, trials, ... }.
 * Targets (issue 5): ratio ≥ 0.3, failover p99 ≤ 2000 ms.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { shardFor } from '../src/cluster/routing.ts';
import { ShardEngine } from '../src/engine/shard-engine.ts';
import { ProcessCluster } from '../src/testing/cluster-processes.ts';
import { wordnet } from './lib/corpus.ts';
import { positive } from './lib/options.ts';
import { median, round, table } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string' },
    batch: { type: 'string' },
    inflight: { type: 'string' },
    searches: { type: 'string' },
    trials: { type: 'string' },
    rounds: { type: 'string' },
    'warmup-docs': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: npm run bench:cluster -- [--docs 20000] [--batch 500] [--inflight 4] [--rounds 5] [--warmup-docs 20000] [--searches 300] [--trials 10] [--json]');
  process.exit(0);
}
const DOCS = positive('docs', args.docs, 20_000, true);
const BATCH = positive('batch', args.batch, 500, true);
const INFLIGHT = positive('inflight', args.inflight, 4, true);
const SEARCHES = positive('searches', args.searches, 300, true);
const TRIALS = positive('trials', args.trials, 10, true);
const ROUNDS = positive('rounds', args.rounds, 5, true);
const WARMUP_DOCS = positive('warmup-docs', args['warmup-docs'], 20_000, true);
const SHARDS = 3;
const INDEX = 'wordnet';

const progress = (msg: string) => process.stderr.write(`[bench:cluster] ${msg}\n`);
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

type Doc = { id: string; source: Record<string, unknown> };

async function main(): Promise<void> {
  const corpus: Doc[] = wordnet(DOCS).map((d, i) => ({ id: `w${i}`, source: { words: d.words, gloss: d.gloss, category: d.category } }));
  const batches: Doc[][] = [];
  for (let i = 0; i < corpus.length; i += BATCH) batches.push(corpus.slice(i, i + BATCH));
  const mappings = { properties: { words: { type: 'text' }, gloss: { type: 'text' }, category: { type: 'keyword' } } };

  /** One round embedded: fresh engines, the same batches, one fsync per batch per shard. */
  const indexEmbedded = async (docs: Doc[][]): Promise<number> => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-embedded-'));
    const engines = Array.from({ length: SHARDS }, (_, i) => ShardEngine.open(join(dir, String(i)), { mappings, refreshIntervalMs: 1000 }));
    const started = performance.now();
    for (const batch of docs) {
      const perShard = new Map<number, Doc[]>();
      for (const d of batch) {
        const s = shardFor(d.id, SHARDS);
        perShard.set(s, [...(perShard.get(s) ?? []), d]);
      }
      for (const [s, shardDocs] of perShard) engines[s]!.batch(() => shardDocs.forEach((d) => engines[s]!.index(d.id, d.source)));
      // As an application would: back to the event loop between requests, so the 1 s refresh runs
      // here as it does in the cluster.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const rate = docs.flat().length / ((performance.now() - started) / 1000);
    engines.forEach((e) => e.close());
    rmSync(dir, { recursive: true, force: true });
    return rate;
  };

  progress('starting a 3-node cluster (nats-server + 3 node processes)');
  const cluster = await ProcessCluster.start();
  const nodes = () => [...cluster.nodes.keys()];

  /** One round through the cluster: a fresh index, `--inflight` bulk requests at a time, rotating coordinating nodes. */
  const indexCluster = async (index: string, docs: Doc[][]): Promise<number> => {
    await cluster.api({ op: 'index.create', index, settings: { number_of_shards: SHARDS, number_of_replicas: 1, refresh_interval: '1s' }, mappings });
    await cluster.api({ op: 'cluster.health', index, wait_for_status: 'green', timeout_ms: 30_000 });
    const started = performance.now();
    let next = 0;
    let errors = 0;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async (_, worker) => {
        for (let b = next++; b < docs.length; b = next++) {
          const operations = docs[b]!.flatMap((d) => [{ index: { _id: d.id } }, d.source]);
          const res = await cluster.api<{ errors: boolean; items: Record<string, { error?: unknown }>[] }>({ op: 'doc.bulk', index, operations }, { via: nodes()[(b + worker) % nodes().length] });
          if (res.errors) errors += res.items.filter((i) => Object.values(i)[0]!.error).length;
        }
      }),
    );
    const rate = docs.flat().length / ((performance.now() - started) / 1000);
    if (errors > 0) throw new Error(`${errors} bulk items failed`);
    await cluster.api({ op: 'index.refresh', index });
    const count = (await cluster.api<{ count: number }>({ op: 'count', index })).count;
    if (count !== docs.flat().length) {
      const stats = await cluster.api({ op: 'shard.stats', index });
      const state = await cluster.state();
      for (const [id, h] of cluster.nodes) writeFileSync(join(tmpdir(), `shoal-bench-cluster-${id}.log`), h.output());
      progress(`node logs in ${join(tmpdir(), 'shoal-bench-cluster-<node>.log')}`);
      throw new Error(`count ${count} != ${docs.flat().length}; shard copies: ${JSON.stringify(stats)}; routing: ${JSON.stringify(state?.routing[index])}`);
    }
    return rate;
  };

  try {
    // Warm-up, not measured: both sides run their code once, so no round measures a cold JIT.
    const warmup = batches.slice(0, Math.max(1, Math.ceil(WARMUP_DOCS / BATCH)));
    progress(`warm-up: ${warmup.flat().length} docs embedded and through the cluster`);
    await indexEmbedded(warmup);
    await indexCluster('warmup', warmup);
    await cluster.api({ op: 'index.delete', index: 'warmup' });

    const embeddedRates: number[] = [];
    const clusterRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      embeddedRates.push(await indexEmbedded(batches));
      if (round > 1) await cluster.api({ op: 'index.delete', index: INDEX });
      clusterRates.push(await indexCluster(INDEX, batches));
      progress(
        `round ${round}/${ROUNDS}: ${corpus.length} docs, bulks of ${BATCH}, ${INFLIGHT} in flight: embedded ${Math.round(embeddedRates.at(-1)!)} docs/s, ` +
          `cluster ${Math.round(clusterRates.at(-1)!)} docs/s (${round > 1 ? 'index deleted and created again' : 'new index'})`,
      );
    }
    const embeddedRate = median(embeddedRates);
    const clusterRate = median(clusterRates);

    progress(`search: ${SEARCHES} match queries`);
    const terms = corpus.slice(0, 2000).flatMap((d) => String(d.source.gloss).split(/\W+/).filter((w) => w.length > 4));
    const latencies: number[] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const term = terms[(i * 7919) % terms.length]!;
      const s = performance.now();
      await cluster.api({ op: 'search', index: INDEX, body: { query: { match: { gloss: term } }, size: 10 } }, { via: nodes()[i % nodes().length] });
      latencies.push(performance.now() - s);
    }

    const failovers: number[] = [];
    let lastVictim = '';
    for (let trial = 0; trial < TRIALS; trial++) {
      const state = (await cluster.state())!;
      const holders = [...new Set(state.routing[INDEX]!.flatMap((t) => t.copies.filter((c) => c.primary).map((c) => c.node)))];
      const victim = holders.find((n) => n !== lastVictim) ?? holders[0]!;
      lastVictim = victim;
      const affected = state.routing[INDEX]!.map((t, shard) => ({ t, shard })).filter(({ t }) => t.copies.some((c) => c.primary && c.node === victim)).map((x) => x.shard);
      const survivors = nodes().filter((n) => n !== victim);
      const idFor = (shard: number, n: number) => {
        for (let k = 0; ; k++) {
          const id = `f${trial}-${shard}-${n}-${k}`;
          if (shardFor(id, SHARDS) === shard) return id;
        }
      };
      const killedAt = performance.now();
      cluster.kill(victim, 'SIGKILL');
      const times = await Promise.all(
        affected.map(async (shard) => {
          for (let n = 0; ; n++) {
            const sentAt = performance.now();
            try {
              await cluster.api({ op: 'doc.index', index: INDEX, id: idFor(shard, n), document: { gloss: 'failover probe' }, timeout_ms: 30_000 }, { via: survivors[n % survivors.length], timeoutMs: 35_000 });
              if (sentAt >= killedAt) return performance.now() - killedAt;
            } catch {
              // not acknowledged: try again
            }
            if (performance.now() - killedAt > 60_000) throw new Error(`shard ${shard} did not fail over within 60 s`);
          }
        }),
      );
      const worst = Math.max(...times);
      failovers.push(worst);
      progress(`trial ${trial + 1}/${TRIALS}: killed ${victim} (primaries of shards ${affected.join(',')}), first acknowledged writes after ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
      await cluster.startNode(victim);
      await cluster.api({ op: 'cluster.health', wait_for_status: 'green', timeout_ms: 60_000 });
      await cluster.waitFor((s) => s.routing[INDEX]!.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED')), 'every copy started', 60_000);
    }

    const ratio = clusterRate / embeddedRate;
    const result = {
      cluster_vs_embedded_ratio: round(ratio, 3),
      cluster_docs_per_s: Math.round(clusterRate),
      embedded_docs_per_s: Math.round(embeddedRate),
      search_p50_ms: round(percentile(latencies, 50), 2),
      search_p99_ms: round(percentile(latencies, 99), 2),
      primary_failover_median_ms: Math.round(median(failovers)),
      primary_failover_p99_ms: Math.round(percentile(failovers, 99)),
      trials: failovers.length,
      cluster_docs_per_s_rounds: clusterRates.map(Math.round),
      embedded_docs_per_s_rounds: embeddedRates.map(Math.round),
      docs: corpus.length,
      batch: BATCH,
      inflight: INFLIGHT,
    };
    console.log(
      table(
        ['measurement', 'value', 'target'],
        [
          ['bulk indexing, cluster (3 nodes, 1 replica)', `${result.cluster_docs_per_s} docs/s`, ''],
          ['bulk indexing, embedded engine', `${result.embedded_docs_per_s} docs/s`, ''],
          ['cluster / embedded', String(result.cluster_vs_embedded_ratio), '≥ 0.3'],
          ['search p50 / p99', `${result.search_p50_ms} / ${result.search_p99_ms} ms`, ''],
          ['primary failover median / p99', `${result.primary_failover_median_ms} / ${result.primary_failover_p99_ms} ms`, 'p99 ≤ 2000 ms'],
        ],
      ),
    );
    if (args.json) console.log(JSON.stringify(result));
  } finally {
    await cluster.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
