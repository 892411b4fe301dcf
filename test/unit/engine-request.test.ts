import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { termsWithPrefix } from '../../src/engine/query.ts';
import { parseSearchRequest, parseTimeout } from '../../src/engine/search-request.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError } from '../../src/engine/types.ts';

const ids = (r: { hits: { hits: { _id: string }[] } }) => r.hits.hits.map((h) => h._id);

function engine(): ShardEngine {
  const e = new ShardEngine({ mappings: { properties: { title: { type: 'text' }, tag: { type: 'keyword' }, n: { type: 'long' }, authors: { properties: { name: { type: 'keyword' }, age: { type: 'long' } } } } } });
  e.index('1', { title: 'quick brown fox', tag: 'a', n: 3, authors: [{ name: 'ann', age: 30 }, { name: 'bob', age: 40 }] });
  e.index('2', { title: 'lazy brown dog', tag: 'b', n: 1 });
  e.refresh();
  e.index('3', { title: 'brown fox, brown dog', tag: 'c', n: 2 });
  e.refresh();
  return e;
}

function rejection(fn: () => unknown): { type: string; reason: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    return { type: err.type, reason: err.message };
  }
}

function nest(levels: number, wrap: (inner: unknown) => unknown, leaf: unknown): unknown {
  let q = leaf;
  for (let i = 0; i < levels; i++) q = wrap(q);
  return q;
}

