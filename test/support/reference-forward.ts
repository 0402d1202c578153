/**
 * PP-LCNet (+ linear neck) in plain TypeScript (batch 1, CHW, float64 accumulation): the slow, obvious forward
 * pass the reference document describes, with no tfjs and no ONNX.
 *
 * It exists for two jobs: random-weights.ts calibrates BatchNorm statistics on real activations with it (as a
 * trained network's running statistics are), and tests compare exported ONNX graphs run by onnxruntime against
 * it, which checks the exporter's graph semantics rather than only its self-consistency.
 */
import { BN_EPSILON, planPPLCNet, type StrideHW } from '../../src/model/architecture.ts';
import { standardNetwork, type BatchNormForm, type NetworkSpec } from '../../src/model/parameters.ts';
import type { StateDict } from '../../src/core/state-dict.ts';

export interface FeatureMap {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** CHW, row-major. */
  readonly data: Float32Array;
}

/**
 * Called with every ConvBN layer's raw conv outputs (before BatchNorm or folded bias; one map per image of the
 * batch), in forward order. It may rewrite that layer's parameters in the state dict and the outputs in
 * place: the forward pass reads the BatchNorm parameters only after the hook returns.
 */
export type ConvHook = (prefix: string, convOutputs: readonly FeatureMap[]) => void;

/** A standard PP-ShiTu model (scale, embeddingDim, batchNorm), or any network when `network` is given. */
export interface ReferenceModel {
  readonly scale: number;
  readonly embeddingDim: number;
  readonly batchNorm: BatchNormForm;
  readonly stateDict: StateDict;
  readonly network?: NetworkSpec;
}

/**
 * The embedding (not normalised) for each CHW image (any size; all the same size): the neck's output, or the
 * backbone feature for a network without a neck.
 */
export function referenceForward(
  model: ReferenceModel,
  images: readonly FeatureMap[],
  hook?: ConvHook,
): Float32Array[] {
  const sd = model.stateDict;
  const network = model.network ?? standardNetwork(model.scale, model.embeddingDim, model.batchNorm);
  const plan = planPPLCNet(network.geometry);
  const form = network.batchNorm;
  const get = (name: string): Float32Array => {
    const t = sd.get(name);
    if (!t) throw new Error(`referenceForward: the state dict has no "${name}"`);
    return t.data;
  };
  const convBnHardswish = (
    xs: readonly FeatureMap[],
    prefix: string,
    stride: StrideHW,
    groups: number,
  ): FeatureMap[] => {
    const weight = sd.get(`${prefix}.conv.weight`)!;
    const ys = xs.map((x) => conv2d(x, weight.data, weight.shape, undefined, stride, groups));
    hook?.(prefix, ys);
    return ys.map((y) => {
      if (form === 'folded') addChannelBias(y, get(`${prefix}.conv.bias`));
      else
        batchNorm(
          y,
          get(`${prefix}.bn.weight`),
          get(`${prefix}.bn.bias`),
          get(`${prefix}.bn._mean`),
          get(`${prefix}.bn._variance`),
        );
      return map(y, hardswish);
    });
  };
  const se = (x: FeatureMap, p: string): FeatureMap => {
    const w1 = sd.get(`${p}.se.conv1.weight`)!;
    const w2 = sd.get(`${p}.se.conv2.weight`)!;
    const s1 = map(conv2d(globalAveragePool(x), w1.data, w1.shape, get(`${p}.se.conv1.bias`), [1, 1], 1), (v) =>
      Math.max(v, 0),
    );
    const gate = map(conv2d(s1, w2.data, w2.shape, get(`${p}.se.conv2.bias`), [1, 1], 1), paddleHardsigmoid);
    return scaleChannels(x, gate.data);
  };

  let xs = convBnHardswish(images, 'backbone.conv1', plan.stemStride, 1);
  for (const b of plan.blocks) {
    const p = `backbone.${b.name}`;
    xs = convBnHardswish(xs, `${p}.dw_conv`, b.stride, b.inChannels);
    if (b.seChannels > 0) xs = xs.map((x) => se(x, p));
    xs = convBnHardswish(xs, `${p}.pw_conv`, [1, 1], 1);
  }
  const last = sd.get('backbone.last_conv.weight');
  const keep = 1 - plan.geometry.dropoutProb;
  return xs.map((x) => {
    const pooled = globalAveragePool(x);
    const feature = last
      ? map(conv2d(pooled, last.data, last.shape, undefined, [1, 1], 1), (v) => hardswish(v) * keep)
      : pooled;
    return network.neckDim === undefined
      ? Float32Array.from(feature.data)
      : linear(feature.data, get('neck.fc.weight'), get('neck.fc.bias'), network.neckDim);
  });
}

