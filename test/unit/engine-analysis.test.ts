import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AnalyzerRegistry,
  ENGLISH_STOP_WORDS,
  builtinAnalyzer,
  createAnalyzer,
  createTokenFilter,
  createTokenizer,
  foldToAscii,
  keywordTokenize,
  letterTokenize,
  lowercaseTokenize,
  minimalEnglishStem,
  porterStem,
  standardTokenize,
  whitespaceTokenize,
} from '../../src/engine/analysis/index.ts';
import { EngineError, type Analyzer, type Token } from '../../src/engine/types.ts';

const terms = (tokens: Token[]): string[] => tokens.map((t) => t.term);
const std = (s: string): string[] => terms(standardTokenize(s));
const analyze = (name: string, s: string): string[] => terms(builtinAnalyzer(name)!.analyze(s));
/** [term, position] pairs, to see position gaps. */
const tp = (a: Analyzer, s: string): Array<[string, number]> => a.analyze(s).map((t) => [t.term, t.position]);

function expectIllegal(fn: () => unknown, reason?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EngineError);
  expect((err as EngineError).type).toBe('illegal_argument_exception');
  expect((err as EngineError).status).toBe(400);
  if (reason) expect((err as EngineError).reason).toMatch(reason);
}

describe('standard tokenizer', () => {
  it('gives 0-based positions and UTF-16 offsets', () => {
    expect(standardTokenize('  Hello, world!  Foo')).toEqual([
      { term: 'Hello', position: 0, startOffset: 2, endOffset: 7 },
      { term: 'world', position: 1, startOffset: 9, endOffset: 14 },
      { term: 'Foo', position: 2, startOffset: 17, endOffset: 20 },
    ]);
    expect(standardTokenize('')).toEqual([]);
    expect(standardTokenize(' \t\n.,;!?-')).toEqual([]);
  });

  it('keeps apostrophes inside words, drops them at the edges', () => {
    expect(std("don't can’t rock'n'roll O'Neil's")).toEqual(["don't", 'can’t', "rock'n'roll", "O'Neil's"]);
    expect(std("'quoted' 'tis dogs' ''")).toEqual(['quoted', 'tis', 'dogs']);
  });

  it('splits on hyphens, slashes and symbols; keeps underscores', () => {
    expect(std('e-mail wi-fi state-of-the-art a/b C++ $100 50% #tag @user foo_bar')).toEqual([
      'e', 'mail', 'wi', 'fi', 'state', 'of', 'the', 'art', 'a', 'b', 'C', '100', '50', 'tag', 'user', 'foo_bar',
    ]);
    expect(std('___ _x x_')).toEqual(['_x', 'x_']); // connectors alone are not a token
  });

  it('keeps numbers with decimal points, thousands separators and versions together', () => {
    expect(std('pi is 3.14, 1,000,000.50 and v2.0.1 at 12:30 on 2024-01-15')).toEqual([
      'pi', 'is', '3.14', '1,000,000.50', 'and', 'v2.0.1', 'at', '12', '30', 'on', '2024', '01', '15',
    ]);
    expect(std('ab12cd 3rd 42. .5 1.')).toEqual(['ab12cd', '3rd', '42', '5', '1']);
    expect(std('U.S.A. e.g. a.b')).toEqual(['U.S.A', 'e.g', 'a.b']);
    // ":" joins letters (UAX#29 MidLetter; ES gives one token for "MidasFailInfo:ret"), not digits.
    expect(std('MidasFailInfo:ret a::b 12:30 x:1')).toEqual(['MidasFailInfo:ret', 'a', 'b', '12', '30', 'x', '1']);
  });

  it('splits emails and URLs like Lucene', () => {
    expect(std('Mail john.doe@example.com or visit https://www.example.com/path/to?q=1&lang=en#top')).toEqual([
      'Mail', 'john.doe', 'example.com', 'or', 'visit', 'https', 'www.example.com', 'path', 'to', 'q', '1', 'lang', 'en', 'top',
    ]);
  });

  it('tokenizes German, French, Cyrillic, Greek, Hebrew and Arabic as letter runs', () => {
    expect(std('Die Straße, Größe — Äpfel!')).toEqual(['Die', 'Straße', 'Größe', 'Äpfel']);
    expect(std("L'été où naïveté rime avec l’œuvre")).toEqual(["L'été", 'où', 'naïveté', 'rime', 'avec', 'l’œuvre']);
    expect(std('Привет, мир! Ёлка-палка')).toEqual(['Привет', 'мир', 'Ёлка', 'палка']);
    expect(std('Καλημέρα κόσμε')).toEqual(['Καλημέρα', 'κόσμε']);
    expect(std('שלום עולם')).toEqual(['שלום', 'עולם']);
    expect(std('مرحبا بالعالم')).toEqual(['مرحبا', 'بالعالم']);
    expect(std('Hindi: नमस्ते दुनिया')).toEqual(['Hindi', 'नमस्ते', 'दुनिया']); // virama/vowel signs stay inside
  });

  it('CJK: one token per Han ideograph and per Hiragana; Katakana and Hangul runs stay whole', () => {
    // Like Lucene's StandardTokenizer (no dictionary segmentation; use bigrams/ICU for better CJK).
    expect(std('中文分词')).toEqual(['中', '文', '分', '词']);
    expect(std('日本語のテキスト')).toEqual(['日', '本', '語', 'の', 'テキスト']);
    expect(std('コーヒー と ひらがな')).toEqual(['コーヒー', 'と', 'ひ', 'ら', 'が', 'な']);
    expect(std('한국어 텍스트')).toEqual(['한국어', '텍스트']);
    expect(std('abc中文def')).toEqual(['abc', '中', '文', 'def']);
    // Thai has no spaces between words: whole runs (Lucene needs ICU/Thai tokenizer to do better).
    expect(std('สวัสดีครับ ทุกคน')).toEqual(['สวัสดีครับ', 'ทุกคน']);
  });

  it('keeps combining marks and soft hyphens inside tokens; emits emoji as tokens', () => {
    expect(std('e\u0301te\u0301 co\u00ADoperate')).toEqual(['e\u0301te\u0301', 'co\u00ADoperate']);
    expect(std('I ❤️ 🍕 and 👍🏽 👨‍👩‍👧 🇫🇷!')).toEqual(['I', '❤️', '🍕', 'and', '👍🏽', '👨‍👩‍👧', '🇫🇷']);
    expect(std('© 2024 ™')).toEqual(['2024']); // text-presentation symbols are not tokens
    const t = standardTokenize('a😀b');
    expect(t.map((x) => [x.term, x.startOffset, x.endOffset])).toEqual([
      ['a', 0, 1],
      ['😀', 1, 3],
      ['b', 3, 4],
    ]);
  });

  it('handles astral letters and lone surrogates without splitting pairs', () => {
    expect(std('𝐀𝐁𝐂 𐐀𐐁')).toEqual(['𝐀𝐁𝐂', '𐐀𐐁']);
    expect(std('a\uD800b \uDC00c')).toEqual(['a', 'b', 'c']);
  });

  it('splits tokens longer than max_token_length at that interval', () => {
    const long = 'a'.repeat(600);
    expect(standardTokenize(long).map((t) => [t.startOffset, t.endOffset, t.position])).toEqual([
      [0, 255, 0],
      [255, 510, 1],
      [510, 600, 2],
    ]);
    expect(std('abcdefgh ij')).toEqual(['abcdefgh', 'ij']);
    expect(terms(standardTokenize('abcdefgh ij', 3))).toEqual(['abc', 'def', 'gh', 'ij']);
    expect(terms(standardTokenize('😀😀😀', 3))).toEqual(['😀', '😀', '😀']);
  });
});

