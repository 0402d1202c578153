/**
 * The page's side of the insights worker: the embedding map's PCA, the gallery report and the near-duplicate
 * groups, computed off the main thread. One worker, started on the first call; calls run in order.
 */
import * as Comlink from 'comlink';
import type { GalleryReportEntry, GalleryReportOptions, GalleryReportResult } from '../core/gallery-report.ts';
import type { NearDuplicateCandidate, NearDuplicateGroup } from '../core/near-duplicates.ts';
import type { InsightsWorkerApi, PackedRows, PcaLayout } from './insights-api.ts';
import workerUrl from './insights.worker.ts?worker&url';

export type { PcaLayout } from './insights-api.ts';

export interface InsightsWorker {
  pca(rows: readonly ArrayLike<number>[]): Promise<PcaLayout>;
  report(entries: readonly GalleryReportEntry[], options?: GalleryReportOptions): Promise<GalleryReportResult>;
  duplicates(candidates: readonly NearDuplicateCandidate[], threshold: number): Promise<NearDuplicateGroup[]>;
  dispose(): void;
}

/** One copy of the rows, row-major, whose buffer is then handed to the worker (the callers' arrays stay theirs). */
function pack(rows: readonly ArrayLike<number>[]): PackedRows {
  const n = rows.length;
  const d = rows[0]?.length ?? 0;
  const values = new Float32Array(n * d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new RangeError(`row ${i} has ${r.length} values, row 0 has ${d}`);
    values.set(r, i * d);
  });
  return { values, n, d };
}

const send = (rows: PackedRows) => Comlink.transfer(rows, [rows.values.buffer]);

export function createInsightsWorker(): InsightsWorker {
  let worker: Worker | undefined;
  let remote: Comlink.Remote<InsightsWorkerApi> | undefined;
  const api = () => {
    if (!remote) {
      worker = new Worker(new URL(workerUrl, import.meta.url), { type: 'module', name: 'shitu-insights' });
      remote = Comlink.wrap<InsightsWorkerApi>(worker);
    }
    return remote;
  };
  return {
    pca: (rows) => api().pca(send(pack(rows))),
    report: (entries, options = {}) =>
      api().report(
        entries.map((e) => e.id),
        entries.map((e) => e.label),
        send(pack(entries.map((e) => e.embedding))),
        options,
      ),
    duplicates: (candidates, threshold) =>
      api().duplicates(
        candidates.map((c) => c.id),
        send(pack(candidates.map((c) => c.embedding))),
        threshold,
      ),
    dispose() {
      remote?.[Comlink.releaseProxy]();
      worker?.terminate();
      worker = undefined;
      remote = undefined;
    },
  };
}
