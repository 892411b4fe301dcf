import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';
import { ATTACHED_EVENT, vizSubjects, type VizEvent } from '../../src/viz/live.ts';
import { watchTransitions, type VizWatch } from '../../src/viz/watch.ts';
import { waitUntil } from '../support/api-cluster.ts';

const CLUSTER = 'viztest';

describe('live transition stream over a real nats-server', () => {
  let server: NatsServerHandle;
  let dataDir: string;
  let nc: NatsConnection;
  const nodes: ShoalNode[] = [];
  const watches: VizWatch[] = [];
  const track = (w: VizWatch) => (watches.push(w), w);
  afterEach(async () => {
    for (const w of watches.splice(0)) await w.close();
  });
  /** A raw subscription on shoal.<c>.viz.> that announces no interest: it only counts. */
  let rawCount = 0;

  const createIndex = async (index: string) => {
    await nodes[0]!.api({ op: 'index.create', index, settings: { number_of_shards: 1, number_of_replicas: 1 } } as never);
    await nodes[0]!.waitFor((s) => s.routing[index]?.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED')) ?? false, `${index} started`, 20_000);
    // And every shard actor has settled into `started` (the routing says so a moment before the replica's machine does).
    await waitUntil(async () => {
      const stats = (await nodes[0]!.api({ op: 'shard.stats', index } as never)) as { state: unknown }[];
      return stats.length === 2 && stats.every((s) => JSON.stringify(s.state).includes('started'));
    }, `${index} shard actors started`, 20_000);
  };
  const uuid = (index: string) => nodes[0]!.state.indices[index]!.uuid;
  /** Everything the nodes published so far has reached the server, and the server has delivered it to us. */
  const settle = async () => {
    for (const n of nodes) await n.system.transport.flush();
    await nc.flush();
  };
  const collect = async (w: VizWatch, done: (seen: VizEvent[]) => boolean, what: string, timeoutMs = 20_000): Promise<VizEvent[]> => {
    const seen: VizEvent[] = [];
    const it = w[Symbol.asyncIterator]();
    const deadline = Date.now() + timeoutMs;
    while (!done(seen)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(seen.map((e) => [e.actor, e.event, e.to]))}`);
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([it.next(), new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)))]);
      clearTimeout(timer);
      if (next !== 'timeout' && !next.done) seen.push(next.value);
    }
    return seen;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    dataDir = mkdtempSync(join(tmpdir(), 'shoal-viz-'));
    for (const id of ['n1', 'n2']) {
      nodes.push(await ShoalNode.start({ nodeId: id, cluster: CLUSTER, nats: { servers: server.url }, dataDir, masters: ['n1'], logLevel: 'silent', api: { disabled: true } }));
    }
    await Promise.all(nodes.map((n) => n.waitFor((s) => Object.keys(s.nodes).length === 2 && !!s.master, 'two nodes and a master', 20_000)));
    nc = await connect({ servers: server.url, name: 'viz-test' });
    nc.subscribe(vizSubjects.all(CLUSTER), { callback: () => void rawCount++ });
    await nc.flush();
  });
  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await Promise.all(nodes.map((n) => (n.system.isRunning ? n.shutdown() : undefined)));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('publishes nothing while nobody watches (no observer on any machine)', async () => {
    await createIndex('quiet');
    await nodes[0]!.api({ op: 'doc.index', index: 'quiet', id: '1', document: { t: 'x' }, refresh: true } as never);
    await nodes[1]!.api({ op: 'search', index: 'quiet', body: { query: { match_all: {} } } } as never);
    await settle();
    expect(rawCount).toBe(0);
    for (const n of nodes) {
      expect(n.viz!.published).toBe(0);
      expect(n.viz!.watchedActors).toBe(0);
      expect(n.system.machines.size).toBeGreaterThan(0);
    }
  });

  it("a watcher sees a shard actor's transitions when an index is created", async () => {
    const w = track(await watchTransitions(nc, { cluster: CLUSTER, kinds: ['shard'], context: true }));
    await w.waitForNodes(['n1', 'n2']);
    // Shard actors that were already running report their state once.
    const attached = await collect(w, (s) => s.filter((e) => e.event === ATTACHED_EVENT && e.actor.includes(uuid('quiet'))).length === 2, 'the running shard actors of quiet');
    for (const e of attached.filter((x) => x.event === ATTACHED_EVENT)) {
      expect(e).toMatchObject({ v: 1, cluster: CLUSTER, kind: 'shard', from: null });
      expect(e.active[0]).toMatch(/^shard\.started\./);
    }
    await createIndex('books');
    const isBooks = (e: VizEvent) => e.actor.startsWith(`/system/indices/${uuid('books')}`);
    const seen = await collect(
      w,
      (s) => s.some((e) => isBooks(e) && e.active.includes('shard.started.primary')) && s.some((e) => isBooks(e) && e.active.includes('shard.started.replica.active')),
      'the books primary and replica started',
    );
    const books = seen.filter(isBooks);
    // The copies share the actor path on their nodes: an actor is (node, path).
    const copyOf = (state: string) => {
      const first = books.find((x) => x.active.includes(state))!;
      return books.filter((e) => e.node === first.node && e.actor === first.actor);
    };
    const primary = copyOf('shard.started.primary');
    const replica = copyOf('shard.started.replica.active');
    expect(primary[0]).toMatchObject({ event: 'xstate.init', from: null, to: { started: 'primary' }, seq: 1, kind: 'shard' });
    expect(primary[0]!.context).toMatchObject({ attempts: 0 });
    // The replica recovers from the primary first, then starts.
    const path = replica.map((e) => e.active.join(','));
    expect(path).toContain('shard.recovering');
    expect(path.indexOf('shard.recovering')).toBeLessThan(path.indexOf('shard.started.replica.active'));
    expect(replica.map((e) => e.seq)).toEqual(replica.map((_, i) => i + 1));
    const done = replica.find((e) => e.active.includes('shard.started.replica.active'))!;
    expect(done.from).toBe('recovering');
    expect(done.event).toMatch(/^xstate\.done\.actor\./);
    expect(primary[0]!.node).not.toBe(done.node);
    await settle();
    expect(rawCount).toBeGreaterThan(0);
    await w.close();
    // The goodbye withdraws the interest at once: the nodes stop publishing.
    await waitUntil(() => nodes.every((n) => n.viz!.activeInterests === 0 && n.viz!.watchedActors === 0), 'interest withdrawn on every node');
    await settle();
    const before = rawCount;
    await createIndex('later');
    await settle();
    expect(rawCount).toBe(before);
  });

  it('an interest that is not renewed lapses when its lease ends', async () => {
    const w = track(await watchTransitions(nc, { cluster: CLUSTER, kinds: ['shard'], leaseMs: 600 }));
    await w.waitForNodes(['n1', 'n2']);
    await waitUntil(() => nodes.every((n) => n.viz!.watchedActors > 0), 'observers attached');
    await w.close({ bye: false }); // a watcher that died: no goodbye, no renewal
    await waitUntil(() => nodes.every((n) => n.viz!.activeInterests === 0 && n.viz!.watchedActors === 0), 'the lease lapsed on every node');
  });

  it('a watcher filtered by node and path sees only those actors', async () => {
    const w = track(await watchTransitions(nc, { cluster: CLUSTER, nodes: ['n1'], pathPrefix: '/system/raft' }));
    await w.waitForNodes(['n1']);
    const seen = await collect(w, (s) => s.length >= 3, 'raft transitions of n1');
    for (const e of seen) expect(e).toMatchObject({ node: 'n1', actor: '/system/raft', kind: 'raft' });
    // The single master leads: heartbeats re-enter leader.heartbeat.waiting.
    expect(seen.some((e) => e.active.includes('raft.leader.heartbeat.waiting'))).toBe(true);
    expect(nodes[1]!.viz!.watchedActors).toBe(0);
    await w.close();
  });

  it('`shoal viz watch` prints transitions as JSON lines', async () => {
    const root = join(import.meta.dirname, '..', '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'viz', 'watch', '--nats', server.url, '--cluster', CLUSTER, '--node', 'n1', '--path', '/system/raft', '--json', '--count', '2'],
      { cwd: root, timeout: 30_000 },
    );
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as VizEvent);
    expect(lines).toHaveLength(2);
    for (const e of lines) expect(e).toMatchObject({ node: 'n1', actor: '/system/raft', kind: 'raft' });
  });
});
