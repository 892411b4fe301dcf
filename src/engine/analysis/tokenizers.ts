/**
 * Tokenizers in Elasticsearch's (Lucene's) shape: `standard`, `whitespace`, `keyword`, `letter`
 * and `lowercase` here; `ngram`, `edge_ngram` (ngram.ts), `pattern` (pattern-tokenizer.ts),
 * `char_group` (char-group.ts) and `path_hierarchy` (path-hierarchy.ts) in their own modules. Each turns a string into Token[] with 0-based, incrementing positions and
 * UTF-16 start/end offsets into the input (`text.slice(startOffset, endOffset)` is the raw token).
 *
 * Hot path: characters are classified through a lazily filled 64K lookup table (a Unicode regex
 * runs at most once per distinct BMP code unit, ever); astral code points go through a small map.
 * No per-character allocation: the only allocations are the token objects and their term strings.
 */
import type { Token } from '../types.ts';
import { EngineError, isPlainObject } from '../types.ts';
import { JAVA_WHITESPACE } from './char-classes.ts';
import { charGroupTokenizerFrom } from './char-group.ts';
import { ngramTokenizerFrom } from './ngram.ts';
import { pathHierarchyTokenizerFrom } from './path-hierarchy.ts';
import { patternTokenizerFrom } from './pattern-tokenizer.ts';
import { DEFAULT_LIMITS, type AnalysisLimits } from './settings.ts';

/** A tokenizer: text → tokens (positions 0, 1, 2, … ; offsets are UTF-16 indexes into text). */
export type Tokenizer = (text: string) => Token[];

export const DEFAULT_MAX_TOKEN_LENGTH = 255;
/** Lucene's upper bound for max_token_length. */
export const MAX_TOKEN_LENGTH_LIMIT = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Word-break classes (UAX#29, as Lucene's StandardTokenizer grammar uses them).
// Word starters are 1..5 so `k <= ENL` tests "can start/extend a word".

const UNSET = 0;
const ALETTER = 1; // letters (Latin, Greek, Cyrillic, Arabic, Hangul, Indic, …)
const HEBREW = 2; // Hebrew letters (WB7a-c)
const NUMERIC = 3; // \p{Nd}, \p{No}
const KATAKANA = 4;
const ENL = 5; // ExtendNumLet: connector punctuation such as "_"
const HIRAGANA = 6; // one token per character (as Lucene)
const IDEO = 7; // Han ideographs: one token per character (as Lucene)
const SEA = 8; // South-East Asian scripts (Thai, Lao, Khmer, Myanmar…): whole runs, no dictionary
const EMOJI = 9; // Emoji_Presentation
const PICT = 10; // Extended_Pictographic without emoji presentation (an emoji only with FE0F etc.)
const RI = 11; // regional indicators (flags come in pairs)
const EXTEND = 12; // Extend, Format, ZWJ (WB4: they attach to the preceding character)
const MIDLETTER = 13; // ":" "·" …
const MIDNUMLET = 14; // "." "’" …
const MIDNUM = 15; // "," ";" …
const SQUOTE = 16; // "'"
const DQUOTE = 17; // '"'
const OTHER = 18;
const NCLASS = 32; // row stride of the rule tables

const MIDLETTER_CPS = [0x3a, 0xb7, 0x387, 0x55f, 0x5f4, 0x2027, 0xfe13, 0xfe55, 0xff1a];
const MIDNUMLET_CPS = [0x2e, 0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e];
const MIDNUM_CPS = [
  0x2c, 0x3b, 0x37e, 0x589, 0x60c, 0x60d, 0x66c, 0x7f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54,
  0xff0c, 0xff1b,
];
const KATAKANA_EXTRA_CPS = [0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x309b, 0x309c, 0x30a0, 0x30fc, 0xff70];

const RE_PC = /^\p{Pc}$/u;
const RE_EXTEND = /^[\p{M}\p{Cf}\p{Emoji_Modifier}]$/u;
const RE_KATAKANA = /^\p{Script=Katakana}$/u;
const RE_HIRAGANA = /^\p{Script=Hiragana}$/u;
const RE_IDEO = /^[\p{Script=Han}\p{Ideographic}]$/u;
const RE_PICT = /^\p{Extended_Pictographic}$/u;
const RE_EMOJI_PRES = /^\p{Emoji_Presentation}$/u;
const RE_LETTER = /^\p{L}$/u;
const RE_SEA =
  /^[\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tai_Tham}\p{Script=Tai_Viet}\p{Script=New_Tai_Lue}\p{Script=Tai_Le}]$/u;
