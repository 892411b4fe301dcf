import type { NestedObject, ParsedDoc, ParsedField } from './mapping.ts';
import { CompletionIndex, completionKey, DEFAULT_MAX_INPUT_LENGTH, keyOptionsOf } from './completion.ts';
import { IntBlockPool, PostingsPool, type BuiltPostings } from './postings-pool.ts';
import { encodeNorm, K1, lengthCache } from './similarity.ts';
import type { Analyzer, Column, KeywordColumn, NumericColumn, SegmentColumns } from './types.ts';

/**
 * One term's postings in one segment, as offsets into its field's shared arrays (FieldIndex):
 * no typed array of its own. A typed array costs V8 some 70–150 bytes besides its data, and a
 * WordNet segment has 56k terms with four or more arrays each, most of them a few ints long: the
 * per-array overhead was twice the postings themselves. postingsOf() gives views for code that
 * walks whole lists.
 */
export interface TermPostings {
  /** Docs with the term: its postings are docs[start .. start + df) and freqs[start .. start + df). */
  readonly df: number;
  readonly start: number;
  /**
   * Text fields: the positions of its i-th posting are positions[posStarts[posBase + i] ..
   * posStarts[posBase + i + 1]); a term has df + 1 position starts. -1 without positions.
   */
  readonly posBase: number;
  /**
   * Block-max impacts at impacts[impactBase ..], when the term has more than IMPACT_BLOCK docs
   * (else -1): the postings split into blocks of IMPACT_BLOCK docs (block b holds postings
   * b · IMPACT_BLOCK .. (b + 1) · IMPACT_BLOCK), and per block its competitive (freq, norm) pairs,
   * the Pareto frontier: every posting of the block has a pair with freq >= its freq and norm <=
   * its norm. BM25 grows with freq and shrinks with length, so the best score among a block's
   * pairs bounds every score in the block, whatever the shard's statistics. With B blocks,
   * `impacts[impactBase + b]` (b = 0..B) is where block b's pairs start, relative to impactBase,
   * and a pair is two ints, freq then norm byte (0 for fields without norms). WordNet blocks have
   * 2.2 pairs on average.
   */
  readonly impactBase: number;
  /**
   * The docs that can rank in a top TOP_DOCS_K for this term alone, when the term has more than
   * TOP_DOCS_MIN_DF docs: topDocs[topStart .. topEnd), pairs (doc, freq · 256 + norm byte), the
   * norm 0 without norms (scoring them reads no norms array: ten-odd random reads fewer per
   * query); topStart -1 when there are none. A doc is left out when at least TOP_DOCS_K docs rank
   * above it under any BM25 statistics: those with freq >= its freq and a norm <= its norm, one of
   * them strictly (a strictly higher score), or the same (freq, norm) and a lower doc id (the
   * tie-break). So in a segment without deletions, the top k (k <= TOP_DOCS_K) of a one-term query
   * is among these docs. They are in rank order under the segment's own statistics (score
   * descending, then doc ascending), which is usually the order under the shard's too: a query
   * checks it and then needs no sorting. Not built when a freq reaches 2^20 (the strict-score
   * argument holds below it; see maxscore.ts).
   */
  readonly topStart: number;
  readonly topEnd: number;
}

/** A term's postings as arrays of their own: views into its field's arrays (postingsOf). */
export interface PostingsView {
  readonly docs: Int32Array;
  readonly freqs: Int32Array;
  /** Text fields: positions of docs[i] are positions[posStarts[i] .. posStarts[i + 1]) (the field's whole positions array). */
  readonly posStarts?: Int32Array;
  readonly positions?: Int32Array;
}

/** Postings per impact block (see TermPostings.impactBase). */
export const IMPACT_BLOCK = 64;
/** The k that top docs serve, and the doc frequency above which a term has them. */
export const TOP_DOCS_K = 10;
export const TOP_DOCS_MIN_DF = 10;

/** One indexed field of one segment. */
export interface FieldIndex {
  readonly terms: ReadonlyMap<string, TermPostings>;
  /** Sorted term dictionary (prefix, wildcard, fuzzy and range over terms). */
  readonly sortedTerms: readonly string[];
  /** Docs that have the field, and the sum of their lengths (BM25 statistics). */
  readonly docCount: number;
  readonly sumTotalTermFreq: number;
  /** Lucene-encoded field length per doc (text fields); undefined for keyword fields. */
  readonly norms?: Uint8Array;
  /** Every term's postings, term after term (TermPostings holds where). */
  readonly docs: Int32Array;
  readonly freqs: Int32Array;
  readonly posStarts?: Int32Array;
  readonly positions?: Int32Array;
  readonly impacts: Int32Array;
  readonly topDocs: Int32Array;
  /** The average field length the top docs are ranked under (this segment's own). */
  readonly topDocsAvgdl: number;
}

