import { ActorSystem, type ActorSystemOptions } from '../../src/runtime/actor-system.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';
import { connectNatsTransport } from '../../src/transport/nats-transport.ts';
import type { Transport } from '../../src/transport/transport.ts';

/**
 * Where a runtime test runs: the in-memory transport under a simulated clock (deterministic), or
 * a real nats-server with real time. Tests wait through `until` and `settle`, never by sleeping.
 */
export interface RuntimeEnv {
  readonly name: string;
  readonly simulated: boolean;
  start(nodeId: string, opts?: Partial<ActorSystemOptions>): Promise<ActorSystem>;
  /** Wait until cond() holds; fails the test at the deadline (virtual ms under simulation). */
  until(cond: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Await a promise while driving the clock. */
  settle<T>(p: Promise<T>, timeoutMs?: number): Promise<T>;
  /** Let time pass (virtual under simulation): only to prove that something does NOT happen. */
  elapse(ms: number): Promise<void>;
  now(): number;
  /** A raw connection to publish arbitrary bytes (malformed-message tests). */
  rawTransport(): Promise<Transport>;
  teardown(): Promise<void>;
}

export function simulatedEnv(): RuntimeEnv {
  const clock = new SimulatedClock({ start: 1_000_000 });
  const network = new MemoryNetwork({ clock });
  const systems: ActorSystem[] = [];
  return {
    name: 'memory transport, simulated clock',
    simulated: true,
    async start(nodeId, opts = {}) {
      const system = await this.settle(
        ActorSystem.start({ nodeId, transport: network.connect(nodeId), clock, logLevel: 'silent', ...opts }),
      );
      systems.push(system);
      return system;
    },
    async until(cond, what, timeoutMs = 10_000) {
      const ok = await clock.runUntil(cond, { maxTimeMs: timeoutMs });
      if (!ok) throw new Error(`timed out after ${timeoutMs} virtual ms waiting for: ${what}`);
    },
    async settle(p, timeoutMs = 30_000) {
      let state: { done: false } | { done: true; ok: boolean; value: unknown } = { done: false };
      p.then(
        (value) => (state = { done: true, ok: true, value }),
        (value) => (state = { done: true, ok: false, value }),
      );
      await this.until(() => state.done, 'promise to settle', timeoutMs);
      const s = state as unknown as { done: true; ok: boolean; value: unknown };
      if (!s.ok) throw s.value;
      return s.value as Awaited<typeof p>;
    },
    async elapse(ms) {
      await clock.runFor(ms);
    },
    now: () => clock.now(),
    async rawTransport() {
      return network.connect('raw');
    },
    async teardown() {
      for (const s of systems) s.halt();
      await clock.settle();
    },
  };
}

export function natsEnv(): RuntimeEnv {
  let server: NatsServerHandle | undefined;
  const systems: ActorSystem[] = [];
  const transports: Transport[] = [];
  const waitReal = async (cond: () => boolean, what: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return {
    name: 'real nats-server',
    simulated: false,
    async start(nodeId, opts = {}) {
      server ??= await startNatsServer();
      const system = await ActorSystem.start({ nodeId, nats: { servers: server.url }, logLevel: 'silent', ...opts });
      systems.push(system);
      return system;
    },
    until: (cond, what, timeoutMs = 10_000) => waitReal(cond, what, timeoutMs),
    async settle(p) {
      return p;
    },
    async elapse(ms) {
      await new Promise((r) => setTimeout(r, ms));
    },
    now: () => Date.now(),
    async rawTransport() {
      server ??= await startNatsServer();
      const t = await connectNatsTransport({ servers: server.url });
      transports.push(t);
      return t;
    },
    async teardown() {
      await Promise.all(systems.map((s) => (s.isRunning ? s.shutdown() : undefined)));
      await Promise.all(transports.map((t) => t.close()));
      systems.length = 0;
      await server?.stop();
      server = undefined;
    },
  };
}
