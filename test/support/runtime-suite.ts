import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HEARTBEAT_TIMEOUT_MS } from '../../src/runtime/failure-detector.ts';
import { assign, createMachine, setup } from 'xstate';
import { ActorSystem } from '../../src/runtime/actor-system.ts';
import { ActorRef } from '../../src/runtime/actor-ref.ts';
import { receive, type ActorBehavior } from '../../src/runtime/behavior.ts';
import type { ActorContext, Terminated } from '../../src/runtime/context.ts';
import { ShoalError } from '../../src/runtime/errors.ts';
import { reply, spawnChild, stop, tell, watch } from '../../src/runtime/machine-actions.ts';
import { supervisor, type ChildInfo } from '../../src/runtime/supervisor.ts';
import type { RestartType, Strategy } from '../../src/runtime/supervision.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import type { TransportMessage } from '../../src/transport/transport.ts';
import type { RuntimeEnv } from './runtime-env.ts';

/** Rejection type of a promise, or 'resolved'. */
async function errorType(env: RuntimeEnv, p: Promise<unknown>): Promise<string> {
  try {
    await env.settle(p);
    return 'resolved';
  } catch (err) {
    return err instanceof ShoalError ? err.type : `untyped: ${String(err)}`;
  }
}

/** A child that counts its starts, logs lifecycle events and crashes on request. */
function probeChild(name: string, log: string[], starts: Record<string, number>, stopHang = false): () => ActorBehavior {
  return () => ({
    start() {
      starts[name] = (starts[name] ?? 0) + 1;
      log.push(`start:${name}`);
    },
    receive(ctx, msg) {
      if (msg === 'crash') throw new Error(`${name} crashed`);
      if (msg === 'exit') return void ctx.stop();
      return `${name}:${String(msg)}`;
    },
    stop(_ctx, reason) {
      log.push(`stop:${name}:${reason}`);
      if (stopHang) return new Promise<void>(() => undefined);
    },
  });
}