describe('other tokenizers', () => {
  it('whitespace splits on Java whitespace only (not NBSP)', () => {
    expect(whitespaceTokenize(' The  quick\tbrown\nfox-jumps!\u00a0x \u3000y')).toEqual([
      { term: 'The', position: 0, startOffset: 1, endOffset: 4 },
      { term: 'quick', position: 1, startOffset: 6, endOffset: 11 },
      { term: 'brown', position: 2, startOffset: 12, endOffset: 17 },
      { term: 'fox-jumps!\u00a0x', position: 3, startOffset: 18, endOffset: 30 },
      { term: 'y', position: 4, startOffset: 32, endOffset: 33 },
    ]);
    expect(terms(whitespaceTokenize('x'.repeat(300))).map((t) => t.length)).toEqual([255, 45]);
  });

  it('letter splits on non-letters; lowercase also lowercases', () => {
    expect(terms(letterTokenize("Don't stop-believing 123abc Größe"))).toEqual(['Don', 't', 'stop', 'believing', 'abc', 'Größe']);
    expect(terms(lowercaseTokenize('Hello WORLD'))).toEqual(['hello', 'world']);
  });

  it('keyword emits the whole input as one token', () => {
    expect(keywordTokenize('Hello, World!')).toEqual([{ term: 'Hello, World!', position: 0, startOffset: 0, endOffset: 13 }]);
    expect(keywordTokenize('')).toEqual([{ term: '', position: 0, startOffset: 0, endOffset: 0 }]);
  });
});