/** Requests Elasticsearch rejects, the error type, and a part of the reason that names the problem. */
const BAD: [string, unknown, string, string][] = [
  ['a misspelt match option', { query: { match: { title: { query: 'fox', operatr: 'and' } } } }, 'parsing_exception', '[operatr]'],
  ['a misspelt match_phrase option', { query: { match_phrase: { title: { query: 'brown fox', slp: 1 } } } }, 'parsing_exception', '[slp]'],
  ['an unknown term option', { query: { term: { tag: { value: 'a', bogus: 1 } } } }, 'parsing_exception', '[bogus]'],
  ['two fields in one match', { query: { match: { title: 'fox', tag: 'a' } } }, 'parsing_exception', 'multiple fields'],
  ['a boost beside the field', { query: { match: { title: 'fox', boost: 2 } } }, 'parsing_exception', 'multiple fields'],
  ['an unknown multi_match option', { query: { multi_match: { query: 'fox', fields: ['title'], typo: 1 } } }, 'parsing_exception', '[typo]'],
  ['a multi_match field that is not a string', { query: { multi_match: { query: 'fox', fields: [1] } } }, 'parsing_exception', 'fields'],
  ['an unknown exists option', { query: { exists: { field: 'tag', x: 1 } } }, 'parsing_exception', '[x]'],
  ['an unknown ids option', { query: { ids: { values: ['1'], x: 1 } } }, 'parsing_exception', '[x]'],
  ['an unknown prefix option', { query: { prefix: { tag: { value: 'a', x: 1 } } } }, 'parsing_exception', '[x]'],
  ['range time_zone (not supported)', { query: { range: { n: { gte: 1, time_zone: '+01:00' } } } }, 'parsing_exception', '[time_zone]'],
  ['an unknown match_all option', { query: { match_all: { x: 1 } } }, 'parsing_exception', '[x]'],
  ['match_none with options', { query: { match_none: { x: 1 } } }, 'parsing_exception', '[x]'],
  ['constant_score without a filter', { query: { constant_score: { boost: 2 } } }, 'parsing_exception', 'filter'],
  ['dis_max without queries', { query: { dis_max: { tie_breaker: 0.5 } } }, 'parsing_exception', 'queries'],
  ['a tie_breaker above 1', { query: { dis_max: { queries: [{ match_all: {} }], tie_breaker: 2 } } }, 'parsing_exception', 'tie_breaker'],
  ['an unknown query_string option', { query: { query_string: { query: 'fox', x: 1 } } }, 'parsing_exception', '[x]'],
  ['a bad default_operator', { query: { query_string: { query: 'fox', default_operator: 'xor' } } }, 'parsing_exception', 'operator'],
  ['a _name that is not a string', { query: { match: { title: { query: 'fox', _name: 1 } } } }, 'parsing_exception', '[_name]'],
  ['a _name beside the field', { query: { match: { title: 'fox', _name: 'q' } } }, 'parsing_exception', 'multiple fields'],
  ['terms values that are objects', { query: { terms: { tag: [{}] } } }, 'parsing_exception', 'values'],
  ['a fuzziness of many edits', { query: { match: { title: { query: 'fox', fuzziness: 'lots' } } } }, 'parsing_exception', 'fuzziness'],
  ['fuzziness 3', { query: { match: { title: { query: 'fox', fuzziness: 3 } } } }, 'parsing_exception', 'fuzziness'],
  ['a minimum_should_match that is no number', { query: { match: { title: { query: 'fox', minimum_should_match: 'x%' } } } }, 'parsing_exception', 'minimum_should_match'],
  ['a conditional minimum_should_match', { query: { bool: { should: [{ match_all: {} }], minimum_should_match: '3<90%' } } }, 'parsing_exception', 'minimum_should_match'],
  ['track_total_hits as a word', { track_total_hits: 'yes' }, 'parsing_exception', 'track_total_hits'],
  ['a negative track_total_hits', { track_total_hits: -5 }, 'parsing_exception', 'track_total_hits'],
  ['a timeout without a unit', { timeout: 5 }, 'parsing_exception', 'timeout'],
  ['a timeout object', { timeout: {} }, 'parsing_exception', 'timeout'],
  ['search_after longer than the sort', { sort: ['n'], search_after: [1, 2] }, 'parsing_exception', 'search_after has 2'],
  ['search_after on score with two values', { search_after: [1, 2] }, 'parsing_exception', 'search_after has 2'],
  ['an unknown sort option', { sort: [{ n: { order: 'asc', bogus: 1 } }] }, 'parsing_exception', '[bogus]'],
  ['a sort order that is no order', { sort: [{ n: 'up' }] }, 'parsing_exception', 'asc or desc'],
  ['two fields in one sort key', { sort: [{ n: 'asc', tag: 'asc' }] }, 'parsing_exception', 'exactly one field'],
  ['a sort on a text field', { sort: ['title'] }, 'illegal_argument_exception', '[title] is a text field'],
  ['a sort on an unmapped field', { sort: ['nope'] }, 'query_shard_exception', 'No mapping found for [nope]'],
  ['_source as a number', { _source: 5 }, 'parsing_exception', '_source'],
  ['_source includes that are not strings', { _source: { includes: [1] } }, 'parsing_exception', '_source.includes'],
  ['an unknown _source option', { _source: { only: ['tag'] } }, 'parsing_exception', '[only]'],
  ['an unknown highlight option', { highlight: { fields: { title: {} }, fragmenter: 'span' } }, 'parsing_exception', '[fragmenter]'],
  ['a fragment_size of 0', { highlight: { fields: { title: { fragment_size: 0 } } } }, 'parsing_exception', 'fragment_size'],
  ['an unknown highlight field option', { highlight: { fields: { title: { type: 'fvh' } } } }, 'parsing_exception', '[type]'],
  ['highlight tags that are no list', { highlight: { fields: { title: {} }, pre_tags: '<b>' } }, 'parsing_exception', 'pre_tags'],
  ['highlight without fields', { highlight: {} }, 'parsing_exception', 'highlight'],
  ['aggs and aggregations both', { aggs: {}, aggregations: {} }, 'parsing_exception', '[aggs] and [aggregations]'],
  ['a query nested 31 deep', { query: nest(31, (q) => ({ bool: { must: [q] } }), { match_all: {} }) }, 'illegal_argument_exception', 'max_nested_depth'],
  ['a query nested 20,000 deep (no stack overflow)', { query: nest(20_000, (q) => ({ constant_score: { filter: q } }), { match_all: {} }) }, 'illegal_argument_exception', 'max_nested_depth'],
  ['aggregations nested 20,000 deep', { aggs: { a: nest(20_000, (a) => ({ terms: { field: 'tag' }, aggs: { a } }), { terms: { field: 'tag' } }) } }, 'illegal_argument_exception', 'nest deeper than 30'],
  ['a terms query of 65,537 values', { query: { terms: { tag: Array.from({ length: 65_537 }, (_, i) => `t${i}`) } } }, 'illegal_argument_exception', 'max_terms_count'],
];

