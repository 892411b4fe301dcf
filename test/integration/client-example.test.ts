import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Run the example as its own process, as a user would (it starts its own nats-server and node). */
function run(file: string, killAfterMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.NATS_URL;
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

describe('examples/client.ts', () => {
  it('bulk-loads, searches with an aggregation, updates, reports a conflict and exits 0', async () => {
    const r = await run('examples/client.ts', 50_000);
    const transcript = `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
    expect(r.code, transcript).toBe(0);
    expect(r.stdout, transcript).toMatch(/^bulk done: 3000 documents in 3 batches$/m);
    expect(r.stdout, transcript).toMatch(/^search: 300 hits for "space"; newest: f\d+ \(2010\)/m);
    expect(r.stdout, transcript).toMatch(/^by genre: crime=100 drama=100 scifi=100$/m);
    expect(r.stdout, transcript).toMatch(/^get f0: "film number 0 revisited" version 2$/m);
    expect(r.stdout, transcript).toMatch(/^error: version_conflict_engine_exception \(409\)$/m);
    expect(r.stdout, transcript).toMatch(/^health: green;/m);
    expect(r.stdout.trim().split('\n').at(-1), transcript).toBe('done');
  }, 60_000);
});
