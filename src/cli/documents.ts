/**
 * `shoal index | get | delete | search | bulk | create-index | delete-index`: documents and
 * indices through the TypeScript client (src/client). JSON in (inline, `--file`, or stdin), JSON
 * out with `--json`, a short readable form otherwise.
 */
import type { Command } from 'commander';
import type { BulkLine, BulkResponse, Refresh, SearchBody } from '../../protocols/api.ts';
import type { ShoalClient } from '../client/shoal-client.ts';
import {
  CliError,
  connOptions,
  EXIT,
  parseIntOption,
  parseJson,
  parseJsonObject,
  printJson,
  printTable,
  readInput,
  usageError,
  withClient,
  type ConnOptions,
} from './common.ts';

interface WriteOptions extends ConnOptions {
  file?: string;
  refresh?: boolean;
}

const refreshOf = (o: { refresh?: boolean }): { refresh?: Refresh } => (o.refresh ? { refresh: true } : {});

export function registerDocumentCommands(program: Command): void {
  connOptions(
    program
      .command('index')
      .description('index (create or replace) one document: JSON inline, from --file, or on stdin')
      .argument('<index>', 'index name (created with 1 shard, 1 replica if missing)')
      .argument('[id]', 'document id (generated when omitted)')
      .argument('[document]', 'the document as JSON (else --file, else stdin)')
      .option('-f, --file <path>', 'read the document from a file (- = stdin)')
      .option('--refresh', 'make it searchable before answering', false),
  ).action(async (index: string, id: string | undefined, doc: string | undefined, opts: WriteOptions) => {
    const document = parseJsonObject(await readInput(doc, opts.file), 'the document');
    const res = await withClient(opts, (c) => c.index({ index, ...(id ? { id } : {}), document, ...refreshOf(opts) }));
    if (opts.json) return printJson(res);
    console.log(`${res.result} ${res._index}/${res._id} (version ${res._version}, seq_no ${res._seq_no}, primary term ${res._primary_term}, shards ${res._shards.successful}/${res._shards.total})`);
  });

  connOptions(
    program
      .command('get')
      .description('real-time get of one document (exit 1 if not found)')
      .argument('<index>')
      .argument('<id>')
      .option('--source', 'print only the document (_source)', false),
  ).action(async (index: string, id: string, opts: ConnOptions & { source?: boolean }) => {
    const res = await withClient(opts, (c) => c.get({ index, id }));
    if (!res.found) {
      if (opts.json) printJson(res);
      throw new CliError(`not found: ${index}/${id}`, EXIT.error);
    }
    printJson(opts.source ? res._source : res, !opts.json);
  });

  connOptions(
    program
      .command('delete')
      .description('delete one document (exit 1 if there was none); see delete-index for an index')
      .argument('<index>')
      .argument('<id>')
      .option('--refresh', 'make the delete visible to searches before answering', false),
  ).action(async (index: string, id: string, opts: WriteOptions) => {
    const res = await withClient(opts, (c) => c.delete({ index, id, ...refreshOf(opts) }));
    if (opts.json) printJson(res);
    else console.log(`${res.result} ${res._index}/${res._id} (version ${res._version})`);
    if (res.result === 'not_found') throw new CliError(`not found: ${index}/${id}`, EXIT.error);
  });

  connOptions(
    program
      .command('search')
      .description('search: words as a query_string query, or a full body (Elasticsearch query DSL) with --body/--file')
      .argument('<index>', 'index names, a comma list or wildcard; _all for every index')
      .argument('[query...]', 'query_string query, e.g.  small dog  or  category:noun.animal')
      .option('-b, --body <json>', 'the search body as JSON: {"query": …, "size": …, "aggs": …}')
      .option('-f, --file <path>', 'read the search body from a file (- = stdin)')
      .option('-n, --size <n>', 'hits to return (default 10)')
      .option('--from <n>', 'hits to skip'),
  ).action(async (index: string, words: string[], opts: ConnOptions & { body?: string; file?: string; size?: string; from?: string }) => {
    let body: SearchBody = {};
    if (opts.body !== undefined || opts.file !== undefined) body = parseJsonObject(await readInput(opts.body, opts.file), 'the search body') as SearchBody;
    if (words.length > 0) {
      if (body.query) throw usageError('give either query words or a body with a query, not both');
      body.query = { query_string: { query: words.join(' ') } };
    }
    const size = parseIntOption('--size', opts.size, 0, 10_000);
    const from = parseIntOption('--from', opts.from, 0, 10_000);
    if (size !== undefined) body.size = size;
    if (from !== undefined) body.from = from;
    const res = await withClient(opts, (c) => c.search({ index, body }));
    if (opts.json) return printJson(res);
    const total = res.hits.total;
    console.log(`${total.value}${total.relation === 'gte' ? '+' : ''} hits, took ${res.took} ms, shards ${res._shards.successful}/${res._shards.total}`);
    if (res.hits.hits.length > 0) {
      const width = Math.max(40, (process.stdout.columns ?? 120) - 50);
      printTable(
        ['_index', '_id', '_score', '_source'],
        res.hits.hits.map((h) => [h._index, h._id, h._score === null ? null : h._score.toFixed(3), snippet(h._source, width)]),
      );
    }
    if (res.aggregations) printJson({ aggregations: res.aggregations }, true);
    if (res._shards.failures?.length) for (const f of res._shards.failures) console.error(`shard failure: ${f.index}[${f.shard}] ${f.reason.type}: ${f.reason.reason}`);
  });

  connOptions(
    program
      .command('bulk')
      .description("many writes from NDJSON, as Elasticsearch's _bulk: action lines ({\"index\":{\"_id\":\"1\"}}) each followed by its document (exit 1 if any item failed)")
      .argument('[index]', 'default index for lines without _index')
      .option('-f, --file <path>', 'read NDJSON from a file (- = stdin, the default)')
      .option('--refresh', 'make the writes searchable before answering', false)
      .option('--batch <n>', 'actions per request', '1000'),
  ).action(async (index: string | undefined, opts: WriteOptions & { batch: string }) => {
    const text = await readInput(undefined, opts.file ?? '-');
    const lines = parseNdjson(text);
    const batch = parseIntOption('--batch', opts.batch, 1, 100_000)!;
    const res = await withClient(opts, (c) => sendBulk(c, lines, index, batch, !!opts.refresh));
    const failed = res.items.filter((i) => Object.values(i)[0]?.error);
    if (opts.json) printJson(res);
    else {
      console.log(`bulk: ${res.items.length} items, ${res.items.length - failed.length} ok, ${failed.length} failed, took ${res.took} ms`);
      for (const item of failed.slice(0, 20)) {
        const [action, r] = Object.entries(item)[0]!;
        console.log(`  ${action} ${r!._index}/${r!._id}: ${r!.status} ${r!.error!.type}: ${r!.error!.reason}`);
      }
      if (failed.length > 20) console.log(`  … and ${failed.length - 20} more`);
    }
    if (failed.length > 0) throw new CliError(`${failed.length} of ${res.items.length} bulk items failed`, EXIT.error);
  });

  connOptions(
    program
      .command('create-index')
      .description('create an index: --shards/--replicas, or a full body {"settings": …, "mappings": …}')
      .argument('<index>')
      .option('--shards <n>', 'number_of_shards')
      .option('--replicas <n>', 'number_of_replicas')
      .option('--wait-for-active-shards <n>', 'answer once this many copies of each shard are started, or all (default 1: the primaries)')
      .option('-b, --body <json>', 'settings and mappings as JSON')
      .option('-f, --file <path>', 'read the body from a file (- = stdin)'),
  ).action(async (index: string, opts: ConnOptions & { shards?: string; replicas?: string; body?: string; file?: string; waitForActiveShards?: string }) => {
    const body = opts.body !== undefined || opts.file !== undefined ? parseJsonObject(await readInput(opts.body, opts.file), 'the index body') : {};
    const settings = { ...((body.settings as Record<string, unknown> | undefined) ?? {}) };
    const shards = parseIntOption('--shards', opts.shards, 1, 1024);
    const replicas = parseIntOption('--replicas', opts.replicas, 0, 64);
    if (shards !== undefined) settings.number_of_shards = shards;
    if (replicas !== undefined) settings.number_of_replicas = replicas;
    const mappings = body.mappings as Record<string, unknown> | undefined;
    const w = opts.waitForActiveShards;
    const active = w === undefined ? {} : { wait_for_active_shards: w === 'all' ? ('all' as const) : parseIntOption('--wait-for-active-shards', w, 0, 65)! };
    const res = await withClient(opts, (c) => c.indices.create({ index, settings, ...(mappings ? { mappings } : {}), ...active }));
    if (opts.json) return printJson(res);
    console.log(`created ${res.index} (acknowledged ${res.acknowledged}, shards acknowledged ${res.shards_acknowledged})`);
  });

  connOptions(program.command('delete-index').description('delete an index and its data').argument('<index>')).action(async (index: string, opts: ConnOptions) => {
    const res = await withClient(opts, (c) => c.indices.delete({ index }));
    if (opts.json) return printJson(res);
    console.log(`deleted ${index} (acknowledged ${res.acknowledged})`);
  });
}

