/**
 * Char filters in Elasticsearch's shape: `html_strip`, `mapping` and `pattern_replace` rewrite the
 * text before the tokenizer sees it. Each keeps a map of where it changed the text (as Lucene's
 * BaseCharFilter does), so token offsets can be turned back into offsets of the original text:
 * highlighting marks the original's characters, not the filtered text's.
 */
import { EngineError, isPlainObject } from '../types.ts';
import { compileJavaPattern, expandReplacement, parseReplacement, type Replacement } from './patterns.ts';

function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

// ---------------------------------------------------------------------------------------------
// offset maps

/**
 * Where a filtered text came from: the edits that made it, each an output range [outStart,
 * outEnd) that replaced an input range [inStart, inEnd); text between edits was copied as is.
 * Edits are in order and never touch (touching edits are merged), so outStart strictly increases.
 */
export class OffsetMap {
  constructor(
    private readonly outStart: Int32Array,
    private readonly outEnd: Int32Array,
    private readonly inStart: Int32Array,
    private readonly inEnd: Int32Array,
  ) {}

  /** Index of the last edit with outStart <= off (strict: < off), or -1. */
  private editAt(off: number, strict: boolean): number {
    const starts = this.outStart;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (strict ? starts[mid]! < off : starts[mid]! <= off) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** The input offset where a token starting at output offset `off` starts. */
  start(off: number): number {
    const k = this.editAt(off, false);
    if (k < 0) return off;
    // Inside a replacement: the whole replaced input; after it: shifted like the copied text.
    return off < this.outEnd[k]! ? this.inStart[k]! : off - this.outEnd[k]! + this.inEnd[k]!;
  }

  /**
   * The input offset where a token ending at output offset `off` ends: the end of a replacement
   * it ends inside or at, else shifted; markup removed right after a token is not part of it.
   */
  end(off: number): number {
    const k = this.editAt(off, true);
    if (k < 0) return off;
    return off <= this.outEnd[k]! ? this.inEnd[k]! : off - this.outEnd[k]! + this.inEnd[k]!;
  }
}

/** A char filter's result: the text, and how to map its offsets back (null: unchanged). */
export interface CharFiltered {
  text: string;
  offsets: OffsetMap | null;
}

export type CharFilter = (text: string) => CharFiltered;

/** Builds a filtered text from an input, left to right: copies, and replacements of input ranges. */
class TextEditor {
  private readonly parts: string[] = [];
  private copiedTo = 0;
  private outLength = 0;
  private readonly outStart: number[] = [];
  private readonly outEnd: number[] = [];
  private readonly inStart: number[] = [];
  private readonly inEnd: number[] = [];

  constructor(private readonly input: string) {}

  /** Replaces input[from, to) (from >= everything before) by `by`. */
  replace(from: number, to: number, by: string): void {
    if (from > this.copiedTo) {
      this.parts.push(this.input.slice(this.copiedTo, from));
      this.outLength += from - this.copiedTo;
    }
    const outFrom = this.outLength;
    this.parts.push(by);
    this.outLength += by.length;
    this.copiedTo = to;
    const k = this.outStart.length - 1;
    if (k >= 0 && this.inEnd[k] === from && this.outEnd[k] === outFrom) {
      this.inEnd[k] = to;
      this.outEnd[k] = this.outLength;
    } else {
      this.outStart.push(outFrom);
      this.outEnd.push(this.outLength);
      this.inStart.push(from);
      this.inEnd.push(to);
    }
  }

  finish(): CharFiltered {
    if (this.outStart.length === 0) return { text: this.input, offsets: null };
    this.parts.push(this.input.slice(this.copiedTo));
    const map = new OffsetMap(Int32Array.from(this.outStart), Int32Array.from(this.outEnd), Int32Array.from(this.inStart), Int32Array.from(this.inEnd));
    return { text: this.parts.join(''), offsets: map };
  }
}

// ---------------------------------------------------------------------------------------------
// html_strip

/** Elements that break the text: replaced by a newline (so words on either side stay apart). */
const BLOCK_ELEMENTS = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'caption', 'dd', 'div', 'dl', 'dt', 'fieldset', 'figcaption',
  'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hgroup', 'hr', 'li', 'main', 'nav',
  'noscript', 'ol', 'output', 'p', 'pre', 'section', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul', 'video',
]);

