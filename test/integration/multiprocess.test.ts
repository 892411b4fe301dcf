import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { ShoalError } from '../../src/runtime/errors.ts';
import type { ChildInfo } from '../../src/runtime/supervisor.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';
import { connectNatsTransport, type NatsTransport } from '../../src/transport/nats-transport.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import { startNodeProcess, type NodeProcess } from '../support/node-process.ts';

/** Poll a condition with a deadline (real time: these are real processes). */
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('actor systems in separate OS processes over a real nats-server', () => {
  let server: NatsServerHandle;
  let local: ActorSystem;
  const nodes: NodeProcess[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    local = await ActorSystem.start({ nodeId: 'local', nats: { servers: server.url }, logLevel: 'silent' });
    nodes.push(...(await Promise.all(['p1', 'p2'].map((id) => startNodeProcess(server.url, id)))));
    await until(() => local.nodes().includes('p1') && local.nodes().includes('p2'), 'heartbeats from both processes');
  }, 60_000);

  afterAll(async () => {
    await local?.shutdown();
    await Promise.all(nodes.map((n) => n.stop()));
    await server?.stop();
  });

  it('asks and tells between processes, including process to process', async () => {
    const echo = local.ref('shoal://shoal/p1/user/echo');
    expect(await echo.ask({ hello: ['world', 1, true] })).toEqual({ hello: ['world', 1, true] });
    const relay = await local.spawnRemote('p1', 'relay', { name: 'relay' });
    expect(await relay.ask({ to: 'shoal://shoal/p2/user/echo', msg: 'via p1' })).toBe('via p1');
  });

  it('keeps the order of 5,000 tells from one sender', async () => {
    const sink = local.ref('shoal://shoal/p2/user/sink');
    for (let i = 0; i < 5_000; i++) sink.tell(i);
    let stats = { count: 0, inOrder: false };
    await until(async () => {
      stats = await sink.ask<typeof stats>({ type: 'stats' });
      return stats.count === 5_000;
    }, '5,000 tells to arrive');
    expect(stats.inOrder).toBe(true);
  });

  it('spawns a supervised tree in another process, which restarts a crashed child', async () => {
    const tree = await local.spawnRemote('p2', 'tree', { name: 'tree' });
    expect(await local.ref(`${tree.id}/w1`).ask('hi')).toBe('w1:hi');
    const err = await local.ref(`${tree.id}/w1`).ask('crash').catch((e: ShoalError) => e);
    expect((err as ShoalError).type).toBe('actor_failed');
    await until(async () => {
      const children = await tree.ask<ChildInfo[]>({ type: 'which_children' });
      return children.find((c) => c.id === 'w1')?.restarts === 1;
    }, 'w1 to restart');
    expect(await local.ref(`${tree.id}/w1`).ask('again')).toBe('w1:again');
  });

  it('leaves a node running after malformed messages', async () => {
    const raw: NatsTransport = await connectNatsTransport({ servers: server.url });
    try {
      const replies: unknown[] = [];
      raw.subscribe('raw.replies.*', (m) => replies.push(decode(m.data)));
      const garbage = [new Uint8Array([0xc1]), encode('just a string'), encode({ m: 1, extra: 2 }), new Uint8Array(70_000).fill(0xd9)];
      garbage.forEach((g, i) => raw.publish('shoal.shoal.actor.p1.user.echo', g, { reply: `raw.replies.${i}` }));
      raw.publish('shoal.shoal.sys.p1', encode({ op: 'spawn' }), { reply: 'raw.replies.sys' });
      await raw.flush();
      await until(() => replies.length === garbage.length + 1, 'all malformed messages answered');
      for (const r of replies) expect((r as { err: { type: string } }).err.type).toBe('bad_message');
      expect(await local.ref('shoal://shoal/p1/user/echo').ask('still alive')).toBe('still alive');
    } finally {
      await raw.close();
    }
  });

  it('delivers Terminated with node_down when a watched process is SIGKILLed', async () => {
    const victim = await startNodeProcess(server.url, 'victim');
    nodes.push(victim);
    await until(() => local.nodes().includes('victim'), 'heartbeat from the victim');
    const target = await local.spawnRemote('victim', 'crashable', { name: 'target' });
    let terminated: { reason: string; at: number } | undefined;
    local.watch(target, (_ref, reason) => (terminated = { reason, at: Date.now() }));
    expect(await target.ask('ping')).toBe('ping'); // the watch request is ahead of this on the wire
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await until(() => terminated !== undefined, 'Terminated', 10_000);
    expect(terminated!.reason).toBe('node_down');
    console.log(`[multiprocess] Terminated ${terminated!.at - killedAt} ms after SIGKILL`);
    await expect(target.ask('ping', { timeoutMs: 1_000 })).rejects.toMatchObject({ type: 'node_unreachable' });
  });
});
