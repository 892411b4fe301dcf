/**
 * Where the examples find a running cluster: a `nats://…` argument, else $SHOAL_NATS, else
 * $NATS_URL, else the file a running `bin/shoal up` writes ($SHOAL_DATA_DIR or .data, then
 * shoal-up.json). The cluster name: $SHOAL_CLUSTER, else that file's, else `shoal`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClusterAddress {
  nats: string;
  cluster: string;
}

export function clusterAddress(argv = process.argv.slice(2)): ClusterAddress {
  const upFile = join(process.env.SHOAL_DATA_DIR ?? '.data', 'shoal-up.json');
  const up = existsSync(upFile) ? (JSON.parse(readFileSync(upFile, 'utf8')) as { nats: string; cluster: string }) : undefined;
  const nats = argv.find((a) => a.startsWith('nats://')) ?? process.env.SHOAL_NATS ?? process.env.NATS_URL ?? up?.nats;
  if (!nats) {
    process.stderr.write('no cluster: start one with `bin/shoal up --kinds examples/kinds.ts`, or pass nats://HOST:PORT (or set SHOAL_NATS)\n');
    process.exit(2);
  }
  return { nats, cluster: process.env.SHOAL_CLUSTER ?? up?.cluster ?? 'shoal' };
}

/** `--name value` from the command line, else the default. */
export function flag(name: string, fallback: string, argv = process.argv.slice(2)): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

/** Wait until `cond` returns something (not undefined/false), polling every 20 ms, up to a deadline. */
export async function until<T>(cond: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
