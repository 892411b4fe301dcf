import { SettingsError } from './metadata.ts';
import { parseTemplateBody, withTemplateMappings, withTemplateSettings, type IndexTemplate, type TemplateBody, type Templates } from './templates.ts';
import { isPlainObject as isObject } from '../engine/types.ts';

/**
 * Component templates (Elasticsearch's `_component_template`): named building blocks of settings,
 * mappings and aliases that index templates list in `composed_of`. An index created from an index
 * template gets its components in the order listed, then the index template's own `template`,
 * then what the create request gives, each later one winning.
 */
export interface ComponentTemplate {
  template: TemplateBody;
  version?: number;
  _meta?: Record<string, unknown>;
}

export type ComponentTemplates = Record<string, ComponentTemplate>;

const COMPONENT_KEYS = new Set(['template', 'version', '_meta']);

function bad(reason: string): never {
  throw new SettingsError('illegal_argument_exception', reason);
}


/** The component template's shape checked; the caller checks that its settings and mappings make an index. */
export function parseComponentTemplate(name: string, body: unknown): ComponentTemplate {
  if (!isObject(body)) bad('a component template must be an object');
  for (const k of Object.keys(body)) if (!COMPONENT_KEYS.has(k)) bad(`unknown key [${k}] in component template [${name}]; known: ${[...COMPONENT_KEYS].join(', ')}`);
  if (body.template === undefined) bad(`component template [${name}] needs [template]`);
  if (body.version !== undefined && !Number.isSafeInteger(body.version)) bad(`[version] of component template [${name}] must be an integer`);
  if (body._meta !== undefined && !isObject(body._meta)) bad(`[_meta] of component template [${name}] must be an object`);
  return {
    template: parseTemplateBody(`component template [${name}]`, body.template),
    ...(body.version !== undefined ? { version: body.version as number } : {}),
    ...(body._meta !== undefined ? { _meta: body._meta as Record<string, unknown> } : {}),
  };
}

/** The components an index template lists that do not exist. */
export function missingComponents(components: ComponentTemplates | undefined, template: IndexTemplate): string[] {
  return (template.composed_of ?? []).filter((c) => !components?.[c]);
}

/** The index templates that list this component, sorted. */
export function templatesUsing(templates: Templates | undefined, component: string): string[] {
  return Object.entries(templates ?? {})
    .filter(([, t]) => t.composed_of?.includes(component))
    .map(([n]) => n)
    .sort();
}

/**
 * What an index template gives a new index: its components' settings, mappings and aliases in the
 * order listed, then its own, later ones winning (mapped fields by name, object fields merged
 * field by field). A missing component is skipped (the cluster state never holds one: see
 * cluster-state.ts).
 */
export function composeTemplate(components: ComponentTemplates | undefined, template: IndexTemplate): TemplateBody {
  let out: TemplateBody = {};
  for (const body of [...(template.composed_of ?? []).map((c) => components?.[c]?.template), template.template]) {
    if (!body) continue;
    const settings = body.settings || out.settings ? withTemplateSettings(out.settings, body.settings) : undefined;
    const mappings = body.mappings || out.mappings ? withTemplateMappings(out.mappings, body.mappings) : undefined;
    const aliases = body.aliases || out.aliases ? { ...out.aliases, ...body.aliases } : undefined;
    out = { ...(settings ? { settings } : {}), ...(mappings ? { mappings } : {}), ...(aliases ? { aliases } : {}) };
  }
  return out;
}

/** Plain-data check for the Raft log. */
export function isComponentTemplate(v: unknown): v is ComponentTemplate {
  return isObject(v) && isObject(v.template);
}
