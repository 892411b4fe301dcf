import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number;
  stdout: string;
  stderr: string;
}

/** Run an example as its own process, as a user would; killed if it outlives `killAfterMs`. */
function runExample(file: string, killAfterMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: repoRoot,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, pid: child.pid ?? -1, stdout, stderr });
    });
  });
}

describe('examples', () => {
  it(
    'supervised-tree: a tree on a second node process, a crashed worker restarted, clean exit',
    async () => {
      const r = await runExample('examples/supervised-tree.ts', 50_000);
      const transcript = `exit code ${r.code}, signal ${r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
      expect(r.code, transcript).toBe(0);

      const lines = r.stdout.split('\n');
      const at = (re: RegExp) => {
        const i = lines.findIndex((l) => re.test(l));
        expect(i, `no line matching ${re}\n${transcript}`).toBeGreaterThanOrEqual(0);
        return i;
      };

      // beta is a separate OS process.
      const ready = lines[at(/^beta: ready \(pid \d+/)]!;
      const betaPid = Number(/pid (\d+)/.exec(ready)![1]);
      expect(betaPid).not.toBe(r.pid);

      // The tree was spawned on beta and listed.
      const spawned = at(/^alpha: spawned worker-pool on beta: shoal:\/\/shoal\/beta\/user\/pool$/);
      const firstTree = at(/^alpha:\s+├─ worker-2  running  restarts=0$/);
      // The crash, the restart seen through which_children, then fresh state.
      const kill = at(/^alpha: killing worker-2/);
      const restarted = at(/^alpha: restarted: worker-2 \(restarts=1\)$/);
      const fresh = at(/^alpha: worker-2 answers again with fresh state: jobsDone=1$/);
      at(/^alpha:\s+├─ worker-2  running  restarts=1$/);
      at(/^beta: worker-2 started again \(start #2\)$/);
      // The death watch on the pool fires only at the end, for beta's graceful shutdown.
      const watched = at(/^alpha: watch: pool on beta terminated \(shutdown\)$/);
      const done = at(/^alpha: done$/);
      expect([spawned, firstTree, kill, restarted, fresh, watched, done]).toEqual(
        [spawned, firstTree, kill, restarted, fresh, watched, done].sort((a, b) => a - b),
      );
      // Only one restart, only of worker-2 (one_for_one).
      expect(lines.filter((l) => /started again/.test(l))).toEqual(['beta: worker-2 started again (start #2)']);
      expect(r.stderr).not.toMatch(/FAILED/);
    },
    60_000,
  );
});
