import type { IndexMeta, ShardCopy, ShardTable } from './metadata.ts';
import type { NodeInfo } from './cluster-state.ts';
import { filterVeto, type AllocationFilters } from './allocation-filters.ts';

/**
 * Shard allocation, as the master decides it. Pure and deterministic: it runs inside the Raft
 * state machine, so every master-eligible node computes the same routing from the same log.
 * Rules: never two copies of a shard on one node; copies of a shard spread over the values of the
 * awareness attribute (e.g. zone); new copies go to the least loaded node; a primary is promoted
 * from the in-sync replicas at once, while a replica whose node left waits (delayed allocation)
 * for that node to come back before it is rebuilt elsewhere; replicas are moved (relocated) to
 * balance the number of copies per node; the allocation filters (allocation-filters.ts) keep
 * copies off the nodes they exclude, and copies already there move off.
 */
export interface AllocationInput {
  nodes: Record<string, NodeInfo>;
  indices: Record<string, IndexMeta>;
  routing: Record<string, ShardTable[]>;
  /** Node attribute the copies of a shard are spread over (cluster setting), if any. */
  awareness?: string;
  /** Which nodes may hold copies (cluster settings), if any filters are set. */
  filters?: AllocationFilters;
  now: number;
  /** A fresh allocation id (deterministic in the caller). */
  newId: () => string;
}

const MAX_CONCURRENT_RELOCATIONS = 2;

export function allocate(input: AllocationInput): Record<string, ShardTable[]> {
  const dataNodes = Object.values(input.nodes)
    .filter((n) => n.roles.includes('data'))
    .map((n) => n.id)
    .sort();
  const alive = new Set(dataNodes);
  // Nodes the filters allow: new copies go there only, and copies elsewhere move there.
  const allowed = new Set(dataNodes.filter((n) => filterVeto(input.nodes[n]!, input.filters) === undefined));
  const routing: Record<string, ShardTable[]> = {};
  const load = new Map<string, number>(dataNodes.map((n) => [n, 0]));
  for (const name of Object.keys(input.routing)) {
    if (!input.indices[name]) continue; // deleted
    routing[name] = input.routing[name]!.map((t) => {
      // Copies on nodes that are gone fail (node_leave normally did this already).
      let table = { ...t, copies: [...t.copies], inSync: [...t.inSync] };
      for (const c of t.copies) if (!alive.has(c.node)) table = failCopy(table, c.allocationId, input.now, 0);
      for (const c of table.copies) addLoad(load, c, 1);
      return table;
    });
  }
  const ctx = { input, dataNodes, alive, allowed, load };
  for (const name of Object.keys(input.indices).sort()) {
    const meta = input.indices[name]!;
    // Terms start at 0: allocating the first primary opens term 1 (as in Elasticsearch).
    const tables = routing[name] ?? Array.from({ length: meta.settings.number_of_shards }, () => ({ primaryTerm: 0, copies: [], inSync: [] }));
    routing[name] = tables;
    if (meta.state === 'close') {
      tables.forEach((t, i) => (tables[i] = closeTable(t, load)));
      continue;
    }
    tables.forEach((t, i) => (tables[i] = allocateShard(t, meta, ctx)));
  }
  rebalance(routing, input, ctx);
  return routing;
}

/**
 * Copies a node holds, as allocation counts them: a RELOCATING copy is on its way out, so it counts
 * on its target's node only (the rebalancer moves load the same way: reroute is a fixpoint).
 */
function addLoad(load: Map<string, number>, c: ShardCopy, delta: 1 | -1): void {
  if (c.state !== 'RELOCATING') load.set(c.node, (load.get(c.node) ?? 0) + delta);
}

interface Ctx {
  input: AllocationInput;
  dataNodes: string[];
  alive: Set<string>;
  allowed: Set<string>;
  load: Map<string, number>;
}

