/**
 * Token filters in Elasticsearch's shape. A filter maps Token[] → Token[]; filters own their input
 * (they may rewrite terms in place and compact the array) since an analyzer's tokens are freshly
 * made by its tokenizer. Offsets are never changed, except that word_delimiter_graph gives the
 * parts it splits off their own. Besides those here: `ngram`, `edge_ngram` (ngram.ts), `shingle`
 * (shingle.ts), `trim`, `reverse`, `elision`, `keyword_marker`, `pattern_replace`
 * (term-filters.ts), `word_delimiter_graph` and `word_delimiter` (word-delimiter.ts); `synonym`
 * and `synonym_graph` (synonyms.ts) are built by the analyzer that uses them, since their rules
 * are analysed by what comes before them. Removing a token (stop, length, …) leaves a position
 * gap, as Lucene's FilteringTokenFilter does: the next token keeps its position.
 */
import { stemmer } from 'stemmer';
import type { Token } from '../types.ts';
import { EngineError, isPlainObject } from '../types.ts';
import { ngramFilterFrom } from './ngram.ts';
import { DEFAULT_LIMITS, boolSetting, intSetting, type AnalysisLimits } from './settings.ts';
import { shingleFilterFrom } from './shingle.ts';
import { SYNONYM_SETTINGS } from './synonyms.ts';
import { elisionFilterFrom, keywordMarkerFilterFrom, patternReplaceFilterFrom, reverseFilter, trimFilter } from './term-filters.ts';
import { WORD_DELIMITER_SETTINGS, wordDelimiterFilter, wordDelimiterOptions } from './word-delimiter.ts';

export type TokenFilter = (tokens: Token[]) => Token[];

function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

// ---------------------------------------------------------------------------------------------
// lowercase / uppercase

/** Lowercases a term; terms that are already lowercase ASCII are returned as is (no allocation). */
export function lowercase(term: string): string {
  for (let j = 0; j < term.length; j++) {
    const c = term.charCodeAt(j);
    if (c >= 0x41 && (c <= 0x5a || c >= 0x80)) return term.toLowerCase();
  }
  return term;
}

export const lowercaseFilter: TokenFilter = (tokens) => {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    t.term = lowercase(t.term);
  }
  return tokens;
};

export const uppercaseFilter: TokenFilter = (tokens) => {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    t.term = t.term.toUpperCase();
  }
  return tokens;
};

// ---------------------------------------------------------------------------------------------
// asciifolding

/** Letters and symbols that do not decompose to ASCII under NFKD. */
const FOLD_TABLE: Record<string, string> = {
  ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', ǣ: 'ae', Ǣ: 'AE', ǽ: 'ae', Ǽ: 'AE', œ: 'oe', Œ: 'OE',
  ø: 'o', Ø: 'O', ǿ: 'o', Ǿ: 'O', đ: 'd', Đ: 'D', ð: 'd', Ð: 'D', þ: 'th', Þ: 'TH', ł: 'l', Ł: 'L',
  ı: 'i', ȷ: 'j', ĸ: 'q', ŋ: 'n', Ŋ: 'N', ħ: 'h', Ħ: 'H', ŧ: 't', Ŧ: 'T', ƒ: 'f', Ƒ: 'F',
  ƀ: 'b', Ƀ: 'B', ƈ: 'c', Ƈ: 'C', ɗ: 'd', Ɗ: 'D', ɛ: 'e', Ɛ: 'E', ǝ: 'e', Ǝ: 'E', ɨ: 'i', Ɨ: 'I',
  ƙ: 'k', Ƙ: 'K', ɲ: 'n', Ɲ: 'N', ɵ: 'o', Ɵ: 'O', ƶ: 'z', Ƶ: 'Z', ȥ: 'z', Ȥ: 'Z', ʉ: 'u', Ʉ: 'U',
  ɍ: 'r', Ɍ: 'R', ƚ: 'l', Ƚ: 'L', ɇ: 'e', Ɇ: 'E', ȼ: 'c', Ȼ: 'C', ɉ: 'j', Ɉ: 'J', ʒ: 'z', Ʒ: 'Z',
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '\u2039': "'",
  '\u203a': "'", '\u02bc': "'", '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"',
  '\u2033': '"', '\u00ab': '"', '\u00bb': '"', '\u2010': '-', '\u2011': '-', '\u2012': '-',
  '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2044': '/', '\u00bd': '1/2', '\u00bc': '1/4',
  '\u00be': '3/4', '\u00a1': '!', '\u00bf': '?',
};

