import { IMPACT_BLOCK, postingsOf, TOP_DOCS_K, type FieldIndex, type Segment, type TermPostings } from './segment.ts';
import { Bm25TermScorer, K1 } from './similarity.ts';

/** One scored term of a disjunction in one segment. */
export interface PruningTerm {
  /** The field's index in the segment, whose arrays the postings point into. */
  field: FieldIndex;
  postings: TermPostings;
  scorer: Bm25TermScorer;
}

export interface TopHit {
  seg: number;
  doc: number;
  score: number;
}

/**
 * Top-k of one term (collectTerm: top docs and block-max impacts, see there) or of a disjunction
 * of terms (collectSegment: a `match` with operator or) with MaxScore dynamic pruning.
 * Terms are ordered by their score upper bound; those whose bounds together cannot beat the
 * current k-th score are "non-essential": documents are only drawn from the essential terms,
 * and non-essential ones are probed only while a document can still make the top k. Until
 * `countUpTo` hits are counted nothing is skipped, so totals are exact up to that threshold
 * (Elasticsearch's track_total_hits semantics).
 */
export class MaxScoreCollector {
  // The top k as a binary min-heap over parallel arrays (no object per candidate): the root is the
  // entry to beat, the worst one (lowest score; among equal scores, the latest (seg, doc)).
  // A key is seg · 2^31 + doc, so one comparison orders (seg, doc). Plain arrays that grow by
  // appending, not typed arrays: a small typed array costs a backing-store allocation (~0.25 µs in
  // V8), more than a whole one-term query's scoring.
  private readonly hScore: number[] = [];
  private readonly hKey: number[] = [];
  private size = 0;
  /** The score to beat: the root's once k hits are kept, -Infinity before. */
  private theta = -Infinity;
  /** The arrays hold the hits in ascending rank (a valid heap too), or best first once finished. */
  private ascending = false;
  private finished = false;
  total = 0;
  /** False once pruning skipped documents: `total` is then a lower bound. */
  exact = true;
  /** The search's timeout passed before every segment was collected (set by the caller). */
  timedOut = false;

  constructor(
    private k: number,
    private countUpTo: number,
  ) {}

  /**
   * Empty again, for a new collection: one collector serves search after search (a one-term
   * query costs less than allocating its arrays). The previous results are gone.
   */
  reset(k: number, countUpTo: number): this {
    this.k = k;
    this.countUpTo = countUpTo;
    this.size = 0;
    this.theta = -Infinity;
    this.ascending = false;
    this.finished = false;
    this.total = 0;
    this.exact = true;
    this.timedOut = false;
    return this;
  }

  get threshold(): number {
    return this.theta;
  }

  /**
   * Stop collecting: sort the kept hits best first, in place. Then hitCount and hitSeg/hitDoc/
   * hitScore(i) read them without allocating.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const hs = this.hScore;
    const hk = this.hKey;
    if (this.ascending) {
      for (let i = 0, j = this.size - 1; i < j; i++, j--) {
        const s = hs[i]!;
        hs[i] = hs[j]!;
        hs[j] = s;
        const key = hk[i]!;
        hk[i] = hk[j]!;
        hk[j] = key;
      }
      return;
    }
    // Heapsort: move the worst (the root) to the end, again and again.
    for (let end = this.size - 1; end > 0; end--) {
      const s = hs[end]!;
      const key = hk[end]!;
      hs[end] = hs[0]!;
      hk[end] = hk[0]!;
      siftDown(hs, hk, end, s, key);
    }
  }

  get hitCount(): number {
    return this.size;
  }

  hitSeg(i: number): number {
    return keySeg(this.hKey[i]!);
  }

  hitDoc(i: number): number {
    return keyDoc(this.hKey[i]!);
  }

  /** The hit's (seg, doc) as one number (docKey). */
  hitKey(i: number): number {
    return this.hKey[i]!;
  }

  hitScore(i: number): number {
    return this.hScore[i]!;
  }

  /**
   * The first term that can still bring a doc into the top k: terms before it, even all together
   * (prefix[i], the sum of their max scores), cannot beat the k-th score.
   */
  private firstEssential(prefix: readonly number[]): number {
    if (this.total < this.countUpTo || this.size < this.k) return 0;
    // With k = 0 nothing can enter: once counting is done, every term is non-essential.
    const theta = this.k === 0 ? Infinity : this.theta;
    let i = 0;
    while (i < prefix.length && prefix[i]! <= theta) i++;
    return i;
  }

  /** Best first (finishes the collection). */
  results(): TopHit[] {
    this.finish();
    const out: TopHit[] = new Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = { seg: this.hitSeg(i), doc: this.hitDoc(i), score: this.hScore[i]! };
    return out;
  }

