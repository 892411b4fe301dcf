import { describe, expect, it } from 'vitest';
import { DEFAULT_HEARTBEAT_TIMEOUT_MS } from '../../src/runtime/failure-detector.ts';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { receive } from '../../src/runtime/behavior.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import { ShoalError } from '../../src/runtime/errors.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { startNatsServer } from '../../src/testing/nats-server.ts';
import { FaultPlan, FaultyTransport } from '../../src/transport/faults.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';
import { connectNatsTransport } from '../../src/transport/nats-transport.ts';

/** Three nodes on the in-memory network, every link through one seeded fault plan. */
async function simulatedCluster(seed: number, rates: ConstructorParameters<typeof FaultPlan>[0] = { seed }) {
  const clock = new SimulatedClock({ start: 0 });
  const network = new MemoryNetwork({ clock });
  const plan = new FaultPlan({ ...rates, seed });
  const systems: Record<string, ActorSystem> = {};
  for (const id of ['a', 'b', 'c']) {
    const transport = new FaultyTransport(network.connect(id), id, plan, clock);
    const starting = ActorSystem.start({ nodeId: id, transport, clock, logLevel: 'silent' });
    let started: ActorSystem | undefined;
    void starting.then((s) => (started = s));
    await clock.runUntil(() => started !== undefined, { maxTimeMs: 1_000 });
    systems[id] = started!;
  }
  return { clock, plan, systems, halt: () => Object.values(systems).forEach((s) => s.halt()) };
}

/** A workload of asks with retries under faults; returns a trace of what happened when. */
async function runWorkload(seed: number): Promise<string[]> {
  const { clock, systems, halt } = await simulatedCluster(seed, {
    seed,
    dropRate: 0.1,
    duplicateRate: 0.05,
    delayRate: 0.3,
    minDelayMs: 1,
    maxDelayMs: 40,
  });
  const trace: string[] = [];
  const counter = (() => {
    let n = 0;
    return receive(() => ++n);
  })();
  systems.b!.spawn('counter', counter);
  const target = systems.a!.ref('shoal://shoal/b/user/counter');
  let done = false;
  void (async () => {
    for (let i = 0; i < 100; i++) {
      try {
        const v = await target.ask<number>(i, { timeoutMs: 50 });
        trace.push(`${clock.now()} ok ${i} -> ${v}`);
      } catch (err) {
        trace.push(`${clock.now()} ${(err as ShoalError).type} ${i}`);
      }
    }
    done = true;
  })();
  await clock.runUntil(() => done, { maxTimeMs: 60_000 });
  halt();
  return trace;
}

describe('fault injection through the runtime', () => {
  it('replays a seeded faulty run exactly, and another seed differs', async () => {
    const seed = 20261125;
    const first = await runWorkload(seed);
    const second = await runWorkload(seed);
    const other = await runWorkload(seed + 1);
    expect(first.length, `seed ${seed}`).toBe(100);
    expect(second, `seed ${seed} did not replay`).toEqual(first);
    expect(other).not.toEqual(first);
    // Faults really happened: some asks timed out, and duplicates made the counter skip ahead.
    expect(first.some((l) => l.includes(' timeout '))).toBe(true);
    expect(first.some((l) => l.includes(' ok '))).toBe(true);
  });

  it('a partition makes both sides declare each other down; healing brings them back', async () => {
    const { clock, plan, systems, halt } = await simulatedCluster(7);
    const { a, b, c } = systems as Record<string, ActorSystem>;
    await clock.runUntil(() => a!.nodes().length === 2 && b!.nodes().length === 2, { maxTimeMs: 1_000 });
    const echo = b!.spawn('echo', receive((_c, m) => m));
    const downs: string[] = [];
    a!.on('nodeDown', (n) => downs.push(`a saw ${n} down`));
    b!.on('nodeDown', (n) => downs.push(`b saw ${n} down`));
    let watched: string | undefined;
    a!.watch(a!.ref(echo.id), (_r, reason) => (watched = reason));
    await clock.runFor(50);

    plan.partition(['a'], ['b', 'c']);
    const t0 = clock.now();
    await clock.runUntil(() => downs.length === 3, { maxTimeMs: 3_000 });
    expect(downs.sort()).toEqual(['a saw b down', 'a saw c down', 'b saw a down']);
    // Virtual time: the detector's timeout plus one check interval at most.
    expect(clock.now() - t0).toBeLessThanOrEqual(DEFAULT_HEARTBEAT_TIMEOUT_MS + 100);
    expect(watched).toBe('node_down');
    await clock.runUntil(() => !c!.nodes().includes('a'), { maxTimeMs: 2_000 });
    expect(clock.now() - t0).toBeLessThanOrEqual(DEFAULT_HEARTBEAT_TIMEOUT_MS + 100);
    expect(c!.nodes()).toEqual(['b']);

    plan.heal();
    await clock.runUntil(() => a!.nodes().length === 2, { maxTimeMs: 1_000 });
    let answer: unknown;
    void a!.ask(a!.ref(echo.id), 'after heal').then((v) => (answer = v));
    await clock.runUntil(() => answer !== undefined, { maxTimeMs: 1_000 });
    expect(answer).toBe('after heal');
    halt();
  });

  it('an asymmetric block is seen by one side only', async () => {
    const { clock, plan, systems, halt } = await simulatedCluster(8);
    const { a, b } = systems as Record<string, ActorSystem>;
    await clock.runUntil(() => a!.nodes().length === 2 && b!.nodes().length === 2, { maxTimeMs: 1_000 });
    plan.block('a', 'b'); // b stops hearing a; a still hears b
    await clock.runFor(DEFAULT_HEARTBEAT_TIMEOUT_MS + 500);
    expect(b!.nodes()).not.toContain('a');
    expect(a!.nodes()).toContain('b');
    halt();
  });

  it('works over a real nats-server too: a partition times asks out and heals', async () => {
    const server = await startNatsServer();
    const clock: Clock = (await import('../../src/runtime/clock.ts')).realClock;
    const plan = new FaultPlan({ seed: 1 });
    const mk = async (id: string) =>
      ActorSystem.start({
        nodeId: id,
        transport: new FaultyTransport(await connectNatsTransport({ servers: server.url }), id, plan, clock),
        logLevel: 'silent',
      });
    const a = await mk('a');
    const b = await mk('b');
    try {
      const echo = b.spawn('echo', receive((_c, m) => m));
      const target = a.ref(echo.id);
      expect(await target.ask('before')).toBe('before');
      plan.partition(['a'], ['b']);
      await expect(target.ask('during', { timeoutMs: 300 })).rejects.toMatchObject({ type: 'timeout' });
      plan.heal();
      expect(await target.ask('after')).toBe('after');
      expect(plan.stats.blocked).toBeGreaterThan(0);
    } finally {
      await a.shutdown();
      await b.shutdown();
      await Promise.all([a.transport.close(), b.transport.close()]);
      await server.stop();
    }
  });
});
