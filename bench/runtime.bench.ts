/**
 * Runtime benchmark: Shoal remote ask/tell between two OS processes, side by side with raw
 * NATS.js request/reply and publish on the same nats-server in the same run.
 *
 *   npm run bench:runtime [-- --seconds 2 --rounds 3 --window 256 --json]
 *
 * This process runs the nats-server (harness), the client ActorSystem (node `client`) and a raw
 * NATS.js connection; bench/runtime-peer.ts runs in a child process with the echo and sink actors
 * and the raw echo/sink responders.
 *
 * Measurements (each a fixed duration, after a warm-up; rounds alternate raw/Shoal and swap
 * which goes first; the median of the rounds is reported):
 *   ask_seq     one request at a time: raw `nc.request` vs `system.ask` (round trips/s)
 *   ask_window  `--window` requests kept in flight (default 256)
 *   tell        one-way messages until the peer confirms it received them all: raw publish vs
 *               `system.tell`; a flush every few thousand messages and at most `--tell-window`
 *               unconfirmed messages ahead of the peer (flow control through count barriers);
 *               time from the first send to the confirmed count.
 *
 * Both sides carry the same msgpack message: Shoal encodes `{ i, s }` inside its envelope, the
 * raw side sends `encode({ i, s })` (encoded per message, the reply decoded, like an application
 * would); the raw peer echoes the bytes back / only counts them.
 *
 * Output: progress on stderr; a table on stdout; with --json the last stdout line is one JSON
 * object (ask_seq_raw, ask_seq_shoal, ask_seq_ratio, ask_window_*, tell_*, seconds, rounds, node…).
 * --check exits 1 when a ratio misses its target (asks ≥ 0.8, tell ≥ 0.5).
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ActorSystem } from '../src/runtime/actor-system.ts';
import type { ActorRef } from '../src/runtime/actor-ref.ts';
import { startNatsServer, type NatsServerHandle } from '../src/testing/nats-server.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { spawnPeer, type PeerHandle } from './lib/peer-process.ts';
import { RAW_SUBJECTS } from './lib/raw-subjects.ts';
import { fmtRate, median, round, table } from './lib/stats.ts';
import { delta, snapshot, type CpuSnapshot } from './lib/cpu.ts';

// ---- options --------------------------------------------------------------------------------

const KINDS = ['ask_seq', 'ask_window', 'tell'] as const;
type Kind = (typeof KINDS)[number];
type Side = 'raw' | 'shoal';

const TARGETS: Record<Kind, number> = { ask_seq: 0.8, ask_window: 0.8, tell: 0.5 };

const USAGE = `usage: npm run bench:runtime -- [options]
  --seconds N        duration of each measured run (default 2)
  --rounds N         rounds per measurement, each runs raw and Shoal once (default 3, min 1)
  --warmup N         warm-up seconds per measurement and side (default min(1, seconds))
  --window N         requests in flight for ask_window (default 256)
  --tell-window N    max unconfirmed tells ahead of the peer (default 50000)
  --only LIST        comma-separated subset of ${KINDS.join(',')}
  --json             last stdout line is one JSON object
  --check            exit 1 when a ratio misses its target
  --peer-cpu-prof D  run the peer with --cpu-prof, profiles written to directory D
  --side S           raw | shoal | both (default both); one side only is for profiling
  -h, --help`;

function positive(name: string, v: string | undefined, dflt: number, integer = false): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
      'tell-window': { type: 'string' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      'peer-cpu-prof': { type: 'string' },
      side: { type: 'string', default: 'both' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const seconds = positive('seconds', values.seconds, 2);
  const only = values.only
    ? values.only.split(',').map((s) => s.trim()).filter(Boolean)
    : [...KINDS];
  for (const k of only) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`--only: unknown measurement '${k}'`);
  const side = values.side;
  if (side !== 'raw' && side !== 'shoal' && side !== 'both') throw new Error(`--side must be raw, shoal or both, got ${JSON.stringify(side)}`);
  const sides: Side[] = side === 'both' ? ['raw', 'shoal'] : [side];
  return {
    seconds,
    rounds: positive('rounds', values.rounds, 3, true),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, Math.min(1, seconds)),
    window: positive('window', values.window, 256, true),
    tellWindow: positive('tell-window', values['tell-window'], 50_000, true),
    kinds: only as Kind[],
    json: values.json,
    check: values.check,
    peerCpuProf: values['peer-cpu-prof'],
    sides,
  };
}

type Options = ReturnType<typeof parseOptions>;

// ---- the two sides ------------------------------------------------------------------------------

const ASK_TIMEOUT_MS = 10_000;
const BARRIER_TIMEOUT_MS = 30_000;
const FILLER = 'x'.repeat(64);

interface Driver {
  /** One round trip; resolves with the decoded reply. */
  ask(i: number): Promise<unknown>;
  tell(i: number): void;
  flush(): Promise<void>;
  /** The sink's count. A barrier: it answers after every message told before it was handled. */
  count(): Promise<number>;
  reset(): Promise<number>;
  /** Shoal only: the sink's deepest mailbox since the last reset. */
  maxDepth?(): Promise<number>;
}

