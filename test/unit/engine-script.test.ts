import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clearScriptCache, parseScript, scriptCacheSize, scriptValueToJson, type ScriptContext } from '../../src/engine/script/index.ts';
import { MAX_LOOP_ITERATIONS } from '../../src/engine/script/compile.ts';
import { EngineError, type Column } from '../../src/engine/types.ts';

// A segment of three docs: n = [5], [], [1, 2]; k = ['a'], ['b'], []; d (date) = [86400000], [], []; flag = [true], [false], [].
const COLUMNS: Record<string, Column> = {
  n: { kind: 'numeric', offsets: Uint32Array.from([0, 1, 1, 3]), values: Float64Array.from([5, 1, 2]) },
  k: { kind: 'keyword', terms: ['a', 'b'], offsets: Uint32Array.from([0, 1, 2, 2]), ords: Uint32Array.from([0, 1]) },
  d: { kind: 'numeric', offsets: Uint32Array.from([0, 1, 1, 1]), values: Float64Array.from([86_400_000]) },
  flag: { kind: 'numeric', offsets: Uint32Array.from([0, 1, 2, 2]), values: Float64Array.from([1, 0]) },
};
const TYPES: Record<string, string> = { n: 'long', k: 'keyword', d: 'date', flag: 'boolean', body: 'text', empty: 'double' };
const segment = { column: (f: string) => COLUMNS[f] };
const mappings = { field: (f: string) => (TYPES[f] === undefined ? undefined : { type: TYPES[f]! }) };

function run(source: string, opts: { doc?: number; score?: number; params?: Record<string, unknown>; context?: ScriptContext } = {}): unknown {
  const script = parseScript({ source, params: opts.params ?? {} }, opts.context ?? 'score');
  return scriptValueToJson(script.bind(segment, mappings).run(opts.doc ?? 0, opts.score ?? 0));
}

