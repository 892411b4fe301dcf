/**
 * Failover benchmark: master failover time and Raft commit throughput with real processes.
 *
 *   npm run bench:failover [-- --trials 20 --seconds 3 --poll-ms 2 --json]
 *
 * Setup: one real nats-server and three master-eligible node processes (`shoal start`, each with
 * its own data directory, so Raft logs are fsync'ed to a real file system) through
 * ProcessCluster; this process only observes and drives through a probe ActorSystem.
 *
 * ONE cluster serves every trial (and the throughput runs after them). Why not a fresh cluster
 * per trial: starting nats-server plus three `node --import tsx` processes costs seconds per
 * trial, and the restart of the killed node (same data directory) is exactly what a real
 * deployment goes through, so the trials also exercise recovery and catch-up. What could make
 * trials depend on each other is ruled out before every kill: the cluster must be healthy again
 * (3 members, a master whose term equals the Raft leader's, every peer in that term following
 * that leader with commit, applied and last index equal to the leader's), the restarted node
 * has been a member for RESTART_SETTLE_MS (its failure detector has heard every peer), and the
 * kill is delayed by a random 0-`heartbeat` ms so it does not always fall at the same phase of
 * the leader's heartbeat cycle.
 *
 * Failover (per trial): note the master and its term, SIGKILL its process (t0), then poll both
 * survivors' committed cluster state (the cstate actor, `{type:'get'}`), each every `--poll-ms`
 * with one ask outstanding per survivor, until one shows master.term > the old term: the new
 * master commits `{op:'master', id, term}` as its first cluster-state change. The failover time
 * is t(reply showing it) - t0, taking the earliest survivor: an upper bound. The change happened
 * after the send of the last poll that still showed the old master; the gap between the two
 * (poll interval + ask round trip) is reported as the measurement's resolution. Then the killed
 * node is restarted (`startNode`, same data directory) before the next trial.
 *
 * Commit throughput: on the healthy cluster, `raft.propose` of small entries (`{op:'bench', i}`,
 * committed through Raft and ignored by the cluster state machine) asked of the LEADER's raft
 * peer directly, for `--seconds` each: 1 in flight (each proposal resolves once committed and
 * applied on the leader) and `--inflight` (default 64) in flight. Rates are proposals resolved
 * per second; a short warm-up precedes each.
 *
 * Output: progress on stderr; a table on stdout; with --json the last stdout line is one JSON
 * object { trials, failover_min_ms, failover_median_ms, failover_p99_ms, failover_max_ms,
 * commits_per_s_1, commits_per_s_64, poll_ms, node, ... }. p99 is nearest-rank, so with fewer
 * than 100 trials it is the maximum. --check exits 1 when a target is missed (median <= 500 ms,
 * p99 <= 1000 ms). Node processes log at SHOAL_NODE_LOG_LEVEL (default warn); with --verbose
 * their log tails are printed after each trial.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ClusterState } from '../src/cluster/cluster-state.ts';
import { CSTATE_PATH, RAFT_PATH } from '../src/node/shoal-node.ts';
import { DEFAULT_RAFT_CONFIG, type RaftStatus } from '../src/raft/peer-state.ts';
import { ProcessCluster, type NodeProcessHandle } from '../src/testing/cluster-processes.ts';
import { delta, snapshot, type CpuSnapshot } from './lib/cpu.ts';
import { fmtRate, median, round, table } from './lib/stats.ts';
import { positive } from './lib/options.ts';

// ---- options --------------------------------------------------------------------------------

const TARGET_MEDIAN_MS = 500;
const TARGET_P99_MS = 1000;

const USAGE = `usage: npm run bench:failover -- [options]
  --trials N      failover trials (default 20)
  --seconds N     seconds per commit-throughput run (default 3)
  --warmup N      warm-up seconds before each throughput run, 0 for none (default 0.5)
  --inflight N    proposals in flight for the pipelined run (default 64)
  --poll-ms N     poll interval per survivor while waiting for the new master (default 2)
  --data-dir D    node data directories under D (default: a fresh temp directory, removed after)
  --skip-failover / --skip-throughput
  --verbose       print the node processes' log tails after each trial
  --json          the last stdout line is one JSON object
  --check         exit 1 when the failover median or p99 misses its target
  -h, --help`;


function parseOptions() {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      inflight: { type: 'string' },
      'poll-ms': { type: 'string' },
      'data-dir': { type: 'string' },
      'skip-failover': { type: 'boolean', default: false },
      'skip-throughput': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
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
  return {
    trials: values['skip-failover'] ? 0 : positive('trials', values.trials, 20, true),
    seconds: positive('seconds', values.seconds, 3),
    warmup: values.warmup !== undefined && Number(values.warmup) === 0 ? 0 : positive('warmup', values.warmup, 0.5),
    inflight: positive('inflight', values.inflight, 64, true),
    pollMs: positive('poll-ms', values['poll-ms'], 2),
    dataDir: values['data-dir'],
    throughput: !values['skip-throughput'],
    verbose: values.verbose,
    json: values.json,
    check: values.check,
  };
}

type Options = ReturnType<typeof parseOptions>;

// ---- helpers ----------------------------------------------------------------------------------

const MASTERS = ['n1', 'n2', 'n3'];
const RESTART_SETTLE_MS = 300;

/** Set by SIGINT/SIGTERM: every loop stops at its next check, and no node is started any more. */
let interrupted: NodeJS.Signals | undefined;
class Interrupted extends Error {}
function checkInterrupted(): void {
  if (interrupted) throw new Interrupted(`interrupted by ${interrupted}`);
}
const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const progress = (s: string) => process.stderr.write(`[bench] ${s}\n`);

