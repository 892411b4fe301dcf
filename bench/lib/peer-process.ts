/**
 * Spawns bench/runtime-peer.ts as a separate OS process (`node --import tsx`), waits for its
 * READY line, and stops it (stdin close + SIGTERM, SIGKILL after a grace period). A process
 * 'exit' hook SIGKILLs any peer still running, so a peer never outlives the bench.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { terminateProcess } from '../../src/testing/terminate.ts';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { PeerReady } from './raw-subjects.ts';

export interface PeerHandle {
  ready: PeerReady;
  pid: number;
  /** ms from spawn to the READY line */
  startMs: number;
  /** Resolves with a description once the process has exited (for whatever reason). */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export interface SpawnPeerOptions {
  natsUrl: string;
  nodeId?: string;
  /** Deadline for the READY line. Default 30 s. */
  timeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof) put before `--import tsx`. */
  nodeArgs?: string[];
}

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const PROJECT_ROOT = dirname(BENCH_DIR);
const PEER_SCRIPT = join(BENCH_DIR, 'runtime-peer.ts');
const STOP_GRACE_MS = 5_000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

export async function spawnPeer(opts: SpawnPeerOptions): Promise<PeerHandle> {
  installExitHook();
  const nodeId = opts.nodeId ?? 'peer';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = performance.now();
  // cwd = project root, so `--import tsx` resolves this project's tsx.
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', PEER_SCRIPT, opts.natsUrl, nodeId], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, SHOAL_BENCH_NATS_URL: opts.natsUrl, SHOAL_BENCH_NODE_ID: nodeId },
  });
  live.add(child);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
    child.once('error', (err) => {
      live.delete(child);
      resolve(`spawn error: ${err.message}`);
    });
  });
  // The peer exits when its stdin closes; an EPIPE on our side is not an error worth crashing for.
  child.stdin?.on('error', () => {});

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!live.has(child)) return;
      child.stdin?.end();
      await terminateProcess(child, exited, STOP_GRACE_MS);
    })();
    return stopping;
  };

  const ready = await new Promise<PeerReady>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: PeerReady) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`peer did not print READY within ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (settled) return;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('READY ')) {
          if (line) process.stderr.write(`[peer stdout] ${line}\n`);
          continue;
        }
        try {
          finish(undefined, JSON.parse(line.slice('READY '.length)) as PeerReady);
        } catch (err) {
          finish(new Error(`peer printed a malformed READY line: ${line}`, { cause: err }));
        }
        return;
      }
      if (buf.length > 65_536) buf = buf.slice(-65_536);
    });
    void exited.then((how) => finish(new Error(`peer exited before it was ready (${how})`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  // Keep draining stdout so the peer never blocks on a full pipe.
  child.stdout!.on('data', () => {});

  return { ready, pid: child.pid ?? -1, startMs: performance.now() - started, exited, stop };
}
