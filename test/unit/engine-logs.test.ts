import { expect, it } from 'vitest';
import { accessLogs } from '../../bench/lib/corpus.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

/** Aggregations over the seeded synthetic HTTP access logs equal a plain computation. */
it('aggregates seeded access logs like a reference computation', () => {
  const logs = accessLogs(5_000, 7);
  const e = new ShardEngine({
    mappings: {
      properties: {
        ts: { type: 'date' },
        method: { type: 'keyword' },
        path: { type: 'keyword' },
        status: { type: 'long' },
        bytes: { type: 'long' },
        ua: { type: 'keyword' },
        country: { type: 'keyword' },
      },
    },
  });
  logs.forEach((l, i) => {
    e.index(String(i), l);
    if (i % 1_000 === 999) e.refresh(); // several segments
  });
  e.refresh();
  const r = e.search({
    size: 0,
    query: { range: { status: { gte: 400 } } },
    aggs: {
      per_day: { date_histogram: { field: 'ts', calendar_interval: 'day' } },
      by_status: { terms: { field: 'status', size: 20 }, aggs: { bytes: { avg: { field: 'bytes' } } } },
      countries: { cardinality: { field: 'country' } },
      bytes: { stats: { field: 'bytes' } },
    },
  });
  const errors = logs.filter((l) => l.status >= 400);
  expect(r.hits.total.value).toBe(errors.length);

  const perDay = new Map<string, number>();
  for (const l of errors) perDay.set(l.ts.slice(0, 10), (perDay.get(l.ts.slice(0, 10)) ?? 0) + 1);
  const days = (r.aggregations!.per_day as { buckets: { key_as_string: string; doc_count: number }[] }).buckets.filter((b) => b.doc_count > 0);
  expect(days.map((b) => [b.key_as_string.slice(0, 10), b.doc_count])).toEqual([...perDay].sort());

  const byStatus = new Map<number, number[]>();
  for (const l of errors) byStatus.set(l.status, [...(byStatus.get(l.status) ?? []), l.bytes]);
  const buckets = (r.aggregations!.by_status as { buckets: { key: number; doc_count: number; bytes: { value: number } }[] }).buckets;
  expect(buckets.length).toBe(byStatus.size);
  for (const b of buckets) {
    const bytes = byStatus.get(b.key)!;
    expect(b.doc_count).toBe(bytes.length);
    expect(b.bytes.value).toBeCloseTo(bytes.reduce((a, x) => a + x, 0) / bytes.length, 6);
  }
  expect((r.aggregations!.countries as { value: number }).value).toBe(new Set(errors.map((l) => l.country)).size);
  const stats = r.aggregations!.bytes as { count: number; min: number; max: number; sum: number };
  expect(stats.count).toBe(errors.length);
  expect(stats.min).toBe(Math.min(...errors.map((l) => l.bytes)));
  expect(stats.max).toBe(Math.max(...errors.map((l) => l.bytes)));
  expect(stats.sum).toBe(errors.reduce((a, l) => a + l.bytes, 0));
});
