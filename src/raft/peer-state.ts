import type { AppendReply, AppendRequest, RaftMessage, SnapshotRequest, VoteReply, VoteRequest } from '../../protocols/raft.ts';
import { RaftLog } from './raft-log.ts';
import type { Entry, EntryKind, HardState, Membership, PeerId, RaftStorage, Snapshot } from './types.ts';

export interface RaftConfig {
  /** Election timeouts are drawn uniformly from [min, max). */
  electionMinMs: number;
  electionMaxMs: number;
  heartbeatMs: number;
  /** Entries per AppendEntries message. */
  maxBatch: number;
  /** AppendEntries in flight per follower before the leader waits for replies (pipelining). */
  maxInflight: number;
  /** Applied entries beyond the last snapshot before a new snapshot is taken. */
  snapshotThreshold: number;
}

export const DEFAULT_RAFT_CONFIG: RaftConfig = {
  electionMinMs: 150,
  electionMaxMs: 300,
  heartbeatMs: 50,
  maxBatch: 256,
  maxInflight: 8,
  snapshotThreshold: 1_000,
};

/** The replicated state machine; deterministic: the same entries give the same state everywhere. */
export interface RaftStateMachine {
  apply(entry: Entry): unknown;
  snapshot(): unknown;
  restore(data: unknown): void;
}

export interface RaftEnv {
  id: PeerId;
  storage: RaftStorage;
  stateMachine: RaftStateMachine;
  send(to: PeerId, msg: RaftMessage): void;
  now(): number;
  /** [0, 1); seeded in simulation. */
  random(): number;
  config?: Partial<RaftConfig>;
  /** Membership to start from when storage is empty (every bootstrapping peer gets the same list). */
  bootstrap?: Membership;
  /** Called for every applied entry, in order (observers, tests). */
  onApply?(entry: Entry, result: unknown): void;
  /** Called when this peer becomes leader of a term (observers, tests). */
  onLeader?(term: number): void;
  /** Called on every role change. */
  onRole?(role: Role, term: number): void;
  /** Called when the state machine is restored from a snapshot (at start, or installed from the leader). */
  onRestore?(index: number): void;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export class RaftError extends Error {
  constructor(
    readonly type: 'not_leader' | 'no_leader' | 'superseded' | 'stopped' | 'config_change_pending' | 'invalid_membership',
    reason: string,
    readonly leader?: PeerId,
  ) {
    super(reason);
    this.name = 'RaftError';
  }
}

interface Progress {
  next: number;
  match: number;
  inflight: number;
  /** Heard from since the last check-quorum round. */
  recentActive: boolean;
  /** Highest heartbeat sequence it acknowledged (ReadIndex). */
  ackedSeq: number;
  /** Heartbeat sequence current when entries were last sent (detects a lost append). */
  appendSeq: number;
}

interface Pending {
  term: number;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

interface ReadRequest {
  index: number;
  seq: number;
  acks: Set<PeerId>;
  resolve(index: number): void;
  reject(err: Error): void;
}

export interface RaftStatus {
  id: PeerId;
  role: Role;
  term: number;
  leader: PeerId | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  membership: Membership;
}

/**
 * One Raft peer's data and the rules of the Raft paper (with pre-vote and check-quorum). The
 * raft-peer xstate machine owns the role and the timers and calls these rules from its actions
 * and guards; the rules persist through storage before anything is sent.
 */
export class RaftPeerState {
  readonly id: PeerId;
  readonly config: RaftConfig;
  role: Role = 'follower';
  term = 0;
  votedFor: PeerId | null = null;
  leaderId: PeerId | undefined;
  readonly log: RaftLog;
  commitIndex = 0;
  lastApplied = 0;
  membership: Membership;
  private snapshot: Snapshot | undefined;
  /** Index of the config entry in force (the snapshot index when it came from a snapshot). */
  private configIndex = 0;
  private votes = new Set<PeerId>();
  private progress = new Map<PeerId, Progress>();
  private lastLeaderContact = -Infinity;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readRequests: ReadRequest[] = [];
  private appliedWaiters: { index: number; resolve(): void }[] = [];
  private proposalBuffer: { kind: EntryKind; data: unknown; pending: Pending }[] = [];
  private flushScheduled = false;
  private stopped = false;

