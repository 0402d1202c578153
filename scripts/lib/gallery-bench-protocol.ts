/** What `npm run gallery-bench` asks its page to run, and what the page answers (plain data both ways). */

export interface GalleryBenchCase {
  readonly name: 'exact' | 'approximate';
  /** Gallery vectors (synthetic, gallery-bench-data.ts). */
  readonly vectors: number;
  /** Held-out queries: each timed once after a warm-up, and scored against the exact fp32 top-5. */
  readonly queries: number;
  /** GalleryIndex's switch to the IVF index (VectorIndexOptions.approximateFrom). */
  readonly approximateFrom: number;
  /** Queries (the first ones) also searched by a full exact scan of the whole gallery, for comparison. */
  readonly exactScans: number;
  /** nprobe values to measure besides the calibrated one (approximate index only). */
  readonly nprobeSweep: readonly number[];
}

export interface NprobePoint {
  readonly nprobe: number;
  readonly p50Ms: number;
  readonly recallAt5: number;
}

export interface GalleryBenchResult {
  readonly name: GalleryBenchCase['name'];
  readonly vectors: number;
  readonly queries: number;
  readonly approximate: boolean;
  readonly kernel: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Of the exact fp32 top-5 (over the original float vectors), the share the search returned. */
  readonly recallAt5: number;
  /** p50 of a full exact scan (int8) over the same gallery, when asked for. */
  readonly exactScanP50Ms: number | undefined;
  /** The exact int8 scan's recall@5 against exact fp32: the ceiling of the approximate index's. */
  readonly exactScanRecallAt5: number | undefined;
  /** Adding every vector (quantising and storing), seconds. */
  readonly addSeconds: number;
  /** After the last add, until the approximate index was ready (0 when none is built). */
  readonly indexSeconds: number;
  /** addSeconds + indexSeconds: what a gallery of this size costs before its first approximate search. */
  readonly buildSeconds: number;
  readonly nlist: number | undefined;
  readonly nprobe: number | undefined;
  readonly calibratedRecall: number | undefined;
  readonly sweep: readonly NprobePoint[];
  /** Bytes of the index's arrays (VectorIndex.stats()). */
  readonly indexBytes: { readonly vectors: number; readonly ivf: number; readonly ids: number; readonly total: number };
  /** performance.memory.usedJSHeapSize after the run (Chromium; the WebAssembly memory is not in it). */
  readonly jsHeapBytes: number | undefined;
  /** The WebAssembly memories' size is in indexBytes.vectors; measureUserAgentSpecificMemory needs isolation. */
  readonly userAgentMemoryBytes: number | undefined;
  /** Tasks over 50 ms on the page while the approximate index was built (in slices): the longest, and how many. */
  readonly buildLongestTaskMs: number;
  readonly buildLongTasks: number;
  readonly generateSeconds: number;
  readonly truthSeconds: number;
}
