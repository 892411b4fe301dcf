/**
 * BM25 as Lucene computes it (BM25Similarity, k1 = 1.2, b = 0.75): field lengths are stored as
 * one lossy byte (SmallFloat.intToByte4) and decoded back, idf uses the number of docs that have
 * the field, and the (k1 + 1) factor is dropped (Lucene ≥ 8), so scores match Lucene's.
 */
export const K1 = 1.2;
export const B = 0.75;

/** Values below this are stored exactly. */
const NUM_FREE_VALUES = 255 - longToInt4(2 ** 31 - 1);

function longToInt4(i: number): number {
  const numBits = i === 0 ? 0 : Math.floor(Math.log2(i)) + 1;
  if (numBits < 4) return i;
  const shift = numBits - 4;
  let encoded = Math.floor(i / 2 ** shift) & 0x07; // the 4 most significant bits, the top one implicit
  encoded |= (shift + 1) << 3;
  return encoded;
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

/** SmallFloat.intToByte4: a field length as one byte. */
export function encodeNorm(length: number): number {
  return length < NUM_FREE_VALUES ? length : NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

/** SmallFloat.byte4ToInt: the length a norm byte stands for. */
export function decodeNorm(b: number): number {
  return b < NUM_FREE_VALUES ? b : NUM_FREE_VALUES + int4ToLong(b - NUM_FREE_VALUES);
}

const LENGTH_TABLE = Float64Array.from({ length: 256 }, (_, i) => decodeNorm(i));

export function idf(docFreq: number, docCount: number): number {
  return Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5));
}

/**
 * The per-norm length factors `k1 · (1 − b + b · dl / avgdl)` for one avgdl; shared (read-only) by
 * every query until the statistics change.
 */
const lengthCaches = new Map<number, Float64Array>();
export function lengthCache(avgdl: number): Float64Array {
  let c = lengthCaches.get(avgdl);
  if (!c) {
    if (lengthCaches.size >= 64) lengthCaches.clear();
    lengthCaches.set(avgdl, (c = Float64Array.from(LENGTH_TABLE, (len) => K1 * (1 - B + (B * len) / avgdl))));
  }
  return c;
}

/**
 * Scores one term in one field: precomputes, per norm byte, the length part of the formula (as
 * Lucene's BM25Scorer does), so scoring a posting is a table lookup and a division.
 */
export class Bm25TermScorer {
  readonly weight: number;
  /**
   * The length part per norm byte: `k1 · (1 − b + b · dl / avgdl)`. Shared, read-only; tight loops
   * compute `(weight * freq) / (freq + lengthFactors[norm])`, exactly as score() does.
   */
  readonly lengthFactors: Float64Array;
  /** The average field length the factors were computed for. */
  readonly avgdl: number;

  constructor(boost: number, docFreq: number, docCount: number, sumTotalTermFreq: number) {
    this.weight = boost * idf(docFreq, docCount);
    this.avgdl = docCount > 0 ? sumTotalTermFreq / docCount : 1;
    this.lengthFactors = lengthCache(this.avgdl);
  }

  score(freq: number, norm: number): number {
    return (this.weight * freq) / (freq + this.lengthFactors[norm]!);
  }

  /** Upper bound of any score of this term (freq → ∞), for pruning. */
  get maxScore(): number {
    return this.weight;
  }
}
