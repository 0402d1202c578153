/**
 * What the embedding map, the gallery report and the duplicates view compute, and where. The views take an
 * `InsightsCompute`: the page hands them its workers (src/worker/insights-client.ts, umap-client.ts; wired in
 * main.ts, since views reach no worker but the embedder's), and <shitu-embedder> the main-thread version
 * below, which suits the few hundred images an element holds.
 */
import { pca2d } from '../core/embedding-map/pca.ts';
import {
  galleryReport,
  type GalleryReportEntry,
  type GalleryReportOptions,
  type GalleryReportResult,
} from '../core/gallery-report.ts';
import { nearDuplicates, type NearDuplicateCandidate, type NearDuplicateGroup } from '../core/near-duplicates.ts';

export interface MapLayout {
  readonly x: Float32Array;
  readonly y: Float32Array;
}

export interface UmapRun {
  readonly stage: 'neighbours' | 'layout';
  readonly done: number;
  readonly total: number;
}

export interface InsightsCompute {
  pca(rows: readonly ArrayLike<number>[]): Promise<MapLayout & { readonly explained: readonly [number, number] }>;
  report(entries: readonly GalleryReportEntry[], options?: GalleryReportOptions): Promise<GalleryReportResult>;
  duplicates(candidates: readonly NearDuplicateCandidate[], threshold: number): Promise<NearDuplicateGroup[]>;
  /** The report samples a larger gallery to this many images (default REPORT_SAMPLE_LIMIT, for a worker). */
  readonly reportSampleLimit?: number;
  /** A seeded UMAP layout, where the host runs one (the page: in a worker of its own); a new call cancels the last. */
  readonly umap?: {
    run(
      rows: readonly ArrayLike<number>[],
      options?: { seed?: number },
      onProgress?: (p: UmapRun) => void,
    ): Promise<MapLayout>;
    cancel(): void;
  };
}

/** Yields to the event loop, so a queued input or paint runs between two pieces of work. */
export const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Core's functions on the main thread, each after a task boundary (an element's few hundred images). */
export const MAIN_THREAD_INSIGHTS: InsightsCompute = {
  pca: async (rows) => (await nextTask(), pca2d(rows)),
  report: async (entries, options) => (await nextTask(), galleryReport(entries, options)),
  duplicates: async (candidates, threshold) => (await nextTask(), nearDuplicates(candidates, threshold)),
  // On the page's own thread: 500 images report in 0.25 s (1,000 take 0.83 s; npm run report-timing).
  reportSampleLimit: 500,
};
