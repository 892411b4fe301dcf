/**
 * What every `shoal` command shares: exit codes, errors, where the NATS URL comes from, output
 * (JSON for scripts, tables for people) and reading JSON input from arguments, files or stdin.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ShoalClient } from '../client/shoal-client.ts';

/** Exit codes (README, "CLI"). */
export const EXIT = {
  ok: 0,
  /** The cluster answered with an error (or the command's check failed, e.g. a get found nothing). */
  error: 1,
  /** Bad command line or bad input (not valid JSON, a missing file). */
  usage: 2,
  /** Cannot connect: no NATS server at the URL, or no Shoal node (or `shoal up`) answers. */
  unreachable: 3,
} as const;

/** An error that ends the command with a given exit code and a one-line message on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.error,
    /** Printed on stdout instead of the message when --json is on (e.g. the cluster's error body). */
    readonly json?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
export const usageError = (message: string) => new CliError(message, EXIT.usage);

/** Default data directory of `shoal up` and `shoal start` (relative to the working directory). */
export const DEFAULT_DATA_DIR = '.data';
/** The file `shoal up` writes in its data directory while it runs. */
export const UP_FILE = 'shoal-up.json';

/** What `shoal up` writes to `<data-dir>/shoal-up.json` while it runs. */
export interface UpStateFile {
  pid: number;
  nats: string;
  /** The embedded nats-server's pid (a `shoal up` killed by SIGKILL cannot stop it). */
  natsPid: number;
  cluster: string;
  /** The directory of this run's node data and logs. */
  runDir: string;
  /** NATS subject prefix of `shoal up`'s control service (`<prefix>.kill`, `.restart`, `.list`). */
  control: string;
  nodes: Record<string, { pid: number | null; log: string }>;
  startedAt: string;
  /** The dashboard's URL, unless started with --no-dashboard. */
  dashboard?: string;
}

export function upFilePath(dataDir?: string): string {
  return resolve(join(dataDir ?? process.env.SHOAL_DATA_DIR ?? DEFAULT_DATA_DIR, UP_FILE));
}

export function readUpFile(dataDir?: string): UpStateFile | undefined {
  const path = upFilePath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as UpStateFile;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ConnOptions {
  nats?: string;
  cluster?: string;
  json?: boolean;
  timeout?: string;
}

export interface Target {
  servers: string[];
  cluster: string;
  /** Where the URL came from, for error messages. */
  source: string;
  up?: UpStateFile;
}

/**
 * The NATS URL and cluster: `--nats`, else `$SHOAL_NATS`, else the file a running `shoal up`
 * wrote (`$SHOAL_DATA_DIR` or `.data`, `/shoal-up.json`). The cluster: `--cluster`, else
 * `$SHOAL_CLUSTER`, else that file's, else `shoal`.
 */
export function resolveTarget(opts: ConnOptions): Target {
  const up = readUpFile();
  const cluster = opts.cluster ?? process.env.SHOAL_CLUSTER ?? up?.cluster ?? 'shoal';
  if (opts.nats) return { servers: opts.nats.split(','), cluster, source: '--nats', up };
  if (process.env.SHOAL_NATS) return { servers: process.env.SHOAL_NATS.split(','), cluster, source: '$SHOAL_NATS', up };
  if (up) {
    const source = `${upFilePath()} (written by shoal up, pid ${up.pid}${pidAlive(up.pid) ? '' : ', which is not running any more'})`;
    return { servers: up.nats.split(','), cluster, source, up };
  }
  throw new CliError(`no NATS URL: pass --nats URL, set SHOAL_NATS, or start a local cluster with \`shoal up\` (it writes ${upFilePath()})`, EXIT.unreachable);
}

/** Adds the options every client command takes. */
export function connOptions(cmd: Command): Command {
  return cmd
    .option('--nats <url>', 'NATS server URL(s), comma separated (default: $SHOAL_NATS, else the running `shoal up`)')
    .option('--cluster <name>', 'Shoal cluster name (default: $SHOAL_CLUSTER, else the running `shoal up`\'s, else shoal)')
    .option('--json', 'print JSON (one document) for scripts', false)
    .option('--timeout <ms>', 'time to wait for each reply, in ms', '30000');
}

export function parseIntOption(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usageError(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

/** Connect the TypeScript client; a NATS server that is not there is exit code 3. */
export async function connectClient(opts: ConnOptions): Promise<{ client: ShoalClient; target: Target }> {
  const target = resolveTarget(opts);
  const { ShoalClient } = await import('../client/shoal-client.ts');
  const timeoutMs = parseIntOption('--timeout', opts.timeout, 1);
  try {
    const client = await ShoalClient.connect({
      servers: target.servers,
      cluster: target.cluster,
      name: 'shoal-cli',
      timeoutMs,
      // Two quick attempts: a person waiting at a prompt, not a long-running application.
      maxAttempts: 2,
      nats: { timeout: 3_000, reconnect: false },
    });
    return { client, target };
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${target.servers.join(',')} (from ${target.source}): ${(err as Error).message}`, EXIT.unreachable);
  }
}

/** Run `fn` with a connected client, closing it afterwards; maps client errors to exit codes. */
export async function withClient<T>(opts: ConnOptions, fn: (client: ShoalClient, target: Target) => Promise<T>): Promise<T> {
  const { client, target } = await connectClient(opts);
  try {
    return await fn(client, target);
  } catch (err) {
    throw await toCliError(err, target);
  } finally {
    await client.close();
  }
}

/** Errors of the cluster (ShoalApiError) → exit 1 with the error body; nobody answering → exit 3. */
export async function toCliError(err: unknown, target?: Target): Promise<unknown> {
  const { ShoalApiError } = await import('../client/errors.ts');
  if (err instanceof ShoalApiError) {
    if (err.type === 'no_responders' || err.type === 'connection_closed' || err.type === 'transport_exception') {
      const where = target ? ` on ${target.servers.join(',')} (cluster '${target.cluster}')` : '';
      return new CliError(`no Shoal node answers${where}: ${err.reason}`, EXIT.unreachable, err.toJSON());
    }
    return new CliError(`${err.type} (${err.status}): ${err.reason}`, EXIT.error, err.toJSON());
  }
  return err;
}

// ---- output -------------------------------------------------------------------------------------

export function printJson(value: unknown, pretty = false): void {
  process.stdout.write(`${JSON.stringify(value, null, pretty ? 2 : undefined)}\n`);
}

/** A plain text table: a header row, columns padded to their widest cell. */
export function printTable(headers: string[], rows: (string | number | boolean | null | undefined)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const row of cells) process.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
}

// ---- input --------------------------------------------------------------------------------------

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw usageError('expected input on stdin (or pass it as an argument, or with --file)');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Text from `--file PATH` (`-` = stdin), else the inline argument, else stdin. */
export async function readInput(inline: string | undefined, file: string | undefined): Promise<string> {
  if (file !== undefined && inline !== undefined) throw usageError('give the JSON either inline or with --file, not both');
  if (file === '-') return readStdin();
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw usageError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return inline ?? readStdin();
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  const v = parseJson(text, what);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw usageError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}
