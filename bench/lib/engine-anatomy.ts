/**
 * Where Shoal's engine spends indexing time, memory and query time on the bench:engine corpus
 * (WordNet glosses, `gloss: text`, one segment). A diagnostic for the engine's author: it reaches
 * into ShardEngine/Segment internals (private fields by name), so it may need touching when they
 * change; it changes nothing in src/.
 *
 *   node --expose-gc --import tsx bench/lib/engine-anatomy.ts [--limit N] [--queries 200] [--seed 1]
 *
 * 1. Indexing by stage (each stage run twice, the second, warm run reported): mapping.parse
 *    alone, the standard analyzer alone, index() of every doc (with the GC time inside it), refresh().
 * 2. Retained memory by component, measured by dropping the engine's structures one at a time
 *    after a forced GC (the corpus itself dropped first): locations map, _source, doc metas, the
 *    sorted term dictionary, postings (Map + per-term objects + typed arrays), the rest.
 * 3. Queries: the fixed cost of a search (a term that is not in the index), the cost of one
 *    Bm25TermScorer, single-term p50 per document-frequency stratum, and AND queries against a
 *    reference conjunction over the same postings and the same BM25 (leapfrog intersection from
 *    the rarest term, top-10 heap), which also checks that both return the same top 10.
 */
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { postingsOf, type PostingsView, type Segment, type TermPostings } from '../../src/engine/segment.ts';
import { Bm25TermScorer } from '../../src/engine/similarity.ts';
import { releaseWordnetCache, wordnet, type WordnetDoc } from './corpus.ts';
import { makeQueries, type BenchQuery } from './engine-queries.ts';
import { fmtRate, median, table } from './stats.ts';
import { advance } from '../../src/engine/maxscore.ts';

const { values } = parseArgs({
  options: { limit: { type: 'string' }, queries: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' } },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx');
const now = () => performance.now();
const MAPPINGS = { dynamic: false as const, properties: { gloss: { type: 'text' } } };

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** GC milliseconds spent while `fn` runs (GC entries arrive asynchronously: wait a few turns). */
async function withGcTime(fn: () => void): Promise<{ ms: number; gcMs: number }> {
  let gcMs = 0;
  const t = now();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= t && e.startTime <= end) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  let end = Infinity;
  fn();
  end = now();
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5));
  obs.disconnect();
  return { ms: end - t, gcMs };
}

const hb = heap();
let docs: WordnetDoc[] | undefined = wordnet(values.limit ? Number(values.limit) : undefined);
releaseWordnetCache();
const N = docs.length;
const queries = makeQueries(docs.map((d) => d.gloss), Number(values.queries), Number(values.seed));
console.log(`${fmtRate(N)} WordNet glosses\n`);

// ---- 1. indexing by stage -----------------------------------------------------------------------

const stages: string[][] = [];
let engine!: ShardEngine;
for (let pass = 0; pass < 2; pass++) {
  const probe = new ShardEngine({ mappings: MAPPINGS });
  const analyzer = probe.analyzers.get('standard');
  let t = now();
  let sink = 0;
  for (const d of docs) sink += probe.mappings.parse({ gloss: d.gloss }).length;
  const parseMs = now() - t;
  t = now();
  let tokens = 0;
  for (const d of docs) tokens += analyzer.analyze(d.gloss).length;
  const analyzeMs = now() - t;
  engine = new ShardEngine({ mappings: MAPPINGS });
  const e = engine;
  const ix = await withGcTime(() => {
    for (const d of docs!) e.index(d.id, { gloss: d.gloss });
  });
  const rf = await withGcTime(() => e.refresh());
  if (pass === 1) {
    const total = ix.ms + rf.ms;
    const row = (name: string, ms: number, gcMs?: number) => [name, ms.toFixed(0), `${((100 * ms) / total).toFixed(0)}%`, gcMs === undefined ? '' : gcMs.toFixed(0), fmtRate((N * 1000) / ms)];
    stages.push(
      row('mapping.parse only', parseMs),
      row(`standard analyzer only (${fmtRate(tokens)} tokens)`, analyzeMs),
      row('index() × N (parse + analyze + invert + bookkeeping)', ix.ms, ix.gcMs),
      row('refresh() (seal: postings to typed arrays, sort terms)', rf.ms, rf.gcMs),
      row('index + refresh', total, ix.gcMs + rf.gcMs),
    );
  }
  if (sink < 0) console.log(sink);
}
console.log('Indexing by stage (warm second run)\n');
console.log(table(['stage', 'ms', 'of total', 'GC ms', 'docs/s'], stages));

