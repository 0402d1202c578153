/**
 * npm run recognition-eval -- --data <folder> --split <eval split> [--model models/default] [--threshold T]
 *                             [--seed 1] [--seeds 5] [--known 10] [--gallery 15] [--no-cache]
 *
 * Measures recognition on classes a threshold was not set on (eval.txt): classes sorted by name, a seeded
 * choice of `--known` of them with `--gallery` images each as the gallery, their other images as known
 * queries, every image of the other classes as unknown queries. Reports, at the model's recommended threshold
 * (its manifest's, else PaddleClas's 0.5) or `--threshold`, the share of known queries recognised with the
 * right label and of unknown queries rejected, plus top-1 accuracy ignoring the threshold; for seed, seed+1,
 * ... seed+seeds-1, with mean and min. The protocol is src/core/recognition-calibration.ts.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SCORE_THRESHOLD } from '../src/core/gallery-search.ts';
import {
  openSetRates,
  openSetTrial,
  scoreTrial,
  type OpenSetRates,
  type TrialScores,
} from '../src/core/recognition-calibration.ts';
import { recommendedThreshold } from '../src/core/recognition-threshold.ts';
import { embedSplit, manifestPath, readManifest } from './lib/split-embeddings.ts';
import { isMain } from './lib/run-main.ts';

export const DEFAULT_RECOGNITION_EVAL = Object.freeze({
  model: 'models/default',
  seed: 1,
  seeds: 5,
  known: 10,
  gallery: 15,
});

const USAGE = `usage: npm run recognition-eval -- --data <folder> --split <eval split> [options]
  --model <folder>   the model (default ${DEFAULT_RECOGNITION_EVAL.model})
  --threshold T      cosine from which a match is accepted (default: the model's recommended threshold)
  --seed N           first seed (default ${DEFAULT_RECOGNITION_EVAL.seed}); --seeds N: how many (default ${DEFAULT_RECOGNITION_EVAL.seeds})
  --known N          known classes (default ${DEFAULT_RECOGNITION_EVAL.known}; the others are unknown)
  --gallery N        gallery images per known class (default ${DEFAULT_RECOGNITION_EVAL.gallery})
  --no-cache         embed again even if .cache/embeddings holds this model's embeddings of the split`;

class UsageError extends Error {}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function integer(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer of at least ${min}; got "${value}"`);
  return n;
}

/** Mean and min of each rate over seeds. */
export function summarise(rates: readonly OpenSetRates[]): Record<keyof OpenSetRates, { mean: number; min: number }> {
  const of = (k: keyof OpenSetRates) => {
    const xs = rates.map((r) => r[k]);
    return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs) };
  };
  return { knownRight: of('knownRight'), unknownRejected: of('unknownRejected'), knownTop1: of('knownTop1') };
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      split: { type: 'string' },
      model: { type: 'string' },
      threshold: { type: 'string' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      known: { type: 'string' },
      gallery: { type: 'string' },
      'no-cache': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.data || !values.split) throw new UsageError('--data and --split are required');
  const model = values.model ?? DEFAULT_RECOGNITION_EVAL.model;
  const seed = integer(values.seed, 'seed', DEFAULT_RECOGNITION_EVAL.seed, Number.MIN_SAFE_INTEGER);
  const seeds = integer(values.seeds, 'seeds', DEFAULT_RECOGNITION_EVAL.seeds, 1);
  const known = integer(values.known, 'known', DEFAULT_RECOGNITION_EVAL.known, 1);
  const gallery = integer(values.gallery, 'gallery', DEFAULT_RECOGNITION_EVAL.gallery, 1);
  const recommended = recommendedThreshold((await readManifest(manifestPath(model))).recognition);
  let threshold = recommended.threshold;
  if (values.threshold !== undefined) {
    threshold = Number(values.threshold);
    if (!(threshold >= -1 && threshold <= 1))
      throw new UsageError(`--threshold must be a cosine from -1 to 1; got "${values.threshold}"`);
  }

  const emb = await embedSplit({
    model,
    data: values.data,
    split: values.split,
    ...(values['no-cache'] ? { cacheDir: null } : {}),
  });
  const classes = new Set(emb.labels).size;
  const where = values.threshold !== undefined ? '--threshold' : `${recommended.source}: ${recommended.note}`;
  console.log(
    `${emb.modelId} on ${values.split}: ${emb.vectors.length} images, ${classes} classes; ${known} known (${gallery} gallery images each), ${classes - known} unknown`,
  );
  console.log(`threshold ${threshold} (${where})\n`);
  console.log(
    `${'seed'.padEnd(6)} ${'known q.'.padStart(8)} ${'unknown q.'.padStart(10)}  known right  unknown rejected  top-1 (no threshold)`,
  );
  const trials: TrialScores[] = [];
  for (let s = seed; s < seed + seeds; s++) {
    const scores = scoreTrial(
      emb.vectors,
      emb.labels,
      openSetTrial(emb.labels, { knownClasses: known, galleryPerClass: gallery, seed: s }),
    );
    trials.push(scores);
    const r = openSetRates(scores, threshold);
    console.log(
      `${String(s).padEnd(6)} ${String(scores.known.length).padStart(8)} ${String(scores.unknown.length).padStart(10)}  ` +
        `${pct(r.knownRight).padStart(11)}  ${pct(r.unknownRejected).padStart(16)}  ${pct(r.knownTop1).padStart(20)}`,
    );
  }
  const sum = summarise(trials.map((t) => openSetRates(t, threshold)));
  for (const k of ['mean', 'min'] as const) {
    console.log(
      `${k.padEnd(6)} ${''.padStart(8)} ${''.padStart(10)}  ${pct(sum.knownRight[k]).padStart(11)}  ${pct(sum.unknownRejected[k]).padStart(16)}  ${pct(sum.knownTop1[k]).padStart(20)}`,
    );
  }
  if (threshold !== DEFAULT_SCORE_THRESHOLD) {
    const at = summarise(trials.map((t) => openSetRates(t, DEFAULT_SCORE_THRESHOLD)));
    console.log(
      `\nfor comparison, PaddleClas's ${DEFAULT_SCORE_THRESHOLD}: known right ${pct(at.knownRight.mean)} (min ${pct(at.knownRight.min)}), ` +
        `unknown rejected ${pct(at.unknownRejected.mean)} (min ${pct(at.unknownRejected.min)})`,
    );
  }
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`recognition-eval: ${(e as Error).message ?? e}${e instanceof UsageError ? `\n${USAGE}` : ''}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
