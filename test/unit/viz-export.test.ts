import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { assign, fromPromise, not, and, setup } from 'xstate';
import { allStates, chartOf, type ChartState } from '../../src/viz/chart.ts';
import { BUILTIN_CHARTS, renderChartDocs } from '../../src/viz/catalog.ts';
import { toJson, toMermaid, toScxml } from '../../src/viz/export.ts';
import { parseMermaid } from '../support/mermaid.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const mid = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');

/** A user machine with every feature the exporters handle. */
const userMachine = setup({
  types: {} as { context: { n: number }; events: { type: 'go' } | { type: 'stop' } | { type: 'tick' } },
  guards: { big: ({ context }) => context.n > 3, odd: ({ context }) => context.n % 2 === 1 },
  actions: { bump: assign({ n: ({ context }) => context.n + 1 }) },
  actors: { load: fromPromise(async () => 1) },
}).createMachine({
  id: 'user-demo',
  context: { n: 0 },
  initial: 'idle',
  on: { stop: '.done' },
  states: {
    idle: { on: { go: { target: 'busy', guard: not('big') }, tick: { actions: 'bump' } } },
    busy: {
      type: 'parallel',
      states: {
        left: { initial: 'a', states: { a: { after: { 500: 'b' } }, b: { always: { guard: and(['big', 'odd']), target: '#user-demo.done' } } } },
        right: { initial: 'loading', states: { loading: { invoke: { src: 'load', onDone: 'loaded' } }, loaded: {} } },
      },
    },
    done: { type: 'final' },
  },
});

const machines = [...BUILTIN_CHARTS.map((e) => ({ kind: e.kind, machine: e.machine })), { kind: 'user-demo', machine: userMachine }];

