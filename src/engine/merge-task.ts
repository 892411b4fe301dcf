/**
 * One merge: the live docs of some segments re-indexed into a new one, a slice at a time, so a
 * big merge can run in the background between writes and searches (as Lucene's merge threads
 * do) instead of holding the node's event loop for seconds. The victims stay searchable while it
 * runs; ShardEngine swaps in the merged segment when the last slice is done, carrying over what
 * changed meanwhile (see ShardEngine.finishMerge).
 */
import type { Segment, SegmentBuilder } from './segment.ts';

/** Copies one doc of a victim into the builder, answering its doc number there. */
export type CopyDoc = (segment: Segment, doc: number) => number;

export class MergeTask {
  /** Per doc of the merged segment (its index): where it was copied from. */
  readonly from: { segment: Segment; doc: number }[] = [];
  private seg = 0;
  private doc = 0;

  constructor(
    readonly victims: readonly Segment[],
    readonly builder: SegmentBuilder,
    private readonly copy: CopyDoc,
  ) {}

  get done(): boolean {
    return this.seg >= this.victims.length;
  }

  /** Copies up to `max` live docs (a doc deleted before its turn is left out); answers whether every victim is read. */
  step(max: number): boolean {
    let copied = 0;
    while (this.seg < this.victims.length && copied < max) {
      const segment = this.victims[this.seg]!;
      if (this.doc >= segment.maxDoc) {
        this.seg++;
        this.doc = 0;
        continue;
      }
      const doc = this.doc++;
      if (!segment.isLive(doc)) continue;
      const merged = this.copy(segment, doc);
      this.from[merged] = { segment, doc };
      copied++;
    }
    return this.done;
  }
}
