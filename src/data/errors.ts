import { SettingsError } from '../cluster/metadata.ts';

/**
 * An API error in Elasticsearch's shape: `{error: {type, reason}, status}`; `details`: the extra
 * fields some errors carry beside them in `error` (a script error's `script_stack`, `position`…).
 */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    reason: string,
    readonly status = 400,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(reason);
    this.name = 'ApiError';
  }
  get reason(): string {
    return this.message;
  }
}

export const indexNotFound = (index: string) => new ApiError('index_not_found_exception', `no such index [${index}]`, 404);
export const badRequest = (reason: string) => new ApiError('illegal_argument_exception', reason, 400);

/** A request parameter that must be a non-empty string (`what` names it in the error). */
export function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw badRequest(`[${what}] must be a non-empty string`);
  return v;
}

/** Errors on which a write may be retried against the (new) primary: nothing was acknowledged. */
export const RETRYABLE = new Set([
  'timeout',
  'node_unreachable',
  'no_such_actor',
  'not_primary',
  'shard_not_ready',
  'stale_primary_term',
  'shard_failure_not_acknowledged',
  'bad_message',
  'system_stopped',
  'overloaded',
]);

/** Engine errors (parse errors, too many buckets) as API errors with their status. */
export function wrapEngine<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toApiError(err);
  }
}

/** Settings errors as 400 API errors. */
export function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SettingsError) throw new ApiError(err.type, err.message, 400);
    throw err;
  }
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; message?: string; status?: number; details?: unknown };
  const type = typeof e?.type === 'string' ? e.type : 'exception';
  const status =
    typeof e?.status === 'number' ? e.status : type === 'timeout' ? 504 : type.endsWith('not_found_exception') ? 404 : type === 'version_conflict_engine_exception' ? 409 : RETRYABLE.has(type) ? 503 : type.includes('exception') ? 400 : 500;
  // Extra structured fields (a script error's script_stack, position…) go on to the reply.
  const details = typeof e?.details === 'object' && e.details !== null && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : undefined;
  return new ApiError(type, e?.message ?? String(err), status, details);
}
