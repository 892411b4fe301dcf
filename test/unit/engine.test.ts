import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MappingRegistry } from '../../src/engine/mapping.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { decodeNorm, encodeNorm } from '../../src/engine/similarity.ts';
import { EngineError } from '../../src/engine/types.ts';

const ids = (r: { hits: { hits: { _id: string }[] } }) => r.hits.hits.map((h) => h._id);

function errorType(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return e instanceof EngineError ? e.type : `untyped ${String(e)}`;
  }
}

describe('BM25 as Lucene computes it', () => {
  it('scores equal hand-computed Lucene values', () => {
    const e = new ShardEngine();
    e.index('1', { body: 'the quick brown fox' }); // 4 tokens
    e.index('2', { body: 'the lazy dog' }); // 3
    e.index('3', { body: 'quick quick fox' }); // 3
    e.refresh();
    const r = e.search({ query: { match: { body: 'quick' } } });
    // docCount 3, docFreq 2, avgdl 10/3; idf = ln(1 + (3 - 2 + 0.5) / (2 + 0.5))
    const idf = Math.log(1 + 1.5 / 2.5);
    const avgdl = 10 / 3;
    const bm25 = (tf: number, dl: number) => (idf * tf) / (tf + 1.2 * (1 - 0.75 + (0.75 * dl) / avgdl));
    const scores = Object.fromEntries(r.hits.hits.map((h) => [h._id, h._score]));
    expect(scores['3']).toBeCloseTo(bm25(2, 3), 12);
    expect(scores['1']).toBeCloseTo(bm25(1, 4), 12);
    expect(ids(r)).toEqual(['3', '1']);
  });

  it('encodes field lengths lossily into one byte, as SmallFloat.intToByte4', () => {
    for (let len = 0; len < 24; len++) expect(decodeNorm(encodeNorm(len))).toBe(len);
    expect(encodeNorm(100)).toBe(57);
    expect(decodeNorm(57)).toBe(96);
    let prev = -1;
    for (let len = 0; len < 100_000; len += 7) {
      const d = decodeNorm(encodeNorm(len));
      expect(d).toBeLessThanOrEqual(len);
      expect(d).toBeGreaterThanOrEqual(prev);
      prev = d;
    }
    expect(encodeNorm(2 ** 31 - 1)).toBe(255);
  });
});

describe('documents, mappings and versions', () => {
  it('rejects a document that conflicts with the mapping and indexes nothing of it', () => {
    const e = new ShardEngine({ mappings: { properties: { n: { type: 'long' } } } });
    e.index('1', { n: 5, title: 'ok' });
    expect(errorType(() => e.index('2', { n: 'not a number', extra: 'new field' }))).toBe('mapper_parsing_exception');
    expect(e.get('2').found).toBe(false);
    expect(e.mappings.field('extra')).toBeUndefined();
    expect(errorType(() => e.index('3', { title: { nested: 'object where text was' } }))).toBe('mapper_parsing_exception');
    expect(e.docCount).toBe(1);
  });

  it('maps dynamically: text with keyword sub-field, long, double, date, boolean, objects as dotted paths', () => {
    const e = new ShardEngine();
    e.index('1', { title: 'Hello', n: 3, x: 1.5, when: '2024-05-01T10:00:00Z', ok: true, user: { name: 'ann', tags: ['a', 'b'] } });
    const m = (p: string) => e.mappings.field(p)?.type;
    expect([m('title'), m('title.keyword'), m('n'), m('x'), m('when'), m('ok'), m('user.name'), m('user.tags')]).toEqual([
      'text', 'keyword', 'long', 'double', 'date', 'boolean', 'text', 'text',
    ]);
    expect(errorType(() => new ShardEngine({ mappings: { dynamic: 'strict' } }).index('1', { a: 1 }))).toBe('strict_dynamic_mapping_exception');
  });

  it('gets in real time, searches after refresh, updates and deletes', () => {
    const e = new ShardEngine();
    const w = e.index('a', { t: 'one' });
    expect(w).toMatchObject({ result: 'created', _version: 1, _seq_no: 0 });
    expect(e.get('a')._source).toEqual({ t: 'one' });
    expect(e.search({ query: { match: { t: 'one' } } }).hits.total.value).toBe(0);
    e.refresh();
    expect(ids(e.search({ query: { match: { t: 'one' } } }))).toEqual(['a']);
    expect(e.index('a', { t: 'two' })).toMatchObject({ result: 'updated', _version: 2, _seq_no: 1 });
    e.refresh();
    expect(e.search({ query: { match: { t: 'one' } } }).hits.total.value).toBe(0);
    expect(ids(e.search({ query: { match: { t: 'two' } } }))).toEqual(['a']);
    expect(e.delete('a')).toMatchObject({ result: 'deleted', _version: 3 });
    expect(e.get('a').found).toBe(false);
    e.refresh();
    expect(e.search({}).hits.total.value).toBe(0);
  });

  it('applies optimistic concurrency with if_seq_no and if_primary_term; create fails on an existing id', () => {
    const e = new ShardEngine();
    const w = e.index('a', { v: 1 });
    expect(e.index('a', { v: 2 }, { ifSeqNo: w._seq_no, ifPrimaryTerm: w._primary_term }).result).toBe('updated');
    expect(errorType(() => e.index('a', { v: 3 }, { ifSeqNo: w._seq_no, ifPrimaryTerm: w._primary_term }))).toBe('version_conflict_engine_exception');
    expect(errorType(() => e.index('a', { v: 3 }, { opType: 'create' }))).toBe('version_conflict_engine_exception');
    expect(e.get('a')._source).toEqual({ v: 2 });
  });
});

