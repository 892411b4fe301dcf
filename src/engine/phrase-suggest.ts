/**
 * The phrase suggester (did-you-mean for a whole phrase), as Elasticsearch's: a noisy-channel
 * spell checker. The text is analysed into words (one per position: a shingle analyzer's
 * shingles are left out); each word's candidates are itself and the corrections its direct
 * generators find (suggest.ts spellCandidates, the term suggester's search). A phrase of
 * candidates scores the product over its words of channel × P(word | the words before it): the
 * channel is `real_word_error_likelihood` for a word kept as typed and the edit-distance score
 * (`1 − edits / min(lengths)`) for a correction; P is the field's n-gram model (phrase-lm.ts).
 * As in Elasticsearch, the score is exp(Σ log10(channel × P)), a monotone function of the product.
 * At most `max_errors` words change; phrases scoring at or below `confidence` × the typed
 * phrase's score are dropped. The best `shard_size` phrases are found exactly by dynamic
 * programming over the words: a phrase's remaining score depends only on its last
 * gram_size − 1 words and its number of changes, so the best few per such state suffice.
 */
import { NgramModel, gramSizeOf } from './phrase-lm.ts';
import type { DirectGenerator, PhraseCollate, PhraseSuggestSpec } from './phrase-suggest-params.ts';
import { renderSearchBody } from './search-template.ts';
import type { ShardStats } from './query.ts';
import type { Segment } from './segment.ts';
import { rankOptions, spellCandidates } from './suggest.ts';
import type { Analyzer } from './types.ts';

export interface PhraseOption {
  text: string;
  highlighted?: string;
  score: number;
  /** With `collate` and `prune`: whether the collate query matched a doc. */
  collate_match?: boolean;
}

export interface PhraseEntry {
  text: string;
  offset: number;
  length: number;
  options: PhraseOption[];
  /**
   * A shard's answer only: the score an option had to beat on it. The coordinating node drops
   * merged options that do not beat the highest one, as Elasticsearch's reduce does, and leaves
   * it out of the response.
   */
  cutoffScore?: number;
}

/** One word of the text and its candidates: the word itself first, then its corrections. */
interface Candidate {
  term: string;
  /** The noisy channel's probability that the typed word stands for this one. */
  channel: number;
}

/** A partial phrase: the candidate chosen at each word so far, its log score, its number of changes. */
interface Path {
  choices: number[];
  log: number;
  errors: number;
}

/** The scorer's highest n-gram order. */
const MAX_GRAM = 3;

/** One shard's phrase suggestions: one entry for the whole text. */
export function suggestPhrase(spec: PhraseSuggestSpec, segments: readonly Segment[], stats: ShardStats, analyzerFor: (field: string, name?: string) => Analyzer): PhraseEntry[] {
  const entry: PhraseEntry = { text: spec.text, offset: 0, length: spec.text.length, options: [], cutoffScore: Number.MIN_VALUE };
  const model = new NgramModel(spec.field, segments, spec.separator, spec.smoothing);
  const words = unigrams(analyzerFor(spec.field, spec.analyzer).analyze(spec.text));
  if (model.empty || words.length === 0 || words.length > spec.tokenLimit) return [entry];

  const sets = words.map((w) => candidatesOf(w, spec, segments, stats, analyzerFor));
  const gramSize = Math.min(spec.gramSize ?? gramSizeOf(spec.field, segments, spec.separator), MAX_GRAM);
  const maxErrors = Math.max(1, spec.maxErrors >= 1 ? Math.floor(spec.maxErrors) : Math.round(spec.maxErrors * words.length));
  const step = (terms: string[], at: number, c: Candidate) => Math.log10(c.channel * model.probability(terms, at, gramSize));

  // The typed phrase's score, summed in the order the search sums a path's.
  let inputLog = 0;
  for (let i = 0; i < words.length; i++) inputLog += step(words, i, sets[i]![0]!);
  const cutoff = spec.confidence > 0 ? Math.exp(inputLog) * spec.confidence : Number.MIN_VALUE;
  entry.cutoffScore = cutoff;

  const termsOf = (choices: number[]) => choices.map((c, i) => sets[i]![c]!.term);
  const context = gramSize - 1;
  let frontier: Path[] = [{ choices: [], log: 0, errors: 0 }];
  for (let i = 0; i < words.length; i++) {
    const states = new Map<string, Path[]>();
    for (const p of frontier) {
      for (let c = 0; c < sets[i]!.length; c++) {
        const errors = p.errors + (c > 0 ? 1 : 0);
        if (errors > maxErrors) continue;
        const choices = [...p.choices, c];
        const log = p.log + step(termsOf(choices), i, sets[i]![c]!);
        const key = `${choices.slice(Math.max(0, choices.length - context)).join(',')}|${errors}`;
        let bucket = states.get(key);
        if (!bucket) states.set(key, (bucket = []));
        bucket.push({ choices, log, errors });
      }
    }
    frontier = [];
    for (const bucket of states.values()) frontier.push(...bucket.sort((a, b) => b.log - a.log || compareTerms(termsOf(a.choices), termsOf(b.choices))).slice(0, spec.shardSize));
  }

  const seen = new Set<string>();
  for (const p of frontier.sort((a, b) => b.log - a.log || compareTerms(termsOf(a.choices), termsOf(b.choices)))) {
    const score = Math.exp(p.log);
    if (!(score > cutoff)) break;
    const terms = termsOf(p.choices);
    const text = terms.join(' ');
    if (seen.has(text)) continue;
    seen.add(text);
    entry.options.push(spec.highlight ? { text, highlighted: highlight(terms, p.choices, spec.highlight), score } : { text, score });
    if (entry.options.length === spec.shardSize) break;
  }
  return [entry];
}

