import fs from 'node:fs';
import os from 'node:os';
import { crc } from '../storage/framed.ts';
import { decode, encode } from '../transport/codec.ts';
import { CompletionIndex } from './completion.ts';
import { decodeDeltas, encodeDeltas } from './varint.ts';
import { fieldIndex, Segment, type FieldIndex, type NestedDocs, type SegmentDocs, type TermPostings } from './segment.ts';
import type { Column } from './types.ts';

/**
 * The segment file (`seg-<name>.seg`): a sealed Segment as it is in memory, its index included, so
 * opening a shard reads the index instead of analysing and inverting every document again.
 * Integers are little-endian.
 *
 * - Header, 40 bytes: magic `SHOALSEG`, u32 format version, u32 section count, u64 file length,
 *   u32 TOC length, u32 crc32 of the TOC (with its padding), u32 reserved (0), u32 crc32 of the
 *   36 bytes before it.
 * - TOC (msgpack): `{ keptSections, sections: [name, kind, offset, byteLength, crc32][] }`,
 *   offsets from the data area; zero padding to a multiple of 8 bytes.
 * - Data area: the sections back to back, each starting at a multiple of 8 bytes and zero-padded
 *   to one; a section's crc32 covers its padding too, so every byte of the file is checked. First
 *   the typed arrays the segment keeps (the first `keptSections`: read into one buffer that the
 *   loaded arrays are views of), then what is only read while loading (term tables, msgpack sections: read
 *   into a buffer that is dropped after).
 */
export const SEGMENT_MAGIC = 'SHOALSEG';
/** 2: postings as varints (zi32 sections). */
export const SEGMENT_FORMAT_VERSION = 2;
const HEADER_BYTES = 40;
const ALIGN = 8;

/** `zi32`: an Int32Array as zigzag-delta varints (varint.ts), decoded while loading. */
type Kind = 'i32' | 'u32' | 'f64' | 'u8' | 'msgpack' | 'zi32';

interface Section {
  name: string;
  kind: Kind;
  bytes: Uint8Array;
}

/** One TOC entry: where a section is, relative to the data area. */
export interface SectionEntry {
  name: string;
  kind: Kind;
  offset: number;
  byteLength: number;
  crc: number;
  /** One of the arrays a loaded segment keeps (a view of the kept buffer). */
  kept: boolean;
}

export interface SegmentFileLayout {
  version: number;
  fileLength: number;
  /** Where the data area starts in the file. */
  dataStart: number;
  /** The kept arrays' bytes: the start of the data area. */
  keptBytes: number;
  sections: SectionEntry[];
}

/** The segment's description: what is not a typed array or a string list. */
interface SegmentMeta {
  name: string;
  maxDoc: number;
  fields: { path: string; docCount: number; sumTotalTermFreq: number; topDocsAvgdl: number; norms: boolean; positions: boolean }[];
  columns: { path: string; kind: Column['kind'] }[];
  /** Nested paths directly under this segment's scope with objects here (each a sub-segment). */
  nested: string[];
  /** Completion fields with entries here. */
  completions?: string[];
}

/** TermPostings as a table row: six ints per term, in dictionary order. */
const TERM_ROW = 6;

const fieldSection = (path: string, part: string): string => `field[${path}].${part}`;
const columnSection = (path: string, part: string): string => `column[${path}].${part}`;
/** Where a nested path's objects are named: under their parent segment's prefix. */
const nestedPrefix = (prefix: string, path: string): string => `${prefix}nested[${path}].`;
const completionSection = (path: string, part: string): string => `completion[${path}].${part}`;