describe('built-in analyzers', () => {
  it('standard lowercases and keeps stop words', () => {
    expect(analyze('standard', 'The QUICK Brown Foxes, Москва!')).toEqual(['the', 'quick', 'brown', 'foxes', 'москва']);
  });

  it('simple, whitespace, keyword, stop', () => {
    expect(analyze('simple', "The dog's 2 BONES")).toEqual(['the', 'dog', 's', 'bones']);
    expect(analyze('whitespace', 'The Dog-Walker')).toEqual(['The', 'Dog-Walker']);
    expect(analyze('keyword', 'New York')).toEqual(['New York']);
    expect(tp(builtinAnalyzer('stop')!, 'The quick and the dead')).toEqual([
      ['quick', 1],
      ['dead', 4],
    ]);
  });

  it('english: possessives, stop words with position gaps, Porter stems', () => {
    const english = builtinAnalyzer('english')!;
    expect(tp(english, "The dogs' owners are running to John's CATS")).toEqual([
      ['dog', 1],
      ['owner', 2],
      ['run', 4],
      ['john', 6],
      ['cat', 7],
    ]);
    const t = english.analyze("John's");
    expect(t).toEqual([{ term: 'john', position: 0, startOffset: 0, endOffset: 6 }]); // offsets unchanged
    expect(analyze('english', 'caresses ponies relational generalization hopefulness')).toEqual([
      'caress', 'poni', 'relat', 'gener', 'hope',
    ]);
  });

  it('built-ins are created once and shared', () => {
    expect(builtinAnalyzer('english')).toBe(builtinAnalyzer('english'));
    const r1 = new AnalyzerRegistry();
    const r2 = new AnalyzerRegistry({});
    expect(r1.get('standard')).toBe(r2.get('standard'));
    expect(r1.get('standard').name).toBe('standard');
    expect(builtinAnalyzer('nope')).toBeUndefined();
  });

  it('analyzers are re-entrant: analyzing twice gives equal, independent tokens', () => {
    const a = builtinAnalyzer('english')!;
    const x = a.analyze('Running dogs');
    const y = a.analyze('Running dogs');
    expect(x).toEqual(y);
    expect(x[0]).not.toBe(y[0]);
  });
});