/** The index of the first term >= key in a sorted dictionary (its length when there is none). */
export function firstTermAtOrAfter(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A term's postings as views (allocates up to three: for code that walks whole lists, not for one-term top k). */
export function postingsOf(fi: FieldIndex, p: TermPostings): PostingsView {
  const docs = fi.docs.subarray(p.start, p.start + p.df);
  const freqs = fi.freqs.subarray(p.start, p.start + p.df);
  if (p.posBase < 0) return { docs, freqs };
  return { docs, freqs, posStarts: fi.posStarts!.subarray(p.posBase, p.posBase + p.df + 1), positions: fi.positions };
}

export interface DocMeta {
  id: string;
  seqNo: number;
  primaryTerm: number;
  version: number;
}

/**
 * The nested objects of one nested path in one segment, kept apart from the segment's own data
 * (so that they can be persisted on their own): a child segment whose docs are the objects (its
 * own postings, norms, doc values and field statistics; a child's id and metadata are its
 * parent's, its source the object), which parent each child belongs to, and per parent the range
 * of its children (children are stored in parent order). A child is live exactly when its parent
 * is: deleting a parent deletes its children.
 */
export interface NestedDocs {
  readonly segment: Segment;
  /** child → parent doc */
  readonly parentOf: Int32Array;
  /** parent p's children are childStart[p] .. childStart[p + 1] (maxDoc + 1 entries) */
  readonly childStart: Int32Array;
  /** child → its index in its parent's array (`_nested.offset`) */
  readonly offsetOf: Int32Array;
}

const NO_NESTED: ReadonlyMap<string, NestedDocs> = new Map();
const NO_COMPLETIONS: ReadonlyMap<string, CompletionIndex> = new Map();

/**
 * Each doc's identity, as columns rather than one object per doc: a hit's id is one array read
 * (search builds ten per query, from random docs: the object hop was a second cache miss each),
 * and 32 bytes per doc instead of about 64.
 */
export interface SegmentDocs {
  readonly ids: string[];
  readonly seqNos: Float64Array;
  readonly primaryTerms: Float64Array;
  readonly versions: Float64Array;
}

/** What a sealed segment holds besides its live docs (Segment.parts, the segment file). */
export interface SegmentParts {
  readonly docs: SegmentDocs;
  readonly sources: Record<string, unknown>[];
  readonly fields: ReadonlyMap<string, FieldIndex>;
  readonly columns: ReadonlyMap<string, Column>;
  readonly nested: ReadonlyMap<string, NestedDocs>;
  readonly completions: ReadonlyMap<string, CompletionIndex>;
}

function docColumns(metas: DocMeta[]): SegmentDocs {
  const n = metas.length;
  const docs = { ids: new Array<string>(n), seqNos: new Float64Array(n), primaryTerms: new Float64Array(n), versions: new Float64Array(n) };
  for (let d = 0; d < n; d++) {
    const m = metas[d]!;
    docs.ids[d] = m.id;
    docs.seqNos[d] = m.seqNo;
    docs.primaryTerms[d] = m.primaryTerm;
    docs.versions[d] = m.version;
  }
  return docs;
}

/** ES's gap between the values of a multi-valued text field, so phrases do not span values. */
const POSITION_INCREMENT_GAP = 100;

/**
 * An immutable segment (only its live-docs set changes, on delete). Built by SegmentBuilder and
 * sealed at refresh: from then on searches see it as a point-in-time snapshot.
 */
export class Segment implements SegmentColumns {
  readonly maxDoc: number;
  private live: Uint8Array;
  /** True while a snapshot shares `live`: the next delete copies it first (copy-on-write). */
  private liveShared = false;
  private readonly ids: string[];
  private readonly seqNos: Float64Array;
  private readonly primaryTerms: Float64Array;
  private readonly versions: Float64Array;
  private deleted = 0;
  /** Per nested path (of this segment's scope: the root, or a nested path for a child segment), its nested objects. */
  private nestedDocs: ReadonlyMap<string, NestedDocs>;

  constructor(
    readonly name: string,
    docs: SegmentDocs,
    private readonly sources: Record<string, unknown>[],
    readonly fields: ReadonlyMap<string, FieldIndex>,
    private readonly columns: ReadonlyMap<string, Column>,
    nested: ReadonlyMap<string, NestedDocs> = NO_NESTED,
    /** Per completion field, its inputs' keys (completion.ts). */
    private readonly completions: ReadonlyMap<string, CompletionIndex> = NO_COMPLETIONS,
  ) {
    this.nestedDocs = nested;
    this.maxDoc = docs.ids.length;
    this.ids = docs.ids;
    this.seqNos = docs.seqNos;
    this.primaryTerms = docs.primaryTerms;
    this.versions = docs.versions;
    this.live = new Uint8Array(this.maxDoc).fill(1);
  }

  get liveCount(): number {
    return this.maxDoc - this.deleted;
  }

  /** True when some doc of the segment is deleted (then postings hold dead docs). */
  get hasDeletions(): boolean {
    return this.deleted > 0;
  }

  /** The live-docs bitmap itself (1 = live): read-only, for tight loops. */
  get liveDocs(): Uint8Array {
    return this.live;
  }

  isLive(doc: number): boolean {
    return this.live[doc] === 1;
  }

  /**
   * This segment as it is now, its deletes included: a view that later deletes do not reach
   * (the next delete copies the live-docs set first, as each Lucene reader keeps its own
   * generation of it). Everything else is shared: the view delegates to this segment.
   */
  snapshot(): Segment {
    const view = Object.create(this) as Segment;
    view.live = this.live;
    view.deleted = this.deleted;
    this.liveShared = true;
    // The children's deletes belong to the same generation as the parents'.
    if (this.nestedDocs.size > 0) {
      const nested = new Map<string, NestedDocs>();
      for (const [path, n] of this.nestedDocs) nested.set(path, { ...n, segment: n.segment.snapshot() });
      view.nestedDocs = nested;
    }
    return view;
  }

  delete(doc: number): void {
    if (this.live[doc] === 1) {
      if (this.liveShared) {
        this.live = this.live.slice();
        this.liveShared = false;
      }
      this.live[doc] = 0;
      this.deleted++;
      if (this.nestedDocs.size > 0) for (const n of this.nestedDocs.values()) for (let c = n.childStart[doc]!; c < n.childStart[doc + 1]!; c++) n.segment.delete(c);
    }
  }

  /** A completion field's entries, if any doc has one. */
  completion(field: string): CompletionIndex | undefined {
    return this.completions.get(field);
  }

  /** The nested objects of a nested path directly under this segment's scope, if any doc has some. */
  nested(path: string): NestedDocs | undefined {
    return this.nestedDocs.get(path);
  }

  /** Every nested path with objects here, and its objects (persistence, tests). */
  nestedEntries(): ReadonlyMap<string, NestedDocs> {
    return this.nestedDocs;
  }

  meta(doc: number): DocMeta {
    return { id: this.ids[doc]!, seqNo: this.seqNos[doc]!, primaryTerm: this.primaryTerms[doc]!, version: this.versions[doc]! };
  }

  /** The live-docs bitmap (1 = live), for persistence. */
  liveBitmap(): Uint8Array {
    return this.live;
  }

  /** Everything sealed (all but the live docs), as the segment file writes it: shared, not copied. */
  parts(): SegmentParts {
    return { docs: { ids: this.ids, seqNos: this.seqNos, primaryTerms: this.primaryTerms, versions: this.versions }, sources: this.sources, fields: this.fields, columns: this.columns, nested: this.nestedDocs, completions: this.completions };
  }

  /** Each doc's identity and source, as the old segment files (`.dat`) held them. */
  stored(): { metas: DocMeta[]; sources: Record<string, unknown>[] } {
    const metas: DocMeta[] = [];
    for (let d = 0; d < this.maxDoc; d++) metas.push(this.meta(d));
    return { metas, sources: this.sources };
  }

  id(doc: number): string {
    return this.ids[doc]!;
  }

  source(doc: number): Record<string, unknown> {
    return this.sources[doc]!;
  }

  column(field: string): Column | undefined {
    return this.columns.get(field);
  }

  field(field: string): FieldIndex | undefined {
    return this.fields.get(field);
  }
}

interface FieldBuilder {
  terms: PostingsPool;
  docCount: number;
  sumTotalTermFreq: number;
  lengths: Map<number, number>;
  text: boolean;
}

/** The in-memory buffer of new documents; refresh seals it into a Segment. */
export class SegmentBuilder {
  private readonly metas: DocMeta[] = [];
  private readonly sources: Record<string, unknown>[] = [];
  private readonly fields = new Map<string, FieldBuilder>();
  private readonly keywordValues = new Map<string, Map<number, string[]>>();
  private readonly numericValues = new Map<string, Map<number, number[]>>();
  private readonly pool = new IntBlockPool();
  /** Per completion field, its inputs so far (keyed at add: the analyzer is at hand then). */
  private completionInputs: Map<string, { key: string; input: string; weight: number; doc: number }[]> | undefined;
  /** Per nested path, a builder of its objects and each object's parent and offset. */
  private nestedBuilders: Map<string, { builder: SegmentBuilder; parents: number[]; offsets: number[] }> | undefined;

  constructor(readonly name: string) {}

  get size(): number {
    return this.metas.length;
  }

  meta(doc: number): DocMeta {
    return this.metas[doc]!;
  }

  source(doc: number): Record<string, unknown> {
    return this.sources[doc]!;
  }

  /** Add a parsed document (its nested objects too, when `nested` has them); returns its doc id in this segment. */
  add(meta: DocMeta, source: Record<string, unknown>, fields: ParsedField[], analyzerFor: (f: ParsedField) => Analyzer, nested?: ParsedDoc['nested']): number {
    const doc = this.metas.length;
    this.metas.push(meta);
    this.sources.push(source);
    if (nested) this.addNested(doc, meta, nested, analyzerFor);
    for (const f of fields) {
      switch (f.mapping.type) {
        case 'text':
          this.invertText(doc, f, analyzerFor(f));
          break;
        case 'keyword':
          if (f.strings.length > 0) {
            this.invertKeyword(doc, f.path, f.strings);
            setValues(this.keywordValues, f.path, doc, f.strings);
          }
          break;
        case 'completion':
          this.addCompletion(doc, f, analyzerFor(f));
          break;
        default:
          if (f.numbers.length > 0) setValues(this.numericValues, f.path, doc, f.numbers);
      }
    }
    return doc;
  }

  private addCompletion(doc: number, f: ParsedField, analyzer: Analyzer): void {
    this.completionInputs ??= new Map();
    let entries = this.completionInputs.get(f.path);
    if (!entries) this.completionInputs.set(f.path, (entries = []));
    const m = f.mapping;
    const options = keyOptionsOf(m);
    for (let i = 0; i < f.strings.length; i++) {
      const input = f.strings[i]!;
      const key = completionKey(analyzer.analyze(input.slice(0, m.max_input_length ?? DEFAULT_MAX_INPUT_LENGTH)), options);
      // An input that analyses to nothing (only stop words) cannot be suggested.
      if (key !== '') entries.push({ key, input, weight: f.numbers[i]!, doc });
    }
  }

  private addNested(doc: number, meta: DocMeta, nested: Map<string, NestedObject[]>, analyzerFor: (f: ParsedField) => Analyzer): void {
    this.nestedBuilders ??= new Map();
    for (const [path, objects] of nested) {
      let nb = this.nestedBuilders.get(path);
      if (!nb) this.nestedBuilders.set(path, (nb = { builder: new SegmentBuilder(`${this.name}#${path}`), parents: [], offsets: [] }));
      for (const o of objects) {
        nb.builder.add(meta, o.source, o.doc.fields, analyzerFor, o.doc.nested);
        nb.parents.push(doc);
        nb.offsets.push(o.offset);
      }
    }
  }

  seal(): Segment {
    const maxDoc = this.metas.length;
    let nested: Map<string, NestedDocs> | undefined;
    if (this.nestedBuilders) {
      nested = new Map();
      for (const [path, nb] of this.nestedBuilders) {
        const parentOf = Int32Array.from(nb.parents);
        const childStart = new Int32Array(maxDoc + 1);
        // Children come in parent order: a parent's range starts after every earlier parent's children.
        let c = 0;
        for (let p = 0; p <= maxDoc; p++) {
          while (c < parentOf.length && parentOf[c]! < p) c++;
          childStart[p] = c;
        }
        nested.set(path, { segment: nb.builder.seal(), parentOf, childStart, offsetOf: Int32Array.from(nb.offsets) });
      }
    }
    const fields = new Map<string, FieldIndex>();
    for (const [path, fb] of this.fields) {
      let norms: Uint8Array | undefined;
      if (fb.text) {
        norms = new Uint8Array(maxDoc);
        for (const [doc, len] of fb.lengths) norms[doc] = encodeNorm(len);
      }
      fields.set(path, sealField(fb, norms));
    }
    const columns = new Map<string, Column>();
    for (const [path, values] of this.numericValues) columns.set(path, numericColumn(maxDoc, values));
    for (const [path, values] of this.keywordValues) columns.set(path, keywordColumn(maxDoc, values));
    let completions: Map<string, CompletionIndex> | undefined;
    if (this.completionInputs) {
      completions = new Map();
      for (const [path, entries] of this.completionInputs) completions.set(path, CompletionIndex.build(entries));
    }
    return new Segment(this.name, docColumns(this.metas), this.sources, fields, columns, nested, completions);
  }

  private fieldBuilder(path: string, text: boolean): FieldBuilder {
    let fb = this.fields.get(path);
    if (!fb) this.fields.set(path, (fb = { terms: new PostingsPool(text, this.pool), docCount: 0, sumTotalTermFreq: 0, lengths: new Map(), text }));
    return fb;
  }

  private invertText(doc: number, f: ParsedField, analyzer: Analyzer): void {
    const fb = this.fieldBuilder(f.path, true);
    const terms = fb.terms;
    let base = 0;
    let length = 0;
    for (const value of f.strings) {
      let last = -1;
      for (const t of analyzer.analyze(value)) {
        const pos = base + t.position;
        terms.add(t.term, doc, pos);
        last = pos;
        length++;
      }
      base = (last >= 0 ? last + 1 : base) + POSITION_INCREMENT_GAP;
    }
    if (length === 0) return;
    fb.docCount++;
    fb.sumTotalTermFreq += length;
    fb.lengths.set(doc, length);
  }

  private invertKeyword(doc: number, path: string, values: string[]): void {
    const fb = this.fieldBuilder(path, false);
    fb.docCount++;
    const unique = new Set(values);
    fb.sumTotalTermFreq += unique.size;
    for (const term of unique) fb.terms.add(term, doc, 0);
  }
}

function setValues<T>(map: Map<string, Map<number, T[]>>, path: string, doc: number, values: T[]): void {
  let m = map.get(path);
  if (!m) map.set(path, (m = new Map()));
  m.set(doc, values);
}

/** A field's postings, sealed: every term's into shared arrays, with top docs and impacts where due. */
function sealField(fb: FieldBuilder, norms: Uint8Array | undefined): FieldIndex {
  const pool = fb.terms;
  const { postings, positions: positionCount } = pool.totals();
  const shared: BuiltPostings = { docs: new Int32Array(postings), freqs: new Int32Array(postings) };
  if (pool.withPositions) {
    shared.posStarts = new Int32Array(postings + pool.size);
    shared.positions = new Int32Array(positionCount);
  }
  const avgdl = fb.docCount > 0 ? fb.sumTotalTermFreq / fb.docCount : 1;
  const terms = new Map<string, TermPostings>();
  const impacts: Int32Array[] = [];
  const tops: Int32Array[] = [];
  let impactLength = 0;
  let topLength = 0;
  let at = 0;
  let posBase = 0;
  let positionAt = 0;
  for (const [term, id] of pool.terms()) {
    const df = pool.docCount(id);
    pool.readInto(id, shared, at, posBase, positionAt);
    let impactBase = -1;
    let topStart = -1;
    let topEnd = -1;
    if (df > TOP_DOCS_MIN_DF) {
      const docs = shared.docs.subarray(at, at + df);
      const freqs = shared.freqs.subarray(at, at + df);
      if (df > IMPACT_BLOCK) {
        const im = blockImpacts(docs, freqs, norms);
        impactBase = impactLength;
        impacts.push(im);
        impactLength += im.length;
      }
      const top = topDocs(docs, freqs, norms, avgdl);
      if (top) {
        topStart = topLength;
        topEnd = topLength + top.length;
        tops.push(top);
        topLength = topEnd;
      }
    }
    terms.set(term, { df, start: at, posBase: pool.withPositions ? posBase : -1, impactBase, topStart, topEnd });
    if (shared.posStarts) {
      positionAt = shared.posStarts[posBase + df]!;
      posBase += df + 1;
    }
    at += df;
  }
  return fieldIndex(terms, {
    docCount: fb.docCount,
    sumTotalTermFreq: fb.sumTotalTermFreq,
    norms,
    docs: shared.docs,
    freqs: shared.freqs,
    posStarts: shared.posStarts,
    positions: shared.positions,
    impacts: concat(impacts, impactLength),
    topDocs: concat(tops, topLength),
    topDocsAvgdl: avgdl,
  });
}

/** A FieldIndex of its dictionary and arrays (sealed here, or read from a segment file). */
export function fieldIndex(terms: Map<string, TermPostings>, rest: Omit<FieldIndex, 'terms' | 'sortedTerms'>): FieldIndex {
  // Sorted on first use (prefix, wildcard, fuzzy, term ranges): most segments of a write-heavy
  // index are merged away before any such query, and sorting is a tenth of a refresh.
  let sorted: string[] | undefined;
  return {
    terms,
    get sortedTerms() {
      return (sorted ??= [...terms.keys()].sort());
    },
    docCount: rest.docCount,
    sumTotalTermFreq: rest.sumTotalTermFreq,
    norms: rest.norms,
    docs: rest.docs,
    freqs: rest.freqs,
    posStarts: rest.posStarts,
    positions: rest.positions,
    impacts: rest.impacts,
    topDocs: rest.topDocs,
    topDocsAvgdl: rest.topDocsAvgdl,
  };
}

function concat(parts: Int32Array[], length: number): Int32Array {
  const out = new Int32Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A term's block-max impacts (TermPostings.impactBase): per block of IMPACT_BLOCK postings, its Pareto frontier of (freq, norm):
 * for each norm byte in ascending order (norm bytes order lengths), the block's highest freq at
 * that norm, kept only if it beats every shorter norm's. Norm bytes are 0..255, so a block is
 * bucketed in one small scratch table.
 */
export function blockImpacts(docs: Int32Array, freqs: Int32Array, norms: Uint8Array | undefined): Int32Array {
  const blocks = Math.ceil(docs.length / IMPACT_BLOCK);
  const out: number[] = new Array(blocks + 1).fill(0);
  const best = new Int32Array(256); // best freq per norm byte in the current block; 0 = none
  for (let b = 0; b < blocks; b++) {
    out[b] = out.length;
    const lo = b * IMPACT_BLOCK;
    const hi = Math.min(docs.length, lo + IMPACT_BLOCK);
    let minNorm = 255;
    let maxNorm = 0;
    for (let i = lo; i < hi; i++) {
      const n = norms ? norms[docs[i]!]! : 0;
      if (freqs[i]! > best[n]!) best[n] = freqs[i]!;
      if (n < minNorm) minNorm = n;
      if (n > maxNorm) maxNorm = n;
    }
    let top = 0;
    for (let n = minNorm; n <= maxNorm; n++) {
      const f = best[n]!;
      if (f > top) {
        out.push(f, n);
        top = f;
      }
      best[n] = 0;
    }
  }
  out[blocks] = out.length;
  return Int32Array.from(out);
}

// Scratch for topDocs: per (freq, norm) key = freq · 256 + norm (freq < 256), a count, then a quota.
const keyTable = new Int32Array(256 * 256);

/**
 * A term's top docs (TermPostings.topStart). Docs are grouped by (freq, norm); the groups, sorted by freq descending
 * then norm ascending, come after every group that dominates them. A group's dominators are the
 * docs of earlier groups with a norm <= its own; a group keeps its first TOP_DOCS_K − dominators
 * docs (in doc order, the tie-break), if any. Then they are put in rank order for `avgdl`.
 */
export function topDocs(docs: Int32Array, freqs: Int32Array, norms: Uint8Array | undefined, avgdl: number): Int32Array | undefined {
  const n = docs.length;
  let maxFreq = 0;
  for (let i = 0; i < n; i++) if (freqs[i]! > maxFreq) maxFreq = freqs[i]!;
  if (maxFreq >= 2 ** 20) return undefined;
  // Counts per key: the scratch table when every key fits, else a Map.
  const small = maxFreq < 256;
  const big = small ? undefined : new Map<number, number>();
  const keys: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = groupKey(docs, freqs, norms, i);
    const c = small ? keyTable[key]! : (big!.get(key) ?? 0);
    if (c === 0) keys.push(key);
    if (small) keyTable[key] = c + 1;
    else big!.set(key, c + 1);
  }
  keys.sort((a, b) => (b >> 8) - (a >> 8) || (a & 255) - (b & 255));
  const quota = new Int32Array(keys.length);
  for (let g = 0; g < keys.length; g++) {
    const norm = keys[g]! & 255;
    let dominators = 0;
    for (let j = 0; j < g && dominators < TOP_DOCS_K; j++) if ((keys[j]! & 255) <= norm) dominators += small ? keyTable[keys[j]!]! : big!.get(keys[j]!)!;
    quota[g] = Math.max(0, TOP_DOCS_K - dominators);
  }
  // From here the table holds quotas.
  for (let g = 0; g < keys.length; g++) {
    if (small) keyTable[keys[g]!] = quota[g]!;
    else big!.set(keys[g]!, quota[g]!);
  }
  const picked: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = groupKey(docs, freqs, norms, i);
    const q = small ? keyTable[key]! : big!.get(key)!;
    if (q === 0) continue;
    picked.push(i);
    if (small) keyTable[key] = q - 1;
    else big!.set(key, q - 1);
  }
  if (small) for (const key of keys) keyTable[key] = 0;
  // Rank order, computed as a query computes scores (any positive weight keeps it, up to rounding).
  const lf = lengthCache(avgdl);
  picked.sort((a, b) => rankScore(docs, freqs, norms, lf, b) - rankScore(docs, freqs, norms, lf, a) || a - b);
  const out = new Int32Array(picked.length * 2);
  for (let j = 0; j < picked.length; j++) {
    const i = picked[j]!;
    out[2 * j] = docs[i]!;
    out[2 * j + 1] = groupKey(docs, freqs, norms, i);
  }
  return out;
}

