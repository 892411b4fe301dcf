/** A small engine over body/tag/n/at docs, and every hit's score: for tests that check scores against a reference. */
import { ShardEngine } from '../../src/engine/shard-engine.ts';

export type ScoredDoc = { body: string; tag: string; n?: number | number[]; at?: string };

/** The docs indexed in order (ids 0, 1, …), refreshed every `refreshEvery` docs (several segments) and at the end. */
export function engineOf(docs: ScoredDoc[], refreshEvery = 0): ShardEngine {
  const e = new ShardEngine({ maxSegments: 100, mappings: { properties: { body: { type: 'text' }, tag: { type: 'keyword' }, n: { type: 'double' }, at: { type: 'date' } } } });
  docs.forEach((d, i) => {
    e.index(String(i), d);
    if (refreshEvery > 0 && i % refreshEvery === refreshEvery - 1) e.refresh();
  });
  e.refresh();
  return e;
}

/** Every hit of a request, as id → score. */
export function scores(e: ShardEngine, query: unknown): Map<string, number> {
  const res = e.search({ query, size: 10_000, track_total_hits: true, _source: false });
  return new Map(res.hits.hits.map((h) => [h._id, h._score as number]));
}
