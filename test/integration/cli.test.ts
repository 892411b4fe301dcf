/**
 * The `shoal` CLI end to end, as a user runs it: `bin/shoal up` as a child process in a fresh
 * working directory, then client commands from that directory with no flags (they find the
 * cluster through the shoal-up.json file `shoal up` writes), exit codes, a node killed and
 * restarted through `shoal up`'s control subject, and Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, pollUntil as until, REPO_ROOT, runShoal, SHOAL_BIN, type ShoalRun } from '../support/shoal-cli.ts';

const SHOAL = SHOAL_BIN;
const KINDS = join(REPO_ROOT, 'examples/kinds.ts');
type Run = ShoalRun;

let cwd: string;
let up: ChildProcess;
let upOut = '';
let upExit: Promise<number | null>;
let readyMs = 0;


function shoal(args: string[], input?: string, timeoutMs = 40_000): Promise<Run> {
  return runShoal(cwd, args, { input, timeoutMs });
}

/** Run and expect exit 0; returns stdout parsed as JSON when `--json` is among the args. */
async function ok<T = any>(args: string[], input?: string): Promise<T> {
  const r = await shoal(args, input);
  expect(r.code, `shoal ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return (args.includes('--json') ? JSON.parse(r.stdout) : r.stdout) as T;
}


describe('shoal CLI against `shoal up`', () => {
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'shoal-cli-'));
    const t0 = Date.now();
    up = spawn(SHOAL, ['up', '--nodes', '3', '--kinds', KINDS, '--sample-data', '300'], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.setEncoding('utf8').on('data', (d: string) => (upOut += d));
    up.stderr!.setEncoding('utf8').on('data', (d: string) => (upOut += d));
    upExit = new Promise((r) => up.once('exit', (code) => r(code)));
    await until('shoal up to be ready', 45_000, async () => {
      if (up.exitCode !== null) throw new Error(`shoal up exited early:\n${upOut}`);
      return upOut.includes('shoal up: ready') ? true : undefined;
    });
    readyMs = Date.now() - t0;
    console.log(`shoal up --nodes 3: ready (green) in ${readyMs} ms`);
  }, 60_000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await Promise.race([upExit, new Promise((r) => setTimeout(r, 10_000))]);
      if (up.exitCode === null) up.kill('SIGKILL');
    }
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('`shoal up` reports progress and writes the file the other commands find it by', () => {
    expect(upOut).toMatch(/shoal up: nats-server at nats:\/\/127\.0\.0\.1:\d+/);
    expect(upOut).toMatch(/shoal up: node n1 joined/);
    expect(upOut).toMatch(/shoal up: 3 nodes up \(n1, n2, n3\)/);
    expect(upOut).toMatch(/shoal up: cluster green in [\d.]+ s/);
    expect(upOut).toMatch(/shoal up: sample data: 300 indexed, 0 failed/);
    const file = JSON.parse(readFileSync(join(cwd, '.data/shoal-up.json'), 'utf8'));
    expect(file).toMatchObject({ pid: up.pid, cluster: 'shoal', control: 'shoal.shoal.up' });
    expect(Object.keys(file.nodes).sort()).toEqual(['n1', 'n2', 'n3']);
  });

  it('health, status, nodes: tables for people, --json for scripts, no flags needed', async () => {
    const health = await ok(['health', '--json']);
    expect(health).toMatchObject({ cluster_name: 'shoal', status: 'green', number_of_nodes: 3, number_of_data_nodes: 3 });
    const table = await ok(['nodes']);
    expect(table.split('\n')[0]).toMatch(/^id\s+master\s+roles\s+shards/);
    const indices = await ok(['indices', '--json']);
    expect(indices.find((i: { index: string }) => i.index === 'wordnet')).toMatchObject({ health: 'green', pri: 3, rep: 1 });
    expect((await ok(['search', 'wordnet', '--json'])).hits.total.value).toBe(300);
    const status = await ok(['status', '--json']);
    expect(status.nodes.map((n: { id: string }) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(['n1', 'n2', 'n3']).toContain(status.master.id);
  }, 30_000);

  it('index, bulk, search, get, delete through the client, JSON from arguments and stdin', async () => {
    await ok(['create-index', 'books', '--shards', '3', '--replicas', '1', '--wait-for-active-shards', 'all']);
    expect(await ok(['index', 'books', '1', '--refresh'], '{"title":"Dune","author":"Frank Herbert","year":1965}')).toMatch(/^created books\/1 \(version 1/);
    const ndjson = [
      '{"index":{"_id":"2"}}',
      '{"title":"Foundation","author":"Isaac Asimov","year":1951}',
      '{"index":{"_id":"3"}}',
      '{"title":"The Dispossessed","author":"Ursula K. Le Guin","year":1974}',
      '{"delete":{"_id":"nope"}}',
    ].join('\n');
    const bulk = await ok(['bulk', 'books', '--refresh', '--json'], `${ndjson}\n`);
    expect(bulk.items.map((i: Record<string, { status: number }>) => Object.values(i)[0]!.status)).toEqual([201, 201, 404]);

    const res = await ok(['search', 'books', 'dune', '--json']);
    expect(res.hits.hits.map((h: { _id: string }) => h._id)).toEqual(['1']);
    const text = await ok(['search', 'books', '--body', '{"query":{"range":{"year":{"lt":1970}}},"sort":[{"year":"asc"}]}']);
    expect(text).toMatch(/^2 hits/);
    expect(text.indexOf('Foundation')).toBeLessThan(text.indexOf('Dune'));

    expect((await ok(['get', 'books', '1', '--source', '--json'])).title).toBe('Dune');
    expect((await shoal(['get', 'books', 'missing'])).code).toBe(1);
    await ok(['delete', 'books', '3', '--refresh']);
    const again = await shoal(['delete', 'books', '3']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not found: books\/3/);

    // Maintenance: the delete left a deleted doc; a force merge on every copy drops it.
    expect(await ok(['refresh', 'books'])).toBe('refreshed books: 6 of 6 shard copies\n');
    expect((await ok(['stats', 'books', '--json'])).indices.books.primaries.docs).toEqual({ count: 2, deleted: 1 });
    expect(await ok(['flush', 'books'])).toBe('flushed books: 6 of 6 shard copies\n');
    expect(await ok(['forcemerge', 'books', '--max-num-segments', '1'])).toBe('merged books: 6 of 6 shard copies\n');
    expect((await ok(['stats', 'books', '--json'])).indices.books.total.docs).toEqual({ count: 4, deleted: 0 });
    expect(await ok(['stats', 'books'])).toMatch(/^index\s+docs\s+deleted\s+segments\s+store.*\nbooks\s+2\s+0\s+\d+\s+\d/);
    expect((await shoal(['forcemerge', 'books', '--max-num-segments', '1', '--only-expunge-deletes'])).code).toBe(2);
  }, 45_000);

  it('exit codes: 1 for an error reply, 2 for usage, 3 when nothing answers', async () => {
    const bad = await shoal(['search', 'books', '--body', '{"query":{"bogus":{}}}', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ status: 400 });
    expect((await shoal(['index', 'books', '9', '{not json'])).code).toBe(2);
    expect((await shoal(['health', '--no-such-flag'])).code).toBe(2);
    const noNats = await shoal(['health', '--nats', 'nats://127.0.0.1:1']);
    expect(noNats.code).toBe(3);
    expect(noNats.stderr).toMatch(/cannot connect/);
    const noCluster = await shoal(['health', '--cluster', 'nobody']);
    expect(noCluster.code).toBe(3);
    expect(noCluster.stderr).toMatch(/no Shoal node answers/);
  }, 45_000);

  it('spawn an actor of a registered kind on a node, then tell and ask it', async () => {
    const ref = (await ok(['spawn', 'counter-sup', '--node', 'n3', '--name', 'visits'])).trim();
    expect(ref).toBe('shoal://shoal/n3/user/visits');
    await ok(['tell', `${ref}/counter`, '{"type":"inc","by":41}']);
    await ok(['tell', `${ref}/counter`, '{"type":"inc"}']);
    // Different CLI processes are different senders: poll until both tells have landed.
    await until('the counter to reach 42', 10_000, async () => ((await ok(['ask', `${ref}/counter`, '{"type":"get"}', '--json'])).count === 42 ? true : undefined));
    expect((await shoal(['spawn', 'no-such-kind', '--node', 'n3'])).code).toBe(1);
  }, 30_000);

  it('drain n3 --wait empties it (copies move, nothing is lost); settings and explain show why; undrain lets it take copies again', async () => {
    const drained = await ok(['drain', 'n3', '--wait']);
    expect(drained).toMatch(/n3 is drained: no shard copy left on it/);
    const shards = await ok(['shards', '--json']);
    expect(shards.filter((s: { node: string }) => s.node === 'n3')).toEqual([]);
    expect(await ok(['settings'])).toMatch(/cluster\.routing\.allocation\.exclude\._name\s+n3/);
    expect((await ok(['search', 'wordnet', '--json'])).hits.total.value).toBe(300);
    const explained = await ok(['explain', '--index', 'wordnet', '--shard', '0', '--primary', '--json']);
    expect(explained).toMatchObject({ index: 'wordnet', shard: 0, primary: true, can_remain_on_current_node: 'yes' });
    expect(explained.current_node.id).not.toBe('n3');
    expect((await shoal(['explain', '--index', 'wordnet'])).code).toBe(2);
    expect((await shoal(['drain', 'n9'])).code).toBe(2);
    expect(await ok(['undrain', 'n3'])).toMatch(/^n3 takes copies again$/m);
    expect(await ok(['settings'])).toMatch(/no cluster settings set/);
    await until('n3 to hold copies again', 60_000, async () => ((await ok(['shards', '--json'])).some((s: { node: string; state: string }) => s.node === 'n3' && s.state === 'STARTED') ? true : undefined));
    await until('green with every copy started', 60_000, async () => {
      const h = await ok(['health', '--json']);
      return h.status === 'green' && h.relocating_shards === 0 && h.initializing_shards === 0 ? true : undefined;
    });
  }, 150_000);

  it('kill n2: health turns yellow and the data stays readable; restart n2: green again', async () => {
    const killed = await ok(['kill', 'n2', '--json']);
    expect(killed).toMatchObject({ node: 'n2', signal: 'SIGKILL' });
    const t0 = Date.now();
    // books has 3 shards x 2 copies over 3 nodes: n2 held two copies. Its replicas wait for it
    // (delayed allocation, 1 minute), so the cluster is yellow, not red: every shard has a primary.
    const yellow = await until('health yellow', 15_000, async () => {
      const h = await ok(['health', '--json']);
      return h.status === 'yellow' && h.number_of_nodes === 2 ? h : undefined;
    });
    console.log(`kill n2 -> yellow seen after ${Date.now() - t0} ms`);
    expect(yellow.unassigned_shards).toBeGreaterThan(0);
    expect((await ok(['get', 'books', '1', '--source', '--json'])).title).toBe('Dune');
    const ps = await ok(['ps', '--json']);
    expect(ps.find((p: { node: string }) => p.node === 'n2')).toMatchObject({ status: 'exited', exit: 'SIGKILL' });
    expect((await shoal(['kill', 'n2'])).code).toBe(1); // not running

    const t1 = Date.now();
    const back = await ok(['restart', 'n2', '--json']);
    expect(back.node).toBe('n2');
    const green = await ok(['health', '--wait-for-status', 'green', '--timeout', '30000', '--json']);
    console.log(`restart n2 -> serving in ${back.ms} ms, green after ${Date.now() - t1} ms`);
    expect(green).toMatchObject({ status: 'green', number_of_nodes: 3, timed_out: false });
  }, 60_000);

  it('Ctrl-C stops the nodes and nats-server, and removes the state file', async () => {
    const file = JSON.parse(readFileSync(join(cwd, '.data/shoal-up.json'), 'utf8')) as { nodes: Record<string, { pid: number }> };
    const pids = Object.values(file.nodes).map((n) => n.pid);
    up.kill('SIGINT');
    expect(await upExit).toBe(0);
    expect(upOut).toContain('shoal up: stopping');
    expect(upOut).toContain('shoal up: stopped');
    expect(existsSync(join(cwd, '.data/shoal-up.json'))).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const after = await shoal(['health']);
    expect(after.code).toBe(3);
  }, 30_000);
});
