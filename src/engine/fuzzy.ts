/**
 * Fuzzy term expansion, as Lucene's FuzzyQuery does it: the dictionary terms within a number of
 * edits (insertions, deletions, substitutions, and by default transpositions of two adjacent
 * characters) of a term, the first `prefixLength` characters unchanged, at most `maxExpansions`
 * of them (fewest edits first, then in term order).
 */
import { firstTermAtOrAfter } from './segment.ts';
import { EngineError } from './types.ts';

/** Edits a fuzzy term allows: a fixed 0–2, or AUTO:low,high (by term length). */
export type Fuzziness = number | { low: number; high: number };

export interface FuzzyOptions {
  fuzziness: Fuzziness;
  /** Leading characters that must match exactly. */
  prefixLength: number;
  maxExpansions: number;
  /** Count a swap of two adjacent characters as one edit (Lucene's default) rather than two. */
  transpositions: boolean;
}

/** Elasticsearch's defaults for the options a query leaves out. */
export const FUZZY_DEFAULTS: Omit<FuzzyOptions, 'fuzziness'> = { prefixLength: 0, maxExpansions: 50, transpositions: true };

function parsing(reason: string): EngineError {
  return new EngineError('parsing_exception', reason);
}

export function fuzzinessOf(v: unknown): Fuzziness {
  if (v === 0 || v === 1 || v === 2) return v;
  if (typeof v === 'string') {
    const s = v.trim().toUpperCase();
    if (s === '0' || s === '1' || s === '2') return Number(s);
    if (s === 'AUTO') return { low: 3, high: 6 };
    const m = /^AUTO:(\d+),(\d+)$/.exec(s);
    if (m && Number(m[1]) <= Number(m[2])) return { low: Number(m[1]), high: Number(m[2]) };
  }
  throw parsing(`[fuzziness] [${String(v)}] must be 0, 1, 2, "AUTO" or "AUTO:low,high"`);
}

/**
 * The fuzzy options of a query body (`fuzziness` given): `prefix_length`, `max_expansions` and
 * `transpositions` (or, in `match`, `fuzzy_transpositions`).
 */
export function fuzzyOptionsOf(body: Record<string, unknown>, fuzziness: Fuzziness, transpositionsKey: string): FuzzyOptions {
  const prefixLength = body.prefix_length ?? FUZZY_DEFAULTS.prefixLength;
  if (!Number.isInteger(prefixLength) || (prefixLength as number) < 0) throw parsing('[prefix_length] must be a non-negative integer');
  const maxExpansions = body.max_expansions ?? FUZZY_DEFAULTS.maxExpansions;
  if (!Number.isInteger(maxExpansions) || (maxExpansions as number) < 1 || (maxExpansions as number) > 10_000) throw parsing('[max_expansions] must be an integer from 1 to 10000');
  const transpositions = body[transpositionsKey] ?? FUZZY_DEFAULTS.transpositions;
  if (typeof transpositions !== 'boolean') throw parsing(`[${transpositionsKey}] must be a boolean`);
  return { fuzziness, prefixLength: prefixLength as number, maxExpansions: maxExpansions as number, transpositions };
}

/** The edits allowed for a term of this length. */
export function maxEdits(f: Fuzziness, termLength: number): number {
  if (typeof f === 'number') return f;
  return termLength < f.low ? 0 : termLength < f.high ? 1 : 2;
}

/** The terms of a sorted dictionary that a fuzzy `term` matches, in the order they rank. */
export function fuzzyExpansions(sortedTerms: readonly string[], term: string, opts: FuzzyOptions): string[] {
  const max = maxEdits(opts.fuzziness, term.length);
  const prefix = term.slice(0, opts.prefixLength);
  const rest = term.slice(prefix.length);
  const found: { term: string; edits: number }[] = [];
  for (let i = firstTermAtOrAfter(sortedTerms, prefix); i < sortedTerms.length; i++) {
    const t = sortedTerms[i]!;
    if (!t.startsWith(prefix)) break;
    const tail = t.slice(prefix.length);
    if (Math.abs(tail.length - rest.length) > max) continue;
    const edits = editDistance(tail, rest, max, opts.transpositions);
    if (edits <= max) found.push({ term: t, edits });
  }
  found.sort(byEditsThenTerm);
  return found.slice(0, opts.maxExpansions).map(termOf);
}

function byEditsThenTerm(a: { term: string; edits: number }, b: { term: string; edits: number }): number {
  return a.edits - b.edits || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0);
}

function termOf(x: { term: string }): string {
  return x.term;
}

/**
 * Edit distance; with `transpositions`, a swap of adjacent characters is one edit (optimal string
 * alignment), as Lucene's fuzzy queries count by default. Stops early once it exceeds max.
 */
export function editDistance(a: string, b: string, max: number, transpositions = true): number {
  let prevPrev: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (transpositions && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prevPrev[j - 2]! + 1);
      cur[j] = d;
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    prevPrev = prev;
    prev = cur;
  }
  return prev[b.length]!;
}