function requireLittleEndian(): void {
  // Typed arrays are written and viewed in the host's byte order.
  if (os.endianness() !== 'LE') throw new Error('segment files need a little-endian host');
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
const ZEROS = new Uint8Array(ALIGN);

/** The bytes of the segment file of `segment`, in order (its live docs are not in it: see `.liv`). */
export function segmentFileChunks(segment: Segment): Uint8Array[] {
  requireLittleEndian();
  const w = new SectionWriter();
  w.segment(segment, '');
  return layOut([...w.kept, ...w.loadOnly, ...w.packed], w.kept.length);
}

/** Lists a segment's sections (and its nested objects' sub-segments', recursively) by part of the file. */
class SectionWriter {
  readonly kept: Section[] = [];
  readonly loadOnly: Section[] = [];
  readonly packed: Section[] = [];

  /** The sections of `segment`, named under `prefix` (`nested[<path>].` for a nested path's objects). */
  segment(segment: Segment, prefix: string): void {
    const { docs, sources, fields, columns, nested, completions } = segment.parts();
    const meta: SegmentMeta = { name: segment.name, maxDoc: segment.maxDoc, fields: [], columns: [], nested: [...nested.keys()], completions: [...completions.keys()] };
    this.array(this.kept, `${prefix}docs.seq_no`, 'f64', docs.seqNos);
    this.array(this.kept, `${prefix}docs.primary_term`, 'f64', docs.primaryTerms);
    this.array(this.kept, `${prefix}docs.version`, 'f64', docs.versions);
    this.msgpack(`${prefix}docs.ids`, docs.ids);
    for (const [path, fi] of fields) {
      meta.fields.push({ path, docCount: fi.docCount, sumTotalTermFreq: fi.sumTotalTermFreq, topDocsAvgdl: fi.topDocsAvgdl, norms: fi.norms !== undefined, positions: fi.positions !== undefined });
      const name = `${prefix}${fieldSection(path, '')}`;
      const terms: string[] = [];
      const table = new Int32Array(TERM_ROW * fi.terms.size);
      let row = 0;
      for (const [term, p] of fi.terms) {
        terms.push(term);
        table[row] = p.df;
        table[row + 1] = p.start;
        table[row + 2] = p.posBase;
        table[row + 3] = p.impactBase;
        table[row + 4] = p.topStart;
        table[row + 5] = p.topEnd;
        row += TERM_ROW;
      }
      this.msgpack(`${name}terms`, terms);
      this.array(this.loadOnly, `${name}term_postings`, 'i32', table);
      // The postings, most of the file: mostly small gaps and counts, one byte each as varints.
      this.deltas(`${name}docs`, fi.docs);
      this.deltas(`${name}freqs`, fi.freqs);
      if (fi.posStarts) this.deltas(`${name}pos_starts`, fi.posStarts);
      if (fi.positions) this.deltas(`${name}positions`, fi.positions);
      this.array(this.kept, `${name}impacts`, 'i32', fi.impacts);
      this.array(this.kept, `${name}top_docs`, 'i32', fi.topDocs);
      if (fi.norms) this.array(this.kept, `${name}norms`, 'u8', fi.norms);
    }
    for (const [path, column] of columns) {
      meta.columns.push({ path, kind: column.kind });
      const name = `${prefix}${columnSection(path, '')}`;
      this.array(this.kept, `${name}offsets`, 'u32', column.offsets);
      if (column.kind === 'numeric') this.array(this.kept, `${name}values`, 'f64', column.values);
      else {
        this.array(this.kept, `${name}ords`, 'u32', column.ords);
        this.msgpack(`${name}terms`, column.terms);
      }
    }
    for (const [path, c] of completions) {
      const name = `${prefix}${completionSection(path, '')}`;
      this.msgpack(`${name}keys`, c.keys);
      this.msgpack(`${name}inputs`, c.inputs);
      this.array(this.kept, `${name}weights`, 'f64', c.weights);
      this.array(this.kept, `${name}docs`, 'i32', c.docs);
    }
    for (const [path, n] of nested) {
      const child = nestedPrefix(prefix, path);
      this.array(this.kept, `${child}parent_of`, 'i32', n.parentOf);
      this.array(this.kept, `${child}child_start`, 'i32', n.childStart);
      this.array(this.kept, `${child}offset_of`, 'i32', n.offsetOf);
      this.segment(n.segment, child);
    }
    this.msgpack(`${prefix}source`, sources);
    this.msgpack(`${prefix}segment`, meta);
  }

  private array(to: Section[], name: string, kind: Kind, a: Int32Array | Uint32Array | Float64Array | Uint8Array): void {
    to.push({ name, kind, bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) });
  }

  private msgpack(name: string, value: unknown): void {
    this.packed.push({ name, kind: 'msgpack', bytes: encode(value) });
  }

  /** An Int32Array as zigzag-delta varints: read while loading, decoded into an array of its own. */
  private deltas(name: string, a: Int32Array): void {
    this.loadOnly.push({ name, kind: 'zi32', bytes: encodeDeltas(a) });
  }
}

