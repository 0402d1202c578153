/**
 * npm run report-timing -- --data <folder> --split <training split> [--model models/default]
 *                          [--sizes 300,1000,2000,all] [--seed 1]
 *
 * What the gallery report (src/core/gallery-report.ts) costs and what its sample of a large gallery
 * (src/core/gallery-report-sample.ts) changes, on a split's real embeddings (embedded once, kept in
 * .cache/embeddings). For each size: a seeded subsample of the split, timed through galleryReport and, for
 * comparison, through leaveOneOutRetrieval (the figures' reference; the report once ran both). Then the whole
 * split against its REPORT_SAMPLE_LIMIT sample: recall@1 and mAP of each, the bias the page's note speaks of.
 * eval.txt and finetune-*.txt are refused: this is about the product's behaviour, not a score to report.
 */
import { parseArgs } from 'node:util';
import { galleryReport, type GalleryReportEntry } from '../src/core/gallery-report.ts';
import { REPORT_SAMPLE_LIMIT, sampleForReport } from '../src/core/gallery-report-sample.ts';
import { seededShuffle } from '../src/core/recognition-calibration.ts';
import { leaveOneOutRetrieval } from '../src/core/retrieval-metrics.ts';
import { mulberry32 } from '../src/core/seeded-random.ts';
import { runIfMain } from './lib/run-main.ts';
import { isMeasuringSplit } from './lib/split.ts';
import { embedSplit } from './lib/split-embeddings.ts';

const USAGE = `usage: npm run report-timing -- --data <folder> --split <training split> [--model models/default] [--sizes 300,1000,2000,all] [--seed 1]`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function timed<T>(f: () => T): [T, number] {
  const t = performance.now();
  const out = f();
  return [out, performance.now() - t];
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      split: { type: 'string' },
      model: { type: 'string' },
      sizes: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (!values.data || !values.split) throw new Error(`--data and --split are required\n${USAGE}`);
  if (isMeasuringSplit(values.split))
    throw new Error(`refusing ${values.split}: eval.txt and finetune-*.txt are for measuring only`);
  const seed = Number(values.seed ?? 1);
  const split = await embedSplit({ model: values.model ?? 'models/default', data: values.data, split: values.split });
  const all: GalleryReportEntry[] = split.paths.map((id, i) => ({
    id,
    label: split.labels[i]!,
    embedding: split.vectors[i]!,
  }));
  const shuffled = seededShuffle(all, mulberry32(seed));
  const sizes = (values.sizes ?? '300,1000,2000,all').split(',').map((s) => (s === 'all' ? all.length : Number(s)));
  console.log(`${all.length} images of ${new Set(split.labels).size} classes (${split.modelId}); one thread`);
  console.log('| images | galleryReport | leaveOneOutRetrieval alone | recall@1 | mAP |');
  console.log('|---|---|---|---|---|');
  for (const n of sizes) {
    if (!(Number.isInteger(n) && n >= 2 && n <= all.length))
      throw new Error(`--sizes: ${n} is not in 2..${all.length}`);
    // The subsample in split order, so the figures are those of the same images in any order.
    const chosen = new Set(shuffled.slice(0, n));
    const entries = all.filter((e) => chosen.has(e));
    const [report, reportMs] = timed(() => galleryReport(entries));
    const [loo, looMs] = timed(() =>
      leaveOneOutRetrieval(
        entries.map((e) => e.embedding as Float32Array),
        entries.map((e) => e.label),
      ),
    );
    if (loo.recallAt1 !== report.recallAt1 || loo.map !== report.map)
      throw new Error(`at ${n} images the report's figures differ from leaveOneOutRetrieval's`);
    console.log(
      `| ${n} | ${seconds(reportMs)} | ${seconds(looMs)} | ${report.recallAt1.toFixed(4)} | ${report.map.toFixed(4)} |`,
    );
  }
  if (all.length > REPORT_SAMPLE_LIMIT) {
    const sample = sampleForReport(all);
    const whole = galleryReport(all);
    const [sampled, ms] = timed(() => galleryReport(sample.entries));
    console.log(
      `\nThe page's sample of ${sample.entries.length} of ${all.length} (${seconds(ms)}): recall@1 ${sampled.recallAt1.toFixed(4)}, mAP ${sampled.map.toFixed(4)}; ` +
        `the whole split: recall@1 ${whole.recallAt1.toFixed(4)}, mAP ${whole.map.toFixed(4)}`,
    );
  }
}

runIfMain(import.meta.url, () => main(process.argv.slice(2)));
