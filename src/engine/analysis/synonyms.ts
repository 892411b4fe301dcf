/**
 * Elasticsearch's `synonym` and `synonym_graph` token filters, with inline rules in Solr's format:
 *
 * - `"ipod, i-pod, i pod"`: equivalent phrases; with `expand` (the default) each stands for all of
 *   them, without it each stands for the first;
 * - `"i-pod, i pod => ipod"`: an explicit mapping, the left side replaced by the right side's
 *   phrases (keep a phrase by listing it on the right too);
 * - rules for the same phrase add up; blank lines and lines starting with `#` are ignored; `\`
 *   escapes a comma or an arrow.
 *
 * Each phrase of a rule is analysed by the char filters, the tokenizer and the token filters that
 * come before the synonym filter in its analyzer, as ES does, so "I-Pod" in a rule matches what
 * the analyzer makes of "I-Pod" in a text. A phrase that analyses to nothing, or to stacked
 * tokens, is an error (skipped with `lenient`).
 *
 * In the token stream the longest matching phrase wins. Its replacements are emitted at its
 * position, each replacement word at the next position, with the offsets of the whole phrase.
 * The alternatives (the replacements, and the phrase itself when it stays) take as many positions
 * as the longest of them: the tokens after move on (or back, when a phrase is replaced by a
 * shorter one) by the difference, and a shorter alternative's last token spans the rest
 * (`positionLength`), so the alternatives form a graph: "ny city" with "ny, new york" gives
 * ny(0, spanning 2), new(0), york(1), city(2); "i pod rocks" with "i pod => ipod" gives ipod(0),
 * rocks(1). Both filters do this (ES's `synonym` instead overlaps a longer replacement with the
 * words after it).
 */
import type { Token } from '../types.ts';
import type { TokenFilter } from './filters.ts';
import { boolSetting, illegal, stringSetting } from './settings.ts';

/** A parsed rule: phrases as written (analysed per analyzer later). `outputs` null: equivalence. */
interface RawRule {
  line: string;
  inputs: string[];
  outputs: string[] | null;
}

/** Splits on an unescaped separator; unescapes and trims the parts, drops empty ones. */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      continue;
    }
    if (s.startsWith(sep, i)) {
      parts.push(cur);
      cur = '';
      i += sep.length - 1;
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** Splits a line at its unescaped "=>" signs (keeping escapes for splitEscaped). */
function splitArrow(line: string): string[] {
  const sides: string[] = [];
  let from = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line.startsWith('=>', i)) {
      sides.push(line.slice(from, i));
      from = i + 2;
      i++;
    }
  }
  sides.push(line.slice(from));
  return sides;
}

