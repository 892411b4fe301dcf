/**
 * The client's error: everything a request can fail with, in Elasticsearch's terms. Errors the
 * cluster answered carry its `type`, `reason` and HTTP-like `status`; errors on the way there are
 * `no_responders` (503: no node serves the API), `timeout` (504: no reply in time; the request may
 * or may not have been applied), `connection_closed` (503) and `payload_too_large` (413, checked
 * before sending).
 */
export class ShoalApiError extends Error {
  constructor(
    readonly type: string,
    readonly reason: string,
    readonly status: number,
    /** The op that failed, e.g. `doc.index`. */
    readonly op: string,
    extra: { node?: string; attempts?: number; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(`[${op}] ${type} (${status}): ${reason}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'ShoalApiError';
    this.node = extra.node;
    this.attempts = extra.attempts ?? 1;
    this.details = extra.details;
  }
  /** Fields the server's error had beside type and reason (a script error's `script_stack`, `position`, `caused_by`…). */
  readonly details: Record<string, unknown> | undefined;
  /** The node that answered (the `Shoal-Node` reply header), when one did. */
  readonly node: string | undefined;
  /** How many times the request was sent. */
  attempts: number;

  /** `{error: {type, reason}, status}`, as the server sends it. */
  toJSON(): { error: { type: string; reason: string; [field: string]: unknown }; status: number } {
    return { error: { ...this.details, type: this.type, reason: this.reason }, status: this.status };
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
}
