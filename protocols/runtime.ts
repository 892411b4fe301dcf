/**
 * Runtime protocol v1: every message the actor runtime sends over NATS.
 *
 * Actor mail   `shoal.<c>.actor.<node>.<path>`  ActorMail      (NATS reply subject set = ask)
 * Replies      `shoal.<c>.reply.<node>.<inc>.<id>`  Reply
 * System       `shoal.<c>.sys.<node>`           SysRequest     (reply subject set when answered)
 * Heartbeats   `shoal.<c>.hb.<node>`            Heartbeat
 *
 * Keys are short because they are on every message. Validation is hand-written: it runs on the
 * hot path and checks only shape, never user payloads.
 */
import type { ErrorBody } from '../src/runtime/errors.ts';

export const RUNTIME_PROTOCOL_VERSION = 1;

/** Mail for an actor. `m`: the message; `f`: sender ref id, when the sender is an actor. */
export interface ActorMail {
  m: unknown;
  f?: string;
}

export type Reply = { ok: unknown } | { err: ErrorBody };

export type SysRequest =
  | { op: 'watch'; target: string; watcher: string }
  | { op: 'unwatch'; target: string; watcher: string }
  | { op: 'terminated'; ref: string; watcher: string; reason: string }
  | { op: 'spawn'; kind: string; name?: string; input?: unknown; parent?: string }
  | { op: 'lookup'; name: string }
  /** Stop an actor under /user on the receiving node (system actors are not stopped from outside). */
  | { op: 'stop'; target: string }
  | { op: 'ping' };

export interface Heartbeat {
  /** node id */
  n: string;
  /** incarnation: changes every time the node's system starts */
  i: string;
  /** true on the last heartbeat of a node shutting down gracefully */
  l?: boolean;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 1024;

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) return `unknown field '${k}'`;
  return undefined;
}

export function validateActorMail(v: unknown): Validation<ActorMail> {
  if (!isObject(v)) return { ok: false, reason: 'actor mail must be a map' };
  if (!('m' in v)) return { ok: false, reason: "actor mail lacks field 'm'" };
  if (v.f !== undefined && !isString(v.f)) return { ok: false, reason: "field 'f' must be an actor ref id" };
  const extra = onlyKeys(v, ['m', 'f']);
  if (extra) return { ok: false, reason: extra };
  return { ok: true, value: v as unknown as ActorMail };
}

export function validateReply(v: unknown): Validation<Reply> {
  if (!isObject(v)) return { ok: false, reason: 'reply must be a map' };
  if ('ok' in v) return { ok: true, value: v as Reply };
  const err = v.err;
  if (isObject(err) && typeof err.type === 'string' && typeof err.reason === 'string') {
    // API errors carry an HTTP-like status (Elasticsearch's error shape); keep it when it is a number.
    const status = typeof err.status === 'number' && Number.isInteger(err.status) ? { status: err.status } : {};
    return { ok: true, value: { err: { type: err.type, reason: err.reason, ...status } } };
  }
  return { ok: false, reason: "reply needs 'ok' or 'err: {type, reason}'" };
}

const SYS_FIELDS: Record<SysRequest['op'], { required: string[]; optional: string[] }> = {
  watch: { required: ['target', 'watcher'], optional: [] },
  unwatch: { required: ['target', 'watcher'], optional: [] },
  terminated: { required: ['ref', 'watcher', 'reason'], optional: [] },
  spawn: { required: ['kind'], optional: ['name', 'input', 'parent'] },
  lookup: { required: ['name'], optional: [] },
  stop: { required: ['target'], optional: [] },
  ping: { required: [], optional: [] },
};

export function validateSysRequest(v: unknown): Validation<SysRequest> {
  if (!isObject(v)) return { ok: false, reason: 'system request must be a map' };
  const op = v.op;
  if (typeof op !== 'string' || !(op in SYS_FIELDS)) return { ok: false, reason: `unknown op ${JSON.stringify(op)}` };
  const spec = SYS_FIELDS[op as SysRequest['op']];
  for (const k of spec.required) if (!isString(v[k])) return { ok: false, reason: `op '${op}' needs string field '${k}'` };
  for (const k of ['name', 'parent']) {
    if (spec.optional.includes(k) && v[k] !== undefined && !isString(v[k])) {
      return { ok: false, reason: `field '${k}' must be a string` };
    }
  }
  const extra = onlyKeys(v, ['op', ...spec.required, ...spec.optional]);
  if (extra) return { ok: false, reason: extra };
  return { ok: true, value: v as unknown as SysRequest };
}

export function validateHeartbeat(v: unknown): Validation<Heartbeat> {
  if (!isObject(v) || !isString(v.n) || !isString(v.i)) return { ok: false, reason: 'heartbeat needs n and i' };
  if (v.l !== undefined && typeof v.l !== 'boolean') return { ok: false, reason: "field 'l' must be boolean" };
  return { ok: true, value: v as unknown as Heartbeat };
}
