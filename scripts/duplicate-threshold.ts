/**
 * npm run duplicate-threshold -- --data <folder> --split <training split> [--model models/default]
 *                                [--sample 300] [--seed 1] [--json FILE] [--no-cache]
 *
 * The evidence behind DEFAULT_DUPLICATE_THRESHOLD (src/core/near-duplicates.ts), on TRAINING images only. A
 * seeded sample of the split's images is decoded, and each gets five near-duplicate variants
 * (scripts/lib/duplicate-variants.ts: JPEG quality 60-90, resized to 50-80 %, cropped to 90-95 %, brightness
 * +-5-12 %, and all four at once). Originals and variants are embedded with the product's engine in Node (tfjs
 * WASM, as npm run embed); the cosine of each (original, variant) pair is set against every image's best cosine
 * with a distinct image of its class (file contents differ), over the whole split (embedded once and kept in
 * .cache/embeddings, as npm run calibrate-threshold does), and the sampled images' best with another class.
 * Prints the distributions, a table over thresholds and the threshold the rule of
 * scripts/lib/duplicate-evidence.ts picks.
 * eval.txt and finetune-*.txt are refused.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ImageSource } from '../src/core/embedder-api.ts';
import { pca2d } from '../src/core/embedding-map/pca.ts';
import { nearDuplicates } from '../src/core/near-duplicates.ts';
import { seededShuffle } from '../src/core/recognition-calibration.ts';
import { mulberry32 } from '../src/core/seeded-random.ts';
import { cosineSimilarity } from '../src/core/similarity.ts';
import type { RgbaPixels } from '../src/model/preprocess.ts';
import { EmbedderEngine } from '../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../src/worker/node-environment.ts';
import {
  chooseDuplicateThreshold,
  distributionTable,
  DUPLICATE_RULE,
  evidenceTable,
  type DuplicateEvidence,
} from './lib/duplicate-evidence.ts';
import { makeVariants, type Variant } from './lib/duplicate-variants.ts';
import { decodeImageBlob, decodeImageBytes } from './lib/node-image-decode.ts';
import { isMain } from './lib/run-main.ts';
import { isMeasuringSplit } from './lib/split.ts';
import { embedSplit, manifestPath } from './lib/split-embeddings.ts';

export const DEFAULT_DUPLICATE_RUN = Object.freeze({ model: 'models/default', sample: 300, seed: 1 });
const MAX_PIXELS = 40_000_000;
const TABLE_THRESHOLDS = Array.from({ length: 20 }, (_, i) => (80 + i) / 100);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

const USAGE = `usage: npm run duplicate-threshold -- --data <folder> --split <training split> [options]
  --model <folder>   the model (default ${DEFAULT_DUPLICATE_RUN.model})
  --sample N         images to make variants of (default ${DEFAULT_DUPLICATE_RUN.sample})
  --seed N           the sample's and the variants' seed (default ${DEFAULT_DUPLICATE_RUN.seed})
  --json FILE        also write every score and the choice as JSON
  --no-cache         embed the split again even if .cache/embeddings holds it`;

class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      split: { type: 'string' },
      model: { type: 'string' },
      sample: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
      'no-cache': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void console.log(USAGE);
  if (!values.data || !values.split) throw new UsageError('--data and --split are required');
  if (isMeasuringSplit(values.split)) {
    throw new UsageError(
      `refusing ${values.split}: eval.txt and finetune-*.txt are for measuring only; use the training split`,
    );
  }
  const sample = Number(values.sample ?? DEFAULT_DUPLICATE_RUN.sample);
  if (!Number.isInteger(sample) || sample < 1)
    throw new UsageError(`--sample must be a positive integer; got "${values.sample}"`);
  const seed = Number(values.seed ?? DEFAULT_DUPLICATE_RUN.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer; got "${values.seed}"`);
  const model = values.model ?? DEFAULT_DUPLICATE_RUN.model;
  const started = performance.now();

  const split = await embedSplit({
    model,
    data: values.data,
    split: values.split,
    ...(values['no-cache'] ? { cacheDir: null } : {}),
  });
  const n = split.paths.length;
  // Byte-identical files are one image twice, not two distinct images of a class.
  const digests = await Promise.all(
    split.paths.map(async (p) =>
      createHash('sha256')
        .update(await readFile(join(values.data!, p)))
        .digest('hex'),
    ),
  );
  const rand = mulberry32(seed);
  const chosen = seededShuffle(
    Array.from({ length: n }, (_, i) => i),
    rand,
  ).slice(0, Math.min(sample, n));

  const engine = new EmbedderEngine(nodeEnvironment(manifestPath(model), { wasm: true, decodeBlob: decodeImageBlob }));
  const variantScores: DuplicateEvidence['variants'][number][] = [];
  const examples: { path: string; kind: string; params: string; score: number }[] = [];
  try {
    const info = await engine.load({ model: pathToFileURL(manifestPath(model)).href, backend: 'auto', batchSize: 16 });
    console.error(`${info.modelId} on ${info.backend}: ${chosen.length} images x 6 (original and 5 variants)`);
    for (let first = 0; first < chosen.length; first += 8) {
      const part = chosen.slice(first, first + 8);
      const inputs: { name: string; image: ImageSource }[] = [];
      const made: { path: string; variants: Variant[] }[] = [];
      for (const i of part) {
        const path = split.paths[i]!;
        const bytes = new Uint8Array(await readFile(join(values.data, path)));
        const variants = makeVariants(decodeImageBytes(bytes, path, MAX_PIXELS), rand);
        made.push({ path, variants });
        inputs.push({ name: path, image: new Blob([bytes]) });
        for (const v of variants) inputs.push({ name: `${path} (${v.kind})`, image: asImageSource(v.image) });
      }
      const results = await engine.embed(inputs);
      made.forEach(({ path, variants }, k) => {
        const [original, ...rest] = results.slice(k * 6, k * 6 + 6);
        if (!original?.ok) throw new Error(`${path}: ${original?.ok === false ? original.error.message : 'no result'}`);
        variants.forEach((v, r) => {
          const res = rest[r]!;
          if (!res.ok) throw new Error(`${path} (${v.kind}): ${res.error.message}`);
          const score = cosineSimilarity(original.embedding, res.embedding);
          variantScores.push({ kind: v.kind, score });
          examples.push({ path, kind: v.kind, params: v.params, score });
        });
      });
      console.error(`  ${Math.min(first + 8, chosen.length)} / ${chosen.length}`);
    }
  } finally {
    await engine.dispose();
  }

  // Every image of the split against the distinct images of its class (cheap: class by class); the sampled
  // images also against every other class, for scale.
  const byLabel = new Map<string, number[]>();
  split.labels.forEach((l, i) => (byLabel.get(l) ?? byLabel.set(l, []).get(l)!).push(i));
  const sameClassBest: number[] = [];
  const sameClassPairs: number[] = [];
  let identicalPairs = 0;
  for (const members of byLabel.values()) {
    for (const i of members) {
      let best = -Infinity;
      for (const j of members) {
        if (j === i) continue;
        if (digests[j] === digests[i]) {
          if (j > i) identicalPairs++;
          continue;
        }
        const score = cosineSimilarity(split.vectors[i]!, split.vectors[j]!);
        if (j > i) sameClassPairs.push(score);
        best = Math.max(best, score);
      }
      if (best > -Infinity) sameClassBest.push(best);
    }
  }
  const otherClassBest = chosen.map((i) => {
    let best = -Infinity;
    for (let j = 0; j < n; j++) {
      if (split.labels[j] !== split.labels[i])
        best = Math.max(best, cosineSimilarity(split.vectors[i]!, split.vectors[j]!));
    }
    return best;
  });
  const evidence: DuplicateEvidence = { variants: variantScores, sameClassBest, otherClassBest, sameClassPairs };
  const choice = chooseDuplicateThreshold(evidence);
  const seconds = (performance.now() - started) / 1000;

  console.log(
    `${split.modelId} on ${values.split}: ${chosen.length} of ${n} images (seed ${seed}), ` +
      `${variantScores.length} variants; same-class neighbours: all ${sameClassBest.length} images of the split against ` +
      `the distinct images of their class` +
      (identicalPairs > 0 ? ` (${identicalPairs} byte-identical pair(s) left out)` : ''),
  );
  console.log(`\n${distributionTable(evidence)}\n`);
  console.log(
    evidenceTable(
      evidence,
      [...new Set([...TABLE_THRESHOLDS, choice.threshold])].sort((a, b) => a - b),
    ),
  );
  console.log(
    `\nchosen: ${choice.threshold.toFixed(2)}, the most variants kept less images grouped: ` +
      `${pct(choice.variantsKept)} of variant pairs kept, ${pct(choice.imagesGrouped)} of images grouped with a distinct same-class image`,
  );
  console.log(
    `for reference: keeping >= ${DUPLICATE_RULE.keepVariants * 100}% of variant pairs needs a threshold <= ${choice.keepBound.toFixed(4)}; ` +
      `grouping <= ${DUPLICATE_RULE.groupImages * 100}% of images needs >= ${choice.groupBound.toFixed(4)}`,
  );
  console.log(`(${seconds.toFixed(0)} s)`);
  console.log(`\n${timings(split.vectors, choice.threshold)}`);
  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify({ modelId: split.modelId, split: values.split, seed, sample: chosen.length, choice, identicalPairs, sameClassBest, otherClassBest, variants: examples }, null, 1)}\n`,
    );
    console.error(`wrote ${values.json}`);
  }
}

/**
 * What the page's views will cost at 5,000 images: the split's embeddings, topped up to 5,000 with jittered
 * copies (deterministic), through nearDuplicates and pca2d.
 */
