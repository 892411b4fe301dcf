#!/usr/bin/env node
/**
 * `shoal` command (first cut; the client-surfaces issue moves it onto a CLI library):
 *   shoal start --nats URL --node ID --masters A,B,C [--data-dir DIR] [--roles master,data] [--attr k=v]
 *   shoal up [--nodes N] [--cluster NAME]               embedded nats-server + N node processes
 *   shoal status --nats URL [--json]                    the master, the members and their roles
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import type { ClusterState, NodeRole } from '../cluster/cluster-state.ts';
import { CSTATE_PATH, ShoalNode } from '../node/shoal-node.ts';
import { ActorSystem } from '../runtime/actor-system.ts';
import { startNatsServer } from '../testing/nats-server.ts';
import { terminateProcess } from '../testing/terminate.ts';

const USAGE = `usage:
  shoal start --nats URL --node ID --masters A,B,C [--data-dir DIR] [--roles master,data] [--attr k=v] [--cluster NAME]
  shoal up [--nodes N] [--cluster NAME] [--data-dir DIR]
  shoal status --nats URL [--cluster NAME] [--json]`;

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      nats: { type: 'string' },
      node: { type: 'string' },
      masters: { type: 'string' },
      'data-dir': { type: 'string', default: '.data' },
      roles: { type: 'string' },
      attr: { type: 'string', multiple: true, default: [] },
      cluster: { type: 'string', default: 'shoal' },
    },
  });
  if (!values.nats || !values.node || !values.masters) throw new UsageError('start needs --nats, --node and --masters');
  const roles = values.roles?.split(',') as NodeRole[] | undefined;
  if (roles && roles.some((r) => r !== 'master' && r !== 'data')) throw new UsageError('--roles takes master and/or data');
  const attributes = Object.fromEntries(values.attr.map((a) => a.split('=', 2) as [string, string]));
  const node = await ShoalNode.start({
    nodeId: values.node,
    cluster: values.cluster,
    nats: { servers: values.nats.split(','), maxReconnectAttempts: -1 },
    masters: values.masters.split(','),
    dataDir: values['data-dir'],
    roles,
    attributes,
  });
  node.system.log.info({ nats: values.nats, incarnation: node.system.incarnation, roles: node.info.roles }, 'node started');
  const stop = () => void node.leave().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { nats: { type: 'string' }, cluster: { type: 'string', default: 'shoal' }, json: { type: 'boolean', default: false } },
  });
  if (!values.nats) throw new UsageError('status needs --nats');
  const probe = await ActorSystem.start({
    nodeId: `cli-${process.pid}`,
    cluster: values.cluster,
    nats: { servers: values.nats.split(',') },
    logLevel: 'silent',
  });
  try {
    // Heartbeats tell which nodes exist; any of them has the committed cluster state.
    const deadline = Date.now() + 2_000;
    while (probe.nodes().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const peers = probe.nodes().filter((n) => !n.startsWith('cli-') && n !== 'shoal-up');
    if (peers.length === 0) throw new Error('no Shoal node answered');
    const state = await probe.ask<ClusterState>(probe.ref(`shoal://${values.cluster}/${peers[0]}${CSTATE_PATH}`), { type: 'get' });
    if (values.json) return console.log(JSON.stringify({ version: state.version, master: state.master, nodes: Object.values(state.nodes) }));
    console.log(`cluster '${values.cluster}', state version ${state.version}`);
    console.log(`master: ${state.master ? `${state.master.id} (term ${state.master.term})` : 'none'}`);
    console.log('node'.padEnd(16) + 'roles'.padEnd(16) + 'attributes');
    for (const n of Object.values(state.nodes).sort((a, b) => a.id.localeCompare(b.id))) {
      const mark = n.id === state.master?.id ? ' *' : '';
      const attrs = Object.entries(n.attributes).map(([k, v]) => `${k}=${v}`).join(',');
      console.log((n.id + mark).padEnd(16) + n.roles.join(',').padEnd(16) + attrs);
    }
  } finally {
    await probe.shutdown();
  }
}

async function up(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string', default: '3' },
      cluster: { type: 'string', default: 'shoal' },
      'data-dir': { type: 'string', default: '.data' },
    },
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
  // Up to three master-eligible nodes; the rest are data-only.
  const masters = ids.slice(0, Math.min(3, count)).join(',');
  const dataDir = join(values['data-dir'], `up-${Date.now()}`);
  for (const id of ids) {
    const args = ['start', '--nats', server.url, '--node', id, '--cluster', values.cluster, '--masters', masters, '--data-dir', dataDir];
    const child = spawn(process.execPath, ['--import', 'tsx', self, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code, signal) => {
      if (!stopping) console.log(`shoal up: node ${id} exited (${signal ?? code})`);
    });
    children.push(child);
    exits.push(new Promise((resolve) => child.once('exit', resolve)));
  }
  // Ready when every node is a member of the committed cluster state.
  const probe = await ActorSystem.start({ nodeId: 'shoal-up', cluster: values.cluster, nats: { servers: server.url }, logLevel: 'warn' });
  const deadline = Date.now() + 30_000;
  let members: string[] = [];
  let master: string | undefined;
  while (ids.some((id) => !members.includes(id))) {
    if (Date.now() > deadline) {
      console.error(`shoal up: nodes not members after 30 s: ${ids.filter((id) => !members.includes(id)).join(', ')}`);
      await probe.shutdown();
      return stopAll(1);
    }
    await new Promise((r) => setTimeout(r, 100));
    const state = await probe
      .ask<ClusterState>(probe.ref(`shoal://${values.cluster}/${ids[0]}${CSTATE_PATH}`), { type: 'get' }, { timeoutMs: 500 })
      .catch(() => undefined);
    members = state ? Object.keys(state.nodes) : [];
    master = state?.master?.id;
  }
  await probe.shutdown();
  console.log(`shoal up: ${count} nodes up (${ids.join(', ')}) in cluster '${values.cluster}', master ${master}; data in ${dataDir}`);
  console.log(`shoal up: try  npm run shoal -- status --nats ${server.url}`);
  console.log(`shoal up: or   NATS_URL=${server.url} npx tsx examples/supervised-tree.ts   (Ctrl-C stops everything)`);
}

class UsageError extends Error {}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'start') await start(rest);
  else if (command === 'up') await up(rest);
  else if (command === 'status') await status(rest);
  else throw new UsageError(command ? `unknown command '${command}'` : 'no command');
} catch (err) {
  console.error(err instanceof UsageError ? `${err.message}\n${USAGE}` : err);
  process.exit(err instanceof UsageError ? 2 : 1);
}
