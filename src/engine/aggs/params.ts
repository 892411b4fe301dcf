/**
 * Reading and validating the parameters of one aggregation definition (`Params`), and the small
 * parsers several aggregations share: sort directions and date_histogram intervals.
 */

import { EngineError } from '../types.ts';
import { parseCalendarInterval, parseFixedInterval } from './dates.ts';
import type { CalendarUnit } from './dates.ts';
import type { ParseOptions } from './parse.ts';
import type { AggType, SortDir } from './types.ts';
import { illegal, parsing } from './util.ts';

/** Aggregations that need a numeric field (a keyword mapping is refused at parse time). */
const NUMERIC_ONLY = new Set<AggType>(['min', 'max', 'avg', 'sum', 'stats', 'extended_stats', 'percentiles', 'percentile_ranks', 'histogram', 'date_histogram', 'range']);
export const TEXT_TYPES = new Set(['text', 'match_only_text', 'annotated_text', 'search_as_you_type']);

/** The JSON token type of a value, as Elasticsearch names it in parse errors. */
export function jsonType(v: unknown): string {
  if (v === null) return 'VALUE_NULL';
  if (Array.isArray(v)) return 'START_ARRAY';
  switch (typeof v) {
    case 'string':
      return 'VALUE_STRING';
    case 'number':
      return 'VALUE_NUMBER';
    case 'boolean':
      return 'VALUE_BOOLEAN';
    case 'object':
      return 'START_OBJECT';
    default:
      return typeof v;
  }
}

export class Params {
  constructor(
    readonly type: AggType,
    readonly name: string,
    readonly obj: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) throw parsing(`[${type}] unknown field [${k}] in aggregation [${name}]`);
    }
  }

  private bad(key: string, want: string, v: unknown): EngineError {
    return parsing(
      `[${this.type}] failed to parse field [${key}] of aggregation [${this.name}]: expected ${want}, got [${jsonType(v)}]`,
    );
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  num(key: string): number | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    return this.toNum(key, v);
  }

  toNum(key: string, v: unknown): number {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
    throw this.bad(key, 'a number', v);
  }

  int(key: string, def: number): number {
    const v = this.num(key);
    if (v === undefined) return def;
    if (!Number.isInteger(v)) throw this.bad(key, 'an integer', this.obj[key]);
    return v;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    throw this.bad(key, 'a boolean', v);
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw this.bad(key, 'a string', v);
    return v;
  }

  field(opts: ParseOptions): string {
    if (this.obj['script'] !== undefined) {
      throw illegal(`[script] is not supported in aggregation [${this.name}]`);
    }
    const f = this.obj['field'];
    if (f === undefined || f === null) {
      throw illegal(
        `Required one of fields [field, script], but none were specified. (aggregation [${this.name}] of type [${this.type}])`,
      );
    }
    if (typeof f !== 'string') throw this.bad('field', 'a string', f);
    if (f.length === 0) throw illegal(`[field] must not be empty in aggregation [${this.name}]`);
    const mapped = opts.fieldType?.(f);
    if (mapped !== undefined && TEXT_TYPES.has(mapped)) {
      throw illegal(
        `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${f}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`,
      );
    }
    if (mapped === 'keyword' && NUMERIC_ONLY.has(this.type)) {
      throw illegal(`Field [${f}] of type [keyword] is not supported for aggregation [${this.type}]`);
    }
    return f;
  }

  nonNegative(key: string, def: number): number {
    const v = this.int(key, def);
    if (v < 0) throw illegal(`[${key}] must be greater than or equal to 0. Found [${v}] in [${this.name}]`);
    return v;
  }

  positive(key: string, def: number): number {
    const v = this.int(key, def);
    if (v <= 0) throw illegal(`[${key}] must be greater than 0. Found [${v}] in [${this.name}]`);
    return v;
  }
}

export function parseDir(v: unknown, path: string): SortDir {
  if (typeof v === 'string') {
    const d = v.toLowerCase();
    if (d === 'asc' || d === 'desc') return d;
  }
  throw illegal(`Unknown order direction [${String(v)}] for order [${path}]: expected [asc] or [desc]`);
}

export type DateInterval = { readonly kind: 'fixed'; readonly ms: number } | { readonly kind: 'calendar'; readonly unit: CalendarUnit };

/** `calendar_interval` or `fixed_interval` of a date_histogram (the deprecated `interval` is refused). */
export function parseDateInterval(p: Params): DateInterval {
  if (p.obj['interval'] !== undefined) {
    throw illegal(
      `[interval] on [date_histogram] is not supported: use [fixed_interval] or [calendar_interval] (aggregation [${p.name}])`,
    );
  }
  const cal = p.str('calendar_interval');
  const fixed = p.str('fixed_interval');
  if (cal !== undefined && fixed !== undefined) {
    throw illegal('Cannot use [fixed_interval] with [calendar_interval] configuration option.');
  }
  if (cal !== undefined) {
    const unit = parseCalendarInterval(cal.trim());
    if (!unit) {
      throw illegal(
        `The supplied interval [${cal}] could not be parsed as a calendar interval. Use one of minute, hour, day, week, month, quarter, year (or 1m, 1h, 1d, 1w, 1M, 1q, 1y).`,
      );
    }
    return { kind: 'calendar', unit };
  }
  if (fixed !== undefined) {
    const ms = parseFixedInterval(fixed);
    if (ms === undefined) {
      throw illegal(
        `failed to parse setting [date_histogram.fixedInterval] with value [${fixed}] as a time value: use a positive whole number of ms, s, m, h or d (calendar units need [calendar_interval])`,
      );
    }
    return { kind: 'fixed', ms };
  }
  throw illegal(`Invalid interval specified, must be non-null and non-empty (aggregation [${p.name}]): use [fixed_interval] or [calendar_interval]`);
}
