/**
 * The query side of stacked and multi-position tokens. Analysis gives a plain sequence of words in
 * the common case; with synonyms or n-gram filters several tokens share a position (alternatives
 * for one word), and a multi-word synonym's single-word side spans several positions
 * (`positionLength`), so the tokens form a graph whose paths are the alternative phrasings.
 *
 * - `match` splits the graph at the positions every path goes through; each part is one clause:
 *   its alternatives (a term, or a phrase for a multi-word path: Elasticsearch's
 *   auto_generate_synonyms_phrase_query) in a disjunction, so `operator: and` and
 *   `minimum_should_match` count the original words, not the synonyms;
 * - `match_phrase` runs each path through the graph as a phrase whose positions may hold any of
 *   the alternatives stacked there (Lucene's MultiPhraseQuery), and takes the best.
 *
 * A path's positions are packed: a spanning token counts as one position, as in a text indexed
 * without the synonyms. A text indexed with the same synonyms holds every alternative at the
 * flattened positions, where the path through the longest alternatives (one position per word,
 * so packing changes nothing) finds it.
 */
import type { Token } from './types.ts';

/** One position of a phrase: any of its terms matches there. */
export interface Slot {
  terms: string[];
  position: number;
}

/** Beyond this many paths through a graph, it is searched as flat stacked positions instead. */
export const MAX_GRAPH_PATHS = 64;

function spanOf(t: Token): number {
  const n = t.positionLength;
  return n === undefined || n < 1 ? 1 : n;
}

/** True when no two tokens share a position and none spans several: a plain sequence of words. */
export function isLinear(tokens: readonly Token[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if ((i > 0 && t.position === tokens[i - 1]!.position) || spanOf(t) > 1) return false;
  }
  return true;
}

/** Whether some token spans several positions (the tokens form a graph, not just stacks). */
export function hasSpans(tokens: readonly Token[]): boolean {
  for (const t of tokens) if (spanOf(t) > 1) return true;
  return false;
}

/** The tokens as slots by position, stacked tokens as alternatives (spans ignored). */
export function stackedSlots(tokens: readonly Token[]): Slot[] {
  const byPosition = new Map<number, string[]>();
  for (const t of tokens) {
    const terms = byPosition.get(t.position);
    if (terms === undefined) byPosition.set(t.position, [t.term]);
    else if (!terms.includes(t.term)) terms.push(t.term);
  }
  return [...byPosition.entries()].sort((a, b) => a[0] - b[0]).map(([position, terms]) => ({ terms, position }));
}

/** Walk state: tokens by start position, then by span; the paths found so far. */
interface Walk {
  byStart: Map<number, Map<number, string[]>>;
  starts: number[];
  end: number;
  paths: Slot[][];
  keys: Set<string>;
  overflow: boolean;
}

function addPath(w: Walk, slots: Slot[]): void {
  const key = JSON.stringify(slots);
  if (w.keys.has(key)) return;
  w.keys.add(key);
  w.paths.push(slots);
  if (w.paths.length > MAX_GRAPH_PATHS) w.overflow = true;
}

/** Extends the path (`slots`) at `node`; `shift` is what the spans so far take off the positions. */
function walk(w: Walk, node: number, slots: Slot[], shift: number): void {
  if (w.overflow) return;
  let branches = node < w.end ? w.byStart.get(node) : undefined;
  if (branches === undefined && node < w.end) {
    // A hole (a token removed after the synonyms): go on from the next position that has tokens.
    const next = w.starts.find((s) => s > node && s < w.end);
    if (next !== undefined) {
      node = next;
      branches = w.byStart.get(node);
    }
  }
  if (branches === undefined) {
    addPath(w, slots);
    return;
  }
  for (const [span, terms] of branches) walk(w, node + span, [...slots, { terms, position: node - shift }], shift + span - 1);
}

/**
 * The phrasings of a token graph, each a list of slots from the graph's first position to its
 * end (duplicates removed); null when there are too many.
 */
export function graphPaths(tokens: readonly Token[]): Slot[][] | null {
  if (tokens.length === 0) return [];
  const byStart = new Map<number, Map<number, string[]>>();
  let end = 0;
  for (const t of tokens) {
    let bySpan = byStart.get(t.position);
    if (bySpan === undefined) byStart.set(t.position, (bySpan = new Map()));
    const span = spanOf(t);
    const terms = bySpan.get(span);
    if (terms === undefined) bySpan.set(span, [t.term]);
    else if (!terms.includes(t.term)) terms.push(t.term);
    end = Math.max(end, t.position + span);
  }
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  const w: Walk = { byStart, starts, end, paths: [], keys: new Set(), overflow: false };
  walk(w, starts[0]!, [], 0);
  return w.overflow ? null : w.paths;
}

/**
 * The graph cut at the positions no token spans across: each part's tokens (a part is one word
 * and its alternatives). Tokens must be in position order.
 */
export function graphParts(tokens: readonly Token[]): Token[][] {
  const parts: Token[][] = [];
  let partEnd = -1;
  for (const t of tokens) {
    if (t.position >= partEnd) parts.push([]);
    parts[parts.length - 1]!.push(t);
    partEnd = Math.max(partEnd, t.position + spanOf(t));
  }
  return parts;
}