function timings(vectors: readonly Float32Array[], threshold: number): string {
  const target = 5000;
  const rows = Array.from({ length: target }, (_, i) => {
    const v = vectors[i % vectors.length]!;
    return i < vectors.length ? v : Float32Array.from(v, (x, k) => x + 0.02 * Math.sin(i * 7 + k));
  });
  const time = <T>(f: () => T): [T, number] => {
    const t = performance.now();
    const out = f();
    return [out, performance.now() - t];
  };
  const onSplit = nearDuplicates(
    vectors.map((embedding, i) => ({ id: String(i), embedding })),
    threshold,
  );
  const [, dupMs] = time(() =>
    nearDuplicates(
      rows.map((embedding, i) => ({ id: String(i), embedding })),
      threshold,
    ),
  );
  const [map, pcaMs] = time(() => pca2d(rows));
  return (
    `the whole split at ${threshold.toFixed(2)}: ${onSplit.length} groups holding ` +
    `${onSplit.reduce((s, g) => s + g.ids.length, 0)} of ${vectors.length} images\n` +
    `at ${target} x ${rows[0]!.length}: nearDuplicates ${dupMs.toFixed(0)} ms, pca2d ${pcaMs.toFixed(0)} ms ` +
    `(explained ${(map.explained[0] * 100).toFixed(1)}% + ${(map.explained[1] * 100).toFixed(1)}%)`
  );
}

function asImageSource(image: RgbaPixels | Uint8Array): ImageSource {
  // JPEG bytes go through the file decoder, as a dropped file does; pixels go in as they are (Node's ImageData).
  return image instanceof Uint8Array ? new Blob([image as Uint8Array<ArrayBuffer>]) : (image as unknown as ImageData);
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`duplicate-threshold: ${(e as Error).message ?? e}${e instanceof UsageError ? `\n${USAGE}` : ''}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
