/**
 * The phrase suggester (phrase-suggest.ts): Elasticsearch's documented examples, each smoothing
 * model's score computed by hand, max_errors, confidence, highlight, refusals; and a property
 * test against a naive reference that enumerates every candidate phrase.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { osa } from '../support/osa.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { mergePhraseSuggestions, type PhraseEntry } from '../../src/engine/phrase-suggest.ts';

/** An index with ES's phrase-suggester mapping: `title`, its shingle sub-field `title.trigram` (2–3 word shingles and the words) and `title.reverse`. */
function engine(titles: string[], refreshEach = false): ShardEngine {
  const e = new ShardEngine({
    maxSegments: 100,
    settings: {
      analysis: {
        analyzer: {
          trigram: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'shingle'] },
          bigram: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'shingle2'] },
          reverse: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'reverse'] },
        },
        filter: { shingle: { type: 'shingle', min_shingle_size: 2, max_shingle_size: 3 }, shingle2: { type: 'shingle', min_shingle_size: 2, max_shingle_size: 2 } },
      },
    },
    mappings: { properties: { title: { type: 'text', fields: { trigram: { type: 'text', analyzer: 'trigram' }, bigram: { type: 'text', analyzer: 'bigram' }, reverse: { type: 'text', analyzer: 'reverse' } } } } },
  });
  titles.forEach((title, i) => {
    e.index(String(i), { title });
    if (refreshEach) e.refresh();
  });
  e.refresh();
  return e;
}

function phrase(e: ShardEngine, text: string, params: Record<string, unknown>): PhraseEntry {
  const res = e.search({ size: 0, suggest: { s: { text, phrase: params } } });
  return (res.suggest!.s as PhraseEntry[])[0]!;
}

/** Elasticsearch's score: exp of the summed log10 of each word's channel × probability. */
const esScore = (...factors: number[]) => Math.exp(factors.reduce((sum, f) => sum + Math.log10(f), 0));

