import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { receive } from '../../src/runtime/behavior.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';
import { METRIC_NAMES } from '../../src/viz/metrics.ts';
import { waitUntil } from '../support/api-cluster.ts';

/** Prometheus text format → `name{labels}` → value (labels in the order the exporter wrote them). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** The value of a series whose labels include every `want` label (summed over the others). */
function value(metrics: Map<string, number>, name: string, want: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const [key, v] of metrics) {
    const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key)!;
    if (m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(want).every(([k, v2]) => labels[k] === v2)) {
      sum += v;
      found = true;
    }
  }
  if (!found) throw new Error(`no series ${name}${JSON.stringify(want)}`);
  return sum;
}

describe('Prometheus metrics endpoint', () => {
  let server: NatsServerHandle;
  let dataDir: string;
  let node: ShoalNode;
  let plain: ShoalNode;
  const scrape = async () => {
    const res = await fetch(node.metricsUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    return { text, metrics: parseMetrics(text) };
  };

  beforeAll(async () => {
    server = await startNatsServer();
    dataDir = mkdtempSync(join(tmpdir(), 'shoal-metrics-'));
    node = await ShoalNode.start({ nodeId: 'm1', cluster: 'metrics', nats: { servers: server.url }, dataDir, masters: ['m1'], logLevel: 'silent', api: { disabled: true }, metrics: { port: 0, host: '127.0.0.1' } });
    plain = await ShoalNode.start({ nodeId: 'm2', cluster: 'metrics', nats: { servers: server.url }, dataDir, masters: ['m1'], logLevel: 'silent', api: { disabled: true } });
    await node.waitFor((s) => Object.keys(s.nodes).length === 2 && !!s.master, 'two nodes and a master', 20_000);
  });
  afterAll(async () => {
    await plain?.shutdown();
    await node?.shutdown();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves every metric, and nothing else: off unless asked', async () => {
    expect(node.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(plain.metricsUrl).toBeUndefined();
    const { text, metrics } = await scrape();
    for (const name of METRIC_NAMES) expect(text, name).toMatch(new RegExp(`^# TYPE ${name.replace(/_total$/, '(_total)?')} `, 'm'));
    expect(text).toMatch(/^process_cpu_user_seconds_total\{/m);
    expect(value(metrics, 'shoal_raft_term', { node: 'm1', cluster: 'metrics' })).toBeGreaterThanOrEqual(1);
    expect(value(metrics, 'shoal_raft_leader')).toBe(1);
    expect(value(metrics, 'shoal_raft_commit_index')).toBeGreaterThan(0);
    expect(value(metrics, 'shoal_machine_actors')).toBeGreaterThanOrEqual(2); // raft and node
    expect((await fetch(node.metricsUrl!.replace('/metrics', '/nope'))).status).toBe(404);
  });

  it('counters and histograms move with writes, searches, messages and restarts', async () => {
    const before = (await scrape()).metrics;
    await node.api({ op: 'index.create', index: 'logs', settings: { number_of_shards: 2, number_of_replicas: 1 } } as never);
    await node.waitFor((s) => s.routing.logs?.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED')) ?? false, 'logs started', 20_000);
    await node.api({ op: 'doc.index', index: 'logs', id: 'a', document: { msg: 'hello' } } as never);
    await node.api({ op: 'doc.bulk', index: 'logs', refresh: true, operations: [{ index: { _id: 'b' } }, { msg: 'one' }, { index: { _id: 'c' } }, { msg: 'two' }, { delete: { _id: 'a' } }] } as never);
    for (let i = 0; i < 3; i++) await node.api({ op: 'search', index: 'logs', body: { query: { match: { msg: 'one' } } } } as never);
    await expect(node.api({ op: 'search', index: 'missing', body: {} } as never)).rejects.toBeTruthy();
    // A failing actor is restarted by its supervisor.
    const fragile = node.system.spawn('fragile', receive((_ctx, m) => {
      if (m === 'boom') throw new Error('boom');
      return m;
    }), { restart: 'permanent' });
    fragile.tell('boom');
    await waitUntil(async () => value((await scrape()).metrics, 'shoal_actor_restarts_total') > value(before, 'shoal_actor_restarts_total'), 'a restart counted');

    const after = (await scrape()).metrics;
    expect(value(after, 'shoal_index_requests_total', { op: 'doc.index', outcome: 'ok' })).toBe(1);
    expect(value(after, 'shoal_index_docs_total') - value(before, 'shoal_index_docs_total')).toBe(4); // 1 + a bulk of 3
    expect(value(after, 'shoal_index_duration_seconds_count', { op: 'doc.bulk' })).toBe(1);
    expect(value(after, 'shoal_search_duration_seconds_count', { op: 'search' })).toBe(4);
    expect(value(after, 'shoal_search_requests_total', { op: 'search', outcome: 'error' })).toBe(1);
    expect(value(after, 'shoal_search_duration_seconds_bucket', { op: 'search', le: '+Inf' })).toBe(4);
    expect(value(after, 'shoal_search_duration_seconds_sum', { op: 'search' })).toBeGreaterThan(0);
    expect(value(after, 'shoal_messages_sent_total', { scope: 'remote' })).toBeGreaterThan(value(before, 'shoal_messages_sent_total', { scope: 'remote' }));
    expect(value(after, 'shoal_messages_received_total', { scope: 'remote' })).toBeGreaterThan(value(before, 'shoal_messages_received_total', { scope: 'remote' }));
    expect(value(after, 'shoal_messages_sent_total', { scope: 'local' })).toBeGreaterThan(value(before, 'shoal_messages_sent_total', { scope: 'local' }));
    expect(value(after, 'shoal_raft_commit_index')).toBeGreaterThan(value(before, 'shoal_raft_commit_index'));
    expect(value(after, 'shoal_cluster_state_version')).toBeGreaterThan(value(before, 'shoal_cluster_state_version'));
    // Two shards with one replica each over two nodes: two copies here, all started.
    expect(value(after, 'shoal_shard_copies', { state: 'STARTED' })).toBe(2);
    expect(value(after, 'shoal_shard_copies', { state: 'INITIALIZING' })).toBe(0);
    expect(value(after, 'shoal_mailbox_depth')).toBeGreaterThanOrEqual(0);
  });
});