/** Nearest-rank percentile (p in (0, 100]). */
function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!;
}

const ms1 = (x: number) => round(x, 1);

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Our own child processes still running (Linux /proc; best effort, empty elsewhere). */
function childPids(): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface Health {
  leader: string;
  term: number;
  state: ClusterState;
  statuses: RaftStatus[];
}

/**
 * Healthy: every raft peer answers, one leader, everyone in its term following it with commit,
 * applied and last index equal to the leader's; the leader's committed state has all three
 * members and names the leader, in that term, as master.
 */
async function checkHealth(cluster: ProcessCluster): Promise<Health | string> {
  const statuses = await Promise.all(MASTERS.map((id) => cluster.raftStatus(id, 500).catch(() => undefined)));
  const missing = MASTERS.filter((_, i) => !statuses[i]);
  if (missing.length) return `no raft status from ${missing.join(',')}`;
  const all = statuses as RaftStatus[];
  const leaders = all.filter((s) => s.role === 'leader');
  if (leaders.length !== 1) return `${leaders.length} leaders`;
  const L = leaders[0]!;
  const lagging = all.filter(
    (s) => s.term !== L.term || s.leader !== L.id || s.commitIndex !== L.commitIndex || s.appliedIndex !== L.commitIndex || s.lastIndex !== L.lastIndex,
  );
  if (lagging.length) return `not caught up: ${lagging.map((s) => `${s.id}(t${s.term} c${s.commitIndex} a${s.appliedIndex} l${s.lastIndex})`).join(' ')} vs leader ${L.id}(t${L.term} c${L.commitIndex})`;
  const state = await cluster.state(L.id);
  if (!state) return `no cluster state from ${L.id}`;
  const members = MASTERS.filter((id) => state.nodes[id]);
  if (members.length !== MASTERS.length) return `members ${members.join(',')}`;
  if (state.master?.id !== L.id || state.master.term !== L.term) return `state master ${JSON.stringify(state.master)} vs raft leader ${L.id} t${L.term}`;
  return { leader: L.id, term: L.term, state, statuses: all };
}

async function waitHealthy(cluster: ProcessCluster, timeoutMs: number): Promise<Health> {
  const deadline = now() + timeoutMs;
  let last = '';
  while (now() < deadline) {
    checkInterrupted();
    const h = await checkHealth(cluster);
    if (typeof h !== 'string') return h;
    last = h;
    await sleep(20);
  }
  throw new Error(`cluster not healthy after ${timeoutMs} ms: ${last}`);
}

// ---- failover --------------------------------------------------------------------------------------

