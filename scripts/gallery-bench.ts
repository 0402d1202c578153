/**
 * npm run gallery-bench -- [--json FILE] [--quick] [--embeddings FILE]
 *
 * The gallery's search at scale, in headless Chromium, through the page's own gallery index
 * (src/ui/gallery-index.ts over src/core/vector-index/): exact top-5 over 100k vectors, and approximate
 * top-5 over 1M (the IVF index, built in slices on the page's main thread as the product builds it), with
 * recall@5 against the exact fp32 top-5, build time and memory. Synthetic clustered 512-d vectors
 * (scripts/lib/gallery-bench-data.ts: 4,096 gaussian centres, noise 0.75, seed 20240611; the queries are
 * held out). Then, in Node, what int8 and fp16 storage cost in recall, on the synthetic set and on real
 * embeddings (--embeddings: `npm run embed -- --json FILE <folder>` output or a .cache/embeddings file).
 * --quick: 20k exact / 100k approximate, fewer queries; exits 1 when recall falls under 0.9 (never on
 * times: the machine may be busy).
 */
import { loadavg } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { openBrowserSession, type BrowserSession } from './lib/browser-session.ts';
import { ClusteredVectors, GALLERY_BENCH_DATA } from './lib/gallery-bench-data.ts';
import type { GalleryBenchCase, GalleryBenchResult } from './lib/gallery-bench-protocol.ts';
import { measureQuantization, readEmbeddings, type QuantizationCost } from './lib/gallery-bench-quantization.ts';
import { runIfMain } from './lib/run-main.ts';

/** The bars this benchmark was written against (docs/gallery-scale.md). */
export const GALLERY_BARS = { exactP50Ms: 30, approximateP50Ms: 20, recallAt5: 0.95, buildSeconds: 120 } as const;

export interface GalleryBenchReport {
  readonly exact: GalleryBenchResult;
  readonly approximate: GalleryBenchResult & { readonly memoryMiB: number };
  readonly quantization: QuantizationCost[];
  readonly quick: boolean;
  readonly data: typeof GALLERY_BENCH_DATA;
  readonly machine: {
    readonly browser: string;
    readonly loadAverageBefore: number[];
    readonly loadAverageAfter: number[];
  };
  readonly date: string;
}

const MiB = 2 ** 20;

async function runCase(session: BrowserSession, c: GalleryBenchCase): Promise<GalleryBenchResult> {
  // A fresh page per case: the previous case's gigabyte is gone before the next one starts.
  const page = await session.newPage('/scripts/pages/gallery-bench.html');
  try {
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    return await page.evaluate((cc) => window.galleryBench.run(cc), c);
  } finally {
    await page.close();
  }
}

export async function galleryBench(options: {
  quick: boolean;
  embeddings?: string;
  log: (s: string) => void;
}): Promise<GalleryBenchReport> {
  const { quick, log } = options;
  const loadAverageBefore = loadavg();
  const session = await openBrowserSession();
  let exact: GalleryBenchResult;
  let approximate: GalleryBenchResult;
  try {
    exact = await runCase(session, {
      name: 'exact',
      vectors: quick ? 20_000 : 100_000,
      queries: quick ? 50 : 200,
      approximateFrom: 200_000,
      exactScans: 0,
      nprobeSweep: [],
    });
    log(`exact: ${exact.vectors} vectors, p50 ${exact.p50Ms.toFixed(2)} ms, recall@5 ${exact.recallAt5.toFixed(3)}`);
    approximate = await runCase(session, {
      name: 'approximate',
      vectors: quick ? 100_000 : 1_000_000,
      queries: quick ? 50 : 100,
      // The product's switch is 200k; the quick run goes approximate at its 100k.
      approximateFrom: quick ? 50_000 : 200_000,
      exactScans: quick ? 50 : 100,
      nprobeSweep: quick ? [8, 32] : [4, 8, 16, 32, 64, 128],
    });
    log(
      `approximate: ${approximate.vectors} vectors, p50 ${approximate.p50Ms.toFixed(2)} ms, recall@5 ${approximate.recallAt5.toFixed(3)}, build ${approximate.buildSeconds.toFixed(1)} s`,
    );
  } finally {
    await session.close();
  }
  const data = new ClusteredVectors(GALLERY_BENCH_DATA);
  const rows = (flat: Float32Array) =>
    Array.from({ length: flat.length / GALLERY_BENCH_DATA.dim }, (_, i) =>
      flat.subarray(i * GALLERY_BENCH_DATA.dim, (i + 1) * GALLERY_BENCH_DATA.dim),
    );
  const synthetic = quick ? 10_000 : 50_000;
  const quantization = [
    measureQuantization(
      `synthetic, ${synthetic} vectors, held-out queries`,
      rows(data.stream('gallery')(synthetic)),
      rows(data.stream('queries')(200)),
    ),
  ];
  if (options.embeddings) {
    const real = await readEmbeddings(options.embeddings);
    quantization.push(measureQuantization(options.embeddings, real, { leaveOneOut: 500, seed: 1 }));
  }
  return {
    exact,
    approximate: { ...approximate, memoryMiB: approximate.indexBytes.total / MiB },
    quantization,
    quick,
    data: GALLERY_BENCH_DATA,
    machine: { browser: `Chromium ${session.version}`, loadAverageBefore, loadAverageAfter: loadavg() },
    date: new Date().toISOString(),
  };
}

