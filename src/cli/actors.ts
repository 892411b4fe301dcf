/**
 * `shoal spawn | ask | tell`: the scripter's side of the actor runtime from the command line. The
 * CLI joins the cluster's NATS as a short-lived ActorSystem (`cli-<pid>`, not a cluster member).
 */
import type { Command } from 'commander';
import type { ActorSystem } from '../runtime/actor-system.ts';
import { CliError, connOptions, EXIT, parseIntOption, parseJson, printJson, readInput, resolveTarget, usageError, type ConnOptions, type Target } from './common.ts';

async function withSystem<T>(opts: ConnOptions, fn: (system: ActorSystem, target: Target) => Promise<T>): Promise<T> {
  const target = resolveTarget(opts);
  const { ActorSystem } = await import('../runtime/actor-system.ts');
  let system: ActorSystem;
  try {
    system = await ActorSystem.start({
      nodeId: `cli-${process.pid}`,
      cluster: target.cluster,
      nats: { servers: target.servers, timeout: 3_000, reconnect: false },
      logLevel: 'silent',
      // A one-shot client: it must not look like a node that died when it exits.
      failureDetector: false,
      askTimeoutMs: parseIntOption('--timeout', opts.timeout, 1),
    });
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${target.servers.join(',')} (from ${target.source}): ${(err as Error).message}`, EXIT.unreachable);
  }
  try {
    return await fn(system, target);
  } catch (err) {
    const e = err as { type?: string; message?: string };
    if (typeof e.type === 'string') throw new CliError(`${e.type}: ${e.message}`, EXIT.error, { error: { type: e.type, reason: e.message } });
    throw err;
  } finally {
    await system.shutdown();
  }
}

export function registerActorCommands(program: Command): void {
  connOptions(
    program
      .command('spawn')
      .description("spawn an actor of a registered kind on a node (built in: echo; more with `shoal start --kinds MODULE`), print its ref")
      .argument('<kind>', 'the kind name')
      .requiredOption('--node <id>', 'the node to spawn it on')
      .option('--name <name>', 'actor name (default: generated)')
      .option('--input <json>', "the kind's input, as JSON")
      .option('--parent <path>', 'spawn under this actor (e.g. a supervisor) instead of /user'),
  ).action(async (kind: string, opts: ConnOptions & { node: string; name?: string; input?: string; parent?: string }) => {
    const input = opts.input === undefined ? undefined : parseJson(opts.input, '--input');
    const ref = await withSystem(opts, (s) =>
      s.spawnRemote(opts.node, kind, {
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(input !== undefined ? { input } : {}),
        ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
      }),
    );
    if (opts.json) printJson({ ref: ref.id, node: ref.node, path: ref.path });
    else console.log(ref.id);
  });

  connOptions(
    program
      .command('ask')
      .description('send a message (JSON) to an actor and print its reply')
      .argument('<ref>', 'actor ref, e.g. shoal://shoal/n2/user/counter')
      .argument('[message]', 'the message as JSON (else --file, else stdin)')
      .option('-f, --file <path>', 'read the message from a file (- = stdin)'),
  ).action(async (ref: string, message: string | undefined, opts: ConnOptions & { file?: string }) => {
    const msg = parseJson(await readInput(message, opts.file), 'the message');
    const reply = await withSystem(opts, (s) => s.ref(checkRef(ref)).ask(msg));
    printJson(reply === undefined ? null : reply, !opts.json);
  });

  connOptions(
    program
      .command('tell')
      .description('send a message (JSON) to an actor, fire and forget')
      .argument('<ref>', 'actor ref, e.g. shoal://shoal/n2/user/counter')
      .argument('[message]', 'the message as JSON (else --file, else stdin)')
      .option('-f, --file <path>', 'read the message from a file (- = stdin)'),
  ).action(async (ref: string, message: string | undefined, opts: ConnOptions & { file?: string }) => {
    const msg = parseJson(await readInput(message, opts.file), 'the message');
    await withSystem(opts, async (s) => {
      s.ref(checkRef(ref)).tell(msg);
      await s.transport.flush();
    });
  });
}

function checkRef(ref: string): string {
  if (!/^shoal:\/\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+\/.+/.test(ref)) throw usageError(`not an actor ref: '${ref}' (expected shoal://CLUSTER/NODE/user/NAME)`);
  return ref;
}