function allocateShard(t: ShardTable, meta: IndexMeta, ctx: Ctx): ShardTable {
  let table = t;
  let primary = table.copies.find((c) => c.primary);
  if (!primary) {
    const before = table.copies;
    table = promote(table);
    // promote drops copies that were never in sync: they no longer count on their nodes.
    for (const c of before) if (!table.copies.some((x) => x.allocationId === c.allocationId)) addLoad(ctx.load, c, -1);
    primary = table.copies.find((c) => c.primary);
  }
  if (!primary) {
    const lost = table.lostInSyncNodes;
    const recovering = lost !== undefined && lost.length > 0;
    const candidates = recovering ? ctx.dataNodes.filter((n) => lost.includes(n)) : ctx.dataNodes;
    // The only data is on a node the filters exclude: bring it back there anyway (it moves off
    // once started); the filters must not cost the shard its data.
    const node = bestNode(table, candidates, ctx, recovering);
    if (!node) return table; // red until a node with the data is back
    primary = { allocationId: ctx.input.newId(), node, primary: true, state: 'INITIALIZING' };
    // A new primary is a new term: writes of any earlier primary of this shard are fenced.
    table = { ...table, primaryTerm: table.primaryTerm + 1, copies: [...table.copies, primary] };
    ctx.load.set(node, (ctx.load.get(node) ?? 0) + 1);
  }
  // Replicas recover from a started primary.
  if (primary.state === 'INITIALIZING') return table;
  const replicas = table.copies.filter((c) => !c.primary && !c.relocatingFrom);
  const want = meta.settings.number_of_replicas;
  if (replicas.length > want) {
    // Drop the least useful replicas: initializing first, then ones not in sync.
    const rank = (c: ShardCopy) => (c.state === 'INITIALIZING' ? 0 : table.inSync.includes(c.allocationId) ? 2 : 1);
    const drop = [...replicas].sort((a, b) => rank(a) - rank(b)).slice(0, replicas.length - want);
    for (const c of drop) {
      // A relocating replica takes its relocation target with it.
      for (const gone of table.copies.filter((x) => x.allocationId === c.allocationId || x.allocationId === c.relocatingTo)) {
        table = removeCopy(table, gone.allocationId);
        addLoad(ctx.load, gone, -1);
      }
    }
  }
  for (let missing = want - replicas.length; missing > 0; missing--) {
    let node: string | undefined;
    if (table.delayedNode && ctx.allowed.has(table.delayedNode) && !table.copies.some((c) => c.node === table.delayedNode)) {
      node = table.delayedNode;
    } else if (table.delayedUntil !== undefined && ctx.input.now < table.delayedUntil) {
      break; // waiting for the node that left
    } else {
      node = bestNode(table, ctx.dataNodes, ctx);
    }
    if (!node) break;
    table = { ...table, copies: [...table.copies, { allocationId: ctx.input.newId(), node, primary: false, state: 'INITIALIZING' }], delayedNode: undefined, delayedUntil: undefined };
    ctx.load.set(node, (ctx.load.get(node) ?? 0) + 1);
  }
  if (table.copies.filter((c) => !c.primary && !c.relocatingFrom).length >= want) table = { ...table, delayedNode: undefined, delayedUntil: undefined };
  return clean(table);
}

/**
 * The least loaded node that holds no copy of this shard, spreading copies over the awareness
 * attribute, among the nodes the filters allow (any live one with `ignoreFilters`).
 */
function bestNode(table: ShardTable, candidates: string[], ctx: Ctx, ignoreFilters = false): string | undefined {
  const taken = new Set(table.copies.map((c) => c.node));
  const attr = ctx.input.awareness;
  const zoneOf = (n: string) => (attr ? (ctx.input.nodes[n]?.attributes[attr] ?? '') : '');
  const perZone = new Map<string, number>();
  for (const c of table.copies) perZone.set(zoneOf(c.node), (perZone.get(zoneOf(c.node)) ?? 0) + 1);
  let best: string | undefined;
  let bestKey: [number, number, string] | undefined;
  for (const n of candidates) {
    if (taken.has(n) || !(ignoreFilters ? ctx.alive : ctx.allowed).has(n)) continue;
    const key: [number, number, string] = [perZone.get(zoneOf(n)) ?? 0, ctx.load.get(n) ?? 0, n];
    if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
      best = n;
      bestKey = key;
    }
  }
  return best;
}

/**
 * Move started copies from the most to the least loaded nodes, a few at a time: replicas first,
 * primaries too when no replica can move (else an index without replicas never spreads out).
 */
