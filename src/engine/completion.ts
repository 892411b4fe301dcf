/**
 * The completion suggester (search-as-you-type), as Elasticsearch's `completion` field and
 * suggester do it: each input of a `completion` field is analysed (the `simple` analyzer by
 * default) into a key — its tokens joined by a separator, a removed token (a stop word) leaving a
 * separator of its own — and every segment keeps its keys sorted, with the input, its weight and
 * its doc. A prefix is analysed the same way and finds the keys that start with it by binary
 * search; the suggestions are the live entries of highest weight. With `fuzzy`, keys within an
 * edit distance of the prefix count too (scanned among the keys that share its first
 * `prefix_length` characters). Lucene keeps the keys in an FST; a sorted array answers the same
 * questions, at more bytes per entry.
 */
import { editDistance } from './fuzzy.ts';
import { badSuggestParam, intIn } from './suggest-params.ts';
import { EngineError, isPlainObject, type Analyzer, type Token } from './types.ts';

/** Between the tokens of a key (Lucene's completion separator; inputs may not contain it). */
export const SEPARATOR = '\u001f';
/** Characters an input may not contain: they are the separators of Lucene's completion keys. */
const RESERVED = /[\u0000\u001e\u001f]/;

/** Elasticsearch's max_input_length default: longer inputs are cut before analysis. */
export const DEFAULT_MAX_INPUT_LENGTH = 50;

/** How a completion field's inputs become keys (its mapping's preserve_* parameters). */
export interface CompletionOptions {
  preserveSeparators: boolean;
  preservePositionIncrements: boolean;
}

/** A completion field's key options from its mapping (both true unless it says false). */
export function keyOptionsOf(m: { preserve_separators?: boolean; preserve_position_increments?: boolean }): CompletionOptions {
  return { preserveSeparators: m.preserve_separators !== false, preservePositionIncrements: m.preserve_position_increments !== false };
}

/** The key of an input: its tokens' terms, joined by separators when they are kept, one more per skipped position. */
export function completionKey(tokens: readonly Token[], o: CompletionOptions): string {
  let key = '';
  let next = 0;
  let first = true;
  for (const t of tokens) {
    // A token stacked on an earlier one (a synonym) is not another word of the key.
    if (t.position < next) continue;
    // Positions left empty before this token (a removed stop word) count as words of their own.
    const gap = o.preservePositionIncrements ? t.position - next : 0;
    if (o.preserveSeparators) key += SEPARATOR.repeat(gap + (first ? 0 : 1));
    key += t.term;
    next = t.position + 1;
    first = false;
  }
  return key;
}

/** Checks one input (a string value or an element of `input`). */
export function checkInput(path: string, input: unknown): string {
  if (typeof input !== 'string' || input === '') throw new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [completion]: an input must be a non-empty string`);
  if (RESERVED.test(input)) throw new EngineError('illegal_argument_exception', `Illegal input [${input.replace(RESERVED, '\\u001F')}] reserved character in the input of field [${path}]`);
  return input;
}

/** A `{ input, weight }` value: its inputs and their weight (1 when not given). */
export function parseCompletionObject(path: string, value: Record<string, unknown>): { inputs: string[]; weight: number } {
  for (const k in value) {
    if (k === 'contexts') throw new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [completion]: contexts are not supported`);
    if (k !== 'input' && k !== 'weight') throw new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [completion]: unknown field name [${k}], must be one of [input, weight]`);
  }
  const raw = value.input;
  if (raw === undefined) throw new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [completion]: [input] is required`);
  const inputs = (Array.isArray(raw) ? raw : [raw]).map((i) => checkInput(path, i));
  const w = value.weight ?? 1;
  const weight = typeof w === 'string' && /^\d+$/.test(w) ? Number(w) : w;
  if (!Number.isSafeInteger(weight) || (weight as number) < 0 || (weight as number) > 2147483647) throw new EngineError('mapper_parsing_exception', `failed to parse field [${path}] of type [completion]: weight must be an integer from 0 to 2147483647, got [${String(w)}]`);
  return { inputs, weight: weight as number };
}

/** One segment's entries of one completion field, sorted by key, then weight (highest first), then doc. */
export class CompletionIndex {
  private constructor(
    readonly keys: readonly string[],
    readonly inputs: readonly string[],
    readonly weights: Float64Array,
    readonly docs: Int32Array,
  ) {}

  /** An index as a segment file holds it (already in order). */
  static fromParts(keys: readonly string[], inputs: readonly string[], weights: Float64Array, docs: Int32Array): CompletionIndex {
    return new CompletionIndex(keys, inputs, weights, docs);
  }

  static build(entries: readonly { key: string; input: string; weight: number; doc: number }[]): CompletionIndex {
    const order = entries.map((_, i) => i).sort((a, b) => {
      const x = entries[a]!;
      const y = entries[b]!;
      return x.key < y.key ? -1 : x.key > y.key ? 1 : y.weight - x.weight || x.doc - y.doc;
    });
    return new CompletionIndex(
      order.map((i) => entries[i]!.key),
      order.map((i) => entries[i]!.input),
      Float64Array.from(order, (i) => entries[i]!.weight),
      Int32Array.from(order, (i) => entries[i]!.doc),
    );
  }

