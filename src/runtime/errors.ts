/**
 * Typed runtime errors. Each has a stable `type` that survives the wire ({type, reason}), so a
 * remote failure is rethrown on the caller as the same class.
 */
export type ShoalErrorType =
  | 'timeout'
  | 'no_such_actor'
  | 'node_unreachable'
  | 'overloaded'
  | 'bad_message'
  | 'unknown_kind'
  | 'name_taken'
  | 'actor_failed'
  | 'system_stopped'
  | 'invalid_argument';

export interface ErrorBody {
  type: string;
  reason: string;
  /** HTTP-like status of API errors (Elasticsearch's `status`), when there is one. */
  status?: number;
}

export class ShoalError extends Error {
  readonly type: ShoalErrorType | string;
  /** HTTP-like status of API errors, when there is one (it travels with the error). */
  status?: number;
  constructor(type: ShoalErrorType | string, reason: string, status?: number) {
    super(reason);
    this.type = type;
    this.name = 'ShoalError';
    if (status !== undefined) this.status = status;
  }
  get reason(): string {
    return this.message;
  }
  toBody(): ErrorBody {
    return this.status === undefined ? { type: this.type, reason: this.message } : { type: this.type, reason: this.message, status: this.status };
  }
}

export class AskTimeoutError extends ShoalError {
  constructor(reason: string) {
    super('timeout', reason);
    this.name = 'AskTimeoutError';
  }
}
export class NoSuchActorError extends ShoalError {
  constructor(reason: string) {
    super('no_such_actor', reason);
    this.name = 'NoSuchActorError';
  }
}
export class NodeUnreachableError extends ShoalError {
  constructor(reason: string) {
    super('node_unreachable', reason);
    this.name = 'NodeUnreachableError';
  }
}
export class OverloadedError extends ShoalError {
  constructor(reason: string) {
    super('overloaded', reason);
    this.name = 'OverloadedError';
  }
}
export class BadMessageError extends ShoalError {
  constructor(reason: string) {
    super('bad_message', reason);
    this.name = 'BadMessageError';
  }
}

/** Rebuild the right error class from a wire body. */
export function errorFromBody(body: ErrorBody): ShoalError {
  switch (body.type) {
    case 'timeout':
      return new AskTimeoutError(body.reason);
    case 'no_such_actor':
      return new NoSuchActorError(body.reason);
    case 'node_unreachable':
      return new NodeUnreachableError(body.reason);
    case 'overloaded':
      return new OverloadedError(body.reason);
    case 'bad_message':
      return new BadMessageError(body.reason);
    default: {
      const err = new ShoalError(body.type, body.reason);
      if (typeof body.status === 'number') err.status = body.status;
      return err;
    }
  }
}

/** Any thrown value as a wire body; non-Shoal errors from user code become `actor_failed`. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ShoalError) return err.toBody();
  if (err instanceof Error) return { type: 'actor_failed', reason: err.message };
  return { type: 'actor_failed', reason: String(err) };
}

/**
 * Thrown by a behaviour to refuse one message: the asker gets the error, the actor is not failed.
 * (Any other thrown error is a failure that the supervisor handles.)
 */
export class Rejection extends ShoalError {
  constructor(type: ShoalErrorType | string, reason: string) {
    super(type, reason);
    this.name = 'Rejection';
  }
}
