/** `shoal health | status | nodes | indices | shards`: the operator's view of a running cluster. */
import type { Command } from 'commander';
import type { ClusterState } from '../cluster/cluster-state.ts';
import { CliError, connOptions, EXIT, parseIntOption, printJson, printTable, usageError, withClient, type ConnOptions } from './common.ts';

interface HealthOptions extends ConnOptions {
  index?: string;
  waitForStatus?: string;
}

export function registerClusterCommands(program: Command): void {
  connOptions(
    program
      .command('health')
      .description('cluster health: green, yellow or red, nodes, shards (exit 1 if --wait-for-status timed out)')
      .option('--index <expr>', 'health of these indices only')
      .option('--wait-for-status <status>', 'wait until the health is at least green|yellow|red'),
  ).action(async (opts: HealthOptions) => {
    const status = opts.waitForStatus;
    if (status !== undefined && status !== 'green' && status !== 'yellow' && status !== 'red') throw usageError('--wait-for-status takes green, yellow or red');
    const timeoutMs = parseIntOption('--timeout', opts.timeout, 1)!;
    const h = await withClient(opts, (c) =>
      c.cluster.health(
        {
          ...(opts.index ? { index: opts.index } : {}),
          ...(status ? { wait_for_status: status, timeout_ms: Math.max(0, timeoutMs - 1_000) } : {}),
        },
        { timeoutMs },
      ),
    );
    if (opts.json) printJson(h);
    else {
      console.log(`cluster '${h.cluster_name}': ${h.status}${h.timed_out ? ' (timed out waiting)' : ''}`);
      console.log(`master ${h.master_node ?? 'none'}, ${h.number_of_nodes} nodes (${h.number_of_data_nodes} data), state version ${h.cluster_state_version}`);
      console.log(
        `shards: ${h.active_shards} active (${h.active_primary_shards} primaries), ${h.initializing_shards} initializing, ${h.relocating_shards} relocating, ${h.unassigned_shards} unassigned`,
      );
      const indices = Object.entries(h.indices).sort(([a], [b]) => a.localeCompare(b));
      if (indices.length > 0) printTable(['index', 'status', 'shards', 'replicas'], indices.map(([n, i]) => [n, i.status, i.number_of_shards, i.number_of_replicas]));
    }
    if (h.timed_out) throw new CliError(`health is ${h.status}, not ${status}, after waiting`, EXIT.error);
  });

  connOptions(program.command('status').description('the elected master, the members and their roles (from the cluster state)')).action(async (opts: ConnOptions) => {
    const state = (await withClient(opts, (c) => c.cluster.state())) as ClusterState;
    const nodes = Object.values(state.nodes).sort((a, b) => a.id.localeCompare(b.id));
    if (opts.json) return printJson({ version: state.version, master: state.master, nodes });
    console.log(`state version ${state.version}, master ${state.master ? `${state.master.id} (term ${state.master.term})` : 'none'}`);
    printTable(
      ['node', 'roles', 'attributes'],
      nodes.map((n) => [n.id + (n.id === state.master?.id ? ' *' : ''), n.roles.join(','), Object.entries(n.attributes).map(([k, v]) => `${k}=${v}`).join(',')]),
    );
  });

  connOptions(program.command('nodes').description('the nodes: roles, attributes, shard copies, which is master')).action(async (opts: ConnOptions) => {
    const nodes = await withClient(opts, (c) => c.cat.nodes());
    if (opts.json) return printJson(nodes);
    printTable(
      ['id', 'master', 'roles', 'shards', 'attributes'],
      nodes.map((n) => [n.id, n.master ? '*' : '', n.roles.join(','), n.shards, Object.entries(n.attributes).map(([k, v]) => `${k}=${v}`).join(',')]),
    );
  });

  connOptions(program.command('indices').description('the indices: health, status, primaries, replicas')).action(async (opts: ConnOptions) => {
    const indices = await withClient(opts, (c) => c.cat.indices());
    if (opts.json) return printJson(indices);
    printTable(['health', 'status', 'index', 'pri', 'rep', 'uuid'], indices.map((i) => [i.health, i.status, i.index, i.pri, i.rep, i.uuid]));
  });

  connOptions(program.command('shards').description('every shard copy: primary or replica, state, node')).action(async (opts: ConnOptions) => {
    const shards = await withClient(opts, (c) => c.cat.shards());
    if (opts.json) return printJson(shards);
    printTable(
      ['index', 'shard', 'prirep', 'state', 'node', 'term', 'in_sync'],
      shards.map((s) => [s.index, s.shard, s.prirep, s.state, s.node, s.primary_term, s.in_sync === undefined ? '' : s.in_sync]),
    );
  });
}
