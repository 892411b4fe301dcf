import { SettingsError } from './metadata.ts';
import { wildcardMatch } from './wildcard.ts';
import { isPlainObject as isObject } from '../engine/types.ts';

/**
 * Index templates (Elasticsearch's composable `_index_template`): settings, mappings and aliases
 * that an index whose name matches one of the template's patterns gets when it is created,
 * explicitly or by a first write. One template applies, the matching one of highest priority;
 * what the create request gives itself wins over the template.
 */
export interface IndexTemplate {
  index_patterns: string[];
  priority: number;
  template: TemplateBody;
  /** Component templates (component-templates.ts) applied first, in this order. */
  composed_of?: string[];
  version?: number;
  _meta?: Record<string, unknown>;
}

/** What a template gives an index: settings, mappings, aliases (each optional). */
export interface TemplateBody {
  settings?: Record<string, unknown>;
  mappings?: { dynamic?: boolean | 'strict'; properties?: Record<string, unknown> };
  aliases?: Record<string, { is_write_index?: boolean }>;
}

export type Templates = Record<string, IndexTemplate>;

const TEMPLATE_KEYS = new Set(['index_patterns', 'priority', 'template', 'composed_of', 'version', '_meta']);
const BODY_KEYS = new Set(['settings', 'mappings', 'aliases']);

function bad(reason: string): never {
  throw new SettingsError('illegal_argument_exception', reason);
}


/**
 * The template's shape checked (the caller checks that its settings and mappings make an index);
 * answers a normalised copy: patterns as a list, priority 0 by default.
 */
