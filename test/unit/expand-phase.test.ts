import { describe, expect, it } from 'vitest';
import type { CollapseExpand } from '../../src/engine/collapse.ts';
import { expandCollapsedHits, runLimited, type ExpandedHit } from '../../src/data/expand-phase.ts';

/** A promise settled from outside, so that the test decides the order searches answer in. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('the expand phase (coordinating node)', () => {
  it('runs at most max_concurrent_group_searches group searches at once, and answers in task order', async () => {
    const pending = Array.from({ length: 7 }, () => deferred<number>());
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const tasks = pending.map((d, i) => async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      try {
        return await d.promise;
      } finally {
        running--;
      }
    });
    const all = runLimited(tasks, 3);
    await flush();
    expect(started).toEqual([0, 1, 2]);
    // Answer out of order: each answer lets the next task start.
    pending[2]!.resolve(2);
    await flush();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const i of [0, 1, 3, 6, 5, 4]) {
      pending[i]!.resolve(i);
      await flush();
    }
    expect(await all).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(3);
  });

  it('fails with the first failing group search and starts no more', async () => {
    const started: number[] = [];
    const slow = deferred<number>();
    const tasks = [0, 1, 2, 3].map((i) => async () => {
      started.push(i);
      if (i === 0) throw new Error('group search failed');
      return i === 1 ? slow.promise : i;
    });
    await expect(runLimited(tasks, 2)).rejects.toThrow('group search failed');
    // The other worker's search answers after the failure: nothing starts after it.
    slow.resolve(1);
    await flush();
    expect(started).toEqual([0, 1]);
  });

  it("attaches each definition's hits to its hit, in definition order, whichever search answers first", async () => {
    const hits: ExpandedHit[] = [
      { _id: 'a', fields: { g: ['x'] }, inner_hits: { nested_one: { hits: { total: { value: 0, relation: 'eq' }, max_score: null, hits: [] } } } },
      { _id: 'b', fields: { g: [null] } },
    ];
    const expand: CollapseExpand = { innerHits: [{ name: 'first', options: { from: 0, size: 1 } }, { name: 'second', options: { from: 1, size: 2, sort: ['n'] } }], maxConcurrentGroupSearches: 4 };
    const bodies: Record<string, unknown>[] = [];
    const answers = [deferred<string>(), deferred<string>(), deferred<string>(), deferred<string>()];
    const done = expandCollapsedHits(hits, { query: { term: { t: 1 } }, post_filter: { term: { u: 2 } } }, 'g', expand, async (body) => {
      const i = bodies.push(body) - 1;
      const id = await answers[i]!.promise;
      return { hits: { total: { value: 1, relation: 'eq' }, max_score: null, hits: [{ _id: id }] } };
    });
    await flush();
    expect(bodies).toEqual([
      { from: 0, size: 1, query: { bool: { must: [{ term: { t: 1 } }], filter: [{ term: { g: 'x' } }] } }, post_filter: { term: { u: 2 } } },
      { from: 1, size: 2, sort: ['n'], query: { bool: { must: [{ term: { t: 1 } }], filter: [{ term: { g: 'x' } }] } }, post_filter: { term: { u: 2 } } },
      { from: 0, size: 1, query: { bool: { must: [{ term: { t: 1 } }], must_not: [{ exists: { field: 'g' } }] } }, post_filter: { term: { u: 2 } } },
      { from: 1, size: 2, sort: ['n'], query: { bool: { must: [{ term: { t: 1 } }], must_not: [{ exists: { field: 'g' } }] } }, post_filter: { term: { u: 2 } } },
    ]);
    for (const i of [3, 1, 2, 0]) answers[i]!.resolve(`d${i}`);
    await done;
    expect(hits.map((h) => Object.keys(h.inner_hits!))).toEqual([['nested_one', 'first', 'second'], ['first', 'second']]);
    expect(hits.map((h) => Object.values(h.inner_hits!).map((r) => (r as { hits: { hits: { _id: string }[] } }).hits.hits.map((x) => x._id)))).toEqual([[[], ['d0'], ['d1']], [['d2'], ['d3']]]);
  });
});
