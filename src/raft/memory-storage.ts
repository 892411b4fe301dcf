import type { Entry, HardState, PersistedState, RaftStorage, Snapshot } from './types.ts';

/**
 * In-memory RaftStorage for deterministic simulation. The object plays the role of the disk: a
 * simulated crash drops the peer but keeps this object, and the restarted peer calls `load()`.
 *
 * Entries, the hard state and the snapshot are copied on the way in and on the way out (entry and
 * snapshot objects, membership arrays), so a peer mutating its in-memory log cannot change what is
 * "on disk". `data` payloads are kept by reference: they must be treated as immutable.
 *
 * Semantics match FileRaftStorage: appends must be contiguous with the stored log (a gap throws);
 * an append starting at or below the last index replaces the stored suffix; entries at or below the
 * snapshot index are skipped (they are covered by the snapshot); a snapshot keeps the entries after
 * it only if the log holds its last entry (same index and term), otherwise the whole log is dropped;
 * a snapshot older than the stored one throws.
 */
export class MemoryRaftStorage implements RaftStorage {
  private hardState: HardState = { term: 0, votedFor: null };
  private snapshot: Snapshot | undefined;
  /** Entries after the snapshot: entries[i].index === snapIndex + 1 + i. */
  private entries: Entry[] = [];

  load(): PersistedState {
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot ? copySnapshot(this.snapshot) : undefined,
      entries: this.entries.map(copyEntry),
    };
  }

  saveHardState(hs: HardState): void {
    this.hardState = { term: hs.term, votedFor: hs.votedFor };
  }

  append(entries: Entry[]): void {
    checkContiguous(entries);
    const snapIndex = this.snapshot?.index ?? 0;
    const fresh = entries.filter((e) => e.index > snapIndex);
    const first = fresh[0];
    if (!first) return;
    const last = snapIndex + this.entries.length;
    if (first.index > last + 1) {
      throw new Error(`raft storage: append at index ${first.index} leaves a gap after ${last}`);
    }
    this.entries.length = first.index - snapIndex - 1; // drop the conflicting suffix, if any
    for (const e of fresh) this.entries.push(copyEntry(e));
  }

  saveSnapshot(snapshot: Snapshot): void {
    const snapIndex = this.snapshot?.index ?? 0;
    if (snapshot.index < snapIndex) {
      throw new Error(`raft storage: snapshot at ${snapshot.index} is older than stored snapshot at ${snapIndex}`);
    }
    const termAt =
      snapshot.index === snapIndex ? (this.snapshot?.term ?? 0) : this.entries[snapshot.index - snapIndex - 1]?.term;
    this.entries = termAt === snapshot.term ? this.entries.slice(snapshot.index - snapIndex) : [];
    this.snapshot = copySnapshot(snapshot);
  }

  close(): void {
    // Nothing to release; the object stays usable so a restarted peer can load() it.
  }
}

function copyEntry(e: Entry): Entry {
  const c: Entry = { term: e.term, index: e.index, kind: e.kind };
  if (e.data !== undefined) c.data = e.data;
  return c;
}

function copySnapshot(s: Snapshot): Snapshot {
  return {
    index: s.index,
    term: s.term,
    membership: { voters: [...s.membership.voters], learners: [...s.membership.learners] },
    data: s.data,
  };
}

function checkContiguous(entries: Entry[]): void {
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.index !== entries[i - 1]!.index + 1) {
      throw new Error(`raft storage: append batch is not contiguous at index ${entries[i - 1]!.index}`);
    }
  }
}
