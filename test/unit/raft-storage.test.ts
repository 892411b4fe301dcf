import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileRaftStorage, type CorruptionInfo } from '../../src/raft/file-storage.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import type { Entry, RaftStorage, Snapshot } from '../../src/raft/types.ts';
import { flipByte, recordBounds } from '../support/framed-files.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

const dirs: string[] = [];

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-raft-storage-'));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function entries(from: number, to: number, term: number, tag = ''): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    out.push(i % 7 === 0 ? { index: i, term, kind: 'noop' } : { index: i, term, kind: 'command', data: { op: 'put', key: `k${i}${tag}`, v: i } });
  }
  return out;
}

function snapshot(index: number, term: number): Snapshot {
  return { index, term, membership: { voters: ['a', 'b', 'c'], learners: ['d'] }, data: { applied: index, tags: ['x', 'y'] } };
}

/** A storage "device": reopen() simulates a crash/restart and returns the storage to use next. */
interface Device {
  reopen(): RaftStorage;
  /** Segment files (file storage only). */
  segments(): string[];
}

function fileDevice(segmentBytes?: number): Device {
  const dir = tmpDir();
  let current: RaftStorage | undefined;
  return {
    reopen() {
      current?.close();
      current = new FileRaftStorage(dir, segmentBytes === undefined ? {} : { segmentBytes });
      return current;
    },
    segments: () => segmentFiles(dir),
  };
}

function memoryDevice(): Device {
  const s = new MemoryRaftStorage();
  return { reopen: () => s, segments: () => [] };
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => /^log-\d{20}\.seg$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}


// ---------------------------------------------------------------------------------------------
// Behavioural suite, run against both storages

const storages: [string, (segmentBytes?: number) => Device][] = [
  ['MemoryRaftStorage', () => memoryDevice()],
  ['FileRaftStorage', (segmentBytes) => fileDevice(segmentBytes)],
];

