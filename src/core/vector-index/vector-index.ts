/**
 * A gallery's vectors, searchable by inner product (cosine for L2-normalised vectors): int8 rows with a
 * scale each (int8-slab.ts), added, replaced and removed by id, searched exactly by a full scan below
 * `approximateFrom` vectors and through an IVF index (ivf-index.ts) above, once `build()` has run. Pure
 * TypeScript with a WebAssembly kernel: the same code runs on a page, in a worker and in Node.
 *
 * build() is a generator so the caller decides where the work goes: all at once (a worker, a script) or a
 * step at a time between other tasks (a page's main thread). The index stays usable while it runs.
 */
import { mulberry32 } from '../seeded-random.ts';
import { calibrateNprobe, IvfIndex } from './ivf-index.ts';
import { trainCoarseQuantizer } from './coarse-quantizer.ts';
import { sampleWithoutReplacement } from './kmeans.ts';
import { BLOCK, Int8Slab } from './int8-slab.ts';
import { TopK } from './top-k.ts';
import {
  autoNlist,
  validateVectorIndexOptions,
  type ResolvedVectorIndexOptions,
  type VectorIndexOptions,
} from './vector-index-options.ts';

export {
  DEFAULT_VECTOR_INDEX_OPTIONS,
  validateVectorIndexOptions,
  type VectorIndexOptions,
} from './vector-index-options.ts';

export interface VectorMatch {
  readonly id: string;
  readonly score: number;
}

export interface VectorIndexStats {
  readonly vectors: number;
  readonly dim: number;
  readonly kernel: 'wasm-simd' | 'js';
  /** Searches go through the IVF index (else: exact scan). */
  readonly approximate: boolean;
  readonly nlist: number | undefined;
  readonly nprobe: number | undefined;
  /** The calibration's recall@5 against the exact int8 scan at that nprobe. */
  readonly calibratedRecall: number | undefined;
  /** Bytes of the index's arrays: int8 rows and scales (reserved), IVF centroids and lists, slot -> id. */
  readonly bytes: { readonly vectors: number; readonly ivf: number; readonly ids: number; readonly total: number };
}

/**
 * The quantiser's shape (measured in docs/gallery-scale.md): 4 lists per top-level group and 8 groups
 * searched per assignment agree with a flat nearest-centroid search on 96% of vectors at a quarter of its
 * cost; faiss's 40 training points per list.
 */
const LISTS_PER_GROUP = 4;
const ASSIGN_GROUPS = 8;
const TRAINING_PER_LIST = 40;
/** Blocks of an exact scan per build step: 64k rows, a few milliseconds. */
const SCAN_STEP_BLOCKS = 16;
/**
 * The fewest lists probed, as a share of nlist: probing fewer saves little (the probe scores every centroid
 * anyway) and the calibration's 64 queries cannot tell recalls of 0.99 and 0.995 apart.
 */
const MIN_PROBE_SHARE = 1 / 64;

export class VectorIndex {
  readonly options: ResolvedVectorIndexOptions;
  private readonly slab: Int8Slab;
  private readonly slotOf = new Map<string, number>();
  private ids: string[] = [];
  private ivf: IvfIndex | undefined;
  /** An IVF index whose lists are being filled: changes go to it too. */
  private pending: IvfIndex | undefined;
  private builtFor = 0;
  private calibratedRecall: number | undefined;
  private readonly scores = new Float32Array(BLOCK);

  constructor(options: VectorIndexOptions) {
    this.options = validateVectorIndexOptions(options);
    this.slab = new Int8Slab(this.options.dim, this.options.kernel);
  }

  get dim(): number {
    return this.options.dim;
  }

