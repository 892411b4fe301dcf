import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-engine-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

type Op = { kind: 'index'; id: string; n: number } | { kind: 'delete'; id: string } | { kind: 'flush' };

function apply(state: Map<string, number>, op: Op): void {
  if (op.kind === 'index') state.set(op.id, op.n);
  else if (op.kind === 'delete') state.delete(op.id);
}

function snapshot(e: ShardEngine, ids: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const id of ids) {
    const g = e.get(id);
    if (g.found) out.set(id, (g._source as { n: number }).n);
  }
  return out;
}

describe('engine persistence', () => {
  it('recovers every acknowledged write after a crash, from commit point and translog', () => {
    const dir = tmp();
    const e = ShardEngine.open(dir);
    e.index('a', { title: 'first document', n: 1 });
    e.index('b', { title: 'second document', n: 2 });
    e.flush(); // commit point: a, b
    e.index('c', { title: 'third', n: 3 });
    e.delete('a');
    e.index('b', { title: 'second, updated', n: 22 });
    // Crash: no close, no flush. Reopen from the same directory.
    const again = ShardEngine.open(dir);
    expect(snapshot(again, ['a', 'b', 'c'])).toEqual(new Map([['b', 22], ['c', 3]]));
    expect(again.recoveredOps).toBe(3);
    expect(again.search({ query: { match: { title: 'updated' } } }).hits.hits.map((h) => h._id)).toEqual(['b']);
    expect(again.get('b')._version).toBe(2);
    expect(again.index('d', { n: 4 })._seq_no).toBe(5); // seq_nos continue
    again.close();
    e.close();
  });

  it('keeps dynamic mappings across a commit', () => {
    const dir = tmp();
    const e = ShardEngine.open(dir);
    e.index('1', { when: '2024-01-01', n: 1 });
    e.flush();
    e.close();
    const again = ShardEngine.open(dir);
    expect(again.mappings.field('when')?.type).toBe('date');
    again.close();
  });

  it('a translog cut at a random point reopens to a consistent prefix of the history', () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('index' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), n: fc.nat(1000) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd', 'e') }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), (ops, cutAt) => {
        const dir = tmp();
        const e = ShardEngine.open(dir);
        const history: Op[] = [];
        let committed = 0; // ops covered by the last flush
        for (const op of ops) {
          if (op.kind === 'index') e.index(op.id, { n: op.n });
          else if (op.kind === 'delete') e.delete(op.id);
          else {
            e.flush();
            committed = history.length;
            continue;
          }
          history.push(op);
        }
        e.close();
        // Tear the newest translog generation at a random byte.
        const tdir = path.join(dir, 'translog');
        const gens = fs.readdirSync(tdir).filter((f) => f.endsWith('.tlog')).sort();
        const last = path.join(tdir, gens.at(-1)!);
        const size = fs.statSync(last).size;
        fs.truncateSync(last, Math.floor(size * cutAt));
        const again = ShardEngine.open(dir);
        const expected = new Map<string, number>();
        for (const op of history.slice(0, committed + again.recoveredOps)) apply(expected, op);
        expect(again.recoveredOps).toBeLessThanOrEqual(history.length - committed);
        expect(snapshot(again, ['a', 'b', 'c', 'd', 'e'])).toEqual(expected);
        again.close();
      }),
      { numRuns: 60 },
    );
  });
});