// (Module functions, not closures in topDocs: it runs once per term at refresh, and under tsx each
// closure made per call costs an Object.defineProperty naming it.)
/** A posting's (freq, norm) group: freq · 256 + norm. */
function groupKey(docs: Int32Array, freqs: Int32Array, norms: Uint8Array | undefined, i: number): number {
  return freqs[i]! * 256 + (norms ? norms[docs[i]!]! : 0);
}

/** A posting's BM25 tf factor: its rank among the term's postings for any positive weight. */
function rankScore(docs: Int32Array, freqs: Int32Array, norms: Uint8Array | undefined, lf: Float64Array, i: number): number {
  return freqs[i]! / (freqs[i]! + (norms ? lf[norms[docs[i]!]!]! : K1));
}

function numericColumn(maxDoc: number, values: Map<number, number[]>): NumericColumn {
  const offsets = new Uint32Array(maxDoc + 1);
  let total = 0;
  for (let d = 0; d < maxDoc; d++) {
    offsets[d] = total;
    total += values.get(d)?.length ?? 0;
  }
  offsets[maxDoc] = total;
  const out = new Float64Array(total);
  for (const [d, vs] of values) out.set([...vs].sort((a, b) => a - b), offsets[d]!);
  return { kind: 'numeric', offsets, values: out };
}

