/**
 * Char filters, the n-gram / pattern / char_group / path_hierarchy tokenizers and the n-gram,
 * shingle, synonym, trim, reverse, elision, keyword_marker and pattern_replace filters: their
 * output against Elasticsearch's documented examples, their refusals, a property over random
 * text, and end to end through ShardEngine (match, match_phrase, highlight).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnalyzerRegistry, createAnalyzer, createTokenFilter, htmlStrip } from '../../src/engine/analysis/index.ts';
import { analysisSettingsOf, parseIndexSettings, SettingsError } from '../../src/cluster/metadata.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError, type Analyzer, type Token } from '../../src/engine/types.ts';

const terms = (tokens: Token[]): string[] => tokens.map((t) => t.term);
/** [term, position, startOffset, endOffset] of each token. */
const tpo = (a: Analyzer, s: string): Array<[string, number, number, number]> => a.analyze(s).map((t) => [t.term, t.position, t.startOffset, t.endOffset]);
const tp = (a: Analyzer, s: string): Array<[string, number]> => a.analyze(s).map((t) => [t.term, t.position]);
const an = (def: Record<string, unknown>, settings?: Record<string, unknown>): Analyzer =>
  settings === undefined ? createAnalyzer(def) : new AnalyzerRegistry({ analysis: { ...settings, analyzer: { a: def } } }).get('a');
const ids = (r: { hits: { hits: { _id: string }[] } }): string[] => r.hits.hits.map((h) => h._id).sort();

