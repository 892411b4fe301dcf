/**
 * Per-message CPU cost of Shoal's remote tell and ask paths, in one process, without a network: the
 * ActorSystem runs on a transport that only captures, and messages are fed straight into its
 * subscription handlers (optionally through NatsTransport with a stub connection and real NATS.js
 * MsgImpl objects, as the NATS read loop would hand them over). Explains where
 * `npm run bench:runtime`'s ratios go; run it under tsx, as the runtime runs (tsx compiles with
 * esbuild's keepNames, which makes every named closure creation an Object.defineProperty).
 *
 *   npx tsx bench/lib/hot-paths.ts [--n 1000000]
 */
import { parseArgs } from 'node:util';
import { MsgImpl } from '@nats-io/nats-core/internal';
import type { NatsConnection } from '@nats-io/nats-core';
import { validateActorMail } from '../../protocols/runtime.ts';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { receive } from '../../src/runtime/behavior.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import { NatsTransport } from '../../src/transport/nats-transport.ts';
import { subjects } from '../../src/transport/subjects.ts';
import type { MessageHandler, Transport, TransportMessage } from '../../src/transport/transport.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '1000000' } } });
const N = Number(values.n);
const FILLER = 'x'.repeat(64);
const SUBJECT = 'shoal.shoal.actor.peer.user.sink';
const BATCH = 1_000;

