import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luceneRegExp, regexpOperators } from '../../src/engine/regexp.ts';
import { ShardEngine } from '../../src/engine/shard-engine.ts';
import { EngineError } from '../../src/engine/types.ts';
import { thrownType } from '../support/thrown.ts';

const ALL = regexpOperators(undefined);
const matches = (pattern: string, term: string, ops = ALL, ci = false) => luceneRegExp(pattern, ops, ci).re.test(term);

describe('Lucene regexp syntax', () => {
  it('matches whole terms with the core operators', () => {
    const cases: [string, string[], string[]][] = [
      ['ki.*y', ['kimchy', 'kiy'], ['kimch', 'akimchy']],
      ['joh?n(ath[oa]n)?', ['jon', 'john', 'jonathon', 'johnathan'], ['johnny', 'jonathen']],
      ['a{2,3}b+', ['aab', 'aaabbb'], ['ab', 'aaaab']],
      ['a{2}', ['aa'], ['a', 'aaa']],
      ['[a-c]+[^0-9]', ['abcx', 'ax'], ['ab1', 'dx']],
      ['"a.b"c', ['a.bc'], ['axbc']],
      ['a\\.b', ['a.b'], ['axb']],
      ['\\d+-\\w', ['12-x', '7-_'], ['a-x', '12-']],
      ['[\\d_]+', ['1_2'], ['a']],
      ['cat|dog', ['cat', 'dog'], ['cow']],
      ['a$b^', ['a$b^'], ['ab']],
      ['ab@', ['ab', 'abxyz'], ['a']],
      ['ab#', [], ['ab']],
      ['x/y', ['x/y'], ['xy']],
      ['a:*', ['a', 'a::'], ['b:']],
      ['"ab"+c', ['abc', 'ababc'], ['abbc']],
      ['a*?b', ['b', 'aab'], ['ba']],
    ];
    for (const [pattern, yes, no] of cases) {
      for (const t of yes) expect(matches(pattern, t), `${pattern} ~ ${t}`).toBe(true);
      for (const t of no) expect(matches(pattern, t), `${pattern} !~ ${t}`).toBe(false);
    }
    expect(matches('KI.*', 'kimchy', ALL, true)).toBe(true);
    expect(matches('KI.*', 'kimchy', ALL, false)).toBe(false);
  });

  it('treats optional operators as plain characters when flags leave them out', () => {
    expect(matches('a@b', 'a@b', regexpOperators('NONE'))).toBe(true);
    expect(matches('a@b', 'axxb', regexpOperators('NONE'))).toBe(false);
    expect(matches('a@b', 'axxb', regexpOperators('ANYSTRING'))).toBe(true);
    expect(matches('a<1-5>', 'a<1-5>', regexpOperators('ANYSTRING|EMPTY'))).toBe(true);
    expect(() => regexpOperators('SOME')).toThrow(EngineError);
  });

  it('gives the literal prefix every match starts with, for the dictionary scan', () => {
    expect(luceneRegExp('kim.*', ALL, false).prefix).toBe('kim');
    expect(luceneRegExp('kimc?hy', ALL, false).prefix).toBe('kim');
    expect(luceneRegExp('kim+y', ALL, false).prefix).toBe('kim');
    expect(luceneRegExp('ab|cd', ALL, false).prefix).toBe('');
    expect(luceneRegExp('ab', ALL, true).prefix).toBe('');
    // Every term the pattern matches starts with its prefix.
    fc.assert(
      fc.property(fc.stringMatching(/^[ab.?*+|()\[\]{}1,"]{0,8}$/), fc.stringMatching(/^[ab]{0,6}$/), (pattern, term) => {
        let compiled: { re: RegExp; prefix: string };
        try {
          compiled = luceneRegExp(pattern, ALL, false);
        } catch (err) {
          // Never a SyntaxError: a structured parsing error.
          expect(err).toBeInstanceOf(EngineError);
          expect((err as EngineError).type).toBe('parsing_exception');
          return;
        }
        if (compiled.re.test(term)) expect(term.startsWith(compiled.prefix)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  it('refuses what it does not support, and malformed patterns, with a parsing_exception', () => {
    for (const bad of ['~a', 'a&b', 'a<1-5>', '(ab', 'ab)', '[ab', '"ab', 'a\\', '*a', 'a{x}', 'a{3,1}', '[z-a]', '[\\D]', '|*', 'a**', '(*a)']) {
      expect(() => luceneRegExp(bad, ALL, false), bad).toThrow(expect.objectContaining({ type: 'parsing_exception' }));
    }
  });
});

describe('regexp query', () => {
  const e = new ShardEngine({ mappings: { properties: { user: { type: 'keyword' }, body: { type: 'text' } } } });
  ['kimchy', 'kimchi', 'elastic', 'Kimberly'].forEach((user, i) => e.index(String(i), { user, body: `${user} says hi` }));
  e.refresh();
  const ids = (query: unknown) => e.search({ query, size: 10 }).hits.hits.map((h) => h._id).sort();

  it('matches terms of keyword and text fields', () => {
    expect(ids({ regexp: { user: 'kim.*' } })).toEqual(['0', '1']);
    expect(ids({ regexp: { user: { value: 'kim.*', case_insensitive: true } } })).toEqual(['0', '1', '3']);
    expect(ids({ regexp: { body: 'kim.h[yi]' } })).toEqual(['0', '1']);
    expect(ids({ regexp: { user: { value: 'e@', flags: 'ANYSTRING', boost: 2 } } })).toEqual(['2']);
    expect(ids({ regexp: { nope: 'a.*' } })).toEqual([]);
  });

  it('refuses bad options and patterns before running', () => {
    expect(thrownType(() => e.search({ query: { regexp: { user: { value: 'a', flags: 3 } } } }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ query: { regexp: { user: { value: 'a', case_insensitive: 'yes' } } } }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ query: { regexp: { user: { value: 'a', rewrite: 'x' } } } }))).toBe('parsing_exception');
    expect(thrownType(() => e.search({ query: { regexp: { user: '~a' } } }))).toBe('parsing_exception');
  });
});
