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

/**
 * Elasticsearch's implicit tiebreaker of point-in-time searches: every sort ends with
 * `_shard_doc`, a number unique to a doc in the point in time (shard ordinal · 2^32 + the doc's
 * `_doc` in the shard's reader), so pages with `search_after` neither skip nor repeat a doc
 * whose sort values tie with another's. Shards sort by `_doc`; the coordinator composes.
 */
const SHARD_DOC_STRIDE = 2 ** 32;

/** The body with `_doc` appended to its sort (the default sort being `_score`). */
export function withShardDocTiebreaker(body: Record<string, unknown>): Record<string, unknown> {
  const sort = body.sort === undefined ? ['_score'] : Array.isArray(body.sort) ? body.sort : [body.sort];
  const names = sort.map((s) => (typeof s === 'string' ? s : s !== null && typeof s === 'object' ? Object.keys(s)[0] : undefined));
  if (names.includes('_shard_doc')) throw badRequest('[_shard_doc] is added to a point-in-time search by itself: leave it out of [sort]');
  return { ...body, sort: [...sort, { _doc: 'asc' }] };
}

export function shardDoc(ordinal: number, doc: number): number {
  return ordinal * SHARD_DOC_STRIDE + doc;
}

/**
 * A point-in-time search_after for the shard at `ordinal`: its last value, a `_shard_doc`, becomes
 * the `_doc` to start after on that shard (before it: all of its ties; after it: none of them).
 */
export function shardSearchAfter(after: readonly unknown[], ordinal: number): unknown[] {
  const composite = after.at(-1);
  if (typeof composite !== 'number' || !Number.isSafeInteger(composite) || composite < 0) {
    throw badRequest('the last [search_after] value of a point-in-time search is its [_shard_doc] tiebreaker: a non-negative integer from the last hit\'s sort');
  }
  const shard = Math.floor(composite / SHARD_DOC_STRIDE);
  const doc = composite - shard * SHARD_DOC_STRIDE;
  return [...after.slice(0, -1), ordinal < shard ? Number.MAX_SAFE_INTEGER : ordinal > shard ? -1 : doc];
}
