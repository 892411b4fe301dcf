/**
 * A supervised xstate counter on a node of a running cluster, driven from this script.
 *
 *   bin/shoal up --kinds examples/kinds.ts          # or: npm start
 *   npx tsx examples/remote-counter.ts [nats://HOST:PORT] [--node n2]
 *
 * - joins the cluster's NATS as its own ActorSystem (`script-<pid>`, not a cluster member);
 * - spawns `counter-sup` (examples/kinds.ts: a one_for_one supervisor over a counter machine) on
 *   the chosen node, and death-watches it;
 * - sends the counter `inc` messages (tell) and reads it with an ask;
 * - makes the counter's machine throw; the supervisor on that node restarts it, with fresh state,
 *   behind the same ref;
 * - shuts the supervisor down and sees the watch fire (`normal`).
 * Exit code 0 on success, 1 on failure, 2 when no cluster is given or found.
 */
import { ActorSystem, type ActorRef, type ChildInfo } from '../src/index.ts';
import { clusterAddress, flag, until } from './connect.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const { nats, cluster } = clusterAddress();
  const node = flag('node', 'n2');
  const system = await ActorSystem.start({ nodeId: `script-${process.pid}`, cluster, nats: { servers: nats }, logLevel: process.env.SHOAL_LOG_LEVEL ?? 'silent' });
  try {
    say(`connected to ${nats} (cluster '${cluster}') as ${system.nodeId}`);
    let sup: ActorRef;
    try {
      sup = await system.spawnRemote(node, 'counter-sup', { name: `counters-${process.pid}`, input: { label: 'visits' } });
    } catch (err) {
      if ((err as { type?: string }).type === 'unknown_kind') {
        throw new Error(`node ${node} has no kind counter-sup: start the cluster with \`bin/shoal up --kinds examples/kinds.ts\``);
      }
      throw err;
    }
    say(`spawned counter-sup on ${node}: ${sup.id}`);
    let terminated: string | undefined;
    system.watch(sup, (_ref, reason) => {
      terminated = reason;
      say(`watch: ${sup.name} terminated (${reason})`);
    });

    const children = () => sup.ask<ChildInfo[]>({ type: 'which_children' });
    const info = (await children())[0]!;
    const counter = system.ref(info.ref);
    say(`its child: ${counter.id} (${info.status}, restarts=${info.restarts})`);

    for (let i = 0; i < 5; i++) counter.tell({ type: 'inc', by: i + 1 });
    // Messages from one sender arrive in order: the ask sees all five increments.
    const before = await counter.ask<{ count: number }>({ type: 'get' });
    say(`after 5 incs: count=${before.count}`);
    if (before.count !== 15) throw new Error(`expected count 15, got ${before.count}`);

    say('crash: the counter machine throws in an action');
    counter.tell({ type: 'crash' });
    const restarted = await until(async () => (await children()).find((c) => c.restarts >= 1 && c.status === 'running'), 'the supervisor to restart the counter');
    say(`restarted by its supervisor on ${node}: restarts=${restarted.restarts}`);
    const after = await counter.ask<{ count: number }>({ type: 'get' });
    say(`same ref, fresh state: count=${after.count}`);
    if (after.count !== 0) throw new Error(`expected a fresh count 0, got ${after.count}`);
    if (terminated) throw new Error(`the supervisor terminated (${terminated})`);

    say('shutdown: stop the supervisor and its counter');
    await sup.ask({ type: 'shutdown' });
    const reason = await until(() => terminated, 'the watch on the supervisor');
    if (reason !== 'normal') throw new Error(`expected a normal exit, got ${reason}`);
    say('done');
  } finally {
    await system.shutdown();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`remote-counter: FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
