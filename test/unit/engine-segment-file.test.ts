import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postingsOf, SegmentBuilder, type Segment } from '../../src/engine/segment.ts';
import { readSegmentFile, readSegmentLayout, segmentFileChunks, type SegmentFileLayout } from '../../src/engine/segment-file.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import type { Mappings } from '../../src/engine/mapping.ts';
import { writeAtomic, writeAtomicChunks } from '../../src/storage/framed.ts';
import { encode } from '../../src/transport/codec.ts';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-segfile-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const MAPPINGS: Mappings = {
  properties: {
    title: { type: 'text', fields: { raw: { type: 'keyword' } } },
    body: { type: 'text', analyzer: 'english' },
    tag: { type: 'keyword' },
    n: { type: 'long' },
    price: { type: 'double' },
    at: { type: 'date' },
    flag: { type: 'boolean' },
    obj: { properties: { a: { type: 'keyword' }, b: { type: 'long' } } },
    items: { type: 'nested', properties: { name: { type: 'keyword' }, qty: { type: 'long' }, note: { type: 'text' }, parts: { type: 'nested', properties: { p: { type: 'keyword' } } } } },
    suggest: { type: 'completion' },
  },
};

// Few words, so that common terms pass 10 docs (top docs) and 64 (block-max impacts).
const WORDS = ['red', 'fox', 'jumps', 'over', 'lazy', 'dog', 'quick', 'brown', 'running', 'runs'];
const TAGS = ['a', 'b', 'c', 'd', 'e'];

