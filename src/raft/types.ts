/**
 * Raft data model. Indices and terms start at 1; index 0 / term 0 mean "nothing".
 */
export type PeerId = string;

/** Voters elect and commit; learners (data-only nodes) receive the log but do not vote. */
export interface Membership {
  voters: PeerId[];
  learners: PeerId[];
}

export type EntryKind = 'noop' | 'command' | 'config';

export interface Entry {
  term: number;
  index: number;
  kind: EntryKind;
  /** command: the state-machine command; config: the new Membership; noop: absent. */
  data?: unknown;
}

/** What must be durable before a peer answers a vote or an append: its term and its vote. */
export interface HardState {
  term: number;
  votedFor: PeerId | null;
}

export interface Snapshot {
  /** Last log index and term the snapshot covers. */
  index: number;
  term: number;
  membership: Membership;
  /** The state machine's serialised state at `index`. */
  data: unknown;
}

export interface PersistedState {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  /** Entries after the snapshot, contiguous, in order. */
  entries: Entry[];
}

/**
 * Durable Raft storage. Every mutating call is synchronous and durable (fsync) when it returns,
 * so a peer acts on a term, vote or entry only after it can survive a crash.
 */
export interface RaftStorage {
  /** Everything persisted; a torn or corrupt tail has been detected and cut off. */
  load(): PersistedState;
  saveHardState(hs: HardState): void;
  /**
   * Append contiguous entries. If the first entry's index is at or below the last stored index,
   * the stored suffix from that index on is replaced (a follower overwriting a conflicting tail).
   */
  append(entries: Entry[]): void;
  /** Store a snapshot and drop the log entries it covers (up to snapshot.index). */
  saveSnapshot(snapshot: Snapshot): void;
  close(): void;
}
