/**
 * The dashboard in a real browser: `bin/shoal up --nodes 3` as a child process (as a user runs
 * it), an index of 3 shards × 1 replica, then Debian's chromium (driven by playwright-core) on the
 * URL `shoal up` printed. The page must show the nodes, the master, green and six started copies;
 * a shard actor's chart must highlight its current state; after `shoal kill` of a node holding a
 * primary, the page must show that node down, the cluster yellow, the replica promoted (its chart
 * moving to `started.primary` live) and the lost replicas unassigned or initializing.
 *
 * Needs chromium (scripts/setup.sh installs it with apt). Without it the test fails and says so.
 * A screenshot of the end state goes to test-results/dashboard.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, pollUntil as until, REPO_ROOT, runShoal, SHOAL_BIN, type ShoalRun } from '../support/shoal-cli.ts';

const root = REPO_ROOT;
const SHOAL = SHOAL_BIN;
const CHROMIUM = process.env.SHOAL_CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = join(root, 'test-results');

let cwd: string;
let up: ChildProcess;
let upOut = '';
let upExit: Promise<number | null>;
let dashboardUrl: string;
let browser: Browser | undefined;
let page: Page;
let nc: NatsConnection | undefined;
/** Interest announcements of watchers seen on the cluster (the dashboard's among them). */
const interests: { id: string; leaseMs: number }[] = [];
/** Set when chromium is missing: every test fails with it (CI runs scripts/setup.sh first, which installs it). */
let missing: string | undefined;
const requireChromium = () => {
  if (missing) throw new Error(missing);
};


function shoal(args: string[]): Promise<ShoalRun> {
  return runShoal(cwd, args);
}

