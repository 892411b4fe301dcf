/**
 * The term suggester (`suggest: { <name>: { text, term: { field, ... } } }`), as Elasticsearch's
 * does it with Lucene's DirectSpellChecker: the text is analysed with the field's search
 * analyzer, and for each token the dictionary's terms within `max_edits` of it (its first
 * `prefix_length` characters kept) are offered, scored `1 − edits / min(token length, term
 * length)`, with their document frequency. `suggest_mode` `missing` (the default) corrects only
 * tokens the index does not have, `popular` offers only terms more frequent than the token,
 * `always` offers any. Across shards the options of one token merge by text: frequencies add up,
 * the best score stays.
 */
import { mergeCompletions, parseCompletionSuggest, type CompletionEntry, type CompletionSuggestSpec } from './completion.ts';
import { editDistance } from './fuzzy.ts';
import { mergePhraseSuggestions, type PhraseEntry } from './phrase-suggest.ts';
import { parsePhraseSuggest, type PhraseSuggestSpec } from './phrase-suggest-params.ts';
import { badSuggestParam, frequency, intIn } from './suggest-params.ts';
import type { ShardStats } from './query.ts';
import { firstTermAtOrAfter, type Segment } from './segment.ts';
import { EngineError, isPlainObject, type Analyzer } from './types.ts';

export interface TermSuggestSpec extends SpellOptions {
  kind: 'term';
  name: string;
  text: string;
  analyzer: string | undefined;
  size: number;
  sort: 'score' | 'frequency';
}

export interface SuggestOption {
  text: string;
  score: number;
  freq: number;
}

export interface SuggestEntry {
  text: string;
  offset: number;
  length: number;
  options: SuggestOption[];
}

const TERM_KEYS = new Set(['field', 'analyzer', 'size', 'suggest_mode', 'sort', 'max_edits', 'prefix_length', 'min_word_length', 'min_doc_freq', 'max_term_freq', 'string_distance']);

const bad: (reason: string) => never = badSuggestParam;

/** A suggester of a search request: the term suggester, the phrase suggester (phrase-suggest.ts), or the completion suggester (completion.ts). */
export type SuggestSpec = TermSuggestSpec | PhraseSuggestSpec | CompletionSuggestSpec;

/** One suggester's answer: term and phrase suggesters' entries, or the completion suggester's. */
export type SuggestResult = SuggestEntry[] | PhraseEntry[] | CompletionEntry[];

/** The `suggest` section of a search request: term, phrase and completion suggesters by name (a global `text` allowed). */
export function parseSuggest(v: unknown): SuggestSpec[] {
  if (!isPlainObject(v)) bad('[suggest] must be an object');
  const globalText = v.text;
  if (globalText !== undefined && typeof globalText !== 'string') bad('[suggest] [text] must be a string');
  const specs: SuggestSpec[] = [];
  for (const name in v) {
    if (name === 'text') continue;
    const s = v[name];
    if (!isPlainObject(s)) bad(`suggestion [${name}] must be an object`);
    if (s.completion !== undefined) {
      specs.push(parseCompletionSuggest(name, s, globalText));
      continue;
    }
    if (s.phrase !== undefined) {
      specs.push(parsePhraseSuggest(name, s, globalText));
      continue;
    }
    for (const k in s) if (k !== 'text' && k !== 'term') bad(`suggestion [${name}] does not support [${k}]`);
    const text = s.text ?? globalText;
    if (typeof text !== 'string') bad(`suggestion [${name}] requires [text]`);
    if (!isPlainObject(s.term)) bad(`suggestion [${name}] requires a [term] suggester`);
    const t = s.term;
    for (const k in t) if (!TERM_KEYS.has(k)) bad(`[term] suggester does not support [${k}]`);
    if (typeof t.field !== 'string' || t.field === '') bad(`suggestion [${name}] requires a [field]`);
    if (t.analyzer !== undefined && typeof t.analyzer !== 'string') bad('[analyzer] must be a name');
    if (t.string_distance !== undefined && t.string_distance !== 'internal') bad('[string_distance]: only [internal] is supported');
    const mode = t.suggest_mode ?? 'missing';
    if (mode !== 'missing' && mode !== 'popular' && mode !== 'always') bad('[suggest_mode] must be missing, popular or always');
    const sort = t.sort ?? 'score';
    if (sort !== 'score' && sort !== 'frequency') bad('[sort] must be score or frequency');
    specs.push({
      kind: 'term',
      name,
      text,
      field: t.field,
      analyzer: t.analyzer as string | undefined,
      size: intIn(t.size, 'size', 5, 1, 10_000),
      mode,
      sort,
      maxEdits: intIn(t.max_edits, 'max_edits', 2, 1, 2),
      prefixLength: intIn(t.prefix_length, 'prefix_length', 1, 0, 1000),
      minWordLength: intIn(t.min_word_length, 'min_word_length', 4, 1, 1000),
      minDocFreq: frequency(t.min_doc_freq, 'min_doc_freq', 0),
      maxTermFreq: frequency(t.max_term_freq, 'max_term_freq', 0.01),
    });
  }
  return specs;
}