/** Elements whose content is not text: removed with the element, up to their end tag. */
const SKIPPED_ELEMENTS = new Map([
  ['script', /<\/script/gi],
  ['style', /<\/style/gi],
]);

const NO_TAGS: ReadonlySet<string> = new Set();

/** HTML 4's Latin-1 entities, U+00A0 to U+00FF in order. */
const LATIN1_ENTITIES = (
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute ' +
  'micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde Auml Aring AElig ' +
  'Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash ' +
  'Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc ' +
  'euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml ' +
  'yacute thorn yuml'
).split(' ');

const ENTITIES = new Map<string, string>([
  ['quot', '"'], ['amp', '&'], ['lt', '<'], ['gt', '>'], ['apos', "'"],
  ['OElig', 'Œ'], ['oelig', 'œ'], ['Scaron', 'Š'], ['scaron', 'š'], ['Yuml', 'Ÿ'], ['fnof', 'ƒ'], ['circ', 'ˆ'],
  ['tilde', '˜'], ['ensp', '\u2002'], ['emsp', '\u2003'], ['thinsp', '\u2009'], ['zwnj', '\u200c'], ['zwj', '\u200d'],
  ['lrm', '\u200e'], ['rlm', '\u200f'], ['ndash', '–'], ['mdash', '—'], ['lsquo', '‘'], ['rsquo', '’'], ['sbquo', '‚'],
  ['ldquo', '“'], ['rdquo', '”'], ['bdquo', '„'], ['dagger', '†'], ['Dagger', '‡'], ['bull', '•'], ['hellip', '…'],
  ['permil', '‰'], ['prime', '′'], ['Prime', '″'], ['lsaquo', '‹'], ['rsaquo', '›'], ['oline', '‾'], ['frasl', '⁄'],
  ['euro', '€'], ['trade', '™'], ['larr', '←'], ['uarr', '↑'], ['rarr', '→'], ['darr', '↓'], ['harr', '↔'],
  ['minus', '−'], ['le', '≤'], ['ge', '≥'], ['ne', '≠'], ['infin', '∞'], ['asymp', '≈'],
]);
LATIN1_ENTITIES.forEach((name, i) => ENTITIES.set(name, String.fromCharCode(0xa0 + i)));

const RE_ENTITY = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));/y;
const RE_TAG_NAME = /[A-Za-z][A-Za-z0-9:_-]*/y;

/** End (exclusive) of a tag whose name ends at `i`: past attributes (quoted values may hold `>`), or -1. */
function tagEnd(text: string, i: number): number {
  let quote = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e) return i + 1;
    else if (c === 0x3c) return -1; // a new "<" first: this one was not a tag
  }
  return -1;
}

/** Strips markup from HTML: tags, comments, declarations; decodes entities; keeps escaped tags. */
export function htmlStrip(text: string, escapedTags: ReadonlySet<string> = NO_TAGS): CharFiltered {
  let i = text.indexOf('<');
  let amp = text.indexOf('&');
  if (i < 0 && amp < 0) return { text, offsets: null };
  const ed = new TextEditor(text);
  i = Math.min(i < 0 ? Infinity : i, amp < 0 ? Infinity : amp);
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x26) {
      RE_ENTITY.lastIndex = i;
      const m = RE_ENTITY.exec(text);
      const decoded = m ? decodeEntity(m) : undefined;
      if (decoded !== undefined) {
        ed.replace(i, RE_ENTITY.lastIndex, decoded);
        i = RE_ENTITY.lastIndex;
        continue;
      }
      i++;
      continue;
    }
    if (c !== 0x3c) {
      i++;
      continue;
    }
    const next = skipMarkup(text, i, ed, escapedTags);
    i = next > i ? next : i + 1;
  }
  return ed.finish();
}

function decodeEntity(m: RegExpExecArray): string | undefined {
  if (m[3] !== undefined) return ENTITIES.get(m[3]);
  const cp = m[1] !== undefined ? Number(m[1]) : parseInt(m[2]!, 16);
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return String.fromCodePoint(cp);
}

