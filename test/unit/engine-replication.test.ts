import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCheckpointTracker } from '../../src/engine/checkpoint.ts';
import { ShardEngine, type ReplicaOp } from '../../src/engine/shard-engine.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'shoal-engine-repl-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const docs = (e: ShardEngine) =>
  e
    .allDocs()
    .map((op) => ({ id: op.id, seqNo: op.seqNo, version: op.version, source: op.op === 'index' ? op.source : undefined }))
    .sort((a, b) => a.id.localeCompare(b.id));

describe('engine replication primitives', () => {
  it('tracks the local checkpoint across out-of-order seq_nos', () => {
    const t = new LocalCheckpointTracker();
    for (const s of [2, 0, 3]) t.markProcessed(s);
    expect(t.localCheckpoint).toBe(0);
    t.markProcessed(1);
    expect(t.localCheckpoint).toBe(3);
    t.markProcessed(7);
    t.markProcessedUpTo(5);
    expect(t.localCheckpoint).toBe(5);
    t.markProcessed(6);
    expect(t.localCheckpoint).toBe(7);
    t.resetTo(4);
    expect([t.localCheckpoint, t.maxSeqNo]).toEqual([4, 4]);
  });

  it('a replica fed the primary ops in any order (with duplicates) ends with the same documents', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ del: fc.boolean(), id: fc.integer({ min: 0, max: 6 }), v: fc.integer({ min: 0, max: 9 }) }), { minLength: 1, maxLength: 40 }),
        fc.func(fc.integer()),
        fc.array(fc.nat(), { maxLength: 10 }),
        (writes, order, dups) => {
          const primary = new ShardEngine();
          const ops: ReplicaOp[] = [];
          for (const w of writes) {
            const id = `d${w.id}`;
            if (w.del) {
              const r = primary.delete(id);
              ops.push({ op: 'delete', id, seqNo: r._seq_no, primaryTerm: r._primary_term, version: r._version });
            } else {
              primary.index(id, { v: w.v });
              ops.push(primary.stateOf(id)!);
            }
          }
          const shuffled = [...ops, ...dups.map((i) => ops[i % ops.length]!)].map((op, i) => ({ op, k: order(i) })).sort((a, b) => a.k - b.k);
          const replica = new ShardEngine();
          for (const { op } of shuffled) replica.applyReplicated(op);
          expect(docs(replica)).toEqual(docs(primary));
          expect(replica.localCheckpoint).toBe(primary.maxSeqNo);
          expect(replica.changesAbove(-1).filter((o) => o.op === 'delete').map((o) => o.id).sort()).toEqual(
            primary.changesAbove(-1).filter((o) => o.op === 'delete').map((o) => o.id).sort(),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('changesAbove and idsAbove see the latest op of each document, deletes included; force overwrites', () => {
    const e = new ShardEngine();
    e.index('a', { x: 1 }); // 0
    e.index('b', { x: 1 }); // 1
    e.index('a', { x: 2 }); // 2
    e.delete('b'); // 3
    expect(e.changesAbove(1).map((o) => [o.op, o.id, o.seqNo])).toEqual([
      ['index', 'a', 2],
      ['delete', 'b', 3],
    ]);
    expect(e.idsAbove(2)).toEqual(['b']);
    // An older op does not overwrite... unless forced (a new primary's version of a suspect).
    expect(e.applyReplicated({ op: 'index', id: 'a', source: { x: 0 }, seqNo: 1, primaryTerm: 1, version: 1 })).toBe(false);
    expect(e.get('a')._source).toEqual({ x: 2 });
    expect(e.applyReplicated({ op: 'index', id: 'a', source: { x: 0 }, seqNo: 1, primaryTerm: 1, version: 1 }, true)).toBe(true);
    expect(e.get('a')._source).toEqual({ x: 0 });
    e.purge('b');
    expect(e.stateOf('b')).toBeUndefined();
  });

  it('a reopened replica keeps out-of-order ops, tombstones and its global checkpoint', () => {
    const dir = tempDir();
    let e = ShardEngine.open(dir);
    e.applyReplicated({ op: 'index', id: 'x', source: { n: 2 }, seqNo: 2, primaryTerm: 1, version: 2 });
    e.flush(); // commit: max seq 2, local checkpoint -1
    e.applyReplicated({ op: 'index', id: 'y', source: { n: 0 }, seqNo: 0, primaryTerm: 1, version: 1 });
    e.applyReplicated({ op: 'delete', id: 'z', seqNo: 1, primaryTerm: 1, version: 1 });
    e.globalCheckpoint = 1;
    e.close();
    e = ShardEngine.open(dir);
    expect(e.localCheckpoint).toBe(2);
    expect(e.globalCheckpoint).toBe(1);
    expect(e.get('y').found).toBe(true);
    expect(e.stateOf('z')).toMatchObject({ op: 'delete', seqNo: 1 });
    e.flush();
    e.close();
    e = ShardEngine.open(dir);
    expect(e.stateOf('z')).toMatchObject({ op: 'delete', seqNo: 1 });
    expect(e.docCount).toBe(2);
    e.close();
  });

  it('never loses documents across repeated flush and reopen (segment names are not reused)', () => {
    const dir = tempDir();
    let e = ShardEngine.open(dir);
    for (let i = 0; i < 5; i++) e.index(`a${i}`, { i });
    e.flush();
    e.close();
    e = ShardEngine.open(dir);
    for (let i = 0; i < 5; i++) e.index(`b${i}`, { i });
    e.flush();
    e.close();
    e = ShardEngine.open(dir);
    e.flush();
    e.close();
    e = ShardEngine.open(dir);
    expect(e.docCount).toBe(10);
    expect(e.maxSeqNo).toBe(9);
    e.close();
  });

  it('afterNextRefresh (refresh=wait_for) resolves once the writes so far are searchable', async () => {
    const count = (e: ShardEngine) => e.search({ query: { match_all: {} } }).hits.total.value;
    // No scheduled refresh: it refreshes at once.
    const manual = new ShardEngine({});
    manual.index('a', { n: 1 });
    expect(count(manual)).toBe(0);
    await manual.afterNextRefresh();
    expect(count(manual)).toBe(1);
    manual.close();
    // A scheduled refresh far away: the wait ends at the next refresh, whoever asks for it.
    const scheduled = new ShardEngine({ refreshIntervalMs: 3_600_000 });
    scheduled.index('a', { n: 1 });
    let done = false;
    const waiting = scheduled.afterNextRefresh().then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    scheduled.refresh();
    await waiting;
    expect(count(scheduled)).toBe(1);
    // Or refreshes itself after maxWaitMs.
    scheduled.index('b', { n: 2 });
    await scheduled.afterNextRefresh(10);
    expect(count(scheduled)).toBe(2);
    scheduled.close();
  });
});
