import type { ShardTable } from '../cluster/metadata.ts';

export interface GroupMember {
  allocationId: string;
  node: string;
  /** Must have every acknowledged write: a failed write to it fails the copy through the master. */
  inSync: boolean;
  /** Highest seq_no below which the copy has everything (-1 = not heard yet). */
  localCheckpoint: number;
}

/**
 * The primary's view of its replication group: which copies get every operation (the in-sync
 * copies from the routing table, plus copies recovering from this primary) and their local
 * checkpoints; the global checkpoint is the minimum over the in-sync copies and the primary.
 */
export class ReplicationGroup {
  private readonly members = new Map<string, GroupMember>();
  private initialized = false;

  constructor(readonly primaryAllocationId: string) {}

  /**
   * Follow the routing table: copies no longer in it leave. The first table's in-sync copies are
   * the group (a new primary's); after that a copy only joins by being tracked from the start of
   * its recovery. An in-sync copy the group does not know has missed operations since (the group
   * replicated without it): its ids are returned, to be failed through the master — never joined
   * silently with a hole in its history. A member stays in sync while it is in the table, even if
   * this table does not list it yet: this primary marked it when its recovery ended (`markInSync`),
   * and this node may apply the master's state that says so later than other nodes do.
   */
  update(table: ShardTable): string[] {
    const copies = new Map(table.copies.map((c) => [c.allocationId, c]));
    for (const id of [...this.members.keys()]) if (!copies.has(id)) this.members.delete(id);
    const missed: string[] = [];
    for (const c of table.copies) {
      if (c.allocationId === this.primaryAllocationId) continue;
      const inSync = table.inSync.includes(c.allocationId);
      const m = this.members.get(c.allocationId);
      if (m) m.inSync ||= inSync;
      else if (inSync && !this.initialized) this.members.set(c.allocationId, { allocationId: c.allocationId, node: c.node, inSync, localCheckpoint: -1 });
      else if (inSync) missed.push(c.allocationId);
    }
    this.initialized = true;
    return missed;
  }

  /** A copy started recovering from this primary: from now on it gets every operation too. */
  track(allocationId: string, node: string): void {
    const m = this.members.get(allocationId);
    if (!m) this.members.set(allocationId, { allocationId, node, inSync: false, localCheckpoint: -1 });
  }

  /**
   * A tracked copy finished its recovery from this primary: from now on it counts for the global
   * checkpoint, and a write it fails must fail it through the master, before the master's state
   * lists it in sync (as Elasticsearch's primary marks a copy in sync before reporting it started).
   * Otherwise the global checkpoint could pass operations the copy lacks, and if it were promoted
   * the other copies would keep them as agreed history.
   */
  markInSync(allocationId: string): void {
    const m = this.members.get(allocationId);
    if (m) m.inSync = true;
  }

  remove(allocationId: string): void {
    this.members.delete(allocationId);
  }

  targets(): GroupMember[] {
    return [...this.members.values()];
  }

  get(allocationId: string): GroupMember | undefined {
    return this.members.get(allocationId);
  }

  updateLocalCheckpoint(allocationId: string, checkpoint: number): void {
    const m = this.members.get(allocationId);
    if (m && checkpoint > m.localCheckpoint) m.localCheckpoint = checkpoint;
  }

  globalCheckpoint(primaryLocalCheckpoint: number): number {
    let gcp = primaryLocalCheckpoint;
    for (const m of this.members.values()) if (m.inSync) gcp = Math.min(gcp, m.localCheckpoint);
    return gcp;
  }

  status(primaryLocalCheckpoint: number): { global_checkpoint: number; copies: GroupMember[] } {
    return { global_checkpoint: this.globalCheckpoint(primaryLocalCheckpoint), copies: this.targets().map((m) => ({ ...m })) };
  }
}
