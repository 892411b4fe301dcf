/**
 * Runtime benchmark: Shoal remote ask/tell between two OS processes, side by side with raw
 * NATS.js request/reply and publish on the same nats-server in the same run.
 *
 *   npm run bench:runtime [-- --seconds 2 --rounds 3 --window 256 --json]
 *
 * This process runs the nats-server (harness), the client ActorSystem (node `client`) and a raw
 * NATS.js connection; bench/runtime-peer.ts runs in a child process (node `peer`) with the echo
 * and sink actors and the raw echo/sink responders on its own connection.
 *
 * Measurements (after a warm-up, `--rounds` rounds; in each round each side runs `--seconds`,
 * split into two halves in palindromic order: raw, Shoal, Shoal, raw, and the next round starts
 * with Shoal, so drift in the machine's speed weighs on both sides alike; the median over the
 * rounds is reported):
 *   ask_seq     one request at a time: raw `nc.request` vs `system.ask` (round trips/s)
 *   ask_window  `--window` requests kept in flight (default 256)
 *   tell        one-way messages until the peer confirms it received them all: raw publish vs
 *               `system.tell`; a flush every few thousand messages and at most `--tell-window`
 *               unconfirmed messages ahead of the peer (flow control through count barriers);
 *               rate = messages / time from the first send to the confirmed count.
 * With --mux the asks are also run against a hand-rolled raw request/reply (one wildcard inbox,
 * publish with reply, a Map of pending requests: what Shoal's ask does), a stronger baseline than
 * `nc.request`.
 *
 * Both sides carry the same msgpack message: Shoal encodes `{ i, s }` in its envelope, the raw
 * side sends `encode({ i, s })` (encoded per message, replies decoded); the raw peer echoes the
 * bytes back or only counts them.
 *
 * Output: progress on stderr (with each process's CPU use per run: on a small machine the three
 * processes share the cores, so CPU per operation is what decides); a table on stdout; with
 * --json the last stdout line is one JSON object (ask_seq_raw, ask_seq_shoal, ask_seq_ratio,
 * ask_window_*, tell_*, seconds, rounds, node, …). --check exits 1 when a ratio misses its target
 * (asks ≥ 0.8, tell ≥ 0.5).
 */
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ActorSystem } from '../src/runtime/actor-system.ts';
import type { ActorRef } from '../src/runtime/actor-ref.ts';
import { startNatsServer, type NatsServerHandle } from '../src/testing/nats-server.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { delta, snapshot, type CpuSnapshot } from './lib/cpu.ts';
import { spawnPeer, type PeerHandle } from './lib/peer-process.ts';
import { RawMuxRequester } from './lib/raw-mux.ts';
import { RAW_SUBJECTS } from './lib/raw-subjects.ts';
import { fmtRate, median, round, table } from './lib/stats.ts';
import { positive } from './lib/options.ts';

// ---- options --------------------------------------------------------------------------------

const KINDS = ['ask_seq', 'ask_window', 'tell'] as const;
type Kind = (typeof KINDS)[number];
/** raw: NATS.js nc.request / publish; shoal: the runtime; mux: hand-rolled raw request/reply */
type Side = 'raw' | 'shoal' | 'mux';
const SIDES: readonly Side[] = ['raw', 'shoal', 'mux'];

const TARGETS: Record<Kind, number> = { ask_seq: 0.8, ask_window: 0.8, tell: 0.5 };

const USAGE = `usage: npm run bench:runtime -- [options]
  --seconds N        seconds per side and round, run as two halves (default 2)
  --rounds N         rounds per measurement (default 3); the median is reported
  --warmup N         warm-up seconds per measurement and side, 0 for none (default min(1, seconds))
  --window N         requests in flight for ask_window (default 256)
  --tell-window N    max unconfirmed tells ahead of the peer (default 50000)
  --only LIST        comma-separated subset of ${KINDS.join(',')}
  --mux              also run the asks against a hand-rolled raw request/reply (stronger baseline)
  --side S           raw | shoal | both (default both); one side only is for profiling
  --peer-cpu-prof D  run the peer with --cpu-prof, profiles written to directory D
  --json             the last stdout line is one JSON object
  --check            exit 1 when a ratio misses its target
  -h, --help`;


