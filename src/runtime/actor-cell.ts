import type { Logger } from 'pino';
import type { ActorRef } from './actor-ref.ts';
import { instantiate, isMachine, type ActorBehavior, type BehaviorSource } from './behavior.ts';
import type { ActorContext, Replier } from './context.ts';
import { NoSuchActorError, OverloadedError, Rejection, ShoalError, toErrorBody } from './errors.ts';
import { machineBehavior } from './machine-behavior.ts';
import { BoundedQueue } from './mailbox.ts';
import {
  backoffDelay,
  DEFAULT_SUPERVISION,
  RestartIntensity,
  resolveSupervision,
  type ResolvedSupervision,
  type RestartType,
  type SupervisionOptions,
} from './supervision.ts';
import type { SystemCore } from './system-core.ts';

export type CellStatus = 'starting' | 'running' | 'failed' | 'restarting' | 'stopping' | 'stopped';

export interface Envelope {
  message: unknown;
  sender?: ActorRef;
  reply?: Replier;
}

export interface CellOptions {
  input: unknown;
  restart: RestartType;
  shutdownMs: number;
  mailboxSize: number;
  /** The user and system guardians: they never escalate, they stop a child that fails too often. */
  guardian?: boolean;
}

/** A watcher of this actor: another actor (local or remote) or a callback from a script. */
export type WatcherEntry =
  | { kind: 'actor'; ref: ActorRef }
  | { kind: 'callback'; fn: (ref: ActorRef, reason: string) => void };

/** Messages processed per turn before yielding to I/O and other actors. */
const THROUGHPUT = 64;

/** True while some actor's turn is running: inline processing must never nest inside one. */
let insideTurn = false;

/** Thrown into a supervisor that exceeded its restart intensity: it fails, and its parent decides. */
export class EscalationError extends ShoalError {
  constructor(reason: string) {
    super('escalated', reason);
    this.name = 'EscalationError';
  }
}

/**
 * One actor: its mailbox, the current behaviour instance, its children and watchers, and the
 * supervision decisions it makes for its children. Restarts keep the cell, its ref and its
 * mailbox; only the behaviour instance (and the children it started) are made anew.
 */
export class ActorCell {
  readonly name: string;
  readonly path: string;
  readonly ref: ActorRef;
  status: CellStatus = 'starting';
  /** Children in start order (a Map keeps insertion order). */
  readonly children = new Map<string, ActorCell>();
  readonly watchers = new Map<string, WatcherEntry>();
  /** Ref ids this actor watches, so its watches are removed when it stops. */
  readonly watching = new Set<string>();
  /** How many times this actor has been restarted. */
  restarts = 0;

  private supervision: ResolvedSupervision = DEFAULT_SUPERVISION;
  private intensity = new RestartIntensity(DEFAULT_SUPERVISION);
  /** Guardians count restarts per child, so unrelated top-level actors do not share a budget. */
  private childIntensity = new Map<ActorCell, RestartIntensity>();
  private behavior: ActorBehavior | undefined;
  private readonly mailbox: BoundedQueue<Envelope>;
  /** Terminated notices: never refused for a full mailbox, handled before user mail. */
  private readonly systemQueue: Envelope[] = [];
  private current: Envelope | undefined;
  private scheduled = false;
  private busy = false;
  /** Bumped on every restart and stop, so late async completions of an old incarnation are ignored. */
  private generation = 0;
  private stopping: Promise<void> | undefined;
  private started!: Promise<void>;
  private resolveStarted!: () => void;
  private logger: Logger | undefined;
  private readonly ctx: ActorContext;
  private readonly runBound = () => this.run();

  constructor(
    private readonly system: SystemCore,
    readonly parent: ActorCell | undefined,
    name: string,
    private readonly source: BehaviorSource,
    readonly options: CellOptions,
  ) {
    this.name = name;
    this.path = parent ? `${parent.path}/${name}` : `/${name}`;
    this.ref = system.localRef(this.path);
    this.mailbox = new BoundedQueue(options.mailboxSize);
    this.ctx = system.makeContext(this);
    this.resetStarted();
  }

