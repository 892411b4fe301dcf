/**
 * Virtual time for deterministic tests. Nothing happens unless the test drives the clock:
 * synchronously with advance()/runNext()/runOne(), or asynchronously with runUntil()/runFor(),
 * which also let promise continuations run between timer callbacks.
 *
 * Ordering: timers run by due time; timers with equal due time run in registration order
 * (FIFO). schedule(fn) is a timer due now, so scheduled work is FIFO too.
 */
import type { Clock, TimerHandle } from './clock.ts';

interface Timer {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export interface SimulatedClockOptions {
  /** Virtual start time in ms (default 0). */
  start?: number;
  /** Receives exceptions thrown by timer callbacks (default: console.error). */
  onError?: (err: unknown) => void;
  /** Real event-loop turns (setImmediate) per settle() (default 2). */
  settleTurns?: number;
  /**
   * advance()/runNext() throw after running this many timers in one call, to turn a livelock
   * (a timer that keeps scheduling itself with 0 delay) into an error. Default 10,000,000.
   */
  maxTimersPerCall?: number;
}

export interface RunUntilOptions {
  /** Give up once virtual time would pass (time at call) + maxTimeMs. Default: no limit. */
  maxTimeMs?: number;
  /** Give up after running this many timers. Default 1,000,000. */
  maxSteps?: number;
}

const DEFAULT_MAX_STEPS = 1_000_000;

export class SimulatedClock implements Clock {
  private current: number;
  private seq = 0;
  private nextId = 1;
  private readonly heap: Timer[] = [];
  private readonly active = new Map<number, Timer>();
  private readonly onError: (err: unknown) => void;
  private readonly settleTurns: number;
  private running = false;
  private readonly maxTimersPerCall: number;

  constructor(opts: SimulatedClockOptions = {}) {
    this.current = opts.start ?? 0;
    this.onError = opts.onError ?? ((err) => console.error('SimulatedClock: timer callback threw', err));
    this.settleTurns = Math.max(1, opts.settleTurns ?? 2);
    this.maxTimersPerCall = opts.maxTimersPerCall ?? 10_000_000;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    const timer: Timer = {
      id: this.nextId++,
      due: this.current + delay,
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.active.set(timer.id, timer);
    this.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle !== 'number') return;
    const timer = this.active.get(handle);
    if (!timer) return;
    timer.cancelled = true;
    this.active.delete(handle);
  }

  schedule(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  /** Number of timers registered and not yet run or cleared. */
  pending(): number {
    return this.active.size;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDueTime(): number | undefined {
    return this.peek()?.due;
  }

  /**
   * Run every timer due up to now+ms, in due order, including timers created meanwhile that fall
   * inside the window. `now` is set to each timer's due time while it runs, and ends at old now + ms.
   * Promise continuations do NOT run between callbacks (this is synchronous); use runFor() for that.
   */
  advance(ms: number): void {
    this.enter();
    try {
      const target = this.current + Math.max(0, ms);
      for (let n = 0; ; n++) {
        const t = this.peek();
        if (!t || t.due > target) break;
        this.checkLivelock(n);
        this.runTimer(this.pop()!);
      }
      this.current = target;
    } finally {
      this.running = false;
    }
  }

  /**
   * Jump to the earliest timer and run all timers due at that instant (FIFO), including ones they
   * schedule for the same instant. False if no timer is pending (or the earliest is never due).
   */
  runNext(): boolean {
    this.enter();
    try {
      const first = this.peek();
      if (!first || first.due === Infinity) return false;
      const at = first.due;
      for (let n = 0; ; n++) {
        const t = this.peek();
        if (!t || t.due > at) break;
        this.checkLivelock(n);
        this.runTimer(this.pop()!);
      }
      return true;
    } finally {
      this.running = false;
    }
  }

  /** Run exactly one timer: the earliest (FIFO among equals). False if none is pending. */
  runOne(): boolean {
    this.enter();
    try {
      const first = this.peek();
      if (!first || first.due === Infinity) return false;
      this.runTimer(this.pop()!);
      return true;
    } finally {
      this.running = false;
    }
  }

  /**
   * Let pending promise jobs run: waits `settleTurns` real event-loop turns (setImmediate). Node
   * drains the whole microtask queue (including jobs queued by jobs) before each turn, so any
   * promise chain that only waits on other promises completes. Real time is never used as timing.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * settle(), check cond, run ONE timer, repeat. One timer per step (rather than runNext's batch)
   * so promise continuations run between timer callbacks, as on Node's real event loop.
   * Returns true as soon as cond() holds; false if no timers remain, if the next timer lies beyond
   * start + maxTimeMs (virtual time is then moved to that deadline), or after maxSteps timers.
   */
  async runUntil(cond: () => boolean, opts: RunUntilOptions = {}): Promise<boolean> {
    const deadline = this.current + (opts.maxTimeMs ?? Infinity);
    const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
    let steps = 0;
    for (;;) {
      await this.settle();
      if (cond()) return true;
      const due = this.nextDueTime();
      if (due === undefined || due === Infinity) return false;
      if (due > deadline) {
        if (deadline > this.current) this.current = deadline;
        return false;
      }
      if (steps >= maxSteps) return false;
      this.runOne();
      steps++;
    }
  }

  /** Run timers one at a time with settling between them until virtual time has advanced ms. */
  async runFor(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      await this.settle();
      const due = this.nextDueTime();
      if (due === undefined || due > target) break;
      this.runOne();
    }
    this.current = Math.max(this.current, target);
    await this.settle();
  }

  // ---- internals ----

  private enter(): void {
    if (this.running) {
      throw new Error('SimulatedClock: advance/runNext/runOne called from inside a timer callback');
    }
    this.running = true;
  }

  private checkLivelock(n: number): void {
    if (n >= this.maxTimersPerCall) {
      throw new Error(
        `SimulatedClock: ran ${n} timers in one call at t=${this.current}; livelock? (maxTimersPerCall)`,
      );
    }
  }

  private runTimer(t: Timer): void {
    this.active.delete(t.id);
    if (t.due > this.current) this.current = t.due;
    try {
      t.fn();
    } catch (err) {
      try {
        this.onError(err);
      } catch {
        // An onError that throws must not corrupt the clock either.
      }
    }
  }

  private less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private peek(): Timer | undefined {
    // Lazily discard cancelled timers at the top.
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
