import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Running `bin/shoal` as a user would, for the CLI and dashboard tests. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHOAL_BIN = join(REPO_ROOT, 'bin/shoal');

export interface ShoalRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without anything that would point the CLI at another cluster. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['SHOAL_NATS', 'SHOAL_DATA_DIR', 'SHOAL_CLUSTER', 'NATS_URL']) delete env[k];
  return env;
}

/** One `shoal` command in `cwd`, `input` on its stdin; killed after `timeoutMs` when given. */
export function runShoal(cwd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ShoalRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(SHOAL_BIN, args, { cwd, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Poll `fn` every 50 ms until it returns something other than undefined; throws at the deadline. */
export async function pollUntil<T>(what: string, timeoutMs: number, fn: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
