/**
 * The UMAP worker's interface (umap.worker.ts implements it, umap-client.ts calls it): a 2-D layout of N rows
 * of D values, sent as one row-major Float32Array so that they cross the worker boundary in one transfer.
 */

export interface UmapLayoutOptions {
  /** Seeds every random choice (neighbour search, initial layout, sampling): the same rows give the same map. */
  readonly seed?: number;
  /** Neighbours per point (umap-js's default 15); fewer than N. */
  readonly nNeighbors?: number;
  /** Optimisation epochs; default: 500 below 2,000 rows, 200 from there (umap-learn uses 200 past 10,000). */
  readonly epochs?: number;
}

export const DEFAULT_UMAP_LAYOUT = Object.freeze({ seed: 42, nNeighbors: 15 });

export interface UmapProgress {
  /** 'neighbours': the k-nearest-neighbour graph (no steps to count); 'layout': the epochs. */
  readonly stage: 'neighbours' | 'layout';
  readonly done: number;
  readonly total: number;
}

export interface UmapLayoutResult {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly epochs: number;
  readonly ms: number;
}

export interface UmapWorkerApi {
  layout(
    rows: Float32Array,
    n: number,
    d: number,
    options: UmapLayoutOptions,
    onProgress?: (p: UmapProgress) => void,
  ): Promise<UmapLayoutResult>;
}

/** Epochs for N rows when none are given. */
export function umapEpochs(n: number): number {
  return n < 2000 ? 500 : 200;
}
