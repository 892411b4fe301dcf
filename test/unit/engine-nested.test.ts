import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MappingRegistry, NESTED_FIELDS_LIMIT, NESTED_OBJECTS_LIMIT } from '../../src/engine/mapping.ts';
import type { InnerHit } from '../../src/engine/nested.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { thrownType } from '../support/thrown.ts';

const USERS = { properties: { group: { type: 'keyword' }, users: { type: 'nested', properties: { first: { type: 'keyword' }, last: { type: 'keyword' }, age: { type: 'long' }, bio: { type: 'text' } } } } };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function engine(mappings: unknown = USERS, maxSegments = 100): ShardEngine {
  return new ShardEngine({ maxSegments, mappings: mappings as never });
}

function ids(e: ShardEngine, query: unknown): string[] {
  return e.search({ query, size: 1000 }).hits.hits.map((h) => h._id).sort();
}

const aliceSmith = { bool: { must: [{ term: { 'users.first': 'Alice' } }, { term: { 'users.last': 'Smith' } }] } };

describe('nested: the John / Alice example', () => {
  it('matches a parent only when one object matches every clause; plain queries do not see nested fields', () => {
    const e = engine();
    e.index('1', { group: 'fans', users: [{ first: 'John', last: 'Smith' }, { first: 'Alice', last: 'White' }] });
    e.index('2', { group: 'fans', users: { first: 'Alice', last: 'Smith' } });
    e.refresh();
    expect(ids(e, { nested: { path: 'users', query: aliceSmith } })).toEqual(['2']);
    expect(ids(e, { nested: { path: 'users', query: { term: { 'users.first': 'Alice' } } } })).toEqual(['1', '2']);
    // A top-level query on a nested field matches nothing (as in Elasticsearch).
    expect(ids(e, aliceSmith)).toEqual([]);
    expect(ids(e, { match: { 'users.first': 'Alice' } })).toEqual([]);
    expect(ids(e, { exists: { field: 'users.first' } })).toEqual([]);
    // Counts and match_all see parents only.
    expect(e.search({}).hits.total.value).toBe(2);
    expect(ids(e, { bool: { must: [{ term: { group: 'fans' } }, { nested: { path: 'users', query: aliceSmith } }] } })).toEqual(['2']);
    expect(ids(e, { bool: { must_not: [{ nested: { path: 'users', query: aliceSmith } }] } })).toEqual(['1']);
  });

  it('reads a dotted key that passes through a nested path as the object it stands for', () => {
    const e = engine();
    e.index('1', { 'users.first': 'Alice', group: 'g' });
    e.index('2', { users: [{ 'first': 'Bob' }] });
    e.refresh();
    expect(ids(e, { nested: { path: 'users', query: { term: { 'users.first': 'Alice' } } } })).toEqual(['1']);
    expect(ids(e, { term: { 'users.first': 'Alice' } })).toEqual([]);
  });

  it('keeps the nested mapping through toJSON, and sources whole', () => {
    const e = engine();
    e.index('1', { users: [{ first: 'John', age: 3 }] });
    e.refresh();
    expect(e.mappings.toJSON().properties!.users).toEqual({ type: 'nested', properties: USERS.properties.users.properties });
    expect(e.search({}).hits.hits[0]!._source).toEqual({ users: [{ first: 'John', age: 3 }] });
    expect(e.search({ _source: ['users.first'] }).hits.hits[0]!._source).toEqual({ users: [{ first: 'John' }] });
    expect(new MappingRegistry(e.mappings.toJSON()).toJSON()).toEqual(e.mappings.toJSON());
  });
});