describe('mapping limits', () => {
  const nested = (levels: number) => {
    let d: Record<string, unknown> = { x: 1 };
    for (let i = 1; i < levels; i++) d = { o: d };
    return d;
  };

  it('refuses a document whose fields nest deeper than 20 objects, or that would map more than 1,000 fields, and indexes nothing of it', () => {
    const e = new ShardEngine();
    expect(() => e.index('ok', nested(20))).not.toThrow(); // x at depth 20
    expect(errorType(() => e.index('deep', nested(21)))).toBe('illegal_argument_exception');
    expect(errorType(() => e.index('deeper', nested(20_000)))).toBe('illegal_argument_exception'); // no stack overflow
    const wide = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));
    const before = e.mappings.paths().length;
    expect(errorType(() => e.index('wide', wide(1000, 'f')))).toBe('illegal_argument_exception');
    expect(e.mappings.paths().length).toBe(before);
    expect(() => e.index('fits', wide(900, 'g'))).not.toThrow();
    e.refresh();
    expect(e.search({ query: { ids: { values: ['deep', 'deeper', 'wide'] } } }).hits.total.value).toBe(0);
    // Where mappings merge (the master, for what shards propose) and in explicit mappings too.
    const master = new MappingRegistry({ properties: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`a${i}`, { type: 'long' }])) });
    expect(errorType(() => master.merge({ properties: Object.fromEntries(Array.from({ length: 401 }, (_, i) => [`b${i}`, { type: 'long' }])) }))).toBe('illegal_argument_exception');
    expect(master.paths()).toHaveLength(600);
    expect(() => master.merge({ properties: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`b${i}`, { type: 'long' }])) })).not.toThrow();
    expect(errorType(() => new ShardEngine({ mappings: { properties: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`f${i}`, { type: 'long' }])) } }))).toBe('illegal_argument_exception');
    // dynamic false: unmapped parts are only kept, at any depth up to the nesting bound.
    const kept = new ShardEngine({ mappings: { dynamic: false, properties: {} } });
    expect(() => kept.index('1', nested(50))).not.toThrow();
    expect(errorType(() => kept.index('2', nested(200)))).toBe('mapper_parsing_exception');
    let arrays: unknown = 1;
    for (let i = 0; i < 20_000; i++) arrays = [arrays];
    expect(errorType(() => kept.index('3', { a: arrays }))).toBe('mapper_parsing_exception');
  });
});

