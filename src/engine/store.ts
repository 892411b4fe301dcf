import fs from 'node:fs';
import path from 'node:path';
import { encode } from '../transport/codec.ts';
import { readAtomic, writeAtomic } from '../storage/framed.ts';
import type { Mappings } from './mapping.ts';
import type { DocMeta } from './segment.ts';

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

export interface StoredSegment {
  metas: DocMeta[];
  sources: Record<string, unknown>[];
}

const COMMIT = 'commit.ckp';

/**
 * The engine's files in a shard directory. Every file is one CRC-framed record replaced
 * atomically: `seg-<name>.dat` (docs and sources; immutable once written), `seg-<name>.liv`
 * (its live-docs bitmap, rewritten when deletes change it) and `commit.ckp`, which names the
 * segments of the last durable commit. A damaged file is reported, never served.
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
    const keep = new Set(commit.segments.flatMap((s) => [`seg-${s}.dat`, `seg-${s}.liv`]));
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

  hasSegment(name: string): boolean {
    return fs.existsSync(path.join(this.dir, `seg-${name}.dat`));
  }

  writeSegment(name: string, segment: StoredSegment): void {
    writeAtomic(this.dir, `seg-${name}.dat`, encode(segment));
  }

  readSegment(name: string): StoredSegment {
    return this.read(path.join(this.dir, `seg-${name}.dat`)) as StoredSegment;
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

  private read(file: string): unknown {
    const value = readAtomic(file, 'ShardStore');
    if (value === undefined) throw new Error(`ShardStore: ${file} is missing`);
    return value;
  }
}
