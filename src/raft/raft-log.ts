import type { Entry, Snapshot } from './types.ts';

/**
 * A peer's in-memory view of its log: the snapshot point plus the entries after it. Storage holds
 * the durable copy; this is what the rules read.
 */
export class RaftLog {
  /** Index and term of the last entry covered by the snapshot (0/0: no snapshot). */
  snapshotIndex = 0;
  snapshotTerm = 0;
  private entries: Entry[] = [];

  constructor(snapshot: Snapshot | undefined, entries: Entry[]) {
    if (snapshot) {
      this.snapshotIndex = snapshot.index;
      this.snapshotTerm = snapshot.term;
    }
    this.entries = entries.filter((e) => e.index > this.snapshotIndex);
  }

  get lastIndex(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.index : this.snapshotIndex;
  }

  get lastTerm(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1]!.term : this.snapshotTerm;
  }

  get firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  /** Term of the entry at `index`; undefined when it is compacted away (below the snapshot) or absent. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex) return undefined;
    return this.entries[index - this.snapshotIndex - 1]!.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** Entries in [from, to] (inclusive), at most `max`; from must be above the snapshot. */
  slice(from: number, to: number, max = Infinity): Entry[] {
    const lo = Math.max(from, this.firstIndex) - this.snapshotIndex - 1;
    const hi = Math.min(to, this.lastIndex, from + max - 1) - this.snapshotIndex;
    return lo < hi ? this.entries.slice(lo, hi) : [];
  }

  /** Append, replacing any suffix from the first new entry's index (the caller checked conflicts). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first <= this.snapshotIndex) throw new Error(`append at ${first} is inside the snapshot (${this.snapshotIndex})`);
    if (first > this.lastIndex + 1) throw new Error(`append at ${first} leaves a gap after ${this.lastIndex}`);
    this.entries.length = first - this.snapshotIndex - 1;
    for (const e of entries) this.entries.push(e);
  }

  /** Drop everything up to the snapshot point; keep later entries when they agree with it. */
  compact(snapshot: Snapshot): void {
    const keep = this.term(snapshot.index) === snapshot.term ? this.entries.filter((e) => e.index > snapshot.index) : [];
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    this.entries = keep;
  }

  /** Raft's "at least as up-to-date" comparison (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }
}