  get log(): Logger {
    return (this.logger ??= this.system.log.child({ actor: this.path }));
  }

  get input(): unknown {
    return this.options.input;
  }

  get restartType(): RestartType {
    return this.options.restart;
  }

  get mailboxDepth(): number {
    return this.mailbox.length;
  }

  get currentEnvelope(): Envelope | undefined {
    return this.current;
  }

  get isAlive(): boolean {
    return this.status !== 'stopped';
  }

  /** Resolves when the current start attempt has finished (running, failed or stopped). */
  whenStarted(): Promise<void> {
    return this.started;
  }

  configureSupervision(opts: SupervisionOptions): void {
    this.supervision = resolveSupervision(opts);
    this.intensity = new RestartIntensity(this.supervision);
    this.childIntensity.clear();
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  async start(): Promise<void> {
    this.status = 'starting';
    const generation = this.generation;
    try {
      const made = instantiate(this.source, this.options.input);
      this.behavior = isMachine(made) ? machineBehavior(made, this.system.machineOptions) : made;
      const r = this.behavior.start?.(this.ctx);
      if (r && typeof (r as Promise<void>).then === 'function') await r;
    } catch (err) {
      if (generation === this.generation) this.fail(err);
      return;
    }
    if (generation !== this.generation || this.status !== 'starting') return;
    this.status = 'running';
    this.resolveStarted();
    this.scheduleRun();
  }

  /**
   * Queue a message. Throws OverloadedError when the mailbox is full and NoSuchActorError when the
   * actor has stopped; an ask's replier gets the same error instead of a throw.
   */
  enqueue(env: Envelope, opts: { inline?: boolean } = {}): void {
    if (this.status === 'stopped' || this.status === 'stopping') {
      const err = new NoSuchActorError(`actor ${this.ref.id} has stopped`);
      if (env.reply) return env.reply.error(err);
      throw err;
    }
    if (!this.mailbox.push(env)) {
      const err = new OverloadedError(`mailbox of ${this.ref.id} is full (${this.mailbox.capacity} messages)`);
      if (env.reply) return env.reply.error(err);
      throw err;
    }
    // Mail from the network is handled at once when the actor is idle: a socket chunk can hold
    // thousands of messages, and waiting for a microtask would let them pile up in the mailbox.
    if (opts.inline && !insideTurn && !this.scheduled && !this.busy && this.status === 'running') this.run();
    else this.scheduleRun();
  }

  enqueueSystem(env: Envelope): void {
    if (this.status === 'stopped') return;
    this.systemQueue.push(env);
    this.scheduleRun();
  }

  /** A failure of this actor: the parent's strategy decides what happens next. */
  fail(err: unknown): void {
    if (this.status === 'failed' || this.status === 'stopping' || this.status === 'stopped') return;
    this.status = 'failed';
    this.busy = false;
    this.resolveStarted();
    this.log.error({ err }, 'actor failed');
    if (this.parent) this.parent.childFailed(this, { error: err });
    else void this.stop(failureReason(err));
  }

  /** A normal exit (ctx.stop() or a machine's final state): a permanent child is restarted. */
  exit(): void {
    if (this.status === 'stopping' || this.status === 'stopped') return;
    if (this.parent && this.options.restart === 'permanent' && this.parent.status === 'running') {
      this.status = 'failed';
      this.parent.childFailed(this, { normal: true });
    } else {
      void this.stop('normal');
    }
  }

  /** Stop for good: children in reverse start order, then the behaviour's stop hook. */
  stop(reason = 'stopped'): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  /** Stop at once without waiting for hooks: the shutdown timeout ran out. */
  kill(reason = 'killed'): void {
    this.generation++;
    for (const child of [...this.children.values()].reverse()) child.kill(reason);
    this.finalize(reason);
  }

  private async doStop(reason: string): Promise<void> {
    this.status = 'stopping';
    this.generation++;
    this.busy = false;
    await this.stopChildren('shutdown');
    await this.runStopHook(reason);
    this.finalize(reason);
  }

  private finalize(reason: string): void {
    if (this.status === 'stopped') return;
    this.status = 'stopped';
    this.resolveStarted();
    if (this.parent?.children.get(this.name) === this) this.parent.children.delete(this.name);
    this.parent?.childIntensity.delete(this);
    const gone = new NoSuchActorError(`actor ${this.ref.id} has stopped`);
    if (this.current?.reply && !this.current.reply.done) this.current.reply.error(gone);
    this.current = undefined;
    for (const env of this.mailbox.drain()) env.reply?.error(gone);
    this.systemQueue.length = 0;
    this.system.cellStopped(this, reason);
  }

  private async stopChildren(reason: string): Promise<void> {
    for (const child of [...this.children.values()].reverse()) await this.stopChildWithin(child, reason);
  }

  private stopChildWithin(child: ActorCell, reason: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.system.clock.setTimeout(() => {
        child.log.warn({ shutdownMs: child.options.shutdownMs }, 'shutdown timed out; killing');
        child.kill('killed');
        resolve();
      }, child.options.shutdownMs);
      child.stop(reason).then(() => {
        this.system.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  private async runStopHook(reason: string): Promise<void> {
    const behavior = this.behavior;
    this.behavior = undefined;
    if (!behavior?.stop) return;
    try {
      const r = behavior.stop(this.ctx, reason);
      if (r && typeof (r as Promise<void>).then === 'function') {
        await new Promise<void>((resolve) => {
          const timer = this.system.clock.setTimeout(resolve, this.options.shutdownMs);
          (r as Promise<void>).then(
            () => (this.system.clock.clearTimeout(timer), resolve()),
            (err) => (this.log.warn({ err }, 'stop hook failed'), this.system.clock.clearTimeout(timer), resolve()),
          );
        });
      }
    } catch (err) {
      this.log.warn({ err }, 'stop hook failed');
    }
  }

  /** Take the behaviour down for a restart; the mailbox stays. */
  private async suspendForRestart(): Promise<void> {
    if (this.status === 'stopping' || this.status === 'stopped') return;
    const failed = this.status === 'failed';
    this.status = 'restarting';
    this.generation++;
    this.busy = false;
    if (this.current?.reply && !this.current.reply.done) {
      this.current.reply.error(new ShoalError('actor_failed', `actor ${this.ref.id} restarted while handling the message`));
    }
    this.current = undefined;
    this.resetStarted();
    await this.stopChildren('shutdown');
    await this.runStopHook(failed ? 'restart' : 'shutdown');
  }

  private async restart(): Promise<void> {
    if (this.status !== 'restarting') return;
    this.restarts++;
    this.system.stats.restarts++;
    this.supervision = DEFAULT_SUPERVISION;
    this.intensity = new RestartIntensity(DEFAULT_SUPERVISION);
    this.log.info({ restarts: this.restarts }, 'restarting');
    await this.start();
  }

  // ---- supervision of children ------------------------------------------------------------------

  childFailed(child: ActorCell, cause: { error?: unknown; normal?: boolean }): void {
    if (this.status !== 'running' && this.status !== 'starting') {
      void child.stop('shutdown'); // this supervisor is going down or restarting anyway
      return;
    }
    const reason = cause.normal ? 'normal' : failureReason(cause.error);
    const restartType = child.options.restart;
    const restartIt = restartType === 'permanent' || (restartType === 'transient' && !cause.normal);
    if (!restartIt) {
      void child.stop(reason);
      return;
    }
    const intensity = this.intensityFor(child);
    const nth = intensity.record(this.system.clock.now());
    if (nth === undefined) {
      const why = `${child.path} restarted more than ${this.supervision.maxRestarts} times in ${this.supervision.periodMs} ms`;
      if (this.options.guardian) {
        this.log.error({ child: child.path }, `${why}; stopping it`);
        void child.stop('escalated');
      } else {
        this.log.error({ child: child.path }, `${why}; escalating`);
        this.fail(new EscalationError(why));
      }
      return;
    }
    const group = this.restartGroup(child);
    void this.restartChildren(group, backoffDelay(this.supervision.backoff, nth));
  }

  private intensityFor(child: ActorCell): RestartIntensity {
    if (!this.options.guardian) return this.intensity;
    let i = this.childIntensity.get(child);
    if (!i) this.childIntensity.set(child, (i = new RestartIntensity(this.supervision)));
    return i;
  }

  /** Which children restart together, per the strategy, in start order. */
  private restartGroup(failed: ActorCell): ActorCell[] {
    const siblings = [...this.children.values()];
    switch (this.supervision.strategy) {
      case 'one_for_one':
        return [failed];
      case 'one_for_all':
        return siblings;
      case 'rest_for_one':
        return siblings.slice(Math.max(0, siblings.indexOf(failed)));
    }
  }

  private async restartChildren(group: ActorCell[], delayMs: number): Promise<void> {
    const generation = this.generation;
    // Terminate in reverse start order; a temporary sibling dragged into the group is not restarted.
    for (const c of [...group].reverse()) {
      if (c.options.restart === 'temporary' && c.status !== 'failed') await this.stopChildWithin(c, 'shutdown');
      else await c.suspendForRestart();
    }
    if (delayMs > 0) await new Promise<void>((r) => this.system.clock.setTimeout(r, delayMs));
    if (generation !== this.generation) return; // this supervisor itself restarted or stopped meanwhile
    for (const c of group) {
      if (this.children.get(c.name) !== c) continue;
      await c.restart();
      await c.whenStarted();
    }
  }

  // ---- message processing -------------------------------------------------------------------------

  private scheduleRun(): void {
    if (this.scheduled || this.busy || this.status !== 'running') return;
    if (this.mailbox.length === 0 && this.systemQueue.length === 0) return;
    this.scheduled = true;
    queueMicrotask(this.runBound);
  }

  private run(): void {
    this.scheduled = false;
    const outer = insideTurn;
    insideTurn = true;
    try {
      for (let budget = THROUGHPUT; budget > 0; budget--) {
        if (this.status !== 'running' || this.busy) return;
        const env = this.systemQueue.length > 0 ? this.systemQueue.shift() : this.mailbox.shift();
        if (!env) return;
        this.invoke(env);
      }
    } finally {
      insideTurn = outer;
    }
    // Budget spent: yield to I/O and other actors, then go on.
    if (this.status === 'running' && !this.busy && (this.mailbox.length > 0 || this.systemQueue.length > 0)) {
      this.scheduled = true;
      this.system.clock.schedule(this.runBound);
    }
  }

  private invoke(env: Envelope): void {
    this.current = env;
    let result: unknown;
    try {
      result = this.behavior!.receive(this.ctx, env.message);
    } catch (err) {
      this.onReceiveError(err, env);
      return;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      this.busy = true;
      const generation = this.generation;
      (result as Promise<unknown>).then(
        (value) => {
          if (generation !== this.generation) return;
          this.busy = false;
          this.finishMessage(env, value);
          this.scheduleRun();
        },
        (err) => {
          if (generation !== this.generation) return;
          this.busy = false;
          this.onReceiveError(err, env);
          this.scheduleRun();
        },
      );
      return;
    }
    this.finishMessage(env, result);
  }

  /**
   * An ask that the handler neither answered nor deferred could never be answered later: answer
   * it now with what the handler returned (undefined included) instead of letting the asker wait.
   */
  private finishMessage(env: Envelope, value: unknown): void {
    this.current = undefined;
    if (env.reply && !env.reply.done) env.reply.ok(value);
  }

  private onReceiveError(err: unknown, env: Envelope): void {
    this.current = undefined;
    if (err instanceof Rejection) {
      if (env.reply && !env.reply.done) env.reply.error(err);
      else this.log.warn({ reason: err.message }, 'message rejected');
      return;
    }
    if (env.reply && !env.reply.done) env.reply.error(toErrorBody(err));
    this.fail(err);
  }

  private resetStarted(): void {
    this.started = new Promise<void>((r) => (this.resolveStarted = r));
  }
}

export function failureReason(err: unknown): string {
  if (err instanceof EscalationError) return 'escalated';
  return `failed: ${err instanceof Error ? err.message : String(err)}`;
}
