/**
 * Date helpers for `date_histogram` and date-typed keys: interval parsing, rounding (UTC or a fixed
 * offset; calendar units by civil-date arithmetic, no Date objects in the hot loop), formatting
 * (`strict_date_optional_time` by default, a few named formats, and java-time style patterns) and
 * parsing back what a formatter prints (composite `after` keys).
 */

import { resolveDate } from '../date-math.ts';
import { illegal } from './util.ts';

export const MS_SECOND = 1000;
export const MS_MINUTE = 60_000;
export const MS_HOUR = 3_600_000;
export const MS_DAY = 86_400_000;

export type CalendarUnit = 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';

const CALENDAR: Record<string, CalendarUnit> = {
  second: 'second',
  '1s': 'second',
  minute: 'minute',
  '1m': 'minute',
  hour: 'hour',
  '1h': 'hour',
  day: 'day',
  '1d': 'day',
  week: 'week',
  '1w': 'week',
  month: 'month',
  '1M': 'month',
  quarter: 'quarter',
  '1q': 'quarter',
  year: 'year',
  '1y': 'year',
};

export function parseCalendarInterval(s: string): CalendarUnit | undefined {
  return Object.hasOwn(CALENDAR, s) ? CALENDAR[s] : undefined;
}

const FIXED_UNITS: Record<string, number> = { ms: 1, s: MS_SECOND, m: MS_MINUTE, h: MS_HOUR, d: MS_DAY };

/** `"90m"` → 5 400 000; undefined if not a fixed interval (calendar units like `1M`, `1w` are not). */
export function parseFixedInterval(s: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s.trim());
  if (!m) return undefined;
  const v = Number(m[1]) * FIXED_UNITS[m[2]!]!;
  return v > 0 && Number.isSafeInteger(v) ? v : undefined;
}

/** A signed duration like `+6h`, `-1d`, `30m` (for `offset`); numbers are milliseconds. */
export function parseOffset(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string') {
    const m = /^([+-]?)(\d+)(ms|s|m|h|d)$/.exec(v.trim());
    if (m) return (m[1] === '-' ? -1 : 1) * Number(m[2]) * FIXED_UNITS[m[3]!]!;
  }
  throw illegal(`failed to parse setting [${what}] with value [${String(v)}] as a time value`);
}

/** Time zone → fixed offset in ms. Only UTC and fixed offsets (no DST rules). */
export function parseTimeZone(tz: unknown): number {
  if (typeof tz !== 'string') throw illegal(`[time_zone] must be a string`);
  const s = tz.trim();
  if (/^(UTC|Z|GMT|UT|Etc\/UTC|Etc\/GMT|Etc\/UCT|UCT)$/i.test(s)) return 0;
  const m = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(s);
  if (m) {
    const h = Number(m[2]);
    const min = m[3] === undefined ? 0 : Number(m[3]);
    if (h <= 18 && min < 60) return (m[1] === '-' ? -1 : 1) * (h * MS_HOUR + min * MS_MINUTE);
  }
  throw illegal(
    `time_zone [${s}] is not supported: only UTC and fixed offsets like [+05:30] (no daylight saving rules)`,
  );
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian, days since 1970-01-01).
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Writes [year, month 1..12, day 1..31] of a day number into `out`. */
export function civilFromDays(z: number, out: Int32Array | number[]): void {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  out[0] = era * 400 + yoe + (m <= 2 ? 1 : 0);
  out[1] = m;
  out[2] = d;
}

const ymd = new Int32Array(3);
let cy = 0;
let cm = 0;
let cd = 0;

/** Sets cy/cm/cd from a day number; integer-only arithmetic for years 0..~2.7M. */
function civil(days: number): void {
  const z = days + 719468;
  if (z >= 0 && z < 1_000_000_000) {
    const era = (z / 146097) | 0;
    const doe = z - era * 146097;
    const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36524) | 0) - ((doe / 146096) | 0)) / 365) | 0;
    const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
    const mp = ((5 * doy + 2) / 153) | 0;
    cd = doy - (((153 * mp + 2) / 5) | 0) + 1;
    cm = mp < 10 ? mp + 3 : mp - 9;
    cy = era * 400 + yoe + (cm <= 2 ? 1 : 0);
  } else {
    civilFromDays(days, ymd);
    cy = ymd[0]!;
    cm = ymd[1]!;
    cd = ymd[2]!;
  }
}

