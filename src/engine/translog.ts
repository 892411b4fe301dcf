import { crc, frame, fsyncDir, readAtomic, writeAtomic, writeFully } from '../storage/framed.ts';
import fs from 'node:fs';
import path from 'node:path';
import { decode, encode } from '../transport/codec.ts';

/**
 * One operation in a shard's translog, as Elasticsearch records it: every write the engine
 * acknowledges, with the sequence number, primary term and version it was applied under.
 */
export type TranslogOp =
  | { op: 'index'; id: string; source: Record<string, unknown>; seqNo: number; primaryTerm: number; version: number }
  | { op: 'delete'; id: string; seqNo: number; primaryTerm: number; version: number }
  | { op: 'noop'; seqNo: number; primaryTerm: number; reason: string };

/**
 * - `request`: nothing is synced on its own; the caller calls `sync()` (or `addAndSync`) before it
 *   acknowledges a write. Every acknowledged op survives a crash of the process, the OS or the machine.
 *   Costs one fsync per acknowledged batch: add the ops of all in-flight requests, then sync once
 *   (group commit).
 * - `async`: a timer syncs every `syncIntervalMs`. Writes are acknowledged without waiting for an
 *   fsync, so throughput is much higher, but a crash of the OS or machine (power loss, kernel panic)
 *   loses the ops of up to the last `syncIntervalMs` even though they were acknowledged. A crash of
 *   the process alone loses nothing: `add` hands every record to the kernel before it returns (or,
 *   inside `beginBatch`/`endBatch`, the whole batch at its end, in the same turn of the event loop).
 */
export type TranslogDurability = 'request' | 'async';

export interface TranslogOptions {
  /** Default `request`. */
  durability?: TranslogDurability;
  /** How often the `async` timer syncs. Default 5000 ms. */
  syncIntervalMs?: number;
  /** Start a new generation before a record would make the current one exceed this. Default 64 MiB. */
  generationBytes?: number;
  /** Called for every torn or corrupt tail cut off the last generation during recovery. */
  onCorruption?: (info: TranslogCorruptionInfo) => void;
  /**
   * At most one checkpoint-file write per this many ms for a new global checkpoint alone (each is a
   * tmp file, two fsyncs and a rename on the event loop); one that waits is written by a timer, or
   * by the next roll, trim or close. A persisted global checkpoint that lags is safe: after a
   * restart the copy trusts less of its history and recovers more. Default 1000 ms; 0 writes it
   * with every sync.
   */
  globalCheckpointIntervalMs?: number;
}

export interface TranslogCorruptionInfo {
  /** Full path of the generation file. */
  file: string;
  /** Byte offset of the first bad record; the file was truncated to this length. */
  offset: number;
  reason: string;
}

/** Contents of `translog.ckp`. */
export interface TranslogCheckpoint {
  /** The current generation: the one being appended to. */
  generation: number;
  /** Oldest generation still on disk; older ones were trimmed. */
  minGenerationToKeep: number;
  /** Highest seq_no the engine has committed durably (`trimUntil`); -1 before the first commit. */
  committedSeqNo: number;
  /** Last global checkpoint persisted (`setGlobalCheckpoint`); absent until one is set. */
  globalCheckpoint?: number;
}

export interface TranslogStats {
  /** The current generation. */
  generation: number;
  /** Operations held in all retained generations. */
  ops: number;
  /** Bytes of all retained generation files. */
  sizeBytes: number;
  /** Retained operations with a seq_no above the committed seq_no (what a recovery would replay). */
  uncommittedOps: number;
}

interface Generation {
  gen: number;
  file: string;
  /** Bytes of valid records (the file's length). */
  size: number;
  ops: number;
  /** Highest seq_no in the generation; -1 when it holds no op. */
  maxSeqNo: number;
  /** seq_no of every op, in log order (kept to count uncommitted ops exactly). */
  seqNos: SeqNoList;
}

const HEADER = 8;
const GEN_RE = /^translog-(\d+)\.tlog$/;
const CKP = 'translog.ckp';
const CKP_TMP = 'translog.ckp.tmp';
/** Every op payload starts with a map header (fixmap/map16/map32: 1, 3 or 5 bytes) then the fixstr key "op". */
const OP_KEY = Buffer.from([0xa2, 0x6f, 0x70]);
const MAP_HEADER_SIZES = [1, 3, 5];

