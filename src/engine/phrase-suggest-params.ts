/** The phrase suggester's request (`{ <name>: { text, phrase: { field, ... } } }`), checked: a bad parameter is a parsing_exception naming it. */
import { checkTemplate } from './search-template.ts';
import type { Smoothing } from './phrase-lm.ts';
import type { SpellOptions } from './suggest.ts';
import { badSuggestParam as bad, frequency, intIn, knownKeys, numberParam, stringParam } from './suggest-params.ts';
import { isPlainObject } from './types.ts';

/** One direct generator: where and how each token's corrections are sought (suggest.ts spellCandidates). */
export interface DirectGenerator extends SpellOptions {
  accuracy: number;
  /** Candidates kept per token, best scores first. */
  size: number;
  /** Analyzers the token goes through before the search, and each candidate after it. */
  preFilter: string | undefined;
  postFilter: string | undefined;
}

export interface PhraseSuggestSpec {
  kind: 'phrase';
  name: string;
  text: string;
  /** The field whose n-grams are the language model. */
  field: string;
  analyzer: string | undefined;
  /** Undefined: read from the field's terms (phrase-lm.ts gramSizeOf). */
  gramSize: number | undefined;
  realWordErrorLikelihood: number;
  confidence: number;
  /** At least 1: a number of terms; below 1: a fraction of the text's terms. */
  maxErrors: number;
  separator: string;
  size: number;
  shardSize: number;
  tokenLimit: number;
  highlight: { preTag: string; postTag: string } | undefined;
  smoothing: Smoothing;
  generators: DirectGenerator[];
  /** `collate`: each option kept only if the query its template renders (with `{{suggestion}}`) matches a doc on the shard; with `prune`, kept and marked. */
  collate: PhraseCollate | undefined;
}

export interface PhraseCollate {
  /** The query template: an object (its JSON) or a string, rendered by search-template.ts. */
  source: unknown;
  params: Record<string, unknown>;
  prune: boolean;
}

const PHRASE_KEYS = new Set(['field', 'gram_size', 'real_word_error_likelihood', 'confidence', 'max_errors', 'separator', 'size', 'analyzer', 'shard_size', 'token_limit', 'highlight', 'smoothing', 'direct_generator', 'force_unigrams', 'collate']);
const GENERATOR_KEYS = new Set(['field', 'suggest_mode', 'max_edits', 'prefix_length', 'min_word_length', 'max_inspections', 'min_doc_freq', 'max_term_freq', 'size', 'pre_filter', 'post_filter', 'string_distance', 'accuracy']);
const HIGHLIGHT_KEYS = new Set(['pre_tag', 'post_tag']);

const nonNegative = (n: number) => n >= 0;
const positive = (n: number) => n > 0;

export function parsePhraseSuggest(name: string, s: Record<string, unknown>, globalText: unknown): PhraseSuggestSpec {
  for (const k in s) if (k !== 'text' && k !== 'phrase') bad(`suggestion [${name}] does not support [${k}]`);
  const text = s.text ?? globalText;
  if (typeof text !== 'string') bad(`suggestion [${name}] requires [text]`);
  const p = s.phrase;
  if (!isPlainObject(p)) bad(`suggestion [${name}]: [phrase] must be an object`);
  knownKeys(p, PHRASE_KEYS, '[phrase] suggester');
  if (p.force_unigrams !== undefined && p.force_unigrams !== true) bad('[force_unigrams]: only true is supported');
  if (typeof p.field !== 'string' || p.field === '') bad(`suggestion [${name}] requires a [field]`);
  const field = p.field;
  const size = intIn(p.size, 'size', 5, 1, 10_000);
  const generators = p.direct_generator === undefined ? [] : (Array.isArray(p.direct_generator) ? p.direct_generator : [p.direct_generator]).map(parseGenerator);
  return {
    kind: 'phrase',
    name,
    text,
    field,
    analyzer: stringParam(p.analyzer, 'analyzer', undefined),
    gramSize: p.gram_size === undefined ? undefined : intIn(p.gram_size, 'gram_size', 1, 1, 1000),
    realWordErrorLikelihood: numberParam(p.real_word_error_likelihood, 'real_word_error_likelihood', 0.95, positive, 'a number above 0'),
    confidence: numberParam(p.confidence, 'confidence', 1, nonNegative, 'a non-negative number'),
    maxErrors: numberParam(p.max_errors, 'max_errors', 1, positive, 'a number above 0'),
    separator: stringParam(p.separator, 'separator', ' '),
    size,
    shardSize: intIn(p.shard_size, 'shard_size', Math.max(size, 5), 1, 10_000),
    tokenLimit: intIn(p.token_limit, 'token_limit', 10, 1, 1000),
    highlight: parseHighlight(p.highlight),
    smoothing: parseSmoothing(p.smoothing),
    // Without direct generators, one on the field offers corrections for every token.
    generators: generators.length > 0 ? generators : [{ ...parseGenerator({ field }), mode: 'always' }],
    collate: p.collate === undefined ? undefined : parseCollate(p.collate),
  };
}

const COLLATE_KEYS = new Set(['query', 'params', 'prune']);