const RE_HEBREW = /^\p{Script=Hebrew}$/u;
const RE_ND_NO = /^[\p{Nd}\p{No}]$/u;
const RE_NL = /^\p{Nl}$/u;

/** Classify one code point (slow; results are cached by the callers). */
function classify(cp: number): number {
  if (cp === 0x27) return SQUOTE;
  if (cp === 0x22) return DQUOTE;
  if (MIDNUMLET_CPS.includes(cp)) return MIDNUMLET;
  if (MIDLETTER_CPS.includes(cp)) return MIDLETTER;
  if (MIDNUM_CPS.includes(cp)) return MIDNUM;
  if (cp === 0x200b) return OTHER; // ZERO WIDTH SPACE breaks words
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return RI;
  const s = String.fromCodePoint(cp);
  if (cp === 0x202f || RE_PC.test(s)) return ENL;
  if (cp === 0x200c || cp === 0x200d || cp === 0xff9e || cp === 0xff9f || RE_EXTEND.test(s)) return EXTEND;
  if (KATAKANA_EXTRA_CPS.includes(cp) || RE_KATAKANA.test(s)) return KATAKANA;
  if (RE_HIRAGANA.test(s)) return HIRAGANA;
  if (RE_IDEO.test(s)) return IDEO;
  if (RE_PICT.test(s)) return RE_EMOJI_PRES.test(s) ? EMOJI : PICT;
  if (RE_LETTER.test(s)) {
    if (RE_SEA.test(s)) return SEA;
    if (RE_HEBREW.test(s)) return HEBREW;
    return ALETTER;
  }
  if (RE_ND_NO.test(s)) return NUMERIC;
  if (RE_NL.test(s)) return ALETTER;
  return OTHER;
}

const BMP_CLASS = new Uint8Array(0x10000);
const ASTRAL_CLASS = new Map<number, number>();

function fillBmp(c: number): number {
  const k = classify(c);
  BMP_CLASS[c] = k;
  return k;
}
// ASCII is classified up front.
for (let c = 0; c < 0x80; c++) fillBmp(c);

function surrogateClass(text: string, j: number, c: number): number {
  if (c > 0xdbff) return OTHER; // lone low surrogate
  const d = text.charCodeAt(j + 1);
  if (!(d >= 0xdc00 && d <= 0xdfff)) return OTHER; // lone high surrogate
  const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  let k = ASTRAL_CLASS.get(cp);
  if (k === undefined) {
    k = classify(cp);
    ASTRAL_CLASS.set(cp, k);
  }
  return k;
}

/** Word-break class of the code point starting at j (j < text.length). */
function classAt(text: string, j: number): number {
  const c = text.charCodeAt(j);
  if (c < 0xd800 || c > 0xdfff) {
    const k = BMP_CLASS[c]!;
    return k !== UNSET ? k : fillBmp(c);
  }
  return surrogateClass(text, j, c);
}

