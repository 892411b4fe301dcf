import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';

describe('cluster coordination in one process over a real nats-server', () => {
  let server: NatsServerHandle;
  let dataDir: string;
  const nodes = new Map<string, ShoalNode>();
  const masters = ['m1', 'm2', 'm3'];
  const start = async (id: string) => {
    const node = await ShoalNode.start({ nodeId: id, nats: { servers: server.url }, dataDir, masters, logLevel: 'silent' });
    nodes.set(id, node);
    return node;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    dataDir = mkdtempSync(join(tmpdir(), 'shoal-cluster-'));
  });
  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => (n.system.isRunning ? n.shutdown() : undefined)));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('elects a master, and every node (a data-only one too) applies the same membership', async () => {
    for (const id of [...masters, 'd1']) await start(id);
    const all = ['d1', 'm1', 'm2', 'm3'];
    const states = await Promise.all([...nodes.values()].map((n) => n.waitFor((s) => Object.keys(s.nodes).length === 4 && !!s.master, 'all four nodes and a master')));
    for (const s of states) expect(Object.keys(s.nodes).sort()).toEqual(all);
    const master = states[0]!.master!.id;
    expect(masters).toContain(master);
    for (const s of states) expect(s.master!.id).toBe(master);
    expect(nodes.get('d1')!.state.nodes.d1!.roles).toEqual(['data']);
  });

  it('fails over when the master dies, removes it, and lets it rejoin with its log intact', async () => {
    const { id: oldMaster, term: oldTerm } = nodes.get('d1')!.state.master!;
    const before = await nodes.get(oldMaster)!.raftStatus();
    nodes.get(oldMaster)!.system.halt();
    nodes.delete(oldMaster);
    const survivor = [...nodes.values()][0]!;
    const s = await survivor.waitFor((st) => !!st.master && st.master.id !== oldMaster && !st.nodes[oldMaster], 'a new master without the old one', 5_000);
    expect(s.master!.term).toBeGreaterThan(oldTerm);

    const back = await start(oldMaster);
    const status = await back.raftStatus();
    expect(status.lastIndex).toBeGreaterThanOrEqual(before.commitIndex); // its log survived the crash
    await back.waitFor((st) => !!st.nodes[oldMaster], 'the old master to rejoin', 5_000);
    for (const n of nodes.values()) await n.waitFor((st) => Object.keys(st.nodes).length === 4, 'four nodes again', 5_000);
  });

  it('restarts a crashed raft peer from its persisted state without losing committed entries', async () => {
    const follower = [...nodes.values()].find((n) => n.isMasterEligible && n.state.master?.id !== n.info.id)!;
    const before = await follower.raftStatus();
    expect(before.commitIndex).toBeGreaterThan(0);
    const cell = follower.system.internals.cell('/system/raft')!;
    follower.system.internals.failActor(follower.raftRef, new Error('injected crash'));
    const deadline = Date.now() + 5_000;
    while (cell.restarts === 0 || cell.status !== 'running') {
      if (Date.now() > deadline) throw new Error('raft peer was not restarted');
      await new Promise((r) => setTimeout(r, 5));
    }
    const after = await follower.raftStatus();
    // Loaded from disk: the log holds at least every entry it had committed before the crash.
    expect(after.lastIndex).toBeGreaterThanOrEqual(before.commitIndex);
    // And it keeps following: a new change commits and reaches it.
    const version = follower.state.version;
    // Until the next heartbeat it knows no leader ('no_leader'): a client retries.
    for (const until = Date.now() + 5_000; ; ) {
      const ok = await follower.system
        .ask(follower.raftRef, { type: 'raft.propose', data: { op: 'node_leave', id: 'nobody', reason: 'test' } })
        .then(() => true, (e: { type?: string }) => (e.type === 'no_leader' && Date.now() < until ? false : Promise.reject(e)));
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const s = await follower.raftStatus();
    expect(s.commitIndex).toBeGreaterThanOrEqual(before.commitIndex);
    expect(follower.state.version).toBeGreaterThanOrEqual(version);
  });
});