describe('token filters', () => {
  it('stop leaves position gaps; custom lists; ignore_case; _none_', () => {
    const a = createAnalyzer({ type: 'custom', tokenizer: 'whitespace', filter: [{ type: 'stop', stopwords: ['a', 'the'] }] });
    expect(tp(a, 'the cat a hat The end')).toEqual([
      ['cat', 1],
      ['hat', 3],
      ['The', 4],
      ['end', 5],
    ]);
    const ic = createTokenFilter({ type: 'stop', stopwords: 'a, the', ignore_case: true });
    expect(terms(ic(whitespaceTokenize('The A cat')))).toEqual(['cat']);
    const none = createTokenFilter({ type: 'stop', stopwords: '_none_' });
    expect(terms(none(whitespaceTokenize('the a')))).toEqual(['the', 'a']);
    const mixed = createTokenFilter({ type: 'stop', stopwords: ['_english_', 'foo'] });
    expect(terms(mixed(whitespaceTokenize('the foo bar')))).toEqual(['bar']);
    expect(ENGLISH_STOP_WORDS).toHaveLength(33);
    expect(ENGLISH_STOP_WORDS).toContain('the');
  });

  it('asciifolding folds accents and non-decomposable letters, keeps other scripts', () => {
    expect(foldToAscii('café naïve Ångström Øresund')).toBe('cafe naive Angstrom Oresund');
    expect(foldToAscii('Straße Æsir œuvre Łódź þorn ðe ı')).toBe('Strasse AEsir oeuvre Lodz thorn de i');
    expect(foldToAscii('ﬁnance ２０２４ Ａ ½ “quoted” don’t – …')).toBe('finance 2024 A 1/2 "quoted" don\'t - ...');
    expect(foldToAscii('e\u0301te\u0301')).toBe('ete'); // NFD input folds like NFC input
    expect(foldToAscii('Москва й и\u0306 中文 😀')).toBe('Москва й и\u0306 中文 😀');
    expect(foldToAscii('plain ascii')).toBe('plain ascii');
    const a = createAnalyzer({ tokenizer: 'standard', filter: ['lowercase', 'asciifolding'] });
    expect(terms(a.analyze('Crème Brûlée à la Straße'))).toEqual(['creme', 'brulee', 'a', 'la', 'strasse']);
    const keep = createAnalyzer({
      tokenizer: 'standard',
      filter: [{ type: 'asciifolding', preserve_original: true }],
    });
    expect(tp(keep, 'déjà vu')).toEqual([
      ['déjà', 0],
      ['deja', 0],
      ['vu', 1],
    ]);
  });

  it('porter stemming (porter_stem / stemmer english)', () => {
    for (const [w, s] of [
      ['running', 'run'],
      ['cats', 'cat'],
      ['caresses', 'caress'],
      ['ponies', 'poni'],
      ['happiness', 'happi'],
      ['connected', 'connect'],
      ['connection', 'connect'],
      ['is', 'is'],
    ]) {
      expect(porterStem(w!)).toBe(s);
    }
    expect(porterStem('Running')).toBe('Run'); // case of the kept prefix is preserved, like Lucene
    const f = createTokenFilter({ type: 'stemmer', language: 'english' });
    expect(terms(f(whitespaceTokenize('jumping foxes')))).toEqual(['jump', 'fox']);
    expect(terms(createTokenFilter('porter_stem')(whitespaceTokenize('flies')))).toEqual(['fli']);
  });

  it('minimal_english and possessive_english stemmers', () => {
    // Lucene's EnglishMinimalStemmer, quirks included ("dresses" → "dresse", "shoes" kept).
    expect(['queries', 'cats', 'dresses', 'bus', 'shoes', 'cookies', 'is', 'glass'].map(minimalEnglishStem)).toEqual([
      'query', 'cat', 'dresse', 'bus', 'shoes', 'cooky', 'is', 'glass',
    ]);
    const p = createTokenFilter({ type: 'stemmer', name: 'possessive_english' });
    expect(terms(p(standardTokenize("John's Mary’s James'")))).toEqual(['John', 'Mary', 'James']);
  });

  it('length, unique, truncate, uppercase', () => {
    const len = createTokenFilter({ type: 'length', min: 2, max: 4 });
    expect(len(whitespaceTokenize('a bb ccc dddd eeeee ff')).map((t) => [t.term, t.position])).toEqual([
      ['bb', 1],
      ['ccc', 2],
      ['dddd', 3],
      ['ff', 5],
    ]);
    const uniq = createTokenFilter('unique');
    expect(uniq(whitespaceTokenize('a b a c b d')).map((t) => [t.term, t.position])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]);
    const trunc = createTokenFilter({ type: 'truncate', length: 3 });
    expect(terms(trunc(whitespaceTokenize('abcdef ab 😀😀')))).toEqual(['abc', 'ab', '😀']);
    expect(terms(createTokenFilter('uppercase')(whitespaceTokenize('abc')))).toEqual(['ABC']);
  });
});