/**
 * A shard's write-ahead log (Elasticsearch's translog). Every operation the engine acknowledges is
 * added here — and, with `request` durability, synced — before the ack, so reopening the translog
 * after a crash yields every acknowledged operation to replay on top of the last durable commit.
 *
 * Layout of `dir`:
 * - `translog-<gen>.tlog`: generation files, a sequence of records `[u32 length][u32 crc32(payload)]
 *   [payload]`, header fields LITTLE-endian, payload = msgpack(op) with `op` as the first key.
 *   Generations are numbered from 1 and contiguous from `minGenerationToKeep` to `generation`.
 * - `translog.ckp`: one record (same framing) holding msgpack(TranslogCheckpoint); replaced atomically
 *   (`translog.ckp.tmp`, fsync, rename, fsync of the directory).
 *
 * Durability: `add` writes the record to the current generation (into the OS page cache) without an
 * fsync; `sync` fsyncs (fdatasync) it. A generation is fsynced before the next one is created, so
 * unsynced data — and therefore a torn write — can only ever be at the tail of the LAST generation.
 *
 * Recovery (`open`): every generation from `minGenerationToKeep` on is read and checked. A torn or
 * corrupt record at the tail of the last generation, with no valid record after it, is what a crash
 * during an append leaves behind: it is reported through `onCorruption` and truncated away, never
 * returned. Anything else (a bad record followed by a valid one, a bad record in an earlier
 * generation, a record whose CRC holds but which is not an op, a missing generation, a damaged
 * checkpoint) is real damage and throws an Error naming the file (and offset).
 *
 * After an I/O error while writing or syncing, the translog is failed: what reached the disk is
 * unknown (an fsync error may have dropped dirty pages), so every later write throws; reopen it to
 * recover what is durable. Not safe for two processes at once: the engine owns its shard's directory.
 */
export class Translog {
  readonly dir: string;
  readonly durability: TranslogDurability;
  private readonly generationBytes: number;
  private readonly onCorruption: ((info: TranslogCorruptionInfo) => void) | undefined;

  private gens: Generation[] = [];
  private fd = -1;
  private ckp: TranslogCheckpoint = { generation: 1, minGenerationToKeep: 1, committedSeqNo: -1 };
  /** Global checkpoint set but not yet written to the checkpoint file. */
  private pendingGlobalCheckpoint: number | undefined;
  private readonly globalCheckpointIntervalMs: number;
  /** When the checkpoint file was last written (performance.now), and the timer of a waiting global checkpoint. */
  private checkpointWrittenAt = -Infinity;
  private globalCheckpointTimer: NodeJS.Timeout | undefined;
  private uncommitted = 0;
  private dirty = false;
  private closed = false;
  private failure: Error | undefined;
  /** Ops added so far, and how many of them a completed fsync covers (async group commit). */
  private writes = 0;
  private syncedWrites = 0;
  /** The fdatasync running on the thread pool, if any. */
  private syncRunning: Promise<void> | undefined;
  /** File descriptors of rolled generations, closed once the running async fsync is done with them. */
  private closeAfterSync: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Records of the open batch not yet written: one write syscall per batch instead of one per op. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private batchDepth = 0;

  static open(dir: string, opts: TranslogOptions = {}): Translog {
    return new Translog(dir, opts);
  }