const MARK_SENTINEL = Symbol('mark');
const FOLD_KEEP = 1;
const FOLD_REPLACE = 2;
const FOLD_MARK = 3;
const RE_MARK = /^\p{M}$/u;
const RE_MARKS = /\p{M}/gu;
const RE_PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** Per BMP code unit: 0 = not computed yet, else FOLD_KEEP / FOLD_REPLACE / FOLD_MARK. */
const FOLD_KIND = new Uint8Array(0x10000);
const FOLD_TO: (string | undefined)[] = [];
const ASTRAL_FOLD = new Map<number, string | null>();

function computeFold(cp: number): string | null | typeof MARK_SENTINEL {
  const s = String.fromCodePoint(cp);
  if (RE_MARK.test(s)) return MARK_SENTINEL;
  const t = FOLD_TABLE[s];
  if (t !== undefined) return t;
  const d = s.normalize('NFKD').replace(RE_MARKS, '');
  return d !== s && RE_PRINTABLE_ASCII.test(d) ? d : null;
}

/**
 * Folds letters, digits and symbols to their ASCII equivalents where one exists (Lucene's
 * ASCIIFoldingFilter, approximated by NFKD + removing combining marks + a table for letters that
 * do not decompose: ß→ss, æ→ae, ø→o, ł→l, þ→th, …). Characters without an ASCII equivalent
 * (Cyrillic, CJK, …) are kept. A separate combining mark is dropped after an ASCII letter (so NFD
 * input folds like NFC input) and kept otherwise ("и" + U+0306 stays "й").
 */
export function foldToAscii(term: string): string {
  const n = term.length;
  let i = 0;
  while (i < n && term.charCodeAt(i) < 0x80) i++;
  if (i === n) return term;
  let out = term.slice(0, i);
  let prevAscii = i > 0;
  while (i < n) {
    const c = term.charCodeAt(i);
    if (c < 0x80) {
      out += term[i];
      prevAscii = true;
      i++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && (term.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      const cp = term.codePointAt(i)!;
      let f = ASTRAL_FOLD.get(cp);
      if (f === undefined) {
        const r = computeFold(cp);
        f = r === MARK_SENTINEL ? (prevAscii ? '' : null) : r;
        if (r !== MARK_SENTINEL) ASTRAL_FOLD.set(cp, f);
      }
      if (f === null) {
        out += term.slice(i, i + 2);
        prevAscii = false;
      } else {
        out += f;
        prevAscii = true;
      }
      i += 2;
      continue;
    }
    let kind = FOLD_KIND[c]!;
    if (kind === 0) {
      const r = computeFold(c);
      if (r === MARK_SENTINEL) kind = FOLD_MARK;
      else if (r === null) kind = FOLD_KEEP;
      else {
        kind = FOLD_REPLACE;
        FOLD_TO[c] = r;
      }
      FOLD_KIND[c] = kind;
    }
    if (kind === FOLD_REPLACE) {
      out += FOLD_TO[c]!;
      prevAscii = true;
    } else if (kind === FOLD_MARK) {
      if (!prevAscii) out += term[i];
    } else {
      out += term[i];
      prevAscii = false;
    }
    i++;
  }
  return out;
}

export function asciiFoldingFilter(preserveOriginal = false): TokenFilter {
  if (!preserveOriginal) {
    return (tokens) => {
      for (let i = 0; i < tokens.length; i++) {
        const t = tokens[i]!;
        t.term = foldToAscii(t.term);
      }
      return tokens;
    };
  }
  // preserve_original: the folded token is added after the original, at the same position.
  return (tokens) => {
    let out: Token[] | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const folded = foldToAscii(t.term);
      if (folded !== t.term) {
        out ??= tokens.slice(0, i);
        out.push(t, { term: folded, position: t.position, startOffset: t.startOffset, endOffset: t.endOffset });
      } else if (out) out.push(t);
    }
    return out ?? tokens;
  };
}

