/**
 * The far side of `bench/runtime.bench.ts`: a separate OS process with
 *
 * - an ActorSystem (node `peer` unless told otherwise) holding
 *   - `/user/echo`: replies to an ask with the message itself;
 *   - `/user/sink`: counts tells; answers `{ type: 'count' }` with the count,
 *     `{ type: 'stats' }` with `{ count, maxDepth }` (deepest mailbox seen, sampled) and
 *     `{ type: 'reset' }` by zeroing both (replying with the old count);
 * - its own raw NATS.js connection with
 *   - `bench.raw.echo`: responds with the request's bytes;
 *   - `bench.raw.tell`: counts messages;
 *   - `bench.raw.count`: responds with the count (msgpack number);
 *   - `bench.raw.reset`: zeroes the count (responds with the old one).
 *
 * Usage: runtime-peer.ts <nats-url> [node-id]   (or SHOAL_BENCH_NATS_URL / SHOAL_BENCH_NODE_ID)
 *
 * Prints one line `READY {json}` on stdout once everything is subscribed and flushed, then runs
 * until SIGTERM/SIGINT or until stdin closes (so it never outlives a bench that died).
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ActorSystem } from '../src/runtime/actor-system.ts';
import { receive } from '../src/runtime/behavior.ts';
import { encode } from '../src/transport/codec.ts';
import { RAW_SUBJECTS, type PeerReady } from './lib/raw-subjects.ts';

async function main(): Promise<void> {
  const url = process.argv[2] ?? process.env.SHOAL_BENCH_NATS_URL;
  const nodeId = process.argv[3] ?? process.env.SHOAL_BENCH_NODE_ID ?? 'peer';
  if (!url) {
    console.error('usage: runtime-peer.ts <nats-url> [node-id]');
    process.exit(2);
  }

  let system: ActorSystem | undefined;
  let nc: NatsConnection | undefined;
  let exiting = false;
  const exit = async (code: number, why: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`[peer] exiting: ${why}\n`);
    // Never hang on the way out.
    setTimeout(() => process.exit(code), 3_000).unref();
    await Promise.allSettled([system?.shutdown(), nc?.close()]);
    process.exit(code);
  };
  process.on('SIGTERM', () => void exit(0, 'SIGTERM'));
  process.on('SIGINT', () => void exit(0, 'SIGINT'));
  process.stdin.on('end', () => void exit(0, 'stdin closed'));
  process.stdin.on('error', () => void exit(0, 'stdin error'));
  process.stdin.resume();

  try {
    system = await ActorSystem.start({ nodeId, nats: { servers: url }, logLevel: 'silent' });
    system.on('nodeDown', (node, reason) => {
      if (reason !== 'left') process.stderr.write(`[peer] WARNING: saw node ${node} down (${reason})\n`);
    });
    const echo = system.spawn(
      'echo',
      receive((_ctx, msg) => msg),
    );
    let told = 0;
    // Deepest mailbox seen since the last reset: how close a tell flood comes to the capacity
    // (a remote tell into a full mailbox is dropped).
    let maxDepth = 0;
    const sinkSystem = system;
    const sink = system.spawn(
      'sink',
      receive((_ctx, msg: unknown) => {
        const type = typeof msg === 'object' && msg !== null ? (msg as { type?: unknown }).type : undefined;
        if (type === undefined) {
          told++;
          if ((told & 63) === 0) {
            const depth = sinkSystem.internals.cell('/user/sink')?.mailboxDepth ?? 0;
            if (depth > maxDepth) maxDepth = depth;
          }
          return undefined;
        }
        if (type === 'count') return told;
        if (type === 'stats') return { count: told, maxDepth };
        if (type === 'reset') {
          const old = told;
          told = 0;
          maxDepth = 0;
          return old;
        }
        told++;
        return undefined;
      }),
    );

    nc = await connect({ servers: url, name: `bench-raw-${nodeId}` });
    let rawCount = 0;
    nc.subscribe(RAW_SUBJECTS.echo, {
      callback: (err, msg) => {
        if (!err) msg.respond(msg.data);
      },
    });
    nc.subscribe(RAW_SUBJECTS.tell, {
      callback: (err) => {
        if (!err) rawCount++;
      },
    });
    nc.subscribe(RAW_SUBJECTS.count, {
      callback: (err, msg) => {
        if (!err) msg.respond(encode(rawCount));
      },
    });
    nc.subscribe(RAW_SUBJECTS.reset, {
      callback: (err, msg) => {
        if (err) return;
        const old = rawCount;
        rawCount = 0;
        msg.respond(encode(old));
      },
    });
    nc.closed().then((err) => {
      if (!exiting) void exit(1, `raw connection closed${err ? `: ${(err as Error).message}` : ''}`);
    });
    system.transport.closed.then(() => {
      if (!exiting) void exit(1, 'actor system transport closed');
    });

    await Promise.all([nc.flush(), system.transport.flush()]);
    const ready: PeerReady = { pid: process.pid, node: nodeId, echo: echo.id, sink: sink.id, raw: RAW_SUBJECTS };
    process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
  } catch (err) {
    process.stderr.write(`[peer] failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await exit(1, 'start failure');
  }
}

void main();
