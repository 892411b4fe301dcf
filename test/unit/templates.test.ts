import { describe, expect, it } from 'vitest';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, isClusterCommand } from '../../src/cluster/cluster-state.ts';
import { overlapping, parseTemplate, templateFor, withTemplateMappings, withTemplateSettings, type Templates } from '../../src/cluster/templates.ts';

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
      [{ index_patterns: ['a'], composed_of: [] }, /unknown key \[composed_of\]/],
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
