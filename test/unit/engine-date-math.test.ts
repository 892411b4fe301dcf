import { describe, expect, it } from 'vitest';
import { resolveDate } from '../../src/engine/date-math.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

const at = (iso: string) => Date.parse(iso);
// A Wednesday, mid-morning.
const NOW = at('2024-03-13T10:41:27.500Z');

describe('date math', () => {
  it('resolves now, anchors, additions and rounding as Elasticsearch does', () => {
    const down = (e: string) => new Date(resolveDate(e, undefined, false, NOW)).toISOString();
    const up = (e: string) => new Date(resolveDate(e, undefined, true, NOW)).toISOString();
    expect(down('now')).toBe('2024-03-13T10:41:27.500Z');
    expect(down('now-1d')).toBe('2024-03-12T10:41:27.500Z');
    expect(down('now+2h-30m')).toBe('2024-03-13T12:11:27.500Z');
    expect(down('now/d')).toBe('2024-03-13T00:00:00.000Z');
    expect(up('now/d')).toBe('2024-03-13T23:59:59.999Z');
    expect(down('now/M')).toBe('2024-03-01T00:00:00.000Z');
    expect(up('now/M')).toBe('2024-03-31T23:59:59.999Z');
    expect(down('now/y')).toBe('2024-01-01T00:00:00.000Z');
    // ISO weeks start on Monday.
    expect(down('now/w')).toBe('2024-03-11T00:00:00.000Z');
    expect(up('now/w')).toBe('2024-03-17T23:59:59.999Z');
    expect(down('now-1d/d')).toBe('2024-03-12T00:00:00.000Z');
    expect(down('now/H')).toBe('2024-03-13T10:00:00.000Z');
    expect(down('now/m')).toBe('2024-03-13T10:41:00.000Z');
    expect(down('now/s')).toBe('2024-03-13T10:41:27.000Z');
    // A calendar month keeps the day, clamped to the month's last.
    expect(down('2024-01-31||+1M')).toBe('2024-02-29T00:00:00.000Z');
    expect(down('2023-02-28||+1y')).toBe('2024-02-28T00:00:00.000Z');
    expect(down('2024-03-01||+1M-1s')).toBe('2024-03-31T23:59:59.000Z');
    expect(down('2024-11-18||/M')).toBe('2024-11-01T00:00:00.000Z');
    expect(up('2024-11-18||/M')).toBe('2024-11-30T23:59:59.999Z');
  });

  it('rounds a date without its time up only when asked to', () => {
    expect(resolveDate('2024-03-01', undefined, false, NOW)).toBe(at('2024-03-01T00:00:00Z'));
    expect(resolveDate('2024-03-01', undefined, true, NOW)).toBe(at('2024-03-01T23:59:59.999Z'));
    expect(resolveDate('2024-03-01T10:15', undefined, true, NOW)).toBe(at('2024-03-01T10:15:59.999Z'));
    expect(resolveDate('2024-03-01T10:15:30.250Z', undefined, true, NOW)).toBe(at('2024-03-01T10:15:30.250Z'));
    expect(resolveDate(1_700_000_000_000, undefined, true, NOW)).toBe(1_700_000_000_000);
  });

  it('rejects malformed expressions with a parse_exception', () => {
    for (const bad of ['now-1x', 'now*2', 'now/q', 'not-a-date||+1d', 'now-']) {
      expect(() => resolveDate(bad, undefined, false, NOW), bad).toThrow(expect.objectContaining({ type: 'parse_exception' }));
    }
  });
});

describe('range queries with date math', () => {
  const day = 86_400_000;
  const engine = new ShardEngine({ mappings: { properties: { at: { type: 'date' } } } });
  const today = Math.floor(Date.now() / day) * day;
  const docs: Record<string, number> = {
    'two-days-ago': today - 2 * day + 5000,
    'yesterday-start': today - day,
    'yesterday-end': today - 1,
    'today-start': today,
  };
  for (const [id, t] of Object.entries(docs)) engine.index(id, { at: new Date(t).toISOString() });
  engine.refresh();
  const ids = (range: Record<string, unknown>) =>
    engine
      .search({ query: { range: { at: range } }, size: 10, sort: [{ at: 'asc' }] })
      .hits.hits.map((h) => h._id);

  it('takes in whole units: gte and lt round down, gt and lte round up', () => {
    expect(ids({ gte: 'now-1d/d', lt: 'now/d' })).toEqual(['yesterday-start', 'yesterday-end']);
    expect(ids({ gt: 'now-2d/d', lte: 'now-1d/d' })).toEqual(['yesterday-start', 'yesterday-end']);
    expect(ids({ gte: 'now/d' })).toEqual(['today-start']);
    expect(ids({ lte: 'now-2d/d' })).toEqual(['two-days-ago']);
  });

  it('takes in the whole day of a date-only lte, as Elasticsearch does', () => {
    const yesterday = new Date(today - day).toISOString().slice(0, 10);
    expect(ids({ gte: yesterday, lte: yesterday })).toEqual(['yesterday-start', 'yesterday-end']);
  });

  it('resolves date math in the bounds of a range aggregation on a date', () => {
    const res = engine.search({ size: 0, aggs: { r: { range: { field: 'at', ranges: [{ from: 'now-1d/d', to: 'now/d' }] } } } });
    expect((res.aggregations as any).r.buckets.map((b: any) => b.doc_count)).toEqual([2]);
  });

  it('answers a malformed expression with a parse_exception', () => {
    expect(() => ids({ gte: 'now-1q' })).toThrow(expect.objectContaining({ type: 'parse_exception' }));
  });
});
