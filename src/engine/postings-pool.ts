/**
 * Postings of one field while a segment is being built, as Lucene's in-memory indexer keeps them:
 * every term's stream of ints (per doc: the doc, its freq, then its positions when kept) lives in
 * slices of Int32Array blocks (an IntBlockPool shared by the segment's fields), and per-term state
 * lives in parallel typed arrays. No JS object or array per term: indexing a token touches a few
 * typed arrays, and the garbage collector never copies postings.
 *
 * A term's stream starts in a slice of SLICE_SIZES[0] ints; the last int of a full slice holds the
 * address of the next, larger one (sizes grow along SLICE_SIZES, then stay at the last).
 */
const BLOCK_SHIFT = 13;
const BLOCK = 1 << BLOCK_SHIFT; // ints per block (32 KiB, as Lucene's)
const BLOCK_MASK = BLOCK - 1;
const SLICE_SIZES = [5, 14, 20, 30, 40, 40, 80, 80, 120, 200] as const;
const LAST_LEVEL = SLICE_SIZES.length - 1;

export interface BuiltPostings {
  docs: Int32Array;
  freqs: Int32Array;
  /** Text fields: where each doc's positions start in `positions` (length docs + 1). */
  posStarts?: Int32Array;
  positions?: Int32Array;
}

/** Int32Array blocks handed out in slices; one per segment being built, shared by its fields. */
export class IntBlockPool {
  readonly blocks: Int32Array[] = [];
  private upto = BLOCK; // the first slice allocates the first block

  /** `size` consecutive ints in one block; their address (block · BLOCK + offset). */
  alloc(size: number): number {
    if (this.upto + size > BLOCK) {
      this.blocks.push(new Int32Array(BLOCK));
      this.upto = 0;
    }
    const addr = (this.blocks.length - 1) * BLOCK + this.upto;
    this.upto += size;
    return addr;
  }
}

export class PostingsPool {
  private readonly ids = new Map<string, number>();
  private readonly blocks: Int32Array[];
  // Per term, by term id.
  private start = new Int32Array(64);
  private writeAt = new Int32Array(64);
  /** The address of the current slice's last int (where the next slice's address goes). */
  private sliceEnd = new Int32Array(64);
  private level = new Uint8Array(64);
  private length = new Int32Array(64);
  private lastDoc = new Int32Array(64);
  private freqAt = new Int32Array(64);
  private docCounts = new Int32Array(64);

  constructor(
    readonly withPositions: boolean,
    private readonly pool: IntBlockPool,
  ) {
    this.blocks = pool.blocks; // the same array: blocks the pool adds later are seen here
  }

  get size(): number {
    return this.ids.size;
  }

  /** One occurrence of `term` in `doc` (docs arrive in ascending order), at `position` for text fields. */
  add(term: string, doc: number, position: number): void {
    let id = this.ids.get(term);
    if (id === undefined) id = this.newTerm(term);
    if (this.lastDoc[id] !== doc) {
      this.lastDoc[id] = doc;
      this.docCounts[id]!++;
      this.write(id, doc);
      this.write(id, 1);
      // Where the freq went (not where it was due: a full slice moves the write to the next one).
      this.freqAt[id] = this.writeAt[id]! - 1;
    } else {
      const at = this.freqAt[id]!;
      this.blocks[at >>> BLOCK_SHIFT]![at & BLOCK_MASK]!++;
    }
    if (this.withPositions) this.write(id, position);
  }

  /** Every term with its id, in the order terms first came. */
  terms(): IterableIterator<[string, number]> {
    return this.ids.entries();
  }

  /** Postings (doc, freq) pairs and positions over every term: the sizes of a sealed field's arrays. */
  totals(): { postings: number; positions: number } {
    let postings = 0;
    let ints = 0;
    for (let id = 0; id < this.ids.size; id++) {
      postings += this.docCounts[id]!;
      ints += this.length[id]!;
    }
    return { postings, positions: this.withPositions ? ints - 2 * postings : 0 };
  }

