import { describe, expect, it } from 'vitest';
import { parseScript, type UpdateScriptContext, type UpdateScriptInput } from '../../src/engine/script/index.ts';
import { MAX_LOOP_ITERATIONS } from '../../src/engine/script/compile.ts';
import { EngineError } from '../../src/engine/types.ts';

const NOW = 1_700_000_000_000;

function input(source: Record<string, unknown>, over: Partial<UpdateScriptInput> = {}): UpdateScriptInput {
  return { source, op: 'index', index: 'books', id: 'b1', version: 3, routing: null, now: NOW, ...over };
}

function update(script: string, source: Record<string, unknown>, opts: { params?: Record<string, unknown>; context?: UpdateScriptContext; input?: Partial<UpdateScriptInput> } = {}) {
  return parseScript({ source: script, params: opts.params ?? {} }, opts.context ?? 'update').updater().run(input(source, opts.input));
}

/** The error a script's compile or run throws, as JSON. */
function failure(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return (e as EngineError).toJSON();
  }
  throw new Error('no error');
}

describe('update scripts: ctx._source', () => {
  it('changes scalars, lists and nested maps of a copy of the source', () => {
    const source = { counter: 1, tags: ['a'], user: { name: 'ann' }, gone: true };
    const out = update(
      "ctx._source.counter += params.n; ctx._source.tags.add(params.tag); ctx._source.user.age = 30; ctx._source.remove('gone'); ctx._source.meta = [:]; ctx._source.meta.seen = [1, 2]; ctx._source['x y'] = null",
      source,
      { params: { n: 4, tag: 'b' } },
    );
    expect(out).toEqual({ op: 'index', source: { counter: 5, tags: ['a', 'b'], user: { name: 'ann', age: 30 }, meta: { seen: [1, 2] }, 'x y': null }, index: 'books', id: 'b1', routing: null });
    // The input is not touched: the script works on its own copy.
    expect(source).toEqual({ counter: 1, tags: ['a'], user: { name: 'ann' }, gone: true });
  });

  it('reads what the source holds: containsKey, get, size, iteration, ++ on a missing field is an error', () => {
    expect(update("ctx._source.has = ctx._source.containsKey('a') && !ctx._source.containsKey('b')", { a: 1 }).source).toEqual({ a: 1, has: true });
    expect(update('int t = 0; for (def v : ctx._source.vals) { t += v } ctx._source.total = t; ctx._source.n = ctx._source.size()', { vals: [1, 2, 3] }).source).toEqual({ vals: [1, 2, 3], total: 6, n: 2 });
    expect(update("ctx._source.c = (ctx._source.c ?: 0) + 1", {}).source).toEqual({ c: 1 });
    expect(failure(() => update('ctx._source.missing++', {}))).toMatchObject({ type: 'script_exception', caused_by: { type: 'class_cast_exception' } });
  });

  it('may replace _source with a new map, and the map keys become strings', () => {
    expect(update("ctx._source = ['fresh': true]; ctx._source[1] = 'one'", { old: 1 }).source).toEqual({ fresh: true, '1': 'one' });
  });

  it('refuses a _source that is not a map, a number JSON cannot hold, and a map that holds itself', () => {
    for (const script of ["ctx._source = 'text'", 'ctx._source = [1, 2]', "ctx.remove('_source')"]) {
      expect(failure(() => update(script, { a: 1 }))).toMatchObject({ type: 'illegal_argument_exception', reason: expect.stringContaining('[ctx._source] must be a map') });
    }
    expect(failure(() => update('ctx._source.n = 1 / 0', {}))).toMatchObject({ type: 'illegal_argument_exception', reason: expect.stringContaining('Infinity') });
    expect(failure(() => update('ctx._source.me = ctx._source', {}))).toMatchObject({ type: 'illegal_argument_exception', reason: expect.stringContaining('nests deeper') });
    // A non-map _source does not matter when nothing is written.
    expect(update("ctx._source = 1; ctx.op = 'noop'", {}).op).toBe('noop');
  });
});

