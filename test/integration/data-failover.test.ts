/**
 * Data-plane failover with a real nats-server and three real node processes (`shoal start`):
 * - an index of 3 shards with 1 replica takes writes from several concurrent clients; a node that
 *   holds primaries is SIGKILLed (first a node that is not the master, then the master) while the
 *   clients keep writing. Afterwards every acknowledged document is there (by get, by search and
 *   by count), nothing is duplicated, the cluster turns green again once the node is restarted,
 *   and the copies of every shard converge (same documents, same max seq_no).
 * - concurrent conditional writes (if_seq_no/if_primary_term) through different coordinators:
 *   exactly one wins, the others get a version conflict.
 * - a rolling restart (SIGKILL and restart of each node in turn, no writes): with one copy per
 *   shard left at each step, and after it, every acknowledged document is still there. Copies are
 *   reopened from disk several times here, so this is where a copy that recovered but did not
 *   persist what it recovered shows up (its checkpoint says it has everything, its files do not).
 *
 * The tests share one cluster and run in order (the later ones check the earlier ones' indices).
 * Clients write through the nodes that are not killed; a write counts as acknowledged when the
 * API answered it, and one that failed may or may not have been applied (so: acknowledged ≤
 * count ≤ attempted).
 * Everything waits on conditions with deadlines (real processes, real time); a failure carries
 * the tail of the nodes' logs (SHOAL_NODE_LOG_LEVEL=info for more of them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../src/cluster/cluster-state.ts';
import { shardFor } from '../../src/cluster/routing.ts';
import { ProcessCluster, type NodeProcessHandle } from '../../src/testing/cluster-processes.ts';

type Any = Record<string, any>;

const NODES = ['n1', 'n2', 'n3'];
const SHARDS = 3;
const REPLICAS = 1;
const CLIENTS = 4;
/** Acknowledged writes per client before the kill, and (sent) after it, before the clients stop. */
const ACKS_BEFORE_KILL = 20;
const ACKS_AFTER_KILL = 15;
/** Explicit ids, except every AUTO_EVERY-th write of a client, whose id the coordinator makes. */
const AUTO_EVERY = 5;
const EXPLICIT_ID = /^c\d+-\d+$/;
const WRITE_TIMEOUT_MS = 20_000;
const LOG_TAIL_CHARS = 6_000;
const MAPPINGS = { properties: { client: { type: 'long' }, seq: { type: 'long' }, text: { type: 'text' } } };

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `probe` until it returns something other than undefined, or throw after `timeoutMs`. */
async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs: number, last?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const extra = last ? `; last seen: ${JSON.stringify(last())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await pause(20);
  }
}

/** Every process handle started, including killed ones (ProcessCluster forgets those). */
class Handles {
  private readonly all: NodeProcessHandle[] = [];
  addAll(cluster: ProcessCluster): void {
    for (const h of cluster.nodes.values()) if (!this.all.includes(h)) this.all.push(h);
  }
  logs(): string {
    return this.all
      .map((h, i) => {
        const out = h.output().trim();
        const status = h.child.exitCode !== null || h.child.signalCode !== null ? ` exited (${h.child.signalCode ?? h.child.exitCode})` : '';
        return `--- ${h.id} #${i} pid ${h.child.pid}${status} ---\n${out ? out.slice(-LOG_TAIL_CHARS) : '(no output)'}`;
      })
      .join('\n');
  }
}

interface Ack {
  id: string;
  client: number;
  seq: number;
  shard: number;
  term: number;
  seqNo: number;
}

/** What the clients did to one index: attempted and acknowledged writes, errors. */
class Ledger {
  /** Explicit ids sent at least once (acknowledged or not). */
  readonly attempted = new Set<string>();
  /** Writes with a coordinator-made id that were sent (their id is known only if acknowledged). */
  autoAttempts = 0;
  readonly acked = new Map<string, Ack>();
  readonly errors = new Map<string, number>();
  retries = 0;
  /** The document count and the ids found once the writes were verified. */
  verifiedCount: number | undefined;

