/**
 * Failover with a real nats-server and real node processes (`shoal start`):
 * - SIGKILL the master of a 3-node cluster: a new master is elected, the dead node is removed,
 *   cluster-state changes still commit; the killed node restarts from its data directory with its
 *   log intact, rejoins and catches up.
 * - SIGSTOP the master, then SIGCONT it: the others elect a new master in a higher term, the old
 *   one steps down when it resumes, and no term ever has two leaders.
 *
 * Everything waits on conditions with deadlines (real processes, real time); a failure carries
 * the tail of the nodes' logs.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../src/cluster/cluster-state.ts';
import { RAFT_PATH } from '../../src/node/shoal-node.ts';
import { FileRaftStorage } from '../../src/raft/file-storage.ts';
import type { RaftStatus } from '../../src/raft/peer-state.ts';
import { ProcessCluster, type NodeProcessHandle } from '../../src/testing/cluster-processes.ts';

const TEST_TIMEOUT_MS = 60_000;
const LOG_TAIL_CHARS = 4_000;

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `probe` until it returns something other than undefined, or throw after `timeoutMs`. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number, last?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const extra = last ? `; last seen: ${JSON.stringify(last())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await pause(10);
  }
}

/** Every process handle this test started, including killed ones (ProcessCluster forgets those). */
class Handles {
  private readonly all: NodeProcessHandle[] = [];
  add(h: NodeProcessHandle): void {
    if (!this.all.includes(h)) this.all.push(h);
  }
  addAll(cluster: ProcessCluster): void {
    for (const h of cluster.nodes.values()) this.add(h);
  }
  /** The tail of each node's output (every incarnation), for failure messages. */
  logs(ids?: string[]): string {
    return this.all
      .filter((h) => !ids || ids.includes(h.id))
      .map((h, i) => {
        const out = h.output().trim();
        const status = h.child.exitCode !== null || h.child.signalCode !== null ? ` exited (${h.child.signalCode ?? h.child.exitCode})` : '';
        return `--- ${h.id} #${i} pid ${h.child.pid}${status} ---\n${out ? out.slice(-LOG_TAIL_CHARS) : '(no output)'}`;
      })
      .join('\n');
  }
}

/**
 * Polls every node's raft status in the background (one ask in flight per node, every 20 ms) and
 * records, per term, which nodes said they were leader, and whom the followers took for leader.
 */
