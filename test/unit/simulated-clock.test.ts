import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { SeededRandom } from '../../src/runtime/random.ts';

describe('SimulatedClock', () => {
  it('starts at opts.start and only moves when driven', () => {
    const c = new SimulatedClock({ start: 1000 });
    expect(c.now()).toBe(1000);
    let ran = false;
    c.setTimeout(() => (ran = true), 0);
    expect(ran).toBe(false);
    expect(c.pending()).toBe(1);
    expect(c.nextDueTime()).toBe(1000);
  });

  it('runs timers with equal due time in registration (FIFO) order', () => {
    const c = new SimulatedClock();
    const log: string[] = [];
    // Interleave schedule() and setTimeout(…, 5) so heap order alone would not give FIFO.
    for (let i = 0; i < 50; i++) {
      c.setTimeout(() => log.push(`t${i}`), 5);
      c.schedule(() => log.push(`s${i}`));
    }
    c.advance(5);
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => `s${i}`),
      ...Array.from({ length: 50 }, (_, i) => `t${i}`),
    ];
    expect(log).toEqual(expected);
  });

  it('runs timers in due order and sets now to each due time', () => {
    const c = new SimulatedClock();
    const log: Array<[string, number]> = [];
    c.setTimeout(() => log.push(['c', c.now()]), 30);
    c.setTimeout(() => log.push(['a', c.now()]), 10);
    c.setTimeout(() => log.push(['b', c.now()]), 20);
    c.advance(100);
    expect(log).toEqual([
      ['a', 10],
      ['b', 20],
      ['c', 30],
    ]);
    expect(c.now()).toBe(100);
  });

  it('advance runs nested timers that fall inside the window, not those beyond', () => {
    const c = new SimulatedClock();
    const log: Array<[string, number]> = [];
    c.setTimeout(() => {
      log.push(['outer', c.now()]);
      c.setTimeout(() => {
        log.push(['inner', c.now()]);
        c.schedule(() => log.push(['inner-scheduled', c.now()]));
        c.setTimeout(() => log.push(['too-late', c.now()]), 100);
      }, 10);
    }, 10);
    c.advance(50);
    expect(log).toEqual([
      ['outer', 10],
      ['inner', 20],
      ['inner-scheduled', 20],
    ]);
    expect(c.now()).toBe(50);
    expect(c.pending()).toBe(1);
    expect(c.nextDueTime()).toBe(120);
  });

  it('clearTimeout cancels', () => {
    const c = new SimulatedClock();
    const log: number[] = [];
    const h = c.setTimeout(() => log.push(1), 10);
    c.setTimeout(() => log.push(2), 10);
    c.clearTimeout(h);
    c.clearTimeout(h); // idempotent
    c.clearTimeout(undefined);
    expect(c.pending()).toBe(1);
    c.advance(10);
    expect(log).toEqual([2]);
    expect(c.pending()).toBe(0);
    expect(c.nextDueTime()).toBeUndefined();
  });

  it('a timer can cancel a later one due at the same instant', () => {
    const c = new SimulatedClock();
    const log: number[] = [];
    let h: unknown;
    c.setTimeout(() => {
      log.push(1);
      c.clearTimeout(h);
    }, 5);
    h = c.setTimeout(() => log.push(2), 5);
    c.advance(5);
    expect(log).toEqual([1]);
  });

  it('negative delays count as 0', () => {
    const c = new SimulatedClock({ start: 10 });
    const log: number[] = [];
    c.setTimeout(() => log.push(c.now()), -5);
    c.runNext();
    expect(log).toEqual([10]);
  });

  it('runNext jumps to the earliest timer and runs everything due then', () => {
    const c = new SimulatedClock();
    const log: string[] = [];
    c.setTimeout(() => log.push('b1'), 20);
    c.setTimeout(() => {
      log.push('a1');
      c.schedule(() => log.push('a-sched'));
    }, 10);
    c.setTimeout(() => log.push('a2'), 10);
    expect(c.runNext()).toBe(true);
    expect(log).toEqual(['a1', 'a2', 'a-sched']);
    expect(c.now()).toBe(10);
    expect(c.runNext()).toBe(true);
    expect(log).toEqual(['a1', 'a2', 'a-sched', 'b1']);
    expect(c.now()).toBe(20);
    expect(c.runNext()).toBe(false);
  });

  it('runOne runs exactly one timer', () => {
    const c = new SimulatedClock();
    const log: number[] = [];
    c.schedule(() => log.push(1));
    c.schedule(() => log.push(2));
    expect(c.runOne()).toBe(true);
    expect(log).toEqual([1]);
    expect(c.runOne()).toBe(true);
    expect(c.runOne()).toBe(false);
    expect(log).toEqual([1, 2]);
  });

  it('an exception in a timer is reported and does not stop the others', () => {
    const onError = vi.fn();
    const c = new SimulatedClock({ onError });
    const log: number[] = [];
    c.schedule(() => log.push(1));
    c.schedule(() => {
      throw new Error('boom');
    });
    c.schedule(() => log.push(3));
    c.setTimeout(() => log.push(4), 10);
    c.advance(10);
    expect(log).toEqual([1, 3, 4]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect((onError.mock.calls[0]![0] as Error).message).toBe('boom');
    expect(c.now()).toBe(10);
    // Still usable afterwards.
    c.schedule(() => log.push(5));
    c.advance(0);
    expect(log).toEqual([1, 3, 4, 5]);
  });

  it('rejects re-entrant driving from inside a timer', () => {
    const errors: unknown[] = [];
    const c = new SimulatedClock({ onError: (e) => errors.push(e) });
    c.schedule(() => c.advance(1));
    c.advance(0);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/inside a timer/);
  });

  it('turns a zero-delay livelock in advance/runNext into an error', () => {
    const c = new SimulatedClock({ maxTimersPerCall: 1000 });
    let n = 0;
    const loop = () => {
      n++;
      c.schedule(loop);
    };
    c.schedule(loop);
    expect(() => c.runNext()).toThrow(/livelock/);
    expect(n).toBe(1000);
    expect(() => c.advance(10)).toThrow(/livelock/);
    expect(c.pending()).toBe(1); // still consistent
  });

  it('runUntil lets promise continuations run between timers', async () => {
    const c = new SimulatedClock();
    const sleep = (ms: number) => new Promise<void>((r) => c.setTimeout(r, ms));
    const log: Array<[string, number]> = [];
    const task = async () => {
      log.push(['start', c.now()]);
      await sleep(100);
      log.push(['after 100', c.now()]);
      await Promise.resolve();
      await sleep(50);
      log.push(['after 150', c.now()]);
    };
    void task();
    const ok = await c.runUntil(() => log.length === 3);
    expect(ok).toBe(true);
    expect(log).toEqual([
      ['start', 0],
      ['after 100', 100],
      ['after 150', 150],
    ]);
  });

  it('runUntil interleaves continuations like a real event loop (one timer per step)', async () => {
    const c = new SimulatedClock();
    const log: string[] = [];
    // A's continuation must run before B, even though both are due at the same instant.
    c.schedule(() => {
      log.push('A');
      void Promise.resolve().then(() => log.push('A-cont'));
    });
    c.schedule(() => log.push('B'));
    await c.runUntil(() => log.length === 3);
    expect(log).toEqual(['A', 'A-cont', 'B']);
  });

  it('runUntil returns false at the deadline and moves time to it', async () => {
    const c = new SimulatedClock({ start: 500 });
    let fired = 0;
    const tick = () => {
      fired++;
      c.setTimeout(tick, 100);
    };
    c.setTimeout(tick, 100);
    const ok = await c.runUntil(() => false, { maxTimeMs: 1000 });
    expect(ok).toBe(false);
    expect(fired).toBe(10); // at 600, 700, …, 1500
    expect(c.now()).toBe(1500);
  });

  it('runUntil returns false when no timers remain', async () => {
    const c = new SimulatedClock();
    c.setTimeout(() => {}, 10);
    expect(await c.runUntil(() => false)).toBe(false);
    expect(c.now()).toBe(10);
  });

  it('runUntil stops after maxSteps', async () => {
    const c = new SimulatedClock();
    let n = 0;
    const loop = () => {
      n++;
      c.schedule(loop);
    };
    c.schedule(loop);
    expect(await c.runUntil(() => false, { maxSteps: 25 })).toBe(false);
    expect(n).toBe(25);
  });

  it('runUntil returns true immediately if cond already holds', async () => {
    const c = new SimulatedClock();
    let ran = false;
    c.schedule(() => (ran = true));
    expect(await c.runUntil(() => true)).toBe(true);
    expect(ran).toBe(false);
  });

  it('runFor advances exactly ms, running due timers with settling', async () => {
    const c = new SimulatedClock();
    const log: number[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => c.setTimeout(r, ms));
    void (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(30);
        log.push(c.now());
      }
    })();
    await c.runFor(100);
    expect(log).toEqual([30, 60, 90]);
    expect(c.now()).toBe(100);
    await c.runFor(100);
    expect(log).toEqual([30, 60, 90, 120, 150]);
    expect(c.now()).toBe(200);
  });
});

describe('SeededRandom', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const seq = (seed: number) => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 20 }, () => r.next());
    };
    expect(seq(42)).toEqual(seq(42));
    expect(seq(42)).not.toEqual(seq(43));
    for (const x of seq(7)) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('int, chance, pick and fork behave', () => {
    const r = new SeededRandom(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[r.int(3)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(r.chance(0)).toBe(false);
    expect(r.chance(1)).toBe(true);
    expect(['a', 'b']).toContain(r.pick(['a', 'b']));
    expect(() => r.pick([])).toThrow();
    expect(() => r.int(0)).toThrow();
    const f1 = new SeededRandom(5).fork();
    const f2 = new SeededRandom(5).fork();
    expect(f1.next()).toBe(f2.next());
  });
});
