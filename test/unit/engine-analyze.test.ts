import { describe, expect, it } from 'vitest';
import { analyzeRequest, MAX_ANALYZED_TOKENS } from '../../src/engine/analyze.ts';
import { MappingRegistry } from '../../src/engine/mapping.ts';
import { thrownType } from '../support/thrown.ts';

const index = {
  settings: {
    analysis: {
      analyzer: { autocomplete: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'edge3'] } },
      filter: { edge3: { type: 'edge_ngram', min_gram: 1, max_gram: 3 } },
    },
    max_ngram_diff: 2,
  },
  mappings: new MappingRegistry({ properties: { title: { type: 'text', analyzer: 'autocomplete' }, code: { type: 'keyword' }, body: { type: 'text' } } }),
};
const terms = (r: { tokens?: { token: string }[] }) => r.tokens!.map((t) => t.token);

describe('_analyze', () => {
  it('a built-in analyzer, with offsets and positions', () => {
    expect(analyzeRequest({ analyzer: 'standard', text: 'The Quick fox' })).toEqual({
      tokens: [
        { token: 'the', start_offset: 0, end_offset: 3, position: 0 },
        { token: 'quick', start_offset: 4, end_offset: 9, position: 1 },
        { token: 'fox', start_offset: 10, end_offset: 13, position: 2 },
      ],
    });
    expect(terms(analyzeRequest({ analyzer: 'english', text: 'The running foxes' }))).toEqual(['run', 'fox']);
    expect(terms(analyzeRequest({ text: 'Default Analyzer' }))).toEqual(['default', 'analyzer']);
  });

  it('an index\'s custom analyzer, and a field\'s (text: its analyzer; keyword: one token)', () => {
    expect(terms(analyzeRequest({ analyzer: 'autocomplete', text: 'Shoal' }, index))).toEqual(['s', 'sh', 'sho']);
    expect(terms(analyzeRequest({ field: 'title', text: 'Shoal' }, index))).toEqual(['s', 'sh', 'sho']);
    expect(terms(analyzeRequest({ field: 'code', text: 'AB-12 x' }, index))).toEqual(['AB-12 x']);
    expect(terms(analyzeRequest({ field: 'body', text: 'Shoal Fish' }, index))).toEqual(['shoal', 'fish']);
    expect(terms(analyzeRequest({ field: 'unmapped', text: 'A b' }, index))).toEqual(['a', 'b']);
  });

  it('a chain built for the request, with the index\'s named filters or inline ones, and char filters', () => {
    expect(terms(analyzeRequest({ tokenizer: 'whitespace', filter: ['lowercase', 'edge3'], text: 'Ab Cd' }, index))).toEqual(['a', 'ab', 'c', 'cd']);
    expect(terms(analyzeRequest({ tokenizer: 'standard', filter: ['lowercase', { type: 'stop', stopwords: ['is'] }], text: 'This IS it' }))).toEqual(['this', 'it']);
    const html = analyzeRequest({ tokenizer: 'standard', char_filter: ['html_strip'], text: '<b>bold</b> move' });
    expect(html.tokens![0]).toEqual({ token: 'bold', start_offset: 3, end_offset: 7, position: 0 });
  });

  it('an array of texts: positions jump by 100 and offsets by 1 between values, as for a text field', () => {
    const r = analyzeRequest({ analyzer: 'standard', text: ['a b', 'c'] });
    expect(r.tokens!.map((t) => [t.token, t.position, t.start_offset])).toEqual([
      ['a', 0, 0],
      ['b', 1, 2],
      ['c', 102, 4],
    ]);
  });

  it('refuses bad requests with typed errors', () => {
    const bad = (body: unknown, withIndex = false) => thrownType(() => analyzeRequest(body, withIndex ? index : undefined));
    expect(bad('x')).toBe('illegal_argument_exception');
    expect(bad({ text: 3 })).toBe('illegal_argument_exception');
    expect(bad({ text: [] })).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', analyzer: 'nope' })).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', analyzer: 'standard', field: 'title' }, true)).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', filter: ['lowercase'] })).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', field: 'title' })).toBe('illegal_argument_exception'); // no index
    expect(bad({ text: 'a', tokenizer: 'nope' })).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', explain: 'yes' })).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', attributes: ['keyword'] })).toBe('illegal_argument_exception'); // without explain
    expect(bad({ text: 'a', explain: true, attributes: ['type'] })).toBe('illegal_argument_exception');
    expect(bad({ text: 'a', bogus: 1 })).toBe('illegal_argument_exception');
    expect(bad({ text: 'w '.repeat(MAX_ANALYZED_TOKENS + 1), analyzer: 'whitespace' })).toBe('illegal_argument_exception');
  });

  it('explain: each stage of a custom chain (char filters, tokenizer, each filter), offsets into the original text', () => {
    const r = analyzeRequest({ explain: true, char_filter: ['html_strip'], tokenizer: 'standard', filter: ['lowercase', { type: 'stop', stopwords: ['the'] }], text: '<b>The</b> Fox' });
    expect(r.tokens).toBeUndefined();
    expect(r.detail).toEqual({
      custom_analyzer: true,
      charfilters: [{ name: 'html_strip', filtered_text: ['The Fox'] }],
      tokenizer: {
        name: 'standard',
        tokens: [
          { token: 'The', start_offset: 3, end_offset: 6, position: 0, bytes: '[54 68 65]', positionLength: 1, termFrequency: 1, keyword: false },
          { token: 'Fox', start_offset: 11, end_offset: 14, position: 1, bytes: '[46 6f 78]', positionLength: 1, termFrequency: 1, keyword: false },
        ],
      },
      tokenfilters: [
        {
          name: 'lowercase',
          tokens: [
            { token: 'the', start_offset: 3, end_offset: 6, position: 0, bytes: '[74 68 65]', positionLength: 1, termFrequency: 1, keyword: false },
            { token: 'fox', start_offset: 11, end_offset: 14, position: 1, bytes: '[66 6f 78]', positionLength: 1, termFrequency: 1, keyword: false },
          ],
        },
        { name: '__anonymous__stop', tokens: [{ token: 'fox', start_offset: 11, end_offset: 14, position: 1, bytes: '[66 6f 78]', positionLength: 1, termFrequency: 1, keyword: false }] },
      ],
    });
  });

  it("explain: an index's custom analyzer by name, a built-in one whole, attributes, and a list of texts", () => {
    const custom = analyzeRequest({ explain: true, analyzer: 'autocomplete', text: 'Sh', attributes: ['positionLength'] }, index).detail;
    expect(custom).toMatchObject({ custom_analyzer: true, charfilters: [], tokenizer: { name: 'standard' } });
    expect(custom!.custom_analyzer && custom!.tokenfilters.map((f) => [f.name, f.tokens.map((t) => t.token)])).toEqual([
      ['lowercase', ['sh']],
      ['edge3', ['s', 'sh']],
    ]);
    expect(custom!.custom_analyzer && custom!.tokenizer.tokens).toEqual([{ token: 'Sh', start_offset: 0, end_offset: 2, position: 0, positionLength: 1 }]);
    const builtin = analyzeRequest({ explain: true, analyzer: 'standard', text: ['A b', 'C'], attributes: 'bytes' }).detail;
    expect(builtin).toEqual({
      custom_analyzer: false,
      analyzer: {
        name: 'standard',
        tokens: [
          { token: 'a', start_offset: 0, end_offset: 1, position: 0, bytes: '[61]' },
          { token: 'b', start_offset: 2, end_offset: 3, position: 1, bytes: '[62]' },
          { token: 'c', start_offset: 4, end_offset: 5, position: 102, bytes: '[63]' },
        ],
      },
    });
    // Its last stage is what the analyzer makes.
    const chain = { tokenizer: 'whitespace', filter: ['lowercase', 'porter_stem'], text: 'Running FOXES quickly' };
    const stages = analyzeRequest({ ...chain, explain: true, attributes: [] }).detail!;
    expect(stages.custom_analyzer && stages.tokenfilters.at(-1)!.tokens).toEqual(analyzeRequest(chain).tokens);
  });
});
