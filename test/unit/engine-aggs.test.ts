import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggsOfRequest,
  collectAggs,
  mergeAggs,
  parseAggs,
  reduceAggs,
} from '../../src/engine/aggs/index.ts';
import type { CollectOptions, ParseOptions, SegmentInput, ShardAggs } from '../../src/engine/aggs/index.ts';
import { makeDateFormatter, makeDateParser } from '../../src/engine/aggs/dates.ts';
import { EngineError } from '../../src/engine/types.ts';
import { decode, encode } from '../../src/transport/codec.ts';
import type { Column, SegmentColumns } from '../../src/engine/types.ts';

// ---------- fake segments ----------

type Val = string | number | boolean;
type Doc = { [field: string]: Val | Val[] | null | undefined };

const valuesOf = (doc: Doc, field: string): Val[] => {
  const v = doc[field];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
};

/** Columns of a segment: a field is keyword if any value is a string, else numeric (booleans 0/1). */
function buildColumns(docs: Doc[], idPrefix: string): SegmentColumns {
  const fields = new Set<string>();
  for (const d of docs) for (const k of Object.keys(d)) fields.add(k);
  const cols = new Map<string, Column>();
  for (const f of fields) {
    const isKeyword = docs.some((d) => valuesOf(d, f).some((v) => typeof v === 'string'));
    const offsets = new Uint32Array(docs.length + 1);
    if (isKeyword) {
      const terms = [...new Set(docs.flatMap((d) => valuesOf(d, f).map(String)))].sort();
      const ordOf = new Map(terms.map((t, i) => [t, i]));
      const ords: number[] = [];
      docs.forEach((d, i) => {
        const os = [...new Set(valuesOf(d, f).map((v) => ordOf.get(String(v))!))].sort((a, b) => a - b);
        ords.push(...os);
        offsets[i + 1] = ords.length;
      });
      cols.set(f, { kind: 'keyword', terms, offsets, ords: Uint32Array.from(ords) });
    } else {
      const values: number[] = [];
      docs.forEach((d, i) => {
        const vs = valuesOf(d, f)
          .map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : (v as number)))
          .sort((a, b) => a - b);
        values.push(...vs);
        offsets[i + 1] = values.length;
      });
      cols.set(f, { kind: 'numeric', offsets, values: Float64Array.from(values) });
    }
  }
  return {
    maxDoc: docs.length,
    column: (f) => cols.get(f),
    source: (d) => docs[d] as Record<string, unknown>,
    id: (d) => `${idPrefix}${d}`,
  };
}

/** A segment whose matched docs are those passing `match`; scores from `score` when given. */
function segment(docs: Doc[], idPrefix: string, match: (d: Doc) => boolean = () => true, score?: (d: Doc) => number): SegmentInput {
  const ids: number[] = [];
  docs.forEach((d, i) => {
    if (match(d)) ids.push(i);
  });
  const seg: SegmentInput = { columns: buildColumns(docs, idPrefix), docs: Int32Array.from(ids) };
  if (score) seg.scores = Float32Array.from(ids.map((i) => score(docs[i]!)));
  return seg;
}

/** Splits docs into `shards` shards of `segs` segments each (round robin), ids stay unique. */
function split(docs: Doc[], shards: number, segs: number): Doc[][][] {
  const out: Doc[][][] = Array.from({ length: shards }, () => Array.from({ length: segs }, () => []));
  docs.forEach((d, i) => out[i % shards]![Math.floor(i / shards) % segs]!.push(d));
  return out;
}

const json = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

interface RunOpts {
  match?: (d: Doc) => boolean;
  score?: (d: Doc) => number;
  parse?: ParseOptions;
  collect?: (segs: Doc[][]) => CollectOptions;
}

/** Reduce of one shard holding everything (in one segment) vs. the same docs over several shards. */
function run(req: unknown, docs: Doc[], shards: number, segs: number, o: RunOpts = {}) {
  const aggs = parseAggs(req, o.parse);
  const one = (shardSegs: Doc[][], prefix: string): ShardAggs => {
    const segments = shardSegs.map((sd, i) => segment(sd, `${prefix}s${i}-`, o.match, o.score));
    return json(collectAggs(aggs, segments, o.collect?.(shardSegs) ?? {}));
  };
  const single = reduceAggs(aggs, [one([docs], 'all')]);
  const parts = split(docs, shards, segs).map((s, i) => one(s, `sh${i}`));
  const multi = reduceAggs(aggs, parts);
  return { aggs, single, multi, parts };
}

// ---------- random data ----------

const CATS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'noun', 'verb', 'ünï', '😀'];
const T0 = Date.UTC(2020, 0, 1);

const docArb: fc.Arbitrary<Doc> = fc.record({
  cat: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...CATS) },
    { weight: 2, arbitrary: fc.uniqueArray(fc.constantFrom(...CATS), { minLength: 0, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  n: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: -50, max: 50 }) },
    { weight: 2, arbitrary: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 0, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  ts: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: T0, max: T0 + 3 * 366 * 86_400_000 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  flag: fc.boolean(),
  m: fc.boolean(),
});

const docsArb = fc.array(docArb, { minLength: 0, maxLength: 120 });
const match = (d: Doc): boolean => d['m'] === true;

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
const nums = (d: Doc, f: string): number[] => valuesOf(d, f) as number[];
const utf8Cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function refTerms(docs: Doc[], field: string): Map<string | number, number> {
  const m = new Map<string | number, number>();
  for (const d of docs) {
    for (const v0 of uniq(valuesOf(d, field))) {
      const v = typeof v0 === 'boolean' ? Number(v0) : v0;
      m.set(v, (m.get(v) ?? 0) + 1);
    }
  }
  return m;
}

type Bucket = { key: unknown; doc_count: number; [k: string]: unknown };

// ---------- tests ----------

describe('terms', () => {
  it('counts match a reference, ordered by count desc then key, on one shard and on several', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 1, max: 15 }), fc.integer({ min: 1, max: 3 }), (docs, size, shards) => {
        const req = { by_cat: { terms: { field: 'cat', size, shard_size: 100 } } };
        const { single, multi } = run(req, docs, shards, 2, { match });
        const ref = [...refTerms(docs.filter(match), 'cat')].sort(
          (a, b) => b[1] - a[1] || utf8Cmp(String(a[0]), String(b[0])),
        );
        const want = ref.slice(0, size).map(([key, doc_count]) => ({ key, doc_count }));
        const other = ref.slice(size).reduce((s, [, c]) => s + c, 0);
        const expected = { doc_count_error_upper_bound: 0, sum_other_doc_count: other, buckets: want };
        expect(single['by_cat']).toEqual(expected);
        expect(multi['by_cat']).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('numeric field terms and _key / _count asc orders', () => {
    fc.assert(
      fc.property(docsArb, fc.constantFrom('asc', 'desc'), (docs, dir) => {
        const ref = [...refTerms(docs.filter(match), 'n')] as [number, number][];
        const byKey = { t: { terms: { field: 'n', size: 500, order: { _key: dir } } } };
        const r1 = run(byKey, docs, 3, 2, { match });
        const keys = ref.map(([k]) => k).sort((a, b) => (dir === 'asc' ? a - b : b - a));
        expect((r1.multi['t'] as { buckets: Bucket[] }).buckets.map((b) => b.key)).toEqual(keys);
        expect(r1.multi).toEqual(r1.single);
        const byCountAsc = { t: { terms: { field: 'n', size: 5, shard_size: 500, order: { _count: 'asc' } } } };
        const r2 = run(byCountAsc, docs, 2, 2, { match });
        const want = [...ref].sort((a, b) => a[1] - b[1] || a[0] - b[0]).slice(0, 5);
        expect((r2.multi['t'] as { buckets: Bucket[] }).buckets.map((b) => [b.key, b.doc_count])).toEqual(want);
      }),
      { numRuns: 100 },
    );
  });

  it('with a small shard_size, counts are lower bounds and within the reported error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ cat: fc.integer({ min: 0, max: 40 }).map((i) => `t${i}`), m: fc.constant(true) }), {
          maxLength: 400,
        }),
        fc.integer({ min: 1, max: 5 }),
        (docs, size) => {
          const req = { t: { terms: { field: 'cat', size, shard_size: size + 1, show_term_doc_count_error: true } } };
          const { multi } = run(req, docs, 3, 2);
          const ref = refTerms(docs, 'cat');
          const res = multi['t'] as { buckets: Bucket[]; doc_count_error_upper_bound: number; sum_other_doc_count: number };
          let shown = 0;
          for (const b of res.buckets) {
            const truth = ref.get(b.key as string)!;
            const err = b['doc_count_error_upper_bound'] as number;
            expect(b.doc_count).toBeLessThanOrEqual(truth);
            expect(err).toBeGreaterThanOrEqual(0);
            expect(truth).toBeLessThanOrEqual(b.doc_count + err);
            shown += b.doc_count;
          }
          expect(shown + res.sum_other_doc_count).toBe(docs.length);
          expect(res.doc_count_error_upper_bound).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('min_doc_count, include/exclude, missing', () => {
    const docs: Doc[] = [{ cat: 'a' }, { cat: 'a' }, { cat: 'b' }, { cat: ['c', 'a'] }, {}, { cat: 'zz' }];
    const r = run(
      {
        t: { terms: { field: 'cat', min_doc_count: 2 } },
        inc: { terms: { field: 'cat', include: ['a', 'b', 'zz'], exclude: 'z.*' } },
        miss: { terms: { field: 'cat', missing: 'N/A' } },
        zero: { terms: { field: 'cat', min_doc_count: 0, order: { _key: 'asc' } } },
      },
      docs,
      2,
      1,
      { match: (d) => d['cat'] !== 'zz' },
    );
    expect(r.multi['t']).toEqual({ doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [{ key: 'a', doc_count: 3 }] });
    expect((r.multi['inc'] as { buckets: Bucket[] }).buckets).toEqual([
      { key: 'a', doc_count: 3 },
      { key: 'b', doc_count: 1 },
    ]);
    expect((r.multi['miss'] as { buckets: Bucket[] }).buckets).toEqual([
      { key: 'a', doc_count: 3 },
      { key: 'N/A', doc_count: 1 },
      { key: 'b', doc_count: 1 },
      { key: 'c', doc_count: 1 },
    ]);
    expect((r.multi['zero'] as { buckets: Bucket[] }).buckets).toEqual([
      { key: 'a', doc_count: 3 },
      { key: 'b', doc_count: 1 },
      { key: 'c', doc_count: 1 },
      { key: 'zz', doc_count: 0 },
    ]);
    expect(r.multi).toEqual(r.single);
  });

  it('orders by a metric sub-aggregation (single- and multi-value), with key as tie-breaker', () => {
    fc.assert(
      fc.property(docsArb, fc.constantFrom('asc', 'desc'), (docs, dir) => {
        const req = {
          t: {
            terms: { field: 'cat', size: 4, shard_size: 50, order: [{ 'st.max': dir }] },
            aggs: { st: { stats: { field: 'n' } }, mx: { max: { field: 'n' } } },
          },
          u: { terms: { field: 'cat', size: 4, shard_size: 50, order: { mx: dir } }, aggs: { mx: { max: { field: 'n' } } } },
        };
        const { single, multi } = run(req, docs, 3, 1, { match });
        const m = docs.filter(match);
        const keys = uniq(m.flatMap((d) => valuesOf(d, 'cat') as string[]));
        const maxOf = (k: string): number => {
          const vs = m.filter((d) => valuesOf(d, 'cat').includes(k)).flatMap((d) => nums(d, 'n'));
          return vs.length ? Math.max(...vs) : -Infinity;
        };
        const want = keys
          .map((k) => [k, maxOf(k)] as const)
          .sort((a, b) => (a[1] === b[1] ? utf8Cmp(a[0], b[0]) : dir === 'asc' ? a[1] - b[1] : b[1] - a[1]))
          .slice(0, 4)
          .map(([k]) => k);
        expect((multi['t'] as { buckets: Bucket[] }).buckets.map((b) => b.key)).toEqual(want);
        expect((multi['u'] as { buckets: Bucket[] }).buckets.map((b) => b.key)).toEqual(want);
        for (const b of (multi['u'] as { buckets: Bucket[] }).buckets) {
          const mx = maxOf(b.key as string);
          expect(b['mx']).toEqual({ value: mx === -Infinity ? null : mx });
        }
        expect(multi).toEqual(single);
      }),
      { numRuns: 80 },
    );
  });

  it('booleans and dates get key_as_string when the mapping says so', () => {
    const docs: Doc[] = [{ b: true, ts: T0 }, { b: false, ts: T0 }, { b: true, ts: T0 + 1000 }];
    const fieldType = (f: string) => (f === 'b' ? 'boolean' : f === 'ts' ? 'date' : undefined);
    const r = run({ b: { terms: { field: 'b' } }, d: { terms: { field: 'ts' } } }, docs, 1, 1, { parse: { fieldType } });
    expect((r.single['b'] as { buckets: Bucket[] }).buckets).toEqual([
      { key: 1, key_as_string: 'true', doc_count: 2 },
      { key: 0, key_as_string: 'false', doc_count: 1 },
    ]);
    expect((r.single['d'] as { buckets: Bucket[] }).buckets[0]).toEqual({
      key: T0,
      key_as_string: '2020-01-01T00:00:00.000Z',
      doc_count: 2,
    });
  });
});

