/**
 * The phrase suggester's language model (phrase-suggest.ts): n-gram counts read from one field's
 * term dictionary, as Elasticsearch's WordScorer reads them. A word's count is its total term
 * frequency; bigrams and trigrams are the field's shingles ("nobel prize", joined by the
 * separator), so they have counts only when the field is analysed with a `shingle` filter. The
 * vocabulary size is the field's total term count (sumTotalTermFreq), and `numTerms` its number
 * of distinct terms. Deleted docs count until a merge drops them, as in Lucene.
 */
import type { Segment } from './segment.ts';

export type Smoothing =
  | { kind: 'stupid_backoff'; discount: number }
  | { kind: 'laplace'; alpha: number }
  | { kind: 'linear_interpolation'; trigramLambda: number; bigramLambda: number; unigramLambda: number };

export class NgramModel {
  private readonly counts = new Map<string, number>();
  private readonly vocabulary: number;
  private readonly numTerms: number;

  constructor(
    private readonly field: string,
    private readonly segments: readonly Segment[],
    private readonly separator: string,
    private readonly smoothing: Smoothing,
  ) {
    let vocabulary = 0;
    for (const seg of segments) vocabulary += seg.field(field)?.sumTotalTermFreq ?? 0;
    this.vocabulary = vocabulary;
    this.numTerms = distinctTerms(field, segments);
  }

  /** Whether the field has any term on this shard (without, there is nothing to score against). */
  get empty(): boolean {
    return this.numTerms === 0;
  }

  /** How often the n-gram of `words` occurs in the field (its total term frequency). */
  count(...words: string[]): number {
    const gram = words.join(this.separator);
    let n = this.counts.get(gram);
    if (n === undefined) {
      n = 0;
      for (const seg of this.segments) {
        const fi = seg.field(this.field);
        const p = fi?.terms.get(gram);
        if (fi && p) for (let i = p.start; i < p.start + p.df; i++) n += fi.freqs[i]!;
      }
      this.counts.set(gram, n);
    }
    return n;
  }

  /** P(w), smoothed so that an unseen word has a small, non-zero probability. */
  unigram(w: string): number {
    const alpha = this.smoothing.kind === 'laplace' ? this.smoothing.alpha : 1;
    return (alpha + this.count(w)) / (this.vocabulary + alpha * this.numTerms);
  }

  /** P(w | w1). */
  bigram(w: string, w1: string): number {
    const s = this.smoothing;
    const pair = this.count(w1, w);
    switch (s.kind) {
      case 'stupid_backoff':
        return pair > 0 ? pair / this.count(w1) : s.discount * this.unigram(w);
      case 'laplace':
        return (s.alpha + pair) / (this.count(w1) + s.alpha * this.numTerms);
      case 'linear_interpolation':
        return s.bigramLambda * ratio(pair, this.count(w1)) + s.unigramLambda * this.unigram(w);
    }
  }

  /** P(w | w2 w1). */
  trigram(w: string, w1: string, w2: string): number {
    const s = this.smoothing;
    const triple = this.count(w2, w1, w);
    switch (s.kind) {
      case 'stupid_backoff':
        return triple > 0 ? triple / this.count(w2, w1) : s.discount * this.bigram(w, w1);
      case 'laplace':
        return (s.alpha + triple) / (this.count(w2, w1) + s.alpha * this.numTerms);
      case 'linear_interpolation':
        return s.trigramLambda * ratio(triple, this.count(w2, w1)) + this.bigram(w, w1);
    }
  }

  /** P(words[at] | up to gramSize − 1 words before it). */
  probability(words: readonly string[], at: number, gramSize: number): number {
    if (at === 0 || gramSize === 1) return this.unigram(words[at]!);
    if (at === 1 || gramSize === 2) return this.bigram(words[at]!, words[at - 1]!);
    return this.trigram(words[at]!, words[at - 1]!, words[at - 2]!);
  }
}

function ratio(count: number, of: number): number {
  return count > 0 && of > 0 ? count / of : 0;
}

/**
 * Distinct-term counts of recent segment sets, by their first dictionary: a shard's segments
 * change only at a refresh or merge, and counting walks every term (some 10 ms for 20k docs of
 * shingles). A few sets per first dictionary, so that dead segments are not held for long.
 */
const distinctCache = new WeakMap<readonly string[], { rest: (readonly string[])[]; n: number }[]>();
const DISTINCT_CACHE_SETS = 4;

/** The number of distinct terms of a field over a shard's segments. */
function distinctTerms(field: string, segments: readonly Segment[]): number {
  const dictionaries = segments.map((seg) => seg.field(field)?.sortedTerms).filter((d) => d !== undefined);
  const [first, ...rest] = dictionaries;
  if (!first) return 0;
  if (rest.length === 0) return first.length;
  let sets = distinctCache.get(first);
  const hit = sets?.find((s) => s.rest.length === rest.length && s.rest.every((d, i) => d === rest[i]));
  if (hit) return hit.n;
  const all = new Set<string>();
  for (const d of dictionaries) for (const t of d) all.add(t);
  if (!sets) distinctCache.set(first, (sets = []));
  sets.push({ rest, n: all.size });
  if (sets.length > DISTINCT_CACHE_SETS) sets.shift();
  return all.size;
}

/** Each segment's answer to gramSizeOf, kept: a segment's dictionary never changes. */
const wordsPerTerm = new WeakMap<readonly string[], number>();

/**
 * The n-gram order a field's dictionary holds: 3 when some term is three words joined by the
 * separator (a shingle filter's trigrams), 2 for two, else 1. Elasticsearch reads the shingle
 * filter's max_shingle_size from the analyzer; the terms say the same, and its scorer stops at
 * trigrams either way.
 */
export function gramSizeOf(field: string, segments: readonly Segment[], separator: string): number {
  if (separator === '') return 1;
  let most = 1;
  for (const seg of segments) {
    const sorted = seg.field(field)?.sortedTerms;
    if (!sorted) continue;
    let n = wordsPerTerm.get(sorted);
    if (n === undefined) {
      n = 1;
      for (const t of sorted) {
        const words = t.split(separator).length;
        if (words > n && (n = Math.min(words, 3)) === 3) break;
      }
      wordsPerTerm.set(sorted, n);
    }
    most = Math.max(most, n);
  }
  return most;
}
