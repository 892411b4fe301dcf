/**
 * Reading one analysis component's definition: every setting checked for its type and range, and
 * anything the component does not take refused, each as an `illegal_argument_exception` naming it.
 */
import { EngineError } from '../types.ts';

export function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

/** Refuses settings a definition of this type does not have (a typo must not change the analysis). */
export function checkSettings(def: Record<string, unknown>, allowed: readonly string[], label: string, type: string): void {
  for (const k in def) {
    if (k !== 'type' && !allowed.includes(k)) throw illegal(`unknown setting [${k}] of ${label} of type [${type}] (supported: ${allowed.join(', ') || 'none'})`);
  }
}

export function boolSetting(def: Record<string, unknown>, key: string, fallback: boolean, label: string): boolean {
  const v = def[key];
  if (v === undefined || v === null) return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw illegal(`[${key}] of ${label} must be a boolean, got [${String(v)}]`);
}

/** An integer (numbers or numeric strings, as ES takes them) in [min, max]. */
export function intSetting(def: Record<string, unknown>, key: string, fallback: number, label: string, min = -2147483648, max = 2147483647): number {
  const v = def[key];
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw illegal(`[${key}] of ${label} must be an integer, got [${String(v)}]`);
  if (n < min || n > max) throw illegal(`[${key}] of ${label} must be ${max === 2147483647 ? `at least ${min}` : `in [${min}, ${max}]`}, got [${n}]`);
  return n;
}

export function stringSetting(def: Record<string, unknown>, key: string, fallback: string, label: string): string {
  const v = def[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw illegal(`[${key}] of ${label} must be a string, got [${JSON.stringify(v)}]`);
  return v;
}

/** A list of strings: an array, or one comma-separated string. */
export function stringListSetting(def: Record<string, unknown>, key: string, label: string): string[] | undefined {
  const v = def[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw illegal(`[${key}] of ${label} must be an array of strings`);
}

/** Index-level limits that analysis definitions are checked against (Elasticsearch's defaults). */
export interface AnalysisLimits {
  /** `index.max_ngram_diff`: the largest max_gram - min_gram of an ngram tokenizer or filter. */
  maxNgramDiff: number;
  /** `index.max_shingle_diff`: the largest max_shingle_size - min_shingle_size of a shingle filter. */
  maxShingleDiff: number;
}

export const DEFAULT_LIMITS: AnalysisLimits = { maxNgramDiff: 1, maxShingleDiff: 3 };
