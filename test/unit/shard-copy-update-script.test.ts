import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClusterCommand, ClusterState } from '../../src/cluster/cluster-state.ts';
import { parseIndexSettings, type IndexMeta, type ShardTable } from '../../src/cluster/metadata.ts';
import { ShardCopy, type ItemResult, type ReplicaGroupHandle, type WriteItem } from '../../src/data/shard-copy.ts';
import { MappingRegistry } from '../../src/engine/mapping.ts';
import type { ReplicaOp } from '../../src/engine/shard-engine.ts';

type Any = Record<string, any>;
const NOW = 1_700_000_000_000;

/**
 * A primary and a replica of one shard, in memory: the primary's replication group hands every
 * replicated operation to the replica (and records it), and put-mapping commands go through a
 * stand-in master that merges them into the index's mappings.
 */
function pair() {
  let meta: IndexMeta = { name: 'idx', uuid: 'u1', settings: parseIndexSettings({ number_of_shards: 1, number_of_replicas: 1 }), mappings: { properties: { n: { type: 'long' } } }, state: 'open' };
  let version = 1;
  const proposals: ClusterCommand[] = [];
  const replicated: ReplicaOp[] = [];
  const table: ShardTable = {
    primaryTerm: 1,
    copies: [
      { allocationId: 'p', node: 'n1', primary: true, state: 'STARTED' },
      { allocationId: 'r', node: 'n2', primary: false, state: 'STARTED' },
    ],
    inSync: ['p', 'r'],
  };
  const io = (node: string) => ({
    askCopy: () => Promise.reject(new Error('not used')),
    async propose(command: ClusterCommand) {
      proposals.push(command);
      const registry = new MappingRegistry(meta.mappings);
      registry.merge((command as Any).mappings);
      meta = { ...meta, mappings: registry.toJSON(), mappingVersion: ++version };
      return { version, changed: true };
    },
    waitForVersion: async () => ({ indices: { idx: meta } }) as unknown as ClusterState,
    stateVersion: () => version,
    now: () => NOW,
    sleep: () => Promise.resolve(),
    log: pino({ level: 'silent' }),
    node,
  });
  const replica = new ShardCopy({ index: 'idx', shard: 0, allocationId: 'r', node: 'n2', dataDir: undefined }, meta, io('n2'), () => {
    throw new Error('a replica has no group');
  });
  const group: ReplicaGroupHandle = {
    routing: () => undefined,
    async replicate(ops, _refresh, primaryLocalCheckpoint, mappingVersion) {
      replicated.push(...ops);
      if (mappingVersion > 0) replica.applyRouting(table, meta);
      await replica.applyReplicated({ type: 'shard.replicate', allocationId: 'r', term: 1, ops, globalCheckpoint: primaryLocalCheckpoint });
      return { shards: { total: 2, successful: 2, failed: 0 }, globalCheckpoint: primaryLocalCheckpoint };
    },
    track: () => Promise.resolve(),
    recovered: () => Promise.resolve({ member: true }),
    status: () => Promise.resolve({}),
  };
  const primary = new ShardCopy({ index: 'idx', shard: 0, allocationId: 'p', node: 'n1', dataDir: undefined }, meta, io('n1'), () => group);
  primary.applyRouting(table, meta);
  replica.applyRouting(table, meta);
  const write = async (...items: WriteItem[]): Promise<ItemResult[]> => (await primary.write(items, 1, false)).items;
  const update = (id: string, body: Partial<WriteItem>) => write({ action: 'update', id, now: NOW, ...body }).then((r) => r[0] as Any);
  const sourceOn = (copy: ShardCopy, id: string) => copy.engine.get(id)._source;
  return { primary, replica, write, update, sourceOn, replicated, proposals };
}