export function hardswish(v: number): number {
  return (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
}

/** Paddle's nn.Hardsigmoid: clip(x / 6 + 0.5, 0, 1) (not tfjs's 0.2 x + 0.5). */
export function paddleHardsigmoid(v: number): number {
  return Math.min(Math.max(v / 6 + 0.5, 0), 1);
}

/** Grouped 2-D convolution, OIHW weights, symmetric padding (k - 1) / 2, as every PP-LCNet conv has. */
export function conv2d(
  x: FeatureMap,
  weight: Float32Array,
  shape: readonly number[],
  bias: Float32Array | undefined,
  stride: StrideHW,
  groups: number,
): FeatureMap {
  const [outC, inPerGroup, k] = [shape[0]!, shape[1]!, shape[2]!];
  const [sy, sx] = stride;
  const pad = (k - 1) / 2;
  const outH = Math.floor((x.height + 2 * pad - k) / sy) + 1;
  const outW = Math.floor((x.width + 2 * pad - k) / sx) + 1;
  const outPerGroup = outC / groups;
  const acc = new Float64Array(outC * outH * outW);
  for (let o = 0; o < outC; o++) {
    const plane = o * outH * outW;
    if (bias) acc.fill(bias[o]!, plane, plane + outH * outW);
    const firstIn = Math.floor(o / outPerGroup) * inPerGroup;
    for (let i = 0; i < inPerGroup; i++) {
      const inPlane = (firstIn + i) * x.height * x.width;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const w = weight[((o * inPerGroup + i) * k + ky) * k + kx]!;
          // Output columns whose input column ox * sx + kx - pad lies inside the image.
          const oxStart = Math.max(0, Math.ceil((pad - kx) / sx));
          const oxEnd = Math.min(outW - 1, Math.floor((x.width - 1 + pad - kx) / sx));
          for (let oy = 0; oy < outH; oy++) {
            const iy = oy * sy + ky - pad;
            if (iy < 0 || iy >= x.height) continue;
            const inRow = inPlane + iy * x.width + kx - pad;
            const outRow = plane + oy * outW;
            for (let ox = oxStart; ox <= oxEnd; ox++) acc[outRow + ox]! += w * x.data[inRow + ox * sx]!;
          }
        }
      }
    }
  }
  return { channels: outC, height: outH, width: outW, data: Float32Array.from(acc) };
}

export function globalAveragePool(x: FeatureMap): FeatureMap {
  const n = x.height * x.width;
  const out = new Float32Array(x.channels);
  for (let c = 0; c < x.channels; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x.data[c * n + i]!;
    out[c] = s / n;
  }
  return { channels: x.channels, height: 1, width: 1, data: out };
}

function batchNorm(
  x: FeatureMap,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
): void {
  const n = x.height * x.width;
  for (let c = 0; c < x.channels; c++) {
    const k = gamma[c]! / Math.sqrt(variance[c]! + BN_EPSILON);
    for (let i = c * n; i < (c + 1) * n; i++) x.data[i] = (x.data[i]! - mean[c]!) * k + beta[c]!;
  }
}

function addChannelBias(x: FeatureMap, bias: Float32Array): void {
  const n = x.height * x.width;
  for (let c = 0; c < x.channels; c++) for (let i = c * n; i < (c + 1) * n; i++) x.data[i]! += bias[c]!;
}

function scaleChannels(x: FeatureMap, s: Float32Array): FeatureMap {
  const n = x.height * x.width;
  return { ...x, data: x.data.map((v, i) => v * s[Math.floor(i / n)]!) };
}

function map(x: FeatureMap, f: (v: number) => number): FeatureMap {
  return { ...x, data: x.data.map(f) };
}

/** y = x W + b with Paddle's Linear layout, W [in, out]. */
function linear(x: Float32Array, weight: Float32Array, bias: Float32Array, outDim: number): Float32Array {
  const acc = Float64Array.from(bias);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    for (let o = 0; o < outDim; o++) acc[o]! += xi * weight[i * outDim + o]!;
  }
  return Float32Array.from(acc);
}

/** A classifier's fc, Paddle Linear layout: weight [featureDim, classes], bias [classes]. */
export interface ReferenceClassifierHead {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly classes: number;
}

/**
 * A classifier's output for one backbone feature (referenceForward of the network without a neck): the fc's
 * logits, or with `softmax` their probabilities (max-subtracted, float64), as PaddleClas's Softmax(axis=-1).
 */
export function referenceClassifier(
  feature: Float32Array,
  classifier: ReferenceClassifierHead,
  softmax: boolean,
): Float32Array {
  if (
    classifier.weight.length !== feature.length * classifier.classes ||
    classifier.bias.length !== classifier.classes
  ) {
    throw new Error(
      `referenceClassifier: a ${feature.length}-d feature needs a [${feature.length}, ${classifier.classes}] weight and a [${classifier.classes}] bias`,
    );
  }
  const logits = linear(feature, classifier.weight, classifier.bias, classifier.classes);
  if (!softmax) return logits;
  const max = Math.max(...logits);
  const exps = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return Float32Array.from(exps, (e) => e / sum);
}
