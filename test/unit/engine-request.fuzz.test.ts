import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError } from '../../src/engine/types.ts';

// Search requests built from the DSL's own names with values that are often wrong: every one must
// either answer or fail with a structured EngineError (a type and a reason), never anything else.

const odd = fc.constantFrom<unknown>(undefined, null, NaN, Infinity, -1, 0, 1, 2.5, 1e308, '', 'x', 'a b', 'now-1d/d', 'now-1q', '2024-01-01||+1M', '10d', 'AUTO', true, [], {}, [1, 'a'], { a: 1 });
const value = fc.oneof(odd, fc.jsonValue({ maxDepth: 2 }));
const field = fc.constantFrom('body', 'tag', 'n', 'at', 'nope', 'body.keyword', '', '*', 'users', 'users.name', 'users.age');
const OPTION_KEYS = [
  'query', 'operator', 'boost', 'value', 'values', 'fuzziness', 'prefix_length', 'max_expansions', 'transpositions', 'fuzzy_transpositions',
  'minimum_should_match', 'analyzer', 'slop', 'gt', 'gte', 'lt', 'lte', 'format', 'field', 'fields', '_name', 'origin', 'scale', 'offset',
  'decay', 'factor', 'modifier', 'missing', 'seed', 'type', 'tie_breaker', 'default_operator', 'flags', 'case_insensitive', 'bogus',
  'path', 'score_mode', 'ignore_unmapped', 'inner_hits', 'mode', 'nested',
];
const options = fc.dictionary(fc.constantFrom(...OPTION_KEYS), value, { maxKeys: 4 });
const LEAVES = ['match_all', 'match_none', 'term', 'terms', 'ids', 'exists', 'range', 'prefix', 'wildcard', 'regexp', 'match', 'match_phrase', 'match_phrase_prefix', 'match_bool_prefix', 'multi_match', 'fuzzy', 'query_string', 'simple_query_string', 'nope'];
const leaf = fc.tuple(fc.constantFrom(...LEAVES), fc.oneof(value, options, fc.dictionary(field, fc.oneof(value, options), { maxKeys: 2 }))).map(([t, body]) => ({ [t]: body }));

// Shapes that get past the outer checks, so that the inner ones are reached too.
const oneField = (body: fc.Arbitrary<unknown>) => fc.tuple(field, body).map(([f, b]) => ({ [f]: b }));
const decay = oneField(fc.dictionary(fc.constantFrom('origin', 'scale', 'offset', 'decay'), value, { maxKeys: 3 }));
const fieldValueFactor = fc.dictionary(fc.constantFrom('field', 'factor', 'modifier', 'missing'), fc.oneof(value, field), { maxKeys: 3 });
const randomScore = fc.dictionary(fc.constantFrom('seed', 'field'), fc.oneof(value, field), { maxKeys: 2 });
// Scripts: sources that compile, and token soup and plain strings that mostly do not.
const VALID_SCRIPTS = [
  "doc['n'].value * _score", "doc['n'].size() == 0 ? 0 : Math.log(2 + doc['n'].value)", "doc['tag'].value == 'p'", "doc['at'].value > params.p", '_score',
  "def s = 0; for (def v : doc['n']) s += v; s", "doc['body'].value", "doc['nope'].value", "params.p + params['q']", 'return params.p', "doc['n'].value - 3",
  "int t = 0; for (int i = 0; i < doc['n'].value; i++) t += i; t > 3", "doc['tag'].value.length()", "'a' * 2", '[1, 2].get(5)', 'true', '1',
];
const SCRIPT_TOKENS = [
  "doc['n'].value", "doc['tag'].value", "doc['body'].value", "doc['at'].value", "doc['n'].size()", "doc['n'].empty", "doc['n']", '_score', 'params.p', "params['q']",
  'Math.log', 'Math.max', 'Math.PI', '(', ')', '[', ']', '{', '}', '+', '-', '*', '/', '%', '==', '!=', '<', '>=', '&&', '||', '!', '?', ':', ';', ',', '.',
  '1', '0', '2.5', "'s'", '"t"', 'true', 'false', 'null', 'def x =', 'x', 'if', 'else', 'for', 'return', 'int', 'size()', 'length()', '=', '+=', '++', '[:]', 'new',
];
const scriptSource = fc.oneof(
  { arbitrary: fc.constantFrom(...VALID_SCRIPTS), weight: 4 },
  fc.array(fc.constantFrom(...SCRIPT_TOKENS), { minLength: 1, maxLength: 12 }).map((t) => t.join(' ')),
  fc.string({ maxLength: 20 }),
);
const script = fc.oneof(
  { arbitrary: scriptSource, weight: 2 },
  { arbitrary: fc.record({ source: scriptSource, params: fc.oneof(fc.record({ p: value, q: value }, { requiredKeys: [] }), value), lang: fc.constantFrom('painless', 'expression', 'x') }, { requiredKeys: ['source'] }), weight: 2 },
  fc.record({ id: value }),
  value,
);

