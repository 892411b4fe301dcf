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
}

export class ShoalError extends Error {
  readonly type: ShoalErrorType | string;
  constructor(type: ShoalErrorType | string, reason: string) {
    super(reason);
    this.type = type;
    this.name = 'ShoalError';
  }
  get reason(): string {
    return this.message;
  }
  toBody(): ErrorBody {
    return { type: this.type, reason: this.message };
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
    default:
      return new ShoalError(body.type, body.reason);
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
