/**
 * Elasticsearch's `word_delimiter_graph` filter (and `word_delimiter`, built the same way here):
 * a token is split into subwords at non-alphanumeric characters, at lower-to-upper case changes
 * ("PowerShot" → Power, Shot) and between letters and digits ("SD500" → SD, 500); an English
 * possessive is dropped ("O'Neil's" → O, Neil). The subwords take consecutive positions,
 * so the tokens after them move up; runs of word or number parts can also be joined
 * (catenate_words: "wi-fi" → wifi, catenate_numbers: "500-42" → 50042, catenate_all), and the
 * original kept (preserve_original). A joined token and the original stack on the first part's
 * position and span their parts (`positionLength`), a graph as Lucene's
 * WordDelimiterGraphFilter makes, so `match_phrase` "wi fi" and `match` "wifi" both find "Wi-Fi".
 */
import type { Token } from '../types.ts';
import type { TokenFilter } from './filters.ts';
import { boolSetting, illegal, stringListSetting } from './settings.ts';

// Character classes, as bit flags: ALPHA is both letter cases, so a caseless letter never breaks.
const LOWER = 1;
const UPPER = 2;
const DIGIT = 4;
const DELIM = 8;
const ALPHA = LOWER | UPPER;

const TYPE_NAMES: Record<string, number> = { LOWER, UPPER, ALPHA, DIGIT, ALPHANUM: ALPHA | DIGIT, SUBWORD_DELIM: DELIM };

export interface WordDelimiterOptions {
  generateWordParts: boolean;
  generateNumberParts: boolean;
  catenateWords: boolean;
  catenateNumbers: boolean;
  catenateAll: boolean;
  splitOnCaseChange: boolean;
  splitOnNumerics: boolean;
  preserveOriginal: boolean;
  stemEnglishPossessive: boolean;
  adjustOffsets: boolean;
  ignoreKeywords: boolean;
  protectedWords: Set<string>;
  /** type_table: characters given another class. */
  typeTable: Map<string, number>;
}

export const WORD_DELIMITER_SETTINGS = [
  'generate_word_parts', 'generate_number_parts', 'catenate_words', 'catenate_numbers', 'catenate_all', 'split_on_case_change',
  'split_on_numerics', 'preserve_original', 'stem_english_possessive', 'adjust_offsets', 'ignore_keywords', 'protected_words',
  'protected_words_path', 'type_table', 'type_table_path',
] as const;

export function wordDelimiterOptions(def: Record<string, unknown>, label: string): WordDelimiterOptions {
  for (const k of ['protected_words_path', 'type_table_path']) if (def[k] !== undefined) throw illegal(`[${k}] of ${label} is not supported: give the list inline`);
  const typeTable = new Map<string, number>();
  for (const rule of stringListSetting(def, 'type_table', label) ?? []) {
    const m = /^(.+?)\s*=>\s*([A-Z_]+)$/.exec(rule.trim());
    const char = m ? unescapeChar(m[1]!) : undefined;
    const type = m ? TYPE_NAMES[m[2]!] : undefined;
    if (char === undefined || type === undefined) throw illegal(`invalid type_table rule [${rule}] of ${label}: expected "<char> => ${Object.keys(TYPE_NAMES).join('|')}"`);
    typeTable.set(char, type);
  }
  return {
    generateWordParts: boolSetting(def, 'generate_word_parts', true, label),
    generateNumberParts: boolSetting(def, 'generate_number_parts', true, label),
    catenateWords: boolSetting(def, 'catenate_words', false, label),
    catenateNumbers: boolSetting(def, 'catenate_numbers', false, label),
    catenateAll: boolSetting(def, 'catenate_all', false, label),
    splitOnCaseChange: boolSetting(def, 'split_on_case_change', true, label),
    splitOnNumerics: boolSetting(def, 'split_on_numerics', true, label),
    preserveOriginal: boolSetting(def, 'preserve_original', false, label),
    stemEnglishPossessive: boolSetting(def, 'stem_english_possessive', true, label),
    adjustOffsets: boolSetting(def, 'adjust_offsets', true, label),
    ignoreKeywords: boolSetting(def, 'ignore_keywords', false, label),
    protectedWords: new Set(stringListSetting(def, 'protected_words', label) ?? []),
    typeTable,
  };
}