function parseOptions() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
      'tell-window': { type: 'string' },
      only: { type: 'string' },
      mux: { type: 'boolean', default: false },
      side: { type: 'string', default: 'both' },
      'peer-cpu-prof': { type: 'string' },
      json: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
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
  const kinds = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : [...KINDS];
  for (const k of kinds) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`--only: unknown measurement '${k}'`);
  const side = values.side;
  if (side !== 'raw' && side !== 'shoal' && side !== 'both') {
    throw new Error(`--side must be raw, shoal or both, got ${JSON.stringify(side)}`);
  }
  const sides: Side[] = side === 'both' ? ['raw', 'shoal'] : [side];
  if (values.mux && side !== 'shoal') sides.push('mux');
  return {
    seconds,
    rounds: positive('rounds', values.rounds, 3, true),
    warmup: values.warmup !== undefined && Number(values.warmup) === 0 ? 0 : positive('warmup', values.warmup, Math.min(1, seconds)),
    window: positive('window', values.window, 256, true),
    tellWindow: positive('tell-window', values['tell-window'], 50_000, true),
    kinds: KINDS.filter((k) => kinds.includes(k)),
    sides,
    json: values.json,
    check: values.check,
    peerCpuProf: values['peer-cpu-prof'],
  };
}

type Options = ReturnType<typeof parseOptions>;

// ---- the sides ------------------------------------------------------------------------------------

const ASK_TIMEOUT_MS = 10_000;
const BARRIER_TIMEOUT_MS = 30_000;
const FILLER = 'x'.repeat(64);