const CUM = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function monthLength(y: number, m: number): number {
  return CUM[m]! - CUM[m - 1]! + (m === 2 && isLeap(y) ? 1 : 0);
}

/** Day number of the first day of the month / quarter / year containing `days`; sets cy/cm to it. */
function floorMonthish(unit: 'month' | 'quarter' | 'year', days: number): number {
  civil(days);
  const monthStart = days - cd + 1;
  if (unit === 'month') return monthStart;
  const first = unit === 'year' ? 1 : cm - ((cm - 1) % 3);
  const leapShift = isLeap(cy) && cm > 2 && first <= 2 ? 1 : 0;
  const start = monthStart - (CUM[cm - 1]! - CUM[first - 1]!) - leapShift;
  cm = first;
  return start;
}

/** Start of the calendar unit containing local time `t` (ms). */
export function floorCalendar(unit: CalendarUnit, t: number): number {
  switch (unit) {
    case 'second':
      return Math.floor(t / MS_SECOND) * MS_SECOND;
    case 'minute':
      return Math.floor(t / MS_MINUTE) * MS_MINUTE;
    case 'hour':
      return Math.floor(t / MS_HOUR) * MS_HOUR;
    case 'day':
      return Math.floor(t / MS_DAY) * MS_DAY;
    case 'week': {
      const days = Math.floor(t / MS_DAY);
      const dow = (((days + 3) % 7) + 7) % 7; // Monday = 0 (1970-01-01 was a Thursday)
      return (days - dow) * MS_DAY;
    }
    default:
      return floorMonthish(unit, Math.floor(t / MS_DAY)) * MS_DAY;
  }
}

/** Start of the unit after the one containing local time `t`. */
export function nextCalendar(unit: CalendarUnit, t: number): number {
  switch (unit) {
    case 'second':
    case 'minute':
    case 'hour':
    case 'day':
    case 'week':
      return floorCalendar(unit, t) + (unit === 'second' ? MS_SECOND : unit === 'minute' ? MS_MINUTE : unit === 'hour' ? MS_HOUR : unit === 'day' ? MS_DAY : 7 * MS_DAY);
    default: {
      const start = floorMonthish(unit, Math.floor(t / MS_DAY));
      let len = monthLength(cy, cm);
      if (unit === 'quarter') len += monthLength(cy, cm + 1) + monthLength(cy, cm + 2);
      else if (unit === 'year') len = isLeap(cy) ? 366 : 365;
      return (start + len) * MS_DAY;
    }
  }
}

/** The rounding of a date_histogram: bucket key of a value, and the key of the next bucket. */
export interface DateRounding {
  round(v: number): number;
  next(key: number): number;
}

export function makeRounding(
  interval: { kind: 'fixed'; ms: number } | { kind: 'calendar'; unit: CalendarUnit },
  offsetMs: number,
  tzMs: number,
): DateRounding {
  const shift = tzMs - offsetMs; // local = v + tz; buckets are shifted by offset
  if (interval.kind === 'fixed') {
    const I = interval.ms;
    return {
      round: (v) => Math.floor((v + shift) / I) * I - shift,
      next: (k) => k + I,
    };
  }
  const unit = interval.unit;
  const next = (k: number): number => nextCalendar(unit, k + shift) - shift;
  if (unit !== 'month' && unit !== 'quarter' && unit !== 'year') {
    return { round: (v) => floorCalendar(unit, v + shift) - shift, next };
  }
  // Month-like units depend only on the (local) day: a direct-mapped day → start-day cache.
  const tags = new Float64Array(4096).fill(NaN);
  const starts = new Float64Array(4096);
  return {
    round: (v) => {
      const day = Math.floor((v + shift) / MS_DAY);
      const slot = day & 4095;
      if (tags[slot] === day) return starts[slot]! * MS_DAY - shift;
      const start = floorMonthish(unit, day);
      tags[slot] = day;
      starts[slot] = start;
      return start * MS_DAY - shift;
    },
    next,
  };
}