describe('mapping definitions', () => {
  const mappingError = (mappings: unknown, settings?: unknown) => {
    try {
      new ShardEngine({ mappings: mappings as never, settings: settings as never });
      return 'no error';
    } catch (e) {
      return e instanceof EngineError ? `${e.type}: ${e.message}` : `untyped ${String(e)}`;
    }
  };

  it('rejects parameters a field type does not have, unknown root keys, date formats and analyzers', () => {
    expect(mappingError({ properties: { t: { type: 'text', analyzr: 'english' } } })).toBe('mapper_parsing_exception: unknown parameter [analyzr] on mapper [t] of type [text]');
    expect(mappingError({ properties: { k: { type: 'keyword', analyzer: 'english' } } })).toContain('unknown parameter [analyzer] on mapper [k] of type [keyword]');
    expect(mappingError({ properties: { n: { type: 'integer', ignore_above: 3 } } })).toContain('unknown parameter [ignore_above] on mapper [n] of type [integer]');
    expect(mappingError({ properties: { o: { properties: {}, dynamic: false } } })).toContain('unknown parameter [dynamic] on mapper [o] of type [object]');
    expect(mappingError({ propertes: { t: { type: 'text' } } })).toContain('Root mapping definition has unsupported parameters: [propertes]');
    expect(mappingError({ properties: { d: { type: 'date', format: 'yyyy/MM/dd' } } })).toContain('mapper_parsing_exception: Invalid format: [yyyy/MM/dd]');
    expect(mappingError({ properties: { t: { type: 'text', fields: { raw: { type: 'keyword', fields: { x: { type: 'keyword' } } } } } } })).toContain('cannot have multi-fields');
    expect(mappingError({ properties: { t: { type: 'text', search_analyzer: 'nope' } } })).toBe('mapper_parsing_exception: analyzer [nope] has not been configured in mappings (field [t])');
    // A custom analyzer from the settings, and what each type takes, are fine.
    expect(mappingError({ properties: { t: { type: 'text', analyzer: 'mine', fields: { raw: { type: 'keyword', ignore_above: 10 } } }, d: { type: 'date', format: 'epoch_second||strict_date_optional_time' } } }, { analysis: { analyzer: { mine: { tokenizer: 'whitespace' } } } })).toBe('no error');
  });
});