  collectSegment(seg: number, segment: Segment, terms: PruningTerm[]): void {
    const n = terms.length;
    if (n === 0) return;
    if (n === 1) return this.collectTerm(seg, segment, terms[0]!);
    // Iterate by upper bound, but sum in the query's term order, so scores (and ties) are exactly
    // those of the unpruned path.
    const order = terms.map((_, i) => i).sort((a, b) => terms[a]!.scorer.maxScore - terms[b]!.scorer.maxScore);
    const rankOf: number[] = new Array<number>(n).fill(0); // plain arrays: see hScore
    order.forEach((orig, rank) => (rankOf[orig] = rank));
    terms = order.map((i) => terms[i]!);
    const contrib: number[] = new Array<number>(n).fill(0);
    const ub = terms.map((t) => t.scorer.maxScore);
    const prefix: number[] = new Array<number>(n).fill(0); // prefix[i] = sum of ub[0..i]
    let acc = 0;
    for (let i = 0; i < n; i++) prefix[i] = acc += ub[i]!;
    const cursor: number[] = new Array<number>(n).fill(0);
    const views = terms.map((t) => postingsOf(t.field, t.postings));
    const docsOf = views.map((v) => v.docs);
    const freqsOf = views.map((v) => v.freqs);
    let firstEssential = this.firstEssential(prefix);
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
          const s = termScore(terms[i]!, freqsOf[i]![c]!, doc);
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
          const s = termScore(terms[i]!, freqsOf[i]![c]!, doc);
          contrib[i] = s;
          score += s;
        }
      }
      if (!segment.isLive(doc)) continue;
      this.total++;
      let exact = 0;
      for (let orig = 0; orig < n; orig++) exact += contrib[rankOf[orig]!]!;
      this.offer(seg, doc, exact);
      firstEssential = this.firstEssential(prefix);
    }
  }

  /**
   * One term. The total is the number of live postings, counted without scoring. The top k:
   *
   * - k <= TOP_DOCS_K, no deleted doc in the segment: only the term's top docs
   *   (TermPostings.topStart) can rank, so only they are scored.
   * - Otherwise, with block-max impacts (TermPostings.impactBase): every block gets an upper bound,
   *   its best competitive pair's score; blocks are scored best bound first, a few of them, so that
   *   the k-th score rises fast, then in doc order; a block whose bound is below the k-th score is
   *   skipped, as its docs cannot enter the top k.
   * - Otherwise every live posting is scored.
   *
   * The hits are exactly those of scoring everything, and the total is exact.
   */
  collectTerm(seg: number, segment: Segment, t: PruningTerm): void {
    const p = t.postings;
    const n = p.df;
    const live = segment.hasDeletions ? segment.liveDocs : undefined;
    this.total += live ? countLive(t.field.docs, p.start, p.start + n, live) : n;
    if (this.k === 0) return;
    if (p.topStart >= 0 && live === undefined && this.k <= TOP_DOCS_K && topDocsRank(t.scorer)) return this.scoreTopDocs(seg, t, p.topStart, p.topEnd);
    if (p.impactBase < 0) return this.scoreRange(seg, t, live, 0, n);
    const impacts = t.field.impacts;
    const base = p.impactBase;
    const blocks = Math.ceil(n / IMPACT_BLOCK);
    const bounds = scratchBounds(blocks);
    const w = t.scorer.weight;
    const lf = t.scorer.lengthFactors;
    const hasNorms = t.field.norms !== undefined;
    for (let b = 0; b < blocks; b++) {
      let best = 0;
      for (let j = base + impacts[base + b]!; j < base + impacts[base + b + 1]!; j += 2) {
        const f = impacts[j]!;
        const s = hasNorms ? (w * f) / (f + lf[impacts[j + 1]!]!) : (w * f) / (f + K1);
        if (s > best) best = s;
      }
      // The margin covers rounding: a posting dominated by a pair may round a few ulps above it.
      bounds[b] = best * BOUND_MARGIN;
    }
    // Best bound first, for a few blocks (each pick scans the bounds), marking them visited (-1).
    for (let pick = 0; pick < BEST_FIRST_BLOCKS; pick++) {
      let best = -1;
      let bestBound = -1;
      for (let b = 0; b < blocks; b++) {
        if (bounds[b]! > bestBound) {
          bestBound = bounds[b]!;
          best = b;
        }
      }
      if (best < 0 || bestBound < this.theta) return; // no block left can enter the top k
      bounds[best] = -1;
      this.scoreRange(seg, t, live, best * IMPACT_BLOCK, Math.min(n, (best + 1) * IMPACT_BLOCK));
    }
    for (let b = 0; b < blocks; b++) {
      if (bounds[b]! < 0 || bounds[b]! < this.theta) continue;
      this.scoreRange(seg, t, live, b * IMPACT_BLOCK, Math.min(n, (b + 1) * IMPACT_BLOCK));
    }
  }

  /**
   * Score a term's top docs ((doc, freq) pairs, in rank order under the segment's statistics).
   * When the scores confirm that order and nothing is kept yet (one segment, or the first with
   * the term), the first k are the top k, stored as they are; otherwise each is offered.
   */
  private scoreTopDocs(seg: number, t: PruningTerm, from: number, to: number): void {
    // The term's pairs, counted from `from` (the field's topDocs array holds every term's).
    const top = t.field.topDocs;
    const norms = t.field.norms;
    const w = t.scorer.weight;
    const lf = t.scorer.lengthFactors;
    const m = (to - from) >> 1;
    // Ranked under these very statistics (the shard is this one segment), or without norms (the
    // order is freq's alone): the order needs no check and only the first k are scored.
    if (this.size === 0 && (norms === undefined || t.scorer.avgdl === t.field.topDocsAvgdl)) return this.keepRanked(seg, top, from, Math.min(this.k, m), w, norms === undefined ? undefined : lf);
    const scores = scratchScores(m);
    let ordered = true;
    for (let j = 0; j < m; j++) {
      const doc = top[from + 2 * j]!;
      const packed = top[from + 2 * j + 1]!; // freq · 256 + norm byte
      const f = packed >> 8;
      const score = norms !== undefined ? (w * f) / (f + lf[packed & 255]!) : (w * f) / (f + K1);
      scores[j] = score;
      // Rank order: a lower score, or an equal one and a later doc.
      if (j > 0 && !(score < scores[j - 1]! || (score === scores[j - 1] && doc > top[from + 2 * j - 2]!))) ordered = false;
    }
    if (ordered && this.size === 0) {
      const n = Math.min(this.k, m);
      const hs = this.hScore;
      const hk = this.hKey;
      // Ascending rank (the worst first) is a valid min-heap.
      for (let i = 0; i < n; i++) {
        const j = n - 1 - i;
        hs[i] = scores[j]!;
        hk[i] = docKey(seg, top[from + 2 * j]!);
      }
      this.keptAscending(n);
      return;
    }
    for (let j = 0; j < m; j++) if (scores[j]! >= this.theta) this.offer(seg, top[from + 2 * j]!, scores[j]!);
  }

  /**
   * Keep the first n of a term's top-doc pairs (in rank order), scored: the collector is empty.
   * `lf` undefined: the field has no norms.
   */
  private keepRanked(seg: number, top: Int32Array, from: number, n: number, w: number, lf: Float64Array | undefined): void {
    const hs = this.hScore;
    const hk = this.hKey;
    const base = seg * SEG_STRIDE;
    for (let i = 0; i < n; i++) {
      const at = from + 2 * (n - 1 - i);
      const f = top[at + 1]! >> 8;
      hs[i] = lf !== undefined ? (w * f) / (f + lf[top[at + 1]! & 255]!) : (w * f) / (f + K1);
      hk[i] = base + top[at]!;
    }
    this.keptAscending(n);
  }

  /** The heap holds n hits in ascending rank (the worst first, a valid min-heap). */
  private keptAscending(n: number): void {
    this.size = n;
    this.ascending = true;
    if (n === this.k) this.theta = this.hScore[0]!;
  }

  /** Score postings [lo, hi) of one term and offer those that can enter the top k. */
  private scoreRange(seg: number, t: PruningTerm, live: Uint8Array | undefined, lo: number, hi: number): void {
    const { docs, freqs } = t.field;
    const start = t.postings.start;
    const norms = t.field.norms;
    const w = t.scorer.weight;
    const lf = t.scorer.lengthFactors;
    let theta = this.theta;
    for (let i = start + lo; i < start + hi; i++) {
      const doc = docs[i]!;
      if (live !== undefined && live[doc] === 0) continue;
      const f = freqs[i]!;
      // Exactly Bm25TermScorer.score (or the no-norms formula), inlined.
      const score = norms !== undefined ? (w * f) / (f + lf[norms[doc]!]!) : (w * f) / (f + K1);
      if (score < theta) continue;
      this.offer(seg, doc, score);
      theta = this.theta;
    }
  }

  /**
   * The top k of one segment's matches, already scored (the general path's results): `docs`
   * ascending, `scores` parallel. Counts every match.
   */
  collectScored(seg: number, docs: Int32Array, scores: ArrayLike<number>): void {
    this.total += docs.length;
    for (let i = 0; i < docs.length; i++) {
      const score = scores[i]!;
      // Below the entry to beat: out (equal goes to offer, which breaks the tie by (seg, doc)).
      if (score >= this.theta) this.offer(seg, docs[i]!, score);
    }
  }

  /** Keep (seg, doc) if it beats the entry to beat: a higher score, or equal and earlier. */
  private offer(seg: number, doc: number, score: number): void {
    const k = this.k;
    if (k === 0) return;
    const hs = this.hScore;
    const hk = this.hKey;
    const key = docKey(seg, doc);
    this.ascending = false;
    if (this.size < k) {
      // Sift up from the new leaf.
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!(hs[p]! > score || (hs[p] === score && hk[p]! < key))) break; // parent not better: stop
        hs[i] = hs[p]!;
        hk[i] = hk[p]!;
        i = p;
      }
      hs[i] = score;
      hk[i] = key;
      if (this.size === k) this.theta = hs[0]!;
      return;
    }
    if (!(score > hs[0]! || (score === hs[0] && key < hk[0]!))) return;
    siftDown(hs, hk, this.size, score, key);
    this.theta = hs[0]!;
  }

  private segmentHasMore(docsOf: Int32Array[], cursor: number[]): boolean {
    return docsOf.some((d, i) => cursor[i]! < d.length);
  }
}

