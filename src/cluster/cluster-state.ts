import type { RaftStateMachine } from '../raft/peer-state.ts';
import type { Entry } from '../raft/types.ts';

export type NodeRole = 'master' | 'data';

export interface NodeInfo {
  id: string;
  name: string;
  roles: NodeRole[];
  /** e.g. { zone: 'a' } for allocation awareness. */
  attributes: Record<string, string>;
}

/**
 * The cluster state, replicated through Raft: every committed command makes a new version. The
 * data-plane issue fills `indices` and `routing`.
 */
export interface ClusterState {
  version: number;
  /** The elected master (the Raft leader) and the term it leads in. */
  master: { id: string; term: number } | null;
  nodes: Record<string, NodeInfo>;
  indices: Record<string, unknown>;
  routing: Record<string, unknown>;
}

export type ClusterCommand =
  | { op: 'master'; id: string; term: number }
  | { op: 'node_join'; node: NodeInfo }
  | { op: 'node_leave'; id: string; reason: string };

export const EMPTY_CLUSTER_STATE: ClusterState = { version: 0, master: null, nodes: {}, indices: {}, routing: {} };

/** Pure: the state after one command, or the same object when the command changes nothing. */
export function applyClusterCommand(state: ClusterState, cmd: ClusterCommand): ClusterState {
  switch (cmd.op) {
    case 'master':
      if (state.master && state.master.term > cmd.term) return state; // a stale leader's claim
      return { ...state, version: state.version + 1, master: { id: cmd.id, term: cmd.term } };
    case 'node_join': {
      const current = state.nodes[cmd.node.id];
      if (current && JSON.stringify(current) === JSON.stringify(cmd.node)) return state;
      return { ...state, version: state.version + 1, nodes: { ...state.nodes, [cmd.node.id]: cmd.node } };
    }
    case 'node_leave': {
      if (!state.nodes[cmd.id]) return state;
      const nodes = { ...state.nodes };
      delete nodes[cmd.id];
      return { ...state, version: state.version + 1, nodes };
    }
  }
}

export function isClusterCommand(v: unknown): v is ClusterCommand {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  switch (c.op) {
    case 'master':
      return typeof c.id === 'string' && typeof c.term === 'number';
    case 'node_join': {
      const n = c.node as Record<string, unknown> | undefined;
      return !!n && typeof n.id === 'string' && typeof n.name === 'string' && Array.isArray(n.roles) && typeof n.attributes === 'object';
    }
    case 'node_leave':
      return typeof c.id === 'string' && typeof c.reason === 'string';
    default:
      return false;
  }
}

/** The Raft state machine of the master-eligible nodes. Listeners see every new version in order. */
export class ClusterStateMachine implements RaftStateMachine {
  state: ClusterState = EMPTY_CLUSTER_STATE;

  constructor(private readonly onChange: (state: ClusterState) => void = () => undefined) {}

  apply(entry: Entry): unknown {
    if (!isClusterCommand(entry.data)) return { version: this.state.version, ignored: true };
    const next = applyClusterCommand(this.state, entry.data);
    if (next !== this.state) {
      this.state = next;
      this.onChange(next);
    }
    return { version: this.state.version };
  }

  snapshot(): unknown {
    return this.state;
  }

  restore(data: unknown): void {
    this.state = data as ClusterState;
    this.onChange(this.state);
  }
}