class LeaderMonitor {
  /** term → nodes that reported role 'leader' in that term. */
  readonly selfReported = new Map<number, Set<string>>();
  /** term → leader ids that followers reported (RaftStatus.leader) in that term. */
  readonly followerReported = new Map<number, Set<string>>();
  samples = 0;
  failures = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly cluster: ProcessCluster,
    ids: string[],
  ) {
    this.loops = ids.map((id) => this.loop(id));
  }

  private async loop(id: string): Promise<void> {
    while (this.running) {
      try {
        const s = await this.cluster.raftStatus(id, 300);
        this.samples++;
        if (s.role === 'leader') add(this.selfReported, s.term, s.id);
        else if (s.leader) add(this.followerReported, s.term, s.leader);
      } catch {
        this.failures++; // paused or dead: it cannot answer
      }
      await pause(20);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Terms in which more than one node was leader (by their own or their followers' account). */
  conflicts(): string[] {
    const terms = new Set([...this.selfReported.keys(), ...this.followerReported.keys()]);
    const out: string[] = [];
    for (const t of [...terms].sort((a, b) => a - b)) {
      const all = new Set([...(this.selfReported.get(t) ?? []), ...(this.followerReported.get(t) ?? [])]);
      if (all.size > 1) out.push(`term ${t}: leaders ${[...all].join(', ')}`);
    }
    return out;
  }

  describe(): string {
    const fmt = (m: Map<number, Set<string>>) =>
      [...m.entries()]
        .sort(([a], [b]) => a - b)
        .map(([t, ids]) => `${t}:${[...ids].join('+')}`)
        .join(' ');
    return `leaders by term (self-reported) {${fmt(this.selfReported)}}, (followers) {${fmt(this.followerReported)}}; ${this.samples} samples, ${this.failures} failed asks`;
  }
}

function add(m: Map<number, Set<string>>, term: number, id: string): void {
  let s = m.get(term);
  if (!s) m.set(term, (s = new Set()));
  s.add(id);
}

/** The last index of the raft log a (stopped) node left in its data directory. */
function lastIndexOnDisk(dataDir: string, id: string): { lastIndex: number; term: number } {
  const storage = new FileRaftStorage(join(dataDir, id, 'raft'));
  try {
    const p = storage.load();
    return { lastIndex: p.entries.at(-1)?.index ?? p.snapshot?.index ?? 0, term: p.hardState.term };
  } finally {
    storage.close();
  }
}

/**
 * Wait until `id` follows a leader that confirms it leads the same term, and has committed and
 * applied as far as that leader. (The leader is whoever leads then: not pinned to one node.)
 */
async function caughtUpWithLeader(c: ProcessCluster, id: string, timeoutMs: number): Promise<{ node: RaftStatus; leader: RaftStatus }> {
  let last: { node?: RaftStatus; leader?: RaftStatus } = {};
  return until(
    async () => {
      const node = await c.raftStatus(id);
      last = { node };
      if (!node.leader || node.leader === id) return undefined;
      const leader = await c.raftStatus(node.leader);
      last = { node, leader };
      const done = leader.role === 'leader' && leader.term === node.term && leader.commitIndex === node.commitIndex && node.appliedIndex === node.commitIndex;
      return done ? { node, leader } : undefined;
    },
    `${id}'s commitIndex to equal the leader's`,
    timeoutMs,
    () => last,
  );
}

/** The raft status of the current leader among `ids` (the one in the highest term), or undefined. */
async function leaderStatus(c: ProcessCluster, ids: string[]): Promise<RaftStatus | undefined> {
  const all = await Promise.all(ids.map((id) => c.raftStatus(id).catch(() => undefined)));
  return all.filter((s) => s?.role === 'leader').sort((a, b) => b!.term - a!.term)[0];
}

describe('failover of real node processes over a real nats-server', () => {
  let cluster: ProcessCluster | undefined;
  let handles: Handles;
  const paused = new Set<string>();

  /** Runs a test body; any failure gets the nodes' log tails appended. */
  async function withLogs(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      const logs = `\n\n=== node logs ===\n${handles.logs()}`;
      if (err instanceof Error) {
        err.message += logs;
        throw err;
      }
      throw new Error(`${String(err)}${logs}`);
    }
  }

  afterEach(async () => {
    if (!cluster) return;
    // SHOAL_FAILOVER_LOGS=1 prints the nodes' output even when the test passed.
    if (process.env.SHOAL_FAILOVER_LOGS) console.info(`=== node logs ===\n${handles.logs()}`);
    // A stopped process cannot act on SIGTERM: let it run again so it can shut down.
    for (const id of paused) cluster.nodes.get(id)?.child.kill('SIGCONT');
    paused.clear();
    await cluster.stop();
    cluster = undefined;
  }, 30_000);

  it(
    'SIGKILL of the master: a new master is elected; the killed node restarts from its data dir with its log intact and rejoins',
    async () => {
      handles = new Handles();
      const t = Date.now();
      cluster = await ProcessCluster.start({ masters: ['n1', 'n2', 'n3'] });
      const c = cluster;
      handles.addAll(c);
      const startupMs = Date.now() - t;
      await withLogs(async () => {
        const monitor = new LeaderMonitor(c, ['n1', 'n2', 'n3']);
        try {
          const before = await c.waitFor((s) => !!s.master && Object.keys(s.nodes).length === 3, 'a master and three members');
          const { id: oldMaster, term: oldTerm } = before.master!;
          const survivors = c.masters.filter((id) => id !== oldMaster);
          const statusBefore = await c.raftStatus(oldMaster);
          expect(statusBefore.role, `${oldMaster} is master in the cluster state, so its raft peer leads`).toBe('leader');
          expect(statusBefore.commitIndex).toBeGreaterThan(0);

          const killedAt = Date.now();
          const oldHandle = c.nodes.get(oldMaster)!;
          c.kill(oldMaster, 'SIGKILL');
          await oldHandle.exited;

          // A new master, in a higher term, and the dead node removed (both survivors agree).
          let last: ClusterState | undefined;
          const elected = await until(
            async () => {
              last = await c.state(survivors[0]);
              return last?.master && last.master.id !== oldMaster ? last : undefined;
            },
            'a new master',
            5_000,
            () => last,
          );
          const electedMs = Date.now() - killedAt;
          expect(survivors).toContain(elected.master!.id);
          expect(elected.master!.term).toBeGreaterThan(oldTerm);
          const newMaster = elected.master!.id;
          for (const id of survivors) {
            const newTerm = elected.master!.term;
            await c.waitFor((s) => !!s.master && s.master.term >= newTerm && !s.nodes[oldMaster], `${id}: a new master and ${oldMaster} removed`, 5_000, id);
          }
          const removedMs = Date.now() - killedAt;

          // More changes commit, proposed through either survivor (the follower forwards to the leader).
          const commitBefore = (await until(() => leaderStatus(c, survivors), 'the leader to answer', 5_000)).commitIndex;
          for (const [i, id] of survivors.entries()) {
            const result = await c.probe.ask<{ version: number; ignored?: boolean }>(
              c.probe.ref(`shoal://shoal/${id}${RAFT_PATH}`),
              { type: 'raft.propose', data: { op: 'test', n: i + 1 } },
              { timeoutMs: 5_000 },
            );
            expect(result.version, `proposal through ${id} resolved with the state version`).toBeGreaterThanOrEqual(elected.version);
          }
          const afterProposals = await until(() => leaderStatus(c, survivors), 'the leader to answer', 5_000);
          expect(afterProposals.commitIndex).toBeGreaterThanOrEqual(commitBefore + 2);

          // The dead node's log on disk holds everything that was committed before the kill.
          const disk = lastIndexOnDisk(c.dataDir, oldMaster);
          expect(disk.lastIndex, `log of ${oldMaster} on disk`).toBeGreaterThanOrEqual(statusBefore.commitIndex);
          expect(disk.term).toBeGreaterThanOrEqual(oldTerm);

          // Restart from the same data directory; its first status answer shows the log it recovered.
          const restartedAt = Date.now();
          handles.add(await c.startNode(oldMaster, { waitForMember: false }));
          const first = await until<RaftStatus>(() => c.raftStatus(oldMaster, 300), `${oldMaster}'s raft peer to answer after restart`, 15_000);
          const firstAnswerMs = Date.now() - restartedAt;
          expect(first.lastIndex, `${oldMaster} recovered its log (first status after restart)`).toBeGreaterThanOrEqual(statusBefore.commitIndex);
          expect(first.term).toBeGreaterThanOrEqual(oldTerm);

          // It rejoins (both survivors see it), and catches up with the leader.
          for (const id of survivors) await c.waitFor((s) => !!s.nodes[oldMaster] && !!s.master, `${oldMaster} to rejoin (seen by ${id})`, 10_000, id);
          await c.waitFor((s) => !!s.nodes[oldMaster] && !!s.master, `${oldMaster} to have the state with itself as a member`, 10_000, oldMaster);
          const rejoinedMs = Date.now() - restartedAt;
          const { node: caughtUp } = await caughtUpWithLeader(c, oldMaster, 10_000);
          expect(caughtUp.role).toBe('follower');
          expect(caughtUp.commitIndex).toBeGreaterThanOrEqual(afterProposals.commitIndex);

          await monitor.stop();
          expect(monitor.conflicts(), monitor.describe()).toEqual([]);
          expect(monitor.selfReported.get(oldTerm), monitor.describe()).toEqual(new Set([oldMaster]));
          console.info(
            `[failover] SIGKILL: startup ${startupMs} ms; master ${oldMaster} (term ${oldTerm}, commit ${statusBefore.commitIndex}) killed; ` +
              `new master ${newMaster} (term ${elected.master!.term}) in state after ${electedMs} ms, ${oldMaster} removed after ${removedMs} ms; ` +
              `log on disk to ${disk.lastIndex}; restarted: first raft status after ${firstAnswerMs} ms (lastIndex ${first.lastIndex}, commit ${first.commitIndex}), ` +
              `member again after ${rejoinedMs} ms, caught up at commit ${caughtUp.commitIndex}; ${monitor.describe()}`,
          );
        } finally {
          await monitor.stop();
        }
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'SIGSTOP of the master: the others elect a new one; after SIGCONT the old master steps down; never two leaders in a term',
    async () => {
      handles = new Handles();
      cluster = await ProcessCluster.start({ masters: ['n1', 'n2', 'n3'] });
      const c = cluster;
      handles.addAll(c);
      await withLogs(async () => {
        const monitor = new LeaderMonitor(c, ['n1', 'n2', 'n3']);
        try {
          const before = await c.waitFor((s) => !!s.master && Object.keys(s.nodes).length === 3, 'a master and three members');
          const { id: oldMaster, term: oldTerm } = before.master!;
          const survivors = c.masters.filter((id) => id !== oldMaster);
          // The monitor has seen the old master lead before we pause it.
          await until(async () => (monitor.selfReported.get(oldTerm)?.has(oldMaster) ? true : undefined), `the monitor to see ${oldMaster} lead`, 5_000);

          const stoppedAt = Date.now();
          c.kill(oldMaster, 'SIGSTOP');
          paused.add(oldMaster);

          // The others elect a new master in a higher term (their cluster states say so).
          let last: ClusterState | undefined;
          const elected = await until(
            async () => {
              last = await c.state(survivors[0]);
              return last?.master && last.master.id !== oldMaster && last.master.term > oldTerm ? last : undefined;
            },
            'a new master in a higher term',
            5_000,
            () => last,
          );
          const electedMs = Date.now() - stoppedAt;
          const { id: newMaster, term: newTerm } = elected.master!;
          expect(survivors).toContain(newMaster);
          for (const id of survivors) {
            await c.waitFor((s) => !!s.master && s.master.id !== oldMaster && s.master.term >= newTerm && !s.nodes[oldMaster], `${id}: a new master and ${oldMaster} removed`, 5_000, id);
          }
          const removedMs = Date.now() - stoppedAt;

          // Resume the old master: it must step down and adopt the newer term.
          const continuedAt = Date.now();
          c.nodes.get(oldMaster)!.child.kill('SIGCONT');
          paused.delete(oldMaster);
          let status: RaftStatus | undefined;
          const steppedDown = await until(
            async () => {
              status = await c.raftStatus(oldMaster, 300);
              return status.role !== 'leader' && status.term >= newTerm ? status : undefined;
            },
            `${oldMaster} to step down after SIGCONT`,
            5_000,
            () => status,
          );
          const steppedDownMs = Date.now() - continuedAt;
          expect(steppedDown.term).toBeGreaterThanOrEqual(newTerm);

          // It rejoins the cluster as a follower, and catches up.
          for (const id of c.masters) await c.waitFor((s) => !!s.nodes[oldMaster] && Object.keys(s.nodes).length === 3, `${oldMaster} to rejoin (seen by ${id})`, 10_000, id);
          const rejoinedMs = Date.now() - continuedAt;
          const { node: caughtUp, leader } = await caughtUpWithLeader(c, oldMaster, 10_000);
          expect(caughtUp.role).toBe('follower');
          expect(leader.term).toBeGreaterThanOrEqual(newTerm);

          await monitor.stop();
          expect(monitor.conflicts(), monitor.describe()).toEqual([]);
          expect(monitor.selfReported.get(oldTerm), monitor.describe()).toEqual(new Set([oldMaster]));
          expect(monitor.selfReported.get(newTerm), monitor.describe()).toEqual(new Set([newMaster]));
          // Once paused, the old master never led again (it neither kept nor regained leadership).
          const ledByOld = [...monitor.selfReported.entries()].filter(([, ids]) => ids.has(oldMaster)).map(([term]) => term);
          expect(ledByOld, monitor.describe()).toEqual([oldTerm]);
          if (leader.term !== newTerm) console.warn(`[failover] SIGSTOP: another election after ${newMaster}'s (term ${leader.term}): ${monitor.describe()}`);
          console.info(
            `[failover] SIGSTOP: master ${oldMaster} (term ${oldTerm}) paused; new master ${newMaster} (term ${newTerm}) in state after ${electedMs} ms, ` +
              `${oldMaster} removed after ${removedMs} ms; SIGCONT: stepped down after ${steppedDownMs} ms (term ${steppedDown.term}, role ${steppedDown.role}), ` +
              `member again after ${rejoinedMs} ms; ${monitor.describe()}`,
          );
        } finally {
          await monitor.stop();
        }
      });
    },
    TEST_TIMEOUT_MS,
  );
});
