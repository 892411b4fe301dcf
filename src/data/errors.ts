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