describe('update scripts: ctx.op and the metadata', () => {
  it('reads _index, _id, _version, _routing and _now', () => {
    const out = update("ctx._source.seen = [ctx._index, ctx._id, ctx._version, ctx._routing, ctx._now, ctx.op]", {}, { input: { routing: 'r1' } });
    expect(out.source).toEqual({ seen: ['books', 'b1', 3, 'r1', NOW, 'index'] });
    expect(update('ctx._source.v = ctx._version; ctx._source.r = ctx._routing', {}).source).toEqual({ v: 3, r: null });
  });

  it('op: index (the default), noop and none write nothing, delete deletes; anything else is refused', () => {
    expect(update('ctx._source.a = 1', {}).op).toBe('index');
    expect(update("ctx.op = 'noop'", {}).op).toBe('noop');
    expect(update("ctx.op = 'none'", {}).op).toBe('noop');
    expect(update("if (ctx._source.n > 2) { ctx.op = 'delete' } else { ctx._source.n++ }", { n: 3 }).op).toBe('delete');
    expect(update("if (ctx._source.n > 2) { ctx.op = 'delete' } else { ctx._source.n++ }", { n: 1 })).toMatchObject({ op: 'index', source: { n: 2 } });
    expect(failure(() => update("ctx.op = 'create'", {}))).toMatchObject({ type: 'illegal_argument_exception', reason: '[ctx.op] must be one of [index, noop, none, delete], not [create]' });
    expect(failure(() => update('ctx.op = null', {}))).toMatchObject({ type: 'illegal_argument_exception', reason: expect.stringContaining('not [null]') });
  });

  it('a scripted upsert starts with op create, and takes create, noop or none', () => {
    const upsert = (script: string) => update(script, { n: 0 }, { input: { op: 'create', version: undefined } });
    expect(upsert("ctx._source.n += 1; ctx._source.op = ctx.op; ctx._source.v = ctx._version")).toMatchObject({ op: 'create', source: { n: 1, op: 'create', v: null } });
    expect(upsert("ctx.op = 'none'").op).toBe('noop');
    expect(failure(() => upsert("ctx.op = 'delete'"))).toMatchObject({ type: 'illegal_argument_exception', reason: expect.stringContaining('[create, noop, none]') });
  });

  it('the metadata is read-only in update and update_by_query, with the position of the write', () => {
    for (const context of ['update', 'update_by_query'] as const) {
      for (const [script, key] of [
        ["ctx._id = 'x'", '_id'],
        ["ctx._index = 'x'", '_index'],
        ['ctx._version = 9', '_version'],
        ["ctx['_routing'] = 'r'", '_routing'],
        ['ctx._now += 1', '_now'],
        ["ctx.remove('_id')", '_id'],
        ["ctx.put('_index', 'y')", '_index'],
        ['ctx.clear()', '_index'],
      ] as const) {
        expect(failure(() => update(`def a = 1; ${script}`, {}, { context }))).toMatchObject({
          type: 'script_exception',
          caused_by: { type: 'illegal_argument_exception', reason: `[${key}] cannot be changed in this context` },
          position: { offset: expect.any(Number) },
        });
      }
    }
    // At the assignment.
    expect(failure(() => update("def a = 1; ctx._id = 'x'", {})).position).toMatchObject({ offset: "def a = 1; ctx._id ".length });
    // ctx itself cannot be assigned or redeclared.
    expect(failure(() => update('ctx = [:]', {}))).toMatchObject({ type: 'script_exception', reason: expect.stringMatching(/^compile error: cannot assign a value to \[ctx\]/) });
    expect(failure(() => update('def ctx = 1', {}))).toMatchObject({ type: 'script_exception', reason: expect.stringContaining('already defined') });
  });

  it('reindex may retarget _id, _index and _routing (checked), not _version or _now', () => {
    const r = update("ctx._id = 'new-' + ctx._id; ctx._index = 'other'; ctx._routing = 'r2'", { a: 1 }, { context: 'reindex' });
    expect(r).toEqual({ op: 'index', source: { a: 1 }, index: 'other', id: 'new-b1', routing: 'r2' });
    expect(update("ctx._routing = null", {}, { context: 'reindex', input: { routing: 'r' } }).routing).toBeNull();
    expect(failure(() => update('ctx._id = 5', {}, { context: 'reindex' }))).toMatchObject({ type: 'illegal_argument_exception', reason: '[ctx._id] must be a non-empty string, not [5]' });
    expect(failure(() => update("ctx._index = ''", {}, { context: 'reindex' }))).toMatchObject({ type: 'illegal_argument_exception' });
    expect(failure(() => update('ctx._version = 2', {}, { context: 'reindex' }))).toMatchObject({ caused_by: { reason: '[_version] cannot be changed in this context' } });
    // Elsewhere a change to them is refused rather than ignored.
    expect(failure(() => update("ctx._id = 'x'", {}, { context: 'update_by_query' }))).toMatchObject({ type: 'script_exception' });
  });
});

