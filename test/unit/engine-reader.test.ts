import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

type Op = { kind: 'index'; id: number; v: number } | { kind: 'delete'; id: number } | { kind: 'refresh' } | { kind: 'open' };

const write = fc.oneof(
  fc.record({ kind: fc.constant('index' as const), id: fc.integer({ min: 0, max: 15 }), v: fc.integer({ min: 0, max: 99 }) }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 15 }) }),
  fc.constant({ kind: 'refresh' as const }),
  fc.constant({ kind: 'open' as const }),
);

const ALL = { query: { match_all: {} }, size: 100, sort: [{ v: 'asc' }], track_total_hits: true };

/**
 * An engine and the near-real-time model of what each read sees: a real-time get the latest
 * write; a search the docs as of the last refresh, deletes and updates included (an updated doc
 * shows its old version until then, as in Lucene's near-real-time readers); a reader what was
 * searchable when it opened.
 */
class NrtModel {
  readonly current = new Map<string, number>();
  searchable = new Map<string, number>();
  readonly readers: { reader: ReturnType<ShardEngine['openReader']>; want: Map<string, number> }[] = [];

  constructor(readonly e: ShardEngine) {}

  apply(op: Op): void {
    if (op.kind === 'index') {
      this.e.index(String(op.id), { v: op.v });
      this.current.set(String(op.id), op.v);
    } else if (op.kind === 'delete') {
      this.e.delete(String(op.id));
      this.current.delete(String(op.id));
    } else if (op.kind === 'refresh') {
      this.e.refresh();
      this.searchable = new Map(this.current);
    } else this.readers.push({ reader: this.e.openReader(), want: new Map(this.searchable) });
  }

  /** id → v of every doc a search finds now. */
  searchNow(): Map<string, number> {
    return new Map(this.e.search(ALL).hits.hits.map((h) => [h._id, h.sort![0] as number]));
  }

  /** A search and a get after an op see what the model says. */
  check(op: Op | { kind: 'slice' | 'force' }): void {
    expect(this.searchNow()).toEqual(this.searchable);
    if (op.kind === 'index' || op.kind === 'delete') expect(this.e.get(String(op.id)).found).toBe(this.current.has(String(op.id)));
  }

  /** Every reader still sees what was searchable when it opened, and fetches the versions it scored. */
  checkReaders(): void {
    for (const { reader, want } of this.readers) {
      const res = this.e.search(ALL, reader);
      expect(new Map(res.hits.hits.map((h) => [h._id, h.sort![0] as number]))).toEqual(want);
      expect(res.hits.total.value).toBe(want.size);
      const fetched = this.e.fetch(reader, res.hits.hits.map((h) => h._address), { _source: true });
      expect(fetched.map((h) => [h._id, (h._source as { v: number }).v])).toEqual(res.hits.hits.map((h) => [h._id, h.sort![0]]));
    }
  }
}

describe('search readers are points in time', () => {
  it('a reader sees what was searchable when it opened, whatever is indexed, updated, deleted or merged since; a search sees updates and deletes only after a refresh', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 80 }), (ops: Op[]) => {
        // Small segments, merged often.
        const m = new NrtModel(new ShardEngine({ maxSegments: 3, mappings: { properties: { v: { type: 'long' } } } }));
        for (const op of ops) {
          m.apply(op);
          m.check(op);
        }
        m.checkReaders();
      }),
      { numRuns: 300 },
    );
  });

  it('background merges and sliced force merges: a slice at a time between writes, deletes, refreshes and readers, nothing searchable changes and nothing is lost', () => {
    const force = fc.record({ kind: fc.constant('force' as const), max: fc.integer({ min: 1, max: 3 }), expunge: fc.boolean() });
    fc.assert(
      fc.property(
        // Long runs (with fast-check's default size they would stay near 10 ops: too few for merges).
        fc.array(fc.oneof(write, force, fc.constant({ kind: 'slice' as const }), fc.constant({ kind: 'slice' as const })), { minLength: 20, maxLength: 100, size: 'max' }),
        (ops) => {
          const slices: (() => void)[] = [];
          const e = new ShardEngine({ maxSegments: 2, mergeSliceDocs: 2, backgroundMerges: (slice) => slices.push(slice), mappings: { properties: { v: { type: 'long' } } } });
          const m = new NrtModel(e);
          let forcing = false;
          let forced = 0;
          for (const op of ops) {
            if (op.kind === 'slice') slices.shift()?.();
            else if (op.kind === 'force') {
              // One force merge at a time, as a shard copy runs them (its actor waits for each).
              if (!forcing) {
                forcing = true;
                void e.forceMergeInSlices(op.expunge ? { onlyExpungeDeletes: true } : { maxNumSegments: op.max }).then(() => {
                  forcing = false;
                  forced++;
                });
              }
            } else m.apply(op);
            m.check(op);
          }
          // The merges under way finish; then a refresh shows exactly the current docs, each once.
          while (slices.length > 0) slices.shift()!();
          expect(m.searchNow()).toEqual(m.searchable);
          e.refresh();
          while (slices.length > 0) slices.shift()!();
          expect(m.searchNow()).toEqual(m.current);
          expect(e.search({ size: 0, track_total_hits: true }).hits.total.value).toBe(m.current.size);
          for (const [id, v] of m.current) expect(e.get(id)._source).toEqual({ v });
          m.checkReaders();
          void forced;
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a sliced force merge ends with what forceMerge leaves: one segment, no deleted docs, the same docs', async () => {
    const slices: (() => void)[] = [];
    const e = new ShardEngine({ maxSegments: 100, mergeSliceDocs: 3, backgroundMerges: (slice) => slices.push(slice), mappings: { properties: { v: { type: 'long' } } } });
    const m = new NrtModel(e);
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 6; i++) m.apply({ kind: 'index', id: s * 6 + i, v: i });
      m.apply({ kind: 'refresh' });
    }
    m.apply({ kind: 'delete', id: 4 });
    m.apply({ kind: 'refresh' });
    const done = e.forceMergeInSlices({ maxNumSegments: 1 });
    let ran = 0;
    // Writes and searches between the slices.
    while (slices.length > 0) {
      slices.shift()!();
      ran++;
      m.check({ kind: 'refresh' });
      if (ran === 3) m.apply({ kind: 'index', id: 100, v: 7 });
    }
    await done;
    expect(ran).toBeGreaterThan(5);
    m.apply({ kind: 'refresh' });
    expect(m.searchNow()).toEqual(m.current);
    expect(e.deletedDocCount).toBe(0);
    // The merged segment and the one the refresh made for doc 100.
    expect(e.segmentCount).toBe(2);
    await expect(e.forceMergeInSlices({ maxNumSegments: 0 })).rejects.toThrow(/max_num_segments/);
  });
});