  private constructor(dir: string, opts: TranslogOptions) {
    this.dir = dir;
    this.durability = opts.durability ?? 'request';
    this.generationBytes = opts.generationBytes ?? 64 * 1024 * 1024;
    this.onCorruption = opts.onCorruption;
    const syncIntervalMs = opts.syncIntervalMs ?? 5000;
    this.globalCheckpointIntervalMs = opts.globalCheckpointIntervalMs ?? 1000;
    if (!(this.globalCheckpointIntervalMs >= 0)) throw new Error('Translog: globalCheckpointIntervalMs must not be negative');
    if (this.durability !== 'request' && this.durability !== 'async') {
      throw new Error(`Translog: unknown durability ${String(this.durability)}`);
    }
    if (!(this.generationBytes > 0)) throw new Error('Translog: generationBytes must be positive');
    if (!(syncIntervalMs > 0)) throw new Error('Translog: syncIntervalMs must be positive');
    this.recover();
    if (this.durability === 'async') {
      this.timer = setInterval(() => {
        if (this.closed || this.failure || !this.syncNeeded()) return;
        try {
          this.sync();
        } catch {
          // The translog is now failed; the next add/sync reports it.
        }
      }, syncIntervalMs);
      this.timer.unref();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writing

  /** Append an op to the current generation, without an fsync. Rolls first when the generation is full. */
  add(op: TranslogOp): void {
    this.checkWritable();
    const record = frame(encodeOp(checkOp(op)));
    let cur = this.current();
    if (cur.size > 0 && cur.size + record.length > this.generationBytes) {
      this.rollGeneration();
      cur = this.current();
    }
    if (this.batchDepth > 0) {
      this.pending.push(record);
      this.pendingBytes += record.length;
    } else {
      this.guard(() => writeFully(this.fd, record, cur.size));
    }
    cur.size += record.length;
    cur.ops++;
    if (op.seqNo > cur.maxSeqNo) cur.maxSeqNo = op.seqNo;
    cur.seqNos.push(op.seqNo);
    if (op.seqNo > this.ckp.committedSeqNo) this.uncommitted++;
    this.dirty = true;
    this.writes++;
  }

  /**
   * Ops added until the matching `endBatch` are written to the file with one write at its end (or
   * earlier, before anything that needs them there: a sync, a roll, a read). Batches nest.
   */
  beginBatch(): void {
    this.batchDepth++;
  }

  endBatch(): void {
    if (this.batchDepth === 0) throw new Error('Translog.endBatch without beginBatch');
    if (--this.batchDepth === 0) this.writePending();
  }

  /** Hand the batch's records to the kernel, at the end of the current generation. */
  private writePending(): void {
    if (this.pendingBytes === 0 || this.closed || this.failure) return;
    const records = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const position = this.current().size - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.guard(() => writeFully(this.fd, records, position));
  }

  /**
   * Make every op added so far durable (fdatasync of the current generation), plus a pending global
   * checkpoint (checkpoint file). A no-op when nothing changed since the last sync, so callers that
   * each add their op and then sync share one fsync (group commit).
   */
  sync(): void {
    this.checkWritable();
    this.writePending();
    if (this.dirty || this.syncedWrites < this.writes) {
      this.guard(() => fs.fdatasyncSync(this.fd));
      this.dirty = false;
      this.syncedWrites = this.writes;
    }
    this.persistGlobalCheckpoint();
  }

  /** Write a pending global checkpoint now if the interval allows, else once it does (timer). */
  private persistGlobalCheckpoint(): void {
    if (this.pendingGlobalCheckpoint === undefined || this.closed || this.failure) return;
    const wait = this.globalCheckpointWaitMs();
    if (wait <= 0) return this.writeCheckpoint({ ...this.ckp });
    this.globalCheckpointTimer ??= setTimeout(() => {
      this.globalCheckpointTimer = undefined;
      try {
        this.persistGlobalCheckpoint();
      } catch {
        // The translog is now failed; the next add/sync reports it.
      }
    }, wait);
    this.globalCheckpointTimer.unref();
  }

  /** How long until the checkpoint file may be written again for a global checkpoint alone (<= 0: now). */
  private globalCheckpointWaitMs(): number {
    return this.checkpointWrittenAt + this.globalCheckpointIntervalMs - performance.now();
  }

  private globalCheckpointDue(): boolean {
    return this.pendingGlobalCheckpoint !== undefined && this.globalCheckpointWaitMs() <= 0;
  }

  /**
   * `sync()` with the fdatasync on libuv's thread pool, so the event loop goes on meanwhile (a
   * node keeps serving while its disk syncs). Group commit: callers share fsyncs, and one that
   * added ops while an fsync was running waits for the next one. Resolves once every op added
   * before the call is durable.
   */
  async syncAsync(): Promise<void> {
    const target = this.writes;
    for (;;) {
      this.checkWritable();
      if (this.syncedWrites >= target && !this.globalCheckpointDue()) return;
      if (!this.syncRunning) this.syncRunning = this.fdatasyncInBackground().finally(() => (this.syncRunning = undefined));
      await this.syncRunning;
    }
  }

  private async fdatasyncInBackground(): Promise<void> {
    this.writePending();
    const upTo = this.writes;
    try {
      await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      for (const fd of this.closeAfterSync.splice(0)) fs.closeSync(fd);
    }
    this.syncedWrites = Math.max(this.syncedWrites, upTo);
    if (this.syncedWrites === this.writes) this.dirty = false;
    this.persistGlobalCheckpoint();
  }

  addAndSync(op: TranslogOp): void {
    this.add(op);
    this.sync();
  }

  /** Whether ops were added (or a global checkpoint set) since the last sync. */
  syncNeeded(): boolean {
    return this.dirty || this.pendingGlobalCheckpoint !== undefined;
  }

  /** Sync the current generation and start a new, empty one. */
  rollGeneration(): void {
    this.checkWritable();
    this.writePending();
    if (this.dirty) {
      // The full generation must be durable before the next one exists, so a torn write can only
      // ever be at the tail of the last generation.
      this.guard(() => fs.fdatasyncSync(this.fd));
      this.dirty = false;
    }
    const gen = this.current().gen + 1;
    const file = this.genFile(gen);
    let fd = -1;
    this.guard(() => {
      fd = fs.openSync(file, 'wx+');
      fsyncDir(this.dir);
    });
    // A crash before the checkpoint names the new generation leaves an empty file that open() removes.
    try {
      this.writeCheckpoint({ ...this.ckp, generation: gen });
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    const old = this.fd;
    this.fd = fd;
    // The old generation is durable (above); an async fsync may still hold its descriptor.
    if (this.syncRunning) this.closeAfterSync.push(old);
    else fs.closeSync(old);
    this.gens.push({ gen, file, size: 0, ops: 0, maxSeqNo: -1, seqNos: new SeqNoList() });
  }

  /**
   * The engine has durably committed every op up to `committedSeqNo`: delete the oldest generations
   * whose ops all have seq_no <= committedSeqNo (never the current one — roll first to release it,
   * as a flush does: commit, roll, trim). Ops are not in seq_no order in the log, so trimming stops at
   * the first generation holding a newer op. A value below the recorded one changes nothing.
   */
  trimUntil(committedSeqNo: number): void {
    this.checkWritable();
    if (!Number.isSafeInteger(committedSeqNo) || committedSeqNo < -1) {
      throw new Error(`Translog.trimUntil: invalid seq_no ${committedSeqNo}`);
    }
    const committed = Math.max(committedSeqNo, this.ckp.committedSeqNo);
    let n = 0;
    while (n < this.gens.length - 1 && this.gens[n]!.maxSeqNo <= committed) n++;
    const minGen = this.gens[n]!.gen;
    if (committed !== this.ckp.committedSeqNo || minGen !== this.ckp.minGenerationToKeep || this.pendingGlobalCheckpoint !== undefined) {
      // Checkpoint first: a crash before the deletes leaves files below minGenerationToKeep, which
      // open() finishes deleting.
      this.writeCheckpoint({ ...this.ckp, minGenerationToKeep: minGen, committedSeqNo: committed });
    }
    if (n > 0) {
      this.guard(() => {
        for (let i = 0; i < n; i++) fs.rmSync(this.gens[i]!.file, { force: true });
        fsyncDir(this.dir);
      });
      this.gens.splice(0, n);
    }
    this.uncommitted = 0;
    for (const g of this.gens) this.uncommitted += g.seqNos.countAbove(committed);
  }

  /**
   * Record the shard's global checkpoint; it is written to the checkpoint file with the next
   * `sync`, roll, trim or `close`. Values not above the recorded one are ignored.
   */
  setGlobalCheckpoint(globalCheckpoint: number): void {
    this.checkWritable();
    if (!Number.isSafeInteger(globalCheckpoint) || globalCheckpoint < -1) {
      throw new Error(`Translog.setGlobalCheckpoint: invalid value ${globalCheckpoint}`);
    }
    const known = this.pendingGlobalCheckpoint ?? this.ckp.globalCheckpoint;
    if (known === undefined || globalCheckpoint > known) this.pendingGlobalCheckpoint = globalCheckpoint;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  /** Every retained op with seq_no > `seqNo`, in log order across generations (may hold the same seq_no twice, e.g. under two primary terms). */
  readOpsAfter(seqNo: number): TranslogOp[] {
    return [...this.iterateOpsAfter(seqNo)];
  }

  /**
   * Same as `readOpsAfter`, reading one generation at a time. The set of generations and the length
   * of the current one are fixed when this is called (later adds are not seen); a generation trimmed
   * before the iterator reaches it makes the iterator throw, so hold off trimming while iterating.
   */
  iterateOpsAfter(seqNo: number): IterableIterator<TranslogOp> {
    this.checkOpen();
    if (typeof seqNo !== 'number' || Number.isNaN(seqNo)) throw new Error(`Translog.readOpsAfter: invalid seq_no ${seqNo}`);
    this.writePending();
    const snapshot = this.gens.filter((g) => g.maxSeqNo > seqNo).map((g) => ({ gen: g.gen, file: g.file, size: g.size }));
    return readGenerations(snapshot, seqNo);
  }

  checkpoint(): TranslogCheckpoint {
    return { ...this.ckp };
  }

  stats(): TranslogStats {
    let ops = 0;
    let sizeBytes = 0;
    for (const g of this.gens) {
      ops += g.ops;
      sizeBytes += g.size;
    }
    return { generation: this.current().gen, ops, sizeBytes, uncommittedOps: this.uncommitted };
  }

  /** Sync and close. Idempotent; every later call except reads of `stats`/`checkpoint` throws. */
  close(): void {
    if (this.closed) return;
    try {
      if (!this.failure) {
        this.sync();
        // A global checkpoint still waiting for its interval.
        if (this.pendingGlobalCheckpoint !== undefined) this.writeCheckpoint({ ...this.ckp });
      }
    } finally {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      clearTimeout(this.globalCheckpointTimer);
      this.globalCheckpointTimer = undefined;
      fs.closeSync(this.fd);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  private recover(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    // An atomic checkpoint write interrupted before its rename: the old checkpoint is still the truth.
    fs.rmSync(path.join(this.dir, CKP_TMP), { force: true });

    const onDisk = new Map<number, string>();
    for (const name of fs.readdirSync(this.dir)) {
      const m = GEN_RE.exec(name);
      if (m) onDisk.set(Number(m[1]), path.join(this.dir, name));
    }
    const ckp = this.readCheckpoint();
    let removed = false;

    if (!ckp) {
      // A fresh translog, or a crash while creating one before its first checkpoint was written.
      for (const file of onDisk.values()) {
        if (fs.statSync(file).size > 0) {
          throw new Error(`Translog: ${file} holds operations but ${path.join(this.dir, CKP)} is missing`);
        }
        fs.rmSync(file);
        removed = true;
      }
      if (removed) fsyncDir(this.dir);
      const file = this.genFile(1);
      this.fd = fs.openSync(file, 'wx+');
      fsyncDir(this.dir);
      this.gens = [{ gen: 1, file, size: 0, ops: 0, maxSeqNo: -1, seqNos: new SeqNoList() }];
      this.writeCheckpoint({ generation: 1, minGenerationToKeep: 1, committedSeqNo: -1 });
      return;
    }

    for (const [gen, file] of onDisk) {
      if (gen < ckp.minGenerationToKeep) {
        fs.rmSync(file); // a trim interrupted by a crash
        removed = true;
      } else if (gen > ckp.generation) {
        if (fs.statSync(file).size > 0) {
          throw new Error(`Translog: ${file} holds operations but is newer than generation ${ckp.generation} in the checkpoint`);
        }
        fs.rmSync(file); // a roll interrupted by a crash
        removed = true;
      }
    }
    if (removed) fsyncDir(this.dir);

    this.ckp = ckp;
    this.gens = [];
    this.uncommitted = 0;
    for (let gen = ckp.minGenerationToKeep; gen <= ckp.generation; gen++) {
      const file = onDisk.get(gen);
      if (file === undefined) throw new Error(`Translog: generation file ${this.genFile(gen)} is missing`);
      const g = this.scanGeneration(gen, file, gen === ckp.generation);
      this.uncommitted += g.seqNos.countAbove(ckp.committedSeqNo);
      this.gens.push(g);
    }
    this.fd = fs.openSync(this.current().file, 'r+');
  }

  private scanGeneration(gen: number, file: string, isLast: boolean): Generation {
    const buf = fs.readFileSync(file);
    const g: Generation = { gen, file, size: 0, ops: 0, maxSeqNo: -1, seqNos: new SeqNoList() };
    let pos = 0;
    while (pos < buf.length) {
      const rec = parseRecord(buf, pos);
      if (rec.kind === 'ok') {
        g.ops++;
        g.seqNos.push(rec.op.seqNo);
        if (rec.op.seqNo > g.maxSeqNo) g.maxSeqNo = rec.op.seqNo;
        pos = rec.end;
        continue;
      }
      const where = `Translog: corrupt record in ${file} at offset ${pos}: ${rec.reason}`;
      if (rec.kind === 'invalid' || !isLast) throw new Error(where);
      const next = findValidRecord(buf, pos + 1);
      if (next !== undefined) throw new Error(`${where} (followed by a valid record at offset ${next})`);
      this.onCorruption?.({ file, offset: pos, reason: rec.reason });
      const fd = fs.openSync(file, 'r+');
      try {
        fs.ftruncateSync(fd, pos);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      break;
    }
    g.size = pos;
    return g;
  }

  private readCheckpoint(): TranslogCheckpoint | undefined {
    const file = path.join(this.dir, CKP);
    const v = readAtomic(file, 'Translog');
    if (v === undefined) return undefined;
    const fail = (why: string): never => {
      throw new Error(`Translog: ${file} is corrupt: ${why}`);
    };
    const c = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    const gen = c.generation as number;
    const min = c.minGenerationToKeep as number;
    const committed = c.committedSeqNo as number;
    const gcp = c.globalCheckpoint as number | undefined;
    if (
      !Number.isSafeInteger(gen) ||
      !Number.isSafeInteger(min) ||
      min < 1 ||
      min > gen ||
      !Number.isSafeInteger(committed) ||
      committed < -1 ||
      !(gcp === undefined || (Number.isSafeInteger(gcp) && gcp >= -1))
    ) {
      fail('invalid contents');
    }
    const out: TranslogCheckpoint = { generation: gen, minGenerationToKeep: min, committedSeqNo: committed };
    if (gcp !== undefined) out.globalCheckpoint = gcp;
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** Write `next` (plus any pending global checkpoint) atomically and adopt it. */
  private writeCheckpoint(next: TranslogCheckpoint): void {
    const gcp = this.pendingGlobalCheckpoint ?? next.globalCheckpoint;
    const value: TranslogCheckpoint = {
      generation: next.generation,
      minGenerationToKeep: next.minGenerationToKeep,
      committedSeqNo: next.committedSeqNo,
    };
    if (gcp !== undefined) value.globalCheckpoint = gcp;
    this.guard(() => writeAtomic(this.dir, CKP, encode(value), CKP_TMP));
    this.ckp = value;
    this.pendingGlobalCheckpoint = undefined;
    this.checkpointWrittenAt = performance.now();
  }

  /** Run an I/O step; an error fails the translog for good (the state on disk is unknown). */
  private guard(step: () => void): void {
    try {
      step();
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  private current(): Generation {
    return this.gens[this.gens.length - 1]!;
  }

  private genFile(gen: number): string {
    return path.join(this.dir, `translog-${gen}.tlog`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`Translog(${this.dir}) is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.failure) {
      throw new Error(`Translog(${this.dir}) failed after an I/O error and must be reopened: ${this.failure.message}`, {
        cause: this.failure,
      });
    }
  }
}

// -----------------------------------------------------------------------------------------------
// Records

function* readGenerations(gens: { gen: number; file: string; size: number }[], after: number): Generator<TranslogOp> {
  for (const g of gens) {
    const buf = Buffer.alloc(g.size);
    let fd: number;
    try {
      fd = fs.openSync(g.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`Translog: generation ${g.gen} (${g.file}) was trimmed while being read`);
      }
      throw err;
    }
    try {
      readFully(fd, buf, g.file);
    } finally {
      fs.closeSync(fd);
    }
    let pos = 0;
    while (pos < buf.length) {
      const rec = parseRecord(buf, pos);
      if (rec.kind !== 'ok') throw new Error(`Translog: corrupt record in ${g.file} at offset ${pos}: ${rec.reason}`);
      if (rec.op.seqNo > after) yield rec.op;
      pos = rec.end;
    }
  }
}



/** Encode with `op` as the first key: recovery relies on it to look for valid records after a bad one. */
function encodeOp(op: TranslogOp): Uint8Array {
  switch (op.op) {
    case 'index':
      return encode({ op: op.op, seqNo: op.seqNo, primaryTerm: op.primaryTerm, version: op.version, id: op.id, source: op.source });
    case 'delete':
      return encode({ op: op.op, seqNo: op.seqNo, primaryTerm: op.primaryTerm, version: op.version, id: op.id });
    case 'noop':
      return encode({ op: op.op, seqNo: op.seqNo, primaryTerm: op.primaryTerm, reason: op.reason });
  }
}

/** A copy of `v` as a TranslogOp, or undefined if it is not one. */
function asOp(v: unknown): TranslogOp | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const seqNo = o.seqNo as number;
  const primaryTerm = o.primaryTerm as number;
  if (!Number.isSafeInteger(seqNo) || seqNo < 0 || !Number.isSafeInteger(primaryTerm) || primaryTerm < 0) return undefined;
  if (o.op === 'noop') {
    return typeof o.reason === 'string' ? { op: 'noop', seqNo, primaryTerm, reason: o.reason } : undefined;
  }
  const version = o.version as number;
  if ((o.op !== 'index' && o.op !== 'delete') || typeof o.id !== 'string' || !Number.isSafeInteger(version)) return undefined;
  if (o.op === 'delete') return { op: 'delete', id: o.id, seqNo, primaryTerm, version };
  const source = o.source;
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return undefined;
  return { op: 'index', id: o.id, source: source as Record<string, unknown>, seqNo, primaryTerm, version };
}

function checkOp(op: TranslogOp): TranslogOp {
  if (asOp(op) === undefined) {
    const o = op as { op?: unknown; seqNo?: unknown } | null;
    throw new Error(`Translog.add: invalid operation (op ${String(o?.op)}, seqNo ${String(o?.seqNo)})`);
  }
  return op;
}

type Parsed =
  | { kind: 'ok'; op: TranslogOp; end: number }
  /** What a torn or partly written record looks like. */
  | { kind: 'torn'; reason: string }
  /** Intact framing around a payload that is not an op: never the result of a crash. */
  | { kind: 'invalid'; reason: string };

function parseRecord(buf: Buffer, pos: number): Parsed {
  if (buf.length - pos < HEADER) return { kind: 'torn', reason: 'short length header' };
  const len = buf.readUInt32LE(pos);
  if (len === 0) return { kind: 'torn', reason: 'zero length' };
  const end = pos + HEADER + len;
  if (end > buf.length) return { kind: 'torn', reason: 'length past end of file' };
  const payload = buf.subarray(pos + HEADER, end);
  if (crc(payload) !== buf.readUInt32LE(pos + 4)) return { kind: 'torn', reason: 'crc mismatch' };
  let value: unknown;
  try {
    value = decode(payload);
  } catch {
    return { kind: 'invalid', reason: 'undecodable payload' };
  }
  const op = asOp(value);
  if (!op) return { kind: 'invalid', reason: 'payload is not a translog operation' };
  return { kind: 'ok', op, end };
}

/**
 * Offset of the first valid record starting at or after `from`, if any. Candidates are found by
 * looking for the payload's leading `"op"` key, so this is a linear search, not a CRC per byte.
 */
function findValidRecord(buf: Buffer, from: number): number | undefined {
  let at = buf.indexOf(OP_KEY, from + HEADER + 1);
  while (at !== -1) {
    for (const h of MAP_HEADER_SIZES) {
      const start = at - h - HEADER;
      if (start >= from && parseRecord(buf, start).kind === 'ok') return start;
    }
    at = buf.indexOf(OP_KEY, at + 1);
  }
  return undefined;
}

/** A growable list of seq_nos. */
class SeqNoList {
  private items = new Float64Array(16);
  private length = 0;

  push(v: number): void {
    if (this.length === this.items.length) {
      const next = new Float64Array(this.items.length * 2);
      next.set(this.items);
      this.items = next;
    }
    this.items[this.length++] = v;
  }

  countAbove(x: number): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) if (this.items[i]! > x) n++;
    return n;
  }
}

// -----------------------------------------------------------------------------------------------
// File helpers


function readFully(fd: number, buf: Uint8Array, file: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, done);
    if (n === 0) throw new Error(`Translog: ${file} is shorter than expected (${done} < ${buf.length} bytes)`);
    done += n;
  }
}