describe.each(storages)('%s', (name, device) => {
  it('loads an empty state', () => {
    const s = device().reopen();
    expect(s.load()).toEqual({ hardState: { term: 0, votedFor: null }, snapshot: undefined, entries: [] });
  });

  it('round-trips the hard state', () => {
    const d = device();
    let s = d.reopen();
    s.load();
    s.saveHardState({ term: 3, votedFor: 'b' });
    s.saveHardState({ term: 4, votedFor: null });
    s = d.reopen();
    expect(s.load().hardState).toEqual({ term: 4, votedFor: null });
    s.saveHardState({ term: 5, votedFor: 'c' });
    expect(d.reopen().load().hardState).toEqual({ term: 5, votedFor: 'c' });
  });

  it('appends and reloads', () => {
    const d = device();
    const s = d.reopen();
    s.load();
    s.append(entries(1, 3, 1));
    s.append(entries(4, 10, 2));
    s.append([]);
    expect(s.load().entries).toEqual(entries(1, 10, 1).map((e) => ({ ...e, term: e.index <= 3 ? 1 : 2 })));
    expect(d.reopen().load().entries).toEqual([...entries(1, 3, 1), ...entries(4, 10, 2)]);
  });

  it('rejects gaps and non-contiguous batches', () => {
    const s = device().reopen();
    s.load();
    expect(() => s.append(entries(2, 3, 1))).toThrow(/gap/);
    s.append(entries(1, 3, 1));
    expect(() => s.append(entries(5, 6, 1))).toThrow(/gap/);
    expect(() => s.append([...entries(4, 4, 1), ...entries(6, 6, 1)])).toThrow(/contiguous/);
    expect(s.load().entries).toEqual(entries(1, 3, 1));
  });

  it('replaces a conflicting suffix', () => {
    const d = device();
    let s = d.reopen();
    s.load();
    s.append(entries(1, 10, 1));
    s.append(entries(6, 8, 2, 'x'));
    const want = [...entries(1, 5, 1), ...entries(6, 8, 2, 'x')];
    expect(s.load().entries).toEqual(want);
    s = d.reopen();
    expect(s.load().entries).toEqual(want);
    s.append(entries(9, 9, 3));
    s.append(entries(1, 2, 4, 'y')); // replaces almost everything
    expect(d.reopen().load().entries).toEqual(entries(1, 2, 4, 'y'));
  });

  it('returns copies that later mutation cannot change', () => {
    const d = device();
    const s = d.reopen();
    s.load();
    const batch = entries(1, 3, 1);
    s.append(batch);
    batch[0]!.term = 99;
    const loaded = s.load();
    loaded.entries.pop();
    loaded.entries[0]!.term = 42;
    loaded.hardState.term = 7;
    expect(d.reopen().load()).toEqual({ hardState: { term: 0, votedFor: null }, snapshot: undefined, entries: entries(1, 3, 1) });
  });

  it('stores a snapshot, compacts, and reloads only the entries after it', () => {
    const d = device(96);
    let s = d.reopen();
    s.load();
    s.saveHardState({ term: 2, votedFor: 'a' });
    s.append(entries(1, 20, 1));
    s.append(entries(21, 30, 2));
    const before = d.segments().length;
    s.saveSnapshot(snapshot(12, 1));
    if (name === 'FileRaftStorage') {
      expect(d.segments().length).toBeLessThan(before);
      expect(d.segments().length).toBeGreaterThan(0);
    }
    const want = { hardState: { term: 2, votedFor: 'a' }, snapshot: snapshot(12, 1), entries: [...entries(13, 20, 1), ...entries(21, 30, 2)] };
    expect(s.load()).toEqual(want);
    s = d.reopen();
    expect(s.load()).toEqual(want);

    // Entries covered by the snapshot are skipped; the rest appends (and conflicts) normally.
    s.append(entries(10, 16, 1));
    s.append(entries(17, 18, 3, 'z'));
    expect(d.reopen().load().entries).toEqual([...entries(13, 16, 1), ...entries(17, 18, 3, 'z')]);

    // A snapshot at the last index leaves an empty log; appending continues after it.
    s = d.reopen();
    s.load();
    s.saveSnapshot(snapshot(18, 3));
    if (name === 'FileRaftStorage') expect(d.segments()).toEqual([]);
    expect(s.load().entries).toEqual([]);
    expect(() => s.saveSnapshot(snapshot(10, 1))).toThrow(/older/);
    expect(() => s.append(entries(20, 20, 3))).toThrow(/gap/);
    s.append(entries(19, 25, 3));
    expect(d.reopen().load()).toMatchObject({ snapshot: snapshot(18, 3), entries: entries(19, 25, 3) });
  });

  it('drops the whole log when the snapshot does not match it', () => {
    const d = device(96);
    let s = d.reopen();
    s.load();
    s.append(entries(1, 20, 1));
    s.saveSnapshot(snapshot(15, 2)); // the log has term 1 at 15: stale
    if (name === 'FileRaftStorage') expect(d.segments()).toEqual([]);
    expect(() => s.append(entries(17, 17, 2))).toThrow(/gap/);
    s.append(entries(16, 17, 2));
    expect(d.reopen().load()).toMatchObject({ snapshot: snapshot(15, 2), entries: entries(16, 17, 2) });
    s = d.reopen();
    s.load();
    s.saveSnapshot(snapshot(17, 3)); // stale again
    expect(s.load().entries).toEqual([]);
    s = d.reopen();
    expect(s.load()).toMatchObject({ snapshot: snapshot(17, 3), entries: [] });
    s.saveSnapshot(snapshot(40, 3)); // beyond the log
    s.append(entries(41, 42, 3));
    expect(d.reopen().load()).toMatchObject({ snapshot: snapshot(40, 3), entries: entries(41, 42, 3) });
  });

  it('rolls segments and reloads across many of them', () => {
    const d = device(128);
    let s = d.reopen();
    s.load();
    let next = 1;
    for (const size of [1, 5, 17, 2, 40, 3, 60, 1, 1, 9]) {
      s.append(entries(next, next + size - 1, 1));
      next += size;
    }
    const last = next - 1;
    if (name === 'FileRaftStorage') expect(d.segments().length).toBeGreaterThan(20);
    s = d.reopen();
    expect(s.load().entries).toEqual(entries(1, last, 1));
    // Conflict deep inside an earlier segment.
    s.append(entries(50, 55, 2));
    expect(d.reopen().load().entries).toEqual([...entries(1, 49, 1), ...entries(50, 55, 2)]);
    s = d.reopen();
    s.load();
    s.saveSnapshot(snapshot(30, 1));
    s.append(entries(56, 100, 2));
    expect(d.reopen().load().entries).toEqual([...entries(31, 49, 1), ...entries(50, 100, 2)]);
  });
});

// ---------------------------------------------------------------------------------------------
// File storage only