// ---- 2. retained memory by component ------------------------------------------------------------

docs = undefined;
const seg = engine.searchableSegments()[0]!;
const fi = seg.field('gloss')!;
// Every term's postings live in the field's shared arrays (TermPostings holds offsets).
let postingsCount = 0;
for (const p of fi.terms.values()) postingsCount += p.df;
const sharedArrays = [fi.docs, fi.freqs, fi.posStarts, fi.positions, fi.impacts, fi.topDocs].filter((a) => a !== undefined);
const payload = sharedArrays.reduce((sum, a) => sum + a.byteLength, 0);
const mem: string[][] = [];
let last = heap();
const total = last - hb;
const drop = (name: string, fn: () => void) => {
  fn();
  const h = heap();
  mem.push([name, fmtRate((last - h) / N), `${((100 * (last - h)) / total).toFixed(0)}%`]);
  last = h;
};
type Internals = { locations: Map<string, unknown>; sources: unknown[]; ids: unknown[]; segments: Segment[]; buffer: unknown };
const eng = engine as unknown as Internals;
const segi = seg as unknown as Internals;
const fim = fi as unknown as { terms: Map<string, TermPostings>; norms?: Uint8Array };
drop('locations (id → {segment, doc} Map)', () => eng.locations.clear());
drop('_source objects and their text', () => (segi.sources = []));
drop('doc ids (seq_no, primary term and version are typed-array columns, in the rest)', () => (segi.ids = []));
// Cleared, not replaced: the lazily sorted dictionary's getter holds the same Map.
drop(`postings: ${fmtRate(fi.terms.size)} terms (offsets each) in ${sharedArrays.length} shared arrays`, () => {
  fim.terms.clear();
  for (const k of ['docs', 'freqs', 'posStarts', 'positions', 'impacts', 'topDocs']) (fim as Record<string, unknown>)[k] = undefined;
});
drop('everything else (norms, live docs, engine)', () => {
  eng.segments = [];
  engine = undefined as unknown as ShardEngine;
});
mem.push(['total retained', fmtRate(total / N), '100%']);
console.log(`\nRetained memory by component (V8 heap + ArrayBuffers), bytes per doc\n`);
console.log(table(['component', 'B/doc', 'share'], mem));
console.log(
  `\npostings: ${fmtRate(postingsCount)} (doc, term) pairs; shared arrays (docs, freqs, position starts, positions, impacts, top docs) ${fmtRate(payload / N)} B/doc`,
);

// ---- 3. queries ---------------------------------------------------------------------------------

docs = wordnet(values.limit ? Number(values.limit) : undefined);
releaseWordnetCache();
engine = new ShardEngine({ mappings: MAPPINGS });
for (const d of docs) engine.index(d.id, { gloss: d.gloss });
engine.refresh();
docs = undefined;
const segment = engine.searchableSegments()[0]!;
const field = segment.field('gloss')!;

/** Warm-up passes for a second (one pass leaves a sub-µs path unoptimised by the JIT), then timed rounds. */
function timeEach(qs: readonly BenchQuery[], run: (q: BenchQuery) => unknown, rounds = 3): number[] {
  for (const warm = now(); now() - warm < 1000; ) for (const q of qs) run(q);
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const q of qs) {
      const t = now();
      run(q);
      out.push(now() - t);
    }
  }
  return out;
}
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const search = (query: unknown) => engine.search({ query, size: 10, _source: false });

