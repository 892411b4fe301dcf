/**
 * Character classes as Elasticsearch's `token_chars` and `tokenize_on_chars` name them (letter,
 * digit, whitespace, punctuation, symbol), with Java's definitions. A BMP code unit is classified
 * once, ever, into a lookup table; astral code points through a small map.
 */

/** Java's Character.isWhitespace (so NBSP U+00A0, U+2007, U+202F are not whitespace). */
export const JAVA_WHITESPACE = new Uint8Array(0x10000);
for (const c of [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
  0x2004, 0x2005, 0x2006, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x205f, 0x3000,
])
  JAVA_WHITESPACE[c] = 1;

export const LETTER = 1;
export const DIGIT = 2;
export const WHITESPACE = 4;
export const PUNCTUATION = 8;
export const SYMBOL = 16;
const COMPUTED = 128;

/** The class names ES accepts, and their bits. */
export const CHAR_CLASS_NAMES: Readonly<Record<string, number>> = {
  letter: LETTER,
  digit: DIGIT,
  whitespace: WHITESPACE,
  punctuation: PUNCTUATION,
  symbol: SYMBOL,
};

const RE_LETTER = /^\p{L}$/u;
const RE_DIGIT = /^\p{Nd}$/u;
const RE_PUNCT = /^\p{P}$/u;
const RE_SYMBOL = /^\p{S}$/u;

function classify(cp: number): number {
  if (cp >= 0xd800 && cp <= 0xdfff) return 0; // a lone surrogate is in no class
  const s = String.fromCodePoint(cp);
  let k = 0;
  if (RE_LETTER.test(s)) k |= LETTER;
  if (RE_DIGIT.test(s)) k |= DIGIT;
  if (cp <= 0xffff && JAVA_WHITESPACE[cp] === 1) k |= WHITESPACE;
  if (RE_PUNCT.test(s)) k |= PUNCTUATION;
  if (RE_SYMBOL.test(s)) k |= SYMBOL;
  return k;
}

const BMP = new Uint8Array(0x10000);
const ASTRAL = new Map<number, number>();

/** The class bits of a code point. */
export function charClass(cp: number): number {
  if (cp <= 0xffff) {
    const k = BMP[cp]!;
    if (k !== 0) return k & ~COMPUTED;
    const c = classify(cp);
    BMP[cp] = c | COMPUTED;
    return c;
  }
  let k = ASTRAL.get(cp);
  if (k === undefined) ASTRAL.set(cp, (k = classify(cp)));
  return k;
}

/** Which code points belong: any of `classes` (bits), or one of `extra`. */
export class CharSet {
  constructor(
    private readonly classes: number,
    private readonly extra: ReadonlySet<number>,
  ) {}

  has(cp: number): boolean {
    return (this.classes !== 0 && (charClass(cp) & this.classes) !== 0) || (this.extra.size > 0 && this.extra.has(cp));
  }
}

/** The code point at i and its UTF-16 width (a lone surrogate is a code point of width 1). */
export function codePointWidth(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}
