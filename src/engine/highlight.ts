/**
 * The highlighter: re-analyses a hit's stored text with the field's analyzer and wraps the
 * query's terms in tags. A value longer than `fragmentSize` characters is cut into fragments of
 * about that size around its matches, on word boundaries; the `numberOfFragments` fragments with
 * the most distinct matched terms (then the most matches, then the earliest) are returned, in
 * text order. `numberOfFragments: Infinity` (a request's 0) returns every matching value whole.
 */
import type { HighlightField } from './search-request.ts';
import type { Analyzer, Token } from './types.ts';

/** Highlights of one source document: field → fragments (fields without a match are absent). */
export type Highlighter = (source: Record<string, unknown>) => Record<string, string[]>;

interface Fragment {
  value: number;
  start: number;
  end: number;
  tokens: Token[];
  distinct: number;
}

/**
 * `terms`: what the query looks for per field (query.ts `queryTerms`: terms and prefixes);
 * `textFields`: what `*` expands to; `sourcePathOf`: where a field's text is in `_source` (a
 * multi-field such as `title.english` highlights its parent's text, analysed its own way).
 */
export function makeHighlighter(
  spec: HighlightField[],
  terms: ReadonlyMap<string, { has(term: string): boolean }>,
  textFields: readonly string[],
  analyzerFor: (field: string) => Analyzer,
  sourcePathOf: (field: string) => string,
): Highlighter {
  const fields = spec.flatMap((f) => (f.field === '*' ? textFields.map((field) => ({ ...f, field })) : [f]));
  // Resolved once per field, on first use (a field the query does not touch never needs one).
  const analyzers = new Map<string, Analyzer>();
  const analyzerOf = (field: string) => analyzers.get(field) ?? analyzers.set(field, analyzerFor(field)).get(field)!;
  return (source) => {
    const out: Record<string, string[]> = {};
    for (const f of fields) {
      const wanted = terms.get(f.field);
      if (!wanted) continue;
      const texts = valuesAt(source, sourcePathOf(f.field));
      const candidates: Fragment[] = [];
      texts.forEach((text, value) => {
        // In text order (tokens stacked by synonyms or n-grams may come out of it).
        const tokens = analyzerOf(f.field).analyze(text).filter((t) => wanted.has(t.term)).sort(byStart);
        if (tokens.length === 0) return;
        if (f.numberOfFragments === Infinity || text.length <= f.fragmentSize) candidates.push(fragment(value, 0, text.length, tokens));
        else candidates.push(...fragmentsOf(text, value, tokens, f.fragmentSize));
      });
      if (candidates.length === 0) continue;
      const best = candidates.sort((a, b) => b.distinct - a.distinct || b.tokens.length - a.tokens.length || a.value - b.value || a.start - b.start).slice(0, f.numberOfFragments);
      best.sort((a, b) => a.value - b.value || a.start - b.start);
      out[f.field] = best.map((fr) => render(texts[fr.value]!, fr, f.preTag, f.postTag));
    }
    return out;
  };
}

/** The strings at a dotted path of a source (through objects and arrays of objects). */
function valuesAt(source: Record<string, unknown>, path: string): string[] {
  let values: unknown[] = [source];
  for (const key of path.split('.')) {
    const next: unknown[] = [];
    for (const v of values) {
      const child = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
      if (Array.isArray(child)) next.push(...child);
      else if (child !== undefined) next.push(child);
    }
    values = next;
  }
  return values.filter((x): x is string => typeof x === 'string');
}

function fragment(value: number, start: number, end: number, tokens: Token[]): Fragment {
  return { value, start, end, tokens, distinct: new Set(tokens.map((t) => t.term)).size };
}

/** Matches closer than `size` characters share a fragment; each grows to about `size` characters on word boundaries. */
function fragmentsOf(text: string, value: number, tokens: Token[], size: number): Fragment[] {
  const groups: Token[][] = [];
  for (const t of tokens) {
    const group = groups.at(-1);
    if (group && t.endOffset - group[0]!.startOffset <= size) group.push(t);
    else groups.push([t]);
  }
  const out: Fragment[] = [];
  let floor = 0; // fragments of one value do not overlap
  groups.forEach((group, g) => {
    const first = group[0]!.startOffset;
    const last = group.at(-1)!.endOffset;
    // Up to the next group's first match, which that group's fragment shows highlighted.
    const ceiling = g + 1 < groups.length ? groups[g + 1]![0]!.startOffset : text.length;
    // Half the room before the matches, half after; what one side cannot use goes to the other.
    const pad = Math.max(0, size - (last - first));
    const after = Math.min(ceiling - last, pad - (pad >> 1));
    let start = Math.min(first, Math.max(floor, first - (pad - after)));
    let end = Math.min(ceiling, Math.max(last, start + size));
    // Whole words only: move the edges inwards to whitespace (never past a match).
    if (start > 0 && !isSpace(text, start - 1) && !isSpace(text, start)) {
      let s = start;
      while (s < first && !isSpace(text, s)) s++;
      start = s < first ? s + 1 : first;
    }
    if (end < text.length && !isSpace(text, end) && !isSpace(text, end - 1)) {
      let e = end;
      while (e > last && !isSpace(text, e - 1)) e--;
      end = e > last ? e - 1 : last;
    }
    while (start < first && isSpace(text, start)) start++;
    while (end > last && isSpace(text, end - 1)) end--;
    out.push(fragment(value, start, end, group));
    floor = end;
  });
  return out;
}

function isSpace(text: string, i: number): boolean {
  return /\s/.test(text[i]!);
}

function byStart(a: Token, b: Token): number {
  return a.startOffset - b.startOffset;
}

function render(text: string, fr: Fragment, pre: string, post: string): string {
  let res = '';
  let at = fr.start;
  // Tokens over the same text (a word and its synonyms, n-grams of one word) or overlapping
  // text (shingles) are marked once, as one span.
  const tokens = fr.tokens;
  for (let i = 0; i < tokens.length; ) {
    const start = Math.max(at, tokens[i]!.startOffset);
    let end = tokens[i]!.endOffset;
    for (i++; i < tokens.length && tokens[i]!.startOffset < end; i++) end = Math.max(end, tokens[i]!.endOffset);
    if (end <= start) continue;
    res += text.slice(at, start) + pre + text.slice(start, end) + post;
    at = end;
  }
  return res + text.slice(at, fr.end);
}
