/**
 * Elasticsearch's `pattern` tokenizer: with `group: -1` (the default) the regex matches the
 * separators and the text between matches are the tokens (empty ones dropped); with `group: n`
 * the tokens are group n of each match (group 0: the whole match). The default pattern is `\W+`.
 */
import type { Token } from '../types.ts';
import type { Tokenizer } from './tokenizers.ts';
import { compileJavaPattern } from './patterns.ts';
import { illegal, intSetting } from './settings.ts';

/** 2 at a surrogate pair, else 1. */
function charWidth(text: string, i: number): number {
  return (text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
}

/** Splits text on the matches of `re` (a global regex). */
export function patternSplit(text: string, re: RegExp): Token[] {
  const out: Token[] = [];
  let position = 0;
  let from = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = m.index + m[0].length;
    if (m.index > from) out.push({ term: text.slice(from, m.index), position: position++, startOffset: from, endOffset: m.index });
    from = end;
    // After an empty match the next search starts one character on (as Java's Matcher.find).
    if (end === m.index) re.lastIndex = end + charWidth(text, end);
  }
  if (from < text.length) out.push({ term: text.slice(from), position: position++, startOffset: from, endOffset: text.length });
  return out;
}

/** Group `group` of every match of `re` (a global regex with indices); empty groups are skipped. */
export function patternGroups(text: string, re: RegExp, group: number): Token[] {
  const out: Token[] = [];
  let position = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) re.lastIndex = m.index + charWidth(text, m.index);
    const span = m.indices?.[group];
    if (span === undefined || span[1] === span[0]) continue;
    out.push({ term: text.slice(span[0], span[1]), position: position++, startOffset: span[0], endOffset: span[1] });
  }
  return out;
}

export function patternTokenizerFrom(def: Record<string, unknown>, label: string): Tokenizer {
  const pattern = compileJavaPattern(def.pattern ?? '\\W+', def.flags, label);
  const group = intSetting(def, 'group', -1, label, -1);
  if (group > pattern.groups) throw illegal(`[group] of ${label} is [${group}] but [pattern] has ${pattern.groups} group(s)`);
  if (group < 0) {
    const re = pattern.make('g');
    return (text) => patternSplit(text, re);
  }
  const re = pattern.make('gd');
  return (text) => patternGroups(text, re, group);
}