describe('custom analyzers and the registry', () => {
  const settings = {
    analysis: {
      analyzer: {
        my_text: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding', 'my_stop'] },
        my_stem: { tokenizer: 'standard', filter: ['lowercase', 'my_len', 'my_stemmer'] },
        short_tokens: { type: 'custom', tokenizer: 'my_tok', filter: 'lowercase' },
        std_stop: { type: 'standard', stopwords: '_english_', max_token_length: 4 },
        eng: { type: 'english', stem_exclusion: ['running'] },
        default: { type: 'simple' },
      },
      filter: {
        my_stop: { type: 'stop', stopwords: ['a', 'the'] },
        my_len: { type: 'length', min: 3, max: 20 },
        my_stemmer: { type: 'stemmer', language: 'english' },
        unused: { type: 'unique' },
      },
      tokenizer: {
        my_tok: { type: 'standard', max_token_length: 2 },
      },
    },
  };

  it('builds custom analyzers with named filters and tokenizers', () => {
    const r = new AnalyzerRegistry(settings);
    const a = r.get('my_text');
    expect(a.name).toBe('my_text');
    expect(tp(a, 'The Café at a Hôtel')).toEqual([
      ['cafe', 1],
      ['at', 2],
      ['hotel', 4],
    ]);
    expect(tp(r.get('my_stem'), 'We are running to the cats')).toEqual([
      ['ar', 1],
      ['run', 2],
      ['the', 4],
      ['cat', 5],
    ]);
    expect(terms(r.get('short_tokens').analyze('Hello'))).toEqual(['he', 'll', 'o']);
    expect(terms(r.get('std_stop').analyze('The quickest fox'))).toEqual(['quic', 'kest', 'fox']);
    expect(terms(r.get('eng').analyze('running jumping'))).toEqual(['running', 'jump']);
    expect(r.get('default').name).toBe('default');
    expect(r.defaultAnalyzer).toBe(r.get('default'));
    expect(r.defaultSearchAnalyzer).toBe(r.get('default'));
    expect(terms(r.defaultAnalyzer.analyze("Don't"))).toEqual(['don', 't']);
    expect(r.customNames().sort()).toEqual(['default', 'eng', 'my_stem', 'my_text', 'short_tokens', 'std_stop']);
    expect(r.has('my_text') && r.has('english') && !r.has('nope')).toBe(true);
  });

  it('caches analyzers: the same instance every time', () => {
    const r = new AnalyzerRegistry(settings);
    expect(r.get('my_text')).toBe(r.get('my_text'));
    expect(r.get('english')).toBe(r.get('english'));
    expect(new AnalyzerRegistry().get('default')).toBe(builtinAnalyzer('standard'));
  });

  it('accepts settings nested under index, and custom analyzers that shadow built-ins', () => {
    const r = new AnalyzerRegistry({
      index: { analysis: { analyzer: { standard: { type: 'custom', tokenizer: 'whitespace' } } } },
    });
    expect(terms(r.get('standard').analyze('Hello World'))).toEqual(['Hello', 'World']);
  });

  it('createAnalyzer works standalone with a context of named definitions', () => {
    const a = createAnalyzer(
      { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'my_stop'] },
      { name: 'x', filter: { my_stop: { type: 'stop', stopwords: ['a', 'the'] } } },
    );
    expect(a.name).toBe('x');
    expect(terms(a.analyze('The A Z'))).toEqual(['z']);
    expect(terms(createAnalyzer({ type: 'stop', stopwords: ['foo'] }).analyze('Foo the bar'))).toEqual(['the', 'bar']);
  });

  it('throws illegal_argument_exception for unknown names and bad definitions', () => {
    expectIllegal(() => new AnalyzerRegistry().get('nope'), /failed to find analyzer \[nope\]/);
    const bad = (analysis: Record<string, unknown>) => () => new AnalyzerRegistry({ analysis });
    expectIllegal(bad({ analyzer: { a: { tokenizer: 'standard', filter: ['nope'] } } }), /failed to find filter under name \[nope\]/);
    expectIllegal(bad({ analyzer: { a: { tokenizer: 'nope' } } }), /failed to find tokenizer under name \[nope\]/);
    expectIllegal(bad({ analyzer: { a: { type: 'nope' } } }), /Unknown analyzer type \[nope\]/);
    expectIllegal(bad({ analyzer: { a: { type: 'custom' } } }), /must be configured with a tokenizer/);
    expectIllegal(bad({ analyzer: { a: {} } }), /must specify either an analyzer type, or a tokenizer/);
    expectIllegal(bad({ analyzer: { a: 'standard' } }), /must be an object/);
    expectIllegal(bad({ analyzer: { a: { tokenizer: 'standard', char_filter: ['nope'] } } }), /failed to find char_filter under name \[nope\]/);
    expectIllegal(bad({ filter: { f: { type: 'nope' } } }), /Unknown filter type \[nope\] for \[f\]/);
    expectIllegal(bad({ filter: { f: { stopwords: ['x'] } } }), /must specify \[type\]/);
    expectIllegal(bad({ filter: { f: { type: 'length', min: 5, max: 2 } } }), /maximum length/);
    expectIllegal(bad({ filter: { f: { type: 'length', min: 'x' } } }), /must be an integer/);
    expectIllegal(bad({ filter: { f: { type: 'stemmer', language: 'klingon' } } }), /unsupported stemmer language/);
    expectIllegal(bad({ filter: { f: { type: 'stop', stopwords: '_klingon_' } } }), /unsupported stop word list/);
    expectIllegal(bad({ filter: { f: { type: 'stop', stopwords: [1] } } }), /stopwords/);
    expectIllegal(bad({ filter: { f: { type: 'asciifolding', preserve_original: 'maybe' } } }), /boolean/);
    expectIllegal(bad({ tokenizer: { t: { type: 'classic' } } }), /Unknown tokenizer type \[classic\]/);
    expectIllegal(bad({ tokenizer: { t: { type: 'standard', max_token_length: 0 } } }), /max_token_length/);
    expectIllegal(bad({ analyzer: { a: { type: 'standard', max_token_length: -1 } } }), /max_token_length/);
    expectIllegal(bad({ analyzer: [] }), /analysis\.analyzer/);
    expectIllegal(() => createTokenizer('nope'), /nope/);
    expectIllegal(() => createTokenFilter('nope'), /nope/);
    expectIllegal(() => createTokenFilter({ type: 'lowercase', language: 'greek' }), /language/);
  });

  it('rejects settings a definition does not have instead of ignoring them (a typo must not change the analysis)', () => {
    const bad = (analysis: Record<string, unknown>) => () => new AnalyzerRegistry({ analysis });
    expectIllegal(bad({ analyzer: { a: { type: 'custom', tokenizer: 'standard', filtr: ['lowercase'] } } }), /unknown setting \[index\.analysis\.analyzer\.a\.filtr\]/);
    expectIllegal(bad({ analyzer: { a: { type: 'standard', stopword: '_english_' } } }), /\[index\.analysis\.analyzer\.a\.stopword\]/);
    expectIllegal(bad({ analyzer: { a: { type: 'custom', tokenizer: 'standard', position_increment_gap: 10 } } }), /position_increment_gap/);
    expectIllegal(bad({ analyser: {} }), /unknown setting \[index\.analysis\.analyser\]/);
    expectIllegal(bad({ filter: { f: { type: 'stop', stopwrds: ['x'] } } }), /unknown setting \[stopwrds\] of filter \[f\]/);
    expectIllegal(bad({ filter: { f: { type: 'porter_stem', language: 'english' } } }), /unknown setting \[language\]/);
    expectIllegal(bad({ tokenizer: { t: { type: 'standard', max_token_len: 5 } } }), /unknown setting \[max_token_len\] of tokenizer \[t\]/);
    // What each type does take still works.
    expect(() => new AnalyzerRegistry({ analysis: { analyzer: { a: { type: 'english', stopwords: ['x'], stem_exclusion: ['y'] } }, filter: { f: { type: 'stop', stopwords: ['x'], ignore_case: true } }, tokenizer: { t: { type: 'whitespace', max_token_length: 9 } } } })).not.toThrow();
  });
});

