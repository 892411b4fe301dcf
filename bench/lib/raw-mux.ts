/**
 * Hand-rolled request/reply on raw NATS.js, the way Shoal's ask works: one wildcard inbox
 * subscription, `publish(subject, data, { reply: inbox.<id> })`, a Map of pending requests and a
 * timer per request. A stronger baseline than `nc.request`, whose per-request cost in NATS.js 3.x
 * is dominated by the Error objects it creates for every request (RequestError and TimeoutError
 * for async stack traces, and another RequestError('cancelled') when it cleans up after the reply).
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';

interface Pending {
  resolve(data: Uint8Array): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class RawMuxRequester {
  private readonly prefix: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private next = 0;

  constructor(private readonly nc: NatsConnection, prefix = `bench.mux.${process.pid}.${Date.now().toString(36)}`) {
    this.prefix = prefix;
    const cut = prefix.length + 1;
    this.sub = nc.subscribe(`${prefix}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const id = msg.subject.slice(cut);
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        const data = msg.data;
        if (data.length === 0 && msg.headers?.code === 503) p.reject(new Error('no responders'));
        else p.resolve(data);
      },
    });
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const id = (this.next++).toString(36);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`request to ${subject} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.nc.publish(subject, data, { reply: `${this.prefix}.${id}` });
    });
  }

  /** Make sure the inbox subscription is known to the server before the first request. */
  ready(): Promise<void> {
    return this.nc.flush();
  }

  close(): void {
    this.sub.unsubscribe();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('closed'));
    }
    this.pending.clear();
  }
}