describe('FileRaftStorage recovery', () => {
  it('cuts a torn tail at a random point and keeps everything before it (property)', () => {
    const batchArb = fc.record({
      size: fc.integer({ min: 1, max: 8 }),
      back: fc.integer({ min: 0, max: 12 }), // > 0 sometimes overwrites a suffix
      conflict: fc.boolean(),
      data: fc.string({ maxLength: 40 }),
    });
    const damageArb = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), bit: fc.constant(0) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 12 }), fc.integer({ min: 48, max: 600 }), damageArb, (batches, segmentBytes, damage) => {
        const dir = tmpDir();
        const model: Entry[] = [];
        let s = new FileRaftStorage(dir, { segmentBytes });
        s.load();
        batches.forEach((b, n) => {
          const start = b.conflict ? Math.max(1, model.length + 1 - b.back) : model.length + 1;
          const batch: Entry[] = [];
          for (let i = 0; i < b.size; i++) batch.push({ index: start + i, term: n + 1, kind: 'command', data: `${b.data}#${start + i}` });
          s.append(batch);
          model.length = start - 1;
          model.push(...batch);
        });
        s.close();

        const segs = segmentFiles(dir);
        const lastSeg = segs.at(-1)!;
        const firstOfLast = Number(/log-(\d{20})\.seg$/.exec(lastSeg)![1]);
        const bounds = recordBounds(lastSeg);
        expect(firstOfLast - 1 + bounds.length).toBe(model.length);
        let kept: number;
        let damaged: boolean;
        if (damage.kind === 'cut') {
          const size = fs.statSync(lastSeg).size;
          const at = damage.at % (size + 1);
          fs.truncateSync(lastSeg, at);
          kept = bounds.filter((r) => r.end <= at).length;
          damaged = at !== 0 && !bounds.some((r) => r.end === at);
        } else {
          const tail = bounds.at(-1)!;
          flipByte(lastSeg, tail.start + (damage.at % (tail.end - tail.start)), 1 << damage.bit);
          kept = bounds.length - 1;
          damaged = true;
        }
        const expected = model.slice(0, firstOfLast - 1 + kept);

        const reports: CorruptionInfo[] = [];
        s = new FileRaftStorage(dir, { segmentBytes, onCorruption: (i) => reports.push(i) });
        const loaded = s.load();
        expect(loaded.entries).toEqual(expected);
        expect(reports.length > 0).toBe(damaged);
        for (const r of reports) expect(r.file).toBe(lastSeg);

        // Recovery repaired the file: appending works and a further reload is clean.
        const more: Entry[] = [1, 2, 3].map((k) => ({ index: expected.length + k, term: 1000, kind: 'noop' as const }));
        s.append(more);
        s.close();
        const again: CorruptionInfo[] = [];
        s = new FileRaftStorage(dir, { segmentBytes, onCorruption: (i) => again.push(i) });
        expect(s.load().entries).toEqual([...expected, ...more]);
        expect(again).toEqual([]);
        s.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });

  function filledDir(segmentBytes = 200): { dir: string; segs: string[] } {
    const dir = tmpDir();
    const s = new FileRaftStorage(dir, { segmentBytes });
    s.load();
    s.append(entries(1, 60, 1));
    s.close();
    return { dir, segs: segmentFiles(dir) };
  }

  it('throws on a corrupt record followed by valid records, naming the file and offset', () => {
    const { dir, segs } = filledDir();
    const last = segs.at(-1)!;
    const bounds = recordBounds(last);
    expect(bounds.length).toBeGreaterThanOrEqual(3);
    const victim = bounds[1]!;
    flipByte(last, victim.start + 12); // payload byte
    expect(() => new FileRaftStorage(dir).load()).toThrow(new RegExp(`${path.basename(last)}.*offset ${victim.start}`));
    flipByte(last, victim.start + 12); // undo
    flipByte(last, victim.start + 3); // length now far past EOF
    expect(() => new FileRaftStorage(dir).load()).toThrow(new RegExp(`${path.basename(last)}.*offset ${victim.start}`));
  });

  it('throws on a torn or corrupt record in a segment that is not the last', () => {
    const { dir, segs } = filledDir();
    expect(segs.length).toBeGreaterThan(2);
    const victim = segs[1]!;
    const bounds = recordBounds(victim);
    flipByte(victim, bounds.at(-1)!.start + 9);
    expect(() => new FileRaftStorage(dir).load()).toThrow(new RegExp(`${path.basename(victim)}.*offset ${bounds.at(-1)!.start}`));
    flipByte(victim, bounds.at(-1)!.start + 9);
    fs.truncateSync(victim, fs.statSync(victim).size - 2);
    expect(() => new FileRaftStorage(dir).load()).toThrow(path.basename(victim));
  });

  it('throws on a missing segment (gap in the log)', () => {
    const { dir, segs } = filledDir();
    fs.rmSync(segs[1]!);
    expect(() => new FileRaftStorage(dir).load()).toThrow(/gap/);
  });

  it('ignores an empty last segment left by a crash during a roll', () => {
    const { dir, segs } = filledDir();
    fs.writeFileSync(path.join(dir, `log-${String(61).padStart(20, '0')}.seg`), '');
    const reports: CorruptionInfo[] = [];
    const s = new FileRaftStorage(dir, { onCorruption: (i) => reports.push(i) });
    expect(s.load().entries).toEqual(entries(1, 60, 1));
    expect(reports).toEqual([]);
    expect(segmentFiles(dir)).toEqual(segs);
    s.append(entries(61, 62, 1));
    s.close();
    expect(new FileRaftStorage(dir).load().entries).toEqual(entries(1, 62, 1));
  });

  it('ignores a leftover state.tmp and snapshot.tmp', () => {
    const dir = tmpDir();
    let s = new FileRaftStorage(dir);
    s.load();
    s.saveHardState({ term: 7, votedFor: 'x' });
    s.close();
    fs.writeFileSync(path.join(dir, 'state.tmp'), 'garbage from a crash');
    fs.writeFileSync(path.join(dir, 'snapshot.tmp'), Buffer.from([1, 2, 3]));
    s = new FileRaftStorage(dir);
    expect(s.load()).toEqual({ hardState: { term: 7, votedFor: 'x' }, snapshot: undefined, entries: [] });
    s.saveHardState({ term: 8, votedFor: null });
    s.close();
    expect(new FileRaftStorage(dir).load().hardState).toEqual({ term: 8, votedFor: null });
  });

  it('throws on a corrupt state or snapshot file', () => {
    const dir = tmpDir();
    const s = new FileRaftStorage(dir);
    s.load();
    s.saveHardState({ term: 7, votedFor: 'x' });
    s.append(entries(1, 5, 1));
    s.saveSnapshot(snapshot(3, 1));
    s.close();
    const state = path.join(dir, 'state');
    flipByte(state, 10);
    expect(() => new FileRaftStorage(dir).load()).toThrow(/state is corrupt/);
    flipByte(state, 10);
    const snap = path.join(dir, 'snapshot');
    fs.truncateSync(snap, fs.statSync(snap).size - 1);
    expect(() => new FileRaftStorage(dir).load()).toThrow(/snapshot is corrupt/);
  });

  it('finishes a compaction interrupted by a crash', () => {
    const dir = tmpDir();
    const saved = path.join(tmpDir(), 'saved');
    let s = new FileRaftStorage(dir, { segmentBytes: 100 });
    s.load();
    s.append(entries(1, 30, 1));
    s.close();
    fs.cpSync(dir, saved, { recursive: true });
    s = new FileRaftStorage(dir, { segmentBytes: 100 });
    s.load();
    s.saveSnapshot(snapshot(20, 1));
    s.close();
    for (const f of segmentFiles(saved)) fs.copyFileSync(f, path.join(dir, path.basename(f))); // deletes "lost"
    s = new FileRaftStorage(dir, { segmentBytes: 100 });
    expect(s.load()).toMatchObject({ snapshot: snapshot(20, 1), entries: entries(21, 30, 1) });
    expect(segmentFiles(dir).length).toBeLessThan(segmentFiles(saved).length);
    s.close();

    // Same for a snapshot that discards a conflicting log.
    s = new FileRaftStorage(dir, { segmentBytes: 100 });
    s.load();
    s.saveSnapshot(snapshot(25, 2));
    s.close();
    for (const f of segmentFiles(saved)) fs.copyFileSync(f, path.join(dir, path.basename(f)));
    s = new FileRaftStorage(dir, { segmentBytes: 100 });
    expect(s.load()).toMatchObject({ snapshot: snapshot(25, 2), entries: [] });
    expect(segmentFiles(dir)).toEqual([]);
    s.close();
  });

  it('groups a batch into one write and one fsync', () => {
    const s = new FileRaftStorage(tmpDir());
    s.load();
    s.append(entries(1, 1, 1)); // creates the first segment
    const fsync = vi.spyOn(fs, 'fsyncSync');
    const write = vi.spyOn(fs, 'writeSync');
    try {
      s.append(entries(2, 50, 1));
      expect(fsync).toHaveBeenCalledTimes(1);
      expect(write).toHaveBeenCalledTimes(1);
      fsync.mockClear();
      s.saveHardState({ term: 1, votedFor: 'a' });
      expect(fsync).toHaveBeenCalledTimes(2); // state.tmp, then the directory after the rename
    } finally {
      fsync.mockRestore();
      write.mockRestore();
      s.close();
    }
  });

  it('close is idempotent and later use throws', () => {
    const s = new FileRaftStorage(tmpDir());
    s.load();
    s.close();
    s.close();
    expect(() => s.load()).toThrow(/closed/);
    expect(() => s.append(entries(1, 1, 1))).toThrow(/closed/);
  });
});
