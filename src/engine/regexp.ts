/**
 * Lucene's regular expression syntax (the `regexp` query), translated to a JavaScript RegExp that
 * must match a whole term: `.`, `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, `|`, `( )`, `[ ]` classes
 * (ranges, `^` negation), `"quoted"` literals, `\` escapes and `\d \s \w` (and their negations).
 * Of the optional operators, `@` (any string) and `#` (the empty language) are supported; `~`
 * (complement), `&` (intersection) and `<n-m>` (numeric intervals) are refused rather than
 * misread. `flags` turn optional operators off, making their characters plain. `^` and `$` are
 * plain characters, as in Lucene.
 */
import { EngineError } from './types.ts';

const FLAG_NAMES = ['ALL', 'NONE', 'COMPLEMENT', 'INTERVAL', 'INTERSECTION', 'ANYSTRING', 'EMPTY'] as const;
/** The character each optional operator flag governs. */
const FLAG_CHARS: Record<string, string[]> = { COMPLEMENT: ['~'], INTERVAL: ['<', '>'], INTERSECTION: ['&'], ANYSTRING: ['@'], EMPTY: ['#'] };
const ALL_OPTIONAL = ['~', '<', '>', '&', '@', '#'];
// What must be escaped to be literal in a JavaScript `u` pattern: outside a class, and inside one.
const JS_SPECIAL = /[\\^$.*+?()[\]{}|/]/;
const JS_CLASS_SPECIAL = /[\\^$.*+?()[\]{}|/-]/;

function bad(pattern: string, why: string): never {
  throw new EngineError('parsing_exception', `[regexp] cannot parse [${pattern}]: ${why}`);
}

/** The optional operator characters `flags` (Elasticsearch's `ALL|NONE|COMPLEMENT|...`, default ALL) turn on. */
export function regexpOperators(flags: unknown): Set<string> {
  if (flags === undefined) return new Set(ALL_OPTIONAL);
  if (typeof flags !== 'string') throw new EngineError('parsing_exception', '[regexp] flags must be a string such as "ALL" or "INTERVAL|ANYSTRING"');
  const on = new Set<string>();
  for (const raw of flags.split('|')) {
    const name = raw.trim().toUpperCase();
    if (!(FLAG_NAMES as readonly string[]).includes(name)) throw new EngineError('parsing_exception', `[regexp] unknown flag [${raw}]; known: ${FLAG_NAMES.join(', ')}`);
    if (name === 'ALL') ALL_OPTIONAL.forEach((c) => on.add(c));
    else if (name !== 'NONE') FLAG_CHARS[name]!.forEach((c) => on.add(c));
  }
  return on;
}

/** A JavaScript pattern for a literal character. */
function literal(c: string): string {
  return JS_SPECIAL.test(c) ? `\\${c}` : c;
}

function classLiteral(c: string): string {
  return JS_CLASS_SPECIAL.test(c) ? `\\${c}` : c;
}

const SHORTHAND: Record<string, string> = { d: '[0-9]', D: '[^0-9]', s: '[ \\t\\n\\r\\f\\v]', S: '[^ \\t\\n\\r\\f\\v]', w: '[A-Za-z0-9_]', W: '[^A-Za-z0-9_]' };

/**
 * The regexp as a whole-term RegExp, and the literal prefix every match starts with (to narrow
 * the dictionary scan; '' when there is none).
 */
export function luceneRegExp(pattern: string, operators: Set<string>, caseInsensitive: boolean): { re: RegExp; prefix: string } {
  let out = '';
  let i = 0;
  let depth = 0;
  // What a quantifier may follow: an atom, or (for a lazy `?`, the same strings) a quantifier.
  let last: 'none' | 'atom' | 'quantifier' = 'none';
  while (i < pattern.length) {
    const c = pattern[i++]!;
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      let q = c;
      if (c === '{') {
        const end = pattern.indexOf('}', i);
        const body = end < 0 ? '' : pattern.slice(i, end);
        if (!/^\d+(,\d*)?$/.test(body)) bad(pattern, 'a repetition must be {n}, {n,} or {n,m}');
        const [lo, hi] = body.split(',');
        if (hi !== undefined && hi !== '' && Number(hi) < Number(lo)) bad(pattern, `the repetition {${body}} is empty`);
        q = `{${body}}`;
        i = end + 1;
      }
      if (last === 'none' || (last === 'quantifier' && q !== '?')) bad(pattern, `[${q}] follows nothing it can repeat`);
      out += q;
      last = 'quantifier';
      continue;
    }
    last = 'atom';
    if (c === '\\') {
      if (i >= pattern.length) bad(pattern, 'it ends with an escape');
      const e = pattern[i++]!;
      out += SHORTHAND[e] ?? literal(e);
    } else if (c === '"') {
      const end = pattern.indexOf('"', i);
      if (end < 0) bad(pattern, 'a quoted string is not closed');
      // A group: a quantifier after the quotes repeats the whole string.
      out += `(?:${[...pattern.slice(i, end)].map(literal).join('')})`;
      i = end + 1;
    } else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) bad(pattern, 'a character class is not closed');
      out += characterClass(pattern, pattern.slice(i, end));
      i = end + 1;
    } else if (c === '(') {
      depth++;
      out += '(?:';
      last = 'none';
    } else if (c === ')') {
      if (--depth < 0) bad(pattern, 'a ) has no (');
      out += ')';
    } else if (c === '|') {
      out += '|';
      last = 'none';
    } else if (c === '.') out += '[\\s\\S]';
    else if (operators.has(c)) {
      if (c === '@') out += '[\\s\\S]*';
      else if (c === '#') out += '(?!)';
      else bad(pattern, `the [${c}] operator (${c === '~' ? 'complement' : c === '&' ? 'intersection' : 'numeric interval'}) is not supported; escape it, or leave it out of [flags]`);
    } else out += literal(c);
  }
  if (depth > 0) bad(pattern, 'a ( is not closed');
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${out})$`, caseInsensitive ? 'iu' : 'u');
  } catch (err) {
    bad(pattern, (err as Error).message);
  }
  return { re, prefix: caseInsensitive ? '' : literalPrefix(pattern, operators) };
}

/** Index of the `]` closing a class whose body starts at `from` (a leading `]` or `^]` is literal). */
function classEnd(pattern: string, from: number): number {
  let i = from;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  return -1;
}

function characterClass(pattern: string, body: string): string {
  let out = '[';
  let i = 0;
  if (body[0] === '^') {
    out += '^';
    i = 1;
  }
  if (i >= body.length) bad(pattern, 'a character class is empty');
  for (; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const e = body[++i] ?? '\\';
      // \d, \s, \w inside a class: their ranges (the negated ones have no such form).
      if ('dsw'.includes(e)) out += SHORTHAND[e]!.slice(1, -1);
      else if ('DSW'.includes(e)) bad(pattern, `[\\${e}] cannot stand inside a character class`);
      else out += classLiteral(e);
    } else if (c === '-' && i > 0 && i < body.length - 1 && !(i === 1 && body[0] === '^')) out += '-';
    else out += classLiteral(c);
  }
  return `${out}]`;
}

/**
 * The plain characters the pattern starts with, less the last one when a quantifier follows it;
 * '' when the pattern has an alternation anywhere (its branches need not share a prefix).
 */
function literalPrefix(pattern: string, operators: Set<string>): string {
  if (pattern.includes('|')) return '';
  let prefix = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if ('.?*+{}[]()"\\'.includes(c) || operators.has(c)) {
      if ('?*{'.includes(c)) prefix = prefix.slice(0, -1);
      break;
    }
    prefix += c;
  }
  return prefix;
}
