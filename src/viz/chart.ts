import type { AnyStateMachine } from 'xstate';

/**
 * A machine's chart as plain data: what the Mermaid, SCXML and JSON exports are made from.
 *
 * It is read from xstate's state nodes rather than from `machine.definition`, because the
 * definition leaves out eventless (`always`) transitions and names inline guards nowhere.
 */
export type ChartStateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export type ChartTransitionKind = 'event' | 'after' | 'always' | 'done' | 'error' | 'wildcard';

export interface ChartTransition {
  kind: ChartTransitionKind;
  /** xstate's event type (`xstate.after.<delay>.<state id>` for `after`, '' for `always`). */
  eventType: string;
  /** What a diagram prints: the event, `after <delay>`, `always`, `done <src>`, `error <src>`. */
  label: string;
  /** A delay name from `setup({delays})`, or milliseconds. */
  delay?: string | number;
  /** The guard as text: a name, `!name`, `a && b`, `a || b`, or `inline`. */
  guard?: string;
  /** Target state ids; empty for a transition that only runs actions (stays in place). */
  targets: string[];
  reenter: boolean;
  actions: string[];
}

export interface ChartState {
  /** xstate's state id, e.g. `shard.started.replica` (the root's id is the machine id). */
  id: string;
  key: string;
  type: ChartStateType;
  /** Key of the initial child (compound states). */
  initial?: string;
  description?: string;
  entry: string[];
  exit: string[];
  /** Invoked actors: their ids and sources. */
  invoke: { id: string; src: string }[];
  transitions: ChartTransition[];
  /** Children in document order. */
  states: ChartState[];
}

export interface Chart {
  /** The machine id (the actor kind's name for the built-in machines). */
  id: string;
  root: ChartState;
}

type AnyNode = {
  id: string;
  key: string;
  type: ChartStateType;
  description?: string;
  states: Record<string, AnyNode>;
  initial?: { target: ReadonlyArray<AnyNode> };
  entry: unknown[];
  exit: unknown[];
  invoke: { id: string; src: unknown }[];
  transitions: Map<string, AnyTransition[]>;
  always?: AnyTransition[];
};

type AnyTransition = {
  eventType: string;
  target?: ReadonlyArray<AnyNode>;
  guard?: unknown;
  reenter?: boolean;
  actions?: unknown[];
  delay?: unknown;
};

/** Read a machine's chart. */
export function chartOf(machine: AnyStateMachine): Chart {
  const root = machine.root as unknown as AnyNode;
  return { id: machine.id, root: readState(root) };
}

function readState(node: AnyNode): ChartState {
  const children = Object.values(node.states ?? {});
  const transitions: ChartTransition[] = [];
  for (const list of node.transitions.values()) for (const t of list) transitions.push(readTransition(t, node));
  for (const t of node.always ?? []) transitions.push(readTransition(t, node));
  const initialTarget = node.type === 'compound' ? node.initial?.target?.[0] : undefined;
  const state: ChartState = {
    id: node.id,
    key: node.key,
    type: node.type,
    entry: actionNames(node.entry),
    exit: actionNames(node.exit),
    invoke: (node.invoke ?? []).map((i) => ({ id: i.id, src: srcName(i.src) })),
    transitions,
    states: children.map(readState),
  };
  if (initialTarget) state.initial = childKeyOf(node, initialTarget);
  if (node.description) state.description = node.description;
  return state;
}

/** The initial target may be a descendant (`initial: 'a.b'`): the chart names the direct child. */
function childKeyOf(parent: AnyNode, target: AnyNode): string {
  const rest = target.id.slice(parent.id.length + 1);
  return rest.split('.')[0]!;
}

const AFTER = /^xstate\.after\.(.+)\.[^.]*?$/;