describe('queries', () => {
  const engine = () => {
    const e = new ShardEngine({ mappings: { properties: { tag: { type: 'keyword' }, n: { type: 'long' }, when: { type: 'date' } } } });
    e.index('1', { title: 'The quick brown fox jumps', tag: 'animal', n: 1, when: '2024-01-01' });
    e.index('2', { title: 'A quick movement of the enemy', tag: 'war', n: 5, when: '2024-02-01' });
    e.refresh(); // two segments, so statistics span segments
    e.index('3', { title: 'brown foxes and quick brown dogs', tag: 'animal', n: 9, when: '2024-03-01' });
    e.index('4', { title: 'nothing here', n: 12 });
    e.refresh();
    return e;
  };

  it('match (or/and/minimum_should_match/fuzziness), match_phrase with slop, multi_match', () => {
    const e = engine();
    expect(ids(e.search({ query: { match: { title: 'quick brown' } } })).sort()).toEqual(['1', '2', '3']);
    expect(ids(e.search({ query: { match: { title: { query: 'quick brown', operator: 'and' } } } })).sort()).toEqual(['1', '3']);
    expect(ids(e.search({ query: { match: { title: { query: 'quick brown enemy', minimum_should_match: 2 } } } })).sort()).toEqual(['1', '2', '3']);
    expect(ids(e.search({ query: { match: { title: { query: 'quikc', fuzziness: 'AUTO' } } } })).sort()).toEqual(['1', '2', '3']);
    expect(ids(e.search({ query: { match_phrase: { title: 'quick brown' } } })).sort()).toEqual(['1', '3']);
    expect(ids(e.search({ query: { match_phrase: { title: 'quick fox' } } }))).toEqual([]);
    expect(ids(e.search({ query: { match_phrase: { title: { query: 'quick fox', slop: 1 } } } }))).toEqual(['1']);
    // A keyword field takes the whole query as one term, as in Elasticsearch.
    expect(ids(e.search({ query: { multi_match: { query: 'animal', fields: ['title', 'tag^2'] } } })).sort()).toEqual(['1', '3']);
    expect(ids(e.search({ query: { multi_match: { query: 'quick enemy', fields: ['title', 'tag'] } } })).sort()).toEqual(['1', '2', '3']);
    expect(ids(e.search({ query: { bool: {} } })).sort()).toEqual(['1', '2', '3', '4']);
  });

  it('term, terms, range on numbers and dates, exists, prefix, wildcard, ids, bool, constant_score, query_string', () => {
    const e = engine();
    const q = (query: unknown) => ids(e.search({ query, size: 20 })).sort();
    expect(q({ term: { tag: 'animal' } })).toEqual(['1', '3']);
    expect(q({ terms: { tag: ['war', 'animal'] } })).toEqual(['1', '2', '3']);
    expect(q({ range: { n: { gte: 5, lt: 12 } } })).toEqual(['2', '3']);
    expect(q({ range: { when: { gt: '2024-01-15', lte: '2024-03-01' } } })).toEqual(['2', '3']);
    expect(q({ exists: { field: 'tag' } })).toEqual(['1', '2', '3']);
    expect(q({ prefix: { 'title.keyword': 'The' } })).toEqual(['1']);
    expect(q({ wildcard: { tag: 'an*al' } })).toEqual(['1', '3']);
    expect(q({ ids: { values: ['4', '2', 'nope'] } })).toEqual(['2', '4']);
    expect(q({ bool: { must: [{ match: { title: 'quick' } }], filter: [{ range: { n: { lte: 5 } } }], must_not: [{ term: { tag: 'war' } }] } })).toEqual(['1']);
    expect(q({ bool: { should: [{ term: { tag: 'war' } }, { term: { n: 12 } }] } })).toEqual(['2', '4']);
    expect(q({ constant_score: { filter: { term: { tag: 'animal' } }, boost: 3 } })).toEqual(['1', '3']);
    expect(e.search({ query: { constant_score: { filter: { term: { tag: 'animal' } }, boost: 3 } } }).hits.max_score).toBe(3);
    expect(q({ query_string: { query: 'quick -enemy', default_field: 'title' } })).toEqual(['1', '3']);
    expect(q({ query_string: { query: 'tag:war OR "brown dogs"', default_field: 'title' } })).toEqual(['2', '3']);
  });

  it('sorts by fields, pages with from/size and search_after, filters _source, highlights, counts totals', () => {
    const e = engine();
    const sorted = e.search({ sort: [{ n: 'desc' }], size: 2 });
    expect(ids(sorted)).toEqual(['4', '3']);
    expect(sorted.hits.hits[1]!.sort).toEqual([9]);
    const next = e.search({ sort: [{ n: 'desc' }], size: 2, search_after: sorted.hits.hits[1]!.sort });
    expect(ids(next)).toEqual(['2', '1']);
    expect(ids(e.search({ sort: ['tag'], size: 4 }))).toEqual(['1', '3', '2', '4']); // missing last
    expect(ids(e.search({ sort: [{ n: 'asc' }], from: 1, size: 2 }))).toEqual(['2', '3']);
    const src = e.search({ query: { ids: { values: ['1'] } }, _source: ['tag', 'n'] });
    expect(src.hits.hits[0]!._source).toEqual({ tag: 'animal', n: 1 });
    const hl = e.search({ query: { match: { title: 'brown' } }, highlight: { fields: { title: {} } } });
    expect(hl.hits.hits.find((h) => h._id === '3')!.highlight!.title![0]).toBe('<em>brown</em> foxes and quick <em>brown</em> dogs');
    expect(e.search({ track_total_hits: 2 }).hits.total).toEqual({ value: 2, relation: 'gte' });
    expect(e.search({ track_total_hits: true }).hits.total).toEqual({ value: 4, relation: 'eq' });
  });

  it('answers bad requests with structured errors', () => {
    const e = engine();
    expect(errorType(() => e.search({ query: { nope: {} } }))).toBe('parsing_exception');
    expect(errorType(() => e.search({ query: { match: { a: 1, b: 2 } } }))).toBe('parsing_exception');
    expect(errorType(() => e.search({ size: -1 }))).toBe('parsing_exception');
    expect(errorType(() => e.search({ bogus: 1 }))).toBe('parsing_exception');
    expect(errorType(() => e.search({ from: 9_999, size: 10 }))).toBe('illegal_argument_exception');
    expect(errorType(() => e.search({ query: { range: { n: { gte: 'abc' } } } }))).toBe('query_shard_exception');
  });
});

