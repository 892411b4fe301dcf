import { encode, encodeMail } from '../transport/codec.ts';
import type { Transport } from '../transport/transport.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { Replier } from './context.ts';
import { errorFromBody, ShoalError, toErrorBody, type ErrorBody } from './errors.ts';

// Classes rather than closures: one is made per ask, on the hot path.

/** Answers an ask that came over the network by publishing on its reply subject. */
export class RemoteReplier implements Replier {
  done = false;

  constructor(
    private readonly transport: Transport,
    private readonly subject: string,
  ) {}

  ok(value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.send({ ok: value });
  }

  error(err: ErrorBody | Error): void {
    if (this.done) return;
    this.done = true;
    this.send({ err: err instanceof Error ? toErrorBody(err) : err });
  }

  private send(body: { ok: unknown } | { err: ErrorBody }): void {
    let data: Uint8Array;
    try {
      data = encodeMail(body);
    } catch (err) {
      data = encode({ err: { type: 'bad_message', reason: `reply is not serialisable: ${(err as Error).message}` } });
    }
    try {
      this.transport.publish(this.subject, data);
    } catch (err) {
      // Most often a reply over the server's max_payload: the asker gets a typed error, not a time-out.
      const reason = `reply of ${data.byteLength} bytes could not be sent: ${(err as Error).message}`;
      this.transport.publish(this.subject, encode({ err: { type: 'response_too_large_exception', reason } }));
    }
  }
}

/** Answers an ask between actors of one system: settles the asker's promise, with a deadline. */
export class LocalReplier implements Replier {
  done = false;
  private readonly timer: TimerHandle;

  constructor(
    private readonly clock: Clock,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (err: Error) => void,
    timeoutMs: number,
    onTimeout: () => Error,
  ) {
    this.timer = clock.setTimeout(() => {
      if (this.done) return;
      this.done = true;
      reject(onTimeout());
    }, timeoutMs);
  }

  ok(value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.resolve(value);
  }

  error(err: ErrorBody | Error): void {
    if (this.done) return;
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.reject(
      err instanceof ShoalError ? err : err instanceof Error ? new ShoalError('actor_failed', err.message) : errorFromBody(err),
    );
  }
}