/** (seg, doc) keys: seg · SEG_STRIDE + doc, exact in a double for seg < 2^22. */
const SEG_STRIDE = 2 ** 31;

/** (seg, doc) as one number that orders like the pair (also a hit's address in a search reader). */
export function docKey(seg: number, doc: number): number {
  return seg * SEG_STRIDE + doc;
}

export function keySeg(key: number): number {
  return Math.floor(key / SEG_STRIDE);
}

export function keyDoc(key: number): number {
  // (Not `key % SEG_STRIDE`: a floating-point modulo is a runtime call.)
  return key - Math.floor(key / SEG_STRIDE) * SEG_STRIDE;
}

/** Relative margin on block bounds, far above floating-point rounding (a few ulps, ~1e-16). */
const BOUND_MARGIN = 1 + 1e-12;
/** Blocks scored best bound first before the doc-order pass (each costs a scan of the bounds). */
const BEST_FIRST_BLOCKS = 8;

/**
 * Replace the root of a min-heap of `n` entries by (score, key) and sift it down: the worse child
 * moves up while it is worse than the new entry (lower score, or equal and a later key).
 */
function siftDown(hs: number[], hk: number[], n: number, score: number, key: number): void {
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let m = l;
    const r = l + 1;
    if (r < n && (hs[r]! < hs[l]! || (hs[r] === hs[l] && hk[r]! > hk[l]!))) m = r;
    if (!(hs[m]! < score || (hs[m] === score && hk[m]! > key))) break;
    hs[i] = hs[m]!;
    hk[i] = hk[m]!;
    i = m;
  }
  hs[i] = score;
  hk[i] = key;
}

