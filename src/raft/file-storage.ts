import { crc, frame, fsyncDir, readAtomic, writeAtomic, writeFully } from '../storage/framed.ts';
import fs from 'node:fs';
import path from 'node:path';
import { decode, encode } from '../transport/codec.ts';
import type { Entry, EntryKind, HardState, PersistedState, RaftStorage, Snapshot } from './types.ts';

export interface FileRaftStorageOptions {
  /** Roll to a new segment once the current one holds at least this many bytes. Default 8 MiB. */
  segmentBytes?: number;
  /** Called for every torn or corrupt tail cut off during recovery. */
  onCorruption?: (info: CorruptionInfo) => void;
}

export interface CorruptionInfo {
  /** Full path of the segment file. */
  file: string;
  /** Byte offset of the first bad record; the file was truncated to this length. */
  offset: number;
  reason: string;
}

interface Segment {
  first: number;
  file: string;
  size: number;
  /** offsets[i]: byte offset of the record for index first + i. */
  offsets: number[];
}

const HEADER = 8;
const SEGMENT_RE = /^log-(\d{20})\.seg$/;
const KINDS: ReadonlySet<EntryKind> = new Set<EntryKind>(['noop', 'command', 'config']);
/** Every entry payload starts with a map header (fixmap/map16/map32: 1, 3 or 5 bytes) then the fixstr key "index". */
const INDEX_KEY = Buffer.from([0xa5, 0x69, 0x6e, 0x64, 0x65, 0x78]);
const MAP_HEADER_SIZES = [1, 3, 5];

/**
 * Durable RaftStorage on the local file system. Every mutating call has fsync'ed its data (and,
 * where files were created, renamed or deleted, the directory) before it returns.
 *
 * Layout of `dir`:
 * - `log-<first index, 20 digits>.seg`: log segments. A segment is a sequence of records
 *   `[u32 length][u32 crc32(payload)][payload]`, both header fields LITTLE-endian, payload =
 *   msgpack({index, term, kind, data?}) (always encoded with `index` as the first key). The file name
 *   holds the index of the segment's first record; records are contiguous within and across segments.
 * - `state`: one record (same framing) holding msgpack({term, votedFor}); replaced atomically
 *   (`state.tmp`, fsync, rename, fsync dir).
 * - `snapshot`: one record holding msgpack(Snapshot); replaced atomically the same way.
 *
 * Recovery (`load()`): a torn or corrupt record at the tail of the last segment, with no valid record
 * after it, is what a crash during an append leaves behind: it is reported through `onCorruption` and
 * truncated away. Anything else (a bad record followed by valid data, a bad record in an earlier
 * segment, a gap in the indices, a damaged `state` or `snapshot` file) is real damage and throws.
 *
 * The in-memory index holds, per segment, its first index, size and the byte offset of every record,
 * so an append is O(1) and truncating a conflicting suffix walks back from the last segment (O(1)
 * when the conflict is in the last segment, the usual case).
 */
export class FileRaftStorage implements RaftStorage {
  readonly dir: string;
  private readonly segmentBytes: number;
  private readonly onCorruption: ((info: CorruptionInfo) => void) | undefined;

  private recovered = false;
  private closed = false;
  private snapIndex = 0;
  private snapTerm = 0;
  private segments: Segment[] = [];
  /** Open read/write descriptor of the last segment, when it has been written since recovery. */
  private activeFd: number | undefined;

  constructor(dir: string, opts: FileRaftStorageOptions = {}) {
    this.dir = dir;
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.onCorruption = opts.onCorruption;
    if (!(this.segmentBytes > 0)) throw new Error('FileRaftStorage: segmentBytes must be positive');
    fs.mkdirSync(dir, { recursive: true });
  }

  // ---------------------------------------------------------------------------------------------
  // RaftStorage

  load(): PersistedState {
    this.checkOpen();
    return this.recover();
  }

  saveHardState(hs: HardState): void {
    this.checkOpen();
    checkHardState(hs, 'saveHardState');
    this.writeAtomic('state', encode({ term: hs.term, votedFor: hs.votedFor }));
  }

  append(entries: Entry[]): void {
    this.ensureRecovered();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (!validEntry(e)) throw new Error(`FileRaftStorage.append: invalid entry at position ${i}`);
      if (i > 0 && e.index !== entries[i - 1]!.index + 1) {
        throw new Error(`FileRaftStorage.append: batch is not contiguous at index ${entries[i - 1]!.index}`);
      }
    }
    // Entries covered by the snapshot are committed and already durable in it.
    let start = 0;
    while (start < entries.length && entries[start]!.index <= this.snapIndex) start++;
    const first = entries[start];
    if (!first) return;
    const last = this.lastIndex();
    if (first.index > last + 1) {
      throw new Error(`FileRaftStorage.append: index ${first.index} leaves a gap after ${last}`);
    }
    if (first.index <= last) this.truncateFrom(first.index);