const fixed = (n: number | undefined, digits: number) => (n === undefined ? '-' : n.toFixed(digits));

export function formatGalleryReport(r: GalleryBenchReport): string {
  const row = (x: GalleryBenchResult) =>
    `| ${x.name} | ${x.vectors.toLocaleString('en')} | ${x.approximate ? `IVF nlist ${x.nlist}, nprobe ${x.nprobe}` : 'exact int8 scan'} | ${fixed(x.p50Ms, 2)} | ${fixed(x.p95Ms, 2)} | ${fixed(x.recallAt5, 3)} | ${fixed(x.exactScanP50Ms, 1)} | ${fixed(x.exactScanRecallAt5, 3)} | ${fixed(x.addSeconds, 1)} + ${fixed(x.indexSeconds, 1)} | ${fixed(x.indexBytes.total / MiB, 1)} | ${x.jsHeapBytes === undefined ? '-' : fixed(x.jsHeapBytes / MiB, 0)} |`;
  const q = (c: QuantizationCost) =>
    `| ${c.source} | ${c.vectors} x ${c.queries} | ${c.int8.recallAt5.toFixed(3)} | ${c.int8.meanAbsScoreError.toExponential(1)} | ${c.int8.bytesPerVector} | ${c.fp16.recallAt5.toFixed(3)} | ${c.fp16.meanAbsScoreError.toExponential(1)} | ${c.fp16.bytesPerVector} |`;
  return [
    `gallery-bench${r.quick ? ' --quick' : ''}, ${r.date}, ${r.machine.browser}, load average ${r.machine.loadAverageBefore.map((l) => l.toFixed(2)).join(' ')} before, ${r.machine.loadAverageAfter.map((l) => l.toFixed(2)).join(' ')} after`,
    '',
    '| case | vectors | search | p50 ms | p95 ms | recall@5 vs fp32 | exact scan p50 ms | exact scan recall@5 | build s (add + index) | index MiB | JS heap MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    row(r.exact),
    row(r.approximate),
    '',
    `longest main-thread task while the approximate index was built in slices: ${r.approximate.buildLongestTaskMs.toFixed(0)} ms (${r.approximate.buildLongTasks} over 50 ms)`,
    '',
    `nprobe sweep (${r.approximate.vectors.toLocaleString('en')} vectors, ${r.approximate.nlist} lists): ` +
      r.approximate.sweep
        .map((p) => `${p.nprobe}: ${p.p50Ms.toFixed(2)} ms, recall@5 ${p.recallAt5.toFixed(3)}`)
        .join('; '),
    '',
    '| recall@5 cost of storage | vectors x queries | int8 recall@5 | int8 mean abs score error | int8 bytes | fp16 recall@5 | fp16 mean abs score error | fp16 bytes |',
    '|---|---|---|---|---|---|---|---|',
    ...r.quantization.map(q),
  ].join('\n');
}

/** The bars' verdicts (full runs), or the recall floor (--quick). */
export function checkGalleryReport(r: GalleryBenchReport): string[] {
  const failures: string[] = [];
  if (r.quick) {
    if (r.approximate.recallAt5 < 0.9) failures.push(`approximate recall@5 ${r.approximate.recallAt5} < 0.9`);
    if (!r.approximate.approximate) failures.push('the approximate case did not use the IVF index');
    return failures;
  }
  if (r.exact.p50Ms >= GALLERY_BARS.exactP50Ms)
    failures.push(`exact p50 ${r.exact.p50Ms} ms >= ${GALLERY_BARS.exactP50Ms}`);
  if (r.approximate.p50Ms >= GALLERY_BARS.approximateP50Ms)
    failures.push(`approximate p50 ${r.approximate.p50Ms} ms >= ${GALLERY_BARS.approximateP50Ms}`);
  if (r.approximate.recallAt5 < GALLERY_BARS.recallAt5)
    failures.push(`approximate recall@5 ${r.approximate.recallAt5} < ${GALLERY_BARS.recallAt5}`);
  if (r.approximate.buildSeconds >= GALLERY_BARS.buildSeconds)
    failures.push(`build ${r.approximate.buildSeconds} s >= ${GALLERY_BARS.buildSeconds}`);
  return failures;
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, json: { type: 'string' }, embeddings: { type: 'string' } },
  });
  const report = await galleryBench({
    quick: values.quick ?? false,
    embeddings: values.embeddings,
    log: (s) => process.stderr.write(`${s}\n`),
  });
  console.log(formatGalleryReport(report));
  if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  const failures = checkGalleryReport(report);
  for (const f of failures) console.error(`gallery-bench: ${f}`);
  if (failures.length > 0) process.exit(1);
});