  get size(): number {
    return this.slab.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Adds a vector, or replaces the one stored under `id`. */
  add(id: string, vector: ArrayLike<number>): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) this.placed(id, this.slab.add(vector));
    else {
      this.slab.write(slot, vector);
      this.placed(id, slot);
    }
  }

  /** Adds a row already quantised (int8 codes and scale, as `code()` gave them). */
  addCode(id: string, code: ArrayLike<number>, scale: number): void {
    this.remove(id);
    this.placed(id, this.slab.addCode(code, scale));
  }

  private placed(id: string, slot: number): void {
    this.slotOf.set(id, slot);
    this.ids[slot] = id;
    for (const ivf of [this.ivf, this.pending]) if (ivf) ivf.assign(this.slab, slot);
  }

  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    for (const ivf of [this.ivf, this.pending]) ivf?.lists.remove(slot);
    const moved = this.slab.removeSwap(slot);
    this.slotOf.delete(id);
    if (moved >= 0) {
      const movedId = this.ids[moved]!;
      this.ids[slot] = movedId;
      this.slotOf.set(movedId, slot);
      for (const ivf of [this.ivf, this.pending]) ivf?.lists.move(moved, slot);
    }
    this.ids.length = this.slab.size;
    return true;
  }

  clear(): void {
    this.slab.clear();
    this.slotOf.clear();
    this.ids = [];
    this.ivf = this.pending = undefined;
    this.builtFor = 0;
  }

  /** The stored (int8) form of a vector: what to persist, and what addCode takes back. */
  code(id: string): { code: Int8Array; scale: number } | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : { code: this.slab.code(slot), scale: this.slab.scale(slot) };
  }

  /** The stored vector as floats (each value within max|v| / 254 of the original). */
  vector(id: string): Float32Array | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.slab.decode(slot);
  }

  /** Lists an approximate search probes (undefined before a build); settable, e.g. to trade speed for recall. */
  get nprobe(): number | undefined {
    return this.ivf?.nprobe;
  }

  set nprobe(n: number | undefined) {
    if (this.ivf && n !== undefined) this.ivf.nprobe = Math.max(1, Math.min(Math.round(n), this.ivf.quantizer.nlist));
  }

  /** Searches use the IVF index (else the exact scan). */
  get approximate(): boolean {
    return this.ivf !== undefined && this.size >= this.options.approximateFrom;
  }

  /** An approximate index is due: none yet past `approximateFrom`, or the gallery grew 4-fold since. */
  get needsBuild(): boolean {
    if (this.pending || this.size < this.options.approximateFrom) return false;
    return !this.ivf || this.size > 4 * this.builtFor;
  }

  /** The k best matches, best first; `exclude` is left out (a query's own entry). */
  search(query: ArrayLike<number>, k: number, exclude?: string): VectorMatch[] {
    const top = new TopK(k + (exclude !== undefined && this.slotOf.has(exclude) ? 1 : 0));
    if (this.approximate) this.ivf!.search(this.slab, query, top);
    else this.scan(query, top);
    return this.matches(top, k, exclude);
  }

  /** The k best matches by a full scan, whatever the size. */
  searchExact(query: ArrayLike<number>, k: number, exclude?: string): VectorMatch[] {
    const top = new TopK(k + (exclude !== undefined && this.slotOf.has(exclude) ? 1 : 0));
    this.scan(query, top);
    return this.matches(top, k, exclude);
  }

  private scan(query: ArrayLike<number>, top: TopK): void {
    for (const _ of this.scanSteps(query, top));
  }

  /** The exact scan, yielding every SCAN_STEP_BLOCKS blocks. */
  private *scanSteps(query: ArrayLike<number>, top: TopK): Generator<void, void> {
    this.slab.setQuery(query);
    for (let first = 0, blocks = 0; first < this.slab.size; first += BLOCK) {
      const count = Math.min(BLOCK, this.slab.size - first);
      this.slab.scoreRange(first, count, this.scores);
      top.pushBlock(this.scores, count, first);
      if (++blocks % SCAN_STEP_BLOCKS === 0) yield;
    }
  }

  private matches(top: TopK, k: number, exclude: string | undefined): VectorMatch[] {
    const out: VectorMatch[] = [];
    for (let i = 0; i < top.size && out.length < k; i++) {
      const id = this.ids[top.slots[i]!]!;
      if (id !== exclude) out.push({ id, score: top.scores[i]! });
    }
    return out;
  }

  /**
   * Builds the IVF index over the current vectors: trains the coarse quantiser on a sample, assigns every
   * vector, then picks nprobe. Yields between small steps (milliseconds each); adds and removes meanwhile are
   * kept. Until it returns, searches use the previous index or the exact scan.
   */
  *build(): Generator<void, void> {
    const o = this.options;
    const n = this.size;
    if (n === 0) return;
    const random = mulberry32(o.seed);
    const nlist = Math.min(n, o.nlist === 'auto' ? autoNlist(n) : o.nlist);
    const sampleSize = Math.min(n, o.trainingSample === 'auto' ? TRAINING_PER_LIST * nlist : o.trainingSample);
    // The calibration's queries are rows the k-means never saw: on its own training points a quantiser looks
    // better than on new images.
    const drawn = sampleWithoutReplacement(n, sampleSize + o.calibrationQueries, random);
    const sample = drawn.subarray(0, Math.min(sampleSize, drawn.length - Math.min(o.calibrationQueries, n >> 1)));
    const calibration = drawn.subarray(sample.length);
    const quantizer = yield* trainCoarseQuantizer(
      this.slab,
      sample,
      {
        nlist,
        iterations: o.kmeansIterations,
        groups: Math.ceil(nlist / LISTS_PER_GROUP),
        assignGroups: ASSIGN_GROUPS,
      },
      random,
    );
    const ivf = new IvfIndex(quantizer, o.nprobe === 'auto' ? 1 : o.nprobe);
    this.pending = ivf;
    try {
      yield* ivf.assignAll(this.slab);
      if (o.nprobe === 'auto') {
        const scanSteps = this.scanSteps.bind(this);
        const exactTop = function* (q: Float32Array, k: number) {
          const top = new TopK(k);
          yield* scanSteps(q, top);
          return top;
        };
        const found = yield* calibrateNprobe(this.slab, ivf, calibration, 5, o.targetRecall, exactTop);
        // Rows removed during calibration leave `queries` pointing elsewhere: harmless, they are only queries.
        ivf.nprobe = Math.max(found.nprobe, Math.ceil(quantizer.nlist * MIN_PROBE_SHARE));
        this.calibratedRecall = found.recall;
      }
      this.ivf = ivf;
      this.builtFor = this.size;
    } finally {
      this.pending = undefined;
    }
  }

  stats(): VectorIndexStats {
    const ivf = this.ivf;
    const vectors = this.slab.bytes;
    const ivfBytes = ivf?.bytes ?? 0;
    // Slot -> id strings: what the array holds, not the strings (shared with the caller's own records).
    const ids = this.ids.length * 8 + this.slotOf.size * 16;
    return {
      vectors: this.size,
      dim: this.dim,
      kernel: this.slab.kernelKind,
      approximate: this.approximate,
      nlist: ivf?.quantizer.nlist,
      nprobe: ivf?.nprobe,
      calibratedRecall: ivf ? this.calibratedRecall : undefined,
      bytes: { vectors, ivf: ivfBytes, ids, total: vectors + ivfBytes + ids },
    };
  }
}