describe('segments', () => {
  it('merges small segments, dropping deleted docs, without changing results', () => {
    const e = new ShardEngine({ maxSegments: 3 });
    for (let i = 0; i < 30; i++) {
      e.index(String(i % 12), { body: `doc ${i} word${i % 4}` });
      e.refresh(); // one segment per write: merges kick in
    }
    e.delete('3');
    e.refresh();
    expect(e.segmentCount).toBeLessThanOrEqual(4);
    expect(e.search({ size: 50 }).hits.total.value).toBe(11);
    expect(e.get('5')._source).toEqual({ body: 'doc 29 word1' });
    expect(e.search({ query: { match: { body: 'word1' } }, size: 50 }).hits.hits.map((h) => h._id).sort()).toEqual(['1', '5', '9']);
  });

  it('fetches through a reader the versions its search scored, after updates, deletes, refreshes and merges', () => {
    const e = new ShardEngine({ maxSegments: 2 });
    for (let i = 0; i < 6; i++) {
      e.index(`d${i}`, { body: `quick fox number ${i}`, n: i });
      e.refresh();
    }
    const reader = e.openReader();
    const res = e.search({ query: { match: { body: 'quick' } }, size: 3, _source: false }, reader);
    const addresses = res.hits.hits.map((h) => h._address);
    expect(addresses.every((a) => Number.isSafeInteger(a))).toBe(true);
    // Without a reader, no addresses.
    expect(e.search({ query: { match: { body: 'quick' } } }).hits.hits[0]).not.toHaveProperty('_address');
    // Everything changes afterwards: each hit updated or deleted, new docs, refreshes that merge.
    const scored = res.hits.hits.map((h) => h._id);
    scored.forEach((id, i) => (i % 2 === 0 ? e.index(id, { body: 'slow turtle', n: -1 }) : e.delete(id)));
    for (let i = 0; i < 5; i++) {
      e.index(`new${i}`, { body: 'quick new' });
      e.refresh();
    }
    expect(e.search({ query: { match: { body: 'fox' } } }).hits.total.value).toBe(3);
    const fetched = e.fetch(reader, addresses, { _source: ['n'], highlight: { fields: { body: {} } }, query: { match: { body: 'quick' } } });
    expect(fetched.map((h) => h._id)).toEqual(scored);
    for (const h of fetched) {
      expect(h._source!.n).toBe(Number(h._id.slice(1)));
      expect(Object.keys(h._source!)).toEqual(['n']);
      expect(h.highlight!.body![0]).toContain('<em>quick</em> fox');
    }
    expect(errorType(() => e.fetch(reader, [2 ** 40]))).toBe('illegal_argument_exception');
    expect(errorType(() => e.fetch(reader, [-1]))).toBe('illegal_argument_exception');
    expect(errorType(() => e.fetch(reader, 'x'))).toBe('illegal_argument_exception');
  });

  it('refreshes on its own at the configured interval', async () => {
    const e = new ShardEngine({ refreshIntervalMs: 20 });
    e.index('1', { t: 'hello' });
    const deadline = Date.now() + 2_000;
    while (e.search({}).hits.total.value === 0) {
      if (Date.now() > deadline) throw new Error('no refresh happened');
      await new Promise((r) => setTimeout(r, 5));
    }
    e.close();
  });
});

