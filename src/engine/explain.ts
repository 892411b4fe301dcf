/**
 * `explain: true`: why a hit scored what it did, as a tree in Elasticsearch's shape
 * ({ value, description, details }). Every node's value is the score its query gives the doc when
 * it runs (the same execution as the search, so the top value is the hit's `_score` exactly);
 * BM25 terms spell out Lucene's formula with its inputs (boost, idf from n and N, tf from freq,
 * k1, b, dl and avgdl), and compound queries list the clauses that matched.
 */
import type { DocSet, ExecContext, Query } from './query.ts';
import { explainFunctions } from './function-score.ts';
import { indexOfDoc } from './maxscore.ts';
import { postingsOf } from './segment.ts';
import { B, Bm25TermScorer, decodeNorm, idf, K1 } from './similarity.ts';

export interface Explanation {
  value: number;
  description: string;
  details: Explanation[];
}

type Run = (q: Query, ctx: ExecContext) => DocSet;

function node(value: number, description: string, details: Explanation[] = []): Explanation {
  return { value, description, details };
}

/** Explains docs of one segment; each query node runs once however many hits it explains. */
export class Explainer {
  private readonly sets = new Map<Query, DocSet>();

  constructor(
    private readonly ctx: ExecContext,
    private readonly run: Run,
  ) {}

  explain(q: Query, doc: number): Explanation {
    const value = this.scoreOf(q, doc);
    if (value === undefined) return node(0, `no match on required clause (${describe(q)})`);
    return node(value, describe(q), this.details(q, doc));
  }

  /** The doc's score under q, undefined when q does not match it. */
  private scoreOf(q: Query, doc: number): number | undefined {
    let set = this.sets.get(q);
    if (!set) this.sets.set(q, (set = this.run(q, this.ctx)));
    const i = indexOfDoc(set.docs, doc);
    return i < 0 ? undefined : set.scores[i]!;
  }

  private details(q: Query, doc: number): Explanation[] {
    switch (q.kind) {
      case 'term':
        return this.isIndexedTerm(q.field) ? this.termDetails(q.field, [String(q.value)], q.boost, doc) : [];
      case 'match': {
        const type = this.ctx.mappings.field(q.field)?.type;
        if (q.fuzzy !== undefined || (type !== 'text' && type !== 'keyword')) return [];
        const terms = type === 'text' ? [...new Set(this.ctx.analyzer(q.field, q.analyzer).analyze(q.query).map(termOf))] : [q.query];
        return this.termDetails(q.field, terms, q.boost, doc);
      }
      case 'bool': {
        const out: Explanation[] = [];
        for (const c of [...q.must, ...q.should]) if (this.scoreOf(c, doc) !== undefined) out.push(this.explain(c, doc));
        for (const c of q.filter) out.push(node(0, `match on required clause, no score (filter: ${describe(c)})`));
        if (q.boost !== 1) out.push(node(q.boost, 'boost'));
        return out;
      }
      case 'dis_max':
        return q.queries.filter((c) => this.scoreOf(c, doc) !== undefined).map((c) => this.explain(c, doc));
      case 'boosting': {
        const out = [this.explain(q.positive, doc)];
        if (this.scoreOf(q.negative, doc) !== undefined) out.push(node(q.negativeBoost, `negative_boost: the doc matches negative (${describe(q.negative)})`));
        if (q.boost !== 1) out.push(node(q.boost, 'boost'));
        return out;
      }
      case 'function_score':
        return [this.explain(q.query, doc), ...explainFunctions(q, this.ctx, doc, this.scoreOf(q.query, doc) ?? 0, this.run).map((f) => node(f.value, f.description))];
      case 'script_score': {
        const out = [this.explain(q.query, doc)];
        if (q.boost !== 1) out.push(node(q.boost, 'boost'));
        return out;
      }
      default:
        return [];
    }
  }

  private isIndexedTerm(field: string): boolean {
    const type = this.ctx.mappings.field(field)?.type;
    return type === 'text' || type === 'keyword';
  }

