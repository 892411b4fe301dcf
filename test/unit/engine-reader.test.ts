import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

type Op = { kind: 'index'; id: number; v: number } | { kind: 'delete'; id: number } | { kind: 'refresh' } | { kind: 'open' };

describe('search readers are points in time', () => {
  it('a reader sees what was searchable when it opened, whatever is indexed, updated, deleted or merged since; a search sees updates and deletes only after a refresh', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('index' as const), id: fc.integer({ min: 0, max: 15 }), v: fc.integer({ min: 0, max: 99 }) }),
            fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 15 }) }),
            fc.constant({ kind: 'refresh' as const }),
            fc.constant({ kind: 'open' as const }),
          ),
          { maxLength: 80 },
        ),
        (ops: Op[]) => {
          // Small segments, merged often.
          const e = new ShardEngine({ maxSegments: 3, mappings: { properties: { v: { type: 'long' } } } });
          const current = new Map<string, number>();
          // What a search sees: the docs as of the last refresh, deletes and updates included (an
          // updated doc shows its old version until then, as in Lucene's near-real-time readers).
          let searchable = new Map<string, number>();
          const readers: { reader: ReturnType<ShardEngine['openReader']>; want: Map<string, number> }[] = [];
          for (const op of ops) {
            if (op.kind === 'index') {
              e.index(String(op.id), { v: op.v });
              current.set(String(op.id), op.v);
            } else if (op.kind === 'delete') {
              e.delete(String(op.id));
              current.delete(String(op.id));
            } else if (op.kind === 'refresh') {
              e.refresh();
              searchable = new Map(current);
            } else readers.push({ reader: e.openReader(), want: new Map(searchable) });
            // A search without a reader sees the same, and a real-time get the latest.
            const now = e.search({ query: { match_all: {} }, size: 100, sort: [{ v: 'asc' }] }).hits.hits;
            expect(new Map(now.map((h) => [h._id, h.sort![0] as number]))).toEqual(searchable);
            if (op.kind !== 'refresh' && op.kind !== 'open') expect(e.get(String(op.id)).found).toBe(current.has(String(op.id)));
          }
          for (const { reader, want } of readers) {
            const res = e.search({ query: { match_all: {} }, size: 100, sort: [{ v: 'asc' }], track_total_hits: true }, reader);
            const got = new Map(res.hits.hits.map((h) => [h._id, h.sort![0] as number]));
            expect(got).toEqual(want);
            expect(res.hits.total.value).toBe(want.size);
            // The fetch phase reads the version that was scored.
            const fetched = e.fetch(reader, res.hits.hits.map((h) => h._address), { _source: true });
            expect(fetched.map((h) => [h._id, (h._source as { v: number }).v])).toEqual(res.hits.hits.map((h) => [h._id, h.sort![0]]));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('background merges: a slice at a time between writes, deletes, refreshes and readers, nothing searchable changes and nothing is lost', () => {
    type BgOp = Op | { kind: 'slice' };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('index' as const), id: fc.integer({ min: 0, max: 15 }), v: fc.integer({ min: 0, max: 99 }) }),
            fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 15 }) }),
            fc.constant({ kind: 'refresh' as const }),
            fc.constant({ kind: 'open' as const }),
            fc.constant({ kind: 'slice' as const }),
            fc.constant({ kind: 'slice' as const }),
          ),
          // Long runs (fast-check's default size would keep them near 10 ops: too few for merges).
          { minLength: 20, maxLength: 100, size: 'max' },
        ),
        (ops: BgOp[]) => {
          const slices: (() => void)[] = [];
          const e = new ShardEngine({ maxSegments: 2, mergeSliceDocs: 2, backgroundMerges: (slice) => slices.push(slice), mappings: { properties: { v: { type: 'long' } } } });
          const current = new Map<string, number>();
          let searchable = new Map<string, number>();
          const readers: { reader: ReturnType<ShardEngine['openReader']>; want: Map<string, number> }[] = [];
          const searchNow = () => new Map(e.search({ query: { match_all: {} }, size: 100, sort: [{ v: 'asc' }] }).hits.hits.map((h) => [h._id, h.sort![0] as number]));
          for (const op of ops) {
            if (op.kind === 'index') {
              e.index(String(op.id), { v: op.v });
              current.set(String(op.id), op.v);
            } else if (op.kind === 'delete') {
              e.delete(String(op.id));
              current.delete(String(op.id));
            } else if (op.kind === 'refresh') {
              e.refresh();
              searchable = new Map(current);
            } else if (op.kind === 'open') readers.push({ reader: e.openReader(), want: new Map(searchable) });
            else slices.shift()?.();
            expect(searchNow()).toEqual(searchable);
            for (const id of ['0', '7', '15']) expect(e.get(id).found).toBe(current.has(id));
          }
          // The merges under way finish; then a refresh shows exactly the current docs, each once.
          while (slices.length > 0) slices.shift()!();
          expect(searchNow()).toEqual(searchable);
          e.refresh();
          while (slices.length > 0) slices.shift()!();
          expect(searchNow()).toEqual(current);
          expect(e.search({ size: 0, track_total_hits: true }).hits.total.value).toBe(current.size);
          for (const [id, v] of current) expect(e.get(id)._source).toEqual({ v });
          for (const { reader, want } of readers) {
            const res = e.search({ query: { match_all: {} }, size: 100, sort: [{ v: 'asc' }] }, reader);
            expect(new Map(res.hits.hits.map((h) => [h._id, h.sort![0] as number]))).toEqual(want);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
