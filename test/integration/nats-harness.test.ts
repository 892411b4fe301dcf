import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  findNatsServerBin,
  freePort,
  startNatsCluster,
  startNatsServer,
  type NatsServerHandle,
} from '../../src/testing/nats-server.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Poll `cond` until it holds or the deadline passes (then throw). */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** True while a process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

async function conn(url: string): Promise<NatsConnection> {
  const nc = await connect({ servers: url, reconnect: false });
  cleanups.push(() => nc.close());
  return nc;
}

describe('nats-server harness', () => {
  it('freePort returns distinct usable ports', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    expect(new Set(ports).size).toBe(4);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });

  it('starts one server on a free port and round-trips a message', async () => {
    const srv = await startNatsServer();
    cleanups.push(() => srv.stop());
    expect(srv.port).not.toBe(4222);
    expect(srv.url).toBe(`nats://127.0.0.1:${srv.port}`);
    expect(isAlive(srv.pid)).toBe(true);

    const health = await fetch(`http://127.0.0.1:${srv.monitorPort}/healthz`);
    expect(health.ok).toBe(true);

    const nc = await conn(srv.url);
    const got: string[] = [];
    nc.subscribe('harness.ping', { callback: (_e, m) => void got.push(dec.decode(m.data)) });
    await nc.flush();
    nc.publish('harness.ping', enc.encode('hello'));
    await waitFor(() => got.length === 1, 'the message');
    expect(got).toEqual(['hello']);
  });

  it('uses the server name it was given', async () => {
    const srv = await startNatsServer({ name: 'harness-named' });
    cleanups.push(() => srv.stop());
    const varz = (await (await fetch(`http://127.0.0.1:${srv.monitorPort}/varz`)).json()) as { server_name: string };
    expect(varz.server_name).toBe('harness-named');
  });

  it('a 3-server cluster routes a message published on server 0 to a subscriber on server 2', async () => {
    const cluster = await startNatsCluster(3);
    cleanups.push(() => cluster.stop());
    expect(cluster.servers).toHaveLength(3);
    expect(new Set(cluster.urls).size).toBe(3);
    for (const s of cluster.servers) {
      const routez = (await (await fetch(`http://127.0.0.1:${s.monitorPort}/routez`)).json()) as { num_routes: number };
      expect(routez.num_routes).toBeGreaterThanOrEqual(2);
    }

    // Each client only knows its own server (no cluster discovery to hide a broken route).
    const nc0 = await connect({ servers: cluster.urls[0]!, reconnect: false, ignoreClusterUpdates: true });
    cleanups.push(() => nc0.close());
    const nc2 = await connect({ servers: cluster.urls[2]!, reconnect: false, ignoreClusterUpdates: true });
    cleanups.push(() => nc2.close());
    expect(nc0.getServer()).toContain(String(cluster.servers[0]!.port));
    expect(nc2.getServer()).toContain(String(cluster.servers[2]!.port));

    const got: string[] = [];
    nc2.subscribe('cluster.hop', { callback: (_e, m) => void got.push(dec.decode(m.data)) });
    await nc2.flush();
    // Interest propagates over the route asynchronously: keep publishing until one arrives.
    let n = 0;
    await waitFor(async () => {
      nc0.publish('cluster.hop', enc.encode(`probe-${n++}`));
      await nc0.flush();
      return got.length > 0;
    }, 'a message to cross the route');
    expect(got[0]).toMatch(/^probe-\d+$/);
  });

  it('stop() terminates the process and is idempotent', async () => {
    const srv = await startNatsServer();
    const pid = srv.pid;
    expect(isAlive(pid)).toBe(true);
    await Promise.all([srv.stop(), srv.stop()]);
    expect(isAlive(pid)).toBe(false);
    await srv.stop();
  });

  it('cluster.stop() terminates every server', async () => {
    const cluster = await startNatsCluster(2);
    const pids = cluster.servers.map((s) => s.pid);
    expect(pids.every(isAlive)).toBe(true);
    await cluster.stop();
    expect(pids.some(isAlive)).toBe(false);
  });

  it('kill() sends a signal without waiting; the server goes away', async () => {
    const srv = await startNatsServer();
    cleanups.push(() => srv.stop());
    srv.kill();
    await waitFor(() => !isAlive(srv.pid), 'the killed server to exit');
  });

  it('rejects with the server output when the server exits early (port taken)', async () => {
    const first = await startNatsServer();
    cleanups.push(() => first.stop());
    const err = await startNatsServer({ port: first.port, timeoutMs: 5000 }).then(
      () => new Error('second server unexpectedly started'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited before becoming ready/);
    expect((err as Error).message).toMatch(/address already in use/i);
  });

  it('explains how to install nats-server when the binary is missing', async () => {
    const saved = process.env.NATS_SERVER_BIN;
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    try {
      expect(() => findNatsServerBin()).toThrow(/npm run setup/);
      await expect(startNatsServer()).rejects.toThrow(/npm run setup/);
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved;
    }
  });

  /** Runs `body` in a child node process that has started a server; returns the server pid once printed. */
  function childWithServer(body: string) {
    const harness = fileURLToPath(new URL('../../src/testing/nats-server.ts', import.meta.url));
    const code = `
      const { startNatsServer } = await import(${JSON.stringify(harness)});
      const s = await startNatsServer();
      console.log('PID ' + s.pid);
      ${body}
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const serverPid = (async () => {
      await waitFor(() => /PID \d+/.test(out) || child.exitCode !== null, 'the child to print the server pid', 15_000);
      const m = /PID (\d+)/.exec(out);
      if (!m) throw new Error(`child printed no pid:\n${out}\n${errOut}`);
      const pid = Number(m[1]);
      cleanups.push(async () => {
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      });
      return pid;
    })();
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return { child, exited, serverPid, output: () => `${out}\n${errOut}` };
  }

  it('servers do not outlive a parent that exits', async () => {
    const c = childWithServer('process.exit(0);');
    const pid = await c.serverPid;
    const { code } = await c.exited;
    expect(code, c.output()).toBe(0);
    await waitFor(() => !isAlive(pid), `orphaned nats-server ${pid} to be gone`);
  });

  it('servers do not outlive a parent killed by SIGTERM, and the parent still dies of it', async () => {
    const c = childWithServer('setInterval(() => {}, 1000);');
    const pid = await c.serverPid;
    expect(isAlive(pid)).toBe(true);
    c.child.kill('SIGTERM');
    const { signal } = await c.exited;
    expect(signal, c.output()).toBe('SIGTERM');
    await waitFor(() => !isAlive(pid), `orphaned nats-server ${pid} to be gone`);
  });
});
