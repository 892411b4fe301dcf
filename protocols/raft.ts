/**
 * Raft protocol v1: the messages raft-peer actors exchange (as actor mail, msgpack).
 * Every message carries the sender's term and id.
 */
import type { Entry, PeerId, Snapshot } from '../src/raft/types.ts';
import type { Validation } from './runtime.ts';

export const RAFT_PROTOCOL_VERSION = 1;

/** RequestVote; `pre` marks a pre-vote, whose term is the one the candidate would campaign in. */
export interface VoteRequest {
  type: 'raft.vote';
  term: number;
  from: PeerId;
  lastIndex: number;
  lastTerm: number;
  pre: boolean;
}

export interface VoteReply {
  type: 'raft.vote_reply';
  term: number;
  from: PeerId;
  granted: boolean;
  pre: boolean;
}

/** AppendEntries; an empty `entries` is a heartbeat. `seq` lets ReadIndex count acknowledgements. */
export interface AppendRequest {
  type: 'raft.append';
  term: number;
  from: PeerId;
  prevIndex: number;
  prevTerm: number;
  entries: Entry[];
  commit: number;
  seq: number;
}

export interface AppendReply {
  type: 'raft.append_reply';
  term: number;
  from: PeerId;
  success: boolean;
  /** On success: the last index now known to match. On failure: where the leader should retry. */
  index: number;
  seq: number;
}

export interface SnapshotRequest {
  type: 'raft.snapshot';
  term: number;
  from: PeerId;
  snapshot: Snapshot;
  seq: number;
}

export type RaftMessage = VoteRequest | VoteReply | AppendRequest | AppendReply | SnapshotRequest;

const TYPES = new Set(['raft.vote', 'raft.vote_reply', 'raft.append', 'raft.append_reply', 'raft.snapshot']);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Shape check of the fields every Raft message has and of the numbers the rules rely on. */
export function validateRaftMessage(v: unknown): Validation<RaftMessage> {
  if (typeof v !== 'object' || v === null) return { ok: false, reason: 'raft message must be a map' };
  const m = v as Record<string, unknown>;
  if (typeof m.type !== 'string' || !TYPES.has(m.type)) return { ok: false, reason: `unknown raft message ${JSON.stringify(m.type)}` };
  if (!isCount(m.term)) return { ok: false, reason: 'term must be a non-negative integer' };
  if (typeof m.from !== 'string' || m.from.length === 0) return { ok: false, reason: 'from must be a peer id' };
  const counts: Record<string, string[]> = {
    'raft.vote': ['lastIndex', 'lastTerm'],
    'raft.vote_reply': [],
    'raft.append': ['prevIndex', 'prevTerm', 'commit', 'seq'],
    'raft.append_reply': ['index', 'seq'],
    'raft.snapshot': ['seq'],
  };
  for (const k of counts[m.type]!) if (!isCount(m[k])) return { ok: false, reason: `${k} must be a non-negative integer` };
  if (m.type === 'raft.append' && !Array.isArray(m.entries)) return { ok: false, reason: 'entries must be an array' };
  if (m.type === 'raft.snapshot' && (typeof m.snapshot !== 'object' || m.snapshot === null)) {
    return { ok: false, reason: 'snapshot must be a map' };
  }
  return { ok: true, value: m as unknown as RaftMessage };
}
