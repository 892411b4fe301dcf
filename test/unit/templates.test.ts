import { describe, expect, it } from 'vitest';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, isClusterCommand } from '../../src/cluster/cluster-state.ts';
import { overlapping, parseTemplate, templateFor, withTemplateMappings, withTemplateSettings, type Templates } from '../../src/cluster/templates.ts';
import { composeTemplate, parseComponentTemplate, type ComponentTemplates } from '../../src/cluster/component-templates.ts';

const tpl = (patterns: string[], priority = 0, template = {}) => parseTemplate('t', { index_patterns: patterns, priority, template });

describe('index templates', () => {
  it('the matching template of highest priority applies', () => {
    const templates: Templates = { logs: tpl(['logs-*'], 10), all: tpl(['*'], 1), exact: tpl(['logs-special'], 50) };
    expect(templateFor(templates, 'logs-2026.12.03')?.name).toBe('logs');
    expect(templateFor(templates, 'logs-special')?.name).toBe('exact');
    expect(templateFor(templates, 'metrics')?.name).toBe('all');
    expect(templateFor({ logs: tpl(['logs-*']) }, 'metrics')).toBeUndefined();
    expect(templateFor(undefined, 'x')).toBeUndefined();
  });

  it('refuses two templates of one priority whose patterns can match one name', () => {
    const templates: Templates = { a: tpl(['logs-*'], 5) };
    expect(overlapping(templates, 'b', tpl(['logs-app-*'], 5))).toBe('a');
    expect(overlapping(templates, 'b', tpl(['logs-x'], 5))).toBe('a');
    expect(overlapping(templates, 'b', tpl(['metrics-*'], 5))).toBeUndefined();
    expect(overlapping(templates, 'b', tpl(['logs-*'], 6))).toBeUndefined();
    expect(overlapping(templates, 'a', tpl(['logs-*'], 5))).toBeUndefined(); // replacing itself
  });

  it('the create request wins over the template: settings (flat or under index), mapped fields, dynamic', () => {
    expect(withTemplateSettings({ index: { number_of_shards: 3, number_of_replicas: 0 } }, { number_of_replicas: 2 })).toEqual({ number_of_shards: 3, number_of_replicas: 2 });
    expect(withTemplateSettings({ number_of_shards: 3 }, undefined)).toEqual({ number_of_shards: 3 });
    const m = withTemplateMappings({ dynamic: 'strict', properties: { a: { type: 'keyword' }, b: { type: 'long' } } }, { properties: { b: { type: 'double' }, c: { type: 'text' } } });
    expect(m).toEqual({ dynamic: 'strict', properties: { a: { type: 'keyword' }, b: { type: 'double' }, c: { type: 'text' } } });
    expect(withTemplateMappings(undefined, { dynamic: false })).toEqual({ dynamic: false });
  });

  it('checks the shape, with reasons', () => {
    expect(parseTemplate('t', { index_patterns: 'logs-*' })).toEqual({ index_patterns: ['logs-*'], priority: 0, template: {} });
    for (const [body, reason] of [
      ['x', /must be an object/],
      [{}, /index_patterns/],
      [{ index_patterns: [] }, /index_patterns/],
      [{ index_patterns: ['Logs-*'] }, /invalid pattern/],
      [{ index_patterns: ['a'], priority: -1 }, /priority/],
      [{ index_patterns: ['a'], template: { settings: 3 } }, /template.settings/],
      [{ index_patterns: ['a'], template: { other: {} } }, /unknown key \[template.other\]/],
      [{ index_patterns: ['a'], template: { aliases: { x: { filter: {} } } } }, /is_write_index/],
      [{ index_patterns: ['a'], composed_of: 'c' }, /composed_of/],
      [{ index_patterns: ['a'], composed_of: ['c', 'c'] }, /twice/],
    ] as const) {
      expect(() => parseTemplate('t', body), JSON.stringify(body)).toThrow(reason);
    }
  });

  it('put_template and delete_template in the cluster state', () => {
    const put = { op: 'put_template' as const, name: 'logs', template: tpl(['logs-*']) };
    expect(isClusterCommand(put)).toBe(true);
    expect(isClusterCommand({ op: 'put_template', name: 'x', template: { index_patterns: 'x' } })).toBe(false);
    const s = applyClusterCommand(EMPTY_CLUSTER_STATE, put);
    expect(s.templates).toEqual({ logs: put.template });
    expect(applyClusterCommand(s, put)).toBe(s);
    const gone = applyClusterCommand(s, { op: 'delete_template', name: 'logs' });
    expect(gone.templates).toBeUndefined();
    expect(applyClusterCommand(gone, { op: 'delete_template', name: 'logs' })).toBe(gone);
  });
});

