/**
 * The dashboard's HTTP server (src/dashboard/server.ts) against a real nats-server, without a
 * browser or a cluster: ports, routes, the SSE feed's events, and the live-stream interest it
 * holds only while a page is connected. The browser test (dashboard.browser.test.ts) runs it
 * against a real cluster.
 */
import { createServer, request, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';
import { vizSubjects, type VizEvent, type VizInterest } from '../../src/viz/live.ts';

const CLUSTER = 'dash';

/** An SSE client: collects `{event, data}` in order. */
class Sse {
  readonly events: { event: string; data: any }[] = [];
  private readonly req: ClientRequest;
  private buf = '';
  private waiters = new Set<() => void>();
  contentType = '';

  constructor(url: string) {
    this.req = request(url, (res) => {
      this.contentType = String(res.headers['content-type']);
      res.setEncoding('utf8').on('data', (d: string) => {
        this.buf += d;
        const blocks = this.buf.split('\n\n');
        this.buf = blocks.pop()!;
        for (const b of blocks) {
          const lines = b.split('\n').filter((l) => !l.startsWith(':') && !l.startsWith('retry:'));
          const ev = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (ev) this.events.push({ event: ev, data: JSON.parse(data) });
        }
        for (const w of this.waiters) w();
      });
    });
    this.req.on('error', () => undefined);
    this.req.end();
  }

  /** The first event named `name` (after `from`) for which `pred` holds. */
  next(name: string, pred: (data: any) => boolean = () => true, from = 0, timeoutMs = 10_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.slice(from).find((e) => e.event === name && pred(e.data));
        if (!hit) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(hit.data);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no SSE '${name}' event within ${timeoutMs} ms; got ${this.events.map((e) => e.event).join(', ')}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.req.destroy();
  }
}

async function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('dashboard server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let dash: Dashboard;
  const interests: VizInterest[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    nc.subscribe(vizSubjects.interest(CLUSTER), { callback: (_e, m) => void interests.push(m.json<VizInterest>()) });
    await nc.flush();
    dash = await startDashboard({ nc, cluster: CLUSTER, port: 0, pollMs: 200 });
  });

  afterAll(async () => {
    await dash?.close();
    await nc?.close();
    await server?.stop();
  });

  it('a port that is taken: an error when it was asked for, a free port with fallback', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      await expect(startDashboard({ nc, cluster: CLUSTER, port: taken })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      const other = await startDashboard({ nc, cluster: CLUSTER, port: taken, fallback: true });
      expect(other.port).not.toBe(taken);
      expect(other.url).toBe(`http://127.0.0.1:${other.port}/`);
      await other.close();
    } finally {
      blocker.close();
    }
  });

  it('serves the page, its script and style, the charts; 404 and 405 otherwise', async () => {
    const page = await get(dash.url);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(page.body).toContain('data-testid="chart"');
    expect((await get(new URL('app.js', dash.url).href)).type).toMatch(/^text\/javascript/);
    expect((await get(new URL('style.css', dash.url).href)).type).toMatch(/^text\/css/);
    const charts = JSON.parse((await get(new URL('charts.json', dash.url).href)).body);
    expect(charts.charts.shard.chart.root.id).toBe('shard');
    expect(charts.charts.raft.name).toBe('raft-peer');
    expect((await get(new URL('nope', dash.url).href)).status).toBe(404);
    expect((await get(dash.url, 'POST')).status).toBe(405);
  });

  it('SSE: hello, then the view (with the error while no node answers), actors, live transitions; the interest lasts as long as a page', async () => {
    const before = interests.length;
    const a = new Sse(new URL('events', dash.url).href);
    expect(await a.next('hello')).toEqual({ v: 1, cluster: CLUSTER, charts: '/charts.json' });
    const view = await a.next('cluster');
    expect(a.contentType).toMatch(/^text\/event-stream/);
    expect(view).toMatchObject({ v: 1, cluster: CLUSTER, version: 0, nodes: [], copies: [], health: null });
    expect(view.error).toMatch(/no Shoal node serves cluster.state/);
    expect(await a.next('actors')).toEqual([]);

    // The page's arrival made the dashboard announce an interest in the live stream.
    const interest = await until(() => interests.slice(before).find((i) => i.leaseMs > 0));
    expect(interest.id).toMatch(/^w-/);
    expect(dash.clients).toBe(1);

    // A transition published on the stream's subject reaches the page as it is.
    const ev: VizEvent = { v: 1, cluster: CLUSTER, node: 'n1', actor: '/system/node', kind: 'node', from: 'joining', to: 'member', active: ['node.member'], event: 'node.joined', ts: Date.now(), seq: 4 };
    nc.publish(vizSubjects.events(CLUSTER, 'n1', '/system/node'), JSON.stringify(ev));
    expect(await a.next('transition')).toEqual(ev);

    // A second page gets every actor's last transition on connect.
    const b = new Sse(new URL('events', dash.url).href);
    expect(await b.next('actors')).toEqual([ev]);
    b.close();
    a.close();
    // The last page gone: the interest is withdrawn (leaseMs 0, same watcher id).
    await until(() => interests.find((i) => i.id === interest.id && i.leaseMs === 0));
    expect(dash.clients).toBe(0);
  });
});

async function until<T>(fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
