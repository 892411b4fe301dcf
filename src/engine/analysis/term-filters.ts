/**
 * Token filters that rewrite or mark each token on its own, in Elasticsearch's shape: `trim`,
 * `reverse`, `elision`, `keyword_marker` and `pattern_replace`. Positions and offsets are kept
 * (as Lucene's do since 4.x), so highlighting still marks the original word.
 */
import type { TokenFilter } from './filters.ts';
import { JAVA_WHITESPACE } from './char-classes.ts';
import { compileJavaPattern, expandReplacement, parseReplacement, type Replacement } from './patterns.ts';
import { boolSetting, illegal, stringListSetting } from './settings.ts';

// ---------------------------------------------------------------------------------------------
// trim, reverse

/** Removes leading and trailing whitespace (Java's Character.isWhitespace) from each term. */
export const trimFilter: TokenFilter = (tokens) => {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const term = t.term;
    let a = 0;
    let b = term.length;
    while (a < b && JAVA_WHITESPACE[term.charCodeAt(a)] === 1) a++;
    while (b > a && JAVA_WHITESPACE[term.charCodeAt(b - 1)] === 1) b--;
    if (a > 0 || b < term.length) t.term = term.slice(a, b);
  }
  return tokens;
};

/** Reverses a string by code points (a surrogate pair stays a pair). */
export function reverseTerm(term: string): string {
  let out = '';
  for (let i = term.length - 1; i >= 0; i--) {
    const c = term.charCodeAt(i);
    if ((c & 0xfc00) === 0xdc00 && i > 0 && (term.charCodeAt(i - 1) & 0xfc00) === 0xd800) {
      out += term.slice(i - 1, i + 1);
      i--;
    } else out += term[i];
  }
  return out;
}

export const reverseFilter: TokenFilter = (tokens) => {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    t.term = reverseTerm(t.term);
  }
  return tokens;
};

// ---------------------------------------------------------------------------------------------
// elision

/** Lucene's French articles, ES's default for `elision`. */
export const FRENCH_ELISION_ARTICLES: readonly string[] = ['l', 'm', 't', 'qu', 'n', 's', 'j', 'd', 'c', 'jusqu', 'quoiqu', 'lorsqu', 'puisqu'];

/** Strips an article and its apostrophe (' or ’) from the start of terms: "l'avion" → "avion". */
export function elisionFilter(articles: readonly string[], ignoreCase: boolean): TokenFilter {
  const set = new Set(ignoreCase ? articles.map((a) => a.toLowerCase()) : articles);
  return (tokens) => {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const term = t.term;
      let q = -1;
      for (let j = 0; j < term.length; j++) {
        const c = term.charCodeAt(j);
        if (c === 0x27 || c === 0x2019) {
          q = j;
          break;
        }
      }
      if (q < 0) continue;
      const article = term.slice(0, q);
      if (set.has(ignoreCase ? article.toLowerCase() : article)) t.term = term.slice(q + 1);
    }
    return tokens;
  };
}

// ---------------------------------------------------------------------------------------------
// keyword_marker

/** Marks tokens as keywords (stemmers then leave them alone): listed words, or a whole-term regex. */
export function keywordMarkerFilter(keywords: readonly string[] | null, pattern: RegExp | null, ignoreCase: boolean): TokenFilter {
  const set = keywords === null ? null : new Set(ignoreCase ? keywords.map((k) => k.toLowerCase()) : keywords);
  return (tokens) => {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      const hit = set !== null ? set.has(ignoreCase ? t.term.toLowerCase() : t.term) : pattern!.test(t.term);
      if (hit) t.keyword = true;
    }
    return tokens;
  };
}

// ---------------------------------------------------------------------------------------------
// pattern_replace

/** Replaces the matches of a regex in each term (all of them, or the first with all = false). */
export function patternReplaceFilter(re: RegExp, replacement: Replacement, all: boolean): TokenFilter {
  return (tokens) => {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      t.term = replaceIn(t.term, re, replacement, all);
    }
    return tokens;
  };
}

function replaceIn(term: string, re: RegExp, replacement: Replacement, all: boolean): string {
  re.lastIndex = 0;
  let m = re.exec(term);
  if (m === null) return term;
  let out = '';
  let from = 0;
  while (m !== null) {
    out += term.slice(from, m.index) + expandReplacement(replacement, m);
    from = m.index + m[0].length;
    if (!all) break;
    if (m[0].length === 0) {
      // An empty match: copy one character and search on after it.
      if (from >= term.length) break;
      const w = (term.charCodeAt(from) & 0xfc00) === 0xd800 && (term.charCodeAt(from + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      out += term.slice(from, from + w);
      from += w;
      re.lastIndex = from;
    }
    m = re.exec(term);
  }
  return out + term.slice(from);
}

// ---------------------------------------------------------------------------------------------
// definitions

export function elisionFilterFrom(def: Record<string, unknown>, label: string): TokenFilter {
  if (def.articles_path !== undefined) throw illegal(`[articles_path] of ${label} is not supported: give the articles inline in [articles]`);
  const articles = stringListSetting(def, 'articles', label);
  if (articles === undefined) {
    if (def.articles_case !== undefined) throw illegal(`[articles_case] of ${label} needs [articles] to be configured`);
    return elisionFilter(FRENCH_ELISION_ARTICLES, true); // ES's default list matches any case
  }
  return elisionFilter(articles, boolSetting(def, 'articles_case', false, label));
}

export function keywordMarkerFilterFrom(def: Record<string, unknown>, label: string): TokenFilter {
  if (def.keywords_path !== undefined) throw illegal(`[keywords_path] of ${label} is not supported: give the words inline in [keywords]`);
  const keywords = stringListSetting(def, 'keywords', label);
  const ignoreCase = boolSetting(def, 'ignore_case', false, label);
  if (def.keywords_pattern !== undefined) {
    if (keywords !== undefined) throw illegal(`cannot specify both [keywords_pattern] and [keywords] for ${label}`);
    const p = compileJavaPattern(def.keywords_pattern, undefined, label, 'keywords_pattern');
    // The whole term must match, as Java's Matcher.matches().
    const inner = p.make('');
    return keywordMarkerFilter(null, new RegExp(`^(?:${inner.source})$`, inner.flags), false);
  }
  if (keywords === undefined) throw illegal(`${label} requires either [keywords] or [keywords_pattern] to be set`);
  return keywordMarkerFilter(keywords, null, ignoreCase);
}

export function patternReplaceFilterFrom(def: Record<string, unknown>, label: string): TokenFilter {
  if (def.pattern === undefined) throw illegal(`[pattern] is missing for ${label} of type [pattern_replace]`);
  const pattern = compileJavaPattern(def.pattern, def.flags, label);
  const replacement = parseReplacement(def.replacement ?? '', pattern, label);
  return patternReplaceFilter(pattern.make('g'), replacement, boolSetting(def, 'all', true, label));
}