    let seg = this.segments.at(-1);
    let dirty = false; // the last segment has unsynced writes from this call
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = (): void => {
      if (chunkBytes === 0) return;
      writeFully(this.openActive(), Buffer.concat(chunk, chunkBytes), seg!.size);
      seg!.size += chunkBytes;
      chunk = [];
      chunkBytes = 0;
      dirty = true;
    };
    for (let i = start; i < entries.length; i++) {
      const e = entries[i]!;
      if (!seg || (seg.offsets.length > 0 && seg.size + chunkBytes >= this.segmentBytes)) {
        // Make the full segment durable before the next one exists, so a crash can only ever
        // leave a torn tail in the LAST segment.
        flush();
        if (dirty) fs.fsyncSync(this.activeFd!);
        dirty = false;
        seg = this.createSegment(e.index);
      }
      const record = frame(encodeEntry(e));
      seg.offsets.push(seg.size + chunkBytes);
      chunk.push(record);
      chunkBytes += record.length;
    }
    flush();
    if (dirty) fs.fsyncSync(this.activeFd!);
  }

  saveSnapshot(snapshot: Snapshot): void {
    this.ensureRecovered();
    checkSnapshot(snapshot, 'saveSnapshot');
    if (snapshot.index < this.snapIndex) {
      throw new Error(
        `FileRaftStorage.saveSnapshot: snapshot at ${snapshot.index} is older than stored snapshot at ${this.snapIndex}`,
      );
    }
    const keepLog = this.termAt(snapshot.index) === snapshot.term;
    this.writeAtomic(
      'snapshot',
      encode({ index: snapshot.index, term: snapshot.term, membership: snapshot.membership, data: snapshot.data }),
    );
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
    // Raft: keep the entries after the snapshot only if the log holds the snapshot's last entry;
    // otherwise the whole log is stale.
    if (keepLog) this.dropCoveredSegments();
    else this.dropSegmentsFrom(0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeActive();
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery

  private ensureRecovered(): void {
    this.checkOpen();
    if (!this.recovered) this.recover();
  }

  private recover(): PersistedState {
    this.closeActive();
    this.segments = [];
    this.recovered = false;

    // Leftovers of an atomic write interrupted before its rename: the old file is still the truth.
    for (const tmp of ['state.tmp', 'snapshot.tmp']) fs.rmSync(path.join(this.dir, tmp), { force: true });

    const hsRaw = this.readFramedFile('state');
    const hardState: HardState = hsRaw === undefined ? { term: 0, votedFor: null } : (hsRaw as HardState);
    if (hsRaw !== undefined) checkHardState(hardState, `${path.join(this.dir, 'state')}`);
    const snapRaw = this.readFramedFile('snapshot');
    const snapshot = snapRaw === undefined ? undefined : (snapRaw as Snapshot);
    if (snapshot) checkSnapshot(snapshot, `${path.join(this.dir, 'snapshot')}`);
    this.snapIndex = snapshot?.index ?? 0;
    this.snapTerm = snapshot?.term ?? 0;

    const names = fs
      .readdirSync(this.dir)
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
    const all: Entry[] = [];
    for (let s = 0; s < names.length; s++) {
      const file = path.join(this.dir, names[s]!);
      const first = Number(SEGMENT_RE.exec(names[s]!)![1]);
      const isLast = s === names.length - 1;
      const prevLast = all.at(-1)?.index;
      if (prevLast !== undefined && first !== prevLast + 1) {
        throw new Error(`FileRaftStorage: ${file} starts at index ${first}, expected ${prevLast + 1} (gap in the log)`);
      }
      const seg = this.scanSegment(file, first, isLast, all);
      if (seg.offsets.length === 0) {
        if (!isLast) throw new Error(`FileRaftStorage: ${file} is empty but is not the last segment`);
        // Created by a roll that crashed before its first record was durable.
        fs.rmSync(file, { force: true });
        fsyncDir(this.dir);
        continue;
      }
      this.segments.push(seg);
    }

    let entries: Entry[];
    if (snapshot) {
      const atSnap = all.find((e) => e.index === snapshot.index);
      if (atSnap && atSnap.term !== snapshot.term) {
        // A saveSnapshot that discards a conflicting log crashed before deleting the segments.
        this.dropSegmentsFrom(0);
        entries = [];
      } else {
        this.dropCoveredSegments();
        entries = all.filter((e) => e.index > snapshot.index);
      }
    } else {
      entries = all;
    }
    const firstIndex = entries[0]?.index;
    if (firstIndex !== undefined && firstIndex !== this.snapIndex + 1) {
      throw new Error(
        `FileRaftStorage: log in ${this.dir} starts at index ${firstIndex} but the snapshot ends at ${this.snapIndex} (gap in the log)`,
      );
    }
    this.recovered = true;
    return { hardState: { term: hardState.term, votedFor: hardState.votedFor }, snapshot, entries };
  }

  /** Parse one segment, pushing its entries to `out`; cuts a torn tail off the last segment. */
  private scanSegment(file: string, first: number, isLast: boolean, out: Entry[]): Segment {
    const buf = fs.readFileSync(file);
    const seg: Segment = { first, file, size: 0, offsets: [] };
    let pos = 0;
    let expected = first;
    while (pos < buf.length) {
      const rec = parseRecord(buf, pos);
      if (typeof rec === 'string') {
        if (!isLast) throw new Error(`FileRaftStorage: corrupt record in ${file} at offset ${pos}: ${rec}`);
        const next = findValidRecord(buf, pos + 1);
        if (next !== undefined) {
          throw new Error(
            `FileRaftStorage: corrupt record in ${file} at offset ${pos}: ${rec} (followed by a valid record at offset ${next})`,
          );
        }
        this.onCorruption?.({ file, offset: pos, reason: rec });
        const fd = fs.openSync(file, 'r+');
        try {
          fs.ftruncateSync(fd, pos);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        break;
      }
      if (rec.entry.index !== expected) {
        throw new Error(
          `FileRaftStorage: record in ${file} at offset ${pos} has index ${rec.entry.index}, expected ${expected}`,
        );
      }
      seg.offsets.push(pos);
      out.push(rec.entry);
      expected++;
      pos = rec.end;
    }
    seg.size = pos;
    return seg;
  }

  /** Contents of a framed `state`/`snapshot` file; undefined when missing; throws when damaged. */
  private readFramedFile(name: string): unknown {
    return readAtomic(path.join(this.dir, name), 'FileRaftStorage');
  }

  // ---------------------------------------------------------------------------------------------
  // Log maintenance

  private lastIndex(): number {
    const seg = this.segments.at(-1);
    return seg ? seg.first + seg.offsets.length - 1 : this.snapIndex;
  }

  /** Remove the stored entries from `index` on (snapIndex < index <= lastIndex). */
  private truncateFrom(index: number): void {
    let k = this.segments.length - 1;
    while (k > 0 && this.segments[k]!.first > index) k--; // usually the last segment
    this.dropSegmentsFrom(k + 1);
    const seg = this.segments[k]!;
    const offset = seg.offsets[index - seg.first]!;
    if (offset === 0) {
      this.dropSegmentsFrom(k);
      return;
    }
    const fd = this.openActive();
    fs.ftruncateSync(fd, offset);
    fs.fsyncSync(fd);
    seg.size = offset;
    seg.offsets.length = index - seg.first;
  }

  /** Delete segments k.. , newest first, so a crash part-way leaves a valid prefix of the log. */
  private dropSegmentsFrom(k: number): void {
    if (k >= this.segments.length) return;
    this.closeActive();
    for (let i = this.segments.length - 1; i >= k; i--) fs.rmSync(this.segments[i]!.file, { force: true });
    this.segments.length = k;
    fsyncDir(this.dir);
  }

  /** Delete segments whose entries are all covered by the snapshot, oldest first. */
  private dropCoveredSegments(): void {
    let n = 0;
    while (n < this.segments.length) {
      const seg = this.segments[n]!;
      if (seg.first + seg.offsets.length - 1 > this.snapIndex) break;
      n++;
    }
    if (n === 0) return;
    if (n === this.segments.length) this.closeActive();
    for (let i = 0; i < n; i++) fs.rmSync(this.segments[i]!.file, { force: true });
    this.segments.splice(0, n);
    fsyncDir(this.dir);
  }

  /** Term of the entry at `index` (the snapshot's last term at snapIndex); undefined if not held. */
  private termAt(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return undefined;
    let k = this.segments.length - 1;
    while (k > 0 && this.segments[k]!.first > index) k--;
    const seg = this.segments[k]!;
    const offset = seg.offsets[index - seg.first]!;
    const end = seg.offsets[index - seg.first + 1] ?? seg.size;
    const buf = Buffer.alloc(end - offset);
    const fd = fs.openSync(seg.file, 'r');
    try {
      readFully(fd, buf, offset);
    } finally {
      fs.closeSync(fd);
    }
    const rec = parseRecord(buf, 0);
    if (typeof rec === 'string') throw new Error(`FileRaftStorage: corrupt record in ${seg.file} at offset ${offset}: ${rec}`);
    return rec.entry.term;
  }

  private createSegment(first: number): Segment {
    this.closeActive();
    const file = path.join(this.dir, `log-${String(first).padStart(20, '0')}.seg`);
    this.activeFd = fs.openSync(file, 'w+');
    fsyncDir(this.dir);
    const seg: Segment = { first, file, size: 0, offsets: [] };
    this.segments.push(seg);
    return seg;
  }

  private openActive(): number {
    if (this.activeFd === undefined) this.activeFd = fs.openSync(this.segments.at(-1)!.file, 'r+');
    return this.activeFd;
  }

  private closeActive(): void {
    if (this.activeFd === undefined) return;
    const fd = this.activeFd;
    this.activeFd = undefined;
    fs.closeSync(fd);
  }

  private writeAtomic(name: string, payload: Uint8Array): void {
    writeAtomic(this.dir, name, payload);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`FileRaftStorage(${this.dir}) is closed`);
  }
}

// -----------------------------------------------------------------------------------------------
// Records



function encodeEntry(e: Entry): Uint8Array {
  // `index` first: recovery relies on it to look for valid records after a damaged one.
  const rec: Record<string, unknown> = { index: e.index, term: e.term, kind: e.kind };
  if (e.data !== undefined) rec.data = e.data;
  return encode(rec);
}

/** The record at `pos`, or why it is not a valid one. */
function parseRecord(buf: Buffer, pos: number): { entry: Entry; end: number } | string {
  if (buf.length - pos < HEADER) return 'short length header';
  const len = buf.readUInt32LE(pos);
  if (len === 0) return 'zero length';
  const end = pos + HEADER + len;
  if (end > buf.length) return 'length past end of file';
  const payload = buf.subarray(pos + HEADER, end);
  if (crc(payload) !== buf.readUInt32LE(pos + 4)) return 'crc mismatch';
  let value: unknown;
  try {
    value = decode(payload);
  } catch {
    return 'undecodable payload';
  }
  if (!validEntry(value)) return 'payload is not an entry';
  const entry: Entry = { term: value.term, index: value.index, kind: value.kind };
  if (value.data !== undefined) entry.data = value.data;
  return { entry, end };
}

/**
 * Offset of the first valid record starting at or after `from`, if any. Candidates are found by
 * looking for the payload's leading `"index"` key, so this is a linear search, not a CRC per byte.
 */
function findValidRecord(buf: Buffer, from: number): number | undefined {
  let at = buf.indexOf(INDEX_KEY, from + HEADER + 1);
  while (at !== -1) {
    for (const h of MAP_HEADER_SIZES) {
      const start = at - h - HEADER;
      if (start >= from && typeof parseRecord(buf, start) !== 'string') return start;
    }
    at = buf.indexOf(INDEX_KEY, at + 1);
  }
  return undefined;
}

function validEntry(v: unknown): v is Entry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(e.index) &&
    (e.index as number) >= 1 &&
    Number.isSafeInteger(e.term) &&
    (e.term as number) >= 0 &&
    KINDS.has(e.kind as EntryKind)
  );
}

function checkHardState(hs: HardState, where: string): void {
  if (
    typeof hs !== 'object' ||
    hs === null ||
    !Number.isSafeInteger(hs.term) ||
    hs.term < 0 ||
    !(hs.votedFor === null || typeof hs.votedFor === 'string')
  ) {
    throw new Error(`FileRaftStorage: invalid hard state in ${where}`);
  }
}

function checkSnapshot(s: Snapshot, where: string): void {
  const m = (s as { membership?: unknown } | null)?.membership as Snapshot['membership'] | undefined;
  if (
    typeof s !== 'object' ||
    s === null ||
    !Number.isSafeInteger(s.index) ||
    s.index < 0 ||
    !Number.isSafeInteger(s.term) ||
    s.term < 0 ||
    typeof m !== 'object' ||
    m === null ||
    !Array.isArray(m.voters) ||
    !Array.isArray(m.learners)
  ) {
    throw new Error(`FileRaftStorage: invalid snapshot in ${where}`);
  }
}

// -----------------------------------------------------------------------------------------------
// File helpers


function readFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new Error('FileRaftStorage: unexpected end of file');
    done += n;
  }
}

