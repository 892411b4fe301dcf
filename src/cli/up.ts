/**
 * `shoal up`: a local cluster for trying Shoal out. An embedded nats-server on a free port, N node
 * processes (`shoal start`, the first three master-eligible), optionally a sample corpus; progress
 * lines on stdout, node logs in files; Ctrl-C (or SIGTERM) stops everything.
 *
 * While it runs it writes `<data-dir>/shoal-up.json` (NATS URL, cluster, pids), so the client
 * commands find the cluster without flags, and serves a control subject (up-control.ts) for
 * `shoal kill | restart | ps`. A node that dies stays down until `shoal restart NODE`, unless
 * `--auto-restart MS` is given.
 *
 * It also serves the dashboard (src/dashboard/server.ts) on 127.0.0.1: port 7600, or a free one
 * when that is taken (`--dashboard-port P`, `--no-dashboard`); its URL is printed and written to
 * shoal-up.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { NatsConnection } from '@nats-io/nats-core';
import type { AnyStateMachine } from 'xstate';
import type { Dashboard } from '../dashboard/server.ts';
import type { ShoalClient } from '../client/shoal-client.ts';
import type { NatsServerHandle } from '../testing/nats-server.ts';
import { DEFAULT_DATA_DIR, parseIntOption, pidAlive, readUpFile, upFilePath, usageError, type UpStateFile } from './common.ts';
import { SAMPLE_INDEX, SAMPLE_MAPPINGS, sampleDocs, type SampleDoc } from './sample-data.ts';
import { controlPrefix, type ProcessInfo } from './up-control.ts';

interface UpOptions {
  nodes: string;
  cluster: string;
  dataDir: string;
  sampleData?: string | boolean;
  kinds: string[];
  autoRestart?: string;
  logs?: boolean;
  keepData?: boolean;
  port?: string;
  /** commander's --no-dashboard makes this false. */
  dashboard: boolean;
  dashboardPort?: string;
  /** Node nK serves Prometheus metrics on this port + K. */
  metricsPort?: string;
}