function rawDriver(nc: NatsConnection): Driver {
  return {
    async ask(i) {
      const m = await nc.request(RAW_SUBJECTS.echo, encode({ i, s: FILLER }), { timeout: ASK_TIMEOUT_MS });
      return decode(m.data);
    },
    tell(i) {
      nc.publish(RAW_SUBJECTS.tell, encode({ i, s: FILLER }));
    },
    flush: () => nc.flush(),
    async count() {
      return decode((await nc.request(RAW_SUBJECTS.count, undefined, { timeout: BARRIER_TIMEOUT_MS })).data) as number;
    },
    async reset() {
      return decode((await nc.request(RAW_SUBJECTS.reset, undefined, { timeout: BARRIER_TIMEOUT_MS })).data) as number;
    },
  };
}

function shoalDriver(system: ActorSystem, echo: ActorRef, sink: ActorRef): Driver {
  return {
    ask: (i) => system.ask(echo, { i, s: FILLER }, { timeoutMs: ASK_TIMEOUT_MS }),
    tell(i) {
      system.tell(sink, { i, s: FILLER });
    },
    flush: () => system.transport.flush(),
    count: () => system.ask<number>(sink, { type: 'count' }, { timeoutMs: BARRIER_TIMEOUT_MS }),
    reset: () => system.ask<number>(sink, { type: 'reset' }, { timeoutMs: BARRIER_TIMEOUT_MS }),
    maxDepth: async () =>
      (await system.ask<{ maxDepth: number }>(sink, { type: 'stats' }, { timeoutMs: BARRIER_TIMEOUT_MS })).maxDepth,
  };
}

// ---- measurements --------------------------------------------------------------------------------

const now = () => performance.now();

interface RunResult {
  rate: number;
  ops: number;
  elapsedMs: number;
  /** tell only: messages sent but never counted by the peer */
  dropped?: number;
  /** tell, Shoal: deepest mailbox of the peer's sink actor during the run (sampled) */
  maxDepth?: number;
  /** CPU ms each process used during the run (client = this process) */
  cpu?: CpuSnapshot;
}

async function askSeq(d: Driver, seconds: number): Promise<RunResult> {
  let n = 0;
  const t0 = now();
  const deadline = t0 + seconds * 1000;
  while (now() < deadline) {
    await d.ask(n);
    n++;
  }
  const elapsedMs = now() - t0;
  return { rate: (n / elapsedMs) * 1000, ops: n, elapsedMs };
}