function expectIllegal(fn: () => unknown, reason: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected a refusal matching ${reason}`).toBeInstanceOf(EngineError);
  expect((err as EngineError).type).toBe('illegal_argument_exception');
  expect((err as EngineError).reason).toMatch(reason);
}
/** Index settings with one analysis section; throws what index creation would. */
const settingsWith = (analysis: Record<string, unknown>, extra: Record<string, unknown> = {}) => () => new AnalyzerRegistry({ ...extra, analysis } as never);

describe('char filters', () => {
  const ES_HTML = '<p>I&apos;m so <b>happy</b>!</p>';

  it("html_strip: ES's example, offsets into the original text", () => {
    expect(tpo(an({ tokenizer: 'keyword', char_filter: ['html_strip'] }), ES_HTML)).toEqual([["\nI'm so happy!\n", 0, 0, 32]]);
    // "I'm" came from "I&apos;m", "happy" sits between <b> and </b>.
    expect(tpo(an({ tokenizer: 'standard', char_filter: ['html_strip'] }), ES_HTML)).toEqual([
      ["I'm", 0, 3, 11],
      ['so', 1, 12, 14],
      ['happy', 2, 18, 23],
    ]);
    const escaped = an({ tokenizer: 'keyword', char_filter: ['keep_b'] }, { char_filter: { keep_b: { type: 'html_strip', escaped_tags: ['b'] } } });
    expect(terms(escaped.analyze(ES_HTML))).toEqual(["\nI'm so <b>happy</b>!\n"]);
  });

  it('html_strip: entities, comments, script and style, CDATA, block elements; what is not markup stays', () => {
    const strip = (s: string) => htmlStrip(s).text;
    expect(strip('a&amp;b &lt;x&gt; caf&eacute; &#233;t&#xE9; &nbsp;&unknown; & ;')).toBe('a&b <x> café été \u00a0&unknown; & ;');
    expect(strip('one<!-- gone -->two<script type="x">var a = "</p>";</script>three<style>p{}</style>four')).toBe('onetwothreefour');
    expect(strip('<![CDATA[kept <b>text</b>]]> <!DOCTYPE html><?xml version="1.0"?>end')).toBe('kept <b>text</b> end');
    expect(strip('a<br>b<div class="x > y">c</div>d<span>e</span>')).toBe('a\nb\nc\nde');
    expect(strip('1 < 2 and 3 > 2, a <b unterminated, <3 <!-- open')).toBe('1 < 2 and 3 > 2, a <b unterminated, <3 <!-- open');
    expect(htmlStrip('no markup here').offsets).toBeNull();
  });

  it("mapping: ES's examples, longest key first, offsets of a replaced key", () => {
    const digits = an({ tokenizer: 'keyword', char_filter: [{ type: 'mapping', mappings: ['٠ => 0', '١ => 1', '٢ => 2', '٣ => 3', '٤ => 4', '٥ => 5', '٦ => 6', '٧ => 7', '٨ => 8', '٩ => 9'] }] });
    expect(terms(digits.analyze('My license plate is ٢٥٠١٥'))).toEqual(['My license plate is 25015']);
    const emoticons = an({ tokenizer: 'standard', char_filter: [{ type: 'mapping', mappings: [':) => _happy_', ':( => _sad_'] }] });
    expect(tpo(emoticons, "I'm delighted about it :(")).toEqual([
      ["I'm", 0, 0, 3],
      ['delighted', 1, 4, 13],
      ['about', 2, 14, 19],
      ['it', 3, 20, 22],
      ['_sad_', 4, 23, 25],
    ]);
    const longest = an({ tokenizer: 'whitespace', char_filter: [{ type: 'mapping', mappings: ['a => x', 'ab => y', 'abc => z', '\\u0020 => _', 'q => '] }] });
    expect(terms(longest.analyze('abcab aq'))).toEqual(['zy_x']);
  });

  it("pattern_replace: ES's examples; inserted text maps to where it was inserted", () => {
    const cards = an({ tokenizer: 'standard', char_filter: [{ type: 'pattern_replace', pattern: '(\\d+)-(?=\\d)', replacement: '$1_' }] });
    expect(tpo(cards, 'My credit card is 123-456-789').at(-1)).toEqual(['123_456_789', 4, 18, 29]);
    const camel = an({ tokenizer: 'standard', char_filter: [{ type: 'pattern_replace', pattern: '(?<=\\p{Lower})(?=\\p{Upper})', replacement: ' ' }], filter: ['lowercase'] });
    expect(tpo(camel, 'The fooBarBaz method')).toEqual([
      ['the', 0, 0, 3],
      ['foo', 1, 4, 7],
      ['bar', 2, 7, 10],
      ['baz', 3, 10, 13],
      ['method', 4, 14, 20],
    ]);
    const ci = an({ tokenizer: 'keyword', char_filter: [{ type: 'pattern_replace', pattern: 'x', flags: 'CASE_INSENSITIVE', replacement: '\\$' }] });
    expect(terms(ci.analyze('aXbxc'))).toEqual(['a$b$c']);
  });

  it('chained char filters map offsets back through each one', () => {
    const a = an({ tokenizer: 'standard', char_filter: ['html_strip', { type: 'mapping', mappings: ['& => and'] }] });
    // "&amp;" → "&" → "and": the token covers the whole entity.
    expect(tpo(a, '<b>salt</b> &amp; pepper')).toEqual([
      ['salt', 0, 3, 7],
      ['and', 1, 12, 17],
      ['pepper', 2, 18, 24],
    ]);
  });

  it('refuses bad char filter definitions', () => {
    const bad = (char_filter: Record<string, unknown>) => settingsWith({ char_filter });
    expectIllegal(bad({ c: { type: 'nope' } }), /Unknown char_filter type \[nope\] for \[c\]/);
    expectIllegal(bad({ c: { mappings: [] } }), /must specify \[type\]/);
    expectIllegal(bad({ c: { type: 'html_strip', escaped_tag: ['b'] } }), /unknown setting \[escaped_tag\] of char_filter \[c\]/);
    expectIllegal(bad({ c: { type: 'html_strip', escaped_tags: 'b' } }), /\[escaped_tags\] of char_filter \[c\] must be an array/);
    expectIllegal(bad({ c: { type: 'mapping' } }), /requires \[mappings\]/);
    expectIllegal(bad({ c: { type: 'mapping', mappings_path: 'm.txt' } }), /\[mappings_path\] of char_filter \[c\] is not supported/);
    expectIllegal(bad({ c: { type: 'mapping', mappings: ['a -> b'] } }), /invalid mapping rule \[a -> b\]/);
    expectIllegal(bad({ c: { type: 'mapping', mappings: [' => b'] } }), /the key is empty/);
    expectIllegal(bad({ c: { type: 'mapping', mappings: ['a => b', 'a => c'] } }), /mapping key \[a\] of char_filter \[c\] is given twice/);
    expectIllegal(bad({ c: { type: 'mapping', mappings: 'a => b' } }), /\[mappings\] of char_filter \[c\] must be an array/);
    expectIllegal(bad({ c: { type: 'pattern_replace' } }), /\[pattern\] is missing/);
    expectIllegal(bad({ c: { type: 'pattern_replace', pattern: '(' } }), /invalid \[pattern\] \[\(\] of char_filter \[c\]/);
    expectIllegal(bad({ c: { type: 'pattern_replace', pattern: 'a', flags: 'NOPE' } }), /unknown regex flag \[NOPE\]/);
    expectIllegal(bad({ c: { type: 'pattern_replace', pattern: 'a', flags: 'COMMENTS' } }), /flag \[COMMENTS\] .* not supported/);
    expectIllegal(bad({ c: { type: 'pattern_replace', pattern: '(a)', replacement: '$2' } }), /no group 2 in \[pattern\]/);
    expectIllegal(bad({ c: { type: 'pattern_replace', pattern: 'a', replacement: 'x$' } }), /illegal group reference/);
    expectIllegal(settingsWith({ analyzer: { a: { tokenizer: 'standard', char_filter: 'html_strip, nope' } } }), /failed to find char_filter under name \[html_strip, nope\]/);
    expectIllegal(settingsWith({ analyzer: { a: { tokenizer: 'standard', char_filter: [1] } } }), /\[char_filter\] of analyzer \[a\] must contain names or objects/);
  });
});

describe('tokenizers', () => {
  it("ngram: ES's examples (defaults, then 3-grams of letters and digits)", () => {
    expect(terms(an({ tokenizer: 'ngram' }).analyze('Quick Fox'))).toEqual(['Q', 'Qu', 'u', 'ui', 'i', 'ic', 'c', 'ck', 'k', 'k ', ' ', ' F', 'F', 'Fo', 'o', 'ox', 'x']);
    expect(tpo(an({ tokenizer: 'ngram' }), 'Qu').map((t) => t.slice(1))).toEqual([[0, 0, 1], [1, 0, 2], [2, 1, 2]]);
    const tri = an({ tokenizer: 't' }, { tokenizer: { t: { type: 'ngram', min_gram: 3, max_gram: 3, token_chars: ['letter', 'digit'] } } });
    expect(tpo(tri, '2 Quick Foxes.')).toEqual([
      ['Qui', 0, 2, 5],
      ['uic', 1, 3, 6],
      ['ick', 2, 4, 7],
      ['Fox', 3, 8, 11],
      ['oxe', 4, 9, 12],
      ['xes', 5, 10, 13],
    ]);
    const custom = an({ tokenizer: { type: 'ngram', min_gram: 2, max_gram: 2, token_chars: 'letter, custom', custom_token_chars: '+' } });
    expect(terms(custom.analyze('a+b c-d'))).toEqual(['a+', '+b']);
    // Code points, not UTF-16 units: a surrogate pair is one character.
    expect(terms(an({ tokenizer: { type: 'ngram', min_gram: 1, max_gram: 1 } }).analyze('a😀'))).toEqual(['a', '😀']);
  });

  it("edge_ngram: ES's examples", () => {
    expect(terms(an({ tokenizer: 'edge_ngram' }).analyze('Quick Fox'))).toEqual(['Q', 'Qu']);
    const t = an({ tokenizer: { type: 'edge_ngram', min_gram: 2, max_gram: 10, token_chars: ['letter', 'digit'] } });
    expect(tpo(t, '2 Quick Foxes.')).toEqual([
      ['Qu', 0, 2, 4],
      ['Qui', 1, 2, 5],
      ['Quic', 2, 2, 6],
      ['Quick', 3, 2, 7],
      ['Fo', 4, 8, 10],
      ['Fox', 5, 8, 11],
      ['Foxe', 6, 8, 12],
      ['Foxes', 7, 8, 13],
    ]);
  });

  it('index.max_ngram_diff (default 1) bounds ngram, not edge_ngram', () => {
    const wide = { tokenizer: { t: { type: 'ngram', min_gram: 2, max_gram: 4 } }, analyzer: { a: { tokenizer: 't' } } };
    expectIllegal(settingsWith(wide), /difference between max_gram and min_gram in NGram Tokenizer \[tokenizer \[t\]\] must be less than or equal to: \[1\] but was \[2\].*index\.max_ngram_diff/);
    expect(terms(settingsWith(wide, { max_ngram_diff: 2 })().get('a').analyze('abc'))).toEqual(['ab', 'abc', 'bc']);
    expect(() => settingsWith(wide, { index: { max_ngram_diff: '2' } })()).not.toThrow();
    expectIllegal(settingsWith(wide, { max_ngram_diff: -1 }), /index\.max_ngram_diff/);
    expect(() => settingsWith({ tokenizer: { t: { type: 'edge_ngram', min_gram: 1, max_gram: 20 } } })()).not.toThrow();
  });

  it("pattern: ES's examples (split on \\W+, on commas, a group of each match)", () => {
    expect(terms(an({ tokenizer: 'pattern' }).analyze("The foo_bar_size's default is 5."))).toEqual(['The', 'foo_bar_size', 's', 'default', 'is', '5']);
    expect(tpo(an({ tokenizer: { type: 'pattern', pattern: ',' } }), 'comma,separated,values')).toEqual([
      ['comma', 0, 0, 5],
      ['separated', 1, 6, 15],
      ['values', 2, 16, 22],
    ]);
    const quoted = an({ tokenizer: { type: 'pattern', pattern: '"((?:\\\\"|[^"]|\\\\")+)"', group: 1 } });
    expect(tpo(quoted, '"value", "value with embedded \\" quote"')).toEqual([
      ['value', 0, 1, 6],
      ['value with embedded \\" quote', 1, 10, 38],
    ]);
    expect(terms(an({ tokenizer: { type: 'pattern', pattern: 'x', flags: 'CASE_INSENSITIVE' } }).analyze('aXbxc'))).toEqual(['a', 'b', 'c']);
    // Camel case split with a zero-width pattern, as Java's Matcher splits it.
    expect(terms(an({ tokenizer: { type: 'pattern', pattern: '(?=\\p{Lu})' } }).analyze('fooBarBaz'))).toEqual(['foo', 'Bar', 'Baz']);
  });

  it("char_group: ES's example, escapes, max_token_length", () => {
    expect(tpo(an({ tokenizer: { type: 'char_group', tokenize_on_chars: ['whitespace', '-', '\n'] } }), 'The QUICK brown-fox')).toEqual([
      ['The', 0, 0, 3],
      ['QUICK', 1, 4, 9],
      ['brown', 2, 10, 15],
      ['fox', 3, 16, 19],
    ]);
    expect(terms(an({ tokenizer: { type: 'char_group', tokenize_on_chars: ['\\n', '\\u002c', 'digit'] } }).analyze('a b\nc,d1e'))).toEqual(['a b', 'c', 'd', 'e']);
    expect(terms(an({ tokenizer: { type: 'char_group', tokenize_on_chars: [' '], max_token_length: 3 } }).analyze('abcdefg h'))).toEqual(['abc', 'def', 'g', 'h']);
  });

  it("path_hierarchy: ES's examples, with offsets; reverse", () => {
    expect(tpo(an({ tokenizer: 'path_hierarchy' }), '/one/two/three')).toEqual([
      ['/one', 0, 0, 4],
      ['/one/two', 0, 0, 8],
      ['/one/two/three', 0, 0, 14],
    ]);
    const skip = { type: 'path_hierarchy', delimiter: '-', replacement: '/', skip: 2 };
    expect(tpo(an({ tokenizer: skip }), 'one-two-three-four-five')).toEqual([
      ['/three', 0, 7, 13],
      ['/three/four', 0, 7, 18],
      ['/three/four/five', 0, 7, 23],
    ]);
    expect(terms(an({ tokenizer: { ...skip, reverse: true } }).analyze('one-two-three-four-five'))).toEqual(['one/two/three/', 'two/three/', 'three/']);
    expect(tpo(an({ tokenizer: { type: 'path_hierarchy', reverse: true } }), '/a/b/c')).toEqual([
      ['/a/b/c', 0, 0, 6],
      ['a/b/c', 0, 1, 6],
      ['b/c', 0, 3, 6],
      ['c', 0, 5, 6],
    ]);
    expect(terms(an({ tokenizer: 'path_hierarchy' }).analyze('/a/b/'))).toEqual(['/a', '/a/b', '/a/b/']);
    expect(terms(an({ tokenizer: { type: 'path_hierarchy', delimiter: '.', reverse: true } }).analyze('www.example.com'))).toEqual(['www.example.com', 'example.com', 'com']);
  });

  it('refuses bad tokenizer definitions', () => {
    const bad = (tokenizer: Record<string, unknown>) => settingsWith({ tokenizer: { t: tokenizer } });
    expectIllegal(bad({ type: 'ngram', min_gram: 0 }), /\[min_gram\] of tokenizer \[t\] must be greater than zero/);
    expectIllegal(bad({ type: 'ngram', min_gram: 3, max_gram: 2 }), /must not be greater than \[max_gram\]/);
    expectIllegal(bad({ type: 'edge_ngram', max_gram: 'ten' }), /\[max_gram\] of tokenizer \[t\] must be an integer/);
    expectIllegal(bad({ type: 'ngram', token_chars: ['letters'] }), /unknown token type \[letters\] in \[token_chars\]/);
    expectIllegal(bad({ type: 'ngram', token_chars: ['custom'] }), /requires \[custom_token_chars\]/);
    expectIllegal(bad({ type: 'ngram', custom_token_chars: '+' }), /\[custom_token_chars\] of tokenizer \[t\] needs \[token_chars\] to include \[custom\]/);
    expectIllegal(bad({ type: 'ngram', min_grams: 1 }), /unknown setting \[min_grams\] of tokenizer \[t\]/);
    expectIllegal(bad({ type: 'pattern', pattern: '(a)', group: 2 }), /\[group\] of tokenizer \[t\] is \[2\] but \[pattern\] has 1 group/);
    expectIllegal(bad({ type: 'pattern', pattern: '[' }), /invalid \[pattern\]/);
    expectIllegal(bad({ type: 'pattern', pattern: 5 }), /\[pattern\] of tokenizer \[t\] must be a string/);
    expectIllegal(bad({ type: 'pattern', group: -2 }), /\[group\] of tokenizer \[t\] must be at least -1/);
    expectIllegal(bad({ type: 'char_group' }), /\[tokenize_on_chars\] of tokenizer \[t\] must be an array/);
    expectIllegal(bad({ type: 'char_group', tokenize_on_chars: ['letterz'] }), /invalid entry \[letterz\]/);
    expectIllegal(bad({ type: 'char_group', tokenize_on_chars: ['\\q'] }), /invalid escaped char \[\\q\]/);
    expectIllegal(bad({ type: 'path_hierarchy', delimiter: '::' }), /\[delimiter\] of tokenizer \[t\] must be a one char value/);
    expectIllegal(bad({ type: 'path_hierarchy', skip: -1 }), /\[skip\] of tokenizer \[t\] must be at least 0/);
    expectIllegal(bad({ type: 'path_hierarchy', reverse: 'maybe' }), /\[reverse\] of tokenizer \[t\] must be a boolean/);
  });
});

describe('token filters', () => {
  it("edge_ngram and ngram: ES's examples; grams stack at the word's position with its offsets", () => {
    const edge = an({ tokenizer: 'standard', filter: ['edge_ngram'] });
    expect(terms(edge.analyze('the quick brown fox jumps'))).toEqual(['t', 'th', 'q', 'qu', 'b', 'br', 'f', 'fo', 'j', 'ju']);
    expect(tpo(edge, 'the quick').slice(2)).toEqual([
      ['q', 1, 4, 9],
      ['qu', 1, 4, 9],
    ]);
    expect(terms(an({ tokenizer: 'standard', filter: ['ngram'] }).analyze('Quick fox'))).toEqual(['Q', 'Qu', 'u', 'ui', 'i', 'ic', 'c', 'ck', 'k', 'f', 'fo', 'o', 'ox', 'x']);
    const keep = an({ tokenizer: 'standard', filter: [{ type: 'edge_ngram', min_gram: 2, max_gram: 3, preserve_original: true }] });
    expect(tp(keep, 'a quick of')).toEqual([
      ['a', 0],
      ['qu', 1],
      ['qui', 1],
      ['quick', 1],
      ['of', 2],
    ]);
    // Without preserve_original a word shorter than min_gram is dropped, leaving a position gap.
    expect(tp(an({ tokenizer: 'standard', filter: [{ type: 'edge_ngram', min_gram: 2, max_gram: 2 }] }), 'a of')).toEqual([['of', 1]]);
    expectIllegal(settingsWith({ filter: { f: { type: 'ngram', min_gram: 1, max_gram: 3 } } }), /NGram Token Filter \[filter \[f\]\] must be less than or equal to: \[1\] but was \[2\]/);
    expect(() => settingsWith({ filter: { f: { type: 'ngram', min_gram: 1, max_gram: 3 } } }, { max_ngram_diff: 2 })()).not.toThrow();
  });

  it("shingle: ES's examples, fillers for removed words, the separators", () => {
    expect(tpo(an({ tokenizer: 'whitespace', filter: ['shingle'] }), 'quick brown fox jumps')).toEqual([
      ['quick', 0, 0, 5],
      ['quick brown', 0, 0, 11],
      ['brown', 1, 6, 11],
      ['brown fox', 1, 6, 15],
      ['fox', 2, 12, 15],
      ['fox jumps', 2, 12, 21],
      ['jumps', 3, 16, 21],
    ]);
    const twoThree = { type: 'shingle', min_shingle_size: 2, max_shingle_size: 3 };
    expect(terms(an({ tokenizer: 'whitespace', filter: [twoThree] }).analyze('quick brown fox jumps'))).toEqual([
      'quick', 'quick brown', 'quick brown fox', 'brown', 'brown fox', 'brown fox jumps', 'fox', 'fox jumps', 'jumps',
    ]);
    expect(terms(an({ tokenizer: 'whitespace', filter: [{ ...twoThree, output_unigrams: false }] }).analyze('quick brown fox jumps'))).toEqual([
      'quick brown', 'quick brown fox', 'brown fox', 'brown fox jumps', 'fox jumps',
    ]);
    const filler = an({ tokenizer: 'whitespace', filter: [{ type: 'stop', stopwords: ['a'] }, { type: 'shingle', filler_token: '+' }] });
    expect(tp(filler, 'fox jumps a lazy dog')).toEqual([
      ['fox', 0],
      ['fox jumps', 0],
      ['jumps', 1],
      ['jumps +', 1],
      ['+ lazy', 2],
      ['lazy', 3],
      ['lazy dog', 3],
      ['dog', 4],
    ]);
    expect(terms(an({ tokenizer: 'whitespace', filter: [{ type: 'shingle', token_separator: '_', output_unigrams: false }] }).analyze('a b c'))).toEqual(['a_b', 'b_c']);
    const lonely = { type: 'shingle', output_unigrams: false };
    expect(terms(an({ tokenizer: 'whitespace', filter: [lonely] }).analyze('alone'))).toEqual([]);
    expect(terms(an({ tokenizer: 'whitespace', filter: [{ ...lonely, output_unigrams_if_no_shingles: true }] }).analyze('alone'))).toEqual(['alone']);
  });

  it('shingle: refusals, index.max_shingle_diff', () => {
    const bad = (f: Record<string, unknown>, extra?: Record<string, unknown>) => settingsWith({ filter: { f } }, extra);
    expectIllegal(bad({ type: 'shingle', min_shingle_size: 1 }), /\[min_shingle_size\] of filter \[f\] must be at least 2/);
    expectIllegal(bad({ type: 'shingle', min_shingle_size: 3, max_shingle_size: 2 }), /must not be greater than \[max_shingle_size\]/);
    expectIllegal(bad({ type: 'shingle', max_shingle_size: 5 }), /difference between max_shingle_size and min_shingle_size .* must be less than or equal to: \[3\] but was \[4\]/);
    expect(() => bad({ type: 'shingle', max_shingle_size: 5 }, { max_shingle_diff: 4 })()).not.toThrow();
    expectIllegal(bad({ type: 'shingle', filler: '_' }), /unknown setting \[filler\] of filter \[f\]/);
    expectIllegal(bad({ type: 'shingle', token_separator: 1 }), /\[token_separator\] of filter \[f\] must be a string/);
  });

  it("trim, reverse, elision (ES's example), pattern_replace (ES's example)", () => {
    expect(tpo(an({ tokenizer: 'keyword', filter: ['trim'] }), ' fox ')).toEqual([['fox', 0, 0, 5]]);
    expect(terms(an({ tokenizer: 'whitespace', filter: ['reverse'] }).analyze('quick fox jumps a😀b'))).toEqual(['kciuq', 'xof', 'spmuj', 'b😀a']);
    expect(tpo(an({ tokenizer: 'standard', filter: ['elision'] }), 'j’examine près du wharf')).toEqual([
      ['examine', 0, 0, 9],
      ['près', 1, 10, 14],
      ['du', 2, 15, 17],
      ['wharf', 3, 18, 23],
    ]);
    expect(terms(an({ tokenizer: 'standard', filter: ['elision'] }).analyze("L'avion qu'il jusqu'ici"))).toEqual(['avion', 'il', 'ici']);
    expect(terms(an({ tokenizer: 'standard', filter: [{ type: 'elision', articles: ['l'] }] }).analyze("L'avion l'eau"))).toEqual(["L'avion", 'eau']);
    expect(terms(an({ tokenizer: 'standard', filter: [{ type: 'elision', articles: ['l'], articles_case: true }] }).analyze("L'avion l'eau"))).toEqual(['avion', 'eau']);
    expect(terms(an({ tokenizer: 'whitespace', filter: [{ type: 'pattern_replace', pattern: '(dog)', replacement: 'watch$1' }] }).analyze('foxes jump lazy dogs'))).toEqual(['foxes', 'jump', 'lazy', 'watchdogs']);
    expect(terms(an({ tokenizer: 'whitespace', filter: [{ type: 'pattern_replace', pattern: 'o', replacement: '0', all: false }] }).analyze('foo'))).toEqual(['f0o']);
    expect(terms(an({ tokenizer: 'whitespace', filter: [{ type: 'pattern_replace', pattern: 'x*', replacement: '-' }] }).analyze('ab'))).toEqual(['-a-b-']);
  });

  it("keyword_marker: stemmers leave marked words alone (ES's example)", () => {
    const marked = an({ tokenizer: 'whitespace', filter: [{ type: 'keyword_marker', keywords: ['jumping'] }, 'stemmer'] });
    expect(terms(marked.analyze('fox running and jumping'))).toEqual(['fox', 'run', 'and', 'jumping']);
    const ic = an({ tokenizer: 'whitespace', filter: [{ type: 'keyword_marker', keywords: ['jumping'], ignore_case: true }, 'porter_stem'] });
    expect(terms(ic.analyze('Jumping running'))).toEqual(['Jumping', 'run']);
    const pattern = an({ tokenizer: 'whitespace', filter: [{ type: 'keyword_marker', keywords_pattern: '.*ings' }, { type: 'stemmer', language: 'minimal_english' }] });
    expect(terms(pattern.analyze('boxes swings kings'))).toEqual(['boxe', 'swings', 'kings']);
    // Stemming without the marker is unchanged.
    expect(terms(an({ tokenizer: 'whitespace', filter: ['stemmer'] }).analyze('jumping'))).toEqual(['jump']);
  });

  it('refuses bad filter definitions', () => {
    const bad = (f: Record<string, unknown>) => settingsWith({ filter: { f } });
    expectIllegal(bad({ type: 'edge_ngram', min_gram: 'x' }), /\[min_gram\] of filter \[f\] must be an integer/);
    expectIllegal(bad({ type: 'edge_ngram', side: 'back' }), /unknown setting \[side\] of filter \[f\]/);
    expectIllegal(bad({ type: 'ngram', preserve_original: 'yes' }), /\[preserve_original\] of filter \[f\] must be a boolean/);
    expectIllegal(bad({ type: 'trim', x: 1 }), /unknown setting \[x\] of filter \[f\] of type \[trim\]/);
    expectIllegal(bad({ type: 'elision', articles_case: true }), /\[articles_case\] of filter \[f\] needs \[articles\]/);
    expectIllegal(bad({ type: 'elision', articles_path: 'a.txt' }), /\[articles_path\] of filter \[f\] is not supported/);
    expectIllegal(bad({ type: 'elision', articles: [1] }), /\[articles\] of filter \[f\] must be an array of strings/);
    expectIllegal(bad({ type: 'keyword_marker' }), /requires either \[keywords\] or \[keywords_pattern\]/);
    expectIllegal(bad({ type: 'keyword_marker', keywords: ['a'], keywords_pattern: 'b' }), /cannot specify both \[keywords_pattern\] and \[keywords\]/);
    expectIllegal(bad({ type: 'keyword_marker', keywords_path: 'k.txt' }), /\[keywords_path\] of filter \[f\] is not supported/);
    expectIllegal(bad({ type: 'keyword_marker', keywords_pattern: '(' }), /invalid \[keywords_pattern\]/);
    expectIllegal(bad({ type: 'pattern_replace', replacement: 'x' }), /\[pattern\] is missing for filter \[f\]/);
    expectIllegal(bad({ type: 'pattern_replace', pattern: 'a', all: 'always' }), /\[all\] of filter \[f\] must be a boolean/);
  });
});

describe('synonyms', () => {
  const rules = ['i-pod, i pod => ipod', 'universe, cosmos', 'ny, new york', 'sea biscuit, sea biscit => seabiscuit', '# a comment', ''];
  const syn = (type: string, extra: Record<string, unknown> = {}) => an({ tokenizer: 'standard', filter: ['lowercase', { type, synonyms: rules, ...extra }] });

  it('equivalent synonyms stack at the word, with its offsets; explicit mappings replace', () => {
    for (const type of ['synonym', 'synonym_graph']) {
      const a = syn(type);
      expect(tpo(a, 'The Universe')).toEqual([
        ['the', 0, 0, 3],
        ['universe', 1, 4, 12],
        ['cosmos', 1, 4, 12],
      ]);
      expect(tpo(a, 'my I-Pod, your i pod')).toEqual([
        ['my', 0, 0, 2],
        ['ipod', 1, 3, 8],
        ['your', 2, 10, 14],
        ['ipod', 3, 15, 20],
      ]);
      expect(terms(a.analyze('Sea Biscit'))).toEqual(['seabiscuit']);
    }
  });

  it('multi-word synonyms span positions: the longer side moves the words after it on', () => {
    const a = syn('synonym_graph');
    const graph = (s: string) => a.analyze(s).map((t) => [t.term, t.position, t.positionLength ?? 1, t.startOffset, t.endOffset]);
    expect(graph('ny city')).toEqual([
      ['ny', 0, 2, 0, 2],
      ['new', 0, 1, 0, 2],
      ['york', 1, 1, 0, 2],
      ['city', 2, 1, 3, 7],
    ]);
    expect(graph('new york city')).toEqual([
      ['new', 0, 1, 0, 3],
      ['ny', 0, 2, 0, 8],
      ['york', 1, 1, 4, 8],
      ['city', 2, 1, 9, 13],
    ]);
  });

  it('expand: false maps every phrase of an equivalence to the first', () => {
    const a = an({ tokenizer: 'standard', filter: ['lowercase', { type: 'synonym', synonyms: ['ipod, i-pod, i pod'], expand: false }] });
    expect(tp(a, 'my I-Pod rocks')).toEqual([
      ['my', 0],
      ['ipod', 1],
      ['rocks', 2],
    ]);
    expect(tp(a, 'ipod')).toEqual([['ipod', 0]]);
  });

  it('rules are analysed by the tokenizer and the filters before the synonym filter', () => {
    const a = an({ tokenizer: 'standard', filter: ['lowercase', 'porter_stem', { type: 'synonym_graph', synonyms: ['Running Shoes, sneakers'] }] });
    expect(tp(a, 'RUNNING shoes')).toEqual([
      ['run', 0],
      ['sneaker', 0],
      ['shoe', 1],
    ]);
    // Char filters too: the rule's "&amp;" is "&" as the text's is.
    const html = an({ tokenizer: 'whitespace', char_filter: ['html_strip'], filter: [{ type: 'synonym', synonyms: ['R&amp;D => research'] }] });
    expect(terms(html.analyze('<b>R&amp;D</b>'))).toEqual(['research']);
    // A later synonym filter does not see the earlier one's rules applied to its own.
    const two = an({ tokenizer: 'whitespace', filter: [{ type: 'synonym', synonyms: ['a => b'] }, { type: 'synonym', synonyms: ['a => c'] }] });
    expect(terms(two.analyze('a'))).toEqual(['b']);
  });

  it("lenient skips the phrases analysis removes (ES's example), else they are refused", () => {
    const chain = (synonyms: string[], lenient: boolean) =>
      settingsWith({ filter: { my_stop: { type: 'stop', stopwords: ['bar'] }, s: { type: 'synonym', lenient, synonyms } }, analyzer: { a: { tokenizer: 'standard', filter: ['my_stop', 's'] } } });
    expect(terms(chain(['foo, bar => baz'], true)().get('a').analyze('foo bar'))).toEqual(['baz']);
    expect(terms(chain(['foo, baz => bar'], true)().get('a').analyze('foo baz'))).toEqual(['foo', 'baz']);
    expectIllegal(chain(['foo, bar => baz'], false), /failed to build synonyms for filter \[s\]: term \[bar\] was completely eliminated by analyzer \(rule \[foo, bar => baz\]\)/);
  });

  it('the query side: match and match_phrase with synonyms at search time only', () => {
    const e = new ShardEngine({
      settings: { analysis: { filter: { syn: { type: 'synonym_graph', synonyms: ['tv, television', 'ny, new york'] } }, analyzer: { syn: { tokenizer: 'standard', filter: ['lowercase', 'syn'] } } } },
      mappings: { properties: { text: { type: 'text', search_analyzer: 'syn' } } },
    });
    e.index('1', { text: 'I watched television in new york city' });
    e.index('2', { text: 'a tv show about ny city' });
    e.index('3', { text: 'york is old, new is city' });
    e.refresh();
    expect(ids(e.search({ query: { match: { text: 'TV' } } }))).toEqual(['1', '2']);
    // "and" counts the words of the query, not each synonym.
    expect(ids(e.search({ query: { match: { text: { query: 'tv show', operator: 'and' } } } }))).toEqual(['2']);
    expect(ids(e.search({ query: { match: { text: { query: 'tv city', operator: 'and' } } } }))).toEqual(['1', '2']);
    // A multi-word alternative is a phrase: doc 3 has "new" and "york", not "new york".
    expect(ids(e.search({ query: { match: { text: { query: 'ny', operator: 'and' } } } }))).toEqual(['1', '2']);
    expect(ids(e.search({ query: { match_phrase: { text: 'ny city' } } }))).toEqual(['1', '2']);
    expect(ids(e.search({ query: { match_phrase: { text: 'new york city' } } }))).toEqual(['1', '2']);
    expect(ids(e.search({ query: { match_phrase: { text: 'watched tv' } } }))).toEqual(['1']);
    const hl = e.search({ query: { match: { text: 'tv' } }, highlight: { fields: { text: {} } } });
    expect(hl.hits.hits.find((h) => h._id === '1')!.highlight!.text).toEqual(['I watched <em>television</em> in new york city']);
  });

  it('the query side: synonyms at index and search time', () => {
    const e = new ShardEngine({
      settings: { analysis: { filter: { syn: { type: 'synonym', synonyms: ['ny, new york'] } }, analyzer: { syn: { tokenizer: 'standard', filter: ['lowercase', 'syn'] } } } },
      mappings: { properties: { text: { type: 'text', analyzer: 'syn' }, plain: { type: 'text', analyzer: 'syn', search_analyzer: 'standard' } } },
    });
    e.index('1', { text: 'new york city', plain: 'new york city' });
    e.index('2', { text: 'ny city', plain: 'ny city' });
    e.refresh();
    for (const q of ['ny city', 'new york city', 'NY', 'new york']) expect(ids(e.search({ query: { match_phrase: { text: q } } })), q).toEqual(['1', '2']);
    expect(ids(e.search({ query: { match: { text: { query: 'ny city', operator: 'and' } } } }))).toEqual(['1', '2']);
    // Indexed with synonyms, searched without: the single word finds both; a phrase follows the
    // longer side's positions (document 2 indexed "city" after "new york"), as docs/ENGINE.md says.
    expect(ids(e.search({ query: { match: { plain: 'ny' } } }))).toEqual(['1', '2']);
    expect(ids(e.search({ query: { match_phrase: { plain: 'new york city' } } }))).toEqual(['1', '2']);
    expect(ids(e.search({ query: { match_phrase: { plain: 'ny city' } } }))).toEqual([]);
    expect(ids(e.search({ query: { query_string: { query: '"ny city"', default_field: 'text' } } }))).toEqual(['1', '2']);
    // A word and its synonyms cover the same text: marked once.
    const hl = e.search({ query: { match: { text: 'ny' } }, highlight: { fields: { text: {} } } });
    expect(Object.fromEntries(hl.hits.hits.map((h) => [h._id, h.highlight!.text]))).toEqual({ 1: ['<em>new york</em> city'], 2: ['<em>ny</em> city'] });
  });

  it('refuses bad synonym definitions', () => {
    const bad = (s: Record<string, unknown>, filter: unknown[] = ['s']) => settingsWith({ filter: { s, my_ngram: { type: 'ngram' } }, analyzer: { a: { tokenizer: 'standard', filter } } });
    expectIllegal(bad({ type: 'synonym', synonyms_path: 'analysis/synonym.txt' }), /\[synonyms_path\] of filter \[s\] is not supported/);
    expectIllegal(bad({ type: 'synonym_graph', synonyms_set: 'my-set' }), /\[synonyms_set\] of filter \[s\] is not supported/);
    expectIllegal(bad({ type: 'synonym' }), /filter \[s\] requires \[synonyms\]/);
    expectIllegal(bad({ type: 'synonym', synonyms: 'a, b' }), /\[synonyms\] of filter \[s\] must be an array of strings/);
    expectIllegal(bad({ type: 'synonym', synonyms: ['a => b => c'] }), /more than one explicit mapping/);
    expectIllegal(bad({ type: 'synonym', synonyms: [' => b'] }), /has an empty side/);
    expectIllegal(bad({ type: 'synonym', synonyms: ['a, b'], format: 'wordnet' }), /\[format\] of filter \[s\] must be \[solr\]/);
    expectIllegal(bad({ type: 'synonym', synonyms: ['a, b'], updateable: true }), /\[updateable\] of filter \[s\] is not supported/);
    expectIllegal(bad({ type: 'synonym', synonyms: ['a, b'], expnd: true }), /unknown setting \[expnd\] of filter \[s\]/);
    expectIllegal(bad({ type: 'synonym', synonyms: ['a, b'] }, ['my_ngram', 's']), /Token filter \[my_ngram\] cannot be used to parse synonyms/);
    expectIllegal(() => createTokenFilter({ type: 'synonym', synonyms: ['a, b'] }), /can only be used in an analyzer/);
    // With lenient, a broken line is skipped instead.
    expect(() => bad({ type: 'synonym', lenient: true, synonyms: ['a => b => c', 'x, y'] })()).not.toThrow();
  });
});

describe('property: no input makes a component throw, offsets stay in the original text', () => {
  const piece = fc.oneof(
    fc.constantFrom(
      '<p>', '</p>', '<b>', '</b', '<br/>', '<!-- c -->', '<script>x</script>', '&amp;', '&#x1F600;', '&#0;', '&', '<', '>', 'ny', 'new york',
      'tv', 'i-pod', ' ', '\n', '-', '/', '.', "'", 'l’', 'Éé', '😀', '\uD800', '\uDC00', 'foo-bar', 'running', 'a'.repeat(40), '٢٥', ':)', 'x',
    ),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.string({ unit: 'grapheme', maxLength: 6 }),
  );
  const text = fc.array(piece, { maxLength: 16 }).map((parts) => parts.join(''));
  // Built in the tests (a definition it refuses fails them, not the whole file).
  const registry = (): AnalyzerRegistry => new AnalyzerRegistry({
    max_ngram_diff: 3,
    analysis: {
      char_filter: {
        map: { type: 'mapping', mappings: [':) => _happy_', '٢ => 2', 'a => ', 'x => xyz'] },
        pat: { type: 'pattern_replace', pattern: '(\\d+)|o*', replacement: '[$1]' },
        keep_b: { type: 'html_strip', escaped_tags: ['b'] },
      },
      tokenizer: {
        ngram: { type: 'ngram', min_gram: 1, max_gram: 3, token_chars: ['letter', 'digit', 'custom'], custom_token_chars: '-' },
        edge: { type: 'edge_ngram', min_gram: 1, max_gram: 4 },
        pattern: { type: 'pattern', pattern: '(?=[A-Z])|\\W+' },
        group: { type: 'pattern', pattern: '(\\w)(\\w*)', group: 2 },
        chars: { type: 'char_group', tokenize_on_chars: ['whitespace', 'punctuation', '\\u00e9'], max_token_length: 4 },
        path: { type: 'path_hierarchy', delimiter: '-', replacement: '/', skip: 1 },
        rpath: { type: 'path_hierarchy', reverse: true, skip: 1 },
      },
      filter: {
        syn: { type: 'synonym_graph', lenient: true, synonyms: ['ny, new york', 'tv => television set', 'i pod => ipod', 'a b c, x'] },
        syn2: { type: 'synonym', synonyms: ['york, big apple city'], expand: false },
        shingle: { type: 'shingle', min_shingle_size: 2, max_shingle_size: 3, filler_token: '' },
        shingle_only: { type: 'shingle', output_unigrams: false, output_unigrams_if_no_shingles: true },
        ngram: { type: 'ngram', min_gram: 2, max_gram: 3, preserve_original: true },
        edge: { type: 'edge_ngram', min_gram: 1, max_gram: 5 },
        stop: { type: 'stop', stopwords: ['new', 'a'] },
        marker: { type: 'keyword_marker', keywords_pattern: 'run.*' },
        pr: { type: 'pattern_replace', pattern: '(.)\\1', replacement: '$1' },
        elision: { type: 'elision', articles: ['l', 'qu'], articles_case: true },
        wdg: { type: 'word_delimiter_graph', catenate_all: true, catenate_words: true, catenate_numbers: true, preserve_original: true },
      },
      analyzer: {
        html: { tokenizer: 'standard', char_filter: ['html_strip'], filter: ['lowercase'] },
        html_keep: { tokenizer: 'whitespace', char_filter: ['keep_b', 'map', 'pat'] },
        html_keyword: { tokenizer: 'keyword', char_filter: ['html_strip', 'map'] },
        ngram: { tokenizer: 'ngram', char_filter: ['html_strip'] },
        edge: { tokenizer: 'edge' },
        pattern: { tokenizer: 'pattern', char_filter: ['pat'] },
        group: { tokenizer: 'group' },
        chars: { tokenizer: 'chars' },
        path: { tokenizer: 'path' },
        rpath: { tokenizer: 'rpath', char_filter: ['map'] },
        synonyms: { tokenizer: 'standard', char_filter: ['html_strip'], filter: ['lowercase', 'syn', 'stop', 'syn2', 'shingle'] },
        synonyms_stop_first: { tokenizer: 'standard', filter: ['lowercase', 'stop', 'syn2', 'syn', 'shingle_only'] },
        filters: { tokenizer: 'whitespace', filter: ['trim', 'reverse', 'elision', 'marker', 'porter_stem', 'pr', 'ngram', 'edge'] },
        filters2: { tokenizer: 'standard', filter: ['elision', 'edge', 'shingle', 'trim'] },
        word_parts: { tokenizer: 'whitespace', char_filter: ['html_strip'], filter: ['wdg', 'lowercase', 'shingle'] },
      },
    },
  });

  it('every new component, over random text (html, entities, surrogates, synonym phrases)', () => {
    const r = registry();
    const analyzers = r.customNames().map((n) => r.get(n));
    fc.assert(
      fc.property(text, (input) => {
        for (const a of analyzers) {
          const tokens = a.analyze(input);
          let prev = -1;
          for (const t of tokens) {
            expect(typeof t.term).toBe('string');
            expect(t.startOffset).toBeGreaterThanOrEqual(0);
            expect(t.startOffset).toBeLessThanOrEqual(t.endOffset);
            expect(t.endOffset).toBeLessThanOrEqual(input.length);
            expect(t.position).toBeGreaterThanOrEqual(prev);
            expect(t.position).toBeGreaterThanOrEqual(0);
            if (t.positionLength !== undefined) expect(t.positionLength).toBeGreaterThanOrEqual(1);
            prev = t.position;
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('html_strip offsets cover exactly the text a token came from', () => {
    // Without entities a token's text is a slice of the original with the tags taken out.
    const html = fc.array(fc.constantFrom('<p>', '</p>', '<b>', '</b>', '<br>', '<!--x-->', 'alpha', 'beta', ' ', 'gamma', '-', 'δ'), { maxLength: 20 }).map((p) => p.join(''));
    const a = registry().get('html');
    fc.assert(
      fc.property(html, (input) => {
        for (const t of a.analyze(input)) {
          const original = input.slice(t.startOffset, t.endOffset);
          expect(original.replace(/<[^>]*>/g, '').toLowerCase()).toBe(t.term);
          // Markup around a token is not part of it.
          expect(original[0]!.toLowerCase()).toBe(t.term[0]);
          expect(original.at(-1)!.toLowerCase()).toBe(t.term.at(-1));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('end to end: index settings, mappings, search and highlight', () => {
  const engine = () => {
    const e = new ShardEngine({
      settings: {
        analysis: {
          filter: { autocomplete: { type: 'edge_ngram', min_gram: 2, max_gram: 10 } },
          analyzer: {
            html_text: { tokenizer: 'standard', char_filter: ['html_strip'], filter: ['lowercase'] },
            autocomplete: { tokenizer: 'standard', filter: ['lowercase', 'autocomplete'] },
          },
        },
      },
      mappings: {
        properties: {
          body: { type: 'text', analyzer: 'html_text' },
          title: { type: 'text', analyzer: 'autocomplete', search_analyzer: 'standard' },
        },
      },
    });
    e.index('1', { body: '<p>Shoal is a <b>search</b> engine &amp; more</p>', title: 'Quick Brown Fox' });
    e.index('2', { body: '<div class="search">nothing <i>here</i></div>', title: 'Lazy dog' });
    e.refresh();
    return e;
  };

  it('html_strip: the text is searchable, the markup is not; highlights mark the original', () => {
    const e = engine();
    expect(ids(e.search({ query: { match: { body: 'search' } } }))).toEqual(['1']);
    expect(ids(e.search({ query: { match: { body: 'div class b amp' } } }))).toEqual([]);
    expect(ids(e.search({ query: { match_phrase: { body: 'search engine' } } }))).toEqual(['1']);
    const hl = e.search({ query: { match: { body: 'search more' } }, highlight: { fields: { body: {} } } });
    expect(hl.hits.hits[0]!.highlight!.body).toEqual(['<p>Shoal is a <b><em>search</em></b> engine &amp; <em>more</em></p>']);
  });

  it('edge_ngram at index time: a prefix finds the word; phrases still work', () => {
    const e = engine();
    expect(ids(e.search({ query: { match: { title: 'qui' } } }))).toEqual(['1']);
    expect(ids(e.search({ query: { match: { title: 'La' } } }))).toEqual(['2']);
    expect(ids(e.search({ query: { match_phrase: { title: 'quick bro' } } }))).toEqual(['1']);
    expect(ids(e.search({ query: { match: { title: 'q' } } }))).toEqual([]); // shorter than min_gram
    // Highlighting re-analyses with the index analyzer (the grams), not the search analyzer.
    const hl = e.search({ query: { match: { title: 'fo' } }, highlight: { fields: { title: {} } } });
    expect(hl.hits.hits[0]!.highlight!.title).toEqual(['Quick Brown <em>Fox</em>']);
    const two = e.search({ query: { match: { title: 'qu qui' } }, highlight: { fields: { title: {} } } });
    expect(two.hits.hits[0]!.highlight!.title).toEqual(['<em>Quick</em> Brown Fox']);
  });
});

describe('index.max_ngram_diff and index.max_shingle_diff', () => {
  it('are index settings the cluster keeps and hands to the engine', () => {
    const settings = parseIndexSettings({ index: { max_ngram_diff: '2' }, max_shingle_diff: 4 });
    expect([settings.max_ngram_diff, settings.max_shingle_diff]).toEqual([2, 4]);
    expect(parseIndexSettings({}).max_ngram_diff).toBeUndefined();
    expect(() => parseIndexSettings({ max_ngram_diff: -1 })).toThrow(SettingsError);
    const analysis = { filter: { g: { type: 'ngram', min_gram: 1, max_gram: 3 } }, analyzer: { a: { tokenizer: 'standard', filter: ['g'] } } };
    expect(() => new ShardEngine({ settings: analysisSettingsOf({ ...settings, analysis }) })).not.toThrow();
    expectIllegal(() => new ShardEngine({ settings: analysisSettingsOf({ ...parseIndexSettings({}), analysis }) }), /index\.max_ngram_diff/);
  });
});
