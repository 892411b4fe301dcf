import { filterVeto } from './allocation-filters.ts';
import type { ClusterState, NodeInfo } from './cluster-state.ts';
import type { ShardCopy, ShardTable } from './metadata.ts';

/**
 * Elasticsearch's cluster allocation explain: why a shard copy is where it is, or why it is not
 * allocated, node by node, from the same rules allocation.ts applies (data role, one copy per
 * node, the allocation filters, delayed allocation, a lost primary's data, replicas after their
 * primary). Pure: the coordinating node runs it on its cluster state.
 */
export interface Decider {
  decider: 'data_node' | 'same_shard' | 'filter';
  decision: 'NO';
  explanation: string;
}

export interface NodeDecision {
  node_id: string;
  node_name: string;
  node_attributes: Record<string, string>;
  node_decision: 'yes' | 'no';
  deciders?: Decider[];
}

export interface AllocationExplanation {
  index: string;
  shard: number;
  primary: boolean;
  current_state: 'unassigned' | 'initializing' | 'started' | 'relocating';
  current_node?: { id: string; name: string; attributes: Record<string, string> };
  unassigned_info?: { reason: string; delayed_until?: number; details?: string };
  can_allocate?: 'yes' | 'no' | 'allocation_delayed' | 'no_valid_shard_copy';
  remaining_delay_in_millis?: number;
  can_remain_on_current_node?: 'yes' | 'no';
  can_remain_decisions?: Decider[];
  can_move_to_other_node?: 'yes' | 'no';
  allocate_explanation?: string;
  node_allocation_decisions?: NodeDecision[];
}

export class ExplainError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** What to explain: a shard copy by index, shard and role; or, with none given, the first unassigned copy. */
export interface ExplainTarget {
  index?: string;
  shard?: number;
  primary?: boolean;
  /** Among several replicas, the one on this node. */
  currentNode?: string;
}

export function explainAllocation(state: ClusterState, target: ExplainTarget, now: number): AllocationExplanation {
  const t = target.index === undefined ? firstUnassigned(state) : checkedTarget(state, target);
  const table = state.routing[t.index]![t.shard]!;
  const copy = t.primary ? table.copies.find((c) => c.primary) : replicaToExplain(state, t.index, table, target.currentNode);
  const head = { index: t.index, shard: t.shard, primary: t.primary };
  const nodes = Object.values(state.nodes).sort((a, b) => a.id.localeCompare(b.id));
  if (copy) return explainAssigned(state, head, table, copy, nodes);
  return explainUnassigned(state, head, table, nodes, now);
}

function checkedTarget(state: ClusterState, target: ExplainTarget): { index: string; shard: number; primary: boolean } {
  const index = target.index!;
  if (!state.indices[index]) throw new ExplainError('index_not_found_exception', `no such index [${index}]`, 404);
  if (target.shard === undefined || target.primary === undefined) throw new ExplainError('illegal_argument_exception', 'to explain a shard copy give [index], [shard] and [primary]', 400);
  if (state.indices[index]!.state === 'close') throw new ExplainError('index_closed_exception', `closed index [${index}]: its shards are not allocated`, 400);
  const tables = state.routing[index] ?? [];
  if (!Number.isInteger(target.shard) || target.shard < 0 || target.shard >= tables.length) throw new ExplainError('illegal_argument_exception', `[${index}] has no shard [${target.shard}]; it has ${tables.length}`, 400);
  return { index, shard: target.shard, primary: target.primary };
}

/** The first copy, in index and shard order, that is not allocated (as Elasticsearch picks). */
function firstUnassigned(state: ClusterState): { index: string; shard: number; primary: boolean } {
  for (const index of Object.keys(state.routing).sort()) {
    if (state.indices[index]?.state !== 'open') continue;
    for (const [shard, t] of state.routing[index]!.entries()) {
      if (!t.copies.some((c) => c.primary)) return { index, shard, primary: true };
      if (replicasOf(t).length < state.indices[index]!.settings.number_of_replicas) return { index, shard, primary: false };
    }
  }
  throw new ExplainError('illegal_argument_exception', 'unable to find any unassigned shards to explain; give [index], [shard] and [primary] to explain an allocated one', 400);
}

const replicasOf = (t: ShardTable) => t.copies.filter((c) => !c.primary && !c.relocatingFrom);

/** An unassigned replica slot when the index is short of one, else the replica on `node` (or the first). */
function replicaToExplain(state: ClusterState, index: string, t: ShardTable, node: string | undefined): ShardCopy | undefined {
  const replicas = replicasOf(t);
  if (node !== undefined) {
    const on = replicas.find((c) => c.node === node);
    if (!on) throw new ExplainError('illegal_argument_exception', `[${index}] has no replica on node [${node}]`, 400);
    return on;
  }
  if (replicas.length < state.indices[index]!.settings.number_of_replicas) return undefined;
  if (replicas.length === 0) throw new ExplainError('illegal_argument_exception', `[${index}] has no replicas (number_of_replicas is 0)`, 400);
  return replicas[0];
}

