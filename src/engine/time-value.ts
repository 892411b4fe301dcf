/** Elasticsearch's time units, in milliseconds. */
const UNITS: Record<string, number> = { nanos: 1e-6, micros: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time value such as `"500ms"`, `"2s"` or `"1.5m"` in milliseconds; undefined when it is not one. */
export function timeValueMs(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)\s*$/.exec(v);
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}
