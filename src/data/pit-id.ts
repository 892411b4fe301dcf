/**
 * A point in time's id: per shard, the copy and the reader it opened there, as base64url JSON.
 * The client holds it and sends it back; a malformed one is a 400, never a crash.
 */
import { timeValueMs } from '../engine/time-value.ts';
import { ApiError, badRequest } from './errors.ts';

/** What a point in time's id holds: per shard, the copy and the reader it opened there. */
export interface PitShard {
  index: string;
  uuid: string;
  shard: number;
  node: string;
  allocationId: string;
  reader: string;
}

const PIT_ID_VERSION = 1;
/** Elasticsearch's search.max_keep_alive default. */
const MAX_PIT_KEEP_ALIVE_MS = 24 * 3_600_000;

export function encodePit(shards: PitShard[]): string {
  return Buffer.from(JSON.stringify({ v: PIT_ID_VERSION, shards })).toString('base64url');
}

export function decodePit(id: unknown): PitShard[] {
  const bad = () => new ApiError('illegal_argument_exception', 'the point in time id is malformed', 400);
  if (typeof id !== 'string' || id === '') throw bad();
  let decoded: { v?: unknown; shards?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    throw bad();
  }
  const shards = decoded?.shards;
  if (decoded?.v !== PIT_ID_VERSION || !Array.isArray(shards)) throw bad();
  for (const s of shards) {
    const ok = typeof s === 'object' && s !== null && ['index', 'uuid', 'node', 'allocationId', 'reader'].every((k) => typeof (s as Record<string, unknown>)[k] === 'string') && Number.isInteger((s as PitShard).shard);
    if (!ok) throw bad();
  }
  return shards as PitShard[];
}

/** A keep_alive: a time value (`"5m"`) or milliseconds, at most a day. */
export function keepAliveMs(v: unknown): number {
  const ms = typeof v === 'number' ? v : typeof v === 'string' ? timeValueMs(v) : undefined;
  if (ms === undefined || !(ms > 0) || ms > MAX_PIT_KEEP_ALIVE_MS) throw badRequest(`[keep_alive] must be a time value such as "5m" (or milliseconds), at most ${MAX_PIT_KEEP_ALIVE_MS / 3_600_000}h; got [${String(v)}]`);
  return ms;
}
