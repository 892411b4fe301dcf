/**
 * `shoal up`'s control service and the commands that use it (`shoal kill | restart | ps`).
 *
 * While it runs, `shoal up` answers JSON requests on `shoal.<cluster>.up.<op>`:
 *   kill    {node, signal?}   send the signal (default SIGKILL) to that node's process
 *   restart {node}            stop it (SIGTERM) if it runs, start it again with the same data
 *                             directory, answer once it serves the API again
 *   ps      {}                the node processes: pid, running or exited (and how)
 * Replies: the result, or `{error: {type, reason}, status}`. Only `shoal up`'s own processes can
 * be touched this way; it is a local demo tool, not an orchestrator.
 */
import type { Command } from 'commander';
import { CliError, connOptions, EXIT, parseIntOption, printJson, printTable, resolveTarget, type ConnOptions } from './common.ts';

export const controlPrefix = (cluster: string) => `shoal.${cluster}.up`;

export interface ProcessInfo {
  node: string;
  pid: number | null;
  status: 'running' | 'exited';
  /** How it exited: a signal name or `code N`. */
  exit?: string;
  started_at: string;
  restarts: number;
}

export interface ControlError {
  error: { type: string; reason: string };
  status: number;
}

export async function controlRequest<T>(opts: ConnOptions, op: 'kill' | 'restart' | 'ps', body: Record<string, unknown>): Promise<T> {
  const target = resolveTarget(opts);
  const { connect } = await import('@nats-io/transport-node');
  const { errors } = await import('@nats-io/nats-core');
  let nc;
  try {
    nc = await connect({ servers: target.servers, name: 'shoal-cli', timeout: 3_000, reconnect: false });
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${target.servers.join(',')} (from ${target.source}): ${(err as Error).message}`, EXIT.unreachable);
  }
  try {
    const timeout = parseIntOption('--timeout', opts.timeout, 1)!;
    const msg = await nc.request(`${controlPrefix(target.cluster)}.${op}`, JSON.stringify(body), { timeout }).catch((err: unknown) => {
      if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
        throw new CliError(`no \`shoal up\` serves cluster '${target.cluster}' on ${target.servers.join(',')} (kill/restart/ps work on clusters started by shoal up)`, EXIT.unreachable);
      }
      throw new CliError(`shoal up did not answer in ${timeout} ms: ${(err as Error).message}`, EXIT.error);
    });
    const reply = msg.json<T | ControlError>();
    if (reply && typeof reply === 'object' && 'error' in reply) {
      const e = reply as ControlError;
      throw new CliError(`${e.error.type}: ${e.error.reason}`, EXIT.error, e);
    }
    return reply as T;
  } finally {
    await nc.close();
  }
}

export function registerControlCommands(program: Command): void {
  connOptions(
    program
      .command('kill')
      .description("ask `shoal up` to kill a node's process (default SIGKILL), for failover demos; it stays down until `shoal restart`")
      .argument('<node>', 'node id, e.g. n2')
      .option('--signal <sig>', 'the signal: SIGKILL, SIGTERM (leave gracefully), SIGSTOP, SIGCONT', 'SIGKILL'),
  ).action(async (node: string, opts: ConnOptions & { signal: string }) => {
    const res = await controlRequest<{ node: string; pid: number; signal: string }>(opts, 'kill', { node, signal: opts.signal });
    if (opts.json) return printJson(res);
    console.log(`sent ${res.signal} to ${res.node} (pid ${res.pid})`);
  });

  connOptions(
    program
      .command('restart')
      .description('ask `shoal up` to (re)start a node with its data directory; answers once the node serves requests again')
      .argument('<node>', 'node id, e.g. n2'),
  ).action(async (node: string, opts: ConnOptions) => {
    const res = await controlRequest<{ node: string; pid: number; ms: number }>(opts, 'restart', { node });
    if (opts.json) return printJson(res);
    console.log(`${res.node} is back (pid ${res.pid}, serving after ${(res.ms / 1000).toFixed(1)} s)`);
  });

  connOptions(program.command('ps').description("`shoal up`'s node processes: pid, running or exited")).action(async (opts: ConnOptions) => {
    const res = await controlRequest<ProcessInfo[]>(opts, 'ps', {});
    if (opts.json) return printJson(res);
    printTable(['node', 'pid', 'status', 'exit', 'restarts', 'started'], res.map((p) => [p.node, p.pid, p.status, p.exit ?? '', p.restarts, p.started_at]));
  });
}
