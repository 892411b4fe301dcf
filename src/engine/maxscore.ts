import type { Segment, TermPostings } from './segment.ts';
import { Bm25TermScorer, K1 } from './similarity.ts';

/** One scored term of a disjunction in one segment. */
export interface PruningTerm {
  postings: TermPostings;
  scorer: Bm25TermScorer;
  norms: Uint8Array | undefined;
}

export interface TopHit {
  seg: number;
  doc: number;
  score: number;
}

/**
 * Top-k of a disjunction of terms (a `match` with operator or) with MaxScore dynamic pruning.
 * Terms are ordered by their score upper bound; those whose bounds together cannot beat the
 * current k-th score are "non-essential": documents are only drawn from the essential terms,
 * and non-essential ones are probed only while a document can still make the top k. Until
 * `countUpTo` hits are counted nothing is skipped, so totals are exact up to that threshold
 * (Elasticsearch's track_total_hits semantics).
 */
export class MaxScoreCollector {
  /** Min-heap on (score, then later doc first): the root is the entry to beat. */
  private heap: TopHit[] = [];
  total = 0;
  /** False once pruning skipped documents: `total` is then a lower bound. */
  exact = true;

  constructor(
    private readonly k: number,
    private readonly countUpTo: number,
  ) {}

  get threshold(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0]!.score;
  }

  /** Best first. */
  results(): TopHit[] {
    return [...this.heap].sort((a, b) => b.score - a.score || a.seg - b.seg || a.doc - b.doc);
  }

  collectSegment(seg: number, segment: Segment, terms: PruningTerm[]): void {
    const n = terms.length;
    if (n === 0) return;
    if (n === 1) return this.collectSingle(seg, segment, terms[0]!);
    // Iterate by upper bound, but sum in the query's term order, so scores (and ties) are exactly
    // those of the unpruned path.
    const order = terms.map((_, i) => i).sort((a, b) => terms[a]!.scorer.maxScore - terms[b]!.scorer.maxScore);
    const rankOf = new Int32Array(n);
    order.forEach((orig, rank) => (rankOf[orig] = rank));
    terms = order.map((i) => terms[i]!);
    const contrib = new Float64Array(n);
    const ub = terms.map((t) => t.scorer.maxScore);
    const prefix = new Float64Array(n); // prefix[i] = sum of ub[0..i]
    let acc = 0;
    for (let i = 0; i < n; i++) prefix[i] = acc += ub[i]!;
    const cursor = new Int32Array(n);
    const docsOf = terms.map((t) => t.postings.docs);
    let firstEssential = 0;
    const updateEssential = () => {
      if (this.total < this.countUpTo || this.heap.length < this.k) return void (firstEssential = 0);
      const theta = this.heap[0]!.score;
      let i = 0;
      while (i < n && prefix[i]! <= theta) i++;
      firstEssential = i;
    };
    updateEssential();
    for (;;) {
      if (firstEssential >= n) {
        // Even all terms together cannot beat the k-th score: nothing left in this segment.
        if (this.segmentHasMore(docsOf, cursor)) this.exact = false;
        return;
      }
      // Next candidate: the smallest current doc among the essential terms.
      let doc = 0x7fffffff;
      for (let i = firstEssential; i < n; i++) {
        const c = cursor[i]!;
        if (c < docsOf[i]!.length && docsOf[i]![c]! < doc) doc = docsOf[i]![c]!;
      }
      if (doc === 0x7fffffff) {
        if (firstEssential > 0 && this.segmentHasMore(docsOf, cursor)) this.exact = false;
        return;
      }
      let score = 0;
      contrib.fill(0);
      for (let i = firstEssential; i < n; i++) {
        const c = cursor[i]!;
        if (c < docsOf[i]!.length && docsOf[i]![c] === doc) {
          const s = termScore(terms[i]!, c, doc);
          contrib[i] = s;
          score += s;
          cursor[i] = c + 1;
        }
      }
      // Non-essential terms, highest bound first, while the doc can still enter the top k.
      const theta = this.threshold;
      for (let i = firstEssential - 1; i >= 0; i--) {
        if (score + prefix[i]! <= theta) {
          this.exact = false; // this doc may match more terms that we did not look at
          break;
        }
        const c = advance(docsOf[i]!, cursor[i]!, doc);
        cursor[i] = c;
        if (c < docsOf[i]!.length && docsOf[i]![c] === doc) {
          const s = termScore(terms[i]!, c, doc);
          contrib[i] = s;
          score += s;
        }
      }
      if (!segment.isLive(doc)) continue;
      this.total++;
      let exact = 0;
      for (let orig = 0; orig < n; orig++) exact += contrib[rankOf[orig]!]!;
      this.offer(seg, doc, exact);
      updateEssential();
    }
  }

  /** One term: nothing to prune between terms; score each live posting, keep the best k. */
  private collectSingle(seg: number, segment: Segment, t: PruningTerm): void {
    const { docs, freqs } = t.postings;
    for (let i = 0; i < docs.length; i++) {
      const doc = docs[i]!;
      if (!segment.isLive(doc)) continue;
      this.total++;
      const freq = freqs[i]!;
      const score = t.norms ? t.scorer.score(freq, t.norms[doc]!) : (t.scorer.weight * freq) / (freq + K1);
      this.offer(seg, doc, score);
    }
  }

  /** Allocates a hit only when it enters the top k (most candidates do not). */
  private offer(seg: number, doc: number, score: number): void {
    const h = this.heap;
    if (h.length < this.k) {
      h.push({ seg, doc, score });
      siftUp(h, h.length - 1);
      return;
    }
    if (this.k === 0) return;
    const root = h[0]!;
    // Within one collection, later (seg, doc) lose ties: only a strictly higher score enters.
    if (score > root.score || (score === root.score && (seg < root.seg || (seg === root.seg && doc < root.doc)))) {
      h[0] = { seg, doc, score };
      siftDown(h, 0);
    }
  }

  private segmentHasMore(docsOf: Int32Array[], cursor: Int32Array): boolean {
    return docsOf.some((d, i) => cursor[i]! < d.length);
  }
}

function termScore(t: PruningTerm, i: number, doc: number): number {
  const freq = t.postings.freqs[i]!;
  return t.norms ? t.scorer.score(freq, t.norms[doc]!) : (t.scorer.weight * freq) / (freq + K1);
}

/** First index at or after `from` whose doc is >= target (galloping, then binary search). */
export function advance(docs: Int32Array, from: number, target: number): number {
  let lo = from;
  let step = 1;
  let hi = from;
  while (hi < docs.length && docs[hi]! < target) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  hi = Math.min(hi, docs.length);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** a ranks below b: lower score, or equal score and later in (segment, doc) order. */
function worse(a: TopHit, b: TopHit): boolean {
  return a.score < b.score || (a.score === b.score && (a.seg > b.seg || (a.seg === b.seg && a.doc > b.doc)));
}

function siftUp(h: TopHit[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!worse(h[i]!, h[p]!)) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}

function siftDown(h: TopHit[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && worse(h[l]!, h[m]!)) m = l;
    if (r < h.length && worse(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
}