describe('update scripts: what they may not do', () => {
  it('doc is not there (a compile error, with its position), nor _score', () => {
    for (const context of ['update', 'update_by_query', 'reindex'] as const) {
      for (const script of ["ctx._source.n = doc['n'].value", "doc.containsKey('n')", 'def d = doc', "doc['n'].size()", "doc['n'] = 1"]) {
        const err = failure(() => parseScript(script, context));
        expect(err).toMatchObject({ type: 'script_exception', reason: expect.stringMatching(/^compile error: cannot resolve symbol \[doc\]: there are no doc values/) });
        expect((err.position as { offset: number }).offset).toBe(script.indexOf('doc'));
      }
      expect(failure(() => parseScript('ctx._source.s = _score', context))).toMatchObject({ type: 'script_exception', reason: expect.stringContaining('_score') });
    }
  });

  it('ctx is not there in the search contexts, and a search script has no updater', () => {
    for (const context of ['score', 'filter', 'field', 'sort'] as const) {
      expect(failure(() => parseScript('ctx._source.a', context))).toMatchObject({ type: 'script_exception', reason: expect.stringContaining('cannot resolve symbol [ctx]') });
    }
    // A local named ctx is fine there.
    expect(() => parseScript('def ctx = 1; ctx', 'field')).not.toThrow();
    expect(() => parseScript('1', 'score').updater()).toThrow(EngineError);
  });

  it('params stay read-only, and runtime errors carry the position', () => {
    expect(failure(() => update('params.tags.add(1)', {}, { params: { tags: [] } }))).toMatchObject({ caused_by: { type: 'unsupported_operation_exception' } });
    const err = failure(() => update("ctx._source.a = 1;\nctx._source.list.add(2)", {}));
    expect(err).toMatchObject({ type: 'script_exception', reason: expect.stringMatching(/^runtime error/), caused_by: { type: 'null_pointer_exception' } });
    expect((err.position as { offset: number }).offset).toBe("ctx._source.a = 1;\nctx._source.list.".length);
  });

  it('the loop budget applies to each run', () => {
    const loop = `int i = 0; while (i < params.n) { i++ } ctx._source.i = i`;
    expect(update(loop, {}, { params: { n: MAX_LOOP_ITERATIONS } }).source).toEqual({ i: MAX_LOOP_ITERATIONS });
    expect(failure(() => update(loop, {}, { params: { n: MAX_LOOP_ITERATIONS + 1 } }))).toMatchObject({ type: 'script_exception', caused_by: { type: 'painless_error' } });
    // The budget starts again on the next run of the same runner.
    const runner = parseScript({ source: loop, params: { n: MAX_LOOP_ITERATIONS } }, 'update').updater();
    expect(runner.run(input({})).source).toEqual({ i: MAX_LOOP_ITERATIONS });
    expect(runner.run(input({})).source).toEqual({ i: MAX_LOOP_ITERATIONS });
  });

  it('one runner, many documents: each run starts from its own document and locals', () => {
    const runner = parseScript({ source: 'def seen = ctx._source.seen ?: []; seen.add(ctx._id); ctx._source.seen = seen', params: {} }, 'update_by_query').updater();
    expect(runner.run(input({}, { id: 'a' })).source).toEqual({ seen: ['a'] });
    expect(runner.run(input({ seen: ['z'] }, { id: 'b' })).source).toEqual({ seen: ['z', 'b'] });
    expect(runner.run(input({}, { id: 'c' })).source).toEqual({ seen: ['c'] });
  });
});