/** Parses Solr-format rules (each array entry one or more lines). */
export function parseSolrRules(entries: readonly string[], label: string, lenient: boolean): RawRule[] {
  const rules: RawRule[] = [];
  for (const entry of entries) {
    for (const raw of entry.split(/\r?\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const sides = splitArrow(line);
      if (sides.length > 2) {
        if (lenient) continue;
        throw illegal(`failed to build synonyms for ${label}: more than one explicit mapping specified on the same line in rule [${line}]`);
      }
      const inputs = splitEscaped(sides[0]!, ',');
      const outputs = sides.length === 2 ? splitEscaped(sides[1]!, ',') : null;
      if (inputs.length === 0 || (outputs !== null && outputs.length === 0)) {
        if (lenient) continue;
        throw illegal(`failed to build synonyms for ${label}: rule [${line}] has an empty side`);
      }
      rules.push({ line, inputs, outputs });
    }
  }
  return rules;
}

/** A node of the phrase trie: the next word, and the replacements of the phrase ending here. */
interface TrieNode {
  next: Map<string, TrieNode>;
  outputs: string[][] | null;
}

function newNode(): TrieNode {
  return { next: new Map(), outputs: null };
}

/** The synonym map of one analyzer: phrases (as analysed words) → their replacements. */
export class SynonymMap {
  readonly root = newNode();
  /** Number of phrases with replacements. */
  size = 0;

  add(input: string[], output: string[]): void {
    let node = this.root;
    for (const w of input) {
      let next = node.next.get(w);
      if (!next) node.next.set(w, (next = newNode()));
      node = next;
    }
    if (node.outputs === null) {
      node.outputs = [];
      this.size++;
    }
    const key = output.join('\u0000');
    if (!node.outputs.some((o) => o.join('\u0000') === key)) node.outputs.push(output);
  }
}

/** A filter definition of type synonym / synonym_graph, validated; built per analyzer. */
export class SynonymRules {
  constructor(
    readonly label: string,
    private readonly rules: readonly RawRule[],
    private readonly expand: boolean,
    private readonly lenient: boolean,
  ) {}

  /**
   * The map for one analyzer: `analyzePhrase` runs what comes before the filter in that
   * analyzer. Throws illegal_argument_exception for a phrase it cannot use (unless lenient).
   */
  buildMap(analyzePhrase: (text: string) => Token[]): SynonymMap {
    const map = new SynonymMap();
    for (const rule of this.rules) {
      const inputs = this.analyzeAll(rule.inputs, rule.line, analyzePhrase);
      if (rule.outputs !== null) {
        const outputs = this.analyzeAll(rule.outputs, rule.line, analyzePhrase);
        for (const i of inputs) for (const o of outputs) map.add(i, o);
      } else if (this.expand) {
        for (const i of inputs) for (const o of inputs) map.add(i, o);
      } else if (inputs.length > 0) {
        for (const i of inputs) map.add(i, inputs[0]!);
      }
    }
    return map;
  }

  private analyzeAll(phrases: string[], line: string, analyzePhrase: (text: string) => Token[]): string[][] {
    const out: string[][] = [];
    for (const phrase of phrases) {
      const words = this.analyzePhrase(phrase, line, analyzePhrase);
      if (words !== null) out.push(words);
    }
    return out;
  }

  private analyzePhrase(phrase: string, line: string, analyze: (text: string) => Token[]): string[] | null {
    let problem: string | null = null;
    let tokens: Token[] = [];
    try {
      tokens = analyze(phrase);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem === null && tokens.length === 0) problem = `term [${phrase}] was completely eliminated by analyzer`;
    for (let i = 0; problem === null && i < tokens.length; i++) {
      if (tokens[i]!.position !== i) problem = `term [${phrase}] analyzed to a token [${tokens[i]!.term}] with position increment != 1`;
      else if (tokens[i]!.term === '') problem = `term [${phrase}] analyzed to an empty token`;
    }
    if (problem === null) return tokens.map((t) => t.term);
    if (this.lenient) return null;
    throw illegal(`failed to build synonyms for ${this.label}: ${problem} (rule [${line}])`);
  }
}

/** The longest phrase matching at group g: its length in positions, its tokens, its replacements. */
interface Match {
  length: number;
  path: Token[];
  outputs: string[][];
}

/** Depth-first over the stacked tokens of consecutive positions; keeps the longest match. */
function longestMatch(groups: Token[][], g: number, node: TrieNode, path: Token[], best: Match | null): Match | null {
  const group = groups[g];
  if (group === undefined) return best;
  if (path.length > 0 && group[0]!.position !== path[path.length - 1]!.position + 1) return best;
  for (const t of group) {
    const next = node.next.get(t.term);
    if (next === undefined) continue;
    path.push(t);
    if (next.outputs !== null && (best === null || path.length > best.length)) best = { length: path.length, path: path.slice(), outputs: next.outputs };
    if (next.next.size > 0) best = longestMatch(groups, g + 1, next, path, best);
    path.pop();
  }
  return best;
}

function sameWords(output: string[], path: Token[]): boolean {
  if (output.length !== path.length) return false;
  for (let i = 0; i < output.length; i++) if (output[i] !== path[i]!.term) return false;
  return true;
}

/** Applies a synonym map to a token stream (tokens in position order). */
export function applySynonyms(map: SynonymMap, tokens: Token[]): Token[] {
  if (tokens.length === 0 || map.size === 0) return tokens;
  // Tokens grouped by position (stacked tokens share a group).
  const groups: Token[][] = [];
  for (const t of tokens) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[0]!.position === t.position) last.push(t);
    else groups.push([t]);
  }
  const out: Token[] = [];
  let shift = 0;
  let reordered = false;
  for (let g = 0; g < groups.length; ) {
    const m = longestMatch(groups, g, map.root, [], null);
    if (m === null) {
      for (const t of groups[g]!) {
        t.position += shift;
        out.push(t);
      }
      g++;
      continue;
    }
    const at = groups[g]![0]!.position + shift;
    // The matched tokens stay when a replacement is the phrase itself.
    const keep = m.outputs.some((o) => sameWords(o, m.path));
    // Positions the alternatives take: the longest of them (the phrase is one when it stays).
    let width = keep ? m.length : 1;
    for (const o of m.outputs) if (o.length > width) width = o.length;
    const startOffset = m.path[0]!.startOffset;
    const endOffset = m.path[m.length - 1]!.endOffset;
    for (let k = 0; k < m.length; k++) {
      for (const t of groups[g + k]!) {
        if (!keep && t === m.path[k]) continue;
        t.position = at + (k < width ? k : width - 1); // tokens stacked on a replaced phrase stay within it
        out.push(t);
      }
    }
    if (keep && width > m.length) m.path[m.length - 1]!.positionLength = width - m.length + 1;
    for (const o of m.outputs) {
      if (keep && sameWords(o, m.path)) continue;
      for (let k = 0; k < o.length; k++) {
        const t: Token = { term: o[k]!, position: at + k, startOffset, endOffset };
        if (k === o.length - 1 && width > o.length) t.positionLength = width - o.length + 1;
        out.push(t);
      }
    }
    reordered = true;
    shift += width - m.length;
    g += m.length;
  }
  // Replacements were emitted phrase by phrase: put every token back in position order (stable).
  if (reordered) out.sort(byPosition);
  return out;
}

