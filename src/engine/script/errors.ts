/**
 * Script errors in Elasticsearch's shape: `script_exception` with the reason ("compile error" or
 * "runtime error" first, then what went wrong), `script_stack` (the source around the position and
 * a caret under it), `script`, `lang`, `position` and `caused_by` (the underlying error's type
 * and reason).
 */
import { EngineError } from '../types.ts';

/** How much source `script_stack` shows on each side of the position (as Elasticsearch). */
const SNIPPET = 25;

function scriptStack(source: string, offset: number): string[] {
  const from = Math.max(0, offset - SNIPPET);
  const to = Math.min(source.length, offset + SNIPPET);
  const prefix = from > 0 ? '... ' : '';
  const line = `${prefix}${source.slice(from, to)}${to < source.length ? ' ...' : ''}`.replace(/[\n\r\t]/g, ' ');
  return [line, `${' '.repeat(prefix.length + offset - from)}^---- HERE`];
}

function scriptError(phase: 'compile' | 'runtime', source: string, offset: number, causeType: string, reason: string): EngineError {
  const at = Math.max(0, Math.min(offset, source.length));
  return new EngineError('script_exception', `${phase} error: ${reason} (at offset ${at})`, 400, {
    script_stack: scriptStack(source, at),
    script: source,
    lang: 'painless',
    position: { offset: at, start: Math.max(0, at - SNIPPET), end: Math.min(source.length, at + SNIPPET) },
    caused_by: { type: causeType, reason },
  });
}

export function compileError(source: string, offset: number, reason: string): EngineError {
  return scriptError('compile', source, offset, 'illegal_argument_exception', reason);
}

/**
 * A failure while a script runs, thrown by the runtime with the type of the Java exception
 * Painless would raise; the compiled node that catches it first adds the source and position.
 */
export class ScriptRuntimeFault {
  constructor(
    readonly causeType: string,
    readonly reason: string,
  ) {}
}

/** A runtime fault with the offset of the node that raised it. */
export class PositionedFault {
  constructor(
    readonly fault: ScriptRuntimeFault,
    readonly pos: number,
  ) {}
}

/** Whatever a running script threw, as the engine's error: a script_exception unless it is one already. */
export function asScriptError(source: string, e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof PositionedFault) return runtimeError(source, e.pos, e.fault);
  if (e instanceof ScriptRuntimeFault) return runtimeError(source, 0, e);
  // A host limit (memory, stack): still the script's error, not the engine's.
  return runtimeError(source, 0, new ScriptRuntimeFault('illegal_state_exception', e instanceof Error ? e.message : String(e)));
}

export function runtimeError(source: string, offset: number, fault: ScriptRuntimeFault): EngineError {
  return scriptError('runtime', source, offset, fault.causeType, fault.reason);
}

export function classCast(reason: string): ScriptRuntimeFault {
  return new ScriptRuntimeFault('class_cast_exception', reason);
}

export function illegalArgument(reason: string): ScriptRuntimeFault {
  return new ScriptRuntimeFault('illegal_argument_exception', reason);
}