interface Trial {
  oldMaster: string;
  oldTerm: number;
  newMaster: string;
  newTerm: number;
  /** t(reply that showed the new master) - t(SIGKILL) */
  ms: number;
  /** t(send of the last poll that still showed the old master) - t(SIGKILL): the change came after it */
  lowerMs: number;
  seenOn: string;
  /** version of the state seen, minus the version before the kill (1: the first change) */
  versionStep: number;
  polls: number;
  /** t(state without the dead master seen, polled every 10 ms) - t(SIGKILL) */
  removedMs: number;
  restartMs: number;
}

interface Detection {
  id: string;
  state: ClusterState;
  recv: number;
  lastNegativeSent: number;
}

/** Poll the survivors' committed state until one shows a master of a newer term; earliest wins. */
async function observeNewMaster(
  cluster: ProcessCluster,
  survivors: string[],
  oldTerm: number,
  t0: number,
  pollMs: number,
  timeoutMs: number,
): Promise<{ found: Detection; polls: number }> {
  let found: Detection | undefined;
  let polls = 0;
  const deadline = t0 + timeoutMs;
  const loop = async (id: string) => {
    const ref = cluster.probe.ref(`shoal://shoal/${id}${CSTATE_PATH}`);
    let lastNegativeSent = t0;
    while (!found && !interrupted && now() < deadline) {
      const sent = now();
      let s: ClusterState | undefined;
      try {
        s = await cluster.probe.ask<ClusterState>(ref, { type: 'get' }, { timeoutMs: 250 });
      } catch {
        // a survivor busy or briefly unreachable: try again
      }
      polls++;
      if (found) return;
      if (s?.master && s.master.term > oldTerm) {
        found = { id, state: s, recv: now(), lastNegativeSent };
        return;
      }
      if (s) lastNegativeSent = sent;
      const wait = sent + pollMs - now();
      if (wait > 0) await sleep(wait);
    }
  };
  await Promise.all(survivors.map(loop));
  checkInterrupted();
  if (!found) throw new Error(`no new master seen on ${survivors.join(',')} within ${timeoutMs} ms of the kill`);
  return { found, polls };
}

async function failoverTrials(cluster: ProcessCluster, opts: Options, trials: Trial[]): Promise<void> {
  const heartbeat = DEFAULT_RAFT_CONFIG.heartbeatMs;
  for (let k = 1; k <= opts.trials; k++) {
    let before: Health | undefined;
    for (let attempt = 0; attempt < 5 && !before; attempt++) {
      const h = await waitHealthy(cluster, 30_000);
      // Decorrelate the kill from the leader's heartbeat phase.
      await sleep(Math.random() * heartbeat);
      const again = await checkHealth(cluster);
      if (typeof again !== 'string' && again.leader === h.leader && again.state.version === h.state.version) before = again;
    }
    if (!before) throw new Error('the cluster kept changing while healthy: no stable moment to kill the master');
    checkInterrupted();
    const oldMaster = before.leader;
    const oldTerm = before.term;
    const survivors = MASTERS.filter((id) => id !== oldMaster);
    const victim = cluster.nodes.get(oldMaster)!;
    const outputs = new Map<string, NodeProcessHandle>([...cluster.nodes]);

    const t0 = now();
    cluster.kill(oldMaster, 'SIGKILL');
    let detection: Detection;
    let polls: number;
    try {
      ({ found: detection, polls } = await observeNewMaster(cluster, survivors, oldTerm, t0, opts.pollMs, 10_000));
    } catch (err) {
      for (const [id, n] of outputs) process.stderr.write(`---- ${id} log tail ----\n${tail(n.output(), 40)}\n`);
      throw err;
    }
    const ms = detection.recv - t0;
    const master = detection.state.master!;
    // The failover is complete once the new master has removed the dead one (failure detector,
    // then a committed node_leave); only then restart it, so its rejoin is a fresh node_join.
    await cluster.waitFor((s) => !s.nodes[oldMaster], `${master.id} to remove ${oldMaster}`, 10_000, master.id);
    const removedMs = now() - t0;
    await victim.exited;

    checkInterrupted();
    const r0 = now();
    await cluster.startNode(oldMaster);
    // startNode's own wait asks whichever node answers first, possibly a follower that has not
    // applied the removal yet (it still lists the old incarnation): ask the master.
    await cluster.waitFor((s) => !!s.nodes[oldMaster], `${oldMaster} to rejoin`, 30_000, master.id);
    const restartMs = now() - r0;
    // Let the restarted node's failure detector hear every peer (heartbeats every 100 ms) before
    // the next kill: otherwise, should it become the new master, it cannot tell that the old one
    // died (it never saw it alive) and removes it only in its reconcile pass, 1-1.5 s later.
    // Raft does not depend on it, so this changes the removal column, not the failover time.
    await sleep(RESTART_SETTLE_MS);
    const trial: Trial = {
      oldMaster,
      oldTerm,
      newMaster: master.id,
      newTerm: master.term,
      ms,
      lowerMs: detection.lastNegativeSent - t0,
      seenOn: detection.id,
      versionStep: detection.state.version - before.state.version,
      polls,
      removedMs,
      restartMs,
    };
    trials.push(trial);
    progress(
      `trial ${k}/${opts.trials}: ${ms.toFixed(1)} ms (after ${trial.lowerMs.toFixed(1)} ms) ` +
        `${oldMaster} t${oldTerm} -> ${master.id} t${master.term} (+${master.term - oldTerm}), seen on ${detection.id}, ` +
        `state version +${trial.versionStep}, ${polls} polls; ${oldMaster} removed at ${Math.round(removedMs)} ms, restarted in ${Math.round(restartMs)} ms`,
    );
    if (opts.verbose) {
      for (const id of survivors) process.stderr.write(`---- ${id} log tail ----\n${tail(outputs.get(id)!.output(), 20)}\n`);
    }
  }
}

