/**
 * Small simulated clusters for deterministic tests: ShoalNodes on the in-memory transport under
 * one SimulatedClock, and a way to wait for a promise while the clock runs.
 */
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';

export const SIM_MASTERS = ['n1', 'n2', 'n3'];

export interface SimCluster {
  clock: SimulatedClock;
  nodes: Map<string, ShoalNode>;
  /** Virtual ms each node holds every new cluster-state version back (0 when absent). */
  lag: Map<string, number>;
  /** Run the clock until `p` settles (at most `maxMs` virtual ms); its value, or its error thrown. */
  drive<T>(p: Promise<T>, what: string, maxMs?: number): Promise<T>;
  /** The same, answering the outcome instead of throwing. */
  settle<T>(p: Promise<T>, maxMs?: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown }>;
  start(id: string): Promise<ShoalNode>;
  shutdown(): Promise<void>;
}

export function simCluster(): SimCluster {
  const clock = new SimulatedClock({ start: 0, settleTurns: 1 });
  const network = new MemoryNetwork({ clock });
  const nodes = new Map<string, ShoalNode>();
  const lag = new Map<string, number>();
  const settle = async <T>(p: Promise<T>, maxMs = 20_000): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> => {
    let done: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    p.then(
      (value) => (done = { ok: true, value }),
      (error) => (done = { ok: false, error }),
    );
    await clock.runUntil(() => done !== undefined, { maxTimeMs: maxMs });
    if (!done) throw new Error(`did not settle within ${maxMs} virtual ms`);
    return done;
  };
  const drive = async <T>(p: Promise<T>, what: string, maxMs = 20_000): Promise<T> => {
    const r = await settle(p, maxMs).catch(() => {
      throw new Error(`${what} did not finish within ${maxMs} virtual ms`);
    });
    if (!r.ok) throw r.error;
    return r.value;
  };
  const start = async (id: string) => {
    // A seeded generator per node (Raft's election timeouts), so a run replays exactly.
    const seeded = new SeededRandom(SIM_MASTERS.indexOf(id) + 1);
    const random = () => seeded.next();
    const node = await drive(
      ShoalNode.start({ nodeId: id, transport: network.connect(id), clock, random, storage: new MemoryRaftStorage(), logLevel: 'silent', masters: SIM_MASTERS, stateApplyLag: () => lag.get(id) ?? 0 }),
      `start ${id}`,
    );
    nodes.set(id, node);
    return node;
  };
  const shutdown = async () => {
    lag.clear();
    for (const n of nodes.values()) await settle(n.shutdown(), 5_000).catch(() => undefined);
  };
  return { clock, nodes, lag, drive, settle, start, shutdown };
}