interface NodeProc {
  id: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  info: ProcessInfo;
  log: string;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const SHOAL_BIN = fileURLToPath(new URL('../../bin/shoal', import.meta.url));
const say = (line: string) => process.stdout.write(`shoal up: ${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('a local cluster: nats-server on a free port + N node processes; Ctrl-C stops everything')
    .option('--nodes <n>', 'number of nodes (the first three are master-eligible)', '3')
    .option('--cluster <name>', 'cluster name', 'shoal')
    .option('--data-dir <dir>', `where each run's data and logs go (a fresh up-<time> directory inside) and shoal-up.json`, DEFAULT_DATA_DIR)
    .option('--sample-data [docs]', `load a sample corpus into index '${SAMPLE_INDEX}' (default 5000 WordNet glosses)`)
    .option('--kinds <module>', 'actor kinds module every node loads (repeatable), e.g. examples/kinds.ts', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--auto-restart <ms>', 'restart a node that dies (or is killed) after this delay; default: it stays down until `shoal restart`')
    .option('--port <port>', 'NATS client port (default: a free one)')
    .option('--logs', "print the nodes' logs here instead of into files", false)
    .option('--keep-data', "keep this run's data directory after Ctrl-C (default: removed)", false)
    .option('--dashboard-port <port>', 'dashboard HTTP port on 127.0.0.1 (default 7600, or a free one when that is taken; 0 = a free one)')
    .option('--no-dashboard', 'do not serve the dashboard')
    .option('--metrics-port <base>', 'Prometheus metrics: node nK serves http://127.0.0.1:<base + K>/metrics (default: off)')
    .action((opts: UpOptions) => up(opts));
}

async function up(opts: UpOptions): Promise<void> {
  const t0 = Date.now();
  const count = parseIntOption('--nodes', opts.nodes, 1, 32)!;
  const sampleCount = opts.sampleData === undefined || opts.sampleData === false ? 0 : opts.sampleData === true ? 5_000 : parseIntOption('--sample-data', opts.sampleData, 1, 117_791)!;
  const autoRestartMs = parseIntOption('--auto-restart', opts.autoRestart, 0, 3_600_000);
  const port = parseIntOption('--port', opts.port, 1, 65_535);
  const dashboardPort = parseIntOption('--dashboard-port', opts.dashboardPort, 0, 65_535);
  const metricsBase = parseIntOption('--metrics-port', opts.metricsPort, 1, 65_000);
  const upFile = upFilePath(opts.dataDir);
  const existing = readUpFile(opts.dataDir);
  if (existing && existing.pid !== process.pid && pidAlive(existing.pid)) {
    throw usageError(`another shoal up (pid ${existing.pid}) runs with data directory ${opts.dataDir} (NATS ${existing.nats}); stop it or pass another --data-dir`);
  }
  if (existing && !pidAlive(existing.pid)) staleCleanup(existing);
  const runDir = resolve(opts.dataDir, `up-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(join(runDir, 'logs'), { recursive: true });

  const { startNatsServer } = await import('../testing/nats-server.ts');
  const { terminateProcess } = await import('../testing/terminate.ts');
  const { connect } = await import('@nats-io/transport-node');
  const { ShoalClient } = await import('../client/shoal-client.ts');

  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  let dashboard: Dashboard | undefined;
  const procs = new Map<string, NodeProc>();
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    await dashboard?.close().catch(() => undefined);
    await Promise.all([...procs.values()].map((p) => (p.child ? terminateProcess(p.child, p.exited, 5_000) : undefined)));
    await nc?.close().catch(() => undefined);
    await server?.stop();
    if (readUpFile(opts.dataDir)?.pid === process.pid) rmSync(upFile, { force: true });
    if (!opts.keepData) rmSync(runDir, { recursive: true, force: true });
    say(code === 0 ? `stopped${opts.keepData ? `; data kept in ${runDir}` : ''}` : 'stopped after an error');
    process.exit(code);
  };
  // `on`, not `once`: the nats-server harness re-raises a signal nobody else listens to. A second
  // Ctrl-C while stopping kills everything at once.
  const onSignal = () => {
    if (!stopping) return void stopAll(0);
    say('killing everything');
    for (const p of procs.values()) p.child?.kill('SIGKILL');
    server?.kill('SIGKILL');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    server = await startNatsServer(port ? { port } : {});
    say(`nats-server at ${server.url}`);
    nc = await connect({ servers: server.url, name: 'shoal-up', maxReconnectAttempts: -1 });
    const client = ShoalClient.fromConnection(nc, { cluster: opts.cluster, maxAttempts: 1 });

    const ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
    const masters = ids.slice(0, Math.min(3, count)).join(',');

    const writeUpFile = () => {
      if (stopping) return;
      const state: UpStateFile = {
        pid: process.pid,
        nats: server!.url,
        natsPid: server!.pid,
        cluster: opts.cluster,
        runDir,
        control: controlPrefix(opts.cluster),
        ...(dashboard ? { dashboard: dashboard.url } : {}),
        nodes: Object.fromEntries([...procs.values()].map((p) => [p.id, { pid: p.info.status === 'running' ? p.info.pid : null, log: p.log }])),
        startedAt: new Date(t0).toISOString(),
      };
      const tmp = `${upFile}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
      renameSync(tmp, upFile);
    };

    const startNode = (id: string, restarts: number): NodeProc => {
      if (stopping) throw controlError('stopping', 'shoal up is stopping', 503);
      const log = join(runDir, 'logs', `${id}.log`);
      // --stop-on-stdin-close: our end of the pipe closes when this process dies, however it dies.
      const args = ['start', '--nats', server!.url, '--node', id, '--cluster', opts.cluster, '--masters', masters, '--data-dir', runDir, '--stop-on-stdin-close'];
      for (const k of opts.kinds) args.push('--kinds', resolve(k));
      if (metricsBase !== undefined) args.push('--metrics-port', String(metricsBase + Number(id.slice(1))));
      const nodeArgs = (process.env.SHOAL_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
      const fd = opts.logs ? undefined : openSync(log, 'a');
      const child = spawn(process.execPath, [...nodeArgs, '--import', import.meta.resolve('tsx'), MAIN, ...args], {
        stdio: ['pipe', fd ?? 'inherit', fd ?? 'inherit'],
        env: { ...process.env, SHOAL_LOG_LEVEL: process.env.SHOAL_LOG_LEVEL ?? (opts.logs ? 'warn' : 'info') },
      });
      if (fd !== undefined) closeSync(fd);
      const proc: NodeProc = {
        id,
        child,
        log,
        exited: new Promise((r) => child.once('exit', () => r())),
        info: { node: id, pid: child.pid ?? null, status: 'running', started_at: new Date().toISOString(), restarts },
      };
      child.once('exit', (code, signal) => {
        proc.info.status = 'exited';
        proc.info.exit = signal ?? `code ${code}`;
        if (stopping || procs.get(id) !== proc) return;
        writeUpFile();
        say(`node ${id} exited (${proc.info.exit})${autoRestartMs !== undefined ? `; restarting in ${secs(autoRestartMs)}` : `; \`shoal restart ${id}\` starts it again`}`);
        if (autoRestartMs !== undefined) {
          setTimeout(() => {
            if (stopping || procs.get(id) !== proc) return;
            const next = startNode(id, proc.info.restarts + 1);
            void waitServing(nc!, opts.cluster, [id], 60_000).then(
              () => say(`node ${id} is back (pid ${next.info.pid})`),
              () => undefined,
            );
          }, autoRestartMs).unref();
        }
      });
      procs.set(id, proc);
      writeUpFile();
      return proc;
    };

    serveControl(nc, opts.cluster, {
      procs,
      kill: (id, signal) => {
        const p = procs.get(id);
        if (!p) throw controlError('no_such_node', `no node ${id} (nodes: ${[...procs.keys()].join(', ')})`, 404);
        if (p.info.status !== 'running' || !p.child) throw controlError('node_not_running', `${id} is not running (${p.info.exit}); \`shoal restart ${id}\` starts it`, 409);
        p.child.kill(signal as NodeJS.Signals);
        say(`sent ${signal} to ${id} (pid ${p.info.pid})`);
        return { node: id, pid: p.info.pid, signal };
      },
      restart: async (id) => {
        const p = procs.get(id);
        if (!p) throw controlError('no_such_node', `no node ${id} (nodes: ${[...procs.keys()].join(', ')})`, 404);
        const began = Date.now();
        procs.delete(id); // its exit is not news any more
        if (p.child && p.info.status === 'running') await terminateProcess(p.child, p.exited, 5_000);
        say(`restarting ${id}`);
        const next = startNode(id, p.info.restarts + 1);
        await waitServing(nc!, opts.cluster, [id], 60_000);
        say(`node ${id} is back (pid ${next.info.pid}) in ${secs(Date.now() - began)}`);
        return { node: id, pid: next.info.pid, ms: Date.now() - began };
      },
    });

    say(`starting ${count} node${count > 1 ? 's' : ''} (${ids.join(', ')}; master-eligible ${masters}); logs in ${join(runDir, 'logs')}`);
    for (const id of ids) startNode(id, 0);

    if (opts.dashboard) {
      // Loaded while the nodes start: it draws every machine's chart, so it imports them all.
      const { startDashboard } = await import('../dashboard/server.ts');
      dashboard = await startDashboard({
        nc,
        cluster: opts.cluster,
        ...(dashboardPort !== undefined ? { port: dashboardPort } : {}),
        processes: () => [...procs.values()].map((p) => p.info),
        machines: await kindMachines(opts.kinds),
      });
      writeUpFile();
      say(`dashboard at ${dashboard.url}`);
    }

    // Ready when every node serves the API: it has joined a cluster that has a master.
    const serving = await waitServing(nc, opts.cluster, ids, 60_000, (id) => say(`node ${id} joined (${secs(Date.now() - t0)})`));
    void serving;
    const state = await client.cluster.state();
    say(`${count} nodes up (${ids.join(', ')}) in cluster '${opts.cluster}', master ${state.master?.id ?? 'none'} (${secs(Date.now() - t0)})`);
    if (metricsBase !== undefined) say(`metrics: ${ids.map((id) => `${id} http://127.0.0.1:${metricsBase + Number(id.slice(1))}/metrics`).join(', ')}`);

    if (sampleCount > 0) await loadSample(client, sampleCount, count);

    const health = await client.cluster.health({ wait_for_status: 'green', timeout_ms: 60_000 }, { timeoutMs: 65_000 });
    const readyMs = Date.now() - t0;
    say(`cluster ${health.status} in ${secs(readyMs)}: ${health.number_of_nodes} nodes, ${health.active_shards} shard copies`);
    printHints(server.url, opts.cluster, opts.dataDir, sampleCount > 0, opts.kinds.length > 0, dashboard?.url);
    say(`ready (Ctrl-C stops everything)`);
  } catch (err) {
    process.stderr.write(`shoal up: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(1);
  }
}

/** The xstate machines that `--kinds` modules export, so the dashboard can draw them too. */
async function kindMachines(modules: string[]): Promise<AnyStateMachine[]> {
  const { isMachine } = await import('../runtime/behavior.ts');
  const out: AnyStateMachine[] = [];
  for (const m of modules) {
    try {
      const mod = (await import(pathToFileURL(resolve(m)).href)) as Record<string, unknown>;
      for (const v of Object.values(mod)) if (isMachine(v)) out.push(v);
    } catch (err) {
      say(`dashboard: could not load ${m} for its charts: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * A shoal up that died without cleaning up (SIGKILL) leaves its file and its nats-server (its
 * nodes stop by themselves: --stop-on-stdin-close). Stop that server if it is still the same one.
 */
function staleCleanup(stale: UpStateFile): void {
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${stale.natsPid}/cmdline`, 'utf8');
  } catch {
    // gone, or not Linux
  }
  const port = /:(\d+)$/.exec(stale.nats)?.[1];
  if (stale.natsPid && cmdline.includes('nats-server') && port && cmdline.includes(port)) {
    say(`a previous shoal up (pid ${stale.pid}) died without stopping its nats-server (pid ${stale.natsPid}): stopping it`);
    process.kill(stale.natsPid, 'SIGTERM');
  }
}

async function loadSample(client: ShoalClient, docs: number, nodes: number): Promise<void> {
  const t = Date.now();
  const { docs: corpus, source } = await sampleDocs(docs);
  const replicas = Math.min(1, nodes - 1);
  await client.indices.create({ index: SAMPLE_INDEX, settings: { number_of_shards: 3, number_of_replicas: replicas }, mappings: SAMPLE_MAPPINGS, wait_for_active_shards: 'all' });
  say(`sample data: ${corpus.length} docs from ${source} into '${SAMPLE_INDEX}' (3 shards, ${replicas} replica${replicas === 1 ? '' : 's'})`);
  // Failed documents (e.g. a copy failed under load: 503) are sent again, up to 3 more rounds.
  let pending: SampleDoc[] = corpus;
  let indexed = 0;
  for (let round = 0; pending.length > 0 && round < 4; round++) {
    const dropped: SampleDoc[] = [];
    const reasons = new Map<string, number>();
    let lastPct = -1;
    const total = pending.length;
    const res = await client.helpers.bulk({
      datasource: pending,
      index: SAMPLE_INDEX,
      id: (d) => d.id,
      batchSize: 500,
      refresh: true,
      onDrop: (d) => {
        dropped.push(d.document);
        const why = `${d.status} ${d.error.type}`;
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      },
      onProgress: (p) => {
        const pct = Math.floor((100 * p.sent) / total);
        if (round === 0 && (pct >= lastPct + 20 || p.sent === total)) {
          lastPct = pct;
          say(`sample data: ${p.sent}/${total} docs (${pct}%)`);
        }
      },
    });
    indexed += res.successful;
    if (dropped.length > 0) {
      const why = [...reasons].map(([k, n]) => `${n} × ${k}`).join(', ');
      say(`sample data: ${dropped.length} docs failed (${why})${round < 3 ? '; sending them again' : ''}`);
    }
    pending = dropped;
  }
  const res = { successful: indexed, failed: pending.length };
  const rate = Math.round(res.successful / Math.max(0.001, (Date.now() - t) / 1000));
  say(`sample data: ${res.successful} indexed, ${res.failed} failed, in ${secs(Date.now() - t)} (${rate} docs/s)`);
}

function printHints(url: string, cluster: string, dataDir: string, sample: boolean, kinds: boolean, dashboardUrl: string | undefined): void {
  // bin/shoal as seen from where the user is.
  const rel = relative(process.cwd(), SHOAL_BIN);
  const b = rel.startsWith('..') ? SHOAL_BIN : rel;
  const relFile = relative(process.cwd(), upFilePath(dataDir));
  const upFile = relFile.startsWith('..') ? upFilePath(dataDir) : relFile;
  const reqBody = JSON.stringify({ index: sample ? SAMPLE_INDEX : '_all', body: { query: { match: { gloss: 'small dog' } }, size: 3 } });
  const lines = [
    '',
    ...(dashboardUrl ? [`Dashboard (nodes, shards, health, live state charts): open ${dashboardUrl} in a browser.`] : []),
    `Query it from another terminal in this directory: the commands find the cluster through ${upFile}.`,
    ...(process.env.SHOAL_DATA_DIR === dataDir || dataDir === DEFAULT_DATA_DIR ? [] : [`  export SHOAL_DATA_DIR=${dataDir}`]),
    `  ${b} health                  # green / yellow / red, nodes, shards`,
    `  ${b} nodes; ${b} shards`,
    ...(sample
      ? [`  ${b} search ${SAMPLE_INDEX} small dog`, `  ${b} search ${SAMPLE_INDEX} --body '{"query":{"match":{"category":"noun.animal"}},"size":3}'`]
      : []),
    `  echo '{"title":"Dune","year":1965}' | ${b} index books 1 --refresh`,
    `  ${b} get books 1`,
    `  ${b} kill n2; ${b} health    # SIGKILL a node: yellow while its shard copies are missing`,
    `  ${b} restart n2; ${b} health --wait-for-status green`,
    `  ${b} spawn echo --node n2 --name e1; ${b} ask shoal://${cluster}/n2/user/e1 '"hi"'`,
    `Or with the nats CLI (the API takes JSON requests on shoal.${cluster}.api.<op>):`,
    `  nats --server ${url} request shoal.${cluster}.api.search '${reqBody}'`,
    `  nats --server ${url} request shoal.${cluster}.api.cluster.health '{}'`,
    `Examples (actor scripts and the TypeScript client against this cluster${kinds ? '' : '; remote-counter needs `shoal up --kinds examples/kinds.ts`'}):`,
    `  SHOAL_NATS=${url} npx tsx examples/remote-counter.ts`,
    `  SHOAL_NATS=${url} npx tsx examples/failover-watch.ts`,
    `  SHOAL_NATS=${url} npx tsx examples/search-client.ts`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

// ---- waiting for nodes ---------------------------------------------------------------------------

/** The node ids whose API service answers `$SRV.PING` (each registers once joined to a cluster with a master). */
export async function servingNodes(nc: NatsConnection, cluster: string): Promise<Set<string>> {
  const { Svcm } = await import('@nats-io/services');
  const svc = new Svcm(nc as never).client({ strategy: 'stall', stall: 150, maxWait: 1_000 } as never);
  const out = new Set<string>();
  try {
    for await (const p of await svc.ping(`shoal-${cluster}`)) if (p.metadata?.node) out.add(p.metadata.node);
  } catch {
    // no responders yet
  }
  return out;
}

async function waitServing(nc: NatsConnection, cluster: string, ids: string[], timeoutMs: number, onServing?: (id: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Set<string>();
  for (;;) {
    const now = await servingNodes(nc, cluster);
    for (const id of ids) {
      if (now.has(id) && !seen.has(id)) {
        seen.add(id);
        onServing?.(id);
      }
    }
    if (ids.every((id) => seen.has(id))) return;
    if (Date.now() > deadline) throw new Error(`nodes not serving after ${secs(timeoutMs)}: ${ids.filter((id) => !seen.has(id)).join(', ')} (see their logs)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- control service -----------------------------------------------------------------------------

class ControlFailure extends Error {
  constructor(
    readonly type: string,
    reason: string,
    readonly status: number,
  ) {
    super(reason);
  }
}
const controlError = (type: string, reason: string, status: number) => new ControlFailure(type, reason, status);

const SIGNALS = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSTOP', 'SIGCONT', 'SIGHUP']);

function serveControl(
  nc: NatsConnection,
  cluster: string,
  h: {
    procs: Map<string, NodeProc>;
    kill(node: string, signal: string): unknown;
    restart(node: string): Promise<unknown>;
  },
): void {
  const restarting = new Set<string>();
  nc.subscribe(`${controlPrefix(cluster)}.*`, {
    callback: (_err, msg) => {
      const op = msg.subject.slice(controlPrefix(cluster).length + 1);
      void (async () => {
        let body: Record<string, unknown> = {};
        try {
          if (msg.data.length > 0) body = msg.json<Record<string, unknown>>();
          const node = typeof body.node === 'string' ? body.node : undefined;
          let result: unknown;
          if (op === 'ps') result = [...h.procs.values()].map((p) => p.info);
          else if (!node) throw controlError('illegal_argument_exception', `[${op}] needs a node`, 400);
          else if (op === 'kill') {
            const signal = typeof body.signal === 'string' ? body.signal.toUpperCase().replace(/^(?!SIG)/, 'SIG') : 'SIGKILL';
            if (!SIGNALS.has(signal)) throw controlError('illegal_argument_exception', `signal ${signal} is not one of ${[...SIGNALS].join(', ')}`, 400);
            result = h.kill(node, signal);
          } else if (op === 'restart') {
            if (restarting.has(node)) throw controlError('conflict', `${node} is already restarting`, 409);
            restarting.add(node);
            try {
              result = await h.restart(node);
            } finally {
              restarting.delete(node);
            }
          } else throw controlError('illegal_argument_exception', `unknown op [${op}]; ops: kill, restart, ps`, 400);
          msg.respond(JSON.stringify(result));
        } catch (err) {
          const e = err instanceof ControlFailure ? err : new ControlFailure('exception', err instanceof Error ? err.message : String(err), 500);
          msg.respond(JSON.stringify({ error: { type: e.type, reason: e.message }, status: e.status }));
        }
      })();
    },
  });
}
