/**
 * The dashboard's picture of the cluster: one plain JSON object built from what the API answers
 * (`cluster.state`, `cat.shards`, `cluster.health`) plus, under `shoal up`, its node processes.
 * The server sends it as the SSE `cluster` event whenever it changes (docs/VIZ.md, "Dashboard").
 */
import type { CatShard, ClusterHealthResponse, HealthStatus } from '../../protocols/api.ts';
import type { ClusterState } from '../cluster/cluster-state.ts';
import type { ProcessInfo } from '../cli/up-control.ts';
import { INDICES_PATH, shardActorName } from '../data/indices-service.ts';
import { NODE_PATH, RAFT_PATH } from '../node/shoal-node.ts';

export type NodeStatus = 'up' | 'joining' | 'down';

export interface ViewNode {
  id: string;
  /** up: a member of the cluster state (and its process runs); joining: its process runs but it is not a member yet; down: gone. */
  status: NodeStatus;
  /** Why it is down or joining, for people. */
  reason?: string;
  roles: string[];
  attributes: Record<string, string>;
  master: boolean;
  /** Its process, when the dashboard runs inside `shoal up`. */
  process?: { pid: number | null; status: 'running' | 'exited'; exit?: string; restarts: number };
  /** Machine actors every node of these roles runs: the node actor, the raft peer (master-eligible). */
  actors: { path: string; kind: string }[];
}

export interface ViewCopy {
  index: string;
  shard: number;
  primary: boolean;
  state: CatShard['state'];
  node: string | null;
  allocationId?: string;
  primaryTerm?: number;
  inSync?: boolean;
  /** The shard actor's path on its node (`/system/indices/<uuid>_<shard>`); absent for unassigned copies. */
  actor?: string;
}

export interface ViewIndex {
  name: string;
  uuid: string;
  state: 'open' | 'close';
  shards: number;
  replicas: number;
  health: HealthStatus | 'closed' | 'unknown';
}

export interface ClusterView {
  v: 1;
  cluster: string;
  /** When this view was built (ms). */
  ts: number;
  /** Cluster-state version it shows (0 before any answer). */
  version: number;
  master: { id: string; term: number } | null;
  health: {
    status: HealthStatus;
    number_of_nodes: number;
    active_primary_shards: number;
    active_shards: number;
    initializing_shards: number;
    relocating_shards: number;
    unassigned_shards: number;
  } | null;
  nodes: ViewNode[];
  indices: ViewIndex[];
  copies: ViewCopy[];
  /** The last refresh failed (e.g. no node serves the API yet): the rest is the last good answer. */
  error?: string;
}

export interface ViewInput {
  cluster: string;
  state: ClusterState | undefined;
  shards: CatShard[] | undefined;
  health: ClusterHealthResponse | undefined;
  /** `shoal up`'s node processes, when known. */
  processes?: ProcessInfo[];
  /** Every node ever seen (id → its last NodeInfo); updated here so down nodes keep their roles. */
  seen: Map<string, { roles: string[]; attributes: Record<string, string> }>;
  now?: number;
  error?: string;
}

const byId = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** Build the view. Pure apart from recording members in `input.seen`. */
export function buildView(input: ViewInput): ClusterView {
  const { state, shards, health, seen } = input;
  const members = state?.nodes ?? {};
  for (const n of Object.values(members)) seen.set(n.id, { roles: [...n.roles], attributes: { ...n.attributes } });
  const procs = new Map((input.processes ?? []).map((p) => [p.node, p]));
  const ids = new Set<string>([...seen.keys(), ...procs.keys()]);

  const nodes: ViewNode[] = [...ids].sort(byId).map((id) => {
    const info = members[id] ?? seen.get(id);
    const proc = procs.get(id);
    const member = !!members[id];
    let status: NodeStatus;
    let reason: string | undefined;
    if (proc && proc.status === 'exited') {
      status = 'down';
      reason = `process exited (${proc.exit ?? 'unknown'})`;
    } else if (member) {
      status = 'up';
    } else if (proc) {
      status = 'joining';
      reason = 'process running, not a member of the cluster (yet)';
    } else {
      status = 'down';
      reason = 'left the cluster state';
    }
    const roles = info?.roles ?? [];
    const node: ViewNode = {
      id,
      status,
      roles: [...roles],
      attributes: { ...(info?.attributes ?? {}) },
      master: state?.master?.id === id,
      actors: [{ path: NODE_PATH, kind: 'node' }, ...(roles.includes('master') ? [{ path: RAFT_PATH, kind: 'raft' }] : [])],
    };
    if (reason) node.reason = reason;
    if (proc) node.process = { pid: proc.pid, status: proc.status, restarts: proc.restarts, ...(proc.exit ? { exit: proc.exit } : {}) };
    return node;
  });

  const indices: ViewIndex[] = Object.values(state?.indices ?? {})
    .sort((a, b) => byId(a.name, b.name))
    .map((m) => ({
      name: m.name,
      uuid: m.uuid,
      state: m.state,
      shards: m.settings.number_of_shards,
      replicas: m.settings.number_of_replicas,
      health: m.state === 'close' ? 'closed' : (health?.indices[m.name]?.status ?? 'unknown'),
    }));

  const copies: ViewCopy[] = (shards ?? [])
    .map((s) => {
      const c: ViewCopy = { index: s.index, shard: s.shard, primary: s.prirep === 'p', state: s.state, node: s.node };
      if (s.allocation_id !== undefined) c.allocationId = s.allocation_id;
      if (s.primary_term !== undefined) c.primaryTerm = s.primary_term;
      if (s.in_sync !== undefined) c.inSync = s.in_sync;
      const uuid = state?.indices[s.index]?.uuid;
      if (s.node && uuid) c.actor = `${INDICES_PATH}/${shardActorName(uuid, s.shard)}`;
      return c;
    })
    .sort((a, b) => byId(a.index, b.index) || a.shard - b.shard || Number(b.primary) - Number(a.primary) || byId(a.node ?? '~', b.node ?? '~'));

  const view: ClusterView = {
    v: 1,
    cluster: input.cluster,
    ts: input.now ?? Date.now(),
    version: state?.version ?? 0,
    master: state?.master ? { id: state.master.id, term: state.master.term } : null,
    health: health
      ? {
          status: health.status,
          number_of_nodes: health.number_of_nodes,
          active_primary_shards: health.active_primary_shards,
          active_shards: health.active_shards,
          initializing_shards: health.initializing_shards,
          relocating_shards: health.relocating_shards,
          unassigned_shards: health.unassigned_shards,
        }
      : null,
    nodes,
    indices,
    copies,
  };
  if (input.error) view.error = input.error;
  return view;
}

/** The view without its timestamp, to tell whether anything changed. */
export function viewKey(v: ClusterView): string {
  const { ts: _ts, ...rest } = v;
  return JSON.stringify(rest);
}
