/**
 * Elasticsearch's `char_group` tokenizer: splits on the characters listed in `tokenize_on_chars`,
 * each a single character, an escape (`\n`, `\t`, `\r`, `\\`, `\uXXXX`) or a class name (`letter`,
 * `digit`, `whitespace`, `punctuation`, `symbol`). Tokens longer than `max_token_length` (255)
 * are split at that length, as Lucene's CharTokenizer does.
 */
import type { Token } from '../types.ts';
import type { Tokenizer } from './tokenizers.ts';
import { CHAR_CLASS_NAMES, CharSet } from './char-classes.ts';
import { illegal, intSetting } from './settings.ts';

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', b: '\b', '\\': '\\', "'": "'", '"': '"' };

/** One `tokenize_on_chars` entry as a class bit or a code point. */
function parseEntry(entry: string, label: string): { bit: number } | { cp: number } {
  if ([...entry].length === 1) return { cp: entry.codePointAt(0)! };
  if (entry.startsWith('\\')) {
    const rest = entry.slice(1);
    if (rest.length === 1 && Object.hasOwn(ESCAPES, rest)) return { cp: ESCAPES[rest]!.charCodeAt(0) };
    if (/^u[0-9a-fA-F]{4}$/.test(rest)) return { cp: parseInt(rest.slice(1), 16) };
    throw illegal(`invalid escaped char [${entry}] in [tokenize_on_chars] of ${label}`);
  }
  const bit = Object.hasOwn(CHAR_CLASS_NAMES, entry) ? CHAR_CLASS_NAMES[entry] : undefined;
  if (bit === undefined) throw illegal(`invalid entry [${entry}] in [tokenize_on_chars] of ${label}: a single character, an escape or one of [letter, digit, whitespace, punctuation, symbol]`);
  return { bit };
}

/** Runs of characters not in `splitOn`, cut at maxTokenLength UTF-16 units (pairs kept whole). */
export function charGroupTokenize(text: string, splitOn: CharSet, maxTokenLength: number): Token[] {
  const out: Token[] = [];
  let position = 0;
  let start = -1;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (splitOn.has(cp)) {
      if (start >= 0) out.push({ term: text.slice(start, i), position: position++, startOffset: start, endOffset: i });
      start = -1;
    } else if (start < 0) start = i;
    else if (i + w - start > maxTokenLength) {
      out.push({ term: text.slice(start, i), position: position++, startOffset: start, endOffset: i });
      start = i;
    }
    i += w;
  }
  if (start >= 0) out.push({ term: text.slice(start), position: position++, startOffset: start, endOffset: text.length });
  return out;
}

export function charGroupTokenizerFrom(def: Record<string, unknown>, label: string): Tokenizer {
  const entries = def.tokenize_on_chars;
  if (!Array.isArray(entries) || entries.length === 0 || !entries.every((e) => typeof e === 'string' && e !== '')) {
    throw illegal(`[tokenize_on_chars] of ${label} must be an array of at least one character, escape or class name`);
  }
  let classes = 0;
  const chars = new Set<number>();
  for (const e of entries as string[]) {
    const p = parseEntry(e, label);
    if ('bit' in p) classes |= p.bit;
    else chars.add(p.cp);
  }
  const max = intSetting(def, 'max_token_length', 255, label, 1, 1024 * 1024);
  const splitOn = new CharSet(classes, chars);
  return (text) => charGroupTokenize(text, splitOn, max);
}