/** Handles markup starting with "<" at i; returns where scanning resumes (i when it is not markup). */
function skipMarkup(text: string, i: number, ed: TextEditor, escapedTags: ReadonlySet<string>): number {
  if (text.startsWith('<!--', i)) {
    const close = text.indexOf('-->', i + 4);
    if (close < 0) return i;
    ed.replace(i, close + 3, '');
    return close + 3;
  }
  if (text.startsWith('<![CDATA[', i)) {
    const close = text.indexOf(']]>', i + 9);
    if (close < 0) return i;
    // The content is text: only the markers go.
    ed.replace(i, i + 9, '');
    ed.replace(close, close + 3, '');
    return close + 3;
  }
  const second = text.charCodeAt(i + 1);
  if (second === 0x21 || second === 0x3f) {
    // <!DOCTYPE …>, <?xml …?>
    const end = tagEnd(text, i + 2);
    if (end < 0) return i;
    ed.replace(i, end, '');
    return end;
  }
  const closing = second === 0x2f;
  RE_TAG_NAME.lastIndex = i + (closing ? 2 : 1);
  const m = RE_TAG_NAME.exec(text);
  if (!m) return i;
  const end = tagEnd(text, RE_TAG_NAME.lastIndex);
  if (end < 0) return i;
  const name = m[0].toLowerCase();
  if (escapedTags.has(name)) return end;
  const endTag = closing ? undefined : SKIPPED_ELEMENTS.get(name);
  if (endTag) {
    // The element and its content: up to its end tag (or the end of the text).
    const closeAt = findEndTag(text, end, endTag, name.length);
    const to = closeAt < 0 ? text.length : closeAt;
    ed.replace(i, to, '');
    return to;
  }
  ed.replace(i, end, BLOCK_ELEMENTS.has(name) ? '\n' : '');
  return end;
}

/** End (exclusive) of the first end tag (`</name …>`, found by `re`) at or after `from`, or -1. */
function findEndTag(text: string, from: number, re: RegExp, nameLength: number): number {
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = tagEnd(text, m.index + 2 + nameLength);
    if (end > 0) return end;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// mapping

/** Unescapes a side of a mapping rule as ES does: \\ \" \' \n \t \r \b \f \uXXXX. */
function unescapeRule(s: string, rule: string, label: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    switch (e) {
      case '\\': case '"': case "'": out += e; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw illegal(`invalid escape in mapping rule [${rule}] of ${label}`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        throw illegal(`invalid escape [\\${e ?? ''}] in mapping rule [${rule}] of ${label}`);
    }
  }
  return out;
}

/** Parses `"key => value"` rules; keys must be unique and non-empty, values may be empty. */
export function parseMappings(rules: unknown, label: string): Map<string, string> {
  if (!Array.isArray(rules) || !rules.every((r) => typeof r === 'string')) throw illegal(`[mappings] of ${label} must be an array of strings`);
  const map = new Map<string, string>();
  for (const rule of rules as string[]) {
    const arrow = rule.indexOf('=>');
    if (arrow < 0) throw illegal(`invalid mapping rule [${rule}] of ${label}: expected "key => value"`);
    const key = unescapeRule(rule.slice(0, arrow).trim(), rule, label);
    const value = unescapeRule(rule.slice(arrow + 2).trim(), rule, label);
    if (key === '') throw illegal(`invalid mapping rule [${rule}] of ${label}: the key is empty`);
    if (map.has(key)) throw illegal(`mapping key [${key}] of ${label} is given twice`);
    map.set(key, value);
  }
  return map;
}

/** Replaces every occurrence of a key by its value; the longest key matching at a point wins. */
export function mappingCharFilter(map: ReadonlyMap<string, string>): CharFilter {
  // Keys by first UTF-16 unit, longest first.
  const byFirst = new Map<number, string[]>();
  for (const key of map.keys()) {
    const list = byFirst.get(key.charCodeAt(0)) ?? [];
    list.push(key);
    byFirst.set(key.charCodeAt(0), list);
  }
  for (const list of byFirst.values()) list.sort((a, b) => b.length - a.length);
  return (text) => {
    let ed: TextEditor | null = null;
    for (let i = 0; i < text.length; ) {
      const keys = byFirst.get(text.charCodeAt(i));
      const key = keys?.find((k) => text.startsWith(k, i));
      if (key === undefined) {
        i++;
        continue;
      }
      ed ??= new TextEditor(text);
      ed.replace(i, i + key.length, map.get(key)!);
      i += key.length;
    }
    return ed ? ed.finish() : { text, offsets: null };
  };
}

// ---------------------------------------------------------------------------------------------
// pattern_replace

/** Replaces every match of a regex (Java's `$1` groups in the replacement). */
export function patternReplaceCharFilter(re: RegExp, replacement: Replacement): CharFilter {
  return (text) => {
    let ed: TextEditor | null = null;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const end = m.index + m[0].length;
      ed ??= new TextEditor(text);
      ed.replace(m.index, end, expandReplacement(replacement, m));
      // An empty match must not match again at the same place.
      if (end === m.index) re.lastIndex = end + ((text.charCodeAt(end) & 0xfc00) === 0xd800 && (text.charCodeAt(end + 1) & 0xfc00) === 0xdc00 ? 2 : 1);
    }
    return ed ? ed.finish() : { text, offsets: null };
  };
}

