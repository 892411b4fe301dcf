import type { ClusterState } from '../cluster/cluster-state.ts';
import { parseStoredScript, withStoredCollateTemplates, withStoredScripts } from '../cluster/stored-scripts.ts';
import { parseScript as parsePainless } from '../engine/script/parser.ts';
import { checkTemplate, renderSearchBody, renderTemplate } from '../engine/search-template.ts';
import { isPlainObject } from '../engine/types.ts';
import { ApiError, badRequest, str, wrap, wrapEngine } from './errors.ts';
import type { TemplateHost } from './template-admin.ts';

/**
 * Stored scripts and search templates on the coordinating node: `_scripts/<id>` kept in the
 * cluster state, `{ id, params }` scripts resolved to their source before shards see a request,
 * and `_search/template` rendered into a search body.
 */

const notFound = (id: string) => new ApiError('resource_not_found_exception', `unable to find script [${id}] in cluster state`, 404);

/** Store a Painless script (its syntax checked) or a Mustache template (it must parse). */
export async function putStoredScript(host: TemplateHost, id: unknown, body: unknown) {
  const scriptId = scriptIdOf(id);
  const script = wrap(() => parseStoredScript(scriptId, body));
  wrapEngine(() => (script.lang === 'painless' ? parsePainless(script.source) : checkTemplate(script.source)));
  await host.commit({ op: 'put_stored_script', id: scriptId, script, at: host.now() });
  return { acknowledged: true };
}

export function getStoredScript(state: ClusterState, id: unknown) {
  const scriptId = str(id, 'id');
  const script = state.storedScripts?.[scriptId];
  return script ? { _id: scriptId, found: true, script } : { _id: scriptId, found: false };
}

export async function deleteStoredScript(host: TemplateHost, id: unknown) {
  const scriptId = str(id, 'id');
  if (!host.state.storedScripts?.[scriptId]) throw notFound(scriptId);
  await host.commit({ op: 'delete_stored_script', id: scriptId, at: host.now() });
  return { acknowledged: true };
}

/** A request with its stored scripts (`script: { id, params }`) and phrase collate templates (`query: { id }`) given their source. */
export function resolveStoredScripts<T>(state: ClusterState, request: T): T {
  return wrap(() => withStoredCollateTemplates(withStoredScripts(request, state.storedScripts, notFound), state.storedScripts, notFound)) as T;
}

/** The template of a `_search/template` body: `source` (a string or an object) or a stored template's `id`. */
function templateOf(state: ClusterState, body: Record<string, unknown>): { source: unknown; params: unknown } {
  for (const k of Object.keys(body)) if (!TEMPLATE_KEYS.has(k)) throw badRequest(`unknown key [${k}] in the search template request; known: ${[...TEMPLATE_KEYS].join(', ')}`);
  if ((body.id === undefined) === (body.source === undefined)) throw badRequest('a search template needs either [id] or [source]');
  if (body.id === undefined) return { source: body.source, params: body.params };
  const stored = state.storedScripts?.[str(body.id, 'id')];
  if (!stored) throw notFound(String(body.id));
  if (stored.lang !== 'mustache') throw badRequest(`stored script [${String(body.id)}] is a ${stored.lang} script, not a mustache template`);
  return { source: stored.source, params: body.params };
}

const TEMPLATE_KEYS = new Set(['id', 'source', 'params', 'explain', 'profile']);

/** The search body a `_search/template` request renders to (`explain` passed on into it). */
export function templateSearchBody(state: ClusterState, body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw badRequest('a search template request must be an object');
  if (body.profile !== undefined) throw badRequest('[profile] is not supported');
  const { source, params } = templateOf(state, body);
  const rendered = wrapEngine(() => renderSearchBody(source, params));
  return body.explain === true ? { ...rendered, explain: true } : rendered;
}

/** `_render/template`: what the template renders to, parsed. */
export function renderSearchTemplate(state: ClusterState, body: unknown) {
  if (!isPlainObject(body)) throw badRequest('a render template request must be an object');
  const { source, params } = templateOf(state, body);
  const text = wrapEngine(() => renderTemplate(source, params));
  try {
    return { template_output: JSON.parse(text) as unknown };
  } catch {
    throw new ApiError('parsing_exception', `the rendered template is not JSON: ${text.slice(0, 200)}`, 400);
  }
}

/** A new script's id: 1 to 255 characters, none of them `#`, `/` or whitespace. */
function scriptIdOf(v: unknown): string {
  const id = str(v, 'id');
  if (id.length > 255 || /[#/\s]/.test(id)) throw badRequest(`invalid script id [${id}]: 1 to 255 characters, without '#', '/' or whitespace`);
  return id;
}

