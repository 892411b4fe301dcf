/**
 * Search templates (Elasticsearch's `_search/template`): a Mustache template that renders, with
 * the request's params, into a search request body. As in Elasticsearch, values are escaped for
 * JSON (not HTML), `{{#toJson}}name{{/toJson}}` writes a param as JSON, and `{{#join}}name{{/join}}`
 * joins a list with commas. Rendering uses the `mustache` package.
 */
import Mustache from 'mustache';
import { EngineError, isPlainObject } from './types.ts';

// Mustache caches every template it parses, without bound: inline templates would grow it forever.
Mustache.templateCache = undefined;

/** A JSON string's inside for a value (what `{{name}}` writes). */
function jsonEscape(value: unknown): string {
  return JSON.stringify(String(value)).slice(1, -1);
}

/** Looks a dotted name up in the params (as Mustache names work). */
function lookup(params: Record<string, unknown>, name: string): unknown {
  let v: unknown = params;
  for (const part of name.trim().split('.')) v = isPlainObject(v) || Array.isArray(v) ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

/** The template's text rendered with the params: a string (render) or the body it parses to (`asJson`). */
export function renderTemplate(source: unknown, params: unknown): string {
  const template = typeof source === 'string' ? source : isPlainObject(source) ? JSON.stringify(source) : undefined;
  if (template === undefined) throw new EngineError('parsing_exception', '[source] of a search template must be a string or an object');
  if (params !== undefined && !isPlainObject(params)) throw new EngineError('parsing_exception', '[params] of a search template must be an object');
  const p = (params ?? {}) as Record<string, unknown>;
  const view = {
    ...p,
    toJson: () => (text: string) => JSON.stringify(lookup(p, text) ?? null),
    join: () => (text: string) => {
      const v = lookup(p, text);
      return Array.isArray(v) ? v.map(String).join(',') : String(v ?? '');
    },
  };
  try {
    return Mustache.render(template, view, undefined, { escape: jsonEscape });
  } catch (err) {
    throw new EngineError('parsing_exception', `the search template does not parse as Mustache: ${(err as Error).message}`);
  }
}

/** The search body a template renders to. */
export function renderSearchBody(source: unknown, params: unknown): Record<string, unknown> {
  const text = renderTemplate(source, params);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new EngineError('parsing_exception', `the rendered search template is not JSON: ${(err as Error).message}; it rendered to: ${text.slice(0, 200)}`);
  }
  if (!isPlainObject(body)) throw new EngineError('parsing_exception', 'the rendered search template must be a JSON object');
  return body;
}

/** A stored template's source is checked when it is stored: it must parse as Mustache. */
export function checkTemplate(source: string): void {
  try {
    Mustache.parse(source);
  } catch (err) {
    throw new EngineError('parsing_exception', `the template does not parse as Mustache: ${(err as Error).message}`);
  }
}
