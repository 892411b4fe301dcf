import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';
import { connectNatsTransport, NatsTransport } from '../../src/transport/nats-transport.ts';
import type { TransportMessage } from '../../src/transport/transport.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let server: NatsServerHandle;
const open: NatsTransport[] = [];

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function transport(url = server.url, extra: Record<string, unknown> = {}): Promise<NatsTransport> {
  const t = await connectNatsTransport({ servers: url, ...extra });
  open.push(t);
  return t;
}

describe('NatsTransport', () => {
  it('exposes the raw connection', async () => {
    const t = await transport(server.url, { name: 'raw-access' });
    expect(t.nc.isClosed()).toBe(false);
    expect(t.nc.getServer()).toContain(String(server.port));
  });

  it('delivers by subject with * and > wildcards', async () => {
    const pub = await transport();
    const sub = await transport();
    const star: string[] = [];
    const gt: string[] = [];
    const exact: string[] = [];
    sub.subscribe('w.*', (m) => star.push(m.subject));
    sub.subscribe('w.>', (m) => gt.push(m.subject));
    sub.subscribe('w.a.b', (m) => exact.push(m.subject));
    await sub.flush();

    for (const s of ['w', 'w.a', 'w.a.b', 'w.a.b.c', 'x.a', 'ww.a']) pub.publish(s, enc.encode(s));
    // Same publisher, same subscriber connection: once the marker (matched by both wildcard subs)
    // has arrived, everything published before it has too.
    pub.publish('w.end', enc.encode('end'));
    await waitFor(() => star.includes('w.end') && gt.includes('w.end'), 'the end marker');

    expect(star).toEqual(['w.a', 'w.end']);
    expect(gt).toEqual(['w.a', 'w.a.b', 'w.a.b.c', 'w.end']);
    expect(exact).toEqual(['w.a.b']);
  });

  it('passes payload bytes through unchanged', async () => {
    const t = await transport();
    const got: TransportMessage[] = [];
    t.subscribe('bytes', (m) => got.push(m));
    await t.flush();
    const payload = new Uint8Array(70_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    t.publish('bytes', payload);
    t.publish('bytes', new Uint8Array(0));
    await waitFor(() => got.length === 2, 'two messages');
    expect(Buffer.from(got[0]!.data).equals(Buffer.from(payload))).toBe(true);
    expect(got[1]!.data.length).toBe(0);
    expect(got[0]!.reply).toBeUndefined();
    expect(got[0]!.origin).toBeUndefined();
    expect(got[0]!.noResponders).toBeUndefined();
  });

  it('a queue group delivers each message to exactly one of two subscribers', async () => {
    const pub = await transport();
    const subA = await transport();
    const subB = await transport();
    const a: number[] = [];
    const b: number[] = [];
    let markerA = false;
    let markerB = false;
    subA.subscribe('q.work', (m) => a.push(Number(dec.decode(m.data))), { queue: 'workers' });
    subB.subscribe('q.work', (m) => b.push(Number(dec.decode(m.data))), { queue: 'workers' });
    subA.subscribe('q.marker.a', () => (markerA = true));
    subB.subscribe('q.marker.b', () => (markerB = true));
    await Promise.all([subA.flush(), subB.flush()]);

    const N = 1000;
    for (let i = 0; i < N; i++) pub.publish('q.work', enc.encode(String(i)));
    // Per-connection ordering: when each subscriber has its marker, every queue message the server
    // routed to it has already been delivered, so duplicates would be visible now.
    pub.publish('q.marker.a', new Uint8Array(0));
    pub.publish('q.marker.b', new Uint8Array(0));
    await waitFor(() => markerA && markerB, 'both markers');

    expect(a.length + b.length).toBe(N);
    expect(new Set([...a, ...b]).size).toBe(N);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
  });

  it('a reply subject carries the answer back', async () => {
    const requester = await transport();
    const responder = await transport();
    responder.subscribe('svc.echo', (m) => {
      if (m.reply) responder.publish(m.reply, enc.encode(`echo:${dec.decode(m.data)}`));
    });
    await responder.flush();
    const replies: TransportMessage[] = [];
    requester.subscribe('_INBOX.test.1', (m) => replies.push(m));
    await requester.flush();
    requester.publish('svc.echo', enc.encode('hi'), { reply: '_INBOX.test.1' });
    await waitFor(() => replies.length === 1, 'the reply');
    expect(dec.decode(replies[0]!.data)).toBe('echo:hi');
    expect(replies[0]!.noResponders).toBeUndefined();
    expect(replies[0]!.subject).toBe('_INBOX.test.1');
  });

  it('publishing with a reply to a subject nobody listens on delivers noResponders', async () => {
    const t = await transport();
    const replies: TransportMessage[] = [];
    t.subscribe('_INBOX.test.2', (m) => replies.push(m));
    await t.flush();
    t.publish('nobody.listens.here', enc.encode('anyone?'), { reply: '_INBOX.test.2' });
    // With an origin, too (headers on the request must not change the status reply).
    t.publish('nobody.listens.here', enc.encode('anyone?'), { reply: '_INBOX.test.2', origin: 'node-x' });
    await waitFor(() => replies.length === 2, 'two no-responders statuses');
    for (const r of replies) {
      expect(r.noResponders).toBe(true);
      expect(r.subject).toBe('_INBOX.test.2');
      expect(r.data.length).toBe(0);
      expect(r.reply).toBeUndefined();
    }
  });

  it('a publish without reply to a subject nobody listens on produces nothing', async () => {
    const t = await transport();
    const inbox: TransportMessage[] = [];
    t.subscribe('_INBOX.test.3', (m) => inbox.push(m));
    t.subscribe('_INBOX.test.3.done', (m) => inbox.push(m));
    await t.flush();
    t.publish('nobody.listens.there', enc.encode('x'));
    t.publish('_INBOX.test.3.done', enc.encode('done'));
    await waitFor(() => inbox.length >= 1, 'the done marker');
    expect(inbox.map((m) => m.subject)).toEqual(['_INBOX.test.3.done']);
  });

  it('round-trips the origin header', async () => {
    const pub = await transport();
    const sub = await transport();
    const got: TransportMessage[] = [];
    sub.subscribe('o.>', (m) => got.push(m));
    await sub.flush();
    pub.publish('o.1', enc.encode('one'), { origin: 'node-a' });
    pub.publish('o.2', enc.encode('two'));
    pub.publish('o.3', enc.encode('three'), { origin: 'node-b', reply: 'o.reply' });
    await waitFor(() => got.length === 3, 'three messages');
    expect(got.map((m) => [m.subject, dec.decode(m.data), m.origin, m.reply])).toEqual([
      ['o.1', 'one', 'node-a', undefined],
      ['o.2', 'two', undefined, undefined],
      ['o.3', 'three', 'node-b', 'o.reply'],
    ]);
  });

  it('keeps the order of 10,000 messages from one publisher', async () => {
    const pub = await transport();
    const sub = await transport();
    const N = 10_000;
    const seen: number[] = [];
    sub.subscribe('ord', (m) => seen.push(new DataView(m.data.buffer, m.data.byteOffset, 4).getUint32(0)));
    await sub.flush();
    for (let i = 0; i < N; i++) {
      const buf = new Uint8Array(16);
      new DataView(buf.buffer).setUint32(0, i);
      pub.publish('ord', buf);
    }
    await pub.flush();
    await waitFor(() => seen.length >= N, `${N} messages`, 15_000);
    expect(seen.length).toBe(N);
    let inOrder = true;
    for (let i = 0; i < N; i++) if (seen[i] !== i) inOrder = false;
    expect(inOrder).toBe(true);
  });

  it('unsubscribe stops delivery', async () => {
    const t = await transport();
    const got: string[] = [];
    const done: string[] = [];
    const sub = t.subscribe('u.x', (m) => got.push(dec.decode(m.data)));
    t.subscribe('u.done', (m) => done.push(dec.decode(m.data)));
    await t.flush();
    t.publish('u.x', enc.encode('1'));
    await waitFor(() => got.length === 1, 'the first message');
    sub.unsubscribe();
    t.publish('u.x', enc.encode('2'));
    t.publish('u.done', enc.encode('done'));
    await waitFor(() => done.length === 1, 'the done marker');
    expect(got).toEqual(['1']);
    sub.unsubscribe(); // twice is harmless
  });

  it('a throwing handler is logged once and does not stop delivery', async () => {
    const errSpy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const t = await transport();
      const got: number[] = [];
      const other: number[] = [];
      t.subscribe('boom', (m) => {
        const n = Number(dec.decode(m.data));
        got.push(n);
        if (n % 2 === 0) throw new Error(`handler failure ${n}`);
      });
      t.subscribe('boom', (m) => other.push(Number(dec.decode(m.data))));
      await t.flush();
      for (let i = 0; i < 10; i++) t.publish('boom', enc.encode(String(i)));
      await waitFor(() => got.length === 10 && other.length === 10, 'all messages on both subscriptions');
      expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(errSpy).toHaveBeenCalledTimes(1);
      expect(String(errSpy.mock.calls[0]![0])).toContain('handler failure 0');
      // The connection is still healthy.
      await t.flush();
      expect(t.nc.isClosed()).toBe(false);
    } finally {
      errSpy.mockRestore();
    }
  });

  it('flush resolves after the server has seen the publishes', async () => {
    const t = await transport();
    const got: string[] = [];
    t.subscribe('f.x', (m) => got.push(dec.decode(m.data)));
    await t.flush();
    t.publish('f.x', enc.encode('a'));
    await t.flush();
    // The server processed the publish before answering the PING, and sent the MSG before the PONG.
    expect(got).toEqual(['a']);
  });

  it('close() is idempotent, drains, and resolves closed', async () => {
    const t = await connectNatsTransport({ servers: server.url });
    const observer = await transport();
    const got: string[] = [];
    observer.subscribe('c.x', (m) => got.push(dec.decode(m.data)));
    await observer.flush();

    let closedResolved = false;
    void t.closed.then(() => (closedResolved = true));
    t.publish('c.x', enc.encode('before-close'));
    const p1 = t.close();
    const p2 = t.close();
    await Promise.all([p1, p2]);
    await t.close();
    await t.closed;
    expect(closedResolved).toBe(true);
    expect(t.nc.isClosed()).toBe(true);
    expect(t.closeError).toBeUndefined();
    // Drain flushed the pending publish.
    await waitFor(() => got.length === 1, 'the publish made before close');
    expect(got).toEqual(['before-close']);
    // Publishing on a closed transport drops the message instead of throwing.
    expect(() => t.publish('c.x', enc.encode('after'))).not.toThrow();
    await expect(t.flush()).rejects.toThrow();
  });

  it('closed resolves when the server goes away (no reconnect)', async () => {
    const own = await startNatsServer();
    try {
      const t = await connectNatsTransport({ servers: own.url, reconnect: false });
      let closed = false;
      void t.closed.then(() => (closed = true));
      await t.flush();
      expect(closed).toBe(false);
      own.kill('SIGKILL');
      await waitFor(() => closed, 'closed to resolve after the server died');
      expect(t.nc.isClosed()).toBe(true);
      await t.close(); // still fine
    } finally {
      await own.stop();
    }
  });

  it('invalid subjects are reported to the publisher', async () => {
    const t = await transport();
    expect(() => t.publish('', enc.encode('x'))).toThrow();
  });
});
