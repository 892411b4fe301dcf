/**
 * Elasticsearch's `path_hierarchy` tokenizer: every ancestor of a path, all at position 0, so a
 * term query on "/usr/local" finds "/usr/local/bin/node". "/one/two/three" → /one, /one/two,
 * /one/two/three. With `reverse`, the suffixes instead ("www.example.com" split on "." →
 * www.example.com, example.com, com). `skip` leaves out that many components at the start (at
 * the end with reverse); `replacement` stands for the delimiter in the terms.
 */
import type { Token } from '../types.ts';
import type { Tokenizer } from './tokenizers.ts';
import { boolSetting, illegal, intSetting, stringSetting } from './settings.ts';

function termOf(text: string, start: number, end: number, delimiter: string, replacement: string): string {
  const s = text.slice(start, end);
  return delimiter === replacement ? s : s.split(delimiter).join(replacement);
}

/** Where each component starts: at 0, then at each delimiter after the first character. */
export function pathHierarchyTokenize(text: string, delimiter: string, replacement: string, skip: number): Token[] {
  const bounds = [0];
  for (let i = text.indexOf(delimiter, 1); i >= 0; i = text.indexOf(delimiter, i + 1)) bounds.push(i);
  const out: Token[] = [];
  if (text.length === 0 || skip >= bounds.length) return out;
  const start = bounds[skip]!;
  for (let k = skip + 1; k <= bounds.length; k++) {
    const end = k < bounds.length ? bounds[k]! : text.length;
    out.push({ term: termOf(text, start, end, delimiter, replacement), position: 0, startOffset: start, endOffset: end });
  }
  return out;
}

/** Where each component starts, from the end: at 0, then after each delimiter (not at the end). */
export function reversePathHierarchyTokenize(text: string, delimiter: string, replacement: string, skip: number): Token[] {
  const starts = [0];
  for (let i = text.indexOf(delimiter); i >= 0 && i + 1 < text.length; i = text.indexOf(delimiter, i + 1)) starts.push(i + 1);
  const out: Token[] = [];
  if (text.length === 0 || skip >= starts.length) return out;
  const end = skip === 0 ? text.length : starts[starts.length - skip]!;
  for (let k = 0; k < starts.length - skip; k++) {
    out.push({ term: termOf(text, starts[k]!, end, delimiter, replacement), position: 0, startOffset: starts[k]!, endOffset: end });
  }
  return out;
}

function oneChar(def: Record<string, unknown>, key: string, fallback: string, label: string): string {
  const v = stringSetting(def, key, fallback, label);
  if (v.length !== 1) throw illegal(`[${key}] of ${label} must be a one char value, got [${v}]`);
  return v;
}

export function pathHierarchyTokenizerFrom(def: Record<string, unknown>, label: string): Tokenizer {
  const delimiter = oneChar(def, 'delimiter', '/', label);
  const replacement = oneChar(def, 'replacement', delimiter, label);
  const skip = intSetting(def, 'skip', 0, label, 0);
  intSetting(def, 'buffer_size', 1024, label, 1); // accepted for compatibility; there is no buffer here
  return boolSetting(def, 'reverse', false, label)
    ? (text) => reversePathHierarchyTokenize(text, delimiter, replacement, skip)
    : (text) => pathHierarchyTokenize(text, delimiter, replacement, skip);
}
