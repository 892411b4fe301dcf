#!/usr/bin/env node
/**
 * The `shoal` command (commander). One module per command group:
 *   node.ts         start                      run one node in this process
 *   up.ts           up                         local cluster: nats-server + N node processes
 *   up-control.ts   kill, restart, ps          `shoal up`'s node processes (failover demos)
 *   cluster.ts      health, status, nodes, indices, shards
 *   allocation.ts   drain, undrain, settings, explain
 *   documents.ts    index, get, delete, search, bulk, create-index, delete-index
 *   actors.ts       spawn, ask, tell
 *   viz.ts          viz export, viz watch     state charts and live transitions
 * Exit codes (common.ts, README "CLI"): 0 ok, 1 the cluster answered with an error, 2 usage,
 * 3 cannot connect.
 */
import { Command, CommanderError } from 'commander';
import { registerActorCommands } from './actors.ts';
import { registerAllocationCommands } from './allocation.ts';
import { registerClusterCommands } from './cluster.ts';
import { CliError, EXIT, printJson } from './common.ts';
import { registerDocumentCommands } from './documents.ts';
import { registerMaintenanceCommands } from './maintenance.ts';
import { registerNodeCommands } from './node.ts';
import { registerControlCommands } from './up-control.ts';
import { registerUpCommand } from './up.ts';
import { registerVizCommands } from './viz.ts';

export function buildProgram(): Command {
  const program = new Command('shoal')
    .description('Shoal: a highly available search cluster (supervised xstate actors over NATS)')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerNodeCommands(program);
  registerUpCommand(program);
  registerControlCommands(program);
  registerClusterCommands(program);
  registerAllocationCommands(program);
  registerDocumentCommands(program);
  registerMaintenanceCommands(program);
  registerActorCommands(program);
  registerVizCommands(program);
  // Subcommands exit through the same override (usage errors: exit 2).
  for (const c of program.commands) c.exitOverride();
  program.addHelpText(
    'after',
    `
Client commands find the cluster by --nats URL, else $SHOAL_NATS, else the shoal-up.json file a
running \`shoal up\` writes in its data directory ($SHOAL_DATA_DIR or .data).
Exit codes: 0 ok, 1 error reply from the cluster, 2 usage error, 3 cannot connect.`,
  );
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version come here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliError) {
      if (json && err.json !== undefined) printJson(err.json);
      process.stderr.write(`shoal: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`shoal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.error;
  }
}

const argv = process.argv.slice(2);
const code = await main(argv);
// `start` and `up` keep running (their handles hold the event loop); every other command ends
// here, once stdout has been written out.
const longRunning = (argv[0] === 'start' || argv[0] === 'up') && code === EXIT.ok;
if (!longRunning) process.stdout.write('', () => process.exit(code));