describe('scripted updates on a shard copy', () => {
  it('runs the script once, on the primary; the replica gets the resulting document, the same as the primary', async () => {
    const c = pair();
    await c.write({ action: 'index', id: 'a', source: { n: 1, tags: ['x'] } });
    c.replicated.length = 0;
    // A script whose outcome would differ if it ran again on the replica (it appends to a list).
    const r = await c.update('a', { script: { source: 'ctx._source.n += params.k; ctx._source.tags.add(ctx._now)', params: { k: 2 } } });
    expect(r).toMatchObject({ result: 'updated', _version: 2, status: 200 });
    expect(c.sourceOn(c.primary, 'a')).toEqual({ n: 3, tags: ['x', NOW] });
    expect(c.sourceOn(c.replica, 'a')).toEqual({ n: 3, tags: ['x', NOW] });
    expect(c.replicated).toEqual([{ op: 'index', id: 'a', source: { n: 3, tags: ['x', NOW] }, seqNo: 1, primaryTerm: 1, version: 2 }]);
  });

  it('applies a bulk of scripted updates to one doc in order, each on the result of the one before', async () => {
    const c = pair();
    await c.write({ action: 'index', id: 'a', source: { n: 0 } });
    const inc = { action: 'update' as const, id: 'a', now: NOW, script: { source: 'ctx._source.n = ctx._source.n * 10 + params.d', params: {} } };
    const results = await c.write(...[1, 2, 3].map((d) => ({ ...inc, script: { ...inc.script, params: { d } } })));
    expect(results.map((r) => (r as Any)._version)).toEqual([2, 3, 4]);
    expect(c.sourceOn(c.replica, 'a')).toEqual({ n: 123 });
  });

  it('noop writes and replicates nothing and keeps the version; delete replicates a delete', async () => {
    const c = pair();
    await c.write({ action: 'index', id: 'a', source: { n: 1 } });
    c.replicated.length = 0;
    const noop = await c.update('a', { script: "ctx._source.n = 99; ctx.op = 'noop'" });
    expect(noop).toMatchObject({ result: 'noop', _version: 1, _seq_no: 0 });
    expect(c.replicated).toEqual([]);
    expect(c.sourceOn(c.primary, 'a')).toEqual({ n: 1 });
    const del = await c.update('a', { script: "if (ctx._source.n == 1) { ctx.op = 'delete' }" });
    expect(del).toMatchObject({ result: 'deleted', _version: 2 });
    expect(c.replicated).toEqual([{ op: 'delete', id: 'a', seqNo: 1, primaryTerm: 1, version: 2 }]);
    expect(c.replica.engine.get('a').found).toBe(false);
  });

  it('a missing doc: 404 without upsert, the upsert doc as is, or the script on it with scripted_upsert (op create)', async () => {
    const c = pair();
    const script = { source: "ctx._source.n += 1; ctx._source.op = ctx.op", params: {} };
    expect(await c.update('a', { script })).toMatchObject({ status: 404, error: { type: 'document_missing_exception' } });
    expect(await c.update('a', { script, upsert: { n: 10 } })).toMatchObject({ result: 'created', status: 201 });
    expect(c.sourceOn(c.replica, 'a')).toEqual({ n: 10 });
    expect(await c.update('a', { script, upsert: { n: 10 } })).toMatchObject({ result: 'updated' });
    expect(c.sourceOn(c.replica, 'a')).toEqual({ n: 11, op: 'index' });
    expect(await c.update('b', { script, upsert: { n: 10 }, scripted_upsert: true })).toMatchObject({ result: 'created' });
    expect(c.sourceOn(c.replica, 'b')).toEqual({ n: 11, op: 'create' });
    c.replicated.length = 0;
    expect(await c.update('c', { script: "ctx.op = 'none'", upsert: { n: 1 }, scripted_upsert: true })).toMatchObject({ result: 'noop', _version: -1 });
    expect(c.primary.engine.get('c').found).toBe(false);
    expect(c.replicated).toEqual([]);
  });

  it('checks if_seq_no and if_primary_term before the script runs (a noop does not hide a conflict)', async () => {
    const c = pair();
    await c.write({ action: 'index', id: 'a', source: { n: 1 } });
    expect(await c.update('a', { script: "ctx.op = 'noop'", if_seq_no: 5, if_primary_term: 1 })).toMatchObject({ status: 409, error: { type: 'version_conflict_engine_exception' } });
    expect(await c.update('a', { script: 'ctx._source.n++', if_seq_no: 0, if_primary_term: 1 })).toMatchObject({ result: 'updated' });
    expect(await c.update('a', { script: 'ctx._source.n++', if_seq_no: 0, if_primary_term: 1 })).toMatchObject({ status: 409 });
    expect(c.sourceOn(c.primary, 'a')).toEqual({ n: 2 });
  });

  it('fields a script adds are mapped through the master before the doc is indexed, and the bulk keeps its order', async () => {
    const c = pair();
    await c.write({ action: 'index', id: 'a', source: { n: 1 } });
    const results = await c.write(
      { action: 'update', id: 'a', now: NOW, script: "ctx._source.label = 'x' + ctx._source.n" },
      { action: 'update', id: 'a', now: NOW, script: 'ctx._source.n = 7' },
    );
    expect(results.map((r) => (r as Any).result)).toEqual(['updated', 'updated']);
    expect(c.proposals).toHaveLength(1);
    expect(c.proposals[0]).toMatchObject({ op: 'put_mapping', mappings: { properties: { label: { type: 'text' } } } });
    expect(c.primary.engine.mappings.field('label')).toBeDefined();
    expect(c.sourceOn(c.replica, 'a')).toEqual({ n: 7, label: 'x1' });
  });

  it('a script error fails its item with the structured script_exception, and changes nothing', async () => {
    const c = pair();
    await c.write({ action: 'index', id: 'a', source: { n: 1 } });
    const r = await c.update('a', { script: "ctx._source.n = ctx._source.missing.size()" });
    expect(r).toMatchObject({ status: 400, error: { type: 'script_exception', caused_by: { type: 'null_pointer_exception' }, position: { offset: expect.any(Number) } } });
    expect(await c.update('a', { script: "ctx._source = 'nope'" })).toMatchObject({ status: 400, error: { type: 'illegal_argument_exception' } });
    expect(c.primary.engine.get('a')).toMatchObject({ _version: 1, _source: { n: 1 } });
  });
});