const text = fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 12, size: 'max' }).map((ws) => ws.join(' '));
const doc = fc.record(
  {
    title: fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 })),
    body: text,
    tag: fc.oneof(fc.constantFrom(...TAGS), fc.array(fc.constantFrom(...TAGS), { maxLength: 3 })),
    n: fc.oneof(fc.integer({ min: -50, max: 50 }), fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 3 })),
    price: fc.double({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
    at: fc.integer({ min: 1_600_000_000_000, max: 1_700_000_000_000 }).map((ms) => new Date(ms).toISOString()),
    flag: fc.boolean(),
    obj: fc.record({ a: fc.constantFrom(...TAGS), b: fc.integer({ min: 0, max: 9 }) }, { requiredKeys: [] }),
    extra: fc.constantFrom('dyn one', 'dyn two'), // dynamically mapped
    suggest: fc.oneof(text.filter((t) => t !== ''), fc.record({ input: fc.array(text.filter((t) => t !== ''), { minLength: 1, maxLength: 2 }), weight: fc.integer({ min: 0, max: 30 }) })),
    items: fc.array(
      fc.record(
        { name: fc.constantFrom(...TAGS), qty: fc.integer({ min: 0, max: 9 }), note: text, parts: fc.array(fc.record({ p: fc.constantFrom(...TAGS) }), { maxLength: 2 }) },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

const MAX_ID = 299;
type Op = { kind: 'index'; id: number; source: Record<string, unknown> } | { kind: 'delete'; id: number } | { kind: 'refresh' } | { kind: 'flush' };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 40, arbitrary: fc.record({ kind: fc.constant('index' as const), id: fc.integer({ min: 0, max: MAX_ID }), source: doc }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: MAX_ID }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'refresh' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

const QUERIES: unknown[] = [
  { match_all: {} },
  { match: { title: 'fox' } },
  { match: { title: 'quick fox dog' } },
  { match: { title: { query: 'quick fox', operator: 'and' } } },
  { match: { body: 'running' } },
  { match_phrase: { title: 'lazy dog' } },
  { match_phrase: { body: 'quick brown' } },
  { match_phrase_prefix: { title: 'lazy d' } },
  { multi_match: { query: 'red fox', fields: ['title', 'body'] } },
  { term: { tag: 'a' } },
  { terms: { tag: ['b', 'c'] } },
  { term: { 'title.raw': 'red' } },
  { term: { 'obj.a': 'd' } },
  { term: { flag: true } },
  { range: { n: { gte: -10, lt: 20 } } },
  { range: { price: { gt: 0 } } },
  { range: { at: { gte: '2021-01-01', lt: '2022-06-01' } } },
  { range: { tag: { gte: 'b', lte: 'd' } } },
  { prefix: { title: 'ru' } },
  { wildcard: { title: 'j*s' } },
  { regexp: { body: 'ru.*' } },
  { fuzzy: { title: 'foz' } },
  { exists: { field: 'obj.b' } },
  { ids: { values: ['1', '2', '3', '50'] } },
  { bool: { must: [{ match: { title: 'fox' } }], filter: [{ term: { flag: false } }], must_not: [{ term: { tag: 'e' } }], should: [{ match: { body: 'dog' } }] } },
  { dis_max: { queries: [{ match: { title: 'dog' } }, { match: { body: 'dog' } }], tie_breaker: 0.3 } },
  { constant_score: { filter: { term: { tag: 'c' } }, boost: 2 } },
  { function_score: { query: { match: { title: 'lazy' } }, field_value_factor: { field: 'obj.b', missing: 1 } } },
  { query_string: { query: 'title:(quick OR lazy) AND NOT tag:a' } },
  { match: { extra: 'dyn' } },
  { nested: { path: 'items', query: { bool: { must: [{ term: { 'items.name': 'a' } }, { range: { 'items.qty': { gte: 3 } } }] } }, inner_hits: { size: 2 } } },
  { nested: { path: 'items', query: { match: { 'items.note': 'fox' } }, score_mode: 'sum' } },
  { nested: { path: 'items', query: { nested: { path: 'items.parts', query: { term: { 'items.parts.p': 'b' } } } } } },
];

/** Requests run on each query: the default top 10 (the pruned path), sorts, aggregations, highlights. */
function requests(query: unknown): unknown[] {
  return [
    { query },
    { query, size: 100, track_total_hits: true },
    { query, size: 20, sort: [{ n: 'desc' }, { tag: 'asc' }] },
    { query, size: 5, sort: [{ at: { order: 'asc', missing: '_first' } }, { price: 'desc' }] },
    { query, size: 10, sort: [{ 'items.qty': { order: 'desc', mode: 'max', nested: { path: 'items' } } }, { n: 'asc' }] },
    {
      query,
      size: 3,
      highlight: { fields: { title: {}, body: {} } },
      aggs: {
        tags: { terms: { field: 'tag', size: 10 }, aggs: { n: { stats: { field: 'n' } } } },
        by_month: { date_histogram: { field: 'at', calendar_interval: 'month', min_doc_count: 1 } },
        price: { extended_stats: { field: 'price' } },
        flags: { terms: { field: 'flag' } },
        raw: { cardinality: { field: 'title.raw' } },
        objs: { terms: { field: 'obj.a' }, aggs: { top: { top_hits: { size: 2, sort: [{ n: 'asc' }] } } } },
        items: { nested: { path: 'items' }, aggs: { names: { terms: { field: 'items.name' }, aggs: { back: { reverse_nested: {}, aggs: { tags: { terms: { field: 'tag' } } } } } }, qty: { sum: { field: 'items.qty' } } } },
      },
    },
  ];
}

/** Completion suggestions (completion.ts), exact and fuzzy: they read the segments' completion keys. */
const SUGGESTS: unknown[] = ['r', 'qu', 'lazy d', 'fxo'].map((prefix) => ({ size: 0, suggest: { s: { prefix, completion: { field: 'suggest', size: 20, fuzzy: prefix === 'fxo' } } } }));

/** Everything the engine answers, `took` left out. */
function answers(e: ShardEngine, ids: string[]): unknown {
  const searches = [...QUERIES.flatMap((q) => requests(q)), ...SUGGESTS].map((r) => {
    const { took: _took, ...rest } = e.search(r);
    return rest;
  });
  return { searches, gets: ids.map((id) => e.get(id)), count: e.docCount };
}

/** A segment's whole state, in order (Maps as entry lists, typed arrays as plain arrays), its nested objects' sub-segments too. */
function internals(s: Segment): unknown {
  const { docs, sources, fields, columns, nested } = s.parts();
  const arr = (a: ArrayLike<number> | undefined): number[] | undefined => (a ? Array.from(a) : undefined);
  return {
    name: s.name,
    maxDoc: s.maxDoc,
    live: arr(s.liveDocs),
    liveCount: s.liveCount,
    ids: docs.ids,
    seqNos: arr(docs.seqNos),
    primaryTerms: arr(docs.primaryTerms),
    versions: arr(docs.versions),
    sources,
    fields: [...fields].map(([p, f]) => ({
      path: p,
      terms: [...f.terms].map(([t, tp]) => [t, { ...tp }]),
      sortedTerms: f.sortedTerms,
      docCount: f.docCount,
      sumTotalTermFreq: f.sumTotalTermFreq,
      norms: arr(f.norms),
      docs: arr(f.docs),
      freqs: arr(f.freqs),
      posStarts: arr(f.posStarts),
      positions: arr(f.positions),
      impacts: arr(f.impacts),
      topDocs: arr(f.topDocs),
      topDocsAvgdl: f.topDocsAvgdl,
    })),
    columns: [...columns].map(([p, c]) => [p, c.kind === 'numeric' ? { kind: c.kind, offsets: arr(c.offsets), values: arr(c.values) } : { kind: c.kind, terms: c.terms, offsets: arr(c.offsets), ords: arr(c.ords) }]),
    nested: [...nested].map(([p, n]) => ({ path: p, parentOf: arr(n.parentOf), childStart: arr(n.childStart), offsetOf: arr(n.offsetOf), segment: internals(n.segment) })),
  };
}

/** Every term's postings (postingsOf), per segment and field, nested objects' sub-segments too. */
function allPostings(s: Segment): unknown {
  const nested = [...s.nestedEntries()].map(([p, n]) => [p, allPostings(n.segment)]);
  return [nested, ...[...s.fields].map(([p, f]) => [
    p,
    [...f.terms].map(([t, tp]) => {
      const v = postingsOf(f, tp);
      const starts = v.posStarts ? Array.from(v.posStarts) : undefined;
      return [t, Array.from(v.docs), Array.from(v.freqs), starts && starts.map((_, i) => (i < starts.length - 1 ? Array.from(v.positions!.subarray(starts[i]!, starts[i + 1]!)) : []))];
    }),
  ])];
}

const segmentsOf = (e: ShardEngine): readonly Segment[] => e.openReader().segments;

/** A shard with several segments, deletes among them, every field type, flushed and closed. */
function smallShard(dir: string): ShardEngine {
  const e = ShardEngine.open(dir, { mappings: MAPPINGS });
  for (let i = 0; i < 100; i++) {
    const w = WORDS[i % WORDS.length]!;
    const items = i % 4 === 0 ? [] : [{ name: TAGS[i % 5], qty: i % 7, note: w, parts: [{ p: TAGS[i % 3] }] }, { name: 'z', qty: 1 }];
    e.index(String(i), { title: `${w} fox ${WORDS[(i * 3) % WORDS.length]}`, body: 'the quick brown dogs running', tag: TAGS[i % TAGS.length], n: i, price: i / 4, at: new Date(1_650_000_000_000 + i * 86_400_000).toISOString(), flag: i % 2 === 0, obj: { a: 'x', b: i % 3 }, items });
    if (i === 69 || i === 89) e.refresh(); // 70 docs (past 64: block-max impacts), 20, 10
  }
  e.delete('3');
  e.delete('40');
  e.flush();
  return e;
}

describe('segment files', () => {
  it('a reopened shard answers every query, sort, aggregation, highlight and get as before, from the same segments (property)', () => {
    const reached = { impacts: 0, topDocs: 0, deletions: 0, nestedInNested: 0 };
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 500, size: 'max' }), (ops) => {
        const dir = tmp();
        const e = ShardEngine.open(dir, { mappings: MAPPINGS, maxSegments: 2 });
        for (const o of ops) {
          if (o.kind === 'index') e.index(String(o.id), o.source);
          else if (o.kind === 'delete') e.delete(String(o.id));
          else if (o.kind === 'refresh') e.refresh();
          else e.flush();
        }
        e.flush();
        const ids = Array.from({ length: MAX_ID + 2 }, (_, i) => String(i));
        const before = answers(e, ids);
        const segments = segmentsOf(e);
        for (const s of segments) {
          if (s.hasDeletions) reached.deletions++;
          if (s.nestedEntries().get('items')?.segment.nestedEntries().has('items.parts')) reached.nestedInNested++;
          for (const f of s.fields.values()) {
            if (f.impacts.length > 0) reached.impacts++;
            if (f.topDocs.length > 0) reached.topDocs++;
          }
        }
        e.close();
        const again = ShardEngine.open(dir, { mappings: MAPPINGS, maxSegments: 2 });
        expect(again.recoveredOps).toBe(0);
        const loaded = segmentsOf(again);
        // The same segments, not a re-indexed copy: same names, same state, same postings.
        expect(loaded.map((s) => s.name)).toEqual(segments.map((s) => s.name));
        for (let i = 0; i < segments.length; i++) {
          expect(internals(loaded[i]!)).toEqual(internals(segments[i]!));
          expect(allPostings(loaded[i]!)).toEqual(allPostings(segments[i]!));
        }
        expect(answers(again, ids)).toEqual(before);
        again.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 10, seed: 20261203 },
    );
    // The runs reach what only bigger segments have.
    expect(reached.impacts).toBeGreaterThan(5);
    expect(reached.topDocs).toBeGreaterThan(50);
    expect(reached.deletions).toBeGreaterThan(5);
    expect(reached.nestedInNested).toBeGreaterThan(5);
  });

  it('keeps working after a reopen: deletes, updates, merges and the next flush', () => {
    const dir = tmp();
    smallShard(dir).close();
    const e = ShardEngine.open(dir, { mappings: MAPPINGS, maxSegments: 2 });
    expect(e.docCount).toBe(98);
    e.delete('0');
    e.index('1', { title: 'zebra', n: 1000 });
    e.index('new', { title: 'zebra crossing', tag: 'z' });
    e.refresh(); // four segments: merged down to two
    expect(e.segmentCount).toBeLessThanOrEqual(2);
    const hits = (q: unknown): string[] => e.search({ query: q, size: 100 }).hits.hits.map((h) => h._id).sort();
    expect(hits({ match: { title: 'zebra' } })).toEqual(['1', 'new']);
    expect(hits({ ids: { values: ['0', '3', '40'] } })).toEqual([]);
    expect(e.get('1')._version).toBe(2);
    e.flush();
    e.close();
    const again = ShardEngine.open(dir, { mappings: MAPPINGS });
    expect(again.docCount).toBe(98);
    expect(again.search({ query: { match: { title: 'zebra' } } }).hits.hits.map((h) => h._id).sort()).toEqual(['1', 'new']);
    expect(again.search({ query: { range: { n: { gte: 1000 } } } }).hits.hits.map((h) => h._id)).toEqual(['1']);
    again.close();
  });

  it('applies the translog on top of loaded segments', () => {
    const dir = tmp();
    const e = smallShard(dir);
    e.index('5', { title: 'updated after the commit' });
    e.delete('6');
    // Crash: no flush, no close.
    const again = ShardEngine.open(dir, { mappings: MAPPINGS });
    expect(again.recoveredOps).toBe(2);
    expect(again.get('5')._source).toEqual({ title: 'updated after the commit' });
    expect(again.get('6').found).toBe(false);
    expect(again.search({ query: { match: { title: 'updated' } } }).hits.hits.map((h) => h._id)).toEqual(['5']);
    expect(again.search({ query: { term: { n: 5 } } }).hits.total.value).toBe(0);
    expect(again.docCount).toBe(97);
    again.close();
    e.close();
  });

  it('a loaded segment keeps its arrays as views of one buffer holding only them (not the sources or dictionaries); decoded postings own exactly their values', () => {
    const dir = tmp();
    smallShard(dir).close();
    // And a segment of no docs (no merge or refresh makes one now): every array empty.
    writeAtomicChunks(dir, 'empty.seg', segmentFileChunks(new SegmentBuilder('_empty').seal()));
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.seg'));
    expect(files.map((f) => readSegmentFile(path.join(dir, f)).maxDoc).sort((a, b) => a - b)).toEqual([0, 10, 20, 70]);
    for (const f of files) {
      const layout = readSegmentLayout(path.join(dir, f));
      const arraysOf = (seg: Segment): (ArrayLike<number> & { buffer: ArrayBufferLike })[] => {
        const { docs, fields, columns, nested } = seg.parts();
        return [
          ...[docs.seqNos, docs.primaryTerms, docs.versions],
          ...[...fields.values()].flatMap((fi) => [fi.impacts, fi.topDocs, fi.norms].filter((a) => a !== undefined)),
          ...[...columns.values()].flatMap((c) => (c.kind === 'numeric' ? [c.offsets, c.values] : [c.offsets, c.ords])),
          ...[...nested.values()].flatMap((n) => [n.parentOf, n.childStart, n.offsetOf, ...arraysOf(n.segment)]),
        ];
      };
      const loaded = readSegmentFile(path.join(dir, f));
      if (loaded.maxDoc > 0) expect(loaded.nestedEntries().size).toBe(1);
      const buffers = new Set(arraysOf(loaded).map((a) => a.buffer));
      expect(buffers.size).toBe(1);
      // The postings are stored as varints and decoded while loading: each array owns its buffer, no more.
      const postingsOf = (seg: Segment): Int32Array[] => [
        ...[...seg.parts().fields.values()].flatMap((fi) => [fi.docs, fi.freqs, fi.posStarts, fi.positions].filter((a): a is Int32Array => a !== undefined)),
        ...[...seg.parts().nested.values()].flatMap((n) => postingsOf(n.segment)),
      ];
      for (const a of postingsOf(loaded)) expect(a.buffer.byteLength).toBe(a.byteLength);
      expect([...buffers][0]!.byteLength).toBe(layout.keptBytes);
      expect(layout.keptBytes).toBeLessThan(layout.fileLength - layout.dataStart);
    }
  });

  describe('damage', () => {
    /** A closed shard, its first segment file, and a fresh copy of the shard to damage. */
    function damaged(): { file: string; layout: SegmentFileLayout; copy: (change: (file: string) => void) => string } {
      const dir = tmp();
      smallShard(dir).close();
      const file = fs.readdirSync(dir).find((f) => f.endsWith('.seg'))!;
      return {
        file,
        layout: readSegmentLayout(path.join(dir, file)),
        copy: (change) => {
          const d = tmp();
          fs.cpSync(dir, d, { recursive: true });
          change(path.join(d, file));
          return d;
        },
      };
    }

    const flip = (at: number) => (file: string) => {
      const buf = fs.readFileSync(file);
      buf[at] = buf[at]! ^ 0x5a;
      fs.writeFileSync(file, buf);
    };

    const failsToOpen = (dir: string, file: string, section: string): void => {
      let engine: ShardEngine | undefined;
      let error: unknown;
      try {
        engine = ShardEngine.open(dir, { mappings: MAPPINGS });
      } catch (err) {
        error = err;
      }
      engine?.close();
      expect(engine, `${section} served`).toBeUndefined();
      expect(String(error)).toContain(path.join(dir, file));
      expect(String(error)).toContain(`section ${section}:`);
    };

    it('a byte flipped in any section, its padding, the TOC or the header: open throws naming the file and the section', () => {
      const { file, layout, copy } = damaged();
      expect(layout.sections.length).toBeGreaterThan(30);
      for (const s of layout.sections) {
        if (s.byteLength > 0) {
          for (const at of [0, Math.floor(s.byteLength / 2), s.byteLength - 1]) {
            const d = copy(flip(layout.dataStart + s.offset + at));
            failsToOpen(d, file, s.name);
          }
        }
        // Padding counts: a section's CRC covers it.
        if (s.byteLength % 8 !== 0) failsToOpen(copy(flip(layout.dataStart + s.offset + s.byteLength)), file, s.name);
      }
      for (const at of [0, 7, 8, 12, 16, 24, 28, 32, 36, 39]) failsToOpen(copy(flip(at)), file, 'header');
      for (const at of [40, Math.floor((40 + layout.dataStart) / 2), layout.dataStart - 1]) failsToOpen(copy(flip(at)), file, 'toc');
    });

    it('any byte of the file changed in any way: open throws naming the file (property)', () => {
      const { file, layout, copy } = damaged();
      fc.assert(
        fc.property(fc.integer({ min: 0, max: layout.fileLength - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
          const d = copy((f) => {
            const buf = fs.readFileSync(f);
            buf[at] = buf[at]! ^ mask;
            fs.writeFileSync(f, buf);
          });
          expect(() => ShardEngine.open(d, { mappings: MAPPINGS })).toThrow(`${path.join(d, file)} is corrupt: section `);
          fs.rmSync(d, { recursive: true, force: true });
        }),
        { numRuns: 150, seed: 7 },
      );
    });

    it('a truncated or extended file: open throws naming the file and the section cut', () => {
      const { file, layout, copy } = damaged();
      const cut = (length: number) => (f: string) => fs.truncateSync(f, length);
      failsToOpen(copy(cut(0)), file, 'header');
      failsToOpen(copy(cut(39)), file, 'header');
      failsToOpen(copy(cut(40)), file, 'toc');
      failsToOpen(copy(cut(layout.dataStart - 1)), file, 'toc');
      for (const s of layout.sections.filter((x, i) => i % 5 === 0 && x.byteLength > 0)) {
        failsToOpen(copy(cut(layout.dataStart + s.offset + Math.floor(s.byteLength / 2) + 1)), file, s.name);
      }
      const last = layout.sections.at(-1)!;
      failsToOpen(copy(cut(layout.fileLength - 1)), file, last.name);
      failsToOpen(copy((f) => fs.appendFileSync(f, Buffer.from([0]))), file, 'end');
    });

    it('reports a file that is not a segment file, a live-docs file of the wrong length, a missing segment file', () => {
      const { file, copy } = damaged();
      const d = copy((f) => fs.writeFileSync(f, Buffer.alloc(64, 1)));
      failsToOpen(d, file, 'header');
      expect(() => readSegmentFile(path.join(d, file))).toThrow(/not a segment file/);
      const name = file.slice('seg-'.length, -'.seg'.length);
      const d2 = copy(() => {});
      writeAtomic(d2, `seg-${name}.liv`, encode(new Uint8Array(3).fill(1)));
      expect(() => ShardEngine.open(d2, { mappings: MAPPINGS })).toThrow(new RegExp(`seg-${name}\\.liv is corrupt: 3 docs`));
      const d3 = copy((f) => fs.rmSync(f));
      expect(() => ShardEngine.open(d3, { mappings: MAPPINGS })).toThrow(`${path.join(d3, file)} is missing`);
    });
  });

  describe('shards written before segment files', () => {
    /** A shard directory as the old writer left it: `.dat` = msgpack `{ metas, sources }`, framed. */
    function oldShard(dir: string, docs: [string, Record<string, unknown>][], dead: Set<string>): void {
      const metas = docs.map(([id], i) => ({ id, seqNo: i, primaryTerm: 1, version: 1 }));
      writeAtomic(dir, 'seg-_0.dat', encode({ metas, sources: docs.map(([, s]) => s) }));
      writeAtomic(dir, 'seg-_0.liv', encode(Uint8Array.from(docs, ([id]) => (dead.has(id) ? 0 : 1))));
      writeAtomic(dir, 'commit.ckp', encode({ generation: 1, segments: ['_0'], maxSeqNo: docs.length - 1, localCheckpoint: docs.length - 1, primaryTerm: 1, mappings: MAPPINGS }));
    }

    const DOCS: [string, Record<string, unknown>][] = Array.from({ length: 40 }, (_, i) => [
      `d${i}`,
      { title: `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]}`, tag: TAGS[i % TAGS.length], n: i, at: new Date(1_650_000_000_000 + i * 3_600_000).toISOString(), flag: i % 3 === 0 },
    ]);
    const DEAD = new Set(['d1', 'd17']);

    it('open by re-indexing their live docs, answer as a fresh index of them, and are rewritten as segment files by the next flush', () => {
      const dir = tmp();
      oldShard(dir, DOCS, DEAD);
      const e = ShardEngine.open(dir, { mappings: MAPPINGS });
      const fresh = new ShardEngine({ mappings: MAPPINGS });
      for (const [id, source] of DOCS) if (!DEAD.has(id)) fresh.index(id, source);
      fresh.refresh();
      const ids = DOCS.map(([id]) => id);
      const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === '_seq_no' || k === '_version' ? undefined : v)));
      expect(e.docCount).toBe(38);
      expect(strip(answers(e, ids))).toEqual(strip(answers(fresh, ids)));
      expect(e.get('d5')).toMatchObject({ found: true, _seq_no: 5, _version: 1 });
      e.flush();
      const files = fs.readdirSync(dir).filter((f) => f.startsWith('seg-'));
      expect(files.some((f) => f.endsWith('.dat'))).toBe(false);
      expect(files.filter((f) => f.endsWith('.seg'))).toHaveLength(1);
      const before = answers(e, ids);
      e.close();
      const again = ShardEngine.open(dir, { mappings: MAPPINGS });
      expect(answers(again, ids)).toEqual(before);
      again.close();
      fresh.close();
    });

    it('a damaged old file still throws naming the file', () => {
      const dir = tmp();
      oldShard(dir, DOCS, DEAD);
      const file = path.join(dir, 'seg-_0.dat');
      const buf = fs.readFileSync(file);
      buf[buf.length - 3] = buf[buf.length - 3]! ^ 1;
      fs.writeFileSync(file, buf);
      expect(() => ShardEngine.open(dir, { mappings: MAPPINGS })).toThrow(`${file} is corrupt`);
    });
  });
});
