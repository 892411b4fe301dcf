import type { ClusterCommand, ClusterState } from '../cluster/cluster-state.ts';
import { composeTemplate, missingComponents, parseComponentTemplate, templatesUsing } from '../cluster/component-templates.ts';
import { indexSettingsView } from '../cluster/index-settings-update.ts';
import { analysisSettingsOf, parseIndexSettings, validateIndexName, type IndexSettings } from '../cluster/metadata.ts';
import { overlapping, parseTemplate, templateFor, withTemplateMappings, withTemplateSettings, type IndexTemplate, type TemplateBody } from '../cluster/templates.ts';
import { wildcardMatch } from '../cluster/wildcard.ts';
import type { Mappings } from '../engine/mapping.ts';
import { validateIndexDefinition } from '../engine/shard-engine.ts';
import { ApiError, badRequest, str, wrap, wrapEngine } from './errors.ts';

/**
 * The template APIs of the coordinating node: index templates (templates.ts) and component
 * templates (component-templates.ts), checked here as an index made from them would be, then
 * committed through the master; and what a new index gets from them.
 */
export interface TemplateHost {
  readonly state: ClusterState;
  commit(command: ClusterCommand): Promise<ClusterState>;
  now(): number;
}

/** What a new index is created with: the matching template's composition under the request's own settings and mappings, and the template's aliases. */
export interface IndexDefinition {
  settings: IndexSettings;
  mappings: Mappings;
  aliases: NonNullable<TemplateBody['aliases']>;
}

export function indexDefinition(state: ClusterState, index: string, body: { settings?: unknown; mappings?: unknown }): IndexDefinition {
  const match = templateFor(state.templates, index);
  const tpl = match ? composeTemplate(state.componentTemplates, match.template) : undefined;
  const settings = wrap(() => parseIndexSettings(tpl ? withTemplateSettings(tpl.settings, body.settings) : body.settings));
  const mappings = (tpl ? withTemplateMappings(tpl.mappings, body.mappings) : (body.mappings ?? {})) as Mappings;
  // Every node would fail to create the shards of a bad definition: refuse it here.
  wrapEngine(() => validateIndexDefinition(mappings, analysisSettingsOf(settings)));
  return { settings, mappings, aliases: tpl?.aliases ?? {} };
}

/** A template's composition must make an index: its settings parse and its mappings and analysis hold together. `what` names it in errors. */
function checkComposition(state: ClusterState, template: IndexTemplate, what: string): void {
  const missing = missingComponents(state.componentTemplates, template);
  if (missing.length > 0) throw badRequest(`${what} specifies component templates [${missing.join(', ')}] that do not exist`);
  const body = composeTemplate(state.componentTemplates, template);
  try {
    const settings = wrap(() => parseIndexSettings(body.settings));
    wrapEngine(() => validateIndexDefinition(body.mappings ?? {}, analysisSettingsOf(settings)));
  } catch (err) {
    throw err instanceof ApiError ? new ApiError(err.type, `${what}: ${err.message}`, err.status) : err;
  }
}

/** Add or replace an index template, checked (with its components) as an index created from it would be. */
export async function putIndexTemplate(host: TemplateHost, name: unknown, body: unknown) {
  const templateName = wrap(() => validateIndexName(name));
  const template = wrap(() => parseTemplate(templateName, body));
  checkComposition(host.state, template, `index template [${templateName}]`);
  const clash = overlapping(host.state.templates, templateName, template);
  if (clash) throw badRequest(`index template [${templateName}] has index patterns ${JSON.stringify(template.index_patterns)} matching patterns from existing template [${clash}] with the same priority [${template.priority}]; give one of them another priority`);
  const after = await host.commit({ op: 'put_template', name: templateName, template, at: host.now() });
  // The master refuses it when a component was deleted in between.
  if (JSON.stringify(after.templates?.[templateName]) !== JSON.stringify(template)) throw badRequest(`index template [${templateName}] specifies component templates [${missingComponents(after.componentTemplates, template).join(', ')}] that do not exist`);
  return { acknowledged: true };
}

