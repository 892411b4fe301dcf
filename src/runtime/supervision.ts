import type { BehaviorSource } from './behavior.ts';

/**
 * Supervision as in Erlang/OTP. A supervisor's strategy decides which children restart when one
 * fails; a child's restart type decides whether it restarts at all; restart intensity bounds how
 * often, and past it the supervisor fails itself (escalation to its own parent).
 */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

/** permanent: always restarted; transient: restarted after a failure only; temporary: never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface BackoffOptions {
  /** Delay before the first restart in a period (0 = immediately). */
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface SupervisionOptions {
  strategy?: Strategy;
  /** At most this many restarts… */
  maxRestarts?: number;
  /** …within this many milliseconds, else escalate. */
  periodMs?: number;
  backoff?: Partial<BackoffOptions>;
}

export type ResolvedSupervision = Required<Omit<SupervisionOptions, 'backoff'>> & { backoff: BackoffOptions };

export const DEFAULT_SUPERVISION: ResolvedSupervision = {
  strategy: 'one_for_one',
  maxRestarts: 3,
  periodMs: 5_000,
  backoff: { initialMs: 0, maxMs: 1_000, factor: 2 },
};

export function resolveSupervision(opts: SupervisionOptions | undefined): ResolvedSupervision {
  const o = opts ?? {};
  const strategy = o.strategy ?? DEFAULT_SUPERVISION.strategy;
  if (!['one_for_one', 'one_for_all', 'rest_for_one'].includes(strategy)) {
    throw new TypeError(`unknown supervision strategy ${JSON.stringify(strategy)}`);
  }
  const maxRestarts = o.maxRestarts ?? DEFAULT_SUPERVISION.maxRestarts;
  const periodMs = o.periodMs ?? DEFAULT_SUPERVISION.periodMs;
  if (!(maxRestarts >= 0) || !(periodMs > 0)) throw new RangeError('maxRestarts must be >= 0 and periodMs > 0');
  return { strategy, maxRestarts, periodMs, backoff: { ...DEFAULT_SUPERVISION.backoff, ...o.backoff } };
}

export interface SpawnOptions {
  /** Given to the behaviour factory and to the machine as input. */
  input?: unknown;
  /** Default: transient for ad-hoc spawns, permanent for supervisor child specs (as in OTP). */
  restart?: RestartType;
  /** How long the actor may take to stop (its children, then its stop hook) before it is killed. */
  shutdownMs?: number;
  /** Mailbox capacity; a full mailbox answers `overloaded`. */
  mailboxSize?: number;
  /** Also register the actor under this name in the node's registry. */
  register?: string;
}

export interface ChildSpec extends SpawnOptions {
  /** The child's name, unique among its siblings. */
  id: string;
  start: BehaviorSource;
}

export const DEFAULT_SHUTDOWN_MS = 5_000;
export const DEFAULT_MAILBOX_SIZE = 4_096;

/** Sliding-window restart counter of one supervisor. */
export class RestartIntensity {
  private restarts: number[] = [];

  constructor(private readonly config: ResolvedSupervision) {}

  /**
   * Record a restart at `now`. Returns the restart's ordinal within the period (1-based), or
   * undefined when it exceeds the intensity, which means: escalate.
   */
  record(now: number): number | undefined {
    const since = now - this.config.periodMs;
    this.restarts = this.restarts.filter((t) => t > since);
    if (this.restarts.length >= this.config.maxRestarts) return undefined;
    this.restarts.push(now);
    return this.restarts.length;
  }

  reset(): void {
    this.restarts = [];
  }
}

/** Exponential backoff for the n-th restart within a period (1-based). */
export function backoffDelay(b: BackoffOptions, n: number): number {
  if (n <= 1) return Math.min(b.initialMs, b.maxMs);
  const base = b.initialMs > 0 ? b.initialMs : 1;
  return Math.min(b.maxMs, base * Math.pow(b.factor, n - 1));
}