describe('nested query scoring', () => {
  // Each object scores 2 for first John and 3 for last Smith (constant_score): 5, 3, and 0 (no match).
  const inner = { bool: { should: [{ constant_score: { filter: { term: { 'users.first': 'John' } }, boost: 2 } }, { constant_score: { filter: { term: { 'users.last': 'Smith' } }, boost: 3 } }] } };
  const e = engine();
  e.index('1', { users: [{ first: 'John', last: 'Smith' }, { first: 'Alice', last: 'Smith' }, { first: 'Bob', last: 'Jones' }] });
  e.index('2', { users: [{ first: 'John', last: 'Jones' }] });
  e.refresh();
  const scores = (scoreMode: string | undefined, boost?: number) =>
    Object.fromEntries(e.search({ query: { nested: { path: 'users', query: inner, ...(scoreMode ? { score_mode: scoreMode } : {}), ...(boost ? { boost } : {}) } } }).hits.hits.map((h) => [h._id, h._score]));

  it('combines the matching objects scores as score_mode says (avg by default)', () => {
    expect(scores(undefined)).toEqual({ '1': 4, '2': 2 });
    expect(scores('avg')).toEqual({ '1': 4, '2': 2 });
    expect(scores('max')).toEqual({ '1': 5, '2': 2 });
    expect(scores('min')).toEqual({ '1': 3, '2': 2 });
    expect(scores('sum')).toEqual({ '1': 8, '2': 2 });
    expect(scores('none')).toEqual({ '1': 0, '2': 0 });
    expect(scores('avg', 2)).toEqual({ '1': 8, '2': 4 });
    const explained = e.search({ explain: true, query: { bool: { should: [{ nested: { path: 'users', query: inner, score_mode: 'max' } }, { term: { 'users.first': 'John' } }] } } }).hits.hits[0]!;
    expect(explained._explanation!.value).toBe(explained._score);
    expect(explained._explanation!.details[0]).toMatchObject({ value: 5, description: 'nested [users], score_mode [max]' });
  });

  it('scores with BM25 statistics of the nested objects', () => {
    const b = engine();
    b.index('1', { users: [{ bio: 'red fox' }, { bio: 'blue' }] });
    b.index('2', { users: [{ bio: 'red' }] });
    b.index('3', { group: 'x' });
    b.refresh();
    // Over the 3 objects with a bio: df 2, avgdl 4/3. idf = ln(1 + 1.5 / 2.5); length factor k1 (1 - b + b dl / avgdl).
    const idf = Math.log(1.6);
    const lf = (dl: number) => 1.2 * (0.25 + (0.75 * dl) / (4 / 3));
    const hits = Object.fromEntries(b.search({ query: { nested: { path: 'users', query: { match: { 'users.bio': 'red' } } } } }).hits.hits.map((h) => [h._id, h._score]));
    expect(hits['1']).toBeCloseTo(idf / (1 + lf(2)), 12);
    expect(hits['2']).toBeCloseTo(idf / (1 + lf(1)), 12);
  });

  it('rejects bad nested queries, and ignore_unmapped matches nothing instead', () => {
    const type = (q: unknown) => thrownType(() => e.search({ query: q }));
    expect(type({ nested: { path: 'nope', query: { match_all: {} } } })).toBe('query_shard_exception');
    expect(ids(e, { nested: { path: 'nope', query: { match_all: {} }, ignore_unmapped: true } })).toEqual([]);
    expect(type({ nested: { path: 'users.first', query: { match_all: {} } } })).toBe('query_shard_exception');
    expect(type({ nested: { path: 'users', query: { match_all: {} }, score_mode: 'median' } })).toBe('parsing_exception');
    expect(type({ nested: { path: 'users' } })).toBe('parsing_exception');
    expect(type({ nested: { path: 'users', query: { match_all: {} }, bogus: 1 } })).toBe('parsing_exception');
    expect(type({ nested: { path: 'users', query: { match_all: {} }, inner_hits: { size: 101 } } })).toBe('illegal_argument_exception');
  });

  it('finds fields inside the path with exists, only within a nested query', () => {
    const x = engine();
    x.index('1', { users: [{ first: 'A' }, { last: 'B' }] });
    x.index('2', { users: [{ last: 'C' }] });
    x.refresh();
    expect(ids(x, { nested: { path: 'users', query: { exists: { field: 'users.first' } } } })).toEqual(['1']);
    expect(ids(x, { nested: { path: 'users', query: { bool: { must_not: [{ exists: { field: 'users.first' } }] } } } })).toEqual(['1', '2']);
  });
});