describe('properties', () => {
  // Strings mixing tricky pieces with arbitrary code points (including lone surrogates).
  const piece = fc.oneof(
    fc.constantFrom(
      'don\'t', "'", '’', '.', ',', ':', '3.14', '1,000', 'U.S.A.', '-', '_', ' ', '\n', 'Σ', 'ΟΔΟΣ', 'İ', 'ß',
      'e\u0301', '\u0301', '\u00ad', '\u200d', '中文', 'テキスト', 'ひら', '한국', 'สวัสดี', 'שלום', '"', '😀', '👍🏽',
      '❤️', '🇫🇷', '\uD800', '\uDC00', 'a'.repeat(300), 'Hello', 'WORLD', 'x@y.com', 'http://a.b/c',
    ),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
  );
  const text = fc.array(piece, { maxLength: 20 }).map((parts) => parts.join(''));

  function checkTokens(input: string, tokens: Token[], maxLen = 255): void {
    let prevEnd = 0;
    tokens.forEach((t, i) => {
      expect(t.position).toBe(i);
      expect(t.startOffset).toBeGreaterThanOrEqual(prevEnd);
      expect(t.endOffset).toBeGreaterThan(t.startOffset);
      expect(t.endOffset).toBeLessThanOrEqual(input.length);
      expect(t.endOffset - t.startOffset).toBeLessThanOrEqual(Math.max(maxLen, 2));
      prevEnd = t.endOffset;
    });
  }

  it('standard analyzer: offsets within the input, increasing; slice lowercased is the term', () => {
    const standard = builtinAnalyzer('standard')!;
    fc.assert(
      fc.property(text, (input) => {
        const tokens = standard.analyze(input);
        checkTokens(input, tokens);
        for (const t of tokens) expect(input.slice(t.startOffset, t.endOffset).toLowerCase()).toBe(t.term);
      }),
      { numRuns: 500 },
    );
  });

  it('tokenizers: slice is the term; tokens never contain whitespace or split surrogate pairs', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 10 }), (input, max) => {
        for (const [tokens, m] of [
          [standardTokenize(input, max), max],
          [whitespaceTokenize(input, max), max],
          [letterTokenize(input, max), max],
        ] as const) {
          checkTokens(input, tokens, m);
          for (const t of tokens) {
            expect(input.slice(t.startOffset, t.endOffset)).toBe(t.term);
            expect(/[\t\n\r ]/.test(t.term)).toBe(false);
            const first = t.term.charCodeAt(0);
            const prev = input.charCodeAt(t.startOffset - 1);
            expect((first & 0xfc00) === 0xdc00 && (prev & 0xfc00) === 0xd800).toBe(false);
            const last = t.term.charCodeAt(t.term.length - 1);
            const next = input.charCodeAt(t.endOffset);
            expect((last & 0xfc00) === 0xd800 && (next & 0xfc00) === 0xdc00).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('english analyzer: positions strictly increase (with gaps), offsets are valid', () => {
    const english = builtinAnalyzer('english')!;
    fc.assert(
      fc.property(text, (input) => {
        const tokens = english.analyze(input);
        let prevPos = -1;
        let prevEnd = 0;
        for (const t of tokens) {
          expect(t.position).toBeGreaterThan(prevPos);
          expect(t.startOffset).toBeGreaterThanOrEqual(prevEnd);
          expect(t.endOffset).toBeLessThanOrEqual(input.length);
          prevPos = t.position;
          prevEnd = t.endOffset;
        }
        // Exactly the standard tokens minus stop words, at the same positions.
        const kept = builtinAnalyzer('standard')!
          .analyze(input)
          .filter((t) => !ENGLISH_STOP_WORDS.includes(t.term.replace(/['’＇][sS]$/, '')));
        expect(tokens.map((t) => t.position)).toEqual(kept.map((t) => t.position));
      }),
      { numRuns: 300 },
    );
  });

  it('ASCII words separated by spaces tokenize like split(" ")', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), { maxLength: 30 }), (words) => {
        expect(std(words.join(' '))).toEqual(words);
      }),
    );
  });
});
