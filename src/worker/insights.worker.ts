/** The insights worker: core's PCA, gallery report and near-duplicate search, off the page's thread. */
import * as Comlink from 'comlink';
import { pca2d } from '../core/embedding-map/pca.ts';
import { galleryReport } from '../core/gallery-report.ts';
import { nearDuplicates } from '../core/near-duplicates.ts';
import { rowOf, type InsightsWorkerApi, type PackedRows } from './insights-api.ts';

const rowsOf = (rows: PackedRows) => Array.from({ length: rows.n }, (_, i) => rowOf(rows, i));

const api: InsightsWorkerApi = {
  async pca(rows) {
    const { x, y, explained } = pca2d(rowsOf(rows));
    return Comlink.transfer({ x, y, explained }, [x.buffer, y.buffer]);
  },
  async report(ids, labels, rows, options) {
    const all = rowsOf(rows);
    return galleryReport(
      all.map((embedding, i) => ({ id: ids[i]!, label: labels[i]!, embedding })),
      options,
    );
  },
  async duplicates(ids, rows, threshold) {
    return nearDuplicates(
      rowsOf(rows).map((embedding, i) => ({ id: ids[i]!, embedding })),
      threshold,
    );
  },
};

Comlink.expose(api);