function snippet(source: unknown, width: number): string {
  if (source === undefined) return '';
  const s = JSON.stringify(source);
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
}

/** NDJSON: one JSON object per non-empty line. */
export function parseNdjson(text: string): BulkLine[] {
  const out: BulkLine[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const v = parseJson(line, `NDJSON line ${i + 1}`);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw usageError(`NDJSON line ${i + 1} must be a JSON object`);
    out.push(v as BulkLine);
  });
  if (out.length === 0) throw usageError('no bulk lines on the input');
  return out;
}

/** Cut the lines into requests of at most `batch` actions (an action and its document stay together). */
async function sendBulk(client: ShoalClient, lines: BulkLine[], index: string | undefined, batch: number, refresh: boolean): Promise<BulkResponse> {
  const chunks: BulkLine[][] = [];
  let current: BulkLine[] = [];
  let actions = 0;
  for (let i = 0; i < lines.length; i++) {
    const action = Object.keys(lines[i]!)[0];
    current.push(lines[i]!);
    // A source line follows every action but delete (a malformed pair is the server's to reject).
    if (action !== 'delete' && i + 1 < lines.length) current.push(lines[++i]!);
    if (++actions >= batch) {
      chunks.push(current);
      current = [];
      actions = 0;
    }
  }
  if (current.length > 0) chunks.push(current);
  const out: BulkResponse = { took: 0, errors: false, items: [] };
  for (const [n, operations] of chunks.entries()) {
    const last = n === chunks.length - 1;
    const res = await client.bulk({ ...(index ? { index } : {}), operations, ...(last && refresh ? { refresh: true } : {}) });
    out.took += res.took;
    out.errors ||= res.errors;
    out.items.push(...res.items);
  }
  return out;
}
