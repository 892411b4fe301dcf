/** `shoal stats | refresh | flush | forcemerge`: index maintenance for operators. */
import type { Command } from 'commander';
import { connOptions, parseIntOption, printJson, printTable, usageError, withClient, type ConnOptions } from './common.ts';

interface ShardsSummary {
  total: number;
  successful: number;
  failed: number;
}

const shardsLine = (what: string, index: string | undefined, s: ShardsSummary) => `${what} ${index ?? 'all indices'}: ${s.successful} of ${s.total} shard copies${s.failed > 0 ? `, ${s.failed} failed` : ''}`;

/** A size for people: bytes in B, KiB, MiB or GiB. */
function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)}${units[u]}`;
}

export function registerMaintenanceCommands(program: Command): void {
  connOptions(program.command('stats').description('per index: docs, deleted docs, segments and store size (primaries, and all copies)').argument('[index]')).action(
    async (index: string | undefined, opts: ConnOptions) => {
      const stats = await withClient(opts, (c) => c.indices.stats(index ? { index } : {}));
      if (opts.json) return printJson(stats);
      printTable(
        ['index', 'docs', 'deleted', 'segments', 'store', 'all copies: docs', 'segments', 'store'],
        Object.entries(stats.indices).map(([name, s]) => [name, s.primaries.docs.count, s.primaries.docs.deleted, s.primaries.segments.count, size(s.primaries.store.size_in_bytes), s.total.docs.count, s.total.segments.count, size(s.total.store.size_in_bytes)]),
      );
    },
  );

  connOptions(program.command('refresh').description('make recent writes searchable on every copy').argument('[index]')).action(async (index: string | undefined, opts: ConnOptions) => {
    const res = await withClient(opts, (c) => c.indices.refresh(index ? { index } : {}));
    if (opts.json) return printJson(res);
    console.log(shardsLine('refreshed', index, res._shards));
  });

  connOptions(program.command('flush').description("write every copy's segments and a commit point, and trim its translog").argument('[index]')).action(async (index: string | undefined, opts: ConnOptions) => {
    const res = await withClient(opts, (c) => c.indices.flush(index ? { index } : {}));
    if (opts.json) return printJson(res);
    console.log(shardsLine('flushed', index, res._shards));
  });

  connOptions(
    program
      .command('forcemerge')
      .description("merge every copy's segments, dropping deleted docs (in slices, between the nodes' other work; waits up to at least 10 minutes)")
      .argument('[index]')
      .option('--max-num-segments <n>', 'merge down to this many segments per copy (default 1)')
      .option('--only-expunge-deletes', 'merge only the segments that hold deleted docs')
      .option('--no-flush', 'do not flush after merging'),
  ).action(async (index: string | undefined, opts: ConnOptions & { maxNumSegments?: string; onlyExpungeDeletes?: boolean; flush: boolean }) => {
    const max = parseIntOption('--max-num-segments', opts.maxNumSegments, 1);
    if (max !== undefined && opts.onlyExpungeDeletes) throw usageError('--max-num-segments and --only-expunge-deletes exclude each other');
    const timeoutMs = Math.max(parseIntOption('--timeout', opts.timeout, 1)!, 10 * 60_000);
    const res = await withClient(opts, (c) =>
      c.indices.forcemerge({ ...(index ? { index } : {}), ...(max !== undefined ? { max_num_segments: max } : {}), ...(opts.onlyExpungeDeletes ? { only_expunge_deletes: true } : {}), ...(opts.flush ? {} : { flush: false }) }, { timeoutMs }),
    );
    if (opts.json) return printJson(res);
    console.log(shardsLine('merged', index, res._shards));
  });
}
