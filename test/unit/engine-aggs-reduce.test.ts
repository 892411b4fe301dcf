/**
 * The reduce phase of distributed aggregations, end to end through real in-memory shard engines:
 * documents are split over N `ShardEngine`s, each answers `search({ ..., partial_aggs: true })`, the
 * partials cross the msgpack codec (as they do over NATS) and `reduceShardAggs` renders the final
 * response. The reference is one engine holding every document, answering the same request
 * without `partial_aggs`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeAggs, parseAggs, reduceAggs, reduceShardAggs } from '../../src/engine/aggs/index.ts';
import type { ShardAggsResult } from '../../src/engine/aggs/index.ts';
import type { Mappings } from '../../src/engine/mapping.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError } from '../../src/engine/types.ts';
import { decode, encode } from '../../src/transport/codec.ts';

type Any = Record<string, any>;

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 1);
const TAGS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9', 't10', 't11'];
const COLORS = ['red', 'green', 'blue', 'black'];

const MAPPINGS: Mappings = {
  properties: {
    uid: { type: 'long' },
    tag: { type: 'keyword' },
    color: { type: 'keyword' },
    n: { type: 'long' },
    price: { type: 'double' },
    ts: { type: 'date' },
    ok: { type: 'boolean' },
    items: { type: 'nested', properties: { k: { type: 'keyword' }, v: { type: 'long' } } },
  },
};

interface Doc {
  uid: number;
  tag?: string | string[];
  color?: string;
  n?: number | number[];
  price?: number;
  ts?: number | string;
  ok?: boolean;
  items?: { k: string; v: number }[];
}

/** What a shard's answer looks like on the coordinating node: through the wire codec. */
const wire = (r: ShardAggsResult | undefined): ShardAggsResult => {
  expect(r).toBeDefined();
  return decode(encode(r)) as ShardAggsResult;
};

/** An engine error as a comparable value, so that "both fail the same way" is a checkable outcome. */
function outcome(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EngineError) return { error: e.type };
    throw e;
  }
}

function engineWith(docs: readonly Doc[], refreshAfter: (i: number) => boolean, mappings: Mappings | undefined = MAPPINGS): ShardEngine {
  const e = new ShardEngine({ mappings, durability: 'async' });
  docs.forEach((d, i) => {
    e.index(String(d.uid), d as unknown as Record<string, unknown>);
    if (refreshAfter(i)) e.refresh();
  });
  e.refresh();
  return e;
}

/** Runs `body` (with aggs) on every shard with partial output and reduces, as the coordinator does. */
function distributed(shards: readonly ShardEngine[], body: Any): unknown {
  return outcome(() => {
    const results = shards.map((s) => wire(s.search({ ...body, partial_aggs: true }).partial_aggregations));
    return reduceShardAggs(body.aggs, results);
  });
}

// ---------- generators ----------

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });

const docArb = fc.record(
  {
    tag: fc.oneof(fc.constantFrom(...TAGS), fc.uniqueArray(fc.constantFrom(...TAGS), { minLength: 1, maxLength: 3 })),
    color: fc.constantFrom(...COLORS),
    n: fc.oneof(fc.integer({ min: -30, max: 30 }), fc.array(fc.integer({ min: -30, max: 30 }), { minLength: 1, maxLength: 3 })),
    // Multiples of 1/4 and whole milliseconds: every sum is exact in float64 whatever the order,
    // so sum/avg/stats must be bit-identical however the docs are split.
    price: fc.integer({ min: -400, max: 4000 }).map((q) => q / 4),
    ts: fc.integer({ min: 0, max: 90 * DAY }).chain((ms) => fc.constantFrom<number | string>(BASE + ms, new Date(BASE + ms).toISOString())),
    ok: fc.boolean(),
    items: fc.array(fc.record({ k: fc.constantFrom('k0', 'k1', 'k2', 'k3'), v: fc.integer({ min: -20, max: 20 }) }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

interface Corpus {
  docs: Doc[];
  shards: number;
  shardOf: number[];
  refresh: boolean[];
}

const corpusArb: fc.Arbitrary<Corpus> = fc
  .record({
    raw: fc.array(fc.record({ doc: docArb, shard: fc.nat(7), refresh: fc.integer({ min: 0, max: 11 }) }), { maxLength: 120, size: 'max' }),
    shards: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ raw, shards }) => ({
    docs: raw.map((r, uid) => ({ uid, ...r.doc })),
    shards,
    shardOf: raw.map((r) => r.shard % shards),
    refresh: raw.map((r) => r.refresh === 0),
  }));

const queryArb = fc.constantFrom<unknown>(
  undefined,
  { range: { n: { gte: -10 } } },
  { term: { color: 'red' } },
  { bool: { must_not: [{ term: { tag: 't1' } }] } },
);

const numericField = fc.constantFrom('n', 'price', 'ts');

const metricArb: fc.Arbitrary<Any> = fc.oneof(
  fc.record({
    type: fc.constantFrom('min', 'max', 'sum', 'avg', 'stats'),
    field: numericField,
    missing: maybe(fc.integer({ min: -5, max: 5 })),
  }).map(({ type, field, missing }) => ({ [type]: { field, ...(missing === undefined ? {} : { missing }) } })),
  fc.record({ field: numericField, missing: maybe(fc.integer({ min: -5, max: 5 })), sigma: maybe(fc.constantFrom(0, 1, 2.5)) }).map(
    ({ field, missing, sigma }) => ({
      extended_stats: { field, ...(missing === undefined ? {} : { missing }), ...(sigma === undefined ? {} : { sigma }) },
    }),
  ),
  // A corpus holds at most 360 values, under 5 · compression: the digests stay exact, so the
  // reduce must equal one engine exactly (the compressed case has its own test below).
  fc.record({
    field: numericField,
    percents: maybe(fc.constantFrom([50], [0, 12.5, 99.9, 100], [75, 25])),
    keyed: maybe(fc.boolean()),
    missing: maybe(fc.integer({ min: -5, max: 5 })),
    compression: maybe(fc.constantFrom(80, 300)),
  }).map(({ field, percents, keyed, missing, compression }) => ({
    percentiles: {
      field,
      ...(percents === undefined ? {} : { percents }),
      ...(keyed === undefined ? {} : { keyed }),
      ...(missing === undefined ? {} : { missing }),
      ...(compression === undefined ? {} : { tdigest: { compression } }),
    },
  })),
  fc.record({
    field: fc.constantFrom('n', 'price'),
    values: fc.array(fc.integer({ min: -40, max: 1000 }), { minLength: 1, maxLength: 3 }),
    keyed: maybe(fc.boolean()),
    missing: maybe(fc.integer({ min: -5, max: 5 })),
  }).map(({ field, values, keyed, missing }) => ({
    percentile_ranks: { field, values, ...(keyed === undefined ? {} : { keyed }), ...(missing === undefined ? {} : { missing }) },
  })),
  fc.constantFrom('n', 'tag', 'ts').map((field) => ({ value_count: { field } })),
  fc.record({ field: fc.constantFrom('tag', 'n', 'uid', 'color', 'price'), t: fc.constantFrom(undefined, 5, 40, 3000) }).map(({ field, t }) => ({
    cardinality: { field, ...(t === undefined ? {} : { precision_threshold: t }) },
  })),
  fc.record({
    size: fc.integer({ min: 1, max: 3 }),
    from: fc.integer({ min: 0, max: 1 }),
    // A total order (uid is unique): shards break ties differently from one engine otherwise.
    sort: fc.constantFrom<unknown[]>([{ n: { order: 'desc' } }, { uid: 'asc' }], [{ price: { order: 'asc', missing: '_first' } }, { uid: 'desc' }], ['uid']),
    source: fc.constantFrom<unknown>(undefined, false, { includes: ['uid', 'n'] }),
  }).map(({ size, from, sort, source }) => ({ top_hits: { size, from, sort, ...(source === undefined ? {} : { _source: source }) } })),
);

// ---------- composite sources, with a reference for each ----------

const HOUR = 3_600_000;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const epochOf = (ts: number | string): number => (typeof ts === 'number' ? ts : Date.parse(ts));

/** One composite source: its definition, how a doc's values become key values, and values for `after`. */
interface SourceCase {
  def: Any;
  values: (d: Doc) => (string | number)[];
  show: (v: string | number) => unknown;
  dir: 'asc' | 'desc';
  missingBucket: boolean;
  after: fc.Arbitrary<unknown>;
}

type SourceKind = Omit<SourceCase, 'dir' | 'missingBucket' | 'def'> & { type: string; params: Any };

const same = (v: string | number): unknown => v;

const termsKinds: SourceKind[] = [
  { type: 'terms', params: { field: 'tag' }, values: (d) => asArray(d.tag), show: same, after: fc.constantFrom(...TAGS, 't', 'u') },
  { type: 'terms', params: { field: 'color' }, values: (d) => asArray(d.color), show: same, after: fc.constantFrom(...COLORS) },
  { type: 'terms', params: { field: 'n' }, values: (d) => asArray(d.n), show: same, after: fc.integer({ min: -31, max: 31 }) },
  // Booleans are keyed true/false (stored as 1/0, which sets their order).
  { type: 'terms', params: { field: 'ok' }, values: (d) => (d.ok === undefined ? [] : [d.ok ? 1 : 0]), show: (v) => v !== 0, after: fc.boolean() },
  { type: 'terms', params: { field: 'ts' }, values: (d) => (d.ts === undefined ? [] : [epochOf(d.ts)]), show: same, after: fc.integer({ min: BASE, max: BASE + 90 * DAY }) },
];

const histogramKindArb: fc.Arbitrary<SourceKind> = fc
  .constantFrom<[('n' | 'price'), number]>(['n', 1], ['n', 5], ['n', 7.5], ['price', 50], ['price', 125.5])
  .map(([field, interval]) => ({
    type: 'histogram',
    params: { field, interval },
    values: (d: Doc) => asArray(d[field]).map((v) => Math.floor(v / interval) * interval + 0),
    show: same,
    after: fc.integer({ min: -40, max: 1000 }),
  }));

/** Start of the date_histogram bucket holding `t` (written out here, independently of dates.ts). */
function bucketStart(t: number, interval: string, tz: number, offset: number): number {
  const local = t + tz - offset;
  let start: number;
  switch (interval) {
    case 'day':
      start = Math.floor(local / DAY) * DAY;
      break;
    case 'week': {
      const days = Math.floor(local / DAY);
      start = (days - ((((days + 3) % 7) + 7) % 7)) * DAY; // weeks start on Monday; 1970-01-01 was a Thursday
      break;
    }
    case 'month': {
      const d = new Date(local);
      start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      break;
    }
    case '7d':
      start = Math.floor(local / (7 * DAY)) * 7 * DAY;
      break;
    default: // 36h
      start = Math.floor(local / (36 * HOUR)) * 36 * HOUR;
  }
  return start - tz + offset;
}

const dateKindArb: fc.Arbitrary<SourceKind> = fc
  .record({
    interval: fc.constantFrom('day', 'week', 'month', '7d', '36h'),
    tz: fc.constantFrom<[number, string | undefined]>([0, undefined], [5.5 * HOUR, '+05:30'], [-3 * HOUR, '-03:00']),
    offset: fc.constantFrom<[number, string | undefined]>([0, undefined], [6 * HOUR, '+6h']),
    format: fc.constantFrom(undefined, 'epoch_millis', "yyyy-MM-dd'T'HH:mm", 'yyyy-MM-dd'),
  })
  .map(({ interval, tz: [tz, timeZone], offset: [offset, offsetText], format: wanted }) => {
    // A day-only format reads back to the bucket start only when buckets start at local midnight.
    const format = wanted === 'yyyy-MM-dd' && (offset !== 0 || interval === '36h') ? "yyyy-MM-dd'T'HH:mm" : wanted;
    const show = (v: string | number): unknown => {
      const ms = v as number;
      if (format === undefined) return ms;
      if (format === 'epoch_millis') return String(ms);
      const iso = new Date(ms + tz).toISOString();
      return format === 'yyyy-MM-dd' ? iso.slice(0, 10) : iso.slice(0, 16);
    };
    return {
      type: 'date_histogram',
      params: {
        field: 'ts',
        ...(interval === '7d' || interval === '36h' ? { fixed_interval: interval } : { calendar_interval: interval }),
        ...(timeZone ? { time_zone: timeZone } : {}),
        ...(offsetText ? { offset: offsetText } : {}),
        ...(format ? { format } : {}),
      },
      values: (d: Doc) => (d.ts === undefined ? [] : [bucketStart(epochOf(d.ts), interval, tz, offset)]),
      show,
      after: fc.integer({ min: BASE - 5 * DAY, max: BASE + 95 * DAY }).map((t) => show(t)),
    };
  });

const sourceCaseArb: fc.Arbitrary<SourceCase> = fc
  .record({
    kind: fc.oneof({ arbitrary: fc.constantFrom(...termsKinds), weight: 3 }, histogramKindArb, dateKindArb),
    dir: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
    missingBucket: fc.boolean(),
  })
  .map(({ kind: { type, params, values, show, after }, dir, missingBucket }) => ({
    def: { [type]: { ...params, ...(dir === 'desc' ? { order: 'desc' } : {}), ...(missingBucket ? { missing_bucket: true } : {}) } },
    values,
    show,
    dir,
    missingBucket,
    after: missingBucket ? fc.oneof(after, fc.constant(null)) : after,
  }));

/** Every composite bucket of `docs`, in composite order: group by the tuple of key values, count. */
function compositeReference(docs: readonly Doc[], cases: readonly SourceCase[]): { key: Any; doc_count: number }[] {
  const groups = new Map<string, { k: (string | number | null)[]; n: number }>();
  for (const d of docs) {
    let tuples: (string | number | null)[][] = [[]];
    for (const c of cases) {
      const vs = [...new Set(c.values(d))];
      const list = vs.length > 0 ? vs : c.missingBucket ? [null] : [];
      tuples = tuples.flatMap((t) => list.map((v) => [...t, v]));
    }
    for (const k of tuples) {
      const id = JSON.stringify(k);
      const g = groups.get(id) ?? { k, n: 0 };
      g.n++;
      groups.set(id, g);
    }
  }
  const compare = (a: (string | number | null)[], b: (string | number | null)[]): number => {
    for (let i = 0; i < cases.length; i++) {
      const { dir } = cases[i]!;
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      // The missing bucket is first ascending, last descending.
      if (x === null) return dir === 'asc' ? -1 : 1;
      if (y === null) return dir === 'asc' ? 1 : -1;
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : Buffer.compare(Buffer.from(String(x)), Buffer.from(String(y)));
      return dir === 'asc' ? c : -c;
    }
    return 0;
  };
  return [...groups.values()]
    .sort((a, b) => compare(a.k, b.k))
    .map(({ k, n }) => ({ key: Object.fromEntries(cases.map((c, i) => [`s${i}`, k[i] === null ? null : c.show(k[i]!)])), doc_count: n }));
}

const compositeSourcesArb = fc.array(sourceCaseArb, { minLength: 1, maxLength: 3 });
const compositeSources = (cases: readonly SourceCase[]): Any[] => cases.map((c, i) => ({ [`s${i}`]: c.def }));

/** The sub-aggregations that bucket orders read: `m`, `pm.50`, `em.std_deviation`, `em.variance`. */
const ORDER_SUBS: Any = {
  m: { max: { field: 'price' } },
  pm: { percentiles: { field: 'price', percents: [50] } },
  em: { extended_stats: { field: 'n' } },
};
const readsOrderSubs = (order: unknown): boolean => order !== undefined && /"(m"|pm\.|em\.)/.test(JSON.stringify(order));

/**
 * A bucket aggregation without its sub-aggregations; `needsM` when its order reads the
 * sub-aggregations of `ORDER_SUBS`. Terms take `min_doc_count: 0` at the top level only: below a bucket, a shard that has no doc
 * in that bucket contributes none of its zero-count terms (as in Elasticsearch), so the result
 * depends on the split.
 */
const bucketArb = (depth: number): fc.Arbitrary<{ def: Any; needsM: boolean }> => fc.oneof(
  // terms: shard_size (size × 1.5 + 10 ≥ 130) covers every term, so counts must be exact.
  fc.record({
    field: fc.constantFrom('tag', 'color', 'n', 'ok'),
    order: fc.constantFrom<unknown>(
      undefined,
      { _count: 'asc' },
      { m: 'desc' },
      [{ m: 'asc' }, { _key: 'desc' }],
      { 'pm.50': 'desc' },
      [{ 'em.std_deviation': 'asc' }, { _count: 'desc' }],
    ),
    min: fc.integer({ min: depth === 0 ? 0 : 1, max: 3 }),
    missing: fc.boolean(),
    err: fc.boolean(),
  }).map(({ field, order, min, missing, err }) => ({
    def: {
      terms: {
        field,
        size: 80,
        min_doc_count: min,
        ...(order === undefined ? {} : { order }),
        ...(missing ? { missing: field === 'tag' || field === 'color' ? 'none' : -99 } : {}),
        ...(err ? { show_term_doc_count_error: true } : {}),
      },
    },
    needsM: readsOrderSubs(order),
  })),
  // terms by key with a small size: shards return their first shard_size keys, which is exact.
  fc.record({ field: fc.constantFrom('tag', 'n'), dir: fc.constantFrom('asc', 'desc'), size: fc.integer({ min: 1, max: 6 }), min: fc.integer({ min: depth === 0 ? 0 : 1, max: 1 }) }).map(
    ({ field, dir, size, min }) => ({ def: { terms: { field, size, min_doc_count: min, order: { _key: dir } } }, needsM: false }),
  ),
  fc.record({
    f: fc.constantFrom<[string, number[]]>(['n', [1, 5, 7.5]], ['price', [50, 125.5]]),
    pick: fc.nat(2),
    offset: fc.constantFrom(0, 2),
    min: fc.integer({ min: 0, max: 2 }),
    bounds: fc.boolean(),
    order: fc.constantFrom<unknown>(undefined, { _count: 'desc' }, { _key: 'desc' }, { 'em.variance': 'desc' }),
    keyed: fc.boolean(),
  }).map(({ f: [field, intervals], pick, offset, min, bounds, order, keyed }) => ({
    def: {
      histogram: {
        field,
        interval: intervals[pick % intervals.length],
        offset,
        min_doc_count: min,
        ...(bounds ? { extended_bounds: { min: -45, max: 60 } } : {}),
        ...(order === undefined ? {} : { order }),
        ...(keyed ? { keyed: true } : {}),
      },
    },
    needsM: readsOrderSubs(order),
  })),
  fc.record({
    interval: fc.constantFrom<Any>({ calendar_interval: 'day' }, { calendar_interval: 'week' }, { calendar_interval: 'month' }, { fixed_interval: '36h' }, { fixed_interval: '7d' }),
    min: fc.integer({ min: 0, max: 2 }),
    tz: fc.constantFrom(undefined, '+05:30', '-03:00'),
    bounds: fc.boolean(),
    format: fc.constantFrom(undefined, 'yyyy-MM-dd', 'epoch_millis'),
  }).map(({ interval, min, tz, bounds, format }) => ({
    def: {
      date_histogram: {
        field: 'ts',
        ...interval,
        min_doc_count: min,
        ...(tz ? { time_zone: tz } : {}),
        ...(bounds ? { extended_bounds: { min: BASE - 10 * DAY, max: BASE + 100 * DAY } } : {}),
        ...(format ? { format } : {}),
      },
    },
    needsM: false,
  })),
  fc.record({
    field: numericField,
    ranges: fc.array(fc.record({ from: maybe(fc.integer({ min: -40, max: 1000 })), to: maybe(fc.integer({ min: -40, max: 1000 })) }, { requiredKeys: [] }), { minLength: 1, maxLength: 4 }),
    keyed: fc.boolean(),
  }).map(({ field, ranges, keyed }) => {
    const scale = field === 'ts' ? (v: number) => BASE + v * 2 * 3_600_000 : (v: number) => v;
    const rs = ranges.map((r, i) => ({
      key: `r${i}`,
      ...(r.from === undefined ? {} : { from: scale(r.from) }),
      ...(r.to === undefined ? {} : { to: scale(r.to) }),
    }));
    return { def: { range: { field, ranges: rs, ...(keyed ? { keyed: true } : {}) } }, needsM: false };
  }),
  fc.record({ named: fc.boolean(), other: fc.boolean() }).map(({ named, other }) => ({
    def: {
      filters: {
        filters: named ? { reds: { term: { color: 'red' } }, neg: { range: { n: { lt: 0 } } } } : [{ term: { tag: 't2' } }, { exists: { field: 'price' } }],
        ...(other ? { other_bucket_key: 'rest' } : {}),
      },
    },
    needsM: false,
  })),
  fc.constant({ def: { filter: { term: { tag: 't3' } } }, needsM: false }),
  // nested: buckets over the objects of `items`, and back to their parents with reverse_nested.
  fc.record({ size: fc.integer({ min: 1, max: 5 }), filtered: fc.boolean() }).map(({ size, filtered }) => ({
    def: {
      nested: { path: 'items' },
      aggs: {
        k: { terms: { field: 'items.k', size }, aggs: { v: { stats: { field: 'items.v' } }, back: { reverse_nested: {}, aggs: { c: { terms: { field: 'color' } }, p: { sum: { field: 'price' } } } } } },
        ...(filtered ? { pos: { filter: { range: { 'items.v': { gt: 0 } } }, aggs: { back: { reverse_nested: {} } } } } : {}),
      },
    },
    needsM: false,
  })),
  fc.constantFrom('n', 'tag').map((field) => ({ def: { missing: { field } }, needsM: false })),
  // composite only at the top level (refused under a bucket, as in Elasticsearch); a small size
  // cuts every shard's list, and a random `after` pages from anywhere.
  ...(depth === 0
    ? [
        compositeSourcesArb.chain((cases) =>
          fc.record({ size: fc.integer({ min: 1, max: 12 }), after: fc.option(fc.tuple(...cases.map((c) => c.after)), { nil: undefined }) }).map(({ size, after }) => ({
            def: {
              composite: {
                size,
                sources: compositeSources(cases),
                ...(after === undefined ? {} : { after: Object.fromEntries(after.map((v, i) => [`s${i}`, v])) }),
              },
            },
            needsM: false,
          })),
        ),
      ]
    : []),
);

/** An aggregations object: bucket aggregations nest twice at most, then metrics only. */
function aggsArb(depth: number): fc.Arbitrary<Any> {
  const one: fc.Arbitrary<Any> =
    depth >= 2
      ? metricArb
      : fc.oneof(
          { arbitrary: metricArb, weight: 1 },
          {
            arbitrary: fc.tuple(bucketArb(depth), fc.option(aggsArb(depth + 1), { nil: undefined, freq: 2 })).map(([{ def, needsM }, subs]) => {
              // A nested aggregation keeps its own sub-aggregations (on the objects' fields): the drawn
              // ones read root fields, absent there, and top_hits would tie on its uid sort.
              const aggs: Any = def.nested ? def.aggs : { ...(subs ?? {}) };
              if (needsM) Object.assign(aggs, ORDER_SUBS);
              return Object.keys(aggs).length > 0 ? { ...def, aggs } : def;
            }),
            weight: 2,
          },
        );
  return fc.array(one, { minLength: 1, maxLength: depth === 0 ? 4 : 2 }).map((list) => Object.fromEntries(list.map((def, i) => [`a${i}`, def])));
}

// ---------- tests ----------

describe('distributed aggregations: shard partials reduced on the coordinating node', () => {
  it('N shards reduced equal one engine holding every document (every aggregation type, nested)', () => {
    fc.assert(
      fc.property(corpusArb, queryArb, aggsArb(0), (corpus, query, aggs) => {
        const body: Any = { size: 0, aggs, ...(query === undefined ? {} : { query }) };
        const refreshAt = (i: number) => corpus.refresh[i]!;
        const whole = engineWith(corpus.docs, refreshAt);
        const parts = Array.from({ length: corpus.shards }, (_, s) => corpus.docs.filter((_, i) => corpus.shardOf[i] === s));
        const shards = parts.map((docs) => engineWith(docs, (i) => i % 5 === 4));
        const expected = outcome(() => whole.search(body).aggregations);
        // One shard through partial + reduce renders exactly what the shard renders alone.
        expect(distributed([whole], body)).toEqual(expected);
        // Cardinality is compared exactly too: below precision_threshold the sketches are hash
        // sets (their union is exact) and above it registers merge by max, which is lossless, so
        // the merged sketch is the sketch of the union. Its error is only the HLL error against
        // the true count (checked in its own test below).
        expect(distributed(shards, body)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('nested and reverse_nested under bucket aggregations merge across shards as on one engine', () => {
    const aggs = {
      c: { terms: { field: 'color' }, aggs: { objs: { nested: { path: 'items' }, aggs: { k: { terms: { field: 'items.k' }, aggs: { back: { reverse_nested: {}, aggs: { p: { sum: { field: 'price' } } } } } } } } } },
      h: { histogram: { field: 'price', interval: 500 }, aggs: { objs: { nested: { path: 'items' }, aggs: { v: { stats: { field: 'items.v' } } } } } },
    };
    fc.assert(
      fc.property(corpusArb, queryArb, (corpus, query) => {
        const body: Any = { size: 0, aggs, ...(query === undefined ? {} : { query }) };
        const whole = engineWith(corpus.docs, (i) => corpus.refresh[i]!);
        const shards = Array.from({ length: corpus.shards }, (_, s) => engineWith(corpus.docs.filter((_, i) => corpus.shardOf[i] === s), (i) => i % 5 === 4));
        const expected = outcome(() => whole.search(body).aggregations);
        expect(distributed(shards, body)).toEqual(expected);
        // An intermediate reduce (mergeAggs) of part of the shards first gives the same.
        const results = shards.map((e) => wire(e.search({ ...body, partial_aggs: true }).partial_aggregations));
        const types: Record<string, string> = Object.assign({}, ...results.map((r) => r.field_types));
        const nodes = parseAggs(aggs, { fieldType: (f) => types[f] });
        const half = Math.ceil(results.length / 2);
        const merged = [mergeAggs(nodes, results.slice(0, half).map((r) => r.partials)), mergeAggs(nodes, results.slice(half).map((r) => r.partials))];
        expect(reduceAggs(nodes, merged.map((m) => decode(encode(m)) as typeof m))).toEqual(expected);
      }),
      { numRuns: 100, seed: 5150 },
    );
  });

  it('composite: paging with after until exhausted visits every bucket of a reference grouping once, on one engine and on N shards', () => {
    const queries: [unknown, (d: Doc) => boolean][] = [
      [undefined, () => true],
      [{ term: { color: 'red' } }, (d) => d.color === 'red'],
      [{ range: { n: { gte: -10 } } }, (d) => asArray(d.n).some((v) => v >= -10)],
    ];
    fc.assert(
      fc.property(corpusArb, fc.nat(queries.length - 1), compositeSourcesArb, fc.integer({ min: 1, max: 30 }), (corpus, q, cases, size0) => {
        const [query, matches] = queries[q]!;
        const want = compositeReference(corpus.docs.filter(matches), cases);
        // At most ~15 pages per run, so that 200 runs stay quick; small sizes still page a lot.
        const size = Math.max(size0, Math.ceil(want.length / 15));
        const whole = engineWith(corpus.docs, (i) => corpus.refresh[i]!);
        const shards = Array.from({ length: corpus.shards }, (_, s) => engineWith(corpus.docs.filter((_, i) => corpus.shardOf[i] === s), (i) => i % 5 === 4));
        const searches: ((body: Any) => unknown)[] = [
          (body) => whole.search(body).aggregations,
          (body) => reduceShardAggs(body.aggs, shards.map((e) => wire(e.search({ ...body, partial_aggs: true }).partial_aggregations))),
        ];
        for (const search of searches) {
          const got: unknown[] = [];
          let after: Any | undefined;
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(16);
            const composite = { size, sources: compositeSources(cases), ...(after ? { after } : {}) };
            const r = (search({ size: 0, aggs: { c: { composite } }, ...(query === undefined ? {} : { query }) }) as Any).c as Any;
            expect(r.buckets.length).toBeLessThanOrEqual(size);
            got.push(...r.buckets);
            if (r.buckets.length === 0) {
              expect(r).toEqual({ buckets: [] });
              break;
            }
            expect(r.after_key).toEqual(r.buckets.at(-1).key);
            // The next page starts from what the client got back (through JSON).
            after = JSON.parse(JSON.stringify(r.after_key)) as Any;
          }
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 200, seed: 20240611 },
    );
  });

  it('terms with a shard_size that truncates: counts are lower bounds within doc_count_error_upper_bound, totals add up', () => {
    // Skewed terms (t0 most frequent) so that the shards' top lists disagree.
    const tagArb = fc.integer({ min: 0, max: 24 * 24 - 1 }).map((x) => `t${Math.floor(Math.sqrt(x))}`);
    fc.assert(
      fc.property(
        fc.array(fc.record({ tags: fc.uniqueArray(tagArb, { minLength: 0, maxLength: 2 }), shard: fc.nat(7) }), { minLength: 1, maxLength: 150, size: 'max' }),
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        (raw, nShards, size, extra) => {
          const docs: Doc[] = raw.map((r, uid) => ({ uid, tag: r.tags }));
          const shardDocs = Array.from({ length: nShards }, (_, s) => docs.filter((_, i) => raw[i]!.shard % nShards === s));
          const shards = shardDocs.map((d) => engineWith(d, () => false));
          const whole = engineWith(docs, () => false);
          const shardSize = size + extra;
          const aggs = { t: { terms: { field: 'tag', size, shard_size: shardSize, show_term_doc_count_error: true } } };
          const got = distributed(shards, { size: 0, aggs }) as Any;
          const truth = new Map<string, number>(
            (whole.search({ size: 0, aggs: { t: { terms: { field: 'tag', size: 1000 } } } }).aggregations!.t as Any).buckets.map((b: Any) => [b.key, b.doc_count]),
          );
          const pairs = [...truth.values()].reduce((a, b) => a + b, 0);
          const t = got.t as Any;
          const topErr: number = t.doc_count_error_upper_bound;
          expect(topErr).toBeGreaterThanOrEqual(0);
          expect(t.buckets).toHaveLength(Math.min(size, truth.size));
          let returned = 0;
          for (const b of t.buckets) {
            const real = truth.get(b.key)!;
            expect(b.doc_count).toBeLessThanOrEqual(real);
            expect(real - b.doc_count).toBeLessThanOrEqual(b.doc_count_error_upper_bound);
            expect(b.doc_count_error_upper_bound).toBeLessThanOrEqual(topErr);
            returned += b.doc_count;
          }
          // Every (doc, term) pair is either in a returned bucket or in sum_other_doc_count.
          expect(returned + t.sum_other_doc_count).toBe(pairs);
          // A term left out can have lost at most the error: it can't beat the last bucket by more.
          const last = t.buckets.at(-1)?.doc_count ?? 0;
          const keys = new Set(t.buckets.map((b: Any) => b.key));
          for (const [k, c] of truth) if (!keys.has(k)) expect(c).toBeLessThanOrEqual(last + topErr);
          // Where every shard returned all of its terms, the result is exact and equals one engine's.
          const perShardTerms = shardDocs.map((d) => new Set(d.flatMap((x) => x.tag as string[])).size);
          if (perShardTerms.every((c) => c <= shardSize)) {
            expect(topErr).toBe(0);
            expect(got).toEqual(whole.search({ size: 0, aggs }).aggregations);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('terms error bounds on a fixed example: a term missed by one shard', () => {
    // Shard A: a×5 b×4 c×1; shard B: c×4 b×3 a×1 (shard_size 2 cuts c on A and a on B).
    const mk = (uid0: number, counts: Record<string, number>): Doc[] =>
      Object.entries(counts).flatMap(([tag, c]) => Array.from({ length: c }, () => ({ uid: 0, tag }))).map((d, i) => ({ ...d, uid: uid0 + i }));
    const shards = [engineWith(mk(0, { a: 5, b: 4, c: 1 }), () => false), engineWith(mk(100, { c: 4, b: 3, a: 1 }), () => false)];
    const got = distributed(shards, { size: 0, aggs: { t: { terms: { field: 'tag', size: 2, shard_size: 2, show_term_doc_count_error: true } } } }) as Any;
    // Shard errors: A's last returned count (4) + B's (3) = 7. b came from both shards: exact.
    // a is missing from B, whose error bounds it by 3; c from A, bounded by 4.
    expect(got.t).toEqual({
      doc_count_error_upper_bound: 7,
      sum_other_doc_count: 1 + 1 + 4,
      buckets: [
        { key: 'b', doc_count: 7, doc_count_error_upper_bound: 0 },
        { key: 'a', doc_count: 5, doc_count_error_upper_bound: 3 },
      ],
    });
  });

  it('cardinality: merged sketches stay within HyperLogLog error of the true count and equal one engine', () => {
    // 6000 distinct values, a third of them indexed on two shards (the union must not double count).
    const docs: Doc[] = [];
    for (let v = 0; v < 6000; v++) {
      docs.push({ uid: v, n: v * 7919 });
      if (v % 3 === 0) docs.push({ uid: 100_000 + v, n: v * 7919 });
    }
    const shardOf = (i: number) => (i * 2654435761) % 4;
    const shards = [0, 1, 2, 3].map((s) => engineWith(docs.filter((_, i) => shardOf(i) === s), () => false));
    const whole = engineWith(docs, () => false);
    for (const threshold of [100, 3000, 8000]) {
      const body = { size: 0, aggs: { c: { cardinality: { field: 'n', precision_threshold: threshold } } } };
      const got = (distributed(shards, body) as Any).c.value as number;
      expect(got).toBe((whole.search(body).aggregations!.c as Any).value);
      if (threshold === 8000) expect(got).toBe(6000); // below the threshold: exact hash sets
      else {
        // HLL++ standard error is 1.04 / sqrt(m); m = 2^p with p from the threshold (ES's rule).
        const p = Math.min(18, Math.max(4, Math.ceil(Math.log2(Math.ceil(threshold / 0.75) * 4 + 1))));
        const stdErr = 1.04 / Math.sqrt(2 ** p);
        expect(Math.abs(got - 6000)).toBeLessThanOrEqual(3 * stdErr * 6000);
      }
    }
  });

  it('percentiles past 5 · compression values: merged digests within the t-digest bound of one engine and of the truth; extended_stats equal up to rounding', () => {
    // 6000 docs, skewed prices that are not exact in binary, over 4 shards that refresh at different points.
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 2147483647) / 2147483647);
    const docs: Doc[] = Array.from({ length: 6000 }, (_, uid) => ({
      uid,
      color: COLORS[uid % 3]!,
      price: Math.exp(rnd() * 8) / 3,
      ts: BASE + Math.floor(rnd() * 90 * DAY),
    }));
    const shards = [0, 1, 2, 3].map((s) => engineWith(docs.filter((d) => (d.uid * 7) % 4 === s), (i) => i % 700 === 699));
    const whole = engineWith(docs, (i) => i % 1000 === 999);
    const percents = [0, 1, 25, 50, 90, 99, 99.9, 100];
    const probes = [1, 10, 100, 1000];
    const metrics = {
      p: { percentiles: { field: 'price', percents, keyed: false } },
      r: { percentile_ranks: { field: 'price', values: probes, keyed: false } },
      e: { extended_stats: { field: 'price' } },
      et: { extended_stats: { field: 'ts' } },
    };
    const body = { size: 0, aggs: { ...metrics, c: { terms: { field: 'color' }, aggs: metrics } } };
    const got = distributed(shards, body) as Any;
    const one = whole.search(body).aggregations as Any;
    /** Three centroid spans under k1 plus one value (see engine-tdigest.test.ts). */
    const tol = (q: number, n: number) => (3 * 2 * Math.PI * Math.sqrt(q * (1 - q))) / 100 + 1 / n;
    const check = (g: Any, o: Any, prices: number[]) => {
      const sorted = [...prices].sort((a, b) => a - b);
      const n = sorted.length;
      expect(n).toBeGreaterThan(500);
      const rankOf = (v: number): [number, number] => [sorted.filter((x) => x < v).length, sorted.filter((x) => x <= v).length];
      g.p.values.forEach(({ key, value }: Any, i: number) => {
        const q = key / 100;
        for (const answer of [value, o.p.values[i].value]) {
          const [below, atMost] = rankOf(answer);
          expect(Math.max(0, below - q * n, q * n - atMost) / n, `p${key}`).toBeLessThanOrEqual(tol(q, n));
        }
      });
      expect(g.p.values[0].value).toBe(sorted[0]);
      expect(g.p.values.at(-1).value).toBe(sorted[n - 1]);
      g.r.values.forEach(({ key, value }: Any, i: number) => {
        const truth = rankOf(key)[1] / n;
        expect(Math.abs(value / 100 - truth), `rank of ${key}`).toBeLessThanOrEqual(tol(truth, n));
        expect(Math.abs(o.r.values[i].value / 100 - truth)).toBeLessThanOrEqual(tol(truth, n));
      });
      // extended_stats: same count, min and max; sums and what follows from them equal up to rounding.
      for (const name of ['e', 'et']) {
        expect([g[name].count, g[name].min, g[name].max]).toEqual([o[name].count, o[name].min, o[name].max]);
        for (const k of ['avg', 'sum', 'sum_of_squares', 'variance', 'variance_sampling', 'std_deviation', 'std_deviation_sampling']) {
          expect(Math.abs(g[name][k] - o[name][k]), `${name}.${k}`).toBeLessThanOrEqual(Math.abs(o[name][k]) * 1e-12);
        }
        for (const k of Object.keys(o[name].std_deviation_bounds)) {
          expect(Math.abs(g[name].std_deviation_bounds[k] - o[name].std_deviation_bounds[k])).toBeLessThanOrEqual(Math.abs(o[name].std_deviation_bounds[k]) * 1e-12);
        }
      }
      const mean = prices.reduce((a, b) => a + b, 0) / n;
      const variance = prices.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
      expect(Math.abs(g.e.variance - variance)).toBeLessThanOrEqual(variance * 1e-9);
    };
    check(got, one, docs.map((d) => d.price!));
    for (const b of got.c.buckets) {
      check(b, one.c.buckets.find((x: Any) => x.key === b.key), docs.filter((d) => d.color === b.key).map((d) => d.price!));
    }
  });

  it('parses with the field types the shards report: a shard that never saw a field does not lose its formats', () => {
    // Dynamic mappings: only shard 1 has seen `when` (a date); shard 0 has no `when`, shard 2 no docs.
    const s0 = new ShardEngine();
    s0.index('a', { k: 'x', v: 1 });
    s0.refresh();
    const s1 = new ShardEngine();
    s1.index('b', { k: 'y', v: 2, when: '2024-03-05T10:00:00Z' });
    s1.index('c', { k: 'x', v: 4, when: '2024-05-20T00:00:00Z' });
    s1.refresh();
    const s2 = new ShardEngine();
    const whole = new ShardEngine();
    whole.index('a', { k: 'x', v: 1 });
    whole.index('b', { k: 'y', v: 2, when: '2024-03-05T10:00:00Z' });
    whole.index('c', { k: 'x', v: 4, when: '2024-05-20T00:00:00Z' });
    whole.refresh();
    const aggs = {
      months: { date_histogram: { field: 'when', calendar_interval: 'month', format: 'yyyy-MM' }, aggs: { v: { avg: { field: 'v' } } } },
      first: { min: { field: 'when' } },
      // Keys print as dates (the coordinator's parse knows `when` is a date, though shard 0 does not).
      spans: { range: { field: 'when', ranges: [{ to: Date.UTC(2024, 3, 1) }, { from: Date.UTC(2024, 3, 1) }] } },
      k: { terms: { field: 'k.keyword' }, aggs: { c: { cardinality: { field: 'v' } } } },
    };
    const partial = s0.search({ size: 0, aggs, partial_aggs: true });
    expect(partial.aggregations).toBeUndefined();
    expect(partial.partial_aggregations!.field_types).toEqual({ 'k.keyword': 'keyword', v: 'long' });
    expect(s1.search({ size: 0, aggs }).partial_aggregations).toBeUndefined();
    const got = distributed([s0, s2, s1], { size: 0, aggs }) as Any;
    expect(got).toEqual(whole.search({ size: 0, aggs }).aggregations);
    expect(got.months.buckets.map((b: Any) => [b.key_as_string, b.doc_count, b.v.value])).toEqual([
      ['2024-03', 1, 2],
      ['2024-04', 0, null],
      ['2024-05', 1, 4],
    ]);
    expect(got.first.value_as_string).toBe('2024-03-05T10:00:00.000Z');
    expect(got.spans.buckets.map((b: Any) => [b.key, b.doc_count])).toEqual([
      ['*-2024-04-01T00:00:00.000Z', 1],
      ['2024-04-01T00:00:00.000Z-*', 1],
    ]);
    expect(got.k.buckets).toEqual([
      { key: 'x', doc_count: 2, c: { value: 2 } },
      { key: 'y', doc_count: 1, c: { value: 1 } },
    ]);
    expect(outcome(() => s0.search({ aggs, partial_aggs: 'yes' }))).toEqual({ error: 'parsing_exception' });
  });

  it('terms with min_doc_count 0 below a bucket see every segment of the shard (found by the property above)', () => {
    const docs: Doc[] = [
      { uid: 0, n: 0 },
      { uid: 1, n: -1 },
    ];
    const aggs = { h: { histogram: { field: 'n', interval: 1 }, aggs: { t: { terms: { field: 'n', min_doc_count: 0, order: { _key: 'asc' } } } } } };
    const oneSegment = engineWith(docs, () => false).search({ size: 0, aggs }).aggregations;
    const twoSegments = engineWith(docs, () => true).search({ size: 0, aggs }).aggregations;
    expect(twoSegments).toEqual(oneSegment);
    expect((oneSegment!.h as Any).buckets[1].t.buckets).toEqual([
      { key: -1, doc_count: 0 },
      { key: 0, doc_count: 1 },
    ]);
  });

  it('the reduce enforces max_buckets over the merged result, not per shard', () => {
    // Each shard alone stays below the limit; the union of their distinct histogram keys does not.
    const shards = [0, 1].map((s) => engineWith(Array.from({ length: 40 }, (_, i) => ({ uid: s * 100 + i, n: s * 40 + i - 30 })), () => false));
    const aggs = { h: { histogram: { field: 'n', interval: 1 } } };
    const results = shards.map((e) => wire(e.search({ size: 0, aggs, partial_aggs: true }).partial_aggregations));
    expect(() => reduceShardAggs(aggs, results, { maxBuckets: 60 })).toThrow(expect.objectContaining({ type: 'too_many_buckets_exception' }));
    expect((reduceShardAggs(aggs, results, { maxBuckets: 80 }).h as Any).buckets).toHaveLength(80);
  });
});