describe('aggregations through search', () => {
  it('counts a doc once per distinct keyword value, however often the value repeats in the doc', () => {
    const e = new ShardEngine({ mappings: { properties: { t: { type: 'keyword' } } } });
    e.index('1', { t: ['b', 'a', 'b', 'c', 'a'] });
    e.index('2', { t: 'a' });
    e.index('3', { t: [] });
    e.index('4', {});
    e.refresh();
    const res = e.search({ size: 0, aggs: { t: { terms: { field: 't' } } } });
    expect((res.aggregations!.t as { buckets: unknown[] }).buckets).toEqual([
      { key: 'a', doc_count: 2 },
      { key: 'b', doc_count: 1 },
      { key: 'c', doc_count: 1 },
    ]);
    expect(ids(e.search({ sort: [{ t: 'desc' }], query: { exists: { field: 't' } } }))).toEqual(['1', '2']);
  });

  it('computes bucket and metric aggregations over the matching documents', () => {
    const e = new ShardEngine({ mappings: { properties: { tag: { type: 'keyword' }, n: { type: 'long' } } } });
    for (let i = 0; i < 20; i++) {
      e.index(String(i), { title: i % 2 ? 'odd quick' : 'even slow', tag: ['a', 'b', 'c'][i % 3], n: i });
      if (i === 9) e.refresh(); // two segments
    }
    e.refresh();
    const r = e.search({
      size: 0,
      query: { match: { title: 'quick' } },
      aggs: {
        tags: { terms: { field: 'tag' }, aggs: { avg_n: { avg: { field: 'n' } } } },
        s: { stats: { field: 'n' } },
        f: { filters: { filters: { low: { range: { n: { lt: 5 } } } } } },
      },
    });
    expect(r.hits.total.value).toBe(10);
    const tags = r.aggregations!.tags as { buckets: { key: string; doc_count: number; avg_n: { value: number } }[] };
    expect(tags.buckets.map((b) => [b.key, b.doc_count, b.avg_n.value])).toEqual([['b', 4, 10], ['a', 3, 9], ['c', 3, 11]]);
    expect(r.aggregations!.s).toEqual({ count: 10, min: 1, max: 19, avg: 10, sum: 100 });
    expect(r.aggregations!.f).toEqual({ buckets: { low: { doc_count: 2 } } });
    expect(errorType(() => e.search({ aggs: { x: { nonsense: {} } } }))).toMatch(/parsing_exception|illegal_argument_exception/);
  });
});

