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