describe('search requests: bad input', () => {
  it.each(BAD)('rejects %s with a typed error that names it, and changes nothing', (_name, request, type, reason) => {
    const e = engine();
    const before = e.search({ query: { match: { title: 'brown' } }, sort: ['n'] });
    const err = rejection(() => e.search(request));
    expect(err).toBeDefined();
    expect(err!.type).toBe(type);
    expect(err!.reason).toContain(reason);
    expect(e.search({ query: { match: { title: 'brown' } }, sort: ['n'] })).toMatchObject({ hits: before.hits });
  });

  it('parses what Elasticsearch accepts', () => {
    const ok: unknown[] = [
      { query: nest(30, (q) => ({ bool: { must: [q] } }), { match_all: {} }), aggs: { a: nest(30, (a) => ({ terms: { field: 'tag' }, aggs: { a } }), { terms: { field: 'tag' } }) } },
      { query: { match: { title: { query: 'fox', operator: 'AND', fuzziness: 'AUTO', minimum_should_match: '75%', analyzer: 'standard', boost: 2 } } } },
      { query: { match: { title: { query: 'fox', fuzziness: 'AUTO:2,4', minimum_should_match: -1 } } } },
      { query: { bool: { should: [{ match_all: {} }], minimum_should_match: '-25%' } } },
      { query: { multi_match: { query: 'fox', fields: ['title^2', 'tag'], type: 'most_fields', tie_breaker: 0.3 } } },
      { track_total_hits: 0, timeout: '50ms', sort: [{ n: { order: 'desc', unmapped_type: 'long' } }, '_doc'], search_after: [1, 0] },
      { _source: { include: 'tag', exclude: ['n'] }, highlight: { fields: [{ title: { number_of_fragments: 0 } }] } },
      { timeout: '-1' },
    ];
    for (const r of ok) expect(() => parseSearchRequest(r)).not.toThrow();
    expect([parseTimeout('2s'), parseTimeout('1.5m'), parseTimeout('250micros'), parseTimeout(-1)]).toEqual([2000, 90_000, 0.25, undefined]);
  });
});

