import { SettingsError } from './metadata.ts';
import { isPlainObject as isObject } from '../engine/types.ts';

/**
 * Stored scripts (Elasticsearch's `_scripts/<id>`): a Painless script or a Mustache search
 * template kept in the cluster state under an id. A script given as `{ id, params }` in a request
 * is the stored one with those params; `search_template` renders a stored (or inline) template.
 */
export interface StoredScript {
  lang: 'painless' | 'mustache';
  source: string;
}

export type StoredScripts = Record<string, StoredScript>;

const BODY_KEYS = new Set(['script']);
const SCRIPT_KEYS = new Set(['lang', 'source', 'options']);
/** Elasticsearch's script.max_size_in_bytes default. */
const MAX_SOURCE_LENGTH = 65_535;

function bad(reason: string): never {
  throw new SettingsError('illegal_argument_exception', reason);
}


/** `{ script: { lang, source } }` checked (a template's source may be an object: it is stored as its JSON). */
export function parseStoredScript(id: string, body: unknown): StoredScript {
  if (!isObject(body)) bad('a stored script request must be an object with [script]');
  for (const k of Object.keys(body)) if (!BODY_KEYS.has(k)) bad(`unknown key [${k}] in the stored script [${id}]; known: script`);
  const s = body.script;
  if (!isObject(s)) bad(`stored script [${id}] needs [script]: { lang, source }`);
  for (const k of Object.keys(s)) if (!SCRIPT_KEYS.has(k)) bad(`unknown key [script.${k}] in the stored script [${id}]; known: lang, source, options`);
  if (s.lang !== 'painless' && s.lang !== 'mustache') bad(`stored script [${id}]: [lang] must be painless or mustache, got [${String(s.lang)}]`);
  if (s.options !== undefined && !isObject(s.options)) bad(`stored script [${id}]: [options] must be an object`);
  const source = s.lang === 'mustache' && isObject(s.source) ? JSON.stringify(s.source) : s.source;
  if (typeof source !== 'string' || source === '') bad(`stored script [${id}] needs a [source]`);
  if (source.length > MAX_SOURCE_LENGTH) bad(`stored script [${id}] is ${source.length} characters long; the limit is ${MAX_SOURCE_LENGTH}`);
  return { lang: s.lang, source };
}

/** Plain-data check for the Raft log. */
export function isStoredScript(v: unknown): v is StoredScript {
  return isObject(v) && (v.lang === 'painless' || v.lang === 'mustache') && typeof v.source === 'string';
}

/**
 * A search body whose phrase suggesters' `collate.query` names a stored Mustache template
 * (`{ id }`) gets the template's source instead (a copy where something changed).
 */
export function withStoredCollateTemplates(body: unknown, scripts: StoredScripts | undefined, missing: (id: string) => Error): unknown {
  if (!isObject(body) || !isObject(body.suggest)) return body;
  let changed = false;
  const suggest: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(body.suggest)) {
    const query = isObject(s) && isObject(s.phrase) && isObject(s.phrase.collate) && isObject(s.phrase.collate.query) ? s.phrase.collate.query : undefined;
    if (!query || typeof query.id !== 'string') {
      suggest[name] = s;
      continue;
    }
    const stored = scripts?.[query.id];
    if (!stored) throw missing(query.id);
    if (stored.lang !== 'mustache') bad(`stored script [${query.id}] is a ${stored.lang} script, not a mustache template`);
    const { id: _id, ...rest } = query;
    const phrase = (s as { phrase: Record<string, unknown> }).phrase;
    suggest[name] = { ...(s as object), phrase: { ...phrase, collate: { ...(phrase.collate as object), query: { ...rest, source: stored.source } } } };
    changed = true;
  }
  return changed ? { ...body, suggest } : body;
}

/**
 * The request with every `script: { id, params }` replaced by the stored script's source (a deep
 * copy where something changed): what shards receive, since only the cluster state knows ids.
 * Throws `resource_not_found_exception`-typed errors through `missing` for unknown ids.
 */
export function withStoredScripts(value: unknown, scripts: StoredScripts | undefined, missing: (id: string) => Error, key?: string): unknown {
  if (Array.isArray(value)) {
    const out = value.map((v) => withStoredScripts(v, scripts, missing));
    return out.some((v, i) => v !== value[i]) ? out : value;
  }
  if (!isObject(value)) return value;
  if (key === 'script' && typeof value.id === 'string') {
    const stored = scripts?.[value.id];
    if (!stored) throw missing(value.id);
    if (stored.lang !== 'painless') bad(`stored script [${value.id}] is a ${stored.lang} template, not a painless script`);
    const { id: _id, ...rest } = value;
    return { ...rest, source: stored.source, lang: 'painless' };
  }
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = withStoredScripts(v, scripts, missing, k);
    if (out[k] !== v) changed = true;
  }
  return changed ? out : value;
}
