/**
 * Fine-tuning on cached backbone features: the neck (Linear 1280 -> D, trainable or frozen) and an ArcMargin
 * head, softmax cross-entropy (plus an optional batch-hard triplet term), momentum SGD or Adam with L2 decay, linear warm-up then cosine decay, per
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

export interface TrainedHead {
  readonly neck: NeckWeights;
  /** ArcMargin weight [D, classes] row-major. */
  readonly head: Float32Array;
  readonly history: FineTuneEpoch[];
  readonly bestEpoch: number;
  readonly stopped: boolean;
}

export interface TrainHeadArgs {
  readonly train: FeatureSet;
  readonly validation: FeatureSet;
  readonly classes: number;
  readonly neck: NeckWeights;
  readonly options: ResolvedFineTuneOptions;
  /** With augmentation: the training features recomputed for this epoch (same rows, new views). */
  readonly featuresForEpoch?: (epoch: number) => Promise<Float32Array>;
  readonly onEpoch?: (epoch: FineTuneEpoch, etaMs: number) => void;
  /** Polled between batches. */
  readonly shouldStop?: () => boolean;
  readonly now?: () => number;
}

/** Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then cosine to zero. */
export function learningRateAt(step: number, total: number, warmup: number, peak: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const p = (step - warmup) / Math.max(1, total - warmup);
  return peak * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, p)));
}

interface Optimizer {
  step(params: tf.Variable[], grads: tf.Tensor[], lr: number): void;
  dispose(): void;
}

/** Paddle's Momentum: v = mu v + (g + wd w); w -= lr v. */
function momentum(mu: number, wd: number): Optimizer {
  const state = new Map<tf.Variable, tf.Variable>();
  return {
    step(params, grads, lr) {
      params.forEach((p, i) => {
        let v = state.get(p);
        if (!v) state.set(p, (v = tf.tidy(() => tf.variable(tf.zerosLike(p), false))));
        tf.tidy(() => {
          const g = tf.add(grads[i]!, tf.mul(p, wd));
          v!.assign(tf.add(tf.mul(v!, mu), g));
          p.assign(tf.sub(p, tf.mul(v!, lr)));
        });
      });
    },
    dispose: () => state.forEach((v) => v.dispose()),
  };
}

/** Adam (beta 0.9 / 0.999, eps 1e-8, bias-corrected) with L2 decay added to the gradient, as Paddle's L2Decay. */
function adam(wd: number): Optimizer {
  const state = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>();
  let t = 0;
  return {
    step(params, grads, lr) {
      t++;
      const c1 = 1 - 0.9 ** t;
      const c2 = 1 - 0.999 ** t;
      params.forEach((p, i) => {
        let s = state.get(p);
        if (!s)
          state.set(
            p,
            (s = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }))),
          );
        tf.tidy(() => {
          const g = tf.add(grads[i]!, tf.mul(p, wd));
          s!.m.assign(tf.add(tf.mul(s!.m, 0.9), tf.mul(g, 0.1)));
          s!.v.assign(tf.add(tf.mul(s!.v, 0.999), tf.mul(tf.square(g), 0.001)));
          const update = tf.div(tf.div(s!.m, c1), tf.add(tf.sqrt(tf.div(s!.v, c2)), 1e-8));
          p.assign(tf.sub(p, tf.mul(update, lr)));
        });
      });
    },
    dispose: () => state.forEach((s) => tf.dispose([s.m, s.v])),
  };
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
  const { train, validation, classes, options: o } = args;
  const now = args.now ?? (() => performance.now());
  const dim = args.neck.bias.length;
  // tidy: the initial values are copied into the variables and freed (variables themselves outlive a tidy).
  const [neckW, neckB, head] = tf.tidy(() => [
    tf.variable(tf.tensor2d(args.neck.weight, [FEATURE_DIM, dim]), o.trainNeck),
    tf.variable(tf.tensor1d(args.neck.bias), o.trainNeck),
    tf.variable(tf.tensor2d(xavierNormal(dim, classes, o.seed + 1), [dim, classes]), true),
  ]) as [tf.Variable<tf.Rank.R2>, tf.Variable<tf.Rank.R1>, tf.Variable<tf.Rank.R2>];
  const params = o.trainNeck ? [neckW, neckB, head] : [head];
  const optimizer = o.optimizer === 'adam' ? adam(o.weightDecay) : momentum(0.9, o.weightDecay);
  const n = train.labels.length;
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const total = stepsPerEpoch * o.epochs;
  const warmup = Math.round(stepsPerEpoch * o.warmupEpochs);
  const random = mulberry32(o.seed + 2);
  const history: FineTuneEpoch[] = [];
  let best: { map: number; epoch: number; neckW: Float32Array; neckB: Float32Array; head: Float32Array } | undefined;
  let stopped = false;
  let step = 0;
  const started = now();
  try {
    for (let epoch = 1; epoch <= o.epochs && !stopped; epoch++) {
      const t0 = now();
      const features = args.featuresForEpoch ? await args.featuresForEpoch(epoch) : train.features;
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < n; b += o.batchSize) {
        if (args.shouldStop?.()) {
          stopped = true;
          break;
        }
        const idx = order.slice(b, b + o.batchSize);
        const xb = new Float32Array(idx.length * FEATURE_DIM);
        idx.forEach((r, k) => xb.set(features.subarray(r * FEATURE_DIM, (r + 1) * FEATURE_DIM), k * FEATURE_DIM));
        const x = tf.tensor2d(xb, [idx.length, FEATURE_DIM]);
        const y = tf.tensor1d(
          Int32Array.from(idx, (r) => train.labels[r]!),
          'int32',
        );
        const { value, grads } = tf.variableGrads(() => {
          const e = tf.add(tf.matMul(x, neckW), neckB) as tf.Tensor2D;
          const arc = arcMarginLoss(e, head, y, o.arcMargin);
          return o.tripletWeight > 0
            ? (tf.add(arc, tf.mul(batchHardTripletLoss(e, y, o.tripletMargin), o.tripletWeight)) as tf.Scalar)
            : arc;
        }, params);
        optimizer.step(
          params,
          params.map((p) => grads[p.name]!),
          learningRateAt(step++, total, warmup, o.learningRate),
        );
        const pred = tf.tidy(() =>
          tf.argMax(arcMarginCosine(tf.add(tf.matMul(x, neckW), neckB) as tf.Tensor2D, head), 1),
        );
        const p = await pred.data();
        idx.forEach((r, k) => (correct += p[k] === train.labels[r] ? 1 : 0));
        lossSum += (await value.data())[0]! * idx.length;
        tf.dispose([x, y, value, pred, ...Object.values(grads)]);
        // Yield, so a stop request (a message to the worker) is seen between batches.
        await new Promise((r) => setTimeout(r, 0));
      }
      if (stopped) break;
      const v = score(validation, neckW, neckB, head);
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
        };
      }
      const perEpoch = (now() - started) / epoch;
      args.onEpoch?.(record, perEpoch * (o.epochs - epoch));
    }
  } finally {
    optimizer.dispose();
    tf.dispose([neckW, neckB, head]);
  }
  if (!best) return { neck: args.neck, head: new Float32Array(0), history, bestEpoch: 0, stopped };
  return { neck: { weight: best.neckW, bias: best.neckB }, head: best.head, history, bestEpoch: best.epoch, stopped };
}