describe('MaxScore pruning', () => {
  it('returns the same top hits and scores as scoring every match, and exact totals up to track_total_hits', () => {
    const WORDS = ['a1', 'a1', 'a1', 'a1', 'b2', 'b2', 'b2', 'c3', 'c3', 'd4', 'e5', 'f6'];
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 120 }),
        fc.uniqueArray(fc.constantFrom('a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'zz'), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 60 }),
        (docs, terms, size, trackTotal) => {
          const e = new ShardEngine({ maxSegments: 100 });
          docs.forEach((words, i) => {
            e.index(String(i), { body: words.join(' ') });
            if (i % 37 === 36) e.refresh();
          });
          e.delete('0');
          e.refresh();
          const match = { match: { body: terms.join(' ') } };
          const pruned = e.search({ query: match, size, track_total_hits: trackTotal });
          const full = e.search({ query: { bool: { should: [match] } }, size, track_total_hits: true });
          expect(pruned.hits.hits.map((h) => [h._id, h._score])).toEqual(full.hits.hits.map((h) => [h._id, h._score]));
          const total = full.hits.total.value;
          if (total <= trackTotal) expect(pruned.hits.total).toEqual({ value: total, relation: 'eq' });
          else expect(pruned.hits.total).toEqual({ value: trackTotal, relation: 'gte' });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('one-term top k (top docs, block-max impacts)', () => {
  it('returns the same hits, scores and totals as scoring every match: big segments, deletes, several segments, match and term', () => {
    // Few words with skewed frequencies and long docs: terms get hundreds of postings per segment
    // (top docs above 32, impact blocks above 64), varied freqs and norms, and many score ties.
    const WORDS = ['a1', 'a1', 'a1', 'a1', 'a1', 'b2', 'b2', 'b2', 'c3', 'c3', 'd4', 'e5'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 2500 }),
        fc.integer({ min: 1, max: 30 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 80 })),
        fc.constantFrom('a1', 'b2', 'c3', 'd4', 'e5', 'zz'),
        fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 11, max: 30 })),
        fc.integer({ min: 0, max: 2 }),
        fc.constantFrom(1, 0.5, 2.5, 0),
        (seed, nDocs, maxWords, nDeletes, term, size, refreshEvery, boost) => {
          // Generated from a seed: fast-check keeps generated arrays small, and these must be big.
          let x = seed;
          const rand = (n: number) => {
            x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
            return x % n;
          };
          const docs = Array.from({ length: nDocs }, () => [Array.from({ length: 1 + rand(maxWords) }, () => WORDS[rand(WORDS.length)]!), 'xyz'[rand(3)]!] as const);
          const deletes = Array.from({ length: nDeletes }, () => rand(nDocs));
          const e = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' }, tag: { type: 'keyword' } } } });
          docs.forEach(([words, tag], i) => {
            e.index(String(i), { body: words.join(' '), tag });
            if (refreshEvery > 0 && i % (refreshEvery * 700) === refreshEvery * 700 - 1) e.refresh();
          });
          e.refresh();
          for (const d of deletes) e.delete(String(d));
          if (deletes.length % 2 === 1) e.refresh();
          const queries = [
            { match: { body: { query: term, boost } } },
            { match: { body: { query: term, operator: 'and' } } },
            { term: { body: { value: term, boost } } },
            { term: { tag: term === 'a1' ? 'x' : term === 'b2' ? 'y' : 'z' } },
          ];
          for (const query of queries) {
            const pruned = e.search({ query, size, _source: false });
            // A bool wrapper takes the general path, which scores every match.
            const full = e.search({ query: { bool: { should: [query] } }, size, _source: false, track_total_hits: true });
            expect(pruned.hits.hits.map((h) => [h._id, h._score])).toEqual(full.hits.hits.map((h) => [h._id, h._score]));
            expect(pruned.hits.max_score).toEqual(size > 0 ? full.hits.max_score : pruned.hits.max_score);
            const total = full.hits.total.value;
            expect(pruned.hits.total).toEqual(total <= 10_000 ? { value: total, relation: 'eq' } : { value: 10_000, relation: 'gte' });
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('conjunctions', () => {
  it('match with operator and equals bool.must of the single terms, scores included', () => {
    const WORDS = ['a1', 'a1', 'a1', 'b2', 'b2', 'c3', 'c3', 'd4', 'e5'];
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 80 }),
        fc.uniqueArray(fc.constantFrom('a1', 'b2', 'c3', 'd4', 'e5', 'zz'), { minLength: 2, maxLength: 4 }),
        (docs, terms) => {
          const e = new ShardEngine({ maxSegments: 100 });
          docs.forEach((words, i) => {
            e.index(String(i), { body: words.join(' ') });
            if (i % 23 === 22) e.refresh();
          });
          e.delete('1');
          e.refresh();
          const and = e.search({ query: { match: { body: { query: terms.join(' '), operator: 'and' } } }, size: 100 });
          const must = e.search({ query: { bool: { must: terms.map((t) => ({ match: { body: t } })) } }, size: 100 });
          expect(and.hits.hits.map((h) => [h._id, h._score])).toEqual(must.hits.hits.map((h) => [h._id, h._score]));
          expect(and.hits.total).toEqual(must.hits.total);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('phrases', () => {
  it('match_phrase finds exactly the docs with the words in order (slop 0) or within slop 1', () => {
    const W = ['p', 'q', 'r', 's'];
    const naive = (words: string[], phrase: string[], slop: number) => {
      for (let i = 0; i < words.length; i++) {
        if (words[i] !== phrase[0]) continue;
        let distance = 0;
        let ok = true;
        for (let k = 1; k < phrase.length && ok; k++) {
          let best = Infinity;
          words.forEach((w, j) => w === phrase[k] && (best = Math.min(best, Math.abs(j - (i + k)))));
          if (best > slop) ok = false;
          distance += best;
        }
        if (ok && distance <= slop) return true;
      }
      return false;
    };
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...W), { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.constantFrom(...W), { minLength: 2, maxLength: 3 }),
        fc.constantFrom(0, 1),
        (docs, phrase, slop) => {
          const e = new ShardEngine();
          docs.forEach((words, i) => e.index(String(i), { body: words.join(' ') }));
          e.refresh();
          const got = ids(e.search({ query: { match_phrase: { body: { query: phrase.join(' '), slop } } }, size: 100 })).sort();
          const want = docs.map((w, i) => [w, String(i)] as const).filter(([w]) => naive(w, phrase, slop)).map(([, id]) => id).sort();
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('results equal a naive reference evaluation', () => {
  const VOCAB = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'kappa'];
  const docArb = fc.record({
    words: fc.array(fc.constantFrom(...VOCAB), { minLength: 1, maxLength: 8 }),
    tag: fc.constantFrom('x', 'y', 'z'),
    n: fc.integer({ min: 0, max: 20 }),
  });
  type Doc = { words: string[]; tag: string; n: number };
  type Q =
    | { t: 'match'; words: string[]; and: boolean }
    | { t: 'term'; tag: string }
    | { t: 'range'; lo: number; hi: number }
    | { t: 'bool'; must: Q[]; not: Q[] };
  const qArb: fc.Arbitrary<Q> = fc.letrec((tie) => ({
    q: fc.oneof(
      { depthSize: 'small' },
      fc.record({ t: fc.constant('match' as const), words: fc.array(fc.constantFrom(...VOCAB), { minLength: 1, maxLength: 3 }), and: fc.boolean() }),
      fc.record({ t: fc.constant('term' as const), tag: fc.constantFrom('x', 'y', 'z') }),
      fc.record({ t: fc.constant('range' as const), lo: fc.integer({ min: 0, max: 20 }), hi: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ t: fc.constant('bool' as const), must: fc.array(tie('q') as fc.Arbitrary<Q>, { maxLength: 2 }), not: fc.array(tie('q') as fc.Arbitrary<Q>, { maxLength: 1 }) }),
    ),
  })).q as fc.Arbitrary<Q>;
  const toDsl = (q: Q): unknown =>
    q.t === 'match'
      ? { match: { text: { query: q.words.join(' '), operator: q.and ? 'and' : 'or' } } }
      : q.t === 'term'
        ? { term: { tag: q.tag } }
        : q.t === 'range'
          ? { range: { n: { gte: q.lo, lte: q.hi } } }
          : { bool: { must: q.must.map(toDsl), must_not: q.not.map(toDsl) } };
  const naive = (q: Q, d: Doc): boolean =>
    q.t === 'match'
      ? q.and ? q.words.every((w) => d.words.includes(w)) : q.words.some((w) => d.words.includes(w))
      : q.t === 'term'
        ? d.tag === q.tag
        : q.t === 'range'
          ? d.n >= q.lo && d.n <= q.hi
          : q.must.every((c) => naive(c, d)) && !q.not.some((c) => naive(c, d));

  it('for random documents (across segments, with updates and deletes) and random queries', () => {
    fc.assert(
      fc.property(fc.array(docArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(60), { maxLength: 10 }), qArb, (docs, deletes, q) => {
        const e = new ShardEngine({ mappings: { properties: { tag: { type: 'keyword' }, n: { type: 'long' } } } });
        const live = new Map<string, Doc>();
        docs.forEach((d, i) => {
          const id = String(i % 30); // some ids repeat: updates
          e.index(id, { text: d.words.join(' '), tag: d.tag, n: d.n });
          live.set(id, d);
          if (i % 7 === 6) e.refresh();
        });
        for (const del of deletes) {
          e.delete(String(del));
          live.delete(String(del));
        }
        e.refresh();
        const got = ids(e.search({ query: toDsl(q), size: 100 })).sort();
        const want = [...live].filter(([, d]) => naive(q, d)).map(([id]) => id).sort();
        expect(got).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
