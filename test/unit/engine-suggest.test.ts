import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { osa } from '../support/osa.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';

describe('term suggester', () => {
  it('corrects what the index lacks, with edit-distance scores and frequencies', () => {
    const e = new ShardEngine({ mappings: { properties: { body: { type: 'text' } } } });
    e.index('1', { body: 'trying out elasticsearch' });
    e.index('2', { body: 'trying again' });
    e.index('3', { body: 'string theory' });
    e.refresh();
    const res = e.search({ size: 0, suggest: { text: 'tring out elasticsaerch', fix: { term: { field: 'body' } } } });
    expect(res.suggest!.fix).toEqual([
      // (Not "string": its first letter differs, and prefix_length is 1.)
      { text: 'tring', offset: 0, length: 5, options: [{ text: 'trying', score: 0.8, freq: 2 }] },
      { text: 'out', offset: 6, length: 3, options: [] },
      { text: 'elasticsaerch', offset: 10, length: 13, options: [{ text: 'elasticsearch', score: 1 - 1 / 13, freq: 1 }] },
    ]);
    const always = e.search({ size: 0, suggest: { s: { text: 'strying', term: { field: 'body', suggest_mode: 'always', prefix_length: 0, sort: 'frequency' } } } });
    expect(always.suggest!.s![0]!.options).toEqual([{ text: 'trying', score: 1 - 1 / 6, freq: 2 }, { text: 'string', score: 1 - 1 / 6, freq: 1 }]);
  });

  it('offers exactly what a naive scan of the dictionary offers, over several segments', () => {
    const W = ['abcd', 'abdc', 'abce', 'abcde', 'bacd', 'abc', 'abcdd', 'xbcd', 'acbd'];
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom(...W), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(...W, 'abzd', 'zzzz'),
        fc.constantFrom('missing', 'popular', 'always'),
        fc.constantFrom('score', 'frequency'),
        fc.constantFrom(1, 2),
        fc.constantFrom(0, 1, 2),
        fc.constantFrom(0, 2),
        fc.constantFrom(0, 5),
        (docs, text, mode, sort, maxEdits, prefixLength, minDocFreq, refreshEvery) => {
          const e = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' } } } });
          docs.forEach((words, i) => {
            e.index(String(i), { body: words.join(' ') });
            if (refreshEvery > 0 && i % refreshEvery === refreshEvery - 1) e.refresh();
          });
          e.refresh();
          const df = new Map<string, number>();
          for (const words of docs) for (const w of new Set(words)) df.set(w, (df.get(w) ?? 0) + 1);
          const own = df.get(text) ?? 0;
          // max_term_freq 1 (absolute): a token in more than one doc is never corrected.
          // Tokens under min_word_length (4) are never corrected either.
          const skip = text.length < 4 || (mode === 'missing' && own > 0) || own > 1;
          const want = skip
            ? []
            : [...df]
                .filter(([t, f]) => t !== text && t.startsWith(text.slice(0, prefixLength)) && osa(t, text) <= maxEdits && f >= minDocFreq && (mode !== 'popular' || f > own))
                .map(([t, f]) => ({ text: t, score: 1 - osa(t, text) / Math.min(t.length, text.length), freq: f }))
                .sort((a, b) => (sort === 'score' ? b.score - a.score || b.freq - a.freq : b.freq - a.freq || b.score - a.score) || (a.text < b.text ? -1 : 1))
                .slice(0, 3);
          const res = e.search({ size: 0, suggest: { s: { text, term: { field: 'body', suggest_mode: mode, sort, max_edits: maxEdits, prefix_length: prefixLength, min_doc_freq: minDocFreq, max_term_freq: 1, size: 3 } } } });
          expect(res.suggest!.s).toEqual([{ text, offset: 0, length: text.length, options: want }]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('max_term_freq as a fraction rounds up, as in Lucene: a token in 1 doc of 2 is still corrected', () => {
    const e = new ShardEngine({ mappings: { properties: { body: { type: 'text' } } } });
    e.index('1', { body: 'noble warriors' });
    e.index('2', { body: 'nobel prize' });
    e.refresh();
    const options = (max_term_freq: number) => e.search({ size: 0, suggest: { s: { text: 'noble', term: { field: 'body', suggest_mode: 'always', max_term_freq } } } }).suggest!.s![0]!.options;
    expect(options(0.01)).toEqual([{ text: 'nobel', score: 0.8, freq: 1 }]); // ceil(0.01 × 2) = 1: not more than 1
    expect(options(0.5)).toHaveLength(1);
    expect(options(1)).toHaveLength(1);
    e.index('3', { body: 'noble gases' });
    e.refresh();
    expect(options(0.01)).toEqual([]); // in 2 docs of 3: more than ceil(0.03) = 1
  });

  it('refuses malformed suggesters with a parsing_exception', () => {
    const e = new ShardEngine();
    for (const suggest of [
      'x',
      { s: { text: 'x', phrase: { field: 'body', collate: { query: {} } } } },
      { s: { term: { field: 'body' } } },
      { s: { text: 'x', term: {} } },
      { s: { text: 'x', term: { field: 'body', max_edits: 3 } } },
      { s: { text: 'x', term: { field: 'body', suggest_mode: 'sometimes' } } },
      { s: { text: 'x', term: { field: 'body', colour: 'red' } } },
      { s: { text: 'x', term: { field: 'body', string_distance: 'ngram' } } },
    ]) {
      expect(() => e.search({ suggest }), JSON.stringify(suggest)).toThrow(expect.objectContaining({ type: 'parsing_exception' }));
    }
  });
});
