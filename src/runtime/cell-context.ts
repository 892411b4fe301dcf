import type { Logger } from 'pino';
import type { ActorCell } from './actor-cell.ts';
import type { ActorRef } from './actor-ref.ts';
import type { ActorSystem, AskOptions } from './actor-system.ts';
import type { BehaviorSource } from './behavior.ts';
import type { Clock } from './clock.ts';
import type { ActorContext, Replier } from './context.ts';
import type { ErrorBody } from './errors.ts';
import type { SpawnOptions, SupervisionOptions } from './supervision.ts';

/** The ActorContext of one cell; message-specific fields read the cell's current envelope. */
export class CellContext implements ActorContext {
  constructor(
    private readonly cell: ActorCell,
    readonly system: ActorSystem,
  ) {}

  get self(): ActorRef {
    return this.cell.ref;
  }
  get parent(): ActorRef | undefined {
    return this.cell.parent?.ref;
  }
  get log(): Logger {
    return this.cell.log;
  }
  get clock(): Clock {
    return this.system.clock;
  }
  get input(): unknown {
    return this.cell.input;
  }
  get sender(): ActorRef | undefined {
    return this.cell.currentEnvelope?.sender;
  }
  get isAsk(): boolean {
    return !!this.cell.currentEnvelope?.reply;
  }

  reply(value: unknown): void {
    const r = this.cell.currentEnvelope?.reply;
    if (r) r.ok(value);
    else this.log.debug('reply() outside an ask: ignored');
  }

  replyError(err: ErrorBody | Error): void {
    this.cell.currentEnvelope?.reply?.error(err);
  }

  deferReply(): Replier | undefined {
    const env = this.cell.currentEnvelope;
    const r = env?.reply;
    if (env) env.reply = undefined;
    return r;
  }

  tell(to: ActorRef | string, message: unknown): void {
    this.system.tell(this.system.ref(to), message, this.cell.ref);
  }

  ask<T = unknown>(to: ActorRef | string, message: unknown, opts?: AskOptions): Promise<T> {
    return this.system.ask<T>(this.system.ref(to), message, { sender: this.cell.ref, ...opts });
  }

  spawn(name: string, source: BehaviorSource, opts?: SpawnOptions): ActorRef {
    return this.system.internals.spawnUnder(this.cell, name, source, opts);
  }

  stop(child?: ActorRef): Promise<void> {
    if (!child || child.equals(this.cell.ref)) {
      this.cell.exit();
      return Promise.resolve();
    }
    const c = this.cell.children.get(child.name);
    if (!c || !c.ref.equals(child)) return Promise.reject(new Error(`${child.id} is not a child of ${this.cell.path}`));
    return c.stop('stopped');
  }

  children(): ActorRef[] {
    return [...this.cell.children.values()].map((c) => c.ref);
  }

  child(name: string): ActorRef | undefined {
    return this.cell.children.get(name)?.ref;
  }

  supervise(opts: SupervisionOptions): void {
    this.cell.configureSupervision(opts);
  }

  watch(target: ActorRef | string): void {
    this.system.internals.watchFromActor(this.cell, this.system.ref(target));
  }

  unwatch(target: ActorRef | string): void {
    this.system.internals.unwatchFromActor(this.cell, this.system.ref(target));
  }
}
