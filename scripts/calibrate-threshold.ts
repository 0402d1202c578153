/**
 * npm run calibrate-threshold -- --data <folder> --split <training split> [--model models/default]
 *                                [--far 0.2] [--trials 50] [--gallery 15] [--seed 1] [--write] [--no-cache]
 *
 * Sets a model's recommended recognition threshold on TRAINING classes only. Each trial (seeded) splits the
 * split's classes into 10 known ones (--known) and the unknown rest; 15 images per known class form the gallery, the known
 * classes' other images are known queries, every unknown class's image an unknown query (the protocol of
 * src/core/recognition-calibration.ts). A trial's threshold is the score that accepts `--far` of its unknown
 * queries; the threshold is their mean. Prints a table over false-accept rates; `--write` stores
 * { threshold, falseAcceptRate, calibration } as the manifest's `recognition` (shards are untouched, so their
 * SHA-256 still hold). eval.txt and finetune-*.txt are refused: they measure what this sets.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SCORE_THRESHOLD } from '../src/core/gallery-search.ts';
import { validateManifest, type ManifestRecognition } from '../src/core/manifest.ts';
import {
  calibrateThreshold,
  equalErrorPoint,
  meanRates,
  openSetRates,
  openSetTrial,
  scoreTrial,
  type CalibrationRow,
  type OpenSetRates,
} from '../src/core/recognition-calibration.ts';
import { embedSplit, manifestPath } from './lib/split-embeddings.ts';
import { isMain } from './lib/run-main.ts';
import { isMeasuringSplit } from './lib/split.ts';

/**
 * FAR 10%: where the mean of known-right and unknown-rejected peaks on the default model's training protocol
 * (10 known classes x 15 gallery images, as a page user's gallery; docs/recognition-threshold.md: 85.2, 86.1,
 * 85.3 % at 5, 10, 15 %). The rule, not the figure, is what carries to another model.
 */
export const DEFAULT_CALIBRATION = Object.freeze({
  far: 0.1,
  trials: 50,
  gallery: 15,
  known: 10,
  seed: 1,
  model: 'models/default',
});
const FAR_CANDIDATES = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
/** Splits kept for measuring (the same list training/distill.py refuses). */

const USAGE = `usage: npm run calibrate-threshold -- --data <folder> --split <training split> [options]
  --model <folder>   the model (default ${DEFAULT_CALIBRATION.model})
  --far F            false-accept rate to set the threshold at, 0 to 1 (default ${DEFAULT_CALIBRATION.far})
  --trials N         random known / unknown splits of the classes (default ${DEFAULT_CALIBRATION.trials})
  --gallery N        gallery images per known class (default ${DEFAULT_CALIBRATION.gallery})
  --known N          known classes a trial's gallery holds; the others are unknown (default ${DEFAULT_CALIBRATION.known}:
                     the gallery a page user builds, 10 labels x 15 images; the best unknown score grows with it)
  --seed N           seed of the first trial; trial i uses seed + i (default ${DEFAULT_CALIBRATION.seed})
  --unseen DATA:SPLIT[:LABEL] | FOLDER
                     images of classes the model never trained on, as the unknown queries (repeatable; LABEL keeps
                     only that label's lines). Without it, the training classes left out of the gallery are the
                     unknowns, which the model learned to tell apart: they overstate how many unknowns it rejects.
  --write            store the threshold in the model's manifest.json
  --no-cache         embed again even if .cache/embeddings holds this model's embeddings of the split`;

class UsageError extends Error {}

function numberOption(
  value: string | undefined,
  name: string,
  fallback: number,
  ok: (n: number) => boolean,
  what: string,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!ok(n)) throw new UsageError(`--${name} must be ${what}; got "${value}"`);
  return n;
}

