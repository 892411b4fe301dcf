/**
 * N-grams, as Elasticsearch's `ngram` / `edge_ngram` tokenizers and token filters make them.
 * Grams are counted in code points (a surrogate pair is one character), offsets in UTF-16 units.
 *
 * - The tokenizers cut the text into runs of `token_chars` (the whole text when none are given)
 *   and emit each run's grams as tokens of their own, at consecutive positions, each with its own
 *   offsets: "Quick" → Q, Qu, u, ui, … (ngram) or Q, Qu (edge_ngram).
 * - The filters replace each token by its grams, stacked at the token's position with the token's
 *   offsets (as Lucene's since 4.4); a token shorter than min_gram is dropped unless
 *   preserve_original keeps it.
 */
import type { Token } from '../types.ts';
import type { Tokenizer } from './tokenizers.ts';
import type { TokenFilter } from './filters.ts';
import { CHAR_CLASS_NAMES, CharSet } from './char-classes.ts';
import { boolSetting, illegal, intSetting, stringListSetting, type AnalysisLimits } from './settings.ts';

/** UTF-16 offsets of each code point of text[from, to), plus `to`. */
function codePointStarts(text: string, from: number, to: number): number[] {
  const starts: number[] = [];
  for (let i = from; i < to; ) {
    starts.push(i);
    i += (text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 && i + 1 < to ? 2 : 1;
  }
  starts.push(to);
  return starts;
}

/** Runs [start, end) of code points in `chars` (the whole text when chars is null). */
function runsOf(text: string, chars: CharSet | null): Array<[number, number]> {
  if (chars === null) return text.length > 0 ? [[0, text.length]] : [];
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (chars.has(cp)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      runs.push([start, i]);
      start = -1;
    }
    i += w;
  }
  if (start >= 0) runs.push([start, text.length]);
  return runs;
}

/** Every gram of length min..max of every run, ordered by start then length (Lucene's order). */
export function ngramTokenize(text: string, minGram: number, maxGram: number, chars: CharSet | null): Token[] {
  const out: Token[] = [];
  let position = 0;
  for (const [from, to] of runsOf(text, chars)) {
    const starts = codePointStarts(text, from, to);
    const count = starts.length - 1;
    for (let s = 0; s < count; s++) {
      for (let len = minGram; len <= maxGram && s + len <= count; len++) {
        const a = starts[s]!;
        const b = starts[s + len]!;
        out.push({ term: text.slice(a, b), position: position++, startOffset: a, endOffset: b });
      }
    }
  }
  return out;
}

/** The prefixes of length min..max of every run. */
export function edgeNgramTokenize(text: string, minGram: number, maxGram: number, chars: CharSet | null): Token[] {
  const out: Token[] = [];
  let position = 0;
  for (const [from, to] of runsOf(text, chars)) {
    const starts = codePointStarts(text, from, to);
    const count = starts.length - 1;
    for (let len = minGram; len <= maxGram && len <= count; len++) {
      out.push({ term: text.slice(from, starts[len]!), position: position++, startOffset: from, endOffset: starts[len]! });
    }
  }
  return out;
}

/** The ngram filter: each token's grams at its position; originals outside [min, max] kept if asked. */
export function ngramFilter(minGram: number, maxGram: number, preserveOriginal: boolean, edge: boolean): TokenFilter {
  return (tokens) => {
    const out: Token[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const term = t.term;
      const starts = codePointStarts(term, 0, term.length);
      const count = starts.length - 1;
      const lastStart = edge ? 0 : count - 1;
      for (let s = 0; s <= lastStart; s++) {
        for (let len = minGram; len <= maxGram && s + len <= count; len++) {
          out.push({ term: term.slice(starts[s]!, starts[s + len]!), position: t.position, startOffset: t.startOffset, endOffset: t.endOffset });
        }
      }
      if (preserveOriginal && (count < minGram || count > maxGram)) out.push(t);
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// definitions

/** `token_chars` (and `custom_token_chars`) as a set of code points; null when not given (all). */
export function tokenCharsSetting(def: Record<string, unknown>, label: string): CharSet | null {
  const names = stringListSetting(def, 'token_chars', label);
  const custom = def.custom_token_chars;
  if (custom !== undefined && typeof custom !== 'string') throw illegal(`[custom_token_chars] of ${label} must be a string`);
  if (names === undefined || names.length === 0) {
    if (custom !== undefined) throw illegal(`[custom_token_chars] of ${label} needs [token_chars] to include [custom]`);
    return null;
  }
  let classes = 0;
  let extra = new Set<number>();
  for (const name of names) {
    if (name === 'custom') {
      if (custom === undefined || custom === '') throw illegal(`token type [custom] of ${label} requires [custom_token_chars] to be set`);
      extra = new Set([...custom].map((c) => c.codePointAt(0)!));
      continue;
    }
    const bit = Object.hasOwn(CHAR_CLASS_NAMES, name) ? CHAR_CLASS_NAMES[name] : undefined;
    if (bit === undefined) throw illegal(`unknown token type [${name}] in [token_chars] of ${label}, must be one of [letter, digit, whitespace, punctuation, symbol, custom]`);
    classes |= bit;
  }
  if (custom !== undefined && !names.includes('custom')) throw illegal(`[custom_token_chars] of ${label} needs [token_chars] to include [custom]`);
  return new CharSet(classes, extra);
}

/** min_gram / max_gram (defaults 1 and 2), checked as Lucene and ES check them. */
export function gramSizes(def: Record<string, unknown>, label: string, edge: boolean, what: string, limits: AnalysisLimits): [number, number] {
  const min = intSetting(def, 'min_gram', 1, label);
  const max = intSetting(def, 'max_gram', 2, label);
  if (min < 1) throw illegal(`[min_gram] of ${label} must be greater than zero, got [${min}]`);
  if (min > max) throw illegal(`[min_gram] of ${label} must not be greater than [max_gram], got [${min}] > [${max}]`);
  if (!edge && max - min > limits.maxNgramDiff) {
    throw illegal(
      `The difference between max_gram and min_gram in ${what} [${label}] must be less than or equal to: [${limits.maxNgramDiff}] but was [${max - min}]. This limit can be set by changing the [index.max_ngram_diff] index level setting.`,
    );
  }
  return [min, max];
}

export function ngramTokenizerFrom(def: Record<string, unknown>, label: string, edge: boolean, limits: AnalysisLimits): Tokenizer {
  const [min, max] = gramSizes(def, label, edge, 'NGram Tokenizer', limits);
  const chars = tokenCharsSetting(def, label);
  return edge ? (text) => edgeNgramTokenize(text, min, max, chars) : (text) => ngramTokenize(text, min, max, chars);
}

export function ngramFilterFrom(def: Record<string, unknown>, label: string, edge: boolean, limits: AnalysisLimits): TokenFilter {
  const [min, max] = gramSizes(def, label, edge, 'NGram Token Filter', limits);
  return ngramFilter(min, max, boolSetting(def, 'preserve_original', false, label), edge);
}