  get size(): number {
    return this.keys.length;
  }

  /** The first entry whose key is at or after `key`. */
  lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ---- the suggester ------------------------------------------------------------------------------

export interface CompletionFuzzy {
  /** Edits allowed, or AUTO (by the prefix's length: 0 below 3, 1 below 6, else 2). */
  fuzziness: number | 'AUTO';
  transpositions: boolean;
  /** Prefixes shorter than this are not fuzzy. */
  minLength: number;
  /** Characters at the start that must match exactly. */
  prefixLength: number;
}

export interface CompletionSuggestSpec {
  kind: 'completion';
  name: string;
  /** The prefix (`prefix`, or `text`). */
  text: string;
  field: string;
  analyzer: string | undefined;
  size: number;
  skipDuplicates: boolean;
  fuzzy: CompletionFuzzy | undefined;
}

const COMPLETION_KEYS = new Set(['field', 'size', 'skip_duplicates', 'fuzzy', 'analyzer', 'contexts', 'regex']);
const FUZZY_KEYS = new Set(['fuzziness', 'transpositions', 'min_length', 'prefix_length', 'unicode_aware']);

const bad: (reason: string) => never = badSuggestParam;

/** `{ prefix | text, completion: { field, size, skip_duplicates, fuzzy, analyzer } }` of suggestion `name`. */
export function parseCompletionSuggest(name: string, s: Record<string, unknown>, globalText: string | undefined): CompletionSuggestSpec {
  for (const k in s) if (k !== 'prefix' && k !== 'text' && k !== 'completion') bad(k === 'regex' ? `suggestion [${name}]: [regex] completion is not supported` : `suggestion [${name}] does not support [${k}]`);
  const text = s.prefix ?? s.text ?? globalText;
  if (typeof text !== 'string') bad(`suggestion [${name}] requires a [prefix] (or [text])`);
  const c = s.completion;
  if (!isPlainObject(c)) bad(`suggestion [${name}]: [completion] must be an object`);
  for (const k in c) if (!COMPLETION_KEYS.has(k)) bad(`[completion] suggester does not support [${k}]`);
  if (c.contexts !== undefined) bad('[completion] [contexts] are not supported');
  if (c.regex !== undefined) bad('[completion] [regex] is not supported');
  if (typeof c.field !== 'string' || c.field === '') bad(`suggestion [${name}] requires a [field]`);
  if (c.analyzer !== undefined && typeof c.analyzer !== 'string') bad('[analyzer] must be a name');
  if (c.skip_duplicates !== undefined && typeof c.skip_duplicates !== 'boolean') bad('[skip_duplicates] must be a boolean');
  return {
    kind: 'completion',
    name,
    text,
    field: c.field,
    analyzer: c.analyzer as string | undefined,
    size: intIn(c.size, 'size', 5, 1, 10_000),
    skipDuplicates: c.skip_duplicates === true,
    fuzzy: parseFuzzy(c.fuzzy),
  };
}

function parseFuzzy(v: unknown): CompletionFuzzy | undefined {
  if (v === undefined || v === false) return undefined;
  const f = v === true ? {} : v;
  if (!isPlainObject(f)) bad('[fuzzy] must be true or an object');
  for (const k in f) if (!FUZZY_KEYS.has(k)) bad(`[fuzzy] does not support [${k}]`);
  if (f.unicode_aware !== undefined && typeof f.unicode_aware !== 'boolean') bad('[fuzzy] [unicode_aware] must be a boolean');
  if (f.transpositions !== undefined && typeof f.transpositions !== 'boolean') bad('[fuzzy] [transpositions] must be a boolean');
  const z = f.fuzziness ?? 'AUTO';
  const fuzziness = z === 'AUTO' ? 'AUTO' : typeof z === 'string' && /^[012]$/.test(z) ? Number(z) : z;
  if (fuzziness !== 'AUTO' && (fuzziness !== 0 && fuzziness !== 1 && fuzziness !== 2)) bad('[fuzzy] [fuzziness] must be 0, 1, 2 or AUTO');
  return {
    fuzziness: fuzziness as number | 'AUTO',
    transpositions: f.transpositions !== false,
    minLength: intIn(f.min_length, 'fuzzy.min_length', 3, 0, 1000),
    prefixLength: intIn(f.prefix_length, 'fuzzy.prefix_length', 1, 0, 1000),
  };
}

export interface CompletionOption {
  text: string;
  _index?: string;
  _id: string;
  _score: number;
  _source?: unknown;
}

export interface CompletionEntry {
  text: string;
  offset: number;
  length: number;
  options: CompletionOption[];
}

/** What the suggester reads of a segment. */
export interface CompletionSegment {
  completion(field: string): CompletionIndex | undefined;
  isLive(doc: number): boolean;
  id(doc: number): string;
  source(doc: number): Record<string, unknown>;
}

interface Candidate {
  seg: number;
  entry: number;
  weight: number;
  /** 0: the key starts with the prefix; 1: only within the edit distance. */
  fuzzy: number;
  input: string;
}

/**
 * One shard's suggestions: the prefix analysed into a key, the matching live entries of every
 * segment, best weight first (exact prefix matches before fuzzy ones of the same weight, then by
 * text), `size` of them, one per input text when `skipDuplicates`.
 */
export function suggestCompletion(
  spec: CompletionSuggestSpec,
  segments: readonly CompletionSegment[],
  analyzer: Analyzer,
  keyOptions: CompletionOptions,
  hit: (seg: number, doc: number) => { _id: string; _index?: string; _source?: unknown },
): CompletionEntry[] {
  const key = completionKey(analyzer.analyze(spec.text), keyOptions);
  const candidates: Candidate[] = [];
  const edits = spec.fuzzy ? allowedEdits(spec.fuzzy, key) : 0;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s]!;
    const index = segment.completion(spec.field);
    if (!index) continue;
    const exactFrom = index.lowerBound(key);
    if (edits === 0) {
      for (let i = exactFrom; i < index.size && index.keys[i]!.startsWith(key); i++) push(candidates, segment, index, s, i, 0);
      continue;
    }
    // Fuzzy: every key sharing the first prefix_length characters, within the edit distance.
    const fixed = key.slice(0, spec.fuzzy!.prefixLength);
    for (let i = index.lowerBound(fixed); i < index.size && index.keys[i]!.startsWith(fixed); i++) {
      const k = index.keys[i]!;
      if (k.startsWith(key)) push(candidates, segment, index, s, i, 0);
      else if (prefixDistance(key, k, edits, spec.fuzzy!.transpositions) <= edits) push(candidates, segment, index, s, i, 1);
    }
  }
  candidates.sort((a, b) => b.weight - a.weight || a.fuzzy - b.fuzzy || (a.input < b.input ? -1 : a.input > b.input ? 1 : 0) || a.seg - b.seg || a.entry - b.entry);
  const options: CompletionOption[] = [];
  const seenTexts = new Set<string>();
  // One option per doc (a doc with several matching inputs shows its best), and per text with skip_duplicates.
  const seenDocs = new Set<string>();
  for (const c of candidates) {
    if (options.length >= spec.size) break;
    const index = segments[c.seg]!.completion(spec.field)!;
    const doc = index.docs[c.entry]!;
    const docKey = `${c.seg}:${doc}`;
    if (seenDocs.has(docKey) || (spec.skipDuplicates && seenTexts.has(c.input))) continue;
    seenDocs.add(docKey);
    seenTexts.add(c.input);
    options.push({ text: c.input, ...hit(c.seg, doc), _score: c.weight });
  }
  return [{ text: spec.text, offset: 0, length: spec.text.length, options }];
}

