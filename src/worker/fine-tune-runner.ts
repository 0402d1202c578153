/**
 * One fine-tuning run on the loaded model: backbone features computed once (or per epoch with augmentation),
 * the stratified split, "before" retrieval on the validation images, training (src/model/fine-tune.ts),
 * "after" with the kept weights, and the result encoded as a weight manifest with the head, ready to store.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EmbedderInfo, ImageSource } from '../core/embedder-api.ts';
import { EmbedderError, OptionsError } from '../core/errors.ts';
import { planSplit, type FineTuneProgress, type FineTuneReport, type FineTuneSample } from '../core/fine-tune-api.ts';
import { validateFineTuneOptions, type FineTuneOptions, type PreprocessOptions } from '../core/options.ts';
import type { FineTuneResult } from '../core/worker-api.ts';
import { mulberry32 } from '../core/seeded-random.ts';
import { leaveLabelOutThreshold, type LeaveLabelOutCalibration } from '../core/recognition-calibration.ts';
import type { StateDict } from '../core/state-dict.ts';
import type { PPLCNetModel } from '../model/builder.ts';
import {
  FEATURE_DIM,
  neckEmbeddings,
  neckRetrieval,
  trainArcMarginHead,
  type FeatureSet,
  type NeckWeights,
} from '../model/fine-tune.ts';
import { encodeManifest, type EncodedModel } from '../model/weights/manifest-codec.ts';
import type { BatchNormForm } from '../model/parameters.ts';
import { preprocessToTensor, type RgbaPixels } from '../model/preprocess.ts';

export interface FineTuneContext {
  readonly model: PPLCNetModel;
  readonly preprocess: PreprocessOptions;
  readonly info: EmbedderInfo;
  readonly stateDict: StateDict;
  readonly batchNorm: BatchNormForm;
  readonly decode: (image: ImageSource, name: string) => Promise<{ pixels: RgbaPixels }>;
  readonly now: () => number;
}

/** Random crop (70-100 % of the side, anywhere) and horizontal flip of preprocessed [224, 224, 3] images. */
function augmentBatch(images: tf.Tensor3D[], random: () => number): tf.Tensor4D {
  return tf.tidy(() => {
    const [height, width] = images[0]!.shape;
    const boxes = images.map(() => {
      const side = 0.7 + 0.3 * random();
      const y = (1 - side) * random();
      const x = (1 - side) * random();
      return random() < 0.5 ? [y, x, y + side, x + side] : [y, x + side, y + side, x]; // x2 < x1 flips
    });
    return tf.image.cropAndResize(
      tf.stack(images) as tf.Tensor4D,
      boxes,
      images.map((_, i) => i),
      [height, width],
    );
  });
}

async function featuresOf(model: PPLCNetModel, batch: tf.Tensor4D): Promise<Float32Array> {
  const f = model.forwardFeatures(batch);
  const data = (await f.data()) as Float32Array;
  f.dispose();
  return data;
}