/** `collate: { query: { source }, params, prune }`: the template is checked now, rendered per option later. */
function parseCollate(c: unknown): PhraseCollate {
  if (!isPlainObject(c)) bad('[collate] must be an object with [query]');
  knownKeys(c, COLLATE_KEYS, '[collate]');
  const q = c.query;
  if (!isPlainObject(q)) bad('[collate] requires a [query]: { source }');
  if (q.id !== undefined) bad('[collate] [query]: a stored template ([id]) is resolved by the cluster\'s coordinating node; a shard engine alone takes its [source]');
  knownKeys(q, new Set(['source']), '[collate] [query]');
  if (typeof q.source !== 'string' && !isPlainObject(q.source)) bad('[collate] [query] [source] must be a template: an object or a string');
  checkTemplate(typeof q.source === 'string' ? q.source : JSON.stringify(q.source));
  if (c.params !== undefined && !isPlainObject(c.params)) bad('[collate] [params] must be an object');
  if (c.prune !== undefined && typeof c.prune !== 'boolean') bad('[collate] [prune] must be a boolean');
  return { source: q.source, params: (c.params ?? {}) as Record<string, unknown>, prune: c.prune === true };
}

function parseGenerator(g: unknown): DirectGenerator {
  if (!isPlainObject(g)) bad('[direct_generator] must be an object or a list of objects');
  knownKeys(g, GENERATOR_KEYS, '[direct_generator]');
  if (typeof g.field !== 'string' || g.field === '') bad('[direct_generator] requires a [field]');
  if (g.string_distance !== undefined && g.string_distance !== 'internal') bad('[string_distance]: only [internal] is supported');
  const mode = g.suggest_mode ?? 'missing';
  if (mode !== 'missing' && mode !== 'popular' && mode !== 'always') bad('[suggest_mode] must be missing, popular or always');
  // Every term within max_edits is inspected: max_inspections (a limit on Lucene's scan) is checked, and has nothing to limit.
  intIn(g.max_inspections, 'max_inspections', 5, 1, 10_000);
  return {
    field: g.field,
    mode,
    maxEdits: intIn(g.max_edits, 'max_edits', 2, 1, 2),
    prefixLength: intIn(g.prefix_length, 'prefix_length', 1, 0, 1000),
    minWordLength: intIn(g.min_word_length, 'min_word_length', 4, 1, 1000),
    minDocFreq: frequency(g.min_doc_freq, 'min_doc_freq', 0),
    maxTermFreq: frequency(g.max_term_freq, 'max_term_freq', 0.01),
    accuracy: numberParam(g.accuracy, 'accuracy', 0.5, (n) => n >= 0 && n <= 1, 'a number from 0 to 1'),
    size: intIn(g.size, 'size', 5, 1, 10_000),
    preFilter: stringParam(g.pre_filter, 'pre_filter', undefined),
    postFilter: stringParam(g.post_filter, 'post_filter', undefined),
  };
}

function parseHighlight(h: unknown): PhraseSuggestSpec['highlight'] {
  if (h === undefined) return undefined;
  if (!isPlainObject(h)) bad('[highlight] must be an object');
  knownKeys(h, HIGHLIGHT_KEYS, '[highlight]');
  if (typeof h.pre_tag !== 'string' || typeof h.post_tag !== 'string') bad('[highlight] needs both [pre_tag] and [post_tag], as strings');
  return { preTag: h.pre_tag, postTag: h.post_tag };
}

function parseSmoothing(v: unknown): Smoothing {
  if (v === undefined) return { kind: 'stupid_backoff', discount: 0.4 };
  if (!isPlainObject(v) || Object.keys(v).length !== 1) bad('[smoothing] must name one model: stupid_backoff, laplace or linear_interpolation');
  const [kind, params] = Object.entries(v)[0]!;
  if (!isPlainObject(params)) bad(`[smoothing] [${kind}] must be an object`);
  switch (kind) {
    case 'stupid_backoff':
      knownKeys(params, new Set(['discount']), '[stupid_backoff]');
      return { kind, discount: numberParam(params.discount, 'discount', 0.4, nonNegative, 'a non-negative number') };
    case 'laplace':
      knownKeys(params, new Set(['alpha']), '[laplace]');
      return { kind, alpha: numberParam(params.alpha, 'alpha', 0.5, positive, 'a number above 0') };
    case 'linear_interpolation': {
      knownKeys(params, new Set(['trigram_lambda', 'bigram_lambda', 'unigram_lambda']), '[linear_interpolation]');
      const lambda = (k: string) => numberParam(params[k], k, 0, nonNegative, 'a non-negative number');
      const s = { kind, trigramLambda: lambda('trigram_lambda'), bigramLambda: lambda('bigram_lambda'), unigramLambda: lambda('unigram_lambda') } as const;
      if (Math.abs(s.trigramLambda + s.bigramLambda + s.unigramLambda - 1) > 0.001) bad('[linear_interpolation]: the lambdas must sum to 1');
      return s;
    }
    default:
      return bad(`[smoothing] does not support [${kind}]`);
  }
}