function keywordColumn(maxDoc: number, values: Map<number, string[]>): KeywordColumn {
  const seen = new Set<string>();
  let upper = 0;
  for (const vs of values.values()) {
    upper += vs.length;
    for (const v of vs) seen.add(v);
  }
  const dict = [...seen].sort();
  const ordOf = new Map<string, number>();
  for (let i = 0; i < dict.length; i++) ordOf.set(dict[i]!, i);
  // Each doc's distinct ordinals, ascending, back to back (most docs have one value).
  const offsets = new Uint32Array(maxDoc + 1);
  const all = new Uint32Array(upper);
  let at = 0;
  for (let d = 0; d < maxDoc; d++) {
    offsets[d] = at;
    const vs = values.get(d);
    if (vs === undefined || vs.length === 0) continue;
    if (vs.length === 1) {
      all[at++] = ordOf.get(vs[0]!)!;
      continue;
    }
    const from = at;
    for (const v of vs) all[at++] = ordOf.get(v)!;
    all.subarray(from, at).sort();
    let w = from + 1;
    for (let r = from + 1; r < at; r++) if (all[r] !== all[w - 1]) all[w++] = all[r]!;
    at = w;
  }
  offsets[maxDoc] = at;
  return { kind: 'keyword', terms: dict, offsets, ords: all.slice(0, at) };
}