describe('inner_hits', () => {
  it('lists each hit\'s matching objects, best first, with _nested offsets, paging and _source filtering', () => {
    const e = engine();
    const inner = { bool: { should: [{ constant_score: { filter: { term: { 'users.first': 'John' } }, boost: 2 } }, { constant_score: { filter: { term: { 'users.last': 'Smith' } }, boost: 3 } }] } };
    e.index('1', { users: [{ first: 'Bob', last: 'Jones' }, { first: 'Alice', last: 'Smith' }, { first: 'John', last: 'Smith' }] });
    e.refresh();
    const res = e.search({ query: { nested: { path: 'users', query: inner, inner_hits: {} } } });
    expect(res.hits.hits[0]!.inner_hits).toEqual({
      users: {
        hits: {
          total: { value: 2, relation: 'eq' },
          max_score: 5,
          hits: [
            { _id: '1', _nested: { field: 'users', offset: 2 }, _score: 5, _source: { first: 'John', last: 'Smith' } },
            { _id: '1', _nested: { field: 'users', offset: 1 }, _score: 3, _source: { first: 'Alice', last: 'Smith' } },
          ],
        },
      },
    });
    const paged = e.search({ query: { nested: { path: 'users', query: inner, inner_hits: { name: 'who', from: 1, size: 1, _source: ['users.first'] } } } });
    expect(paged.hits.hits[0]!.inner_hits).toEqual({ who: { hits: { total: { value: 2, relation: 'eq' }, max_score: 5, hits: [{ _id: '1', _nested: { field: 'users', offset: 1 }, _score: 3, _source: { first: 'Alice' } }] } } });
    const none = e.search({ query: { nested: { path: 'users', query: inner, inner_hits: { _source: false } } } });
    expect(none.hits.hits[0]!.inner_hits!.users!.hits.hits[0]).toEqual({ _id: '1', _nested: { field: 'users', offset: 2 }, _score: 5 });
  });

  it('comes with the fetch phase of a reader (query then fetch)', () => {
    const e = engine();
    e.index('1', { users: [{ first: 'John' }, { first: 'Alice' }] });
    e.refresh();
    const reader = e.openReader();
    const query = { nested: { path: 'users', query: { term: { 'users.first': 'Alice' } }, inner_hits: {} } };
    const queried = e.search({ query, _source: false }, reader);
    expect(queried.hits.hits[0]!.inner_hits).toBeUndefined();
    const fetched = e.fetch(reader, [queried.hits.hits[0]!._address], { query });
    expect(fetched[0]!.inner_hits!.users!.hits.hits.map((h) => (h as InnerHit)._nested.offset)).toEqual([1]);
  });
});

describe('nested in nested', () => {
  const mappings = { properties: { a: { type: 'nested', properties: { x: { type: 'keyword' }, b: { type: 'nested', properties: { y: { type: 'keyword' }, z: { type: 'keyword' } } } } } } };
  it('queries a deeper path inside a nested query or directly, with two-level _nested identities', () => {
    const e = engine(mappings);
    e.index('1', { a: [{ x: 'p', b: [{ y: '1', z: '2' }] }, { x: 'q', b: [{ y: '1', z: '1' }, { y: '2', z: '2' }] }] });
    e.index('2', { a: [{ x: 'p', b: [{ y: '1', z: '1' }] }] });
    e.refresh();
    const yz = { bool: { must: [{ term: { 'a.b.y': '1' } }, { term: { 'a.b.z': '1' } }] } };
    expect(ids(e, { nested: { path: 'a.b', query: yz } })).toEqual(['1', '2']);
    expect(ids(e, { nested: { path: 'a', query: { bool: { must: [{ term: { 'a.x': 'p' } }, { nested: { path: 'a.b', query: yz } }] } } } })).toEqual(['2']);
    // a.b fields are not a's.
    expect(ids(e, { nested: { path: 'a', query: { term: { 'a.b.y': '1' } } } })).toEqual([]);
    const inner = e.search({ query: { nested: { path: 'a.b', query: yz, inner_hits: {} } } }).hits.hits.find((h) => h._id === '1')!.inner_hits!['a.b']!.hits.hits;
    expect(inner.map((h) => (h as InnerHit)._nested)).toEqual([{ field: 'a', offset: 1, _nested: { field: 'b', offset: 0 } }]);
    expect(thrownType(() => e.search({ query: { nested: { path: 'a.b', query: { nested: { path: 'a', query: { match_all: {} } } } } } }))).toBe('query_shard_exception');
    expect(thrownType(() => e.search({ query: { nested: { path: 'a', query: { nested: { path: 'a', query: { match_all: {} } } } } } }))).toBe('query_shard_exception');
  });
});

