import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyClusterCommand, EMPTY_CLUSTER_STATE, isClusterCommand } from '../../src/cluster/cluster-state.ts';
import { MappingRegistry } from '../../src/engine/mapping.ts';
import { EngineError } from '../../src/engine/types.ts';

describe('dynamic mapping updates', () => {
  it('computes what a document would add without adding it', () => {
    const m = new MappingRegistry({ properties: { title: { type: 'text' } } });
    expect(m.hasUnmapped({ title: 'x' })).toBe(false);
    expect(m.hasUnmapped({ title: 'x', n: 1 })).toBe(true);
    expect(m.hasUnmapped({ obj: { a: 1 } })).toBe(true);
    const delta = m.dynamicUpdate({ title: 'x', n: 1, obj: { when: '2024-01-01' } })!;
    expect(delta.properties).toMatchObject({ n: { type: 'long' }, obj: { properties: { when: { type: 'date' } } } });
    expect(m.field('n')).toBeUndefined();
    expect(m.dynamicUpdate({ title: 'only known' })).toBeUndefined();
    expect(() => m.dynamicUpdate({ title: { not: 'text' } })).toThrow(EngineError);
    // strict and false mappings add nothing dynamically
    expect(new MappingRegistry({ dynamic: false }).hasUnmapped({ a: 1 })).toBe(false);
  });

  it('merges mappings: adds missing fields, refuses a type change, changes nothing on conflict', () => {
    const m = new MappingRegistry({ properties: { a: { type: 'long' } } });
    m.merge({ properties: { b: { type: 'keyword' }, o: { properties: { c: { type: 'date' } } } } });
    expect(m.field('b')?.type).toBe('keyword');
    expect(m.field('o.c')?.type).toBe('date');
    expect(() => m.merge({ properties: { a: { type: 'text' }, d: { type: 'long' } } })).toThrow(/cannot be changed/);
    expect(m.field('d')).toBeUndefined();
    expect(() => m.merge({ properties: { o: { type: 'long' } } })).toThrow(/object/);
    expect(() => m.merge({ properties: { a: { properties: { x: { type: 'long' } } } } })).toThrow(/object/);
  });

  it('a document whose fields are all mapped adds nothing (property)', () => {
    const value = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ maxLength: 8 }));
    const doc = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(value, fc.dictionary(fc.constantFrom('x', 'y'), value, { maxKeys: 2 })), { maxKeys: 3 });
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 6 }), doc, (earlier, d) => {
        const m = new MappingRegistry();
        for (const e of earlier) {
          try {
            m.parse(e);
          } catch {
            // conflicting document: rejected, maps nothing
          }
        }
        let delta;
        try {
          delta = m.dynamicUpdate(d);
        } catch {
          return; // does not fit
        }
        if (!m.hasUnmapped(d)) expect(delta).toBeUndefined();
        if (delta) {
          m.merge(delta);
          expect(m.hasUnmapped(d)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('put_mapping merges into the index metadata, idempotently; a conflict changes nothing', () => {
    let s = applyClusterCommand(EMPTY_CLUSTER_STATE, { op: 'create_index', name: 'i', uuid: 'u', settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval_ms: 1000, delayed_timeout_ms: 60_000 }, mappings: { properties: { a: { type: 'long' } } } });
    const put = { op: 'put_mapping' as const, name: 'i', mappings: { properties: { b: { type: 'date' } } } };
    expect(isClusterCommand(put)).toBe(true);
    expect(isClusterCommand({ op: 'put_mapping', name: 'i', mappings: 'x' })).toBe(false);
    s = applyClusterCommand(s, put);
    expect(s.indices.i!.mappings.properties).toMatchObject({ a: { type: 'long' }, b: { type: 'date' } });
    expect(applyClusterCommand(s, put)).toBe(s);
    expect(applyClusterCommand(s, { op: 'put_mapping', name: 'i', mappings: { properties: { a: { type: 'text' } } } })).toBe(s);
    expect(applyClusterCommand(s, { op: 'put_mapping', name: 'nope', mappings: {} })).toBe(s);
  });

  it('put_mapping stamps the version that changed the mappings, and may change dynamic', () => {
    let s = applyClusterCommand(EMPTY_CLUSTER_STATE, { op: 'create_index', name: 'i', uuid: 'u', settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval_ms: 1000, delayed_timeout_ms: 60_000 }, mappings: { dynamic: 'strict', properties: { a: { type: 'long' } } } });
    expect(s.indices.i!.mappingVersion).toBeUndefined();
    s = applyClusterCommand(s, { op: 'put_mapping', name: 'i', mappings: { properties: { b: { type: 'keyword' } } } });
    expect(s.indices.i!.mappingVersion).toBe(s.version);
    expect(s.indices.i!.mappings.dynamic).toBe('strict');
    const before = s.version;
    s = applyClusterCommand(s, { op: 'put_mapping', name: 'i', mappings: { dynamic: true } });
    expect(s.indices.i!.mappings.dynamic).toBe(true);
    expect(s.indices.i!.mappingVersion).toBe(before + 1);
  });
});