  constructor(private readonly env: RaftEnv) {
    this.id = env.id;
    this.config = { ...DEFAULT_RAFT_CONFIG, ...env.config };
    const persisted = env.storage.load();
    this.term = persisted.hardState.term;
    this.votedFor = persisted.hardState.votedFor;
    this.snapshot = persisted.snapshot;
    this.log = new RaftLog(persisted.snapshot, persisted.entries);
    if (persisted.snapshot) {
      env.stateMachine.restore(persisted.snapshot.data);
      this.commitIndex = this.lastApplied = persisted.snapshot.index;
      env.onRestore?.(persisted.snapshot.index);
    }
    this.membership = this.membershipAt(this.log.lastIndex) ?? env.bootstrap ?? { voters: [env.id], learners: [] };
    this.configIndex = this.configIndexAt(this.log.lastIndex);
  }

  // ---- queries (guards) --------------------------------------------------------------------------

  get isVoter(): boolean {
    return this.membership.voters.includes(this.id);
  }

  get quorum(): number {
    return Math.floor(this.membership.voters.length / 2) + 1;
  }

  electionTimeout(): number {
    const { electionMinMs: min, electionMaxMs: max } = this.config;
    return min + Math.floor(this.env.random() * (max - min));
  }

  /** A message whose term makes us adopt it and step down (§5.1), except pre-votes and disruptive votes. */
  isHigherTerm(msg: RaftMessage): boolean {
    if (msg.term <= this.term) return false;
    if (msg.type === 'raft.vote' && (msg.pre || this.inLease())) return false;
    if (msg.type === 'raft.vote_reply' && msg.pre && msg.granted) return false;
    return true;
  }

  isCurrentTerm(msg: RaftMessage): boolean {
    return msg.term === this.term;
  }

  /** We heard from a leader recently: a vote request now would only disrupt a working cluster. */
  inLease(): boolean {
    if (this.role === 'leader') return true;
    return this.leaderId !== undefined && this.env.now() - this.lastLeaderContact < this.config.electionMinMs;
  }

  wouldGrantVote(msg: VoteRequest): boolean {
    if (msg.pre) return msg.term > this.term && this.log.isUpToDate(msg.lastIndex, msg.lastTerm) && !this.inLease();
    if (msg.term !== this.term) return false;
    return (this.votedFor === null || this.votedFor === msg.from) && this.log.isUpToDate(msg.lastIndex, msg.lastTerm);
  }

  /** A leader that committed its own removal from the voters hands over by stepping down. */
  get removedFromVoters(): boolean {
    return !this.isVoter && this.configIndex <= this.commitIndex;
  }

  get hasVoteQuorum(): boolean {
    return this.votes.size >= this.quorum;
  }

  /** Check-quorum: did a quorum of voters answer since the last round? */
  quorumActive(): boolean {
    let active = this.isVoter ? 1 : 0;
    for (const [peer, p] of this.progress) if (p.recentActive && this.membership.voters.includes(peer)) active++;
    return active >= this.quorum;
  }

  /** Start a new check-quorum round. */
  resetActivity(): void {
    for (const p of this.progress.values()) p.recentActive = false;
  }

  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.leaderId ?? null,
      commitIndex: this.commitIndex,
      appliedIndex: this.lastApplied,
      lastIndex: this.log.lastIndex,
      snapshotIndex: this.log.snapshotIndex,
      membership: this.membership,
    };
  }

  // ---- role changes (entry actions) -----------------------------------------------------------------

  adoptTerm(term: number): void {
    this.term = term;
    this.votedFor = null;
    this.leaderId = undefined;
    this.persistHardState();
  }

  becomeFollower(): void {
    if (this.role === 'leader') this.leaveLeadership();
    this.role = 'follower';
    this.votes.clear();
    this.env.onRole?.('follower', this.term);
  }

  startPreVote(): void {
    this.role = 'pre-candidate';
    this.env.onRole?.('pre-candidate', this.term);
    this.leaderId = undefined;
    this.votes = new Set([this.id]);
    this.broadcastVote(true);
  }

  startElection(): void {
    this.role = 'candidate';
    this.term++;
    this.env.onRole?.('candidate', this.term);
    this.votedFor = this.id;
    this.leaderId = undefined;
    this.persistHardState();
    this.votes = new Set([this.id]);
    this.broadcastVote(false);
  }

