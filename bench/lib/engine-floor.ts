/**
 * The single-term floor: the least work a one-term top-10 search with Shoal's semantics needs,
 * written straight over the engine's own index structures, with none of the engine's generality.
 * It analyses the query text, looks the term up, scores its top docs by BM25 (or every posting of
 * a term too rare to have top docs), and builds ten hits and a response with `took` and the total.
 * It parses no request and checks nothing. bench/engine.bench.ts duels it against the best
 * single-term library, so the report shows how far under the library any engine doing this work
 * could get, and how far the engine is above the floor.
 *
 * It reads one segment (the bench refreshes once) through the public reader API.
 */
import type { WordnetDoc } from './corpus.ts';
import type { BenchQuery, QueryClass } from './engine-queries.ts';
import type { EngineAdapter } from './engine-adapters.ts';

const TOP = 10;

export async function floorAdapter(): Promise<EngineAdapter> {
  const { ShardEngine } = await import('../../src/engine/shard-engine.ts');
  const { idf, lengthCache } = await import('../../src/engine/similarity.ts');
  type Engine = InstanceType<typeof ShardEngine>;
  type Segment = ReturnType<Engine['openReader']>['segments'][number];
  let engine: Engine | undefined;
  let segment: Segment | undefined;

  function search(text: string) {
    const started = performance.now();
    const fi = segment!.field('gloss')!;
    const tokens = engine!.analyzerFor('gloss').analyze(text);
    const p = tokens.length === 1 ? fi.terms.get(tokens[0]!.term) : undefined;
    const hits: { _id: string; _score: number }[] = [];
    if (p) {
      const w = idf(p.df, fi.docCount);
      const lf = lengthCache(fi.sumTotalTermFreq / fi.docCount);
      if (p.topStart < 0) {
        const { docs, freqs, norms } = fi;
        for (let i = p.start; i < p.start + p.df; i++) hits.push({ _id: segment!.id(docs[i]!), _score: (w * freqs[i]!) / (freqs[i]! + lf[norms![docs[i]!]!]!) });
        hits.sort(byScore);
      } else {
        const top = fi.topDocs;
        const n = Math.min(TOP, (p.topEnd - p.topStart) >> 1);
        for (let j = 0; j < n; j++) {
          const packed = top[p.topStart + 2 * j + 1]!;
          const f = packed >> 8;
          hits.push({ _id: segment!.id(top[p.topStart + 2 * j]!), _score: (w * f) / (f + lf[packed & 255]!) });
        }
      }
    }
    const total = p ? p.df : 0;
    return { took: Math.round(performance.now() - started), timed_out: false, hits: { total: { value: total, relation: 'eq' }, max_score: hits.length > 0 ? hits[0]!._score : null, hits } };
  }

  return {
    name: 'shoal-floor',
    supports: { single: true, or: false, and: false, phrase: false },
    build(docs: readonly WordnetDoc[]) {
      engine = new ShardEngine({ mappings: { dynamic: false, properties: { gloss: { type: 'text' } } } });
      for (const d of docs) engine.index(d.id, { gloss: d.gloss });
      engine.refresh();
      const { segments } = engine.openReader();
      if (segments.length !== 1) throw new Error(`the floor reads one segment, the index has ${segments.length}`);
      segment = segments[0];
    },
    search(cls: QueryClass, q: BenchQuery) {
      if (cls !== 'single') throw new Error('the floor is for single-term queries only');
      return search(q.text).hits.total.value;
    },
  };
}

function byScore(a: { _score: number }, b: { _score: number }): number {
  return b._score - a._score;
}
