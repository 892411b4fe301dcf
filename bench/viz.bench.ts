/**
 * Live-stream overhead: transitions per second of a busy machine actor without a watcher and with
 * one, in one run.
 *
 *   npm run bench:viz [-- --seconds 1 --rounds 5 --batch 1000 --json]
 *
 * One process: a nats-server (harness), an ActorSystem on it with the node's VizPublisher, one
 * machine actor that flips between two states on every `tick` (one transition per message), and a
 * watcher (watchTransitions on its own NATS connection) that consumes and counts the events.
 * Ticks are local tells in batches of --batch, each batch closed by an ask (so the mailbox never
 * overflows); a phase runs --seconds and ends with a flush of the node's connection, so with a
 * watcher the published events are on the wire before the clock stops. Each round runs the two
 * phases in palindromic order (without, with, with, without; the next round starts with `with`);
 * the medians are reported, and the ratio with/without.
 *
 * Without a watcher the machine runs with no inspection observer at all (xstate's inspection
 * call returns at once); with one, every transition is turned into a JSON event and published.
 *
 * Output: a table on stdout; with --json the last line is one JSON object
 * (transitions_per_s_without_watcher, transitions_per_s_with_watcher, watcher_overhead_ratio, …).
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { assign, setup } from 'xstate';
import { ActorSystem } from '../src/runtime/actor-system.ts';
import { reply } from '../src/runtime/machine-actions.ts';
import { startNatsServer } from '../src/testing/nats-server.ts';
import { VizPublisher } from '../src/viz/live.ts';
import { watchTransitions, type VizWatch } from '../src/viz/watch.ts';
import { positive } from './lib/options.ts';
import { fmtRate, median, round, table } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    batch: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const seconds = positive('--seconds', values.seconds, 1);
const rounds = positive('--rounds', values.rounds, 5, true);
const batch = positive('--batch', values.batch, 1_000, true);
const log = (s: string) => process.stderr.write(`${s}\n`);

const busy = setup({
  types: {} as { context: { n: number }; events: { type: 'tick' } | { type: 'count' } },
  actions: { bump: assign({ n: ({ context }) => context.n + 1 }) },
}).createMachine({
  id: 'busy',
  context: { n: 0 },
  initial: 'a',
  on: { count: { actions: reply(({ context }) => (context as { n: number }).n) } },
  states: {
    a: { on: { tick: { target: 'b', actions: 'bump' } } },
    b: { on: { tick: { target: 'a', actions: 'bump' } } },
  },
});

const server = await startNatsServer();
const system = await ActorSystem.start({ nodeId: 'bench', cluster: 'vizbench', nats: { servers: server.url }, logLevel: 'warn', failureDetector: false });
const publisher = VizPublisher.attach(system);
const actor = system.spawn('busy', busy);
const watcherNc = await connect({ servers: server.url, name: 'viz-bench-watcher' });
const tick = { type: 'tick' };
const count = { type: 'count' };

async function phase(): Promise<{ rate: number; transitions: number }> {
  const start = await system.ask<number>(actor, count);
  const t0 = performance.now();
  const end = t0 + seconds * 1_000;
  while (performance.now() < end) {
    for (let i = 0; i < batch; i++) system.tell(actor, tick);
    await system.ask(actor, count);
  }
  await system.transport.flush();
  const elapsed = (performance.now() - t0) / 1_000;
  const transitions = (await system.ask<number>(actor, count)) - start;
  return { rate: transitions / elapsed, transitions };
}

let watch: VizWatch | undefined;
let received = 0;
async function setWatcher(on: boolean): Promise<void> {
  if (on && !watch) {
    watch = await watchTransitions(watcherNc, { cluster: 'vizbench', pathPrefix: '/user/busy', onEvent: () => void received++, bufferSize: 1 });
    await watch.waitForNodes(['bench']);
    if (publisher.watchedActors !== 1) throw new Error('the watcher is not attached');
  } else if (!on && watch) {
    await watch.close();
    watch = undefined;
    const deadline = Date.now() + 10_000;
    while (publisher.watchedActors !== 0) {
      if (Date.now() > deadline) throw new Error('the watcher did not detach');
      await new Promise((r) => setImmediate(r));
    }
  }
}

const results = { without: [] as number[], with: [] as number[] };
let published = 0;
// Warm-up: both paths once.
for (const on of [false, true]) {
  await setWatcher(on);
  await phase();
}
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? [false, true, true, false] : [true, false, false, true];
  for (const on of order) {
    await setWatcher(on);
    const before = publisher.published;
    const { rate, transitions } = await phase();
    if (on) published += publisher.published - before;
    else if (publisher.published !== before) throw new Error('events were published without a watcher');
    (on ? results.with : results.without).push(rate / 2); // each side runs twice per round: halves of its mean
    log(`round ${r + 1} ${on ? 'with   ' : 'without'} ${fmtRate(rate)} transitions/s (${transitions})`);
  }
}
await setWatcher(false);
await watcherNc.flush();

// Each side ran twice per round: the two halves add up to that round's mean rate.
const perRound = (xs: number[]) => xs.reduce<number[]>((acc, x, i) => (i % 2 === 0 ? acc.push(x) : (acc[acc.length - 1]! += x), acc), []);
const without = median(perRound(results.without));
const withW = median(perRound(results.with));
const ratio = withW / without;

console.log(
  table(
    ['machine actor, one transition per message', 'transitions/s'],
    [
      ['without a watcher (no inspection observer)', fmtRate(without)],
      ['with a live watcher (every transition published)', fmtRate(withW)],
      ['ratio with / without', round(ratio, 3).toFixed(3)],
    ],
  ),
);
console.log(`events published ${published}, received by the watcher ${received}`);
if (values.json) {
  console.log(
    JSON.stringify({
      transitions_per_s_without_watcher: Math.round(without),
      transitions_per_s_with_watcher: Math.round(withW),
      watcher_overhead_ratio: round(ratio, 3),
      events_published: published,
      events_received: received,
      seconds,
      rounds,
      batch,
      node: process.version,
    }),
  );
}
await system.shutdown();
publisher.close();
await watcherNc.close();
await server.stop();
