import { createHash } from 'node:crypto';
import type { ClusterState } from '../../src/cluster/cluster-state.ts';
import type { ShardTable } from '../../src/cluster/metadata.ts';
import { shardFor } from '../../src/cluster/routing.ts';
import { INDICES_PATH, shardActorName } from '../../src/data/indices-service.ts';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { MemoryRaftStorage } from '../../src/raft/memory-storage.ts';
import { SeededRandom } from '../../src/runtime/random.ts';
import { SimulatedClock } from '../../src/runtime/simulated-clock.ts';
import { FaultPlan, FaultyTransport } from '../../src/transport/faults.ts';
import { decode } from '../../src/transport/codec.ts';
import { MemoryNetwork } from '../../src/transport/memory-transport.ts';
import type { MessageHandler, PublishOptions, SubscribeOptions, Subscription, Transport, TransportMessage } from '../../src/transport/transport.ts';

/**
 * Deterministic simulation of the data plane's replication: three ShoalNodes (master + data) on
 * the in-memory transport under one simulated clock, an index of 1–2 shards with 1–2 replicas,
 * concurrent clients writing (index, create, update, delete) a small set of ids through
 * different nodes, and seeded faults meanwhile: message loss, delay and duplication, a node
 * crashing (one holding a primary; it comes back later with its raft log but without its
 * in-memory shard data), a node cut off by a partition. Then everything heals, the cluster must
 * settle (green, every copy started and in sync) and the checks run:
 *
 *  1. no acknowledged write is lost: per id, the document read from the primary is the latest
 *     acknowledged write (by seq_no), or a later write that was attempted but not acknowledged;
 *     acknowledged writes of a shard never share a seq_no and their versions per id increase;
 *  2. the copies of every shard converge: the same documents (id, _seq_no, _primary_term,
 *     _version, _source) on every started copy, with no gaps below their max seq_no;
 *  3. no duplicates or strays: a match_all search on every copy returns each live id once and
 *     nothing else.
 *
 * Same seed ⇒ same run: `fingerprint` hashes the whole trace (writes, outcomes, faults, final
 * documents, virtual time).
 */
export interface ReplicationSimOptions {
  seed: number;
  /** Faults on (default) or off (a baseline that must always pass). */
  faults?: boolean;
  /** Keep the full trace in the result (for diagnosing a seed). */
  keepTrace?: boolean;
}

export interface ReplicationSimResult {
  seed: number;
  violations: string[];
  config: { shards: number; replicas: number; ids: number; clients: number; delayedTimeoutMs: number };
  attempted: number;
  acknowledged: number;
  failed: number;
  /** Failed writes by error type. */
  errors: Record<string, number>;
  unresolved: number;
  crashes: number;
  restarts: number;
  partitions: number;
  /** Shards that lost every in-sync copy (their acknowledged writes are not checked: in memory they are gone). */
  lostShards: number;
  virtualMs: number;
  fingerprint: string;
  trace?: string[];
}

const MASTERS = ['n1', 'n2', 'n3'];
const MAX_OPS_PER_CLIENT = 40;
const INDEX = 'sim';

type WriteKind = 'index' | 'create' | 'update' | 'upsert' | 'delete';

interface Attempt {
  token: string;
  id: string;
  kind: WriteKind;
  node: string;
  invokedAt: number;
  source?: Record<string, unknown>;
  outcome: 'pending' | 'ok' | 'error';
  doneAt?: number;
  result?: { _seq_no: number; _primary_term: number; _version: number; result: string };
  error?: string;
}

interface DocView {
  found: boolean;
  _seq_no?: number;
  _primary_term?: number;
  _version?: number;
  _source?: Record<string, unknown>;
}

type Any = Record<string, any>;