interface Driver {
  /** One round trip; resolves with the decoded reply. */
  ask(i: number): Promise<unknown>;
  /** Absent on a side that only does request/reply. */
  tell?(i: number): void;
  flush(): Promise<void>;
  /** The sink's count. A barrier: it answers after every message told before it was handled. */
  count(): Promise<number>;
  reset(): Promise<number>;
  /** Shoal only: the sink's deepest mailbox since the last reset (sampled). */
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

function muxDriver(nc: NatsConnection, mux: RawMuxRequester): Driver {
  const raw = rawDriver(nc);
  return {
    async ask(i) {
      return decode(await mux.request(RAW_SUBJECTS.echo, encode({ i, s: FILLER }), ASK_TIMEOUT_MS));
    },
    flush: raw.flush,
    count: raw.count,
    reset: raw.reset,
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
  const tell = d.tell;
  if (!tell) throw new Error('this side cannot tell');
  await d.reset();
  let sent = 0;
  // Flow control: a count request is a barrier, so once the one issued after `at` sends has
  // answered, the peer has handled (counted or lost) all `at` of them.
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
      for (let k = 0; k < TELL_BATCH; k++) tell(sent++);
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

/** The sides that take part in a measurement, in the order of an even round. */
function sidesFor(kind: Kind, opts: Options): Side[] {
  return opts.sides.filter((s) => s !== 'mux' || kind !== 'tell');
}

// ---- running ---------------------------------------------------------------------------------------

const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);

interface Resources {
  server?: NatsServerHandle;
  peer?: PeerHandle;
  system?: ActorSystem;
  nc?: NatsConnection;
  mux?: RawMuxRequester;
}

interface Results {
  runs: Record<Kind, Record<Side, RunResult[]>>;
  nodeDown: string[];
}

async function checkEcho(d: Driver, side: Side): Promise<void> {
  const reply = (await d.ask(42)) as { i?: unknown; s?: unknown } | undefined;
  if (reply?.i !== 42 || reply.s !== FILLER) throw new Error(`${side} echo returned ${JSON.stringify(reply)}`);
}

/** "cpu client 61% 3.2 µs/op, peer 98% 5.1 µs/op, server 40% 2.0 µs/op" */
function cpuText(r: RunResult): string {
  const parts = Object.entries(r.cpu ?? {})
    .filter(([, ms]) => ms !== undefined)
    .map(([name, ms]) => `${name} ${Math.round((100 * ms!) / r.elapsedMs)}% ${((ms! * 1000) / r.ops).toFixed(1)} µs/op`);
  return parts.length ? `cpu ${parts.join(', ')}` : 'cpu n/a';
}

async function run(opts: Options, res: Results, resources: Resources): Promise<void> {
  progress('starting nats-server');
  resources.server = await startNatsServer();
  const url = resources.server.url;
  progress(`nats-server ${url} (pid ${resources.server.pid}); spawning peer`);
  resources.peer = await spawnPeer({
    natsUrl: url,
    nodeId: 'peer',
    nodeArgs: opts.peerCpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.peerCpuProf] : [],
  });
  const peer = resources.peer;
  progress(`peer pid ${peer.pid} ready in ${Math.round(peer.startMs)} ms`);
  // A peer that dies fails the run at once instead of at the next request timeout.
  const peerGone = peer.exited.then((how) => {
    throw new Error(`peer exited unexpectedly (${how})`);
  });
  peerGone.catch(() => undefined);
  const guarded = <T>(p: Promise<T>): Promise<T> => Promise.race([p, peerGone]);

  resources.system = await ActorSystem.start({ nodeId: 'client', nats: { servers: url }, logLevel: 'silent' });
  const system = resources.system;
  system.on('nodeDown', (node, reason) => {
    res.nodeDown.push(`${node}: ${reason}`);
    progress(`WARNING: client saw node ${node} down (${reason})`);
  });
  resources.nc = await connect({ servers: url, name: 'bench-raw-client' });
  resources.mux = new RawMuxRequester(resources.nc);
  await resources.mux.ready();

  const drivers: Record<Side, Driver> = {
    raw: rawDriver(resources.nc),
    shoal: shoalDriver(system, system.ref(peer.ready.echo), system.ref(peer.ready.sink)),
    mux: muxDriver(resources.nc, resources.mux),
  };
  for (const side of opts.sides) await guarded(checkEcho(drivers[side], side));

  if (opts.warmup > 0) {
    for (const kind of opts.kinds) {
      for (const side of sidesFor(kind, opts)) {
        const r = await guarded(measure(kind, drivers[side], opts.warmup, opts));
        progress(`warm-up ${kind} ${side}: ${fmtRate(r.rate)}/s`);
      }
    }
  }

  // Each side gets `seconds` per round, run as two halves in palindromic order (raw, shoal,
  // shoal, raw; the next round starts with shoal), so a machine getting slower or faster during
  // the round weighs on both sides alike.
  const pids = { client: 'self' as const, peer: peer.pid, server: resources.server.pid };
  for (let rnd = 0; rnd < opts.rounds; rnd++) {
    for (const kind of opts.kinds) {
      const base = rnd % 2 === 0 ? sidesFor(kind, opts) : [...sidesFor(kind, opts)].reverse();
      const parts = new Map<Side, RunResult[]>();
      for (const side of [...base, ...[...base].reverse()]) {
        const before = snapshot(pids);
        const r = await guarded(measure(kind, drivers[side], opts.seconds / 2, opts));
        r.cpu = delta(before, snapshot(pids));
        parts.set(side, [...(parts.get(side) ?? []), r]);
      }
      for (const side of base) {
        const r = combine(parts.get(side)!);
        res.runs[kind][side].push(r);
        const extra =
          (r.dropped ? `, ${r.dropped} never arrived` : '') + (r.maxDepth !== undefined ? `, sink mailbox max ${r.maxDepth}` : '');
        progress(
          `round ${rnd + 1}/${opts.rounds} ${kind} ${side}: ${fmtRate(r.rate)}/s (${r.ops} in ${Math.round(r.elapsedMs)} ms${extra}); ${cpuText(r)}`,
        );
      }
    }
  }
}

/** Several runs of one side as one: total operations over total time. */
function combine(parts: RunResult[]): RunResult {
  const ops = parts.reduce((a, r) => a + r.ops, 0);
  const elapsedMs = parts.reduce((a, r) => a + r.elapsedMs, 0);
  const out: RunResult = { rate: (ops / elapsedMs) * 1000, ops, elapsedMs };
  if (parts.some((r) => r.dropped !== undefined)) out.dropped = parts.reduce((a, r) => a + (r.dropped ?? 0), 0);
  if (parts.some((r) => r.maxDepth !== undefined)) out.maxDepth = Math.max(...parts.map((r) => r.maxDepth ?? 0));
  const cpu: CpuSnapshot = {};
  for (const name of Object.keys(parts[0]?.cpu ?? {})) {
    const xs = parts.map((r) => r.cpu?.[name]);
    cpu[name] = xs.every((x) => x !== undefined) ? xs.reduce((a, b) => a! + b!, 0) : undefined;
  }
  out.cpu = cpu;
  return out;
}

async function cleanup(resources: Resources): Promise<void> {
  const within = <T>(p: Promise<T> | undefined, ms: number) =>
    p ? Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]) : undefined;
  resources.mux?.close();
  await Promise.all([within(resources.system?.shutdown(), 5_000), within(resources.nc?.close(), 5_000)]);
  await within(resources.peer?.stop(), 10_000);
  await within(resources.server?.stop(), 10_000);
}

// ---- report ------------------------------------------------------------------------------------------

