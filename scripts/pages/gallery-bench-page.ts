/**
 * The page `npm run gallery-bench` drives: the page's own gallery index (src/ui/gallery-index.ts, where
 * the approximate build runs in slices on this main thread, as on the product page) filled with synthetic
 * clustered vectors generated here chunk by chunk, searched with held-out queries, and scored against the
 * exact fp32 top-5 computed from the same chunks as they go by (not counted in any time).
 */
import { GalleryIndex } from '../../src/ui/gallery-index.ts';
import { ClusteredVectors, GALLERY_BENCH_DATA } from '../lib/gallery-bench-data.ts';
import type { GalleryBenchCase, GalleryBenchResult, NprobePoint } from '../lib/gallery-bench-protocol.ts';
import { ExactTruth } from '../lib/gallery-bench-truth.ts';

const CHUNK = 8192;
const MODEL = 'synthetic';
const now = () => performance.now();
const median = (xs: number[], q = 0.5) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const pause = () => new Promise((r) => setTimeout(r, 0));

async function userAgentMemory(): Promise<number | undefined> {
  const p = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
  if (!self.crossOriginIsolated || !p.measureUserAgentSpecificMemory) return undefined;
  try {
    return (await p.measureUserAgentSpecificMemory()).bytes;
  } catch {
    return undefined;
  }
}

async function run(c: GalleryBenchCase): Promise<GalleryBenchResult> {
  const { dim } = GALLERY_BENCH_DATA;
  const data = new ClusteredVectors(GALLERY_BENCH_DATA);
  const queries = data.stream('queries')(c.queries);
  const gallery = data.stream('gallery');
  const truth = new ExactTruth(queries, dim, 5, CHUNK);
  const index = new GalleryIndex({ approximateFrom: c.approximateFrom });
  let generateMs = 0;
  let truthMs = 0;
  let addMs = 0;
  // One build after the last vector, as when a stored gallery loads (gallery-view.ts holds builds too).
  const release = index.holdBuilds();
  for (let first = 0; first < c.vectors; first += CHUNK) {
    const rows = Math.min(CHUNK, c.vectors - first);
    let t = now();
    const chunk = gallery(rows);
    generateMs += now() - t;
    t = now();
    truth.add(chunk);
    truthMs += now() - t;
    t = now();
    for (let r = 0; r < rows; r++) index.add(MODEL, `v${first + r}`, chunk.subarray(r * dim, (r + 1) * dim));
    addMs += now() - t;
    await pause();
  }
  // The approximate build runs in slices on this thread, as on the product page: its longest task.
  const tasks: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push(e.duration);
  });
  observer.observe({ type: 'longtask' });
  const t0 = now();
  release();
  await index.idle();
  const indexMs = now() - t0;
  await pause();
  observer.disconnect();
  const query = (q: number) => queries.subarray(q * dim, (q + 1) * dim);
  const measure = () => {
    for (let q = 0; q < Math.min(5, c.queries); q++) index.search(MODEL, query(q), 5); // warm-up (tier-up)
    const times: number[] = [];
    let hits = 0;
    for (let q = 0; q < c.queries; q++) {
      const t = now();
      const found = index.search(MODEL, query(q), 5);
      times.push(now() - t);
      const want = new Set(truth.topK(q));
      hits += found.filter((m) => want.has(Number(m.id.slice(1)))).length;
    }
    return { times, recallAt5: hits / (5 * c.queries) };
  };
  const { times, recallAt5 } = measure();
  const stats = index.stats(MODEL)!;
  const sweep: NprobePoint[] = [];
  if (stats.approximate) {
    for (const nprobe of c.nprobeSweep) {
      index.setNprobe(MODEL, nprobe);
      const m = measure();
      sweep.push({ nprobe, p50Ms: median(m.times), recallAt5: m.recallAt5 });
    }
    index.setNprobe(MODEL, stats.nprobe!);
  }
  let exactScanP50Ms: number | undefined;
  let exactScanRecallAt5: number | undefined;
  if (c.exactScans > 0) {
    const scans: number[] = [];
    let hits = 0;
    const n = Math.min(c.exactScans, c.queries);
    for (let q = 0; q < n; q++) {
      const t = now();
      const found = index.searchExact(MODEL, query(q), 5);
      scans.push(now() - t);
      const want = new Set(truth.topK(q));
      hits += found.filter((m) => want.has(Number(m.id.slice(1)))).length;
    }
    exactScanP50Ms = median(scans);
    exactScanRecallAt5 = hits / (5 * n);
  }
  const heap = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
  return {
    name: c.name,
    vectors: c.vectors,
    queries: c.queries,
    approximate: stats.approximate,
    kernel: stats.kernel,
    p50Ms: median(times),
    p95Ms: median(times, 0.95),
    recallAt5,
    exactScanP50Ms,
    exactScanRecallAt5,
    addSeconds: addMs / 1000,
    indexSeconds: indexMs / 1000,
    buildSeconds: (addMs + indexMs) / 1000,
    nlist: stats.nlist,
    nprobe: stats.nprobe,
    calibratedRecall: stats.calibratedRecall,
    sweep,
    indexBytes: stats.bytes,
    jsHeapBytes: heap,
    userAgentMemoryBytes: await userAgentMemory(),
    buildLongestTaskMs: Math.max(0, ...tasks),
    buildLongTasks: tasks.length,
    generateSeconds: generateMs / 1000,
    truthSeconds: truthMs / 1000,
  };
}

declare global {
  interface Window {
    galleryBench: { run(c: GalleryBenchCase): Promise<GalleryBenchResult> };
  }
}

window.galleryBench = { run };
document.body.dataset.ready = 'true';
