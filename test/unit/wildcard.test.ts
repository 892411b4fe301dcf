import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wildcardMatch } from '../../src/cluster/wildcard.ts';

/** The reference: the pattern as an anchored regex, `*` as `.*`, everything else literal. */
const viaRegex = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(value);

describe('wildcard patterns', () => {
  it('match as the regex reference does (property)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '.', '-', '*'), maxLength: 8 });
    fc.assert(
      fc.property(text, fc.string({ unit: fc.constantFrom('a', 'b', '.', '-'), maxLength: 8 }), (pattern, value) => {
        expect(wildcardMatch(pattern, value)).toBe(viaRegex(pattern, value));
      }),
      { numRuns: 2000 },
    );
  });

  it('examples', () => {
    expect(wildcardMatch('logs-*', 'logs-2026')).toBe(true);
    expect(wildcardMatch('logs-*', 'logs')).toBe(false);
    expect(wildcardMatch('a*a', 'a')).toBe(false); // the two literal ends may not overlap
    expect(wildcardMatch('a*a', 'aa')).toBe(true);
    expect(wildcardMatch('*', '')).toBe(true);
    expect(wildcardMatch('n*-*x', 'n1-2x')).toBe(true);
    expect(wildcardMatch('n.1', 'nx1')).toBe(false);
  });
});
