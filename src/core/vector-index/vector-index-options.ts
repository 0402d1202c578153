/** The vector index's options: each one documented, the defaults in one constant, and their validation. */

export interface VectorIndexOptions {
  /** Values per vector. */
  readonly dim: number;
  /** Below this many vectors every search is an exact scan, and no approximate index is built. */
  readonly approximateFrom?: number;
  /** IVF lists; 'auto': sqrt(n) for n vectors when built. */
  readonly nlist?: number | 'auto';
  /**
   * Lists probed per search; 'auto': the fewest that reach `targetRecall` on rows of the index left out of
   * training, and at least 1/64 of the lists.
   */
  readonly nprobe?: number | 'auto';
  /** recall@5 against the exact int8 scan that 'auto' nprobe aims for. */
  readonly targetRecall?: number;
  /** Rows used as queries to choose nprobe. */
  readonly calibrationQueries?: number;
  /** Points the coarse quantiser's k-means sees; 'auto': 40 per list, as faiss asks for. */
  readonly trainingSample?: number | 'auto';
  readonly kmeansIterations?: number;
  /** Seed of the sample, the k-means start and the calibration queries: the same rows give the same index. */
  readonly seed?: number;
  /** 'js' forces the plain-JavaScript kernel (the tests compare the two). */
  readonly kernel?: 'wasm-simd' | 'js';
}

export const DEFAULT_VECTOR_INDEX_OPTIONS = {
  approximateFrom: 200_000,
  nlist: 'auto',
  nprobe: 'auto',
  targetRecall: 0.98,
  calibrationQueries: 64,
  trainingSample: 'auto',
  kmeansIterations: 8,
  seed: 1,
  kernel: 'wasm-simd',
} as const satisfies Omit<Required<VectorIndexOptions>, 'dim'>;

export type ResolvedVectorIndexOptions = Required<VectorIndexOptions>;

export function validateVectorIndexOptions(options: VectorIndexOptions): ResolvedVectorIndexOptions {
  const o = { ...DEFAULT_VECTOR_INDEX_OPTIONS, ...options };
  const positive = (name: string, v: unknown, auto = false) => {
    if (auto && v === 'auto') return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new RangeError(
        `vector index: ${name} must be a positive integer${auto ? " or 'auto'" : ''}; got ${String(v)}`,
      );
  };
  positive('dim', o.dim);
  positive('approximateFrom', o.approximateFrom);
  positive('nlist', o.nlist, true);
  positive('nprobe', o.nprobe, true);
  positive('calibrationQueries', o.calibrationQueries);
  positive('trainingSample', o.trainingSample, true);
  positive('kmeansIterations', o.kmeansIterations);
  if (!(o.targetRecall > 0 && o.targetRecall <= 1))
    throw new RangeError(`vector index: targetRecall must be in (0, 1]; got ${o.targetRecall}`);
  if (o.kernel !== 'wasm-simd' && o.kernel !== 'js')
    throw new RangeError(`vector index: kernel must be 'wasm-simd' or 'js'; got ${String(o.kernel)}`);
  return o;
}

/**
 * Lists for n vectors: sqrt(n), under faiss's 4 to 16 sqrt(n): fewer lists make the build cheaper (it is
 * dominated by assigning every vector), and scanning a probed list of sqrt(n) int8 rows is cheap.
 */
export function autoNlist(n: number): number {
  return Math.max(16, Math.round(Math.sqrt(n)));
}