export function refuseMeasuringSplit(split: string): void {
  if (isMeasuringSplit(split)) {
    throw new UsageError(
      `refusing to calibrate on ${split}: eval.txt and finetune-*.txt are for measuring only (npm run recognition-eval); ` +
        'calibrate on the training split, e.g. --split ../shared/data/caltech101-80/splits/train.txt',
    );
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);

function row(label: string, threshold: string, r: OpenSetRates): string {
  return `${label.padEnd(22)} ${threshold.padStart(16)}  ${pct(r.knownRight)}       ${pct(r.unknownRejected)}     ${pct((r.knownRight + r.unknownRejected) / 2)}`;
}

export function formatTable(rows: readonly CalibrationRow[], atDefault: OpenSetRates): string {
  const lines = [
    `${'false-accept rate'.padEnd(22)} ${'threshold (sd)'.padStart(16)}  known right  unknown rejected  balanced`,
    ...rows.map((r) =>
      row(`FAR ${pct(r.far).trim()}`, `${r.threshold.toFixed(4)} (${r.thresholdSd.toFixed(4)})`, r.rates),
    ),
    row(`PaddleClas default`, DEFAULT_SCORE_THRESHOLD.toFixed(4), atDefault),
  ];
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      split: { type: 'string' },
      model: { type: 'string' },
      far: { type: 'string' },
      trials: { type: 'string' },
      gallery: { type: 'string' },
      known: { type: 'string' },
      unseen: { type: 'string', multiple: true },
      seed: { type: 'string' },
      write: { type: 'boolean' },
      'no-cache': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.data || !values.split) throw new UsageError('--data and --split are required');
  refuseMeasuringSplit(values.split);
  const far = numberOption(values.far, 'far', DEFAULT_CALIBRATION.far, (n) => n >= 0 && n <= 1, 'a share from 0 to 1');
  const trials = numberOption(
    values.trials,
    'trials',
    DEFAULT_CALIBRATION.trials,
    (n) => Number.isInteger(n) && n >= 1,
    'a positive integer',
  );
  const gallery = numberOption(
    values.gallery,
    'gallery',
    DEFAULT_CALIBRATION.gallery,
    (n) => Number.isInteger(n) && n >= 1,
    'a positive integer',
  );
  const seed = numberOption(values.seed, 'seed', DEFAULT_CALIBRATION.seed, Number.isInteger, 'an integer');
  const model = values.model ?? DEFAULT_CALIBRATION.model;

  const emb = await embedSplit({
    model,
    data: values.data,
    split: values.split,
    ...(values['no-cache'] ? { cacheDir: null } : {}),
  });
  const classes = new Set(emb.labels).size;
  const known = numberOption(
    values.known,
    'known',
    DEFAULT_CALIBRATION.known,
    (n) => Number.isInteger(n) && n >= 2 && n < classes,
    `an integer from 2 to ${classes - 1}`,
  );
  const unseen = await embedUnseen(model, values.unseen ?? [], values['no-cache'] === true);
  // Unseen images follow the training split's; their labels are prefixed so they never equal a known class.
  const vectors = [...emb.vectors, ...unseen.vectors];
  const labels = [...emb.labels, ...unseen.labels.map((l) => `unseen:${l}`)];
  const unseenIndices = unseen.vectors.map((_, i) => emb.vectors.length + i);
  const scores = Array.from({ length: trials }, (_, i) => {
    const trial = openSetTrial(emb.labels, { knownClasses: known, galleryPerClass: gallery, seed: seed + i });
    return scoreTrial(vectors, labels, unseenIndices.length > 0 ? { ...trial, unknownQueries: unseenIndices } : trial);
  });
  const fars = [...new Set([...FAR_CANDIDATES, far])].sort((a, b) => a - b);
  const rows = calibrateThreshold(scores, fars);
  const atDefault = meanRates(scores.map((s) => openSetRates(s, DEFAULT_SCORE_THRESHOLD)));
  const first = scores[0]!;
  const unknownWhat =
    unseen.vectors.length > 0
      ? `unknown queries: ${unseen.vectors.length} images of unseen classes (${unseen.sources.join(', ')})`
      : `${classes - known} unknown classes`;
  console.log(
    `${emb.modelId} on ${values.split}: ${emb.vectors.length} images, ${classes} classes; ${trials} trials of ${known} known classes, ` +
      `${gallery} gallery images per known class; ${unknownWhat} (trial 1: ${first.known.length} known, ${first.unknown.length} unknown queries)`,
  );
  console.log(`top-1 label right (threshold ignored): ${pct(atDefault.knownTop1).trim()} of known queries\n`);
  console.log(formatTable(rows, atDefault));
  const eer = equalErrorPoint(scores);
  console.log(
    `\nequal-error point: FAR ${pct(eer.far).trim()}, threshold ${eer.threshold.toFixed(4)}: ` +
      `known right ${pct(eer.rates.knownRight).trim()}, unknown rejected ${pct(eer.rates.unknownRejected).trim()}`,
  );
  const chosen = rows.find((r) => r.far === far)!;
  const rounded = Number(chosen.threshold.toFixed(4));
  console.log(`\nchosen: FAR ${pct(far).trim()} -> threshold ${rounded}`);

  if (!values.write) return void console.log('(not written: add --write to store it in the manifest)');
  const recognition: ManifestRecognition = {
    threshold: rounded,
    falseAcceptRate: far,
    calibration:
      `npm run calibrate-threshold on ${basename(values.split)} (${classes} training classes): mean of ${trials} seeded trials, each ` +
      `${known} known classes (${gallery} gallery images each); unknown queries: ` +
      (unseen.vectors.length > 0
        ? `${unseen.vectors.length} images of classes the model never trained on (${unseen.sources.join(', ')})`
        : `the other ${classes - known} classes`),
  };
  const path = manifestPath(model);
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  // Validated before writing: a manifest the loader would refuse is never left behind.
  const updated = validateManifest({ ...json, recognition }, path);
  await writeFile(path, `${JSON.stringify({ ...json, recognition: updated.recognition }, null, 2)}\n`);
  console.log(`wrote recognition to ${relative(process.cwd(), path)}`);
}

