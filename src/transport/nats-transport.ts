/**
 * Transport over a NATS core connection (NATS.js v3).
 *
 * - publish: `nc.publish(subject, data, { reply })`; the origin node id rides in a `Shoal-Origin`
 *   header, created only when an origin is given (headers cost on the hot path).
 * - subscribe: callback-style subscriptions (no async iterator, no per-message promise).
 * - no-responders: NATS.js announces `headers` + `no_responders` in CONNECT, so a publish with a
 *   reply subject to a subject nobody listens on makes the server send a status message
 *   (`NATS/1.0 503`, empty body) to the reply subject. It is mapped to `{ noResponders: true }`.
 */
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/nats-core';
import type { Msg, MsgHdrs, NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import type {
  MessageHandler,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  Transport,
  TransportMessage,
} from './transport.ts';

export const ORIGIN_HEADER = 'Shoal-Origin';

export interface NatsConnectOptions {
  servers: string | string[];
  name?: string;
  user?: string;
  pass?: string;
  token?: string;
  authenticator?: unknown;
  tls?: unknown;
  reconnect?: boolean;
  maxReconnectAttempts?: number;
  reconnectTimeWait?: number;
  timeout?: number;
  /** anything else is passed to connect() as is */
  [key: string]: unknown;
}

const NO_RESPONDERS_CODE = 503;

/** A NATS status message (no-responders) carries headers with code 503 and an empty body. */
function isNoResponders(headers: MsgHdrs, data: Uint8Array): boolean {
  return headers.code === NO_RESPONDERS_CODE && data.length === 0;
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}

function isClosedOrDraining(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  return name === 'ClosedConnectionError' || name === 'DrainingConnectionError';
}

export class NatsTransport implements Transport {
  readonly closed: Promise<void>;
  /** The error the connection closed with, if it closed because of one (set once `closed` resolved). */
  closeError: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(readonly nc: NatsConnection) {
    this.closed = nc.closed().then(
      (err) => {
        if (err instanceof Error) this.closeError = err;
      },
      (err: unknown) => {
        this.closeError = err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  /**
   * Publish. On a closed or draining connection the message is dropped silently (like any
   * message lost on the network); other library errors (invalid subject, payload larger than the
   * server's max_payload) are thrown.
   */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    try {
      if (opts === undefined || (opts.reply === undefined && opts.origin === undefined)) {
        this.nc.publish(subject, data);
      } else if (opts.origin === undefined) {
        this.nc.publish(subject, data, { reply: opts.reply });
      } else {
        const h = natsHeaders();
        h.set(ORIGIN_HEADER, opts.origin);
        this.nc.publish(subject, data, opts.reply === undefined ? { headers: h } : { reply: opts.reply, headers: h });
      }
    } catch (err) {
      if (isClosedOrDraining(err)) return;
      throw err;
    }
  }

  /**
   * Subscribe with a callback. The handler sees only messages (never a library error); an
   * exception thrown by the handler is caught, the first one per subscription logged to stderr.
   * Throws when the connection is closed or draining.
   */
  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Subscription {
    let handlerFailures = 0;
    let reportedLibraryError = false;
    const callback = (err: Error | null, msg: Msg): void => {
      if (err) {
        // Permission violation, subscription timeout, ...: not a message. Report once.
        if (!reportedLibraryError) {
          reportedLibraryError = true;
          console.error(`[shoal] nats subscription '${subject}' error: ${describe(err)}`);
        }
        return;
      }
      let tm: TransportMessage;
      try {
        const data = msg.data;
        const hdrs = msg.headers;
        if (hdrs === undefined) {
          const reply = msg.reply;
          tm = reply ? { subject: msg.subject, data, reply } : { subject: msg.subject, data };
        } else if (isNoResponders(hdrs, data)) {
          tm = { subject: msg.subject, data, noResponders: true };
        } else {
          tm = { subject: msg.subject, data };
          const reply = msg.reply;
          if (reply) tm.reply = reply;
          const origin = hdrs.get(ORIGIN_HEADER);
          if (origin) tm.origin = origin;
        }
      } catch (e) {
        // Malformed headers etc.: drop the message rather than break the read loop.
        if (!reportedLibraryError) {
          reportedLibraryError = true;
          console.error(`[shoal] nats subscription '${subject}': could not decode a message: ${describe(e)}`);
        }
        return;
      }
      try {
        handler(tm);
      } catch (e) {
        handlerFailures++;
        if (handlerFailures === 1) {
          console.error(
            `[shoal] handler for nats subscription '${subject}' threw (further errors from this subscription are not logged): ${describe(e)}`,
          );
        }
      }
    };
    const sub: NatsSubscription =
      opts?.queue !== undefined
        ? this.nc.subscribe(subject, { queue: opts.queue, callback })
        : this.nc.subscribe(subject, { callback });
    return {
      unsubscribe() {
        try {
          sub.unsubscribe();
        } catch {
          // closed connection: nothing to undo
        }
      },
    };
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  /** Drain (subscriptions, then pending publishes) and close. Idempotent; never rejects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.nc.isClosed() && !this.nc.isDraining()) {
        try {
          await this.nc.drain();
        } catch {
          // drain failed (e.g. connection lost meanwhile): close hard
          await this.nc.close().catch(() => {});
        }
      }
      await this.closed;
    })();
    return this.closing;
  }
}

/** Connect to NATS and wrap the connection. Options are passed to `connect()` unchanged. */
export async function connectNatsTransport(opts: NatsConnectOptions): Promise<NatsTransport> {
  const nc = await connect(opts as NodeConnectionOptions);
  return new NatsTransport(nc);
}
