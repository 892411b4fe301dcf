import fc from 'fast-check';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_OPS, isApiErrorReply, isApiOp, OP_SPECS, type ApiOp } from '../../protocols/api.ts';
import { encode } from '../../src/transport/codec.ts';
import { decodeReply, startApiCluster, type ApiCluster } from '../support/api-cluster.ts';

type Any = Record<string, any>;
type Encoding = 'json' | 'msgpack' | 'bytes';
interface Case {
  kind: string;
  op: string;
  body: unknown;
  encoding: Encoding;
}

const LIMIT = 64 * 1024;
const BATCH = 100;
const RUNS = 100; // BATCH * RUNS = 10,000 malformed requests
const DOC_IDS = Array.from({ length: 40 }, (_, i) => `d${i}`);

/** A valid request per op, aimed at the seeded index: only mutated (invalid) copies are ever sent. */
const BASE: Partial<Record<ApiOp, Any>> = {
  'index.create': { index: 'fz-new', settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: {}, wait_for_active_shards: 1, timeout_ms: 1_000 },
  'index.delete': { index: 'fuzz' },
  'index.open': { index: 'fuzz' },
  'index.close': { index: 'fuzz' },
  'index.refresh': { index: 'fuzz' },
  'index.set_replicas': { index: 'fuzz', number_of_replicas: 0 },
  'doc.index': { index: 'fuzz', id: 'd1', document: { title: 'changed', n: 1 }, routing: 'r', op_type: 'index', if_seq_no: 0, if_primary_term: 1, refresh: true, timeout_ms: 1_000, wait_for_active_shards: 1 },
  'doc.create': { index: 'fuzz', id: 'new1', document: { a: 1 }, routing: 'r', refresh: true, timeout_ms: 1_000, wait_for_active_shards: 1 },
  'doc.get': { index: 'fuzz', id: 'd1', routing: 'r' },
  'doc.delete': { index: 'fuzz', id: 'd1', routing: 'r', if_seq_no: 0, if_primary_term: 1, refresh: true, timeout_ms: 1_000, wait_for_active_shards: 1 },
  'doc.update': { index: 'fuzz', id: 'd1', body: { doc: { n: 2 } }, routing: 'r', if_seq_no: 0, if_primary_term: 1, refresh: true, timeout_ms: 1_000, wait_for_active_shards: 1 },
  'doc.mget': { index: 'fuzz', body: { ids: ['d1'] } },
  'doc.bulk': { index: 'fuzz', operations: [{ index: { _id: 'd1' } }, { n: 5 }, { delete: { _id: 'd2' } }], refresh: true, timeout_ms: 1_000, wait_for_active_shards: 1 },
  search: { index: 'fuzz', body: { query: { match_all: {} } }, timeout_ms: 1_000 },
  count: { index: 'fuzz', body: { query: { match_all: {} } } },
  'cluster.health': { index: 'fuzz', wait_for_status: 'yellow', timeout_ms: 1_000 },
  'shard.stats': { index: 'fuzz' },
};
const OPS_WITH_FIELDS = Object.keys(BASE) as ApiOp[];
const REQUIRING = API_OPS.filter((op) => OP_SPECS[op].required.length > 0 && op !== 'index.create');

/** Values of the wrong type for each field type of protocols/api.ts (null is "absent", so never used). */
function wrongValue(type: unknown): fc.Arbitrary<unknown> {
  const notString = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({}), fc.constant(''));
  const notObject = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.jsonValue(), { maxLength: 3 }));
  const notInt = (min: number, max: number) =>
    fc.oneof(fc.integer({ min: -(2 ** 31), max: min - 1 }), max < 2 ** 31 - 1 ? fc.integer({ min: max + 1, max: 2 ** 31 - 1 }) : fc.constant(2 ** 53 + 2), fc.double({ min: 0.1, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)), fc.string(), fc.boolean(), fc.constant([1]), fc.constant(2 ** 60));
  if (typeof type === 'object') return fc.oneof(fc.string().filter((s) => !(type as { enum: string[] }).enum.includes(s)), fc.integer(), fc.boolean());
  switch (type) {
    case 'index':
    case 'id':
    case 'string':
      return notString;
    case 'indexExpr':
      return fc.oneof(fc.integer(), fc.boolean(), fc.constant({}), fc.constant([]), fc.constant(''), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }));
    case 'object':
      return notObject;
    case 'array':
      return fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant({ a: 1 }));
    case 'refresh':
      return fc.oneof(fc.string().filter((s) => !['true', 'false', 'wait_for'].includes(s)), fc.integer(), fc.constant({}));
    case 'seqNo':
      return notInt(0, Number.MAX_SAFE_INTEGER);
    case 'term':
      return notInt(1, Number.MAX_SAFE_INTEGER);
    case 'replicas':
      return notInt(0, 64);
    case 'timeout':
      return notInt(0, 600_000);
    case 'activeShards':
      return fc.oneof(notInt(0, 65), fc.string().filter((s) => s !== 'all'));
    default:
      throw new Error(`no wrong values for ${String(type)}`);
  }
}