function byPosition(a: Token, b: Token): number {
  return a.position - b.position;
}

/** The settings a synonym / synonym_graph definition may have (the unsupported ones get their own message). */
export const SYNONYM_SETTINGS: readonly string[] = ['synonyms', 'synonyms_path', 'synonyms_set', 'expand', 'lenient', 'format', 'updateable'];

/** Validates a synonym / synonym_graph definition. */
export function synonymRulesFrom(def: Record<string, unknown>, label: string): SynonymRules {
  if (def.synonyms_path !== undefined) throw illegal(`[synonyms_path] of ${label} is not supported: give the rules inline in [synonyms]`);
  if (def.synonyms_set !== undefined) throw illegal(`[synonyms_set] of ${label} is not supported: give the rules inline in [synonyms]`);
  if (def.updateable !== undefined && def.updateable !== false && def.updateable !== 'false') throw illegal(`[updateable] of ${label} is not supported: synonyms are fixed at index creation`);
  const format = stringSetting(def, 'format', 'solr', label);
  if (format !== 'solr') throw illegal(`[format] of ${label} must be [solr] (the [wordnet] format is not supported), got [${format}]`);
  const synonyms = def.synonyms;
  if (synonyms === undefined) throw illegal(`${label} requires [synonyms] to be configured`);
  if (!Array.isArray(synonyms) || !synonyms.every((s) => typeof s === 'string')) throw illegal(`[synonyms] of ${label} must be an array of strings`);
  const lenient = boolSetting(def, 'lenient', false, label);
  const expand = boolSetting(def, 'expand', true, label);
  return new SynonymRules(label, parseSolrRules(synonyms as string[], label, lenient), expand, lenient);
}

/** The filter for one analyzer's map. */
export function synonymFilter(map: SynonymMap): TokenFilter {
  return (tokens) => applySynonyms(map, tokens);
}
