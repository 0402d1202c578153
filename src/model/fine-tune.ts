/**
 * Fine-tuning on cached activations: the trained backbone layers when there are any (options.depth,
 * src/model/fine-tune-network.ts), the neck (Linear 1280 -> D, trainable or frozen) and an ArcMargin head, softmax cross-entropy (plus an optional batch-hard triplet term), momentum SGD or Adam with L2 decay, linear warm-up then cosine decay, per
 * step. Each epoch is scored on the validation features; the best epoch's weights (validation mAP of the
 * L2-normalised embeddings) are the ones returned, also when the run is stopped early.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FineTuneEpoch, RetrievalScore } from '../core/fine-tune-api.ts';
import type { ResolvedFineTuneOptions } from '../core/options.ts';
import { mulberry32 } from '../core/seeded-random.ts';
import { leaveOneOutRetrieval } from '../core/retrieval-metrics.ts';
import { arcMarginCosine, arcMarginLoss } from './arc-margin.ts';
import { normalSampler } from '../core/seeded-random.ts';
import { batchHardTripletLoss } from './triplet-loss.ts';
import { decodeFloat16 } from './convert/wire/float16.ts';
import { adam, learningRateAt, momentum } from './fine-tune-optimizers.ts';
import type { TrainableBackbone } from './fine-tune-network.ts';

export { learningRateAt };

export const FEATURE_DIM = 1280;

export interface FeatureSet {
  /** Row-major [count, 1280] backbone features (the dropout's 0.8 included). */
  readonly features: Float32Array;
  /** Class index per row. */
  readonly labels: Int32Array;
}

export interface NeckWeights {
  /** [1280, D] row-major, PaddleClas's layout. */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/**
 * What the trained part reads: rows of cached activations (the 1280-d feature for the neck alone, deeper the
 * activation entering the trained layers, src/model/fine-tune-network.ts).
 */
export interface CachedSet {
  /** Row-major rows; a Uint16Array holds float16 bits (feature maps are cached at half the memory). */
  readonly features: Float32Array | Uint16Array;
  readonly labels: Int32Array;
  /** One row's shape. Default [1280]. */
  readonly rowShape?: readonly number[];
}

export interface TrainedHead {
  readonly neck: NeckWeights;
  /** ArcMargin weight [D, classes] row-major. */
  readonly head: Float32Array;
  /** The kept values of the backbone's trained tensors (TrainableBackbone.variables' order); empty for 'neck'. */
  readonly backbone: Float32Array[];
  /** With backbone layers trained: the 1280-d features of the training (first view) and validation rows under the kept weights. */
  readonly features?: { readonly train: FeatureSet; readonly validation: FeatureSet };
  readonly history: FineTuneEpoch[];
  readonly bestEpoch: number;
  readonly stopped: boolean;
}

export interface TrainHeadArgs {
  readonly train: CachedSet;
  readonly validation: CachedSet;
  readonly classes: number;
  readonly neck: NeckWeights;
  readonly options: ResolvedFineTuneOptions;
  /** The trained backbone layers (their variables are trained in place); absent: the rows are 1280-d features. */
  readonly backbone?: TrainableBackbone;
  /** More views of the training rows (same rows, same order), computed up front: each epoch picks one per row. */
  readonly extraViews?: readonly (Float32Array | Uint16Array)[];
  /** With augmentation: the training rows recomputed for this epoch (same rows, new views). */
  readonly featuresForEpoch?: (epoch: number) => Promise<Float32Array | Uint16Array>;
  readonly onEpoch?: (epoch: FineTuneEpoch, etaMs: number) => void;
  /** Polled between batches. */
  readonly shouldStop?: () => boolean;
  readonly now?: () => number;
}

const rowLength = (set: CachedSet) => (set.rowShape ?? [FEATURE_DIM]).reduce((a, b) => a * b, 1);

/** Rows `idx` of a cache as one float32 tensor [idx.length, ...rowShape]. */
function rowsTensor(data: Float32Array | Uint16Array, idx: readonly number[], rowShape: readonly number[]): tf.Tensor {
  const len = rowShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(idx.length * len);
  idx.forEach((r, k) => {
    const row = data.subarray(r * len, (r + 1) * len);
    out.set(row instanceof Uint16Array ? decodeFloat16(row) : row, k * len);
  });
  return tf.tensor(out, [idx.length, ...rowShape]);
}

/** The 1280-d features of a cached set through the trained part, in batches. */
export async function featuresThrough(
  backbone: TrainableBackbone,
  set: CachedSet,
  batchSize = 32,
): Promise<FeatureSet> {
  const n = set.labels.length;
  const shape = set.rowShape ?? [FEATURE_DIM];
  const features = new Float32Array(n * FEATURE_DIM);
  for (let b = 0; b < n; b += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - b) }, (_, k) => b + k);
    const x = rowsTensor(set.features, idx, shape);
    const f = backbone.forward(x);
    features.set((await f.data()) as Float32Array, b * FEATURE_DIM);
    tf.dispose([x, f]);
  }
  return { features, labels: set.labels };
}

