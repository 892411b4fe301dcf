/** The parameters of the suggesters (suggest.ts, completion.ts), checked: a bad one is a parsing_exception naming it. */
import { EngineError } from './types.ts';

export function badSuggestParam(reason: string): never {
  throw new EngineError('parsing_exception', reason);
}

/** An integer in [min, max], or `dflt` when absent. */
export function intIn(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) badSuggestParam(`[${name}] must be an integer from ${min} to ${max}`);
  return v as number;
}

/** A non-negative number (a count, or below 1 a fraction), or `dflt` when absent. */
export function frequency(v: unknown, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) badSuggestParam(`[${name}] must be a non-negative number`);
  return v;
}

/** A finite number that `ok` accepts (described by `what`), or `dflt` when absent. */
export function numberParam(v: unknown, name: string, dflt: number, ok: (n: number) => boolean, what: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) badSuggestParam(`[${name}] must be ${what}`);
  return v;
}

/** A string, or `dflt` when absent. */
export function stringParam<D extends string | undefined>(v: unknown, name: string, dflt: D): string | D {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') badSuggestParam(`[${name}] must be a string`);
  return v;
}

/** Refuses the keys of `o` that `known` lacks. */
export function knownKeys(o: Record<string, unknown>, known: ReadonlySet<string>, where: string): void {
  for (const k in o) if (!known.has(k)) badSuggestParam(`${where} does not support [${k}]`);
}