/** Parses a date given in a request (extended_bounds, missing): epoch ms number or string, or ISO 8601. */
export function parseDateValue(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
    if (s.startsWith('now') || s.includes('||')) return resolveDate(s, undefined, false, Date.now());
    if (/^\d{4}(-\d{2}(-\d{2})?)?([T ]\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/.test(s)) {
      let iso = s.replace(' ', 'T');
      // A date-only or local time without zone is UTC in Elasticsearch.
      if (/T/.test(iso) && !/(Z|[+-]\d{2}(:?\d{2})?)$/.test(iso.slice(10))) iso += 'Z';
      if (/^\d{4}$/.test(iso)) iso += '-01-01';
      if (/^\d{4}-\d{2}$/.test(iso)) iso += '-01';
      iso = iso.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
      const t = Date.parse(iso);
      if (Number.isFinite(t)) return t;
    }
  }
  throw illegal(`failed to parse date field [${String(v)}] in [${what}]: expected epoch milliseconds or ISO 8601`);
}

// ---- formatting ----

type Tok = { lit: string } | { f: string; n: number };

export type DateFormatter = (ms: number) => string;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const NAMED: Record<string, string> = {
  strict_date_optional_time: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  date_optional_time: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  strict_date_optional_time_nanos: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  date_time: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  strict_date_time: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  date_time_no_millis: "yyyy-MM-dd'T'HH:mm:ssXXX",
  strict_date_time_no_millis: "yyyy-MM-dd'T'HH:mm:ssXXX",
  basic_date: 'yyyyMMdd',
  basic_date_time: "yyyyMMdd'T'HHmmss.SSSX",
  date: 'yyyy-MM-dd',
  strict_date: 'yyyy-MM-dd',
  date_hour: "yyyy-MM-dd'T'HH",
  strict_date_hour: "yyyy-MM-dd'T'HH",
  date_hour_minute: "yyyy-MM-dd'T'HH:mm",
  strict_date_hour_minute: "yyyy-MM-dd'T'HH:mm",
  date_hour_minute_second: "yyyy-MM-dd'T'HH:mm:ss",
  strict_date_hour_minute_second: "yyyy-MM-dd'T'HH:mm:ss",
  date_hour_minute_second_millis: "yyyy-MM-dd'T'HH:mm:ss.SSS",
  strict_date_hour_minute_second_millis: "yyyy-MM-dd'T'HH:mm:ss.SSS",
  hour_minute: 'HH:mm',
  strict_hour_minute: 'HH:mm',
  hour_minute_second: 'HH:mm:ss',
  strict_hour_minute_second: 'HH:mm:ss',
  year: 'yyyy',
  strict_year: 'yyyy',
  year_month: 'yyyy-MM',
  strict_year_month: 'yyyy-MM',
  year_month_day: 'yyyy-MM-dd',
  strict_year_month_day: 'yyyy-MM-dd',
};

const LETTERS = new Set(['y', 'u', 'M', 'L', 'd', 'H', 'h', 'k', 'K', 'm', 's', 'S', 'a', 'E', 'D', 'X', 'x', 'Z']);

function tokenize(pattern: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end === i + 1) {
        toks.push({ lit: "'" });
        i += 2;
        continue;
      }
      if (end < 0) throw illegal(`Invalid format: [${pattern}]: unterminated quote`);
      toks.push({ lit: pattern.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      if (!LETTERS.has(c)) throw illegal(`Invalid format: [${pattern}]: unsupported pattern letter [${c}]`);
      let j = i;
      while (j < pattern.length && pattern[j] === c) j++;
      toks.push({ f: c, n: j - i });
      i = j;
    } else {
      toks.push({ lit: c });
      i++;
    }
  }
  return toks;
}

function pad(v: number, n: number): string {
  const s = String(Math.abs(v));
  return (v < 0 ? '-' : '') + (s.length >= n ? s : '0'.repeat(n - s.length) + s);
}

function offsetString(tzMs: number, tok: { f: string; n: number }): string {
  const minutes = Math.round(tzMs / MS_MINUTE);
  if (minutes === 0 && (tok.f === 'X')) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  const hh = pad(Math.floor(a / 60), 2);
  const mm = pad(a % 60, 2);
  if (tok.f === 'Z') return tok.n >= 4 ? `GMT${sign}${hh}:${mm}` : `${sign}${hh}${mm}`;
  if (tok.n === 1) return a % 60 === 0 ? `${sign}${hh}` : `${sign}${hh}${mm}`;
  if (tok.n === 2 || tok.n === 4) return `${sign}${hh}${mm}`;
  return `${sign}${hh}:${mm}`;
}

