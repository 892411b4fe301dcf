import fs from 'node:fs';
import path from 'node:path';
import { encode } from '../transport/codec.ts';
import { readAtomic, writeAtomic, writeAtomicChunks } from '../storage/framed.ts';
import type { Mappings } from './mapping.ts';
import type { DocMeta, Segment } from './segment.ts';
import { readSegmentFile, segmentFileChunks } from './segment-file.ts';

/** What a commit point names: the durable segments, the seq_no they cover, and the mappings. */
export interface CommitPoint {
  generation: number;
  segments: string[];
  maxSeqNo: number;
  /** Every op up to here is in the commit; the translog is replayed from the next one. Older commits lack it (= maxSeqNo). */
  localCheckpoint?: number;
  primaryTerm: number;
  mappings: Mappings;
  /** Deletes the engine remembers (for replication and recovery), complete above tombstoneFloor. */
  tombstones?: DocMeta[];
  tombstoneFloor?: number;
}

/** What the old segment files (`seg-<name>.dat`, before the segment file) held: no index. */
export interface StoredSegment {
  metas: DocMeta[];
  sources: Record<string, unknown>[];
}

/** A committed segment as found on disk: the segment itself, or an old file to re-index. */
export type LoadedSegment = { format: 'segment'; segment: Segment } | { format: 'legacy'; stored: StoredSegment };

const COMMIT = 'commit.ckp';

/**
 * The engine's files in a shard directory, each replaced atomically: `seg-<name>.seg` (the segment
 * file, segment-file.ts: the whole sealed segment, its index included; immutable once written),
 * `seg-<name>.liv` (its live-docs bitmap, rewritten when deletes change it) and `commit.ckp`,
 * which names the segments of the last durable commit. The last two are one CRC-framed record
 * each. Shards written before the segment file have `seg-<name>.dat` (docs and sources, one
 * framed record) instead: still read, and re-indexed. A damaged file is reported, never served.
 */
export class ShardStore {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  readCommit(): CommitPoint | undefined {
    return readAtomic(path.join(this.dir, COMMIT), 'ShardStore') as CommitPoint | undefined;
  }

  writeCommit(commit: CommitPoint): void {
    writeAtomic(this.dir, COMMIT, encode(commit));
    // Segments no commit names any more (merged away or from an interrupted flush).
    const keep = new Set(commit.segments.flatMap((s) => [`seg-${s}.seg`, `seg-${s}.dat`, `seg-${s}.liv`]));
    for (const f of fs.readdirSync(this.dir)) if (f.startsWith('seg-') && !keep.has(f)) fs.rmSync(path.join(this.dir, f), { force: true });
  }

  /** One more than the highest segment number (`seg-_<base36>.*`) of any file in the directory. */
  nextSegmentNumber(): number {
    let next = 0;
    for (const f of fs.readdirSync(this.dir)) {
      const m = /^seg-_([0-9a-z]+)\./.exec(f);
      if (m) next = Math.max(next, parseInt(m[1]!, 36) + 1);
    }
    return next;
  }

  /** True when the segment's file (the current format) is on disk. */
  hasSegment(name: string): boolean {
    return fs.existsSync(this.segmentFile(name));
  }

  writeSegment(segment: Segment): void {
    writeAtomicChunks(this.dir, `seg-${segment.name}.seg`, segmentFileChunks(segment));
  }

  /** A committed segment with its live docs applied (the old format: its docs, to re-index). */
  readSegment(name: string): LoadedSegment {
    const file = this.segmentFile(name);
    if (!fs.existsSync(file)) {
      const legacy = path.join(this.dir, `seg-${name}.dat`);
      if (fs.existsSync(legacy)) return { format: 'legacy', stored: this.read(legacy) as StoredSegment };
      throw new Error(`ShardStore: ${file} is missing`);
    }
    const segment = readSegmentFile(file);
    if (segment.name !== name) throw new Error(`ShardStore: ${file} is corrupt: it holds segment ${segment.name}`);
    const live = this.readLive(name);
    if (live.length !== segment.maxDoc) throw new Error(`ShardStore: ${path.join(this.dir, `seg-${name}.liv`)} is corrupt: ${live.length} docs, its segment has ${segment.maxDoc}`);
    for (let d = 0; d < live.length; d++) if (live[d] !== 1) segment.delete(d);
    return { format: 'segment', segment };
  }

  writeLive(name: string, live: Uint8Array): void {
    writeAtomic(this.dir, `seg-${name}.liv`, encode(live));
  }

  readLive(name: string): Uint8Array {
    return new Uint8Array(this.read(path.join(this.dir, `seg-${name}.liv`)) as Uint8Array);
  }

  /** The bytes of every file under the directory (segments, live docs, commit point, the translog's). */
  sizeBytes(dir = this.dir): number {
    let total = 0;
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, f.name);
      // A file can vanish between the listing and the stat (a flush trims the translog).
      if (f.isDirectory()) total += this.sizeBytes(file);
      else if (f.isFile()) total += fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    }
    return total;
  }

  private segmentFile(name: string): string {
    return path.join(this.dir, `seg-${name}.seg`);
  }

  private read(file: string): unknown {
    const value = readAtomic(file, 'ShardStore');
    if (value === undefined) throw new Error(`ShardStore: ${file} is missing`);
    return value;
  }
}