async function ok(args: string[]): Promise<string> {
  const r = await shoal(args);
  expect(r.code, `shoal ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}


/** What the page shows, for failure messages. */
async function pageState(): Promise<string> {
  return page.evaluate(() => {
    const q = (s: string) => [...document.querySelectorAll<HTMLElement>(s)];
    const nodes = q('[data-testid^="node-n"]').map((n) => `${n.dataset.node}:${n.dataset.status}${n.dataset.master === 'true' ? '*' : ''}`);
    const copies = q('[data-testid="shard-copy"]').map((c) => `${c.dataset.key}:${c.dataset.state}`);
    const health = document.querySelector<HTMLElement>('[data-testid="health"]')?.dataset.status;
    const active = document.querySelector<HTMLElement>('[data-testid="chart-active"]')?.textContent;
    return `health ${health}; nodes ${nodes.join(' ')}; copies ${copies.join(' ')}; chart ${active}; ${document.querySelector('[data-testid="summary"]')?.textContent}`;
  });
}

/** Poll the page until `fn` holds (Playwright polls on animation frames), with a deadline. */
async function waitForPage<A>(what: string, fn: (arg: A) => boolean, arg: A, timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction(fn as (arg: unknown) => boolean, arg, { timeout: timeoutMs });
  } catch (err) {
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'dashboard-failure.png'), fullPage: true }).catch(() => undefined);
    throw new Error(`the dashboard did not show ${what} within ${timeoutMs} ms (screenshot: test-results/dashboard-failure.png)\npage: ${await pageState()}\n${(err as Error).message}`);
  }
}

/** The first `event: <name>` of an SSE stream, parsed. */
function firstSseEvent(url: string, name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        for (const block of buf.split('\n\n').slice(0, -1)) {
          const lines = block.split('\n');
          if (lines[0] === `event: ${name}`) {
            req.destroy();
            resolve(JSON.parse(lines.slice(1).map((l) => l.replace(/^data: /, '')).join('\n')));
            return;
          }
        }
      });
    });
    req.once('error', reject);
    req.end();
  });
}

describe('the dashboard in chromium against `shoal up --nodes 3`', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      missing =
        `chromium not found at ${CHROMIUM}: the dashboard test drives Debian's chromium through playwright-core. ` +
        'Run `npm run setup` (scripts/setup.sh installs it with `apt-get install chromium`), or set SHOAL_CHROMIUM to a Chromium binary.';
      return;
    }
    cwd = mkdtempSync(join(tmpdir(), 'shoal-dash-'));
    up = spawn(SHOAL, ['up', '--nodes', '3', '--dashboard-port', '0'], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    up.stdout!.setEncoding('utf8').on('data', (d: string) => (upOut += d));
    up.stderr!.setEncoding('utf8').on('data', (d: string) => (upOut += d));
    upExit = new Promise((r) => up.once('exit', (code) => r(code)));
    await until('shoal up to be ready', 40_000, () => {
      if (up.exitCode !== null) throw new Error(`shoal up exited early:\n${upOut}`);
      return upOut.includes('shoal up: ready') ? true : undefined;
    });
    dashboardUrl = /shoal up: dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(upOut)?.[1] ?? '';
    expect(dashboardUrl, upOut).not.toBe('');
    const file = JSON.parse(readFileSync(join(cwd, '.data/shoal-up.json'), 'utf8'));
    expect(file.dashboard).toBe(dashboardUrl);
    // Watch the viz control subject: the dashboard announces its interest only while a page is open.
    nc = await connect({ servers: file.nats });
    nc.subscribe(`shoal.${file.cluster}.vizctl.interest`, { callback: (_e, m) => void interests.push(m.json()) });
    await nc.flush();
    await ok(['create-index', 'books', '--shards', '3', '--replicas', '1', '--wait-for-active-shards', 'all']);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await Promise.race([upExit, new Promise((r) => setTimeout(r, 10_000))]);
      if (up.exitCode === null) up.kill('SIGKILL');
    }
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('serves the page, the charts and an SSE feed whose first cluster event is the current view', async () => {
    requireChromium();
    const charts = (await (await fetch(new URL('charts.json', dashboardUrl))).json()) as { charts: Record<string, { name: string; chart: { id: string } }> };
    expect(Object.keys(charts.charts).sort()).toEqual(['node', 'raft', 'replicaGroup', 'shard', 'supervisor'].sort());
    expect(charts.charts.raft!.name).toBe('raft-peer');
    const html = await (await fetch(dashboardUrl)).text();
    expect(html).toContain('<script type="module" src="/app.js">');
    const view = (await firstSseEvent(new URL('events', dashboardUrl).href, 'cluster')) as any;
    expect(view).toMatchObject({ v: 1, cluster: 'shoal', health: { status: 'green', active_shards: 6 } });
    expect(view.nodes.map((n: { id: string; status: string }) => `${n.id}:${n.status}`)).toEqual(['n1:up', 'n2:up', 'n3:up']);
    expect(view.copies).toHaveLength(6);
    for (const c of view.copies) expect(c.actor).toMatch(/^\/system\/indices\/[A-Za-z0-9]+_[0-2]$/);
  });

  it('shows 3 nodes up with the master, green, and 6 started copies', async () => {
    requireChromium();
    await page.goto(dashboardUrl);
    await waitForPage(
      '3 nodes up, green, 6 started copies',
      () => {
        const q = (s: string) => document.querySelectorAll(s).length;
        return (
          q('[data-testid^="node-n"][data-status="up"]') === 3 &&
          document.querySelector<HTMLElement>('[data-testid="health"]')?.dataset.status === 'green' &&
          q('[data-testid="shard-copy"][data-state="STARTED"]') === 6 &&
          q('[data-testid="shard-copy"][data-primary="true"]') === 3
        );
      },
      undefined,
    );
    const masters = await page.locator('[data-testid^="node-n"][data-master="true"]').count();
    expect(masters).toBe(1);
    const masterId = await page.locator('[data-testid="master"]').getAttribute('data-master');
    expect(await page.locator(`[data-testid="node-${masterId}"] [data-testid="master-star"]`).count()).toBe(1);
    // Every node shows its node actor and (all three are master-eligible) its raft peer.
    expect(await page.locator('button[data-testid="actor"][data-path="/system/raft"]').count()).toBe(3);
  });

  let victim: string;
  let watched: { node: string; path: string; key: string };

  it('clicking a shard copy draws its chart with the current state highlighted', async () => {
    requireChromium();
    // The node to kill: one holding a primary that is not the master (no election in the way).
    const copies = await page.locator('[data-testid="shard-copy"]').evaluateAll((els) =>
      els.map((e) => ({ ...(e as HTMLElement).dataset }) as Record<string, string>),
    );
    const master = await page.locator('[data-testid="master"]').getAttribute('data-master');
    const primary = copies.find((c) => c.primary === 'true' && c.node !== master);
    expect(primary, JSON.stringify(copies)).toBeDefined();
    victim = primary!.node!;
    const replica = copies.find((c) => c.primary === 'false' && c.index === primary!.index && c.shard === primary!.shard)!;
    expect(replica.node).not.toBe(victim);
    watched = { node: replica.node!, path: replica.path!, key: replica.key! };

    await page.locator(`[data-testid="shard-copy"][data-key="${watched.key}"]`).click();
    await waitForPage(
      "the replica's chart with started.replica.active highlighted",
      () => {
        const active = [...document.querySelectorAll<HTMLElement>('[data-testid="chart-state"][data-active="true"]')].map((e) => e.dataset.stateId);
        return active.length === 1 && active[0] === 'shard.started.replica.active';
      },
      undefined,
    );
    const chart = page.locator('[data-testid="chart"]');
    expect(await chart.getAttribute('data-kind')).toBe('shard');
    expect(await chart.getAttribute('data-path')).toBe(watched.path);
    // Every state of the shard machine is drawn; the path to the current leaf is marked too.
    const ids = await page.locator('[data-testid="chart-state"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.stateId));
    expect(ids).toEqual(expect.arrayContaining(['shard', 'shard.initializing', 'shard.recovering', 'shard.started', 'shard.started.primary', 'shard.started.replica', 'shard.started.replica.active', 'shard.closed', 'shard.failed']));
    const onPath = await page.locator('[data-testid="chart-state"][data-on-path="true"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.stateId));
    expect(onPath.sort()).toEqual(['shard', 'shard.started', 'shard.started.replica']);
    expect(await page.locator('[data-testid="chart-active"]').getAttribute('data-active')).toBe('shard.started.replica.active');
    // The page holds an interest lease on the live stream.
    await until('the dashboard’s viz interest', 10_000, () => (interests.some((i) => i.leaseMs > 0) ? true : undefined));
  });

  it('after `shoal kill` of a node: it shows down, yellow, the replica promoted live, lost replicas not started', async () => {
    requireChromium();
    const killed = await ok(['kill', victim]);
    expect(killed).toContain(victim);
    await waitForPage(
      `${victim} down, health yellow, the replica promoted and shard copies changing`,
      ({ victim, key }) => {
        const q = <T extends HTMLElement>(s: string) => [...document.querySelectorAll<T>(s)];
        const node = document.querySelector<HTMLElement>(`[data-testid="node-${victim}"]`);
        const copies = q('[data-testid="shard-copy"]');
        const [index, shard, , holder] = key.split('/');
        const promoted = copies.find((c) => c.dataset.index === index && c.dataset.shard === shard && c.dataset.node === holder);
        return (
          node?.dataset.status === 'down' &&
          document.querySelector<HTMLElement>('[data-testid="health"]')?.dataset.status === 'yellow' &&
          copies.length === 6 &&
          !copies.some((c) => c.dataset.node === victim) &&
          copies.filter((c) => c.dataset.primary === 'true' && c.dataset.state === 'STARTED').length === 3 &&
          copies.some((c) => c.dataset.state === 'UNASSIGNED' || c.dataset.state === 'INITIALIZING') &&
          promoted?.dataset.primary === 'true'
        );
      },
      { victim, key: watched.key },
    );
    // The chart of the copy that was a replica followed the transitions as they arrived.
    await waitForPage(
      'the promoted copy’s chart highlighting started.primary',
      () => {
        const active = [...document.querySelectorAll<HTMLElement>('[data-testid="chart-state"][data-active="true"]')].map((e) => e.dataset.stateId);
        return active.length === 1 && active[0] === 'shard.started.primary';
      },
      undefined,
    );
    const log = await page.locator('[data-testid="transition-log"] [data-testid="transition"]').allTextContents();
    expect(log.some((l) => l.includes('"started":"primary"')), log.join('\n')).toBe(true);
    expect(await page.locator(`[data-testid="node-reason-${victim}"]`).textContent()).toMatch(/SIGKILL/);
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'dashboard.png'), fullPage: true });
  });

  it('closing the page withdraws the dashboard’s interest in the live stream', async () => {
    requireChromium();
    const before = interests.length;
    await page.close();
    await until('the dashboard to withdraw its viz interest (leaseMs 0)', 10_000, () => (interests.slice(before).some((i) => i.leaseMs === 0) ? true : undefined));
  });
});