function rebalance(routing: Record<string, ShardTable[]>, input: AllocationInput, ctx: Ctx): void {
  const tables = Object.keys(routing)
    .sort()
    .flatMap((name) => routing[name]!.map((t, i) => ({ name, i })));
  const moving = () => tables.filter(({ name, i }) => routing[name]![i]!.copies.some((c) => c.state !== 'STARTED')).length;
  if (tables.some(({ name, i }) => routing[name]![i]!.copies.some((c) => c.state === 'INITIALIZING' && !c.relocatingFrom))) return;
  evacuate(routing, tables, input, ctx, moving);
  const allowedNodes = ctx.dataNodes.filter((n) => ctx.allowed.has(n));
  while (moving() < MAX_CONCURRENT_RELOCATIONS && allowedNodes.length > 1) {
    const byLoad = [...allowedNodes].sort((a, b) => (ctx.load.get(a)! - ctx.load.get(b)!) || a.localeCompare(b));
    const light = byLoad[0]!;
    let moved = false;
    for (const heavy of byLoad.slice().reverse()) {
      if (ctx.load.get(heavy)! - ctx.load.get(light)! <= 1) break;
      for (const primaries of [false, true]) {
        for (const { name, i } of tables) {
          const t = routing[name]![i]!;
          if (t.copies.some((c) => c.state !== 'STARTED')) continue;
          const victim = t.copies.find((c) => c.node === heavy && c.primary === primaries);
          if (!victim || t.copies.some((c) => c.node === light)) continue;
          if (!keepsSpread(t, victim, light, ctx)) continue;
          const target: ShardCopy = { allocationId: input.newId(), node: light, primary: false, state: 'INITIALIZING', relocatingFrom: victim.allocationId };
          routing[name]![i] = {
            ...t,
            copies: [...t.copies.map((c) => (c === victim ? { ...c, state: 'RELOCATING' as const, relocatingTo: target.allocationId } : c)), target],
          };
          ctx.load.set(heavy, ctx.load.get(heavy)! - 1);
          ctx.load.set(light, ctx.load.get(light)! + 1);
          moved = true;
          break;
        }
        if (moved) break;
      }
      if (moved) break;
    }
    if (!moved) return;
  }
}

/**
 * Move started copies off nodes the filters exclude (draining a node before it is retired), a few
 * at a time, to the best allowed node without a copy of the shard; a primary moves by handoff.
 * A copy with nowhere to go stays where it is. The filter is a rule and awareness a preference
 * here: the target is in the zone with the fewest copies, which may already hold one.
 */
function evacuate(routing: Record<string, ShardTable[]>, tables: { name: string; i: number }[], input: AllocationInput, ctx: Ctx, moving: () => number): void {
  for (const { name, i } of tables) {
    if (moving() >= MAX_CONCURRENT_RELOCATIONS) return;
    const t = routing[name]![i]!;
    if (t.copies.some((c) => c.state !== 'STARTED')) continue;
    const victim = t.copies.find((c) => !ctx.allowed.has(c.node));
    if (!victim) continue;
    const to = bestNode(t, ctx.dataNodes, ctx);
    if (!to) continue;
    const target: ShardCopy = { allocationId: input.newId(), node: to, primary: false, state: 'INITIALIZING', relocatingFrom: victim.allocationId };
    routing[name]![i] = { ...t, copies: [...t.copies.map((c) => (c === victim ? { ...c, state: 'RELOCATING' as const, relocatingTo: target.allocationId } : c)), target] };
    ctx.load.set(victim.node, ctx.load.get(victim.node)! - 1);
    ctx.load.set(to, (ctx.load.get(to) ?? 0) + 1);
  }
}

/** Moving `victim` to `to` must not put more copies of the shard in one awareness zone than before. */
function keepsSpread(t: ShardTable, victim: ShardCopy, to: string, ctx: Ctx): boolean {
  const attr = ctx.input.awareness;
  if (!attr) return true;
  const zoneOf = (n: string) => ctx.input.nodes[n]?.attributes[attr] ?? '';
  const from = zoneOf(victim.node);
  const dest = zoneOf(to);
  if (from === dest) return true;
  const count = (z: string) => t.copies.filter((c) => c !== victim && zoneOf(c.node) === z).length;
  return count(dest) <= count(from);
}

/**
 * A copy finished recovery: it is started and in sync. A relocation target replaces its source;
 * the target of a relocating primary takes over the primary role, in a new primary term.
 */
export function startCopy(t: ShardTable, allocationId: string): ShardTable {
  const copy = t.copies.find((c) => c.allocationId === allocationId);
  if (!copy || copy.state !== 'INITIALIZING') return t;
  const source = copy.relocatingFrom ? t.copies.find((c) => c.allocationId === copy.relocatingFrom) : undefined;
  const handoff = source?.primary === true;
  let table: ShardTable = {
    ...t,
    primaryTerm: handoff ? t.primaryTerm + 1 : t.primaryTerm,
    copies: t.copies.map((c) => (c.allocationId === allocationId ? { ...c, state: 'STARTED' as const, relocatingFrom: undefined, primary: c.primary || handoff } : c)),
    inSync: t.inSync.includes(allocationId) ? t.inSync : [...t.inSync, allocationId],
    lostInSyncNodes: undefined,
  };
  if (source) table = removeCopy(table, source.allocationId);
  return clean(table);
}