const anyEncoding = fc.constantFrom<Encoding>('json', 'msgpack');
const indexName = fc.stringMatching(/^[a-z][a-z0-9_-]{0,30}$/).filter((n) => n !== 'fuzz');

const wrongType: fc.Arbitrary<Case> = fc
  .constantFrom(...OPS_WITH_FIELDS)
  .chain((op) => fc.tuple(fc.constant(op), fc.constantFrom(...Object.keys(OP_SPECS[op].fields))))
  .chain(([op, field]) => fc.record({ kind: fc.constant('wrong type'), op: fc.constant(op), body: wrongValue(OP_SPECS[op].fields[field]).map((v) => ({ ...BASE[op], [field]: v })), encoding: anyEncoding }));

const unknownField: fc.Arbitrary<Case> = fc.constantFrom(...API_OPS).chain((op) =>
  fc.record({
    kind: fc.constant('unknown field'),
    op: fc.constant(op),
    body: fc
      .tuple(
        fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf', 'type', 'document ', 'Index')).filter((k) => !Object.hasOwn(OP_SPECS[op].fields, k) && k !== 'op' && k !== '__proto__'),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map(([k, v]) => Object.assign({ ...(BASE[op] ?? {}) }, { [k]: v })),
    encoding: anyEncoding,
  }),
);

const missingField: fc.Arbitrary<Case> = fc.constantFrom(...OPS_WITH_FIELDS.filter((op) => OP_SPECS[op].required.length > 0)).chain((op) =>
  fc.record({
    kind: fc.constant('missing field'),
    op: fc.constant(op),
    body: fc.constantFrom(...OP_SPECS[op].required).map((k) => Object.fromEntries(Object.entries(BASE[op]!).filter(([f]) => f !== k))),
    encoding: anyEncoding,
  }),
);

const unknownOp: fc.Arbitrary<Case> = fc.record({
  kind: fc.constant('unknown op'),
  op: fc.stringMatching(/^[A-Za-z0-9_-]{1,10}(\.[A-Za-z0-9_-]{1,10}){0,3}$/).filter((s) => !isApiOp(s)),
  body: fc.oneof(fc.constant({}), fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })),
  encoding: anyEncoding,
});

const unknownIndex: fc.Arbitrary<Case> = fc
  .tuple(fc.constantFrom<ApiOp>('doc.get', 'doc.delete', 'search', 'count', 'index.delete', 'index.open', 'index.close', 'index.refresh', 'index.set_replicas', 'shard.stats', 'cluster.health'), indexName, anyEncoding)
  .map(([op, index, encoding]) => ({ kind: 'unknown index', op, body: { ...BASE[op], index }, encoding }));

const randomBytes: fc.Arbitrary<Case> = fc.record({
  kind: fc.constant('random bytes'),
  op: fc.constantFrom(...REQUIRING),
  body: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  encoding: fc.constant<Encoding>('bytes'),
});

const brokenJson: fc.Arbitrary<Case> = fc
  .constantFrom(...OPS_WITH_FIELDS)
  .chain((op) => {
    const text = JSON.stringify(BASE[op]);
    return fc.record({ kind: fc.constant('truncated JSON'), op: fc.constant(op), body: fc.integer({ min: 1, max: text.length - 1 }).map((n) => Buffer.from(text.slice(0, n))), encoding: fc.constant<Encoding>('bytes') });
  });

