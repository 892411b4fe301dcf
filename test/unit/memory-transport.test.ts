import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';
import type { TransportMessage } from '../../src/transport/transport.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function setup() {
  const clock = new SimulatedClock();
  const net = new MemoryNetwork({ clock });
  return { clock, net };
}

describe('MemoryTransport', () => {
  it('delivers asynchronously, never inside publish', () => {
    const { clock, net } = setup();
    const a = net.connect('a');
    const got: string[] = [];
    a.subscribe('x.y', (m) => got.push(dec(m.data)));
    a.publish('x.y', enc('hello'));
    expect(got).toEqual([]);
    expect(net.pendingDeliveries()).toBe(1);
    clock.advance(0);
    expect(got).toEqual(['hello']);
    expect(net.pendingDeliveries()).toBe(0);
  });

  it('does not deliver synchronously even with the real clock', async () => {
    const net = new MemoryNetwork();
    const a = net.connect();
    let got = 0;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    a.subscribe('s', () => {
      got++;
      resolve();
    });
    a.publish('s', enc('1'));
    expect(got).toBe(0);
    await done;
    expect(got).toBe(1);
  });

  it('matches wildcards across connections and delivers the same bytes', () => {
    const { clock, net } = setup();
    const a = net.connect('a');
    const b = net.connect('b');
    const log: string[] = [];
    b.subscribe('foo.*', (m) => log.push(`star:${m.subject}`));
    b.subscribe('foo.>', (m) => log.push(`gt:${m.subject}`));
    b.subscribe('foo.bar', (m) => log.push(`exact:${m.subject}`));
    b.subscribe('*.bar.baz', (m) => log.push(`lead:${m.subject}`));
    const payload = enc('p');
    let seen: Uint8Array | undefined;
    b.subscribe('foo.bar', (m) => (seen = m.data));
    a.publish('foo.bar', payload);
    a.publish('foo.bar.baz', enc('q'));
    a.publish('foo', enc('r'));
    a.publish('other.bar', enc('s'));
    clock.advance(0);
    expect(log).toEqual([
      'star:foo.bar',
      'gt:foo.bar',
      'exact:foo.bar',
      'gt:foo.bar.baz',
      'lead:foo.bar.baz',
    ]);
    expect(seen).toBe(payload);
  });

  it('passes reply and origin through; a connection receives its own messages', () => {
    const { clock, net } = setup();
    const a = net.connect('a');
    const got: TransportMessage[] = [];
    a.subscribe('req', (m) => got.push(m));
    a.publish('req', enc('x'), { reply: 'inbox.1', origin: 'node-a' });
    clock.advance(0);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ subject: 'req', reply: 'inbox.1', origin: 'node-a' });
    expect(got[0]!.noResponders).toBeUndefined();
  });

  it('request/reply round trip', () => {
    const { clock, net } = setup();
    const server = net.connect('server');
    const client = net.connect('client');
    server.subscribe('svc.echo', (m) => server.publish(m.reply!, enc(`echo:${dec(m.data)}`)));
    const replies: string[] = [];
    client.subscribe('inbox.client.*', (m) => replies.push(`${m.subject}=${dec(m.data)}`));
    client.publish('svc.echo', enc('hi'), { reply: 'inbox.client.7' });
    clock.advance(0);
    expect(replies).toEqual(['inbox.client.7=echo:hi']);
  });

  it('queue groups: one member per group gets each message, round-robin', () => {
    const { clock, net } = setup();
    const pub = net.connect('pub');
    const w = [net.connect('w0'), net.connect('w1'), net.connect('w2')];
    const byWorker: number[][] = [[], [], []];
    const plain: number[] = [];
    const other: number[] = [];
    w.forEach((t, i) =>
      t.subscribe('jobs.*', (m) => byWorker[i]!.push(Number(dec(m.data))), { queue: 'workers' }),
    );
    pub.subscribe('jobs.>', (m) => plain.push(Number(dec(m.data))));
    pub.subscribe('jobs.run', (m) => other.push(Number(dec(m.data))), { queue: 'auditors' });
    for (let i = 0; i < 9; i++) pub.publish('jobs.run', enc(String(i)));
    clock.advance(0);
    expect(byWorker).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
    expect(plain).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(other).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('queue group member leaving: remaining members get everything', () => {
    const { clock, net } = setup();
    const pub = net.connect();
    const got: string[] = [];
    const s1 = pub.subscribe('q', () => got.push('1'), { queue: 'g' });
    pub.subscribe('q', () => got.push('2'), { queue: 'g' });
    s1.unsubscribe();
    for (let i = 0; i < 3; i++) pub.publish('q', enc(''));
    clock.advance(0);
    expect(got).toEqual(['2', '2', '2']);
  });

  it('no-responders: publish with reply to an unsubscribed subject', () => {
    const { clock, net } = setup();
    const client = net.connect('client');
    const got: TransportMessage[] = [];
    client.subscribe('inbox.c.>', (m) => got.push(m));
    client.publish('nobody.home', enc('x'), { reply: 'inbox.c.1', origin: 'c' });
    // Without reply: nothing at all.
    client.publish('nobody.home', enc('y'));
    clock.advance(0);
    expect(got).toHaveLength(1);
    expect(got[0]!.subject).toBe('inbox.c.1');
    expect(got[0]!.noResponders).toBe(true);
    expect(got[0]!.data.length).toBe(0);
    expect(got[0]!.origin).toBeUndefined();
  });

  it('no no-responders when someone listens (even in a queue group)', () => {
    const { clock, net } = setup();
    const a = net.connect();
    const got: TransportMessage[] = [];
    a.subscribe('svc', () => {}, { queue: 'g' });
    a.subscribe('inbox', (m) => got.push(m));
    a.publish('svc', enc('x'), { reply: 'inbox' });
    clock.advance(0);
    expect(got).toEqual([]);
  });

  it('preserves order of 10,000 messages per publisher per subscription', async () => {
    const { clock, net } = setup();
    const p1 = net.connect('p1');
    const p2 = net.connect('p2');
    const sub = net.connect('sub');
    const from1: number[] = [];
    const from2: number[] = [];
    const all: string[] = [];
    sub.subscribe('data.>', (m) => {
      const [who, n] = dec(m.data).split(':');
      (who === 'p1' ? from1 : from2).push(Number(n));
      all.push(dec(m.data));
    });
    const N = 10_000;
    for (let i = 0; i < N; i++) {
      p1.publish('data.a', enc(`p1:${i}`));
      p2.publish('data.b', enc(`p2:${i}`));
    }
    expect(all).toHaveLength(0);
    const ok = await clock.runUntil(() => all.length === 2 * N);
    expect(ok).toBe(true);
    const seq = Array.from({ length: N }, (_, i) => i);
    expect(from1).toEqual(seq);
    expect(from2).toEqual(seq);
    // The single FIFO bus keeps the global interleaving too.
    expect(all.slice(0, 4)).toEqual(['p1:0', 'p2:0', 'p1:1', 'p2:1']);
  });

  it('messages published from handlers are delivered after already-queued ones', () => {
    const { clock, net } = setup();
    const a = net.connect();
    const log: string[] = [];
    a.subscribe('ping', (m) => {
      log.push(`ping${dec(m.data)}`);
      a.publish('pong', m.data);
    });
    a.subscribe('pong', (m) => log.push(`pong${dec(m.data)}`));
    a.publish('ping', enc('1'));
    a.publish('ping', enc('2'));
    clock.advance(0);
    expect(log).toEqual(['ping1', 'ping2', 'pong1', 'pong2']);
  });

  it('handler exceptions are reported and do not stop delivery', () => {
    const clock = new SimulatedClock();
    const onError = vi.fn();
    const net = new MemoryNetwork({ clock, onError });
    const a = net.connect();
    const got: string[] = [];
    a.subscribe('s', () => {
      throw new Error('bad handler');
    });
    a.subscribe('s', (m) => got.push(dec(m.data)));
    a.publish('s', enc('1'));
    a.publish('s', enc('2'));
    clock.advance(0);
    expect(got).toEqual(['1', '2']);
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('default error reporting goes to console.error', () => {
    const { clock, net } = setup();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const a = net.connect();
      a.subscribe('s', () => {
        throw new Error('x');
      });
      a.publish('s', enc(''));
      clock.advance(0);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('unsubscribe before delivery drops the queued message for that subscription', () => {
    const { clock, net } = setup();
    const a = net.connect();
    const got: string[] = [];
    const s = a.subscribe('s', () => got.push('s'));
    a.publish('s', enc(''));
    s.unsubscribe();
    clock.advance(0);
    expect(got).toEqual([]);
    expect(net.subscriptionCount()).toBe(0);
  });

  it('routes at publish time: a later subscription does not get earlier messages', () => {
    const { clock, net } = setup();
    const a = net.connect();
    const got: string[] = [];
    a.publish('s', enc('early'));
    a.subscribe('s', (m) => got.push(dec(m.data)));
    a.publish('s', enc('late'));
    clock.advance(0);
    expect(got).toEqual(['late']);
  });

  it('close removes subscriptions, resolves closed, and makes publish a no-op', async () => {
    const { clock, net } = setup();
    const a = net.connect('a');
    const b = net.connect('b');
    const gotA: string[] = [];
    const gotB: string[] = [];
    a.subscribe('s', (m) => gotA.push(dec(m.data)));
    a.subscribe('t', () => {});
    b.subscribe('s', (m) => gotB.push(dec(m.data)));
    expect(net.subscriptionCount()).toBe(3);
    a.publish('s', enc('before')); // already on the bus: still reaches b
    let closed = false;
    void a.closed.then(() => (closed = true));
    await a.close();
    await a.close(); // idempotent
    expect(closed).toBe(true);
    expect(net.subscriptionCount()).toBe(1);
    a.publish('s', enc('after'));
    a.subscribe('s', () => gotA.push('zombie'));
    expect(net.subscriptionCount()).toBe(1);
    clock.advance(0);
    expect(gotA).toEqual([]);
    expect(gotB).toEqual(['before']);
  });

  it('kill is an abrupt close', async () => {
    const { clock, net } = setup();
    const a = net.connect('a');
    const b = net.connect('b');
    const got: string[] = [];
    a.subscribe('s', (m) => got.push(`a:${dec(m.data)}`));
    b.subscribe('s', (m) => got.push(`b:${dec(m.data)}`));
    b.publish('s', enc('1'));
    a.kill();
    a.publish('s', enc('2'));
    await a.closed;
    clock.advance(0);
    expect(got).toEqual(['b:1']);
    expect(a.isOpen).toBe(false);
  });

  it('flush resolves without driving the clock', async () => {
    const { net } = setup();
    const a = net.connect();
    a.publish('s', enc(''));
    await expect(a.flush()).resolves.toBeUndefined();
  });
});