function readTransition(t: AnyTransition, source: AnyNode): ChartTransition {
  const eventType = t.eventType ?? '';
  let kind: ChartTransitionKind = 'event';
  let label = eventType;
  let delay: string | number | undefined;
  if (eventType === '') {
    kind = 'always';
    label = 'always';
  } else if (eventType.startsWith('xstate.after.')) {
    kind = 'after';
    delay = typeof t.delay === 'number' || typeof t.delay === 'string' ? t.delay : afterDelay(eventType, source.id);
    label = `after ${typeof delay === 'number' ? `${delay} ms` : delay}`;
  } else if (eventType.startsWith('xstate.done.actor.') || eventType.startsWith('xstate.error.actor.')) {
    const done = eventType.startsWith('xstate.done.actor.');
    kind = done ? 'done' : 'error';
    const id = eventType.slice(done ? 'xstate.done.actor.'.length : 'xstate.error.actor.'.length);
    const inv = source.invoke?.find((i) => i.id === id);
    label = `${done ? 'done' : 'error'} ${inv ? srcName(inv.src) : id}`;
  } else if (eventType === '*' || eventType.endsWith('.*')) {
    kind = 'wildcard';
  }
  const out: ChartTransition = {
    kind,
    eventType,
    label,
    targets: (t.target ?? []).map((n) => n.id),
    reenter: !!t.reenter,
    actions: actionNames(t.actions ?? []),
  };
  if (delay !== undefined) out.delay = delay;
  const guard = t.guard === undefined ? undefined : guardText(t.guard);
  if (guard !== undefined) out.guard = guard;
  return out;
}

function afterDelay(eventType: string, stateId: string): string {
  const rest = eventType.slice('xstate.after.'.length);
  if (rest.endsWith(`.${stateId}`)) return rest.slice(0, -(stateId.length + 1));
  return AFTER.exec(eventType)?.[1] ?? rest;
}

/** A guard as text: named guards by name, xstate's `not`/`and`/`or` spelled out, others `inline`. */
export function guardText(g: unknown): string {
  if (typeof g === 'string') return g;
  if (g && typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') return (g as { type: string }).type;
  if (typeof g === 'function') {
    const f = g as { check?: { name?: string }; guards?: unknown[]; name?: string };
    if (Array.isArray(f.guards) && f.check) {
      const parts = f.guards.map((x) => {
        const s = guardText(x);
        return /[ &|]/.test(s) ? `(${s})` : s;
      });
      switch (f.check.name) {
        case 'checkNot':
          return parts.length === 1 ? `!${parts[0]}` : `!(${parts.join(' || ')})`;
        case 'checkAnd':
          return parts.join(' && ');
        case 'checkOr':
          return parts.join(' || ');
      }
    }
    return f.name && f.name !== 'guard' ? f.name : 'inline';
  }
  return 'inline';
}

function actionNames(actions: unknown[]): string[] {
  const out: string[] = [];
  for (const a of actions ?? []) {
    if (a === null || a === undefined || isImplicitDelay(a)) continue;
    if (typeof a === 'string') out.push(a);
    else if (typeof a === 'object' && typeof (a as { type?: unknown }).type === 'string') out.push((a as { type: string }).type);
    else if (typeof a === 'function') {
      const f = a as { type?: unknown; name?: string };
      // xstate's built-in actions (assign, raise, emit, …) carry their type.
      if (typeof f.type === 'string') out.push(f.type.replace(/^xstate\./, ''));
      else out.push(f.name && !/^(actions?|entry|exit)$/.test(f.name) ? f.name : 'inline');
    }
  }
  return out;
}

/** The raise/cancel pair xstate adds to a state's entry/exit for its `after` transitions. */
function isImplicitDelay(a: unknown): boolean {
  if (typeof a !== 'function') return false;
  const f = a as { type?: unknown; id?: unknown; sendId?: unknown };
  if (f.type === 'xstate.raise') return typeof f.id === 'string' && f.id.startsWith('xstate.after.');
  if (f.type === 'xstate.cancel') return typeof f.sendId === 'string' && f.sendId.startsWith('xstate.after.');
  return false;
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  if (src && typeof src === 'object' && typeof (src as { id?: unknown }).id === 'string') return (src as { id: string }).id;
  return 'inline';
}

/** Every state of a chart, depth first (the root first). */
export function allStates(chart: Chart): ChartState[] {
  const out: ChartState[] = [];
  const walk = (s: ChartState) => {
    out.push(s);
    s.states.forEach(walk);
  };
  walk(chart.root);
  return out;
}