const notAMap: fc.Arbitrary<Case> = fc.record({
  kind: fc.constant('not an object'),
  op: fc.constantFrom(...API_OPS),
  body: fc.oneof(fc.string().filter((s) => s.length > 0), fc.integer(), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 })).map((v) => encode(v)),
  encoding: fc.constant<Encoding>('bytes'),
});

const nested = (depth: number): unknown => (depth === 0 ? { leaf: 1 } : { a: nested(depth - 1) });

const hugeValue: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ kind: fc.constant('huge id'), op: fc.constantFrom('doc.get', 'doc.index', 'doc.delete', 'doc.update'), body: fc.integer({ min: 513, max: 3_000 }).map((n) => ({ id: 'i'.repeat(n) })), encoding: anyEncoding }).map((c) => ({ ...c, body: { ...BASE[c.op as ApiOp], ...(c.body as Any) } })),
  fc.record({ kind: fc.constant('huge index name'), op: fc.constantFrom('doc.get', 'index.create', 'index.delete', 'doc.index'), body: fc.integer({ min: 256, max: 2_000 }).map((n) => ({ index: 'x'.repeat(n) })), encoding: anyEncoding }).map((c) => ({ ...c, body: { ...BASE[c.op as ApiOp], ...(c.body as Any) } })),
  fc.record({ kind: fc.constant('huge result window'), op: fc.constant('search'), body: fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 10_001, max: Number.MAX_SAFE_INTEGER })).map(([from, size]) => ({ index: 'fuzz', body: { from, size } })), encoding: anyEncoding }),
  fc.record({ kind: fc.constant('too many buckets'), op: fc.constant('search'), body: fc.double({ min: 1e-9, max: 4e-4, noNaN: true }).map((interval) => ({ index: 'fuzz', body: { size: 0, aggs: { h: { histogram: { field: 'n', interval, min_doc_count: 0 } } } } })), encoding: anyEncoding }),
  fc.record({ kind: fc.constant('huge timeout'), op: fc.constantFrom('search', 'cluster.health', 'doc.index', 'index.create'), body: fc.oneof(fc.integer({ min: 600_001 }), fc.constant(1e300)).map((t) => ({ timeout_ms: t })), encoding: anyEncoding }).map((c) => ({ ...c, body: { ...BASE[c.op as ApiOp], ...(c.body as Any) } })),
  fc.record({ kind: fc.constant('huge replicas'), op: fc.constant('index.set_replicas'), body: fc.integer({ min: 65, max: 2 ** 31 }).map((n) => ({ index: 'fuzz', number_of_replicas: n })), encoding: anyEncoding }),
  fc.record({ kind: fc.constant('over the size limit'), op: fc.constantFrom('doc.index', 'doc.bulk', 'search', 'nope'), body: fc.integer({ min: LIMIT, max: LIMIT * 3 }).map((n) => ({ index: 'fuzz', id: 'd1', document: { text: 'z'.repeat(n) } })), encoding: anyEncoding }),
  fc.record({ kind: fc.constant('too deep'), op: fc.constantFrom('doc.index', 'search', 'doc.update'), body: fc.integer({ min: 101, max: 400 }).map((d) => ({ index: 'fuzz', id: 'd1', document: nested(d) })), encoding: anyEncoding }),
  fc.record({ kind: fc.constant('too many ids'), op: fc.constant('doc.mget'), body: fc.integer({ min: 10_001, max: 12_000 }).map((n) => ({ index: 'fuzz', body: { ids: Array.from({ length: n }, (_, i) => `d${i}`) } })), encoding: anyEncoding }),
  fc.record({ kind: fc.constant('non-JSON msgpack value'), op: fc.constantFrom('doc.index', 'doc.update', 'doc.bulk'), body: fc.constantFrom<unknown>(NaN, Infinity, -Infinity, new Date(0), new Uint8Array([1, 2, 3])).map((v) => ({ index: 'fuzz', id: 'd1', document: { v }, body: { doc: { v } }, operations: [{ index: { _id: 'd1' } }, { v }] })), encoding: fc.constant<Encoding>('msgpack') })
    // Keep only the fields the op has, so the bad value is the only fault.
    .map((c) => ({ ...c, body: Object.fromEntries(Object.entries(c.body as Any).filter(([k]) => k in OP_SPECS[c.op as ApiOp].fields)) })),
);