function push(candidates: Candidate[], segment: CompletionSegment, index: CompletionIndex, seg: number, entry: number, fuzzy: number): void {
  if (!segment.isLive(index.docs[entry]!)) return;
  candidates.push({ seg, entry, weight: index.weights[entry]!, fuzzy, input: index.inputs[entry]! });
}

function allowedEdits(f: CompletionFuzzy, key: string): number {
  const n = [...key].length;
  if (n < f.minLength) return 0;
  if (f.fuzziness !== 'AUTO') return f.fuzziness;
  return n < 3 ? 0 : n < 6 ? 1 : 2;
}

/** The fewest edits turning `prefix` into some prefix of `key` (at most `max` + 1: more is not needed). */
export function prefixDistance(prefix: string, key: string, max: number, transpositions: boolean): number {
  let best = max + 1;
  // Prefixes of key within max characters of the prefix's length can be that close.
  const from = Math.max(0, prefix.length - max);
  const to = Math.min(key.length, prefix.length + max);
  for (let len = from; len <= to; len++) {
    const d = editDistance(prefix, key.slice(0, len), max, transpositions);
    if (d < best) best = d;
    if (best === 0) break;
  }
  return best;
}

/** The coordinating node's merge: every shard's options for the prefix, best first, `size` of them. */
export function mergeCompletions(perShard: CompletionEntry[][], spec: CompletionSuggestSpec): CompletionEntry[] {
  const options = perShard.flatMap((entries) => entries[0]?.options ?? []);
  options.sort((a, b) => b._score - a._score || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0) || ((a._index ?? '') < (b._index ?? '') ? -1 : 1) || (a._id < b._id ? -1 : 1));
  const out: CompletionOption[] = [];
  const seen = new Set<string>();
  for (const o of options) {
    if (out.length >= spec.size) break;
    if (spec.skipDuplicates && seen.has(o.text)) continue;
    seen.add(o.text);
    out.push(o);
  }
  return [{ text: spec.text, offset: 0, length: spec.text.length, options: out }];
}