/** A formatter for `format` (a named Elasticsearch format or a java-time pattern) in a fixed offset. */
export function makeDateFormatter(format: string | undefined, tzMs: number): DateFormatter {
  const first = (format ?? 'strict_date_optional_time').split('||')[0]!.trim();
  if (first === 'epoch_millis') return (ms) => String(ms);
  if (first === 'epoch_second') return (ms) => String(ms / 1000);
  const pattern = Object.hasOwn(NAMED, first) ? NAMED[first]! : first;
  const toks = tokenize(pattern);
  const parts = new Int32Array(3);
  return (ms: number): string => {
    const local = ms + tzMs;
    const days = Math.floor(local / MS_DAY);
    const inDay = local - days * MS_DAY;
    civilFromDays(days, parts);
    const y = parts[0]!;
    const mo = parts[1]!;
    const d = parts[2]!;
    const H = Math.floor(inDay / MS_HOUR);
    const mi = Math.floor((inDay % MS_HOUR) / MS_MINUTE);
    const s = Math.floor((inDay % MS_MINUTE) / MS_SECOND);
    const milli = Math.floor(inDay % MS_SECOND);
    let out = '';
    for (const t of toks) {
      if ('lit' in t) {
        out += t.lit;
        continue;
      }
      switch (t.f) {
        case 'y':
        case 'u':
          out += t.n === 2 ? pad(((y % 100) + 100) % 100, 2) : pad(y, Math.max(t.n, 4));
          break;
        case 'M':
        case 'L':
          out += t.n >= 4 ? MONTHS[mo - 1] : t.n === 3 ? MONTHS[mo - 1]!.slice(0, 3) : pad(mo, t.n);
          break;
        case 'd':
          out += pad(d, t.n);
          break;
        case 'D':
          out += pad(days - daysFromCivil(y, 1, 1) + 1, t.n);
          break;
        case 'H':
          out += pad(H, t.n);
          break;
        case 'k':
          out += pad(H === 0 ? 24 : H, t.n);
          break;
        case 'h':
          out += pad(H % 12 === 0 ? 12 : H % 12, t.n);
          break;
        case 'K':
          out += pad(H % 12, t.n);
          break;
        case 'a':
          out += H < 12 ? 'AM' : 'PM';
          break;
        case 'm':
          out += pad(mi, t.n);
          break;
        case 's':
          out += pad(s, t.n);
          break;
        case 'S': {
          const frac = pad(milli, 3);
          out += t.n <= 3 ? frac.slice(0, t.n) : frac + '0'.repeat(t.n - 3);
          break;
        }
        case 'E': {
          const dow = (((days + 3) % 7) + 7) % 7;
          out += t.n >= 4 ? DAYS[dow] : DAYS[dow]!.slice(0, 3);
          break;
        }
        default:
          out += offsetString(tzMs, t);
      }
    }
    return out;
  };
}

// ---- parsing (the inverse of the formatters, for composite `after` keys) ----

export type DateParser = (s: string) => number | undefined;

const NUMERIC_LETTERS = new Set(['y', 'u', 'd', 'D', 'H', 'k', 'h', 'K', 'm', 's', 'S']);
/** Widest a field prints (pad never truncates, so a field may print wider than its letter count). */
const MAX_WIDTH: Record<string, number> = { M: 2, L: 2, d: 2, D: 3, H: 2, k: 2, h: 2, K: 2, m: 2, s: 2 };

function isNumericTok(t: Tok | undefined): boolean {
  return t !== undefined && !('lit' in t) && (NUMERIC_LETTERS.has(t.f) || ((t.f === 'M' || t.f === 'L') && t.n <= 2));
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function tokenRegex(t: Tok, next: Tok | undefined): string {
  if ('lit' in t) return escapeRegex(t.lit);
  // A field right before another number has a fixed width (as java-time's adjacent value parsing).
  const adjacent = isNumericTok(next);
  switch (t.f) {
    case 'y':
    case 'u': {
      if (t.n === 2) return '(\\d{2})';
      const w = Math.max(t.n, 4);
      return adjacent ? `(-?\\d{${w}})` : `(-?\\d{${w},})`;
    }
    case 'M':
    case 'L':
      if (t.n >= 4) return `(${MONTHS.join('|')})`;
      if (t.n === 3) return `(${MONTHS.map((m) => m.slice(0, 3)).join('|')})`;
      break;
    case 'E':
      return `(${(t.n >= 4 ? DAYS : DAYS.map((d) => d.slice(0, 3))).join('|')})`;
    case 'a':
      return '(AM|PM)';
    case 'S':
      return `(\\d{${t.n}})`;
    case 'X':
    case 'x':
    case 'Z':
      return '(Z|GMT[+-]\\d{2}:\\d{2}|[+-]\\d{2}(?::?\\d{2})?)';
  }
  const max = Math.max(t.n, MAX_WIDTH[t.f] ?? t.n);
  return adjacent || max === t.n ? `(\\d{${t.n}})` : `(\\d{${t.n},${max}})`;
}

function parseOffsetText(s: string): number {
  if (s === 'Z') return 0;
  const m = /^(?:GMT)?([+-])(\d{2}):?(\d{2})?$/.exec(s)!;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * MS_HOUR + Number(m[3] ?? 0) * MS_MINUTE);
}

