import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CliError, connOptions, EXIT, parseIntOption, resolveTarget, usageError, type ConnOptions } from './common.ts';

/**
 *   shoal viz export [--kind K] [--format mermaid|scxml|json] [--out DIR] [--stdout] [--module M --export NAME]
 *   shoal viz watch [--node N] [--path P] [--kind K] [--context] [--json]
 */
export function registerVizCommands(program: Command): void {
  const viz = program.command('viz').description('state charts of the actor machines: export them, watch transitions live');
  viz.exitOverride();

  viz
    .command('export')
    .description('write docs/machines/<kind>.mmd|.scxml|.json and docs/MACHINES.md (or one kind / format / user machine)')
    .option('--kind <kind>', 'one built-in kind (node, raft-peer, shard, replica-group, supervisor), or the name for --module')
    .option('--format <format>', 'mermaid, scxml or json (default: all three)')
    .option('--out <dir>', 'write under this directory instead of the repository')
    .option('--stdout', 'print instead of writing files', false)
    .option('--module <path>', 'export an xstate machine from this module')
    .option('--export <name>', 'the name of the machine export in --module (default: default)')
    .action(async (opts: { kind?: string; format?: string; out?: string; stdout: boolean; module?: string; export?: string }) => {
      const { runVizExport } = await import('../viz/cli.ts');
      const code = await runVizExport({
        ...opts,
        root: resolve(import.meta.dirname, '..', '..'),
        write: (path, text) => {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, text);
        },
        importModule: (p) => import(pathToFileURL(resolve(p)).href),
      });
      if (code !== 0) throw usageError('viz export failed');
    });

  connOptions(
    viz
      .command('watch')
      .description('print machine transitions live (one line each; --json: one JSON object per line) until Ctrl-C')
      .option('--node <id>', 'only this node (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('--path <prefix>', 'only actors at this path or below, e.g. /system/indices')
      .option('--kind <kind>', 'only machines with this id: shard, raft, node, replicaGroup (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('--context', "add a summary of each machine's context", false)
      .option('--count <n>', 'stop after n events'),
  ).action(async (opts: ConnOptions & { node: string[]; path?: string; kind: string[]; context: boolean; count?: string }) => {
    const target = resolveTarget(opts);
    const count = parseIntOption('--count', opts.count, 1);
    const { connect } = await import('@nats-io/transport-node');
    const { watchTransitions } = await import('../viz/watch.ts');
    let nc;
    try {
      nc = await connect({ servers: target.servers, name: 'shoal-viz-watch', timeout: 3_000 });
    } catch (err) {
      throw new CliError(`cannot connect to NATS at ${target.servers.join(',')} (from ${target.source}): ${(err as Error).message}`, EXIT.unreachable);
    }
    const w = await watchTransitions(nc, {
      cluster: target.cluster,
      nodes: opts.node.length ? opts.node : undefined,
      pathPrefix: opts.path,
      kinds: opts.kind.length ? opts.kind : undefined,
      context: opts.context,
    });
    const stop = () => void w.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let n = 0;
    for await (const e of w) {
      if (opts.json) process.stdout.write(`${JSON.stringify(e)}\n`);
      else {
        const show = (v: unknown) => (v === null ? '(new)' : typeof v === 'string' ? v : JSON.stringify(v));
        process.stdout.write(`${new Date(e.ts).toISOString()} ${e.node}${e.actor} [${e.kind}] ${show(e.from)} -> ${show(e.to)} on ${e.event}${e.context ? ` ${JSON.stringify(e.context)}` : ''}\n`);
      }
      if (count !== undefined && ++n >= count) break;
    }
    await w.close();
    await nc.close();
  });
}