describe('nested mappings', () => {
  it('refuses changing a field between object and nested, and keeps nested through dynamic updates', () => {
    const m = new MappingRegistry(USERS as never);
    expect(thrownType(() => m.merge({ properties: { users: { properties: { first: { type: 'keyword' } } } } }))).toBe('illegal_argument_exception');
    const o = new MappingRegistry({ properties: { obj: { properties: { a: { type: 'keyword' } } } } });
    expect(thrownType(() => o.merge({ properties: { obj: { type: 'nested' } } }))).toBe('illegal_argument_exception');
    expect(thrownType(() => m.merge({ properties: { users: { type: 'keyword' } } }))).toBe('illegal_argument_exception');
    // A dynamic field inside a nested path is proposed with the path nested: it merges.
    const delta = m.dynamicUpdate({ users: [{ nick: 'j' }] })!;
    expect(delta.properties!.users).toEqual({ type: 'nested', properties: { nick: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } } } });
    m.merge(delta);
    expect(m.field('users.nick')?.type).toBe('text');
    expect(m.isNested('users')).toBe(true);
    m.merge({ properties: { users: { type: 'nested', properties: { more: { type: 'long' } } } } });
    expect(m.field('users.more')?.type).toBe('long');
    expect(thrownType(() => new MappingRegistry({ properties: { n: { type: 'nested', include_in_parent: true } } } as never))).toBe('mapper_parsing_exception');
  });

  it('applies dynamic inside a nested field', () => {
    const e = engine({ dynamic: true, properties: { users: { type: 'nested', dynamic: 'strict', properties: { first: { type: 'keyword' } } } } });
    expect(thrownType(() => e.index('1', { users: [{ first: 'a', other: 1 }] }))).toBe('strict_dynamic_mapping_exception');
    e.index('2', { top: 'fine', users: [{ first: 'a' }] });
    expect(e.mappings.field('top')).toBeDefined();
    const loose = engine({ dynamic: 'strict', properties: { users: { type: 'nested', dynamic: true } } });
    loose.index('1', { users: [{ n: 1 }] });
    expect(loose.mappings.field('users.n')?.type).toBe('long');
    expect(loose.mappings.hasUnmapped({ users: [{ m: 1 }] })).toBe(true);
    expect(loose.mappings.hasUnmapped({ other: 1 })).toBe(false);
  });

  it('enforces index.mapping.nested_fields.limit and index.mapping.nested_objects.limit, indexing nothing', () => {
    const props: Record<string, unknown> = {};
    for (let i = 0; i <= NESTED_FIELDS_LIMIT; i++) props[`n${i}`] = { type: 'nested' };
    expect(thrownType(() => new MappingRegistry({ properties: props }))).toBe('illegal_argument_exception');
    delete props[`n${NESTED_FIELDS_LIMIT}`];
    const m = new MappingRegistry({ properties: props });
    expect(thrownType(() => m.merge({ properties: { extra: { type: 'nested' } } }))).toBe('illegal_argument_exception');
    const e = engine();
    const many = Array.from({ length: NESTED_OBJECTS_LIMIT + 1 }, (_, i) => ({ age: i }));
    expect(thrownType(() => e.index('1', { users: many }))).toBe('mapper_parsing_exception');
    e.index('2', { users: many.slice(1) });
    e.refresh();
    expect(ids(e, { match_all: {} })).toEqual(['2']);
    expect(thrownType(() => e.index('3', { users: 'not an object' }))).toBe('mapper_parsing_exception');
  });
});