/** UTF-16 length of the code point starting at j: 2 for a valid surrogate pair, else 1. */
function widthAt(text: string, j: number): number {
  return (text.charCodeAt(j) & 0xfc00) === 0xd800 && (text.charCodeAt(j + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
}

/** JOIN[last * NCLASS + next] = 1 when no word break between them (WB5, WB8-10, WB13, WB13a-b). */
const JOIN = new Uint8Array(NCLASS * NCLASS);
/**
 * MID[last * NCLASS + mid] = bit mask of classes that may follow `mid` for "last mid next" to stay
 * one word (WB6-7, WB7b-c, WB11-12).
 */
const MID = new Uint32Array(NCLASS * NCLASS);
{
  const join = (a: number[], b: number[]) => {
    for (const x of a) for (const y of b) JOIN[x * NCLASS + y] = 1;
  };
  const AH = [ALETTER, HEBREW];
  join(AH, [ALETTER, HEBREW, NUMERIC, ENL]);
  join([NUMERIC], [NUMERIC, ALETTER, HEBREW, ENL]);
  join([KATAKANA], [KATAKANA, ENL]);
  join([ENL], [ALETTER, HEBREW, NUMERIC, KATAKANA, ENL]);
  const bits = (ks: number[]) => ks.reduce((m, k) => m | (1 << k), 0);
  for (const a of AH) for (const m of [MIDLETTER, MIDNUMLET, SQUOTE]) MID[a * NCLASS + m] = bits(AH);
  MID[HEBREW * NCLASS + DQUOTE] = bits([HEBREW]);
  for (const m of [MIDNUM, MIDNUMLET, SQUOTE]) MID[NUMERIC * NCLASS + m] = bits([NUMERIC]);
}

function pushToken(out: Token[], text: string, start: number, end: number, position: number): void {
  out.push({ term: text.slice(start, end), position, startOffset: start, endOffset: end });
}

function checkMaxTokenLength(v: unknown, what: string): number {
  if (v === undefined || v === null) return DEFAULT_MAX_TOKEN_LENGTH;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > MAX_TOKEN_LENGTH_LIMIT) {
    throw new EngineError(
      'illegal_argument_exception',
      `[max_token_length] for ${what} must be an integer in [1, ${MAX_TOKEN_LENGTH_LIMIT}], got [${String(v)}]`,
    );
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// standard

/**
 * Lucene's StandardTokenizer (UAX#29 word boundaries):
 * - words are runs of letters and digits in any script ("Straße", "Москва", "abc123", "foo_bar");
 * - "." "'" "’" (MidNumLet) keep letters together and digits together: "don't", "U.S.A", "3.14",
 *   "example.com", "john.doe"; ":" "·" (MidLetter) join letters only; "," ";" (MidNum) join
 *   digits only ("1,000.5"); everything else (whitespace, "-", "@", "/", …) separates;
 * - Han ideographs and Hiragana become one token per character; Katakana runs stay together;
 *   Thai/Lao/Khmer/Myanmar runs stay together (no dictionary segmentation);
 * - emoji (presentation emoji, FE0F sequences, ZWJ sequences, flag pairs) are tokens;
 * - combining marks and format characters (soft hyphen, ZWJ) stay inside the token;
 * - tokens longer than maxTokenLength are split at maxTokenLength intervals (UTF-16 units).
 */
export function standardTokenize(text: string, maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH): Token[] {
  const n = text.length;
  const max = maxTokenLength;
  // Fast path (a one-word query, say): ASCII letters only are one word (WB5), the whole text.
  if (n > 0 && n <= max) {
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i) | 0x20;
      if (c < 0x61 || c > 0x7a) break;
      i++;
    }
    if (i === n) return [{ term: text, position: 0, startOffset: 0, endOffset: n }];
  }
  const out: Token[] = [];
  let position = 0;
  let i = 0;
  while (i < n) {
    const k = classAt(text, i);
    if (k <= ENL) {
      // A word: letters, digits, katakana, connectors, with Mid* characters between them.
      const start = i;
      let last = k;
      let core = k !== ENL; // a run of connectors alone is not a token
      let j = i + widthAt(text, i);
      while (j < n) {
        const kk = classAt(text, j);
        const w = kk === OTHER ? 1 : widthAt(text, j);
        if (kk === EXTEND || JOIN[last * NCLASS + kk] === 1) {
          if (j + w - start > max) break;
          j += w;
          if (kk !== EXTEND) {
            last = kk;
            if (kk !== ENL) core = true;
          }
          continue;
        }
        const need = MID[last * NCLASS + kk]!;
        if (need !== 0) {
          let m = j + w;
          let km = OTHER;
          while (m < n) {
            km = classAt(text, m);
            if (km !== EXTEND) break;
            m += widthAt(text, m);
          }
          if (m < n && (need & (1 << km)) !== 0) {
            const end = m + widthAt(text, m);
            if (end - start > max) break;
            j = end;
            last = km;
            continue;
          }
        }
        if (last === HEBREW && kk === SQUOTE && j + 1 - start <= max) {
          // WB7a: Hebrew_Letter × Single_Quote; nothing but Extend may follow.
          j += 1;
          last = SQUOTE;
          continue;
        }
        break;
      }
      if (core) pushToken(out, text, start, j, position++);
      i = j;
      continue;
    }
    if (k === OTHER || k >= EXTEND) {
      i += k === OTHER ? 1 : widthAt(text, i);
      continue;
    }
    const start = i;
    const limit = start + max;
    let j = i + widthAt(text, i);
    if (k === SEA) {
      while (j < n) {
        const kk = classAt(text, j);
        if (kk !== SEA && kk !== EXTEND) break;
        const w = widthAt(text, j);
        if (j + w - start > max) break;
        j += w;
      }
    } else if (k === RI) {
      if (j < n && j + 2 <= limit && classAt(text, j) === RI) j += 2;
      j = skipExtend(text, j, limit < n ? limit : n);
    } else if (k === EMOJI || k === PICT) {
      if (k === PICT && !startsEmojiSequence(text, j)) {
        i = j;
        continue;
      }
      // Emoji, its modifiers / variation selectors, and ZWJ-joined pictographs (WB3c, WB4).
      for (;;) {
        const before = j;
        j = skipExtend(text, j, limit < n ? limit : n);
        if (j > before && text.charCodeAt(j - 1) === 0x200d && j < n) {
          const kk = classAt(text, j);
          if ((kk === EMOJI || kk === PICT) && j + widthAt(text, j) <= limit) {
            j += widthAt(text, j);
            continue;
          }
        }
        break;
      }
    } else {
      // HIRAGANA, IDEO: one character (plus its combining marks) per token.
      j = skipExtend(text, j, limit < n ? limit : n);
    }
    pushToken(out, text, start, j, position++);
    i = j;
  }
  return out;
}

/** Skips Extend/Format characters from j, not going past `end`. */
function skipExtend(text: string, j: number, end: number): number {
  while (j < end && classAt(text, j) === EXTEND) {
    const w = widthAt(text, j);
    if (j + w > end) break;
    j += w;
  }
  return j;
}

/** A text-presentation pictograph is an emoji when followed by VS16, a skin tone or a ZWJ. */
function startsEmojiSequence(text: string, j: number): boolean {
  const c = text.charCodeAt(j);
  if (c === 0xfe0f || c === 0x200d) return true;
  // Emoji modifiers U+1F3FB..U+1F3FF = D83C DFFB..DFFF
  if (c === 0xd83c) {
    const d = text.charCodeAt(j + 1);
    return d >= 0xdffb && d <= 0xdfff;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// whitespace, letter, lowercase, keyword (Lucene CharTokenizers)

/** Java's Character.isWhitespace (so NBSP U+00A0, U+2007, U+202F do not split). */
const IS_WS = JAVA_WHITESPACE;

/** Splits on whitespace (Java's Character.isWhitespace); tokens longer than max are split. */
export function whitespaceTokenize(text: string, maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let position = 0;
  let i = 0;
  while (i < n) {
    while (i < n && IS_WS[text.charCodeAt(i)] === 1) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && IS_WS[text.charCodeAt(i)] !== 1) {
      const w = widthAt(text, i);
      if (i + w - start > maxTokenLength && i > start) break;
      i += w;
    }
    pushToken(out, text, start, i, position++);
  }
  return out;
}

/** 0 = unknown, 1 = letter, 2 = not a letter (BMP); astral letters through a map. */
const IS_LETTER = new Uint8Array(0x10000);
const ASTRAL_LETTER = new Map<number, boolean>();

function letterWidthAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) {
    let v = IS_LETTER[c]!;
    if (v === 0) v = IS_LETTER[c] = RE_LETTER.test(String.fromCharCode(c)) ? 1 : 2;
    return v === 1 ? 1 : 0;
  }
  if (widthAt(text, i) !== 2) return 0;
  const cp = text.codePointAt(i)!;
  let v = ASTRAL_LETTER.get(cp);
  if (v === undefined) ASTRAL_LETTER.set(cp, (v = RE_LETTER.test(String.fromCodePoint(cp))));
  return v ? 2 : 0;
}