const badBulkLines: fc.Arbitrary<Case> = fc.record({
  kind: fc.constant('bad bulk lines'),
  op: fc.constant('doc.bulk'),
  encoding: anyEncoding,
  body: fc
    .oneof(
      fc.constant<unknown[]>([]),
      fc.constant<unknown[]>([{ index: { _id: 'd1' } }]),
      fc.constant<unknown[]>([{ update: { _id: 'd1' } }, { script: 'x' }]),
      fc.constant<unknown[]>([{ index: { _id: 'd1' } }, { ok: 1 }, { upsert: { _id: 'd2' } }, { a: 1 }]),
      fc.tuple(fc.constantFrom('index', 'create', 'delete', 'update'), fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['_id', '_index', 'routing', 'if_seq_no', 'if_primary_term', '__proto__'].includes(k))).map(([a, k]) => [{ [a]: { _id: 'd1', [k]: 1 } }, { doc: { n: 1 } }]),
      fc.array(fc.jsonValue({ maxDepth: 1 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)), { minLength: 1, maxLength: 4 }),
    )
    .map((operations) => ({ index: 'fuzz', operations })),
});

/** Update scripts that cannot compile (a whole bulk fails on these), and ones that fail on every document they run on. */
const uncompilableScript = fc.oneof(
  fc.stringMatching(/^[a-z0-9_.()[\] ]{0,20}$/).map((s) => `${s} +`),
  fc.constantFrom("doc['n'].value", 'ctx = 1', 'ctx._source.x = _score', 'missing_var + 1', 'def ctx = 2', "ctx._source.n = doc.containsKey('n')"),
);
const failingScript = fc.oneof(
  uncompilableScript,
  fc.constantFrom('ctx._source.n = ctx._source.nope.size()', 'ctx._source = 1', "ctx.op = 'bogus'", 'ctx._version = 9', 'ctx._source.v = 1 / 0', 'ctx._source.me = ctx._source', 'params.p.add(1)', "ctx._source.n = 'a' * 2", "ctx.remove('_source')"),
);
const badScripts: fc.Arbitrary<Case> = fc.oneof(
  fc.record({ op: fc.constant('doc.update'), body: fc.tuple(fc.constantFrom(...DOC_IDS, 'missing'), failingScript, fc.boolean()).map(([id, source, upsert]) => ({ index: 'fuzz', id, body: { script: { source, params: {} }, ...(upsert ? { upsert: { n: 0 }, scripted_upsert: true } : {}) } })) }),
  fc.record({ op: fc.constant('doc.update'), body: fc.constantFrom(...DOC_IDS).map((id) => ({ index: 'fuzz', id, body: { doc: { n: 1 }, script: 'ctx._source.n = 2' } })) }),
  fc.record({ op: fc.constant('doc.update_by_query'), body: failingScript.map((script) => ({ index: 'fuzz', body: { script } })) }),
  fc.record({ op: fc.constant('reindex'), body: failingScript.map((script) => ({ body: { source: { index: 'fuzz' }, dest: { index: 'fuzz-dest' }, script } })) }),
  fc.record({ op: fc.constant('doc.bulk'), body: uncompilableScript.map((script) => ({ index: 'fuzz', operations: [{ update: { _id: 'd1' } }, { script }] })) }),
).chain((c) => anyEncoding.map((encoding) => ({ kind: 'bad update script', ...c, encoding })));

const malformed: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: wrongType, weight: 5 },
  { arbitrary: unknownField, weight: 4 },
  { arbitrary: missingField, weight: 1 },
  { arbitrary: unknownOp, weight: 2 },
  { arbitrary: unknownIndex, weight: 3 },
  { arbitrary: randomBytes, weight: 3 },
  { arbitrary: brokenJson, weight: 2 },
  { arbitrary: notAMap, weight: 1 },
  { arbitrary: hugeValue, weight: 3 },
  { arbitrary: badBulkLines, weight: 1 },
  { arbitrary: badScripts, weight: 2 },
);