describe('put-mapping rules (MappingRegistry.merge)', () => {
  const base = () =>
    new MappingRegistry({
      dynamic: 'strict',
      properties: { title: { type: 'text', analyzer: 'english' }, code: { type: 'keyword', ignore_above: 20 }, when: { type: 'date', format: 'epoch_millis' } },
    });

  it('a mapped field keeps its parameters; the same definition again changes nothing', () => {
    const m = base();
    const json = JSON.stringify(m.toJSON());
    expect(() => m.merge({ properties: { title: { type: 'text', analyzer: 'standard' } } })).toThrow(/Cannot update parameter \[analyzer\] from \[english\] to \[standard\]/);
    // Left out is the default, as in Elasticsearch: a change too.
    expect(() => m.merge({ properties: { title: { type: 'text' } } })).toThrow(/from \[english\] to \[default\]/);
    expect(() => m.merge({ properties: { code: { type: 'keyword', ignore_above: 30 } } })).toThrow(/ignore_above/);
    expect(() => m.merge({ properties: { when: { type: 'date' } } })).toThrow(/format/);
    expect(() => m.merge({ properties: { title: { type: 'text', analyzer: 'english', search_analyzer: 'standard' } } })).toThrow(/search_analyzer/);
    m.merge({ properties: { title: { type: 'text', analyzer: 'english' }, code: { type: 'keyword', ignore_above: 20 } } });
    expect(JSON.stringify(m.toJSON())).toBe(json);
  });

  it('all or nothing: a conflict anywhere adds none of the new fields', () => {
    const m = base();
    const json = JSON.stringify(m.toJSON());
    expect(() => m.merge({ dynamic: true, properties: { fresh: { type: 'long' }, title: { type: 'keyword' } } })).toThrow(/cannot be changed from type \[text\] to \[keyword\]/);
    expect(JSON.stringify(m.toJSON())).toBe(json);
    expect(m.dynamic).toBe('strict');
  });

  it('new multi-fields join a mapped field, and documents index them', () => {
    const m = base();
    m.merge({ properties: { title: { type: 'text', analyzer: 'english', fields: { raw: { type: 'keyword' } } } } });
    expect(m.toJSON().properties!.title).toEqual({ type: 'text', analyzer: 'english', fields: { raw: { type: 'keyword' } } });
    expect(m.field('title.raw')?.type).toBe('keyword');
    expect(m.parse({ title: 'Hello World' }).map((f) => f.path).sort()).toEqual(['title', 'title.raw']);
    // A multi-field already there keeps its parameters too.
    expect(() => m.merge({ properties: { title: { type: 'text', analyzer: 'english', fields: { raw: { type: 'keyword', ignore_above: 5 } } } } })).toThrow(/title\.raw/);
  });

  it('dynamic changes only when given; the update is checked like a mapping', () => {
    const m = base();
    m.merge({ properties: { n: { type: 'integer' } } });
    expect(m.dynamic).toBe('strict');
    expect(() => m.parse({ other: 1 })).toThrow(/strict/);
    m.merge({ dynamic: true });
    expect(m.parse({ other: 1 }).map((f) => f.path)).toEqual(['other']);
    expect(() => m.merge({ dynamic: 'sometimes' as never })).toThrow(/dynamic must be/);
    expect(() => m.merge({ propertiez: {} } as never)).toThrow(/unsupported parameters: \[propertiez\]/);
    expect(() => m.merge({ properties: { bad: { type: 'geo_shape' } } })).toThrow(/no handler for type/);
  });

  it('a merge either throws and changes nothing, or maps every field it names and is then a no-op (property)', () => {
    const type = fc.constantFrom('text', 'keyword', 'long', 'date');
    const field = fc.record({ type, ignore: fc.option(fc.constantFrom(10, 20), { nil: undefined }), sub: fc.option(fc.constantFrom('raw', 'alt'), { nil: undefined }) });
    const def = ({ type, ignore, sub }: { type: string; ignore?: number; sub?: string }) => ({
      type,
      ...(type === 'keyword' && ignore !== undefined ? { ignore_above: ignore } : {}),
      ...(sub ? { fields: { [sub]: { type: 'keyword' } } } : {}),
    });
    const props = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'o.x'), field, { maxKeys: 3 }).map((d) => {
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(d)) {
        if (k.startsWith('o.')) out.o = { properties: { x: def(f) } };
        else out[k] = def(f);
      }
      return out;
    });
    fc.assert(
      fc.property(props, props, fc.option(fc.constantFrom(true, false, 'strict' as const), { nil: undefined }), (mine, update, dynamic) => {
        const m = new MappingRegistry({ properties: mine });
        const before = JSON.stringify(m.toJSON());
        const u = dynamic === undefined ? { properties: update } : { dynamic, properties: update };
        try {
          m.merge(u);
        } catch (err) {
          expect(err).toBeInstanceOf(EngineError);
          expect(JSON.stringify(m.toJSON())).toBe(before);
          return;
        }
        const mapped = new MappingRegistry({ properties: update });
        for (const p of mapped.paths()) expect(m.field(p)?.type).toBe(mapped.field(p)!.type);
        if (dynamic !== undefined) expect(m.dynamic).toBe(dynamic);
        const after = JSON.stringify(m.toJSON());
        m.merge(u);
        expect(JSON.stringify(m.toJSON())).toBe(after);
        // What it held before is still there, unchanged (only multi-fields may have joined).
        const old = new MappingRegistry({ properties: mine });
        for (const p of old.paths()) expect({ ...m.field(p), fields: undefined }).toEqual({ ...old.field(p), fields: undefined });
      }),
      { numRuns: 300 },
    );
  });
});