/** A folder of images (such as Caltech's unlabelled BACKGROUND_Google) as a split file in the temp folder. */
async function folderAsSplit(dir: string): Promise<[string, string, undefined]> {
  const images = (await readdir(dir)).filter((f) => /\.(jpe?g|png|webp|bmp|gif)$/i.test(f)).sort();
  if (images.length === 0) throw new UsageError(`--unseen ${dir}: no images in that folder`);
  const split = join(await mkdtemp(join(tmpdir(), 'shitu-unseen-')), `${basename(dir)}.txt`);
  await writeFile(split, images.map((f) => `${f}\t${basename(dir)}`).join('\n') + '\n');
  return [dir, split, undefined];
}

/** `DATA:SPLIT[:LABEL]` sets, embedded (and cached) like the training split. */
async function embedUnseen(
  model: string,
  specs: readonly string[],
  noCache: boolean,
): Promise<{ vectors: Float32Array[]; labels: string[]; sources: string[] }> {
  const out = { vectors: [] as Float32Array[], labels: [] as string[], sources: [] as string[] };
  for (const spec of specs) {
    const [data, split, only] = spec.includes(':') ? spec.split(':') : await folderAsSplit(spec);
    if (!data || !split) throw new UsageError(`--unseen takes DATA:SPLIT[:LABEL] or a folder of images; got "${spec}"`);
    refuseMeasuringSplit(split);
    const emb = await embedSplit({ model, data, split: resolve(data, split), ...(noCache ? { cacheDir: null } : {}) });
    const keep = emb.labels.flatMap((l, i) => (only === undefined || l === only ? [i] : []));
    if (keep.length === 0) throw new UsageError(`--unseen ${spec}: no image labelled "${only}"`);
    for (const i of keep) {
      out.vectors.push(emb.vectors[i]!);
      out.labels.push(emb.labels[i]!);
    }
    out.sources.push(`${basename(data)}${only ? ` ${only}` : ''}: ${keep.length}`);
  }
  return out;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`calibrate-threshold: ${(e as Error).message ?? e}${e instanceof UsageError ? `\n${USAGE}` : ''}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
