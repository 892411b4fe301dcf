/**
 * Deterministic query sets for bench/engine.bench.ts, drawn from the glosses of a corpus.
 *
 * Only "clean" words are used: a whitespace-separated chunk of ASCII letters (at least two),
 * optionally with an opening `(` or `"` before it and closing punctuation after it. Every
 * engine's tokenizer (Shoal's standard tokenizer, MiniSearch, FlexSearch, Orama, Lunr) sees such a
 * word as one token, lowercased, so every engine gets the same terms.
 *
 * - single: one term; the four document-frequency strata [1,10), [10,100), [100,1000),
 *   [1000,∞) take turns, a term is uniform within its stratum (rare words as often as stop words).
 * - or:     2–3 terms, each drawn the same way (a random stratum each).
 * - and:    2–3 distinct terms of one random gloss (so at least that gloss matches).
 * - phrase: 2–3 consecutive clean words of one random gloss, with no punctuation between them.
 */
import { rng } from './corpus.ts';

export const QUERY_CLASSES = ['single', 'or', 'and', 'phrase'] as const;
export type QueryClass = (typeof QUERY_CLASSES)[number];

/** One query: its terms (lowercase), and the same as a space-separated string. */
export interface BenchQuery {
  terms: string[];
  text: string;
}

export type QuerySets = Record<QueryClass, BenchQuery[]>;

/** A chunk: optional opening punctuation, letters, optional closing punctuation. */
const CHUNK = /^([("]?)([A-Za-z]{2,})([)";,.:!?]*)$/;

interface Chunk {
  word: string;
  lead: boolean;
  trail: boolean;
}

function chunks(gloss: string): (Chunk | undefined)[] {
  return gloss.split(/\s+/).map((c) => {
    const m = CHUNK.exec(c);
    return m ? { word: m[2]!.toLowerCase(), lead: m[1] !== '', trail: m[3] !== '' } : undefined;
  });
}

const STRATA = [10, 100, 1000, Infinity];

export function makeQueries(glosses: readonly string[], perClass: number, seed: number): QuerySets {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const parsed = glosses.map(chunks);

  // Document frequency of clean words.
  const df = new Map<string, number>();
  for (const cs of parsed) {
    const seen = new Set<string>();
    for (const c of cs) if (c) seen.add(c.word);
    for (const w of seen) df.set(w, (df.get(w) ?? 0) + 1);
  }
  const strata: string[][] = STRATA.map(() => []);
  for (const [w, n] of [...df].sort((a, b) => (a[0] < b[0] ? -1 : 1))) strata[STRATA.findIndex((hi) => n < hi)]!.push(w);
  const nonEmpty = strata.filter((s) => s.length > 0);
  if (nonEmpty.length === 0) throw new Error('makeQueries: the corpus has no clean words');
  const termOf = (stratum: number) => pick(nonEmpty[stratum % nonEmpty.length]!);
  const q = (terms: string[]): BenchQuery => ({ terms, text: terms.join(' ') });

  const single: BenchQuery[] = [];
  for (let i = 0; i < perClass; i++) single.push(q([termOf(i)]));

  const or: BenchQuery[] = [];
  while (or.length < perClass) {
    const k = 2 + Math.floor(rand() * 2);
    const terms = new Set<string>();
    for (let guard = 0; terms.size < k && guard < 100; guard++) terms.add(termOf(Math.floor(rand() * nonEmpty.length)));
    if (terms.size === k) or.push(q([...terms]));
  }

  const and: BenchQuery[] = [];
  for (let guard = 0; and.length < perClass && guard < perClass * 1000; guard++) {
    const words = [...new Set(pick(parsed).flatMap((c) => (c ? [c.word] : [])))];
    const k = 2 + Math.floor(rand() * 2);
    if (words.length < k) continue;
    const terms: string[] = [];
    while (terms.length < k) {
      const w = words.splice(Math.floor(rand() * words.length), 1)[0]!;
      terms.push(w);
    }
    and.push(q(terms));
  }

  const phrase: BenchQuery[] = [];
  for (let guard = 0; phrase.length < perClass && guard < perClass * 1000; guard++) {
    const cs = pick(parsed);
    const k = 2 + Math.floor(rand() * 2);
    const starts: number[] = [];
    for (let s = 0; s + k <= cs.length; s++) {
      let ok = true;
      for (let j = s; j < s + k && ok; j++) {
        const c = cs[j];
        ok = c !== undefined && (j === s || !c.lead) && (j === s + k - 1 || !c.trail);
      }
      if (ok) starts.push(s);
    }
    if (starts.length === 0) continue;
    const s = pick(starts);
    phrase.push(q(cs.slice(s, s + k).map((c) => c!.word)));
  }
  if (and.length < perClass || phrase.length < perClass) throw new Error('makeQueries: the corpus is too small for the query sets');
  return { single, or, and, phrase };
}