// ---------------------------------------------------------------------------------------------
// stop

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, Elasticsearch's `_english_`. */
export const ENGLISH_STOP_WORDS: readonly string[] = Object.freeze([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it',
  'no', 'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they',
  'this', 'to', 'was', 'will', 'with',
]);

const NAMED_STOP_WORDS: Record<string, readonly string[]> = {
  _english_: ENGLISH_STOP_WORDS,
  _none_: [],
};

/**
 * Resolves an ES `stopwords` value: a named list (`_english_`, `_none_`), a comma-separated
 * string, or an array of words in which named lists are expanded.
 */
export function resolveStopwords(spec: unknown, fallback: readonly string[] = ENGLISH_STOP_WORDS): string[] {
  if (spec === undefined || spec === null) return [...fallback];
  const items = typeof spec === 'string' ? spec.split(',').map((s) => s.trim()).filter((s) => s !== '') : spec;
  if (!Array.isArray(items)) throw illegal(`[stopwords] must be a string or an array of strings`);
  const words: string[] = [];
  for (const w of items) {
    if (typeof w !== 'string') throw illegal(`[stopwords] must be a string or an array of strings`);
    const named = Object.hasOwn(NAMED_STOP_WORDS, w) ? NAMED_STOP_WORDS[w] : undefined;
    if (named) words.push(...named);
    else if (/^_[a-z]+_$/.test(w)) throw illegal(`unsupported stop word list [${w}]; supported: _english_, _none_`);
    else words.push(w);
  }
  return words;
}

/** Removes stop words; the following tokens keep their positions (a gap is left). */
export function stopFilter(words: Iterable<string> = ENGLISH_STOP_WORDS, ignoreCase = false): TokenFilter {
  const set = new Set<string>();
  for (const w of words) set.add(ignoreCase ? w.toLowerCase() : w);
  if (set.size === 0) return (tokens) => tokens;
  // Most terms are longer than any stop word: skip hashing them.
  let maxLen = 0;
  for (const w of set) maxLen = Math.max(maxLen, w.length);
  if (ignoreCase) maxLen *= 3; // case mapping may change the length (e.g. "İ" → "i̇")
  return (tokens) => {
    let w = 0;
    for (let r = 0; r < tokens.length; r++) {
      const t = tokens[r]!;
      const term = t.term;
      if (term.length > maxLen || !set.has(ignoreCase ? term.toLowerCase() : term)) tokens[w++] = t;
    }
    tokens.length = w;
    return tokens;
  };
}

// ---------------------------------------------------------------------------------------------
// stemming

/**
 * Two-generation cache of Porter stems: the stemmer is regex-heavy, while real text repeats a
 * small vocabulary (Zipf), so nearly every lookup hits. Bounded at ~2 × STEM_CACHE_SIZE entries.
 */
const STEM_CACHE_SIZE = 50_000;
let stemCache = new Map<string, string>();
let stemCacheOld = new Map<string, string>();

function computePorterStem(term: string): string {
  if (term.length < 3) return term;
  const lower = term.toLowerCase();
  const stem = stemmer(lower);
  if (lower === term || lower.length !== term.length) return stem;
  // The stemmer lowercases; like Lucene's (which never changes case), keep the original case of
  // the surviving prefix.
  let out = '';
  for (let i = 0; i < stem.length; i++) out += i < term.length && stem[i] === lower[i] ? term[i] : stem[i];
  return out;
}

