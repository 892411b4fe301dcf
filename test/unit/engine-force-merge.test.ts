import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

const mappings = { properties: { n: { type: 'long' }, tag: { type: 'keyword' }, body: { type: 'text' } } } as const;

/** `segments` refreshes of `per` docs each (ids d<seg>-<i>), then the deletes. */
function engineWith(segments: number, per: number, deletes: string[] = [], engine = new ShardEngine({ mappings, maxSegments: 100 })): ShardEngine {
  for (let s = 0; s < segments; s++) {
    for (let i = 0; i < per; i++) engine.index(`d${s}-${i}`, { n: s * per + i, tag: `t${i % 3}`, body: `doc ${i} of segment ${s}` });
    engine.refresh();
  }
  for (const id of deletes) engine.delete(id);
  engine.refresh();
  return engine;
}

/** What searches, aggregations and gets see: it must not change by merging. */
function view(engine: ShardEngine) {
  const all = engine.search({ size: 1000, sort: [{ n: 'asc' }], _source: false });
  const scored = engine.search({ query: { match: { body: 'segment 2' } }, size: 100 });
  const aggs = engine.search({ size: 0, aggs: { tags: { terms: { field: 'tag' } }, sum: { sum: { field: 'n' } } } }).aggregations;
  return { ids: all.hits.hits.map((h) => h._id), total: all.hits.total, matched: scored.hits.hits.map((h) => h._id).sort(), aggs, get: engine.get('d1-3')?._source };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('force merge', () => {
  it('merges down to one segment and drops every deleted doc; searches, aggregations and gets see the same', () => {
    const engine = engineWith(5, 10, ['d0-1', 'd2-2', 'd2-3', 'd4-9']);
    const before = view(engine);
    expect(engine.segmentCount).toBe(5);
    expect(engine.deletedDocCount).toBe(4);
    engine.forceMerge();
    expect(engine.segmentCount).toBe(1);
    expect(engine.deletedDocCount).toBe(0);
    expect(engine.docCount).toBe(46);
    expect(view(engine)).toEqual(before);
  });

  it('max_num_segments: merges the smallest down to that many, then rewrites any segment still holding deletes', () => {
    const engine = engineWith(5, 10, ['d4-0']);
    // Five segments of 10 live docs but one of 9: the four smallest merge, and d4's segment is among them.
    engine.forceMerge({ maxNumSegments: 2 });
    expect(engine.segmentCount).toBe(2);
    expect(engine.deletedDocCount).toBe(0);
    // Already within the count: only the segments with deletes are rewritten.
    engine.delete('d0-0');
    engine.refresh();
    const before = view(engine);
    engine.forceMerge({ maxNumSegments: 3 });
    expect(engine.segmentCount).toBe(2);
    expect(engine.deletedDocCount).toBe(0);
    expect(view(engine)).toMatchObject({ ids: before.ids, aggs: before.aggs });
  });

  it('only_expunge_deletes: the segments with deletes merge into one; the others stay', () => {
    const engine = engineWith(4, 5, ['d1-0', 'd3-4']);
    engine.forceMerge({ onlyExpungeDeletes: true });
    expect(engine.segmentCount).toBe(3);
    expect(engine.deletedDocCount).toBe(0);
    expect(engine.docCount).toBe(18);
    // Nothing to expunge: nothing changes.
    const reader = engine.openReader();
    engine.forceMerge({ onlyExpungeDeletes: true });
    expect(engine.openReader().segments).toEqual(reader.segments.map((s) => expect.objectContaining({ maxDoc: s.maxDoc })));
  });

  it('a segment whose docs are all deleted goes away; a reader opened before keeps its view', () => {
    const engine = engineWith(3, 2, ['d1-0', 'd1-1']);
    const reader = engine.openReader();
    engine.forceMerge({ maxNumSegments: 3 });
    expect(engine.segmentCount).toBe(2);
    expect(engine.search({ size: 10 }).hits.total).toEqual({ value: 4, relation: 'eq' });
    expect(engine.search({ size: 10 }, reader).hits.total).toEqual({ value: 4, relation: 'eq' });
    engine.index('x', { n: 1 });
    engine.refresh();
    expect(engine.search({ size: 10 }, reader).hits.total.value).toBe(4);
  });

  it('refuses a bad max_num_segments and changes nothing', () => {
    const engine = engineWith(3, 2, ['d0-0']);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => engine.forceMerge({ maxNumSegments: bad })).toThrow(/max_num_segments/);
    expect(engine.segmentCount).toBe(3);
    expect(engine.deletedDocCount).toBe(1);
  });

  it('durable: after a merge and a flush the shard reopens with the same docs, from fewer files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-fm-'));
    dirs.push(dir);
    const engine = engineWith(4, 25, ['d0-0', 'd3-24'], ShardEngine.open(dir, { mappings, maxSegments: 100 }));
    engine.flush();
    const segFiles = () => fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).length;
    expect(segFiles()).toBe(8);
    const before = view(engine);
    const bytes = engine.storeSizeBytes();
    engine.forceMerge();
    engine.flush();
    expect(segFiles()).toBe(2);
    expect(engine.storeSizeBytes()).toBeGreaterThan(0);
    expect(engine.storeSizeBytes()).toBeLessThan(bytes);
    const merged = view(engine);
    expect(merged.ids).toEqual(before.ids);
    engine.close();
    const reopened = ShardEngine.open(dir, { mappings });
    expect(view(reopened)).toEqual(merged);
    expect(reopened.deletedDocCount).toBe(0);
    reopened.close();
  });
});