describe('range', () => {
  it('counts docs with a value in [from, to) against a reference', () => {
    const rangeArb = fc
      .record({ from: fc.option(fc.integer({ min: -60, max: 60 }), { nil: undefined }), to: fc.option(fc.integer({ min: -60, max: 60 }), { nil: undefined }) })
      .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as { from?: number; to?: number });
    fc.assert(
      fc.property(docsArb, fc.array(rangeArb, { minLength: 1, maxLength: 5 }), fc.boolean(), (docs, ranges, keyed) => {
        const req = { r: { range: { field: 'n', ranges, keyed }, aggs: { s: { sum: { field: 'n' } } } } };
        const { single, multi } = run(req, docs, 2, 2, { match });
        const m = docs.filter(match);
        const sorted = [...ranges].sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity) || (a.to ?? Infinity) - (b.to ?? Infinity));
        const jd = (v: number | undefined) => (v === undefined ? '*' : `${v}.0`);
        const entries = sorted.map((r) => {
          const inR = (v: number) => v >= (r.from ?? -Infinity) && v < (r.to ?? Infinity);
          const hit = m.filter((d) => nums(d, 'n').some(inR));
          const key = `${jd(r.from)}-${jd(r.to)}`;
          const b: Record<string, unknown> = keyed ? {} : { key };
          if (r.from !== undefined) b['from'] = r.from;
          if (r.to !== undefined) b['to'] = r.to;
          b['doc_count'] = hit.length;
          b['s'] = { value: hit.reduce((s, d) => s + nums(d, 'n').reduce((a, x) => a + x, 0), 0) };
          return [key, b] as const;
        });
        const expected = keyed ? { buckets: Object.fromEntries(entries) } : { buckets: entries.map((e) => e[1]) };
        expect(single['r']).toEqual(expected);
        expect(multi['r']).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('uses explicit keys and prints Java doubles', () => {
    const r = run(
      { r: { range: { field: 'n', ranges: [{ to: 1e7 }, { from: 0.5, to: 2, key: 'mid' }] } } },
      [{ n: 1 }, { n: 3 }],
      1,
      1,
    );
    expect(r.single['r']).toEqual({
      buckets: [
        { key: '*-1.0E7', to: 1e7, doc_count: 2 },
        { key: 'mid', from: 0.5, to: 2, doc_count: 1 },
      ],
    });
  });
});

describe('histogram', () => {
  it('buckets match a reference, with gaps filled when min_doc_count is 0', () => {
    fc.assert(
      fc.property(
        docsArb,
        fc.constantFrom(1, 3, 7.5, 10, 25),
        fc.constantFrom(0, 2),
        fc.constantFrom(0, 1, 2),
        (docs, interval, offset, minDocCount) => {
          const req = { h: { histogram: { field: 'n', interval, offset, min_doc_count: minDocCount } } };
          const { single, multi } = run(req, docs, 3, 2, { match });
          const counts = new Map<number, number>();
          for (const d of docs.filter(match)) {
            for (const k of uniq(nums(d, 'n').map((v) => Math.floor((v - offset) / interval) * interval + offset))) {
              counts.set(k, (counts.get(k) ?? 0) + 1);
            }
          }
          let keys = [...counts.keys()].sort((a, b) => a - b);
          if (minDocCount === 0 && keys.length > 0) {
            const all: number[] = [];
            for (let k = keys[0]!; k <= keys[keys.length - 1]! + 1e-9; k += interval) all.push(k);
            keys = all;
          }
          const want = keys
            .map((k) => ({ key: k, doc_count: counts.get(k) ?? 0 }))
            .filter((b) => b.doc_count >= minDocCount);
          expect(single['h']).toEqual({ buckets: want });
          expect(multi['h']).toEqual({ buckets: want });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('extended_bounds, keyed, and sub-aggregations in empty buckets', () => {
    const r = run(
      {
        h: {
          histogram: { field: 'n', interval: 10, extended_bounds: { min: -20, max: 25 }, keyed: true },
          aggs: { a: { avg: { field: 'n' } } },
        },
      },
      [{ n: 1 }, { n: 3 }, { n: 12 }],
      2,
      1,
    );
    expect(r.multi['h']).toEqual({
      buckets: {
        '-20.0': { key: -20, doc_count: 0, a: { value: null } },
        '-10.0': { key: -10, doc_count: 0, a: { value: null } },
        '0.0': { key: 0, doc_count: 2, a: { value: 2 } },
        '10.0': { key: 10, doc_count: 1, a: { value: 12 } },
        '20.0': { key: 20, doc_count: 0, a: { value: null } },
      },
    });
  });

  it('refuses to fill more than max_buckets', () => {
    const aggs = parseAggs({ h: { histogram: { field: 'n', interval: 1e-6 } } });
    const part = collectAggs(aggs, [segment([{ n: 0 }, { n: 1e6 }], 'x')]);
    expect(() => reduceAggs(aggs, [part])).toThrow(/too many buckets/);
    try {
      reduceAggs(aggs, [part]);
    } catch (e) {
      expect((e as EngineError).type).toBe('too_many_buckets_exception');
    }
  });
});

describe('date_histogram', () => {
  const DAY = 86_400_000;

  it('calendar month/week/year and fixed intervals match a Date-based reference (UTC)', () => {
    const refKey = (iv: string, t: number): number => {
      const d = new Date(t);
      switch (iv) {
        case 'month':
          return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
        case 'quarter':
          return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
        case 'year':
          return Date.UTC(d.getUTCFullYear(), 0, 1);
        case 'week': {
          const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
          return day - ((d.getUTCDay() + 6) % 7) * DAY;
        }
        case '1d':
          return Math.floor(t / DAY) * DAY;
        default:
          return Math.floor(t / (6 * 3_600_000)) * 6 * 3_600_000;
      }
    };
    fc.assert(
      fc.property(docsArb, fc.constantFrom('month', 'quarter', 'year', 'week', '1d', '6h'), (docs, iv) => {
        const spec = iv === '1d' || iv === '6h' ? { fixed_interval: iv } : { calendar_interval: iv };
        const req = { h: { date_histogram: { field: 'ts', ...spec, min_doc_count: 1 } } };
        const { single, multi } = run(req, docs, 2, 2, { match });
        const counts = new Map<number, number>();
        for (const d of docs.filter(match)) {
          for (const t of nums(d, 'ts')) counts.set(refKey(iv, t), (counts.get(refKey(iv, t)) ?? 0) + 1);
        }
        const want = [...counts]
          .sort((a, b) => a[0] - b[0])
          .map(([key, doc_count]) => ({ key_as_string: new Date(key).toISOString(), key, doc_count }));
        expect(single['h']).toEqual({ buckets: want });
        expect(multi['h']).toEqual({ buckets: want });
      }),
      { numRuns: 80 },
    );
  });

  it('fills empty months, supports format, time_zone and offset', () => {
    const docs: Doc[] = [{ ts: Date.UTC(2021, 0, 31, 23) }, { ts: Date.UTC(2021, 3, 2) }];
    const r = run(
      {
        m: { date_histogram: { field: 'ts', calendar_interval: '1M', format: 'yyyy-MM' } },
        tz: { date_histogram: { field: 'ts', calendar_interval: 'day', time_zone: '+02:00', min_doc_count: 1 } },
        off: { date_histogram: { field: 'ts', fixed_interval: '1d', offset: '+6h', min_doc_count: 1 } },
      },
      docs,
      2,
      1,
    );
    expect(r.multi['m']).toEqual({
      buckets: [
        { key_as_string: '2021-01', key: Date.UTC(2021, 0, 1), doc_count: 1 },
        { key_as_string: '2021-02', key: Date.UTC(2021, 1, 1), doc_count: 0 },
        { key_as_string: '2021-03', key: Date.UTC(2021, 2, 1), doc_count: 0 },
        { key_as_string: '2021-04', key: Date.UTC(2021, 3, 1), doc_count: 1 },
      ],
    });
    expect((r.multi['tz'] as { buckets: Bucket[] }).buckets[0]).toEqual({
      key_as_string: '2021-02-01T00:00:00.000+02:00',
      key: Date.UTC(2021, 0, 31, 22),
      doc_count: 1,
    });
    expect((r.multi['off'] as { buckets: Bucket[] }).buckets.map((b) => b.key)).toEqual([
      Date.UTC(2021, 0, 31, 6),
      Date.UTC(2021, 3, 1, 6),
    ]);
  });
});

describe('metrics', () => {
  it('min/max/avg/sum/stats/value_count match a reference', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 1, max: 3 }), (docs, shards) => {
        const req = {
          mn: { min: { field: 'n' } },
          mx: { max: { field: 'n' } },
          av: { avg: { field: 'n' } },
          sm: { sum: { field: 'n' } },
          st: { stats: { field: 'n' } },
          vc: { value_count: { field: 'n' } },
          vk: { value_count: { field: 'cat' } },
          nope: { avg: { field: 'unmapped' } },
        };
        const { single, multi } = run(req, docs, shards, 2, { match });
        const vals = docs.filter(match).flatMap((d) => nums(d, 'n'));
        const c = vals.length;
        const sum = vals.reduce((a, b) => a + b, 0);
        const min = c ? Math.min(...vals) : null;
        const max = c ? Math.max(...vals) : null;
        const avg = c ? sum / c : null;
        const expected = {
          mn: { value: min },
          mx: { value: max },
          av: { value: avg },
          sm: { value: sum },
          st: { count: c, min, max, avg, sum },
          vc: { value: c },
          vk: { value: docs.filter(match).reduce((s, d) => s + uniq(valuesOf(d, 'cat')).length, 0) },
          nope: { value: null },
        };
        expect(single).toEqual(expected);
        expect(multi).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('missing value and sums of many small floats (compensated)', () => {
    const docs: Doc[] = Array.from({ length: 1000 }, () => ({ x: 0.1 }));
    docs.push({}, {});
    const r = run({ s: { sum: { field: 'x' } }, a: { avg: { field: 'x', missing: 1 } } }, docs, 3, 3);
    expect(r.multi['s']).toEqual({ value: 100 });
    expect((r.multi['a'] as { value: number }).value).toBeCloseTo(102 / 1002, 12);
  });

  it('dates get value_as_string', () => {
    const r = run({ mn: { min: { field: 'ts' } } }, [{ ts: T0 }, { ts: T0 + 5 }], 1, 1, {
      parse: { fieldType: (f) => (f === 'ts' ? 'date' : undefined) },
    });
    expect(r.single['mn']).toEqual({ value: T0, value_as_string: '2020-01-01T00:00:00.000Z' });
  });
});

describe('cardinality', () => {
  it('is exact below precision_threshold', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 1, max: 3 }), (docs, shards) => {
        const req = {
          c: { cardinality: { field: 'cat' } },
          n: { cardinality: { field: 'n', precision_threshold: 100 } },
        };
        const { single, multi } = run(req, docs, shards, 2, { match });
        const m = docs.filter(match);
        const expected = {
          c: { value: new Set(m.flatMap((d) => valuesOf(d, 'cat'))).size },
          n: { value: new Set(m.flatMap((d) => nums(d, 'n'))).size },
        };
        expect(single).toEqual(expected);
        expect(multi).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('is within a few percent above the threshold (100k distinct values), merged across shards', () => {
    const N = 100_000;
    const docs: Doc[] = Array.from({ length: N }, (_, i) => ({ u: `user-${i}`, v: i * 7 + 0.5 }));
    for (let i = 0; i < 20_000; i++) docs.push({ u: `user-${i * 3}`, v: i * 21 + 0.5 }); // duplicates
    const req = {
      u: { cardinality: { field: 'u' } },
      v: { cardinality: { field: 'v', precision_threshold: 40_000 } },
      small: { cardinality: { field: 'u', precision_threshold: 100 } },
    };
    const { single, multi } = run(req, docs, 3, 2);
    for (const name of ['u', 'v', 'small']) {
      const est = (multi[name] as { value: number }).value;
      expect(Math.abs(est - N) / N).toBeLessThan(name === 'small' ? 0.08 : 0.03);
      // HLL register merges are lossless: sharding doesn't change the estimate.
      expect(multi[name]).toEqual(single[name]);
    }
  });

  it('estimates well across the whole range (small, threshold crossover, large)', () => {
    for (const n of [150, 1_000, 5_000, 20_000, 60_000]) {
      const docs: Doc[] = Array.from({ length: n }, (_, i) => ({ k: `k${i}` }));
      const { single } = run({ c: { cardinality: { field: 'k', precision_threshold: 100 } } }, docs, 1, 1);
      const est = (single['c'] as { value: number }).value;
      expect(Math.abs(est - n) / n).toBeLessThan(0.1);
    }
  });
});

describe('extended_stats', () => {
  /** Elasticsearch's formulas over the values (variance from the sums, negatives clamped to 0). */
  const refExtended = (vals: number[], sigma: number) => {
    const c = vals.length;
    if (c === 0) {
      const none = { upper: null, lower: null, upper_population: null, lower_population: null, upper_sampling: null, lower_sampling: null };
      return {
        count: 0, min: null, max: null, avg: null, sum: 0, sum_of_squares: null, variance: null, variance_population: null,
        variance_sampling: null, std_deviation: null, std_deviation_population: null, std_deviation_sampling: null, std_deviation_bounds: none,
      };
    }
    const sum = vals.reduce((a, b) => a + b, 0);
    const sq = vals.reduce((a, b) => a + b * b, 0);
    const avg = sum / c;
    const vp = Math.max(0, (sq - (sum * sum) / c) / c);
    const vs = c > 1 ? Math.max(0, (sq - (sum * sum) / c) / (c - 1)) : null;
    const sp = Math.sqrt(vp);
    const ss = vs === null ? null : Math.sqrt(vs);
    return {
      count: c, min: Math.min(...vals), max: Math.max(...vals), avg, sum, sum_of_squares: sq,
      variance: vp, variance_population: vp, variance_sampling: vs,
      std_deviation: sp, std_deviation_population: sp, std_deviation_sampling: ss,
      std_deviation_bounds: {
        upper: avg + sigma * sp, lower: avg - sigma * sp, upper_population: avg + sigma * sp, lower_population: avg - sigma * sp,
        upper_sampling: ss === null ? null : avg + sigma * ss, lower_sampling: ss === null ? null : avg - sigma * ss,
      },
    };
  };

  it('matches a reference (count, sums, variances, deviations, σ bounds), on one shard and on several', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 1, max: 3 }), fc.constantFrom(undefined, 0, 1.5, 3), (docs, shards, sigma) => {
        const req = {
          e: { extended_stats: { field: 'n', ...(sigma === undefined ? {} : { sigma }) } },
          m: { extended_stats: { field: 'n', missing: -7 } },
          none: { extended_stats: { field: 'unmapped' } },
        };
        const { single, multi } = run(req, docs, shards, 2, { match });
        const m = docs.filter(match);
        const vals = m.flatMap((d) => nums(d, 'n'));
        const withMissing = m.flatMap((d) => (nums(d, 'n').length ? nums(d, 'n') : [-7]));
        const expected = { e: refExtended(vals, sigma ?? 2), m: refExtended(withMissing, 2), none: refExtended([], 2) };
        expect(single).toEqual(expected);
        expect(multi).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('one value: no sampling variance (null, where Elasticsearch says NaN); Elasticsearch example numbers', () => {
    const one = run({ e: { extended_stats: { field: 'x' } } }, [{ x: 5 }], 1, 1).single['e'] as Record<string, unknown>;
    expect(one).toMatchObject({ count: 1, variance: 0, variance_sampling: null, std_deviation: 0, std_deviation_sampling: null });
    expect(one['std_deviation_bounds']).toEqual({ upper: 5, lower: 5, upper_population: 5, lower_population: 5, upper_sampling: null, lower_sampling: null });
    // Equal values: the sums leave a variance of about -3e-18, clamped to 0 (else the deviations would be NaN).
    const same = run({ e: { extended_stats: { field: 'x' } } }, [{ x: 0.1 }, { x: 0.1 }, { x: 0.1 }], 1, 1).single['e'];
    expect(same).toMatchObject({ variance: 0, variance_sampling: 0, std_deviation: 0, std_deviation_sampling: 0 });
    // The two grades of Elasticsearch's documentation example.
    const es = run({ e: { extended_stats: { field: 'g' } } }, [{ g: 50 }, { g: 100 }], 2, 1).multi['e'];
    expect(es).toEqual({
      count: 2, min: 50, max: 100, avg: 75, sum: 150, sum_of_squares: 12500, variance: 625, variance_population: 625,
      variance_sampling: 1250, std_deviation: 25, std_deviation_population: 25, std_deviation_sampling: 35.35533905932738,
      std_deviation_bounds: { upper: 125, lower: 25, upper_population: 125, lower_population: 25, upper_sampling: 145.71067811865476, lower_sampling: 4.289321881345245 },
    });
  });

  it('sums of squares are compensated; dates get *_as_string like Elasticsearch; missing accepts a date', () => {
    const docs: Doc[] = Array.from({ length: 1000 }, () => ({ x: 0.1 }));
    expect((run({ e: { extended_stats: { field: 'x' } } }, docs, 3, 3).multi['e'] as { sum_of_squares: number }).sum_of_squares).toBe(10.000000000000002);
    const fieldType = (f: string) => (f === 'ts' ? 'date' : undefined);
    const r = run({ e: { extended_stats: { field: 'ts', sigma: 1, missing: '2020-01-03' } } }, [{ ts: T0 }, { ts: T0 + 86_400_000 }, {}], 1, 1, { parse: { fieldType } });
    const e = r.single['e'] as Record<string, unknown>;
    expect(e['count']).toBe(3);
    expect(e['min_as_string']).toBe('2020-01-01T00:00:00.000Z');
    expect(e['max_as_string']).toBe('2020-01-03T00:00:00.000Z');
    expect(e['avg_as_string']).toBe('2020-01-02T00:00:00.000Z');
    // σ = 1: avg ± √(2/3) day (population), ± 1 day (sampling); the sums of squares of epoch
    // millis cancel, so (as in Elasticsearch) the bounds are off by a millisecond or so.
    const day = 86_400_000;
    const bounds = e['std_deviation_bounds'] as Record<string, number>;
    const want = { upper: Math.sqrt(2 / 3) * day, lower: -Math.sqrt(2 / 3) * day, upper_sampling: day, lower_sampling: -day };
    for (const [k, off] of Object.entries(want)) expect(Math.abs(bounds[k]! - (T0 + day + off))).toBeLessThan(5);
    expect(e['std_deviation_bounds_as_string']).toEqual(
      Object.fromEntries(Object.entries(bounds).map(([k, v]) => [k, new Date(v).toISOString()])),
    );
    expect((e['std_deviation_bounds_as_string'] as Record<string, string>)['upper']).toMatch(/^2020-01-02T19:35:45/);
    for (const k of ['sum_as_string', 'sum_of_squares_as_string', 'variance_as_string', 'variance_population_as_string', 'variance_sampling_as_string', 'std_deviation_as_string', 'std_deviation_population_as_string', 'std_deviation_sampling_as_string']) {
      expect(typeof e[k]).toBe('string');
    }
    expect(Object.keys(run({ e: { extended_stats: { field: 'ts' } } }, [{}], 1, 1, { parse: { fieldType } }).single['e'] as object)).not.toContain('min_as_string');
  });
});

describe('percentiles and percentile_ranks', () => {
  /** What the t-digest answers exactly while it holds few values: the middle of the step where two values meet. */
  const refPercentile = (sorted: number[], percent: number): number | null => {
    const n = sorted.length;
    if (n === 0) return null;
    const q = percent / 100;
    if (q <= 0) return sorted[0]!;
    if (q >= 1) return sorted[n - 1]!;
    const r = q * n;
    if (Number.isInteger(r)) {
      const a = sorted[r - 1]!;
      const b = sorted[r]!;
      return a === b ? a : a / 2 + b / 2;
    }
    return sorted[Math.ceil(r) - 1]!;
  };
  const refRank = (sorted: number[], v: number): number | null =>
    sorted.length === 0 ? null : (sorted.filter((x) => x <= v).length / sorted.length) * 100;
  const DEFAULT = [1, 5, 25, 50, 75, 95, 99];
  const keyOf = (p: number) => (Number.isInteger(p) ? `${p}.0` : String(p));

  it('are exact for few values (here ≤ 360), keyed by default, on one shard and on several', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 1, max: 3 }), (docs, shards) => {
        const req = {
          p: { percentiles: { field: 'n' } },
          pu: { percentiles: { field: 'n', percents: [99.9, 0, 50, 100, 33.3], keyed: false } },
          r: { percentile_ranks: { field: 'n', values: [10, -50, 0, 49.5] } },
          rm: { percentile_ranks: { field: 'n', values: [0], missing: -1, keyed: false } },
        };
        const { single, multi } = run(req, docs, shards, 2, { match });
        const m = docs.filter(match);
        const sorted = m.flatMap((d) => nums(d, 'n')).sort((a, b) => a - b);
        const withMissing = m.flatMap((d) => (nums(d, 'n').length ? nums(d, 'n') : [-1])).sort((a, b) => a - b);
        const expected = {
          p: { values: Object.fromEntries(DEFAULT.map((p) => [keyOf(p), refPercentile(sorted, p)])) },
          pu: { values: [0, 33.3, 50, 99.9, 100].map((p) => ({ key: p, value: refPercentile(sorted, p) })) },
          r: { values: { '-50.0': refRank(sorted, -50), '0.0': refRank(sorted, 0), '10.0': refRank(sorted, 10), '49.5': refRank(sorted, 49.5) } },
          rm: { values: [{ key: 0, value: refRank(withMissing, 0) }] },
        };
        expect(single).toEqual(expected);
        expect(multi).toEqual(expected);
        expect(Object.keys((single['p'] as { values: object }).values)).toEqual(['1.0', '5.0', '25.0', '50.0', '75.0', '95.0', '99.0']);
      }),
      { numRuns: 150 },
    );
  });

  it('with no values: null values, as Elasticsearch', () => {
    const { single } = run({ p: { percentiles: { field: 'x', percents: [50] } }, r: { percentile_ranks: { field: 'x', values: [1], keyed: false } } }, [{ y: 1 }], 1, 1);
    expect(single).toEqual({ p: { values: { '50.0': null } }, r: { values: [{ key: 1, value: null }] } });
  });

  it('many values over several shards: within the t-digest bound of the truth, and exact at 0 and 100', () => {
    // 30 000 values (far past 5 · compression), skewed, split over 4 shards of 2 segments.
    let s = 1;
    const rnd = () => ((s = (Math.imul(s, 48271) >>> 0) % 2147483647) / 2147483647);
    const docs: Doc[] = Array.from({ length: 30_000 }, () => ({ v: Math.round(-Math.log(1 - rnd()) * 1e6) / 1000 }));
    const sorted = docs.map((d) => d['v'] as number).sort((a, b) => a - b);
    const n = sorted.length;
    const percents = [0, 0.1, 1, 10, 50, 90, 99, 99.9, 100];
    const probes = [0.01, 1, 100, 693.147, 4605.17, 8000];
    const { single, multi } = run(
      { p: { percentiles: { field: 'v', percents, keyed: false } }, r: { percentile_ranks: { field: 'v', values: probes, keyed: false } } },
      docs, 4, 2,
    );
    for (const res of [single, multi]) {
      const ps = (res['p'] as { values: { key: number; value: number }[] }).values;
      for (const { key, value } of ps) {
        const q = key / 100;
        const below = sorted.filter((x) => x < value).length;
        const atMost = sorted.filter((x) => x <= value).length;
        const err = Math.max(0, below - q * n, q * n - atMost) / n;
        // Three centroid spans under k1 (2π·√(q(1−q))/δ each) plus one value: see engine-tdigest.test.ts.
        expect(err, `p${key}`).toBeLessThanOrEqual((3 * 2 * Math.PI * Math.sqrt(q * (1 - q))) / 100 + 1 / n);
      }
      expect(ps[0]!.value).toBe(sorted[0]);
      expect(ps[ps.length - 1]!.value).toBe(sorted[n - 1]);
      for (const { key, value } of (res['r'] as { values: { key: number; value: number }[] }).values) {
        const truth = sorted.filter((x) => x <= key).length / n;
        expect(Math.abs(value / 100 - truth), `rank of ${key}`).toBeLessThanOrEqual((3 * 2 * Math.PI * Math.sqrt(truth * (1 - truth))) / 100 + 1 / n);
      }
    }
  });

  it('missing and dates: values print as dates (ES puts "<key>_as_string" beside each key); compression is a parameter', () => {
    const fieldType = (f: string) => (f === 'ts' ? 'date' : undefined);
    const docs: Doc[] = [{ ts: T0 }, { ts: T0 + 86_400_000 }, { ts: T0 + 2 * 86_400_000 }, {}];
    const { single } = run(
      {
        p: { percentiles: { field: 'ts', percents: [50, 100], missing: '2020-01-10', tdigest: { compression: 200 } } },
        pu: { percentiles: { field: 'ts', percents: [0], keyed: false } },
      },
      docs, 1, 1, { parse: { fieldType } },
    );
    expect(single).toEqual({
      p: {
        values: {
          '50.0': T0 + 1.5 * 86_400_000,
          '50.0_as_string': '2020-01-02T12:00:00.000Z',
          '100.0': Date.UTC(2020, 0, 10),
          '100.0_as_string': '2020-01-10T00:00:00.000Z',
        },
      },
      pu: { values: [{ key: 0, value: T0, value_as_string: '2020-01-01T00:00:00.000Z' }] },
    });
  });

  it('sit under buckets, echo meta, and order terms/histogram buckets (pct.99, pct[99.9], pct.99.9, ranks.v, ext.std_deviation)', () => {
    // cat a: n 1…5; cat b: n 0 and 20 (lowest low percentiles, highest high ones); cat c: n 7 ×3 (no spread).
    const docs: Doc[] = [
      ...[1, 2, 3, 4, 5].map((n) => ({ cat: 'a', n })),
      ...[0, 20].map((n) => ({ cat: 'b', n })),
      ...[7, 7, 7].map((n) => ({ cat: 'c', n })),
    ];
    const keys = (r: Record<string, unknown>, name: string) => (r[name] as { buckets: Bucket[] }).buckets.map((b) => b.key);
    const subs = {
      pct: { percentiles: { field: 'n', percents: [50, 99, 99.9] }, meta: { unit: 'ms' } },
      ranks: { percentile_ranks: { field: 'n', values: [6] } },
      ext: { extended_stats: { field: 'n' } },
    };
    const { single, multi } = run(
      {
        p99: { terms: { field: 'cat', order: { 'pct.99': 'desc' } }, aggs: subs },
        p1: { terms: { field: 'cat', order: { 'pct.1': 'asc' } }, aggs: subs },
        p999: { terms: { field: 'cat', order: { 'pct[99.9]': 'asc' } }, aggs: subs },
        p999dots: { terms: { field: 'cat', order: { 'pct.99.9': 'asc' } }, aggs: subs },
        rank: { terms: { field: 'cat', order: [{ 'ranks.6': 'desc' }, { _key: 'desc' }] }, aggs: subs },
        sd: { terms: { field: 'cat', order: { 'ext.std_deviation': 'asc' } }, aggs: subs },
        var: { histogram: { field: 'n', interval: 10, min_doc_count: 1, order: { 'ext.variance': 'desc' } }, aggs: subs },
      },
      docs, 3, 1,
    );
    expect(keys(single, 'p99')).toEqual(['b', 'c', 'a']);
    expect(keys(single, 'p1')).toEqual(['b', 'a', 'c']);
    expect(keys(single, 'p999')).toEqual(['a', 'c', 'b']);
    expect(keys(single, 'p999dots')).toEqual(['a', 'c', 'b']);
    expect(keys(single, 'rank')).toEqual(['a', 'b', 'c']); // 100 %, 50 %, 0 %
    expect(keys(single, 'sd')).toEqual(['c', 'a', 'b']);
    expect(keys(single, 'var')).toEqual([0, 20]); // variances 5.06 (0…7) and 0
    const a = (single['p99'] as { buckets: Bucket[] }).buckets[2]!;
    expect(a.key).toBe('a');
    expect(a['pct']).toEqual({ meta: { unit: 'ms' }, values: { '50.0': 3, '99.0': 5, '99.9': 5 } });
    expect(a['ranks']).toEqual({ values: { '6.0': 100 } });
    expect((a['ext'] as { variance: number }).variance).toBe(2);
    expect(multi).toEqual(single);
  });

  it('tdigest.compression sizes the digest a shard sends', () => {
    const docs: Doc[] = Array.from({ length: 3000 }, (_, i) => ({ n: (i * 7919) % 1000 }));
    const centroids = (compression: number | undefined) => {
      const aggs = parseAggs({ p: { percentiles: { field: 'n', ...(compression ? { tdigest: { compression } } : {}) } } });
      return (collectAggs(aggs, [segment(docs, 'x')])['p'] as { d: { m: number[] } }).d.m.length;
    };
    expect(centroids(5)).toBeLessThanOrEqual(25);
    expect(centroids(undefined)).toBeGreaterThan(25);
    expect(centroids(1000)).toBe(3000); // 3000 values < 5 · 1000: every value kept as it is
    // …and the coordinating node merges with it too: 3 shards' 3000 values stay exact.
    const { aggs, parts, multi } = run({ p: { percentiles: { field: 'n', percents: [10, 33.3], tdigest: { compression: 1000 } } } }, docs, 3, 1);
    expect((mergeAggs(aggs, parts)['p'] as { d: { m: number[] } }).d.m).toHaveLength(3000);
    const sorted = docs.map((d) => d['n'] as number).sort((a, b) => a - b);
    expect(multi['p']).toEqual({ values: { '10.0': sorted[299]! / 2 + sorted[300]! / 2, '33.3': sorted[998] } });
  });

  it('partials are plain data: through JSON and the msgpack codec they reduce the same', () => {
    const docs: Doc[] = Array.from({ length: 3000 }, (_, i) => ({ n: (i * 7919) % 1000, k: `k${i % 3}` }));
    const aggs = parseAggs({
      p: { percentiles: { field: 'n' } },
      t: { terms: { field: 'k' }, aggs: { r: { percentile_ranks: { field: 'n', values: [500] } }, e: { extended_stats: { field: 'n' } } } },
    });
    const part = collectAggs(aggs, [segment(docs, 'x')]);
    expect(json(part)).toEqual(part);
    const back = decode(encode(part)) as ShardAggs;
    expect(back).toEqual(part);
    expect(reduceAggs(aggs, [back, back])).toEqual(reduceAggs(aggs, [part, part]));
  });
});

describe('filters and sub-aggregations', () => {
  /** The engine's side: evaluates `{ term: { field: value } }` on a segment's docs. */
  const resolverFor =
    (segs: Doc[][]) =>
    (query: unknown, seg: number): Int32Array => {
      const [[field, value]] = Object.entries((query as { term: Record<string, Val> }).term) as [[string, Val]];
      const ids: number[] = [];
      segs[seg]!.forEach((d, i) => {
        if (valuesOf(d, field).includes(value)) ids.push(i);
      });
      return Int32Array.from(ids);
    };

  it('named filters with other bucket and nested aggs match a reference', () => {
    fc.assert(
      fc.property(docsArb, (docs) => {
        const req = {
          f: {
            filters: { filters: { nouns: { term: { cat: 'noun' } }, as: { term: { cat: 'a' } } }, other_bucket_key: 'rest' },
            aggs: { t: { terms: { field: 'flag' } }, s: { stats: { field: 'n' } } },
          },
          anon: { filters: { filters: [{ term: { cat: 'b' } }, { term: { flag: true } }] } },
          one: { filter: { term: { cat: 'c' } }, aggs: { mx: { max: { field: 'n' } } } },
          miss: { missing: { field: 'n' } },
        };
        const { single, multi } = run(req, docs, 2, 2, { match, collect: (segs) => ({ resolveFilter: resolverFor(segs) }) });
        const m = docs.filter(match);
        const has = (d: Doc, f: string, v: Val) => valuesOf(d, f).includes(v);
        const bucket = (ds: Doc[]) => {
          const vals = ds.flatMap((d) => nums(d, 'n'));
          const c = vals.length;
          const sum = vals.reduce((a, b) => a + b, 0);
          const t = [...refTerms(ds, 'flag')].sort((a, b) => b[1] - a[1] || (a[0] as number) - (b[0] as number));
          return {
            doc_count: ds.length,
            t: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: t.map(([key, doc_count]) => ({ key, doc_count })) },
            s: { count: c, min: c ? Math.min(...vals) : null, max: c ? Math.max(...vals) : null, avg: c ? sum / c : null, sum },
          };
        };
        const expected = {
          f: {
            buckets: {
              as: bucket(m.filter((d) => has(d, 'cat', 'a'))),
              nouns: bucket(m.filter((d) => has(d, 'cat', 'noun'))),
              rest: bucket(m.filter((d) => !has(d, 'cat', 'a') && !has(d, 'cat', 'noun'))),
            },
          },
          anon: {
            buckets: [{ doc_count: m.filter((d) => has(d, 'cat', 'b')).length }, { doc_count: m.filter((d) => has(d, 'flag', true)).length }],
          },
          one: (() => {
            const vs = m.filter((d) => has(d, 'cat', 'c')).flatMap((d) => nums(d, 'n'));
            return { doc_count: m.filter((d) => has(d, 'cat', 'c')).length, mx: { value: vs.length ? Math.max(...vs) : null } };
          })(),
          miss: { doc_count: m.filter((d) => nums(d, 'n').length === 0).length },
        };
        expect(single).toEqual(expected);
        expect(multi).toEqual(expected);
        expect(Object.keys((single['f'] as { buckets: object }).buckets)).toEqual(['as', 'nouns', 'rest']);
      }),
      { numRuns: 80 },
    );
  });

  it('nested terms → histogram → cardinality equals a per-bucket reference; sharding does not change it', () => {
    fc.assert(
      fc.property(docsArb, (docs) => {
        const req = {
          t: {
            terms: { field: 'cat', size: 20 },
            aggs: {
              h: { histogram: { field: 'n', interval: 20, min_doc_count: 1 }, aggs: { c: { cardinality: { field: 'ts' } } } },
            },
          },
        };
        const { single, multi } = run(req, docs, 3, 2, { match });
        const m = docs.filter(match);
        for (const b of (single['t'] as { buckets: Bucket[] }).buckets) {
          const inCat = m.filter((d) => valuesOf(d, 'cat').includes(b.key as Val));
          expect(b.doc_count).toBe(inCat.length);
          const hist = new Map<number, Doc[]>();
          for (const d of inCat) {
            for (const k of uniq(nums(d, 'n').map((v) => Math.floor(v / 20) * 20))) hist.set(k, [...(hist.get(k) ?? []), d]);
          }
          const want = [...hist]
            .sort((x, y) => x[0] - y[0])
            .map(([key, ds]) => ({ key, doc_count: ds.length, c: { value: new Set(ds.flatMap((d) => nums(d, 'ts'))).size } }));
          expect((b['h'] as { buckets: unknown }).buckets).toEqual(want);
        }
        expect(multi).toEqual(single);
      }),
      { numRuns: 60 },
    );
  });

  it('mergeAggs (intermediate reduce) then reduceAggs equals reduceAggs of all shards', () => {
    fc.assert(
      fc.property(docsArb, (docs) => {
        const req = {
          t: { terms: { field: 'cat', size: 3, shard_size: 3, show_term_doc_count_error: true }, aggs: { a: { avg: { field: 'n' } } } },
          h: { date_histogram: { field: 'ts', calendar_interval: 'month' }, aggs: { c: { cardinality: { field: 'n' } } } },
          top: { top_hits: { size: 2, sort: [{ n: 'desc' }], _source: ['cat'] } },
          // Each merged partial must stay cut to the first `size` buckets with full counts.
          comp: {
            composite: { size: 3, sources: [{ c: { terms: { field: 'cat', missing_bucket: true } } }, { h: { histogram: { field: 'n', interval: 20, order: 'desc' } } }] },
            aggs: { s: { sum: { field: 'n' } } },
          },
        };
        const { aggs, parts, multi } = run(req, docs, 4, 1, { match });
        const merged = reduceAggs(aggs, [json(mergeAggs(aggs, parts.slice(0, 2))), json(mergeAggs(aggs, parts.slice(2)))]);
        expect(merged).toEqual(multi);
      }),
      { numRuns: 60 },
    );
  });
});

describe('top_hits', () => {
  it('returns the best hits by score with _source, per bucket, across shards', () => {
    fc.assert(
      fc.property(docsArb, (docs0) => {
        const docs = docs0.map((d, i) => ({ ...d, i }));
        const score = (d: Doc) => ((d['i'] as number) * 7919) % 1009; // distinct for < 1009 docs
        const req = {
          t: { terms: { field: 'cat', size: 3 }, aggs: { top: { top_hits: { size: 2 } } } },
          all: { top_hits: { size: 3, from: 1, _source: { includes: ['cat', 'i'] } } },
        };
        const { single, multi } = run(req, docs, 3, 2, { match, score });
        const m = docs.filter(match);
        const best = (ds: Doc[], from: number, size: number) => [...ds].sort((a, b) => score(b) - score(a)).slice(from, from + size);
        const all = (multi['all'] as { hits: { hits: { _score: number; _source: Doc }[]; total: { value: number }; max_score: number | null } }).hits;
        expect(all.total.value).toBe(m.length);
        expect(all.max_score).toBe(m.length ? Math.max(...m.map(score)) : null);
        expect(all.hits.map((h) => h._source['i'])).toEqual(best(m, 1, 3).map((d) => d['i']));
        for (const h of all.hits) expect(Object.keys(h._source).every((k) => k === 'cat' || k === 'i')).toBe(true);
        for (const b of (multi['t'] as { buckets: Bucket[] }).buckets) {
          const inCat = m.filter((d) => valuesOf(d, 'cat').includes(b.key as Val));
          const hits = (b['top'] as { hits: { hits: { _score: number; _source: Doc }[] } }).hits.hits;
          expect(hits.map((h) => h._source)).toEqual(best(inCat, 0, 2));
          expect(hits.map((h) => h._score)).toEqual(best(inCat, 0, 2).map(score));
        }
        // Same result but for the _ids (which name the shard and segment here).
        const noIds = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === '_id' ? undefined : v))) as unknown;
        expect(noIds(multi)).toEqual(noIds(single));
      }),
      { numRuns: 60 },
    );
  });

  it('sorts by field with missing last and reports sort values', () => {
    const docs: Doc[] = [{ n: 3, cat: 'x' }, { cat: 'y' }, { n: [1, 9], cat: 'z' }, { n: 5, cat: 'w' }];
    const { single } = run({ top: { top_hits: { size: 4, sort: [{ n: { order: 'desc' } }], _source: false } } }, docs, 1, 1);
    expect(single['top']).toEqual({
      hits: {
        total: { value: 4, relation: 'eq' },
        max_score: null,
        hits: [
          { _id: 'alls0-2', _score: null, sort: [9] },
          { _id: 'alls0-3', _score: null, sort: [5] },
          { _id: 'alls0-0', _score: null, sort: [3] },
          { _id: 'alls0-1', _score: null, sort: [null] },
        ],
      },
    });
    const kw = run({ top: { top_hits: { size: 2, sort: ['cat'], _source: false } } }, docs, 2, 1);
    expect((kw.multi['top'] as { hits: { hits: { sort: unknown[] }[] } }).hits.hits.map((h) => h.sort)).toEqual([['w'], ['x']]);
  });
});