/** One character of a type_table rule: itself, or an escape (`\\u002C`, `\\t`). */
function unescapeChar(s: string): string | undefined {
  if (s.length === 1) return s;
  const u = /^\\u([0-9a-fA-F]{4})$/.exec(s);
  if (u) return String.fromCharCode(parseInt(u[1]!, 16));
  const escapes: Record<string, string> = { '\\t': '\t', '\\n': '\n', '\\r': '\r', '\\\\': '\\', '\\b': '\b', '\\f': '\f' };
  return escapes[s];
}

const RE_LOWER = /\p{Ll}/u;
const RE_UPPER = /\p{Lu}/u;
const RE_LETTER = /[\p{L}\p{M}]/u;
const RE_DIGIT = /\p{N}/u;

function charType(c: string, table: Map<string, number>): number {
  const t = table.get(c);
  if (t !== undefined) return t;
  if (RE_LOWER.test(c)) return LOWER;
  if (RE_UPPER.test(c)) return UPPER;
  if (RE_LETTER.test(c)) return ALPHA;
  if (RE_DIGIT.test(c)) return DIGIT;
  return DELIM;
}

/** Lucene's rule for a break between two non-delimiter characters. */
function isBreak(last: number, type: number, o: WordDelimiterOptions): boolean {
  if ((type & last) !== 0) return false;
  const alphaLast = (last & ALPHA) !== 0;
  const alpha = (type & ALPHA) !== 0;
  if (alphaLast && alpha) return o.splitOnCaseChange && last === LOWER && type === UPPER;
  if (!o.splitOnNumerics && ((alphaLast && (type & DIGIT) !== 0) || ((last & DIGIT) !== 0 && alpha))) return false;
  return true;
}

/** A subword: its characters [start, end) in the token's code points, and whether it is a number. */
interface Part {
  start: number;
  end: number;
  number: boolean;
}

function splitParts(chars: string[], o: WordDelimiterOptions): Part[] {
  const types = chars.map((c) => charType(c, o.typeTable));
  const parts: Part[] = [];
  let start = -1;
  for (let i = 0; i <= chars.length; i++) {
    const type = i < chars.length ? types[i]! : DELIM;
    if (start >= 0 && (type === DELIM || isBreak(types[i - 1]!, type, o))) {
      parts.push({ start, end: i, number: (types[start]! & DIGIT) !== 0 && (types[start]! & ALPHA) === 0 });
      start = -1;
    }
    if (start < 0 && type !== DELIM) start = i;
  }
  // A possessive ("Neil's"): an `s` after an apostrophe after a letter, at the end or before a delimiter.
  if (!o.stemEnglishPossessive) return parts;
  return parts.filter(
    (p) => !(p.end - p.start === 1 && /^[sS]$/.test(chars[p.start]!) && p.start >= 2 && chars[p.start - 1] === "'" && (types[p.start - 2]! & ALPHA) !== 0 && (p.end === chars.length || types[p.end] === DELIM)),
  );
}

export function wordDelimiterFilter(o: WordDelimiterOptions): TokenFilter {
  return (tokens) => {
    const out: Token[] = [];
    let shift = 0;
    for (const t of tokens) {
      const position = t.position + shift;
      if (o.protectedWords.has(t.term) || (o.ignoreKeywords && t.keyword)) {
        out.push({ ...t, position });
        continue;
      }
      const chars = [...t.term];
      const parts = splitParts(chars, o);
      // Nothing to split: the token as it is.
      if (parts.length === 1 && parts[0]!.start === 0 && parts[0]!.end === chars.length) {
        out.push({ ...t, position });
        continue;
      }
      const emitted = emitToken(t, chars, parts, position, o, out);
      // The tokens after this one move up by the positions its parts took beyond its own.
      shift += Math.max(emitted, 1) - 1;
    }
    return out;
  };
}

