/**
 * Time source for the runtime. Everything that waits (ask deadlines, restart backoff, heartbeats,
 * xstate delayed transitions, simulated network delay) goes through a Clock so a test can swap in
 * SimulatedClock and run a whole cluster deterministically.
 *
 * The shape is a superset of xstate's `Clock`, so the same object is passed to `createActor`.
 */
export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Run `fn` soon, after the current job, in FIFO order with other scheduled work. */
  schedule(fn: () => void): void;
}

export class RealClock implements Clock {
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    // Timers never keep a process alive on their own; open sockets do that.
    t.unref?.();
    return t;
  }
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
  schedule(fn: () => void): void {
    setImmediate(fn);
  }
}

export const realClock = new RealClock();