describe('partials', () => {
  it('are plain JSON data and reduce of no shards renders empty results', () => {
    const aggs = parseAggs({
      t: { terms: { field: 'cat' } },
      s: { stats: { field: 'n' } },
      c: { cardinality: { field: 'cat' } },
      h: { top_hits: {} },
      p: { percentiles: { field: 'n', percents: [50] } },
      r: { percentile_ranks: { field: 'n', values: [1], keyed: false } },
      e: { extended_stats: { field: 'n' } },
    });
    const part = collectAggs(aggs, [segment([{ cat: 'a', n: 1 }], 'x')]);
    expect(json(part)).toEqual(part);
    expect(reduceAggs(aggs, [])).toEqual({
      t: { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets: [] },
      s: { count: 0, min: null, max: null, avg: null, sum: 0 },
      c: { value: 0 },
      h: { hits: { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] } },
      p: { values: { '50.0': null } },
      r: { values: [{ key: 1, value: null }] },
      e: {
        count: 0, min: null, max: null, avg: null, sum: 0, sum_of_squares: null, variance: null, variance_population: null,
        variance_sampling: null, std_deviation: null, std_deviation_population: null, std_deviation_sampling: null,
        std_deviation_bounds: { upper: null, lower: null, upper_population: null, lower_population: null, upper_sampling: null, lower_sampling: null },
      },
    });
  });

  it('meta is echoed', () => {
    const aggs = parseAggs({ s: { sum: { field: 'n' }, meta: { color: 'blue' } } });
    expect(reduceAggs(aggs, [collectAggs(aggs, [segment([{ n: 2 }], 'x')])])).toEqual({ s: { meta: { color: 'blue' }, value: 2 } });
  });
});

