/**
 * The byte-level messaging the runtime needs, shaped after NATS core: subjects with `*` and `>`
 * wildcards, queue groups, reply subjects and no-responders. NatsTransport and MemoryTransport
 * implement it; FaultyTransport wraps either one to inject faults.
 */
export interface TransportMessage {
  subject: string;
  data: Uint8Array;
  /** Reply subject, when the sender expects an answer. */
  reply?: string;
  /** Set on a status message that tells a requester nobody listens on the subject it published to. */
  noResponders?: boolean;
  /** Node id of the publisher, when the publisher stamped it (fault injection needs it). */
  origin?: string;
}

export interface PublishOptions {
  reply?: string;
  /** Stamp the publisher's node id on the message (carried as a header on NATS). */
  origin?: string;
}

export interface SubscribeOptions {
  queue?: string;
}

export type MessageHandler = (msg: TransportMessage) => void;

export interface Subscription {
  unsubscribe(): void;
}

export interface Transport {
  /**
   * Publish. With `reply` set and nobody subscribed to `subject`, the transport delivers a
   * message with `noResponders: true` to the reply subject (NATS does this for us).
   */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void;
  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Subscription;
  /** Resolves once everything published so far has reached the server (or the in-memory bus). */
  flush(): Promise<void>;
  /** Drain subscriptions, flush and disconnect. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the connection is closed for good, by close() or by losing the server. */
  readonly closed: Promise<void>;
}

/** NATS subject matching: `*` matches one token, `>` matches one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}