const scoreFunction = fc.oneof(
  fc.record({ script_score: fc.record({ script }, { requiredKeys: [] }), weight: value }, { requiredKeys: ['script_score'] }),
  fc.record({ gauss: decay }),
  fc.record({ exp: decay, weight: value }, { requiredKeys: ['exp'] }),
  fc.record({ linear: decay, multi_value_mode: value }, { requiredKeys: ['linear'] }),
  fc.record({ field_value_factor: fieldValueFactor }),
  fc.record({ random_score: randomScore, weight: value }, { requiredKeys: ['random_score'] }),
  fc.record({ weight: value }),
);

const query: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  q: fc.oneof({ depthSize: 'small' }, leaf, leaf, tie('compound'), value),
  compound: fc.oneof(
    fc.record({ bool: fc.dictionary(fc.constantFrom('must', 'should', 'filter', 'must_not', 'minimum_should_match', 'boost', 'bogus'), fc.oneof(tie('q'), fc.array(tie('q'), { maxLength: 2 }), value), { maxKeys: 3 }) }),
    fc.record({ dis_max: fc.dictionary(fc.constantFrom('queries', 'tie_breaker', 'boost'), fc.oneof(fc.array(tie('q'), { maxLength: 2 }), value), { maxKeys: 2 }) }),
    fc.record({ constant_score: fc.dictionary(fc.constantFrom('filter', 'boost'), fc.oneof(tie('q'), value), { maxKeys: 2 }) }),
    fc.record({
      nested: fc.record(
        { path: fc.oneof(field, value), query: tie('q'), score_mode: fc.oneof(fc.constantFrom('avg', 'max', 'min', 'sum', 'none'), value), ignore_unmapped: value, inner_hits: fc.oneof(odd, fc.dictionary(fc.constantFrom('name', 'from', 'size', '_source', 'bogus'), value, { maxKeys: 3 })) },
        { requiredKeys: ['query'] },
      ),
    }),
    fc.record({ script_score: fc.record({ query: fc.oneof(tie('q'), fc.constant({ match_all: {} })), script, min_score: value, boost: value }, { requiredKeys: [] }) }),
    fc.record({ script: fc.record({ script, boost: value }, { requiredKeys: [] }) }),
    fc.record({ bool: fc.record({ filter: fc.record({ script: fc.record({ script }) }) }) }),
    fc.record({ boosting: fc.dictionary(fc.constantFrom('positive', 'negative', 'negative_boost'), fc.oneof(tie('q'), value), { maxKeys: 3 }) }),
    fc.record({ function_score: fc.record({ query: tie('q'), functions: fc.array(fc.record({ filter: tie('q') }, { requiredKeys: [] }).chain((f) => scoreFunction.map((g) => ({ ...f, ...g }))), { maxLength: 3 }), score_mode: value, boost_mode: value }, { requiredKeys: [] }) }),
    fc.record({
      function_score: fc.dictionary(
        fc.constantFrom('query', 'functions', 'score_mode', 'boost_mode', 'max_boost', 'min_score', 'weight', 'field_value_factor', 'gauss', 'exp', 'linear', 'random_score'),
        fc.oneof(tie('q'), value, options, fc.dictionary(field, options, { maxKeys: 1 }), fc.array(fc.dictionary(fc.constantFrom('filter', 'weight', 'gauss', 'field_value_factor', 'random_score'), fc.oneof(tie('q'), value, options, fc.dictionary(field, options, { maxKeys: 1 })), { maxKeys: 2 }), { maxLength: 2 })),
        { maxKeys: 3 },
      ),
    }),
  ),
})).q;

