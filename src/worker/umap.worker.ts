/**
 * UMAP in a worker of its own (umap-js, seeded): minutes of work for thousands of rows, so it never shares a
 * thread with the page or with embedding. The client cancels a layout by terminating this worker.
 */
import * as Comlink from 'comlink';
import { UMAP } from 'umap-js';
import { mulberry32 } from '../core/seeded-random.ts';
import { DEFAULT_UMAP_LAYOUT, umapEpochs, type UmapProgress, type UmapWorkerApi } from './umap-api.ts';

/** Progress messages per layout: often enough for a smooth bar, rarely enough to cost nothing. */
const PROGRESS_STEPS = 50;

const api: UmapWorkerApi = {
  async layout(rows, n, d, options, onProgress?: (p: UmapProgress) => void) {
    const start = performance.now();
    if (rows.length !== n * d) throw new RangeError(`umap: ${rows.length} values for ${n} rows of ${d}`);
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    // Below three points there is no neighbourhood to keep: a line (or a point) says as much.
    if (n < 3) {
      for (let i = 0; i < n; i++) x[i] = i;
      return { x, y, epochs: 0, ms: performance.now() - start };
    }
    const data = Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * d, (i + 1) * d)));
    const epochs = options.epochs ?? umapEpochs(n);
    const umap = new UMAP({
      nComponents: 2,
      nNeighbors: Math.min(options.nNeighbors ?? DEFAULT_UMAP_LAYOUT.nNeighbors, n - 1),
      nEpochs: epochs,
      random: mulberry32(options.seed ?? DEFAULT_UMAP_LAYOUT.seed),
    });
    onProgress?.({ stage: 'neighbours', done: 0, total: 1 });
    const total = umap.initializeFit(data);
    const every = Math.max(1, Math.floor(total / PROGRESS_STEPS));
    for (let e = 0; e < total; e++) {
      umap.step();
      if ((e + 1) % every === 0 || e + 1 === total) onProgress?.({ stage: 'layout', done: e + 1, total });
    }
    const out = umap.getEmbedding();
    for (let i = 0; i < n; i++) {
      x[i] = out[i]![0]!;
      y[i] = out[i]![1]!;
    }
    return Comlink.transfer({ x, y, epochs: total, ms: performance.now() - start }, [x.buffer, y.buffer]);
  },
};

Comlink.expose(api);