/** Runs of letters (\p{L}); everything else separates ("don't" → "don", "t"). */
export function letterTokenize(text: string, maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let position = 0;
  let i = 0;
  while (i < n) {
    let w = letterWidthAt(text, i);
    if (w === 0) {
      i++;
      continue;
    }
    const start = i;
    do {
      if (i + w - start > maxTokenLength && i > start) break;
      i += w;
    } while (i < n && (w = letterWidthAt(text, i)) !== 0);
    pushToken(out, text, start, i, position++);
  }
  return out;
}

/** The letter tokenizer with lowercasing (ES `lowercase` tokenizer). */
export function lowercaseTokenize(text: string, maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH): Token[] {
  const tokens = letterTokenize(text, maxTokenLength);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    t.term = t.term.toLowerCase();
  }
  return tokens;
}

/**
 * The whole input as one token. Like Lucene's KeywordTokenizer, empty input gives one empty token.
 */
export function keywordTokenize(text: string): Token[] {
  return [{ term: text, position: 0, startOffset: 0, endOffset: text.length }];
}

// ---------------------------------------------------------------------------------------------
// factory

export const BUILTIN_TOKENIZERS: readonly string[] = [
  'standard', 'whitespace', 'keyword', 'letter', 'lowercase', 'ngram', 'edge_ngram', 'pattern', 'path_hierarchy',
];