function patternParser(pattern: string, tzMs: number): DateParser {
  const toks = tokenize(pattern);
  const fields = toks.filter((t): t is { f: string; n: number } => !('lit' in t));
  const re = new RegExp(`^${toks.map((t, i) => tokenRegex(t, toks[i + 1])).join('')}$`, 'i');
  const nameIndex = (names: readonly string[], s: string, n: number): number =>
    names.findIndex((x) => (n >= 4 ? x : x.slice(0, 3)).toLowerCase() === s.toLowerCase());
  return (s) => {
    const m = re.exec(s.trim());
    if (!m) return undefined;
    let year = 1970;
    let month = 1;
    let day = 1;
    let dayOfYear: number | undefined;
    let hour = 0;
    let hour12: number | undefined;
    let pm = false;
    let minute = 0;
    let second = 0;
    let milli = 0;
    let offset: number | undefined;
    for (let i = 0; i < fields.length; i++) {
      const t = fields[i]!;
      const v = m[i + 1]!;
      switch (t.f) {
        case 'y':
        case 'u':
          year = t.n === 2 ? 2000 + Number(v) : Number(v);
          break;
        case 'M':
        case 'L':
          month = t.n >= 3 ? nameIndex(MONTHS, v, t.n) + 1 : Number(v);
          break;
        case 'd':
          day = Number(v);
          break;
        case 'D':
          dayOfYear = Number(v);
          break;
        case 'H':
          hour = Number(v);
          break;
        case 'k':
          hour = Number(v) % 24;
          break;
        case 'h':
          hour12 = Number(v) % 12;
          break;
        case 'K':
          hour12 = Number(v);
          break;
        case 'a':
          pm = v.toUpperCase() === 'PM';
          break;
        case 'm':
          minute = Number(v);
          break;
        case 's':
          second = Number(v);
          break;
        case 'S':
          milli = Number(`${v}00`.slice(0, 3));
          break;
        case 'E':
          break; // the day of the week follows from the date
        default:
          offset = parseOffsetText(v.toUpperCase());
      }
    }
    if (hour12 !== undefined) hour = hour12 + (pm ? 12 : 0);
    if (month < 1 || month > 12 || day < 1 || day > monthLength(year, month)) return undefined;
    if (hour > 23 || minute > 59 || second > 59 || hour12 !== undefined && hour12 > 11) return undefined;
    let days = daysFromCivil(year, month, day);
    if (dayOfYear !== undefined) {
      if (dayOfYear < 1 || dayOfYear > (isLeap(year) ? 366 : 365)) return undefined;
      days = daysFromCivil(year, 1, 1) + dayOfYear - 1;
    }
    const local = days * MS_DAY + hour * MS_HOUR + minute * MS_MINUTE + second * MS_SECOND + milli;
    return local - (offset ?? tzMs);
  };
}

/**
 * Reads back what `makeDateFormatter(format, tzMs)` prints (any of the `||` alternatives): epoch ms,
 * or undefined when `s` does not match. Fields the format lacks default to the start of their unit
 * (1970, January, the 1st, midnight), in the zone the text names, else `tzMs`.
 */
export function makeDateParser(format: string | undefined, tzMs: number): DateParser {
  const parsers = (format ?? 'strict_date_optional_time').split('||').map((f): DateParser => {
    const name = f.trim();
    const number = (s: string): number | undefined => (/^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : undefined);
    if (name === 'epoch_millis') return number;
    if (name === 'epoch_second') {
      return (s) => {
        const v = number(s);
        return v === undefined ? undefined : Math.round(v * MS_SECOND);
      };
    }
    return patternParser(Object.hasOwn(NAMED, name) ? NAMED[name]! : name, tzMs);
  });
  return (s) => {
    for (const parse of parsers) {
      const v = parse(s);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}
