import type { ParsedField } from './mapping.ts';
import { encodeNorm } from './similarity.ts';
import type { Analyzer, Column, KeywordColumn, NumericColumn, SegmentColumns } from './types.ts';

/** Postings of one term in one segment: ascending doc ids, their frequencies and positions. */
export interface TermPostings {
  readonly docs: Int32Array;
  readonly freqs: Int32Array;
  /** positions of docs[i] are positions[posStarts[i] .. posStarts[i+1]) (text fields only). */
  readonly posStarts?: Int32Array;
  readonly positions?: Int32Array;
}

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
}

export interface DocMeta {
  id: string;
  seqNo: number;
  primaryTerm: number;
  version: number;
}

/** ES's gap between the values of a multi-valued text field, so phrases do not span values. */
const POSITION_INCREMENT_GAP = 100;

/**
 * An immutable segment (only its live-docs set changes, on delete). Built by SegmentBuilder and
 * sealed at refresh: from then on searches see it as a point-in-time snapshot.
 */
export class Segment implements SegmentColumns {
  readonly maxDoc: number;
  private readonly live: Uint8Array;
  private deleted = 0;

  constructor(
    readonly name: string,
    private readonly metas: DocMeta[],
    private readonly sources: Record<string, unknown>[],
    readonly fields: ReadonlyMap<string, FieldIndex>,
    private readonly columns: ReadonlyMap<string, Column>,
  ) {
    this.maxDoc = metas.length;
    this.live = new Uint8Array(this.maxDoc).fill(1);
  }

  get liveCount(): number {
    return this.maxDoc - this.deleted;
  }

  isLive(doc: number): boolean {
    return this.live[doc] === 1;
  }

  delete(doc: number): void {
    if (this.live[doc] === 1) {
      this.live[doc] = 0;
      this.deleted++;
    }
  }

  meta(doc: number): DocMeta {
    return this.metas[doc]!;
  }

  /** The live-docs bitmap (1 = live), for persistence. */
  liveBitmap(): Uint8Array {
    return this.live;
  }

  /** Stored fields, for persistence. */
  stored(): { metas: DocMeta[]; sources: Record<string, unknown>[] } {
    return { metas: this.metas, sources: this.sources };
  }

  id(doc: number): string {
    return this.metas[doc]!.id;
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

/**
 * Postings being built. Docs arrive in order, so a term's positions for one doc are appended
 * contiguously to one flat list: no per-(term, doc) arrays, little garbage.
 */
interface PostingsBuilder {
  docs: number[];
  freqs: number[];
  positions: number[];
  lastDoc: number;
}

interface FieldBuilder {
  terms: Map<string, PostingsBuilder>;
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

  /** Add a parsed document; returns its doc id in this segment. */
  add(meta: DocMeta, source: Record<string, unknown>, fields: ParsedField[], analyzerFor: (f: ParsedField) => Analyzer): number {
    const doc = this.metas.length;
    this.metas.push(meta);
    this.sources.push(source);
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
        default:
          if (f.numbers.length > 0) setValues(this.numericValues, f.path, doc, f.numbers);
      }
    }
    return doc;
  }

  seal(): Segment {
    const maxDoc = this.metas.length;
    const fields = new Map<string, FieldIndex>();
    for (const [path, fb] of this.fields) {
      const terms = new Map<string, TermPostings>();
      for (const [term, p] of fb.terms) terms.set(term, sealPostings(p, fb.text));
      let norms: Uint8Array | undefined;
      if (fb.text) {
        norms = new Uint8Array(maxDoc);
        for (const [doc, len] of fb.lengths) norms[doc] = encodeNorm(len);
      }
      fields.set(path, { terms, sortedTerms: [...terms.keys()].sort(), docCount: fb.docCount, sumTotalTermFreq: fb.sumTotalTermFreq, norms });
    }
    const columns = new Map<string, Column>();
    for (const [path, values] of this.numericValues) columns.set(path, numericColumn(maxDoc, values));
    for (const [path, values] of this.keywordValues) columns.set(path, keywordColumn(maxDoc, values));
    return new Segment(this.name, this.metas, this.sources, fields, columns);
  }

  private fieldBuilder(path: string, text: boolean): FieldBuilder {
    let fb = this.fields.get(path);
    if (!fb) this.fields.set(path, (fb = { terms: new Map(), docCount: 0, sumTotalTermFreq: 0, lengths: new Map(), text }));
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
        let p = terms.get(t.term);
        if (!p) terms.set(t.term, (p = { docs: [], freqs: [], positions: [], lastDoc: -1 }));
        if (p.lastDoc !== doc) {
          p.lastDoc = doc;
          p.docs.push(doc);
          p.freqs.push(1);
        } else {
          p.freqs[p.freqs.length - 1]!++;
        }
        p.positions.push(pos);
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
    for (const term of unique) {
      let p = fb.terms.get(term);
      if (!p) fb.terms.set(term, (p = { docs: [], freqs: [], positions: [], lastDoc: -1 }));
      p.docs.push(doc);
      p.freqs.push(1);
      p.lastDoc = doc;
    }
  }
}

function setValues<T>(map: Map<string, Map<number, T[]>>, path: string, doc: number, values: T[]): void {
  let m = map.get(path);
  if (!m) map.set(path, (m = new Map()));
  m.set(doc, values);
}

function sealPostings(p: PostingsBuilder, withPositions: boolean): TermPostings {
  const docs = Int32Array.from(p.docs);
  const freqs = Int32Array.from(p.freqs);
  if (!withPositions) return { docs, freqs };
  // A doc's positions start where the previous docs' frequencies add up to.
  const posStarts = new Int32Array(docs.length + 1);
  for (let i = 0; i < freqs.length; i++) posStarts[i + 1] = posStarts[i]! + freqs[i]!;
  return { docs, freqs, posStarts, positions: Int32Array.from(p.positions) };
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
  const dict = [...new Set([...values.values()].flat())].sort();
  const ordOf = new Map(dict.map((t, i) => [t, i]));
  const offsets = new Uint32Array(maxDoc + 1);
  const perDoc: number[][] = [];
  let total = 0;
  for (let d = 0; d < maxDoc; d++) {
    offsets[d] = total;
    const ords = [...new Set((values.get(d) ?? []).map((t) => ordOf.get(t)!))].sort((a, b) => a - b);
    perDoc.push(ords);
    total += ords.length;
  }
  offsets[maxDoc] = total;
  const ords = new Uint32Array(total);
  perDoc.forEach((o, d) => ords.set(o, offsets[d]!));
  return { kind: 'keyword', terms: dict, offsets, ords };
}