  /** The number of docs with the term. */
  docCount(id: number): number {
    return this.docCounts[id]!;
  }

  /** A term's postings in typed arrays of their own. */
  read(id: number): BuiltPostings {
    const n = this.docCounts[id]!;
    const out: BuiltPostings = { docs: new Int32Array(n), freqs: new Int32Array(n) };
    if (this.withPositions) {
      out.posStarts = new Int32Array(n + 1);
      out.positions = new Int32Array(this.length[id]! - 2 * n);
    }
    this.readInto(id, out, 0, 0, 0);
    return out;
  }

  /**
   * A term's postings written into a sealed field's shared arrays: its docs and freqs from
   * `at`, its n + 1 position starts from `posStartAt`, holding offsets into `positions` from
   * `positionAt` on.
   */
  readInto(id: number, out: BuiltPostings, at: number, posStartAt: number, positionAt: number): void {
    const { docs, freqs, posStarts, positions } = out;
    const total = this.length[id]!;
    if (posStarts) posStarts[posStartAt] = positionAt;
    // Walk the slice chain: at the last int of a slice, jump to the next slice's address.
    const blocks = this.blocks;
    let from = this.start[id]!;
    let end = from + SLICE_SIZES[0] - 1;
    let level = 0;
    let p = positionAt;
    let i = 0;
    let field = 0; // 0: doc, 1: freq, 2: positions left of the current doc
    let left = 0;
    for (let k = 0; k < total; k++) {
      if (from === end) {
        from = blocks[end >>> BLOCK_SHIFT]![end & BLOCK_MASK]!;
        if (level < LAST_LEVEL) level++;
        end = from + SLICE_SIZES[level]! - 1;
      }
      const v = blocks[from >>> BLOCK_SHIFT]![from & BLOCK_MASK]!;
      from++;
      if (field === 0) {
        docs[at + i] = v;
        field = 1;
      } else if (field === 1) {
        freqs[at + i] = v;
        if (posStarts) {
          posStarts[posStartAt + i + 1] = posStarts[posStartAt + i]! + v;
          left = v;
          field = 2;
        } else {
          i++;
          field = 0;
        }
      } else {
        positions![p++] = v;
        if (--left === 0) {
          i++;
          field = 0;
        }
      }
    }
  }

  private write(id: number, value: number): void {
    let at = this.writeAt[id]!;
    if (at === this.sliceEnd[id]) at = this.nextSlice(id, at);
    this.blocks[at >>> BLOCK_SHIFT]![at & BLOCK_MASK] = value;
    this.writeAt[id] = at + 1;
    this.length[id]!++;
  }

  /** The slice ending at `pointerAt` is full: chain a larger one and return its first address. */
  private nextSlice(id: number, pointerAt: number): number {
    const level = Math.min(this.level[id]! + 1, LAST_LEVEL);
    const size = SLICE_SIZES[level]!;
    const addr = this.pool.alloc(size);
    this.blocks[pointerAt >>> BLOCK_SHIFT]![pointerAt & BLOCK_MASK] = addr;
    this.level[id] = level;
    this.sliceEnd[id] = addr + size - 1;
    return addr;
  }

  private newTerm(term: string): number {
    const id = this.ids.size;
    if (id === this.start.length) this.grow();
    this.ids.set(term, id);
    const addr = this.pool.alloc(SLICE_SIZES[0]);
    this.start[id] = addr;
    this.writeAt[id] = addr;
    this.sliceEnd[id] = addr + SLICE_SIZES[0] - 1;
    this.lastDoc[id] = -1;
    return id;
  }

  private grow(): void {
    const cap = this.start.length * 2;
    const bigger = <T extends Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.start = bigger(this.start);
    this.writeAt = bigger(this.writeAt);
    this.sliceEnd = bigger(this.sliceEnd);
    this.level = bigger(this.level);
    this.length = bigger(this.length);
    this.lastDoc = bigger(this.lastDoc);
    this.freqAt = bigger(this.freqAt);
    this.docCounts = bigger(this.docCounts);
  }
}