/** PaddleClas's XavierNormal for a [fanIn, fanOut] weight, from a seeded generator. */
export function xavierNormal(fanIn: number, fanOut: number, seed: number): Float32Array {
  const normal = normalSampler(seed);
  const std = Math.sqrt(2 / (fanIn + fanOut));
  return Float32Array.from({ length: fanIn * fanOut }, () => normal() * std);
}

/** Leave-one-out retrieval, or NaN when no label has two images to find each other. */
function retrieval(rows: Float32Array[], labels: Int32Array): RetrievalScore {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  if (![...counts.values()].some((c) => c >= 2)) return { recallAt1: Number.NaN, map: Number.NaN };
  const r = leaveOneOutRetrieval(rows, Array.from(labels, String));
  return { recallAt1: r.recallAt1, map: r.map };
}

function rowsOf(flat: Float32Array, dim: number): Float32Array[] {
  return Array.from({ length: flat.length / dim }, (_, i) => flat.subarray(i * dim, (i + 1) * dim));
}

/** Validation scores of the current weights: head accuracy (nearest class centre) and embedding retrieval. */
function score(set: FeatureSet, neckW: tf.Tensor2D, neckB: tf.Tensor1D, head: tf.Tensor2D) {
  const n = set.labels.length;
  if (n === 0) return { accuracy: Number.NaN, recallAt1: Number.NaN, map: Number.NaN };
  const [emb, pred] = tf.tidy(() => {
    const e = tf.add(tf.matMul(tf.tensor2d(set.features, [n, FEATURE_DIM]), neckW), neckB) as tf.Tensor2D;
    return [tf.div(e, tf.norm(e, 'euclidean', 1, true)), tf.argMax(arcMarginCosine(e, head), 1)];
  });
  const predicted = pred.dataSync();
  const rows = rowsOf(emb.dataSync() as Float32Array, emb.shape[1]);
  tf.dispose([emb, pred]);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === set.labels[i]) correct++;
  return { accuracy: correct / n, ...retrieval(rows, set.labels) };
}

/** Retrieval of `features` through a neck: what "before" and "after" report. */
/** The set's L2-normalised embeddings through a neck, one row per image. */
export function neckEmbeddings(set: FeatureSet, neck: NeckWeights): Float32Array[] {
  const n = set.labels.length;
  const dim = neck.bias.length;
  const emb = tf.tidy(() => {
    const e = tf.add(
      tf.matMul(tf.tensor2d(set.features, [n, FEATURE_DIM]), tf.tensor2d(neck.weight, [FEATURE_DIM, dim])),
      tf.tensor1d(neck.bias),
    );
    return tf.div(e, tf.norm(e, 'euclidean', 1, true));
  });
  const rows = rowsOf(emb.dataSync() as Float32Array, dim);
  emb.dispose();
  return rows;
}

export function neckRetrieval(set: FeatureSet, neck: NeckWeights): RetrievalScore {
  return retrieval(neckEmbeddings(set, neck), set.labels);
}