describe('parse errors', () => {
  const err = (req: unknown, type: string, re: RegExp, opts?: ParseOptions) => {
    let caught: unknown;
    try {
      parseAggs(req, opts);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect((caught as EngineError).type).toBe(type);
    expect((caught as EngineError).reason).toMatch(re);
  };

  it('rejects malformed definitions', () => {
    err([], 'parsing_exception', /START_OBJECT/);
    err({ a: 1 }, 'parsing_exception', /START_OBJECT/);
    err({ a: { nope: { field: 'x' } } }, 'parsing_exception', /Unknown aggregation type \[nope\]/);
    err({ a: {} }, 'parsing_exception', /Missing definition/);
    err({ a: { terms: { field: 'x' }, avg: { field: 'y' } } }, 'parsing_exception', /two aggregation type/);
    err({ 'a>b': { avg: { field: 'x' } } }, 'parsing_exception', /Invalid aggregation name/);
    err({ a: { terms: { field: 'x', bogus: 1 } } }, 'parsing_exception', /unknown field \[bogus\]/);
    err({ a: { terms: { field: 'x', size: 'ten' } } }, 'parsing_exception', /size/);
    err({ a: { avg: { field: 'x' }, aggs: { b: { max: { field: 'y' } } } } }, 'parsing_exception', /cannot accept sub-aggregations/);
    err({ a: { terms: { field: 'x' }, aggs: 3 } }, 'parsing_exception', /START_OBJECT/);
  });

  it('rejects bad values', () => {
    err({ a: { terms: {} } }, 'illegal_argument_exception', /Required one of fields \[field, script\]/);
    err({ a: { avg: {} } }, 'illegal_argument_exception', /Required one of fields/);
    err({ a: { terms: { field: 'x', size: 0 } } }, 'illegal_argument_exception', /\[size\] must be greater than 0/);
    err({ a: { terms: { field: 'x', order: { nope: 'asc' } } } }, 'illegal_argument_exception', /Invalid aggregation order path \[nope\]/);
    err(
      { a: { terms: { field: 'x', order: { s: 'asc' } }, aggs: { s: { stats: { field: 'n' } } } } },
      'illegal_argument_exception',
      /metric name must be specified/,
    );
    err({ a: { terms: { field: 'x', order: { _count: 'up' } } } }, 'illegal_argument_exception', /direction/);
    err({ a: { histogram: { field: 'x' } } }, 'illegal_argument_exception', /\[interval\] must be >0/);
    err({ a: { histogram: { field: 'x', interval: -1 } } }, 'illegal_argument_exception', /\[interval\] must be >0/);
    err({ a: { date_histogram: { field: 't' } } }, 'illegal_argument_exception', /interval/);
    err({ a: { date_histogram: { field: 't', calendar_interval: '2d' } } }, 'illegal_argument_exception', /calendar interval/);
    err({ a: { date_histogram: { field: 't', fixed_interval: '1M' } } }, 'illegal_argument_exception', /fixedInterval/);
    err(
      { a: { date_histogram: { field: 't', fixed_interval: '1d', calendar_interval: 'day' } } },
      'illegal_argument_exception',
      /Cannot use \[fixed_interval\] with \[calendar_interval\]/,
    );
    err({ a: { date_histogram: { field: 't', fixed_interval: '1d', time_zone: 'Europe/Paris' } } }, 'illegal_argument_exception', /time_zone/);
    err({ a: { range: { field: 'x', ranges: [] } } }, 'illegal_argument_exception', /No \[ranges\]/);
    err({ a: { filters: { filters: {} } } }, 'illegal_argument_exception', /cannot be empty/);
    err({ a: { top_hits: { size: 101 } } }, 'illegal_argument_exception', /result window is too large/);
    err({ a: { avg: { field: 'k' } } }, 'illegal_argument_exception', /of type \[keyword\] is not supported/, {
      fieldType: () => 'keyword',
    });
    err({ a: { terms: { field: 'body' } } }, 'illegal_argument_exception', /Text fields are not optimised/, {
      fieldType: () => 'text',
    });
  });

  it('errors at collection for numeric aggregations on keyword columns', () => {
    for (const def of [{ avg: { field: 'cat' } }, { percentiles: { field: 'cat' } }, { percentile_ranks: { field: 'cat', values: [1] } }, { extended_stats: { field: 'cat' } }]) {
      const aggs = parseAggs({ a: def });
      expect(() => collectAggs(aggs, [segment([{ cat: 'a' }], 'x')])).toThrow(/of type \[keyword\] is not supported/);
    }
  });

  it('percentiles, percentile_ranks and extended_stats: structure is parsing_exception, values illegal_argument_exception', () => {
    const P = 'parsing_exception';
    const I = 'illegal_argument_exception';
    err({ a: { percentiles: { field: 'x', hdr: { number_of_significant_value_digits: 3 } } } }, I, /\[hdr\] is not supported.*t-digest/);
    err({ a: { percentiles: { field: 'x', bogus: 1 } } }, P, /\[percentiles\] unknown field \[bogus\]/);
    err({ a: { percentiles: { field: 'x', values: [1] } } }, P, /unknown field \[values\]/);
    err({ a: { percentiles: { field: 'x', percents: 50 } } }, P, /\[percents\].*must be an array/);
    err({ a: { percentiles: { field: 'x', percents: ['half'] } } }, P, /field \[percents\].*expected a number/);
    err({ a: { percentiles: { field: 'x', percents: [] } } }, I, /\[percents\] must not be empty/);
    err({ a: { percentiles: { field: 'x', percents: [50, 100.5] } } }, I, /percent must be in \[0,100\], got \[100\.5\]/);
    err({ a: { percentiles: { field: 'x', percents: [-1] } } }, I, /percent must be in \[0,100\]/);
    err({ a: { percentiles: { field: 'x', tdigest: 100 } } }, P, /\[tdigest\].*must be an object/);
    err({ a: { percentiles: { field: 'x', tdigest: { compression: 100, execution_hint: 'high_accuracy' } } } }, P, /\[tdigest\] unknown field \[execution_hint\]/);
    err({ a: { percentiles: { field: 'x', tdigest: { compression: 0 } } } }, I, /\[compression\] must be greater than 0/);
    err({ a: { percentiles: { field: 'x', keyed: 'yes' } } }, P, /keyed/);
    err({ a: { percentiles: {} } }, I, /Required one of fields \[field, script\]/);
    err({ a: { percentiles: { field: 'k' } } }, I, /of type \[keyword\] is not supported/, { fieldType: () => 'keyword' });
    err({ a: { percentiles: { field: 'x' }, aggs: { b: { max: { field: 'y' } } } } }, P, /cannot accept sub-aggregations/);
    err({ a: { percentile_ranks: { field: 'x' } } }, I, /\[values\] must not be null/);
    err({ a: { percentile_ranks: { field: 'x', values: [] } } }, I, /\[values\] must not be an empty array/);
    err({ a: { percentile_ranks: { field: 'x', values: { v: 1 } } } }, P, /\[values\].*must be an array/);
    err({ a: { percentile_ranks: { field: 'x', values: [1], percents: [5] } } }, P, /unknown field \[percents\]/);
    err({ a: { percentile_ranks: { field: 'x', values: [1], hdr: {} } } }, I, /\[hdr\] is not supported/);
    err({ a: { extended_stats: { field: 'x', sigma: -1 } } }, I, /\[sigma\] must be greater than or equal to 0/);
    err({ a: { extended_stats: { field: 'x', sigma: 'two' } } }, P, /sigma/);
    err({ a: { extended_stats: { field: 'x', format: 'yyyy' } } }, P, /\[extended_stats\] unknown field \[format\]/);
    // Orders by them.
    const t = (order: unknown, aggs: unknown) => ({ t: { terms: { field: 'c', order }, aggs } });
    const pct = { pct: { percentiles: { field: 'n' } } };
    err(t({ pct: 'asc' }, pct), I, /metric name must be specified/);
    err(t({ 'pct.101': 'asc' }, pct), I, /\[101\] of \[pct\] is not a percent between 0 and 100/);
    err(t({ 'pct.p99': 'asc' }, pct), I, /is not a percent/);
    err(t({ 'r.x': 'asc' }, { r: { percentile_ranks: { field: 'n', values: [1] } } }), I, /\[x\] of \[r\] is not a number/);
    err(t({ 'e.std_dev': 'asc' }, { e: { extended_stats: { field: 'n' } } }), I, /Unknown metric name \[std_dev\]/);
    err(t({ 's.variance': 'asc' }, { s: { stats: { field: 'n' } } }), I, /Unknown metric name \[variance\]/);
    expect(parseAggs(t({ 'e.std_upper_sampling': 'asc' }, { e: { extended_stats: { field: 'n' } } }))).toHaveLength(1);
  });

  it('accepts aggs or aggregations, not both, and empty input', () => {
    expect(aggsOfRequest({ aggregations: { a: { avg: { field: 'n' } } } })).toEqual({ a: { avg: { field: 'n' } } });
    expect(() => aggsOfRequest({ aggs: {}, aggregations: {} })).toThrow(EngineError);
    expect(parseAggs(undefined)).toEqual([]);
  });
});

describe('more behaviour', () => {
  it('orders keys in UTF-8 byte order like Lucene, not UTF-16', () => {
    const docs: Doc[] = [{ k: '\uFFFD' }, { k: '😀' }, { k: 'a' }];
    const { single } = run({ t: { terms: { field: 'k', order: { _key: 'asc' } } } }, docs, 1, 1);
    expect((single['t'] as { buckets: Bucket[] }).buckets.map((b) => b.key)).toEqual(['a', '\uFFFD', '😀']);
  });

  it('histogram order by _count and by a metric; missing value', () => {
    const docs: Doc[] = [{ n: 1, x: 5 }, { n: 2, x: 1 }, { n: 11, x: 9 }, { n: 21, x: 2 }, { n: 22, x: 2 }, { n: 23 }, { x: 7 }];
    const { single, multi } = run(
      {
        c: { histogram: { field: 'n', interval: 10, order: { _count: 'desc' } } },
        m: { histogram: { field: 'n', interval: 10, order: { mx: 'desc' } }, aggs: { mx: { max: { field: 'x' } } } },
        miss: { histogram: { field: 'n', interval: 10, missing: 35 } },
      },
      docs,
      2,
      2,
    );
    expect((multi['c'] as { buckets: Bucket[] }).buckets.map((b) => [b.key, b.doc_count])).toEqual([[20, 3], [0, 2], [10, 1]]);
    expect((multi['m'] as { buckets: Bucket[] }).buckets.map((b) => b.key)).toEqual([10, 0, 20]);
    expect((multi['miss'] as { buckets: Bucket[] }).buckets.map((b) => [b.key, b.doc_count])).toEqual([[0, 2], [10, 1], [20, 3], [30, 1]]);
    expect(multi).toEqual(single);
  });

  it('resolveFilter is called once per (filter, segment) even under many buckets', () => {
    const docs: Doc[] = Array.from({ length: 200 }, (_, i) => ({ cat: `c${i % 20}`, tag: i % 3 === 0 ? 'x' : 'y' }));
    const aggs = parseAggs({
      t: { terms: { field: 'cat', size: 20 }, aggs: { f: { filters: { filters: { x: { term: { tag: 'x' } } } } } } },
    });
    const segs = [docs.slice(0, 100), docs.slice(100)];
    let calls = 0;
    const part = collectAggs(
      aggs,
      segs.map((d, i) => segment(d, `s${i}-`)),
      {
        resolveFilter: (_q, seg) => {
          calls++;
          return Int32Array.from(segs[seg]!.flatMap((d, i) => (d['tag'] === 'x' ? [i] : [])));
        },
      },
    );
    expect(calls).toBe(2);
    const res = reduceAggs(aggs, [part]) as { t: { buckets: (Bucket & { f: { buckets: { x: { doc_count: number } } } })[] } };
    for (const b of res.t.buckets) {
      const i = Number((b.key as string).slice(1));
      expect(b.f.buckets.x.doc_count).toBe(docs.filter((d, j) => j % 20 === i && d['tag'] === 'x').length);
    }
    expect(() => collectAggs(aggs, [segment(docs, 'z')])).toThrow(/resolveFilter/);
  });

  it('range on a date field accepts date strings and prints them', () => {
    const fieldType = (f: string) => (f === 'ts' ? 'date' : undefined);
    const { single } = run(
      { r: { range: { field: 'ts', ranges: [{ to: '2020-01-02' }, { from: '2020-01-02T00:00:00Z' }] } } },
      [{ ts: T0 }, { ts: T0 + 86_400_000 }, { ts: T0 + 2 * 86_400_000 }],
      1,
      1,
      { parse: { fieldType } },
    );
    expect(single['r']).toEqual({
      buckets: [
        { key: '*-2020-01-02T00:00:00.000Z', to: T0 + 86_400_000, to_as_string: '2020-01-02T00:00:00.000Z', doc_count: 1 },
        { key: '2020-01-02T00:00:00.000Z-*', from: T0 + 86_400_000, from_as_string: '2020-01-02T00:00:00.000Z', doc_count: 2 },
      ],
    });
  });

  it('top_hits sorted by field, paged with from, across shards equals one shard', () => {
    fc.assert(
      fc.property(docsArb, fc.integer({ min: 0, max: 5 }), (docs0, from) => {
        const docs = docs0.map((d, i) => ({ ...d, i }));
        const req = { top: { top_hits: { from, size: 4, sort: [{ n: { order: 'asc', missing: '_first' } }, { i: 'desc' }], _source: ['i'] } } };
        const { single, multi } = run(req, docs, 3, 2, { match });
        const m = docs.filter(match);
        const key = (d: Doc) => (nums(d, 'n').length ? Math.min(...nums(d, 'n')) : -Infinity);
        const want = [...m].sort((a, b) => key(a) - key(b) || (b['i'] as number) - (a['i'] as number)).slice(from, from + 4);
        const hits = (multi['top'] as { hits: { hits: { _source: Doc; sort: unknown[] }[] } }).hits.hits;
        expect(hits.map((h) => h._source)).toEqual(want.map((d) => ({ i: d['i'] })));
        expect(hits.map((h) => h.sort)).toEqual(want.map((d) => [key(d) === -Infinity ? null : key(d), d['i']]));
        const noIds = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === '_id' ? undefined : v))) as unknown;
        expect(noIds(multi)).toEqual(noIds(single));
      }),
      { numRuns: 60 },
    );
  });

  it('partials survive the msgpack codec (HLL registers included)', () => {
    const docs: Doc[] = Array.from({ length: 5000 }, (_, i) => ({ u: `u${i}`, n: i % 7 }));
    const aggs = parseAggs({
      c: { cardinality: { field: 'u', precision_threshold: 1000 } },
      t: { terms: { field: 'n' }, aggs: { s: { stats: { field: 'n' } }, top: { top_hits: { size: 1 } } } },
    });
    const part = collectAggs(aggs, [segment(docs, 'x', () => true, (d) => (d['n'] as number) / 3)]);
    const back = decode(encode(part)) as ShardAggs;
    expect(back).toEqual(part);
    expect(reduceAggs(aggs, [back, back])).toEqual(reduceAggs(aggs, [part, part]));
  });

  it('shard_min_doc_count drops rare terms on a shard', () => {
    const docs: Doc[] = [{ c: 'a' }, { c: 'a' }, { c: 'b' }];
    const { single } = run({ t: { terms: { field: 'c', shard_min_doc_count: 2, min_doc_count: 2 } } }, docs, 1, 1);
    expect(single['t']).toEqual({ doc_count_error_upper_bound: 0, sum_other_doc_count: 1, buckets: [{ key: 'a', doc_count: 2 }] });
  });
});