async function askWindow(d: Driver, seconds: number, window: number): Promise<RunResult> {
  let n = 0;
  const t0 = now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (now() < deadline) {
      await d.ask(n);
      n++;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const elapsedMs = now() - t0;
  return { rate: (n / elapsedMs) * 1000, ops: n, elapsedMs };
}

const TELL_BATCH = 500;
const TELL_FLUSH_EVERY = 5_000;
/** After the last send: how long the peer's count may stand still before the rest counts as lost. */
const TELL_STALL_MS = 1_000;

async function tellRun(d: Driver, seconds: number, maxAhead: number): Promise<RunResult> {
  await d.reset();
  let sent = 0;
  // Flow control: a count request is a barrier, so when the one issued after `at` sends answers,
  // the peer has handled (counted or lost) all `at` of them.
  let confirmedSent = 0;
  let marker: Promise<void> | undefined;
  let markerError: unknown;
  const issueMarker = () => {
    const at = sent;
    marker = d.count().then(
      () => {
        if (at > confirmedSent) confirmedSent = at;
        marker = undefined;
      },
      (err: unknown) => {
        markerError ??= err;
        marker = undefined;
      },
    );
  };
  let sinceFlush = 0;
  const t0 = now();
  const deadline = t0 + seconds * 1000;
  try {
    while (now() < deadline) {
      if (markerError) throw markerError;
      for (let k = 0; k < TELL_BATCH; k++) d.tell(sent++);
      sinceFlush += TELL_BATCH;
      if (!marker) issueMarker();
      while (sent - confirmedSent > maxAhead && now() < deadline + BARRIER_TIMEOUT_MS) {
        if (markerError) throw markerError;
        if (!marker) issueMarker();
        await marker;
      }
      if (sinceFlush >= TELL_FLUSH_EVERY) {
        sinceFlush = 0;
        await d.flush();
      }
    }
    await d.flush();
  } finally {
    await marker;
  }
  if (markerError) throw markerError;
  // Confirm receipt: poll the count (each poll is a barrier) until all arrived or it stops moving.
  let received = await d.count();
  let lastChange = now();
  const giveUp = now() + BARRIER_TIMEOUT_MS;
  while (received < sent && now() < giveUp && now() - lastChange < TELL_STALL_MS) {
    await new Promise((r) => setTimeout(r, 20));
    const c = await d.count();
    if (c !== received) lastChange = now();
    received = c;
  }
  const elapsedMs = (received >= sent ? now() : lastChange) - t0;
  const result: RunResult = { rate: (received / elapsedMs) * 1000, ops: received, elapsedMs, dropped: Math.max(0, sent - received) };
  if (d.maxDepth) result.maxDepth = await d.maxDepth();
  return result;
}

function measure(kind: Kind, d: Driver, seconds: number, opts: Options): Promise<RunResult> {
  switch (kind) {
    case 'ask_seq':
      return askSeq(d, seconds);
    case 'ask_window':
      return askWindow(d, seconds, opts.window);
    case 'tell':
      return tellRun(d, seconds, opts.tellWindow);
  }
}

// ---- main -------------------------------------------------------------------------------------------

const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function checkEcho(d: Driver, side: Side): Promise<void> {
  const reply = (await d.ask(42)) as { i?: unknown; s?: unknown } | undefined;
  if (reply?.i !== 42 || reply.s !== FILLER) throw new Error(`${side} echo returned ${JSON.stringify(reply)}`);
}

interface Results {
  runs: Record<Kind, Record<Side, RunResult[]>>;
  nodeDown: string[];
}

async function run(opts: Options, res: Results, resources: {
  server?: NatsServerHandle;
  peer?: PeerHandle;
  system?: ActorSystem;
  nc?: NatsConnection;
}): Promise<void> {
  progress('starting nats-server');
  resources.server = await startNatsServer();
  const url = resources.server.url;
  progress(`nats-server ${url}; spawning peer`);
  resources.peer = await spawnPeer({
    natsUrl: url,
    nodeId: 'peer',
    nodeArgs: opts.peerCpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.peerCpuProf] : [],
  });
  const peer = resources.peer;
  progress(`peer pid ${peer.pid} ready in ${Math.round(peer.startMs)} ms`);
  void peer.exited.then((how) => {
    if (!stopping) progress(`peer exited unexpectedly (${how})`);
  });

  resources.system = await ActorSystem.start({ nodeId: 'client', nats: { servers: url }, logLevel: 'silent' });
  const system = resources.system;
  system.on('nodeDown', (node, reason) => {
    res.nodeDown.push(`${node}: ${reason}`);
    progress(`WARNING: client saw node ${node} down (${reason})`);
  });
  resources.nc = await connect({ servers: url, name: 'bench-raw-client' });

  const drivers: Record<Side, Driver> = {
    raw: rawDriver(resources.nc),
    shoal: shoalDriver(system, system.ref(peer.ready.echo), system.ref(peer.ready.sink)),
  };
  await checkEcho(drivers.raw, 'raw');
  await checkEcho(drivers.shoal, 'shoal');

  if (opts.warmup > 0) {
    for (const kind of opts.kinds) {
      for (const side of opts.sides) {
        const r = await measure(kind, drivers[side], opts.warmup, opts);
        progress(`warm-up ${kind} ${side}: ${fmtRate(r.rate)}/s`);
      }
    }
  }

  const pids = { client: 'self' as const, peer: peer.pid, server: resources.server.pid };
  for (let round = 0; round < opts.rounds; round++) {
    for (const kind of opts.kinds) {
      const order: Side[] = round % 2 === 0 ? opts.sides : [...opts.sides].reverse();
      for (const side of order) {
        const before = snapshot(pids);
        const r = await measure(kind, drivers[side], opts.seconds, opts);
        r.cpu = delta(before, snapshot(pids));
        res.runs[kind][side].push(r);
        const extra =
          (r.dropped ? ` (${r.dropped} never arrived)` : '') + (r.maxDepth !== undefined ? ` max mailbox ${r.maxDepth}` : '');
        progress(
          `round ${round + 1}/${opts.rounds} ${kind} ${side}: ${fmtRate(r.rate)}/s (${r.ops} in ${Math.round(r.elapsedMs)} ms)${extra}; ${cpuText(r)}`,
        );
      }
    }
  }
}

let stopping = false;

