import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDICES_PATH, shardActorName } from '../../src/data/indices-service.ts';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';

type Any = Record<string, any>;

describe('scripts that change documents, in a cluster over a real nats-server', () => {
  let server: NatsServerHandle;
  let dataDir: string;
  const nodes = new Map<string, ShoalNode>();
  const masters = ['n1', 'n2', 'n3'];
  const any = () => [...nodes.values()][0]!;
  const api = (req: Any, node = any()) => node.api(req as never) as Promise<Any>;
  const createSettled = async (index: string, shards: number, replicas: number, mappings: Any) => {
    await api({ op: 'index.create', index, settings: { number_of_shards: shards, number_of_replicas: replicas }, mappings });
    expect(await api({ op: 'cluster.health', index, wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green' });
    await any().waitFor((st) => st.routing[index]!.every((t) => t.copies.length === replicas + 1 && t.copies.every((c) => c.state === 'STARTED')), `${index}: copies settled`, 20_000);
  };
  /** A document as every copy of its (only) shard has it: real-time get on each copy. */
  const onEveryCopy = async (index: string, id: string) => {
    const node = any();
    const uuid = node.state.indices[index]!.uuid;
    return Promise.all(
      node.state.routing[index]![0]!.copies.map((copy) => {
        const ref = node.system.ref(`shoal://${node.system.cluster}/${copy.node}${INDICES_PATH}/${shardActorName(uuid, 0)}`);
        return node.system.ask(ref, { type: 'shard.get', id }) as Promise<Any>;
      }),
    );
  };

  beforeAll(async () => {
    server = await startNatsServer();
    dataDir = mkdtempSync(join(tmpdir(), 'shoal-update-scripts-'));
    for (const id of masters) nodes.set(id, await ShoalNode.start({ nodeId: id, nats: { servers: server.url }, dataDir, masters, logLevel: 'silent' }));
    await Promise.all([...nodes.values()].map((n) => n.waitFor((s) => Object.keys(s.nodes).length === 3 && !!s.master, 'three nodes and a master')));
  });
  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => (n.system.isRunning ? n.shutdown() : undefined)));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('concurrent scripted updates of one counter lose nothing, and every copy ends with the same document', async () => {
    await createSettled('counters', 1, 2, { properties: { counter: { type: 'long' } } });
    try {
      await api({ op: 'doc.index', index: 'counters', id: 'c', document: { counter: 0, seen: [] } });
      const N = 30;
      const via = [...nodes.values()];
      // Every node coordinates some; all at once. The primary runs them one after the other.
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) => api({ op: 'doc.update', index: 'counters', id: 'c', body: { script: { source: 'ctx._source.counter += params.n; ctx._source.seen.add(params.i)', params: { n: 1, i } } } }, via[i % via.length])),
      );
      expect(results.every((r) => r.result === 'updated')).toBe(true);
      expect(new Set(results.map((r) => r._version)).size).toBe(N);
      const copies = await onEveryCopy('counters', 'c');
      expect(copies).toHaveLength(3);
      for (const got of copies) {
        expect(got).toMatchObject({ found: true, _version: N + 1, _source: { counter: N } });
        expect([...got._source.seen].sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
        // The same list, in the same order, on every copy: the replicas got the primary's result.
        expect(got._source).toEqual(copies[0]!._source);
      }
    } finally {
      await api({ op: 'index.delete', index: 'counters' });
    }
  });

  it('doc.update with a script: noop keeps the version, ctx.op delete, upsert and scripted_upsert, errors as Elasticsearch', async () => {
    await createSettled('us', 2, 1, { properties: { n: { type: 'long' }, tags: { type: 'keyword' } } });
    try {
      await api({ op: 'doc.index', index: 'us', id: 'a', document: { n: 1, tags: ['x'] }, refresh: true });
      const noop = await api({ op: 'doc.update', index: 'us', id: 'a', body: { script: "ctx._source.n = 99; ctx.op = 'noop'" } });
      expect(noop).toMatchObject({ result: 'noop', _version: 1 });
      const added = await api({ op: 'doc.update', index: 'us', id: 'a', body: { script: { source: "if (ctx._source.tags.contains(params.t)) { ctx.op = 'noop' } else { ctx._source.tags.add(params.t) }", params: { t: 'y' } } } });
      expect(added).toMatchObject({ result: 'updated', _version: 2 });
      const again = await api({ op: 'doc.update', index: 'us', id: 'a', body: { script: { source: "if (ctx._source.tags.contains(params.t)) { ctx.op = 'noop' } else { ctx._source.tags.add(params.t) }", params: { t: 'y' } } } });
      expect(again).toMatchObject({ result: 'noop', _version: 2 });
      expect((await api({ op: 'doc.get', index: 'us', id: 'a' }))._source).toEqual({ n: 1, tags: ['x', 'y'] });
      // ctx._now is the request's time; ctx._id, _index, _version are the document's.
      const before = Date.now();
      await api({ op: 'doc.update', index: 'us', id: 'a', body: { script: 'ctx._source.meta = [ctx._index, ctx._id, ctx._version]; ctx._source.at = ctx._now' } });
      const meta = (await api({ op: 'doc.get', index: 'us', id: 'a' }))._source;
      expect(meta.meta).toEqual(['us', 'a', 2]); // the version the script ran on
      expect(meta.at).toBeGreaterThanOrEqual(before);
      expect(meta.at).toBeLessThanOrEqual(Date.now());
      // delete through ctx.op
      expect(await api({ op: 'doc.update', index: 'us', id: 'a', body: { script: "ctx.op = 'delete'" } })).toMatchObject({ result: 'deleted', _version: 4 });
      expect((await api({ op: 'doc.get', index: 'us', id: 'a' })).found).toBe(false);
      // Missing: 404, the upsert as is, or the script on it.
      await expect(api({ op: 'doc.update', index: 'us', id: 'm', body: { script: 'ctx._source.n++' } })).rejects.toMatchObject({ status: 404, type: 'document_missing_exception' });
      expect(await api({ op: 'doc.update', index: 'us', id: 'm', body: { script: 'ctx._source.n++', upsert: { n: 5 } } })).toMatchObject({ result: 'created' });
      expect((await api({ op: 'doc.get', index: 'us', id: 'm' }))._source).toEqual({ n: 5 });
      expect(await api({ op: 'doc.update', index: 'us', id: 'm', body: { script: 'ctx._source.n++', upsert: { n: 5 } } })).toMatchObject({ result: 'updated' });
      expect((await api({ op: 'doc.get', index: 'us', id: 'm' }))._source).toEqual({ n: 6 });
      expect(await api({ op: 'doc.update', index: 'us', id: 's', body: { script: 'ctx._source.n++; ctx._source.op = ctx.op', upsert: { n: 5 }, scripted_upsert: true } })).toMatchObject({ result: 'created' });
      expect((await api({ op: 'doc.get', index: 'us', id: 's' }))._source).toEqual({ n: 6, op: 'create' });
      // Bulk updates with scripts, mixed with doc updates.
      const bulk = await api({
        op: 'doc.bulk',
        index: 'us',
        refresh: true,
        operations: [{ update: { _id: 's' } }, { script: { source: 'ctx._source.n *= params.f', params: { f: 10 } } }, { update: { _id: 's' } }, { doc: { d: true } }, { update: { _id: 'nope' } }, { script: 'ctx._source.n = 1' }, { update: { _id: 'm' } }, { script: "ctx.op = 'none'" }],
      });
      expect(bulk.items.map((i: Any) => i.update.result ?? i.update.error.type)).toEqual(['updated', 'updated', 'document_missing_exception', 'noop']);
      expect((await api({ op: 'doc.get', index: 'us', id: 's' }))._source).toEqual({ n: 60, op: 'create', d: true });
      // Errors: both doc and script; a compile error (structured, before any shard); a runtime error; a bad _source; conditions.
      await expect(api({ op: 'doc.update', index: 'us', id: 'm', body: { doc: { n: 1 }, script: 'ctx._source.n = 2' } })).rejects.toMatchObject({ status: 400, type: 'action_request_validation_exception', message: expect.stringContaining("can't provide both script and doc") });
      await expect(api({ op: 'doc.update', index: 'us', id: 'm', body: { script: "ctx._source.n = doc['n'].value" } })).rejects.toMatchObject({
        status: 400,
        type: 'script_exception',
        details: { script_stack: expect.any(Array), position: { offset: 16 }, caused_by: { type: 'illegal_argument_exception' } },
      });
      await expect(api({ op: 'doc.update', index: 'us', id: 'm', body: { script: 'ctx._source.n = ctx._source.nope.size()' } })).rejects.toMatchObject({
        status: 400,
        type: 'script_exception',
        message: expect.stringMatching(/^runtime error/),
        details: { caused_by: { type: 'null_pointer_exception' } },
      });
      await expect(api({ op: 'doc.update', index: 'us', id: 'm', body: { script: 'ctx._source = 5' } })).rejects.toMatchObject({ status: 400, type: 'illegal_argument_exception' });
      const m = await api({ op: 'doc.get', index: 'us', id: 'm' });
      await expect(api({ op: 'doc.update', index: 'us', id: 'm', body: { script: "ctx.op = 'noop'" }, if_seq_no: m._seq_no + 1, if_primary_term: m._primary_term })).rejects.toMatchObject({ status: 409 });
      expect(await api({ op: 'doc.update', index: 'us', id: 'm', body: { script: 'ctx._source.n--' }, if_seq_no: m._seq_no, if_primary_term: m._primary_term })).toMatchObject({ result: 'updated' });
      expect(await api({ op: 'doc.get', index: 'us', id: 'm' })).toMatchObject({ _version: m._version + 1, _source: { n: 5 } });
      // The document a script makes maps its new fields through the master, like any write.
      await api({ op: 'doc.update', index: 'us', id: 'm', body: { script: "ctx._source.when = '2024-01-02'; ctx._source.label = 'new'" }, refresh: true });
      const mapping = await api({ op: 'index.get_mapping', index: 'us' });
      expect(mapping.us.mappings.properties).toMatchObject({ when: { type: 'date' }, label: { type: 'text' } });
      expect((await api({ op: 'count', index: 'us', body: { query: { range: { when: { gte: '2024-01-01' } } } } })).count).toBe(1);
    } finally {
      await api({ op: 'index.delete', index: 'us' });
    }
  });

  it('update_by_query with a script: updates, noops and deletes counted; a script error fails the request and keeps what was done', async () => {
    await createSettled('ubqs', 2, 1, { properties: { kind: { type: 'keyword' }, n: { type: 'long' } } });
    try {
      const kinds = ['bump', 'keep', 'old'];
      const N = 300;
      const ops = Array.from({ length: N }, (_, i) => [{ index: { _id: `d${i}` } }, { kind: kinds[i % 3], n: i }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'ubqs', refresh: true, operations: ops })).errors).toBe(false);
      const script = { source: "if (ctx._source.kind == 'old') { ctx.op = 'delete' } else if (ctx._source.kind == 'keep') { ctx.op = 'noop' } else { ctx._source.n += params.by; ctx._source.v = ctx._version }", params: { by: 1000 } };
      const res = await api({ op: 'doc.update_by_query', index: 'ubqs', body: { script }, refresh: true });
      expect(res).toMatchObject({ total: N, updated: 100, noops: 100, deleted: 100, version_conflicts: 0, failures: [] });
      expect((await api({ op: 'count', index: 'ubqs' })).count).toBe(200);
      expect((await api({ op: 'count', index: 'ubqs', body: { query: { range: { n: { gte: 1000 } } } } })).count).toBe(100);
      expect(await api({ op: 'doc.get', index: 'ubqs', id: 'd3' })).toMatchObject({ _version: 2, _source: { kind: 'bump', n: 1003, v: 1 } });
      expect(await api({ op: 'doc.get', index: 'ubqs', id: 'd4' })).toMatchObject({ _version: 1, _source: { kind: 'keep', n: 4 } });
      // A query limits the docs the script sees; max_docs counts noops too.
      expect(await api({ op: 'doc.update_by_query', index: 'ubqs', body: { query: { term: { kind: 'keep' } }, script: "ctx.op = 'noop'", max_docs: 30 } })).toMatchObject({ total: 30, noops: 30, updated: 0 });
      // A runtime error on one doc fails the request with the structured error; batches before it stay written.
      await expect(api({ op: 'doc.update_by_query', index: 'ubqs', body: { script: "if (ctx._source.kind == 'keep') { ctx._source.n = ctx._source.missing.size() }" } })).rejects.toMatchObject({
        status: 400,
        type: 'script_exception',
        details: { caused_by: { type: 'null_pointer_exception' } },
      });
      await expect(api({ op: 'doc.update_by_query', index: 'ubqs', body: { script: "doc['n'].value" } })).rejects.toMatchObject({ status: 400, type: 'script_exception' });
      await expect(api({ op: 'doc.update_by_query', index: 'ubqs', body: { script: "ctx._id = 'x'" } })).rejects.toMatchObject({ status: 400, type: 'script_exception', details: { caused_by: { reason: '[_id] cannot be changed in this context' } } });
    } finally {
      await api({ op: 'index.delete', index: 'ubqs' });
    }
  });

  it('update_by_query with a script never loses an acknowledged scripted update made while it runs', async () => {
    await createSettled('ubqc', 2, 1, { properties: { n: { type: 'long' }, u: { type: 'long' } } });
    try {
      const N = 3000;
      const ops = Array.from({ length: N }, (_, i) => [{ index: { _id: `d${i}` } }, { n: 0, u: 0 }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'ubqc', refresh: true, operations: ops })).errors).toBe(false);
      let done = false;
      const acknowledged: string[] = [];
      const updater = async (first: number) => {
        for (let i = first; i >= 0 && !done; i -= 6 * 5) {
          await api({ op: 'doc.update', index: 'ubqc', id: `d${i}`, body: { script: 'ctx._source.u += 1' } });
          acknowledged.push(`d${i}`);
        }
      };
      const updaters = Promise.all(Array.from({ length: 6 }, (_, u) => updater(N - 1 - u * 5)));
      const res = await api({ op: 'doc.update_by_query', index: 'ubqc', body: { script: 'ctx._source.n += 10' }, conflicts: 'proceed', refresh: true });
      done = true;
      await updaters;
      console.log(`[update-scripts] scripted update_by_query under concurrent scripted updates: ${res.updated} updated, ${res.version_conflicts} conflicts, ${acknowledged.length} updates acknowledged`);
      expect(res.failures).toEqual([]);
      expect(res.updated + res.version_conflicts).toBe(N);
      const kept = await api({ op: 'doc.mget', index: 'ubqc', body: { ids: acknowledged } });
      for (const d of kept.docs) expect(d._source.u).toBe(1);
      // Every doc update_by_query wrote has its +10, the others none: nothing applied twice or lost.
      await api({ op: 'index.refresh', index: 'ubqc' });
      expect((await api({ op: 'count', index: 'ubqc', body: { query: { term: { n: 10 } } } })).count).toBe(res.updated);
      expect((await api({ op: 'count', index: 'ubqc', body: { query: { term: { n: 0 } } } })).count).toBe(res.version_conflicts);
    } finally {
      await api({ op: 'index.delete', index: 'ubqc' });
    }
  });

  it('reindex with a script: renames a field, drops some docs, retargets ids, deletes from the destination', async () => {
    await createSettled('rsrc', 2, 1, { properties: { name: { type: 'keyword' }, n: { type: 'long' } } });
    await createSettled('rdst', 2, 1, { properties: { title: { type: 'keyword' }, n: { type: 'long' } } });
    try {
      const N = 60;
      const ops = Array.from({ length: N }, (_, i) => [{ index: { _id: `s${i}` } }, { name: `item ${i}`, n: i }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'rsrc', refresh: true, operations: ops })).errors).toBe(false);
      // A doc the destination has that the script deletes.
      await api({ op: 'doc.index', index: 'rdst', id: 's7', document: { title: 'stale', n: -1 }, refresh: true });
      const script = `
        ctx._source.title = ctx._source.remove('name');
        if (ctx._source.n % 3 == 0) { ctx.op = 'noop' }
        else if (ctx._source.n == 7) { ctx.op = 'delete' }
        else if (ctx._source.n % 10 == 1) { ctx._id = 'r-' + ctx._id }
        else if (ctx._source.n == 2) { ctx._index = 'rother' }`;
      const res = await api({ op: 'reindex', body: { source: { index: 'rsrc' }, dest: { index: 'rdst' }, script }, refresh: true });
      // 20 multiples of 3 skipped, s7 deleted from the destination, 39 written.
      expect(res).toMatchObject({ total: N, created: 39, updated: 0, noops: 20, deleted: 1, version_conflicts: 0, failures: [] });
      expect((await api({ op: 'count', index: 'rdst' })).count).toBe(38);
      expect(await api({ op: 'doc.get', index: 'rdst', id: 's4' })).toMatchObject({ found: true, _source: { title: 'item 4', n: 4 } });
      // ctx._index sent one doc to another index.
      expect((await api({ op: 'doc.get', index: 'rdst', id: 's2' })).found).toBe(false);
      expect(await api({ op: 'doc.get', index: 'rother', id: 's2' })).toMatchObject({ found: true, _source: { title: 'item 2', n: 2 } });
      expect((await api({ op: 'doc.get', index: 'rdst', id: 's3' })).found).toBe(false);
      expect((await api({ op: 'doc.get', index: 'rdst', id: 's7' })).found).toBe(false);
      expect((await api({ op: 'doc.get', index: 'rdst', id: 's11' })).found).toBe(false);
      expect(await api({ op: 'doc.get', index: 'rdst', id: 'r-s11' })).toMatchObject({ found: true, _source: { title: 'item 11', n: 11 } });
      expect((await api({ op: 'count', index: 'rdst', body: { query: { exists: { field: 'name' } } } })).count).toBe(0);
      // The source is untouched.
      expect(await api({ op: 'doc.get', index: 'rsrc', id: 's2' })).toMatchObject({ _version: 1, _source: { name: 'item 2', n: 2 } });
      // A script that sends a doc back into a source index is refused for that doc.
      await api({ op: 'index.update_aliases', actions: [{ add: { index: 'rsrc', alias: 'rsrc-alias' } }] });
      const back = await api({ op: 'reindex', body: { source: { index: 'rsrc' }, dest: { index: 'rdst' }, script: "ctx._index = 'rsrc-alias'" } });
      expect(back.failures[0]).toMatchObject({ status: 400, cause: { type: 'illegal_argument_exception' } });
      await expect(api({ op: 'reindex', body: { source: { index: 'rsrc' }, dest: { index: 'rdst' }, script: "ctx._version = 5" } })).rejects.toMatchObject({ status: 400, type: 'script_exception' });
      await expect(api({ op: 'reindex', body: { source: { index: 'rsrc' }, dest: { index: 'rdst' }, script: 'ctx._source.x = _score' } })).rejects.toMatchObject({ status: 400, type: 'script_exception', message: expect.stringMatching(/^compile error/) });
    } finally {
      for (const index of ['rsrc', 'rdst', 'rother']) await api({ op: 'index.delete', index }).catch(() => undefined);
    }
  });
});