describe('composite', () => {
  type CompositeKey = Record<string, unknown>;
  type CompositeBucket = { key: CompositeKey; doc_count: number; [sub: string]: unknown };
  type CompositeResult = { after_key?: CompositeKey; buckets: CompositeBucket[] };

  /** One page (`after` given or not) on one shard and on `shards` shards. */
  const page = (composite: Record<string, unknown>, docs: Doc[], o: RunOpts & { shards?: number; subs?: unknown } = {}) => {
    const req = { c: { composite, ...(o.subs ? { aggs: o.subs } : {}) } };
    const { single, multi } = run(req, docs, o.shards ?? 3, 2, o);
    return { single: single['c'] as CompositeResult, multi: multi['c'] as CompositeResult };
  };

  /** Pages through every bucket with `after`, on one shard and on several; checks each page's shape. */
  const pageAll = (composite: Record<string, unknown>, docs: Doc[], o: RunOpts = {}) => {
    const size = (composite['size'] as number | undefined) ?? 10;
    const out = { single: [] as CompositeBucket[], multi: [] as CompositeBucket[] };
    for (const which of ['single', 'multi'] as const) {
      let after: CompositeKey | undefined;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThanOrEqual(docs.length * 10 + 1);
        const r = page({ ...composite, ...(after ? { after } : {}) }, docs, o)[which];
        expect(r.buckets.length).toBeLessThanOrEqual(size);
        out[which].push(...r.buckets);
        if (r.buckets.length === 0) {
          expect(r).toEqual({ buckets: [] });
          break;
        }
        expect(r.after_key).toEqual(r.buckets[r.buckets.length - 1]!.key);
        after = r.after_key;
      }
    }
    return out;
  };

  interface RefSource {
    name: string;
    /** The doc's key values for this source (before de-duplication). */
    values: (d: Doc) => (string | number)[];
    dir?: 'asc' | 'desc';
    missingBucket?: boolean;
    nullFirst?: boolean;
    show?: (v: string | number) => unknown;
  }

  /** Group docs by every tuple of their sources' values, count, sort in composite order. */
  const reference = (docs: Doc[], sources: RefSource[]): { key: CompositeKey; doc_count: number }[] => {
    const groups = new Map<string, { k: (string | number | null)[]; n: number }>();
    for (const d of docs) {
      const lists = sources.map((s) => {
        const vs = uniq(s.values(d));
        return vs.length > 0 ? vs : s.missingBucket ? [null] : [];
      });
      let tuples: (string | number | null)[][] = [[]];
      for (const list of lists) tuples = tuples.flatMap((t) => list.map((v) => [...t, v]));
      for (const k of tuples) {
        const id = JSON.stringify(k);
        const g = groups.get(id) ?? { k, n: 0 };
        g.n++;
        groups.set(id, g);
      }
    }
    const cmp = (a: (string | number | null)[], b: (string | number | null)[]): number => {
      for (let i = 0; i < sources.length; i++) {
        const s = sources[i]!;
        const x = a[i]!;
        const y = b[i]!;
        if (x === y) continue;
        const nullFirst = s.nullFirst ?? (s.dir ?? 'asc') === 'asc';
        if (x === null) return nullFirst ? -1 : 1;
        if (y === null) return nullFirst ? 1 : -1;
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : utf8Cmp(String(x), String(y));
        return s.dir === 'desc' ? -c : c;
      }
      return 0;
    };
    return [...groups.values()]
      .sort((a, b) => cmp(a.k, b.k))
      .map(({ k, n }) => ({
        key: Object.fromEntries(sources.map((s, i) => [s.name, k[i] === null ? null : s.show ? s.show(k[i]!) : k[i]])),
        doc_count: n,
      }));
  };

  const refuses = (aggs: unknown, type: string, re: RegExp, opts?: ParseOptions) => {
    let caught: unknown;
    try {
      parseAggs(aggs, opts);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EngineError);
    expect((caught as EngineError).type).toBe(type);
    expect((caught as EngineError).reason).toMatch(re);
  };

  it('answers after_key and buckets keyed by source name, with sub-aggregations and meta', () => {
    const docs: Doc[] = [{ cat: 'a', n: 1 }, { cat: 'a', n: 3 }, { cat: 'b', n: 12 }, { n: 4 }];
    const aggs = parseAggs({
      c: {
        composite: { size: 2, sources: [{ k: { terms: { field: 'cat' } } }, { h: { histogram: { field: 'n', interval: 10 } } }] },
        aggs: { s: { sum: { field: 'n' } } },
        meta: { why: 'test' },
      },
    });
    const part = collectAggs(aggs, [segment(docs, 'x')]);
    expect(json(part)).toEqual(part);
    expect(reduceAggs(aggs, [part])).toEqual({
      c: {
        meta: { why: 'test' },
        after_key: { k: 'b', h: 10 },
        buckets: [
          { key: { k: 'a', h: 0 }, doc_count: 2, s: { value: 4 } },
          { key: { k: 'b', h: 10 }, doc_count: 1, s: { value: 12 } },
        ],
      },
    });
    // No bucket: no after_key (nothing to page from).
    expect(reduceAggs(aggs, [])).toEqual({ c: { meta: { why: 'test' }, buckets: [] } });
  });

  it('orders by the sources in turn, each ascending or descending', () => {
    const docs: Doc[] = [
      { cat: 'b', n: 2 },
      { cat: 'a', n: 2 },
      { cat: 'b', n: 1 },
      { cat: 'a', n: 1 },
      { cat: 'c', n: 1 },
      { cat: 'a', n: 1 },
    ];
    const keys = (sources: unknown[]) => {
      const r = page({ size: 10, sources }, docs, { shards: 2 });
      expect(r.multi).toEqual(r.single);
      return r.single.buckets.map((b) => [b.key['k'], b.key['n'], b.doc_count]);
    };
    expect(keys([{ k: { terms: { field: 'cat' } } }, { n: { terms: { field: 'n' } } }])).toEqual([
      ['a', 1, 2],
      ['a', 2, 1],
      ['b', 1, 1],
      ['b', 2, 1],
      ['c', 1, 1],
    ]);
    expect(keys([{ k: { terms: { field: 'cat', order: 'desc' } } }, { n: { terms: { field: 'n', order: 'asc' } } }])).toEqual([
      ['c', 1, 1],
      ['b', 1, 1],
      ['b', 2, 1],
      ['a', 1, 2],
      ['a', 2, 1],
    ]);
    expect(keys([{ n: { terms: { field: 'n', order: 'desc' } } }, { k: { terms: { field: 'cat', order: 'desc' } } }]).map(([k, n, c]) => [n, k, c])).toEqual([
      [2, 'b', 1],
      [2, 'a', 1],
      [1, 'c', 1],
      [1, 'b', 1],
      [1, 'a', 2],
    ]);
  });

  it('missing_bucket gives docs without a value a null key: first ascending, last descending, or where missing_order says', () => {
    const docs: Doc[] = [{ cat: 'a' }, {}, { cat: 'b' }, { n: 1 }];
    const keys = (source: Record<string, unknown>) => {
      const r = page({ sources: [{ k: { terms: { field: 'cat', ...source } } }] }, docs, { shards: 2 });
      expect(r.multi).toEqual(r.single);
      return r.single.buckets.map((b) => [b.key['k'], b.doc_count]);
    };
    expect(keys({})).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(keys({ missing_bucket: true })).toEqual([
      [null, 2],
      ['a', 1],
      ['b', 1],
    ]);
    expect(keys({ missing_bucket: true, order: 'desc' })).toEqual([
      ['b', 1],
      ['a', 1],
      [null, 2],
    ]);
    expect(keys({ missing_bucket: true, missing_order: 'last' })).toEqual([
      ['a', 1],
      ['b', 1],
      [null, 2],
    ]);
    expect(keys({ missing_bucket: true, order: 'desc', missing_order: 'first' })).toEqual([
      [null, 2],
      ['b', 1],
      ['a', 1],
    ]);
    // A null in `after` resumes after the missing bucket.
    const r = page({ sources: [{ k: { terms: { field: 'cat', missing_bucket: true } } }], after: { k: null } }, docs);
    expect(r.multi.buckets.map((b) => b.key['k'])).toEqual(['a', 'b']);
  });

  it('a doc with several values counts once in every combination of them', () => {
    const docs: Doc[] = [{ cat: ['x', 'y'], n: [1, 2, 14] }, { cat: 'x', n: 2 }];
    const r = page(
      { size: 20, sources: [{ k: { terms: { field: 'cat' } } }, { h: { histogram: { field: 'n', interval: 5 } } }, { n: { terms: { field: 'n' } } }] },
      docs,
      { shards: 2, subs: { s: { stats: { field: 'n' } } } },
    );
    expect(r.multi).toEqual(r.single);
    expect(r.single.buckets.map((b) => [b.key['k'], b.key['h'], b.key['n'], b.doc_count])).toEqual([
      // Sources take their values independently: every (cat, bucket of n, n) of the doc.
      ['x', 0, 1, 1],
      ['x', 0, 2, 2],
      ['x', 0, 14, 1],
      ['x', 10, 1, 1],
      ['x', 10, 2, 1],
      ['x', 10, 14, 1],
      ['y', 0, 1, 1],
      ['y', 0, 2, 1],
      ['y', 0, 14, 1],
      ['y', 10, 1, 1],
      ['y', 10, 2, 1],
      ['y', 10, 14, 1],
    ]);
    // 1 and 2 fall into the same histogram bucket: the doc counts once there.
    const byHistogram = page({ sources: [{ h: { histogram: { field: 'n', interval: 5 } } }] }, docs);
    expect(byHistogram.multi.buckets).toEqual([
      { key: { h: 0 }, doc_count: 2 },
      { key: { h: 10 }, doc_count: 1 },
    ]);
    // Sub-aggregations see the bucket's docs, with all of their values.
    expect(r.single.buckets.slice(0, 3).map((b) => b['s'])).toEqual([
      { count: 3, min: 1, max: 14, avg: 17 / 3, sum: 17 },
      { count: 4, min: 1, max: 14, avg: 19 / 4, sum: 19 },
      { count: 3, min: 1, max: 14, avg: 17 / 3, sum: 17 },
    ]);
  });

  it('date_histogram sources: bucket starts in epoch ms, or formatted in the time zone; formatted after keys page', () => {
    const docs: Doc[] = [
      { ts: Date.UTC(2021, 0, 31, 21) }, // 23:00 on Jan 31 at +02:00
      { ts: Date.UTC(2021, 0, 31, 23) }, // 01:00 on Feb 1 at +02:00
      { ts: Date.UTC(2021, 1, 1, 12) },
      { ts: Date.UTC(2021, 2, 3, 5) },
    ];
    const day = { field: 'ts', calendar_interval: 'day', time_zone: '+02:00' };
    const raw = page({ sources: [{ d: { date_histogram: day } }] }, docs);
    expect(raw.multi).toEqual(raw.single);
    expect(raw.single.buckets).toEqual([
      { key: { d: Date.UTC(2021, 0, 30, 22) }, doc_count: 1 },
      { key: { d: Date.UTC(2021, 0, 31, 22) }, doc_count: 2 },
      { key: { d: Date.UTC(2021, 2, 2, 22) }, doc_count: 1 },
    ]);
    const formatted = { sources: [{ d: { date_histogram: { ...day, format: 'yyyy-MM-dd' } } }] };
    expect(page(formatted, docs).multi).toEqual({
      after_key: { d: '2021-03-03' },
      buckets: [
        { key: { d: '2021-01-31' }, doc_count: 1 },
        { key: { d: '2021-02-01' }, doc_count: 2 },
        { key: { d: '2021-03-03' }, doc_count: 1 },
      ],
    });
    expect(page({ ...formatted, after: { d: '2021-01-31' } }, docs).multi.buckets.map((b) => b.key['d'])).toEqual(['2021-02-01', '2021-03-03']);
    expect(page({ ...formatted, after: { d: Date.UTC(2021, 0, 31, 22) } }, docs).multi.buckets.map((b) => b.key['d'])).toEqual(['2021-03-03']);
    // Months, descending, with an offset and a format that keeps it.
    const months = page(
      { sources: [{ m: { date_histogram: { field: 'ts', calendar_interval: 'month', offset: '+6h', format: "yyyy-MM-dd'T'HH:mm", order: 'desc' } } }] },
      docs,
    );
    expect(months.multi.buckets).toEqual([
      { key: { m: '2021-03-01T06:00' }, doc_count: 1 },
      { key: { m: '2021-02-01T06:00' }, doc_count: 1 },
      { key: { m: '2021-01-01T06:00' }, doc_count: 2 },
    ]);
  });

  it('a format that loses part of the bucket start is refused (it could not page)', () => {
    const docs: Doc[] = [{ ts: Date.UTC(2021, 0, 31, 10) }];
    const hours = { sources: [{ d: { date_histogram: { field: 'ts', fixed_interval: '1h', format: 'yyyy-MM-dd' } } }] };
    expect(() => page(hours, docs)).toThrow(expect.objectContaining({ type: 'illegal_argument_exception', reason: expect.stringMatching(/does not read back/) }));
    const ok = { sources: [{ d: { date_histogram: { field: 'ts', fixed_interval: '1h', format: "yyyy-MM-dd'T'HH" } } }] };
    expect(page(ok, docs).single.buckets).toEqual([{ key: { d: '2021-01-31T10' }, doc_count: 1 }]);
  });

  it('keys follow the mapping: booleans as true/false, date terms as epoch ms; after is read the same way', () => {
    const docs: Doc[] = [{ b: true, ts: T0 }, { b: false, ts: T0 }, { b: true, ts: T0 + 1000 }];
    const parse: ParseOptions = { fieldType: (f) => (f === 'b' ? 'boolean' : f === 'ts' ? 'date' : undefined) };
    const sources = [{ b: { terms: { field: 'b' } } }, { t: { terms: { field: 'ts' } } }];
    const r = page({ sources }, docs, { parse });
    expect(r.multi).toEqual(r.single);
    expect(r.single).toEqual({
      after_key: { b: true, t: T0 + 1000 },
      buckets: [
        { key: { b: false, t: T0 }, doc_count: 1 },
        { key: { b: true, t: T0 }, doc_count: 1 },
        { key: { b: true, t: T0 + 1000 }, doc_count: 1 },
      ],
    });
    expect(page({ sources, after: { b: true, t: T0 } }, docs, { parse }).single.buckets).toEqual([{ key: { b: true, t: T0 + 1000 }, doc_count: 1 }]);
    expect(page({ sources, after: { b: 'false', t: '2020-01-01T00:00:00Z' } }, docs, { parse }).single.buckets).toHaveLength(2);
  });

  it('paging by after visits every combination exactly once, with its count (one shard and several)', () => {
    const docs: Doc[] = Array.from({ length: 90 }, (_, i) => ({
      cat: i % 7 === 0 ? undefined : i % 5 === 0 ? [CATS[i % 4]!, CATS[(i + 1) % 4]!] : CATS[(i * 3) % 5]!,
      n: i % 11 === 0 ? undefined : i % 6 === 0 ? [i % 4, ((i * 3) % 23) - 9] : ((i * 7) % 13) - 6,
      ts: T0 + ((i * 7919) % 97) * 7 * 3_600_000,
      m: i % 10 !== 3,
    }));
    const matched = docs.filter(match);
    const day = 86_400_000;
    for (const size of [1, 4, 7]) {
      const composite = {
        size,
        sources: [
          { k: { terms: { field: 'cat', missing_bucket: true, order: 'desc' } } },
          { h: { histogram: { field: 'n', interval: 5 } } },
          { d: { date_histogram: { field: 'ts', fixed_interval: '2d' } } },
        ],
      };
      const got = pageAll(composite, docs, { match });
      const want = reference(matched, [
        { name: 'k', values: (d) => valuesOf(d, 'cat') as string[], dir: 'desc', missingBucket: true },
        { name: 'h', values: (d) => nums(d, 'n').map((v) => Math.floor(v / 5) * 5 + 0) },
        { name: 'd', values: (d) => nums(d, 'ts').map((v) => Math.floor(v / (2 * day)) * 2 * day) },
      ]);
      expect(want.length).toBeGreaterThan(40);
      expect(got.single).toEqual(want);
      expect(got.multi).toEqual(want);
    }
  });

  it('pages match a reference for random docs and sources (property)', () => {
    const sourceArb = fc.oneof(
      fc.record({ field: fc.constantFrom('cat', 'n', 'flag'), dir: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'), miss: fc.boolean() }).map((s) => ({
        def: { terms: { field: s.field, order: s.dir, missing_bucket: s.miss } },
        ref: { values: (d: Doc) => valuesOf(d, s.field).map((v) => (typeof v === 'boolean' ? Number(v) : v)), dir: s.dir, missingBucket: s.miss },
      })),
      fc.record({ interval: fc.constantFrom(1, 4, 7.5, 25), dir: fc.constantFrom<'asc' | 'desc'>('asc', 'desc'), miss: fc.boolean() }).map((s) => ({
        def: { histogram: { field: 'n', interval: s.interval, order: s.dir, missing_bucket: s.miss } },
        ref: { values: (d: Doc) => nums(d, 'n').map((v) => Math.floor(v / s.interval) * s.interval + 0), dir: s.dir, missingBucket: s.miss },
      })),
    );
    fc.assert(
      // size 'max': up to 120 docs, so that small pages cut the keys of every shard.
      fc.property(fc.array(docArb, { maxLength: 120, size: 'max' }), fc.array(sourceArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 8 }), (docs, sources, size) => {
        const names = sources.map((_, i) => `s${i}`);
        const composite = { size, sources: sources.map((s, i) => ({ [names[i]!]: s.def })) };
        const got = pageAll(composite, docs, { match });
        const want = reference(docs.filter(match), sources.map((s, i) => ({ name: names[i]!, ...s.ref })));
        expect(got.single).toEqual(want);
        expect(got.multi).toEqual(want);
      }),
      { numRuns: 60, seed: 424242 },
    );
  });

  it('counts against max_buckets', () => {
    const docs: Doc[] = Array.from({ length: 30 }, (_, i) => ({ n: i }));
    const aggs = parseAggs({ c: { composite: { size: 25, sources: [{ n: { terms: { field: 'n' } } }] } } });
    const part = collectAggs(aggs, [segment(docs, 'x')]);
    expect(() => reduceAggs(aggs, [part], { maxBuckets: 24 })).toThrow(expect.objectContaining({ type: 'too_many_buckets_exception' }));
    expect((reduceAggs(aggs, [part], { maxBuckets: 25 })['c'] as CompositeResult).buckets).toHaveLength(25);
  });

  it('is refused under another aggregation, and with bad definitions', () => {
    const src = [{ k: { terms: { field: 'cat' } } }];
    refuses({ t: { terms: { field: 'x' }, aggs: { c: { composite: { sources: src } } } } }, 'illegal_argument_exception', /cannot be used with a parent aggregation/);
    refuses({ f: { filter: { term: { x: 1 } }, aggs: { c: { composite: { sources: src } } } } }, 'illegal_argument_exception', /cannot be used with a parent aggregation/);
    // Structure: parsing_exception.
    refuses({ c: { composite: { sources: src, bogus: 1 } } }, 'parsing_exception', /unknown field \[bogus\]/);
    refuses({ c: { composite: { sources: { k: { terms: { field: 'cat' } } } } } }, 'parsing_exception', /\[sources\].*must be an array/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x' } }, b: { terms: { field: 'y' } } }] } } }, 'parsing_exception', /one key, the source's name/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x' }, histogram: { field: 'x', interval: 1 } } }] } } }, 'parsing_exception', /one key, its type/);
    refuses({ c: { composite: { sources: [{ a: { range: { field: 'x' } } }] } } }, 'parsing_exception', /unknown source type \[range\]/);
    refuses({ c: { composite: { sources: [{ a: { terms: 'x' } }] } } }, 'parsing_exception', /START_OBJECT/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x', size: 3 } } }] } } }, 'parsing_exception', /unknown field \[size\]/);
    refuses({ c: { composite: { sources: [{ a: { histogram: { field: 'x', interval: 1, offset: 2 } } }] } } }, 'parsing_exception', /unknown field \[offset\]/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x', missing_bucket: 'maybe' } } }] } } }, 'parsing_exception', /missing_bucket/);
    refuses({ c: { composite: { sources: src, size: 'ten' } } }, 'parsing_exception', /size/);
    refuses({ c: { composite: { sources: src, after: ['a'] } } }, 'parsing_exception', /\[after\].*must be an object/);
    // Values: illegal_argument_exception.
    refuses({ c: { composite: {} } }, 'illegal_argument_exception', /\[sources\] cannot be null or empty/);
    refuses({ c: { composite: { sources: [] } } }, 'illegal_argument_exception', /\[sources\] cannot be null or empty/);
    refuses({ c: { composite: { sources: [...src, { k: { terms: { field: 'n' } } }] } } }, 'illegal_argument_exception', /unique, found duplicates: \[k\]/);
    refuses({ c: { composite: { sources: src, size: 0 } } }, 'illegal_argument_exception', /\[size\] must be greater than 0/);
    refuses({ c: { composite: { sources: [{ a: { terms: {} } }] } } }, 'illegal_argument_exception', /Required one of fields/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x', order: 'up' } } }] } } }, 'illegal_argument_exception', /direction/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x', missing_order: 'last' } } }] } } }, 'illegal_argument_exception', /only be set if \[missing_bucket\]/);
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'x', missing_bucket: true, missing_order: 'middle' } } }] } } }, 'illegal_argument_exception', /\[missing_order\] must be one of/);
    refuses({ c: { composite: { sources: [{ a: { histogram: { field: 'x', interval: 0 } } }] } } }, 'illegal_argument_exception', /\[interval\] must be >0/);
    refuses({ c: { composite: { sources: [{ a: { histogram: { field: 'x' } } }] } } }, 'illegal_argument_exception', /\[interval\] must be >0/);
    refuses({ c: { composite: { sources: [{ a: { date_histogram: { field: 't' } } }] } } }, 'illegal_argument_exception', /interval/);
    refuses({ c: { composite: { sources: [{ a: { date_histogram: { field: 't', interval: '1d' } } }] } } }, 'illegal_argument_exception', /\[interval\] on \[date_histogram\] is not supported/);
    refuses({ c: { composite: { sources: [{ a: { date_histogram: { field: 't', fixed_interval: '1d', time_zone: 'Europe/Paris' } } }] } } }, 'illegal_argument_exception', /time_zone/);
    refuses({ c: { composite: { sources: [{ a: { histogram: { field: 'k', interval: 1 } } }] } } }, 'illegal_argument_exception', /of type \[keyword\] is not supported/, {
      fieldType: () => 'keyword',
    });
    refuses({ c: { composite: { sources: [{ a: { terms: { field: 'body' } } }] } } }, 'illegal_argument_exception', /Text fields/, { fieldType: () => 'text' });
    // `after`: one value per source, of the source's type.
    refuses({ c: { composite: { sources: src, after: {} } } }, 'illegal_argument_exception', /\[after\] has 0 value\(s\) but \[sources\] has 1/);
    refuses({ c: { composite: { sources: src, after: { k: 'a', z: 'b' } } } }, 'illegal_argument_exception', /\[after\] has 2 value/);
    refuses({ c: { composite: { sources: src, after: { z: 'a' } } } }, 'illegal_argument_exception', /Missing value for \[after.k\]/);
    refuses({ c: { composite: { sources: src, after: { k: null } } } }, 'illegal_argument_exception', /Invalid value for \[after.k\].*missing_bucket/);
    refuses({ c: { composite: { sources: src, after: { k: { x: 1 } } } } }, 'illegal_argument_exception', /Invalid value for \[after.k\]/);
    refuses({ c: { composite: { sources: src, after: { k: 5 } } } }, 'illegal_argument_exception', /Invalid value for \[after.k\].*expected a string/, {
      fieldType: () => 'keyword',
    });
    refuses({ c: { composite: { sources: src, after: { k: 'five' } } } }, 'illegal_argument_exception', /expected a number/, { fieldType: () => 'long' });
    refuses({ c: { composite: { sources: src, after: { k: 'yes' } } } }, 'illegal_argument_exception', /expected a boolean/, { fieldType: () => 'boolean' });
    refuses({ c: { composite: { sources: [{ h: { histogram: { field: 'n', interval: 2 } } }], after: { h: 'x' } } } }, 'illegal_argument_exception', /expected a number/);
    const dated = [{ d: { date_histogram: { field: 't', calendar_interval: 'day', format: 'yyyy-MM-dd' } } }];
    refuses({ c: { composite: { sources: dated, after: { d: '2021-13-01' } } } }, 'illegal_argument_exception', /Invalid value for \[after.d\].*format \[yyyy-MM-dd\]/);
    refuses({ c: { composite: { sources: [{ d: { date_histogram: { field: 't', calendar_interval: 'day' } } }], after: { d: '2021-01-01' } } } }, 'illegal_argument_exception', /epoch milliseconds/);
    // Collection: histograms need numbers.
    const onKeyword = parseAggs({ c: { composite: { sources: [{ h: { histogram: { field: 'cat', interval: 1 } } }] } } });
    expect(() => collectAggs(onKeyword, [segment([{ cat: 'a' }], 'x')])).toThrow(expect.objectContaining({ type: 'illegal_argument_exception' }));
  });
});