/** The words of the analysed text: the first token at each position (a shingle analyzer puts the word before its shingles). */
function unigrams(tokens: { term: string; position: number }[]): string[] {
  const words: string[] = [];
  let last = -1;
  for (const t of tokens) {
    if (t.position === last) continue;
    words.push(t.term);
    last = t.position;
  }
  return words;
}

/** A word's candidates: itself (channel real_word_error_likelihood), then the generators' corrections, best first. */
function candidatesOf(word: string, spec: PhraseSuggestSpec, segments: readonly Segment[], stats: ShardStats, analyzerFor: (field: string, name?: string) => Analyzer): Candidate[] {
  const corrections = new Map<string, { channel: number; freq: number }>();
  for (const g of spec.generators) {
    for (const { term, channel, freq } of generate(word, g, segments, stats, analyzerFor)) {
      const kept = corrections.get(term);
      if (term !== word && (!kept || channel > kept.channel)) corrections.set(term, { channel, freq });
    }
  }
  // Several generators' candidates: the best shard_size by channel and frequency, as Elasticsearch keeps them.
  const ranked = [...corrections]
    .sort(([ta, a], [tb, b]) => b.channel * (b.freq + 1) - a.channel * (a.freq + 1) || (ta < tb ? -1 : ta > tb ? 1 : 0))
    .slice(0, Math.max(spec.shardSize, ...spec.generators.map((g) => g.size)));
  // A correction whose edit score is 1 is no misspelling: it gets the real word's channel, as in Elasticsearch.
  return [{ term: word, channel: spec.realWordErrorLikelihood }, ...ranked.map(([term, c]) => ({ term, channel: c.channel === 1 ? spec.realWordErrorLikelihood : c.channel }))];
}

/** One generator's corrections of a word: through its pre_filter, the dictionary search, its post_filter. */
function generate(word: string, g: DirectGenerator, segments: readonly Segment[], stats: ShardStats, analyzerFor: (field: string, name?: string) => Analyzer): { term: string; channel: number; freq: number }[] {
  const sought = g.preFilter === undefined ? word : (analyzerFor(g.field, g.preFilter).analyze(word).at(-1)?.term ?? word);
  const found = rankOptions(spellCandidates(sought, g, segments, stats), { sort: 'score', size: g.size });
  if (g.postFilter === undefined) return found.map((o) => ({ term: o.text, channel: o.score, freq: o.freq }));
  const post = analyzerFor(g.field, g.postFilter);
  return found.flatMap((o) => post.analyze(o.text).map((t) => ({ term: t.term, channel: o.score, freq: o.freq })));
}

/** The phrase with each run of changed words between the tags (ES: "<em>xorr</em> the <em>god</em> jewel"). */
function highlight(terms: string[], choices: number[], tags: { preTag: string; postTag: string }): string {
  return terms
    .map((t, i) => {
      if (choices[i] === 0) return t;
      const opens = i === 0 || choices[i - 1] === 0;
      const closes = i === terms.length - 1 || choices[i + 1] === 0;
      return `${opens ? tags.preTag : ''}${t}${closes ? tags.postTag : ''}`;
    })
    .join(' ');
}

function compareTerms(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/**
 * `collate`, on the shard that made the options: each option's query (the template rendered with
 * the params and `suggestion`, the option's text) must match a doc here, or the option goes; with
 * `prune` it stays, marked `collate_match`.
 */
export function collateOptions(entries: PhraseEntry[], collate: PhraseCollate, matches: (query: unknown) => boolean): PhraseEntry[] {
  return entries.map((e) => {
    const options: PhraseOption[] = [];
    for (const o of e.options) {
      const matched = matches(renderSearchBody(collate.source, { ...collate.params, suggestion: o.text }));
      if (collate.prune) options.push({ ...o, collate_match: matched });
      else if (matched) options.push(o);
    }
    return { ...e, options };
  });
}

/**
 * The coordinating node's merge (Elasticsearch's reduce): options by text, the best score
 * kept; those not above the highest shard cutoff dropped; best first (then by text), the first
 * `size`.
 */
export function mergePhraseSuggestions(perShard: PhraseEntry[][], spec: Pick<PhraseSuggestSpec, 'size'>): PhraseEntry[] {
  const first = perShard.find((entries) => entries.length > 0)?.[0];
  if (!first) return [];
  let cutoff = Number.MIN_VALUE;
  const byText = new Map<string, PhraseOption>();
  for (const shard of perShard) {
    const e = shard[0];
    if (!e) continue;
    cutoff = Math.max(cutoff, e.cutoffScore ?? Number.MIN_VALUE);
    for (const o of e.options) {
      const kept = byText.get(o.text);
      // A collate query runs on each shard's own docs: an option matches if it matched on any.
      const collateMatch = kept?.collate_match === true || o.collate_match === true;
      if (!kept || o.score > kept.score) byText.set(o.text, { ...o, ...(o.collate_match !== undefined ? { collate_match: collateMatch } : {}) });
      else if (kept.collate_match !== undefined) kept.collate_match = collateMatch;
    }
  }
  const options = [...byText.values()]
    .filter((o) => o.score > cutoff)
    .sort((a, b) => b.score - a.score || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .slice(0, spec.size);
  return [{ text: first.text, offset: first.offset, length: first.length, options }];
}