// ---- commit throughput -------------------------------------------------------------------------------

interface RateResult {
  inflight: number;
  commits: number;
  errors: number;
  elapsedMs: number;
  rate: number;
  latencyMedianMs: number;
  latencyP99Ms: number;
  cpu: CpuSnapshot;
  leader: string;
}

async function commitRate(cluster: ProcessCluster, leader: string, seconds: number, inflight: number, pids: Record<string, number | 'self'>): Promise<RateResult> {
  const ref = cluster.probe.ref(`shoal://shoal/${leader}${RAFT_PATH}`);
  let i = 0;
  let commits = 0;
  let errors = 0;
  let firstError: unknown;
  const latencies: number[] = [];
  const cpu0 = snapshot(pids);
  const t0 = now();
  const deadline = t0 + seconds * 1000;
  const worker = async () => {
    while (now() < deadline && errors < 100 && !interrupted) {
      const s = now();
      try {
        await cluster.probe.ask(ref, { type: 'raft.propose', data: { op: 'bench', i: i++ } }, { timeoutMs: 5_000 });
        commits++;
        latencies.push(now() - s);
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  checkInterrupted();
  const elapsedMs = now() - t0;
  if (errors) progress(`WARNING: ${errors} proposals failed; first: ${firstError instanceof Error ? firstError.message : JSON.stringify(firstError)}`);
  return {
    inflight,
    commits,
    errors,
    elapsedMs,
    rate: (commits / elapsedMs) * 1000,
    latencyMedianMs: median(latencies),
    latencyP99Ms: percentile(latencies, 99),
    cpu: delta(cpu0, snapshot(pids)),
    leader,
  };
}

function cpuText(r: RateResult): string {
  return Object.entries(r.cpu)
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => `${name} ${Math.round((100 * v!) / r.elapsedMs)}%`)
    .join(', ');
}

async function throughput(cluster: ProcessCluster, opts: Options, results: RateResult[]): Promise<void> {
  for (const inflight of [1, opts.inflight]) {
    const h = await waitHealthy(cluster, 30_000);
    const pids: Record<string, number | 'self'> = { bench: 'self', nats: cluster.server.pid };
    for (const id of MASTERS) pids[`${id}${id === h.leader ? '*' : ''}`] = cluster.nodes.get(id)!.child.pid!;
    if (opts.warmup > 0) {
      const w = await commitRate(cluster, h.leader, opts.warmup, inflight, pids);
      progress(`warm-up ${inflight} in flight: ${fmtRate(w.rate)} commits/s`);
    }
    const r = await commitRate(cluster, h.leader, opts.seconds, inflight, pids);
    // Followers learn the last commit index with the next heartbeat: give them a moment.
    const after = await waitHealthy(cluster, 5_000).catch((err: Error) => err.message);
    if (typeof after === 'string' || after.leader !== h.leader || after.term !== h.term) {
      progress(`WARNING: leadership or health changed during the run (${typeof after === 'string' ? after : `now ${after.leader} t${after.term}`})`);
    }
    results.push(r);
    progress(
      `commits ${inflight} in flight on leader ${h.leader}: ${fmtRate(r.rate)}/s (${r.commits} in ${Math.round(r.elapsedMs)} ms, ` +
        `latency median ${r.latencyMedianMs.toFixed(2)} ms, p99 ${r.latencyP99Ms.toFixed(2)} ms${r.errors ? `, ${r.errors} errors` : ''}); cpu ${cpuText(r)}`,
    );
  }
}

// ---- running ------------------------------------------------------------------------------------------

interface Resources {
  cluster?: ProcessCluster;
  /** A temp directory of ours (no --data-dir): removed at the end, even if start was interrupted. */
  tempDir?: string;
  cleaning?: Promise<void>;
}

/** Idempotent: a signal during the normal cleanup waits for the same one. */
function cleanup(resources: Resources): Promise<void> {
  return (resources.cleaning ??= doCleanup(resources));
}

async function doCleanup(resources: Resources): Promise<void> {
  const cluster = resources.cluster;
  if (cluster) {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((r) => (timer = setTimeout(() => (progress('cleanup: cluster.stop() timed out'), r()), 15_000)));
    await Promise.race([cluster.stop().catch((err: Error) => progress(`cleanup: ${err.message}`)), limit]);
    clearTimeout(timer);
  }
  // ProcessCluster.start does not hand back its processes when it fails (or is interrupted):
  // end whatever children of ours still run.
  const orphans = childPids();
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (resources.tempDir) {
    if (orphans.length) await sleep(200); // let them die before their files go
    rmSync(resources.tempDir, { recursive: true, force: true });
  }
}

function report(opts: Options, trials: Trial[], rates: RateResult[], fsInfo: string): { json: Record<string, unknown>; missed: string[] } {
  const ms = trials.map((t) => t.ms);
  const res = trials.map((t) => t.ms - t.lowerMs);
  const json: Record<string, unknown> = {
    trials: trials.length,
    failover_min_ms: ms1(Math.min(...ms)),
    failover_median_ms: ms1(median(ms)),
    failover_p99_ms: ms1(percentile(ms, 99)),
    failover_max_ms: ms1(Math.max(...ms)),
    commits_per_s_1: Math.round(rates.find((r) => r.inflight === 1)?.rate ?? NaN),
    [`commits_per_s_${opts.inflight}`]: Math.round(rates.find((r) => r.inflight === opts.inflight)?.rate ?? NaN),
    poll_ms: opts.pollMs,
    poll_resolution_median_ms: ms1(median(res)),
    node: process.version,
  };
  if (opts.inflight !== 64) json.commits_per_s_64 = null;
  const missed: string[] = [];
  if (trials.length) {
    if (!(median(ms) <= TARGET_MEDIAN_MS)) missed.push('failover_median');
    if (!(percentile(ms, 99) <= TARGET_P99_MS)) missed.push('failover_p99');
  }
  const out: string[] = [
    `Shoal failover: 3 master-eligible node processes on one nats-server, ${process.version}, ${fsInfo}; ` +
      `raft election ${DEFAULT_RAFT_CONFIG.electionMinMs}-${DEFAULT_RAFT_CONFIG.electionMaxMs} ms, heartbeat ${DEFAULT_RAFT_CONFIG.heartbeatMs} ms`,
  ];
  if (trials.length) {
    const fmt = (x: number) => x.toFixed(1);
    const stats = (xs: number[]) => [Math.min(...xs), median(xs), percentile(xs, 99), Math.max(...xs)].map(fmt);
    out.push(
      '',
      `SIGKILL of the master -> first committed cluster-state change of the new master (${trials.length} trials; ` +
        `poll every ${opts.pollMs} ms per survivor, resolution median ${fmt(median(res))} ms / max ${fmt(Math.max(...res))} ms; p99 nearest-rank)`,
      table(
        ['failover (ms)', 'min', 'median', 'p99', 'max', 'target', ''],
        [
          [
            'kill -> new master committed',
            fmt(Math.min(...ms)),
            fmt(median(ms)),
            fmt(percentile(ms, 99)),
            fmt(Math.max(...ms)),
            `median <= ${TARGET_MEDIAN_MS}, p99 <= ${TARGET_P99_MS}`,
            missed.length ? `MISSED (${missed.join(', ')})` : 'ok',
          ],
          ['  lower bound (last old-master poll)', ...stats(trials.map((t) => t.lowerMs)), '', ''],
          ['kill -> dead master removed (~10 ms)', ...stats(trials.map((t) => t.removedMs)), '', ''],
          ['restart -> member again', ...stats(trials.map((t) => t.restartMs)), '', ''],
        ],
      ),
    );
    const extraTerms = trials.filter((t) => t.newTerm - t.oldTerm > 1).length;
    if (extraTerms) out.push(`trials needing more than one election (term +2 or more): ${extraTerms}`);
  }
  if (rates.length) {
    out.push(
      '',
      `Raft commit throughput: {op:'bench', i} proposed to the leader's raft peer, ${opts.seconds} s per run`,
      table(
        ['in flight', 'commits/s', 'latency median ms', 'latency p99 ms', 'errors', 'cpu (* = leader)'],
        rates.map((r) => [String(r.inflight), fmtRate(r.rate), r.latencyMedianMs.toFixed(2), r.latencyP99Ms.toFixed(2), String(r.errors), cpuText(r)]),
      ),
    );
  }
  console.log(out.join('\n'));
  Object.assign(json, {
    failover_ms: ms.map(ms1),
    removed_median_ms: Math.round(median(trials.map((t) => t.removedMs))),
    restart_median_ms: Math.round(median(trials.map((t) => t.restartMs))),
    commit_latency_median_ms_1: rates[0] ? round(rates[0].latencyMedianMs, 2) : null,
    [`commit_latency_median_ms_${opts.inflight}`]: rates[1] ? round(rates[1].latencyMedianMs, 2) : null,
    seconds: opts.seconds,
    targets_met: missed.length === 0,
  });
  return { json, missed };
}

function fsDescription(dir: string): string {
  // The file system type of the data directory: fsync cost decides commit latency.
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length > 2 && dir.startsWith(f[1]!))
      .sort((a, b) => b[1]!.length - a[1]!.length);
    if (mounts[0]) return `data on ${mounts[0][2]} (${mounts[0][1]})`;
  } catch {
    // not Linux
  }
  return `data in ${dir}`;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const resources: Resources = {};
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = sig;
    progress(`${sig}: cleaning up`);
    void cleanup(resources).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Should the process end some other way, do not leave node processes behind.
  process.on('exit', () => {
    for (const n of resources.cluster?.nodes.values() ?? []) {
      try {
        n.child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });

  const trials: Trial[] = [];
  const rates: RateResult[] = [];
  let fsInfo = '';
  let code = 0;
  try {
    progress('starting nats-server and nodes n1, n2, n3');
    const t = now();
    // Our own temp directory rather than ProcessCluster's: if start fails or is interrupted, we
    // still know what to remove.
    if (!opts.dataDir) resources.tempDir = mkdtempSync(join(tmpdir(), 'shoal-failover-'));
    resources.cluster = await ProcessCluster.start({ masters: MASTERS, dataDir: opts.dataDir ?? resources.tempDir });
    const cluster = resources.cluster;
    fsInfo = fsDescription(cluster.dataDir);
    const h = await waitHealthy(cluster, 30_000);
    progress(`cluster up in ${Math.round(now() - t)} ms: master ${h.leader} term ${h.term}; ${fsInfo}`);
    await failoverTrials(cluster, opts, trials);
    if (opts.throughput) await throughput(cluster, opts, rates);
  } catch (err) {
    if (!(err instanceof Interrupted)) console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = interrupted ? 130 : 1;
  } finally {
    if (!interrupted) progress('cleaning up');
    await cleanup(resources);
  }
  if (code !== 0) return code;
  const { json, missed } = report(opts, trials, rates, fsInfo);
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
