import fs from 'node:fs';
import path from 'node:path';
import { shardMachine } from '../../actors/shard.ts';
import type { ClusterCommand, ClusterState } from '../cluster/cluster-state.ts';
import type { ActorRef } from '../runtime/actor-ref.ts';
import type { ActorSystem } from '../runtime/actor-system.ts';
import { receive } from '../runtime/behavior.ts';
import { ShardCopy, type ShardIO } from './shard-copy.ts';

export const INDICES_PATH = '/system/indices';

/** The actor name of a shard copy: index uuid and shard number (names allow [A-Za-z0-9_-]). */
export function shardActorName(uuid: string, shard: number): string {
  return `${uuid}_${shard}`;
}

export interface IndicesHost {
  system: ActorSystem;
  nodeId: string;
  dataDir: string | undefined;
  propose(command: ClusterCommand): Promise<{ version: number; changed: boolean }>;
  waitForVersion(version: number, timeoutMs: number): Promise<ClusterState>;
  /** The cluster state version this node has applied. */
  stateVersion(): number;
}

interface Running {
  ref: ActorRef;
  allocationId: string;
  uuid: string;
}

/**
 * Keeps this node's shard actors in line with the cluster state: a copy assigned here gets a
 * shard actor under the indices supervisor, every routing change is passed on to it, and a copy
 * that is no longer assigned here is closed (its files are deleted when its index is).
 */
export class IndicesService {
  private readonly running = new Map<string, Running>();
  /** Shard actors that were told to close and have not stopped yet (by actor name). */
  private readonly stopping = new Map<string, Promise<void>>();
  private latest: ClusterState | undefined;
  private supervisor: ActorRef | undefined;

  constructor(private readonly host: IndicesHost) {}

  start(): void {
    const { system } = this.host;
    this.supervisor = system.internals.spawnUnder(system.internals.cell('/system')!, 'indices', receive(() => undefined), { restart: 'permanent' });
  }

  /**
   * Apply a new cluster-state version. Deferred to a microtask: states are applied inside the raft
   * peer's machine actions, and starting machines from there would nest xstate actor creation.
   */
  onState(state: ClusterState): void {
    queueMicrotask(() => this.reconcile(state));
  }

  private reconcile(state: ClusterState): void {
    if (!this.supervisor || !this.host.system.isRunning) return;
    this.latest = state;
    const wanted = new Set<string>();
    for (const [index, tables] of Object.entries(state.routing)) {
      const meta = state.indices[index];
      if (!meta) continue;
      tables.forEach((table, shard) => {
        const copy = table.copies.find((c) => c.node === this.host.nodeId);
        if (!copy) return;
        const name = shardActorName(meta.uuid, shard);
        wanted.add(name);
        const current = this.running.get(name);
        if (current && current.allocationId === copy.allocationId && this.host.system.internals.cell(current.ref.path)) {
          this.host.system.tell(current.ref, { type: 'shard.routing', table, meta });
          return;
        }
        if (current) this.stopCopy(name, false);
        // The previous actor of this name is still closing: start this copy once it has stopped
        // (spawning now would fail, and that failure would be reported as a failed copy).
        if (this.stopping.has(name)) return;
        const identity = {
          index,
          shard,
          allocationId: copy.allocationId,
          node: this.host.nodeId,
          dataDir: ShardCopy.dataDir(this.host.dataDir, this.host.nodeId, meta.uuid, shard),
        };
        try {
          const ref = this.host.system.internals.spawnUnder(this.host.system.internals.cell(INDICES_PATH)!, name, shardMachine, {
            restart: 'temporary',
            input: { identity, meta, table, io: this.io(meta.uuid, shard) },
          });
          this.running.set(name, { ref, allocationId: copy.allocationId, uuid: meta.uuid });
        } catch (err) {
          this.host.system.log.error({ index, shard, err: (err as Error).message }, 'could not start shard copy');
          void this.host
            .propose({ op: 'shard_failed', index, shard, allocationId: copy.allocationId, reason: `start failed: ${(err as Error).message}`, at: Date.now() })
            .catch(() => undefined);
        }
      });
    }
    const liveUuids = new Set(Object.values(state.indices).map((m) => m.uuid));
    for (const [name, r] of [...this.running]) if (!wanted.has(name)) this.stopCopy(name, !liveUuids.has(r.uuid));
  }

  /** The local shard actor of `uuid`/`shard`, if this node has a copy. */
  localRef(uuid: string, shard: number): ActorRef | undefined {
    return this.running.get(shardActorName(uuid, shard))?.ref;
  }

  private stopCopy(name: string, deleteFiles: boolean): void {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    const { system } = this.host;
    const alive = !!system.internals.cell(r.ref.path);
    const done = alive ? new Promise<void>((resolve) => {
      const off = system.watch(r.ref, () => (off(), resolve()));
      system.tell(r.ref, { type: 'shard.close' });
    }) : Promise.resolve();
    if (alive) {
      this.stopping.set(name, done);
      void done.then(() => {
        if (this.stopping.get(name) === done) this.stopping.delete(name);
        if (this.latest) this.onState(this.latest);
      });
    }
    if (deleteFiles && this.host.dataDir) {
      const dir = path.join(this.host.dataDir, this.host.nodeId, 'indices', r.uuid);
      void done.then(() => fs.rmSync(dir, { recursive: true, force: true }));
    }
  }

  private io(uuid: string, shard: number): ShardIO {
    const { system } = this.host;
    const name = shardActorName(uuid, shard);
    return {
      askCopy: (node, _allocationId, message, timeoutMs) =>
        system.ask(system.ref(`shoal://${system.cluster}/${node}${INDICES_PATH}/${name}`), message, { timeoutMs }),
      propose: (command) => this.host.propose(command),
      waitForVersion: (version, timeoutMs) => this.host.waitForVersion(version, timeoutMs),
      stateVersion: () => this.host.stateVersion(),
      now: () => system.clock.now(),
      sleep: (ms) => new Promise((resolve, reject) => (system.isRunning ? system.clock.setTimeout(resolve, ms) : reject(new Error('the node has stopped')))),
      log: system.log.child({ actor: `${INDICES_PATH}/${name}` }),
    };
  }
}