/** Header, TOC and the sections in order, the first `keptCount` of them being the kept arrays. */
function layOut(sections: Section[], keptCount: number): Uint8Array[] {
  const entries: [string, Kind, number, number, number][] = [];
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const s of sections) {
    const padded = align(s.bytes.length);
    const padding = ZEROS.subarray(0, padded - s.bytes.length);
    entries.push([s.name, s.kind, offset, s.bytes.length, crc(padding, crc(s.bytes))]);
    data.push(s.bytes, padding);
    offset += padded;
  }
  const toc = encode({ keptSections: keptCount, sections: entries });
  const tocPadding = ZEROS.subarray(0, align(HEADER_BYTES + toc.length) - HEADER_BYTES - toc.length);
  const dataStart = HEADER_BYTES + toc.length + tocPadding.length;
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(SEGMENT_MAGIC, 0, 'latin1');
  header.writeUInt32LE(SEGMENT_FORMAT_VERSION, 8);
  header.writeUInt32LE(sections.length, 12);
  const fileLength = dataStart + offset;
  header.writeUInt32LE(fileLength % 2 ** 32, 16);
  header.writeUInt32LE(Math.floor(fileLength / 2 ** 32), 20);
  header.writeUInt32LE(toc.length, 24);
  header.writeUInt32LE(crc(tocPadding, crc(toc)), 28);
  header.writeUInt32LE(crc(header.subarray(0, HEADER_BYTES - 4)), HEADER_BYTES - 4);
  return [header, toc, tocPadding, ...data];
}

/** A damaged segment file: names the file and the section. */
export class SegmentFileError extends Error {
  constructor(
    readonly file: string,
    readonly section: string,
    reason: string,
  ) {
    super(`ShardStore: ${file} is corrupt: section ${section}: ${reason}`);
    this.name = 'SegmentFileError';
  }
}

function readFully(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** The header and TOC of an open segment file, checked (CRCs, magic, version, length). */
function readLayout(fd: number, file: string): SegmentFileLayout {
  const size = fs.fstatSync(fd).size;
  const fail = (section: string, reason: string): never => {
    throw new SegmentFileError(file, section, reason);
  };
  if (size < HEADER_BYTES) fail('header', `truncated: the file has ${size} bytes, the header alone ${HEADER_BYTES}`);
  const header = Buffer.alloc(HEADER_BYTES);
  readFully(fd, header, 0);
  if (header.toString('latin1', 0, 8) !== SEGMENT_MAGIC) fail('header', 'not a segment file (bad magic)');
  if (crc(header.subarray(0, HEADER_BYTES - 4)) !== header.readUInt32LE(HEADER_BYTES - 4)) fail('header', 'crc mismatch');
  const version = header.readUInt32LE(8);
  if (version !== SEGMENT_FORMAT_VERSION) fail('header', `format version ${version} is not supported (this build reads ${SEGMENT_FORMAT_VERSION})`);
  const count = header.readUInt32LE(12);
  const fileLength = header.readUInt32LE(16) + header.readUInt32LE(20) * 2 ** 32;
  const tocLength = header.readUInt32LE(24);
  const dataStart = align(HEADER_BYTES + tocLength);
  if (size < dataStart) fail('toc', `truncated: the file has ${size} bytes, the TOC ends at ${dataStart}`);
  const toc = Buffer.alloc(dataStart - HEADER_BYTES);
  readFully(fd, toc, HEADER_BYTES);
  if (crc(toc) !== header.readUInt32LE(28)) fail('toc', 'crc mismatch');
  let parsed: { keptSections: number; sections: [string, Kind, number, number, number][] };
  try {
    parsed = decode(toc.subarray(0, tocLength)) as typeof parsed;
  } catch {
    return fail('toc', 'undecodable');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.sections) || !Number.isSafeInteger(parsed.keptSections) || parsed.keptSections < 0 || parsed.keptSections > parsed.sections.length) fail('toc', 'not a table of sections');
  const sections = parsed.sections.map(([name, kind, offset, byteLength, c], i) => ({ name, kind, offset, byteLength, crc: c, kept: i < parsed.keptSections }));
  // Written back to back: anything else is damage (or not our writer).
  let at = 0;
  for (const s of sections) {
    if (s.offset !== at) fail(s.name, `starts at ${s.offset}, expected ${at}`);
    at += align(s.byteLength);
  }
  if (sections.length !== count) fail('toc', `${sections.length} sections, the header says ${count}`);
  if (dataStart + at !== fileLength) fail('toc', `sections end at ${dataStart + at}, the header says the file has ${fileLength} bytes`);
  if (size < fileLength) {
    const cut = sections.find((s) => dataStart + s.offset + align(s.byteLength) > size)!;
    fail(cut.name, `truncated: the file has ${size} of ${fileLength} bytes`);
  }
  if (size > fileLength) fail('end', `${size - fileLength} bytes after the last section`);
  const lastKept = sections[parsed.keptSections - 1];
  const keptBytes = lastKept ? lastKept.offset + align(lastKept.byteLength) : 0;
  return { version, fileLength, dataStart, keptBytes, sections };
}