describe('NATS API fuzz: malformed requests against a live node', () => {
  let c: ApiCluster;

  beforeAll(async () => {
    c = await startApiCluster({ cluster: 'fz', nodes: ['f1'], api: { maxPayloadBytes: LIMIT } });
    const r = await c.raw('index.create', { index: 'fuzz', settings: { number_of_shards: 2, number_of_replicas: 0 }, mappings: { properties: { n: { type: 'long' }, title: { type: 'text' } } } });
    expect(r.errorCode).toBeUndefined();
    const ops = DOC_IDS.flatMap((id, i) => [{ index: { _id: id } }, { title: `doc ${i}`, n: i }]);
    const bulk = await c.raw('doc.bulk', { index: 'fuzz', operations: ops, refresh: true });
    expect(bulk.body.errors).toBe(false);
  });
  afterAll(async () => {
    await c?.stop();
  });

  /** Everything a write could touch: state version, indices, per-shard seq_nos and counts, every seeded document. */
  async function snapshot() {
    const refresh = await c.raw('index.refresh', { index: '_all' });
    expect(refresh.errorCode).toBeUndefined();
    const node = c.nodes.get('f1')!;
    const shards = (await c.raw('shard.stats', { index: '_all' })).body.map((s: Any) => ({ index: s.index, shard: s.shard, docs: s.docs, max_seq_no: s.max_seq_no, local_checkpoint: s.local_checkpoint }));
    const docs = (await c.raw('doc.mget', { index: 'fuzz', body: { ids: DOC_IDS } })).body.docs.map((d: Any) => [d._id, d.found, d._version, d._seq_no, d._source]);
    return {
      version: node.state.version,
      indices: Object.entries(node.state.indices).map(([name, m]) => [name, m.uuid, m.state, m.settings.number_of_replicas]),
      count: (await c.raw('count', { index: '_all' })).body.count,
      shards,
      docs,
    };
  }

  it(`answers ${BATCH * RUNS} malformed requests with structured errors, stays up and changes nothing`, async () => {
    const before = await snapshot();
    expect(before.count).toBe(DOC_IDS.length);
    const jsonHeaders = natsHeaders();
    jsonHeaders.set('Content-Type', 'application/json');
    const kinds = new Map<string, number>();
    const statuses = new Map<number, number>();
    let sent = 0;
    const started = performance.now();

    await fc.assert(
      fc.asyncProperty(fc.array(malformed, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const replies = await Promise.all(
          batch.map(async (k) => {
            const data = k.encoding === 'bytes' ? (k.body as Uint8Array) : k.encoding === 'json' ? Buffer.from(JSON.stringify(k.body)) : encode(k.body);
            const msg = await c.nc.request(`shoal.fz.api.${k.op}`, data, { timeout: 20_000, ...(k.encoding === 'json' ? { headers: jsonHeaders } : {}) });
            return { k, r: decodeReply(msg) };
          }),
        );
        for (const { k, r } of replies) {
          sent++;
          kinds.set(k.kind, (kinds.get(k.kind) ?? 0) + 1);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const what = `${k.kind} ${k.op} -> ${JSON.stringify(r.body)?.slice(0, 300)}`;
          expect(r.errorCode, what).toBeDefined();
          expect(isApiErrorReply(r.body), what).toBe(true);
          expect(r.body.status, what).toBe(Number(r.errorCode));
          // Bad input is the caller's error: 4xx, never an internal failure.
          expect(r.status, what).toBeGreaterThanOrEqual(400);
          expect(r.status, what).toBeLessThan(500);
          if (k.encoding === 'json') expect(r.contentType, what).toBe('application/json');
          if (k.encoding === 'msgpack') expect(r.contentType, what).toBe('application/msgpack');
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.SHOAL_FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
    );

    const ms = performance.now() - started;
    console.log(`api fuzz: ${sent} malformed requests in ${Math.round(ms)} ms (${Math.round((sent / ms) * 1000)}/s); kinds ${JSON.stringify(Object.fromEntries(kinds))}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(kinds.size).toBeGreaterThanOrEqual(10);

    // Still up, still discoverable, still serving, and the data is exactly as it was.
    const node = c.nodes.get('f1')!;
    expect(node.system.isRunning).toBe(true);
    const pings = [];
    for await (const p of await new Svcm(c.nc as never).client().ping('shoal-fz')) pings.push(p);
    expect(pings.map((p) => p.metadata?.node)).toEqual(['f1']);
    expect(await snapshot()).toEqual(before);
    const ok = await c.raw('doc.get', { index: 'fuzz', id: 'd1' });
    expect(ok.body).toMatchObject({ found: true, _source: { title: 'doc 1', n: 1 } });
  });
});