describe('state-chart export', () => {
  it('docs/machines and docs/MACHINES.md match the code (else run `npm run viz:export`)', () => {
    const stale: string[] = [];
    for (const [rel, text] of renderChartDocs()) {
      const path = join(ROOT, rel);
      if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(rel);
    }
    expect(stale, `out of date: ${stale.join(', ')}; run \`npm run viz:export\` and commit docs/`).toEqual([]);
  });

  for (const { kind, machine } of machines) {
    describe(kind, () => {
      const chart = chartOf(machine);
      const states = allStates(chart).slice(1);
      const parentOf = new Map<string, ChartState>();
      for (const s of allStates(chart)) for (const c of s.states) parentOf.set(c.id, s);

      it('Mermaid: parses with mermaid, every state under its parent, every transition an edge', async () => {
        const text = toMermaid(machine);
        const parsed = await parseMermaid(text);
        expect(parsed.type).toBe('stateDiagram');
        const nodes = new Map(parsed.nodes.map((n) => [n.id, n]));
        for (const s of states) {
          const node = nodes.get(mid(s.id));
          expect(node, `state ${s.id}`).toBeDefined();
          expect(node!.label).toBe(s.type === 'parallel' ? `${s.key} (parallel)` : s.key);
          expect(node!.isGroup).toBe(s.states.length > 0);
          const parent = parentOf.get(s.id)!;
          if (parent === chart.root) expect(node!.parentId).toBeUndefined();
          else if (parent.type === 'parallel') expect(nodes.get(node!.parentId!)?.parentId).toBe(mid(parent.id));
          else expect(node!.parentId).toBe(mid(parent.id));
        }
        const expected = states.flatMap((s) => s.transitions.flatMap((t) => t.targets.map((target) => `${mid(s.id)}->${mid(target)}`))).sort();
        const drawn = parsed.edges.filter((e) => !/_(start|end)$|----note-/.test(e.start) && !/_(start|end)$|----note-/.test(e.end)).map((e) => `${e.start}->${e.end}`).sort();
        expect(drawn).toEqual(expected);
        // One [*] → initial per block, one → [*] per final state.
        const finals = states.filter((s) => s.type === 'final').length;
        expect(parsed.edges.filter((e) => /_end$/.test(e.end))).toHaveLength(finals);
      });

      it('SCXML: well-formed XML, one element per state, targets and initials that exist', () => {
        const text = toScxml(machine);
        expect(XMLValidator.validate(text)).toBe(true);
        const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (_name, _path, _leaf, isAttribute) => !isAttribute }).parse(text);
        const scxml = doc.scxml[0];
        expect(scxml.xmlns).toBe('http://www.w3.org/2005/07/scxml');
        const seen = new Map<string, string>();
        const targets: string[] = [];
        const initials: [string, string][] = [];
        let eventless = 0;
        const walk = (el: any, tag: string) => {
          if (el.id) {
            expect(seen.has(el.id), `duplicate id ${el.id}`).toBe(false);
            seen.set(el.id, tag);
          }
          if (el.initial) initials.push([el.id ?? '', el.initial]);
          for (const t of el.transition ?? []) {
            if (t.target) targets.push(...String(t.target).split(' '));
            if (!t.event) eventless++;
          }
          for (const child of ['state', 'parallel', 'final']) for (const c of el[child] ?? []) walk(c, child);
        };
        walk(scxml, 'scxml');
        for (const s of states) expect(seen.get(s.id), s.id).toBe(s.type === 'parallel' ? 'parallel' : s.type === 'final' ? 'final' : 'state');
        expect(seen.size).toBe(states.length);
        for (const t of targets) expect(seen.has(t), `target ${t}`).toBe(true);
        for (const [, init] of initials) expect(seen.has(init), `initial ${init}`).toBe(true);
        expect(eventless).toBe(allStates(chart).flatMap((s) => s.transitions).filter((t) => t.kind === 'always').length);
      });

      it("JSON: xstate's definition plus the complete chart", () => {
        const json = JSON.parse(toJson(machine));
        expect(json.format).toBe('shoal-chart/1');
        expect(json.definition.id).toBe(machine.id);
        expect(Object.keys(json.definition.states)).toEqual(chart.root.states.map((s) => s.key));
        expect(json.chart).toEqual(JSON.parse(JSON.stringify(chart)));
      });
    });
  }

  it('labels guards, delays, eventless and invoked-actor transitions, parallel regions and final states', async () => {
    const text = toMermaid(userMachine);
    expect(text).toContain('user_demo_idle --> user_demo_busy : go [!big]');
    expect(text).toContain('user_demo_busy_left_a --> user_demo_busy_left_b : after 500 ms');
    expect(text).toContain('user_demo_busy_left_b --> user_demo_done : always [big && odd]');
    expect(text).toContain('user_demo_busy_right_loading --> user_demo_busy_right_loaded : done load');
    expect(text).toContain('user_demo_idle : on tick / bump');
    expect(text).toContain('on stop → done');
    expect(text).toContain('user_demo_done --> [*]');
    expect(text).toMatch(/state "busy \(parallel\)" as user_demo_busy \{[\s\S]*\n\s+--\n/);
    const scxml = toScxml(userMachine);
    expect(scxml).toContain('<parallel id="user-demo.busy">');
    expect(scxml).toContain('<final id="user-demo.done">');
    expect(scxml).toContain('delay="500ms"');
    expect(scxml).toContain('<transition cond="big &amp;&amp; odd" target="user-demo.done"/>');
    const shard = toMermaid(BUILTIN_CHARTS.find((e) => e.kind === 'shard')!.machine);
    expect(shard).toContain('shard_recovering --> shard_failed : error recover [givesUp] / assign');
    expect(shard).toContain('shard_started_replica_relocating --> shard_started_replica_active : always [!isRelocating]');
  });

  it("the Mermaid check can fail: mermaid's parser rejects a broken diagram", async () => {
    await expect(parseMermaid('stateDiagram-v2\n  [*] --> a\n  a --> : go\n')).rejects.toThrow(/Parse error/);
  });
});
