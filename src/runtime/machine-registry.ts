import type { AnyActor } from 'xstate';

/** A running xstate actor behind an actor cell. */
export interface LiveMachine {
  /** The xstate actor (its `system.inspect` attaches an inspection observer at run time). */
  actor: AnyActor;
  /** The cell's actor path, e.g. `/system/indices/books-0-abc`. */
  path: string;
  /** The machine's id: the actor kind (`shard`, `raft`, `node`, `replicaGroup`, …). */
  kind: string;
}

export interface MachineListener {
  added?(m: LiveMachine): void;
  removed?(m: LiveMachine): void;
  /**
   * Asked before an actor is created: an inspection callback to pass to xstate's createActor,
   * so the listener sees the steps xstate takes while it creates the actor, or undefined.
   */
  inspectFromBirth?(path: string, kind: string): ((event: unknown) => void) | undefined;
}

type Listener = MachineListener;

/**
 * The machine actors running on one ActorSystem. Tools that look at machines (the live
 * transition stream) listen here; with no listener, tracking is a Set insert and delete per
 * actor start and stop.
 */
export class MachineRegistry {
  private readonly live = new Set<LiveMachine>();
  private readonly listeners = new Set<Listener>();

  /** Called by the machine behaviour before it starts the actor, so a listener sees its first steps. */
  add(m: LiveMachine): void {
    this.live.add(m);
    for (const l of this.listeners) l.added?.(m);
  }

  remove(m: LiveMachine): void {
    if (!this.live.delete(m)) return;
    for (const l of this.listeners) l.removed?.(m);
  }

  /** Listen to machines starting and stopping; `added` runs at once for those already running. */
  listen(l: Listener): () => void {
    this.listeners.add(l);
    for (const m of this.live) l.added?.(m);
    return () => this.listeners.delete(l);
  }

  /** An inspection callback for a machine actor about to be created (see MachineListener). */
  inspectFromBirth(path: string, kind: string): ((event: unknown) => void) | undefined {
    let fns: ((event: unknown) => void)[] | undefined;
    for (const l of this.listeners) {
      const fn = l.inspectFromBirth?.(path, kind);
      if (fn) (fns ??= []).push(fn);
    }
    if (!fns) return undefined;
    if (fns.length === 1) return fns[0];
    const all = fns;
    return (event) => {
      for (const fn of all) fn(event);
    };
  }

  all(): LiveMachine[] {
    return [...this.live];
  }

  get size(): number {
    return this.live.size;
  }
}
