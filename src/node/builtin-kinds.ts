import { receive } from '../runtime/behavior.ts';
import type { KindDefinition } from '../runtime/actor-system.ts';

/**
 * Actor kinds every Shoal node can spawn on request, so scripts and operators can check a node
 * end to end (`spawnRemote(node, 'echo')`). Later issues add the node, shard and raft kinds.
 */
export const builtinKinds: Record<string, KindDefinition> = {
  echo: { create: () => receive((_ctx, message) => message) },
};
