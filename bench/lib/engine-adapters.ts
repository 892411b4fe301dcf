/**
 * The engines bench/engine.bench.ts compares, behind one small interface. Every engine indexes the
 * same field (`gloss`) under the same string ids and keeps nothing else it can avoid keeping; every
 * search asks for the top 10. Configuration, chosen to give every engine the same terms:
 *
 * - shoal:      ShardEngine, explicit mapping `gloss: text` (standard analyzer: Unicode word
 *               segmentation + lowercase; no stop words, no stemming; no `.keyword` sub-field).
 *               `match` with operator or/and, `match_phrase`; `_source: false`. Shoal stores
 *               `_source` (as Elasticsearch does): it is given `{ gloss }` only.
 * - minisearch: fields ['gloss'], storeFields [] (defaults: lowercase, split on space and
 *               punctuation, no prefix, no fuzzy); combineWith OR / AND. No phrase queries.
 * - flexsearch: Index with its defaults (tokenize "strict": whole words; Default encoder:
 *               lowercase/normalise; no cache). Multi-term queries intersect (AND); `suggest: true`
 *               returns docs matching any term (OR). No phrase queries (context search scores
 *               proximity, it does not require adjacency).
 * - orama:      schema { gloss: 'string' }; `threshold: 1` (any term, OR) / `threshold: 0` (all
 *               terms, AND). Orama keeps every inserted document. By default Orama matches a term
 *               as a prefix (`cat` finds `category`): `exact: true` (--orama-exact) gives whole-word
 *               matching but adds a case-sensitive regex check of the stored text per hit.
 *               No phrase queries.
 * - lunr:       ref 'id', field 'gloss'; the stemmer and stop-word filter removed from the index and
 *               search pipelines (the others stem nothing and drop nothing). Query API with
 *               presence OPTIONAL (OR) / REQUIRED (AND). No phrase queries.
 *
 * The Shoal engine is imported lazily, so the libraries can be measured while it does not import.
 */
import type { WordnetDoc } from './corpus.ts';
import type { BenchQuery, QueryClass } from './engine-queries.ts';

export const ENGINES = ['shoal', 'minisearch', 'flexsearch', 'orama', 'lunr'] as const;
export type EngineName = (typeof ENGINES)[number];
/** What a bench worker can run: an engine, or the single-term floor (engine-floor.ts). */
export type AdapterName = EngineName | 'shoal-floor';
export const LIBRARIES: readonly EngineName[] = ['minisearch', 'flexsearch', 'orama', 'lunr'];
/** The libraries that score by BM25 (MiniSearch: BM25+) and report every match, as Shoal does. */
export const BM25_LIBRARIES: readonly EngineName[] = ['minisearch', 'orama', 'lunr'];

export interface EngineAdapter {
  readonly name: AdapterName;
  readonly supports: Readonly<Record<QueryClass, boolean>>;
  /** Index every doc (Shoal: then one refresh). May keep no reference to `docs` itself. */
  build(docs: readonly WordnetDoc[]): void | Promise<void>;
  /**
   * Run one query, top 10. Returns the number of matches the engine reports (capped at 10,000,
   * Shoal's default track_total_hits), or the number of returned hits when it reports no total.
   */
  search(cls: QueryClass, q: BenchQuery): number | Promise<number>;
}

export interface AdapterOptions {
  oramaExact?: boolean;
}

const TOP = 10;
const TOTAL_CAP = 10_000;
const ALL = { single: true, or: true, and: true, phrase: true } as const;
const NO_PHRASE = { single: true, or: true, and: true, phrase: false } as const;

export async function createAdapter(name: AdapterName, opts: AdapterOptions = {}): Promise<EngineAdapter> {
  switch (name) {
    case 'shoal':
      return shoal();
    case 'shoal-floor':
      return (await import('./engine-floor.ts')).floorAdapter();
    case 'minisearch':
      return minisearch();
    case 'flexsearch':
      return flexsearch();
    case 'orama':
      return orama(opts.oramaExact ?? false);
    case 'lunr':
      return lunrAdapter();
  }
}