describe('search requests: options', () => {
  it('sorts by an unmapped field as missing everywhere when unmapped_type says so', () => {
    const r = engine().search({ sort: [{ nope: { order: 'asc', unmapped_type: 'long' } }, { n: 'asc' }] });
    expect(ids(r)).toEqual(['2', '3', '1']);
    expect(r.hits.hits.map((h) => h.sort)).toEqual([[null, 1], [null, 2], [null, 3]]);
  });

  it('places docs without the sort field last, first, or as the missing value says', () => {
    const e = engine();
    e.index('4', { title: 'no number, no tag' });
    e.refresh();
    const sorted = (key: unknown) => ids(e.search({ sort: [key, '_doc'] }));
    expect(sorted({ n: 'asc' })).toEqual(['2', '3', '1', '4']);
    expect(sorted({ n: 'desc' })).toEqual(['1', '3', '2', '4']);
    expect(sorted({ n: { order: 'asc', missing: '_first' } })).toEqual(['4', '2', '3', '1']);
    expect(sorted({ n: { order: 'desc', missing: '_first' } })).toEqual(['4', '1', '3', '2']);
    expect(sorted({ n: { order: 'asc', missing: 2.5 } })).toEqual(['2', '3', '4', '1']);
    expect(e.search({ query: { ids: { values: ['4'] } }, sort: [{ n: { missing: 2.5 } }] }).hits.hits[0]!.sort).toEqual([2.5]);
    expect(sorted({ tag: { order: 'desc', missing: 'b' } })).toEqual(['3', '2', '4', '1']); // 4 sorts as 'b', tied with 2
    // search_after walks past the missing ones in the same place.
    const page1 = e.search({ sort: [{ n: { order: 'asc', missing: '_first' } }, '_doc'], size: 2 });
    const page2 = e.search({ sort: [{ n: { order: 'asc', missing: '_first' } }, '_doc'], size: 2, search_after: page1.hits.hits[1]!.sort });
    expect([...ids(page1), ...ids(page2)]).toEqual(['4', '2', '3', '1']);
    expect(rejection(() => e.search({ sort: [{ n: { missing: 'x' } }] }))).toMatchObject({ type: 'illegal_argument_exception' });
    expect(rejection(() => e.search({ sort: [{ tag: { missing: 1 } }] }))).toMatchObject({ type: 'illegal_argument_exception' });
    expect(rejection(() => e.search({ sort: [{ n: { missing: {} } }] }))).toMatchObject({ type: 'parsing_exception' });
  });

  it('stops between segments when the timeout has passed, answering timed_out with what it collected', () => {
    const e = engine();
    // Two segments (docs 1–2, then 3); a timeout of 0 lets the first segment alone run.
    for (const request of [{ query: { match: { title: 'brown' } } }, { query: { match: { title: 'brown dog' } } }, { query: { match: { title: 'brown' } }, sort: ['n'] }]) {
      const cut = e.search({ ...request, timeout: '0ms' });
      expect(cut.timed_out).toBe(true);
      expect(ids(cut).sort()).toEqual(['1', '2']);
      const full = e.search({ ...request, timeout: '1m' });
      expect(full.timed_out).toBe(false);
      expect(ids(full).sort()).toEqual(['1', '2', '3']);
    }
  });

  it('filters _source inside arrays of objects', () => {
    const hit = engine().search({ query: { ids: { values: ['1'] } }, _source: ['authors.name'] }).hits.hits[0]!;
    expect(hit._source).toEqual({ authors: [{ name: 'ann' }, { name: 'bob' }] });
    const ex = engine().search({ query: { ids: { values: ['1'] } }, _source: { excludes: ['authors.age', 'title'] } }).hits.hits[0]!;
    expect(ex._source).toEqual({ tag: 'a', n: 3, authors: [{ name: 'ann' }, { name: 'bob' }] });
  });

  it('highlights with per-field tags and fragment counts, fields given as an object or a list', () => {
    const e = new ShardEngine({ mappings: { properties: { title: { type: 'text' }, tags: { type: 'text' } } } });
    e.index('1', { title: 'brown fox', tags: ['brown', 'red', 'brown bear'] });
    e.refresh();
    const q = { match: { title: 'brown' } };
    const hit = (highlight: unknown) => e.search({ query: { multi_match: { query: 'brown', fields: ['title', 'tags'] } }, highlight }).hits.hits[0]!.highlight;
    expect(hit({ pre_tags: ['<b>'], post_tags: ['</b>'], fields: { title: {}, tags: { number_of_fragments: 1, pre_tags: ['['], post_tags: [']'] } } })).toEqual({ title: ['<b>brown</b> fox'], tags: ['[brown]'] });
    expect(hit({ fields: [{ tags: { number_of_fragments: 0 } }] })).toEqual({ tags: ['<em>brown</em>', '<em>brown</em> bear'] });
    expect(e.search({ query: q, highlight: { fields: { '*': {} } } }).hits.hits[0]!.highlight).toEqual({ title: ['<em>brown</em> fox'] });
  });

  it('highlights a multi-field from its parent text, analysed the sub-field way', () => {
    const e = new ShardEngine({ mappings: { properties: { title: { type: 'text', fields: { english: { type: 'text', analyzer: 'english' } } } } } });
    e.index('1', { title: 'Running foxes ran' });
    e.refresh();
    // "runs" stems to "run": it matches "Running" only under the english analyzer.
    const res = e.search({ query: { match: { 'title.english': 'runs' } }, highlight: { fields: { 'title.english': {}, title: {} } } });
    expect(res.hits.hits[0]!.highlight).toEqual({ 'title.english': ['<em>Running</em> foxes ran'] });
    expect(e.search({ query: { match: { 'title.english': 'fox' } }, highlight: { fields: { '*': {} } } }).hits.hits[0]!.highlight).toEqual({ 'title.english': ['Running <em>foxes</em> ran'] });
    expect(e.mappings.sourcePath('title.english')).toBe('title');
    expect(e.mappings.sourcePath('title.keyword')).toBe('title.keyword'); // no such multi-field here
  });

  it('cuts long values into fragments around the matches, on word boundaries, the best ones in text order', () => {
    const filler = (word: string, n: number) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ');
    // "brown" early, "brown fox" late, 40 filler words (~8 chars each) between and around.
    const text = `${filler('lorem', 10)} brown ${filler('ipsum', 40)} brown fox ${filler('dolor', 10)}`;
    const e = new ShardEngine({ mappings: { properties: { body: { type: 'text' }, other: { type: 'text' } } } });
    e.index('1', { body: text, other: ['a brown one', filler('x', 30) + ' fox'] });
    e.refresh();
    const highlight = (h: unknown) => e.search({ query: { match: { body: 'brown fox' } }, highlight: h }).hits.hits[0]!.highlight!;
    const two = highlight({ fields: { body: { fragment_size: 60 } } }).body!;
    expect(two).toHaveLength(2);
    expect(two[0]).toContain('<em>brown</em>');
    expect(two[1]).toContain('<em>brown</em> <em>fox</em>');
    for (const f of two) {
      const plain = f.replace(/<\/?em>/g, '');
      expect(plain.length).toBeLessThanOrEqual(60);
      expect(plain.length).toBeGreaterThan(40);
      expect(text).toContain(plain); // a slice of the text
      // Whole words: the slice starts and ends at word boundaries.
      const at = text.indexOf(plain);
      expect(at === 0 || text[at - 1] === ' ').toBe(true);
      expect(at + plain.length === text.length || text[at + plain.length] === ' ').toBe(true);
    }
    // One fragment: the one with more distinct terms.
    expect(highlight({ fields: { body: { fragment_size: 60, number_of_fragments: 1 } } }).body).toEqual([two[1]]);
    // number_of_fragments 0: the whole value; short values stay whole; values of an array are candidates too.
    expect(highlight({ number_of_fragments: 0, fields: { body: {} } }).body![0]!.replace(/<\/?em>/g, '')).toBe(text);
    const other = e.search({ query: { match: { other: 'brown fox' } }, highlight: { fields: { other: { fragment_size: 20 } } } }).hits.hits[0]!.highlight!.other!;
    expect(other).toEqual(['a <em>brown</em> one', 'x26 x27 x28 x29 <em>fox</em>']);
  });

  it('post_filter narrows the hits and their total after the aggregations; min_score narrows both', () => {
    const e = engine();
    const aggs = { tags: { terms: { field: 'tag' } } };
    const filtered = e.search({ query: { match: { title: 'brown' } }, post_filter: { term: { tag: 'c' } }, aggs });
    expect(ids(filtered)).toEqual(['3']);
    expect(filtered.hits.total).toEqual({ value: 1, relation: 'eq' });
    const buckets = (r: { aggregations?: Record<string, unknown> }) => (r.aggregations!.tags as { buckets: { key: string }[] }).buckets.map((b) => b.key).sort();
    expect(buckets(filtered)).toEqual(['a', 'b', 'c']);
    // Doc 3 has "brown" twice in a short text: it alone scores above the others.
    const all = e.search({ query: { match: { title: 'brown' } } });
    const cut = (all.hits.hits[0]!._score! + all.hits.hits[1]!._score!) / 2;
    const best = e.search({ query: { match: { title: 'brown' } }, min_score: cut, aggs });
    expect(ids(best)).toEqual([all.hits.hits[0]!._id]);
    expect(best.hits.total.value).toBe(1);
    expect(buckets(best)).toEqual(['c']);
    expect(rejection(() => e.search({ min_score: '1' }))).toMatchObject({ type: 'parsing_exception' });
    expect(rejection(() => e.search({ post_filter: { nope: {} } }))).toMatchObject({ type: 'parsing_exception' });
  });

  it('match_phrase_prefix and match_bool_prefix: the last term as a prefix (search as you type), highlighted', () => {
    const e = new ShardEngine({ mappings: { properties: { t: { type: 'text' } } } });
    for (const [id, t] of [['1', 'quick brown fox'], ['2', 'quick brownie recipe'], ['3', 'brown quick fox'], ['4', 'quick blue fox']]) e.index(id, { t });
    e.refresh();
    const found = (query: unknown) => ids(e.search({ query })).sort();
    expect(found({ match_phrase_prefix: { t: 'quick bro' } })).toEqual(['1', '2']);
    expect(found({ match_phrase_prefix: { t: { query: 'quick bro', max_expansions: 1 } } })).toEqual(['1']); // "brown" only
    expect(found({ match_phrase_prefix: { t: 'quick f' } })).toEqual(['3']);
    expect(found({ match_phrase_prefix: { t: { query: 'quick f', slop: 1 } } })).toEqual(['1', '3', '4']);
    expect(found({ match_phrase_prefix: { t: 'fo' } })).toEqual(['1', '3', '4']);
    expect(found({ match_bool_prefix: { t: 'fox bro' } })).toEqual(['1', '2', '3', '4']);
    expect(found({ match_bool_prefix: { t: { query: 'fox bro', operator: 'and' } } })).toEqual(['1', '3']);
    const hit = e.search({ query: { match_phrase_prefix: { t: 'quick bro' } }, highlight: { fields: { t: {} } } }).hits.hits.find((h) => h._id === '2')!;
    expect(hit.highlight).toEqual({ t: ['<em>quick</em> <em>brownie</em> recipe'] });
    expect(rejection(() => e.search({ query: { match_phrase_prefix: { t: { query: 'x', max_expansions: 0 } } } }))).toMatchObject({ type: 'parsing_exception' });
    expect(rejection(() => e.search({ query: { match_bool_prefix: { t: { query: 'x', fuzziness: 1 } } } }))).toMatchObject({ type: 'parsing_exception' });
  });

  it('lists the named queries each hit matches (matched_queries), at any depth', () => {
    const e = engine();
    const r = e.search({
      query: {
        bool: {
          should: [
            { match: { title: { query: 'fox', _name: 'fox' } } },
            { term: { tag: { value: 'b', _name: 'tag b' } } },
            { constant_score: { filter: { range: { n: { gte: 2, _name: 'n ≥ 2' } } } } },
          ],
          _name: 'any',
        },
      },
      sort: ['_doc'],
    });
    expect(r.hits.hits.map((h) => [h._id, h.matched_queries])).toEqual([
      ['1', ['any', 'fox', 'n ≥ 2']],
      ['2', ['any', 'tag b']],
      ['3', ['any', 'fox', 'n ≥ 2']],
    ]);
    // One named leaf: no pruned shortcut loses it; an unnamed search carries none.
    expect(e.search({ query: { match: { title: { query: 'lazy', _name: 'lazy' } } } }).hits.hits.map((h) => h.matched_queries)).toEqual([['lazy']]);
    expect(e.search({ query: { match: { title: 'lazy' } } }).hits.hits[0]).not.toHaveProperty('matched_queries');
    expect(e.search({ query: { terms: { tag: ['a'], _name: 't' } } }).hits.hits[0]!.matched_queries).toEqual(['t']);
  });

  it('applies fuzziness AUTO:low,high by term length', () => {
    const e = new ShardEngine({ mappings: { properties: { w: { type: 'text' } } } });
    for (const [id, w] of [['1', 'fox'], ['2', 'box'], ['3', 'foxes'], ['4', 'boxes']]) e.index(id, { w });
    e.refresh();
    const fuzzy = (query: string, fuzziness: unknown) => ids(e.search({ query: { match: { w: { query, fuzziness } } } })).sort();
    expect(fuzzy('fox', 'AUTO')).toEqual(['1', '2']); // 3 chars: one edit
    expect(fuzzy('fox', 'AUTO:4,6')).toEqual(['1']); // under 4 chars: exact
    expect(fuzzy('foxes', 'AUTO:3,5')).toEqual(['1', '3', '4']); // 5 chars: two edits
    expect(fuzzy('fox', 0)).toEqual(['1']);
  });
});

