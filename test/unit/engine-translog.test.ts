import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import CRC32 from 'crc-32';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Translog, type TranslogCorruptionInfo, type TranslogOp, type TranslogOptions } from '../../src/engine/translog.ts';
import { encode } from '../../src/transport/codec.ts';
import { flipByte, recordBounds } from '../support/framed-files.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

const dirs: string[] = [];
const open: Translog[] = [];

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-translog-'));
  dirs.push(d);
  return d;
}

function openLog(dir: string, opts: TranslogOptions = {}): Translog {
  const t = Translog.open(dir, opts);
  open.push(t);
  return t;
}

afterEach(() => {
  for (const t of open.splice(0)) {
    try {
      t.close();
    } catch {
      // already failed or its files were removed by the test
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A deterministic op for seq_no n: index, delete or noop. */
function op(n: number, term = 1, tag = ''): TranslogOp {
  switch (n % 5) {
    case 3:
      return { op: 'delete', id: `d${n % 11}`, seqNo: n, primaryTerm: term, version: n + 1 };
    case 4:
      return { op: 'noop', seqNo: n, primaryTerm: term, reason: `gap ${n}${tag}` };
    default:
      return {
        op: 'index',
        id: `d${n % 11}`,
        source: { title: `doc ${n}${tag}`, n, tags: ['a', `t${n % 3}`], nested: { ok: n % 2 === 0, score: n / 4 } },
        seqNo: n,
        primaryTerm: term,
        version: n + 1,
      };
  }
}

function ops(from: number, to: number, term = 1): TranslogOp[] {
  const out: TranslogOp[] = [];
  for (let i = from; i <= to; i++) out.push(op(i, term));
  return out;
}

function genFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .map((n) => /^translog-(\d+)\.tlog$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => path.join(dir, m[0]));
}


function framed(value: unknown): Buffer {
  const payload = encode(value);
  const out = Buffer.alloc(8 + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(CRC32.buf(payload) >>> 0, 4);
  out.set(payload, 8);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('Translog', () => {
  it('round-trips added and synced ops through a reopen', () => {
    const dir = tmpDir();
    let t = openLog(dir);
    expect(t.stats()).toEqual({ generation: 1, ops: 0, sizeBytes: 0, uncommittedOps: 0 });
    expect(t.readOpsAfter(-1)).toEqual([]);
    const written = ops(0, 24);
    for (const o of written.slice(0, 20)) t.add(o);
    t.sync();
    for (const o of written.slice(20)) t.addAndSync(o);
    expect(t.readOpsAfter(-1)).toEqual(written);
    expect(t.readOpsAfter(19)).toEqual(written.slice(20));
    const stats = t.stats();
    expect(stats).toMatchObject({ generation: 1, ops: 25, uncommittedOps: 25 });
    expect(stats.sizeBytes).toBe(fs.statSync(genFiles(dir)[0]!).size);
    t.close();

    const reports: TranslogCorruptionInfo[] = [];
    t = openLog(dir, { onCorruption: (i) => reports.push(i) });
    expect(reports).toEqual([]);
    expect(t.readOpsAfter(-1)).toEqual(written);
    expect(t.stats()).toEqual(stats);
    t.addAndSync(op(25));
    t.close();
    expect(openLog(dir).readOpsAfter(23)).toEqual([op(24), op(25)]);
  });

  it('rejects invalid ops before writing anything', () => {
    const t = openLog(tmpDir());
    const bad = [
      { op: 'index', id: 'x', source: null, seqNo: 1, primaryTerm: 1, version: 1 },
      { op: 'index', id: 'x', source: [], seqNo: 1, primaryTerm: 1, version: 1 },
      { op: 'delete', id: 7, seqNo: 1, primaryTerm: 1, version: 1 },
      { op: 'delete', id: 'x', seqNo: -1, primaryTerm: 1, version: 1 },
      { op: 'noop', seqNo: 1.5, primaryTerm: 1, reason: 'r' },
      { op: 'update', id: 'x', seqNo: 1, primaryTerm: 1, version: 1 },
    ];
    for (const b of bad) expect(() => t.add(b as unknown as TranslogOp)).toThrow(/invalid operation/);
    expect(t.stats().ops).toBe(0);
    expect(t.stats().sizeBytes).toBe(0);
  });

  it('rolls generations, reads across them and trims committed ones', () => {
    const dir = tmpDir();
    let t = openLog(dir);
    t.add(op(0));
    t.add(op(1));
    t.rollGeneration(); // gen 2
    t.add(op(2));
    t.add(op(4));
    t.rollGeneration(); // gen 3
    t.add(op(3)); // out of seq_no order, as concurrent indexing leaves it
    t.add(op(5));
    t.rollGeneration(); // gen 4
    t.add(op(6));
    t.sync();
    expect(genFiles(dir).map((f) => path.basename(f))).toEqual(['translog-1.tlog', 'translog-2.tlog', 'translog-3.tlog', 'translog-4.tlog']);
    expect(t.stats()).toMatchObject({ generation: 4, ops: 7, uncommittedOps: 7 });
    expect(t.readOpsAfter(-1).map((o) => o.seqNo)).toEqual([0, 1, 2, 4, 3, 5, 6]);
    expect(t.readOpsAfter(2).map((o) => o.seqNo)).toEqual([4, 3, 5, 6]);
    expect(t.readOpsAfter(5).map((o) => o.seqNo)).toEqual([6]);
    expect(t.readOpsAfter(6)).toEqual([]);

    // Gen 2 holds seq_no 4 > 3: only gen 1 goes.
    t.trimUntil(3);
    expect(genFiles(dir).map((f) => path.basename(f))).toEqual(['translog-2.tlog', 'translog-3.tlog', 'translog-4.tlog']);
    expect(t.checkpoint()).toEqual({ generation: 4, minGenerationToKeep: 2, committedSeqNo: 3 });
    expect(t.stats()).toMatchObject({ generation: 4, ops: 5, uncommittedOps: 3 });
    expect(t.readOpsAfter(-1).map((o) => o.seqNo)).toEqual([2, 4, 3, 5, 6]);

    // A lower value changes nothing.
    t.trimUntil(1);
    expect(t.checkpoint().committedSeqNo).toBe(3);

    // Everything committed: every generation but the current one goes.
    t.trimUntil(6);
    expect(genFiles(dir).map((f) => path.basename(f))).toEqual(['translog-4.tlog']);
    expect(t.stats()).toMatchObject({ generation: 4, ops: 1, uncommittedOps: 0 });
    // The flush sequence: roll, then trim releases the old current generation too.
    t.rollGeneration();
    t.add(op(7));
    t.trimUntil(6);
    expect(genFiles(dir).map((f) => path.basename(f))).toEqual(['translog-5.tlog']);
    expect(t.stats()).toMatchObject({ generation: 5, ops: 1, uncommittedOps: 1 });
    t.close();

    t = openLog(dir);
    expect(t.checkpoint()).toEqual({ generation: 5, minGenerationToKeep: 5, committedSeqNo: 6 });
    expect(t.readOpsAfter(-1)).toEqual([op(7)]);
    expect(t.stats()).toMatchObject({ generation: 5, ops: 1, uncommittedOps: 1 });
  });

  it('rolls on its own when a generation would exceed generationBytes', () => {
    const dir = tmpDir();
    let t = openLog(dir, { generationBytes: 1000 });
    const written = ops(0, 99);
    for (const o of written) t.add(o);
    t.sync();
    const files = genFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(1000);
    expect(t.stats().generation).toBe(files.length);
    expect(t.readOpsAfter(-1)).toEqual(written);
    expect(t.readOpsAfter(49)).toEqual(written.slice(50));
    t.close();
    t = openLog(dir, { generationBytes: 1000 });
    expect(t.readOpsAfter(-1)).toEqual(written);
    t.trimUntil(49);
    expect(t.readOpsAfter(-1)[0]!.seqNo).toBeLessThanOrEqual(50);
    expect(t.readOpsAfter(49)).toEqual(written.slice(50));
  });

  it('keeps duplicates of a seq_no in log order (e.g. re-replicated under a new primary term)', () => {
    const t = openLog(tmpDir());
    t.add(op(0, 1));
    t.add(op(1, 1));
    t.rollGeneration();
    t.add(op(1, 2, '!'));
    expect(t.readOpsAfter(0)).toEqual([op(1, 1), op(1, 2, '!')]);
  });

  it('persists the global checkpoint with the next sync (globalCheckpointIntervalMs 0)', () => {
    const dir = tmpDir();
    const t = openLog(dir, { globalCheckpointIntervalMs: 0 });
    expect(t.checkpoint().globalCheckpoint).toBeUndefined();
    t.add(op(0));
    t.setGlobalCheckpoint(0);
    expect(t.syncNeeded()).toBe(true);
    t.sync();
    expect(t.syncNeeded()).toBe(false);
    expect(t.checkpoint().globalCheckpoint).toBe(0);
    t.setGlobalCheckpoint(5);
    t.setGlobalCheckpoint(3); // stale: ignored
    t.close();
    const again = openLog(dir);
    expect(again.checkpoint()).toEqual({ generation: 1, minGenerationToKeep: 1, committedSeqNo: -1, globalCheckpoint: 5 });
    again.rollGeneration();
    expect(again.checkpoint().globalCheckpoint).toBe(5);
  });

  it('writes a new global checkpoint at most once per interval: later ones wait for a timer, or for close', async () => {
    const dir = tmpDir();
    const t = openLog(dir, { globalCheckpointIntervalMs: 200 });
    t.add(op(0));
    t.setGlobalCheckpoint(0);
    t.sync(); // within 200 ms of the checkpoint written at open: waits
    expect(t.checkpoint().globalCheckpoint).toBeUndefined();
    await t.syncAsync(); // does not wait for it either
    expect(t.checkpoint().globalCheckpoint).toBeUndefined();
    const deadline = Date.now() + 5_000;
    while (t.checkpoint().globalCheckpoint === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(t.checkpoint().globalCheckpoint).toBe(0); // the timer wrote it
    t.setGlobalCheckpoint(7);
    t.sync();
    expect(t.checkpoint().globalCheckpoint).toBe(0);
    t.close(); // writes the waiting one
    expect(openLog(dir).checkpoint().globalCheckpoint).toBe(7);
  });

  it('groups adds into one fdatasync per sync, and syncs nothing when nothing changed', () => {
    const t = openLog(tmpDir());
    t.addAndSync(op(0));
    const fdatasync = vi.spyOn(fs, 'fdatasyncSync');
    const fsync = vi.spyOn(fs, 'fsyncSync');
    try {
      for (const o of ops(1, 50)) t.add(o);
      expect(fdatasync).toHaveBeenCalledTimes(0);
      t.sync();
      t.sync();
      expect(fdatasync).toHaveBeenCalledTimes(1);
      expect(fsync).toHaveBeenCalledTimes(0);
    } finally {
      fdatasync.mockRestore();
      fsync.mockRestore();
    }
  });


  it('writes a batch of adds with one write at its end, earlier only when a read or sync needs them', () => {
    const dir = tmpDir();
    const t = openLog(dir);
    const write = vi.spyOn(fs, 'writeSync');
    try {
      t.beginBatch();
      t.beginBatch(); // batches nest: the outer end writes
      for (const o of ops(0, 9)) t.add(o);
      t.endBatch();
      expect(write).toHaveBeenCalledTimes(0);
      t.endBatch();
      expect(write).toHaveBeenCalledTimes(1);

      // A read inside a batch sees every op added so far.
      t.beginBatch();
      for (const o of ops(10, 14)) t.add(o);
      expect(t.readOpsAfter(-1).map((o) => o.seqNo)).toEqual(ops(0, 14).map((o) => o.seqNo));
      for (const o of ops(15, 19)) t.add(o);
      t.sync(); // a sync writes the batch so far first
      for (const o of ops(20, 24)) t.add(o);
      t.endBatch();
      expect(write).toHaveBeenCalledTimes(4);
      expect(() => t.endBatch()).toThrow(/without beginBatch/);
    } finally {
      write.mockRestore();
    }
    t.close();
    const reopened = openLog(dir);
    expect(reopened.readOpsAfter(-1)).toEqual(ops(0, 24));
  });

  it('rolls a generation in the middle of a batch without losing or reordering ops', () => {
    const dir = tmpDir();
    const t = openLog(dir, { generationBytes: 400 });
    t.beginBatch();
    for (const o of ops(0, 29)) t.add(o);
    t.endBatch();
    t.sync();
    expect(genFiles(dir).length).toBeGreaterThan(2);
    t.close();
    expect(openLog(dir).readOpsAfter(-1)).toEqual(ops(0, 29));
  });
  it('syncAsync shares fsyncs between concurrent callers and waits for one that covers its ops', async () => {
    const dir = tmpDir();
    const t = openLog(dir, { generationBytes: 4_096 });
    const fdatasync = vi.spyOn(fs, 'fdatasync');
    const blocking = vi.spyOn(fs, 'fdatasyncSync');
    try {
      for (const o of ops(0, 9)) t.add(o);
      const first = t.syncAsync();
      // Added while the first fsync runs: covered only by the next one, which the three share.
      for (const o of ops(10, 19)) t.add(o);
      const waiters = [t.syncAsync(), t.syncAsync(), t.syncAsync()];
      await Promise.all([first, ...waiters]);
      expect(fdatasync).toHaveBeenCalledTimes(2);
      await t.syncAsync(); // nothing new: no fsync
      expect(fdatasync).toHaveBeenCalledTimes(2);
      // A generation rolls while an fsync runs on the old one's descriptor: closed only after it.
      for (const o of ops(20, 29)) t.add(o);
      const during = t.syncAsync();
      for (const o of ops(30, 80)) t.add(o);
      await during;
      await t.syncAsync();
      expect(t.stats().generation).toBeGreaterThan(1);
      expect(blocking.mock.calls.length).toBeGreaterThan(0); // the rolls synced the full generations
    } finally {
      fdatasync.mockRestore();
      blocking.mockRestore();
    }
    t.close();
    expect(openLog(dir).readOpsAfter(-1)).toEqual(ops(0, 80));
  });

  it('syncs on a timer with async durability', async () => {
    const dir = tmpDir();
    const t = openLog(dir, { durability: 'async', syncIntervalMs: 20 });
    const fdatasync = vi.spyOn(fs, 'fdatasyncSync');
    try {
      for (const o of ops(0, 9)) t.add(o);
      expect(t.syncNeeded()).toBe(true);
      await vi.waitFor(() => expect(t.syncNeeded()).toBe(false), { timeout: 2000, interval: 10 });
      expect(fdatasync).toHaveBeenCalledTimes(1);
    } finally {
      fdatasync.mockRestore();
    }
    t.close();
    expect(openLog(dir).readOpsAfter(-1)).toEqual(ops(0, 9));
  });

  it('fails for good after an I/O error while syncing', () => {
    const t = openLog(tmpDir());
    t.add(op(0));
    const fdatasync = vi.spyOn(fs, 'fdatasyncSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    });
    try {
      expect(() => t.sync()).toThrow(/EIO/);
    } finally {
      fdatasync.mockRestore();
    }
    expect(() => t.add(op(1))).toThrow(/failed after an I\/O error/);
    expect(() => t.sync()).toThrow(/failed after an I\/O error/);
    expect(t.readOpsAfter(-1)).toEqual([op(0)]);
    t.close();
  });

  it('close is idempotent and later use throws', () => {
    const t = openLog(tmpDir());
    t.add(op(0));
    t.close();
    t.close();
    expect(() => t.add(op(1))).toThrow(/closed/);
    expect(() => t.sync()).toThrow(/closed/);
    expect(() => t.readOpsAfter(-1)).toThrow(/closed/);
  });
});

describe('Translog recovery', () => {
  it('recovers exactly a prefix holding every synced op after a torn or corrupt tail (property)', () => {
    const stepArb = fc.record({
      sync: fc.boolean(),
      roll: fc.integer({ min: 0, max: 19 }).map((n) => n === 0), // an explicit roll now and then
      text: fc.string({ maxLength: 30 }),
    });
    const damageArb = fc.oneof(
      // Truncation anywhere in the last generation.
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), bit: fc.constant(0) }),
      // A crash: the synced prefix is intact, an arbitrary part of the unsynced tail made it.
      fc.record({ kind: fc.constant('crash' as const), at: fc.nat(), bit: fc.constant(0) }),
      // A flipped bit somewhere in the tail record.
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 80, max: 900 }), damageArb, (steps, generationBytes, damage) => {
        const dir = tmpDir();
        const written: TranslogOp[] = [];
        /** Ops written before each sync (explicit or by a roll). */
        const syncs: number[] = [];
        let t = Translog.open(dir, { generationBytes });
        let gen = t.stats().generation;
        steps.forEach((s, n) => {
          const o: TranslogOp =
            n % 4 === 3
              ? { op: 'delete', id: `d${n}`, seqNo: n, primaryTerm: 1, version: n }
              : { op: 'index', id: `d${n}`, source: { text: s.text, n }, seqNo: n, primaryTerm: 1, version: n };
          t.add(o);
          written.push(o);
          if (t.stats().generation !== gen) syncs.push(written.length - 1); // add() rolled, syncing the ops before it
          gen = t.stats().generation;
          if (s.sync) {
            t.sync();
            syncs.push(written.length);
          }
          if (s.roll) {
            t.rollGeneration();
            syncs.push(written.length);
            gen = t.stats().generation;
          }
        });
        t.close(); // the file contents are what a crash would leave: close only syncs

        const files = genFiles(dir);
        const last = files.at(-1)!;
        const bounds = recordBounds(last);
        const size = fs.statSync(last).size;
        expect(bounds.at(-1)?.end ?? 0).toBe(size);
        const before = written.length - bounds.length; // ops in earlier generations
        /** Byte offset in the last generation up to which the first k ops are written. */
        const offsetOf = (k: number): number => (k <= before ? 0 : bounds[k - before - 1]!.end);
        const lastSync = Math.max(0, ...syncs);

        let cut: number;
        let kept: number;
        let damaged: boolean;
        if (damage.kind === 'flip' && bounds.length > 0) {
          const tail = bounds.at(-1)!;
          flipByte(last, tail.start + (damage.at % (tail.end - tail.start)), 1 << damage.bit);
          cut = tail.start;
          kept = bounds.length - 1;
          damaged = true;
        } else {
          const from = damage.kind === 'crash' ? offsetOf(lastSync) : 0;
          cut = from + (damage.at % (size - from + 1));
          fs.truncateSync(last, cut);
          kept = bounds.filter((r) => r.end <= cut).length;
          damaged = cut !== 0 && !bounds.some((r) => r.end === cut);
        }
        const expected = written.slice(0, before + kept);

        const reports: TranslogCorruptionInfo[] = [];
        t = Translog.open(dir, { generationBytes, onCorruption: (i) => reports.push(i) });
        const recovered = t.readOpsAfter(-1);
        // Exactly a prefix of the written ops, nothing corrupt ...
        expect(recovered).toEqual(expected);
        expect(reports.length > 0).toBe(damaged);
        // Reported at the start of the first record cut off.
        for (const r of reports) expect(r).toMatchObject({ file: last, offset: bounds[kept]!.start });
        // ... holding every op written before the last sync that precedes the cut point.
        const durable = Math.max(0, ...syncs.filter((k) => offsetOf(k) <= cut));
        expect(recovered.length).toBeGreaterThanOrEqual(durable);
        if (damage.kind === 'crash') expect(recovered.length).toBeGreaterThanOrEqual(lastSync);
        expect(t.stats().ops).toBe(expected.length);

        // Recovery repaired the file: appending works and a further reopen is clean.
        const more: TranslogOp[] = [0, 1, 2].map((k) => ({ op: 'noop', seqNo: 1000 + k, primaryTerm: 2, reason: 'more' }));
        for (const m of more) t.add(m);
        t.close();
        const again: TranslogCorruptionInfo[] = [];
        t = Translog.open(dir, { generationBytes, onCorruption: (i) => again.push(i) });
        expect(t.readOpsAfter(-1)).toEqual([...expected, ...more]);
        expect(again).toEqual([]);
        t.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });

  function filledDir(generationBytes = 600): { dir: string; files: string[] } {
    const dir = tmpDir();
    const t = Translog.open(dir, { generationBytes });
    for (const o of ops(0, 59)) t.add(o);
    t.close();
    return { dir, files: genFiles(dir) };
  }

  it('throws on a corrupt record followed by valid records, naming the file and offset', () => {
    const { dir, files } = filledDir();
    const last = files.at(-1)!;
    const bounds = recordBounds(last);
    expect(bounds.length).toBeGreaterThanOrEqual(3);
    const victim = bounds[1]!;
    const where = new RegExp(`${path.basename(last)} at offset ${victim.start}`);
    flipByte(last, victim.start + 12); // payload byte
    expect(() => Translog.open(dir)).toThrow(where);
    flipByte(last, victim.start + 12); // undo
    flipByte(last, victim.start + 3); // length now far past the end of the file
    expect(() => Translog.open(dir)).toThrow(where);
    flipByte(last, victim.start + 3);
    fs.writeFileSync(last, Buffer.alloc(victim.end - victim.start), { flag: 'r+' }); // zeroed record at offset 0
    expect(() => Translog.open(dir)).toThrow(new RegExp(`${path.basename(last)} at offset 0`));
  });

  it('throws on a torn or corrupt record in a generation that is not the last', () => {
    const { dir, files } = filledDir();
    expect(files.length).toBeGreaterThan(2);
    const victim = files[1]!;
    const bounds = recordBounds(victim);
    const tail = bounds.at(-1)!;
    flipByte(victim, tail.start + 9);
    expect(() => Translog.open(dir)).toThrow(new RegExp(`${path.basename(victim)} at offset ${tail.start}`));
    flipByte(victim, tail.start + 9);
    fs.truncateSync(victim, fs.statSync(victim).size - 2);
    expect(() => Translog.open(dir)).toThrow(new RegExp(`${path.basename(victim)} at offset ${tail.start}`));
  });

  it('throws on a record with a valid CRC that is not an op, even at the tail', () => {
    const { dir, files } = filledDir();
    fs.appendFileSync(files.at(-1)!, framed({ op: 'index', id: 'x' }));
    expect(() => Translog.open(dir)).toThrow(/not a translog operation/);
  });

  it('throws on a missing generation, a missing or corrupt checkpoint', () => {
    const { dir, files } = filledDir();
    const ckp = path.join(dir, 'translog.ckp');
    const saved = fs.readFileSync(ckp);
    fs.rmSync(ckp);
    expect(() => Translog.open(dir)).toThrow(/holds operations but .*translog\.ckp is missing/);
    fs.writeFileSync(ckp, saved);
    flipByte(ckp, 10);
    expect(() => Translog.open(dir)).toThrow(/translog\.ckp is corrupt/);
    fs.writeFileSync(ckp, saved);
    const middle = fs.readFileSync(files[1]!);
    fs.rmSync(files[1]!);
    expect(() => Translog.open(dir)).toThrow(new RegExp(`${path.basename(files[1]!)} is missing`));
    fs.writeFileSync(files[1]!, middle);
    expect(openLog(dir).readOpsAfter(-1)).toEqual(ops(0, 59));
  });

  it('ignores a leftover checkpoint tmp file', () => {
    const { dir } = filledDir();
    const tmp = path.join(dir, 'translog.ckp.tmp');
    fs.writeFileSync(tmp, 'garbage from a crash');
    const reports: TranslogCorruptionInfo[] = [];
    const t = openLog(dir, { onCorruption: (i) => reports.push(i) });
    expect(t.readOpsAfter(-1)).toEqual(ops(0, 59));
    expect(reports).toEqual([]);
    expect(fs.existsSync(tmp)).toBe(false);
    t.trimUntil(10); // writes the checkpoint through the tmp file again
    t.close();
    expect(fs.existsSync(tmp)).toBe(false);
    expect(openLog(dir).checkpoint().committedSeqNo).toBe(10);
  });

  it('finishes a trim and removes the empty file of a roll interrupted by a crash', () => {
    const { dir, files } = filledDir();
    const saved = files.map((f) => [f, fs.readFileSync(f)] as const);
    let t = openLog(dir);
    t.trimUntil(30);
    const min = t.checkpoint().minGenerationToKeep;
    expect(min).toBeGreaterThan(1);
    t.close();
    for (const [f, data] of saved) fs.writeFileSync(f, data); // the deletes were "lost"
    const next = path.join(dir, `translog-${files.length + 1}.tlog`);
    fs.writeFileSync(next, ''); // a roll that crashed before its checkpoint was written
    t = openLog(dir);
    expect(genFiles(dir)).toEqual(files.slice(min - 1));
    expect(t.readOpsAfter(30)).toEqual(ops(31, 59));
    t.rollGeneration(); // creates that file again
    expect(genFiles(dir).at(-1)).toBe(next);
    t.close();

    fs.appendFileSync(path.join(dir, `translog-${files.length + 2}.tlog`), framed(op(99)));
    expect(() => Translog.open(dir)).toThrow(/newer than generation/);
  });

  it('starts fresh when a crash left only an empty first generation', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'translog-1.tlog'), '');
    fs.writeFileSync(path.join(dir, 'translog.ckp.tmp'), 'x');
    const t = openLog(dir);
    expect(t.checkpoint()).toEqual({ generation: 1, minGenerationToKeep: 1, committedSeqNo: -1 });
    t.addAndSync(op(0));
    t.close();
    expect(openLog(dir).readOpsAfter(-1)).toEqual([op(0)]);
  });
});

describe('Translog throughput', () => {
  it('measures add+sync every op vs sync every 100 ops', () => {
    const results: Record<string, number> = {};
    const run = (label: string, n: number, every: number, durability: 'request' | 'async' = 'request'): void => {
      const t = openLog(tmpDir(), { durability });
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        t.add(op(i));
        if ((i + 1) % every === 0) t.sync();
      }
      t.sync();
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      results[label] = Math.round(n / secs);
      t.close();
    };
    run('sync every op', 2000, 1);
    run('sync every 100 ops', 50_000, 100);
    run('no sync (async durability, timer not reached)', 50_000, Number.MAX_SAFE_INTEGER, 'async');
    console.log(`translog ops/s on ${os.tmpdir()}:`, results);
    for (const v of Object.values(results)) expect(v).toBeGreaterThan(0);
  });
});
