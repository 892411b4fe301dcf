/**
 * Regular expressions as Elasticsearch's pattern components take them (Java's syntax and flag
 * names), compiled once, at index creation, to JavaScript RegExps; and Java's replacement strings
 * (`$1`, `${name}`, `\$`). Anything JavaScript cannot do the same way is refused there, never at
 * analysis time.
 */
import { EngineError } from '../types.ts';

function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

/** Java Pattern flags ES accepts by name, and what each becomes here (null: refused). */
const JAVA_FLAGS: Record<string, string | null> = {
  CASE_INSENSITIVE: 'i',
  MULTILINE: 'm',
  DOTALL: 's',
  UNICODE_CASE: '', // JavaScript's case folding is Unicode-aware already
  LITERAL: '',
  COMMENTS: null,
  CANON_EQ: null,
  UNICODE_CHARACTER_CLASS: null,
  UNIX_LINES: null,
};

export interface CompiledPattern {
  /**
   * The expression with the flags given plus `extra`. Made once per component: its users reset
   * lastIndex before each scan (analysis never re-enters one scan from another).
   */
  make(extra: string): RegExp;
  /** Capturing groups in the expression. */
  groups: number;
  /** Named groups in the expression. */
  names: ReadonlySet<string>;
}

/**
 * Compiles `pattern` with Java `flags` ("CASE_INSENSITIVE|DOTALL"). Tries Unicode mode first (so
 * `\p{L}` works), then legacy mode (which accepts Java's identity escapes such as `\-`).
 */
export function compileJavaPattern(pattern: unknown, flags: unknown, label: string, key = 'pattern'): CompiledPattern {
  if (typeof pattern !== 'string') throw illegal(`[${key}] of ${label} must be a string`);
  if (flags !== undefined && flags !== null && typeof flags !== 'string') throw illegal(`[flags] of ${label} must be a string of flag names separated by |`);
  let js = '';
  let literal = false;
  for (const raw of typeof flags === 'string' ? flags.split('|') : []) {
    const name = raw.trim();
    if (name === '') continue;
    if (!Object.hasOwn(JAVA_FLAGS, name)) throw illegal(`unknown regex flag [${name}] in [flags] of ${label}`);
    const f = JAVA_FLAGS[name];
    if (f === null) throw illegal(`regex flag [${name}] in [flags] of ${label} is not supported`);
    if (name === 'LITERAL') literal = true;
    if (f && !js.includes(f)) js += f;
  }
  const source = literal ? pattern.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&') : pattern;
  let base = '';
  for (const mode of ['u', '']) {
    try {
      new RegExp(source, js + mode);
      base = js + mode;
      break;
    } catch (e) {
      if (mode === '') throw illegal(`invalid [${key}] [${pattern}] of ${label}: ${(e as Error).message}`);
    }
  }
  // An alternative that always matches the empty string reveals the number of groups.
  const groups = new RegExp(`${source}|`, base).exec('')!.length - 1;
  const names = new Set<string>();
  for (const m of source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)) names.add(m[1]!);
  return {
    make(extra) {
      return new RegExp(source, base + extra);
    },
    groups,
    names,
  };
}

/** A replacement string cut into literal text and group references (number or name). */
export type Replacement = ReadonlyArray<string | number | { name: string }>;

/**
 * Parses a Java replacement string: `$n` (the longest number that is a group), `${name}`, `\x`
 * for a literal x; any other `$` is an error, as in Java.
 */
export function parseReplacement(replacement: unknown, pattern: CompiledPattern, label: string): Replacement {
  if (replacement === undefined || replacement === null) return [];
  if (typeof replacement !== 'string') throw illegal(`[replacement] of ${label} must be a string`);
  const parts: Array<string | number | { name: string }> = [];
  let text = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i]!;
    if (c === '\\') {
      if (i + 1 >= replacement.length) throw illegal(`character to be escaped is missing at the end of [replacement] of ${label}`);
      text += replacement[++i];
      continue;
    }
    if (c !== '$') {
      text += c;
      continue;
    }
    if (text) parts.push(text);
    text = '';
    if (replacement[i + 1] === '{') {
      const close = replacement.indexOf('}', i + 2);
      const name = close < 0 ? '' : replacement.slice(i + 2, close);
      if (!pattern.names.has(name)) throw illegal(`no group with name {${name}} in [pattern] of ${label} (used in [replacement])`);
      parts.push({ name });
      i = close;
      continue;
    }
    const d = replacement.charCodeAt(i + 1) - 48;
    if (!(d >= 0 && d <= 9)) throw illegal(`illegal group reference in [replacement] of ${label}: "$" must be followed by a group number or {name} (write \\$ for a dollar sign)`);
    let group = d;
    i++;
    while (i + 1 < replacement.length) {
      const next = replacement.charCodeAt(i + 1) - 48;
      if (!(next >= 0 && next <= 9) || group * 10 + next > pattern.groups) break;
      group = group * 10 + next;
      i++;
    }
    if (group > pattern.groups) throw illegal(`no group ${group} in [pattern] of ${label} (used in [replacement])`);
    parts.push(group);
  }
  if (text) parts.push(text);
  return parts;
}

/** The replacement for one match. */
export function expandReplacement(parts: Replacement, match: RegExpExecArray): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') out += match[p] ?? '';
    else out += match.groups?.[p.name] ?? '';
  }
  return out;
}
