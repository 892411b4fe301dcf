import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_OPS } from '../../protocols/api.ts';
import { ShoalApiError, ShoalClient } from '../../src/client/index.ts';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { startApiCluster, type ApiCluster } from '../support/api-cluster.ts';

type Any = Record<string, any>;

describe('TypeScript client (msgpack) against 3 in-process nodes on a real nats-server', () => {
  let c: ApiCluster;
  let client: ShoalClient;
  const seen = new Set<string>();

  beforeAll(async () => {
    c = await startApiCluster({ cluster: 'c2', nodes: ['n1', 'n2', 'n3'] });
    client = await ShoalClient.connect({ servers: c.url, cluster: 'c2' });
    // Record which ops the tests below send (every one must be covered).
    const request = client.request.bind(client);
    client.request = ((op: string, params: never, o: never) => (seen.add(op), request(op as never, params, o))) as typeof client.request;
  });
  afterAll(async () => {
    await client?.close();
    await c?.stop();
  });

  it('covers every operation with typed methods over msgpack', async () => {
    expect(await client.indices.create({ index: 'films', settings: { number_of_shards: 3, number_of_replicas: 1 }, mappings: { properties: { title: { type: 'text' }, year: { type: 'long' }, genre: { type: 'keyword' } } } })).toMatchObject({ acknowledged: true, index: 'films' });
    expect(await client.cluster.health({ wait_for_status: 'green', timeout_ms: 20_000 })).toMatchObject({ status: 'green', cluster_name: 'c2' });
    // Green can come while rebalancing still moves a copy; counts on a copy that started after the
    // refresh below could lag, so wait for the settled routing first.
    await c.nodes.get('n1')!.waitFor((st) => st.routing.films!.every((t) => t.copies.length === 2 && t.copies.every((x) => x.state === 'STARTED')), 'all film copies started', 20_000);
    expect(await client.index({ index: 'films', id: 'f1', document: { title: 'Alien', year: 1979, genre: 'scifi' } })).toMatchObject({ result: 'created', _id: 'f1' });
    const generated = await client.index({ index: 'films', document: { title: 'Heat', year: 1995, genre: 'crime' } });
    expect(generated._id).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(await client.create({ index: 'films', id: 'f2', document: { title: 'Aliens', year: 1986, genre: 'scifi' } })).toMatchObject({ result: 'created' });
    const got = await client.get<{ title: string; year: number }>({ index: 'films', id: 'f1' });
    expect(got.found).toBe(true);
    expect(got._source!.title).toBe('Alien');
    expect(await client.update({ index: 'films', id: 'f2', body: { doc: { year: 1987 } } })).toMatchObject({ result: 'updated', _version: 2 });
    expect(await client.update({ index: 'films', id: 'f2', body: { doc: { year: 1987 } } })).toMatchObject({ result: 'noop' });
    // A scripted update: run on the primary; a script that decides on noop writes nothing.
    expect(await client.update({ index: 'films', id: 'f2', body: { script: { source: "if (ctx._source.year == params.y) { ctx.op = 'noop' } else { ctx._source.year = params.y }", params: { y: 1987 } } } })).toMatchObject({ result: 'noop', _version: 2 });
    expect(await client.update({ index: 'films', id: 'f2', body: { script: { source: 'ctx._source.year -= params.n', params: { n: 1 } } } })).toMatchObject({ result: 'updated', _version: 3 });
    const bulk = await client.bulk({ index: 'films', refresh: true, operations: [{ index: { _id: 'f3' } }, { title: 'Blade Runner', year: 1982, genre: 'scifi' }, { delete: { _id: generated._id } }] });
    expect(bulk.errors).toBe(false);
    expect((await client.mget({ index: 'films', body: { ids: ['f1', 'f3', generated._id] } })).docs.map((d) => (d as Any).found)).toEqual([true, true, false]);
    await client.indices.refresh({ index: 'films' });
    expect((await client.indices.flush({ index: 'films' }))._shards.failed).toBe(0);
    expect((await client.indices.forcemerge({ index: 'films', only_expunge_deletes: true }))._shards.failed).toBe(0);
    expect((await client.indices.stats({ index: 'films' })).indices.films!.primaries.docs).toEqual({ count: 3, deleted: 0 });
    expect(Object.keys(await client.indices.get({ index: 'films' }))).toEqual(['films']);
    expect(await client.indices.exists({ index: 'nope' })).toEqual({ exists: false });
    expect(Object.keys((await client.indices.fieldCaps({ index: 'films', fields: 'genre' })).fields)).toEqual(['genre']);
    const res = await client.search<{ title: string }>({ index: 'films', body: { query: { term: { genre: 'scifi' } }, sort: [{ year: 'asc' }], aggs: { g: { terms: { field: 'genre' } } } } });
    expect(res.hits.hits.map((h) => h._source!.title)).toEqual(['Alien', 'Blade Runner', 'Aliens']);
    expect(res.hits.total).toEqual({ value: 3, relation: 'eq' });
    expect((await client.count({ index: 'films' })).count).toBe(3);
    const multi = await client.msearch<{ title: string }>({ searches: [{ index: 'films', body: { query: { match: { title: 'alien' } } } }, { index: 'nope' }] });
    expect((multi.responses[0] as { hits: { hits: { _source?: { title: string } }[] } }).hits.hits.map((h) => h._source!.title)).toEqual(['Alien']);
    expect(multi.responses[1]).toMatchObject({ status: 404, error: { type: 'index_not_found_exception' } });
    const { id } = await client.openPointInTime({ index: 'films', keep_alive: '30s' });
    expect((await client.search({ body: { pit: { id }, size: 0, track_total_hits: true } })).hits.total.value).toBe(3);
    expect(await client.closePointInTime({ id })).toMatchObject({ succeeded: true });
    expect(await client.reindex({ body: { source: { index: 'films', query: { term: { genre: 'scifi' } } }, dest: { index: 'scifi' } }, refresh: true })).toMatchObject({ created: 3, failures: [] });
    await client.indices.delete({ index: 'scifi' });
    expect(await client.delete({ index: 'films', id: 'f3', refresh: true })).toMatchObject({ result: 'deleted' });
    expect((await client.count({ index: 'films' })).count).toBe(2);
    expect(await client.deleteByQuery({ index: 'films', body: { query: { term: { genre: 'nope' } } } })).toMatchObject({ deleted: 0, failures: [] });
    expect(await client.updateByQuery({ index: 'films', body: { query: { term: { genre: 'scifi' } } }, refresh: true })).toMatchObject({ updated: 2, failures: [] });
    expect((await client.cat.nodes()).map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(await client.cat.indices()).toEqual([expect.objectContaining({ index: 'films', pri: 3, rep: 1, status: 'open' })]);
    expect((await client.cat.shards()).filter((s) => s.prirep === 'p')).toHaveLength(3);
    expect(await client.explain({ index: 'films', id: 'f1', body: { query: { term: { genre: 'scifi' } } } })).toMatchObject({ matched: true });
    expect(await client.indices.validateQuery({ index: 'films', body: { query: { term: { genre: 'scifi' } } } })).toMatchObject({ valid: true });
    expect((await client.indices.analyze({ index: 'films', body: { tokenizer: 'whitespace', filter: ['lowercase'], text: 'Blade Runner' } })).tokens!.map((t) => t.token)).toEqual(['blade', 'runner']);
    expect(await client.indices.putSettings({ index: 'films', body: { 'index.unassigned.node_left.delayed_timeout': '2m' } })).toEqual({ acknowledged: true });
    expect((await client.indices.getSettings({ index: 'films' })).films!.settings.index.unassigned).toEqual({ node_left: { delayed_timeout: '120000ms' } });
    expect(await client.indices.putTemplate({ name: 'tpl', body: { index_patterns: 'tpl-*', priority: 1 } })).toEqual({ acknowledged: true });
    expect((await client.indices.getTemplate()).index_templates.map((t) => t.name)).toEqual(['tpl']);
    expect(await client.indices.deleteTemplate({ name: 'tpl' })).toEqual({ acknowledged: true });
    expect(await client.indices.putComponentTemplate({ name: 'ct', body: { template: { settings: { number_of_replicas: 0 } } } })).toEqual({ acknowledged: true });
    expect(await client.indices.putTemplate({ name: 'tpl2', body: { index_patterns: 'tpl2-*', composed_of: ['ct'] } })).toEqual({ acknowledged: true });
    expect((await client.indices.simulateIndex({ name: 'tpl2-a' })).template?.settings.index).toMatchObject({ number_of_replicas: '0' });
    expect((await client.indices.getComponentTemplate()).component_templates.map((t) => t.name)).toEqual(['ct']);
    expect(await client.indices.deleteTemplate({ name: 'tpl2' })).toEqual({ acknowledged: true });
    expect(await client.indices.deleteComponentTemplate({ name: 'ct' })).toEqual({ acknowledged: true });
    expect(await client.scripts.put({ id: 'n2', body: { script: { lang: 'painless', source: "doc['year'].value * 2" } } })).toEqual({ acknowledged: true });
    expect(await client.scripts.get({ id: 'n2' })).toMatchObject({ found: true });
    expect((await client.renderTemplate({ body: { source: '{"size":{{n}}}', params: { n: 1 } } })).template_output).toEqual({ size: 1 });
    expect((await client.searchTemplate({ index: 'films', body: { source: { query: { match_all: {} } } } })).hits.total.value).toBeGreaterThan(0);
    expect(await client.scripts.delete({ id: 'n2' })).toEqual({ acknowledged: true });
    expect(await client.indices.putMapping({ index: 'films', body: { properties: { rating: { type: 'double' } } } })).toEqual({ acknowledged: true });
    expect((await client.indices.getMapping({ index: 'films' })).films!.mappings.properties.rating).toEqual({ type: 'double' });
    expect(await client.indices.updateAliases({ actions: [{ add: { index: 'films', alias: 'movies' } }] })).toEqual({ acknowledged: true });
    expect((await client.cluster.putSettings({ persistent: { 'cluster.routing.allocation.awareness.attributes': 'zone' } })).acknowledged).toBe(true);
    expect((await client.cluster.getSettings()).persistent).toEqual({ 'cluster.routing.allocation.awareness.attributes': 'zone' });
    await client.cluster.putSettings({ persistent: { 'cluster.routing.allocation.awareness.attributes': null } });
    expect(await client.cluster.allocationExplain({ index: 'films', shard: 1, primary: true })).toMatchObject({ current_state: expect.any(String), can_remain_on_current_node: 'yes' });
    expect(await client.cat.aliases()).toEqual([{ alias: 'movies', index: 'films', is_write_index: true }]);
    expect((await client.count({ index: 'movies' })).count).toBe(2);
    const state = await client.cluster.state();
    expect(state.indices.films?.settings.number_of_shards).toBe(3);
    expect((await client.indices.shardStats({ index: 'films' })).length).toBeGreaterThanOrEqual(3);
    expect(await client.indices.setReplicas({ index: 'films', number_of_replicas: 0 })).toEqual({ acknowledged: true });
    expect(await client.indices.close({ index: 'films' })).toEqual({ acknowledged: true });
    expect(await client.indices.open({ index: 'films' })).toEqual({ acknowledged: true });
    await client.cluster.health({ index: 'films', wait_for_status: 'green', timeout_ms: 20_000 });
    expect((await client.get({ index: 'films', id: 'f1' })).found).toBe(true);
    expect(await client.indices.delete({ index: 'films' })).toEqual({ acknowledged: true });
    expect([...seen].sort()).toEqual([...API_OPS].sort());
  });

  it('throws ShoalApiError with the type, reason and status the cluster answered', async () => {
    const err = await client.get({ index: 'nope', id: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(ShoalApiError);
    expect(err).toMatchObject({ type: 'index_not_found_exception', status: 404, op: 'doc.get', isNotFound: true });
    expect(err.reason).toContain('nope');
    expect(['n1', 'n2', 'n3']).toContain(err.node);
    expect(err.toJSON()).toEqual({ error: { type: 'index_not_found_exception', reason: err.reason }, status: 404 });
    await client.index({ index: 'dups', id: 'd', document: { a: 1 } });
    await expect(client.create({ index: 'dups', id: 'd', document: { a: 2 } })).rejects.toMatchObject({ type: 'version_conflict_engine_exception', status: 409, isConflict: true, attempts: 1 });
    // Unknown fields are refused by the server even when the types would let them through.
    await expect(client.request('doc.get', { index: 'dups', id: 'd', extra: 1 } as never)).rejects.toMatchObject({ type: 'illegal_argument_exception', status: 400 });
    // A script that does not compile: Elasticsearch's extra fields (script_stack, position, caused_by) come through.
    const script = await client.search({ index: 'dups', body: { query: { script: { script: 'doc[' } } } }).catch((e) => e);
    expect(script).toMatchObject({ type: 'script_exception', status: 400, details: { lang: 'painless', script: 'doc[', position: { offset: 4 } } });
    expect(script.details.script_stack).toEqual(['doc[', '    ^---- HERE']);
    expect(script.toJSON().error).toMatchObject({ type: 'script_exception', caused_by: { type: 'illegal_argument_exception' } });
  });

  it('refuses a request larger than the NATS max_payload before sending it', async () => {
    const err = await client.index({ index: 'dups', id: 'huge', document: { s: 'x'.repeat(client.maxPayload + 1) } }).catch((e) => e);
    expect(err).toMatchObject({ type: 'payload_too_large', status: 413 });
    expect((await client.get({ index: 'dups', id: 'huge' })).found).toBe(false);
  });

  it('answers response_too_large_exception when a reply would exceed the NATS max_payload', async () => {
    // Each document (and each internal message) fits; four of them in one mget reply do not.
    const chunk = Math.floor(client.maxPayload * 0.3);
    const ids = ['a', 'b', 'c', 'd'];
    for (const id of ids) await client.index({ index: 'fat', id, document: { blob: id.repeat(chunk) } });
    const err = await client.mget({ index: 'fat', body: { ids } }).catch((e) => e);
    expect(err).toMatchObject({ type: 'response_too_large_exception', status: 500, op: 'doc.mget' });
    // Asking for less works.
    const two = await client.mget({ index: 'fat', body: { ids: ['a', 'b'] } });
    expect(two.docs.map((d) => (d as Any).found)).toEqual([true, true]);
  });

  it('retries a timed-out read, but not a timed-out create (it may have been applied)', async () => {
    // A real timeout: health waiting for green on an index that cannot be green (more replicas than nodes).
    await client.indices.create({ index: 'never-green', settings: { number_of_shards: 1, number_of_replicas: 5 } });
    const started = Date.now();
    const read = await client.cluster.health({ index: 'never-green', wait_for_status: 'green', timeout_ms: 60_000 }, { timeoutMs: 500 }).catch((e) => e);
    expect(read).toMatchObject({ type: 'timeout', status: 504, attempts: 4 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 500);
    // index.create waits for all copies to start: it times out on the client, and is applied anyway.
    const write = await client.indices.create({ index: 'slow', settings: { number_of_shards: 1, number_of_replicas: 5 }, wait_for_active_shards: 'all', timeout_ms: 3_000 }, { timeoutMs: 800 }).catch((e) => e);
    expect(write).toMatchObject({ type: 'timeout', attempts: 1 });
    expect((await client.cat.indices()).map((i) => i.index)).toContain('slow');
  });

  it('retries on no responders until a node serves the API', async () => {
    const none = await ShoalClient.connect({ servers: c.url, cluster: 'nobody', maxAttempts: 3, retryBackoffMs: 10 });
    try {
      await expect(none.cluster.health()).rejects.toMatchObject({ type: 'no_responders', status: 503, attempts: 3 });
    } finally {
      await none.close();
    }
    // A write to a cluster whose only node is still starting: nothing received it, so even a non-idempotent create is retried.
    const late = await ShoalClient.connect({ servers: c.url, cluster: 'late', maxAttempts: 30, retryBackoffMs: 50, timeoutMs: 20_000 });
    const dataDir = mkdtempSync(join(tmpdir(), 'shoal-late-'));
    let node: ShoalNode | undefined;
    try {
      const pending = late.create({ index: 'x', id: '1', document: { ok: true } });
      node = await ShoalNode.start({ nodeId: 'solo', cluster: 'late', nats: { servers: c.url }, dataDir, masters: ['solo'], logLevel: 'silent' });
      expect(await pending).toMatchObject({ result: 'created' });
      expect(await late.get({ index: 'x', id: '1' })).toMatchObject({ found: true, _source: { ok: true } });
    } finally {
      await late.close();
      await node?.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('bulk-indexes many documents in batches with progress, and reports rejected documents', async () => {
    await client.indices.create({ index: 'logs', settings: { number_of_shards: 2, number_of_replicas: 1 }, mappings: { properties: { n: { type: 'long' }, msg: { type: 'text' } } } });
    const docs = Array.from({ length: 5_000 }, (_, i) => ({ n: i, msg: `line ${i} ${i % 7 === 0 ? 'seven' : 'other'}` }));
    docs[1234] = { n: 'not a number' as never, msg: 'bad' };
    const progress: Any[] = [];
    const dropped: Any[] = [];
    async function* source() {
      for (const d of docs) yield d;
    }
    const result = await client.helpers.bulk({
      datasource: source(),
      index: 'logs',
      id: (d) => `l${String(d.n)}`,
      batchSize: 600,
      concurrency: 3,
      refresh: true,
      onProgress: (p) => progress.push(p),
      onDrop: (d) => dropped.push(d),
    });
    expect(result).toMatchObject({ total: 5_000, sent: 5_000, successful: 4_999, failed: 1, batches: 9 });
    expect(progress).toHaveLength(9);
    expect(progress.map((p) => p.sent)).toEqual([...progress.map((p) => p.sent)].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ sent: 5_000, successful: 4_999, failed: 1 });
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ document: { msg: 'bad' }, status: 400 });
    expect((await client.count({ index: 'logs' })).count).toBe(4_999);
    expect((await client.count({ index: 'logs', body: { query: { match: { msg: 'seven' } } } })).count).toBe(715);

    // Byte-bounded batches: 200 documents of ~2 KB with a 64 KiB flush size need several batches.
    const big = await client.helpers.bulk({ datasource: Array.from({ length: 200 }, (_, i) => ({ n: i, msg: 'y'.repeat(2_000) })), index: 'logs-big', flushBytes: 64 * 1024 });
    expect(big.successful).toBe(200);
    expect(big.batches).toBeGreaterThanOrEqual(7);
    expect(big.bytes).toBeGreaterThan(200 * 2_000);
  });
});
