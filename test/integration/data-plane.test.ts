import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardFor } from '../../src/cluster/routing.ts';
import { INDICES_PATH, shardActorName } from '../../src/data/indices-service.ts';
import { ShoalNode } from '../../src/node/shoal-node.ts';
import { startNatsServer, type NatsServerHandle } from '../../src/testing/nats-server.ts';

type Any = Record<string, any>;

describe('data plane in one process over a real nats-server', () => {
  let server: NatsServerHandle;
  let dataDir: string;
  const nodes = new Map<string, ShoalNode>();
  const masters = ['n1', 'n2', 'n3'];
  const start = async (id: string) => {
    const node = await ShoalNode.start({ nodeId: id, nats: { servers: server.url }, dataDir, masters, logLevel: (process.env.SHOAL_TEST_LOG_LEVEL ?? 'silent') as 'silent' });
    nodes.set(id, node);
    return node;
  };
  const any = () => [...nodes.values()].find((n) => n.system.isRunning)!;
  const api = (req: Any) => any().api(req as never) as Promise<Any>;
  /** Create an index, then wait for green and for its copies to settle (green can come while rebalancing still moves one). */
  const createSettled = async (index: string, shards: number, replicas: number, mappings: Any) => {
    await api({ op: 'index.create', index, settings: { number_of_shards: shards, number_of_replicas: replicas }, mappings });
    expect(await api({ op: 'cluster.health', index, wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green' });
    await any().waitFor((st) => st.routing[index]!.every((t) => t.copies.length === replicas + 1 && t.copies.every((c) => c.state === 'STARTED')), `${index}: copies settled`, 20_000);
  };

  beforeAll(async () => {
    server = await startNatsServer();
    dataDir = mkdtempSync(join(tmpdir(), 'shoal-data-'));
    for (const id of masters) await start(id);
    await Promise.all([...nodes.values()].map((n) => n.waitFor((s) => Object.keys(s.nodes).length === 3 && !!s.master, 'three nodes and a master')));
  });
  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => (n.system.isRunning ? n.shutdown() : undefined)));
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates an index whose primaries and replicas spread over the nodes and turn green', async () => {
    const res = await api({ op: 'index.create', index: 'books', settings: { number_of_shards: 3, number_of_replicas: 1 }, mappings: { properties: { title: { type: 'text' }, year: { type: 'long' } } } });
    expect(res).toMatchObject({ acknowledged: true, index: 'books' });
    const health = await api({ op: 'cluster.health', wait_for_status: 'green', timeout_ms: 10_000 });
    expect(health).toMatchObject({ status: 'green', active_primary_shards: 3, unassigned_shards: 0, timed_out: false });
    // Green can come while a copy still relocates (rebalancing): wait for the settled routing.
    await any().waitFor((st) => st.routing.books!.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED')), 'all copies started', 20_000);
    const shards = (await api({ op: 'cat.shards' })) as unknown as Any[];
    for (let s = 0; s < 3; s++) {
      const copies = shards.filter((r) => r.shard === s);
      expect(copies).toHaveLength(2);
      expect(new Set(copies.map((c) => c.node)).size).toBe(2);
    }
    // Each primary's replica-group actor tracks its replica, in sync (once the primary's node has
    // applied the state that says so: the routing above is one node's view).
    await any().api({ op: 'doc.index', index: 'books', id: 'probe', document: { title: 'probe' } });
    try {
      let probed: Any | undefined;
      for (const deadline = Date.now() + 10_000; ; ) {
        const stats = (await api({ op: 'shard.stats', index: 'books' })) as unknown as Any[];
        probed = stats.find((x) => x.role === 'primary' && x.max_seq_no >= 0);
        if (probed?.group?.state === 'inSync' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(probed!.group).toMatchObject({ state: 'inSync', global_checkpoint: 0, failing: 0 });
      expect(probed!.group.copies).toEqual([expect.objectContaining({ inSync: true, localCheckpoint: 0 })]);
    } finally {
      await any().api({ op: 'doc.delete', index: 'books', id: 'probe' });
    }
  });

  it('indexes, gets, updates, deletes and searches documents through any node', async () => {
    const created = await api({ op: 'doc.index', index: 'books', id: 'b1', document: { title: 'the quick brown fox', year: 1999 } });
    expect(created).toMatchObject({ _id: 'b1', result: 'created', _version: 1, _shards: { total: 2, successful: 2, failed: 0 } });
    const auto = await api({ op: 'doc.index', index: 'books', document: { title: 'lazy dogs sleep', year: 2005 } });
    expect(auto._id).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const got = await nodes.get('n2')!.api({ op: 'doc.get', index: 'books', id: 'b1' });
    expect(got).toMatchObject({ found: true, _source: { title: 'the quick brown fox' } });
    const updated = await api({ op: 'doc.update', index: 'books', id: 'b1', body: { doc: { year: 2000 } } });
    expect(updated).toMatchObject({ result: 'updated', _version: 2 });
    expect(await api({ op: 'doc.get', index: 'books', id: 'b1' })).toMatchObject({ _source: { title: 'the quick brown fox', year: 2000 } });
    await expect(api({ op: 'doc.update', index: 'books', id: 'nope', body: { doc: { a: 1 } } })).rejects.toMatchObject({ type: 'document_missing_exception', status: 404 });
    const bulk = await api({
      op: 'doc.bulk',
      index: 'books',
      refresh: true,
      operations: [{ index: { _id: 'b2' } }, { title: 'quick thinking', year: 2010 }, { create: { _id: 'b1' } }, { title: 'dup' }, { delete: { _id: auto._id } }],
    });
    expect(bulk.errors).toBe(true);
    expect(bulk.items.map((i: Any) => Object.values(i)[0].status)).toEqual([201, 409, 200]);
    const found = await api({ op: 'search', index: 'books', body: { query: { match: { title: 'quick' } } } });
    expect(found._shards).toMatchObject({ total: 3, successful: 3, failed: 0 });
    expect(found.hits.total.value).toBe(2);
    expect(found.hits.hits.map((h: Any) => h._id).sort()).toEqual(['b1', 'b2']);
    expect(found.hits.hits[0]._source.title).toContain('quick');
    const sorted = await api({ op: 'search', index: 'books', body: { sort: [{ year: 'desc' }], size: 1 } });
    expect(sorted.hits.hits[0]).toMatchObject({ _id: 'b2', sort: [2010] });
    // Sorting by _score alone is the default ranking: merged by score across shards, max_score kept.
    const byScore = await api({ op: 'search', index: 'books', body: { query: { match: { title: 'quick' } }, sort: ['_score'] } });
    expect(byScore.hits.hits.map((h: Any) => [h._id, h._score])).toEqual(found.hits.hits.map((h: Any) => [h._id, h._score]));
    expect(byScore.hits.max_score).toBe(found.hits.max_score);
    // Named queries: each hit says which it matched, through the query phase of every shard.
    const named = await api({ op: 'search', index: 'books', body: { query: { bool: { should: [{ match: { title: { query: 'quick', _name: 'quick' } } }, { range: { year: { gte: 2005, _name: 'recent' } } }] } } } });
    expect(Object.fromEntries(named.hits.hits.map((h: Any) => [h._id, h.matched_queries]))).toEqual({ b1: ['quick'], b2: ['quick', 'recent'] });
    expect(await api({ op: 'count', index: 'books' })).toMatchObject({ count: 2 });
    const mget = await api({ op: 'doc.mget', index: 'books', body: { ids: ['b1', 'missing'] } });
    expect(mget.docs.map((d: Any) => d.found)).toEqual([true, false]);
  });

  it('fetches the winners from the readers their query phase ran on, with highlights and _source filtering, and leaves no reader open', async () => {
    const res = await api({ op: 'search', index: 'books', body: { query: { match: { title: 'quick' } }, _source: ['year'], highlight: { fields: { title: {} } } } });
    expect(res._shards.failed).toBe(0);
    expect(res.hits.hits.map((h: Any) => h._id).sort()).toEqual(['b1', 'b2']);
    for (const h of res.hits.hits) {
      expect(Object.keys(h._source)).toEqual(['year']);
      expect(h.highlight.title[0]).toContain('<em>quick</em>');
      expect(h).not.toHaveProperty('_address');
    }
    // explain: each hit says how it scored, the value being its score.
    const explained = await api({ op: 'search', index: 'books', body: { query: { match: { title: 'quick' } }, explain: true } });
    expect(explained.hits.hits.length).toBe(2);
    for (const h of explained.hits.hits) expect(h._explanation.value).toBe(h._score);
    // msearch: each search answers or fails on its own, in order.
    const multi = await api({ op: 'msearch', searches: [{ index: 'books', body: { query: { match: { title: 'quick' } } } }, { index: 'nope' }, { index: 'books', body: { query: { bogus: {} } } }] });
    expect(multi.responses[0].hits.total.value).toBe(2);
    expect(multi.responses[1]).toMatchObject({ status: 404, error: { type: 'index_not_found_exception' } });
    expect(multi.responses[2]).toMatchObject({ status: 400, error: { type: 'parsing_exception' } });
    // Term suggestions merge across shards: a term's frequency is the sum of the shards'. It is
    // Lucene's docFreq, which counts b1's version before its update until a merge drops it: 3.
    const suggested = await api({ op: 'search', index: 'books', body: { size: 0, suggest: { fix: { text: 'quikc', term: { field: 'title' } } } } });
    expect(suggested.suggest.fix).toEqual([{ text: 'quikc', offset: 0, length: 5, options: [{ text: 'quick', score: 0.8, freq: 3 }] }]);
    // No fetch phase, no reader: size 0, and _source false without highlights.
    await api({ op: 'search', index: 'books', body: { size: 0, query: { match_all: {} } } });
    expect((await api({ op: 'search', index: 'books', body: { _source: false } })).hits.hits[0]).not.toHaveProperty('_source');
    // Fetched readers are freed by the fetch, the others by the coordinator (not awaited).
    let open: number[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      open = ((await api({ op: 'shard.stats', index: 'books' })) as unknown as Any[]).map((s) => s.open_readers);
      if (open.every((n) => n === 0)) break;
    }
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((n) => n === 0)).toBe(true);
    // A fetch from a reader that is gone (freed, expired, or the copy restarted) is a structured 404.
    const node = any();
    const copy = node.state.routing.books![0]!.copies[0]!;
    const shardRef = node.system.ref(`shoal://${node.system.cluster}/${copy.node}${INDICES_PATH}/${shardActorName(node.state.indices.books!.uuid, 0)}`);
    await expect(node.system.ask(shardRef, { type: 'shard.fetch', readerId: 'r-gone', addresses: [0] })).rejects.toMatchObject({ type: 'search_context_missing_exception', status: 404 });
  });

  it('lets exactly one of several concurrent conditional updates win', async () => {
    const base = await api({ op: 'doc.get', index: 'books', id: 'b2' });
    const attempts = await Promise.allSettled(
      [...nodes.values()].map((n, i) => n.api({ op: 'doc.index', index: 'books', id: 'b2', document: { title: `writer ${i}` }, if_seq_no: base._seq_no, if_primary_term: base._primary_term })),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const a of attempts) if (a.status === 'rejected') expect(a.reason).toMatchObject({ type: 'version_conflict_engine_exception', status: 409 });
  });

  it('answers bad input with structured errors and changes nothing', async () => {
    await expect(api({ op: 'doc.index', index: 'books', id: 'x', document: [1, 2] })).rejects.toMatchObject({ status: 400 });
    await expect(api({ op: 'doc.get', index: 'nope', id: 'x' })).rejects.toMatchObject({ type: 'index_not_found_exception', status: 404 });
    await expect(api({ op: 'index.create', index: 'Bad Name' })).rejects.toMatchObject({ type: 'invalid_index_name_exception' });
    await expect(api({ op: 'index.create', index: 'x', settings: { number_of_shards: 0 } })).rejects.toMatchObject({ type: 'illegal_argument_exception' });
    // A definition every node would fail to create shards for is refused before the master sees it.
    await expect(api({ op: 'index.create', index: 'bad-mapping', mappings: { properties: { t: { type: 'text', analyzr: 'english' } } } })).rejects.toMatchObject({ type: 'mapper_parsing_exception', status: 400 });
    await expect(api({ op: 'index.create', index: 'bad-analyzer', mappings: { properties: { t: { type: 'text', analyzer: 'mine' } } } })).rejects.toMatchObject({ type: 'mapper_parsing_exception', status: 400 });
    await expect(api({ op: 'index.create', index: 'bad-analysis', settings: { analysis: { analyzer: { mine: { tokenizer: 'nope' } } } } })).rejects.toMatchObject({ type: 'illegal_argument_exception', status: 400 });
    expect(any().state.indices).not.toHaveProperty('bad-mapping');
    expect(any().state.indices).not.toHaveProperty('bad-analyzer');
    expect(any().state.indices).not.toHaveProperty('bad-analysis');
    await expect(api({ op: 'doc.index', index: 'books', id: 'y', document: { year: 'not a number' } })).rejects.toMatchObject({ status: 400 });
    await expect(api({ op: 'search', index: 'books', body: { query: { nope: {} } } })).rejects.toMatchObject({ status: 400 });
    // The coordinator checks the whole body before any shard runs it, the fetch-phase options too.
    await expect(api({ op: 'search', index: 'books', body: { query: { match: { title: { query: 'x', operatr: 'and' } } } } })).rejects.toMatchObject({ type: 'parsing_exception', status: 400 });
    await expect(api({ op: 'search', index: 'books', body: { highlight: { fields: { title: {} }, fragmenter: 'span' } } })).rejects.toMatchObject({ type: 'parsing_exception', status: 400 });
    await expect(api({ op: 'search', index: 'books', body: { _source: { only: ['year'] } } })).rejects.toMatchObject({ type: 'parsing_exception', status: 400 });
    await expect(api({ op: 'search', index: 'books', body: { timeout: 5 } })).rejects.toMatchObject({ type: 'parsing_exception', status: 400 });
    await expect(api({ op: 'search', index: 'books', body: { sort: ['title'] } })).rejects.toMatchObject({ type: 'illegal_argument_exception', status: 400 });
    await expect(api({ op: 'search', index: 'books', body: { sort: ['nope'] } })).rejects.toMatchObject({ type: 'query_shard_exception', status: 400 });
    await api({ op: 'index.refresh', index: 'books' });
    expect(await api({ op: 'count', index: 'books' })).toMatchObject({ count: 2 });
  });

  it('reduces aggregations across shards (terms, avg, cardinality, date_histogram, top_hits) and collapses hits across shards', async () => {
    await api({ op: 'index.create', index: 'sales', settings: { number_of_shards: 3, number_of_replicas: 0 }, mappings: { properties: { tag: { type: 'keyword' }, price: { type: 'double' }, user: { type: 'keyword' }, ts: { type: 'date' } } } });
    try {
      expect(await api({ op: 'cluster.health', index: 'sales', wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green', timed_out: false });
      const DAY = 86_400_000;
      const BASE = Date.UTC(2024, 0, 1);
      // 12 tags of skewed frequency (the 2 rarest fall outside size 10), prices in halves (sums
      // are exact in float64), 97 users, 29 days denser towards the end.
      const docs = Array.from({ length: 240 }, (_, i) => ({
        tag: `t${Math.floor(Math.sqrt((i * 37) % 144))}`,
        price: ((i * 13) % 100) + 0.5,
        user: `u${(i * 7) % 97}`,
        ts: new Date(BASE + Math.floor((i * i) / 2000) * DAY + i * 1000).toISOString(),
      }));
      const bulk = await api({ op: 'doc.bulk', index: 'sales', refresh: true, operations: docs.flatMap((d, i) => [{ index: { _id: `s${i}` } }, d]) });
      expect(bulk.errors).toBe(false);
      // The documents really are spread over the three shards.
      const stats = (await api({ op: 'shard.stats', index: 'sales' })) as unknown as Any[];
      expect(stats).toHaveLength(3);
      for (const s of stats) expect(s.docs).toBeGreaterThan(20);
      expect(stats.reduce((a, s) => a + s.docs, 0)).toBe(240);

      const res = await api({
        op: 'search',
        index: 'sales',
        body: {
          size: 0,
          aggs: {
            tags: { terms: { field: 'tag', size: 10 }, aggs: { avg_price: { avg: { field: 'price' } } } },
            avg_price: { avg: { field: 'price' } },
            users: { cardinality: { field: 'user' } },
            per_day: { date_histogram: { field: 'ts', calendar_interval: 'day' } },
          },
        },
      });
      expect(res._shards).toMatchObject({ total: 3, successful: 3, failed: 0 });
      expect(res.hits.total.value).toBe(240);

      const byTag = new Map<string, number[]>();
      for (const d of docs) byTag.set(d.tag, [...(byTag.get(d.tag) ?? []), d.price]);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const ranked = [...byTag].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
      expect(ranked.length).toBe(12);
      expect(res.aggregations.tags).toEqual({
        doc_count_error_upper_bound: 0,
        sum_other_doc_count: sum(ranked.slice(10).map(([, ps]) => ps.length)),
        buckets: ranked.slice(0, 10).map(([key, ps]) => ({ key, doc_count: ps.length, avg_price: { value: sum(ps) / ps.length } })),
      });
      expect(res.aggregations.avg_price).toEqual({ value: sum(docs.map((d) => d.price)) / 240 });
      expect(res.aggregations.users).toEqual({ value: 97 });
      const perDay = new Map<number, number>();
      for (const d of docs) {
        const day = Math.floor(Date.parse(d.ts) / DAY) * DAY;
        perDay.set(day, (perDay.get(day) ?? 0) + 1);
      }
      expect(res.aggregations.per_day.buckets).toEqual(
        [...perDay].sort((a, b) => a[0] - b[0]).map(([key, doc_count]) => ({ key_as_string: new Date(key).toISOString(), key, doc_count })),
      );
      // top_hits across shards: the cheapest three overall, each hit naming its index.
      const cheapest = await api({ op: 'search', index: 'sales', body: { size: 0, aggs: { cheap: { top_hits: { size: 3, sort: [{ price: 'asc' }], _source: ['price'] } } } } });
      const hits = cheapest.aggregations.cheap.hits.hits as Any[];
      expect(hits.map((h) => h._source.price)).toEqual([...docs.map((d) => d.price)].sort((a, b) => a - b).slice(0, 3));
      for (const h of hits) expect(h._index).toBe('sales');
      // collapse across shards: the best (cheapest) doc of each tag, ranked, paged.
      const collapsed = await api({ op: 'search', index: 'sales', body: { from: 2, size: 5, sort: [{ price: 'asc' }, { user: 'asc' }], collapse: { field: 'tag' }, _source: ['price'] } });
      const bestOfTag = new Map<string, { price: number; user: string }>();
      for (const d of docs) {
        const kept = bestOfTag.get(d.tag);
        if (!kept || d.price < kept.price || (d.price === kept.price && d.user < kept.user)) bestOfTag.set(d.tag, d);
      }
      const groups = [...bestOfTag].sort((a, b) => a[1].price - b[1].price || (a[1].user < b[1].user ? -1 : 1));
      expect(collapsed.hits.hits.map((h: Any) => [h.fields.tag[0], h._source.price])).toEqual(groups.slice(2, 7).map(([tag, d]) => [tag, d.price]));
      expect(collapsed.hits.total.value).toBe(240);
      // collapse.inner_hits across shards (the expand phase): each group's members from every shard,
      // sorted and paged per definition, through a point in time too (whose readers the writes below do not change).
      const { id: pitId } = await api({ op: 'pit.open', index: 'sales', keep_alive: '1m' });
      try {
        const expandBody = {
          size: 12,
          sort: [{ price: 'asc' }, { user: 'asc' }],
          collapse: {
            field: 'tag',
            inner_hits: [
              { name: 'cheapest', size: 5, sort: [{ price: 'asc' }, { user: 'asc' }], _source: ['price', 'user'] },
              { name: 'users_desc', from: 2, size: 3, sort: [{ user: 'desc' }, { price: 'desc' }], _source: false },
            ],
            max_concurrent_group_searches: 2,
          },
          _source: false,
        };
        const expanded = await api({ op: 'search', index: 'sales', body: expandBody });
        await api({ op: 'doc.bulk', index: 'sales', refresh: true, operations: [{ index: { _id: 'late' } }, { tag: groups[0]![0], price: 0, user: 'u0' }] });
        const throughPit = await api({ op: 'search', body: { ...expandBody, pit: { id: pitId, keep_alive: '1m' } } });
        const byPrice = (a: { price: number; user: string }, b: { price: number; user: string }) => a.price - b.price || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);
        const byUserDesc = (a: { price: number; user: string }, b: { price: number; user: string }) => (a.user < b.user ? 1 : a.user > b.user ? -1 : b.price - a.price);
        const members = (tag: string) => docs.map((d, i) => ({ ...d, id: `s${i}` })).filter((d) => d.tag === tag);
        for (const res of [expanded, throughPit]) {
          // Every group (the 12 tags have 2 to 38 docs).
          expect(res.hits.hits.map((h: Any) => h.fields.tag[0])).toEqual(groups.map(([tag]) => tag));
          let spread = 0;
          for (const hit of res.hits.hits as Any[]) {
            const group = members(hit.fields.tag[0]);
            if (new Set(group.map((d) => shardFor(d.id, 3))).size === 3) spread++;
            expect(hit.inner_hits.cheapest.hits.total).toEqual({ value: group.length, relation: 'eq' });
            expect(hit.inner_hits.cheapest.hits.hits).toEqual(
              [...group].sort(byPrice).slice(0, 5).map((d) => ({ _index: 'sales', _id: d.id, _score: null, _source: { price: d.price, user: d.user }, sort: [d.price, d.user] })),
            );
            expect(hit.inner_hits.users_desc.hits.hits).toEqual([...group].sort(byUserDesc).slice(2, 5).map((d) => ({ _index: 'sales', _id: d.id, _score: null, sort: [d.user, d.price] })));
          }
          // Most groups have members on all three shards.
          expect(spread).toBeGreaterThanOrEqual(8);
        }
        // The late doc (after the point in time) is in the group searched now only.
        const fresh = await api({ op: 'search', index: 'sales', body: expandBody });
        expect(fresh.hits.hits[0].inner_hits.cheapest.hits.hits[0]._id).toBe('late');
        expect(throughPit.hits.hits[0].inner_hits.cheapest.hits.hits[0]._id).not.toBe('late');
        // Refused before any shard runs: an unnamed definition, a name used twice.
        await expect(api({ op: 'search', index: 'sales', body: { collapse: { field: 'tag', inner_hits: { size: 2 } } } })).rejects.toMatchObject({ status: 400, type: 'illegal_argument_exception' });
        await expect(api({ op: 'search', index: 'sales', body: { collapse: { field: 'tag', inner_hits: [{ name: 'a' }, { name: 'a' }] } } })).rejects.toMatchObject({ status: 400, type: 'illegal_argument_exception' });
      } finally {
        await api({ op: 'pit.close', id: pitId });
      }
      // A client cannot ask for the shards' unreduced state.
      await expect(api({ op: 'search', index: 'sales', body: { size: 0, aggs: { users: { cardinality: { field: 'user' } } }, partial_aggs: true } })).rejects.toMatchObject({ status: 400 });
    } finally {
      await api({ op: 'index.delete', index: 'sales' });
    }
  });

  it('rescores each shard\'s top hits and merges them by the rescored score', async () => {
    await createSettled('rs', 3, 0, { properties: { title: { type: 'text' } } });
    try {
      const titles = ['quick brown fox', 'fox quick', 'quick fox fox fox', 'brown quick dog', 'the quick and the brown fox'];
      const operations = Array.from({ length: 60 }, (_, i) => [{ index: { _id: `t${i}` } }, { title: `${titles[i % titles.length]} ${i}` }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'rs', refresh: true, operations })).errors).toBe(false);
      const query = { match: { title: 'quick fox' } };
      const rescore = { window_size: 50, query: { rescore_query: { match_phrase: { title: 'quick brown fox' } }, rescore_query_weight: 20 } };
      const res = await api({ op: 'search', index: 'rs', body: { query, rescore, size: 12 } });
      expect(res._shards.failed).toBe(0);
      // The 12 exact-phrase docs come first, each shard's window rescored, merged by the new scores.
      expect(res.hits.hits.map((h: Any) => Number(h._id.slice(1)) % titles.length)).toEqual(Array(12).fill(0));
      const scores = res.hits.hits.map((h: Any) => h._score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(res.hits.max_score).toBe(scores[0]);
      await expect(api({ op: 'search', index: 'rs', body: { query, rescore, sort: [{ _id: 'asc' }] } })).rejects.toMatchObject({ status: 400 });
      // _explain of one document, on its own shard: the same score a search gives it.
      const top = (await api({ op: 'search', index: 'rs', body: { query, size: 1 } })).hits.hits[0];
      const explained = await api({ op: 'doc.explain', index: 'rs', id: top._id, body: { query } });
      expect(explained).toMatchObject({ _index: 'rs', _id: top._id, matched: true });
      expect(explained.explanation.value).toBeCloseTo(top._score, 9);
      const dog = titles.findIndex((t) => t.includes('dog'));
      expect(await api({ op: 'doc.explain', index: 'rs', id: `t${dog}`, body: { query: { match: { title: 'fox' } } } })).toMatchObject({ matched: false, explanation: { value: 0 } });
      await expect(api({ op: 'doc.explain', index: 'rs', id: 'nope', body: { query } })).rejects.toMatchObject({ type: 'document_missing_exception', status: 404 });
      await expect(api({ op: 'doc.explain', index: 'rs', id: top._id, body: { query: { nope: {} } } })).rejects.toMatchObject({ status: 400 });
    } finally {
      await api({ op: 'index.delete', index: 'rs' });
    }
  });

  it('searches nested objects across shards: nested query with inner_hits through the fetch phase, nested sort, nested and reverse_nested aggregations', async () => {
    await createSettled('teams', 3, 0, { properties: { team: { type: 'keyword' }, users: { type: 'nested', properties: { first: { type: 'keyword' }, last: { type: 'keyword' }, age: { type: 'long' } } } } });
    try {
      const FIRST = ['John', 'Alice', 'Bob'];
      const LAST = ['Smith', 'White'];
      // Team i has i % 4 users: user j is FIRST[(i + j) % 3] LAST[(i + 2j) % 2], aged i + j; the
      // users also carry a field no mapping has yet (mapped through the master, inside the nested field).
      const teams = Array.from({ length: 40 }, (_, i) => ({ team: `t${i % 5}`, users: Array.from({ length: i % 4 }, (_, j) => ({ first: FIRST[(i + j) % 3]!, last: LAST[(i + 2 * j) % 2]!, age: i + j, nick: `n${j}` })) }));
      const bulk = await api({ op: 'doc.bulk', index: 'teams', refresh: true, operations: teams.flatMap((d, i) => [{ index: { _id: `g${i}` } }, d]) });
      expect(bulk.errors).toBe(false);
      const mapping = await api({ op: 'index.get_mapping', index: 'teams' });
      expect(JSON.stringify(mapping)).toContain('"nick"');
      const aliceSmith = (u: { first: string; last: string }) => u.first === 'Alice' && u.last === 'Smith';
      const want = teams.map((t, i) => [i, t] as const).filter(([, t]) => t.users.some(aliceSmith));
      const query = { nested: { path: 'users', score_mode: 'sum', query: { bool: { filter: [{ term: { 'users.first': 'Alice' } }, { term: { 'users.last': 'Smith' } }] } }, inner_hits: { size: 5 } } };
      const res = await api({ op: 'search', index: 'teams', body: { query, size: 100, sort: [{ 'users.age': { order: 'desc', nested: { path: 'users', filter: { term: { 'users.first': 'Alice' } } } } }] } });
      expect(res._shards.failed).toBe(0);
      expect(res.hits.total.value).toBe(want.length);
      // Sorted by the oldest Alice of each team; each hit's inner hits are its Alice Smiths, from the fetch phase.
      const oldestAlice = (t: (typeof teams)[number]) => Math.max(...t.users.filter((u) => u.first === 'Alice').map((u) => u.age));
      expect(res.hits.hits.map((h: Any) => h.sort[0])).toEqual(want.map(([, t]) => oldestAlice(t)).sort((a, b) => b - a));
      for (const h of res.hits.hits) {
        const t = teams[Number(h._id.slice(1))]!;
        const inner = h.inner_hits.users.hits;
        expect(inner.total.value).toBe(t.users.filter(aliceSmith).length);
        expect(inner.hits.map((x: Any) => [x._index, x._id, x._source])).toEqual(t.users.map((u, j) => [j, u] as const).filter(([, u]) => aliceSmith(u)).map(([, u]) => ['teams', h._id, u]));
        expect(inner.hits.map((x: Any) => x._nested.offset)).toEqual(t.users.map((u, j) => [j, u] as const).filter(([, u]) => aliceSmith(u)).map(([j]) => j));
      }
      // Plain queries do not see inside the nested field.
      expect((await api({ op: 'search', index: 'teams', body: { query: { term: { 'users.first': 'Alice' } } } })).hits.total.value).toBe(0);
      const aggs = { users: { nested: { path: 'users' }, aggs: { first: { terms: { field: 'users.first' }, aggs: { teams: { reverse_nested: {}, aggs: { team: { terms: { field: 'team', size: 1, order: { _key: 'asc' } } } } } } }, ages: { stats: { field: 'users.age' } } } } };
      const aggRes = await api({ op: 'search', index: 'teams', body: { size: 0, aggs } });
      const all = teams.flatMap((t) => t.users);
      expect(aggRes.aggregations.users.doc_count).toBe(all.length);
      expect(aggRes.aggregations.users.ages).toMatchObject({ count: all.length, sum: all.reduce((s, u) => s + u.age, 0) });
      for (const b of aggRes.aggregations.users.first.buckets) {
        expect(b.doc_count).toBe(all.filter((u) => u.first === b.key).length);
        expect(b.teams.doc_count).toBe(teams.filter((t) => t.users.some((u) => u.first === b.key)).length);
      }
    } finally {
      await api({ op: 'index.delete', index: 'teams' });
    }
  });

  it('runs scripts across shards: script_score, script query, script_fields from the fetch phase, _script sort merged by its values', async () => {
    await createSettled('sc', 3, 0, { properties: { title: { type: 'text' }, n: { type: 'long' }, tag: { type: 'keyword' } } });
    try {
      const operations = Array.from({ length: 40 }, (_, i) => [{ index: { _id: `d${i}` } }, { title: 'doc', n: (i * 7) % 40, tag: i % 2 === 0 ? 'even' : 'odd' }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'sc', refresh: true, operations })).errors).toBe(false);
      const nOf = (id: string) => (Number(id.slice(1)) * 7) % 40;
      // script_score: the best scores are the largest n, whichever shard holds them; script_fields come from the fetch phase.
      const scored = await api({
        op: 'search',
        index: 'sc',
        body: {
          query: { script_score: { query: { match_all: {} }, script: { source: "doc['n'].value * params.f", params: { f: 2 } } } },
          script_fields: { half: { script: "doc['n'].value / 2" }, tag: { script: "doc['tag'].value" } },
          _source: false,
          size: 5,
        },
      });
      expect(scored._shards.failed).toBe(0);
      expect(scored.hits.hits.map((h: Any) => h._score)).toEqual([78, 76, 74, 72, 70]);
      for (const h of scored.hits.hits) {
        expect(h._score).toBe(nOf(h._id) * 2);
        expect(h.fields).toEqual({ half: [nOf(h._id) / 2], tag: [Number(h._id.slice(1)) % 2 === 0 ? 'even' : 'odd'] });
        expect(h._source).toBeUndefined();
      }
      // script query: a filter on every shard.
      const filtered = await api({ op: 'search', index: 'sc', body: { query: { bool: { filter: [{ script: { script: { source: "doc['n'].value < params.t", params: { t: 10 } } } }] } }, size: 0 } });
      expect(filtered.hits.total.value).toBe(10);
      // _script sort: merged across shards by the sort values the shards computed.
      const sorted = await api({ op: 'search', index: 'sc', body: { sort: [{ _script: { type: 'number', script: "40 - doc['n'].value", order: 'asc' } }], size: 6, _source: false } });
      expect(sorted.hits.hits.map((h: Any) => h.sort[0])).toEqual([1, 2, 3, 4, 5, 6]);
      expect(sorted.hits.hits.map((h: Any) => 40 - nOf(h._id))).toEqual([1, 2, 3, 4, 5, 6]);
      const byString = await api({ op: 'search', index: 'sc', body: { sort: [{ _script: { type: 'string', script: "doc['tag'].value", order: 'desc' } }, { n: 'asc' }], size: 2, _source: false } });
      expect(byString.hits.hits.map((h: Any) => h.sort)).toEqual([['odd', 1], ['odd', 3]]);
      // A script that does not compile is the caller's error, found before any shard runs it.
      await expect(api({ op: 'search', index: 'sc', body: { query: { script: { script: "doc['n'].value <" } } } })).rejects.toMatchObject({ type: 'script_exception', status: 400, details: { lang: 'painless', position: { offset: 16 } } });
      await expect(api({ op: 'search', index: 'sc', body: { query: { script_score: { query: { match_all: {} }, script: '0 - 1' } } } })).rejects.toMatchObject({ status: 400 });
    } finally {
      await api({ op: 'index.delete', index: 'sc' });
    }
  });

  it('deletes by query, batch by batch, on every shard, and honours max_docs', async () => {
    await createSettled('dbq', 3, 1, { properties: { kind: { type: 'keyword' }, n: { type: 'long' } } });
    try {
      const docs = Array.from({ length: 3000 }, (_, i) => ({ kind: i % 2 === 1 ? 'odd' : 'even', n: i }));
      expect((await api({ op: 'doc.bulk', index: 'dbq', refresh: true, operations: docs.flatMap((d, i) => [{ index: { _id: `d${i}` } }, d]) })).errors).toBe(false);
      const odd = await api({ op: 'doc.delete_by_query', index: 'dbq', body: { query: { term: { kind: 'odd' } } } });
      expect(odd).toMatchObject({ total: 1500, deleted: 1500, version_conflicts: 0, failures: [] });
      // About 500 odd docs per shard, 1000 per batch: one batch per shard.
      expect(odd.batches).toBe(3);
      const left = await api({ op: 'search', index: 'dbq', body: { size: 0, track_total_hits: true, aggs: { kinds: { terms: { field: 'kind' } } } } });
      expect(left.hits.total.value).toBe(1500);
      expect(left.aggregations.kinds.buckets).toEqual([{ key: 'even', doc_count: 1500 }]);
      const some = await api({ op: 'doc.delete_by_query', index: 'dbq', body: { query: { range: { n: { lt: 1000 } } }, max_docs: 120 } });
      expect(some).toMatchObject({ deleted: 120, failures: [] });
      expect((await api({ op: 'count', index: 'dbq' })).count).toBe(1380);
      // Nothing matches: nothing deleted, no batch.
      expect(await api({ op: 'doc.delete_by_query', index: 'dbq', body: { query: { term: { kind: 'odd' } } } })).toMatchObject({ total: 0, deleted: 0, batches: 0 });
      await expect(api({ op: 'doc.delete_by_query', index: 'dbq', body: { query: { nope: {} } } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'doc.delete_by_query', index: 'dbq', body: { size: 3 } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'doc.delete_by_query', index: 'dbq', body: { max_docs: 0 } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'doc.delete_by_query', index: 'dbq', conflicts: 'maybe' })).rejects.toMatchObject({ status: 400 });
      expect((await api({ op: 'count', index: 'dbq' })).count).toBe(1380);
    } finally {
      await api({ op: 'index.delete', index: 'dbq' });
    }
  });

  it('never loses an acknowledged update to delete_by_query: a doc changed between its search and its delete is a conflict', async () => {
    await createSettled('dbq2', 2, 1, { properties: { kind: { type: 'keyword' } } });
    try {
      const N = 4000;
      const ops = Array.from({ length: N }, (_, i) => [{ index: { _id: `d${i}` } }, { kind: 'odd' }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'dbq2', refresh: true, operations: ops })).errors).toBe(false);
      // While delete_by_query removes every odd doc, six other clients turn docs even, one by one.
      let done = false;
      const acknowledged: string[] = [];
      const updater = async (first: number) => {
        for (let i = first; i >= 0 && !done; i -= 6 * 5) {
          try {
            await api({ op: 'doc.update', index: 'dbq2', id: `d${i}`, body: { doc: { kind: 'even' } } });
            acknowledged.push(`d${i}`);
          } catch (err) {
            // Deleted before the update reached it: not acknowledged, nothing to keep.
            expect(err).toMatchObject({ type: 'document_missing_exception' });
          }
        }
      };
      const updaters = Promise.all(Array.from({ length: 6 }, (_, u) => updater(N - 1 - u * 5)));
      const res = await api({ op: 'doc.delete_by_query', index: 'dbq2', body: { query: { term: { kind: 'odd' } } }, conflicts: 'proceed' });
      done = true;
      await updaters;
      await api({ op: 'index.refresh', index: 'dbq2' });
      console.log(`[data-plane] delete_by_query under concurrent updates: ${res.deleted} deleted, ${res.version_conflicts} conflicts, ${acknowledged.length} updates acknowledged`);
      expect(res.failures).toEqual([]);
      // Every acknowledged update survives (it came before the delete, or made the delete conflict).
      const kept = await api({ op: 'doc.mget', index: 'dbq2', body: { ids: acknowledged } });
      for (const d of kept.docs) expect(d).toMatchObject({ found: true, _source: { kind: 'even' } });
      // No odd doc is left, and every doc is accounted for.
      expect((await api({ op: 'count', index: 'dbq2', body: { query: { term: { kind: 'odd' } } } })).count).toBe(0);
      expect((await api({ op: 'count', index: 'dbq2' })).count).toBe(N - res.deleted);
    } finally {
      await api({ op: 'index.delete', index: 'dbq2' });
    }
  });

  it('updates by query: documents written before a put-mapping pick up its new multi-field, batch by batch, on every shard', async () => {
    await createSettled('ubq', 2, 1, { properties: { title: { type: 'text' }, kind: { type: 'keyword' } } });
    try {
      const N = 2400;
      const ops = Array.from({ length: N }, (_, i) => [{ index: { _id: `d${i}` } }, { title: `Doc ${i % 10}`, kind: i % 2 ? 'odd' : 'even' }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'ubq', refresh: true, operations: ops })).errors).toBe(false);
      expect(await api({ op: 'index.put_mapping', index: 'ubq', body: { properties: { title: { type: 'text', fields: { raw: { type: 'keyword' } } } } } })).toEqual({ acknowledged: true });
      const raw = async () => (await api({ op: 'count', index: 'ubq', body: { query: { exists: { field: 'title.raw' } } } })).count;
      expect(await raw()).toBe(0); // written before the multi-field existed
      const res = await api({ op: 'doc.update_by_query', index: 'ubq', body: { query: { term: { kind: 'even' } } }, refresh: true });
      // 1,200 even docs, about 600 per shard: one batch of 1,000 per shard at most... and the rest.
      expect(res).toMatchObject({ total: 1200, updated: 1200, version_conflicts: 0, noops: 0, failures: [] });
      expect(res.batches).toBeGreaterThanOrEqual(2);
      expect(await raw()).toBe(1200);
      expect((await api({ op: 'count', index: 'ubq', body: { query: { term: { 'title.raw': 'Doc 4' } } } })).count).toBe(240);
      expect((await api({ op: 'doc.get', index: 'ubq', id: 'd2' }))._version).toBe(2);
      expect((await api({ op: 'doc.get', index: 'ubq', id: 'd1' }))._version).toBe(1);
      // Every copy (replicas too) took the new versions.
      const stats = (await api({ op: 'shard.stats', index: 'ubq' })) as unknown as Any[];
      for (let shard = 0; shard < 2; shard++) expect(new Set(stats.filter((x) => x.shard === shard).map((x) => `${x.docs}/${x.max_seq_no}`)).size).toBe(1);
      // All of it, in batches of 1,000: more than one batch on each shard.
      const all = await api({ op: 'doc.update_by_query', index: 'ubq', refresh: true });
      expect(all).toMatchObject({ total: N, updated: N, failures: [] });
      expect(all.batches).toBe(4);
      expect(await raw()).toBe(N);
      expect(await api({ op: 'doc.update_by_query', index: 'ubq', body: { query: { range: { kind: { gte: 'z' } } } } })).toMatchObject({ total: 0, updated: 0, batches: 0 });
      expect(await api({ op: 'doc.update_by_query', index: 'ubq', body: { max_docs: 5 } })).toMatchObject({ updated: 5 });
      // A script that fails on the first doc (no n to increment) fails the request with the script's error (update-scripts.test.ts has the rest).
      await expect(api({ op: 'doc.update_by_query', index: 'ubq', body: { script: { source: 'ctx._source.n++' } } })).rejects.toMatchObject({ status: 400, type: 'script_exception' });
      await expect(api({ op: 'doc.update_by_query', index: 'ubq', body: { doc: {} } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'doc.update_by_query', index: 'ubq', body: { query: { nope: {} } } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'doc.update_by_query', index: 'ubq', refresh: 'soon' })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'doc.update_by_query', index: 'nope' })).rejects.toMatchObject({ status: 404 });
    } finally {
      await api({ op: 'index.delete', index: 'ubq' });
    }
  });

  it('never loses an acknowledged update to update_by_query: a doc changed after the scan read it is a conflict, not overwritten', async () => {
    await createSettled('ubq2', 2, 1, { properties: { n: { type: 'long' } } });
    try {
      const N = 4000;
      const ops = Array.from({ length: N }, (_, i) => [{ index: { _id: `d${i}` } }, { n: 0 }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'ubq2', refresh: true, operations: ops })).errors).toBe(false);
      // While update_by_query indexes every doc again from its point in time, six clients set n = 1.
      let done = false;
      const acknowledged: string[] = [];
      const updater = async (first: number) => {
        for (let i = first; i >= 0 && !done; i -= 6 * 5) {
          await api({ op: 'doc.update', index: 'ubq2', id: `d${i}`, body: { doc: { n: 1 } } });
          acknowledged.push(`d${i}`);
        }
      };
      const updaters = Promise.all(Array.from({ length: 6 }, (_, u) => updater(N - 1 - u * 5)));
      const res = await api({ op: 'doc.update_by_query', index: 'ubq2', conflicts: 'proceed' });
      done = true;
      await updaters;
      console.log(`[data-plane] update_by_query under concurrent updates: ${res.updated} updated, ${res.version_conflicts} conflicts, ${acknowledged.length} updates acknowledged`);
      expect(res.failures).toEqual([]);
      expect(res.updated + res.version_conflicts).toBe(N);
      // The point-in-time copy of a doc never replaces an acknowledged update made after it.
      const kept = await api({ op: 'doc.mget', index: 'ubq2', body: { ids: acknowledged } });
      for (const d of kept.docs) expect(d).toMatchObject({ found: true, _source: { n: 1 } });
    } finally {
      await api({ op: 'index.delete', index: 'ubq2' });
    }
  });

  it('searches and writes through aliases, swaps an alias atomically, and drops a deleted index from it', async () => {
    for (const index of ['logs-1', 'logs-2']) {
      await api({ op: 'index.create', index, settings: { number_of_shards: 2, number_of_replicas: 0 } });
      await api({ op: 'doc.index', index, id: `${index}-a`, document: { msg: `first of ${index}` }, refresh: true });
    }
    try {
      const ids = async (index: string) => (await api({ op: 'search', index, body: { query: { match_all: {} } } })).hits.hits.map((h: Any) => `${h._index}/${h._id}`).sort();
      expect(await api({ op: 'index.update_aliases', actions: [{ add: { index: 'logs-1', alias: 'logs' } }] })).toEqual({ acknowledged: true });
      expect(await ids('logs')).toEqual(['logs-1/logs-1-a']);
      // One index: writes and gets through the alias go to it.
      expect(await api({ op: 'doc.index', index: 'logs', id: 'via-alias', document: { msg: 'x' }, refresh: true })).toMatchObject({ _index: 'logs-1', result: 'created' });
      expect(await api({ op: 'doc.get', index: 'logs', id: 'via-alias' })).toMatchObject({ _index: 'logs-1', found: true });
      // The swap is one change: the alias goes from logs-1 to logs-2.
      await api({ op: 'index.update_aliases', actions: [{ remove: { index: 'logs-1', alias: 'logs' } }, { add: { index: 'logs-2', alias: 'logs' } }] });
      expect(await ids('logs')).toEqual(['logs-2/logs-2-a']);
      // Two indices: searches see both; writes need a write index.
      await api({ op: 'index.update_aliases', actions: [{ add: { index: 'logs-1', alias: 'logs' } }] });
      expect(await ids('logs')).toEqual(['logs-1/logs-1-a', 'logs-1/via-alias', 'logs-2/logs-2-a']);
      await expect(api({ op: 'doc.index', index: 'logs', id: 'nowhere', document: { msg: 'x' } })).rejects.toMatchObject({ status: 400, type: 'illegal_argument_exception' });
      await api({ op: 'index.update_aliases', actions: [{ add: { index: 'logs-2', alias: 'logs', is_write_index: true } }] });
      expect(await api({ op: 'doc.index', index: 'logs', id: 'to-write-index', document: { msg: 'y' } })).toMatchObject({ _index: 'logs-2' });
      expect(await api({ op: 'cat.aliases' })).toEqual([
        { alias: 'logs', index: 'logs-1', is_write_index: false },
        { alias: 'logs', index: 'logs-2', is_write_index: true },
      ]);
      // Names stay apart, and a bad action changes nothing.
      await expect(api({ op: 'index.create', index: 'logs' })).rejects.toMatchObject({ status: 400, type: 'invalid_index_name_exception' });
      await expect(api({ op: 'index.update_aliases', actions: [{ add: { index: 'logs-1', alias: 'logs-2' } }] })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'index.update_aliases', actions: [{ add: { index: 'logs-1', alias: 'other' } }, { remove: { index: 'logs-1', alias: 'nope' } }] })).rejects.toMatchObject({ status: 404 });
      await expect(api({ op: 'index.update_aliases', actions: [{ add: { index: 'missing', alias: 'other' } }] })).rejects.toMatchObject({ status: 404 });
      await expect(api({ op: 'index.delete', index: 'logs' })).rejects.toMatchObject({ status: 400 });
      expect((await api({ op: 'cat.aliases' })).map((a: Any) => a.alias)).toEqual(['logs', 'logs']);
      // Deleting an index takes it out of the alias.
      await api({ op: 'index.delete', index: 'logs-2' });
      expect(await api({ op: 'cat.aliases' })).toEqual([{ alias: 'logs', index: 'logs-1', is_write_index: true }]);
      expect(await ids('logs')).toEqual(['logs-1/logs-1-a', 'logs-1/via-alias']);
    } finally {
      for (const index of ['logs-1', 'logs-2']) await api({ op: 'index.delete', index }).catch(() => undefined);
    }
  });

  it('pages through a point in time: later writes, deletes and merges change nothing it sees, and closing frees its readers', async () => {
    await createSettled('pit', 3, 1, { properties: { n: { type: 'long' }, bucket: { type: 'long' } } });
    try {
      const N = 250;
      expect((await api({ op: 'doc.bulk', index: 'pit', refresh: true, operations: Array.from({ length: N }, (_, i) => [{ index: { _id: `p${i}` } }, { n: i, bucket: i % 7 }]).flat() })).errors).toBe(false);
      const { id } = await api({ op: 'pit.open', index: 'pit', keep_alive: '1m' });
      // After opening: half deleted, new docs, updates, all refreshed.
      const later = Array.from({ length: N }, (_, i) => (i % 2 === 0 ? [{ delete: { _id: `p${i}` } }] : [{ index: { _id: `p${i}` } }, { n: -i }])).flat();
      expect((await api({ op: 'doc.bulk', index: 'pit', refresh: true, operations: [...later, { index: { _id: 'new' } }, { n: 1000 }] })).errors).toBe(false);
      expect((await api({ op: 'count', index: 'pit' })).count).toBe(N / 2 + 1);
      // Pages of 40 by n, through the point in time: every original doc once, as it was.
      const seen: number[] = [];
      let after: unknown[] | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await api({ op: 'search', body: { pit: { id, keep_alive: '1m' }, size: 40, sort: [{ n: 'asc' }], _source: ['n'], ...(after ? { search_after: after } : {}) } });
        expect(res.pit_id).toBe(id);
        if (res.hits.hits.length === 0) break;
        for (const h of res.hits.hits) seen.push(h._source.n);
        after = res.hits.hits.at(-1).sort;
      }
      expect(seen).toEqual(Array.from({ length: N }, (_, i) => i));
      // Ties: by score alone (match_all: every score is 1), and by a value seven docs share. The
      // implicit _shard_doc tiebreaker pages through them without skipping or repeating a doc.
      for (const sort of [undefined, [{ bucket: 'asc' }]] as (unknown[] | undefined)[]) {
        const ids: string[] = [];
        let next: unknown[] | undefined;
        for (let page = 0; page < 20; page++) {
          const res = await api({ op: 'search', body: { pit: { id }, size: 40, _source: false, ...(sort ? { sort } : {}), ...(next ? { search_after: next } : {}) } });
          if (res.hits.hits.length === 0) break;
          if (!sort) expect(res.hits.hits[0]._score).toBe(1);
          for (const h of res.hits.hits) ids.push(h._id);
          next = res.hits.hits.at(-1).sort;
        }
        expect(ids.length).toBe(N);
        expect(new Set(ids).size).toBe(N);
      }
      await expect(api({ op: 'search', body: { pit: { id }, sort: ['_shard_doc'] } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'search', body: { pit: { id }, sort: [{ n: 'asc' }], search_after: [3, 'x'] } })).rejects.toMatchObject({ status: 400 });
      // A search naming an index as well, or a malformed id, is the caller's error.
      await expect(api({ op: 'search', index: 'pit', body: { pit: { id } } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'search', body: { pit: { id: 'not-an-id' } } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'search', body: { pit: { id, keep_alive: 'forever' } } })).rejects.toMatchObject({ status: 400 });
      expect(await api({ op: 'pit.close', id })).toEqual({ succeeded: true, num_freed: 3 });
      expect(await api({ op: 'pit.close', id })).toEqual({ succeeded: true, num_freed: 0 });
      // Closed: every shard has lost its reader.
      await expect(api({ op: 'search', body: { pit: { id } } })).rejects.toMatchObject({ status: 503, type: 'search_phase_execution_exception' });
      const open = ((await api({ op: 'shard.stats', index: 'pit' })) as unknown as Any[]).map((s) => s.open_readers);
      expect(open.every((n) => n === 0)).toBe(true);
    } finally {
      await api({ op: 'index.delete', index: 'pit' });
    }
  });

  it('reindexes from a point in time into a new mapping, then swaps an alias: a zero-downtime mapping change', async () => {
    await createSettled('v1', 3, 1, { properties: { code: { type: 'text' }, n: { type: 'long' } } });
    try {
      const N = 1200;
      const docs = Array.from({ length: N }, (_, i) => ({ code: `Item-${i % 10}`, n: i }));
      expect((await api({ op: 'doc.bulk', index: 'v1', refresh: true, operations: docs.flatMap((d, i) => [{ index: { _id: `r${i}` } }, d]) })).errors).toBe(false);
      await api({ op: 'index.update_aliases', actions: [{ add: { index: 'v1', alias: 'items' } }] });
      // v2 maps code as a keyword: exact codes, sortable and aggregatable.
      await createSettled('v2', 2, 1, { properties: { code: { type: 'keyword' }, n: { type: 'long' } } });
      const res = await api({ op: 'reindex', body: { source: { index: 'items', query: { range: { n: { lt: 1000 } } } }, dest: { index: 'v2' } }, refresh: true });
      expect(res).toMatchObject({ total: 1000, created: 1000, updated: 0, version_conflicts: 0, failures: [] });
      // Batches of 1,000 per source shard: one per shard.
      expect(res.batches).toBe(3);
      await api({ op: 'index.update_aliases', actions: [{ remove: { index: 'v1', alias: 'items' } }, { add: { index: 'v2', alias: 'items' } }] });
      const exact = await api({ op: 'search', index: 'items', body: { size: 0, track_total_hits: true, query: { term: { code: 'Item-3' } }, aggs: { codes: { terms: { field: 'code', size: 20 } } } } });
      expect(exact.hits.total.value).toBe(100);
      expect(exact.aggregations.codes.buckets).toEqual([{ key: 'Item-3', doc_count: 100 }]);
      const got = await api({ op: 'doc.get', index: 'items', id: 'r42' });
      expect(got).toMatchObject({ _index: 'v2', found: true, _source: docs[42] });
      // Again with op_type create: everything is there already, each a conflict; proceed counts them.
      const again = await api({ op: 'reindex', body: { source: { index: 'v1' }, dest: { index: 'v2', op_type: 'create' } }, conflicts: 'proceed', refresh: true });
      expect(again).toMatchObject({ total: 1200, created: 200, version_conflicts: 1000, failures: [] });
      expect((await api({ op: 'count', index: 'items' })).count).toBe(1200);
      // max_docs bounds what is written.
      expect(await api({ op: 'reindex', body: { source: { index: 'v1' }, dest: { index: 'v3' }, max_docs: 50 }, refresh: true })).toMatchObject({ created: 50 });
      expect((await api({ op: 'count', index: 'v3' })).count).toBe(50);
      // conflicts: abort (the default) stops after the batch that met them, and reports them.
      const aborted = await api({ op: 'reindex', body: { source: { index: 'v1' }, dest: { index: 'v2', op_type: 'create' } } });
      expect(aborted.batches).toBe(1);
      expect(aborted.failures.length).toBe(aborted.version_conflicts);
      expect(aborted.failures[0]).toMatchObject({ status: 409, cause: { type: 'version_conflict_engine_exception' } });
      await expect(api({ op: 'reindex', body: { source: { index: 'v2' }, dest: { index: 'items' } } })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'reindex', body: { source: { index: 'v1', size: 3 }, dest: { index: 'v3' } } })).rejects.toMatchObject({ status: 400 });
      // Its point-in-time readers are closed.
      const open = ((await api({ op: 'shard.stats', index: 'v1' })) as unknown as Any[]).map((s) => s.open_readers);
      expect(open.every((n) => n === 0)).toBe(true);
    } finally {
      for (const index of ['v1', 'v2', 'v3']) await api({ op: 'index.delete', index }).catch(() => undefined);
    }
  });

  it('promotes a replica when a node holding primaries dies, and loses no acknowledged write', async () => {
    const acked: string[] = [];
    for (let i = 0; i < 30; i++) acked.push((await api({ op: 'doc.index', index: 'books', id: `k${i}`, document: { title: `doc ${i}` } }))._id);
    const master = any().state.master!.id;
    const victim = [...nodes.keys()].find((id) => id !== master && any().state.routing.books!.some((t) => t.copies.some((c) => c.primary && c.node === id)))!;
    const termsBefore = any().state.routing.books!.map((t) => t.primaryTerm);
    nodes.get(victim)!.system.halt();
    nodes.delete(victim);
    // Writes keep working through failover (the coordinator retries on the new primary).
    for (let i = 30; i < 40; i++) acked.push((await api({ op: 'doc.index', index: 'books', id: `k${i}`, document: { title: `doc ${i}` }, timeout_ms: 20_000 }))._id);
    const s = any().state;
    expect(s.routing.books!.every((t) => t.copies.some((c) => c.primary && c.state === 'STARTED' && c.node !== victim))).toBe(true);
    expect(s.routing.books!.some((t, i) => t.primaryTerm > termsBefore[i]!)).toBe(true);
    for (const id of acked) expect(await api({ op: 'doc.get', index: 'books', id })).toMatchObject({ found: true });
    await api({ op: 'index.refresh', index: 'books' });
    expect((await api({ op: 'count', index: 'books' })).count).toBe(42);
    expect((await api({ op: 'cluster.health' })).status).toBe('yellow');
    // The node comes back: its copies recover and the cluster is green again.
    await start(victim);
    expect(await api({ op: 'cluster.health', wait_for_status: 'green', timeout_ms: 20_000 })).toMatchObject({ status: 'green', timed_out: false });
    // Rebalancing may still move replicas onto the returning node: wait until every copy has started.
    await any().waitFor((st) => st.routing.books!.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED')), 'all copies started', 20_000);
    await api({ op: 'index.refresh', index: 'books' });
    const stats = (await api({ op: 'shard.stats', index: 'books' })) as unknown as Any[];
    for (let shard = 0; shard < 3; shard++) {
      const copies = stats.filter((x) => x.shard === shard);
      expect(new Set(copies.map((c) => c.docs)).size).toBe(1);
    }
  }, 60_000);

  it('changes the replica count, closes and reopens an index with its documents', async () => {
    await api({ op: 'index.create', index: 'life', settings: { number_of_shards: 2, number_of_replicas: 0 } });
    try {
      await api({ op: 'doc.bulk', index: 'life', refresh: true, operations: Array.from({ length: 20 }, (_, i) => [{ index: { _id: `x${i}` } }, { n: i }]).flat() });
      expect(await api({ op: 'index.set_replicas', index: 'life', number_of_replicas: 2 })).toEqual({ acknowledged: true });
      expect(await api({ op: 'cluster.health', index: 'life', wait_for_status: 'green', timeout_ms: 20_000 })).toMatchObject({ status: 'green', active_shards: 6, timed_out: false });
      // Every copy recovered the documents.
      const copies = (await api({ op: 'shard.stats', index: 'life' })) as unknown as Any[];
      expect(copies).toHaveLength(6);
      for (let shard = 0; shard < 2; shard++) expect(new Set(copies.filter((c) => c.shard === shard).map((c) => c.docs)).size).toBe(1);
      expect(copies.reduce((a, c) => a + c.docs, 0)).toBe(60);

      expect(await api({ op: 'index.close', index: 'life' })).toEqual({ acknowledged: true });
      await expect(api({ op: 'search', index: 'life', body: {} })).rejects.toMatchObject({ type: 'index_closed_exception' });
      await expect(api({ op: 'doc.index', index: 'life', id: 'y', document: { n: 1 } })).rejects.toMatchObject({ type: 'index_closed_exception' });
      await any().waitFor((st) => (st.routing.life ?? []).length === 0 || st.indices.life?.state === 'close', 'closed', 10_000);

      expect(await api({ op: 'index.open', index: 'life' })).toEqual({ acknowledged: true });
      expect(await api({ op: 'cluster.health', index: 'life', wait_for_status: 'green', timeout_ms: 20_000 })).toMatchObject({ status: 'green', timed_out: false });
      expect((await api({ op: 'count', index: 'life' })).count).toBe(20);
      expect(await api({ op: 'doc.get', index: 'life', id: 'x7' })).toMatchObject({ found: true, _source: { n: 7 } });

      expect(await api({ op: 'index.set_replicas', index: 'life', number_of_replicas: 0 })).toEqual({ acknowledged: true });
      await any().waitFor((st) => st.routing.life!.every((t) => t.copies.length === 1), 'replicas removed', 10_000);
      expect((await api({ op: 'count', index: 'life' })).count).toBe(20);
    } finally {
      await api({ op: 'index.delete', index: 'life' });
    }
  });

  it('puts dynamic fields through the master: every shard maps a field the same way', async () => {
    await api({ op: 'index.create', index: 'dyn', settings: { number_of_shards: 3, number_of_replicas: 1 } });
    try {
      expect(await api({ op: 'cluster.health', index: 'dyn', wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green' });
      const idsOn = (shard: number) => Array.from({ length: 100 }, (_, i) => `d${i}`).filter((id) => shardFor(id, 3) === shard);
      const idOn = (shard: number) => idsOn(shard)[0]!;
      // Shard 0 meets `when` as a date: from now on it is a date on every shard.
      await api({ op: 'doc.index', index: 'dyn', id: idOn(0), document: { when: '2024-05-01', tags: ['a'], nested: { n: 1 } } });
      expect(any().state.indices.dyn!.mappings.properties).toMatchObject({ when: { type: 'date' }, tags: { type: 'text' }, nested: { properties: { n: { type: 'long' } } } });
      // Shard 1 gets a value that is no date: rejected there too (it would have mapped `when` as text on its own).
      await expect(api({ op: 'doc.index', index: 'dyn', id: idOn(1), document: { when: 'not a date' } })).rejects.toMatchObject({ type: 'mapper_parsing_exception' });
      expect((await api({ op: 'doc.get', index: 'dyn', id: idOn(1) })).found).toBe(false);
      // A bulk across shards with new fields, one of them conflicting inside a shard's batch.
      const bulk = await api({
        op: 'doc.bulk',
        index: 'dyn',
        refresh: true,
        operations: [{ index: { _id: idOn(1) } }, { when: '2024-06-01', size: 3 }, { index: { _id: idOn(2) } }, { size: 4, label: 'x' }, { index: { _id: idsOn(2)[1] } }, { label: { deep: true } }],
      });
      expect(bulk.items.map((i: Any) => i.index.status)).toEqual([201, 201, 400]);
      expect(any().state.indices.dyn!.mappings.properties).toMatchObject({ size: { type: 'long' }, label: { type: 'text' } });
      // The range query runs as a date range on every shard (a text mapping somewhere would miss or fail).
      const res = await api({ op: 'search', index: 'dyn', body: { query: { range: { when: { gte: '2024-05-15' } } } } });
      expect(res._shards.failed).toBe(0);
      expect(res.hits.hits.map((h: Any) => h._id)).toEqual([idOn(1)]);
      // So does a range aggregation with date-string bounds, shard 2 (no doc with `when`) included.
      await api({ op: 'index.refresh', index: 'dyn' }); // shard 0 was not in the bulk
      const agg = await api({ op: 'search', index: 'dyn', body: { size: 0, aggs: { when: { range: { field: 'when', ranges: [{ to: '2024-05-15' }, { from: '2024-05-15' }] } } } } });
      expect(agg._shards.failed).toBe(0);
      expect(agg.aggregations.when.buckets.map((b: Any) => b.doc_count)).toEqual([1, 1]);
      // Every copy (replicas too) agrees: the same documents per shard.
      const stats = (await api({ op: 'shard.stats', index: 'dyn' })) as unknown as Any[];
      for (let shard = 0; shard < 3; shard++) expect(new Set(stats.filter((x) => x.shard === shard).map((x) => x.docs)).size).toBe(1);
    } finally {
      await api({ op: 'index.delete', index: 'dyn' });
    }
  });

  it('maps new fields into a live index (put-mapping): checked first, all or nothing, then used by new documents on every shard', async () => {
    await createSettled('pm', 2, 1, { dynamic: 'strict', properties: { title: { type: 'text' } } });
    try {
      const mapping = async () => ((await api({ op: 'index.get_mapping', index: 'pm' })) as Any).pm.mappings;
      const before = await mapping();
      expect(before).toEqual({ dynamic: 'strict', properties: { title: { type: 'text' } } });
      const refused = [
        [{ properties: { code: { type: 'keyword' }, title: { type: 'keyword' } } }, 'illegal_argument_exception', /cannot be changed from type \[text\] to \[keyword\]/],
        [{ properties: { title: { type: 'text', analyzer: 'english' } } }, 'illegal_argument_exception', /Cannot update parameter \[analyzer\]/],
        [{ properties: { code: { type: 'text', analyzer: 'missing' } } }, 'mapper_parsing_exception', /analyzer \[missing\]/],
        [{ properties: { code: { type: 'geo_point' } } }, 'mapper_parsing_exception', /no handler for type/],
        [{ _source: { enabled: false } }, 'mapper_parsing_exception', /unsupported parameters/],
        [{ dynamic: 'yes' }, 'mapper_parsing_exception', /dynamic must be/],
      ] as const;
      for (const [body, type, reason] of refused) {
        const err = await api({ op: 'index.put_mapping', index: 'pm', body }).then(() => undefined, (e: Any) => e);
        expect(err, JSON.stringify(body)).toMatchObject({ type, status: 400 });
        expect(err!.message).toMatch(reason);
      }
      await expect(api({ op: 'index.put_mapping', index: 'nope', body: { properties: {} } })).rejects.toMatchObject({ type: 'index_not_found_exception', status: 404 });
      await expect(api({ op: 'index.put_mapping', index: 'pm', body: 'x' })).rejects.toMatchObject({ status: 400 });
      expect(await mapping()).toEqual(before);
      // Strict: a document with an unmapped field is refused until the field is mapped.
      await expect(api({ op: 'doc.index', index: 'pm', id: 'x', document: { title: 'a', code: 'A-1' } })).rejects.toMatchObject({ type: 'strict_dynamic_mapping_exception' });
      const body = { dynamic: false, properties: { code: { type: 'keyword' }, title: { type: 'text', fields: { raw: { type: 'keyword' } } } } };
      expect(await api({ op: 'index.put_mapping', index: 'pm', body })).toEqual({ acknowledged: true });
      expect(await api({ op: 'index.put_mapping', index: 'pm', body })).toEqual({ acknowledged: true }); // the same again: no change
      expect(await mapping()).toEqual({ dynamic: false, properties: { code: { type: 'keyword' }, title: { type: 'text', fields: { raw: { type: 'keyword' } } } } });
      const operations = Array.from({ length: 20 }, (_, i) => [{ index: { _id: `p${i}` } }, { title: `Title ${i % 4}`, code: `C-${i % 3}`, note: 'dynamic false: kept, not indexed' }]).flat();
      const bulk = await api({ op: 'doc.bulk', index: 'pm', refresh: true, operations });
      expect(bulk.errors).toBe(false);
      const res = await api({ op: 'search', index: 'pm', body: { size: 0, query: { term: { 'title.raw': 'Title 1' } }, aggs: { codes: { terms: { field: 'code' } } } } });
      expect(res._shards).toMatchObject({ total: 2, failed: 0 });
      expect(res.hits.total.value).toBe(5);
      expect(res.aggregations.codes.buckets).toEqual([
        { key: 'C-1', doc_count: 2 },
        { key: 'C-0', doc_count: 1 },
        { key: 'C-2', doc_count: 2 },
      ].sort((a, b) => b.doc_count - a.doc_count || a.key.localeCompare(b.key)));
      expect((await api({ op: 'count', index: 'pm', body: { query: { match: { note: 'kept' } } } })).count).toBe(0);
      // Every copy (replicas too) took every document.
      const stats = (await api({ op: 'shard.stats', index: 'pm' })) as unknown as Any[];
      for (let shard = 0; shard < 2; shard++) expect(new Set(stats.filter((x) => x.shard === shard).map((x) => x.docs)).size).toBe(1);
      expect(stats.reduce((n, x) => n + x.docs, 0)).toBe(40);
    } finally {
      await api({ op: 'index.delete', index: 'pm' });
    }
  });

  it('drains a node through the cluster settings (allocation filters): every copy moves off it, no document is lost, and allocation explain says why', async () => {
    await createSettled('drain', 3, 1, { properties: { n: { type: 'long' } } });
    try {
      const operations = Array.from({ length: 300 }, (_, i) => [{ index: { _id: `d${i}` } }, { n: i }]).flat();
      expect((await api({ op: 'doc.bulk', index: 'drain', refresh: true, operations })).errors).toBe(false);
      const copiesOn = (node: string) => any().state.routing.drain!.flatMap((t) => t.copies.filter((c) => c.node === node));
      const victim = 'n3';
      expect(copiesOn(victim).length).toBeGreaterThan(0);
      expect(await api({ op: 'cluster.put_settings', persistent: { 'cluster.routing.allocation.exclude._name': victim } })).toMatchObject({ acknowledged: true });
      await any().waitFor((st) => st.routing.drain!.every((t) => t.copies.length === 2 && t.copies.every((c) => c.state === 'STARTED' && c.node !== victim)), 'n3 drained', 30_000);
      expect((await api({ op: 'cluster.health', index: 'drain' })).status).toBe('green');
      expect((await api({ op: 'count', index: 'drain' })).count).toBe(300);
      // Two copies per shard on the two nodes left: n3 cannot take one back.
      const explained = await api({ op: 'cluster.allocation_explain', index: 'drain', shard: 0, primary: false });
      expect(explained).toMatchObject({ current_state: 'started', can_remain_on_current_node: 'yes' });
      await expect(api({ op: 'cluster.put_settings', persistent: { 'cluster.routing.allocation.enable': 'none' } })).rejects.toMatchObject({ type: 'illegal_argument_exception', status: 400 });
      await expect(api({ op: 'cluster.put_settings', transient: { 'cluster.routing.allocation.exclude._name': 'n1' } })).rejects.toMatchObject({ status: 400 });
      expect(await api({ op: 'cluster.get_settings' })).toEqual({ persistent: { 'cluster.routing.allocation.exclude._name': victim }, transient: {} });
    } finally {
      await api({ op: 'cluster.put_settings', persistent: { 'cluster.routing.allocation.exclude._name': null } });
      await api({ op: 'index.delete', index: 'drain' });
    }
  });

  it('index templates: an index created by its first write gets the matching template\'s settings, mappings and aliases; the request wins over the template', async () => {
    const body = {
      index_patterns: ['logs-*'],
      priority: 10,
      template: { settings: { index: { number_of_shards: 2, number_of_replicas: 0 } }, mappings: { properties: { level: { type: 'keyword' }, at: { type: 'date' } } }, aliases: { 'logs-all': {} } },
      _meta: { owner: 'ops' },
    };
    expect(await api({ op: 'index.put_template', name: 'logs', body })).toEqual({ acknowledged: true });
    try {
      // Same priority, overlapping patterns: refused.
      await expect(api({ op: 'index.put_template', name: 'logs2', body: { index_patterns: ['logs-app-*'], priority: 10 } })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/same priority/) });
      await expect(api({ op: 'index.put_template', name: 'bad', body: { index_patterns: ['b-*'], template: { mappings: { properties: { x: { type: 'nope' } } } } } })).rejects.toMatchObject({ type: 'mapper_parsing_exception', status: 400 });
      await expect(api({ op: 'index.put_template', name: 'bad', body: { index_patterns: ['b-*'], template: { settings: { number_of_shards: 0 } } } })).rejects.toMatchObject({ status: 400 });
      expect((await api({ op: 'index.get_template', name: 'log*' })).index_templates).toEqual([{ name: 'logs', index_template: { ...body, index_patterns: ['logs-*'] } }]);
      await expect(api({ op: 'index.get_template', name: 'nope' })).rejects.toMatchObject({ status: 404 });
      // A first write creates logs-2026.12.03 from the template.
      expect(await api({ op: 'doc.index', index: 'logs-2026.12.03', id: 'e1', document: { level: 'ERROR', at: '2026-12-03T10:00:00Z', msg: 'disk full' }, refresh: true })).toMatchObject({ result: 'created' });
      const meta = any().state.indices['logs-2026.12.03']!;
      expect(meta.settings).toMatchObject({ number_of_shards: 2, number_of_replicas: 0 });
      expect(((await api({ op: 'index.get_mapping', index: 'logs-2026.12.03' })) as Any)['logs-2026.12.03'].mappings.properties.level).toEqual({ type: 'keyword' });
      expect((await api({ op: 'count', index: 'logs-all', body: { query: { term: { level: 'ERROR' } } } })).count).toBe(1);
      // An explicit create: its own settings and fields win.
      await api({ op: 'index.create', index: 'logs-explicit', settings: { number_of_shards: 1 }, mappings: { properties: { level: { type: 'text' } } } });
      expect(any().state.indices['logs-explicit']!.settings).toMatchObject({ number_of_shards: 1, number_of_replicas: 0 });
      expect(any().state.indices['logs-explicit']!.mappings.properties).toMatchObject({ level: { type: 'text' }, at: { type: 'date' } });
      expect(any().state.aliases?.['logs-all']?.indices.sort()).toEqual(['logs-2026.12.03', 'logs-explicit']);
      // Other names get no template.
      await api({ op: 'index.create', index: 'metrics-1' });
      expect(any().state.indices['metrics-1']!.settings).toMatchObject({ number_of_shards: 1, number_of_replicas: 1 });
      expect(await api({ op: 'index.delete_template', name: 'logs' })).toEqual({ acknowledged: true });
      await expect(api({ op: 'index.delete_template', name: 'logs' })).rejects.toMatchObject({ status: 404 });
      expect((await api({ op: 'index.get_template' })).index_templates).toEqual([]);
    } finally {
      await api({ op: 'index.delete_template', name: 'logs' }).catch(() => undefined);
      for (const index of ['logs-2026.12.03', 'logs-explicit', 'metrics-1']) await api({ op: 'index.delete', index }).catch(() => undefined);
    }
  });

  it('component templates: an index template composes them in order under its own part; one in use cannot be deleted or broken; simulate-index shows the result', async () => {
    const put = (name: string, template: object) => api({ op: 'index.put_component_template', name, body: { template } });
    const folded = { analyzer: { folded: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'asciifolding'] } } };
    expect(await put('ct-settings', { settings: { index: { number_of_shards: 2, number_of_replicas: 0, analysis: folded } }, aliases: { 'app-all': {} } })).toEqual({ acknowledged: true });
    expect(await put('ct-fields', { mappings: { properties: { user: { properties: { name: { type: 'keyword' } } }, msg: { type: 'text' } } } })).toEqual({ acknowledged: true });
    try {
      // A component that would not make an index, and an index template naming a missing one: refused.
      await expect(put('ct-bad', { mappings: { properties: { x: { type: 'nope' } } } })).rejects.toMatchObject({ type: 'mapper_parsing_exception', status: 400 });
      await expect(api({ op: 'index.put_template', name: 'app', body: { index_patterns: ['app-*'], composed_of: ['ct-settings', 'ct-missing'] } })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/\[ct-missing\] that do not exist/) });
      const body = { index_patterns: ['app-*'], priority: 5, composed_of: ['ct-settings', 'ct-fields'], template: { settings: { number_of_replicas: 1 }, mappings: { properties: { user: { properties: { id: { type: 'long' } } }, title: { type: 'text', analyzer: 'folded' } } } } };
      expect(await api({ op: 'index.put_template', name: 'app', body })).toEqual({ acknowledged: true });
      expect(await api({ op: 'index.put_template', name: 'app-low', body: { index_patterns: ['app-*'], priority: 1 } })).toEqual({ acknowledged: true });
      // What app-1 would get, before it exists.
      const simulated = (await api({ op: 'index.simulate_index', name: 'app-1' })) as Any;
      expect(simulated.template.settings.index).toMatchObject({ number_of_shards: '2', number_of_replicas: '1' });
      expect(simulated.template.mappings.properties).toEqual({ user: { properties: { name: { type: 'keyword' }, id: { type: 'long' } } }, msg: { type: 'text' }, title: { type: 'text', analyzer: 'folded' } });
      expect(simulated.template.aliases).toEqual({ 'app-all': {} });
      expect(simulated.overlapping).toEqual([{ name: 'app-low', index_patterns: ['app-*'] }]);
      expect(await api({ op: 'index.simulate_index', name: 'other' })).toEqual({});
      expect(any().state.indices['app-1']).toBeUndefined();
      // In use: neither deleted nor changed into something the index template cannot make an index of.
      await expect(api({ op: 'index.delete_component_template', name: 'ct-fields' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/still in use by index templates \[app\]/) });
      // (app's own `title` uses the analyzer ct-settings defines.)
      await expect(put('ct-settings', { settings: { number_of_shards: 2 } })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/would break index template \[app\]/) });
      expect((await api({ op: 'index.get_component_template', name: 'ct-*' })).component_templates.map((c: Any) => c.name)).toEqual(['ct-fields', 'ct-settings']);
      await expect(api({ op: 'index.get_component_template', name: 'nope' })).rejects.toMatchObject({ status: 404 });
      // A first write creates app-1 from the composition.
      expect(await api({ op: 'doc.index', index: 'app-1', id: 'u1', document: { user: { name: 'ann', id: 7 }, msg: 'hello there' }, refresh: true })).toMatchObject({ result: 'created' });
      expect(any().state.indices['app-1']!.settings).toMatchObject({ number_of_shards: 2, number_of_replicas: 1 });
      expect(((await api({ op: 'index.get_mapping', index: 'app-1' })) as Any)['app-1'].mappings.properties.user.properties).toEqual({ name: { type: 'keyword' }, id: { type: 'long' } });
      expect((await api({ op: 'count', index: 'app-all', body: { query: { term: { 'user.name': 'ann' } } } })).count).toBe(1);
      await api({ op: 'doc.index', index: 'app-1', id: 'u2', document: { title: 'Crème Brûlée' }, refresh: true });
      expect((await api({ op: 'count', index: 'app-1', body: { query: { match: { title: 'creme brulee' } } } })).count).toBe(1);
      // Once no index template lists it, it goes.
      expect(await api({ op: 'index.delete_template', name: 'app' })).toEqual({ acknowledged: true });
      expect(await api({ op: 'index.delete_component_template', name: 'ct-fields' })).toEqual({ acknowledged: true });
      await expect(api({ op: 'index.delete_component_template', name: 'ct-fields' })).rejects.toMatchObject({ status: 404 });
    } finally {
      for (const name of ['app', 'app-low']) await api({ op: 'index.delete_template', name }).catch(() => undefined);
      for (const name of ['ct-settings', 'ct-fields']) await api({ op: 'index.delete_component_template', name }).catch(() => undefined);
      await api({ op: 'index.delete', index: 'app-1' }).catch(() => undefined);
    }
  });

  it('completion suggestions merge across shards: the best weights of every shard, with _index, _id and _source', async () => {
    // The standard analyzer keeps the numbers (the default, simple, keeps letters only).
    await createSettled('songs', 3, 0, { properties: { title: { type: 'keyword' }, suggest: { type: 'completion', analyzer: 'standard' } } });
    try {
      // Song i: input "Song <i>" weighted (i * 7) % 31, and every third one also "Hit <i>".
      const weight = (i: number) => (i * 7) % 31;
      const docs = Array.from({ length: 30 }, (_, i) => ({ title: `s${i}`, suggest: { input: i % 3 === 0 ? [`Song ${i}`, `Hit ${i}`] : [`Song ${i}`], weight: weight(i) } }));
      expect((await api({ op: 'doc.bulk', index: 'songs', refresh: true, operations: docs.flatMap((d, i) => [{ index: { _id: `s${i}` } }, d]) })).errors).toBe(false);
      const suggest = async (completion: Record<string, unknown>, prefix: string) =>
        (await api({ op: 'search', index: 'songs', body: { size: 0, _source: ['title'], suggest: { s: { prefix, completion: { field: 'suggest', ...completion } } } } })).suggest.s[0].options as Any[];
      // "song 1" is Song 1 and Song 10 to 19.
      const ones = [1, ...Array.from({ length: 10 }, (_, k) => 10 + k)].sort((a, b) => weight(b) - weight(a) || (`Song ${a}` < `Song ${b}` ? -1 : 1));
      const got = await suggest({ size: 4 }, 'song 1');
      expect(got.map((o) => [o.text, o._id, o._score])).toEqual(ones.slice(0, 4).map((i) => [`Song ${i}`, `s${i}`, weight(i)]));
      for (const o of got) expect(o).toMatchObject({ _index: 'songs', _source: { title: o._id } });
      // Fuzzy, across shards: "hti" is one transposition from "hit".
      expect((await suggest({ size: 20, fuzzy: true }, 'hti')).map((o) => o._id).sort()).toEqual(Array.from({ length: 10 }, (_, k) => `s${k * 3}`).sort());
      await expect(api({ op: 'search', index: 'songs', body: { suggest: { s: { prefix: 'x', completion: { field: 'title' } } } } })).rejects.toMatchObject({ status: 400 });
    } finally {
      await api({ op: 'index.delete', index: 'songs' });
    }
  });

  it('stored scripts and search templates: a Painless script used by id with params, a Mustache template stored or inline, rendered and searched', async () => {
    await createSettled('tpl', 2, 0, { properties: { title: { type: 'text' }, n: { type: 'long' }, tag: { type: 'keyword' } } });
    try {
      await api({ op: 'doc.bulk', index: 'tpl', refresh: true, operations: Array.from({ length: 10 }, (_, i) => [{ index: { _id: `d${i}` } }, { title: i % 2 === 0 ? 'quick fox' : 'lazy dog', n: i, tag: i < 5 ? 'low' : 'high' }]).flat() });
      expect(await api({ op: 'script.put', id: 'by-n', body: { script: { lang: 'painless', source: "doc['n'].value * params.f" } } })).toEqual({ acknowledged: true });
      expect(await api({ op: 'script.get', id: 'by-n' })).toEqual({ _id: 'by-n', found: true, script: { lang: 'painless', source: "doc['n'].value * params.f" } });
      // Used by id: every shard gets the source.
      const scored = await api({ op: 'search', index: 'tpl', body: { query: { script_score: { query: { match_all: {} }, script: { id: 'by-n', params: { f: 10 } } } }, size: 3, _source: false } });
      expect(scored.hits.hits.map((h: Any) => [h._id, h._score])).toEqual([['d9', 90], ['d8', 80], ['d7', 70]]);
      await expect(api({ op: 'search', index: 'tpl', body: { query: { script: { script: { id: 'nope' } } } } })).rejects.toMatchObject({ status: 404, type: 'resource_not_found_exception' });
      // Stored scripts in updates too: doc.update, a bulk update, update_by_query.
      expect(await api({ op: 'script.put', id: 'inc', body: { script: { lang: 'painless', source: 'ctx._source.n += params.by' } } })).toEqual({ acknowledged: true });
      await api({ op: 'doc.update', index: 'tpl', id: 'd0', body: { script: { id: 'inc', params: { by: 5 } } } });
      expect((await api({ op: 'doc.bulk', index: 'tpl', operations: [{ update: { _id: 'd0' } }, { script: { id: 'inc', params: { by: 100 } } }] })).errors).toBe(false);
      expect((await api({ op: 'doc.get', index: 'tpl', id: 'd0' }))._source.n).toBe(105);
      await api({ op: 'index.refresh', index: 'tpl' });
      expect(await api({ op: 'doc.update_by_query', index: 'tpl', body: { query: { term: { tag: 'high' } }, script: { id: 'inc', params: { by: 1000 } } } })).toMatchObject({ updated: 5 });
      expect((await api({ op: 'doc.get', index: 'tpl', id: 'd9' }))._source.n).toBe(1009);
      await expect(api({ op: 'doc.update', index: 'tpl', id: 'd0', body: { script: { id: 'nope' } } })).rejects.toMatchObject({ status: 404 });
      // Put the values back for the searches below.
      for (const [id, n] of [['d0', 0], ...Array.from({ length: 5 }, (_, k) => [`d${k + 5}`, k + 5] as [string, number])] as [string, number][]) {
        await api({ op: 'doc.update', index: 'tpl', id, body: { doc: { n } } });
      }
      await api({ op: 'index.refresh', index: 'tpl' });
      await expect(api({ op: 'script.put', id: 'bad', body: { script: { lang: 'painless', source: 'doc[' } } })).rejects.toMatchObject({ status: 400, type: 'script_exception' });
      await expect(api({ op: 'script.put', id: 'bad', body: { script: { lang: 'mustache', source: '{{#open}}' } } })).rejects.toMatchObject({ status: 400 });
      // A stored search template, and the same inline.
      // A string source can put a param where a number goes; an object one only inside strings.
      const source = JSON.stringify({ query: { bool: { must: { match: { title: '{{q}}' } }, filter: { term: { tag: '{{tag}}' } } } }, sort: [{ n: 'desc' }], size: '{{size}}' }).replace('"{{size}}"', '{{size}}');
      expect(await api({ op: 'script.put', id: 'by-tag', body: { script: { lang: 'mustache', source } } })).toEqual({ acknowledged: true });
      const params = { q: 'fox', tag: 'high', size: 2 };
      const stored = await api({ op: 'search_template', index: 'tpl', body: { id: 'by-tag', params } });
      expect(stored.hits.hits.map((h: Any) => h._id)).toEqual(['d8', 'd6']);
      const inline = await api({ op: 'search_template', index: 'tpl', body: { source: { query: { bool: { must: { match: { title: '{{q}}' } }, filter: { term: { tag: '{{tag}}' } } } }, sort: [{ n: 'desc' }], size: 2 }, params } });
      expect(inline.hits.hits.map((h: Any) => h._id)).toEqual(['d8', 'd6']);
      expect(await api({ op: 'render_template', body: { id: 'by-tag', params } })).toEqual({ template_output: { query: { bool: { must: { match: { title: 'fox' } }, filter: { term: { tag: 'high' } } } }, sort: [{ n: 'desc' }], size: 2 } });
      await expect(api({ op: 'search_template', index: 'tpl', body: { id: 'by-n' } })).rejects.toMatchObject({ status: 400 });
      // A phrase suggester's collate query by stored template id.
      expect(await api({ op: 'script.put', id: 'has-phrase', body: { script: { lang: 'mustache', source: { match_phrase: { title: '{{suggestion}}' } } } } })).toEqual({ acknowledged: true });
      const phrase = { field: 'title', confidence: 0, max_errors: 2, size: 10, collate: { query: { id: 'has-phrase' }, prune: true } };
      const options = (await api({ op: 'search', index: 'tpl', body: { size: 0, suggest: { s: { text: 'quikc fox', phrase } } } })).suggest.s[0].options as Any[];
      expect(options.find((o) => o.text === 'quick fox')?.collate_match).toBe(true);
      expect(options.find((o) => o.text === 'quikc fox')?.collate_match).toBe(false);
      await expect(api({ op: 'search', index: 'tpl', body: { suggest: { s: { text: 'x', phrase: { ...phrase, collate: { query: { id: 'nope' } } } } } } })).rejects.toMatchObject({ status: 404 });
      expect(await api({ op: 'script.delete', id: 'by-tag' })).toEqual({ acknowledged: true });
      expect(await api({ op: 'script.get', id: 'by-tag' })).toEqual({ _id: 'by-tag', found: false });
      await expect(api({ op: 'script.delete', id: 'by-tag' })).rejects.toMatchObject({ status: 404 });
    } finally {
      for (const id of ['by-n', 'by-tag', 'inc', 'has-phrase']) await api({ op: 'script.delete', id }).catch(() => undefined);
      await api({ op: 'index.delete', index: 'tpl' });
    }
  });

  it('indices_boost through aliases and patterns, and terminate_after per shard, across shards', async () => {
    for (const index of ['boost-a', 'boost-b']) await createSettled(index, 2, 0, { properties: { body: { type: 'text' } } });
    try {
      await api({ op: 'index.update_aliases', actions: [{ add: { index: 'boost-b', alias: 'favoured' } }] });
      for (const index of ['boost-a', 'boost-b']) {
        await api({ op: 'doc.bulk', index, refresh: true, operations: Array.from({ length: 20 }, (_, i) => [{ index: { _id: `d${i}` } }, { body: i % 2 === 0 ? 'fox fox' : 'fox' }]).flat() });
      }
      const search = (body: Record<string, unknown>) => api({ op: 'search', index: 'boost-*', body: { query: { match: { body: 'fox' } }, ...body } });
      const plain = await search({ size: 40 });
      const boosted = await search({ size: 40, indices_boost: [{ favoured: 3 }, { 'boost-*': 0.5 }] });
      // The alias's index gets 3 (its first entry), the other the pattern's 0.5: every boost-b hit ranks first.
      expect(boosted.hits.hits.slice(0, 20).every((h: Any) => h._index === 'boost-b')).toBe(true);
      const scoreOf = (r: Any, index: string, id: string) => r.hits.hits.find((h: Any) => h._index === index && h._id === id)._score;
      for (const id of ['d0', 'd1']) {
        expect(scoreOf(boosted, 'boost-b', id)).toBeCloseTo(scoreOf(plain, 'boost-b', id) * 3, 5);
        expect(scoreOf(boosted, 'boost-a', id)).toBeCloseTo(scoreOf(plain, 'boost-a', id) * 0.5, 5);
      }
      // terminate_after stops each of the 4 shards after 3 docs.
      const early = await search({ terminate_after: 3, size: 0 });
      expect(early.terminated_early).toBe(true);
      expect(early.hits.total.value).toBe(12);
      expect((await search({ terminate_after: 100, size: 0 })).terminated_early).toBe(false);
      await expect(search({ indices_boost: [{ nope: 2 }] })).rejects.toMatchObject({ status: 404 });
    } finally {
      for (const index of ['boost-a', 'boost-b']) await api({ op: 'index.delete', index });
    }
  });

  it('phrase suggestions merge across shards: by text, the best score, above every shard\'s cutoff, the best size', async () => {
    const analysis = { analyzer: { trigram: { type: 'custom', tokenizer: 'standard', filter: ['lowercase', 'shingle'] } }, filter: { shingle: { type: 'shingle', min_shingle_size: 2, max_shingle_size: 3 } } };
    const mappings = { properties: { title: { type: 'text', fields: { trigram: { type: 'text', analyzer: 'trigram' } } } } };
    const create = async (index: string, shards: number, titles: string[]) => {
      await api({ op: 'index.create', index, settings: { number_of_shards: shards, number_of_replicas: 0, analysis }, mappings });
      expect(await api({ op: 'cluster.health', index, wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green' });
      expect((await api({ op: 'doc.bulk', index, refresh: true, operations: titles.flatMap((title, i) => [{ index: { _id: `${index}-${i}` } }, { title }]) })).errors).toBe(false);
    };
    const corpora: Record<string, string[]> = {
      pa: ['nobel prize', 'nobel prize winners', 'noble warriors'],
      pb: ['noble prize', 'noble gases', 'the prize', 'noble prize'],
      pc: ['nobel peace prize', 'nobel prize', 'novel prize'],
    };
    const suggest = async (index: string, phrase: Record<string, unknown>) =>
      (await api({ op: 'search', index, body: { size: 0, suggest: { s: { text: 'noble prize', phrase: { field: 'title.trigram', ...phrase } } } } })).suggest.s as Any;
    try {
      for (const [index, titles] of Object.entries(corpora)) await create(index, 1, titles);
      // Three one-shard indices searched together: three shards whose statistics we know apart.
      const alone = await Promise.all(Object.keys(corpora).map((index) => suggest(index, { confidence: 0, size: 20, shard_size: 20 })));
      const best = new Map<string, number>();
      for (const entries of alone) for (const o of entries[0].options) best.set(o.text, Math.max(best.get(o.text) ?? 0, o.score));
      const byScore = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1);
      const together = await suggest('pa,pb,pc', { confidence: 0, size: 3, shard_size: 20 });
      expect(together).toHaveLength(1);
      expect(together[0]).toEqual({ text: 'noble prize', offset: 0, length: 11, options: [...best].sort(byScore).slice(0, 3).map(([text, score]) => ({ text, score })) });
      // confidence 1: each shard's cutoff is its own score of the typed phrase; merged options must beat the highest.
      const cutoff = Math.max(...alone.map((entries) => entries[0].options.find((o: Any) => o.text === 'noble prize').score));
      const confident = await suggest('pa,pb,pc', { size: 5, shard_size: 20 });
      expect(confident[0].options).toEqual([...best].filter(([, score]) => score > cutoff).sort(byScore).slice(0, 5).map(([text, score]) => ({ text, score })));
      expect(confident[0]).not.toHaveProperty('cutoffScore');
      // One index of three shards, through the API, with highlights.
      await create('pall', 3, Object.values(corpora).flat());
      const spread = await suggest('pall', { size: 2, highlight: { pre_tag: '<em>', post_tag: '</em>' } });
      expect(spread[0].options[0]).toMatchObject({ text: 'nobel prize', highlighted: '<em>nobel</em> prize' });
      expect(spread[0].options.length).toBeLessThanOrEqual(2);
      await expect(api({ op: 'search', index: 'pall', body: { suggest: { s: { text: 'x', phrase: { field: 'title', collate: { query: {} } } } } } })).rejects.toMatchObject({ status: 400, type: 'parsing_exception' });
      // collate: each shard keeps the options its own docs hold as a phrase; prune marks them instead, true if any shard matched.
      const collate = { query: { source: { match_phrase: { title: '{{suggestion}}' } } } };
      const collated = await suggest('pall', { confidence: 0, size: 20, shard_size: 20, collate });
      const pruned = await suggest('pall', { confidence: 0, size: 20, shard_size: 20, collate: { ...collate, prune: true } });
      const holds = async (text: string) => (await api({ op: 'count', index: 'pall', body: { query: { match_phrase: { title: text } } } })).count > 0;
      expect(collated[0].options.length).toBeGreaterThan(0);
      for (const o of collated[0].options) expect(await holds(o.text)).toBe(true);
      for (const o of pruned[0].options) expect(o.collate_match).toBe(await holds(o.text));
      // "noble gasses" (the typed phrase, kept at confidence 0) is offered, but no title has it.
      const gases = (await api({ op: 'search', index: 'pall', body: { size: 0, suggest: { s: { text: 'noble gasses', phrase: { field: 'title.trigram', confidence: 0, size: 20, max_errors: 2, collate: { ...collate, prune: true } } } } } })).suggest.s[0].options as Any[];
      expect(gases.find((o) => o.text === 'noble gases')?.collate_match).toBe(true);
      expect(gases.find((o) => o.text === 'noble gasses')?.collate_match).toBe(false);
    } finally {
      for (const index of [...Object.keys(corpora), 'pall']) await api({ op: 'index.delete', index }).catch(() => undefined);
    }
  });

  it('index admin: get, exists, field caps, stats summed over copies, flush, and force merge on every copy', async () => {
    await createSettled('adm', 2, 1, { properties: { title: { type: 'text' }, n: { type: 'long' }, user: { properties: { name: { type: 'keyword' } } }, tags: { type: 'nested', properties: { k: { type: 'keyword' } } } } });
    await createSettled('adm2', 1, 0, { properties: { n: { type: 'keyword' } } });
    try {
      const got = (await api({ op: 'index.get', index: 'adm*' })) as Any;
      expect(Object.keys(got)).toEqual(['adm', 'adm2']);
      expect(got.adm.mappings.properties).toMatchObject({ title: { type: 'text' }, user: { properties: { name: { type: 'keyword' } } } });
      expect(got.adm.settings.index).toMatchObject({ number_of_shards: '2', number_of_replicas: '1' });
      expect(got.adm.aliases).toEqual({});
      for (const [index, exists] of [['adm', true], ['adm*', true], ['nope', false], ['zz*', false]] as const) expect(await api({ op: 'index.exists', index }), index).toEqual({ exists });
      // Field caps: `n` is a long in one index and a keyword in the other.
      const caps = (await api({ op: 'field_caps', index: 'adm,adm2', fields: ['n', 'title', 'user*', 'tags*'] })) as Any;
      expect(caps.indices).toEqual(['adm', 'adm2']);
      expect(caps.fields).toEqual({
        n: { long: { type: 'long', metadata_field: false, searchable: true, aggregatable: true, indices: ['adm'] }, keyword: { type: 'keyword', metadata_field: false, searchable: true, aggregatable: true, indices: ['adm2'] } },
        title: { text: { type: 'text', metadata_field: false, searchable: true, aggregatable: false } },
        user: { object: { type: 'object', metadata_field: false, searchable: false, aggregatable: false } },
        'user.name': { keyword: { type: 'keyword', metadata_field: false, searchable: true, aggregatable: true } },
        tags: { nested: { type: 'nested', metadata_field: false, searchable: false, aggregatable: false } },
        'tags.k': { keyword: { type: 'keyword', metadata_field: false, searchable: true, aggregatable: true } },
      });
      await expect(api({ op: 'field_caps', index: 'adm' })).rejects.toMatchObject({ status: 400 });
      // Four refreshes of ten docs, then five deletes: several segments per copy, some deleted docs.
      for (let r = 0; r < 4; r++) {
        await api({ op: 'doc.bulk', index: 'adm', refresh: true, operations: Array.from({ length: 10 }, (_, i) => [{ index: { _id: `d${r}-${i}` } }, { title: `doc ${i}`, n: r * 10 + i }]).flat() });
      }
      for (let i = 0; i < 5; i++) await api({ op: 'doc.delete', index: 'adm', id: `d1-${i}` });
      await api({ op: 'index.refresh', index: 'adm' });
      const stats = async () => ((await api({ op: 'index.stats', index: 'adm' })) as Any).indices.adm;
      const before = await stats();
      expect(before.primaries.docs).toEqual({ count: 35, deleted: 5 });
      expect(before.total.docs).toEqual({ count: 70, deleted: 10 });
      expect(before.primaries.segments.count).toBeGreaterThan(2);
      expect(await api({ op: 'index.flush', index: 'adm' })).toEqual({ _shards: { total: 4, successful: 4, failed: 0 } });
      expect((await stats()).total.store.size_in_bytes).toBeGreaterThan(0);
      // Refused, and nothing merged.
      await expect(api({ op: 'index.forcemerge', index: 'adm', max_num_segments: 0 })).rejects.toMatchObject({ status: 400 });
      await expect(api({ op: 'index.forcemerge', index: 'adm', max_num_segments: 1, only_expunge_deletes: true })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/mutually exclusive/) });
      expect((await stats()).total.docs.deleted).toBe(10);
      // One segment per copy, no deleted docs, the same search results.
      expect(await api({ op: 'index.forcemerge', index: 'adm', max_num_segments: 1 })).toEqual({ _shards: { total: 4, successful: 4, failed: 0 } });
      const after = await stats();
      expect(after.primaries).toMatchObject({ docs: { count: 35, deleted: 0 }, segments: { count: 2 } });
      expect(after.total).toMatchObject({ docs: { count: 70, deleted: 0 }, segments: { count: 4 } });
      expect((await api({ op: 'search', index: 'adm', body: { query: { range: { n: { gte: 10, lt: 20 } } }, size: 0 } })).hits.total.value).toBe(5);
    } finally {
      for (const index of ['adm', 'adm2']) await api({ op: 'index.delete', index }).catch(() => undefined);
    }
  });

  it('updates live index settings: refresh interval on every copy, replicas, write and read-only blocks; static settings refused', async () => {
    await createSettled('live', 2, 1, { properties: { n: { type: 'long' } } });
    try {
      const count = async () => (await api({ op: 'count', index: 'live' })).count;
      // No scheduled refresh: a write stays invisible until an explicit one.
      expect(await api({ op: 'index.put_settings', index: 'live', body: { index: { refresh_interval: -1 } } })).toEqual({ acknowledged: true });
      expect(((await api({ op: 'index.get_settings', index: 'live' })) as Any).live.settings.index).toMatchObject({ number_of_shards: '2', number_of_replicas: '1', refresh_interval: '-1' });
      // Every node has applied it, and every copy has taken it: a shard.stats ask reaches each
      // copy's mailbox after the routing message that carried the new setting.
      await Promise.all([...nodes.values()].map((n) => n.waitFor((st) => st.indices.live?.settings.refresh_interval_ms === -1, 'refresh_interval -1 applied', 10_000)));
      const intervals = async () => ((await api({ op: 'shard.stats', index: 'live' })) as unknown as Any[]).map((x) => x.refresh_interval_ms);
      expect(await intervals()).toEqual([-1, -1, -1, -1]);
      await api({ op: 'index.refresh', index: 'live' });
      await api({ op: 'doc.index', index: 'live', id: 'a', document: { n: 1 } });
      const seen = await count();
      // Back to a 100 ms interval: the copies pick it up and the write turns visible by itself.
      await api({ op: 'index.put_settings', index: 'live', body: { 'index.refresh_interval': '100ms' } });
      const deadline = Date.now() + 10_000;
      while ((await count()) !== 1) {
        if (Date.now() > deadline) throw new Error('the write never became visible after refresh_interval 100ms');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(seen).toBe(0);
      expect(await intervals()).toEqual([100, 100, 100, 100]);
      // A write block: writes refused (403), reads fine, mappings may still change.
      await api({ op: 'index.put_settings', index: 'live', body: { index: { blocks: { write: true } } } });
      await expect(api({ op: 'doc.index', index: 'live', id: 'b', document: { n: 2 } })).rejects.toMatchObject({ type: 'cluster_block_exception', status: 403 });
      const bulk = await api({ op: 'doc.bulk', index: 'live', operations: [{ delete: { _id: 'a' } }] });
      expect(bulk.items[0].delete).toMatchObject({ status: 403, error: { type: 'cluster_block_exception' } });
      expect((await api({ op: 'doc.get', index: 'live', id: 'a' })).found).toBe(true);
      expect(await api({ op: 'index.put_mapping', index: 'live', body: { properties: { tag: { type: 'keyword' } } } })).toEqual({ acknowledged: true });
      // Read-only: mappings and other settings refused too, until the block goes.
      await api({ op: 'index.put_settings', index: 'live', body: { 'index.blocks.read_only': true, 'index.blocks.write': null } });
      await expect(api({ op: 'index.put_mapping', index: 'live', body: { properties: { more: { type: 'keyword' } } } })).rejects.toMatchObject({ status: 403 });
      await expect(api({ op: 'index.put_settings', index: 'live', body: { number_of_replicas: 0 } })).rejects.toMatchObject({ status: 403 });
      await api({ op: 'index.put_settings', index: 'live', body: { 'index.blocks.read_only': false } });
      expect(await api({ op: 'doc.index', index: 'live', id: 'b', document: { n: 2 } })).toMatchObject({ result: 'created' });
      // Replicas follow the setting; static settings and unknown ones are refused.
      await api({ op: 'index.put_settings', index: 'live', body: { number_of_replicas: 0 } });
      await any().waitFor((st) => st.routing.live!.every((t) => t.copies.length === 1), 'replicas gone', 10_000);
      await expect(api({ op: 'index.put_settings', index: 'live', body: { number_of_shards: 4 } })).rejects.toMatchObject({ type: 'illegal_argument_exception', status: 400 });
      await expect(api({ op: 'index.put_settings', index: 'live', body: { 'index.codec': 'x' } })).rejects.toMatchObject({ status: 400 });
      expect(any().state.indices.live!.settings).toMatchObject({ number_of_shards: 2, number_of_replicas: 0, refresh_interval_ms: 100 });
    } finally {
      await api({ op: 'index.delete', index: 'live' });
    }
  });

  it('refresh=wait_for answers once every copy has made the write searchable', async () => {
    await api({ op: 'index.create', index: 'wf', settings: { number_of_shards: 1, number_of_replicas: 1, refresh_interval: '1s' } });
    try {
      expect(await api({ op: 'cluster.health', index: 'wf', wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green' });
      const holders = any().state.routing.wf![0]!.copies.map((c) => c.node);
      for (let i = 0; i < 3; i++) {
        const r = await api({ op: 'doc.index', index: 'wf', id: `w${i}`, document: { n: i }, refresh: 'wait_for' });
        expect(r).toMatchObject({ result: 'created', _shards: { total: 2, successful: 2, failed: 0 } });
        // No explicit refresh: each node searches its own copy first, and both already see it.
        for (const node of holders) expect((await nodes.get(node)!.api({ op: 'count', index: 'wf' } as never)) as Any).toMatchObject({ count: i + 1 });
      }
      await expect(api({ op: 'doc.index', index: 'wf', id: 'bad', document: {}, refresh: 'sometimes' })).rejects.toMatchObject({ status: 400 });
      expect((await api({ op: 'doc.get', index: 'wf', id: 'bad' })).found).toBe(false);
    } finally {
      await api({ op: 'index.delete', index: 'wf' });
    }
  });

  it('answers a search with partial results, and says which shards failed, when a shard has no copy left', async () => {
    await api({ op: 'index.create', index: 'logs', settings: { number_of_shards: 3, number_of_replicas: 0 } });
    expect(await api({ op: 'cluster.health', index: 'logs', wait_for_status: 'green', timeout_ms: 10_000 })).toMatchObject({ status: 'green' });
    const bulk = await api({ op: 'doc.bulk', index: 'logs', refresh: true, operations: Array.from({ length: 60 }, (_, i) => [{ index: { _id: `l${i}` } }, { msg: `line ${i}` }]).flat() });
    expect(bulk.errors).toBe(false);
    const state = any().state;
    const master = state.master!.id;
    const tables = state.routing.logs!;
    const victim = [...nodes.keys()].find((id) => id !== master && tables.some((t) => t.copies.some((c) => c.node === id)))!;
    const lost = tables.flatMap((t, shard) => (t.copies.some((c) => c.node === victim) ? [shard] : []));
    const stats = (await api({ op: 'shard.stats', index: 'logs' })) as unknown as Any[];
    const survivingDocs = stats.filter((x) => !lost.includes(x.shard)).reduce((a, x) => a + x.docs, 0);
    nodes.get(victim)!.system.halt();
    nodes.delete(victim);
    try {
      const res = await api({ op: 'search', index: 'logs', body: { query: { match: { msg: 'line' } }, size: 100 } });
      expect(res._shards).toMatchObject({ total: 3, successful: 3 - lost.length, failed: lost.length });
      expect(res._shards.failures.map((f: Any) => f.shard).sort()).toEqual(lost);
      for (const f of res._shards.failures) expect(f.reason).toMatchObject({ type: expect.any(String), reason: expect.any(String) });
      expect(res.hits.hits).toHaveLength(survivingDocs);
      expect(res.hits.total.value).toBe(survivingDocs);
      const count = await api({ op: 'count', index: 'logs' });
      expect(count).toMatchObject({ count: survivingDocs, _shards: { failed: lost.length } });
      // Once the master removed the node, the index is red: its shards have no copy anywhere.
      await any().waitFor((st) => !st.nodes[victim] && st.routing.logs!.some((t) => !t.copies.some((c) => c.state === 'STARTED')), `${victim} removed`, 10_000);
      expect(await api({ op: 'cluster.health', index: 'logs' })).toMatchObject({ status: 'red', unassigned_shards: lost.length });
    } finally {
      await start(victim);
    }
    expect(await api({ op: 'cluster.health', index: 'logs', wait_for_status: 'green', timeout_ms: 20_000 })).toMatchObject({ status: 'green', timed_out: false });
    await api({ op: 'index.refresh', index: 'logs' });
    expect((await api({ op: 'count', index: 'logs' })).count).toBe(60);
  }, 60_000);
});
