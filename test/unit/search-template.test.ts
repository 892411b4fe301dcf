import { describe, expect, it } from 'vitest';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, isClusterCommand } from '../../src/cluster/cluster-state.ts';
import { parseStoredScript, withStoredCollateTemplates, withStoredScripts } from '../../src/cluster/stored-scripts.ts';
import { checkTemplate, renderSearchBody, renderTemplate } from '../../src/engine/search-template.ts';
import { EngineError } from '../../src/engine/types.ts';
import { thrownType } from '../support/thrown.ts';

describe('search templates (Mustache)', () => {
  it('renders params escaped for JSON, with toJson and join', () => {
    const source = '{"query":{"bool":{"must":{"match":{"title":"{{q}}"}},"filter":{"terms":{"tag":{{#toJson}}tags{{/toJson}}}}}},"size":{{size}}{{#sorted}},"sort":[{"n":"asc"}]{{/sorted}},"_source":["{{#join}}fields{{/join}}"]}';
    const body = renderSearchBody(source, { q: 'say "hi" \\ bye', tags: ['a', 'b'], size: 3, sorted: true, fields: ['x', 'y'] });
    expect(body).toEqual({ query: { bool: { must: { match: { title: 'say "hi" \\ bye' } }, filter: { terms: { tag: ['a', 'b'] } } } }, size: 3, sort: [{ n: 'asc' }], _source: ['x,y'] });
    // An object source is its JSON; a missing param renders as nothing; an inverted section.
    expect(renderSearchBody({ query: { match: { title: '{{q}}' } } }, { q: 'fox' })).toEqual({ query: { match: { title: 'fox' } } });
    expect(renderTemplate('{"size":{{^size}}10{{/size}}{{size}}}', {})).toBe('{"size":10}');
    // HTML is not escaped (the output is JSON, not a page).
    expect(renderTemplate('"{{q}}"', { q: '<b>&</b>' })).toBe('"<b>&</b>"');
  });

  it('refuses what does not render to a JSON object, and bad templates', () => {
    expect(() => renderSearchBody('{"size": {{n}}', { n: 1 })).toThrow(/not JSON/);
    expect(() => renderSearchBody('[1]', {})).toThrow(/JSON object/);
    expect(thrownType(() => renderTemplate('{{#a}}', {}))).toBe('parsing_exception');
    expect(thrownType(() => renderTemplate(3, {}))).toBe('parsing_exception');
    expect(thrownType(() => renderTemplate('x', 'params'))).toBe('parsing_exception');
    expect(() => checkTemplate('{{#open}} no close')).toThrow(EngineError);
    expect(() => checkTemplate('{"q":"{{q}}"}')).not.toThrow();
  });
});

describe('stored scripts', () => {
  const painless = { lang: 'painless' as const, source: "doc['n'].value * params.f" };
  const scripts = { boost: painless, tpl: { lang: 'mustache' as const, source: '{}' } };
  const missing = (id: string) => new Error(`no script ${id}`);

  it('a script given by id gets the stored source, its params kept; requests without any are returned as they are', () => {
    const request = { query: { script_score: { query: { match_all: {} }, script: { id: 'boost', params: { f: 2 } } } }, sort: [{ _script: { type: 'number', script: { id: 'boost', params: { f: 1 } } } }] };
    expect(withStoredScripts(request, scripts, missing)).toEqual({
      query: { script_score: { query: { match_all: {} }, script: { params: { f: 2 }, source: painless.source, lang: 'painless' } } },
      sort: [{ _script: { type: 'number', script: { params: { f: 1 }, source: painless.source, lang: 'painless' } } }],
    });
    const plain = { query: { match: { id: 'x' } }, script_fields: { a: { script: 'params.x' } } };
    expect(withStoredScripts(plain, scripts, missing)).toBe(plain);
    expect(() => withStoredScripts({ script: { script: { id: 'nope' } } }, scripts, missing)).toThrow(/no script nope/);
    expect(() => withStoredScripts({ script: { script: { id: 'tpl' } } }, scripts, missing)).toThrow(/mustache template, not a painless script/);
  });

  it('checks what is stored, and keeps it in the cluster state', () => {
    expect(parseStoredScript('t', { script: { lang: 'mustache', source: { query: { match_all: {} } } } })).toEqual({ lang: 'mustache', source: '{"query":{"match_all":{}}}' });
    for (const body of [{}, { script: { lang: 'lua', source: 'x' } }, { script: { lang: 'painless' } }, { script: { lang: 'painless', source: 'x', other: 1 } }, { script: {}, extra: 1 }]) {
      expect(() => parseStoredScript('s', body), JSON.stringify(body)).toThrow();
    }
    const put = { op: 'put_stored_script' as const, id: 'boost', script: painless };
    expect(isClusterCommand(put)).toBe(true);
    expect(isClusterCommand({ op: 'put_stored_script', id: 'x', script: { lang: 'js', source: 'x' } })).toBe(false);
    const s = applyClusterCommand(EMPTY_CLUSTER_STATE, put);
    expect(s.storedScripts).toEqual({ boost: painless });
    expect(applyClusterCommand(s, put)).toBe(s);
    expect(applyClusterCommand(s, { op: 'delete_stored_script', id: 'boost' }).storedScripts).toBeUndefined();
  });

  it("a phrase suggester's collate query may name a stored template: it gets the template's source", () => {
    const stored = { has: { lang: 'mustache' as const, source: '{"match_phrase":{"title":"{{suggestion}}"}}' }, boost: painless };
    const body = { size: 0, suggest: { a: { text: 'x', phrase: { field: 'title', collate: { query: { id: 'has' }, prune: true } } }, b: { text: 'y', term: { field: 'title' } } } };
    expect(withStoredCollateTemplates(body, stored, missing)).toEqual({
      size: 0,
      suggest: { a: { text: 'x', phrase: { field: 'title', collate: { query: { source: stored.has.source }, prune: true } } }, b: { text: 'y', term: { field: 'title' } } },
    });
    const inline = { suggest: { a: { text: 'x', phrase: { field: 'title', collate: { query: { source: {} } } } } } };
    expect(withStoredCollateTemplates(inline, stored, missing)).toBe(inline);
    expect(() => withStoredCollateTemplates({ suggest: { a: { phrase: { collate: { query: { id: 'nope' } } } } } }, stored, missing)).toThrow(/no script nope/);
    expect(() => withStoredCollateTemplates({ suggest: { a: { phrase: { collate: { query: { id: 'boost' } } } } } }, stored, missing)).toThrow(/not a mustache template/);
  });
});
