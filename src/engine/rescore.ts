/**
 * `rescore` (Elasticsearch's query rescorer): a second, costlier query scores only the top
 * `window_size` hits of each shard, and its score is combined with the first one's. Rescorers
 * given as an array run in order, each over the window the previous one left. Docs past a window
 * keep their order and score, as in Elasticsearch.
 */
import type { Explanation } from './explain.ts';
import type { DocSet, Query } from './query.ts';
import { indexOfDoc } from './maxscore.ts';
import { parseQuery } from './query.ts';
import { EngineError, isPlainObject } from './types.ts';

export type ScoreMode = 'total' | 'multiply' | 'avg' | 'max' | 'min';

export interface Rescorer {
  windowSize: number;
  query: Query;
  queryWeight: number;
  rescoreQueryWeight: number;
  scoreMode: ScoreMode;
}

/** One ranked hit of a shard: its segment, doc and score. */
export interface RankedHit {
  seg: number;
  doc: number;
  score: number;
  /** The rescorers whose window it was in, in order (for `explain`). */
  rescoredBy?: Rescorer[];
}

const SCORE_MODES: readonly ScoreMode[] = ['total', 'multiply', 'avg', 'max', 'min'];
/** Elasticsearch's index.max_rescore_window default. */
export const MAX_RESCORE_WINDOW = 10_000;

function bad(reason: string): never {
  throw new EngineError('parsing_exception', reason);
}

/** `rescore` as an object or an array of them. */
export function parseRescore(v: unknown): Rescorer[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) bad('[rescore] must not be empty');
  return list.map((r, i) => parseRescorer(r, Array.isArray(v) ? `[rescore][${i}]` : '[rescore]'));
}

function parseRescorer(v: unknown, at: string): Rescorer {
  if (!isPlainObject(v)) bad(`${at} must be an object`);
  const r = v as Record<string, unknown>;
  for (const k in r) if (k !== 'window_size' && k !== 'query') bad(`unknown key [${k}] in ${at}; known: window_size, query`);
  const windowSize = r.window_size === undefined ? 10 : r.window_size;
  if (!Number.isInteger(windowSize) || (windowSize as number) < 0) bad(`${at}: [window_size] must be a non-negative integer`);
  if ((windowSize as number) > MAX_RESCORE_WINDOW) {
    throw new EngineError('illegal_argument_exception', `Rescore window [${String(windowSize)}] is too large. It must be less than [${MAX_RESCORE_WINDOW}].`);
  }
  if (!isPlainObject(r.query)) bad(`${at} needs a [query] rescorer object`);
  const q = r.query as Record<string, unknown>;
  for (const k in q) if (!['rescore_query', 'query_weight', 'rescore_query_weight', 'score_mode'].includes(k)) bad(`unknown key [${k}] in ${at}.query`);
  if (q.rescore_query === undefined) bad(`${at}.query needs a [rescore_query]`);
  const weight = (w: unknown, name: string) => {
    if (w === undefined) return 1;
    if (typeof w !== 'number' || !Number.isFinite(w)) bad(`${at}.query: [${name}] must be a number`);
    return w;
  };
  const scoreMode = q.score_mode === undefined ? 'total' : q.score_mode;
  if (!SCORE_MODES.includes(scoreMode as ScoreMode)) bad(`${at}.query: [score_mode] must be one of ${SCORE_MODES.join(', ')}`);
  return {
    windowSize: windowSize as number,
    query: parseQuery(q.rescore_query),
    queryWeight: weight(q.query_weight, 'query_weight'),
    rescoreQueryWeight: weight(q.rescore_query_weight, 'rescore_query_weight'),
    scoreMode: scoreMode as ScoreMode,
  };
}

/** How many top hits a shard must rank for its rescorers (the largest window). */
export function rescoreWindow(rescorers: readonly Rescorer[]): number {
  let w = 0;
  for (const r of rescorers) w = Math.max(w, r.windowSize);
  return w;
}

/** The combined score of a hit the rescore query matched (Elasticsearch's QueryRescorer). */
export function combine(r: Rescorer, first: number, second: number): number {
  const a = first * r.queryWeight;
  const b = second * r.rescoreQueryWeight;
  switch (r.scoreMode) {
    case 'total':
      return a + b;
    case 'multiply':
      return a * b;
    case 'avg':
      return (a + b) / 2;
    case 'max':
      return Math.max(a, b);
    case 'min':
      return Math.min(a, b);
  }
}

/**
 * Rescore `hits` (ranked best first) in place: each rescorer rescores the first `window_size`
 * and re-sorts them. A hit the rescore query does not match keeps `query_weight` × its score.
 * `run(query, seg)` evaluates a query over one segment (each runs once per segment with a hit).
 */
export function rescoreHits(hits: RankedHit[], rescorers: readonly Rescorer[], run: (q: Query, seg: number) => DocSet): void {
  for (const r of rescorers) {
    const n = Math.min(r.windowSize, hits.length);
    const sets = new Map<number, DocSet>();
    for (let i = 0; i < n; i++) {
      const h = hits[i]!;
      let set = sets.get(h.seg);
      if (!set) sets.set(h.seg, (set = run(r.query, h.seg)));
      const at = indexOfDoc(set.docs, h.doc);
      h.score = at < 0 ? h.score * r.queryWeight : combine(r, h.score, set.scores[at]!);
      (h.rescoredBy ??= []).push(r);
    }
    // Stable: equal scores keep the first query's order.
    const window = hits.slice(0, n).sort((a, b) => b.score - a.score);
    for (let i = 0; i < n; i++) hits[i] = window[i]!;
  }
}


const MODE_DESCRIPTIONS: Record<ScoreMode, string> = { total: 'sum of:', multiply: 'product of:', avg: 'avg of:', max: 'max of:', min: 'min of:' };

/**
 * A rescored hit's explanation: the first query's, then each rescorer it went through wrapping
 * the score so far and its rescore query's (`second`: that query's explanation, value 0 when it
 * did not match), weighted as combine() weighs them, so the top value is the hit's `_score`.
 */
export function explainRescored(first: Explanation, rescoredBy: readonly Rescorer[], second: (q: Query) => Explanation): Explanation {
  let e = first;
  for (const r of rescoredBy) {
    const primary: Explanation = { value: e.value * r.queryWeight, description: 'product of:', details: [e, { value: r.queryWeight, description: 'primaryWeight', details: [] }] };
    const s = second(r.query);
    if (s.value === 0 && s.description.startsWith('no match')) {
      e = primary;
      continue;
    }
    const secondary: Explanation = { value: s.value * r.rescoreQueryWeight, description: 'product of:', details: [s, { value: r.rescoreQueryWeight, description: 'secondaryWeight', details: [] }] };
    e = { value: combine(r, e.value, s.value), description: MODE_DESCRIPTIONS[r.scoreMode], details: [primary, secondary] };
  }
  return e;
}