// ---------------------------------------------------------------------------------------------
// factory

export const BUILTIN_CHAR_FILTERS: readonly string[] = ['html_strip'];

const HTML_STRIP: CharFilter = (text) => htmlStrip(text);

/** The settings each char filter type takes besides `type`. */
const CHAR_FILTER_SETTINGS: Record<string, readonly string[]> = {
  html_strip: ['escaped_tags'],
  mapping: ['mappings', 'mappings_path'],
  pattern_replace: ['pattern', 'replacement', 'flags'],
};

/**
 * A char filter from a built-in name ("html_strip") or a definition from index settings
 * (`{ type: 'mapping', mappings: ['ph => f'] }`). `name` is used in error messages.
 */
export function createCharFilter(definition: unknown, name?: string): CharFilter {
  if (typeof definition === 'string') {
    if (definition === 'html_strip') return HTML_STRIP;
    throw illegal(`failed to find char_filter under name [${definition}]`);
  }
  const label = `char_filter [${name ?? '_anonymous_'}]`;
  if (!isPlainObject(definition)) throw illegal(`${label} must be a name or an object`);
  const def = definition;
  const type = def.type;
  if (typeof type !== 'string') throw illegal(`${label} must specify [type]`);
  const allowed = CHAR_FILTER_SETTINGS[type];
  if (!allowed) throw illegal(`Unknown char_filter type [${type}] for [${name ?? '_anonymous_'}]`);
  for (const k in def) if (k !== 'type' && !allowed.includes(k)) throw illegal(`unknown setting [${k}] of ${label} of type [${type}] (supported: ${allowed.join(', ')})`);
  switch (type) {
    case 'html_strip': {
      const tags = def.escaped_tags ?? [];
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw illegal(`[escaped_tags] of ${label} must be an array of strings`);
      if (tags.length === 0) return HTML_STRIP;
      const escaped = new Set((tags as string[]).map((t) => t.toLowerCase()));
      return (text) => htmlStrip(text, escaped);
    }
    case 'mapping':
      if (def.mappings_path !== undefined) throw illegal(`[mappings_path] of ${label} is not supported: give the rules inline in [mappings]`);
      if (def.mappings === undefined) throw illegal(`mapping requires [mappings] to be configured (${label})`);
      return mappingCharFilter(parseMappings(def.mappings, label));
    default: {
      if (def.pattern === undefined) throw illegal(`[pattern] is missing for ${label} of type [pattern_replace]`);
      const pattern = compileJavaPattern(def.pattern, def.flags, label);
      return patternReplaceCharFilter(pattern.make('g'), parseReplacement(def.replacement ?? '', pattern, label));
    }
  }
}

/**
 * Runs char filters in order; returns the text for the tokenizer and the maps to correct its
 * offsets with (last filter's first), or null when nothing changed.
 */
export function applyCharFilters(filters: readonly CharFilter[], text: string): { text: string; maps: OffsetMap[] | null } {
  let maps: OffsetMap[] | null = null;
  for (let i = 0; i < filters.length; i++) {
    const r = filters[i]!(text);
    if (r.offsets !== null) (maps ??= []).unshift(r.offsets);
    text = r.text;
  }
  return { text, maps };
}