/**
 * A copy is gone (failed, or its node left). A lost primary is replaced by an in-sync replica at
 * once (primary term + 1); a replica lost with its node waits `delayMs` for the node to return.
 */
export function failCopy(t: ShardTable, allocationId: string, now: number, delayMs: number): ShardTable {
  const copy = t.copies.find((c) => c.allocationId === allocationId);
  if (!copy) return t;
  let table = removeCopy(t, allocationId);
  if (copy.relocatingTo) table = removeCopy(table, copy.relocatingTo);
  if (copy.relocatingFrom) {
    table = { ...table, copies: table.copies.map((c) => (c.allocationId === copy.relocatingFrom ? { ...c, state: 'STARTED' as const, relocatingTo: undefined } : c)) };
  }
  if (copy.primary) {
    const wasInSync = t.inSync.includes(allocationId);
    table = promote(table);
    if (!table.copies.some((c) => c.primary) && wasInSync) {
      // Nothing in sync is left: the data is only on the lost node's disk.
      table = { ...table, copies: [], inSync: [], lostInSyncNodes: [...new Set([...(t.lostInSyncNodes ?? []), copy.node])] };
    }
  }
  // The copy the shard is now short of (a replica, or the replica a promotion used up) waits for
  // its node to come back; a copy that was still initializing had no data worth waiting for.
  if (delayMs > 0 && copy.state !== 'INITIALIZING' && table.copies.some((c) => c.primary)) {
    table = { ...table, delayedUntil: now + delayMs, delayedNode: copy.node };
  }
  return clean(table);
}

/** Make the best in-sync started replica the primary, in a new primary term. */
function promote(t: ShardTable): ShardTable {
  if (t.copies.some((c) => c.primary)) return t;
  const candidate =
    t.copies.find((c) => c.state === 'STARTED' && t.inSync.includes(c.allocationId)) ??
    t.copies.find((c) => c.state === 'RELOCATING' && t.inSync.includes(c.allocationId));
  if (!candidate) {
    // Copies that were never in sync cannot become primary: drop them, they will be rebuilt.
    return { ...t, copies: t.copies.filter((c) => t.inSync.includes(c.allocationId)) };
  }
  return {
    ...t,
    primaryTerm: t.primaryTerm + 1,
    copies: t.copies.map((c) => (c === candidate ? { ...c, primary: true } : c)),
  };
}

function removeCopy(t: ShardTable, allocationId: string): ShardTable {
  return { ...t, copies: t.copies.filter((c) => c.allocationId !== allocationId), inSync: t.inSync.filter((a) => a !== allocationId) };
}

/** A closed index has no copies; its data stays on the disks of the in-sync copies' nodes. */
function closeTable(t: ShardTable, load: Map<string, number>): ShardTable {
  if (t.copies.length === 0) return t;
  for (const c of t.copies) addLoad(load, c, -1);
  const nodes = t.copies.filter((c) => t.inSync.includes(c.allocationId)).map((c) => c.node);
  return { primaryTerm: t.primaryTerm, copies: [], inSync: [], lostInSyncNodes: nodes.length > 0 ? nodes : t.lostInSyncNodes };
}

/** Drop undefined keys so states compare and serialise the same everywhere. */
function clean(t: ShardTable): ShardTable {
  const out: ShardTable = { primaryTerm: t.primaryTerm, copies: t.copies.map(cleanCopy), inSync: t.inSync };
  if (t.delayedUntil !== undefined) out.delayedUntil = t.delayedUntil;
  if (t.delayedNode !== undefined) out.delayedNode = t.delayedNode;
  if (t.lostInSyncNodes !== undefined) out.lostInSyncNodes = t.lostInSyncNodes;
  return out;
}

function cleanCopy(c: ShardCopy): ShardCopy {
  const out: ShardCopy = { allocationId: c.allocationId, node: c.node, primary: c.primary, state: c.state };
  if (c.relocatingTo !== undefined) out.relocatingTo = c.relocatingTo;
  if (c.relocatingFrom !== undefined) out.relocatingFrom = c.relocatingFrom;
  return out;
}

/** Health of the routing: green = every copy started, yellow = a replica missing, red = a primary missing. */
export function shardHealth(t: ShardTable, replicas: number): 'green' | 'yellow' | 'red' {
  const primary = t.copies.find((c) => c.primary);
  if (!primary || primary.state === 'INITIALIZING') return 'red';
  const started = t.copies.filter((c) => !c.primary && (c.state === 'STARTED' || c.state === 'RELOCATING')).length;
  return started >= replicas ? 'green' : 'yellow';
}
