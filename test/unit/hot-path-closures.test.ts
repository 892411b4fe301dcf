/**
 * Under tsx (how Shoal runs: `npm run shoal`, the benches), esbuild's keepNames wraps every
 * function expression that gets a name from where it is written — `const f = () => …`,
 * `{ f: () => … }`, `f = () => …`, a nested `function f` — in a call to Object.defineProperty,
 * run each time the closure is made. Inside a function on a per-query or per-document path that
 * call costs more than the rest of a one-term search (0.45 of 1.1 µs before it was taken out).
 * These modules make no such closure inside a function: arrows passed as arguments and object
 * methods (`{ f() { … } }`) are not wrapped, and module-level functions take their place.
 * Constructors are left out: they run once per object, not per query.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const HOT_PATH_MODULES = [
  'src/engine/query.ts',
  'src/engine/nested.ts',
  'src/engine/search-request.ts',
  'src/engine/shard-engine.ts',
  'src/engine/segment.ts',
  'src/engine/maxscore.ts',
  'src/engine/mapping.ts',
  'src/engine/similarity.ts',
  'src/engine/store.ts',
  'src/engine/analysis/analyzers.ts',
  'src/engine/analysis/tokenizers.ts',
  'src/engine/analysis/filters.ts',
  'src/engine/analysis/char-filters.ts',
  'src/engine/analysis/char-classes.ts',
  'src/engine/analysis/char-group.ts',
  'src/engine/analysis/ngram.ts',
  'src/engine/analysis/path-hierarchy.ts',
  'src/engine/analysis/pattern-tokenizer.ts',
  'src/engine/analysis/patterns.ts',
  'src/engine/analysis/settings.ts',
  'src/engine/analysis/shingle.ts',
  'src/engine/analysis/synonyms.ts',
  'src/engine/analysis/term-filters.ts',
  'src/engine/analysis/word-delimiter.ts',
  'src/engine/token-graph.ts',
  'src/runtime/actor-system.ts',
];

const isFunctionValue = (e: ts.Expression | undefined): boolean => {
  while (e && (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e))) e = e.expression;
  return e !== undefined && (ts.isArrowFunction(e) || ts.isFunctionExpression(e) || ts.isClassExpression(e));
};

/** `line: text` of each named closure made inside a function of the file. */
export function namedClosuresInFunctions(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const report = (n: ts.Node) => found.push(`${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${n.getText().split('\n')[0]!.slice(0, 100)}`);
  const visit = (n: ts.Node, inFunction: boolean): void => {
    if (inFunction) {
      if ((ts.isVariableDeclaration(n) || ts.isBindingElement(n)) && ts.isIdentifier(n.name) && isFunctionValue(n.initializer)) report(n);
      else if (ts.isPropertyAssignment(n) && isFunctionValue(n.initializer)) report(n);
      else if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left) && isFunctionValue(n.right)) report(n);
      else if (ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n)) report(n);
    }
    if (ts.isConstructorDeclaration(n)) return;
    const entersFunction = ts.isFunctionLike(n);
    ts.forEachChild(n, (c) => visit(c, inFunction || entersFunction));
  };
  visit(sf, false);
  return found;
}

describe('hot-path modules make no named closures per call', () => {
  it('finds the closures esbuild keepNames would wrap (the check can fail)', () => {
    const src = `const top = () => 1;
function f() {
  const g = () => 2;
  const o = { h: () => 3, m() { return 4; } };
  let k; k = function () {};
  [1].map((x) => x);
  function inner() {}
  return [g, o, k, inner];
}`;
    expect(namedClosuresInFunctions('x.ts', src).map((s) => Number(s.split(':')[0]))).toEqual([3, 4, 5, 7]);
  });

  it.each(HOT_PATH_MODULES)('%s', (file) => {
    expect(namedClosuresInFunctions(file, readFileSync(file, 'utf8'))).toEqual([]);
  });
});
