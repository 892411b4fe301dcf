/**
 * Death watch across a node failure, on a cluster started by `bin/shoal up`.
 *
 *   bin/shoal up                                     # or: npm start
 *   npx tsx examples/failover-watch.ts [nats://HOST:PORT] [--node n2] [--other n3]
 *
 * - spawns an `echo` actor (built into every node) on --node and on --other, and watches both;
 * - asks `shoal up` to SIGKILL --node's process (its control subject, what `bin/shoal kill` sends);
 * - the watch on the actor there fires with `node_down` once the heartbeats stop (about 0.5 s);
 *   the actor on the other node still answers; the cluster's health shows the missing node;
 * - asks `shoal up` to restart the node (`bin/shoal restart`), then spawns on it again.
 * Exit code 0 on success, 1 on failure, 2 when no cluster is given or found.
 */
import { connect } from '@nats-io/transport-node';
import { ShoalClient } from '../src/client/index.ts';
import { ActorSystem } from '../src/index.ts';
import { clusterAddress, flag, until } from './connect.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { nats, cluster } = clusterAddress();
  const victim = flag('node', 'n2');
  const other = flag('other', 'n3');
  // Our own heartbeat-based failure detector tells us when the victim goes silent.
  const system = await ActorSystem.start({ nodeId: `watcher-${process.pid}`, cluster, nats: { servers: nats }, logLevel: process.env.SHOAL_LOG_LEVEL ?? 'silent' });
  const nc = await connect({ servers: nats, name: 'failover-watch' });
  const client = ShoalClient.fromConnection(nc, { cluster });
  /** `shoal up`'s control service (src/cli/up-control.ts). */
  const control = async <T>(op: 'kill' | 'restart', body: object, timeout = 60_000): Promise<T> => {
    const msg = await nc.request(`shoal.${cluster}.up.${op}`, JSON.stringify(body), { timeout }).catch((err: Error) => {
      throw new Error(`no \`shoal up\` answered on shoal.${cluster}.up.${op} (this example needs a cluster started by bin/shoal up): ${err.message}`);
    });
    const reply = msg.json<T & { error?: { type: string; reason: string } }>();
    if (reply.error) throw new Error(`shoal up: ${reply.error.type}: ${reply.error.reason}`);
    return reply;
  };
  try {
    say(`connected to ${nats} (cluster '${cluster}') as ${system.nodeId}`);
    const onVictim = await system.spawnRemote(victim, 'echo', { name: `watched-${process.pid}` });
    const onOther = await system.spawnRemote(other, 'echo', { name: `watched-${process.pid}` });
    say(`spawned ${onVictim.id} and ${onOther.id}; watching both`);
    const reasons = new Map<string, string>();
    let terminatedAt = 0;
    for (const ref of [onVictim, onOther]) {
      system.watch(ref, (r, reason) => {
        reasons.set(r.node, reason);
        if (r.node === victim) terminatedAt = Date.now();
        say(`watch: ${r.id} terminated (${reason})`);
      });
    }
    say(`both answer: ${await onVictim.ask(`ping ${victim}`)}, ${await onOther.ask(`ping ${other}`)}`);

    // Node-down comes from heartbeats: our detector must have heard the victim before it dies, or
    // it has nothing to miss (a peer never heard from is never declared down).
    await until(() => system.nodes().includes(victim), `a heartbeat from ${victim}`);
    const killed = await control<{ pid: number }>('kill', { node: victim, signal: 'SIGKILL' });
    const killedAt = Date.now();
    say(`asked shoal up to SIGKILL ${victim} (pid ${killed.pid})`);
    const reason = await until(() => reasons.get(victim), `the watch on ${victim} to fire`);
    say(`Terminated for the actor on ${victim} after ${terminatedAt - killedAt} ms: ${reason}`);
    if (reason !== 'node_down') throw new Error(`expected node_down, got ${reason}`);
    say(`${other} still answers: ${await onOther.ask(`ping ${other}`)}`);
    const health = await until(async () => {
      const h = await client.cluster.health();
      return h.number_of_nodes < 3 || h.status !== 'green' ? h : undefined;
    }, 'the cluster to see the node gone');
    say(`cluster health: ${health.status}, ${health.number_of_nodes} nodes, ${health.unassigned_shards} unassigned shard copies`);

    say(`asking shoal up to restart ${victim}`);
    const back = await control<{ pid: number; ms: number }>('restart', { node: victim });
    say(`${victim} is back (pid ${back.pid}) after ${(back.ms / 1000).toFixed(1)} s`);
    const again = await system.spawnRemote(victim, 'echo');
    say(`a new actor on ${victim} answers: ${await again.ask('hello again')}`);
    if (reasons.has(other)) throw new Error(`the actor on ${other} terminated too (${reasons.get(other)})`);
    say('done');
  } finally {
    await nc.close();
    await system.shutdown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`failover-watch: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
