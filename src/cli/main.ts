#!/usr/bin/env node
/**
 * `shoal` command (first cut; the client-surfaces issue moves it onto a CLI library):
 *   shoal start --nats URL --node ID [--cluster NAME]   run one node in this process
 *   shoal up [--nodes N] [--cluster NAME]               embedded nats-server + N node processes
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ActorSystem } from '../runtime/actor-system.ts';
import { builtinKinds } from '../node/builtin-kinds.ts';
import { startNatsServer } from '../testing/nats-server.ts';
import { terminateProcess } from '../testing/terminate.ts';

const USAGE = `usage:
  shoal start --nats URL --node ID [--cluster NAME]
  shoal up [--nodes N] [--cluster NAME]`;

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { nats: { type: 'string' }, node: { type: 'string' }, cluster: { type: 'string', default: 'shoal' } },
  });
  if (!values.nats || !values.node) throw new UsageError('start needs --nats and --node');
  const system = await ActorSystem.start({
    nodeId: values.node,
    cluster: values.cluster,
    nats: { servers: values.nats.split(','), maxReconnectAttempts: -1 },
    kinds: builtinKinds,
  });
  system.log.info({ nats: values.nats, incarnation: system.incarnation }, 'node started');
  const stop = () => void system.shutdown().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { nodes: { type: 'string', default: '3' }, cluster: { type: 'string', default: 'shoal' } },
  });
  const count = Number(values.nodes);
  if (!Number.isInteger(count) || count < 1 || count > 32) throw new UsageError('--nodes must be 1..32');
  const server = await startNatsServer();
  console.log(`shoal up: nats-server at ${server.url}`);
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const exits: Promise<unknown>[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('shoal up: stopping');
    await Promise.all(children.map((c, i) => terminateProcess(c, exits[i]!, 5_000)));
    await server.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  const ids = Array.from({ length: count }, (_, i) => `n${i + 1}`);
  for (const id of ids) {
    const child = spawn(process.execPath, ['--import', 'tsx', self, 'start', '--nats', server.url, '--node', id, '--cluster', values.cluster], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code, signal) => {
      if (!stopping) console.log(`shoal up: node ${id} exited (${signal ?? code})`);
    });
    children.push(child);
    exits.push(new Promise((resolve) => child.once('exit', resolve)));
  }
  // Ready when a probe system sees every node's heartbeat.
  const probe = await ActorSystem.start({ nodeId: 'shoal-up', cluster: values.cluster, nats: { servers: server.url }, logLevel: 'warn' });
  const deadline = Date.now() + 30_000;
  while (ids.some((id) => !probe.nodes().includes(id))) {
    if (Date.now() > deadline) {
      console.error(`shoal up: nodes not up after 30 s: ${ids.filter((id) => !probe.nodes().includes(id)).join(', ')}`);
      await probe.shutdown();
      return stopAll(1);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await probe.shutdown();
  console.log(`shoal up: ${count} nodes up (${ids.join(', ')}) in cluster '${values.cluster}'`);
  console.log(`shoal up: try  NATS_URL=${server.url} npx tsx examples/supervised-tree.ts   (Ctrl-C stops everything)`);
}

class UsageError extends Error {}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'start') await start(rest);
  else if (command === 'up') await up(rest);
  else throw new UsageError(command ? `unknown command '${command}'` : 'no command');
} catch (err) {
  console.error(err instanceof UsageError ? `${err.message}\n${USAGE}` : err);
  process.exit(err instanceof UsageError ? 2 : 1);
}