/** Median CPU µs per operation of each process over a side's runs. */
function cpuPerOp(runs: RunResult[]): Record<string, number> | undefined {
  const names = Object.keys(runs[0]?.cpu ?? {});
  const out: Record<string, number> = {};
  for (const name of names) {
    const xs = runs.flatMap((r) => (r.cpu?.[name] === undefined ? [] : [(r.cpu[name]! * 1000) / r.ops]));
    if (xs.length) out[name] = round(median(xs), 2);
  }
  return Object.keys(out).length ? out : undefined;
}

function report(opts: Options, res: Results): { json: Record<string, unknown>; missed: string[] } {
  const json: Record<string, unknown> = {};
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  const cpuJson: Record<string, Partial<Record<Side, Record<string, number>>>> = {};
  const missed: string[] = [];
  const rate = (kind: Kind, side: Side) => median(res.runs[kind][side].map((r) => r.rate));
  const perRound = (kind: Kind, base: Side) =>
    res.runs[kind][base].map((r, i) => round((res.runs[kind].shoal[i]?.rate ?? NaN) / r.rate, 2)).join(' ');
  for (const kind of opts.kinds) {
    const label = kind === 'ask_window' ? `ask_window (${opts.window})` : kind;
    const raw = rate(kind, 'raw');
    const shoal = rate(kind, 'shoal');
    const ratio = shoal / raw;
    const ok = ratio >= TARGETS[kind];
    if (!ok) missed.push(kind);
    json[`${kind}_raw`] = Math.round(raw);
    json[`${kind}_shoal`] = Math.round(shoal);
    json[`${kind}_ratio`] = round(ratio, 3);
    rows.push([label, fmtRate(raw), fmtRate(shoal), ratio.toFixed(2), `>= ${TARGETS[kind]}`, ok ? 'ok' : 'MISSED', perRound(kind, 'raw')]);
    if (res.runs[kind].mux.length) {
      const mux = rate(kind, 'mux');
      json[`${kind}_mux`] = Math.round(mux);
      json[`${kind}_ratio_mux`] = round(shoal / mux, 3);
      rows.push([`  vs hand-rolled mux`, fmtRate(mux), fmtRate(shoal), (shoal / mux).toFixed(2), '', '', perRound(kind, 'mux')]);
    }
    cpuJson[kind] = {};
    for (const side of SIDES) {
      const c = cpuPerOp(res.runs[kind][side]);
      if (!c) continue;
      cpuJson[kind]![side] = c;
      const total = Object.values(c).reduce((a, b) => a + b, 0);
      cpuRows.push([`${label} ${side}`, ...['client', 'peer', 'server'].map((p) => c[p]?.toFixed(1) ?? '-'), total.toFixed(1)]);
    }
  }
  const tellDropped = (side: Side) => res.runs.tell[side].reduce((a, r) => a + (r.dropped ?? 0), 0);
  const payloadBytes = encode({ i: 1, s: FILLER }).length;
  const out: string[] = [
    `Shoal runtime vs raw NATS.js: ${process.version}, ${opts.seconds} s per side and round, median of ${opts.rounds} rounds, ` +
      `payload { i, s: 64 x 'x' } (${payloadBytes} B msgpack)`,
    table(['measurement (ops/s)', 'raw NATS', 'Shoal', 'ratio', 'target', '', 'per-round ratios'], rows),
  ];
  if (cpuRows.length) {
    out.push('', table(['CPU µs per op (median)', 'client', 'peer', 'server', 'total'], cpuRows));
  }
  if (tellDropped('raw') || tellDropped('shoal')) {
    out.push(`tell: messages that never reached the peer: raw ${tellDropped('raw')}, Shoal ${tellDropped('shoal')}`);
  }
  if (res.nodeDown.length) out.push(`node-down events seen by the client: ${res.nodeDown.join('; ')}`);
  console.log(out.join('\n'));
  Object.assign(json, {
    seconds: opts.seconds,
    rounds: opts.rounds,
    window: opts.window,
    node: process.version,
    tell_dropped_raw: tellDropped('raw'),
    tell_dropped_shoal: tellDropped('shoal'),
    node_down_events: res.nodeDown.length,
    cpu_us_per_op: cpuJson,
    targets_met: missed.length === 0,
  });
  return { json, missed };
}

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const res: Results = {
    runs: Object.fromEntries(KINDS.map((k) => [k, { raw: [], shoal: [], mux: [] }])) as unknown as Results['runs'],
    nodeDown: [],
  };
  const resources: Resources = {};
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
