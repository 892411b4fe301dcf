/**
 * Elasticsearch's expand phase, on the coordinating node: after the collapsed top hits are merged
 * and fetched, each hit's group searches (collapse.ts: groupSearches) run as searches of their own
 * across every shard, at most `max_concurrent_group_searches` at a time, and their hits become the
 * hit's `inner_hits`. A group search that fails fails the search, as in Elasticsearch.
 */
import { groupSearches, type CollapseExpand, type CollapseInnerHitsResult } from '../engine/collapse.ts';

export type ExpandedHit = Record<string, unknown> & { fields?: Record<string, unknown[]>; inner_hits?: Record<string, unknown> };
export type GroupSearch = (body: Record<string, unknown>) => Promise<CollapseInnerHitsResult<Record<string, unknown>>>;

export async function expandCollapsedHits(hits: ExpandedHit[], request: Record<string, unknown>, field: string, expand: CollapseExpand, search: GroupSearch): Promise<void> {
  const searches = groupSearches(hits, request, field, expand);
  const results = await runLimited(
    searches.map((g) => () => search(g.body)),
    expand.maxConcurrentGroupSearches,
  );
  // Attached in request order, whichever search answered first: each hit's names come in definition order.
  searches.forEach((g, i) => {
    g.hit.inner_hits = { ...g.hit.inner_hits, [g.name]: { hits: results[i]!.hits } };
  });
}

/** Runs the tasks, at most `limit` at once, and answers their results in task order (or the first failure). */
export async function runLimited<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < tasks.length && !failed) {
      const i = next++;
      try {
        results[i] = await tasks[i]!();
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
