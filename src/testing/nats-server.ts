/**
 * Starts real nats-server processes on free ports, for tests, benchmarks and the CLI.
 * Nothing here assumes the default port 4222.
 *
 * Every server is spawned as a child of this process; a process 'exit' hook (plus SIGTERM, SIGINT
 * and SIGHUP handlers, see installExitHook) kills whatever is still running, so servers do not
 * outlive their parent. A parent killed by SIGKILL cannot clean up after itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { terminateProcess } from './terminate.ts';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  monitorPort: number;
  pid: number;
  /** SIGTERM, wait for exit, SIGKILL after 3 s. Idempotent; resolves at once if already exited. */
  stop(): Promise<void>;
  /** Send a signal (default SIGKILL) without waiting; for fault injection. */
  kill(signal?: NodeJS.Signals): void;
}

export interface StartNatsServerOptions {
  /** Client port; a free one is picked when omitted. */
  port?: number;
  /** Extra command-line arguments, appended after the harness's own. */
  args?: string[];
  /** Server name (--server_name); defaults to `shoal-<port>`. */
  name?: string;
  /** How long to wait for the server to accept connections. Default 10 s. */
  timeoutMs?: number;
}

export interface StartNatsClusterOptions {
  /** Extra command-line arguments given to every server. */
  args?: string[];
  /** Server names are `<name>-<index>`; default `shoal-<random>`. */
  name?: string;
  /** Deadline for each server to come up and, separately, for the routes to form. Default 10 s. */
  timeoutMs?: number;
}

export interface NatsClusterHandle {
  servers: NatsServerHandle[];
  urls: string[];
  /** Stops every server (in parallel). */
  stop(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const RING_LINES = 50;
const FALLBACK_BIN = '/usr/sbin/nats-server';

// ---------------------------------------------------------------------------------------------
// Ports

/** Ports handed out recently by freePort(), so two calls in quick succession never collide. */
const recentPorts = new Set<number>();
const recentOrder: number[] = [];

function bindPortZero(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : port ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindPortZero();
    if (recentPorts.has(port)) continue;
    recentPorts.add(port);
    recentOrder.push(port);
    if (recentOrder.length > 1000) recentPorts.delete(recentOrder.shift()!);
    return port;
  }
  return bindPortZero();
}

// ---------------------------------------------------------------------------------------------
// Binary

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `$NATS_SERVER_BIN`, else `nats-server` on PATH, else /usr/sbin/nats-server. Throws when none exists. */
export function findNatsServerBin(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(
      `NATS_SERVER_BIN=${fromEnv} is not an executable file. Fix or unset it, or run \`npm run setup\` to install nats-server.`,
    );
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  if (isExecutable(FALLBACK_BIN)) return FALLBACK_BIN;
  throw new Error(
    'nats-server not found (looked at $NATS_SERVER_BIN, PATH and /usr/sbin/nats-server). Run `npm run setup` to install it.',
  );
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllChildren(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Kill leftover servers on 'exit' (synchronous; child.kill() is). 'exit' does not fire when the
 * process dies of a signal (vitest stops its fork workers with SIGTERM), so the harness also
 * listens for SIGTERM/SIGINT/SIGHUP. When it is the only listener it kills the servers and
 * re-raises the signal, keeping the default "die of the signal" behaviour; when the application
 * has its own handler, that handler owns shutdown and the 'exit' hook cleans up afterwards.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
  for (const sig of FORWARDED_SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      killAllChildren();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Keeps the last `size` lines written to a stream. */
class LineRing {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly size: number) {}
  push(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > this.size) this.lines.shift();
    }
    // A pathological line without newline must not grow without bound.
    if (this.partial.length > 8192) this.partial = this.partial.slice(-8192);
  }
  tail(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.size).join('\n');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tcpProbe(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function fetchJson(url: string, timeoutMs = 1000): Promise<{ ok: boolean; body: unknown }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { ok: res.ok, body };
  } catch {
    return { ok: false, body: undefined };
  }
}

class AddressInUseError extends Error {}

// ---------------------------------------------------------------------------------------------
// Single server

interface SpawnSpec {
  port: number;
  monitorPort: number;
  name: string;
  args: string[];
  timeoutMs: number;
}

async function spawnServer(spec: SpawnSpec): Promise<NatsServerHandle> {
  const bin = findNatsServerBin();
  installExitHook();
  const argv = [
    '-a', '127.0.0.1',
    '-p', String(spec.port),
    '-m', String(spec.monitorPort),
    '--server_name', spec.name,
    ...spec.args,
  ];
  const ring = new LineRing(RING_LINES);
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => ring.push(d));
  child.stderr?.on('data', (d: string) => ring.push(d));

