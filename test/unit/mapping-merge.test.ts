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
});