async function shoal(): Promise<EngineAdapter> {
  const { ShardEngine } = await import('../../src/engine/shard-engine.ts');
  let engine: InstanceType<typeof ShardEngine> | undefined;
  return {
    name: 'shoal',
    supports: ALL,
    build(docs) {
      engine = new ShardEngine({ mappings: { dynamic: false, properties: { gloss: { type: 'text' } } } });
      for (const d of docs) engine.index(d.id, { gloss: d.gloss });
      engine.refresh();
    },
    search(cls, q) {
      const query =
        cls === 'phrase'
          ? { match_phrase: { gloss: q.text } }
          : { match: { gloss: { query: q.text, operator: cls === 'and' ? 'and' : 'or' } } };
      return engine!.search({ query, size: TOP, _source: false }).hits.total.value;
    },
  };
}

async function minisearch(): Promise<EngineAdapter> {
  const { default: MiniSearch } = await import('minisearch');
  let ms: InstanceType<typeof MiniSearch> | undefined;
  return {
    name: 'minisearch',
    supports: NO_PHRASE,
    build(docs) {
      ms = new MiniSearch({ idField: 'id', fields: ['gloss'], storeFields: [] });
      for (const d of docs) ms.add(d);
    },
    search(cls, q) {
      const res = ms!.search(q.text, { combineWith: cls === 'and' ? 'AND' : 'OR', prefix: false, fuzzy: false });
      res.slice(0, TOP);
      return Math.min(res.length, TOTAL_CAP);
    },
  };
}

async function flexsearch(): Promise<EngineAdapter> {
  const { Index } = await import('flexsearch');
  let ix: InstanceType<typeof Index> | undefined;
  return {
    name: 'flexsearch',
    supports: NO_PHRASE,
    build(docs) {
      ix = new Index();
      for (const d of docs) ix.add(d.id, d.gloss);
    },
    search(cls, q) {
      // Synchronous: no worker, no persistent storage, resolve defaults to true.
      const res = ix!.search(q.text, cls === 'or' ? { limit: TOP, suggest: true } : { limit: TOP }) as unknown[];
      return res.length;
    },
  };
}

async function orama(exact: boolean): Promise<EngineAdapter> {
  const { create, insert, search } = await import('@orama/orama');
  const schema = { gloss: 'string' } as const;
  let db: ReturnType<typeof create<typeof schema>> | undefined;
  return {
    name: 'orama',
    supports: NO_PHRASE,
    async build(docs) {
      const d0 = create({ schema });
      db = d0;
      for (const d of docs) {
        const r = insert(d0, { id: d.id, gloss: d.gloss } as never);
        if (r instanceof Promise) await r;
      }
    },
    search(cls, q) {
      const params = { term: q.text, properties: ['gloss'] as ['gloss'], limit: TOP, threshold: cls === 'and' ? 0 : 1, exact };
      const res = search(db!, params);
      // Orama 3 answers synchronously unless a hook or component is async.
      return res instanceof Promise ? res.then((r) => Math.min(r.count, TOTAL_CAP)) : Math.min(res.count, TOTAL_CAP);
    },
  };
}

async function lunrAdapter(): Promise<EngineAdapter> {
  const { default: lunr } = await import('lunr');
  let idx: lunr.Index | undefined;
  return {
    name: 'lunr',
    supports: NO_PHRASE,
    build(docs) {
      idx = lunr(function () {
        this.ref('id');
        this.field('gloss');
        this.pipeline.remove(lunr.stemmer);
        this.pipeline.remove(lunr.stopWordFilter);
        this.searchPipeline.remove(lunr.stemmer);
        for (const d of docs) this.add({ id: d.id, gloss: d.gloss });
      });
    },
    search(cls, q) {
      const presence = cls === 'and' ? lunr.Query.presence.REQUIRED : lunr.Query.presence.OPTIONAL;
      const res = idx!.query((qb) => {
        for (const t of q.terms) qb.term(t, { presence });
      });
      res.slice(0, TOP);
      return Math.min(res.length, TOTAL_CAP);
    },
  };
}
