/**
 * One fine-tuning run on the loaded model: backbone features computed once (or per epoch with augmentation),
 * the stratified split, "before" retrieval on the validation images, training (src/model/fine-tune.ts),
 * "after" with the kept weights, and the result encoded as a weight manifest with the head, ready to store.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EmbedderInfo, ImageSource } from '../core/embedder-api.ts';
import { EmbedderError, OptionsError } from '../core/errors.ts';
import { planSplit, type FineTuneProgress, type FineTuneReport, type FineTuneSample } from '../core/fine-tune-api.ts';
import {
  validateFineTuneOptions,
  type FineTuneDepth,
  type FineTuneOptions,
  type PreprocessOptions,
} from '../core/options.ts';
import type { FineTuneResult } from '../core/worker-api.ts';
import { mulberry32 } from '../core/seeded-random.ts';
import { leaveLabelOutThreshold, type LeaveLabelOutCalibration } from '../core/recognition-calibration.ts';
import type { StateDict } from '../core/state-dict.ts';
import type { PPLCNetModel } from '../model/builder.ts';
import { createTrainableBackbone, type TrainableBackbone } from '../model/fine-tune-network.ts';
import { encodeFloat16 } from '../model/convert/wire/float16.ts';
import {
  FEATURE_DIM,
  featuresThrough,
  neckEmbeddings,
  type CachedSet,
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

/** The frozen part's output for a batch: float32 rows, or float16 bits for feature maps (half the memory). */
async function cachedRows(
  backbone: TrainableBackbone,
  batch: tf.Tensor4D,
): Promise<{ rows: Float32Array | Uint16Array; shape: number[] }> {
  const out = backbone.frozen(batch);
  const data = (await out.data()) as Float32Array;
  const shape = out.shape.slice(1);
  out.dispose();
  return { rows: shape.length > 1 ? encodeFloat16(data) : data, shape };
}

