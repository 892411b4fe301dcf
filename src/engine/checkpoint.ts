/**
 * A copy's local checkpoint: the highest seq_no below which every operation has been processed.
 * Replicas can see operations out of order (parallel replication, recovery), so seq_nos above
 * the checkpoint are remembered until the gap below them fills.
 */
export class LocalCheckpointTracker {
  private above = new Set<number>();
  private max: number;

  constructor(private checkpoint = -1) {
    this.max = checkpoint;
  }

  get localCheckpoint(): number {
    return this.checkpoint;
  }

  get maxSeqNo(): number {
    return this.max;
  }

  markProcessed(seqNo: number): void {
    if (seqNo > this.max) this.max = seqNo;
    if (seqNo <= this.checkpoint) return;
    if (seqNo !== this.checkpoint + 1) {
      this.above.add(seqNo);
      return;
    }
    this.checkpoint = seqNo;
    while (this.above.delete(this.checkpoint + 1)) this.checkpoint++;
  }

  /** Everything up to `seqNo` is processed (a recovery copied that state in one go). */
  markProcessedUpTo(seqNo: number): void {
    if (seqNo <= this.checkpoint) return;
    for (const s of this.above) if (s <= seqNo) this.above.delete(s);
    this.checkpoint = seqNo;
    if (seqNo > this.max) this.max = seqNo;
    while (this.above.delete(this.checkpoint + 1)) this.checkpoint++;
  }

  /** Forget everything above `seqNo`: those operations are being replaced by a new primary's. */
  resetTo(seqNo: number): void {
    this.checkpoint = Math.min(this.checkpoint, seqNo);
    this.above = new Set([...this.above].filter((s) => s <= this.checkpoint));
    this.max = this.checkpoint;
  }
}