/** How a term's corrections are sought: the term suggester's parameters, and a phrase suggester's direct generator's. */
export interface SpellOptions {
  field: string;
  mode: 'missing' | 'popular' | 'always';
  maxEdits: number;
  prefixLength: number;
  minWordLength: number;
  /** Below 1: a fraction of the docs with the field. */
  minDocFreq: number;
  maxTermFreq: number;
  /** The lowest score a correction may have (Lucene's accuracy); undefined: no floor. */
  accuracy?: number;
}

/**
 * The dictionary's corrections of one term (Lucene's DirectSpellChecker): the terms within
 * `maxEdits` that share its first `prefixLength` characters, scored `1 − edits / min(lengths)`,
 * with their document frequency; unordered. None when the term is too short, too frequent, or
 * (mode `missing`) in the index.
 */
export function spellCandidates(term: string, o: SpellOptions, segments: readonly Segment[], stats: ShardStats): SuggestOption[] {
  const docCount = stats.field(o.field).docCount;
  const threshold = (v: number) => (v < 1 ? v * docCount : v);
  const own = stats.docFreq(o.field, term);
  // A fraction rounds up, as in Lucene: with max_term_freq 0.01, a term in 1 of 2 docs is still corrected.
  const maxTermFreq = o.maxTermFreq < 1 ? Math.ceil(o.maxTermFreq * docCount) : o.maxTermFreq;
  if (term.length < o.minWordLength || (o.mode === 'missing' && own > 0) || (own > 0 && own > maxTermFreq)) return [];
  const edits = new Map<string, number>();
  const prefix = term.slice(0, o.prefixLength);
  for (const segment of segments) {
    const fi = segment.field(o.field);
    if (!fi) continue;
    const sorted = fi.sortedTerms;
    for (let i = firstTermAtOrAfter(sorted, prefix); i < sorted.length && sorted[i]!.startsWith(prefix); i++) {
      const t = sorted[i]!;
      if (t === term || edits.has(t) || Math.abs(t.length - term.length) > o.maxEdits) continue;
      const d = editDistance(t, term, o.maxEdits);
      if (d <= o.maxEdits) edits.set(t, d);
    }
  }
  const options: SuggestOption[] = [];
  for (const [text, d] of edits) {
    const freq = stats.docFreq(o.field, text);
    const score = 1 - d / Math.min(term.length, text.length);
    if (freq === 0 || freq < threshold(o.minDocFreq) || (o.mode === 'popular' && freq <= own) || (o.accuracy !== undefined && score < o.accuracy)) continue;
    options.push({ text, score, freq });
  }
  return options;
}

/** One shard's suggestions for one spec. */
export function suggestTerms(spec: TermSuggestSpec, segments: readonly Segment[], stats: ShardStats, analyzer: Analyzer): SuggestEntry[] {
  return analyzer.analyze(spec.text).map((token) => ({
    text: spec.text.slice(token.startOffset, token.endOffset),
    offset: token.startOffset,
    length: token.endOffset - token.startOffset,
    options: rankOptions(spellCandidates(token.term, spec, segments, stats), spec),
  }));
}

/** Best first by the spec's sort, ties by the other key, then by text; the first `size`. */
export function rankOptions(options: SuggestOption[], spec: Pick<TermSuggestSpec, 'sort' | 'size'>): SuggestOption[] {
  const byScore = spec.sort === 'score';
  return options
    .sort((a, b) => (byScore ? b.score - a.score || b.freq - a.freq : b.freq - a.freq || b.score - a.score) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .slice(0, spec.size);
}

/** The coordinating node's merge of shards' suggestions for one spec. */
export function mergeSuggestions(perShard: SuggestResult[], spec: SuggestSpec): SuggestResult {
  switch (spec.kind) {
    case 'completion':
      return mergeCompletions(perShard as CompletionEntry[][], spec);
    case 'phrase':
      return mergePhraseSuggestions(perShard as PhraseEntry[][], spec);
    case 'term':
      return mergeTermSuggestions(perShard as SuggestEntry[][], spec);
  }
}

/** Term suggestions: per token, options by text (frequencies add up, the best score stays). */
function mergeTermSuggestions(perShard: SuggestEntry[][], spec: Pick<TermSuggestSpec, 'sort' | 'size'>): SuggestEntry[] {
  // Every shard analyses the same text the same way: any shard's entries give the tokens.
  const first = perShard.find((entries) => entries.length > 0);
  if (!first) return [];
  return first.map((entry, i) => {
    const byText = new Map<string, SuggestOption>();
    for (const shard of perShard) {
      for (const o of shard[i]?.options ?? []) {
        const kept = byText.get(o.text);
        if (kept) byText.set(o.text, { text: o.text, score: Math.max(kept.score, o.score), freq: kept.freq + o.freq });
        else byText.set(o.text, { ...o });
      }
    }
    return { ...entry, options: rankOptions([...byText.values()], spec) };
  });
}