export async function trainArcMarginHead(args: TrainHeadArgs): Promise<TrainedHead> {
  const { train, validation, classes, options: o, backbone } = args;
  const now = args.now ?? (() => performance.now());
  const dim = args.neck.bias.length;
  const rowShape = train.rowShape ?? [FEATURE_DIM];
  const len = rowLength(train);
  // tidy: the initial values are copied into the variables and freed (variables themselves outlive a tidy).
  const [neckW, neckB, head] = tf.tidy(() => [
    tf.variable(tf.tensor2d(args.neck.weight, [FEATURE_DIM, dim]), o.trainNeck),
    tf.variable(tf.tensor1d(args.neck.bias), o.trainNeck),
    tf.variable(tf.tensor2d(xavierNormal(dim, classes, o.seed + 1), [dim, classes]), true),
  ]) as [tf.Variable<tf.Rank.R2>, tf.Variable<tf.Rank.R1>, tf.Variable<tf.Rank.R2>];
  const backboneVars = [...(backbone?.variables ?? [])];
  const params = [...backboneVars, ...(o.trainNeck ? [neckW, neckB] : []), head];
  // Layer-wise rates: the backbone's layers move at a share of the neck's and head's rate.
  const rateFactors = params.map((_, i) => (i < backboneVars.length ? o.backboneLearningRateFactor : 1));
  const optimizer = o.optimizer === 'adam' ? adam(o.weightDecay) : momentum(0.9, o.weightDecay);
  const n = train.labels.length;
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const total = stepsPerEpoch * o.epochs;
  const warmup = Math.round(stepsPerEpoch * o.warmupEpochs);
  const random = mulberry32(o.seed + 2);
  const viewRandom = mulberry32(o.seed + 5);
  const views = [train.features, ...(args.extraViews ?? [])];
  const history: FineTuneEpoch[] = [];
  type Best = {
    map: number;
    epoch: number;
    neckW: Float32Array;
    neckB: Float32Array;
    head: Float32Array;
    backbone: Float32Array[];
  };
  let best: Best | undefined;
  let stopped = false;
  let step = 0;
  const started = now();
  try {
    for (let epoch = 1; epoch <= o.epochs && !stopped; epoch++) {
      const t0 = now();
      const epochRows = args.featuresForEpoch ? await args.featuresForEpoch(epoch) : undefined;
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      // One view per row this epoch (the image itself when there is one view).
      const viewOf =
        views.length > 1 ? Array.from({ length: n }, () => Math.floor(viewRandom() * views.length)) : undefined;
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < n; b += o.batchSize) {
        if (args.shouldStop?.()) {
          stopped = true;
          break;
        }
        const idx = order.slice(b, b + o.batchSize);
        const xb = new Float32Array(idx.length * len);
        idx.forEach((r, k) => {
          const source = epochRows ?? views[viewOf?.[r] ?? 0]!;
          const row = source.subarray(r * len, (r + 1) * len);
          xb.set(row instanceof Uint16Array ? decodeFloat16(row) : row, k * len);
        });
        const x = tf.tensor(xb, [idx.length, ...rowShape]);
        const y = tf.tensor1d(
          Int32Array.from(idx, (r) => train.labels[r]!),
          'int32',
        );
        let pred: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const f = backbone ? backbone.forward(x) : (x as tf.Tensor2D);
          const e = tf.add(tf.matMul(f, neckW), neckB) as tf.Tensor2D;
          // The head's prediction before this step, from the same forward pass (kept past the gradient's tidy).
          pred = tf.keep(tf.argMax(arcMarginCosine(e, head), 1));
          const arc = arcMarginLoss(e, head, y, o.arcMargin);
          return o.tripletWeight > 0
            ? (tf.add(arc, tf.mul(batchHardTripletLoss(e, y, o.tripletMargin), o.tripletWeight)) as tf.Scalar)
            : arc;
        }, params);
        const lr = learningRateAt(step++, total, warmup, o.learningRate);
        optimizer.step(
          params,
          params.map((p) => grads[p.name]!),
          rateFactors.map((f) => f * lr),
        );
        const p = await pred!.data();
        idx.forEach((r, k) => (correct += p[k] === train.labels[r] ? 1 : 0));
        lossSum += (await value.data())[0]! * idx.length;
        tf.dispose([x, y, value, pred!, ...Object.values(grads)]);
        // Yield, so a stop request (a message to the worker) is seen between batches.
        await new Promise((r) => setTimeout(r, 0));
      }
      if (stopped) break;
      const valFeatures = backbone
        ? await featuresThrough(backbone, validation, o.batchSize)
        : (validation as FeatureSet);
      const v = score(valFeatures, neckW, neckB, head);
      const record: FineTuneEpoch = {
        epoch,
        trainLoss: lossSum / n,
        trainAccuracy: correct / n,
        valAccuracy: v.accuracy,
        valRecallAt1: v.recallAt1,
        valMap: v.map,
        seconds: (now() - t0) / 1000,
      };
      history.push(record);
      // Without a validation set, the latest epoch is the best one.
      const key = Number.isNaN(v.map) ? epoch : v.map;
      if (!best || key > best.map) {
        best = {
          map: key,
          epoch,
          neckW: neckW.dataSync().slice() as Float32Array,
          neckB: neckB.dataSync().slice() as Float32Array,
          head: head.dataSync().slice() as Float32Array,
          backbone: backboneVars.map((t) => t.dataSync().slice() as Float32Array),
        };
      }
      const perEpoch = (now() - started) / epoch;
      args.onEpoch?.(record, perEpoch * (o.epochs - epoch));
    }
  } finally {
    optimizer.dispose();
    tf.dispose([neckW, neckB, head]);
  }
  if (!best) return { neck: args.neck, head: new Float32Array(0), backbone: [], history, bestEpoch: 0, stopped };
  let features: TrainedHead['features'];
  if (backbone && backboneVars.length > 0) {
    // The kept epoch's backbone, and the features it gives (for "after" and the recognition threshold).
    backboneVars.forEach((t, i) => tf.tidy(() => t.assign(tf.tensor(best!.backbone[i]!, t.shape))));
    features = {
      train: await featuresThrough(backbone, train, o.batchSize),
      validation: await featuresThrough(backbone, validation, o.batchSize),
    };
  }
  return {
    neck: { weight: best.neckW, bias: best.neckB },
    head: best.head,
    backbone: best.backbone,
    ...(features ? { features } : {}),
    history,
    bestEpoch: best.epoch,
    stopped,
  };
}
