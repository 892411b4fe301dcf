/**
 * `shoal drain | undrain | settings | explain`: the operator's allocation controls. `drain <node>`
 * adds the node to cluster.routing.allocation.exclude._name (Elasticsearch's way to empty a node
 * before retiring it) and with `--wait` follows the copies leaving it; `explain` prints
 * cluster.allocation_explain.
 */
import type { Command } from 'commander';
import type { ShoalClient } from '../client/shoal-client.ts';
import { CliError, connOptions, EXIT, parseIntOption, printJson, printTable, usageError, withClient, type ConnOptions } from './common.ts';

const EXCLUDE = 'cluster.routing.allocation.exclude._name';

interface DrainOptions extends ConnOptions {
  wait?: boolean;
  waitTimeout?: string;
}

interface ExplainOptions extends ConnOptions {
  index?: string;
  shard?: string;
  primary?: boolean;
  replica?: boolean;
}

async function excluded(client: ShoalClient): Promise<string[]> {
  const current = (await client.cluster.getSettings()).persistent[EXCLUDE];
  return current ? current.split(',') : [];
}

async function copiesOn(client: ShoalClient, node: string): Promise<number> {
  return (await client.cat.shards()).filter((s) => s.node === node).length;
}

export function registerAllocationCommands(program: Command): void {
  connOptions(
    program
      .command('drain <node>')
      .description('move every shard copy off a node (cluster.routing.allocation.exclude._name), e.g. before retiring it')
      .option('--wait', 'wait until no copy is left on the node (exit 1 if it does not empty in time)', false)
      .option('--wait-timeout <ms>', 'how long --wait waits', '300000'),
  ).action(async (node: string, opts: DrainOptions) => {
    const waitMs = parseIntOption('--wait-timeout', opts.waitTimeout, 1)!;
    await withClient(opts, async (client) => {
      const nodes = (await client.cat.nodes()).map((n) => n.id);
      if (!nodes.includes(node)) throw usageError(`no node [${node}] in the cluster (nodes: ${nodes.join(', ')})`);
      const list = await excluded(client);
      if (!list.includes(node)) await client.cluster.putSettings({ persistent: { [EXCLUDE]: [...list, node].join(',') } });
      if (!opts.wait) {
        if (!opts.json) console.log(`draining ${node}: ${await copiesOn(client, node)} copies to move (excluded: ${[...new Set([...list, node])].join(',')})`);
        else printJson({ node, excluded: [...new Set([...list, node])], copies: await copiesOn(client, node) });
        return;
      }
      const deadline = Date.now() + waitMs;
      let last = -1;
      for (;;) {
        const left = await copiesOn(client, node);
        if (left !== last && !opts.json) console.log(`${node}: ${left} copies left`);
        last = left;
        if (left === 0) break;
        if (Date.now() > deadline) throw new CliError(`${node} still holds ${left} copies after ${waitMs} ms (see \`shoal explain\`)`, EXIT.error);
        await new Promise((r) => setTimeout(r, 250)); // polling the cluster, with a deadline
      }
      if (opts.json) printJson({ node, copies: 0, drained: true });
      else console.log(`${node} is drained: no shard copy left on it`);
    });
  });

  connOptions(program.command('undrain <node>').description('let a drained node take shard copies again')).action(async (node: string, opts: ConnOptions) => {
    await withClient(opts, async (client) => {
      const rest = (await excluded(client)).filter((n) => n !== node);
      await client.cluster.putSettings({ persistent: { [EXCLUDE]: rest.length > 0 ? rest.join(',') : null } });
      if (opts.json) printJson({ node, excluded: rest });
      else console.log(`${node} takes copies again${rest.length > 0 ? ` (still excluded: ${rest.join(',')})` : ''}`);
    });
  });

  connOptions(program.command('settings').description('the cluster settings that are set (allocation awareness and filters)')).action(async (opts: ConnOptions) => {
    const settings = await withClient(opts, (c) => c.cluster.getSettings());
    if (opts.json) return printJson(settings);
    const rows = Object.entries(settings.persistent).sort(([a], [b]) => a.localeCompare(b));
    if (rows.length === 0) console.log('no cluster settings set');
    else printTable(['setting', 'value'], rows);
  });

  connOptions(
    program
      .command('explain')
      .description('why a shard copy is, or is not, allocated where it is (the first unassigned copy by default)')
      .option('--index <name>', 'the index')
      .option('--shard <n>', 'the shard number')
      .option('--primary', 'the primary copy', false)
      .option('--replica', 'a replica copy', false),
  ).action(async (opts: ExplainOptions) => {
    const given = [opts.index !== undefined, opts.shard !== undefined, !!(opts.primary || opts.replica)];
    if (given.some(Boolean) && !given.every(Boolean)) throw usageError('give --index, --shard and --primary or --replica together (or none, for the first unassigned copy)');
    if (opts.primary && opts.replica) throw usageError('--primary or --replica, not both');
    const target = opts.index === undefined ? {} : { index: opts.index, shard: parseIntOption('--shard', opts.shard, 0)!, primary: !!opts.primary };
    const e = await withClient(opts, (c) => c.cluster.allocationExplain(target));
    if (opts.json) return printJson(e);
    console.log(`[${e.index}][${e.shard}] ${e.primary ? 'primary' : 'replica'}: ${e.current_state}${e.current_node ? ` on ${e.current_node.id}` : ''}`);
    if (e.can_allocate) console.log(`can allocate: ${e.can_allocate}${e.remaining_delay_in_millis !== undefined ? ` (${e.remaining_delay_in_millis} ms left)` : ''}`);
    if (e.can_remain_on_current_node) console.log(`can remain on its node: ${e.can_remain_on_current_node}`);
    if (e.allocate_explanation) console.log(e.allocate_explanation);
    const decisions = e.node_allocation_decisions ?? [];
    if (decisions.length > 0) printTable(['node', 'decision', 'why not'], decisions.map((d) => [d.node_id, d.node_decision, (d.deciders ?? []).map((x) => `${x.decider}: ${x.explanation}`).join('; ')]));
  });
}