/** The header and TOC of a segment file (tools and tests: where each section is). */
export function readSegmentLayout(file: string): SegmentFileLayout {
  const fd = fs.openSync(file, 'r');
  try {
    return readLayout(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The segment a segment file holds, every section's CRC checked first: no analysis, no
 * inversion. Its typed arrays are views of one buffer read from the file. All docs are live:
 * the caller applies the live-docs file. Damage throws a SegmentFileError.
 */
export function readSegmentFile(file: string): Segment {
  requireLittleEndian();
  const fd = fs.openSync(file, 'r');
  let layout: SegmentFileLayout;
  let kept: ArrayBuffer;
  let rest: Uint8Array<ArrayBuffer>;
  try {
    layout = readLayout(fd, file);
    const dataLength = layout.fileLength - layout.dataStart;
    kept = new ArrayBuffer(layout.keptBytes);
    readFully(fd, new Uint8Array(kept), layout.dataStart);
    // A buffer of its own (not Node's pool): 8-aligned for the term tables' views.
    rest = new Uint8Array(new ArrayBuffer(dataLength - layout.keptBytes));
    readFully(fd, rest, layout.dataStart + layout.keptBytes);
  } finally {
    fs.closeSync(fd);
  }
  return new SegmentReader(file, layout, kept, rest).segment();
}

const ELEMENT_BYTES: Record<Exclude<Kind, 'msgpack' | 'zi32'>, number> = { i32: 4, u32: 4, f64: 8, u8: 1 };

/** Builds a Segment from a checked layout and the file's bytes. */
class SegmentReader {
  private readonly byName = new Map<string, SectionEntry>();

  constructor(
    private readonly file: string,
    layout: SegmentFileLayout,
    private readonly kept: ArrayBuffer,
    private readonly rest: Uint8Array<ArrayBuffer>,
  ) {
    for (const s of layout.sections) {
      const bytes = this.bytes(s);
      if (crc(bytes) !== s.crc) this.fail(s.name, 'crc mismatch');
      this.byName.set(s.name, s);
    }
  }

  /** The segment whose sections are named under `prefix`, its nested objects' sub-segments with it. */
  segment(prefix = ''): Segment {
    const metaName = `${prefix}segment`;
    const meta = this.msgpack(metaName) as SegmentMeta;
    if (typeof meta !== 'object' || meta === null || !Number.isSafeInteger(meta.maxDoc) || !Array.isArray(meta.fields) || !Array.isArray(meta.columns) || !Array.isArray(meta.nested)) this.fail(metaName, 'not a segment description');
    const n = meta.maxDoc;
    const ids = this.strings(`${prefix}docs.ids`, n);
    const docs: SegmentDocs = { ids, seqNos: this.f64(`${prefix}docs.seq_no`, n), primaryTerms: this.f64(`${prefix}docs.primary_term`, n), versions: this.f64(`${prefix}docs.version`, n) };
    const fields = new Map<string, FieldIndex>();
    for (const f of meta.fields) fields.set(f.path, this.field(`${prefix}${fieldSection(f.path, '')}`, f, n));
    const columns = new Map<string, Column>();
    for (const c of meta.columns) {
      const name = `${prefix}${columnSection(c.path, '')}`;
      const offsets = this.u32(`${name}offsets`, n + 1);
      if (c.kind === 'numeric') columns.set(c.path, { kind: 'numeric', offsets, values: this.f64(`${name}values`, offsets[n]!) });
      else columns.set(c.path, { kind: 'keyword', terms: this.strings(`${name}terms`), offsets, ords: this.u32(`${name}ords`, offsets[n]!) });
    }
    const nested = new Map<string, NestedDocs>();
    for (const path of meta.nested) {
      const child = nestedPrefix(prefix, path);
      const segment = this.segment(child);
      nested.set(path, { segment, parentOf: this.i32(`${child}parent_of`, segment.maxDoc), childStart: this.i32(`${child}child_start`, n + 1), offsetOf: this.i32(`${child}offset_of`, segment.maxDoc) });
    }
    if (meta.completions !== undefined && !Array.isArray(meta.completions)) this.fail(metaName, 'not a segment description');
    const completions = new Map<string, CompletionIndex>();
    for (const path of meta.completions ?? []) {
      const name = `${prefix}${completionSection(path, '')}`;
      const keys = this.strings(`${name}keys`);
      completions.set(path, CompletionIndex.fromParts(keys, this.strings(`${name}inputs`, keys.length), this.f64(`${name}weights`, keys.length), this.i32(`${name}docs`, keys.length)));
    }
    const sources = this.msgpack(`${prefix}source`);
    if (!Array.isArray(sources) || sources.length !== n) this.fail(`${prefix}source`, `expected ${n} sources`);
    return new Segment(meta.name, docs, sources as Record<string, unknown>[], fields, columns, nested.size > 0 ? nested : undefined, completions.size > 0 ? completions : undefined);
  }

  /** A field's index from its sections (named `name` + part). */
  private field(name: string, f: SegmentMeta['fields'][number], maxDoc: number): FieldIndex {
    const words = this.strings(`${name}terms`);
    const table = this.typed(`${name}term_postings`, 'i32', words.length * TERM_ROW) as Int32Array;
    const terms = new Map<string, TermPostings>();
    for (let i = 0, r = 0; i < words.length; i++, r += TERM_ROW) {
      // The shape sealField gives them (one hidden class for every TermPostings).
      terms.set(words[i]!, { df: table[r]!, start: table[r + 1]!, posBase: table[r + 2]!, impactBase: table[r + 3]!, topStart: table[r + 4]!, topEnd: table[r + 5]! });
    }
    const docs = this.i32(`${name}docs`);
    return fieldIndex(terms, {
      docCount: f.docCount,
      sumTotalTermFreq: f.sumTotalTermFreq,
      norms: f.norms ? (this.typed(`${name}norms`, 'u8', maxDoc) as Uint8Array) : undefined,
      docs,
      freqs: this.i32(`${name}freqs`, docs.length),
      posStarts: f.positions ? this.i32(`${name}pos_starts`, docs.length + words.length) : undefined,
      positions: f.positions ? this.i32(`${name}positions`) : undefined,
      impacts: this.i32(`${name}impacts`),
      topDocs: this.i32(`${name}top_docs`),
      topDocsAvgdl: f.topDocsAvgdl,
    });
  }

  private fail(section: string, reason: string): never {
    throw new SegmentFileError(this.file, section, reason);
  }

  private entry(name: string): SectionEntry {
    return this.byName.get(name) ?? this.fail(name, 'missing');
  }

  /** A section's bytes with its padding (what its CRC covers). */
  private bytes(s: SectionEntry): Uint8Array<ArrayBuffer> {
    // (An empty kept array must be a view of the kept buffer too: one of `rest` would keep it alive.)
    const end = s.offset + align(s.byteLength);
    if (s.kept) return new Uint8Array(this.kept, s.offset, end - s.offset);
    return this.rest.subarray(s.offset - this.kept.byteLength, end - this.kept.byteLength);
  }

  private typed(name: string, kind: Exclude<Kind, 'msgpack' | 'zi32'>, length?: number): Int32Array | Uint32Array | Float64Array | Uint8Array {
    const s = this.entry(name);
    if (s.kind !== kind) this.fail(name, `holds ${s.kind}, expected ${kind}`);
    const count = s.byteLength / ELEMENT_BYTES[kind];
    if (length !== undefined && count !== length) this.fail(name, `holds ${count} values, expected ${length}`);
    const bytes = this.bytes(s);
    const View = { i32: Int32Array, u32: Uint32Array, f64: Float64Array, u8: Uint8Array }[kind];
    return new View(bytes.buffer, bytes.byteOffset, count);
  }

  /** An Int32Array section: raw (a view of the file's buffer), or varint-coded (decoded now). */
  private i32(name: string, length?: number): Int32Array {
    const s = this.entry(name);
    if (s.kind !== 'zi32') return this.typed(name, 'i32', length) as Int32Array;
    const values = decodeDeltas(this.bytes(s).subarray(0, s.byteLength)) ?? this.fail(name, 'undecodable varints');
    if (length !== undefined && values.length !== length) this.fail(name, `holds ${values.length} values, expected ${length}`);
    return values;
  }

  private u32(name: string, length: number): Uint32Array {
    return this.typed(name, 'u32', length) as Uint32Array;
  }

  private f64(name: string, length: number): Float64Array {
    return this.typed(name, 'f64', length) as Float64Array;
  }

  private msgpack(name: string): unknown {
    const s = this.entry(name);
    if (s.kind !== 'msgpack') this.fail(name, `holds ${s.kind}, expected msgpack`);
    try {
      return decode(this.bytes(s).subarray(0, s.byteLength));
    } catch {
      return this.fail(name, 'undecodable');
    }
  }

  private strings(name: string, length?: number): string[] {
    const v = this.msgpack(name);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return this.fail(name, 'not a list of strings');
    if (length !== undefined && v.length !== length) this.fail(name, `holds ${v.length} strings, expected ${length}`);
    return v as string[];
  }
}