describe('component templates', () => {
  const component = (template: object) => parseComponentTemplate('c', { template });
  const components: ComponentTemplates = {
    base: component({ settings: { index: { number_of_shards: 2, number_of_replicas: 0 } }, mappings: { dynamic: 'strict', properties: { at: { type: 'date' }, host: { properties: { name: { type: 'keyword' } } } } }, aliases: { all: {} } }),
    fields: component({ settings: { number_of_replicas: 1 }, mappings: { properties: { host: { properties: { ip: { type: 'keyword' } } }, msg: { type: 'text' } } }, aliases: { all: { is_write_index: false } } }),
  };

  it('composes in composed_of order, then the template itself, later ones winning; object fields merge field by field', () => {
    const t = parseTemplate('logs', { index_patterns: ['logs-*'], composed_of: ['base', 'fields'], template: { settings: { refresh_interval: '5s' }, mappings: { properties: { msg: { type: 'keyword' } } } } });
    expect(composeTemplate(components, t)).toEqual({
      settings: { number_of_shards: 2, number_of_replicas: 1, refresh_interval: '5s' },
      mappings: { dynamic: 'strict', properties: { at: { type: 'date' }, host: { properties: { name: { type: 'keyword' }, ip: { type: 'keyword' } } }, msg: { type: 'keyword' } } },
      aliases: { all: { is_write_index: false } },
    });
    // The order matters: the other way round, base's settings win.
    const reversed = parseTemplate('logs', { index_patterns: ['logs-*'], composed_of: ['fields', 'base'] });
    expect(composeTemplate(components, reversed).settings).toEqual({ number_of_replicas: 0, number_of_shards: 2 });
    // No components, no parts: nothing.
    expect(composeTemplate(components, parseTemplate('x', { index_patterns: ['x'] }))).toEqual({});
  });

  it('a field that changes kind is replaced whole, not merged', () => {
    const m = withTemplateMappings({ properties: { host: { properties: { name: { type: 'keyword' } } } } }, { properties: { host: { type: 'keyword' } } });
    expect(m).toEqual({ properties: { host: { type: 'keyword' } } });
  });

  it('checks the shape, with reasons', () => {
    expect(parseComponentTemplate('c', { template: {}, version: 3, _meta: { a: 1 } })).toEqual({ template: {}, version: 3, _meta: { a: 1 } });
    for (const [body, reason] of [
      [[], /must be an object/],
      [{}, /needs \[template\]/],
      [{ template: {}, index_patterns: ['x'] }, /unknown key \[index_patterns\]/],
      [{ template: { settings: 1 } }, /template.settings/],
      [{ template: { mappings: {}, other: 1 } }, /unknown key \[template.other\]/],
      [{ template: {}, version: 'x' }, /version/],
    ] as const) {
      expect(() => parseComponentTemplate('c', body), JSON.stringify(body)).toThrow(reason);
    }
  });

  it('the cluster state never holds an index template naming a missing component, nor loses a component in use', () => {
    const putC = { op: 'put_component_template' as const, name: 'base', template: components.base! };
    const putT = { op: 'put_template' as const, name: 'logs', template: parseTemplate('logs', { index_patterns: ['logs-*'], composed_of: ['base'] }) };
    for (const c of [putC, putT, { op: 'delete_component_template', name: 'base' }]) expect(isClusterCommand(c)).toBe(true);
    expect(isClusterCommand({ op: 'put_component_template', name: 'x', template: { settings: {} } })).toBe(false);
    expect(isClusterCommand({ op: 'put_template', name: 'x', template: { ...putT.template, composed_of: [1] } })).toBe(false);
    // An index template naming a component that does not exist changes nothing.
    expect(applyClusterCommand(EMPTY_CLUSTER_STATE, putT)).toBe(EMPTY_CLUSTER_STATE);
    const withC = applyClusterCommand(EMPTY_CLUSTER_STATE, putC);
    expect(withC.componentTemplates).toEqual({ base: components.base });
    expect(applyClusterCommand(withC, putC)).toBe(withC);
    const both = applyClusterCommand(withC, putT);
    expect(both.templates?.logs).toEqual(putT.template);
    // In use: the delete changes nothing; once the index template is gone it goes.
    expect(applyClusterCommand(both, { op: 'delete_component_template', name: 'base' })).toBe(both);
    const unused = applyClusterCommand(both, { op: 'delete_template', name: 'logs' });
    const gone = applyClusterCommand(unused, { op: 'delete_component_template', name: 'base' });
    expect(gone.componentTemplates).toBeUndefined();
    expect(gone.templates).toBeUndefined();
  });
});