const rows: string[][] = [];
const absent = timeEach([{ terms: ['qqqzzzx'], text: 'qqqzzzx' }], (q) => search({ match: { gloss: { query: q.text, operator: 'or' } } }), 2000);
rows.push(['search for an absent term (fixed cost per request)', us(median(absent))]);
const absentAnd = timeEach([{ terms: ['qqqzzzx', 'qqqzzzy'], text: 'qqqzzzx qqqzzzy' }], (q) => search({ match: { gloss: { query: q.text, operator: 'and' } } }), 2000);
rows.push(['AND of two absent terms', us(median(absentAnd))]);
const st = { docCount: field.docCount, sum: field.sumTotalTermFreq };
{
  const t = now();
  let s = 0;
  for (let i = 0; i < 20000; i++) s += new Bm25TermScorer(1, 1 + (i % 1000), st.docCount, st.sum).weight;
  rows.push(['new Bm25TermScorer() (idf; the length factors are shared per avgdl)', us((now() - t) / 20000)]);
  if (s < 0) console.log(s);
}
const STRATA = ['df [1,10)', 'df [10,100)', 'df [100,1000)', 'df ≥ 1000'];
for (let s = 0; s < 4; s++) {
  const qs = queries.single.filter((_, i) => i % 4 === s);
  const t = timeEach(qs, (q) => search({ match: { gloss: { query: q.text, operator: 'or' } } }));
  const dfs = qs.map((q) => field.terms.get(q.terms[0]!)?.df ?? 0);
  rows.push([`single term, ${STRATA[s]} (median df ${fmtRate(median(dfs))})`, us(median(t))]);
}
console.log(`\nQuery anatomy (p50 over the bench's queries, 3 rounds after a 1 s warm-up)\n`);
console.log(table(['what', 'p50'], rows));

// Reference conjunction: what an AND over these postings costs when it only visits candidates of
// the rarest term and skips ahead (galloping) in the others, with the engine's own advance().
function referenceAnd(q: BenchQuery): { total: number; top: { doc: number; score: number }[] } {
  const terms = [...new Set(q.terms)];
  const ps: PostingsView[] = [];
  for (const t of terms) {
    const p = field.terms.get(t);
    if (!p) return { total: 0, top: [] };
    ps.push(postingsOf(field, p));
  }
  const scorers = terms.map((t, i) => new Bm25TermScorer(1, ps[i]!.docs.length, st.docCount, st.sum));
  const order = ps.map((_, i) => i).sort((a, b) => ps[a]!.docs.length - ps[b]!.docs.length);
  const cur = new Int32Array(ps.length);
  const norms = field.norms!;
  const top: { doc: number; score: number }[] = [];
  let total = 0;
  const lead = ps[order[0]!]!.docs;
  outer: for (let i = 0; i < lead.length; i++) {
    const doc = lead[i]!;
    for (let k = 1; k < order.length; k++) {
      const j = order[k]!;
      const c = advance(ps[j]!.docs, cur[j]!, doc);
      cur[j] = c;
      if (c >= ps[j]!.docs.length) break outer;
      if (ps[j]!.docs[c] !== doc) continue outer;
    }
    cur[order[0]!] = i;
    if (!segment.isLive(doc)) continue;
    total++;
    let score = 0;
    for (let j = 0; j < ps.length; j++) score += scorers[j]!.score(ps[j]!.freqs[cur[j]!]!, norms[doc]!);
    if (top.length < 10) {
      top.push({ doc, score });
      top.sort((a, b) => b.score - a.score || a.doc - b.doc);
    } else if (score > top[9]!.score) {
      top[9] = { doc, score };
      top.sort((a, b) => b.score - a.score || a.doc - b.doc);
    }
  }
  return { total, top };
}

let same = 0;
for (const q of queries.and) {
  const ref = referenceAnd(q).top.map((h) => segment.id(h.doc)).join(',');
  const got = search({ match: { gloss: { query: q.text, operator: 'and' } } }).hits.hits.map((h) => h._id).join(',');
  if (ref === got) same++;
}
const shoalAnd = timeEach(queries.and, (q) => search({ match: { gloss: { query: q.text, operator: 'and' } } }));
const refAnd = timeEach(queries.and, referenceAnd);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const p99 = (xs: number[]) => sorted(xs)[Math.ceil(0.99 * xs.length) - 1]!;
console.log(`\nAND queries (${queries.and.length}): Shoal vs a reference conjunction over Shoal's own postings and BM25 (same top 10 for ${same}/${queries.and.length})\n`);
console.log(
  table(
    ['', 'p50', 'p99'],
    [
      ['Shoal match operator and', us(median(shoalAnd)), us(p99(shoalAnd))],
      ['reference leapfrog conjunction + top-10', us(median(refAnd)), us(p99(refAnd))],
    ],
  ),
);