export async function runReplicationSimulation(opts: ReplicationSimOptions): Promise<ReplicationSimResult> {
  const { seed } = opts;
  const faults = opts.faults !== false;
  const rng = new SeededRandom(seed);
  const clock = new SimulatedClock({ start: 0, settleTurns: 1 });
  const network = new MemoryNetwork({ clock });
  const plan = new FaultPlan({ seed: rng.int(2 ** 31) });
  const storages = new Map(MASTERS.map((id) => [id, new MemoryRaftStorage()]));
  const nodes = new Map<string, ShoalNode>();
  const trace: string[] = [];
  const violations: string[] = [];
  const attempts = new Map<string, Attempt>();
  let crashes = 0;
  let restarts = 0;
  let partitions = 0;
  /** Shards that lost every in-sync copy at some point: in memory their data is gone (see `safe`). */
  const lostShards = new Set<number>();
  /** Set when the run cannot go on meaningfully (a violation says why). */
  let aborted = false;

  const log = (what: string) => (trace.push(`t=${clock.now()} ${what}`), process.env.SIM_DEBUG && console.log(trace.at(-1)));
  const violate = (what: string) => {
    if (violations.length < 20) violations.push(what);
    log(`VIOLATION ${what}`);
  };
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  /** A promise that settles (or gives up after `ms` virtual ms) without ever rejecting. */
  const within = <T>(p: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
    new Promise((resolve) => {
      const timer = clock.setTimeout(() => resolve({ ok: false, error: { type: 'harness_timeout' } }), ms);
      p.then(
        (value) => (clock.clearTimeout(timer), resolve({ ok: true, value })),
        (error) => (clock.clearTimeout(timer), resolve({ ok: false, error })),
      );
    });
  /** Drive the clock until `p` settles. */
  const drive = async <T>(p: Promise<T>, maxMs: number, what: string): Promise<T> => {
    let done: { ok: boolean; value: unknown } | undefined;
    p.then(
      (value) => (done = { ok: true, value }),
      (value) => (done = { ok: false, value }),
    );
    await clock.runUntil(() => done !== undefined, { maxTimeMs: maxMs });
    if (!done) throw new Error(`harness: ${what} did not finish within ${maxMs} virtual ms`);
    if (!done.ok) throw done.value;
    return done.value as T;
  };

  // ---- the scenario, drawn up front ------------------------------------------------------------
  const shards = 1 + rng.int(2);
  const replicas = 1 + rng.int(2);
  const delayedTimeoutMs = rng.pick([0, 1_000, 60_000]);
  const idCount = 4 + rng.int(5);
  const ids = Array.from({ length: idCount }, (_, i) => `d${i}`);
  const clients = 2 + rng.int(2);
  const opsPerClient = 8 + rng.int(6);
  const rates = faults
    ? { dropRate: rng.pick([0, 0.01, 0.02, 0.04]), duplicateRate: rng.pick([0, 0.01, 0.03]), delayRate: rng.pick([0.05, 0.2]), minDelayMs: 1, maxDelayMs: rng.pick([10, 40]) }
    : { dropRate: 0, duplicateRate: 0, delayRate: 0 };
  const chaos: ('crash' | 'partition' | 'one-way')[] = [];
  if (faults) for (let n = 1 + rng.int(3); n > 0; n--) chaos.push(rng.pick(['crash', 'crash', 'partition', 'one-way'] as const));
  // Up to this many virtual ms before a node applies each new cluster-state version: nodes see a
  // version at different times (a primary may hear of a new replica after the replica does).
  const applyLagMs = faults ? rng.pick([0, 0, 5, 30]) : 0;
  const config = { shards, replicas, ids: idCount, clients, delayedTimeoutMs };
  log(`config ${JSON.stringify({ ...config, opsPerClient, rates, chaos, applyLagMs })}`);

  /** Start (or restart) a node; `driven`: called from a task while the clock is being run already. */
  async function startNode(id: string, driven = false): Promise<ShoalNode> {
    const raftRng = rng.fork();
    const lagRng = rng.fork();
    const starting = ShoalNode.start({
      nodeId: id,
      transport: new AtMostOnceWrites(new FaultyTransport(network.connect(id), id, plan, clock)),
      clock,
      random: () => raftRng.next(),
      storage: storages.get(id)!,
      logLevel: (process.env.SIM_LOG_LEVEL ?? 'silent') as 'silent',
      masters: MASTERS,
      stateApplyLag: applyLagMs > 0 ? () => lagRng.int(applyLagMs + 1) : undefined,
    });
    const node = driven ? await starting : await drive(starting, 1_000, `start ${id}`);
    node.onState((state) =>
      (state.routing[INDEX] ?? []).forEach((t, shard) => {
        if (t.lostInSyncNodes?.length && !lostShards.has(shard)) {
          lostShards.add(shard);
          log(`shard ${shard} lost every in-sync copy (${t.lostInSyncNodes.join(',')})`);
        }
      }),
    );
    nodes.set(id, node);
    return node;
  }
  const live = () => [...nodes.values()].filter((n) => n.system.isRunning);
  /** The newest cluster state any live node has (a node that was cut off may lag behind). */
  const latestState = () => live().reduce((a, n) => (n.state.version > a.version ? n.state : a), live()[0]!.state);

  try {
    for (const id of MASTERS) await startNode(id);
    const formed = await clock.runUntil(() => live().every((n) => Object.keys(n.state.nodes).length === 3 && !!n.state.master), { maxTimeMs: 20_000 });
    if (!formed) throw new Error('harness: the cluster did not form');
    const created = (await drive(
      nodes.get(MASTERS[rng.int(3)]!)!.api({
        op: 'index.create',
        index: INDEX,
        settings: { number_of_shards: shards, number_of_replicas: replicas, refresh_interval_ms: -1, delayed_timeout_ms: delayedTimeoutMs },
        timeout_ms: 10_000,
      }),
      20_000,
      'index.create',
    )) as Any;
    if (!created.acknowledged) throw new Error('harness: index.create not acknowledged');
    if (!(await settled(20_000))) throw new Error('harness: the new index did not turn green');
    log('index green');

    // ---- workload and chaos, concurrently -------------------------------------------------------
    plan.setRates(rates);
    let writeNo = 0;
    let chaosDone = false;
    const client = async (c: number) => {
      // At least opsPerClient writes, and on while the faults last (up to MAX_OPS_PER_CLIENT).
      for (let k = 0; k < MAX_OPS_PER_CLIENT && (k < opsPerClient || !chaosDone); k++) {
        await sleep(rng.int(60));
        const targets = live();
        if (targets.length === 0) continue;
        const node = rng.pick(targets);
        const id = rng.pick(ids);
        const roll = rng.next();
        const kind: WriteKind = roll < 0.4 ? 'index' : roll < 0.5 ? 'create' : roll < 0.65 ? 'update' : roll < 0.75 ? 'upsert' : 'delete';
        const token = `c${c}.${k}`;
        const n = writeNo++;
        const timeoutMs = rng.pick([1_500, 4_000, 10_000]);
        const a: Attempt = { token, id, kind, node: node.info.id, invokedAt: clock.now(), outcome: 'pending' };
        attempts.set(token, a);
        let request: Any;
        switch (kind) {
          case 'index':
          case 'create':
            a.source = { w: token, n, text: `doc ${id} write ${n}` };
            request = { op: kind === 'index' ? 'doc.index' : 'doc.create', document: a.source };
            break;
          case 'update':
            // Every other one as a script that sets the same fields (run once on the primary, the result replicated).
            request = { op: 'doc.update', body: n % 2 === 0 ? { doc: { w: token, u: n } } : { script: { source: 'ctx._source.w = params.w; ctx._source.u = params.u', params: { w: token, u: n } } } };
            break;
          case 'upsert':
            request = { op: 'doc.update', body: { doc: { w: token, u: n }, doc_as_upsert: true } };
            break;
          case 'delete':
            request = { op: 'doc.delete' };
            break;
        }
        log(`${token} ${kind} ${id} via ${a.node} timeout ${timeoutMs}`);
        const r = await within(node.api({ ...request, index: INDEX, id, timeout_ms: timeoutMs }), timeoutMs + 20_000);
        a.doneAt = clock.now();
        if (r.ok) {
          const v = r.value as Any;
          a.outcome = 'ok';
          a.result = { _seq_no: v._seq_no, _primary_term: v._primary_term, _version: v._version, result: v.result };
          log(`${token} ok ${v.result} seq ${v._seq_no} term ${v._primary_term} v${v._version}`);
        } else {
          const e = r.error as Any;
          a.outcome = 'error';
          a.error = String(e?.type ?? e?.message ?? e);
          if (a.error === 'harness_timeout') a.outcome = 'pending';
          log(`${token} failed ${a.error}`);
        }
      }
    };
    const down = new Set<string>();
    const chaosTask = async () => {
      for (const event of chaos) {
        await sleep(100 + rng.int(800));
        const survivors = live();
        // Shard data lives in memory here: a crashed node's copies are gone for good (a wiped
        // disk), and a copy the master reallocates on a node starts empty where the disk would
        // still hold the files. So faults hit only nodes whose every copy has an in-sync started
        // copy on another node: the cluster must never need the data of the node hit.
        const tables = latestState().routing[INDEX] ?? [];
        const safe = survivors.filter((n) =>
          tables.every((t) => !t.copies.some((c) => c.node === n.info.id) || t.copies.some((c) => c.node !== n.info.id && c.state === 'STARTED' && t.inSync.includes(c.allocationId))),
        );
        if (event === 'crash') {
          // Among those, one holding a primary if possible.
          const holders = safe.filter((n) => tables.some((t) => t.copies.some((c) => c.primary && c.node === n.info.id)));
          if (down.size > 0 || safe.length === 0) {
            // Two nodes down would leave the masters without a quorum.
            rng.next();
            log(`crash skipped: ${down.size > 0 ? `${[...down].join(',')} is down` : 'every node holds the last in-sync copy of a shard'}`);
            continue;
          }
          const victim = rng.pick(holders.length > 0 ? holders : safe);
          const vid = victim.info.id;
          log(`crash ${vid}`);
          victim.system.halt();
          down.add(vid);
          crashes++;
          // It comes back (as a new incarnation, its shard data gone) once the master removed it:
          // before that, its copies are still in the routing table, and an in-memory engine that
          // comes back empty under the same allocation id would be a wiped disk, not a crash.
          if (!(await waitUntil(() => live().every((n) => !n.state.nodes[vid]), 15_000))) {
            violate(`the master did not remove crashed ${vid} within 15 s`);
            aborted = true;
            return;
          }
          await sleep(rng.int(1_500));
          if (rng.chance(0.8)) {
            log(`restart ${vid}`);
            await startNode(vid, true);
            down.delete(vid);
            restarts++;
          }
        } else {
          if (safe.length === 0) {
            rng.next();
            log(`${event} skipped: every node holds the last in-sync copy of a shard`);
            continue;
          }
          const victim = rng.pick(safe).info.id;
          const others = MASTERS.filter((x) => x !== victim);
          if (event === 'partition') plan.partition([victim], others);
          else plan.block(victim, rng.pick(others));
          const ms = 200 + rng.int(2_000);
          log(`${event} ${victim} for ${ms} ms`);
          partitions++;
          await sleep(ms);
          plan.heal();
          log('healed');
        }
      }
    };
    let workloadDone = false;
    void Promise.all([...Array.from({ length: clients }, (_, c) => client(c)), chaosTask().finally(() => (chaosDone = true))]).then(() => (workloadDone = true));
    const finished = await clock.runUntil(() => workloadDone || aborted, { maxTimeMs: 200_000 });
    if (!finished) throw new Error('harness: the workload did not finish');
    if (aborted) return finish();

    // ---- heal, settle -------------------------------------------------------------------------
    plan.heal();
    plan.setRates({ dropRate: 0, duplicateRate: 0, delayRate: 0 });
    for (const id of [...down]) {
      if (!(await clock.runUntil(() => live().every((n) => !n.state.nodes[id]), { maxTimeMs: 15_000 }))) {
        violate(`the master did not remove crashed ${id} within 15 s`);
        return finish();
      }
      log(`restart ${id} (heal)`);
      await startNode(id);
      restarts++;
    }
    log('heal');
    if (!(await settled(60_000))) {
      const s = latestState();
      const views = live().map((n) => `${n.info.id}: v${n.state.version} master ${n.state.master?.id} nodes ${Object.keys(n.state.nodes).join(',')}`);
      violate(`the cluster did not settle (green, every copy started and in sync) within 60 s after healing: ${views.join('; ')}; routing ${JSON.stringify(s.routing[INDEX])}; copies: ${JSON.stringify(await copyStates(s))}`);
    } else {
      log(`settled: ${JSON.stringify(latestState().routing[INDEX])}`);
      await checks();
    }
  } catch (err) {
    violate(`harness error: ${(err as Error).stack ?? String(err)}`);
  }
  return finish();

  function finish(): ReplicationSimResult {
  for (const n of nodes.values()) n.system.halt();
  const all = [...attempts.values()];
  return {
    seed,
    violations,
    config,
    attempted: all.length,
    acknowledged: all.filter((a) => a.outcome === 'ok').length,
    failed: all.filter((a) => a.outcome === 'error').length,
    errors: all.filter((a) => a.outcome === 'error').reduce<Record<string, number>>((m, a) => ((m[a.error!] = (m[a.error!] ?? 0) + 1), m), {}),
    unresolved: all.filter((a) => a.outcome === 'pending').length,
    crashes,
    restarts,
    partitions,
    lostShards: lostShards.size,
    virtualMs: clock.now(),
    fingerprint: createHash('sha256').update(trace.join('\n')).digest('hex').slice(0, 16),
    ...(opts.keepTrace ? { trace } : {}),
  };
  }

  // ---- helpers ----------------------------------------------------------------------------------

  async function waitUntil(cond: () => boolean, maxMs: number): Promise<boolean> {
    const deadline = clock.now() + maxMs;
    while (!cond()) {
      if (clock.now() >= deadline) return false;
      await sleep(20);
    }
    return true;
  }

  function shardActor(node: ShoalNode, nodeId: string, uuid: string, shard: number) {
    return node.system.ref(`shoal://${node.system.cluster}/${nodeId}${INDICES_PATH}/${shardActorName(uuid, shard)}`);
  }

  async function askCopy<T>(node: string, uuid: string, shard: number, msg: unknown): Promise<T> {
    const via = nodes.get(node)!;
    return (await drive(via.system.ask<T>(shardActor(via, node, uuid, shard), msg, { timeoutMs: 2_000 }), 5_000, `ask ${node}`)) as T;
  }

  /** Shard actor states of every copy in the routing table. */
  async function copyStates(s: ClusterState): Promise<unknown[]> {
    const meta = s.indices[INDEX];
    if (!meta) return [];
    const out: unknown[] = [];
    for (const [shard, t] of (s.routing[INDEX] ?? []).entries()) {
      for (const c of t.copies) {
        const st = await askCopy<Any>(c.node, meta.uuid, shard, { type: 'shard.stats' }).catch((e) => ({ error: (e as Error).message ?? e?.type }));
        out.push({ shard, node: c.node, ...st, group: undefined });
      }
    }
    return out;
  }

  /** Every node up and agreeing, the index green with every copy started, every shard actor started and caught up. */
  async function settled(maxMs: number): Promise<boolean> {
    const deadline = clock.now() + maxMs;
    for (;;) {
      const ok = await clock.runUntil(() => routingSettled(), { maxTimeMs: Math.max(0, deadline - clock.now()) });
      if (!ok) return false;
      if (await copiesSettled()) return true;
      await clock.runUntil(() => false, { maxTimeMs: 100 });
      if (clock.now() >= deadline) return false;
    }
  }

  function routingSettled(): boolean {
    const ns = live();
    if (ns.length !== 3) return false;
    const s = ns[0]!.state;
    if (!s.master || Object.keys(s.nodes).length !== 3) return false;
    if (ns.some((n) => n.state.version !== s.version)) return false;
    const tables: ShardTable[] | undefined = s.routing[INDEX];
    if (!tables || tables.length !== shards) return false;
    return tables.every((t) => t.copies.length === replicas + 1 && t.copies.every((c) => c.state === 'STARTED') && t.copies.every((c) => t.inSync.includes(c.allocationId)));
  }

  /** Every shard actor started in its role, and caught up: local checkpoint = max seq_no = the primary's. */
  async function copiesSettled(): Promise<boolean> {
    const s = latestState();
    const uuid = s.indices[INDEX]!.uuid;
    for (const [shard, t] of s.routing[INDEX]!.entries()) {
      let max: number | undefined;
      for (const c of [...t.copies].sort((a, b) => Number(b.primary) - Number(a.primary))) {
        const st = await askCopy<Any>(c.node, uuid, shard, { type: 'shard.stats' }).catch(() => undefined);
        if (!st || st.allocation_id !== c.allocationId) return false;
        const state = JSON.stringify(st.state);
        if (c.primary ? state !== '{"started":"primary"}' : state !== '{"started":{"replica":"active"}}') return false;
        max ??= st.max_seq_no;
        if (st.max_seq_no !== max || st.local_checkpoint !== max) return false;
      }
    }
    return true;
  }

  async function checks(): Promise<void> {
    const s = latestState();
    const uuid = s.indices[INDEX]!.uuid;
    const tables = s.routing[INDEX]!;

    // (1) acknowledged writes: the document each id ends up with, read through the API.
    const finals = new Map<string, DocView>();
    for (const id of ids) {
      const via = rng.pick(live());
      const r = (await drive(via.api({ op: 'doc.get', index: INDEX, id }), 10_000, `get ${id}`)) as Any;
      finals.set(id, r.found ? { found: true, _seq_no: r._seq_no, _primary_term: r._primary_term, _version: r._version, _source: r._source } : { found: false });
      log(`final ${id} ${JSON.stringify(finals.get(id))}`);
    }
    const seqOwners = new Map<string, string>();
    for (const id of ids) {
      const mine = [...attempts.values()].filter((a) => a.id === id);
      // (A `noop` update is this write retried by the coordinator after its first attempt took effect, at the seq_no it reports.)
      const acked = mine.filter((a) => a.outcome === 'ok').sort((x, y) => x.result!._seq_no - y.result!._seq_no);
      const shard = shardFor(id, shards);
      if (lostShards.has(shard)) continue; // its data is gone in memory (see `lostShards`)
      const maybe = mine.filter((a) => a.outcome !== 'ok');
      const maybeDeleted = maybe.some((a) => a.kind === 'delete');
      // The acknowledged history of an id: one seq_no each, and each write saw the one before.
      for (let i = 0; i < acked.length; i++) {
        const a = acked[i]!;
        const key = `${shard}:${a.result!._seq_no}`;
        const other = seqOwners.get(key);
        if (other) violate(`acknowledged writes ${other} and ${a.token} share seq_no ${a.result!._seq_no} in shard ${shard}`);
        seqOwners.set(key, a.token);
        const prev = acked[i - 1];
        if (!prev) continue;
        // A retried delete may find the document its first attempt deleted: only `created` tells.
        // A write the coordinator retried may have taken effect more than once: any delete begun
        // before `a` was acknowledged may have removed the document in between.
        // (A retried delete may find the document its first attempt deleted.)
        const absent = a.result!.result === 'created' || a.result!.result === 'not_found';
        if (a.result!.result === 'noop') continue;
        const deleteBefore = mine.some((d) => d.kind === 'delete' && d.invokedAt <= a.doneAt!);
        if (absent && a.kind !== 'delete' && prev.kind !== 'delete' && !deleteBefore) {
          violate(`${id}: acknowledged ${a.kind} ${a.token} (seq ${a.result!._seq_no}) found no document, though acknowledged ${prev.kind} ${prev.token} (seq ${prev.result!._seq_no}) wrote it and no delete of it was attempted`);
        } else if (a.result!._version <= prev.result!._version) {
          // Versions only grow, across deletes too (tombstones keep them, and recoveries copy them).
          violate(`${id}: acknowledged ${a.token} (seq ${a.result!._seq_no}) has version ${a.result!._version}, not above ${prev.token}'s ${prev.result!._version}`);
        }
      }
      const last = acked.at(-1);
      const f = finals.get(id)!;
      if (f.found) {
        const producer = attempts.get(String(f._source?.w));
        if (!producer || producer.id !== id || producer.kind === 'delete') {
          violate(`${id}: final document ${JSON.stringify(f)} was written by no write to ${id}`);
          continue;
        }
        if (producer.source && JSON.stringify(producer.source) !== JSON.stringify(f._source)) violate(`${id}: final source ${JSON.stringify(f._source)} is not what ${producer.token} wrote`);
        if (producer.kind === 'update' || producer.kind === 'upsert') {
          if (f._source!.u === undefined) violate(`${id}: final source ${JSON.stringify(f._source)} lacks the update of ${producer.token}`);
        }
        if (!last) {
          if (producer.outcome === 'ok') violate(`${id}: final document from acknowledged ${producer.token} but no acknowledged write to it?`);
          continue;
        }
        if (f._seq_no! < last.result!._seq_no) {
          violate(`${id}: acknowledged ${last.kind} ${last.token} (seq ${last.result!._seq_no}, term ${last.result!._primary_term}) is lost: the document is ${JSON.stringify(f)}`);
        } else if (f._seq_no === last.result!._seq_no) {
          if (producer !== last || f._version !== last.result!._version || f._primary_term !== last.result!._primary_term) {
            violate(`${id}: document at seq ${f._seq_no} is ${JSON.stringify(f)}, but the acknowledged write there is ${last.token} ${JSON.stringify(last.result)}`);
          }
        } else if (producer.outcome === 'ok') {
          violate(`${id}: final document ${JSON.stringify(f)} from acknowledged ${producer.token} ${JSON.stringify(producer.result)} which is not the latest acknowledged ${last.token}`);
        }
      } else if (last && last.kind !== 'delete' && !maybeDeleted) {
        violate(`${id}: acknowledged ${last.kind} ${last.token} ${JSON.stringify(last.result)} is lost: the document is gone, and no delete of it failed or timed out`);
      }
    }

    // (2) + (3) every started copy of a shard: the same documents, no gaps, no duplicates or strays.
    for (const [shard, t] of tables.entries()) {
      const mine = ids.filter((id) => shardFor(id, shards) === shard);
      let reference: { node: string; docs: string } | undefined;
      for (const c of t.copies) {
        await askCopy(c.node, uuid, shard, { type: 'shard.refresh' });
        const docs: Record<string, DocView> = {};
        for (const id of mine) {
          const r = await askCopy<Any>(c.node, uuid, shard, { type: 'shard.get', id });
          docs[id] = r.found ? { found: true, _seq_no: r._seq_no, _primary_term: r._primary_term, _version: r._version, _source: r._source } : { found: false };
        }
        const json = JSON.stringify(docs);
        log(`copy ${shard} ${c.node}${c.primary ? ' primary' : ''} ${json}`);
        if (c.primary) {
          for (const id of mine) if (JSON.stringify(docs[id]) !== JSON.stringify(finals.get(id))) violate(`shard ${shard}: primary on ${c.node} has ${id} as ${JSON.stringify(docs[id])} but the API read ${JSON.stringify(finals.get(id))}`);
        }
        if (!reference) reference = { node: c.node, docs: json };
        else if (reference.docs !== json) {
          for (const id of mine) {
            const a = JSON.stringify(JSON.parse(reference.docs)[id]);
            const b = JSON.stringify(docs[id]);
            if (a !== b) violate(`shard ${shard} diverged on ${id}: ${reference.node} has ${a}, ${c.node} has ${b}`);
          }
        }
        const live = mine.filter((id) => docs[id]!.found).sort();
        const search = await askCopy<Any>(c.node, uuid, shard, { type: 'shard.search', request: { size: 10_000, query: { match_all: {} } } });
        const hits = (search.hits.hits as { _id: string }[]).map((h) => h._id).sort();
        if (JSON.stringify(hits) !== JSON.stringify(live)) violate(`shard ${shard} on ${c.node}: match_all returns ${JSON.stringify(hits)}, the live ids are ${JSON.stringify(live)}`);
        if (search.hits.total.value !== live.length) violate(`shard ${shard} on ${c.node}: match_all counts ${search.hits.total.value}, expected ${live.length}`);
        const stats = await askCopy<Any>(c.node, uuid, shard, { type: 'shard.stats' });
        log(`stats ${shard} ${c.node} docs ${stats.docs} max ${stats.max_seq_no} lcp ${stats.local_checkpoint} gcp ${stats.global_checkpoint} term ${stats.primary_term}`);
        if (stats.docs !== live.length) violate(`shard ${shard} on ${c.node}: ${stats.docs} docs, expected ${live.length}`);
      }
    }
  }
}

/**
 * The fault plan duplicates any message; NATS core never does (at most once). Raft and the
 * replication messages are idempotent, but a client write is not: a `shard.write` request
 * delivered twice is executed twice, and a late second copy can overwrite a newer acknowledged
 * write. So the second delivery of a write request is dropped here; everything else may be
 * duplicated.
 */
class AtMostOnceWrites implements Transport {
  constructor(private readonly inner: FaultyTransport) {}

  get closed(): Promise<void> {
    return this.inner.closed;
  }

  publish(subject: string, data: Uint8Array, opts?: PublishOptions): void {
    this.inner.publish(subject, data, opts);
  }

  subscribe(subject: string, handler: MessageHandler, opts?: SubscribeOptions): Subscription {
    const seen = new WeakSet<TransportMessage>();
    return this.inner.subscribe(
      subject,
      (msg) => {
        if (!seen.has(msg)) seen.add(msg);
        else if (isWriteRequest(msg)) return;
        handler(msg);
      },
      opts,
    );
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function isWriteRequest(msg: TransportMessage): boolean {
  try {
    return (decode(msg.data) as { m?: { type?: unknown } })?.m?.type === 'shard.write';
  } catch {
    return false;
  }
}