function concatRows(parts: readonly (Float32Array | Uint16Array)[], fp16: boolean): Float32Array | Uint16Array {
  const length = parts.reduce((a, p) => a + p.length, 0);
  const out = fp16 ? new Uint16Array(length) : new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
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
  // The split is planned on the labels before any image is decoded, so that the training images' extra views
  // are computed in the same pass; an image that then fails to decode drops out of its share.
  const labelled: { name: string; label: string; image: ImageSource }[] = [];
  samples.forEach((s, i) => {
    const name = s.name ?? `image-${i + 1}`;
    const label = typeof s.label === 'string' ? s.label.trim() : '';
    if (label) labelled.push({ name, label, image: s.image });
    else skipped.push({ name, reason: 'no label' });
  });
  const plan = planSplit(
    labelled.map((l) => l.label),
    o.validationFraction,
    o.seed,
  );
  const inTrain = new Set(plan.train);
  const rows = new Map<number, { label: string; views: (Float32Array | Uint16Array)[]; image?: tf.Tensor3D }>();
  const kept: tf.Tensor3D[] = [];
  const random = mulberry32(o.seed + 3);
  const backbone = createTrainableBackbone({
    depth: o.depth,
    plan: ctx.model.plan,
    stateDict: ctx.stateDict,
    batchNorm: ctx.batchNorm,
    featuresOf: (x) => ctx.model.forwardFeatures(x),
  });
  let rowShape: number[] = [FEATURE_DIM];
  try {
    // 1. The frozen part, once per image and per extra view of a training image.
    const batchSize = ctx.info.batchSize;
    const passes = labelled.length + (o.views - 1) * plan.train.length;
    let done = 0;
    for (let first = 0; first < labelled.length; first += batchSize) {
      const batch: { k: number; tensor: tf.Tensor3D }[] = [];
      for (let k = first; k < Math.min(first + batchSize, labelled.length); k++) {
        const s = labelled[k]!;
        try {
          const { pixels } = await ctx.decode(s.image, s.name);
          batch.push({ k, tensor: preprocessToTensor(pixels, ctx.preprocess) });
        } catch (e) {
          skipped.push({ name: s.name, reason: (e as Error).message });
        }
      }
      if (batch.length > 0) {
        const stacked = tf.stack(batch.map((b) => b.tensor)) as tf.Tensor4D;
        const { rows: flat, shape } = await cachedRows(backbone, stacked);
        stacked.dispose();
        rowShape = shape;
        const len = shape.reduce((a, b) => a * b, 1);
        batch.forEach((b, i) =>
          rows.set(b.k, { label: labelled[b.k]!.label, views: [flat.slice(i * len, (i + 1) * len)] }),
        );
        const training = batch.filter((b) => inTrain.has(b.k));
        for (let v = 1; v < o.views && training.length > 0; v++) {
          const views = augmentBatch(
            training.map((b) => b.tensor),
            random,
          );
          const extra = (await cachedRows(backbone, views)).rows;
          views.dispose();
          training.forEach((b, i) => rows.get(b.k)!.views.push(extra.slice(i * len, (i + 1) * len)));
        }
        batch.forEach((b) => {
          if (o.augment && inTrain.has(b.k)) {
            rows.get(b.k)!.image = b.tensor;
            kept.push(b.tensor);
          } else b.tensor.dispose();
        });
        done += batch.length + (o.views - 1) * training.length;
      }
      const elapsed = ctx.now() - started;
      onProgress?.({
        phase: 'features',
        done,
        total: passes,
        etaMs: done > 0 ? (elapsed / done) * (passes - done) : undefined,
      });
      if (shouldStop()) throw new EmbedderError('fine-tuning was stopped before training began; nothing was changed');
    }

    // 2. Sets: the planned shares, less the images that failed to decode.
    const trainIdx = plan.train.filter((k) => rows.has(k));
    const validationIdx = plan.validation.filter((k) => rows.has(k));
    const classes = [...new Set([...rows.values()].map((r) => r.label))].sort((a, b) => a.localeCompare(b));
    const classOf = new Map(classes.map((c, i) => [c, i]));
    const fp16 = rowShape.length > 1;
    const viewOf = (idx: number[], v: number) =>
      concatRows(
        idx.map((k) => rows.get(k)!.views[v]!),
        fp16,
      );
    const labelsOf = (idx: number[]) => Int32Array.from(idx, (k) => classOf.get(rows.get(k)!.label)!);
    const train: CachedSet = { features: viewOf(trainIdx, 0), labels: labelsOf(trainIdx), rowShape };
    const extraViews = Array.from({ length: o.views - 1 }, (_, v) => viewOf(trainIdx, v + 1));
    const validation: CachedSet = { features: viewOf(validationIdx, 0), labels: labelsOf(validationIdx), rowShape };
    const cacheBytes =
      [train, validation].reduce((a, s) => a + s.features.byteLength, 0) +
      extraViews.reduce((a, v) => a + v.byteLength, 0);
    const notes = [...plan.notes];
    notes.push(
      `Depth ${o.depth}: ${rows.size} images${o.views > 1 ? ` (+ ${o.views - 1} views of each training image)` : ''} cached as [${rowShape.join(', ')}] ${fp16 ? 'float16' : 'float32'} rows, ${(cacheBytes / 2 ** 20).toFixed(1)} MB.`,
    );
    // The starting model's 1280-d features of the validation rows ("before").
    const validation1280 =
      o.depth === 'neck' ? (validation as FeatureSet) : await featuresThrough(backbone, validation, batchSize);
    const neckWeight = ctx.stateDict.get('neck.fc.weight')!.data;
    const neckBias = ctx.stateDict.get('neck.fc.bias')!.data;
    const before = neckRetrieval(validation1280, { weight: neckWeight, bias: neckBias });
    const measurable = !Number.isNaN(before.map);

    // 3. Train.
    const trained = await trainArcMarginHead({
      train,
      validation,
      classes: classes.length,
      neck: { weight: neckWeight, bias: neckBias },
      options: o,
      now: ctx.now,
      shouldStop,
      ...(o.depth === 'neck' ? {} : { backbone }),
      ...(extraViews.length > 0 ? { extraViews } : {}),
      onEpoch: (epoch, etaMs) => onProgress?.({ phase: 'train', done: epoch.epoch, total: o.epochs, epoch, etaMs }),
      ...(o.augment
        ? {
            featuresForEpoch: async () => {
              const parts: (Float32Array | Uint16Array)[] = [];
              for (let b = 0; b < trainIdx.length; b += batchSize) {
                const idx = trainIdx.slice(b, b + batchSize);
                const views = augmentBatch(
                  idx.map((k) => rows.get(k)!.image!),
                  random,
                );
                parts.push((await cachedRows(backbone, views)).rows);
                views.dispose();
              }
              return concatRows(parts, fp16);
            },
          }
        : {}),
    });
    // The 1280-d features under the kept weights: the cached ones when only the neck trained.
    const final = trained.features ?? { train: train as FeatureSet, validation: validation1280 };
    const after = trained.bestEpoch > 0 && measurable ? neckRetrieval(final.validation, trained.neck) : before;
    if (!measurable)
      notes.push(
        'no label has 2 validation images: retrieval before / after cannot be measured (label more images, or raise the validation share)',
      );
    const report: FineTuneReport = {
      modelId: '',
      classes,
      trainImages: trainIdx.length,
      validationImages: validationIdx.length,
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
    const recognition = recognitionOf(final.train, final.validation, trained.neck, classes);
    if (recognition) {
      notes.push(
        `Recognition threshold for this model: ${recognition.threshold} (${pct(recognition.falseAcceptRate)} of validation images accepted ` +
          `against a gallery without their label; at it ${pct(recognition.knownRight)} of validation images are recognised with the right label).`,
      );
    }

    // 5. The fine-tuned model: the backbone with its trained layers, the kept neck, and the head.
    const stateDict: StateDict = new Map(ctx.stateDict);
    for (const [name, t] of backbone.stateDictEntries(trained.backbone)) stateDict.set(name, t);
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
      provenance: `${ctx.info.modelId}, ${DEPTH_TEXT[o.depth]}neck${o.trainNeck ? '' : ' (frozen)'} + ArcMargin head (s ${o.arcMargin.scale}, m ${o.arcMargin.margin}${o.tripletWeight > 0 ? `, triplet term weight ${o.tripletWeight}, margin ${o.tripletMargin}` : ''}) fine-tuned in the browser on ${trainIdx.length} images of ${classes.length} labels (epoch ${trained.bestEpoch} of ${o.epochs} kept)\n${ctx.info.provenance}`,
      license: ctx.info.license,
      head: { settings: { type: 'ArcMargin', labels: classes, ...o.arcMargin }, weight: trained.head },
      ...(recognition
        ? {
            recognition: {
              threshold: recognition.threshold,
              falseAcceptRate: recognition.falseAcceptRate,
              calibration:
                `fine-tuning's validation share: ${recognition.queries} images against the ${trainIdx.length} training images as the gallery; ` +
                'unknown = each against the gallery without its label',
            },
          }
        : {}),
    });
    return { report: { ...report, modelId }, model: encoded };
  } finally {
    tf.dispose(kept);
    backbone.dispose();
  }
}

/** The provenance's words for what trained below the neck. */
const DEPTH_TEXT: Readonly<Record<FineTuneDepth, string>> = {
  neck: '',
  'last-conv': 'last_conv + ',
  'last-block': 'the last block (BatchNorm folded, frozen) + last_conv + ',
  'last-stage': 'the last stage (BatchNorm folded, frozen) + last_conv + ',
};

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