/** "cpu client 61% 3.2 µs/op, peer 98% 5.1 µs/op, server 40% 2.0 µs/op" */
function cpuText(r: RunResult): string {
  const parts = Object.entries(r.cpu ?? {})
    .filter(([, ms]) => ms !== undefined)
    .map(([name, ms]) => `${name} ${Math.round((100 * ms!) / r.elapsedMs)}% ${((ms! * 1000) / r.ops).toFixed(1)} µs/op`);
  return parts.length ? `cpu ${parts.join(', ')}` : 'cpu n/a';
}

async function cleanup(resources: { server?: NatsServerHandle; peer?: PeerHandle; system?: ActorSystem; nc?: NatsConnection }) {
  stopping = true;
  const withTimeout = <T>(p: Promise<T> | undefined, ms: number) =>
    p ? Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]) : undefined;
  await Promise.all([withTimeout(resources.system?.shutdown(), 5_000), withTimeout(resources.nc?.close(), 5_000)]);
  await withTimeout(resources.peer?.stop(), 10_000);
  await withTimeout(resources.server?.stop(), 10_000);
}

function report(opts: Options, res: Results): { json: Record<string, unknown>; missed: string[] } {
  const json: Record<string, unknown> = {};
  const rows: string[][] = [];
  const missed: string[] = [];
  for (const kind of KINDS) {
    if (!opts.kinds.includes(kind)) continue;
    const raw = median(res.runs[kind].raw.map((r) => r.rate));
    const shoal = median(res.runs[kind].shoal.map((r) => r.rate));
    const ratio = shoal / raw;
    const perRound = res.runs[kind].raw.map((r, i) => round((res.runs[kind].shoal[i]?.rate ?? NaN) / r.rate, 2));
    const ok = ratio >= TARGETS[kind];
    if (!ok) missed.push(kind);
    json[`${kind}_raw`] = Math.round(raw);
    json[`${kind}_shoal`] = Math.round(shoal);
    json[`${kind}_ratio`] = round(ratio, 3);
    const label = kind === 'ask_window' ? `ask_window (${opts.window})` : kind;
    rows.push([label, fmtRate(raw), fmtRate(shoal), ratio.toFixed(2), `>= ${TARGETS[kind]}`, ok ? 'ok' : 'MISSED', perRound.join(' ')]);
  }
  const dropped = Object.fromEntries(
    (['raw', 'shoal'] as const).map((s) => [s, res.runs.tell[s].reduce((a, r) => a + (r.dropped ?? 0), 0)]),
  );
  const payloadBytes = encode({ i: 1, s: FILLER }).length;
  const out: string[] = [];
  out.push(
    `Shoal runtime vs raw NATS.js — ${process.version}, ${opts.seconds} s per run, median of ${opts.rounds} rounds, ` +
      `payload { i, s: 64 x 'x' } (${payloadBytes} B msgpack)`,
  );
  out.push(table(['measurement (ops/s)', 'raw NATS', 'Shoal', 'ratio', 'target', '', 'per-round ratios'], rows));
  if (dropped.raw || dropped.shoal) out.push(`tell: messages that never reached the peer: raw ${dropped.raw}, Shoal ${dropped.shoal}`);
  if (res.nodeDown.length) out.push(`node-down events seen by the client: ${res.nodeDown.join('; ')}`);
  console.log(out.join('\n'));
  Object.assign(json, {
    seconds: opts.seconds,
    rounds: opts.rounds,
    window: opts.window,
    node: process.version,
    tell_dropped_raw: dropped.raw,
    tell_dropped_shoal: dropped.shoal,
    node_down_events: res.nodeDown.length,
    targets_met: missed.length === 0,
  });
  return { json, missed };
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const res: Results = {
    runs: Object.fromEntries(KINDS.map((k) => [k, { raw: [], shoal: [] }])) as unknown as Results['runs'],
    nodeDown: [],
  };
  const resources: Parameters<typeof cleanup>[0] = {};
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`${sig}: cleaning up`);
    void cleanup(resources).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let code = 0;
  try {
    await run(opts, res, resources);
  } catch (err) {
    console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  } finally {
    progress('cleaning up');
    await cleanup(resources);
  }
  if (code !== 0) return code;
  const { json, missed } = report(opts, res);
  if (opts.json) console.log(JSON.stringify(json));
  return opts.check && missed.length > 0 ? 1 : 0;
}

const code = await main();
process.exitCode = code;
// Everything is closed; should some handle linger anyway, do not hang.
setTimeout(() => {
  process.stderr.write('[bench] a handle kept the process alive after cleanup; exiting\n');
  process.exit(code);
}, 5_000).unref();
