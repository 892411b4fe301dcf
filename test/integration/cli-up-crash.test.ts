/**
 * `shoal up` killed by SIGKILL cannot clean up: its nodes must stop by themselves (their stdin
 * pipe closes) and the next `shoal up` in the same data directory stops the leftover nats-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const SHOAL = fileURLToPath(new URL('../../bin/shoal', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'shoal-up-crash-'));
const started: ChildProcess[] = [];
const strays: number[] = [];

function startUp(): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const env = { ...process.env };
  delete env.SHOAL_DATA_DIR;
  const child = spawn(SHOAL, ['up', '--nodes', '1'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, out: () => out, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

/** Running (a zombie nobody reaped yet counts as gone: the orphan's new parent may be slow to reap). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

async function until(what: string, timeoutMs: number, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => {
  for (const c of started) if (c.exitCode === null) c.kill('SIGKILL');
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

it('after SIGKILL of shoal up its nodes stop by themselves, and the next shoal up stops the stale nats-server', async () => {
  const first = startUp();
  await until('the first shoal up to be ready', 45_000, () => first.out().includes('shoal up: ready') || first.child.exitCode !== null);
  expect(first.out()).toContain('shoal up: ready');
  const file = JSON.parse(readFileSync(join(dir, '.data/shoal-up.json'), 'utf8')) as { natsPid: number; nodes: Record<string, { pid: number }> };
  const nodePid = file.nodes.n1!.pid;
  strays.push(nodePid, file.natsPid);
  first.child.kill('SIGKILL');
  await first.exited;
  await until('the orphaned node to stop', 10_000, () => !alive(nodePid));
  expect(alive(file.natsPid)).toBe(true); // nobody stopped it yet

  const second = startUp();
  await until('the second shoal up to be ready', 45_000, () => second.out().includes('shoal up: ready') || second.child.exitCode !== null);
  expect(second.out()).toMatch(/died without stopping its nats-server \(pid \d+\): stopping it/);
  await until('the stale nats-server to stop', 10_000, () => !alive(file.natsPid));
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
}, 90_000);
