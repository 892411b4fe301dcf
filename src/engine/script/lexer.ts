/**
 * Tokens of the script language (a Painless subset): numbers, strings in '…' or "…", names,
 * operators and punctuation, each with its offset in the source for error positions.
 */
import { compileError } from './errors.ts';

export type TokenKind = 'num' | 'str' | 'name' | 'op' | 'eof';

export interface ScriptToken {
  kind: TokenKind;
  /** The operator or name as written; a string's decoded text; a number's source text. */
  text: string;
  num: number;
  start: number;
  end: number;
}

// Longest first: the lexer takes the first that matches. Some lex only so an error can name them.
const OPERATORS = [
  '>>>=', '===', '!==', '>>>', '<<=', '>>=',
  '==', '!=', '<=', '>=', '&&', '||', '++', '--', '+=', '-=', '*=', '/=', '%=', '<<', '>>', '?:', '?.',
  '+', '-', '*', '/', '%', '<', '>', '=', '!', '?', ':', '.', ',', ';', '(', ')', '[', ']', '{', '}', '&', '|', '^', '~',
];

/** Escapes in string literals, as Java has them. */
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', b: '\b', f: '\f', '0': '\0' };

function isNameStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function tokenize(source: string): ScriptToken[] {
  const out: ScriptToken[] = [];
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '/') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i + 2);
      if (close < 0) throw compileError(source, i, 'unterminated comment');
      i = close + 2;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === '.' && isDigit(source[i + 1] ?? ''))) {
      i = numberEnd(source, i);
      const text = source.slice(start, i);
      // Java's type suffixes (1L, 2.0d, 3f) are accepted and ignored: every number is a double here.
      const digits = text.replace(/[lLdDfF]$/, '');
      const num = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : Number(digits);
      if (!Number.isFinite(num)) throw compileError(source, start, `invalid number [${text}]`);
      out.push({ kind: 'num', text, num, start, end: i });
      continue;
    }
    if (isNameStart(c)) {
      while (i < n && (isNameStart(source[i]!) || isDigit(source[i]!))) i++;
      out.push({ kind: 'name', text: source.slice(start, i), num: 0, start, end: i });
      continue;
    }
    if (c === "'" || c === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= n) throw compileError(source, start, 'unterminated string');
        const d = source[i]!;
        if (d === c) break;
        if (d === '\\') {
          const e = ESCAPES[source[i + 1] ?? ''];
          if (e === undefined) throw compileError(source, i, `invalid escape [\\${source[i + 1] ?? ''}]`);
          text += e;
          i += 2;
          continue;
        }
        text += d;
        i++;
      }
      i++;
      out.push({ kind: 'str', text, num: 0, start, end: i });
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op === undefined) throw compileError(source, i, `unexpected character [${c}]`);
    i += op.length;
    out.push({ kind: 'op', text: op, num: 0, start, end: i });
  }
  out.push({ kind: 'eof', text: '<EOF>', num: 0, start: n, end: n });
  return out;
}

function numberEnd(s: string, i: number): number {
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
    i += 2;
    while (i < s.length && /[0-9a-fA-F]/.test(s[i]!)) i++;
    if (s[i] === 'l' || s[i] === 'L') i++;
    return i;
  }
  while (i < s.length && isDigit(s[i]!)) i++;
  // A dot followed by a digit is a fraction; `1.size()` style member access does not occur on literals.
  if (s[i] === '.' && isDigit(s[i + 1] ?? '')) {
    i++;
    while (i < s.length && isDigit(s[i]!)) i++;
  }
  if (s[i] === 'e' || s[i] === 'E') {
    let j = i + 1;
    if (s[j] === '+' || s[j] === '-') j++;
    if (isDigit(s[j] ?? '')) {
      i = j;
      while (i < s.length && isDigit(s[i]!)) i++;
    }
  }
  if (/[lLdDfF]/.test(s[i] ?? '')) i++;
  return i;
}