  constructor(readonly index: string) {}

  error(type: string): void {
    this.errors.set(type, (this.errors.get(type) ?? 0) + 1);
  }

  get errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }

  /** Upper bound on the documents that can exist: every distinct id that may have been applied. */
  get maxPossible(): number {
    return this.attempted.size + this.autoAttempts;
  }

  describe(): string {
    const auto = [...this.acked.keys()].filter((id) => !EXPLICIT_ID.test(id)).length;
    return `${this.acked.size} acked (${auto} auto ids) of ${this.attempted.size} explicit ids + ${this.autoAttempts} auto-id writes; ${this.retries} retries; errors ${JSON.stringify(Object.fromEntries(this.errors))}`;
  }
}

/**
 * CLIENTS concurrent loops, each indexing one document at a time through the nodes in `via`
 * (rotating). A write that fails is retried (same explicit id) up to twice; a write with a
 * coordinator-made id is not (a retry would be a different document).
 */
class Writers {
  private stopped = false;
  private readonly loops: Promise<void>[];
  readonly acks: number[] = new Array(CLIENTS).fill(0);
  readonly acksAfterKill: number[] = new Array(CLIENTS).fill(0);
  private kill: { at: number; terms: number[]; shards: number[] } | undefined;
  /** shard → ms from the kill to its first acknowledged write in a newer primary term. */
  readonly firstAckAfterKill = new Map<number, number>();
  private readonly unexpected: string[] = [];

  constructor(
    private readonly c: ProcessCluster,
    private readonly ledger: Ledger,
    private readonly via: string[],
  ) {
    this.loops = Array.from({ length: CLIENTS }, (_, i) => this.loop(i));
  }

  /** From now on, count acknowledgements per client and the first one per failed-over shard. */
  markKill(at: number, terms: number[], shards: number[]): void {
    this.kill = { at, terms, shards };
  }

  /** Every shard whose primary was killed has acknowledged a write of its new primary. */
  get failedOver(): boolean {
    return !!this.kill && this.kill.shards.every((s) => this.firstAckAfterKill.has(s));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    if (this.unexpected.length > 0) throw new Error(`unexpected write results: ${this.unexpected.slice(0, 5).join('; ')}`);
  }

  private async loop(client: number): Promise<void> {
    const { ledger } = this;
    for (let seq = 1; !this.stopped; seq++) {
      const auto = seq % AUTO_EVERY === 0;
      const id = auto ? undefined : `c${client}-${seq}`;
      const document = { client, seq, text: `client ${client} writes document ${seq}` };
      const sentAt = Date.now();
      for (let attempt = 0; attempt < 3; attempt++) {
        if (attempt > 0) ledger.retries++;
        if (id) ledger.attempted.add(id);
        else ledger.autoAttempts++;
        const via = this.via[(client + seq + attempt) % this.via.length]!;
        try {
          const r = await this.c.api<Any>({ op: 'doc.index', index: ledger.index, id, document, timeout_ms: WRITE_TIMEOUT_MS }, { via, timeoutMs: WRITE_TIMEOUT_MS + 5_000 });
          this.acked(client, seq, sentAt, r, id);
          break;
        } catch (err) {
          const e = err as { type?: string; message?: string };
          ledger.error(e.type ?? 'unknown');
          if (e.type === 'mapper_parsing_exception' || e.type === 'illegal_argument_exception') this.unexpected.push(`${e.type}: ${e.message}`);
          if (!id) break;
          await pause(50);
        }
      }
    }
  }

  private acked(client: number, seq: number, sentAt: number, r: Any, id: string | undefined): void {
    if (typeof r?._id !== 'string' || (id !== undefined && r._id !== id) || !['created', 'updated'].includes(r.result)) {
      this.unexpected.push(`ack ${JSON.stringify(r)} for ${id ?? '(auto id)'}`);
      return;
    }
    const shard = shardFor(r._id, SHARDS);
    this.ledger.acked.set(r._id, { id: r._id, client, seq, shard, term: r._primary_term, seqNo: r._seq_no });
    this.acks[client]!++;
    const k = this.kill;
    if (!k) return;
    if (sentAt >= k.at) this.acksAfterKill[client]!++;
    if (k.shards.includes(shard) && r._primary_term > k.terms[shard]! && !this.firstAckAfterKill.has(shard)) this.firstAckAfterKill.set(shard, Date.now() - k.at);
  }
}

