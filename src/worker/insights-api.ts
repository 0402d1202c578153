/**
 * The insights worker's interface (insights.worker.ts implements it, insights-client.ts calls it): the
 * embedding map's PCA, the gallery report and the near-duplicate groups, each O(N D) to O(N² D), so a few
 * thousand rows never block the page. Rows travel as one row-major Float32Array (N x D), transferred.
 */
import type { GalleryReportOptions, GalleryReportResult } from '../core/gallery-report.ts';
import type { NearDuplicateGroup } from '../core/near-duplicates.ts';

export interface PackedRows {
  readonly values: Float32Array;
  readonly n: number;
  readonly d: number;
}

export interface PcaLayout {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly explained: readonly [number, number];
}

export interface InsightsWorkerApi {
  pca(rows: PackedRows): Promise<PcaLayout>;
  report(
    ids: readonly string[],
    labels: readonly string[],
    rows: PackedRows,
    options: GalleryReportOptions,
  ): Promise<GalleryReportResult>;
  duplicates(ids: readonly string[], rows: PackedRows, threshold: number): Promise<NearDuplicateGroup[]>;
}

/** Row i of packed rows, without a copy. */
export function rowOf(rows: PackedRows, i: number): Float32Array {
  return rows.values.subarray(i * rows.d, (i + 1) * rows.d);
}