export function parseTemplate(name: string, body: unknown): IndexTemplate {
  if (!isObject(body)) bad('an index template must be an object');
  for (const k of Object.keys(body)) if (!TEMPLATE_KEYS.has(k)) bad(`unknown key [${k}] in index template [${name}]; known: ${[...TEMPLATE_KEYS].join(', ')}`);
  const raw = typeof body.index_patterns === 'string' ? [body.index_patterns] : body.index_patterns;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((p) => typeof p === 'string' && p.length > 0)) bad(`index template [${name}] needs [index_patterns]: a non-empty list of patterns`);
  for (const p of raw as string[]) if (p !== p.toLowerCase() || /[\s,"\\/<>|?]/.test(p)) bad(`index template [${name}]: invalid pattern [${p}]`);
  const priority = body.priority ?? 0;
  if (!Number.isSafeInteger(priority) || (priority as number) < 0) bad(`[priority] of index template [${name}] must be a non-negative integer`);
  if (body.version !== undefined && !Number.isSafeInteger(body.version)) bad(`[version] of index template [${name}] must be an integer`);
  if (body._meta !== undefined && !isObject(body._meta)) bad(`[_meta] of index template [${name}] must be an object`);
  const composed = body.composed_of ?? [];
  if (!Array.isArray(composed) || !composed.every((c) => typeof c === 'string' && c.length > 0)) bad(`[composed_of] of index template [${name}] must be a list of component template names`);
  if (new Set(composed).size !== composed.length) bad(`[composed_of] of index template [${name}] names a component template twice`);
  const template = parseTemplateBody(`index template [${name}]`, body.template ?? {});
  return {
    index_patterns: raw as string[],
    priority: priority as number,
    template,
    ...(composed.length > 0 ? { composed_of: composed as string[] } : {}),
    ...(body.version !== undefined ? { version: body.version as number } : {}),
    ...(body._meta !== undefined ? { _meta: body._meta as Record<string, unknown> } : {}),
  };
}

/** A template's `template` part checked: settings, mappings and aliases objects, aliases' options. `what` names the template in errors. */
export function parseTemplateBody(what: string, t: unknown): TemplateBody {
  if (!isObject(t)) bad(`[template] of ${what} must be an object`);
  for (const k of Object.keys(t)) if (!BODY_KEYS.has(k)) bad(`unknown key [template.${k}] in ${what}; known: settings, mappings, aliases`);
  for (const k of ['settings', 'mappings', 'aliases'] as const) if (t[k] !== undefined && !isObject(t[k])) bad(`[template.${k}] of ${what} must be an object`);
  for (const [alias, opts] of Object.entries((t.aliases ?? {}) as Record<string, unknown>)) {
    if (!isObject(opts) || Object.keys(opts).some((k) => k !== 'is_write_index') || (opts.is_write_index !== undefined && typeof opts.is_write_index !== 'boolean')) {
      bad(`alias [${alias}] of ${what} takes only {is_write_index: boolean}`);
    }
  }
  return t as TemplateBody;
}

/** The template an index of this name gets: the matching one of highest priority, if any. */
export function templateFor(templates: Templates | undefined, index: string): { name: string; template: IndexTemplate } | undefined {
  let best: { name: string; template: IndexTemplate } | undefined;
  for (const [name, template] of Object.entries(templates ?? {})) {
    if (!template.index_patterns.some((p) => wildcardMatch(p, index))) continue;
    if (!best || template.priority > best.template.priority) best = { name, template };
  }
  return best;
}

/**
 * Two templates of one priority whose patterns could match one index would make the choice
 * arbitrary: Elasticsearch refuses the second, and so does this (the name of the clash, or undefined).
 */
export function overlapping(templates: Templates | undefined, name: string, t: IndexTemplate): string | undefined {
  for (const [other, o] of Object.entries(templates ?? {})) {
    if (other === name || o.priority !== t.priority) continue;
    if (t.index_patterns.some((a) => o.index_patterns.some((b) => patternsOverlap(a, b)))) return other;
  }
  return undefined;
}

/** Could one name match both patterns? (Exact for patterns with at most a trailing `*`, which is what templates use; otherwise a conservative yes when either literal prefix extends the other.) */
function patternsOverlap(a: string, b: string): boolean {
  const pa = a.split('*')[0]!;
  const pb = b.split('*')[0]!;
  if (!a.includes('*') && !b.includes('*')) return a === b;
  if (!a.includes('*')) return wildcardMatch(b, a);
  if (!b.includes('*')) return wildcardMatch(a, b);
  return pa.startsWith(pb) || pb.startsWith(pa);
}

/**
 * A create request's settings over the template's: keys under `index` or at the top alike, the
 * request's winning (Elasticsearch's order).
 */
export function withTemplateSettings(template: Record<string, unknown> | undefined, request: unknown): Record<string, unknown> {
  const flat = (s: unknown): Record<string, unknown> => {
    if (!isObject(s)) return {};
    const { index, ...rest } = s;
    return isObject(index) ? { ...rest, ...index } : rest;
  };
  return { ...flat(template), ...flat(request) };
}

/**
 * Mappings over a template's (a create request's, or a later template's in a composition): its
 * fields replace those of the same name, except that two object fields merge field by field, as
 * Elasticsearch merges them; its `dynamic` wins.
 */
export function withTemplateMappings(template: TemplateBody['mappings'], request: unknown): NonNullable<TemplateBody['mappings']> {
  const req = isObject(request) ? request : {};
  const out: Record<string, unknown> = { ...(template ?? {}), ...req };
  const props = mergeProperties(template?.properties, req.properties);
  if (Object.keys(props).length > 0) out.properties = props;
  return out as NonNullable<TemplateBody['mappings']>;
}

function mergeProperties(base: unknown, over: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(isObject(base) ? base : {}) };
  for (const [name, field] of Object.entries(isObject(over) ? over : {})) {
    const before = out[name];
    out[name] = isObjectField(before) && isObjectField(field) ? { ...before, ...field, properties: mergeProperties(before.properties, field.properties) } : field;
  }
  return out;
}

/** An object field: sub-fields under `properties`, and no type or `object`. */
function isObjectField(f: unknown): f is Record<string, unknown> {
  return isObject(f) && isObject(f.properties) && (f.type === undefined || f.type === 'object');
}

/** Plain-data check for the Raft log. */
export function isTemplate(v: unknown): v is IndexTemplate {
  const composed = isObject(v) ? v.composed_of : undefined;
  return (
    isObject(v) && Array.isArray(v.index_patterns) && v.index_patterns.every((p) => typeof p === 'string') && typeof v.priority === 'number' && isObject(v.template) &&
    (composed === undefined || (Array.isArray(composed) && composed.every((c) => typeof c === 'string')))
  );
}