/**
 * An API error as {type, status} (the probe rethrows the error body as an Error). The status is
 * checked when the reply carries it: protocols/runtime.ts validateReply keeps only {type, reason}
 * of a remote error body, so over NATS it is lost (the bulk check below sees 409 in the body).
 */
function plain(err: unknown): { type: unknown; status: unknown } {
  const e = err as { type?: unknown; status?: unknown };
  return { type: e?.type, status: e?.status ?? 409 };
}

function primariesOn(s: ClusterState, index: string, node: string): number[] {
  return (s.routing[index] ?? []).flatMap((t, shard) => (t.copies.some((c) => c.primary && c.node === node) ? [shard] : []));
}

/** Every shard of every index has all its copies, all STARTED (no recovery or relocation running). */
function settled(s: ClusterState): boolean {
  return Object.entries(s.routing).every(([name, tables]) => {
    const want = (s.indices[name]?.settings.number_of_replicas ?? 0) + 1;
    return tables.every((t) => t.copies.length === want && t.copies.every((c) => c.state === 'STARTED'));
  });
}

describe('data-plane failover of real node processes over a real nats-server', () => {
  let cluster: ProcessCluster | undefined;
  const handles = new Handles();
  const ledgers: Ledger[] = [];

  /** Runs a test body; any failure gets the nodes' log tails appended. */
  async function withLogs(body: (c: ProcessCluster) => Promise<void>): Promise<void> {
    if (!cluster) throw new Error('the cluster did not start');
    try {
      await body(cluster);
    } catch (err) {
      const logs = `\n\n=== node logs ===\n${handles.logs()}`;
      if (err instanceof Error) {
        err.message += logs;
        throw err;
      }
      throw new Error(`${JSON.stringify(err)}${logs}`);
    }
  }

  beforeAll(async () => {
    cluster = await ProcessCluster.start({ masters: NODES });
    handles.addAll(cluster);
  }, 40_000);

  afterAll(async () => {
    if (!cluster) return;
    // SHOAL_FAILOVER_LOGS=1 prints the nodes' output even when the tests passed.
    if (process.env.SHOAL_FAILOVER_LOGS) console.info(`=== node logs ===\n${handles.logs()}`);
    await cluster.stop();
    cluster = undefined;
  }, 30_000);

  /**
   * Every acknowledged document is there (get, with its content), the index holds no more
   * documents than were attempted and no id twice, and coordinating through any of `via` gives the
   * same count. Returns the count.
   */
  async function verify(c: ProcessCluster, ledger: Ledger, via: string[]): Promise<number> {
    const { index } = ledger;
    const acked = [...ledger.acked.values()];
    for (let i = 0; i < acked.length; i += 200) {
      const batch = acked.slice(i, i + 200);
      const res = await c.api<Any>({ op: 'doc.mget', index, body: { ids: batch.map((a) => a.id) } }, { via: via[(i / 200) % via.length] });
      const missing = res.docs.filter((d: Any) => d.found !== true);
      expect(missing, `acknowledged documents missing from ${index}`).toEqual([]);
      res.docs.forEach((d: Any, j: number) => expect(d._source, `content of ${d._id}`).toMatchObject({ client: batch[j]!.client, seq: batch[j]!.seq }));
    }
    // A write whose client gave up (an error it saw) may still complete on a primary a moment
    // later, and copies refresh on their own schedule: wait (with a deadline) until refreshed
    // counts through every coordinator agree. `converged` then checks the copies hold the same.
    let counts: Any[] = [];
    await until(
      async () => {
        const refreshed = await c.api<Any>({ op: 'index.refresh', index }, { via: via[0] });
        expect(refreshed._shards.failed, JSON.stringify(refreshed)).toBe(0);
        counts = await Promise.all(via.map((v) => c.api<Any>({ op: 'count', index }, { via: v })));
        return new Set(counts.map((r) => r.count)).size === 1 ? true : undefined;
      },
      `the same count of ${index} through every coordinator`,
      15_000,
      () => counts,
    );
    for (const r of counts) expect(r._shards, JSON.stringify(r)).toMatchObject({ total: SHARDS, successful: SHARDS, failed: 0 });
    const count = counts[0]!.count as number;
    expect(count, `count vs. acknowledged (${ledger.describe()})`).toBeGreaterThanOrEqual(ledger.acked.size);
    expect(count, `count vs. attempted (${ledger.describe()})`).toBeLessThanOrEqual(ledger.maxPossible);
    // One search for everything: no id twice, every acknowledged id among the hits.
    expect(count).toBeLessThanOrEqual(10_000);
    const all = await c.api<Any>({ op: 'search', index, body: { query: { match_all: {} }, size: count + 10, _source: false } }, { via: via[via.length - 1] });
    expect(all._shards.failed, JSON.stringify(all._shards)).toBe(0);
    const ids: string[] = all.hits.hits.map((h: Any) => h._id);
    expect(ids.length).toBe(count);
    const seen = new Set<string>();
    const duplicates = ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    expect(duplicates, 'ids found twice').toEqual([]);
    expect(
      acked.filter((a) => !seen.has(a.id)).map((a) => a.id),
      'acknowledged ids the search did not find',
    ).toEqual([]);
    const stray = ids.filter((id) => EXPLICIT_ID.test(id) && !ledger.attempted.has(id));
    expect(stray, 'ids nobody wrote').toEqual([]);
    expect(ids.filter((id) => !EXPLICIT_ID.test(id)).length, 'documents with coordinator-made ids').toBeLessThanOrEqual(ledger.autoAttempts);
    return count;
  }

  /** cluster.health with wait_for_status green; on a time-out the failure shows every node's routing and shard stats. */
  async function waitGreen(c: ProcessCluster, via: string, what: string, timeoutMs: number): Promise<void> {
    const health = await c.api<Any>({ op: 'cluster.health', wait_for_status: 'green', timeout_ms: timeoutMs }, { via, timeoutMs: timeoutMs + 5_000 });
    if (health.status === 'green' && health.timed_out === false) return;
    const states = await Promise.all(NODES.map((n) => c.state(n)));
    const stats = await c.api<Any[]>({ op: 'shard.stats', index: '_all' }, { via }).catch((err) => String(err));
    throw new Error(
      `${what}: ${JSON.stringify(health)}\nstates: ${JSON.stringify(states.map((s, i) => s && { node: NODES[i], version: s.version, master: s.master, routing: s.routing }))}\nshard stats: ${JSON.stringify(stats)}`,
    );
  }

  /** Every node's cluster state has every copy STARTED (nothing recovering or relocating), at the same version. */
  async function settledEverywhere(c: ProcessCluster, what: string, timeoutMs: number): Promise<ClusterState> {
    let last: (ClusterState | undefined)[] = [];
    return until(
      async () => {
        last = await Promise.all(NODES.map((n) => c.state(n)));
        const v = last[0]?.version;
        return last.every((s) => s && s.version === v && settled(s)) ? last[0] : undefined;
      },
      what,
      timeoutMs,
      () => last.map((s) => s && { version: s.version, master: s.master, routing: s.routing }),
    );
  }

  /**
   * Every copy of every shard of `index` converges to the same documents and the same history
   * (a replica may still be resyncing after a primary change: wait for it, with a deadline).
   */
  async function converged(c: ProcessCluster, index: string, via: string): Promise<string> {
    let stats: Any[] = [];
    let state: ClusterState | undefined;
    const problems = (): string[] => {
      const out: string[] = [];
      for (let shard = 0; shard < SHARDS; shard++) {
        const copies = stats.filter((x) => x.shard === shard);
        const same = (k: string) => new Set(copies.map((x) => x[k])).size === 1;
        if (copies.length !== REPLICAS + 1) out.push(`[${shard}] ${copies.length} copies`);
        else if (copies.some((x) => x.error !== undefined)) out.push(`[${shard}] error`);
        else if (!same('docs') || !same('max_seq_no') || !same('primary_term')) out.push(`[${shard}] copies differ`);
        else if (copies.some((x) => x.local_checkpoint !== x.max_seq_no)) out.push(`[${shard}] local checkpoint behind`);
      }
      return out;
    };
    await until(
      async () => {
        await c.api({ op: 'index.refresh', index }, { via });
        state = await c.state(via);
        stats = await c.api<Any[]>({ op: 'shard.stats', index }, { via });
        return problems().length === 0 ? true : undefined;
      },
      `the copies of ${index} to converge`,
      20_000,
      () => ({ problems: problems(), stats, routing: state?.routing[index], version: state?.version }),
    );
    return [...Array(SHARDS).keys()]
      .map((shard) => {
        const x = stats.find((s) => s.shard === shard)!;
        return `[${shard}] ${x.docs} docs, max_seq_no ${x.max_seq_no}, term ${x.primary_term}`;
      })
      .join('; ');
  }

  /**
   * Index continuously from CLIENTS clients into a new index, SIGKILL a node holding a primary of
   * it (the master, or a node that is not) while they write, check every acknowledged write,
   * restart the node, and check the cluster turns green and the copies converge.
   */
  async function failover(c: ProcessCluster, index: string, role: 'master' | 'non-master'): Promise<void> {
    const ledger = new Ledger(index);
    ledgers.push(ledger);
    const created = await c.api<Any>({ op: 'index.create', index, settings: { number_of_shards: SHARDS, number_of_replicas: REPLICAS }, mappings: MAPPINGS });
    expect(created).toMatchObject({ acknowledged: true, index });
    await waitGreen(c, NODES[0]!, 'green before the kill', 30_000);
    await settledEverywhere(c, 'every copy STARTED before the kill', 30_000);

    const before = (await c.state())!;
    const master = before.master!.id;
    const victim = role === 'master' ? master : NODES.filter((n) => n !== master).find((n) => primariesOn(before, index, n).length > 0);
    expect(victim, `a ${role} node holding a primary of ${index}: ${JSON.stringify(before.routing[index])}`).toBeDefined();
    expect(primariesOn(before, index, victim!).length, `${victim} (${role}) holds a primary of ${index}: ${JSON.stringify(before.routing[index])}`).toBeGreaterThan(0);
    const survivors = NODES.filter((n) => n !== victim);

    const writers = new Writers(c, ledger, survivors);
    try {
      await until(() => (writers.acks.every((n) => n >= ACKS_BEFORE_KILL) ? true : undefined), `${ACKS_BEFORE_KILL} acknowledged writes per client`, 30_000, () => ({ acks: writers.acks, ledger: ledger.describe() }));

      // The routing right before the kill: the shards whose primary dies, and their terms.
      const atKill = (await c.state(survivors[0]))!;
      const victimShards = primariesOn(atKill, index, victim!);
      const terms = atKill.routing[index]!.map((t) => t.primaryTerm);
      const handle = c.nodes.get(victim!)!;
      const killedAt = Date.now();
      writers.markKill(killedAt, terms, victimShards);
      c.kill(victim!, 'SIGKILL');
      await handle.exited;

      // The survivors remove the node and promote replicas (a new master first, if it was the master).
      let last: ClusterState | undefined;
      await until(
        async () => {
          last = await c.state(survivors[0]);
          const ok =
            last?.master &&
            last.master.id !== victim &&
            !last.nodes[victim!] &&
            last.routing[index]!.every((t) => t.copies.some((x) => x.primary && x.state === 'STARTED' && x.node !== victim));
          return ok ? true : undefined;
        },
        `${victim} removed and every primary of ${index} on a survivor`,
        20_000,
        () => last?.routing[index],
      );
      const promotedMs = Date.now() - killedAt;
      const after = last!;

      // Keep writing until every failed-over shard has taken writes and every client has had some.
      await until(
        () => (writers.failedOver && writers.acksAfterKill.every((n) => n >= ACKS_AFTER_KILL) ? true : undefined),
        `writes acknowledged after the kill (every failed-over shard, ${ACKS_AFTER_KILL} per client)`,
        40_000,
        () => ({ acksAfterKill: writers.acksAfterKill, firstAck: Object.fromEntries(writers.firstAckAfterKill), victimShards, ledger: ledger.describe() }),
      );
      await writers.stop();
      const firstAcks = victimShards.map((s) => `shard ${s} +${writers.firstAckAfterKill.get(s)} ms`).join(', ');
      for (const s of victimShards) expect(after.routing[index]![s]!.primaryTerm, `[${index}][${s}] promoted in a new term`).toBeGreaterThan(terms[s]!);

      // Every acknowledged write is there, nothing twice (one copy per shard now).
      const count = await verify(c, ledger, survivors);
      const yellow = await c.api<Any>({ op: 'cluster.health', index }, { via: survivors[0] });
      expect(yellow.status, 'yellow while the node is down').toBe('yellow');

      // The node comes back with its data directory: its copies recover and the cluster is green.
      const restartedAt = Date.now();
      await c.startNode(victim!);
      handles.addAll(c);
      await waitGreen(c, survivors[0]!, 'green after the restart', 40_000);
      const greenMs = Date.now() - restartedAt;
      await settledEverywhere(c, 'every copy STARTED after the restart', 30_000);
      const shards = await converged(c, index, victim!);

      // The same documents through every node, the restarted one too.
      expect(await verify(c, ledger, NODES), 'count after recovery').toBe(count);
      ledger.verifiedCount = count;
      // Earlier indices went through this failover too: still all there, still the same.
      for (const l of ledgers.filter((x) => x !== ledger)) {
        await converged(c, l.index, survivors[0]!);
        const n = await verify(c, l, NODES);
        if (l.verifiedCount !== undefined) expect(n, `${l.index}: count unchanged`).toBe(l.verifiedCount);
      }
      console.log(
        `[data-failover] ${role} ${victim} SIGKILLed holding primaries of shards [${victimShards}] (terms ${victimShards.map((s) => terms[s])}): ` +
          `replicas promoted in the cluster state after ${promotedMs} ms; first acknowledged write on the new primary: ${firstAcks}; ` +
          `writes: ${ledger.describe()}; count ${count}; restarted: green after ${greenMs} ms; converged: ${shards}`,
      );
    } finally {
      await writers.stop().catch(() => undefined);
    }
  }

  it('SIGKILL of a node (not the master) holding primaries while clients write: no acknowledged write lost, none twice, green again after restart', () => withLogs((c) => failover(c, 'events-a', 'non-master')), 60_000);

  it('SIGKILL of the master holding primaries while clients write: no acknowledged write lost, none twice, green again after restart', () => withLogs((c) => failover(c, 'events-b', 'master')), 60_000);

  it('concurrent conditional writes (if_seq_no, if_primary_term) through different nodes: exactly one wins', () =>
    withLogs(async (c) => {
      const index = 'events-b';
      const ledger = ledgers.find((l) => l.index === index);
      expect(ledger?.verifiedCount, 'the previous test indexed and verified documents').toBeDefined();
      // One new document per shard (some shards have failed over, so they are in primary term 2).
      const ids: string[] = [];
      for (let k = 0; ids.length < SHARDS; k++) if (!ids.some((id) => shardFor(id, SHARDS) === shardFor(`c99-${k}`, SHARDS))) ids.push(`c99-${k}`);
      for (const [round, id] of ids.entries()) {
        const base = await c.api<Any>({ op: 'doc.index', index, id, document: { client: 99, seq: 0 } }, { via: NODES[round % NODES.length] });
        ledger!.attempted.add(id);
        expect(base).toMatchObject({ result: 'created' });
        const attempts = await Promise.allSettled(
          [1, 2, 3, 4, 5, 6].map((seq) =>
            c.api<Any>({ op: 'doc.index', index, id, document: { client: 99, seq, text: `conditional writer ${seq}` }, if_seq_no: base._seq_no, if_primary_term: base._primary_term }, { via: NODES[seq % NODES.length] }),
          ),
        );
        const won = attempts.flatMap((a, i) => (a.status === 'fulfilled' ? [i + 1] : []));
        const detail = JSON.stringify(attempts.map((a) => (a.status === 'fulfilled' ? a.value : { type: a.reason?.type, status: a.reason?.status, reason: a.reason?.message })));
        expect(won, `exactly one winner: ${detail}`).toHaveLength(1);
        for (const a of attempts) if (a.status === 'rejected') expect(plain(a.reason), detail).toEqual({ type: 'version_conflict_engine_exception', status: 409 });
        const winner = (attempts[won[0]! - 1] as PromiseFulfilledResult<Any>).value;
        expect(winner).toMatchObject({ result: 'updated', _version: 2, _primary_term: base._primary_term });
        expect(winner._seq_no).toBeGreaterThan(base._seq_no);
        const now = await c.api<Any>({ op: 'doc.get', index, id }, { via: NODES[(round + 1) % NODES.length] });
        expect(now).toMatchObject({ found: true, _version: 2, _seq_no: winner._seq_no, _primary_term: winner._primary_term, _source: { client: 99, seq: won[0] } });

        // The old seq_no, or the current seq_no with an older primary term, conflicts too.
        const stale = await c.api({ op: 'doc.index', index, id, document: { client: 99, seq: -1 }, if_seq_no: base._seq_no, if_primary_term: base._primary_term }).catch(plain);
        expect(stale, 'the old seq_no').toEqual({ type: 'version_conflict_engine_exception', status: 409 });
        if (now._primary_term > 1) {
          const oldTerm = await c.api({ op: 'doc.index', index, id, document: { client: 99, seq: -1 }, if_seq_no: now._seq_no, if_primary_term: now._primary_term - 1 }).catch(plain);
          expect(oldTerm, 'an older primary term').toEqual({ type: 'version_conflict_engine_exception', status: 409 });
        }
        ledger!.acked.set(id, { id, client: 99, seq: won[0]!, shard: shardFor(id, SHARDS), term: now._primary_term, seqNo: now._seq_no });
      }
      // Through bulk the status is part of the reply body: a stale condition is a 409 item.
      const current = await c.api<Any>({ op: 'doc.get', index, id: ids[0] });
      const header = { _id: ids[0], if_seq_no: current._seq_no, if_primary_term: current._primary_term };
      const bulk = await c.api<Any>({ op: 'doc.bulk', index, operations: [{ index: header }, { client: 99, seq: 100 }, { index: header }, { client: 99, seq: 101 }] });
      expect(
        bulk.items.map((i: Any) => i.index.status),
        JSON.stringify(bulk),
      ).toEqual([200, 409]);
      expect(bulk.items[1].index.error.type).toBe('version_conflict_engine_exception');
      ledger!.acked.set(ids[0]!, { ...ledger!.acked.get(ids[0]!)!, seq: 100 });
      ledger!.verifiedCount = await verify(c, ledger!, NODES);
    }),
  30_000);

  it('a rolling restart (SIGKILL and restart of each node in turn) keeps every acknowledged document on every copy', () =>
    withLogs(async (c) => {
      expect(ledgers.length, 'the failover tests indexed documents').toBeGreaterThan(0);
      const started = Date.now();
      const steps: string[] = [];
      for (const victim of NODES) {
        const t = Date.now();
        const survivors = NODES.filter((n) => n !== victim);
        const handle = c.nodes.get(victim)!;
        c.kill(victim, 'SIGKILL');
        await handle.exited;
        let last: ClusterState | undefined;
        await until(
          async () => {
            last = await c.state(survivors[0]);
            const ok = last?.master && last.master.id !== victim && !last.nodes[victim] && ledgers.every((l) => last!.routing[l.index]!.every((tb) => tb.copies.some((x) => x.primary && x.state === 'STARTED' && x.node !== victim)));
            return ok ? true : undefined;
          },
          `${victim} removed and every primary on a survivor`,
          20_000,
          () => last && { master: last.master, routing: last.routing },
        );
        // One copy per shard now: the promoted ones have everything.
        for (const l of ledgers) {
          await c.api({ op: 'index.refresh', index: l.index }, { via: survivors[0] });
          expect((await c.api<Any>({ op: 'count', index: l.index }, { via: survivors[0] })).count, `${l.index} with ${victim} down`).toBe(l.verifiedCount);
        }
        await c.startNode(victim);
        handles.addAll(c);
        await waitGreen(c, survivors[0]!, `green after restarting ${victim}`, 40_000);
        await settledEverywhere(c, `every copy STARTED after restarting ${victim}`, 30_000);
        steps.push(`${victim} ${Date.now() - t} ms`);
      }
      const summary: string[] = [];
      for (const l of ledgers) {
        summary.push(`${l.index}: ${await converged(c, l.index, NODES[0]!)}`);
        expect(await verify(c, l, NODES), `${l.index}: count after the rolling restart`).toBe(l.verifiedCount);
      }
      console.log(`[data-failover] rolling restart (${steps.join(', ')}) in ${Date.now() - started} ms; converged: ${summary.join(' | ')}`);
    }),
  60_000);

  it('a search with a timeout answers in time with the other shards when a node is frozen (SIGSTOP)', () =>
    withLogs(async (c) => {
      const index = 'frozen';
      await c.api({ op: 'index.create', index, settings: { number_of_shards: 3, number_of_replicas: 0 } });
      await waitGreen(c, NODES[0]!, 'green before the freeze', 30_000);
      const state = await settledEverywhere(c, 'every copy STARTED before the freeze', 30_000);
      const bulk = await c.api<Any>({ op: 'doc.bulk', index, refresh: true, operations: Array.from({ length: 90 }, (_, i) => [{ index: { _id: `z${i}` } }, { text: `frozen line ${i}` }]).flat() });
      expect(bulk.errors).toBe(false);
      const master = state.master!.id;
      const victim = NODES.find((n) => n !== master && state.routing[index]!.some((t) => t.copies.some((x) => x.node === n)))!;
      const frozen = state.routing[index]!.flatMap((t, shard) => (t.copies.some((x) => x.node === victim) ? [shard] : []));
      const via = NODES.find((n) => n !== victim)!;
      const stats = await c.api<Any[]>({ op: 'shard.stats', index }, { via });
      const reachable = stats.filter((x) => !frozen.includes(x.shard)).reduce((a, x) => a + x.docs, 0);
      c.kill(victim, 'SIGSTOP');
      try {
        const t0 = Date.now();
        const res = await c.api<Any>({ op: 'search', index, timeout_ms: 400, body: { query: { match: { text: 'frozen' } }, size: 100 } }, { via, timeoutMs: 10_000 });
        const tookMs = Date.now() - t0;
        expect(res.timed_out).toBe(true);
        expect(res._shards).toMatchObject({ total: 3, successful: 3 - frozen.length, failed: frozen.length });
        expect(res.hits.hits).toHaveLength(reachable);
        console.log(`[data-failover] search with timeout_ms 400 while ${victim} (shards ${frozen}) is frozen: ${tookMs} ms, ${res.hits.hits.length} hits, _shards ${JSON.stringify({ ...res._shards, failures: undefined })}`);
      } finally {
        c.kill(victim, 'SIGCONT');
      }
      await waitGreen(c, via, 'green after the thaw', 40_000);
      await c.api({ op: 'index.delete', index }, { via });
    }),
  60_000);
});
