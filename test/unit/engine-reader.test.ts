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
});