/** Captures subscriptions; publish only counts. */
class CaptureTransport implements Transport {
  readonly subs: { subject: string; handler: MessageHandler }[] = [];
  published = 0;
  readonly closed = new Promise<void>(() => {});
  publish(): void {
    this.published++;
  }
  subscribe(subject: string, handler: MessageHandler) {
    this.subs.push({ subject, handler });
    return { unsubscribe() {} };
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  handler(subject: string): MessageHandler {
    const s = this.subs.find((x) => x.subject === subject);
    if (!s) throw new Error(`no subscription on ${subject}`);
    return s.handler;
  }
}

const yieldTurn = () => new Promise<void>((r) => setImmediate(r));

async function timeIt(name: string, n: number, run: (n: number) => Promise<void> | void): Promise<number> {
  await run(Math.min(n, 200_000)); // warm-up
  const t0 = performance.now();
  await run(n);
  const ns = ((performance.now() - t0) * 1e6) / n;
  console.log(`${name.padEnd(64)} ${ns.toFixed(0).padStart(6)} ns/msg`);
  return ns;
}

/** `n` encoded messages laid out back to back in one buffer, like a socket read. */
function wireBuffers(n: number, enc: (i: number) => Uint8Array): Uint8Array[] {
  const parts = Array.from({ length: Math.min(n, 10_000) }, (_, i) => enc(i));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const big = new Uint8Array(total);
  const views: Uint8Array[] = [];
  let off = 0;
  for (const p of parts) {
    big.set(p, off);
    views.push(big.subarray(off, off + p.length));
    off += p.length;
  }
  return views;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${N} messages per case; payload { i, s: 64 x 'x' }\n`);

  // ---- send side ---------------------------------------------------------------------------------
  console.log('send side (client)');
  const clientT = new CaptureTransport();
  const client = await ActorSystem.start({ nodeId: 'client', transport: clientT, logLevel: 'silent', failureDetector: false });
  const sinkRef = client.ref(`shoal://shoal/peer/user/sink`);
  let sink = 0;
  const raw = await timeIt('raw: encode({ i, s })', N, (n) => {
    for (let i = 0; i < n; i++) sink += encode({ i, s: FILLER }).length;
  });
  await timeIt('  subjects.actor(cluster, node, path)', N, (n) => {
    for (let i = 0; i < n; i++) sink += subjects.actor('shoal', 'peer', '/user/sink').length;
  });
  await timeIt('  encode({ m: { i, s } })  (the envelope)', N, (n) => {
    for (let i = 0; i < n; i++) sink += encode({ m: { i, s: FILLER } }).length;
  });
  const tell = await timeIt('shoal: system.tell(remote ref, { i, s }) (transport publish = no-op)', N, (n) => {
    for (let i = 0; i < n; i++) client.tell(sinkRef, { i, s: FILLER });
  });
  console.log(`${'  => runtime overhead per tell, sender'.padEnd(64)} ${(tell - raw).toFixed(0).padStart(6)} ns/msg\n`);

  // ---- receive side -------------------------------------------------------------------------------
  console.log('receive side (peer)');
  const peerT = new CaptureTransport();
  const peer = await ActorSystem.start({ nodeId: 'peer', transport: peerT, logLevel: 'silent', failureDetector: false });
  let told = 0;
  peer.spawn(
    'sink',
    receive((_ctx, msg: { type?: string }) => {
      if (msg?.type === 'count') return told;
      told++;
      return undefined;
    }),
  );
  await yieldTurn();
  const onActorMail = peerT.handler(subjects.actorWildcard('shoal', 'peer'));
  const mails = wireBuffers(N, (i) => encode({ m: { i, s: FILLER } }));
  const raws = wireBuffers(N, (i) => encode({ i, s: FILLER }));

  await timeIt('raw: decode(bytes) (a raw app decoding; the raw bench sink does not)', N, (n) => {
    for (let i = 0; i < n; i++) sink += (decode(raws[i % raws.length]!) as { i: number }).i;
  });
  await timeIt('  validateActorMail(decode(bytes))', N, (n) => {
    for (let i = 0; i < n; i++) sink += validateActorMail(decode(mails[i % mails.length]!)).ok ? 1 : 0;
  });
  const deliver = async (n: number, feed: (i: number) => void) => {
    const target = told + n;
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + BATCH);
      for (; i < end; i++) feed(i);
      // Let the actor drain its mailbox (64 messages per turn) before the next batch.
      while (told < target - (n - i)) await yieldTurn();
    }
    while (told < target) await yieldTurn();
  };
  const shoalRecv = await timeIt('shoal: actor-mail handler -> mailbox -> sink actor', N, (n) =>
    deliver(n, (i) => onActorMail({ subject: SUBJECT, data: mails[i % mails.length]! })),
  );

  // The same through NatsTransport's subscription callback, with NATS.js MsgImpl objects.
  let natsCallback: ((err: Error | null, msg: MsgImpl) => void) | undefined;
  const stubNc = {
    subscribe: (subject: string, opts: { callback: (err: Error | null, msg: MsgImpl) => void }) => {
      if (subject === subjects.actorWildcard('shoal', 'peer2')) natsCallback = opts.callback;
      return { unsubscribe() {} };
    },
    publish() {},
    flush: () => Promise.resolve(),
    closed: () => new Promise(() => {}),
    isClosed: () => false,
    isDraining: () => false,
  } as unknown as NatsConnection;
  const peer2 = await ActorSystem.start({
    nodeId: 'peer2',
    transport: new NatsTransport(stubNc),
    logLevel: 'silent',
    failureDetector: false,
  });
  peer2.spawn(
    'sink',
    receive(() => {
      told++;
      return undefined;
    }),
  );
  await yieldTurn();
  const subjectBytes = new TextEncoder().encode('shoal.shoal.actor.peer2.user.sink');
  const nats = await timeIt('shoal via NatsTransport callback (MsgImpl: subject/reply decode)', N, (n) =>
    deliver(n, (i) => {
      const data = mails[i % mails.length]!;
      natsCallback!(null, new MsgImpl({ subject: subjectBytes, sid: 1, hdr: -1, size: data.length } as never, data, stubNc as never));
    }),
  );
  console.log(`${'  => runtime overhead per tell, receiver (vs. a raw counter)'.padEnd(64)} ${nats.toFixed(0).padStart(6)} ns/msg`);
  console.log(`${'     of which NatsTransport callback + MsgImpl getters'.padEnd(64)} ${(nats - shoalRecv).toFixed(0).padStart(6)} ns/msg`);

  // ---- ask, responder side --------------------------------------------------------------------------
  console.log('\nask, responder side (peer): request in, reply published');
  peer.spawn(
    'echo',
    receive((_ctx, msg) => msg),
  );
  await yieldTurn();
  const echoSubject = 'shoal.shoal.actor.peer.user.echo';
  const replyPrefix = 'shoal.shoal.reply.client.abcdef123456.';
  const replies = Array.from({ length: 1000 }, (_, i) => replyPrefix + i.toString(36));
  const rawEcho = await timeIt('raw app: decode(request) + encode(reply)', N, (n) => {
    for (let i = 0; i < n; i++) sink += encode(decode(raws[i % raws.length]!)).length;
  });
  const askRecv = await timeIt('shoal: actor-mail handler with reply -> echo actor -> reply publish', N, (n) => {
    const target = peerT.published + n;
    for (let i = 0; i < n; i++) onActorMail({ subject: echoSubject, data: mails[i % mails.length]!, reply: replies[i % 1000]! });
    if (peerT.published !== target) throw new Error(`expected ${target} replies, got ${peerT.published}`);
  });
  console.log(`${'  => runtime overhead per ask, responder'.padEnd(64)} ${(askRecv - rawEcho).toFixed(0).padStart(6)} ns/msg`);
  // ActorSystem.remoteReplier builds a replier from closures for every incoming ask. Under tsx
  // (esbuild keepNames) each named closure is wrapped in __name() = Object.defineProperty.
  const closureReplier = (subject: string) => {
    let done = false;
    const send = (v: unknown) => {
      if (v === subject) sink++;
    };
    return {
      get done() {
        return done;
      },
      ok(v: unknown) {
        done = true;
        send(v);
      },
    };
  };
  class ClassReplier {
    done = false;
    constructor(readonly subject: string) {}
    ok(v: unknown) {
      this.done = true;
      if (v === this.subject) sink++;
    }
  }
  await timeIt('  a replier made of closures (as remoteReplier), created + ok()', N, (n) => {
    for (let i = 0; i < n; i++) closureReplier(replies[i % 1000]!).ok(i);
  });
  await timeIt('  the same as a class', N, (n) => {
    for (let i = 0; i < n; i++) new ClassReplier(replies[i % 1000]!).ok(i);
  });

  // ---- ask, requester side ---------------------------------------------------------------------------
  console.log('\nask, requester side (client): ask -> publish, reply in -> promise settles');
  const client2T = new CaptureTransport();
  let lastReply: string | undefined;
  (client2T as Transport).publish = (_subject: string, _data: Uint8Array, opts?: { reply?: string }) => {
    lastReply = opts?.reply;
  };
  const client2 = await ActorSystem.start({ nodeId: 'client2', transport: client2T, logLevel: 'silent', failureDetector: false });
  const replySub = client2T.subs.find((x) => x.subject.startsWith('shoal.shoal.reply.'))!;
  const echoRef = client2.ref('shoal://shoal/peer/user/echo');
  const replyData = encode({ ok: { i: 1, s: FILLER } });
  const oneAsk = async () => {
    const p = client2.ask(echoRef, { i: 1, s: FILLER }, { timeoutMs: 10_000 });
    replySub.handler({ subject: lastReply!, data: replyData });
    await p;
  };
  const askSend = await timeIt('shoal: system.ask + reply handler + await (sequential)', N / 4, async (n) => {
    for (let i = 0; i < n; i++) await oneAsk();
  });
  const rawAsk = await timeIt('raw app equivalent: encode + decode + await a resolved promise', N / 4, async (n) => {
    for (let i = 0; i < n; i++) {
      sink += encode({ i, s: FILLER }).length;
      sink += (decode(raws[i % raws.length]!) as { i: number }).i;
      await Promise.resolve();
    }
  });
  console.log(`${'  => runtime overhead per ask, requester'.padEnd(64)} ${(askSend - rawAsk).toFixed(0).padStart(6)} ns/msg`);
  await client2.shutdown();
  if (sink === 42) console.log('');
  await Promise.all([client.shutdown(), peer.shutdown(), peer2.shutdown()]);
}

await main();