/** Index templates by name (`*` wildcards; none: all). */
export function getIndexTemplates(state: ClusterState, name: unknown) {
  const found = byName(state.templates, name, 'index template');
  return { index_templates: found.map(([n, t]) => ({ name: n, index_template: t })) };
}

export async function deleteIndexTemplate(host: TemplateHost, name: unknown) {
  const templateName = str(name, 'name');
  if (!host.state.templates?.[templateName]) throw new ApiError('resource_not_found_exception', `index template matching [${templateName}] not found`, 404);
  await host.commit({ op: 'delete_template', name: templateName, at: host.now() });
  return { acknowledged: true };
}

/** Add or replace a component template; every index template listing it must still make an index. */
export async function putComponentTemplate(host: TemplateHost, name: unknown, body: unknown) {
  const componentName = wrap(() => validateIndexName(name));
  const component = wrap(() => parseComponentTemplate(componentName, body));
  const settings = wrap(() => parseIndexSettings(component.template.settings));
  wrapEngine(() => validateIndexDefinition(component.template.mappings ?? {}, analysisSettingsOf(settings)));
  const after: ClusterState = { ...host.state, componentTemplates: { ...host.state.componentTemplates, [componentName]: component } };
  for (const user of templatesUsing(host.state.templates, componentName)) checkComposition(after, host.state.templates![user]!, `updating component template [${componentName}] would break index template [${user}]`);
  await host.commit({ op: 'put_component_template', name: componentName, template: component, at: host.now() });
  return { acknowledged: true };
}

/** Component templates by name (`*` wildcards; none: all). */
export function getComponentTemplates(state: ClusterState, name: unknown) {
  const found = byName(state.componentTemplates, name, 'component template');
  return { component_templates: found.map(([n, t]) => ({ name: n, component_template: t })) };
}

/** Delete a component template; refused while an index template lists it (Elasticsearch's rule). */
export async function deleteComponentTemplate(host: TemplateHost, name: unknown) {
  const componentName = str(name, 'name');
  if (!host.state.componentTemplates?.[componentName]) throw new ApiError('resource_not_found_exception', `component template matching [${componentName}] not found`, 404);
  const inUse = (s: ClusterState) => templatesUsing(s.templates, componentName);
  const refuse = (users: string[]) => badRequest(`component templates [${componentName}] cannot be removed as they are still in use by index templates [${users.join(', ')}]`);
  if (inUse(host.state).length > 0) throw refuse(inUse(host.state));
  const after = await host.commit({ op: 'delete_component_template', name: componentName, at: host.now() });
  // The master keeps it when an index template came to list it in between.
  if (after.componentTemplates?.[componentName]) throw refuse(inUse(after));
  return { acknowledged: true };
}

/**
 * Elasticsearch's simulate-index: what an index of this name would be created with now (the
 * matching template composed with its components), and the other templates that match it but lose
 * on priority. Nothing is created.
 */
export function simulateIndex(state: ClusterState, name: unknown) {
  const index = wrap(() => validateIndexName(name));
  const match = templateFor(state.templates, index);
  // Elasticsearch answers an empty body when no template matches.
  if (!match) return {};
  const def = indexDefinition(state, index, {});
  const overlappingTemplates = Object.entries(state.templates ?? {})
    .filter(([n, t]) => n !== match.name && t.index_patterns.some((p) => wildcardMatch(p, index)))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([n, t]) => ({ name: n, index_patterns: t.index_patterns }));
  const { uuid: _none, ...settings } = indexSettingsView('', def.settings).index as Record<string, unknown>;
  return { template: { settings: { index: settings }, mappings: def.mappings, aliases: def.aliases }, overlapping: overlappingTemplates };
}

function byName<T>(all: Record<string, T> | undefined, name: unknown, what: string): [string, T][] {
  const sorted = Object.entries(all ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (name === undefined) return sorted;
  const pattern = str(name, 'name');
  const found = sorted.filter(([n]) => wildcardMatch(pattern, n));
  if (found.length === 0 && !pattern.includes('*')) throw new ApiError('resource_not_found_exception', `${what} matching [${pattern}] not found`, 404);
  return found;
}