  /** One BM25 explanation per term the doc has, in query order. */
  private termDetails(field: string, terms: string[], boost: number, doc: number): Explanation[] {
    const fi = this.ctx.segment.field(field);
    if (!fi) return [];
    const st = this.ctx.stats.field(field);
    const out: Explanation[] = [];
    for (const term of terms) {
      const entry = fi.terms.get(term);
      if (!entry) continue;
      const p = postingsOf(fi, entry);
      const i = indexOfDoc(p.docs, doc);
      if (i < 0) continue;
      const freq = p.freqs[i]!;
      const n = this.ctx.stats.docFreq(field, term);
      const scorer = new Bm25TermScorer(boost, n, st.docCount, st.sumTotalTermFreq);
      const idfValue = idf(n, st.docCount);
      const idfNode = node(idfValue, 'idf, computed as log(1 + (N - n + 0.5) / (n + 0.5)) from:', [
        node(n, 'n, number of documents containing term'),
        node(st.docCount, 'N, total number of documents with field'),
      ]);
      let score: number;
      let tfNode: Explanation;
      if (fi.norms) {
        const dl = decodeNorm(fi.norms[doc]!);
        score = scorer.score(freq, fi.norms[doc]!);
        tfNode = node(freq / (freq + scorer.lengthFactors[fi.norms[doc]!]!), 'tf, computed as freq / (freq + k1 * (1 - b + b * dl / avgdl)) from:', [
          node(freq, 'freq, occurrences of term within document'),
          node(K1, 'k1, term saturation parameter'),
          node(B, 'b, length normalization parameter'),
          node(dl, 'dl, length of field'),
          node(scorer.avgdl, 'avgdl, average length of field'),
        ]);
      } else {
        score = (scorer.weight * freq) / (freq + K1);
        tfNode = node(freq / (freq + K1), 'tf, computed as freq / (freq + k1) from (no norms):', [
          node(freq, 'freq, occurrences of term within document'),
          node(K1, 'k1, term saturation parameter'),
        ]);
      }
      out.push(
        node(score, `weight(${field}:${term} in ${doc}) [BM25], result of:`, [
          node(score, `score(freq=${freq}), computed as boost * idf * tf from:`, [node(boost, 'boost'), idfNode, tfNode]),
        ]),
      );
    }
    return out;
  }
}

function termOf(t: { term: string }): string {
  return t.term;
}

/** A short rendering of a query for a description. */
function describe(q: Query): string {
  switch (q.kind) {
    case 'term':
      return `term ${q.field}:${String(q.value)}`;
    case 'match':
      return `match ${q.field}:"${q.query}" (${q.operator}), sum of:`;
    case 'match_phrase':
      return `phrase ${q.field}:"${q.query}"${q.slop > 0 ? `~${q.slop}` : ''}`;
    case 'bool':
      return 'sum of:';
    case 'dis_max':
      return `max plus ${q.tieBreaker} times others of:`;
    case 'constant_score':
      return `ConstantScore(${describe(q.filter)})`;
    case 'boosting':
      return 'boosting, product of:';
    case 'script_score':
      return `script score function, computed with script:"${q.script.source}" and parameters: ${JSON.stringify(q.script.paramsJson)}${q.boost !== 1 ? `, times boost [${q.boost}]` : ''}, from _score:`;
    case 'script':
      return `ScriptQuery(${q.script.source})`;
    case 'function_score':
      return `function score, score_mode [${q.scoreMode}], boost_mode [${q.boostMode}]${q.maxBoost < Infinity ? `, max_boost [${q.maxBoost}]` : ''}${q.boost !== 1 ? `, boost [${q.boost}]` : ''}, of:`;
    case 'match_all':
    case 'match_none':
      return `${q.kind}`;
    case 'nested':
      return `nested [${q.path}], score_mode [${q.scoreMode}]${q.boost !== 1 ? `, boost [${q.boost}]` : ''}`;
    default:
      return 'field' in q ? `${q.kind}(${q.field})` : q.kind;
  }
}

