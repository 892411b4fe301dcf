import type { ActorBehavior } from './behavior.ts';
import type { ActorContext } from './context.ts';
import { Rejection } from './errors.ts';
import type { ChildSpec, SupervisionOptions } from './supervision.ts';

export interface SupervisorSpec extends SupervisionOptions {
  /** Started in this order, each once the previous has started; stopped in reverse order. */
  children: ChildSpec[];
}

/** Requests a supervisor answers (ask). */
export type SupervisorRequest =
  | { type: 'which_children' }
  | { type: 'start_child'; kind: string; name?: string; input?: unknown }
  | { type: 'terminate_child'; id: string };

export interface ChildInfo {
  id: string;
  ref: string;
  status: string;
  restarts: number;
}

/**
 * An OTP supervisor: starts its child specs in order, restarts them per strategy, restart type and
 * intensity, and stops them in reverse order. More children can be added at run time by kind
 * (`start_child`, also from other nodes).
 */
export function supervisor(spec: SupervisorSpec): () => ActorBehavior {
  const ids = new Set<string>();
  for (const c of spec.children) {
    if (ids.has(c.id)) throw new TypeError(`duplicate child id '${c.id}'`);
    ids.add(c.id);
  }
  return () => ({
    async start(ctx) {
      ctx.supervise(spec);
      for (const child of spec.children) {
        const { id, start, ...opts } = child;
        const ref = ctx.spawn(id, start, { restart: 'permanent', ...opts });
        await ctx.system.internals.cell(ref.path)?.whenStarted();
      }
    },
    receive(ctx, message) {
      const req = message as SupervisorRequest;
      switch (req?.type) {
        case 'which_children':
          return whichChildren(ctx);
        case 'start_child':
          return ctx.system.internals.spawnKindUnder(ctx.self, req.kind, req.name, req.input).id;
        case 'terminate_child': {
          const ref = ctx.child(req.id);
          if (!ref) throw new Rejection('no_such_actor', `no child '${req.id}'`);
          return ctx.stop(ref).then(() => true);
        }
        default:
          throw new Rejection('bad_message', `a supervisor does not understand ${JSON.stringify((req as { type?: unknown })?.type)}`);
      }
    },
  });
}

function whichChildren(ctx: ActorContext): ChildInfo[] {
  return ctx.children().map((ref) => {
    const cell = ctx.system.internals.cell(ref.path);
    return { id: ref.name, ref: ref.id, status: cell?.status ?? 'stopped', restarts: cell?.restarts ?? 0 };
  });
}