  becomeLeader(): void {
    this.role = 'leader';
    this.leaderId = this.id;
    this.progress.clear();
    this.syncProgress();
    this.env.onRole?.('leader', this.term);
    this.env.onLeader?.(this.term);
    // A no-op of our own term: commits everything before it and enables ReadIndex (§8).
    this.appendLocal([{ term: this.term, index: this.log.lastIndex + 1, kind: 'noop' }]);
    this.broadcastAppend();
    this.maybeCommit();
  }

  // ---- messages -------------------------------------------------------------------------------------

  handleVote(msg: VoteRequest): void {
    if (!msg.pre && msg.term > this.term) return; // disruptive vote while in lease: ignored
    const granted = this.wouldGrantVote(msg);
    if (granted && !msg.pre) {
      this.votedFor = msg.from;
      this.persistHardState();
    }
    const reply: VoteReply = { type: 'raft.vote_reply', term: granted && msg.pre ? msg.term : this.term, from: this.id, granted, pre: msg.pre };
    this.env.send(msg.from, reply);
  }

  handleVoteReply(msg: VoteReply): void {
    if (!msg.granted) return;
    if (msg.pre && this.role === 'pre-candidate' && msg.term === this.term + 1) this.votes.add(msg.from);
    else if (!msg.pre && this.role === 'candidate' && msg.term === this.term) this.votes.add(msg.from);
  }

  handleAppend(msg: AppendRequest): void {
    if (msg.term < this.term) return this.replyAppend(msg.from, false, 0, msg.seq);
    this.leaderId = msg.from;
    this.lastLeaderContact = this.env.now();
    let prevIndex = msg.prevIndex;
    let entries = msg.entries;
    if (prevIndex < this.log.snapshotIndex) {
      // Entries up to our snapshot are committed, so they match the leader's: skip them.
      entries = entries.filter((e) => e.index > this.log.snapshotIndex);
      if (entries.length === 0) {
        return this.replyAppend(msg.from, true, Math.max(this.log.snapshotIndex, msg.prevIndex), msg.seq);
      }
      prevIndex = this.log.snapshotIndex;
    } else if (this.log.term(prevIndex) !== msg.prevTerm) {
      return this.replyAppend(msg.from, false, this.conflictHint(prevIndex), msg.seq);
    }
    // Skip what we already have; replace from the first conflicting entry on.
    let firstNew = 0;
    while (firstNew < entries.length && this.log.term(entries[firstNew]!.index) === entries[firstNew]!.term) firstNew++;
    if (firstNew < entries.length) {
      const from = entries[firstNew]!.index;
      if (from <= this.commitIndex) {
        throw new Error(`leader ${msg.from} (term ${msg.term}) would overwrite committed entry ${from} (commit ${this.commitIndex})`);
      }
      this.appendLocal(entries.slice(firstNew));
    }
    const lastNew = prevIndex + entries.length;
    const newCommit = Math.min(msg.commit, lastNew);
    if (newCommit > this.commitIndex) {
      this.commitIndex = newCommit;
      this.applyCommitted();
    }
    this.replyAppend(msg.from, true, lastNew, msg.seq);
  }

  handleAppendReply(msg: AppendReply): void {
    if (this.role !== 'leader' || msg.term !== this.term) return;
    const p = this.progress.get(msg.from);
    if (!p) return;
    p.recentActive = true;
    p.inflight = Math.max(0, p.inflight - 1);
    if (msg.seq > p.ackedSeq) {
      p.ackedSeq = msg.seq;
      this.checkReads(msg.from, msg.seq);
    }
    if (msg.success) {
      if (msg.index > p.match) {
        p.match = msg.index;
        p.next = Math.max(p.next, p.match + 1);
        this.maybeCommit();
      }
    } else if (msg.index > p.match) {
      // Rejected: back up to the follower's hint (never below what is known to match).
      p.next = Math.max(p.match + 1, Math.min(msg.index, p.next - 1));
      p.inflight = 0;
    }
    if (msg.success && p.match < p.next - 1 && msg.seq > p.appendSeq + 1) {
      // The follower answered heartbeats sent well after our last entries, yet never acknowledged
      // them: that append (or its reply) was lost. Nothing else would resend it while no new
      // entry is proposed, so rewind to what is known to match and send again.
      p.next = p.match + 1;
      p.inflight = 0;
    }
    this.sendAppend(msg.from);
  }

