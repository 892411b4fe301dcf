/**
 * Reopening a shard: segment files (the index as sealed) vs the old `.dat` files (docs and
 * sources only, re-indexed on open).
 *
 *   npm run bench:engine-open [-- --limit 20000 --rounds 5 --json]
 *
 * Indexes the WordNet synsets (`gloss` and `words` as text, `category` as keyword) into a durable
 * shard, flushes, and writes the same segments the old way (`seg-<name>.dat` = msgpack
 * `{ metas, sources }`, one framed record) into a second directory with the same commit point and
 * live-docs files. Then times `ShardEngine.open()` of both, in interleaved rounds (order
 * alternating), and checks both answer a query alike. Heap per doc (V8 heap used + ArrayBuffer
 * memory, after a forced GC, over the baseline before) is measured once after indexing and once
 * after reopening from segment files. Runs under `node --expose-gc` (the npm script does).
 *
 * Output: progress on stderr, a table on stdout; with --json the last stdout line is one JSON
 * object: { docs, segments, rounds, reopen_ms_old, reopen_ms_new, reopen_speedup, reopen_ms_old_all,
 * reopen_ms_new_all, flush_ms (the flush that wrote the segment files), file_bytes_old,
 * file_bytes_new, heap_bytes_per_doc_indexed, heap_bytes_per_doc_reopened, and their parts
 * heap_used_… (V8 heap) and array_buffer_… }.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readSegmentFile } from '../src/engine/segment-file.ts';
import { ShardEngine } from '../src/engine/shard-engine.ts';
import type { Mappings } from '../src/engine/mapping.ts';
import { writeAtomic } from '../src/storage/framed.ts';
import { encode } from '../src/transport/codec.ts';
import { releaseWordnetCache, wordnet } from './lib/corpus.ts';
import { positive } from './lib/options.ts';

const { values: args } = parseArgs({
  options: { limit: { type: 'string' }, rounds: { type: 'string' }, json: { type: 'boolean', default: false } },
});
const limit = args.limit === undefined ? undefined : positive('limit', args.limit, 0, true);
const rounds = positive('rounds', args.rounds, 5, true);

const MAPPINGS: Mappings = { dynamic: false, properties: { gloss: { type: 'text' }, words: { type: 'text' }, category: { type: 'keyword' } } };
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/** V8 heap used and ArrayBuffer memory (typed arrays' data, outside the V8 heap), after a forced GC. */
function memNow(): { heap: number; ab: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench:engine-open does)');
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ab: m.arrayBuffers };
}