describe('phrase suggester', () => {
  it('"noble prize" → "nobel prize" (the ES docs example), the score by hand', () => {
    const e = engine(['noble warriors', 'nobel prize']);
    const got = phrase(e, 'noble prize', { field: 'title.trigram', highlight: { pre_tag: '<em>', post_tag: '</em>' } });
    // title.trigram: noble, noble warriors, warriors, nobel, nobel prize, prize: 6 tokens, 6 terms.
    // "nobel": channel 1 − 1/5 (one transposition), P = (1 + 1) / (6 + 6); "prize" after "nobel": kept (0.95), P = 1/1.
    expect(got).toMatchObject({ text: 'noble prize', offset: 0, length: 11 });
    expect(got.options).toHaveLength(1);
    expect(got.options[0]).toMatchObject({ text: 'nobel prize', highlighted: '<em>nobel</em> prize' });
    expect(got.options[0]!.score).toBeCloseTo(esScore(0.8 * (2 / 12), 0.95 * 1), 12);
  });

  it('reverse generators with pre and post filters find a correction of the first letter (ES docs: "obel prize")', () => {
    const e = engine(['noble warriors', 'nobel prize']);
    const generators = [
      { field: 'title.trigram', suggest_mode: 'always' },
      { field: 'title.reverse', suggest_mode: 'always', pre_filter: 'reverse', post_filter: 'reverse' },
    ];
    expect(phrase(e, 'obel prize', { field: 'title.trigram', size: 1, direct_generator: generators.slice(0, 1) }).options).toEqual([]);
    const got = phrase(e, 'obel prize', { field: 'title.trigram', size: 1, direct_generator: generators });
    expect(got.options.map((o) => o.text)).toEqual(['nobel prize']);
    // "nobel" for "obel": one insertion, 1 − 1/4; then "prize" after "nobel".
    expect(got.options[0]!.score).toBeCloseTo(esScore(0.75 * (2 / 12), 0.95), 12);
  });

  it('"Xor the Got-Jewel" → "xorr the god jewel" (the ES docs example: max_errors 0.5, gram_size 2, highlight)', () => {
    const e = engine(['Xorr the God-Jewel', 'The god jewel of Xorr', 'Xorr and the jewel']);
    const got = phrase(e, 'Xor the Got-Jewel', {
      analyzer: 'standard',
      field: 'title.bigram',
      size: 2,
      shard_size: 2,
      real_word_error_likelihood: 0.95,
      max_errors: 0.5,
      gram_size: 2,
      direct_generator: [{ field: 'title', suggest_mode: 'always', min_word_length: 1 }],
      highlight: { pre_tag: '<em>', post_tag: '</em>' },
    });
    expect(got).toMatchObject({ text: 'Xor the Got-Jewel', offset: 0, length: 17 });
    expect(got.options.map(({ text, highlighted }) => ({ text, highlighted }))).toEqual([
      { text: 'xorr the god jewel', highlighted: '<em>xorr</em> the <em>god</em> jewel' },
      { text: 'xor the god jewel', highlighted: 'xor the <em>god</em> jewel' },
    ]);
    expect(got.options[0]!.score).toBeGreaterThan(got.options[1]!.score);
  });

  describe('each smoothing model, by hand', () => {
    // title.trigram of "red fox jumps", "red fox sleeps", "blue fox jumps": words red 2, fox 3,
    // jumps 2, sleeps 1, blue 1; bigrams "red fox" 2, "fox jumps" 2, "fox sleeps" 1, "blue fox" 1;
    // three trigrams once each. 18 tokens, 12 distinct terms. "blue fox sleeps" is the typed
    // phrase, every word real (channel 0.95); with confidence 0 it is its own option.
    const e = engine(['red fox jumps', 'red fox sleeps', 'blue fox jumps'], true);
    const score = (params: Record<string, unknown>) => {
      const got = phrase(e, 'blue fox sleeps', { field: 'title.trigram', confidence: 0, direct_generator: [{ field: 'title', min_word_length: 100 }], ...params });
      expect(got.options.map((o) => o.text)).toEqual(['blue fox sleeps']);
      return got.options[0]!.score;
    };
    const uni = (f: number) => (1 + f) / (18 + 12);

    it('stupid_backoff (the default): a trigram missed backs off to discount × the bigram', () => {
      const want = esScore(0.95 * uni(1), 0.95 * (1 / 1), 0.95 * 0.4 * (1 / 3));
      expect(score({})).toBeCloseTo(want, 12);
      expect(score({ smoothing: { stupid_backoff: { discount: 0.4 } } })).toBeCloseTo(want, 12);
      expect(score({ smoothing: { stupid_backoff: { discount: 0.1 } } })).toBeCloseTo(esScore(0.95 * uni(1), 0.95, 0.95 * 0.1 * (1 / 3)), 12);
      // gram_size 2: "sleeps" after "fox" only.
      expect(score({ gram_size: 2 })).toBeCloseTo(esScore(0.95 * uni(1), 0.95, 0.95 * (1 / 3)), 12);
      // gram_size 1: words alone.
      expect(score({ gram_size: 1 })).toBeCloseTo(esScore(0.95 * uni(1), 0.95 * uni(3), 0.95 * uni(1)), 12);
    });

    it('laplace: alpha added to every count', () => {
      // (α + c(w)) / (V + α·terms); (α + c(w1 w)) / (c(w1) + α·terms); (α + c(w2 w1 w)) / (c(w2 w1) + α·terms).
      expect(score({ smoothing: { laplace: { alpha: 0.5 } } })).toBeCloseTo(esScore(0.95 * (1.5 / 24), 0.95 * (1.5 / 7), 0.95 * (0.5 / 7)), 12);
      expect(score({ smoothing: { laplace: {} } })).toBeCloseTo(esScore(0.95 * (1.5 / 24), 0.95 * (1.5 / 7), 0.95 * (0.5 / 7)), 12);
    });

    it('linear_interpolation: the lambdas weigh trigram, bigram and unigram estimates', () => {
      const s = score({ smoothing: { linear_interpolation: { trigram_lambda: 0.5, bigram_lambda: 0.3, unigram_lambda: 0.2 } } });
      expect(s).toBeCloseTo(esScore(0.95 * uni(1), 0.95 * (0.3 * 1 + 0.2 * uni(3)), 0.95 * (0.5 * 0 + 0.3 * (1 / 3) + 0.2 * uni(1))), 12);
    });

    it('the gram size is read from the shingle field; a plain field is unigrams only', () => {
      const plain = phrase(e, 'blue fox sleeps', { field: 'title', confidence: 0, direct_generator: [{ field: 'title', min_word_length: 100 }] });
      // title: 9 tokens, 5 terms.
      const u = (f: number) => (1 + f) / (9 + 5);
      expect(plain.options[0]!.score).toBeCloseTo(esScore(0.95 * u(1), 0.95 * u(3), 0.95 * u(1)), 12);
    });
  });

  it('the vocabulary follows the shard as segments come (distinct terms over every segment)', () => {
    const e = engine(['red fox'], true);
    const score = () => phrase(e, 'red', { field: 'title', confidence: 0, direct_generator: [{ field: 'title', min_word_length: 100 }] }).options[0]!.score;
    expect(score()).toBeCloseTo(esScore(0.95 * (2 / (2 + 2))), 12);
    e.index('b', { title: 'blue whale' });
    e.refresh();
    expect(score()).toBeCloseTo(esScore(0.95 * (2 / (4 + 4))), 12);
    e.index('c', { title: 'red whale shark' });
    e.refresh();
    // 7 tokens, 5 distinct terms; "red" twice.
    expect(score()).toBeCloseTo(esScore(0.95 * (3 / (7 + 5))), 12);
  });

  it('max_errors: how many words may change (a count, or below 1 a fraction of the words, rounded)', () => {
    const e = engine(['the nobel prize winners', 'nobel prize', 'a prize']);
    const texts = (max_errors: number) => phrase(e, 'nobl prise', { field: 'title.trigram', max_errors, confidence: 0, size: 10 }).options.map((o) => o.text);
    const changes = (t: string) => t.split(' ').filter((w, i) => w !== ['nobl', 'prise'][i]).length;
    expect(Math.max(...texts(1).map(changes))).toBe(1);
    expect(texts(1)).not.toContain('nobel prize');
    expect(texts(2)).toContain('nobel prize');
    expect(texts(2)[0]).toBe('nobel prize');
    expect(texts(0.5)).toEqual(texts(1)); // round(0.5 × 2) = 1
    expect(texts(0.75)).toEqual(texts(2)); // round(1.5) = 2
    expect(texts(0.1)).toEqual(texts(1)); // at least one
    // Neighbouring changes share one pair of tags.
    const both = phrase(e, 'nobl prise', { field: 'title.trigram', max_errors: 2, highlight: { pre_tag: '[', post_tag: ']' } }).options[0]!;
    expect(both).toMatchObject({ text: 'nobel prize', highlighted: '[nobel prize]' });
  });

  it('confidence: only phrases scoring above confidence × the typed phrase; 0 keeps all, the typed one too', () => {
    const e = engine(['noble warriors', 'nobel prize', 'nobel prize winners']);
    const all = phrase(e, 'noble prize', { field: 'title.trigram', confidence: 0, size: 10 }).options;
    const typed = all.find((o) => o.text === 'noble prize')!;
    expect(typed).toBeDefined();
    expect(phrase(e, 'noble prize', { field: 'title.trigram', size: 10 }).options).toEqual(all.filter((o) => o.score > typed.score));
    const ratio = all[0]!.score / typed.score;
    expect(phrase(e, 'noble prize', { field: 'title.trigram', size: 10, confidence: ratio * 0.999 }).options).toEqual([all[0]]);
    expect(phrase(e, 'noble prize', { field: 'title.trigram', size: 10, confidence: ratio }).options).toEqual([]);
    // Sorted, unique, at most size.
    expect(all.map((o) => o.score)).toEqual([...all.map((o) => o.score)].sort((a, b) => b - a));
    expect(phrase(e, 'noble prize', { field: 'title.trigram', confidence: 0, size: 1, shard_size: 1 }).options).toEqual([all[0]]);
  });

  it('options are unique even when shingle candidates join into the same text', () => {
    // Candidates from the shingle field: "abcdefg" → "abcdef g" (1 edit) or "abcdef", and
    // "hijklm" → "g hijklm" (2 edits): two ways to "abcdef g hijklm".
    const e = engine(['abcdef g hijklm']);
    const got = phrase(e, 'abcdefg hijklm', { field: 'title.trigram', max_errors: 2, confidence: 0, size: 50, shard_size: 50, direct_generator: [{ field: 'title.trigram', suggest_mode: 'always', prefix_length: 0 }] });
    const texts = got.options.map((o) => o.text);
    expect(texts).toContain('abcdef g hijklm');
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('token_limit, empty text and a field with no terms give an entry without options', () => {
    const e = engine(['noble warriors', 'nobel prize']);
    expect(phrase(e, 'noble prize', { field: 'title.trigram', token_limit: 1 }).options).toEqual([]);
    expect(phrase(e, 'noble prize', { field: 'title.trigram', token_limit: 2 }).options).toHaveLength(1);
    expect(phrase(e, '  ', { field: 'title.trigram' })).toMatchObject({ text: '  ', offset: 0, length: 2, options: [] });
    expect(phrase(e, 'noble prize', { field: 'nothing' }).options).toEqual([]);
  });

  it('the coordinating node merges by text (the best score), drops what the highest cutoff does not beat, keeps size', () => {
    const shard = (cutoffScore: number, options: [string, number][]): PhraseEntry[] => [{ text: 'x y', offset: 0, length: 3, cutoffScore, options: options.map(([text, score]) => ({ text, score })) }];
    expect(mergePhraseSuggestions([shard(0.1, [['a b', 0.5], ['c d', 0.3]]), [], shard(0.2, [['c d', 0.4], ['e f', 0.2], ['g h', 0.25]])], { size: 2 })).toEqual([
      { text: 'x y', offset: 0, length: 3, options: [{ text: 'a b', score: 0.5 }, { text: 'c d', score: 0.4 }] },
    ]);
    expect(mergePhraseSuggestions([shard(0.1, [['a b', 0.5]]), shard(0.2, [['e f', 0.2], ['g h', 0.25]])], { size: 5 })[0]!.options.map((o) => o.text)).toEqual(['a b', 'g h']);
    expect(mergePhraseSuggestions([[], []], { size: 5 })).toEqual([]);
  });

  it('collate: an option stays only if its query (the template with {{suggestion}}) matches a doc; prune keeps it, marked', () => {
    // "nobel prize" and "noble prize" are both offered for "nobl prize"; only "nobel prize" is a title.
    const e = engine(['noble warriors', 'nobel prize', 'noble prize winners', 'a prize']);
    const params = { field: 'title.trigram', confidence: 0, max_errors: 2, size: 10 };
    const all = phrase(e, 'nobl prise', params).options.map((o) => o.text);
    expect(all).toEqual(expect.arrayContaining(['nobel prize', 'noble prize']));
    const collate = { query: { source: { match_phrase: { '{{field_name}}': '{{suggestion}}' } } }, params: { field_name: 'title' } };
    const kept = phrase(e, 'nobl prise', { ...params, collate }).options;
    expect(kept.map((o) => o.text).sort()).toEqual(['nobel prize', 'noble prize']);
    // Only a phrase some title has: "noble prize winners" has "noble prize", "a prize" no "nobel".
    const exact = { query: { source: { bool: { filter: { match_phrase: { title: '{{suggestion}}' } }, must_not: { match: { title: 'winners' } } } } } };
    expect(phrase(e, 'nobl prise', { ...params, collate: exact }).options.map((o) => o.text)).toEqual(['nobel prize']);
    const pruned = phrase(e, 'nobl prise', { ...params, collate: { ...exact, prune: true } }).options;
    expect(pruned.map((o) => o.text)).toEqual(all);
    for (const o of pruned) expect(o.collate_match).toBe(o.text === 'nobel prize');
    // Across shards an option matches if it matched on any shard (each collates against its own docs).
    const shard = (collate_match: boolean, score: number): PhraseEntry[] => [{ text: 'x', offset: 0, length: 1, cutoffScore: 0, options: [{ text: 'a b', score, collate_match }] }];
    expect(mergePhraseSuggestions([shard(false, 0.9), shard(true, 0.5)], { size: 5 })[0]!.options).toEqual([{ text: 'a b', score: 0.9, collate_match: true }]);
    expect(mergePhraseSuggestions([shard(true, 0.9), shard(false, 0.5)], { size: 5 })[0]!.options).toEqual([{ text: 'a b', score: 0.9, collate_match: true }]);
  });

  it('refuses malformed phrase suggesters with a parsing_exception, and changes nothing', () => {
    const e = engine(['nobel prize']);
    for (const p of [
      { field: 'title', bogus: 1 },
      { field: 'title', collate: { query: { id: 'stored' } } },
      { field: 'title', collate: { query: { source: '{{#open}}' } } },
      { field: 'title', collate: { query: { source: {} }, prune: 'yes' } },
      { field: 'title', collate: { query: { source: {} }, bogus: 1 } },
      {},
      { field: 'title', max_errors: 0 },
      { field: 'title', confidence: -1 },
      { field: 'title', real_word_error_likelihood: 0 },
      { field: 'title', size: 0 },
      { field: 'title', gram_size: 0 },
      { field: 'title', token_limit: 0 },
      { field: 'title', separator: 1 },
      { field: 'title', force_unigrams: false },
      { field: 'title', highlight: { pre_tag: '<em>' } },
      { field: 'title', highlight: { pre_tag: '<em>', post_tag: '</em>', bogus: 1 } },
      { field: 'title', smoothing: { good_turing: {} } },
      { field: 'title', smoothing: { laplace: { alpha: 0 } } },
      { field: 'title', smoothing: { laplace: {}, stupid_backoff: {} } },
      { field: 'title', smoothing: { stupid_backoff: { discount: 'x' } } },
      { field: 'title', smoothing: { linear_interpolation: { trigram_lambda: 0.5, bigram_lambda: 0.3, unigram_lambda: 0.3 } } },
      { field: 'title', direct_generator: [{ suggest_mode: 'always' }] },
      { field: 'title', direct_generator: [{ field: 'title', accuracy: 1.5 }] },
      { field: 'title', direct_generator: [{ field: 'title', sort: 'score' }] },
      { field: 'title', direct_generator: [{ field: 'title', max_edits: 3 }] },
      { field: 'title', direct_generator: [{ field: 'title', suggest_mode: 'sometimes' }] },
      { field: 'title', direct_generator: [{ field: 'title', max_inspections: 0 }] },
      { field: 'title', direct_generator: ['title'] },
    ]) {
      expect(() => e.search({ suggest: { s: { text: 'nobel', phrase: p } } }), JSON.stringify(p)).toThrow(expect.objectContaining({ type: 'parsing_exception' }));
    }
    expect(() => e.search({ suggest: { s: { phrase: { field: 'title' } } } })).toThrow(expect.objectContaining({ type: 'parsing_exception' }));
    expect(() => e.search({ suggest: { s: { text: 'x', phrase: { field: 'title' }, term: { field: 'title' } } } })).toThrow(expect.objectContaining({ type: 'parsing_exception' }));
    expect(phrase(e, 'nobel prise', { field: 'title.trigram' }).options.map((o) => o.text)).toEqual(['nobel prize']);
  });
});

describe('phrase suggester: property', () => {
  const W = ['abcd', 'abdc', 'abce', 'abcde', 'bacd', 'abc', 'xbcd', 'acbd', 'bbcd', 'bcd'];

  it('offers exactly what enumerating every candidate phrase offers: at most max_errors changes, each a dictionary term within max_edits, sorted and unique', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...W), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.constantFrom(...W, 'abzd', 'zzzz'), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(1, 2),
        fc.constantFrom(0.5, 1, 2, 3),
        fc.constantFrom(0, 0.5, 1),
        fc.constantFrom(1, 3),
        fc.boolean(),
        fc.constantFrom(0, 0.5, 0.8),
        (docs, words, maxEdits, maxErrors, confidence, size, refreshEach, accuracy) => {
          const e = engine(docs.map((d) => d.join(' ')), refreshEach);
          const params = { field: 'title.trigram', max_errors: maxErrors, confidence, size, shard_size: size, direct_generator: [{ field: 'title', suggest_mode: 'always', max_edits: maxEdits, min_word_length: 1, prefix_length: 1, max_term_freq: 1000, size: 100, accuracy }] };
          const got = phrase(e, words.join(' '), params).options;

          // The naive reference: n-gram counts from the docs' words, every phrase of candidates scored with stupid backoff.
          const counts = new Map<string, number>();
          const add = (g: string) => counts.set(g, (counts.get(g) ?? 0) + 1);
          for (const d of docs) for (let i = 0; i < d.length; i++) for (let n = 1; n <= 3 && i + n <= d.length; n++) add(d.slice(i, i + n).join(' '));
          const c = (...ws: string[]) => counts.get(ws.join(' ')) ?? 0;
          const V = [...counts.values()].reduce((a, b) => a + b, 0);
          const uni = (w: string) => (1 + c(w)) / (V + counts.size);
          const bi = (w: string, w1: string) => (c(w1, w) > 0 ? c(w1, w) / c(w1) : 0.4 * uni(w));
          const tri = (w: string, w1: string, w2: string) => (c(w2, w1, w) > 0 ? c(w2, w1, w) / c(w2, w1) : 0.4 * bi(w, w1));
          const gram = Math.max(...[...counts.keys()].map((g) => g.split(' ').length));
          const p = (ws: string[], i: number) => (i === 0 || gram === 1 ? uni(ws[i]!) : i === 1 || gram === 2 ? bi(ws[i]!, ws[i - 1]!) : tri(ws[i]!, ws[i - 1]!, ws[i - 2]!));
          const dictionary = [...new Set(docs.flat())];
          const candidates = words.map((w) => [
            { term: w, channel: 0.95 },
            ...dictionary.filter((t) => t !== w && t[0] === w[0] && osa(t, w) <= maxEdits && 1 - osa(t, w) / Math.min(t.length, w.length) >= accuracy).map((t) => ({ term: t, channel: 1 - osa(t, w) / Math.min(t.length, w.length) })),
          ]);
          const allowed = Math.max(1, maxErrors >= 1 ? Math.floor(maxErrors) : Math.round(maxErrors * words.length));
          const scoreOf = (path: { term: string; channel: number }[]) => {
            const ws = path.map((x) => x.term);
            let log = 0;
            for (let i = 0; i < path.length; i++) log += Math.log10(path[i]!.channel * p(ws, i));
            return Math.exp(log);
          };
          const cutoff = confidence > 0 ? scoreOf(candidates.map((s) => s[0]!)) * confidence : Number.MIN_VALUE;
          const phrases: { text: string; score: number }[] = [];
          const walk = (i: number, path: { term: string; channel: number }[], errors: number) => {
            if (i === words.length) {
              const score = scoreOf(path);
              if (score > cutoff) phrases.push({ text: path.map((x) => x.term).join(' '), score });
              return;
            }
            candidates[i]!.forEach((cand, k) => {
              if (k === 0 || errors < allowed) walk(i + 1, [...path, cand], errors + (k > 0 ? 1 : 0));
            });
          };
          walk(0, [], 0);
          phrases.sort((a, b) => b.score - a.score || (a.text < b.text ? -1 : 1));
          const want = phrases.slice(0, size);

          expect(got.map((o) => o.text)).toEqual(want.map((o) => o.text));
          got.forEach((o, i) => expect(o.score).toBeCloseTo(want[i]!.score, 12));
          // The properties themselves, stated directly.
          for (const o of got) {
            const changed = o.text.split(' ').filter((t, i) => t !== words[i]);
            expect(changed.length).toBeLessThanOrEqual(allowed);
            o.text.split(' ').forEach((t, i) => t !== words[i] && expect(dictionary.includes(t) && osa(t, words[i]!) <= maxEdits).toBe(true));
          }
          expect(new Set(got.map((o) => o.text)).size).toBe(got.length);
          for (let i = 1; i < got.length; i++) expect(got[i - 1]!.score).toBeGreaterThanOrEqual(got[i]!.score);
        },
      ),
      { numRuns: 150, seed: 20261203 },
    );
  });
});