/** The structured error a script throws (compile or run). */
function failure(source: string, opts: Parameters<typeof run>[1] = {}): Record<string, unknown> {
  try {
    run(source, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return (e as EngineError).toJSON();
  }
  throw new Error(`no error from ${source}`);
}

describe('script language: expressions', () => {
  it('literals, arithmetic with precedence, unary minus, parentheses', () => {
    expect(run('1 + 2 * 3')).toBe(7);
    expect(run('(1 + 2) * 3')).toBe(9);
    expect(run('10 - 4 - 3')).toBe(3);
    expect(run('-2 * -3')).toBe(6);
    expect(run('7 % 4')).toBe(3);
    expect(run('1.5e2 + 0x10 + 2L')).toBe(168);
    expect(run('"a" + \'b\' + 1 + true + null')).toBe('ab1truenull');
    expect(run("'it\\'s'")).toBe("it's");
  });

  it('comparison, equality, logic and the ternary', () => {
    expect(run('1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4 == false')).toBe(true);
    expect(run("'a' == 'a' && 'a' != 'b' && [1, 2] == [1, 2] && ['x': 1] == ['x': 1]")).toBe(true);
    expect(run('!(1 > 2) || false')).toBe(true);
    expect(run('1 > 2 ? "yes" : 2 > 1 ? "second" : "no"')).toBe('second');
    expect(run('null ?: 4')).toBe(4);
    // Short circuit: the right side would fail to run.
    expect(run("false && 'a' * 2 == 0")).toBe(false);
  });

  it('Math functions and constants', () => {
    expect(run('Math.log(Math.E)')).toBe(1);
    expect(run('Math.log10(1000) + Math.sqrt(16) + Math.pow(2, 10) + Math.abs(-3)')).toBe(3 + 4 + 1024 + 3);
    expect(run('Math.min(3, 1) + Math.max(3, 1) + Math.floor(1.5) + Math.ceil(1.5) + Math.round(2.5)')).toBe(1 + 3 + 1 + 2 + 3);
    expect(run('Math.exp(0) + Math.PI')).toBe(1 + Math.PI);
  });

  it('casts and typed declarations truncate to integers', () => {
    expect(run('(int) 3.9')).toBe(3);
    expect(run('int x = 7 / 2; x')).toBe(3);
    expect(run('double x = 7 / 2; x')).toBe(3.5);
    expect(run('long x = -7.5; x')).toBe(-7);
  });
});

describe('script language: statements', () => {
  it('declarations, assignment and compound assignment, ++/--', () => {
    expect(run('def x = 1; x += 4; x *= 3; x -= 1; x /= 2; x')).toBe(7);
    expect(run("String s = 'a'; s += 'b'; s")).toBe('ab');
    expect(run('int i = 0; int j = i++; int k = ++i; i * 100 + j * 10 + k')).toBe(202);
    expect(run('int a = 1, b = 2; a + b')).toBe(3);
    expect(run('var v = 2; v--; v')).toBe(1);
  });

  it('if/else, for, for-each, while, do-while, break, continue, return', () => {
    expect(run('int s = 0; for (int i = 0; i < 5; i++) { if (i == 2) continue; if (i == 4) break; s += i; } return s;')).toBe(4);
    expect(run('def s = 0; for (def x : [1, 2, 3]) s += x; s')).toBe(6);
    expect(run('def s = 0; for (x in [4, 5]) { s += x } s')).toBe(9);
    expect(run('int i = 0; while (i < 10) i += 3; i')).toBe(12);
    expect(run('int i = 0; do { i++; } while (i < 0); i')).toBe(1);
    expect(run('if (1 > 2) { return 1 } else if (2 > 1) { return 2 } else { return 3 }')).toBe(2);
    expect(run('return')).toBe(null);
    // The value of a script is its last expression statement.
    expect(run('def x = 5; x * 2')).toBe(10);
    expect(run('def x = 5;')).toBe(null);
  });

  it('lists, maps and their methods', () => {
    expect(run('def l = [1, 2]; l.add(3); l[0] = 9; [l.size(), l.get(2), l[-1], l.contains(9), l.indexOf(2), l.isEmpty()]')).toEqual([3, 3, 3, true, 1, false]);
    expect(run("def m = [:]; m.put('a', 1); m['b'] = 2; m.c = 3; [m.size(), m.get('a'), m.b, m.containsKey('c'), m.containsKey('z'), m.z]")).toEqual([3, 1, 2, true, false, null]);
    expect(run("['a': [1, 2], 'b': ['c': true]]")).toEqual({ a: [1, 2], b: { c: true } });
    expect(run('def l = [3, 1, 2]; l.sort(null); l')).toEqual([1, 2, 3]);
  });

  it('string methods', () => {
    expect(run("String s = 'Hello World'; [s.length(), s.toLowerCase(), s.toUpperCase(), s.contains('lo W'), s.startsWith('He'), s.endsWith('x'), s.substring(6), s.substring(0, 5), s.indexOf('o')]")).toEqual([
      11, 'hello world', 'HELLO WORLD', true, true, false, 'World', 'Hello', 4,
    ]);
  });

  it('comments are ignored', () => {
    expect(run('// one\n1 + /* two */ 2')).toBe(3);
  });
});

describe('script language: params, _score and doc values', () => {
  it('params by dot, by key and nested; _score', () => {
    expect(run("params.a + params['b'] + params.c.d + params.list[1]", { params: { a: 1, b: 2, c: { d: 3 }, list: [0, 4] } })).toBe(10);
    expect(run('_score * 2', { score: 1.5 })).toBe(3);
    expect(run('params.missing == null', { params: {} })).toBe(true);
  });

  it("doc['f'].value, .size(), .empty, .isEmpty(), [i], iteration, dates and booleans", () => {
    expect(run("doc['n'].value")).toBe(5);
    expect(run("[doc['n'].size(), doc['n'][0], doc['n'][1], doc['n'].empty, doc['n'].isEmpty()]", { doc: 2 })).toEqual([2, 1, 2, false, false]);
    expect(run("doc['n'].size() == 0 && doc['n'].empty", { doc: 1 })).toBe(true);
    expect(run("def s = 0; for (def v : doc['n']) s += v; s", { doc: 2 })).toBe(3);
    expect(run("doc['k'].value + doc['k'].size()")).toBe('a1');
    expect(run("doc['d'].value")).toBe(86_400_000);
    expect(run("doc['d'].value.getMillis() + doc['d'].value.toInstant().toEpochMilli()")).toBe(2 * 86_400_000);
    expect(run("doc['flag'].value", { doc: 1 })).toBe(false);
    // A mapped field no doc of the segment has: no values.
    expect(run("doc['empty'].size()")).toBe(0);
    expect(run("doc.containsKey('n') && !doc.containsKey('nope')")).toBe(true);
    // Dynamic field names.
    expect(run("String f = 'n'; doc[f].value")).toBe(5);
  });

  it("a missing value is Elasticsearch's error; a text field has no fielddata; an unmapped field is an error", () => {
    const missing = failure("doc['n'].value", { doc: 1 });
    expect(missing.type).toBe('script_exception');
    expect(missing.caused_by).toEqual({ type: 'illegal_state_exception', reason: "A document doesn't have a value for a field! Use doc[<field>].size()==0 to check if a document is missing a field!" });
    const text = failure("doc['body'].value");
    expect(text.type).toBe('illegal_argument_exception');
    expect(String(text.reason)).toMatch(/^Fielddata is disabled on \[body\]/);
    const unmapped = failure("doc['nope'].value");
    expect(unmapped.caused_by).toEqual({ type: 'illegal_argument_exception', reason: 'No field found for [nope] in mapping' });
  });
});

describe('script language: errors', () => {
  it('compile errors carry script_stack, position and the cause', () => {
    const e = failure('1 + * 2');
    expect(e.type).toBe('script_exception');
    expect(String(e.reason)).toMatch(/^compile error/);
    expect(e.position).toEqual({ offset: 4, start: 0, end: 7 });
    expect(e.script_stack).toEqual(['1 + * 2', '    ^---- HERE']);
    expect(e.lang).toBe('painless');
    expect((e.caused_by as { type: string }).type).toBe('illegal_argument_exception');
    // A long script: 25 characters each side of the position, elided with '...'.
    const long = failure(`def abcdefghij = 1; def klmnopqrst = 2; abcdefghij + klmnopqrst + zz + abcdefghij + klmnopqrst`);
    expect(long.script_stack).toEqual(['... bcdefghij + klmnopqrst + zz + abcdefghij + klmnopq ...', '                             ^---- HERE']);
    expect(long.position).toEqual({ offset: 66, start: 41, end: 91 });
  });

  it('compile errors: unknown names, methods, fields of Math, bad assignments, break outside loops, _score without a score', () => {
    const offset = (src: string, ctx: ScriptContext = 'score') => (failure(src, { context: ctx }).position as { offset: number }).offset;
    expect(offset('x + 1')).toBe(0);
    expect(offset('def a = 1; a.frobnicate()')).toBe(13);
    expect(offset('Math.random()')).toBe(5);
    expect(offset('Math.TAU')).toBe(5);
    expect(offset('1 + _score', 'filter')).toBe(4);
    expect(offset('_score = 1')).toBe(0);
    expect(offset('break;')).toBe(0);
    expect(offset("'unterminated")).toBe(0);
    expect(offset('def x = 1; def x = 2;')).toBe(15);
    expect(offset('new ArrayList()')).toBe(0);
    expect(offset('a # b')).toBe(2);
    expect(offset("doc['n'].frob")).toBe(9);
    expect(offset('doc')).toBe(0);
    expect(failure('').type).toBe('script_exception');
    // Deep nesting is a compile error, not a host stack overflow.
    expect(failure(`${'('.repeat(5000)}1${')'.repeat(5000)}`).type).toBe('script_exception');
    expect(failure(`${'{'.repeat(5000)}${'}'.repeat(5000)}`).type).toBe('script_exception');
  });

  it('runtime type errors are script_exception with the reason and the position', () => {
    const e = failure("'a' * 2");
    expect(e.type).toBe('script_exception');
    expect(String(e.reason)).toMatch(/^runtime error/);
    expect(e.caused_by).toEqual({ type: 'class_cast_exception', reason: 'Cannot apply [*] operation to types [java.lang.String] and [java.lang.Integer].' });
    expect((e.position as { offset: number }).offset).toBe(4);
    expect((failure('if (1) { 2 }').caused_by as { type: string }).type).toBe('class_cast_exception');
    expect((failure('def l = [1]; l[3]').caused_by as { type: string }).type).toBe('index_out_of_bounds_exception');
    expect((failure('def x = null; x.size()').caused_by as { type: string }).type).toBe('null_pointer_exception');
    expect((failure('int x = "a"; x').caused_by as { type: string }).type).toBe('class_cast_exception');
    expect((failure('params.a = 1', { params: { a: 0 } }).caused_by as { type: string }).type).toBe('unsupported_operation_exception');
    expect((failure("def s = 'ab'; while (true) { s = s + s }").caused_by as { type: string }).type).toBe('illegal_argument_exception');
  });

  it('the loop budget stops an endless loop, counting every loop of one execution', () => {
    const e = failure('while (true) {}');
    expect(e.type).toBe('script_exception');
    expect(String((e.caused_by as { reason: string }).reason)).toMatch(/maximum number of statements that can be executed in a loop/);
    expect((failure('for (;;) {}').caused_by as { type: string }).type).toBe('painless_error');
    // Exactly the budget passes; one more iteration (over two loops) does not.
    const half = MAX_LOOP_ITERATIONS / 2;
    expect(run(`int n = 0; for (int i = 0; i < ${half}; i++) n++; for (int i = 0; i < ${half}; i++) n++; n`)).toBe(MAX_LOOP_ITERATIONS);
    expect(failure(`int n = 0; for (int i = 0; i < ${half}; i++) n++; for (int i = 0; i <= ${half}; i++) n++; n`).type).toBe('script_exception');
    // The budget is per execution: the next doc starts again.
    const runner = parseScript(`int n = 0; while (n < ${MAX_LOOP_ITERATIONS}) n++; n`, 'score').bind(segment, mappings);
    expect(runner.run(0)).toBe(MAX_LOOP_ITERATIONS);
    expect(runner.run(1)).toBe(MAX_LOOP_ITERATIONS);
  });

  it('the script object: bare strings, lang, params, stored scripts and unknown keys', () => {
    expect(parseScript('1 + 1', 'score').bind(segment, mappings).run(0)).toBe(2);
    expect(parseScript({ source: '2', lang: 'expression' }, 'score').lang).toBe('expression');
    const type = (json: unknown) => {
      try {
        parseScript(json, 'score');
        return 'none';
      } catch (e) {
        return (e as EngineError).type;
      }
    };
    expect(type({ source: '1', lang: 'mustache' })).toBe('illegal_argument_exception');
    expect(type({ id: 'my-script' })).toBe('illegal_argument_exception');
    expect(type({ source: '1', foo: 1 })).toBe('parsing_exception');
    expect(type({ source: '1', params: [] })).toBe('parsing_exception');
    expect(type({ params: {} })).toBe('parsing_exception');
    expect(type(42)).toBe('parsing_exception');
    expect(type({ source: 'x'.repeat(70_000) })).toBe('illegal_argument_exception');
  });

  it('host objects are out of reach: prototype names are plain map keys or unknown members', () => {
    expect(run("params['__proto__'] == null && params.constructor == null", { params: {} })).toBe(true);
    expect((failure("'a'.constructor").caused_by as { type: string }).type).toBe('illegal_argument_exception');
    expect(failure('this').type).toBe('script_exception');
    expect(failure('globalThis.process').type).toBe('script_exception');
  });
});

describe('script language: determinism and the cache', () => {
  it('a script gives the same value with and without the compiled-program cache, and the cache is bounded', () => {
    clearScriptCache();
    const source = "def s = 0; for (def v : doc['n']) s += Math.log(1 + v); s + params.p";
    const values = (params: Record<string, unknown>) => [0, 1, 2].map((doc) => run(source, { doc, params }));
    const cold = values({ p: 1 });
    expect(scriptCacheSize()).toBe(1);
    // From the cache, with other params: params are bound per request, not compiled in.
    expect(values({ p: 1 })).toEqual(cold);
    expect(values({ p: 2 })).toEqual(cold.map((v) => (v as number) + 1));
    for (let i = 0; i < 500; i++) run(`${i} + 1`);
    expect(scriptCacheSize()).toBeLessThanOrEqual(100);
    expect(values({ p: 1 })).toEqual(cold);
  });

  it('property: arithmetic scripts agree with JavaScript on random operands', () => {
    const op = fc.constantFrom('+', '-', '*', '/');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 2, maxLength: 6 }), fc.array(op, { minLength: 5, maxLength: 5 }), (nums, ops) => {
        // Parenthesised left to right; the reference folds the same way in JavaScript.
        let src = String(nums[0]);
        let expected = nums[0]!;
        for (let i = 1; i < nums.length; i++) {
          src = `(${src}) ${ops[i - 1]} (${nums[i]})`;
          const b = nums[i]!;
          expected = ops[i - 1] === '+' ? expected + b : ops[i - 1] === '-' ? expected - b : ops[i - 1] === '*' ? expected * b : expected / b;
        }
        const got = run(src);
        if (Number.isNaN(expected)) expect(got).toBe('NaN');
        else if (!Number.isFinite(expected)) expect(got).toBe(String(expected));
        else expect(got).toBe(expected);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