describe('nested sort', () => {
  const e = engine();
  e.index('1', { users: [{ age: 30, last: 'b' }, { age: 10, last: 'a' }] });
  e.index('2', { users: [{ age: 20, last: 'a' }, { age: 25, last: 'c' }] });
  e.index('3', { group: 'none' });
  e.refresh();
  const sorted = (key: unknown) => e.search({ sort: [{ 'users.age': key }, { _doc: 'asc' }] }).hits.hits.map((h) => [h._id, h.sort![0]]);

  it('sorts by the objects values under mode, with a filter, missing last', () => {
    expect(sorted({ order: 'asc', nested: { path: 'users' } })).toEqual([['1', 10], ['2', 20], ['3', null]]);
    expect(sorted({ order: 'desc', nested: { path: 'users' } })).toEqual([['1', 30], ['2', 25], ['3', null]]);
    expect(sorted({ order: 'asc', mode: 'avg', nested: { path: 'users' } })).toEqual([['1', 20], ['2', 22.5], ['3', null]]);
    expect(sorted({ order: 'desc', mode: 'sum', nested: { path: 'users' } })).toEqual([['2', 45], ['1', 40], ['3', null]]);
    expect(sorted({ order: 'asc', nested: { path: 'users', filter: { term: { 'users.last': 'a' } } } })).toEqual([['1', 10], ['2', 20], ['3', null]]);
    expect(sorted({ order: 'asc', nested: { path: 'users', filter: { range: { 'users.age': { gte: 15 } } } } })).toEqual([['2', 20], ['1', 30], ['3', null]]);
    expect(e.search({ sort: [{ 'users.last': { order: 'desc', nested: { path: 'users' } } }] }).hits.hits.map((h) => h.sort)).toEqual([['c'], ['b'], [null]]);
  });

  it('needs nested for a field inside a nested path, and numbers for avg and sum', () => {
    expect(thrownType(() => e.search({ sort: [{ 'users.age': 'asc' }] }))).toBe('query_shard_exception');
    expect(thrownType(() => e.search({ sort: [{ 'users.age': { nested: { path: 'group' } } }] }))).toBe('query_shard_exception');
    expect(thrownType(() => e.search({ sort: [{ 'users.last': { mode: 'avg', nested: { path: 'users' } } }] }))).toBe('illegal_argument_exception');
    expect(thrownType(() => e.search({ sort: [{ 'users.age': { mode: 'median', nested: { path: 'users' } } }] }))).toBe('parsing_exception');
  });
});

describe('nested objects through deletes, updates, merges, readers and reopening', () => {
  it('drops a parent\'s objects with it and keeps reader snapshots', () => {
    const e = engine();
    e.index('1', { users: [{ first: 'Alice' }] });
    e.index('2', { users: [{ first: 'Alice' }, { first: 'Bob' }] });
    e.refresh();
    const reader = e.openReader();
    e.delete('1');
    e.index('2', { users: [{ first: 'Bob' }] });
    e.refresh();
    const alice = { nested: { path: 'users', query: { term: { 'users.first': 'Alice' } } } };
    expect(ids(e, alice)).toEqual([]);
    expect(ids(e, { nested: { path: 'users', query: { term: { 'users.first': 'Bob' } } } })).toEqual(['2']);
    // The reader still sees both parents and their objects as they were.
    expect(e.search({ query: alice, size: 10 }, reader).hits.hits.map((h) => h._id).sort()).toEqual(['1', '2']);
    e.merge(10);
    expect(ids(e, { nested: { path: 'users', query: { match_all: {} } } })).toEqual(['2']);
    expect(e.search({ size: 0, aggs: { u: { nested: { path: 'users' } } } }).aggregations).toEqual({ u: { doc_count: 1 } });
  });

  it('matches a reference model after random indexing, deletes, refreshes, merges and a reopen from disk', () => {
    const NAMES = ['a', 'b', 'c'];
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('index' as const), id: fc.integer({ min: 0, max: 7 }), users: fc.array(fc.record({ first: fc.constantFrom(...NAMES), age: fc.integer({ min: 0, max: 3 }) }), { maxLength: 3 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 7 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'refresh' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'merge' as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 3 }), (ops, name, age) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-nested-'));
        dirs.push(dir);
        const e = ShardEngine.open(dir, { mappings: USERS as never, maxSegments: 100 });
        const model = new Map<string, { first: string; age: number }[]>();
        for (const o of ops) {
          if (o.kind === 'index') {
            e.index(String(o.id), { users: o.users });
            model.set(String(o.id), o.users);
          } else if (o.kind === 'delete') {
            if (model.delete(String(o.id))) e.delete(String(o.id));
          } else if (o.kind === 'refresh') e.refresh();
          else e.merge(100);
        }
        e.refresh();
        const query = { nested: { path: 'users', query: { bool: { must: [{ term: { 'users.first': name } }, { term: { 'users.age': age } }] } } } };
        const expected = [...model].filter(([, us]) => us.some((u) => u.first === name && u.age === age)).map(([id]) => id).sort();
        const objects = [...model.values()].reduce((n, us) => n + us.length, 0);
        const agg = { size: 0, aggs: { u: { nested: { path: 'users' } } } };
        expect(ids(e, query)).toEqual(expected);
        expect(e.search(agg).aggregations).toEqual({ u: { doc_count: objects } });
        e.flush();
        e.close();
        const again = ShardEngine.open(dir, { maxSegments: 100 });
        again.refresh();
        expect(ids(again, query)).toEqual(expected);
        expect(again.search(agg).aggregations).toEqual({ u: { doc_count: objects } });
        again.close();
      }),
      { numRuns: 40, seed: 4242 },
    );
  });
});