/** One split token being emitted: the token, its characters and parts, where its parts go. */
interface Split {
  token: Token;
  chars: string[];
  parts: Part[];
  /** Per part: the position (from the token's) it takes, or would take if it were generated. */
  slot: number[];
  /** How many positions the generated parts take (at least 1). */
  width: number;
  position: number;
  /** The token's offsets span exactly its text, so parts can have their own. */
  offsetsExact: boolean;
  o: WordDelimiterOptions;
}

function isGenerated(p: Part, o: WordDelimiterOptions): boolean {
  return p.number ? o.generateNumberParts : o.generateWordParts;
}

/** The text of parts[from..to], joined without what separated them. */
function partText(sp: Split, from: number, to: number): string {
  let text = '';
  for (let i = from; i <= to; i++) text += sp.chars.slice(sp.parts[i]!.start, sp.parts[i]!.end).join('');
  return text;
}

/** How many generated parts parts[from..to] cover (at least 1): the positions a joined token spans. */
function spanOf(sp: Split, from: number, to: number): number {
  let n = 0;
  for (let i = from; i <= to; i++) if (isGenerated(sp.parts[i]!, sp.o)) n++;
  return Math.max(n, 1);
}

/** The token for parts[from..to] (one part, or a run joined): at the first part's position. */
function partToken(sp: Split, from: number, to: number, term: string): Token {
  const { token: t, o } = sp;
  const exact = o.adjustOffsets && sp.offsetsExact;
  const tok: Token = {
    term,
    position: sp.position + Math.min(sp.slot[from]!, sp.width - 1),
    startOffset: exact ? t.startOffset + sp.parts[from]!.start : t.startOffset,
    endOffset: exact ? t.startOffset + sp.parts[to]!.end : t.endOffset,
  };
  const span = from === to ? 1 : spanOf(sp, from, to);
  if (span > 1) tok.positionLength = span;
  if (t.keyword) tok.keyword = true;
  return tok;
}

/** Pushes what one split token makes, and answers how many positions its parts take. */
function emitToken(t: Token, chars: string[], parts: Part[], position: number, o: WordDelimiterOptions, out: Token[]): number {
  // Each generated part takes the next position; a joined token spans the positions of its parts.
  const slot: number[] = [];
  let slots = 0;
  for (const p of parts) slot.push(isGenerated(p, o) ? slots++ : slots);
  const sp: Split = { token: t, chars, parts, slot, width: Math.max(slots, 1), position, offsetsExact: t.endOffset - t.startOffset === t.term.length && chars.length === t.term.length, o };
  // Longest first at each position, as Lucene orders them: the original, all, the runs, the parts.
  const made: Token[] = [];
  if (o.preserveOriginal) made.push({ ...t, position, ...(sp.width > 1 ? { positionLength: sp.width } : {}) });
  if (parts.length === 0) {
    // Delimiters only ("---"): the original if kept, else nothing.
    out.push(...made);
    return made.length > 0 ? 1 : 0;
  }
  const last = parts.length - 1;
  // catenate_all only when it joins more than one run would (Lucene's rule: no duplicate).
  const oneRun = parts.every((p) => p.number === parts[0]!.number) && (parts[0]!.number ? o.catenateNumbers : o.catenateWords);
  if (o.catenateAll && last > 0 && !oneRun) made.push(partToken(sp, 0, last, partText(sp, 0, last)));
  for (let i = 0; i < parts.length; ) {
    let j = i;
    while (j + 1 < parts.length && parts[j + 1]!.number === parts[i]!.number) j++;
    const catenate = parts[i]!.number ? o.catenateNumbers : o.catenateWords;
    if (catenate && j > i) made.push(partToken(sp, i, j, partText(sp, i, j)));
    i = j + 1;
  }
  for (let i = 0; i < parts.length; i++) if (isGenerated(parts[i]!, o)) made.push(partToken(sp, i, i, partText(sp, i, i)));
  // Stable: by position, the longer spans first within one.
  made.sort(byPosition);
  out.push(...made);
  return made.length > 0 ? sp.width : 0;
}

function byPosition(a: Token, b: Token): number {
  return a.position - b.position;
}