export function runtimeSuite(makeEnv: () => RuntimeEnv): void {
  let env: RuntimeEnv;
  beforeEach(() => {
    env = makeEnv();
  });
  afterEach(async () => {
    await env.teardown();
  });

  describe('ask and tell', () => {
    it('asks and tells across two systems and on one', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const got: unknown[] = [];
      const echo = b.spawn(
        'echo',
        receive((ctx, m) => {
          got.push(m);
          return { echo: m, sender: ctx.sender?.id ?? null };
        }),
      );
      expect(await env.settle(a.ask(a.ref(echo.id), { hello: 'world' }))).toEqual({ echo: { hello: 'world' }, sender: null });
      expect(await env.settle(echo.ask(42))).toEqual({ echo: 42, sender: null });
      a.ref(echo.id).tell('one-way');
      await env.until(() => got.length === 3, 'the tell to arrive');
      expect(got).toEqual([{ hello: 'world' }, 42, 'one-way']);
    });

    it('rejects with typed errors: timeout, no such actor, node unreachable', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      // Takes the reply over and never answers.
      const silent = b.spawn('silent', receive((ctx) => void ctx.deferReply()));
      expect(await errorType(env, a.ask(a.ref(silent.id), 'hi', { timeoutMs: 200 }))).toBe('timeout');
      expect(await errorType(env, a.ask(a.ref('shoal://shoal/b/user/nobody'), 'hi'))).toBe('no_such_actor');
      expect(await errorType(env, a.ask(a.ref('shoal://shoal/ghost/user/x'), 'hi'))).toBe('node_unreachable');
      expect(await errorType(env, a.ask(a.ref('/user/nobody'), 'hi'))).toBe('no_such_actor');
    });

    it('answers an ask the handler did not reply to with what it returned, undefined included', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const quiet = b.spawn('quiet', receive(() => undefined));
      expect(await env.settle(a.ask(a.ref(quiet.id), 'anything'))).toBeUndefined();
      expect(await env.settle(a.ask(a.ref('/user/nothing-here'), 'x').catch((e: ShoalError) => e.type))).toBe('no_such_actor');
    });

    it('delivers messages from one sender to one actor in order', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const seen: number[] = [];
      const sink = b.spawn('sink', receive((_ctx, m: number) => void seen.push(m)));
      const N = 2_000;
      for (let i = 0; i < N; i++) a.tell(a.ref(sink.id), i);
      // An actor sender too: its own tells keep their order.
      a.spawn('sender', {
        start(ctx: ActorContext) {
          for (let i = N; i < N + 500; i++) ctx.tell(sink.id, i);
        },
        receive: () => undefined,
      });
      await env.until(() => seen.length === N + 500, 'all messages');
      expect(seen.slice(0, N)).toEqual([...Array(N).keys()]);
      expect(seen.slice(N)).toEqual([...Array(500).keys()].map((i) => i + N));
    });

    it('carries refs inside messages and binds them to the receiving system', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const answers: unknown[] = [];
      const inbox = a.spawn('inbox', receive((ctx, m) => void answers.push({ m, from: ctx.sender?.id })));
      const forwarder = b.spawn(
        'fwd',
        receive((ctx, m: { replyTo: ActorRef; text: string }) => {
          expect(m.replyTo).toBeInstanceOf(ActorRef);
          ctx.tell(m.replyTo, m.text.toUpperCase());
        }),
      );
      a.tell(a.ref(forwarder.id), { replyTo: inbox, text: 'hi' });
      await env.until(() => answers.length === 1, 'the forwarded reply');
      expect(answers[0]).toEqual({ m: 'HI', from: forwarder.id });
    });
  });

  describe('xstate behaviours', () => {
    const counter = setup({ types: { context: {} as { n: number }, input: {} as { start?: number } } }).createMachine({
      context: ({ input }) => ({ n: input.start ?? 0 }),
      initial: 'idle',
      states: {
        idle: {
          on: {
            inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
            get: { actions: reply(({ context }) => context.n) },
            arm: 'armed',
            boom: {
              actions: () => {
                throw new Error('action failed');
              },
            },
          },
        },
        armed: { after: { 1000: 'fired' }, on: { get: { actions: reply(() => 'armed') } } },
        fired: { on: { get: { actions: reply(() => 'fired') } } },
      },
    });

    it('turns messages into events and answers asks from actions', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const c = b.spawn('counter', counter, { input: { start: 5 } });
      a.tell(a.ref(c.id), { type: 'inc' });
      a.tell(a.ref(c.id), { type: 'inc' });
      expect(await env.settle(a.ask(a.ref(c.id), { type: 'get' }))).toBe(7);
      // An ask the current state does not accept is answered, and the actor keeps running.
      expect(await errorType(env, a.ask(a.ref(c.id), { type: 'unknown' }))).toBe('bad_message');
      expect(await env.settle(a.ask(a.ref(c.id), { type: 'get' }))).toBe(7);
    });

    it('runs delayed transitions on the runtime clock', async () => {
      const a = await env.start('a');
      const fired: number[] = [];
      const notify = a.spawn('notify', receive(() => void fired.push(env.now())));
      const timer = createMachine({
        initial: 'idle',
        states: {
          idle: { on: { arm: 'armed' } },
          armed: { after: { 1000: 'fired' } },
          fired: { entry: tell(notify.id, 'fired') },
        },
      });
      const t = a.spawn('timer', timer);
      const t0 = env.now();
      t.tell({ type: 'arm' });
      await env.until(() => fired.length === 1, 'the delayed transition', 5_000);
      expect(fired[0]! - t0).toBeGreaterThanOrEqual(1000);
      if (env.simulated) expect(fired[0]! - t0).toBe(1000);
    });

    it('treats an error thrown in an action as a failure and restarts the machine fresh', async () => {
      const a = await env.start('a');
      const c = a.spawn('counter', counter, { input: { start: 1 } });
      c.tell({ type: 'inc' });
      expect(await env.settle(c.ask({ type: 'get' }))).toBe(2);
      expect(await errorType(env, c.ask({ type: 'boom' }))).toBe('actor_failed');
      await env.until(() => a.internals.cell('/user/counter')?.status === 'running', 'restart');
      expect(a.internals.cell('/user/counter')?.restarts).toBe(1);
      expect(await env.settle(c.ask({ type: 'get' }))).toBe(1);
    });

    it('sends, watches and receives Terminated as events; a final state is a normal exit', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const events: string[] = [];
      const finisher = b.spawn(
        'finisher',
        createMachine({ initial: 'on', states: { on: { on: { finish: 'done' } }, done: { type: 'final' } } }),
      );
      const observer = setup({ types: { input: {} as { target: string; log: string } } }).createMachine({
        context: ({ input }) => ({ target: input.target, log: input.log }),
        entry: [watch(({ context }) => context.target), tell(({ context }) => context.log, () => 'watching')],
        on: {
          'shoal.terminated': {
            actions: tell(
              ({ context }) => context.log,
              ({ event }) => `terminated:${(event as Terminated).ref.name}:${(event as Terminated).reason}`,
            ),
          },
        },
      });
      const log = a.spawn('log', receive((_ctx, m: string) => void events.push(m)));
      a.spawn('observer', observer, { input: { target: finisher.id, log: log.id } });
      await env.until(() => events.includes('watching'), 'observer to start');
      a.tell(a.ref(finisher.id), { type: 'finish' });
      await env.until(() => events.some((e) => e.startsWith('terminated')), 'Terminated');
      expect(events).toContain('terminated:finisher:normal');
      expect(b.actorPaths()).not.toContain('/user/finisher');
    });
  });

  describe('actor context', () => {
    it('machines spawn children by kind and stop them through emitted actions', async () => {
      const a = await env.start('a', { kinds: { echo: () => receive((_c, m) => m) } });
      const parent = createMachine({
        on: {
          grow: { actions: spawnChild('kid', 'echo') },
          prune: { actions: stop(({ context }: { context: { self: ActorRef } }) => `${context.self.id}/kid`) },
        },
        context: ({ input }: { input: { self: ActorRef } }) => ({ self: input.self }),
      });
      const p = a.spawn('parent', parent);
      p.tell({ type: 'grow' });
      await env.until(() => a.internals.cell('/user/parent/kid')?.status === 'running', 'child spawned');
      expect(await env.settle(a.ask(a.ref('/user/parent/kid'), 'hi'))).toBe('hi');
      p.tell({ type: 'prune' });
      await env.until(() => !a.actorPaths().includes('/user/parent/kid'), 'child stopped');
    });

    it('asks from inside an actor and answers later with deferReply', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const doubler = b.spawn('doubler', receive((_c, n: number) => n * 2));
      const front = a.spawn(
        'front',
        receive((ctx: ActorContext, n: number) => {
          const replier = ctx.deferReply()!;
          ctx.ask<number>(doubler.id, n).then(
            (v) => replier.ok(v + 1),
            (e: Error) => replier.error(e),
          );
          return 'ignored: the reply was deferred';
        }),
      );
      expect(await env.settle(front.ask(20))).toBe(41);
    });
  });

  describe('supervision', () => {
    async function tree(system: ActorSystem, strategy: Strategy, restart: RestartType = 'permanent') {
      const log: string[] = [];
      const starts: Record<string, number> = {};
      const sup = system.spawn(
        'sup',
        supervisor({
          strategy,
          maxRestarts: 10,
          periodMs: 60_000,
          children: ['c1', 'c2', 'c3'].map((id) => ({ id, start: probeChild(id, log, starts), restart })),
        }),
      );
      await env.until(() => starts.c3 === 1, 'children to start');
      return { sup, log, starts };
    }
    const restartsOf = async (sup: ActorRef) => {
      const children = (await env.settle(sup.ask({ type: 'which_children' }))) as ChildInfo[];
      return Object.fromEntries(children.map((c) => [c.id, c.restarts]));
    };

    it('starts children in order; one_for_one restarts only the failed child', async () => {
      const a = await env.start('a');
      const { sup, log, starts } = await tree(a, 'one_for_one');
      expect(log).toEqual(['start:c1', 'start:c2', 'start:c3']);
      a.tell(a.ref('/user/sup/c2'), 'crash');
      await env.until(() => starts.c2 === 2, 'c2 restart');
      expect(starts).toEqual({ c1: 1, c2: 2, c3: 1 });
      expect(await restartsOf(sup)).toEqual({ c1: 0, c2: 1, c3: 0 });
      expect(await env.settle(a.ask(a.ref('/user/sup/c2'), 'ping'))).toBe('c2:ping');
    });

    it('one_for_all stops the others in reverse order and restarts all in order', async () => {
      const a = await env.start('a');
      const { log, starts } = await tree(a, 'one_for_all');
      log.length = 0;
      a.tell(a.ref('/user/sup/c2'), 'crash');
      await env.until(() => starts.c3 === 2, 'all to restart');
      expect(starts).toEqual({ c1: 2, c2: 2, c3: 2 });
      expect(log).toEqual([
        'stop:c3:shutdown',
        'stop:c2:restart',
        'stop:c1:shutdown',
        'start:c1',
        'start:c2',
        'start:c3',
      ]);
    });

    it('rest_for_one restarts the failed child and those started after it', async () => {
      const a = await env.start('a');
      const { log, starts } = await tree(a, 'rest_for_one');
      log.length = 0;
      a.tell(a.ref('/user/sup/c2'), 'crash');
      await env.until(() => starts.c3 === 2, 'c2 and c3 to restart');
      expect(starts).toEqual({ c1: 1, c2: 2, c3: 2 });
      expect(log).toEqual(['stop:c3:shutdown', 'stop:c2:restart', 'start:c2', 'start:c3']);
    });

    it('restart types: permanent restarts after a normal exit, transient only after a failure, temporary never', async () => {
      const a = await env.start('a');
      const log: string[] = [];
      const starts: Record<string, number> = {};
      const sup = a.spawn(
        'sup',
        supervisor({
          children: [
            { id: 'perm', start: probeChild('perm', log, starts), restart: 'permanent' },
            { id: 'trans', start: probeChild('trans', log, starts), restart: 'transient' },
            { id: 'trans2', start: probeChild('trans2', log, starts), restart: 'transient' },
            { id: 'temp', start: probeChild('temp', log, starts), restart: 'temporary' },
          ],
        }),
      );
      await env.until(() => starts.temp === 1, 'children to start');
      const terminated: Record<string, string> = {};
      for (const id of ['perm', 'trans', 'trans2', 'temp']) a.watch(`/user/sup/${id}`, (_r, reason) => (terminated[id] = reason));

      a.tell(a.ref('/user/sup/perm'), 'exit');
      a.tell(a.ref('/user/sup/trans'), 'crash');
      a.tell(a.ref('/user/sup/trans2'), 'exit');
      a.tell(a.ref('/user/sup/temp'), 'crash');
      await env.until(
        () => starts.perm === 2 && starts.trans === 2 && 'trans2' in terminated && 'temp' in terminated,
        'restart decisions',
      );
      expect(terminated).toEqual({ trans2: 'normal', temp: 'failed: temp crashed' });
      const ids = ((await env.settle(sup.ask({ type: 'which_children' }))) as ChildInfo[]).map((c) => c.id);
      expect(ids).toEqual(['perm', 'trans']);
    });

    it('escalates past the restart intensity: the supervisor fails and its parent restarts it', async () => {
      const a = await env.start('a');
      const log: string[] = [];
      const starts: Record<string, number> = {};
      a.spawn(
        'outer',
        supervisor({
          maxRestarts: 5,
          children: [
            {
              id: 'inner',
              start: () => {
                starts.inner = (starts.inner ?? 0) + 1;
                return supervisor({
                  maxRestarts: 2,
                  periodMs: 60_000,
                  children: [{ id: 'worker', start: probeChild('worker', log, starts) }],
                })();
              },
            },
          ],
        }),
      );
      await env.until(() => starts.worker === 1, 'tree to start');
      for (let crash = 1; crash <= 3; crash++) {
        a.tell(a.ref('/user/outer/inner/worker'), 'crash');
        await env.until(() => starts.worker === crash + 1, `worker start ${crash + 1}`);
      }
      // Two restarts were within the inner budget; the third escalated to outer, which restarted inner.
      expect(starts.inner).toBe(2);
      expect(a.internals.cell('/user/outer/inner')?.restarts).toBe(1);
      expect(a.internals.cell('/user/outer')?.restarts).toBe(0);
    });

    it('stops a top-level actor that keeps failing, with reason escalated', async () => {
      const a = await env.start('a');
      const starts: Record<string, number> = {};
      const ref = a.spawn('flaky', probeChild('flaky', [], starts), { restart: 'permanent' });
      let reason: string | undefined;
      a.watch(ref, (_r, why) => (reason = why));
      for (let i = 0; i < 4 && reason === undefined; i++) {
        await env.until(() => a.internals.cell('/user/flaky')?.status === 'running', 'flaky running');
        ref.tell('crash');
        await env.until(() => starts.flaky === i + 2 || reason !== undefined, 'restart or stop');
      }
      expect(reason).toBe('escalated');
      expect(starts.flaky).toBe(4);
    });

    it('backs off exponentially between restarts', async () => {
      const a = await env.start('a');
      const restartTimes: number[] = [];
      a.spawn(
        'sup',
        supervisor({
          maxRestarts: 10,
          periodMs: 60_000,
          backoff: { initialMs: 100, factor: 2, maxMs: 1_000 },
          children: [
            {
              id: 'w',
              start: () => ({
                start: () => void restartTimes.push(env.now()),
                receive: () => {
                  throw new Error('crash');
                },
              }),
            },
          ],
        }),
      );
      await env.until(() => restartTimes.length === 1, 'first start');
      const crashTimes: number[] = [];
      for (let i = 1; i <= 4; i++) {
        await env.until(() => a.internals.cell('/user/sup/w')?.status === 'running', 'w running');
        crashTimes.push(env.now());
        a.tell(a.ref('/user/sup/w'), 'crash');
        await env.until(() => restartTimes.length === i + 1, `restart ${i}`, 5_000);
      }
      const delays = restartTimes.slice(1).map((t, i) => t - crashTimes[i]!);
      const expected = [100, 200, 400, 800];
      // Real timers may fire ~1 ms early as Date.now() sees it; simulated time is exact.
      const granularityMs = env.simulated ? 0 : 2;
      delays.forEach((d, i) => expect(d).toBeGreaterThanOrEqual(expected[i]! - granularityMs));
      if (env.simulated) expect(delays).toEqual(expected);
    });

    it('stops children in reverse order and kills one that overruns its shutdown timeout', async () => {
      const a = await env.start('a');
      const log: string[] = [];
      const starts: Record<string, number> = {};
      const sup = a.spawn(
        'sup',
        supervisor({
          children: [
            { id: 'first', start: probeChild('first', log, starts) },
            { id: 'second', start: probeChild('second', log, starts) },
            { id: 'hangs', start: probeChild('hangs', log, starts, true), shutdownMs: 300 },
          ],
        }),
      );
      await env.until(() => starts.hangs === 1, 'children to start');
      let hangsReason: string | undefined;
      a.watch('/user/sup/hangs', (_r, why) => (hangsReason = why));
      const t0 = env.now();
      await env.settle(a.stop(sup));
      expect(env.now() - t0).toBeGreaterThanOrEqual(300);
      expect(log.filter((l) => l.startsWith('stop'))).toEqual(['stop:hangs:shutdown', 'stop:second:shutdown', 'stop:first:shutdown']);
      expect(hangsReason).toBe('killed');
      expect(a.actorPaths().filter((p) => p.startsWith('/user/'))).toEqual([]);
    });
  });

  describe('death watch', () => {
    it('reports the stop of a local and of a remote actor', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const local = a.spawn('local', receive(() => undefined));
      const remote = b.spawn('remote', receive((_c, m) => m));
      const reasons: Record<string, string> = {};
      a.watch(local, (r, why) => (reasons[r.name] = why));
      a.watch(a.ref(remote.id), (r, why) => (reasons[r.name] = why));
      // The watch request travels ahead of this ask on the same connection.
      await env.settle(a.ask(a.ref(remote.id), 'sync'));
      await env.settle(a.stop(local));
      await env.settle(b.stop(remote));
      await env.until(() => Object.keys(reasons).length === 2, 'both Terminated');
      expect(reasons).toEqual({ local: 'stopped', remote: 'stopped' });
    });

    it('reports no_such_actor and node_unreachable for targets that are not there', async () => {
      const a = await env.start('a');
      await env.start('b');
      const reasons: string[] = [];
      a.watch('shoal://shoal/b/user/missing', (_r, why) => reasons.push(why));
      a.watch('shoal://shoal/ghost/user/x', (_r, why) => reasons.push(why));
      a.watch('/user/missing', (_r, why) => reasons.push(why));
      await env.until(() => reasons.length === 3, 'three Terminated');
      expect(reasons.sort()).toEqual(['no_such_actor', 'no_such_actor', 'node_unreachable']);
    });

    it('reports node_down once the failure detector times the node out', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const remote = b.spawn('remote', receive((_c, m) => m));
      await env.until(() => a.nodes().includes('b'), 'a to see b');
      let reason: string | undefined;
      a.watch(a.ref(remote.id), (_r, why) => (reason = why));
      await env.settle(a.ask(a.ref(remote.id), 'sync'));
      const t0 = env.now();
      b.halt();
      await env.until(() => reason !== undefined, 'node_down', 5_000);
      expect(reason).toBe('node_down');
      // Under simulation the bound is exact (virtual time); on a real clock it is only reported.
      if (env.simulated) expect(env.now() - t0).toBeLessThanOrEqual(DEFAULT_HEARTBEAT_TIMEOUT_MS + 100);
    });

    it('stops a remote actor under /user, and no system actor', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const remote = b.spawn('victim', receive((_c, m) => m));
      let reason: string | undefined;
      a.watch(a.ref(remote.id), (_r, why) => (reason = why));
      await env.settle(a.ask(a.ref(remote.id), 'sync'));
      await env.settle(a.stop(a.ref(remote.id)));
      await env.until(() => reason !== undefined, 'Terminated');
      expect(reason).toBe('stopped');
      await expect(env.settle(a.stop(a.ref(remote.id)))).rejects.toMatchObject({ type: 'no_such_actor' });
      await expect(env.settle(a.stop(a.ref(`shoal://${b.cluster}/b/system/deathwatch`)))).rejects.toMatchObject({ type: 'bad_message' });
      expect(b.isRunning).toBe(true);
    });

    it('stops watching when unwatched', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const remote = b.spawn('remote', receive(() => undefined));
      const fired: string[] = [];
      const cancel = a.watch(a.ref(remote.id), () => fired.push('remote'));
      const localRef = a.spawn('local', receive(() => undefined));
      const cancelLocal = a.watch(localRef, () => fired.push('local'));
      cancel();
      cancelLocal();
      await env.settle(b.stop(remote));
      await env.settle(a.stop(localRef));
      await env.elapse(200);
      expect(fired).toEqual([]);
    });
  });

  describe('remote spawn and registry', () => {
    const counterKind = (input: unknown) =>
      receive((() => {
        let n = (input as { start?: number } | undefined)?.start ?? 0;
        return (_ctx: ActorContext, m: string) => (m === 'inc' ? ++n : n);
      })());

    it('spawns a registered kind on another node by name, with input', async () => {
      const a = await env.start('a');
      const b = await env.start('b', { kinds: { counter: counterKind } });
      const ref = await env.settle(a.spawnRemote('b', 'counter', { name: 'c1', input: { start: 10 } }));
      expect(ref.id).toBe('shoal://shoal/b/user/c1');
      expect(await env.settle(ref.ask('inc'))).toBe(11);
      expect(b.actorPaths()).toContain('/user/c1');
      expect(await errorType(env, a.spawnRemote('b', 'nope'))).toBe('unknown_kind');
      expect(await errorType(env, a.spawnRemote('b', 'counter', { name: 'c1' }))).toBe('name_taken');
      expect(await errorType(env, a.spawnRemote('b', 'counter', { name: 'bad name!' }))).toBe('invalid_argument');
      expect(await errorType(env, a.spawnRemote('ghost', 'counter'))).toBe('node_unreachable');
    });

    it('spawns under a remote supervisor, which then supervises it', async () => {
      const a = await env.start('a');
      const b = await env.start('b', { kinds: { counter: counterKind } });
      b.spawn('sup', supervisor({ children: [] }));
      const ref = await env.settle(a.spawnRemote('b', 'counter', { name: 'w', parent: '/user/sup' }));
      expect(ref.path).toBe('/user/sup/w');
      const children = (await env.settle(a.ask(a.ref('shoal://shoal/b/user/sup'), { type: 'which_children' }))) as ChildInfo[];
      expect(children.map((c) => c.id)).toEqual(['w']);
    });

    it('finds actors by registered name, locally and from another node', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const svc = b.spawn('service', receive(() => 'at your service'), { register: 'svc' });
      expect(b.whereis('svc')?.id).toBe(svc.id);
      const found = await env.settle(a.lookup('b', 'svc'));
      expect(found?.id).toBe(svc.id);
      expect(await env.settle(found!.ask('hi'))).toBe('at your service');
      await env.settle(b.stop(svc));
      expect(await env.settle(a.lookup('b', 'svc'))).toBeUndefined();
    });
  });

  describe('overload and bad input', () => {
    it('answers overloaded when a mailbox is full, locally and remotely', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let busy = false;
      const slow = b.spawn(
        'slow',
        receive(async (_ctx, m) => {
          busy = true;
          await gate;
          return m;
        }),
        { mailboxSize: 4 },
      );
      const first = a.ask(a.ref(slow.id), 'first', { timeoutMs: 20_000 });
      await env.until(() => busy, 'the actor to be busy');
      const more = Array.from({ length: 8 }, (_, i) =>
        a.ask(a.ref(slow.id), i, { timeoutMs: 20_000 }).then(
          () => 'ok',
          (e: ShoalError) => e.type,
        ),
      );
      let outcomes: string[] = [];
      void Promise.all(more.slice(4)).then((r) => (outcomes = r));
      await env.until(() => outcomes.length === 4, 'rejections');
      expect(outcomes).toEqual(['overloaded', 'overloaded', 'overloaded', 'overloaded']);
      expect(() => b.tell(slow, 'local tell')).toThrow(/full/);
      release();
      expect(await env.settle(first)).toBe('first');
      expect(await env.settle(Promise.all(more.slice(0, 4)))).toEqual(['ok', 'ok', 'ok', 'ok']);
    });

    it('answers malformed messages with a structured error and keeps running', async () => {
      const a = await env.start('a');
      const b = await env.start('b');
      const echo = b.spawn('echo', receive((_c, m) => m));
      const raw = await env.rawTransport();
      const replies: TransportMessage[] = [];
      raw.subscribe('raw-inbox.*', (m) => replies.push(m));
      await raw.flush();
      const bad: [string, Uint8Array][] = [
        ['shoal.shoal.actor.b.user.echo', new Uint8Array([0xc1, 0xff, 0x00])], // not msgpack
        ['shoal.shoal.actor.b.user.echo', encode([1, 2, 3])], // not a map
        ['shoal.shoal.actor.b.user.echo', encode({ m: 1, evil: true })], // unknown field
        ['shoal.shoal.actor.b.user.echo', encode({ f: 'x' })], // no message
        ['shoal.shoal.sys.b', encode({ op: 'format_disk' })], // unknown op
        ['shoal.shoal.sys.b', encode({ op: 'spawn', kind: 7 })], // wrong type
        ['shoal.shoal.sys.b', new Uint8Array(0)], // empty
      ];
      bad.forEach(([subject, data], i) => raw.publish(subject, data, { reply: `raw-inbox.${i}` }));
      await raw.flush();
      await env.until(() => replies.length === bad.length, 'every malformed message answered');
      for (const r of replies) {
        const body = decode(r.data) as { err: { type: string; reason: string } };
        expect(body.err.type).toBe('bad_message');
        expect(body.err.reason.length).toBeGreaterThan(0);
      }
      // Tells without reply subjects are dropped quietly; the node still works.
      raw.publish('shoal.shoal.actor.b.user.echo', new Uint8Array([0xc1]));
      raw.publish('shoal.shoal.hb.b', new Uint8Array([0xc1]));
      expect(await env.settle(a.ask(a.ref(echo.id), 'still here'))).toBe('still here');
      expect(b.isRunning).toBe(true);
    });
  });
}