describe('prefix ranges of the term dictionary', () => {
  const word = fc.stringMatching(/^[abc]{0,4}$/);
  it('termsWithPrefix equals filtering the sorted dictionary', () => {
    fc.assert(
      fc.property(fc.uniqueArray(word), word, fc.integer({ min: 1, max: 5 }), (words, prefix, max) => {
        const sorted = [...words].sort();
        const all = sorted.filter((w) => w.startsWith(prefix));
        expect(termsWithPrefix(sorted, prefix)).toEqual(all);
        expect(termsWithPrefix(sorted, prefix, max)).toEqual(all.slice(0, max));
      }),
    );
  });

  it('prefix and wildcard queries find what a scan of the documents finds', () => {
    const pattern = fc.stringMatching(/^[abc*?]{1,4}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), word, pattern, (values, prefix, wildcard) => {
        const e = new ShardEngine({ mappings: { properties: { k: { type: 'keyword' } } } });
        values.forEach((v, i) => {
          e.index(String(i), { k: v });
          if (i % 7 === 6) e.refresh(); // several segments
        });
        e.refresh();
        const found = (query: unknown) => ids(e.search({ query, size: 100 })).map(Number).sort((a, b) => a - b);
        const re = new RegExp(`^${wildcard.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
        expect(found({ prefix: { k: prefix } })).toEqual(values.flatMap((v, i) => (v.startsWith(prefix) ? [i] : [])));
        expect(found({ wildcard: { k: wildcard } })).toEqual(values.flatMap((v, i) => (re.test(v) ? [i] : [])));
      }),
      { numRuns: 200 },
    );
  });
});
