import { addExtension } from 'msgpackr';
import { subjects } from '../transport/subjects.ts';
import type { AskOptions } from './actor-system.ts';

/** What an ActorRef needs from the system that created or decoded it. */
export interface RefBinding {
  tell(ref: ActorRef, message: unknown, from?: ActorRef): void;
  ask<T = unknown>(ref: ActorRef, message: unknown, opts?: AskOptions): Promise<T>;
}

const REF_PREFIX = 'shoal://';

/**
 * A serialisable actor address: cluster, node id and path (`/user/a/b`). Refs made or decoded by
 * an ActorSystem are bound to it, so `ref.tell(msg)` works; equality is by address (`ref.id`).
 */
export class ActorRef {
  readonly cluster: string;
  readonly node: string;
  readonly path: string;
  /** Private fields: a ref never drags its system into a message or a log line. */
  readonly #binding: RefBinding | undefined;
  #id: string | undefined;
  #mailSubject: string | undefined;

  constructor(cluster: string, node: string, path: string, binding?: RefBinding) {
    this.cluster = cluster;
    this.node = node;
    this.path = path;
    this.#binding = binding;
  }

  /** `shoal://cluster/node/user/a` */
  get id(): string {
    return (this.#id ??= `${REF_PREFIX}${this.cluster}/${this.node}${this.path}`);
  }

  /** The NATS subject of this actor's mail (computed once per ref: it is on every send). */
  get mailSubject(): string {
    return (this.#mailSubject ??= subjects.actor(this.cluster, this.node, this.path));
  }

  get name(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }

  equals(other: ActorRef | undefined): boolean {
    return !!other && other.id === this.id;
  }

  tell(message: unknown, from?: ActorRef): void {
    this.bound().tell(this, message, from);
  }

  ask<T = unknown>(message: unknown, opts?: AskOptions): Promise<T> {
    return this.bound().ask<T>(this, message, opts);
  }

  withBinding(binding: RefBinding): ActorRef {
    return new ActorRef(this.cluster, this.node, this.path, binding);
  }

  private bound(): RefBinding {
    if (!this.#binding) throw new Error(`ActorRef ${this.id} is not bound to an ActorSystem; use system.ref()`);
    return this.#binding;
  }

  static parse(id: string, binding?: RefBinding): ActorRef {
    const ref = tryParseRef(id, binding);
    if (!ref) throw new TypeError(`not an actor ref: ${JSON.stringify(id)}`);
    return ref;
  }
}

const REF_RE = /^shoal:\/\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_-]+)((?:\/[A-Za-z0-9_-]+)+)$/;

export function tryParseRef(id: unknown, binding?: RefBinding): ActorRef | undefined {
  if (typeof id !== 'string') return undefined;
  const m = REF_RE.exec(id);
  if (!m) return undefined;
  return new ActorRef(m[1]!, m[2]!, m[3]!, binding);
}

/**
 * Refs inside messages travel as a msgpack extension and are re-bound to the system that decodes
 * them: decoding is synchronous, so the decoding system is set around the call.
 */
let decodingBinding: RefBinding | undefined;

export function withDecodingBinding<T>(binding: RefBinding, fn: () => T): T {
  const prev = decodingBinding;
  decodingBinding = binding;
  try {
    return fn();
  } finally {
    decodingBinding = prev;
  }
}

addExtension({
  Class: ActorRef,
  type: 0x53, // 'S'
  write: (ref: ActorRef) => ref.id,
  read: (id: string) => tryParseRef(id, decodingBinding) ?? id,
});
