/**
 * The completion suggester: the field's values, the keys its analyzer makes, prefix lookup by
 * weight across segments with deletes, skip_duplicates, fuzzy prefixes, position increments and
 * separators, a property against a naive reference, and the merge across shards.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeCompletions, prefixDistance, type CompletionEntry, type CompletionSuggestSpec } from '../../src/engine/completion.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError } from '../../src/engine/types.ts';

const mappings = { properties: { suggest: { type: 'completion' }, title: { type: 'keyword' } } } as const;
type Option = { text: string; _id: string; _score: number; _source?: unknown };

function suggest(engine: ShardEngine, prefix: string, completion: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Option[] {
  const res = engine.search({ size: 0, ...extra, suggest: { s: { prefix, completion: { field: 'suggest', ...completion } } } });
  return (res.suggest!.s as CompletionEntry[])[0]!.options as Option[];
}
const texts = (options: Option[]) => options.map((o) => [o.text, o._id, o._score]);

function songs(): ShardEngine {
  const e = new ShardEngine({ mappings, index: 'music' });
  e.index('1', { title: 'Nevermind', suggest: { input: ['Nevermind', 'Nirvana'], weight: 34 } });
  e.index('2', { title: 'Nirvana live', suggest: [{ input: 'Nirvana Live', weight: 10 }] });
  e.refresh();
  e.index('3', { title: 'Nine', suggest: 'Nine Inch Nails' });
  e.index('4', { title: 'Nirvana bootleg', suggest: { input: 'Nirvana', weight: 5 } });
  e.refresh();
  return e;
}

describe('completion suggester', () => {
  it('suggests the inputs starting with the prefix, highest weight first, one option per doc, with _index and _source', () => {
    const e = songs();
    expect(texts(suggest(e, 'nir'))).toEqual([
      ['Nirvana', '1', 34],
      ['Nirvana Live', '2', 10],
      ['Nirvana', '4', 5],
    ]);
    expect(texts(suggest(e, 'NI', { size: 2 }))).toEqual([
      ['Nirvana', '1', 34],
      ['Nirvana Live', '2', 10],
    ]);
    expect(texts(suggest(e, 'nine i'))).toEqual([['Nine Inch Nails', '3', 1]]);
    expect(suggest(e, 'nirvana l')[0]).toEqual({ text: 'Nirvana Live', _index: 'music', _id: '2', _score: 10, _source: { title: 'Nirvana live', suggest: [{ input: 'Nirvana Live', weight: 10 }] } });
    expect(suggest(e, 'nev', {}, { _source: ['title'] })[0]!._source).toEqual({ title: 'Nevermind' });
    expect(suggest(e, 'zz')).toEqual([]);
    // The response names the prefix.
    expect(e.search({ suggest: { s: { text: 'nir', completion: { field: 'suggest' } } } }).suggest!.s).toMatchObject([{ text: 'nir', offset: 0, length: 3 }]);
  });

  it('skip_duplicates keeps one option per text; deleted and updated docs follow the refresh', () => {
    const e = songs();
    expect(texts(suggest(e, 'nirvana', { skip_duplicates: true }))).toEqual([
      ['Nirvana', '1', 34],
      ['Nirvana Live', '2', 10],
    ]);
    e.delete('1');
    e.index('2', { suggest: { input: 'Nirvana Unplugged', weight: 50 } });
    // Not refreshed yet: the suggestions are the searchable ones.
    expect(texts(suggest(e, 'nirvana')).map((t) => t[1])).toEqual(['1', '2', '4']);
    e.refresh();
    expect(texts(suggest(e, 'nirvana'))).toEqual([
      ['Nirvana Unplugged', '2', 50],
      ['Nirvana', '4', 5],
    ]);
    e.forceMerge();
    expect(texts(suggest(e, 'nirvana'))).toEqual([
      ['Nirvana Unplugged', '2', 50],
      ['Nirvana', '4', 5],
    ]);
  });

  it('fuzzy: keys within the edit distance of the prefix, exact matches first; AUTO, prefix_length, min_length', () => {
    const e = songs();
    expect(texts(suggest(e, 'nrv', { fuzzy: true })).map((t) => t[1])).toEqual(['1', '2', '4']); // AUTO: 1 edit from 3 characters (nev, nirv)
    expect(suggest(e, 'nxyz', { fuzzy: true })).toEqual([]);
    expect(texts(suggest(e, 'nivr', { fuzzy: true })).map((t) => t[1])).toEqual(['1', '2', '4']);
    expect(texts(suggest(e, 'nirv', { fuzzy: { fuzziness: 0 } })).map((t) => t[1])).toEqual(['1', '2', '4']);
    expect(texts(suggest(e, 'mirv', { fuzzy: { prefix_length: 0 } })).map((t) => t[1])).toEqual(['1', '2', '4']);
    expect(suggest(e, 'mirv', { fuzzy: true })).toEqual([]);
    expect(suggest(e, 'ni', { fuzzy: { fuzziness: 2, min_length: 3, prefix_length: 0 } }).map((o) => o._id)).toEqual(['1', '2', '4', '3']);
    expect(prefixDistance('nivr', 'nirvana', 2, true)).toBe(1);
    expect(prefixDistance('abc', 'bac', 2, true)).toBe(1);
    expect(prefixDistance('abc', 'bac', 2, false)).toBe(2);
    expect(prefixDistance('abc', 'xyz', 1, true)).toBe(2);
  });

  it('separators and position increments: a removed stop word keeps its place unless told otherwise', () => {
    const make = (opts: Record<string, unknown>) => {
      const e = new ShardEngine({ mappings: { properties: { suggest: { type: 'completion', analyzer: 'stop', ...opts } } } });
      e.index('b', { suggest: 'The Beatles' });
      e.index('q', { suggest: 'Queen Bee' });
      e.refresh();
      return e;
    };
    const ids = (e: ShardEngine, prefix: string) => suggest(e, prefix).map((o) => o._id);
    expect(ids(make({}), 'b')).toEqual([]);
    expect(ids(make({}), 'the bea')).toEqual(['b']);
    expect(ids(make({ preserve_position_increments: false }), 'b')).toEqual(['b']);
    expect(ids(make({}), 'queenb')).toEqual([]);
    expect(ids(make({ preserve_separators: false }), 'queenb')).toEqual(['q']);
    // max_input_length cuts an input before analysis.
    const short = new ShardEngine({ mappings: { properties: { suggest: { type: 'completion', max_input_length: 5 } } } });
    short.index('x', { suggest: 'abcdefgh' });
    short.refresh();
    expect(suggest(short, 'abcde').map((o) => o.text)).toEqual(['abcdefgh']);
    expect(suggest(short, 'abcdef')).toEqual([]);
  });

  it('refuses bad values and requests, indexing nothing', () => {
    const e = new ShardEngine({ mappings });
    const refused = (doc: unknown) => {
      let err: unknown;
      try {
        e.index('x', doc);
      } catch (caught) {
        err = caught;
      }
      expect(err, JSON.stringify(doc)).toBeInstanceOf(EngineError);
      return (err as EngineError).reason;
    };
    expect(refused({ suggest: { input: 'a', weight: -1 } })).toMatch(/weight must be an integer/);
    expect(refused({ suggest: { input: 'a', weight: 1.5 } })).toMatch(/weight must be an integer/);
    expect(refused({ suggest: { weight: 3 } })).toMatch(/\[input\] is required/);
    expect(refused({ suggest: { input: 'a', other: 1 } })).toMatch(/unknown field name \[other\]/);
    expect(refused({ suggest: { input: 'a', contexts: {} } })).toMatch(/contexts are not supported/);
    expect(refused({ suggest: 'a\u001fb' })).toMatch(/reserved character/);
    expect(refused({ suggest: ['', 'b'] })).toMatch(/non-empty string/);
    expect(e.docCount).toBe(0);
    expect(() => new ShardEngine({ mappings: { properties: { s: { type: 'completion', preserve_separators: 'yes' } } } })).toThrow(/must be a boolean/);
    expect(() => new ShardEngine({ mappings: { properties: { s: { type: 'completion', fields: {} } } } })).toThrow(/unknown parameter \[fields\]/);
    const search = (s: unknown) => () => e.search({ suggest: { s } });
    expect(search({ prefix: 'a', completion: { field: 'title' } })).toThrow(/not a completion suggest field/);
    expect(search({ prefix: 'a', completion: { field: 'suggest', contexts: {} } })).toThrow(/contexts/);
    expect(search({ regex: 'a.*', completion: { field: 'suggest' } })).toThrow(/regex/);
    expect(search({ prefix: 'a', completion: { field: 'suggest', fuzzy: { fuzziness: 3 } } })).toThrow(/fuzziness/);
    expect(search({ completion: { field: 'suggest' } })).toThrow(/requires a \[prefix\]/);
  });

  it('property: the options are the best live inputs starting with the prefix, one per doc, against a naive reference', () => {
    const word = fc.constantFrom('ab', 'abc', 'abd', 'b', 'ba', 'bab', 'c');
    const input = fc.array(word, { minLength: 1, maxLength: 3 }).map((ws) => ws.join(' '));
    const op = fc.oneof(
      fc.record({ kind: fc.constant('index' as const), id: fc.integer({ min: 0, max: 12 }), inputs: fc.array(fc.record({ input, weight: fc.integer({ min: 0, max: 20 }) }), { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 12 }) }),
      fc.constant({ kind: 'refresh' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.constantFrom('a', 'ab', 'abc', 'b', 'ba', 'ab a', 'ab ', 'c b'), fc.integer({ min: 1, max: 6 }), (ops, prefix, size) => {
        const e = new ShardEngine({ mappings, maxSegments: 3 });
        const current = new Map<string, { input: string; weight: number }[]>();
        for (const o of ops) {
          if (o.kind === 'index') {
            e.index(String(o.id), { suggest: o.inputs });
            current.set(String(o.id), o.inputs);
          } else if (o.kind === 'delete') {
            e.delete(String(o.id));
            current.delete(String(o.id));
          } else e.refresh();
        }
        e.refresh();
        // The reference: simple analysis is lowercase words; a key is the words joined by one separator.
        const key = (s: string) => s.toLowerCase().split(/[^a-z]+/).filter(Boolean).join('\u001f');
        const want = key(prefix);
        const best = [...current].flatMap(([id, inputs]) => {
          const hits = inputs.filter((i) => key(i.input).startsWith(want)).sort((a, b) => b.weight - a.weight || (a.input < b.input ? -1 : 1));
          return hits.length > 0 ? [{ id, text: hits[0]!.input, score: hits[0]!.weight }] : [];
        });
        best.sort((a, b) => b.score - a.score || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
        const got = suggest(e, prefix, { size });
        expect(got.map((o) => [o._score, o.text])).toEqual(best.slice(0, size).map((b) => [b.score, b.text]));
        for (const o of got) expect(best.find((b) => b.id === o._id)).toMatchObject({ text: o.text, score: o._score });
      }),
      { numRuns: 300 },
    );
  });

  it('merges shards: best scores first, ties by text, skip_duplicates across shards', () => {
    const spec: CompletionSuggestSpec = { kind: 'completion', name: 's', text: 'n', field: 'f', analyzer: undefined, size: 3, skipDuplicates: true, fuzzy: undefined };
    const entry = (options: Option[]): CompletionEntry[] => [{ text: 'n', offset: 0, length: 1, options }];
    const merged = mergeCompletions(
      [entry([{ text: 'Nirvana', _id: '1', _score: 34 }, { text: 'Nine', _id: '3', _score: 2 }]), entry([{ text: 'Nirvana', _id: '9', _score: 20 }, { text: 'Nails', _id: '5', _score: 2 }]), []],
      spec,
    );
    expect(merged[0]!.options.map((o) => [o.text, o._id])).toEqual([
      ['Nirvana', '1'],
      ['Nails', '5'],
      ['Nine', '3'],
    ]);
    expect(mergeCompletions([entry([{ text: 'Nirvana', _id: '1', _score: 34 }]), entry([{ text: 'Nirvana', _id: '9', _score: 20 }])], { ...spec, skipDuplicates: false })[0]!.options.map((o) => o._id)).toEqual(['1', '9']);
  });
});