// ---- the nested query against a naive reference --------------------------------------------------

type Child = { k: string; n: number };
type Leaf = { term: string } | { range: [number, number] };
type Inner = { must: Leaf[]; should: Leaf[]; mustNot: Leaf[] };

const leaf: fc.Arbitrary<Leaf> = fc.oneof(fc.record({ term: fc.constantFrom('x', 'y', 'z') }), fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })).map(([a, b]) => ({ range: [Math.min(a, b), Math.max(a, b)] as [number, number] })));
const inner: fc.Arbitrary<Inner> = fc.record({ must: fc.array(leaf, { maxLength: 2 }), should: fc.array(leaf, { maxLength: 2 }), mustNot: fc.array(leaf, { maxLength: 1 }) });

function leafQuery(l: Leaf, boost: number): unknown {
  const filter = 'term' in l ? { term: { 'c.k': l.term } } : { range: { 'c.n': { gte: l.range[0], lte: l.range[1] } } };
  return { constant_score: { filter, boost } };
}
function leafMatches(l: Leaf, c: Child): boolean {
  return 'term' in l ? c.k === l.term : c.n >= l.range[0] && c.n <= l.range[1];
}
/** A child's score under the inner bool (constant scores: must clause i scores i + 1, should clause i scores 10 (i + 1)), or undefined. */
function refScore(q: Inner, c: Child): number | undefined {
  if (!q.must.every((l) => leafMatches(l, c)) || q.mustNot.some((l) => leafMatches(l, c))) return undefined;
  const shoulds = q.should.filter((l) => leafMatches(l, c));
  if (q.must.length === 0 && q.should.length > 0 && shoulds.length === 0) return undefined;
  let s = q.must.reduce((sum, _, i) => sum + i + 1, 0);
  q.should.forEach((l, i) => {
    if (leafMatches(l, c)) s += 10 * (i + 1);
  });
  // An empty bool matches everything with score 1; a must_not-only bool with 0.
  if (q.must.length === 0 && q.should.length === 0) return q.mustNot.length > 0 ? 0 : 1;
  return s;
}