/** English Porter stem (Lucene's PorterStemFilter; ES `porter_stem`, `stemmer` language english). */
export function porterStem(term: string): string {
  let s = stemCache.get(term);
  if (s !== undefined) return s;
  s = stemCacheOld.get(term);
  if (s === undefined) s = computePorterStem(term);
  if (stemCache.size >= STEM_CACHE_SIZE) {
    stemCacheOld = stemCache;
    stemCache = new Map();
  }
  stemCache.set(term, s);
  return s;
}

/** Stems each token, except tokens marked by keyword_marker and the `exclusions`. */
export function porterStemFilter(exclusions?: Iterable<string>): TokenFilter {
  const excluded = exclusions ? new Set(exclusions) : null;
  return (tokens) => {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.keyword !== true && (excluded === null || !excluded.has(t.term))) t.term = porterStem(t.term);
    }
    return tokens;
  };
}

/** Removes a trailing possessive 's / ’s (Lucene's EnglishPossessiveFilter). */
export function stripPossessive(term: string): string {
  const n = term.length;
  if (n < 2) return term;
  const s = term.charCodeAt(n - 1);
  if (s !== 0x73 && s !== 0x53) return term;
  const q = term.charCodeAt(n - 2);
  return q === 0x27 || q === 0x2019 || q === 0xff07 ? term.slice(0, n - 2) : term;
}

export const possessiveEnglishFilter: TokenFilter = (tokens) => {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    t.term = stripPossessive(t.term);
  }
  return tokens;
};

/** Lucene's EnglishMinimalStemmer (plural "s" removal only): "queries" → "query", "cats" → "cat". */
export function minimalEnglishStem(term: string): string {
  const n = term.length;
  if (n < 3 || term[n - 1] !== 's') return term;
  switch (term[n - 2]) {
    case 'u':
    case 's':
      return term;
    case 'e':
      if (n > 3 && term[n - 3] === 'i' && term[n - 4] !== 'a' && term[n - 4] !== 'e') {
        return term.slice(0, n - 3) + 'y';
      }
      if (term[n - 3] === 'i' || term[n - 3] === 'a' || term[n - 3] === 'o' || term[n - 3] === 'e') return term;
      return term.slice(0, n - 1);
    default:
      return term.slice(0, n - 1);
  }
}

export const minimalEnglishFilter: TokenFilter = (tokens) => {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.keyword !== true) t.term = minimalEnglishStem(t.term);
  }
  return tokens;
};

/** ES `stemmer` filter languages supported here. */
export const STEMMER_LANGUAGES: readonly string[] = ['english', 'porter', 'possessive_english', 'minimal_english'];

