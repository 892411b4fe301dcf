/**
 * Elasticsearch's date math, in UTC: `now`, or a date followed by `||`, then any number of
 * `+N<unit>`, `-N<unit>` and `/<unit>` (rounding), units y M w d h H m s. For example
 * `now-1d/d` (yesterday, at its start) or `2024-03-01||+1M-1s`.
 *
 * Range bounds round as Elasticsearch rounds them: `gte` and `lt` to the first millisecond of the
 * rounded unit, `gt` and `lte` to its last, so `lte: now/d` takes in all of today and
 * `gt: now/d` none of it. A bound without date math but with fields left out (`2024-03-01`) is
 * rounded up the same way when it rounds up: `lte: "2024-03-01"` takes in that whole day.
 */
import { parseDate } from './mapping.ts';
import { EngineError } from './types.ts';

type Unit = 'y' | 'M' | 'w' | 'd' | 'h' | 'm' | 's';
const UNIT_OF: Record<string, Unit> = { y: 'y', M: 'M', w: 'w', d: 'd', h: 'h', H: 'h', m: 'm', s: 's' };
const FIXED_MS: Partial<Record<Unit, number>> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

function bad(expression: string, why: string): never {
  throw new EngineError('parse_exception', `failed to parse date field [${expression}]: ${why}`);
}

/**
 * A date (or date math expression) as epoch milliseconds. `roundUp`: round to the last millisecond
 * of the unit (for `gt` and `lte`), else to the first. `now`: the request's current time.
 */
export function resolveDate(value: unknown, format: string | undefined, roundUp: boolean, now: number): number {
  if (typeof value !== 'string') return parseDate(value, format);
  let rest: string;
  let t: number;
  if (value.startsWith('now')) {
    t = now;
    rest = value.slice(3);
  } else {
    const anchor = value.indexOf('||');
    if (anchor < 0) return roundUp ? roundUpPartial(value, parseDate(value, format)) : parseDate(value, format);
    t = parseDate(value.slice(0, anchor), format);
    rest = value.slice(anchor + 2);
  }
  return applyMath(value, rest, t, roundUp);
}

function applyMath(expression: string, math: string, start: number, roundUp: boolean): number {
  let t = start;
  let i = 0;
  while (i < math.length) {
    const op = math[i++]!;
    if (op === '/') {
      const unit = UNIT_OF[math[i++] ?? ''];
      if (!unit) bad(expression, `unknown rounding unit in [${math}]`);
      t = roundUp ? ceilTo(t, unit) : floorTo(t, unit);
      continue;
    }
    if (op !== '+' && op !== '-') bad(expression, `operator [${op}] is not one of + - /`);
    let digits = '';
    while (i < math.length && math[i]! >= '0' && math[i]! <= '9') digits += math[i++];
    const unit = UNIT_OF[math[i++] ?? ''];
    if (!unit) bad(expression, `unknown unit in [${math}]`);
    t = add(t, unit, (op === '-' ? -1 : 1) * (digits === '' ? 1 : Number(digits)));
  }
  return t;
}

function add(t: number, unit: Unit, n: number): number {
  const fixed = FIXED_MS[unit];
  if (fixed !== undefined) return t + n * fixed;
  const d = new Date(t);
  // Calendar units: the day of month is kept, clamped to the target month's last day (as java.time does).
  const day = d.getUTCDate();
  d.setUTCDate(1);
  if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
  else d.setUTCMonth(d.getUTCMonth() + n);
  d.setUTCDate(Math.min(day, daysInMonth(d.getUTCFullYear(), d.getUTCMonth())));
  return d.getTime();
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The first millisecond of t's unit (weeks start on Monday, as in ISO and Elasticsearch). */
function floorTo(t: number, unit: Unit): number {
  const d = new Date(t);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'w': {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
    }
    default: {
      const size = FIXED_MS[unit]!;
      return Math.floor(t / size) * size;
    }
  }
}

/** The last millisecond of t's unit. */
function ceilTo(t: number, unit: Unit): number {
  return add(floorTo(t, unit), unit, 1) - 1;
}

// The precision of an ISO date (as mapping.ts accepts one) written without its smaller fields.
const PARTIAL: [RegExp, Unit][] = [
  [/^\d{4}-\d{2}-\d{2}$/, 'd'],
  [/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$/, 'm'],
  [/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$/, 's'],
];

/** Round a date written without its smaller fields up to the last millisecond they leave open. */
function roundUpPartial(text: string, t: number): number {
  for (const [re, unit] of PARTIAL) if (re.test(text)) return ceilTo(t, unit);
  return t;
}
