import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_OPS, type ApiOp } from '../../protocols/api.ts';
import { startApiCluster, waitUntil, type ApiCluster, type RawReply } from '../support/api-cluster.ts';

type Any = Record<string, any>;
const LIMIT = 256 * 1024;
const MAX_IN_FLIGHT = 4;
const STATE_WAIT_MS = 400;

/** The error shape every failure must have: Elasticsearch's body, the status in the error header too. */
function expectError(r: RawReply, type: string, status: number) {
  expect(r.errorCode).toBe(String(status));
  expect(r.body).toEqual({ error: { type, reason: expect.any(String) }, status });
  expect(r.body.error.reason.length).toBeGreaterThan(0);
}

describe('NATS API in JSON over a real nats-server (3 in-process nodes)', () => {
  let c: ApiCluster;
  const covered = new Set<string>();
  const answeredBy = new Set<string>();
  /** A JSON request that must succeed; records which op was covered and which node answered. */
  const ok = async (op: ApiOp, body: Any = {}) => {
    const r = await c.raw(op, body);
    if (r.errorCode) throw new Error(`${op} failed: ${JSON.stringify(r.body)}`);
    expect(r.contentType).toBe('application/json');
    covered.add(op);
    answeredBy.add(r.node!);
    return r.body;
  };

  beforeAll(async () => {
    c = await startApiCluster({ cluster: 'c1', nodes: ['n1', 'n2', 'n3'], api: { maxPayloadBytes: LIMIT, maxInFlight: MAX_IN_FLIGHT, stateWaitMs: STATE_WAIT_MS } });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('discovers every node through $SRV PING, INFO and STATS with standard service tooling', async () => {
    const svc = new Svcm(c.nc as never).client();
    const pings = [];
    for await (const p of await svc.ping('shoal-c1')) pings.push(p);
    expect(pings.map((p) => p.metadata?.node).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const p of pings) expect(p).toMatchObject({ name: 'shoal-c1', version: '1.0.0', metadata: { cluster: 'c1', api_version: '1' } });

    const infos = [];
    for await (const i of await svc.info('shoal-c1')) infos.push(i);
    expect(infos).toHaveLength(3);
    for (const i of infos) {
      expect(i.description).toContain('c1');
      expect(i.endpoints).toEqual([{ name: 'api', subject: 'shoal.c1.api.>', queue_group: 'shoal-api', metadata: { api_version: '1', ops: API_OPS.join(',') } }]);
      expect(i.metadata).toMatchObject({ subject_prefix: 'shoal.c1.api.', max_payload_bytes: String(LIMIT), roles: 'master,data' });
    }

    // A plain request on the control subject, as `nats micro info` sends it.
    const one = JSON.parse((await c.nc.request(`$SRV.INFO.shoal-c1.${infos[0]!.id}`, '', { timeout: 2_000 })).string());
    expect(one).toMatchObject({ type: 'io.nats.micro.v1.info_response', id: infos[0]!.id, name: 'shoal-c1' });

    for (let i = 0; i < 12; i++) await ok('cluster.health');
    const stats = [];
    for await (const s of await svc.stats('shoal-c1')) stats.push(s);
    expect(stats).toHaveLength(3);
    const served = stats.map((s) => (s.endpoints![0]!.data as Any).ops['cluster.health']?.requests ?? 0);
    expect(served.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(12);
    expect(stats.reduce((a, s) => a + s.endpoints![0]!.num_requests, 0)).toBeGreaterThanOrEqual(12);
  });

  it('runs every operation in JSON through whichever node the queue group picks', async () => {
    expect(await ok('index.create', { index: 'books', settings: { number_of_shards: 2, number_of_replicas: 1 }, mappings: { properties: { title: { type: 'text' }, year: { type: 'long' } } } })).toMatchObject({ acknowledged: true, index: 'books' });
    expect(await ok('cluster.health', { wait_for_status: 'green', timeout_ms: 20_000 })).toMatchObject({ status: 'green', cluster_name: 'c1', number_of_nodes: 3 });
    expect(await ok('doc.index', { index: 'books', id: 'b1', document: { title: 'the quick brown fox', year: 1999 } })).toMatchObject({ _id: 'b1', result: 'created', _version: 1 });
    expect(await ok('doc.create', { index: 'books', id: 'b2', document: { title: 'quick thinking', year: 2010 } })).toMatchObject({ _id: 'b2', result: 'created' });
    expect(await ok('doc.get', { index: 'books', id: 'b1' })).toMatchObject({ found: true, _source: { title: 'the quick brown fox', year: 1999 } });
    expect(await ok('doc.update', { index: 'books', id: 'b1', body: { doc: { year: 2000 } } })).toMatchObject({ result: 'updated', _version: 2 });
    expect(await ok('doc.update', { index: 'books', id: 'b1', body: { script: { source: "if (ctx._source.year == params.y) { ctx.op = 'noop' }", params: { y: 2000 } } } })).toMatchObject({ result: 'noop', _version: 2 });
    const bulk = await ok('doc.bulk', { index: 'books', operations: [{ index: { _id: 'b3' } }, { title: 'lazy dogs', year: 2005 }, { delete: { _id: 'b2' } }, { update: { _id: 'b3' } }, { doc: { year: 2006 } }] });
    expect(bulk).toMatchObject({ errors: false });
    expect(bulk.items.map((i: Any) => Object.keys(i)[0])).toEqual(['index', 'delete', 'update']);
    expect((await ok('doc.mget', { index: 'books', body: { ids: ['b1', 'b2', 'b3'] } })).docs.map((d: Any) => d.found)).toEqual([true, false, true]);
    expect(await ok('index.refresh', { index: 'books' })).toMatchObject({ _shards: { failed: 0 } });
    expect(await ok('index.flush', { index: 'books' })).toMatchObject({ _shards: { failed: 0 } });
    expect(await ok('index.forcemerge', { index: 'books', max_num_segments: 1 })).toMatchObject({ _shards: { failed: 0 } });
    expect((await ok('index.stats', { index: 'books' })).indices.books.primaries.docs).toEqual({ count: 2, deleted: 0 });
    expect(Object.keys(await ok('index.get', { index: 'books' }))).toEqual(['books']);
    expect(await ok('index.exists', { index: 'books' })).toEqual({ exists: true });
    expect((await ok('field_caps', { index: 'books', fields: 'title' })).fields.title.text.aggregatable).toBe(false);
    const found = await ok('search', { index: 'books', body: { query: { match: { title: 'quick' } } } });
    expect(found.hits.hits.map((h: Any) => h._id)).toEqual(['b1']);
    expect(found._shards).toMatchObject({ total: 2, successful: 2 });
    expect(await ok('count', { index: 'books', body: { query: { range: { year: { gte: 2000 } } } } })).toMatchObject({ count: 2 });
    const multi = await ok('msearch', { searches: [{ index: 'books', body: { query: { match: { title: 'quick' } } } }, { index: 'books', body: { size: 0 } }] });
    expect(multi.responses.map((r: Any) => r.hits.total.value)).toEqual([1, 2]);
    const { id: pitId } = await ok('pit.open', { index: 'books', keep_alive: '1m' });
    expect((await ok('search', { body: { pit: { id: pitId }, size: 0, track_total_hits: true } })).hits.total.value).toBe(2);
    expect(await ok('pit.close', { id: pitId })).toEqual({ succeeded: true, num_freed: 2 });
    expect(await ok('reindex', { body: { source: { index: 'books' }, dest: { index: 'books-copy' } }, refresh: true })).toMatchObject({ created: 2, failures: [] });
    expect(await ok('index.delete', { index: 'books-copy' })).toEqual({ acknowledged: true });
    expect(await ok('doc.delete', { index: 'books', id: 'b3', refresh: true })).toMatchObject({ result: 'deleted' });
    await ok('doc.index', { index: 'books', id: 'b9', document: { title: 'to be deleted' }, refresh: true });
    expect(await ok('doc.delete_by_query', { index: 'books', body: { query: { match: { title: 'deleted' } } }, conflicts: 'proceed' })).toMatchObject({ deleted: 1, version_conflicts: 0 });
    expect(await ok('doc.update_by_query', { index: 'books', body: { query: { match_all: {} }, max_docs: 1 }, refresh: true })).toMatchObject({ updated: 1, version_conflicts: 0, failures: [] });
    expect((await ok('count', { index: 'books' })).count).toBe(1);
    expect((await ok('cat.nodes')).map((n: Any) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(await ok('cat.indices')).toEqual([expect.objectContaining({ index: 'books', pri: 2, rep: 1 })]);
    expect(await ok('index.update_aliases', { actions: [{ add: { index: 'books', alias: 'library' } }] })).toEqual({ acknowledged: true });
    expect(await ok('cat.aliases')).toEqual([{ alias: 'library', index: 'books', is_write_index: true }]);
    expect(await ok('cluster.put_settings', { persistent: { 'cluster.routing.allocation.exclude._name': 'nobody' } })).toEqual({ acknowledged: true, persistent: { 'cluster.routing.allocation.exclude._name': 'nobody' }, transient: {} });
    expect(await ok('cluster.get_settings')).toEqual({ persistent: { 'cluster.routing.allocation.exclude._name': 'nobody' }, transient: {} });
    expect(await ok('cluster.put_settings', { persistent: { cluster: { routing: { allocation: { exclude: { _name: null } } } } } })).toMatchObject({ persistent: { 'cluster.routing.allocation.exclude._name': null } });
    expect(await ok('cluster.allocation_explain', { index: 'books', shard: 0, primary: true })).toMatchObject({ index: 'books', shard: 0, primary: true, can_remain_on_current_node: 'yes' });
    expect(await ok('doc.explain', { index: 'books', id: 'b1', body: { query: { match_all: {} } } })).toMatchObject({ matched: true, explanation: { value: 1 } });
    expect(await ok('index.validate_query', { index: 'books', body: { query: { range: { year: { gte: 1950 } } } } })).toMatchObject({ valid: true, _shards: { total: 2, failed: 0 } });
    // Malformed (the coordinating node sees it) and wrong for the mapping (the shards do): not valid, and why.
    expect(await ok('index.validate_query', { index: 'books', body: { query: { match: { title: { query: 'x', operator: 'maybe' } } } } })).toMatchObject({ valid: false });
    const invalid = await ok('index.validate_query', { index: 'books', body: { query: { range: { year: { gte: 'long ago' } } } }, explain: true });
    expect(invalid).toMatchObject({ valid: false, explanations: [{ index: 'books', valid: false }] });
    expect(invalid.explanations[0].error).toMatch(/^\[books\] \w+_exception: /);
    expect((await ok('index.analyze', { index: 'books', body: { field: 'title', text: 'Two Towers' } })).tokens.map((t: Any) => t.token)).toEqual(['two', 'towers']);
    expect((await ok('index.analyze', { body: { analyzer: 'english', text: 'running' } })).tokens[0].token).toBe('run');
    expect(await ok('index.put_settings', { index: 'books', body: { index: { refresh_interval: '2s' } } })).toEqual({ acknowledged: true });
    expect((await ok('index.get_settings', { index: 'books' })).books.settings.index.refresh_interval).toBe('2000ms');
    expect(await ok('index.put_template', { name: 'tpl', body: { index_patterns: ['tpl-*'], template: { settings: { number_of_replicas: 0 } } } })).toEqual({ acknowledged: true });
    expect((await ok('index.get_template', { name: 'tpl' })).index_templates[0].name).toBe('tpl');
    expect(await ok('index.delete_template', { name: 'tpl' })).toEqual({ acknowledged: true });
    expect(await ok('index.put_component_template', { name: 'ct', body: { template: { settings: { number_of_replicas: 0 } } } })).toEqual({ acknowledged: true });
    expect((await ok('index.get_component_template', { name: 'ct' })).component_templates[0].name).toBe('ct');
    expect(await ok('index.simulate_index', { name: 'nothing-matches' })).toEqual({});
    expect(await ok('index.delete_component_template', { name: 'ct' })).toEqual({ acknowledged: true });
    expect(await ok('script.put', { id: 'tpl1', body: { script: { lang: 'mustache', source: '{"query":{"match":{"title":"{{q}}"}}}' } } })).toEqual({ acknowledged: true });
    expect((await ok('script.get', { id: 'tpl1' })).found).toBe(true);
    expect((await ok('render_template', { body: { id: 'tpl1', params: { q: 'fox' } } })).template_output).toEqual({ query: { match: { title: 'fox' } } });
    expect((await ok('search_template', { index: 'books', body: { id: 'tpl1', params: { q: 'quick' } } })).hits).toBeDefined();
    expect(await ok('script.delete', { id: 'tpl1' })).toEqual({ acknowledged: true });
    expect(await ok('index.put_mapping', { index: 'library', body: { properties: { isbn: { type: 'keyword' } } } })).toEqual({ acknowledged: true });
    expect((await ok('index.get_mapping', { index: 'books' })).books.mappings.properties.isbn).toEqual({ type: 'keyword' });
    expect((await ok('cat.shards')).filter((s: Any) => s.index === 'books')).toHaveLength(4);
    const state = await ok('cluster.state');
    expect(Object.keys(state.indices)).toEqual(['books']);
    expect(Object.keys(state.nodes).sort()).toEqual(['n1', 'n2', 'n3']);
    const stats = await ok('shard.stats', { index: 'books' });
    expect(stats).toHaveLength(4);
    expect(await ok('index.set_replicas', { index: 'books', number_of_replicas: 2 })).toEqual({ acknowledged: true });
    expect(await ok('index.close', { index: 'books' })).toEqual({ acknowledged: true });
    expect((await ok('cat.indices'))[0]).toMatchObject({ status: 'close' });
    expect(await ok('index.open', { index: 'books' })).toEqual({ acknowledged: true });
    await ok('cluster.health', { index: 'books', wait_for_status: 'yellow', timeout_ms: 20_000 });
    expect((await ok('doc.get', { index: 'books', id: 'b1' })).found).toBe(true);
    expect(await ok('index.delete', { index: 'books' })).toEqual({ acknowledged: true });
    expect(await ok('cat.indices')).toEqual([]);

    expect([...covered].sort()).toEqual([...API_OPS].sort());
    // One queue group: the requests were spread over the nodes (3^-40 odds that one node got all).
    expect(answeredBy.size).toBeGreaterThan(1);
  });

  it('lets a client read its writes on every node: replies carry the state version, requests wait for it', async () => {
    const created = await c.raw('index.create', { index: 'ryw', settings: { number_of_shards: 1, number_of_replicas: 0 } });
    expect(created.errorCode).toBeUndefined();
    const v = created.stateVersion!;
    expect(v).toBeGreaterThan(0);
    // Every node answers a request carrying v only once it has applied v: the new index is known everywhere.
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) {
      const r = await c.raw('cat.indices', {}, { headers: { 'Shoal-Min-State-Version': String(v) } });
      seen.add(r.node!);
      expect(r.stateVersion).toBeGreaterThanOrEqual(v);
      expect(r.body.map((x: Any) => x.index)).toContain('ryw');
    }
    expect(seen.size).toBeGreaterThan(1);
    // A version no node has: the wait is bounded, then the node answers with what it has.
    const started = Date.now();
    const ahead = await c.raw('cluster.health', {}, { session: false, headers: { 'Shoal-Min-State-Version': String(v + 1_000_000) } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(STATE_WAIT_MS - 50);
    expect(ahead.errorCode).toBeUndefined();
    expect(ahead.stateVersion).toBeLessThan(v + 1_000_000);
    expectError(await c.raw('cluster.health', {}, { session: false, headers: { 'Shoal-Min-State-Version': 'soon' } }), 'illegal_argument_exception', 400);
    expect((await c.raw('index.delete', { index: 'ryw' })).errorCode).toBeUndefined();
  });

  it('treats a body starting with { as JSON without a header, and anything else as msgpack', async () => {
    const noHeader = await c.nc.request('shoal.c1.api.cluster.health', Buffer.from('{"timeout_ms": 1000}'), { timeout: 5_000 });
    expect(noHeader.headers?.get('Content-Type')).toBe('application/json');
    expect(JSON.parse(noHeader.string())).toMatchObject({ cluster_name: 'c1' });
    const mp = await c.raw('cluster.health', { timeout_ms: 1000 }, { encoding: 'msgpack' });
    expect(mp.contentType).toBe('application/msgpack');
    expect(mp.body).toMatchObject({ cluster_name: 'c1' });
    const empty = await c.raw('cat.nodes', new Uint8Array(0), { encoding: 'bytes' });
    expect(empty.contentType).toBe('application/msgpack');
    expect(empty.body).toHaveLength(3);
  });

  it('answers every kind of bad request with an Elasticsearch-shaped error and an error header', async () => {
    await c.raw('index.create', { index: 'errs', settings: { number_of_shards: 1, number_of_replicas: 0 } });
    await c.raw('doc.index', { index: 'errs', id: 'e1', document: { n: 1 }, refresh: true });
    expectError(await c.raw('nope.nothing', {}), 'invalid_operation_exception', 400);
    expectError(await c.raw('doc.get', { index: 'errs', id: 'e1', colour: 'red' }), 'illegal_argument_exception', 400);
    expectError(await c.raw('doc.get', { index: 'errs', id: 42 }), 'illegal_argument_exception', 400);
    expectError(await c.raw('doc.get', { index: 'errs' }), 'action_request_validation_exception', 400);
    expectError(await c.raw('doc.index', { index: 'errs', id: 'e2', document: 'not an object' }), 'illegal_argument_exception', 400);
    expectError(await c.raw('search', { index: 'errs', body: { size: 20_000 } }), 'illegal_argument_exception', 400);
    expectError(await c.raw('doc.get', '{"index": "errs", "id": '), 'parse_exception', 400);
    expectError(await c.raw('doc.get', '[1, 2]'), 'parse_exception', 400);
    expectError(await c.raw('doc.get', new Uint8Array([0x81, 0xa1, 0x61]), { encoding: 'bytes' }), 'parse_exception', 400);
    expectError(await c.raw('doc.index', { index: 'errs', id: 'e3', document: { when: new Date(0) } }, { encoding: 'msgpack' }), 'parse_exception', 400);
    expectError(await c.raw('doc.index', { index: 'errs', id: 'e3', document: { x: NaN } }, { encoding: 'msgpack' }), 'parse_exception', 400);
    expectError(await c.raw('doc.get', { index: 'missing', id: 'x' }), 'index_not_found_exception', 404);
    expectError(await c.raw('doc.create', { index: 'errs', id: 'e1', document: { n: 2 } }), 'version_conflict_engine_exception', 409);
    expectError(await c.raw('doc.index', { index: 'errs', id: 'e1', document: { n: 3 }, if_seq_no: 99, if_primary_term: 1 }), 'version_conflict_engine_exception', 409);
    expectError(await c.raw('search', { index: 'errs', body: { query: { no_such_query: {} } } }), expect.any(String) as never, 400);
    expectError(await c.raw('doc.delete_by_query', { body: { query: { match_all: {} } } }), 'action_request_validation_exception', 400);
    expectError(await c.raw('doc.delete_by_query', { index: 'errs', conflicts: 'maybe' }), 'illegal_argument_exception', 400);
    const badScript = await c.raw('doc.update_by_query', { index: 'errs', body: { script: { source: 'x' } } });
    expect(badScript.errorCode).toBe('400');
    expect(badScript.body).toMatchObject({ error: { type: 'script_exception', reason: expect.stringMatching(/^compile error: cannot resolve symbol \[x\]/), script_stack: expect.any(Array), caused_by: { type: 'illegal_argument_exception' } }, status: 400 });
    expectError(await c.raw('doc.update', { index: 'errs', id: 'e1', body: { doc: { n: 1 }, script: 'ctx._source.n = 1' } }), 'action_request_validation_exception', 400);
    expectError(await c.raw('doc.update', { index: 'errs', id: 'e1', body: { script: 5 } }), 'illegal_argument_exception', 400);
    expectError(await c.raw('msearch', { searches: [] }), 'illegal_argument_exception', 400);
    expectError(await c.raw('msearch', { searches: [{ index: 'errs', size: 1 }] }), 'illegal_argument_exception', 400);
    expectError(await c.raw('msearch', { searches: [{ index: 'errs', body: 'match_all' }] }), 'illegal_argument_exception', 400);
    expectError(await c.raw('msearch', { searches: Array.from({ length: 101 }, () => ({ index: 'errs' })) }), 'illegal_argument_exception', 400);
    // msgpack errors come back in msgpack.
    const mp = await c.raw('doc.get', { index: 'errs', id: 42 }, { encoding: 'msgpack' });
    expect(mp.contentType).toBe('application/msgpack');
    expectError(mp, 'illegal_argument_exception', 400);
    // Nothing of the above changed the data.
    const doc = await c.raw('doc.get', { index: 'errs', id: 'e1' });
    expect(doc.body).toMatchObject({ found: true, _version: 1, _source: { n: 1 } });
    expect((await c.raw('count', { index: 'errs' })).body.count).toBe(1);
    expect((await c.raw('cat.indices', {})).body.map((i: Any) => i.index)).toEqual(['errs']);
  });

  it(`rejects a request over the payload limit (${LIMIT} bytes) with 413 and writes nothing`, async () => {
    const big = { index: 'errs', id: 'big', document: { text: 'x'.repeat(LIMIT) } };
    const r = await c.raw('doc.index', big);
    expectError(r, 'payload_too_large', 413);
    expect(r.body.error.reason).toContain(String(LIMIT));
    expectError(await c.raw('doc.index', big, { encoding: 'msgpack' }), 'payload_too_large', 413);
    expect((await c.raw('doc.get', { index: 'errs', id: 'big' })).body.found).toBe(false);
    // Just under the limit is fine.
    const fits = await c.raw('doc.index', { index: 'errs', id: 'fits', document: { text: 'x'.repeat(LIMIT - 200) } });
    expect(fits.errorCode).toBeUndefined();
    expect(fits.body.result).toBe('created');
  });

  it(`answers 429 beyond ${MAX_IN_FLIGHT} requests in flight per node, without executing them`, async () => {
    // Health waits on an index that cannot turn green hold their slot for timeout_ms.
    expect((await c.raw('index.create', { index: 'busy', settings: { number_of_shards: 1, number_of_replicas: 5 } })).errorCode).toBeUndefined();
    const replies = await Promise.all(Array.from({ length: 40 }, () => c.raw('cluster.health', { index: 'busy', wait_for_status: 'green', timeout_ms: 400 })));
    const rejected = replies.filter((r) => r.status === 429);
    const waited = replies.filter((r) => r.status === 200);
    expect(rejected.length + waited.length).toBe(40);
    expect(waited.length).toBeLessThanOrEqual(3 * MAX_IN_FLIGHT);
    expect(waited.length).toBeGreaterThan(0);
    for (const r of rejected) expectError(r, 'es_rejected_execution_exception', 429);
    for (const r of waited) expect(r.body).toMatchObject({ timed_out: true, status: 'yellow' });
    // The slots are free again.
    expect((await c.raw('cluster.health', { index: 'busy' })).status).toBe(200);
    expect((await c.raw('index.delete', { index: 'busy' })).status).toBe(200);
  });

  it('keeps serving through the other nodes when one node stops, and $SRV shows it gone', async () => {
    const victim = [...c.nodes.values()].find((n) => n.state.master?.id !== n.info.id)!;
    await victim.shutdown();
    const svc = new Svcm(c.nc as never).client();
    await waitUntil(async () => {
      const left = [];
      for await (const p of await svc.ping('shoal-c1')) left.push(p.metadata?.node);
      return left.length === 2 && !left.includes(victim.info.id);
    }, 'two nodes answering PING');
    const nodesSeen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await c.raw('cat.nodes', {});
      expect(r.errorCode).toBeUndefined();
      nodesSeen.add(r.node!);
    }
    expect(nodesSeen.has(victim.info.id)).toBe(false);
  });
});
