import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../../src/runtime/clock.ts';
import { HeartbeatDetector } from '../../src/runtime/failure-detector.ts';
import { encode } from '../../src/transport/codec.ts';
import type { MessageHandler, Transport } from '../../src/transport/transport.ts';

/** A clock moved by hand: time can jump past a timer's due time, as a paused process sees it. */
class ManualClock implements Clock {
  t = 0;
  private timers = new Map<number, { due: number; fn: () => void }>();
  private next = 0;
  now = () => this.t;
  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.timers.set(++this.next, { due: this.t + ms, fn });
    return this.next;
  }
  clearTimeout(h: TimerHandle): void {
    this.timers.delete(h as number);
  }
  schedule(fn: () => void): void {
    this.setTimeout(fn, 0);
  }
  /** Jump to `t` and only then fire what is due, oldest first (one late firing each). */
  jumpTo(t: number): void {
    this.t = t;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].due - b[1].due)) {
      if (timer.due > t || !this.timers.has(id)) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
}

function setup() {
  const clock = new ManualClock();
  let deliver: MessageHandler = () => undefined;
  const transport: Transport = {
    publish: () => undefined,
    subscribe: (_s, h) => ((deliver = h), { unsubscribe: () => undefined }),
    flush: async () => undefined,
    close: async () => undefined,
    closed: new Promise(() => undefined),
  };
  const detector = new HeartbeatDetector(transport, clock, 'c', 'me', 'inc-me', pino({ level: 'silent' }), { intervalMs: 100, timeoutMs: 500 });
  const downs: string[] = [];
  detector.start({ onNodeUp: () => undefined, onNodeDown: (n) => downs.push(n) });
  const beat = (node: string) => deliver({ subject: `shoal.c.hb.${node}`, data: encode({ n: node, i: `inc-${node}` }) });
  return { clock, detector, downs, beat };
}

it('declares a silent peer down after the timeout', () => {
  const { clock, downs, beat } = setup();
  beat('peer');
  for (let t = 50; t <= 400; t += 50) clock.jumpTo(t);
  expect(downs).toEqual([]);
  for (let t = 450; t <= 700; t += 50) clock.jumpTo(t);
  expect(downs).toEqual(['peer']);
});

it('does not blame its peers when its own process was paused', () => {
  const { clock, detector, downs, beat } = setup();
  beat('peer');
  clock.jumpTo(50);
  clock.jumpTo(5_000); // SIGSTOP for 5 s: the check fires 4.9 s late
  expect(downs).toEqual([]);
  expect(detector.isUp('peer')).toBe(true);
  // But a peer that stays silent after the pause still goes down.
  for (let t = 5_050; t <= 5_700; t += 50) clock.jumpTo(t);
  expect(downs).toEqual(['peer']);
});