const completion = fc.record(
  {
    prefix: fc.oneof(value, fc.constantFrom('a', 'b c', 'x')),
    completion: fc.oneof(
      value,
      fc.record({ field: fc.oneof(field, fc.constant('sugg')), size: value, skip_duplicates: value, fuzzy: fc.oneof(value, fc.constant(true), fc.dictionary(fc.constantFrom('fuzziness', 'prefix_length', 'min_length', 'transpositions', 'bogus'), value, { maxKeys: 2 })) }, { requiredKeys: [] }),
    ),
  },
  { requiredKeys: ['completion'] },
);
const generator = fc.dictionary(
  fc.constantFrom('field', 'suggest_mode', 'max_edits', 'prefix_length', 'min_word_length', 'max_inspections', 'min_doc_freq', 'max_term_freq', 'size', 'pre_filter', 'post_filter', 'accuracy', 'bogus'),
  fc.oneof(value, field, fc.constantFrom('always', 'missing', 'reverse', 'standard', 0, 1, 2, 0.5)),
  { maxKeys: 4 },
);
const phrase = fc.record(
  {
    text: fc.oneof(value, fc.constantFrom('a b', 'a c d x', 'b c a c d a b x a b c', '')),
    phrase: fc.oneof(
      value,
      fc.dictionary(
        fc.constantFrom('field', 'gram_size', 'real_word_error_likelihood', 'confidence', 'max_errors', 'separator', 'size', 'analyzer', 'shard_size', 'token_limit', 'highlight', 'smoothing', 'direct_generator', 'force_unigrams', 'collate', 'bogus'),
        fc.oneof(
          value,
          field,
          fc.constantFrom(0, 0.5, 1, 3, 100, ' ', 'standard'),
          fc.record({ pre_tag: value, post_tag: value }, { requiredKeys: [] }),
          fc.dictionary(fc.constantFrom('stupid_backoff', 'laplace', 'linear_interpolation', 'bogus'), fc.oneof(value, fc.dictionary(fc.constantFrom('discount', 'alpha', 'trigram_lambda', 'bigram_lambda', 'unigram_lambda'), value, { maxKeys: 3 })), { maxKeys: 2 }),
          fc.oneof(generator, fc.array(generator, { maxLength: 2 })),
        ),
        { maxKeys: 6 },
      ),
    ),
  },
  { requiredKeys: ['phrase'] },
);
/** Phrase suggesters that mostly parse, so that the search runs: corrections on `body` with several changes allowed. */
const validPhrase = fc.record({
  text: fc.constantFrom('a b', 'ab c dd x', 'b c a c d a b x a b c', 'xa', ''),
  phrase: fc.record(
    {
      field: fc.constantFrom('body', 'body.keyword', 'tag', 'nope'),
      max_errors: fc.constantFrom(0.5, 1, 2, 100),
      confidence: fc.constantFrom(0, 0.5, 1, 2),
      gram_size: fc.constantFrom(1, 2, 3),
      size: fc.constantFrom(1, 3),
      token_limit: fc.constantFrom(2, 20),
      highlight: fc.constant({ pre_tag: '<', post_tag: '>' }),
      smoothing: fc.constantFrom({ stupid_backoff: { discount: 0.2 } }, { laplace: { alpha: 0.1 } }, { linear_interpolation: { trigram_lambda: 0.2, bigram_lambda: 0.3, unigram_lambda: 0.5 } }),
      direct_generator: fc.array(
        fc.record({ field: fc.constantFrom('body', 'tag'), suggest_mode: fc.constantFrom('always', 'missing', 'popular'), min_word_length: fc.constant(1), prefix_length: fc.constantFrom(0, 1), max_edits: fc.constantFrom(1, 2), accuracy: fc.constantFrom(0, 0.5) }, { requiredKeys: ['field', 'min_word_length'] }),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: ['field'] },
  ),
});
const suggest = fc.dictionary(
  fc.constantFrom('s', 'text'),
  fc.oneof(value, completion, phrase, validPhrase, fc.record({ text: value, term: fc.dictionary(fc.constantFrom('field', 'size', 'suggest_mode', 'sort', 'max_edits', 'prefix_length', 'min_word_length', 'min_doc_freq', 'max_term_freq', 'analyzer'), fc.oneof(value, field), { maxKeys: 3 }) }, { requiredKeys: [] })),
  { maxKeys: 2 },
);
const rescorer = fc.dictionary(
  fc.constantFrom('window_size', 'query'),
  fc.oneof(value, fc.dictionary(fc.constantFrom('rescore_query', 'query_weight', 'rescore_query_weight', 'score_mode'), fc.oneof(query, value), { maxKeys: 3 })),
  { maxKeys: 2 },
);
// Nested queries that get past the outer checks (a path that is mostly right, an inner query on the path's fields).
const nestedLeaf = fc.oneof(
  fc.constant({ match_all: {} }),
  fc.record({ term: fc.record({ 'users.name': fc.oneof(fc.constantFrom('p', 'q'), value) }) }),
  fc.record({ range: fc.record({ 'users.age': fc.dictionary(fc.constantFrom('gte', 'lt'), fc.oneof(fc.integer({ min: 0, max: 30 }), value), { maxKeys: 2 }) }) }),
  fc.record({ exists: fc.record({ field }) }),
);
const nestedQuery = fc.record({
  nested: fc.record(
    { path: fc.oneof(fc.constant('users'), field, value), query: fc.oneof(nestedLeaf, fc.record({ bool: fc.record({ must: fc.array(nestedLeaf, { maxLength: 2 }), must_not: fc.array(nestedLeaf, { maxLength: 1 }) }, { requiredKeys: [] }) })), score_mode: fc.oneof(fc.constantFrom('avg', 'max', 'min', 'sum', 'none'), value), ignore_unmapped: fc.oneof(fc.boolean(), value), inner_hits: fc.oneof(odd, fc.dictionary(fc.constantFrom('name', 'from', 'size', '_source', 'bogus'), fc.oneof(fc.integer({ min: 0, max: 5 }), value), { maxKeys: 3 })) },
    { requiredKeys: ['path', 'query'] },
  ),
});
// Sort keys on a nested field: `nested` with a path and maybe a filter, and a mode.
const nestedSort = fc.record({ 'users.age': fc.record({ order: fc.oneof(fc.constantFrom('asc', 'desc'), value), mode: fc.oneof(fc.constantFrom('min', 'max', 'avg', 'sum'), value), nested: fc.oneof(fc.constantFrom<unknown>(null, 1, 'x', []), fc.record({ path: fc.oneof(fc.constant('users'), field, value), filter: fc.oneof(nestedLeaf, query) }, { requiredKeys: [] })) }, { requiredKeys: ['nested'] }) });
const nestedAggs = fc.record({ u: fc.record({ nested: fc.record({ path: fc.oneof(field, value) }, { requiredKeys: [] }), aggs: fc.record({ back: fc.oneof(fc.record({ reverse_nested: fc.record({ path: fc.oneof(field, value) }, { requiredKeys: [] }) }), fc.record({ ages: fc.record({ stats: fc.record({ field }) }) })) }, { requiredKeys: [] }) }, { requiredKeys: [] }) });
// collapse with inner_hits: well-formed definitions (so that group searches run), and odd ones.
const sortKey = fc.oneof(fc.constantFrom('n', 'tag', 'at', '_score', '_doc'), fc.tuple(fc.constantFrom('n', 'tag', 'at'), fc.constantFrom('asc', 'desc')).map(([f, o]) => ({ [f]: o })));
const goodInnerHit = fc.record(
  {
    name: fc.constantFrom('h', 'i', 'j'),
    from: fc.integer({ min: 0, max: 3 }),
    size: fc.integer({ min: 0, max: 4 }),
    sort: fc.array(sortKey, { maxLength: 2 }),
    _source: fc.oneof(fc.boolean(), fc.constantFrom('n', 'tag', 'users.*')),
    collapse: fc.record({ field: fc.constantFrom('tag', 'n') }),
  },
  { requiredKeys: ['name'] },
);
const oddInnerHit = fc.dictionary(fc.constantFrom('name', 'from', 'size', 'sort', '_source', 'collapse', 'track_scores', 'bogus'), fc.oneof(value, field, fc.record({ field, inner_hits: fc.record({ name: fc.constant('x') }) })), { maxKeys: 4 });
const collapse = fc.oneof(
  {
    arbitrary: fc.record(
      {
        field: fc.constantFrom('tag', 'n', 'at'),
        inner_hits: fc.oneof(goodInnerHit, fc.uniqueArray(goodInnerHit, { selector: (h) => h.name, minLength: 1, maxLength: 3 })),
        max_concurrent_group_searches: fc.integer({ min: 1, max: 3 }),
      },
      { requiredKeys: ['field', 'inner_hits'] },
    ),
    weight: 4,
  },
  { arbitrary: fc.dictionary(fc.constantFrom('field', 'inner_hits', 'max_concurrent_group_searches'), fc.oneof(value, field, oddInnerHit, fc.array(fc.oneof(goodInnerHit, oddInnerHit), { maxLength: 3 })), { maxKeys: 3 }), weight: 1 },
);
const request = fc.oneof(
  fc.record(
    {
      query: fc.oneof({ arbitrary: fc.constantFrom<unknown>({ match: { body: 'a' } }, { match_all: {} }, { range: { n: { gte: 2 } } }), weight: 4 }, query),
      collapse,
      post_filter: fc.oneof({ arbitrary: fc.constantFrom<unknown>({ term: { tag: 'p' } }, { exists: { field: 'at' } }), weight: 4 }, query),
      sort: fc.array(sortKey, { maxLength: 2 }),
      from: fc.constantFrom(0, 1),
      size: fc.constantFrom(0, 3),
    },
    { requiredKeys: ['collapse'] },
  ),
  fc.record({ query: fc.oneof(nestedQuery, fc.constant({ match_all: {} })), sort: fc.array(nestedSort, { maxLength: 1 }), aggs: nestedAggs, size: fc.constantFrom(0, 3) }, { requiredKeys: ['query'] }),
  fc.record({ query, terminate_after: fc.oneof(value, fc.integer({ min: 0, max: 40 })), indices_boost: fc.oneof(value, fc.array(fc.dictionary(fc.constantFrom('i', 'j'), fc.oneof(value, fc.double({ min: 0, max: 4, noNaN: true })), { maxKeys: 2 }), { maxLength: 2 })), aggs: fc.constant({ t: { terms: { field: 'tag' } } }) }, { requiredKeys: [] }),
  fc.record({ query, explain: fc.boolean(), collapse: fc.record({ field }), suggest, rescore: fc.oneof(rescorer, fc.array(rescorer, { maxLength: 2 })), sort: fc.array(fc.oneof(field, oneField(value)), { maxLength: 2 }), size: fc.constantFrom(0, 3) }, { requiredKeys: ['query'] }),
  fc.record(
    {
      query,
      script_fields: fc.oneof(fc.dictionary(fc.constantFrom('f', 'g'), fc.oneof(fc.record({ script }), value), { maxKeys: 2 }), value),
      sort: fc.array(fc.oneof(fc.record({ _script: fc.record({ type: fc.constantFrom<unknown>('number', 'string', 'date', 1), script, order: fc.constantFrom<unknown>('asc', 'desc', 'up') }, { requiredKeys: [] }) }), field), { maxLength: 2 }),
      size: fc.constantFrom(0, 3),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(
  fc.constantFrom('query', 'post_filter', 'min_score', 'from', 'size', 'sort', 'search_after', 'track_total_hits', '_source', 'aggs', 'highlight', 'timeout', 'collapse', 'explain', 'suggest', 'rescore', 'terminate_after', 'indices_boost', 'bogus'),
  fc.oneof(query, value, fc.record({ field }), fc.dictionary(fc.constantFrom('s', 'text'), fc.oneof(value, fc.record({ text: value, term: options })), { maxKeys: 2 })),
  { maxKeys: 5 },
  ),
);

// Requests whose only doubtful part is a script's source, so that scripts run (and fail at run time) often.
const runnable = fc.oneof(scriptSource, fc.record({ source: scriptSource, params: fc.record({ p: fc.integer(), q: fc.integer() }) }));
const scriptRequest = fc.record(
  {
    query: fc.oneof(
      fc.record({ script_score: fc.record({ query: fc.constantFrom<unknown>({ match_all: {} }, { match: { body: 'a' } }), script: runnable }) }),
      fc.record({ script: fc.record({ script: runnable }) }),
      fc.record({ function_score: fc.record({ functions: fc.tuple(fc.record({ script_score: fc.record({ script: runnable }) })) }) }),
    ),
    script_fields: fc.record({ f: fc.record({ script: runnable }) }),
    sort: fc.tuple(fc.record({ _script: fc.record({ type: fc.constantFrom('number', 'string'), script: runnable }) })),
  },
  { requiredKeys: ['query'] },
);

/** As a decoded JSON or msgpack body has them: ordinary objects (fast-check makes some without a prototype). */
function ordinary(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(ordinary);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = ordinary(x);
  return out;
}

describe('search requests, fuzzed', () => {
  const e = new ShardEngine({ mappings: { properties: { body: { type: 'text', fields: { keyword: { type: 'keyword' } } }, tag: { type: 'keyword' }, n: { type: 'long' }, at: { type: 'date' }, users: { type: 'nested', properties: { name: { type: 'keyword' }, age: { type: 'long' } } }, sugg: { type: 'completion' } } } });
  for (let i = 0; i < 30; i++) e.index(String(i), { sugg: { input: ['a b', 'b c', 'x'][i % 3]!, weight: i }, body: ['a b', 'b c', 'a c d', 'x'][i % 4], tag: ['p', 'q'][i % 2], n: i % 7, at: 1_700_000_000_000 + i * 86_400_000, users: Array.from({ length: i % 3 }, (_, j) => ({ name: ['p', 'q', 'x'][(i + j) % 3], age: i + j })) });
  e.refresh();

  it('answers, or fails with a structured error, whatever the request', () => {
    let answered = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(request, value).map(ordinary), (body) => {
        try {
          const res = e.search(body);
          expect(Array.isArray(res.hits.hits)).toBe(true);
          answered++;
        } catch (err) {
          if (!(err instanceof EngineError)) throw new Error(`not a structured error for ${JSON.stringify(body)}: ${String(err)}`);
          expect(err.type).toMatch(/^[a-z_]+$/);
          expect(err.reason.length).toBeGreaterThan(0);
          refused++;
        }
      }),
      { numRuns: 3_000 },
    );
    // Both outcomes happen: the generator reaches past the parser.
    expect(answered).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
    expect(e.search({ query: { match_all: {} }, size: 0, track_total_hits: true }).hits.total.value).toBe(30);
  });

  it('phrase suggesters: answer with sorted, unique options, or fail with a structured error', () => {
    let withOptions = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(validPhrase, validPhrase, phrase).map(ordinary), (s) => {
        try {
          const entries = e.search({ size: 0, suggest: { s } }).suggest!.s as { options: { text: string; score: number }[] }[];
          const options = entries.flatMap((x) => x.options);
          if (options.length > 0) withOptions++;
          expect(new Set(options.map((o) => o.text)).size).toBe(options.length);
          for (let i = 1; i < options.length; i++) expect(options[i - 1]!.score).toBeGreaterThanOrEqual(options[i]!.score);
        } catch (err) {
          if (!(err instanceof EngineError)) throw new Error(`not a structured error for ${JSON.stringify(s)}: ${String(err)}`);
          refused++;
        }
      }),
      { numRuns: 600, seed: 7 },
    );
    expect(withOptions).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });

  it('scripts: valid and invalid sources answer, or fail with a structured error (compile or run time)', () => {
    const outcomes = { answered: 0, compile: 0, runtime: 0, other: 0 };
    fc.assert(
      fc.property(scriptRequest.map(ordinary), (body) => {
        try {
          e.search(body);
          outcomes.answered++;
        } catch (err) {
          if (!(err instanceof EngineError)) throw new Error(`not a structured error for ${JSON.stringify(body)}: ${String(err)}`);
          if (err.type === 'script_exception') outcomes[err.reason.startsWith('compile') ? 'compile' : 'runtime']++;
          else outcomes.other++;
        }
      }),
      { numRuns: 1_500, seed: 5 },
    );
    expect(outcomes.answered).toBeGreaterThan(50);
    expect(outcomes.compile).toBeGreaterThan(50);
    expect(outcomes.runtime).toBeGreaterThan(50);
  });
});