describe('nested query against a reference (property)', () => {
  it('matches the parents with a matching object, scored by score_mode', () => {
    const child = fc.record({ k: fc.constantFrom('x', 'y', 'z'), n: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(
        fc.array(fc.array(child, { maxLength: 4 }), { minLength: 1, maxLength: 20 }),
        inner,
        fc.constantFrom('avg', 'max', 'min', 'sum', 'none'),
        fc.integer({ min: 0, max: 5 }),
        (parents, q, scoreMode, refreshEvery) => {
          const e = engine({ properties: { c: { type: 'nested', properties: { k: { type: 'keyword' }, n: { type: 'long' } } } } });
          parents.forEach((cs, i) => {
            e.index(String(i), { c: cs });
            if (refreshEvery > 0 && i % refreshEvery === 0) e.refresh();
          });
          e.refresh();
          const query = { nested: { path: 'c', score_mode: scoreMode, query: { bool: { must: q.must.map((l, i) => leafQuery(l, i + 1)), should: q.should.map((l, i) => leafQuery(l, 10 * (i + 1))), must_not: q.mustNot.map((l) => leafQuery(l, 1)) } } } };
          const expected = new Map<string, number>();
          parents.forEach((cs, i) => {
            const scores = cs.map((c) => refScore(q, c)).filter((s): s is number => s !== undefined);
            if (scores.length === 0) return;
            const sum = scores.reduce((a, b) => a + b, 0);
            expected.set(String(i), scoreMode === 'avg' ? sum / scores.length : scoreMode === 'sum' ? sum : scoreMode === 'max' ? Math.max(...scores) : scoreMode === 'min' ? Math.min(...scores) : 0);
          });
          const got = new Map(e.search({ query, size: 1000 }).hits.hits.map((h) => [h._id, h._score!]));
          expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
          for (const [id, s] of expected) expect(got.get(id)).toBeCloseTo(s, 9);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});

describe('nested and reverse_nested aggregations against a reference (property)', () => {
  it('counts objects of matching parents, and parents back from object buckets', () => {
    const child = fc.record({ k: fc.constantFrom('x', 'y', 'z'), n: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(fc.record({ g: fc.constantFrom('g1', 'g2'), c: fc.array(child, { maxLength: 4 }) }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: 5 }), (parents, refreshEvery) => {
        const e = engine({ properties: { g: { type: 'keyword' }, c: { type: 'nested', properties: { k: { type: 'keyword' }, n: { type: 'long' } } } } });
        parents.forEach((p, i) => {
          e.index(String(i), p);
          if (refreshEvery > 0 && i % refreshEvery === 0) e.refresh();
        });
        e.refresh();
        const res = e.search({
          size: 0,
          query: { term: { g: 'g1' } },
          aggs: { objs: { nested: { path: 'c' }, aggs: { sum: { sum: { field: 'c.n' } }, k: { terms: { field: 'c.k' }, aggs: { back: { reverse_nested: {}, aggs: { g: { terms: { field: 'g' } } } } } }, big: { filter: { range: { 'c.n': { gte: 3 } } } } } } },
        }).aggregations as any;
        const kept = parents.filter((p) => p.g === 'g1');
        const objs = kept.flatMap((p) => p.c);
        expect(res.objs.doc_count).toBe(objs.length);
        expect(res.objs.sum.value).toBe(objs.reduce((s, c) => s + c.n, 0));
        expect(res.objs.big.doc_count).toBe(objs.filter((c) => c.n >= 3).length);
        const byKey = new Map<string, { n: number; parents: number }>();
        for (const k of ['x', 'y', 'z']) {
          const n = objs.filter((c) => c.k === k).length;
          if (n > 0) byKey.set(k, { n, parents: kept.filter((p) => p.c.some((c) => c.k === k)).length });
        }
        const got = new Map<string, { n: number; parents: number }>(res.objs.k.buckets.map((b: any) => [b.key, { n: b.doc_count, parents: b.back.doc_count }]));
        expect(got).toEqual(byKey);
        for (const b of res.objs.k.buckets) expect(b.back.g.buckets.map((x: any) => [x.key, x.doc_count])).toEqual(b.back.doc_count > 0 ? [['g1', b.back.doc_count]] : []);
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  it('rejects reverse_nested outside a nested aggregation', () => {
    const e = engine();
    e.index('1', { users: [{ age: 1 }] });
    e.refresh();
    expect(thrownType(() => e.search({ size: 0, aggs: { r: { reverse_nested: {} } } }))).toBe('illegal_argument_exception');
    expect(thrownType(() => e.search({ size: 0, aggs: { n: { nested: { path: 'group' } } } }))).toBe('query_shard_exception');
    expect(e.search({ size: 0, aggs: { n: { nested: { path: 'unmapped' } } } }).aggregations).toEqual({ n: { doc_count: 0 } });
  });
});
