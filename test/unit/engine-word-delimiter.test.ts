/**
 * word_delimiter_graph: Elasticsearch's documented examples, each option, the graph it makes
 * (positions after a split move up; joined parts span theirs), a property against a plain
 * reference split, refusals, and search through ShardEngine (match and match_phrase).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeRequest } from '../../src/engine/analyze.ts';
import { AnalyzerRegistry, createAnalyzer } from '../../src/engine/analysis/index.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError, type Analyzer } from '../../src/engine/types.ts';

/** term@position[/positionLength] of each token. */
const graph = (a: Analyzer, s: string) => a.analyze(s).map((t) => `${t.term}@${t.position}${t.positionLength ? `/${t.positionLength}` : ''}`);
const wdg = (filter: Record<string, unknown> = {}) => createAnalyzer({ tokenizer: 'whitespace', filter: [{ type: 'word_delimiter_graph', ...filter }] });

describe('word_delimiter_graph', () => {
  it("splits at delimiters, case changes and letter-digit changes; drops English possessives (ES's examples)", () => {
    expect(graph(wdg(), "Neil's-Super-Duper-XL500--42+AutoCoder")).toEqual(['Neil@0', 'Super@1', 'Duper@2', 'XL@3', '500@4', '42@5', 'Auto@6', 'Coder@7']);
    expect(graph(wdg(), 'PowerShot iPod ABCdef')).toEqual(['Power@0', 'Shot@1', 'i@2', 'Pod@3', 'ABCdef@4']);
    // The tokens after a split move up; offsets point into the original text.
    expect(wdg().analyze('Wi-Fi router').map((t) => [t.term, t.position, t.startOffset, t.endOffset])).toEqual([
      ['Wi', 0, 0, 2],
      ['Fi', 1, 3, 5],
      ['router', 2, 6, 12],
    ]);
    // Leading and trailing delimiters go; a token of delimiters only leaves nothing (and a gap).
    expect(graph(wdg(), '//hello---there, ---- dude')).toEqual(['hello@0', 'there@1', 'dude@3']);
  });

  it('catenate_words, catenate_numbers, catenate_all and preserve_original stack on the first part and span their parts', () => {
    expect(graph(wdg({ catenate_words: true, preserve_original: true }), 'the Wi-Fi router')).toEqual(['the@0', 'Wi-Fi@1/2', 'WiFi@1/2', 'Wi@1', 'Fi@2', 'router@3']);
    expect(graph(wdg({ catenate_numbers: true }), '500-42')).toEqual(['50042@0/2', '500@0', '42@1']);
    expect(graph(wdg({ catenate_all: true, catenate_words: true }), 'wi-fi-4000')).toEqual(['wifi4000@0/3', 'wifi@0/2', 'wi@0', 'fi@1', '4000@2']);
    // catenate_all adds nothing a run already joined.
    expect(graph(wdg({ catenate_all: true, catenate_numbers: true }), '500-42')).toEqual(['50042@0/2', '500@0', '42@1']);
    // Without the parts, a joined token takes one position.
    expect(graph(wdg({ generate_word_parts: false, catenate_words: true }), 'wi-fi router')).toEqual(['wifi@0', 'router@1']);
    expect(graph(wdg({ generate_number_parts: false }), 'SD500 x')).toEqual(['SD@0', 'x@1']);
  });

  it('split_on_case_change, split_on_numerics, stem_english_possessive, protected_words, type_table, adjust_offsets', () => {
    expect(graph(wdg({ split_on_case_change: false }), 'PowerShot')).toEqual(['PowerShot@0']);
    expect(graph(wdg({ split_on_numerics: false }), 'SD500 j2se')).toEqual(['SD500@0', 'j2se@1']);
    expect(graph(wdg({ stem_english_possessive: false }), "Neil's")).toEqual(['Neil@0', 's@1']);
    expect(graph(wdg({ protected_words: ['Wi-Fi'] }), 'Wi-Fi Bluetooth-5')).toEqual(['Wi-Fi@0', 'Bluetooth@1', '5@2']);
    expect(graph(wdg({ type_table: ['- => ALPHA', '\\u002B => ALPHA'] }), 'wi-fi c++ a_b')).toEqual(['wi-fi@0', 'c++@1', 'a@2', 'b@3']);
    expect(wdg({ adjust_offsets: false }).analyze('Wi-Fi').map((t) => [t.term, t.startOffset, t.endOffset])).toEqual([
      ['Wi', 0, 5],
      ['Fi', 0, 5],
    ]);
    // ignore_keywords: a token keyword_marker marked stays whole.
    const marked = new AnalyzerRegistry({
      analysis: { filter: { m: { type: 'keyword_marker', keywords: ['Wi-Fi'] }, w: { type: 'word_delimiter_graph', ignore_keywords: true } }, analyzer: { a: { tokenizer: 'whitespace', filter: ['m', 'w'] } } },
    }).get('a');
    expect(graph(marked, 'Wi-Fi Blue-Tooth')).toEqual(['Wi-Fi@0', 'Blue@1', 'Tooth@2']);
  });

  it('refuses unknown settings, bad rules and file paths', () => {
    const refuse = (filter: Record<string, unknown>, reason: RegExp) => {
      let err: unknown;
      try {
        wdg(filter);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).reason).toMatch(reason);
    };
    refuse({ catenate: true }, /unknown setting \[catenate\]/);
    refuse({ type_table: ['ab => ALPHA'] }, /invalid type_table rule/);
    refuse({ type_table: ['- => WORD'] }, /invalid type_table rule/);
    refuse({ protected_words_path: 'x.txt' }, /not supported/);
    refuse({ catenate_all: 'maybe' }, /must be a boolean/);
  });

  it('_analyze shows the graph: positionLength on the tokens that span parts', () => {
    const { tokens } = analyzeRequest({ tokenizer: 'whitespace', filter: [{ type: 'word_delimiter_graph', catenate_words: true }], text: 'wi-fi' });
    expect(tokens).toEqual([
      { token: 'wifi', start_offset: 0, end_offset: 5, position: 0, positionLength: 2 },
      { token: 'wi', start_offset: 0, end_offset: 2, position: 0 },
      { token: 'fi', start_offset: 3, end_offset: 5, position: 1 },
    ]);
  });

  it('property: the parts are the token with its delimiters and possessives taken out, at consecutive positions', () => {
    const chunk = fc.array(fc.constantFrom('a', 'B', 'cd', 'Ef', '7', '42', '-', '_', '.', "'", "'s"), { minLength: 1, maxLength: 8 }).map((xs) => xs.join(''));
    const tokenText = fc.tuple(fc.constantFrom('x', 'Q', '9'), chunk).map(([head, rest]) => head + rest);
    fc.assert(
      fc.property(fc.array(tokenText, { minLength: 1, maxLength: 6 }), (words) => {
        const tokens = wdg().analyze(words.join(' '));
        const expected = words.map((w) => w.replace(/(?<=[A-Za-z])'[sS](?=$|[^A-Za-z0-9])/g, '').replace(/[^A-Za-z0-9]/g, '')).join('');
        expect(tokens.map((t) => t.term).join('')).toBe(expected);
        tokens.forEach((t, i) => expect(t.position).toBe(i));
        for (const t of tokens) expect(words.join(' ').slice(t.startOffset, t.endOffset)).toBe(t.term);
      }),
      { numRuns: 300 },
    );
  });

  it('end to end: match finds the joined and the split forms, match_phrase sees the moved positions', () => {
    const engine = new ShardEngine({
      settings: { analysis: { filter: { wd: { type: 'word_delimiter_graph', catenate_words: true } }, analyzer: { parts: { tokenizer: 'whitespace', filter: ['wd', 'lowercase'] } } } },
      mappings: { properties: { name: { type: 'text', analyzer: 'parts' } } },
    });
    engine.index('1', { name: 'Wi-Fi router' });
    engine.index('2', { name: 'wifi adapter' });
    engine.index('3', { name: 'PowerShot SD500 camera' });
    engine.refresh();
    const ids = (query: unknown) => engine.search({ query }).hits.hits.map((h) => h._id).sort();
    expect(ids({ match: { name: 'wifi' } })).toEqual(['1', '2']);
    expect(ids({ match_phrase: { name: 'fi router' } })).toEqual(['1']);
    expect(ids({ match_phrase: { name: 'wi fi router' } })).toEqual(['1']);
    expect(ids({ match_phrase: { name: 'sd 500 camera' } })).toEqual(['3']);
    expect(ids({ match_phrase: { name: 'power shot' } })).toEqual(['3']);
  });
});