export function stemmerFilter(language = 'english'): TokenFilter {
  switch (language) {
    case 'english':
    case 'porter':
      return porterStemFilter();
    case 'possessive_english':
      return possessiveEnglishFilter;
    case 'minimal_english':
      return minimalEnglishFilter;
    default:
      throw illegal(`unsupported stemmer language [${language}]; supported: ${STEMMER_LANGUAGES.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// length, unique, truncate

/** Keeps tokens whose length (UTF-16 units) is in [min, max]; removed tokens leave gaps. */
export function lengthFilter(min = 0, max = 2147483647): TokenFilter {
  return (tokens) => {
    let w = 0;
    for (let r = 0; r < tokens.length; r++) {
      const t = tokens[r]!;
      const len = t.term.length;
      if (len >= min && len <= max) tokens[w++] = t;
    }
    tokens.length = w;
    return tokens;
  };
}

/**
 * Elasticsearch's `unique` filter: drops tokens whose term was already seen (with
 * onlyOnSamePosition, only duplicates stacked at the same position). As in ES, dropped duplicates
 * do not leave a gap: later tokens keep their own position increments.
 */
export function uniqueFilter(onlyOnSamePosition = false): TokenFilter {
  return (tokens) => {
    const seen = new Set<string>();
    let w = 0;
    let prevIn = -1;
    let prevOut = -1;
    for (let r = 0; r < tokens.length; r++) {
      const t = tokens[r]!;
      const inc = t.position - prevIn;
      prevIn = t.position;
      if (onlyOnSamePosition && inc > 0) seen.clear();
      const dup = onlyOnSamePosition ? inc === 0 && seen.has(t.term) : seen.has(t.term);
      seen.add(t.term);
      if (dup) continue;
      prevOut += inc;
      t.position = prevOut;
      tokens[w++] = t;
    }
    tokens.length = w;
    return tokens;
  };
}

/** Truncates terms to `length` UTF-16 units (never splitting a surrogate pair). */
export function truncateFilter(length = 10): TokenFilter {
  return (tokens) => {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.term.length > length) {
        let end = length;
        if ((t.term.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
        t.term = t.term.slice(0, end);
      }
    }
    return tokens;
  };
}

// ---------------------------------------------------------------------------------------------
// factory

export const BUILTIN_FILTERS: readonly string[] = [
  'lowercase', 'uppercase', 'asciifolding', 'stop', 'porter_stem', 'stemmer', 'length', 'unique', 'truncate',
  'ngram', 'edge_ngram', 'shingle', 'trim', 'reverse', 'elision',
];

/**
 * Filters that make several tokens of one (n-grams, shingles): ES refuses them before a synonym
 * filter, whose rules they would cut into pieces.
 */
export const NOT_FOR_SYNONYM_RULES = new WeakSet<TokenFilter>();

function notForSynonymRules(f: TokenFilter): TokenFilter {
  NOT_FOR_SYNONYM_RULES.add(f);
  return f;
}

const DEFAULT_FILTERS: Record<string, TokenFilter> = {
  lowercase: lowercaseFilter,
  uppercase: uppercaseFilter,
  asciifolding: asciiFoldingFilter(),
  stop: stopFilter(),
  porter_stem: porterStemFilter(),
  stemmer: porterStemFilter(),
  length: lengthFilter(),
  unique: uniqueFilter(),
  truncate: truncateFilter(),
  // Those with defaults are usable by bare name, as in ES.
  ngram: notForSynonymRules(ngramFilterFrom({}, 'filter [ngram]', false, DEFAULT_LIMITS)),
  edge_ngram: notForSynonymRules(ngramFilterFrom({}, 'filter [edge_ngram]', true, DEFAULT_LIMITS)),
  shingle: notForSynonymRules(shingleFilterFrom({}, 'filter [shingle]', DEFAULT_LIMITS)),
  trim: trimFilter,
  reverse: reverseFilter,
  elision: elisionFilterFrom({}, 'filter [elision]'),
  word_delimiter_graph: notForSynonymRules(wordDelimiterFilter(wordDelimiterOptions({}, 'filter [word_delimiter_graph]'))),
  word_delimiter: notForSynonymRules(wordDelimiterFilter(wordDelimiterOptions({}, 'filter [word_delimiter]'))),
};

/** Filter types whose definitions the analyzer builds (synonyms.ts), not createTokenFilter. */
export const SYNONYM_FILTER_TYPES: readonly string[] = ['synonym', 'synonym_graph'];

/** The settings each filter type takes besides `type` (the unsupported ones get their own message below). */
const FILTER_SETTINGS: Record<string, readonly string[]> = {
  lowercase: ['language'],
  uppercase: ['language'],
  asciifolding: ['preserve_original'],
  stop: ['stopwords', 'ignore_case', 'stopwords_path'],
  porter_stem: [],
  stemmer: ['language', 'name'],
  length: ['min', 'max'],
  unique: ['only_on_same_position'],
  truncate: ['length'],
  ngram: ['min_gram', 'max_gram', 'preserve_original'],
  edge_ngram: ['min_gram', 'max_gram', 'preserve_original'],
  shingle: ['min_shingle_size', 'max_shingle_size', 'output_unigrams', 'output_unigrams_if_no_shingles', 'token_separator', 'filler_token'],
  trim: [],
  reverse: [],
  elision: ['articles', 'articles_case', 'articles_path'],
  keyword_marker: ['keywords', 'keywords_path', 'keywords_pattern', 'ignore_case'],
  pattern_replace: ['pattern', 'replacement', 'flags', 'all'],
  synonym: SYNONYM_SETTINGS,
  synonym_graph: SYNONYM_SETTINGS,
  word_delimiter_graph: WORD_DELIMITER_SETTINGS,
  word_delimiter: WORD_DELIMITER_SETTINGS,
};

/**
 * A token filter from a built-in name ("lowercase") or a definition from index settings
 * (`{ type: 'stop', stopwords: ['a', 'the'] }`). `name` is used in error messages; `limits` are
 * the index's (`index.max_ngram_diff`, `index.max_shingle_diff`).
 */
export function createTokenFilter(definition: unknown, name?: string, limits: AnalysisLimits = DEFAULT_LIMITS): TokenFilter {
  if (typeof definition === 'string') {
    const f = Object.hasOwn(DEFAULT_FILTERS, definition) ? DEFAULT_FILTERS[definition] : undefined;
    if (!f) throw illegal(`failed to find filter under name [${definition}]`);
    return f;
  }
  const label = `filter [${name ?? '_anonymous_'}]`;
  if (!isPlainObject(definition)) {
    throw illegal(`${label} must be a name or an object`);
  }
  const def = definition as Record<string, unknown>;
  const type = def.type;
  if (typeof type !== 'string') throw illegal(`${label} must specify [type]`);
  const allowed = FILTER_SETTINGS[type];
  if (allowed) for (const k in def) if (k !== 'type' && !allowed.includes(k)) throw illegal(`unknown setting [${k}] of ${label} of type [${type}] (supported: ${allowed.join(', ') || 'none'})`);
  switch (type) {
    case 'lowercase':
    case 'uppercase':
      if (def.language !== undefined) throw illegal(`[language] of ${label} is not supported`);
      return type === 'lowercase' ? lowercaseFilter : uppercaseFilter;
    case 'asciifolding':
      return asciiFoldingFilter(boolSetting(def, 'preserve_original', false, label));
    case 'stop':
      if (def.stopwords_path !== undefined) throw illegal(`[stopwords_path] of ${label} is not supported`);
      return stopFilter(resolveStopwords(def.stopwords), boolSetting(def, 'ignore_case', false, label));
    case 'porter_stem':
      return porterStemFilter();
    case 'stemmer': {
      const lang = def.language ?? def.name ?? 'english';
      if (typeof lang !== 'string') throw illegal(`[language] of ${label} must be a string`);
      return stemmerFilter(lang);
    }
    case 'length': {
      const min = intSetting(def, 'min', 0, label);
      const max = intSetting(def, 'max', 2147483647, label);
      if (min < 0) throw illegal(`minimum length must be greater than or equal to zero for ${label}`);
      if (max < min) throw illegal(`maximum length must be greater than or equal to minimum length for ${label}`);
      return lengthFilter(min, max);
    }
    case 'unique':
      return uniqueFilter(boolSetting(def, 'only_on_same_position', false, label));
    case 'truncate': {
      const length = intSetting(def, 'length', 10, label);
      if (length < 1) throw illegal(`[length] of ${label} must be greater than zero`);
      return truncateFilter(length);
    }
    case 'ngram':
    case 'edge_ngram':
      return notForSynonymRules(ngramFilterFrom(def, label, type === 'edge_ngram', limits));
    case 'shingle':
      return notForSynonymRules(shingleFilterFrom(def, label, limits));
    case 'trim':
      return trimFilter;
    case 'reverse':
      return reverseFilter;
    case 'elision':
      return elisionFilterFrom(def, label);
    case 'keyword_marker':
      return keywordMarkerFilterFrom(def, label);
    case 'pattern_replace':
      return patternReplaceFilterFrom(def, label);
    case 'word_delimiter_graph':
    case 'word_delimiter':
      return notForSynonymRules(wordDelimiterFilter(wordDelimiterOptions(def, label)));
    case 'synonym':
    case 'synonym_graph':
      throw illegal(`${label} of type [${type}] can only be used in an analyzer (its rules are analysed by the filters before it)`);
    default:
      throw illegal(`Unknown filter type [${type}] for [${name ?? '_anonymous_'}]`);
  }
}