  let exited = false;
  let exitInfo = '';
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      liveChildren.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      // spawn failure (ENOENT, EACCES): 'exit' may never come.
      spawnError = err;
      exited = true;
      exitInfo = `spawn error: ${err.message}`;
      liveChildren.delete(child);
      resolve();
    });
  });
  liveChildren.add(child);

  const describe = () => `nats-server ${argv.join(' ')}`;
  const tailText = () => {
    const t = ring.tail().trim();
    return t ? `\n--- nats-server output (tail) ---\n${t}` : '\n(no output from nats-server)';
  };

  let stopping: Promise<void> | undefined;
  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${spec.port}`,
    port: spec.port,
    monitorPort: spec.monitorPort,
    pid: child.pid ?? -1,
    stop() {
      if (stopping) return stopping;
      stopping = exited ? Promise.resolve() : terminateProcess(child, exitPromise, STOP_GRACE_MS);
      return stopping;
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (exited) return;
      try {
        child.kill(signal);
      } catch {
        // gone
      }
    },
  };

  // Wait until it answers on the monitoring port and accepts client connections.
  const deadline = Date.now() + spec.timeoutMs;
  const healthUrl = `http://127.0.0.1:${spec.monitorPort}/healthz`;
  for (;;) {
    if (exited) {
      await exitPromise;
      // Give the stream readers a chance to drain the last lines.
      await sleep(20);
      const tail = tailText();
      const msg = `${describe()} exited before becoming ready (${exitInfo})${tail}`;
      if (spawnError) throw new Error(msg, { cause: spawnError });
      if (/address already in use/i.test(tail)) throw new AddressInUseError(msg);
      throw new Error(msg);
    }
    const health = await fetchJson(healthUrl);
    if (health.ok && (await tcpProbe(spec.port))) return handle;
    if (Date.now() >= deadline) {
      handle.kill('SIGKILL');
      await Promise.race([exitPromise, sleep(1000)]);
      throw new Error(`${describe()} did not become ready within ${spec.timeoutMs} ms${tailText()}`);
    }
    await sleep(25);
  }
}

/**
 * Start one nats-server on 127.0.0.1 and wait until it accepts connections. Ports are picked
 * free unless given; when the harness picked them and they were stolen in the meantime, it
 * retries with fresh ones.
 */
export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const attempts = opts.port === undefined ? 3 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = opts.port ?? (await freePort());
    const monitorPort = await freePort();
    try {
      return await spawnServer({
        port,
        monitorPort,
        name: opts.name ?? `shoal-${port}`,
        args: opts.args ?? [],
        timeoutMs,
      });
    } catch (err) {
      lastErr = err;
      if (!(err instanceof AddressInUseError)) throw err;
    }
  }
  throw lastErr;
}

// ---------------------------------------------------------------------------------------------
// Cluster

function routeCount(body: unknown): number {
  if (body && typeof body === 'object' && 'num_routes' in body) {
    const n = (body as { num_routes: unknown }).num_routes;
    return typeof n === 'number' ? n : 0;
  }
  return 0;
}

async function startClusterOnce(size: number, opts: StartNatsClusterOptions): Promise<NatsClusterHandle> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = opts.name ?? `shoal-${randomBytes(3).toString('hex')}`;
  const clusterName = `shoal-test-${randomBytes(4).toString('hex')}`;
  const ports: { port: number; monitorPort: number; clusterPort: number }[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ port: await freePort(), monitorPort: await freePort(), clusterPort: await freePort() });
  }
  const started = await Promise.allSettled(
    ports.map((p, i) => {
      const peers = ports
        .filter((_, j) => j !== i)
        .map((q) => `nats://127.0.0.1:${q.clusterPort}`)
        .join(',');
      const args = [
        '--cluster', `nats://127.0.0.1:${p.clusterPort}`,
        '--cluster_name', clusterName,
        ...(peers ? ['--routes', peers] : []),
        ...(opts.args ?? []),
      ];
      return spawnServer({ port: p.port, monitorPort: p.monitorPort, name: `${base}-${i}`, args, timeoutMs });
    }),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }

  // Wait for the full mesh.
  const deadline = Date.now() + timeoutMs;
  let counts: number[] = [];
  for (;;) {
    counts = await Promise.all(
      servers.map(async (s) => routeCount((await fetchJson(`http://127.0.0.1:${s.monitorPort}/routez`)).body)),
    );
    if (counts.every((n) => n >= size - 1)) break;
    if (Date.now() >= deadline) {
      await stopAll();
      throw new Error(
        `nats cluster ${clusterName}: routes did not form within ${timeoutMs} ms (num_routes per server: ${counts.join(', ')}, want >= ${size - 1})`,
      );
    }
    await sleep(25);
  }
  return { servers, urls: servers.map((s) => s.url), stop: stopAll };
}

/**
 * Start `size` nats-servers joined by routes (full mesh, each solicits its peers) and wait until
 * every server's /routez reports at least size-1 routes.
 */
export async function startNatsCluster(size = 3, opts: StartNatsClusterOptions = {}): Promise<NatsClusterHandle> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`startNatsCluster: size must be a positive integer, got ${size}`);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startClusterOnce(size, opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof AddressInUseError)) throw err;
    }
  }
  throw lastErr;
}