let scoresScratch = new Float64Array(256);
function scratchScores(n: number): Float64Array {
  if (scoresScratch.length < n) scoresScratch = new Float64Array(Math.max(n, scoresScratch.length * 2));
  return scoresScratch;
}

let boundsScratch = new Float64Array(64);
function scratchBounds(n: number): Float64Array {
  if (boundsScratch.length < n) boundsScratch = new Float64Array(Math.max(n, boundsScratch.length * 2));
  return boundsScratch;
}

/**
 * Whether a term's top docs hold the top k under this scorer. They assume that a doc with a
 * freq >= and a norm <= another's, one of them strictly, scores strictly higher. In real numbers
 * it does, by a relative margin of at least c / (f · (f' + c)) for freqs f < f' < 2^20 (length
 * factor c >= k1 · (1 − b) = 0.3): 2.7e-13; between two norms at one freq, at least
 * k1 · b / (avgdl · (f + c)): 8e-13 for avgdl < 2^20. Both are far above the rounding of a score
 * (a few ulps, ~1e-15), for a weight of ordinary size. With a weight of 0 (boost 0) every score
 * ties and doc ids alone rank, so the top docs do not apply.
 */
function topDocsRank(scorer: Bm25TermScorer): boolean {
  return scorer.weight > 1e-100 && scorer.weight < 1e100 && scorer.avgdl < 2 ** 20;
}

function countLive(docs: Int32Array, from: number, to: number, live: Uint8Array): number {
  let c = 0;
  for (let i = from; i < to; i++) c += live[docs[i]!]!;
  return c;
}

function termScore(t: PruningTerm, freq: number, doc: number): number {
  const norms = t.field.norms;
  return norms ? t.scorer.score(freq, norms[doc]!) : (t.scorer.weight * freq) / (freq + K1);
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

/** Index of doc in an ascending array, or -1. */
export function indexOfDoc(docs: Int32Array, doc: number): number {
  const i = advance(docs, 0, doc);
  return i < docs.length && docs[i] === doc ? i : -1;
}

