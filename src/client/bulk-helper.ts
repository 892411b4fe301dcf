/**
 * Bulk indexing of many documents: batches cut by count and by encoded size (below the NATS
 * server's max_payload), a few batches in flight at once, per-document failures reported through
 * `onDrop`, progress after every batch through `onProgress`.
 *
 * A batch whose request fails as a whole (timeout, no node) is retried by the client only when
 * it is idempotent: give every document an id (`id: (doc) => …`) to make batches retryable.
 * Otherwise the helper stops and throws the error once the batches in flight have settled; the
 * result so far is attached to the error as `partial`.
 */
import type { BulkLine, Document, Refresh } from '../../protocols/api.ts';
import type { ShoalClient } from './shoal-client.ts';

export interface BulkProgress {
  /** Documents sent and answered so far (successful or failed). */
  sent: number;
  successful: number;
  failed: number;
  batches: number;
  bytes: number;
  elapsed_ms: number;
}

export interface BulkDrop<T> {
  document: T;
  status: number;
  error: { type: string; reason: string };
}

export interface BulkHelperOptions<T extends Document> {
  datasource: Iterable<T> | AsyncIterable<T>;
  index: string;
  /** `index` (default: create or replace) or `create` (409 for an existing id). */
  action?: 'index' | 'create';
  /** A document's id (also makes each batch safe to retry after a timeout). */
  id?: (doc: T) => string | undefined;
  routing?: (doc: T) => string | undefined;
  /** Documents per batch. Default 1000. */
  batchSize?: number;
  /** Encoded bytes per batch. Default 5 MiB, capped at 90% of the server's max_payload. */
  flushBytes?: number;
  /** Batches in flight. Default 2. */
  concurrency?: number;
  /** Refresh the index once everything is written (default false). */
  refresh?: Refresh;
  timeoutMs?: number;
  onProgress?: (p: BulkProgress) => void;
  onDrop?: (d: BulkDrop<T>) => void;
}

export interface BulkHelperResult extends BulkProgress {
  total: number;
}

export async function bulkHelper<T extends Document>(client: ShoalClient, opts: BulkHelperOptions<T>): Promise<BulkHelperResult> {
  const started = Date.now();
  const batchSize = Math.max(1, opts.batchSize ?? 1_000);
  const flushBytes = Math.max(1_024, Math.min(opts.flushBytes ?? 5 * 1024 * 1024, Math.floor(client.maxPayload * 0.9) - 1_024));
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const action = opts.action ?? 'index';
  const progress: BulkProgress = { sent: 0, successful: 0, failed: 0, batches: 0, bytes: 0, elapsed_ms: 0 };
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let total = 0;

  const send = (docs: T[], lines: BulkLine[], bytes: number): Promise<void> => {
    const p = client
      .bulk({ index: opts.index, operations: lines, ...(opts.timeoutMs !== undefined ? { timeout_ms: opts.timeoutMs } : {}) })
      .then((res) => {
        res.items.forEach((item, i) => {
          const r = Object.values(item)[0]!;
          if (r.error) {
            progress.failed++;
            opts.onDrop?.({ document: docs[i]!, status: r.status, error: r.error });
          } else progress.successful++;
        });
        progress.sent += docs.length;
        progress.batches++;
        progress.bytes += bytes;
        progress.elapsed_ms = Date.now() - started;
        opts.onProgress?.({ ...progress });
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    return p;
  };

  let docs: T[] = [];
  let lines: BulkLine[] = [];
  let bytes = 0;
  const flush = async () => {
    if (docs.length === 0) return;
    const batch = [docs, lines, bytes] as const;
    docs = [];
    lines = [];
    bytes = 0;
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure === undefined) void send(...batch);
  };

  for await (const doc of opts.datasource as AsyncIterable<T>) {
    if (failure !== undefined) break;
    total++;
    const header: Record<string, unknown> = {};
    const id = opts.id?.(doc);
    if (id !== undefined) header._id = id;
    const routing = opts.routing?.(doc);
    if (routing !== undefined) header.routing = routing;
    const pair: BulkLine[] = [{ [action]: header }, doc];
    const size = client.encodedSize(pair) + 8;
    if (size > flushBytes) {
      progress.failed++;
      opts.onDrop?.({ document: doc, status: 413, error: { type: 'payload_too_large', reason: `the document is ${size} bytes encoded; a batch holds at most ${flushBytes}` } });
      continue;
    }
    if (docs.length > 0 && (docs.length >= batchSize || bytes + size > flushBytes)) await flush();
    docs.push(doc);
    lines.push(...pair);
    bytes += size;
  }
  if (failure === undefined) await flush();
  await Promise.all(inFlight);
  progress.elapsed_ms = Date.now() - started;
  if (failure !== undefined) throw Object.assign(failure as Error, { partial: { ...progress } });
  if (opts.refresh === true || opts.refresh === 'true' || opts.refresh === 'wait_for') await client.indices.refresh({ index: opts.index });
  return { ...progress, total };
}
