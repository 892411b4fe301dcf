/** `shoal start`: run one node in this process. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { NodeRole } from '../cluster/cluster-state.ts';
import type { KindDefinition } from '../runtime/actor-system.ts';
import { DEFAULT_DATA_DIR, parseIntOption, usageError } from './common.ts';

interface StartOptions {
  nats: string;
  node: string;
  masters: string;
  dataDir: string;
  roles?: string;
  attr: string[];
  cluster: string;
  kinds: string[];
  stopOnStdinClose: boolean;
  metricsPort?: string;
}

type Kinds = Record<string, KindDefinition | KindDefinition['create']>;

/**
 * Actor kinds from modules (`--kinds MODULE`): a module exports `kinds` (or a default export),
 * a map from kind name to a KindDefinition or a `(input) => behaviour` function. Every node that
 * should run a kind loads its module, as code must be on a node before it can run there.
 */
export async function loadKinds(modules: string[]): Promise<Kinds> {
  const out: Kinds = {};
  for (const m of modules) {
    const mod = (await import(pathToFileURL(resolve(m)).href)) as { kinds?: Kinds; default?: Kinds };
    const kinds = mod.kinds ?? mod.default;
    if (!kinds || typeof kinds !== 'object') throw usageError(`${m} exports no \`kinds\` (a map of kind name to behaviour factory)`);
    Object.assign(out, kinds);
  }
  return out;
}

export function registerNodeCommands(program: Command): void {
  program
    .command('start')
    .description('run one node in this process (SIGTERM/SIGINT: leave the cluster, then stop)')
    .requiredOption('--nats <url>', 'NATS server URL(s), comma separated')
    .requiredOption('--node <id>', 'this node id (letters, digits, _ and -)')
    .requiredOption('--masters <ids>', 'the master-eligible node ids, comma separated (the same on every node)')
    .option('--data-dir <dir>', 'data directory', DEFAULT_DATA_DIR)
    .option('--roles <roles>', 'master and/or data, comma separated (default: master,data when in --masters, else data)')
    .option('--attr <k=v>', 'a node attribute, e.g. zone=a (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster <name>', 'cluster name', 'shoal')
    .option('--kinds <module>', 'load actor kinds from this module (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--stop-on-stdin-close', 'leave and stop when stdin closes (shoal up uses it, so nodes never outlive it)', false)
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port at /metrics (default: $SHOAL_METRICS_PORT, else off)')
    .action(async (opts: StartOptions) => {
      const metricsPort = parseIntOption('--metrics-port', opts.metricsPort, 0, 65_535);
      const roles = opts.roles?.split(',') as NodeRole[] | undefined;
      if (roles && roles.some((r) => r !== 'master' && r !== 'data')) throw usageError('--roles takes master and/or data');
      const attributes = Object.fromEntries(
        opts.attr.map((a) => {
          const i = a.indexOf('=');
          if (i <= 0) throw usageError(`--attr takes key=value, got '${a}'`);
          return [a.slice(0, i), a.slice(i + 1)];
        }),
      );
      const kinds = await loadKinds(opts.kinds);
      const { ShoalNode } = await import('../node/shoal-node.ts');
      const node = await ShoalNode.start({
        nodeId: opts.node,
        cluster: opts.cluster,
        nats: { servers: opts.nats.split(','), maxReconnectAttempts: -1 },
        masters: opts.masters.split(','),
        dataDir: opts.dataDir,
        roles,
        attributes,
        ...(metricsPort !== undefined ? { metrics: { port: metricsPort } } : {}),
      });
      for (const [name, def] of Object.entries(kinds)) node.system.registerKind(name, def);
      node.system.log.info({ nats: opts.nats, incarnation: node.system.incarnation, roles: node.info.roles, kinds: Object.keys(kinds) }, 'node started');
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void node.leave().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (opts.stopOnStdinClose) {
        process.stdin.once('close', stop).once('end', stop).resume();
      }
    });
}