const DEFAULT_TOKENIZERS: Record<string, Tokenizer> = {
  standard: (text) => standardTokenize(text),
  whitespace: (text) => whitespaceTokenize(text),
  keyword: keywordTokenize,
  letter: (text) => letterTokenize(text),
  lowercase: (text) => lowercaseTokenize(text),
  // Those with defaults are usable by bare name, as in ES.
  ngram: ngramTokenizerFrom({}, 'tokenizer [ngram]', false, DEFAULT_LIMITS),
  edge_ngram: ngramTokenizerFrom({}, 'tokenizer [edge_ngram]', true, DEFAULT_LIMITS),
  pattern: patternTokenizerFrom({}, 'tokenizer [pattern]'),
  path_hierarchy: pathHierarchyTokenizerFrom({}, 'tokenizer [path_hierarchy]'),
};

/** The settings each tokenizer type takes besides `type`. */
const TOKENIZER_SETTINGS: Record<string, readonly string[]> = {
  standard: ['max_token_length'],
  whitespace: ['max_token_length'],
  letter: [],
  lowercase: [],
  keyword: [],
  ngram: ['min_gram', 'max_gram', 'token_chars', 'custom_token_chars'],
  edge_ngram: ['min_gram', 'max_gram', 'token_chars', 'custom_token_chars'],
  pattern: ['pattern', 'flags', 'group'],
  char_group: ['tokenize_on_chars', 'max_token_length'],
  path_hierarchy: ['delimiter', 'replacement', 'skip', 'reverse', 'buffer_size'],
};

/**
 * A tokenizer from a built-in name ("standard") or a definition from index settings
 * (`{ type: 'standard', max_token_length: 5 }`). `name` is used in error messages; `limits` are
 * the index's (`index.max_ngram_diff`).
 */
export function createTokenizer(definition: unknown, name?: string, limits: AnalysisLimits = DEFAULT_LIMITS): Tokenizer {
  if (typeof definition === 'string') {
    const t = Object.hasOwn(DEFAULT_TOKENIZERS, definition) ? DEFAULT_TOKENIZERS[definition] : undefined;
    if (!t) throw new EngineError('illegal_argument_exception', `failed to find tokenizer under name [${definition}]`);
    return t;
  }
  if (!isPlainObject(definition)) {
    throw new EngineError('illegal_argument_exception', `tokenizer [${name ?? '_anonymous_'}] must be a name or an object`);
  }
  const def = definition as Record<string, unknown>;
  const type = def.type;
  const label = `tokenizer [${name ?? '_anonymous_'}]`;
  if (typeof type !== 'string') {
    throw new EngineError('illegal_argument_exception', `${label} must specify [type]`);
  }
  const allowed = TOKENIZER_SETTINGS[type];
  if (allowed) {
    for (const k in def) if (k !== 'type' && !allowed.includes(k)) throw new EngineError('illegal_argument_exception', `unknown setting [${k}] of ${label} of type [${type}] (supported: ${allowed.join(', ') || 'none'})`);
  }
  switch (type) {
    case 'standard': {
      const max = checkMaxTokenLength(def.max_token_length, label);
      return max === DEFAULT_MAX_TOKEN_LENGTH ? DEFAULT_TOKENIZERS.standard! : (text) => standardTokenize(text, max);
    }
    case 'whitespace': {
      const max = checkMaxTokenLength(def.max_token_length, label);
      return (text) => whitespaceTokenize(text, max);
    }
    case 'letter':
      return DEFAULT_TOKENIZERS.letter!;
    case 'lowercase':
      return DEFAULT_TOKENIZERS.lowercase!;
    case 'keyword':
      return keywordTokenize;
    case 'ngram':
    case 'edge_ngram':
      return ngramTokenizerFrom(def, label, type === 'edge_ngram', limits);
    case 'pattern':
      return patternTokenizerFrom(def, label);
    case 'char_group':
      return charGroupTokenizerFrom(def, label);
    case 'path_hierarchy':
      return pathHierarchyTokenizerFrom(def, label);
    default:
      throw new EngineError('illegal_argument_exception', `Unknown tokenizer type [${type}] for [${name ?? '_anonymous_'}]`);
  }
}