describe('date formats read back (composite after keys)', () => {
  it('parsing what a format prints gives back the instant, to the precision the format keeps', () => {
    // [format, the unit it keeps]
    const formats: [string | undefined, number][] = [
      [undefined, 1],
      ['strict_date_optional_time', 1],
      ['basic_date_time', 1],
      ['epoch_millis', 1],
      ['epoch_second', 1],
      ['date_time_no_millis', 1000],
      ["yyyy-MM-dd'T'HH:mm", 60_000],
      ['yyyy-MM-dd HH:mm:ss.SSSSSS Z', 1],
      ['dd MMM yyyy hh:mm:ss.SSS a', 1],
      ['EEEE, d MMMM yyyy HH:mm:ss.SSS xxx', 1],
      ['yyyyDDD HHmmssSSS', 1],
      ['kk:mm:ss.SSS yyyy/MM/dd ZZZZ', 1],
      ['date', 86_400_000],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...formats),
        fc.constantFrom(0, 5.5 * 3_600_000, -3 * 3_600_000, 14 * 3_600_000),
        fc.integer({ min: -2_000_000_000_000, max: 8_000_000_000_000 }),
        ([format, unit], tz, t) => {
          const print = makeDateFormatter(format, tz);
          const read = makeDateParser(format, tz);
          // The start of `t`'s unit in the zone (every zone here is a whole number of minutes).
          const kept = Math.floor((t + tz) / unit) * unit - tz;
          expect(read(print(t))).toBe(kept);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('text that does not fit the format, or names no real date, reads as undefined', () => {
    const read = makeDateParser('yyyy-MM-dd', 0);
    expect(read('2021-02-29')).toBeUndefined();
    expect(read('2021-13-01')).toBeUndefined();
    expect(read('2021-1-01x')).toBeUndefined();
    expect(read('2020-02-29')).toBe(Date.UTC(2020, 1, 29));
    expect(makeDateParser("HH:mm 'on' yyyy-MM-dd", 0)('24:00 on 2021-01-01')).toBeUndefined();
    expect(makeDateParser('yyyy-MM-dd||epoch_millis', 0)('86400000')).toBe(86_400_000);
    // A zone in the text wins over the formatter's.
    expect(makeDateParser(undefined, 3_600_000)('2021-01-01T00:00:00.000Z')).toBe(Date.UTC(2021, 0, 1));
  });
});