function deciders(state: ClusterState, t: ShardTable, node: NodeInfo, moving?: ShardCopy): Decider[] {
  const no: Decider[] = [];
  if (!node.roles.includes('data')) no.push({ decider: 'data_node', decision: 'NO', explanation: 'the node has no data role' });
  const here = t.copies.find((c) => c.node === node.id && c !== moving);
  if (here) no.push({ decider: 'same_shard', decision: 'NO', explanation: `a copy of this shard is already on this node [${here.allocationId}]` });
  const veto = filterVeto(node, state.settings.allocation);
  if (veto) no.push({ decider: 'filter', decision: 'NO', explanation: veto });
  return no;
}

function decisions(state: ClusterState, t: ShardTable, nodes: NodeInfo[], moving?: ShardCopy): NodeDecision[] {
  return nodes
    .filter((n) => n.id !== moving?.node)
    .map((n) => {
      const no = deciders(state, t, n, moving);
      return { node_id: n.id, node_name: n.name, node_attributes: n.attributes, node_decision: no.length === 0 ? 'yes' : 'no', ...(no.length > 0 ? { deciders: no } : {}) };
    });
}

function explainAssigned(state: ClusterState, head: { index: string; shard: number; primary: boolean }, t: ShardTable, copy: ShardCopy, nodes: NodeInfo[]): AllocationExplanation {
  const node = state.nodes[copy.node];
  const current_state = copy.state === 'INITIALIZING' ? 'initializing' : copy.state === 'RELOCATING' ? 'relocating' : 'started';
  const out: AllocationExplanation = { ...head, current_state, current_node: { id: copy.node, name: node?.name ?? copy.node, attributes: node?.attributes ?? {} } };
  const veto = node ? filterVeto(node, state.settings.allocation) : undefined;
  out.can_remain_on_current_node = veto ? 'no' : 'yes';
  if (veto) out.can_remain_decisions = [{ decider: 'filter', decision: 'NO', explanation: veto }];
  const target = copy.relocatingTo === undefined ? undefined : t.copies.find((c) => c.allocationId === copy.relocatingTo);
  if (target) {
    out.allocate_explanation = `the copy is moving to node [${target.node}] (${target.allocationId}), ${veto ? 'as the allocation filters want' : 'to balance the nodes'}`;
    return out;
  }
  if (!veto) {
    out.allocate_explanation = 'the copy can remain on its current node';
    return out;
  }
  const moves = decisions(state, t, nodes, copy);
  out.can_move_to_other_node = moves.some((d) => d.node_decision === 'yes') ? 'yes' : 'no';
  out.allocate_explanation =
    out.can_move_to_other_node === 'yes'
      ? 'the copy cannot remain on its node and will move to a node that allows it (a few moves at a time)'
      : 'the copy cannot remain on its node, but no other node can take it, so it stays';
  out.node_allocation_decisions = moves;
  return out;
}

function explainUnassigned(state: ClusterState, head: { index: string; shard: number; primary: boolean }, t: ShardTable, nodes: NodeInfo[], now: number): AllocationExplanation {
  const out: AllocationExplanation = { ...head, current_state: 'unassigned' };
  if (head.primary) {
    const lost = t.lostInSyncNodes ?? [];
    if (lost.length > 0) {
      out.unassigned_info = { reason: 'NODE_LEFT', details: `the only in-sync copies were on [${lost.join(', ')}]` };
      const back = lost.filter((n) => state.nodes[n]?.roles.includes('data'));
      out.can_allocate = back.length > 0 ? 'yes' : 'no_valid_shard_copy';
      out.allocate_explanation =
        back.length > 0
          ? `the node holding the shard's data [${back.join(', ')}] is back: the primary is allocated there`
          : `cannot allocate because the shard's in-sync data is only on [${lost.join(', ')}], which is not in the cluster; bring that node back (an empty primary elsewhere would lose the acknowledged writes)`;
      out.node_allocation_decisions = decisions(state, t, nodes);
      return out;
    }
    out.unassigned_info = { reason: 'INDEX_CREATED' };
  } else {
    const primary = t.copies.find((c) => c.primary);
    if (!primary || primary.state === 'INITIALIZING') {
      out.unassigned_info = { reason: 'INDEX_CREATED' };
      out.can_allocate = 'no';
      out.allocate_explanation = 'a replica is allocated once its primary has started; the primary is not active yet';
      return out;
    }
    if (t.delayedUntil !== undefined && now < t.delayedUntil) {
      out.unassigned_info = { reason: 'NODE_LEFT', delayed_until: t.delayedUntil, ...(t.delayedNode ? { details: `waiting for node [${t.delayedNode}] to come back` } : {}) };
      out.can_allocate = 'allocation_delayed';
      out.remaining_delay_in_millis = t.delayedUntil - now;
      out.allocate_explanation = `the replica waits up to ${t.delayedUntil - now} ms more for node [${t.delayedNode}] to come back (index.unassigned.node_left.delayed_timeout) before it is rebuilt elsewhere`;
      return out;
    }
    out.unassigned_info = { reason: 'REPLICA_ADDED' };
  }
  out.node_allocation_decisions = decisions(state, t, nodes);
  const yes = out.node_allocation_decisions.some((d) => d.node_decision === 'yes');
  out.can_allocate = yes ? 'yes' : 'no';
  out.allocate_explanation = yes ? 'a node can take the copy; it is allocated at the next reroute' : 'cannot allocate because allocation is not permitted to any of the nodes';
  return out;
}