export async function runFineTune(
  ctx: FineTuneContext,
  samples: readonly FineTuneSample[],
  options: FineTuneOptions,
  onProgress: ((p: FineTuneProgress) => void) | undefined,
  shouldStop: () => boolean,
): Promise<FineTuneResult<EncodedModel>> {
  const o = validateFineTuneOptions(options);
  if (!ctx.model.neck || ctx.model.plan.featureDim !== FEATURE_DIM) {
    throw new OptionsError(
      `fine-tuning trains a PP-ShiTu neck on the ${FEATURE_DIM}-d backbone feature, and the loaded model ` +
        (ctx.model.neck
          ? `has a ${ctx.model.plan.featureDim}-d feature`
          : 'has no neck (an imported classifier: its embedding is the backbone feature)') +
        '; load a PP-ShiTu feature extractor (or the default model) to fine-tune',
    );
  }
  const started = ctx.now();
  const skipped: { name: string; reason: string }[] = [];
  const rows: { name: string; label: string; feature: Float32Array; image?: tf.Tensor3D }[] = [];
  const kept: tf.Tensor3D[] = [];
  try {
    // 1. Backbone features, once per image.
    const batchSize = ctx.info.batchSize;
    for (let first = 0; first < samples.length; first += batchSize) {
      const batch: { name: string; label: string; tensor: tf.Tensor3D }[] = [];
      for (let i = first; i < Math.min(first + batchSize, samples.length); i++) {
        const s = samples[i]!;
        const name = s.name ?? `image-${i + 1}`;
        const label = typeof s.label === 'string' ? s.label.trim() : '';
        if (!label) {
          skipped.push({ name, reason: 'no label' });
          continue;
        }
        try {
          const { pixels } = await ctx.decode(s.image, name);
          batch.push({ name, label, tensor: preprocessToTensor(pixels, ctx.preprocess) });
        } catch (e) {
          skipped.push({ name, reason: (e as Error).message });
        }
      }
      if (batch.length > 0) {
        const stacked = tf.stack(batch.map((b) => b.tensor)) as tf.Tensor4D;
        const flat = await featuresOf(ctx.model, stacked);
        stacked.dispose();
        batch.forEach((b, k) => {
          rows.push({
            name: b.name,
            label: b.label,
            feature: flat.slice(k * FEATURE_DIM, (k + 1) * FEATURE_DIM),
            ...(o.augment ? { image: b.tensor } : {}),
          });
          if (o.augment) kept.push(b.tensor);
          else b.tensor.dispose();
        });
      }
      const done = Math.min(first + batchSize, samples.length);
      const elapsed = ctx.now() - started;
      onProgress?.({
        phase: 'features',
        done,
        total: samples.length,
        etaMs: (elapsed / done) * (samples.length - done),
      });
      if (shouldStop()) throw new EmbedderError('fine-tuning was stopped before training began; nothing was changed');
    }

    // 2. Split and sets.
    const labels = rows.map((r) => r.label);
    const plan = planSplit(labels, o.validationFraction, o.seed);
    const classes = [...new Set(labels)].sort((a, b) => a.localeCompare(b));
    const classOf = new Map(classes.map((c, i) => [c, i]));
    const setOf = (idx: number[]): FeatureSet => {
      const features = new Float32Array(idx.length * FEATURE_DIM);
      idx.forEach((r, k) => features.set(rows[r]!.feature, k * FEATURE_DIM));
      return { features, labels: Int32Array.from(idx, (r) => classOf.get(rows[r]!.label)!) };
    };
    const train = setOf(plan.train);
    const validation = setOf(plan.validation);
    const neckWeight = ctx.stateDict.get('neck.fc.weight')!.data;
    const neckBias = ctx.stateDict.get('neck.fc.bias')!.data;
    const before = neckRetrieval(validation, { weight: neckWeight, bias: neckBias });
    const measurable = !Number.isNaN(before.map);

    // 3. Train.
    const random = mulberry32(o.seed + 3);
    const trained = await trainArcMarginHead({
      train,
      validation,
      classes: classes.length,
      neck: { weight: neckWeight, bias: neckBias },
      options: o,
      now: ctx.now,
      shouldStop,
      onEpoch: (epoch, etaMs) => onProgress?.({ phase: 'train', done: epoch.epoch, total: o.epochs, epoch, etaMs }),
      ...(o.augment
        ? {
            featuresForEpoch: async () => {
              const out = new Float32Array(plan.train.length * FEATURE_DIM);
              for (let b = 0; b < plan.train.length; b += batchSize) {
                const idx = plan.train.slice(b, b + batchSize);
                const views = augmentBatch(
                  idx.map((r) => rows[r]!.image!),
                  random,
                );
                out.set(await featuresOf(ctx.model, views), b * FEATURE_DIM);
                views.dispose();
              }
              return out;
            },
          }
        : {}),
    });
    const after = trained.bestEpoch > 0 && measurable ? neckRetrieval(validation, trained.neck) : before;
    const notes = [...plan.notes];
    if (!measurable)
      notes.push(
        'no label has 2 validation images: retrieval before / after cannot be measured (label more images, or raise the validation share)',
      );
    const report: FineTuneReport = {
      modelId: '',
      classes,
      trainImages: plan.train.length,
      validationImages: plan.validation.length,
      skipped,
      before,
      after,
      history: trained.history,
      bestEpoch: trained.bestEpoch,
      stopped: trained.stopped,
      seconds: (ctx.now() - started) / 1000,
      notes,
    };
    if (trained.bestEpoch === 0) return { report };

    // 4. Its recognition threshold, from this run's own images (its neck moved every score): the training share
    // is the gallery, the validation share the queries, each also as an unknown against the other labels.
    const recognition = recognitionOf(train, validation, trained.neck, classes);
    if (recognition) {
      notes.push(
        `Recognition threshold for this model: ${recognition.threshold} (${pct(recognition.falseAcceptRate)} of validation images accepted ` +
          `against a gallery without their label; at it ${pct(recognition.knownRight)} of validation images are recognised with the right label).`,
      );
    }

    // 5. The fine-tuned model: the same backbone, the kept neck, and the head.
    const stateDict: StateDict = new Map(ctx.stateDict);
    stateDict.set('neck.fc.weight', { shape: [FEATURE_DIM, neckBias.length], data: trained.neck.weight });
    stateDict.set('neck.fc.bias', { shape: [neckBias.length], data: trained.neck.bias });
    const base = ctx.info.modelId.replace(/-ft-[a-z0-9]+$/, '').slice(0, 80);
    const modelId = `${base}-ft-${Date.now().toString(36)}`;
    const encoded = await encodeManifest({
      modelId,
      scale: ctx.info.scale,
      embeddingDim: neckBias.length,
      batchNorm: ctx.batchNorm,
      network: { ...ctx.model.spec, neckDim: neckBias.length },
      stateDict,
      dtype: 'fp32',
      preprocessing: ctx.preprocess,
      provenance: `${ctx.info.modelId}, neck${o.trainNeck ? '' : ' (frozen)'} + ArcMargin head (s ${o.arcMargin.scale}, m ${o.arcMargin.margin}${o.tripletWeight > 0 ? `, triplet term weight ${o.tripletWeight}, margin ${o.tripletMargin}` : ''}) fine-tuned in the browser on ${plan.train.length} images of ${classes.length} labels (epoch ${trained.bestEpoch} of ${o.epochs} kept)\n${ctx.info.provenance}`,
      license: ctx.info.license,
      head: { settings: { type: 'ArcMargin', labels: classes, ...o.arcMargin }, weight: trained.head },
      ...(recognition
        ? {
            recognition: {
              threshold: recognition.threshold,
              falseAcceptRate: recognition.falseAcceptRate,
              calibration:
                `fine-tuning's validation share: ${recognition.queries} images against the ${plan.train.length} training images as the gallery; ` +
                'unknown = each against the gallery without its label',
            },
          }
        : {}),
    });
    return { report: { ...report, modelId }, model: encoded };
  } finally {
    tf.dispose(kept);
  }
}

/** The same false-accept rate the default model's threshold was set at (docs/recognition-threshold.md). */
const FINE_TUNE_FAR = 0.1;
/** Fewer validation images than this give a threshold that one image moves: PaddleClas's 0.5 stays. */
const MIN_CALIBRATION_QUERIES = 10;

const pct = (v: number) => `${(100 * v).toFixed(0)} %`;

function recognitionOf(
  train: FeatureSet,
  validation: FeatureSet,
  neck: NeckWeights,
  classes: readonly string[],
): LeaveLabelOutCalibration | undefined {
  if (validation.labels.length < MIN_CALIBRATION_QUERIES) return undefined;
  const rows = (set: FeatureSet) =>
    neckEmbeddings(set, neck).map((embedding, i) => ({ embedding, label: classes[set.labels[i]!]! }));
  const c = leaveLabelOutThreshold(rows(train), rows(validation), FINE_TUNE_FAR);
  return c && { ...c, threshold: Number(c.threshold.toFixed(4)) };
}
