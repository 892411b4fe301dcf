import { afterAll, beforeAll, expect, it } from 'vitest';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { receive } from '../../src/runtime/behavior.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';

let server: NatsServerHandle;
const systems: ActorSystem[] = [];
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await Promise.all(systems.map((s) => s.shutdown()));
  await server?.stop();
});

// A reply over the server's max_payload cannot be published: the asker must hear why at once,
// not wait for its time-out.
it('answers a remote ask whose reply is over max_payload with response_too_large_exception', async () => {
  const a = await ActorSystem.start({ nodeId: 'a', nats: { servers: server.url }, logLevel: 'silent' });
  const b = await ActorSystem.start({ nodeId: 'b', nats: { servers: server.url }, logLevel: 'silent' });
  systems.push(a, b);
  b.spawn('big', receive((ctx, msg) => ctx.reply('x'.repeat(msg as number))));
  const ref = a.ref(`shoal://${b.cluster}/b/user/big`);
  expect(await a.ask(ref, 10, { timeoutMs: 5_000 })).toBe('x'.repeat(10));
  const started = Date.now();
  const err = await a.ask(ref, 2 * 1024 * 1024, { timeoutMs: 30_000 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'response_too_large_exception' });
  expect((err as Error).message).toMatch(/could not be sent/);
  console.log(`[reply-too-large] error after ${Date.now() - started} ms (ask timeout 30 s)`);
});