/** Bytes per doc retained since `base`: [total, V8 heap, ArrayBuffers]. */
function perDoc(base: { heap: number; ab: number }, n: number): [number, number, number] {
  const m = memNow();
  const heap = (m.heap - base.heap) / n;
  const ab = (m.ab - base.ab) / n;
  return [Math.round(heap + ab), Math.round(heap), Math.round(ab)];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The bytes of a directory's files ending in `ext`. */
function bytesOf(dir: string, ext: string): number {
  return fs.readdirSync(dir).filter((f) => f.endsWith(ext)).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** The same shard as the old writer left it: `.dat` files instead of segment files. */
function writeOldFormat(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    const src = path.join(from, f);
    if (f.endsWith('.seg')) {
      const { metas, sources } = readSegmentFile(src).stored();
      writeAtomic(to, f.replace(/\.seg$/, '.dat'), encode({ metas, sources }));
    } else fs.cpSync(src, path.join(to, f), { recursive: true });
  }
}

function timeOpen(dir: string): { ms: number; docs: number; hits: string[] } {
  memNow(); // the previous round's engine is garbage: collect it outside the timed part
  const t0 = performance.now();
  const e = ShardEngine.open(dir, { mappings: MAPPINGS, durability: 'async' });
  const ms = performance.now() - t0;
  const out = { ms, docs: e.docCount, hits: e.search({ query: { match: { gloss: 'small furry animal' } } }).hits.hits.map((h) => `${h._id}:${h._score}`) };
  e.close();
  return out;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-open-bench-'));
try {
  const dirNew = path.join(root, 'segment-files');
  const dirOld = path.join(root, 'dat-files');

  const base = memNow();
  let docs: ReturnType<typeof wordnet> | undefined = wordnet(limit);
  releaseWordnetCache();
  const n = docs.length;
  log(`indexing ${n} WordNet synsets…`);
  let engine: ShardEngine | undefined = ShardEngine.open(dirNew, { mappings: MAPPINGS, durability: 'async' });
  const t0 = performance.now();
  for (const d of docs) engine.index(d.id, { gloss: d.gloss, words: d.words, category: d.category });
  engine.refresh();
  const indexMs = performance.now() - t0;
  docs = undefined;
  // Before the flush: its encoding leaves the msgpack codec a buffer the size of the sources.
  const heapIndexed = perDoc(base, n);
  const tf = performance.now();
  engine.flush();
  const flushMs = performance.now() - tf;
  const segments = engine.segmentCount;
  engine.close();
  engine = undefined;
  log(`indexed in ${(indexMs / 1000).toFixed(2)} s, flushed (segment files) in ${flushMs.toFixed(0)} ms; ${segments} segment(s)`);

  const base2 = memNow();
  engine = ShardEngine.open(dirNew, { mappings: MAPPINGS, durability: 'async' });
  const heapReopened = perDoc(base2, n);
  engine.close();
  engine = undefined;

  writeOldFormat(dirNew, dirOld);

  const msNew: number[] = [];
  const msOld: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['new', 'old'] as const) : (['old', 'new'] as const);
    const got: Record<string, ReturnType<typeof timeOpen>> = {};
    for (const which of order) {
      got[which] = timeOpen(which === 'new' ? dirNew : dirOld);
      (which === 'new' ? msNew : msOld).push(got[which].ms);
    }
    if (got.new!.docs !== n || got.old!.docs !== n) throw new Error(`reopened ${got.new!.docs} / ${got.old!.docs} docs, indexed ${n}`);
    if (JSON.stringify(got.new!.hits) !== JSON.stringify(got.old!.hits)) throw new Error('the two formats answer a query differently');
    log(`round ${r + 1}/${rounds}: segment files ${got.new!.ms.toFixed(0)} ms, .dat ${got.old!.ms.toFixed(0)} ms`);
  }

  const result = {
    docs: n,
    segments,
    rounds,
    reopen_ms_old: round(median(msOld)),
    reopen_ms_new: round(median(msNew)),
    reopen_speedup: round(median(msOld) / median(msNew), 2),
    reopen_ms_old_all: msOld.map((x) => round(x)),
    reopen_ms_new_all: msNew.map((x) => round(x)),
    flush_ms: round(flushMs),
    file_bytes_old: bytesOf(dirOld, '.dat'),
    file_bytes_new: bytesOf(dirNew, '.seg'),
    heap_bytes_per_doc_indexed: heapIndexed[0],
    heap_bytes_per_doc_reopened: heapReopened[0],
    heap_used_bytes_per_doc_indexed: heapIndexed[1],
    heap_used_bytes_per_doc_reopened: heapReopened[1],
    array_buffer_bytes_per_doc_indexed: heapIndexed[2],
    array_buffer_bytes_per_doc_reopened: heapReopened[2],
  };
  const rows: [string, string, string][] = [
    ['', 'segment files', '.dat (re-index)'],
    ['reopen (median)', `${result.reopen_ms_new} ms`, `${result.reopen_ms_old} ms`],
    ['segment bytes', `${(result.file_bytes_new / 2 ** 20).toFixed(1)} MiB`, `${(result.file_bytes_old / 2 ** 20).toFixed(1)} MiB`],
    ['heap B/doc', `${result.heap_bytes_per_doc_reopened} (reopened)`, `${result.heap_bytes_per_doc_indexed} (indexed)`],
    ['  of it V8 heap', `${result.heap_used_bytes_per_doc_reopened}`, `${result.heap_used_bytes_per_doc_indexed}`],
    ['  ArrayBuffers', `${result.array_buffer_bytes_per_doc_reopened}`, `${result.array_buffer_bytes_per_doc_indexed}`],
  ];
  for (const [a, b, c] of rows) console.log(`${a.padEnd(18)}${b.padStart(18)}${c.padStart(20)}`);
  console.log(`reopen speedup: ${result.reopen_speedup}x (${n} docs, ${segments} segment(s), ${rounds} interleaved rounds)`);
  if (args.json) console.log(JSON.stringify(result));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