  handleSnapshot(msg: SnapshotRequest): void {
    if (msg.term < this.term) return this.replyAppend(msg.from, false, 0, msg.seq);
    this.leaderId = msg.from;
    this.lastLeaderContact = this.env.now();
    const s = msg.snapshot;
    if (s.index <= this.commitIndex) return this.replyAppend(msg.from, true, this.commitIndex, msg.seq);
    this.env.storage.saveSnapshot(s);
    this.log.compact(s);
    this.snapshot = s;
    this.env.stateMachine.restore(s.data);
    this.commitIndex = this.lastApplied = s.index;
    this.env.onRestore?.(s.index);
    this.membership = this.membershipAt(this.log.lastIndex) ?? s.membership;
    this.configIndex = this.configIndexAt(this.log.lastIndex);
    this.wakeAppliedWaiters();
    this.replyAppend(msg.from, true, s.index, msg.seq);
  }

  // ---- leader work --------------------------------------------------------------------------------

  broadcastHeartbeat(): void {
    this.seq++;
    for (const peer of this.progress.keys()) this.sendAppend(peer, true);
  }

  /** Propose a command; resolves with the state machine's result once applied here. */
  propose(data: unknown, kind: EntryKind = 'command'): Promise<unknown> {
    if (this.stopped) return Promise.reject(new RaftError('stopped', 'raft peer stopped'));
    if (this.role !== 'leader') return Promise.reject(this.notLeader());
    return new Promise((resolve, reject) => {
      this.proposalBuffer.push({ kind, data, pending: { term: this.term, resolve, reject } });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Group commit: every proposal of this turn goes into one append and one fsync.
        queueMicrotask(() => this.flushProposals());
      }
    });
  }

  /** Add or remove one voter, or add/remove a learner; one change at a time (§4.1 of the thesis). */
  changeMembership(next: Membership): Promise<unknown> {
    if (this.role !== 'leader') return Promise.reject(this.notLeader());
    if (this.configChangePending()) {
      return Promise.reject(new RaftError('config_change_pending', 'a membership change is not committed yet'));
    }
    const before = new Set(this.membership.voters);
    const after = new Set(next.voters);
    const changed = [...before].filter((v) => !after.has(v)).length + [...after].filter((v) => !before.has(v)).length;
    if (changed > 1 || after.size === 0) {
      return Promise.reject(new RaftError('invalid_membership', 'change one voter at a time, and keep at least one'));
    }
    return this.propose({ voters: [...next.voters], learners: [...next.learners] }, 'config');
  }

  /** ReadIndex (§6.4): resolves with an index whose state, once applied here, is linearizable. */
  readIndex(): Promise<number> {
    if (this.role !== 'leader') return Promise.reject(this.notLeader());
    // Until an entry of this term is committed, our commit index may lag the cluster's.
    if (this.log.term(this.commitIndex) !== this.term) {
      return this.waitApplied(this.log.lastIndex).then(() => this.readIndex());
    }
    return new Promise<number>((resolve, reject) => {
      const req: ReadRequest = { index: this.commitIndex, seq: this.seq + 1, acks: new Set([this.id]), resolve, reject };
      if (req.acks.size >= this.quorum) return resolve(req.index);
      this.readRequests.push(req);
      this.broadcastHeartbeat();
    });
  }

  /** Resolves once the entry at `index` has been applied here. */
  waitApplied(index: number): Promise<void> {
    if (this.lastApplied >= index) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  /** Fail everything waiting: the peer is going away. */
  stop(): void {
    this.stopped = true;
    const err = new RaftError('stopped', 'raft peer stopped');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const b of this.proposalBuffer) b.pending.reject(err);
    this.proposalBuffer = [];
    for (const r of this.readRequests) r.reject(err);
    this.readRequests = [];
  }

  // ---- internals ------------------------------------------------------------------------------------

  private flushProposals(): void {
    this.flushScheduled = false;
    const batch = this.proposalBuffer;
    this.proposalBuffer = [];
    if (batch.length === 0) return;
    if (this.role !== 'leader' || this.stopped) {
      for (const b of batch) b.pending.reject(this.notLeader());
      return;
    }
    let index = this.log.lastIndex;
    const entries = batch.map((b): Entry => {
      index++;
      this.pending.set(index, { ...b.pending, term: this.term });
      return b.data === undefined ? { term: this.term, index, kind: b.kind } : { term: this.term, index, kind: b.kind, data: b.data };
    });
    this.appendLocal(entries);
    this.broadcastAppend();
    this.maybeCommit();
  }

  private broadcastVote(pre: boolean): void {
    const msg: VoteRequest = {
      type: 'raft.vote',
      term: pre ? this.term + 1 : this.term,
      from: this.id,
      lastIndex: this.log.lastIndex,
      lastTerm: this.log.lastTerm,
      pre,
    };
    for (const voter of this.membership.voters) if (voter !== this.id) this.env.send(voter, msg);
  }

  private broadcastAppend(): void {
    for (const peer of this.progress.keys()) this.sendAppend(peer);
  }

  /** Send what the follower lacks (pipelined), or a heartbeat, or the snapshot when it fell behind it. */
  private sendAppend(peer: PeerId, heartbeat = false): void {
    const p = this.progress.get(peer);
    if (!p) return;
    if (p.next <= this.log.snapshotIndex) {
      if (this.snapshot && (p.inflight === 0 || heartbeat)) {
        this.env.send(peer, { type: 'raft.snapshot', term: this.term, from: this.id, snapshot: this.snapshot, seq: this.seq });
        p.inflight = this.config.maxInflight;
      }
      return;
    }
    const hasNew = p.next <= this.log.lastIndex;
    if (hasNew && p.inflight < this.config.maxInflight) {
      const entries = this.log.slice(p.next, this.log.lastIndex, this.config.maxBatch);
      this.sendAppendMessage(peer, p.next - 1, entries, this.commitIndex);
      p.next = entries[entries.length - 1]!.index + 1;
      p.inflight++;
      p.appendSeq = this.seq;
      return;
    }
    if (heartbeat) {
      // Anchored at what is known to match, so a heartbeat never needs a retry.
      this.sendAppendMessage(peer, Math.max(p.match, this.log.snapshotIndex), [], Math.min(this.commitIndex, p.match));
    }
  }

  private sendAppendMessage(peer: PeerId, prevIndex: number, entries: Entry[], commit: number): void {
    this.env.send(peer, {
      type: 'raft.append',
      term: this.term,
      from: this.id,
      prevIndex,
      prevTerm: this.log.term(prevIndex)!,
      entries,
      commit,
      seq: this.seq,
    });
  }

  private replyAppend(to: PeerId, success: boolean, index: number, seq: number): void {
    this.env.send(to, { type: 'raft.append_reply', term: this.term, from: this.id, success, index, seq });
  }

  /** Where a leader should retry after a mismatch at prevIndex: skip the whole conflicting term. */
  private conflictHint(prevIndex: number): number {
    if (prevIndex > this.log.lastIndex) return this.log.lastIndex + 1;
    const conflictTerm = this.log.term(prevIndex);
    let i = prevIndex;
    while (i - 1 > Math.max(this.commitIndex, this.log.snapshotIndex) && this.log.term(i - 1) === conflictTerm) i--;
    return Math.max(1, i);
  }

  /** Durable first, then visible: storage appends (fsync) before the in-memory log changes. */
  private appendLocal(entries: Entry[]): void {
    this.env.storage.append(entries);
    this.log.append(entries);
    const config = [...entries].reverse().find((e) => e.kind === 'config');
    // A membership takes effect as soon as it is in the log (single-server changes).
    if (config) {
      this.membership = config.data as Membership;
      this.configIndex = config.index;
    } else if (entries.length > 0 && entries[0]!.index <= this.configIndex) {
      // A follower's conflicting suffix replaced the config entry: fall back to the one before.
      this.membership = this.membershipAt(this.log.lastIndex) ?? this.membership;
      this.configIndex = this.configIndexAt(this.log.lastIndex);
    }
    if (config && this.role === 'leader') this.syncProgress();
  }

  /** The leader replicates to exactly the current members: new ones start from the end and back off. */
  private syncProgress(): void {
    const members = new Set(this.otherMembers());
    for (const peer of this.progress.keys()) if (!members.has(peer)) this.progress.delete(peer);
    for (const peer of members) {
      if (!this.progress.has(peer)) {
        this.progress.set(peer, { next: this.log.lastIndex + 1, match: 0, inflight: 0, recentActive: true, ackedSeq: 0, appendSeq: 0 });
      }
    }
  }

  private maybeCommit(): void {
    if (this.role !== 'leader') return;
    const matches = this.membership.voters.map((v) => (v === this.id ? this.log.lastIndex : (this.progress.get(v)?.match ?? 0)));
    matches.sort((a, b) => b - a);
    const candidate = matches[this.quorum - 1] ?? 0;
    // Only entries of the current term are committed by counting replicas (§5.4.2).
    if (candidate > this.commitIndex && this.log.term(candidate) === this.term) {
      this.commitIndex = candidate;
      this.applyCommitted();
    }
  }

  private applyCommitted(): void {
    while (this.lastApplied < this.commitIndex) {
      const entry = this.log.entry(this.lastApplied + 1);
      if (!entry) break; // covered by a snapshot being installed
      this.lastApplied = entry.index;
      const result = entry.kind === 'command' ? this.env.stateMachine.apply(entry) : undefined;
      this.env.onApply?.(entry, result);
      const p = this.pending.get(entry.index);
      if (p) {
        this.pending.delete(entry.index);
        if (p.term === entry.term) p.resolve(entry.kind === 'config' ? entry.data : result);
        else p.reject(new RaftError('superseded', `entry ${entry.index} was replaced by a newer leader's entry`, this.leaderId));
      }
    }
    this.wakeAppliedWaiters();
    this.maybeSnapshot();
  }

  private wakeAppliedWaiters(): void {
    if (this.appliedWaiters.length === 0) return;
    const ready = this.appliedWaiters.filter((w) => w.index <= this.lastApplied);
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > this.lastApplied);
    for (const w of ready) w.resolve();
  }

  private checkReads(peer: PeerId, seq: number): void {
    if (!this.membership.voters.includes(peer)) return;
    const done: ReadRequest[] = [];
    for (const r of this.readRequests) {
      if (seq >= r.seq) r.acks.add(peer);
      if (r.acks.size >= this.quorum) done.push(r);
    }
    if (done.length === 0) return;
    this.readRequests = this.readRequests.filter((r) => !done.includes(r));
    for (const r of done) r.resolve(r.index);
  }

  private maybeSnapshot(): void {
    if (this.lastApplied - this.log.snapshotIndex < this.config.snapshotThreshold) return;
    const index = this.lastApplied;
    const snapshot: Snapshot = {
      index,
      term: this.log.term(index)!,
      membership: this.membershipAt(index) ?? this.membership,
      data: this.env.stateMachine.snapshot(),
    };
    this.env.storage.saveSnapshot(snapshot);
    this.log.compact(snapshot);
    this.snapshot = snapshot;
  }

  private configIndexAt(index: number): number {
    for (let i = Math.min(index, this.log.lastIndex); i > this.log.snapshotIndex; i--) if (this.log.entry(i)!.kind === 'config') return i;
    return this.log.snapshotIndex;
  }

  /** The membership in force at `index`: the last config entry at or before it, else the snapshot's. */
  private membershipAt(index: number): Membership | undefined {
    for (let i = Math.min(index, this.log.lastIndex); i > this.log.snapshotIndex; i--) {
      const e = this.log.entry(i)!;
      if (e.kind === 'config') return e.data as Membership;
    }
    return this.snapshot?.membership;
  }

  private configChangePending(): boolean {
    for (let i = this.commitIndex + 1; i <= this.log.lastIndex; i++) if (this.log.entry(i)?.kind === 'config') return true;
    return false;
  }

  private otherMembers(): PeerId[] {
    return [...this.membership.voters, ...this.membership.learners].filter((p) => p !== this.id);
  }

  private leaveLeadership(): void {
    this.progress.clear();
    const err = this.notLeader();
    for (const r of this.readRequests) r.reject(err);
    this.readRequests = [];
    // Pending proposals stay: they resolve if a later leader commits them, or fail when replaced.
  }

  private notLeader(): RaftError {
    return this.leaderId && this.leaderId !== this.id
      ? new RaftError('not_leader', `not the leader; the leader is ${this.leaderId}`, this.leaderId)
      : new RaftError('no_leader', 'no leader is known yet');
  }

  private persistHardState(): void {
    const hs: HardState = { term: this.term, votedFor: this.votedFor };
    this.env.storage.saveHardState(hs);
  }
}
