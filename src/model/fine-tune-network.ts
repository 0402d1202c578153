/**
 * Partial fine-tuning: the network split at a depth into a frozen part, run once per image (and per view)
 * with its output cached, and a trained part of tf.variables run every step.
 *
 * Both parts compute PaddleClas's functions as Paddle defines them (hardswish x relu6(x + 3) / 6, hardsigmoid
 * relu6(x + 3) / 6, the dropout's 0.8 at inference), not the builder's folded-by-6 variant. BatchNorm is folded
 * into its conv and stays frozen as such: a trained conv is a conv with a bias (PaddleClas trains BatchNorm's
 * scale and shift and updates its statistics; here the batch statistics never enter). The trained part avoids
 * conv kernels: WASM has no backprop kernels for convs, so a 1x1 conv is a matMul and the depthwise conv a sum
 * of shifted slices, whose gradients every backend has.
 */
import * as tf from '@tensorflow/tfjs-core';
import { OptionsError } from '../core/errors.ts';
import type { FineTuneDepth } from '../core/options.ts';
import type { NamedTensor, StateDict } from '../core/state-dict.ts';
import { BN_EPSILON, type BlockPlan, type PPLCNetPlan, type StrideHW } from './architecture.ts';
import { foldBatchNorm } from './fold-batch-norm.ts';
import type { BatchNormForm } from './parameters.ts';

/** How many of the last stage's blocks each depth trains. */
const TRAINED_BLOCKS: Readonly<Record<FineTuneDepth, number>> = {
  neck: 0,
  'last-conv': 0,
  'last-block': 1,
  'last-stage': 2,
};

export interface TrainableBackbone {
  readonly depth: FineTuneDepth;
  /**
   * The frozen part: normalised NHWC images -> the cached activation: [N, F] for 'neck', [N, C] (the pooled last
   * stage) for 'last-conv', else the [N, H, W, C] map entering the first trained block.
   */
  frozen(x: tf.Tensor4D): tf.Tensor;
  /** The trained part: cached activations -> the backbone feature [N, F] (the dropout's 0.8 included). */
  forward(cached: tf.Tensor): tf.Tensor2D;
  /** Trained tensors, in the order of `stateDictEntries`' values. Empty for 'neck'. */
  readonly variables: readonly tf.Variable[];
  /** The trained tensors as state-dict entries in Paddle layouts and the manifest's BatchNorm form. */
  stateDictEntries(values: readonly Float32Array[]): StateDict;
  dispose(): void;
}

const hardSwish = (x: tf.Tensor): tf.Tensor => tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
const hardSigmoid = (x: tf.Tensor): tf.Tensor => tf.div(tf.relu6(tf.add(x, 3)), 6);

interface Folded {
  /** OIHW. */
  readonly weight: NamedTensor;
  readonly bias: Float32Array;
}

function get(stateDict: StateDict, name: string): NamedTensor {
  const t = stateDict.get(name);
  if (!t) throw new OptionsError(`fine-tuning needs the tensor "${name}", which the loaded model lacks`);
  return t;
}

function folded(stateDict: StateDict, prefix: string, form: BatchNormForm): Folded {
  const weight = get(stateDict, `${prefix}.conv.weight`);
  if (form === 'folded') return { weight, bias: get(stateDict, `${prefix}.conv.bias`).data };
  const bn = (s: string) => get(stateDict, `${prefix}.bn.${s}`).data;
  return foldBatchNorm(weight, { gamma: bn('weight'), beta: bn('bias'), mean: bn('_mean'), variance: bn('_variance') });
}

/** [O, I, ...] (OIHW with 1x1, or [O, I]) -> [I, O]; and back. Plain copies: no arithmetic, so exact. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/** Depthwise OIHW [C, 1, k, k] -> [k, k, C]; and back. */
function dwToKkc(data: Float32Array, c: number, k: number): Float32Array {
  return transpose2d(data, c, k * k);
}
function kkcToDw(data: Float32Array, c: number, k: number): Float32Array {
  return transpose2d(data, k * k, c);
}

function symmetricPad(
  kernel: number,
  stride: StrideHW,
): number | [[number, number], [number, number], [number, number], [number, number]] {
  const p = (kernel - 1) / 2;
  return stride[0] === stride[1]
    ? p
    : [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ];
}

/** Inference-only conv + folded BatchNorm + hardswish (the frozen part: fused kernels every backend has). */
function frozenConv(x: tf.Tensor4D, f: Folded, stride: StrideHW, depthwise: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const s = f.weight.shape as [number, number, number, number];
    const kernel = s[2];
    const filter = tf.transpose(tf.tensor4d(f.weight.data, s), depthwise ? [2, 3, 0, 1] : [2, 3, 1, 0]) as tf.Tensor4D;
    const bias = tf.tensor1d(f.bias);
    const pad = symmetricPad(kernel, stride);
    const strides: [number, number] = [stride[0], stride[1]];
    const y = depthwise
      ? tf.fused.depthwiseConv2d({ x, filter, strides, pad: pad as number, bias })
      : tf.fused.conv2d({ x, filter, strides, pad, bias });
    return hardSwish(y) as tf.Tensor4D;
  });
}

interface SeWeights {
  readonly w1: Float32Array; // [C, S]
  readonly b1: Float32Array;
  readonly w2: Float32Array; // [S, C]
  readonly b2: Float32Array;
}

function seWeights(stateDict: StateDict, prefix: string, b: BlockPlan): SeWeights {
  const c = b.inChannels;
  const s = b.seChannels;
  return {
    w1: transpose2d(get(stateDict, `${prefix}.se.conv1.weight`).data, s, c),
    b1: get(stateDict, `${prefix}.se.conv1.bias`).data,
    w2: transpose2d(get(stateDict, `${prefix}.se.conv2.weight`).data, c, s),
    b2: get(stateDict, `${prefix}.se.conv2.bias`).data,
  };
}

function runSe(x: tf.Tensor4D, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
  const squeezed = tf.relu(tf.add(tf.matMul(pooled, w1 as tf.Tensor2D), b1));
  const gate = hardSigmoid(tf.add(tf.matMul(squeezed as tf.Tensor2D, w2 as tf.Tensor2D), b2));
  return tf.mul(x, tf.reshape(gate, [n, 1, 1, c])) as tf.Tensor4D;
}

/**
 * A depthwise conv with Paddle's symmetric padding, trainable on every backend: the forward pass is the native
 * kernel; the gradients are native depthwise convs too (WASM has no depthwise backprop kernels). The filter's:
 * the padded input's batch folded into its channels, correlated with dy (dilated by the stride) as the filter.
 * The input's (stride 1 only; a strided block reads the cache, whose gradient is not needed): dy through the
 * filter turned 180 degrees.
 */
function trainableDepthwise(
  x: tf.Tensor4D,
  filter: tf.Tensor,
  bias: tf.Tensor,
  kernel: number,
  stride: StrideHW,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const p = (kernel - 1) / 2;
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
  const strides: [number, number] = [stride[0], stride[1]];
  const strided = stride[0] > 1 || stride[1] > 1;
  const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, fi, save] = args as [tf.Tensor4D, tf.Tensor, tf.GradSaveFunc];
    const f4 = tf.reshape(fi, [kernel, kernel, c, 1]) as tf.Tensor4D;
    const value = tf.depthwiseConv2d(xi, f4, strides, p);
    save([xi, fi]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor];
        const [, oh, ow] = dy.shape as number[];
        const padded = tf.pad(xs, pads);
        const [hp, wp] = [h + 2 * p, w + 2 * p];
        const input = tf.reshape(tf.transpose(padded, [1, 2, 0, 3]), [1, hp, wp, n * c]) as tf.Tensor4D;
        const dyFilter = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [oh!, ow!, n * c, 1]) as tf.Tensor4D;
        let df = tf.depthwiseConv2d(input, dyFilter, 1, 'valid', 'NHWC', strides);
        df = tf.slice(df, [0, 0, 0, 0], [1, kernel, kernel, n * c]);
        const dFilter = tf.sum(tf.reshape(df, [kernel, kernel, n, c]), 2);
        const dx = strided
          ? tf.zerosLike(xs)
          : tf.depthwiseConv2d(
              dy as tf.Tensor4D,
              tf.reshape(tf.reverse(fs, [0, 1]), [kernel, kernel, c, 1]) as tf.Tensor4D,
              1,
              p,
            );
        return [dx, dFilter];
      },
    };
  });
  return tf.add(conv(x, filter), bias) as tf.Tensor4D;
}

/** A 1x1 conv as a matMul over every position. */
function pointwise(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const out = weight.shape[1]!;
  const y = tf.add(tf.matMul(tf.reshape(x, [n * h * w, c]), weight as tf.Tensor2D), bias);
  return tf.reshape(y, [n, h, w, out]);
}

interface TrainedBlock {
  readonly plan: BlockPlan;
  readonly vars: tf.Variable[]; // dwW [k,k,C], dwB, (se w1, b1, w2, b2), pwW [I,O], pwB
}

/**
 * The network split at `depth`. For 'neck', `featuresOf` is the loaded model's own backbone (what fine-tuning
 * always cached); deeper, the frozen part runs here from the state dict.
 */
export function createTrainableBackbone(args: {
  readonly depth: FineTuneDepth;
  readonly plan: PPLCNetPlan;
  readonly stateDict: StateDict;
  readonly batchNorm: BatchNormForm;
  readonly featuresOf: (x: tf.Tensor4D) => tf.Tensor2D;
}): TrainableBackbone {
  const { depth, plan, stateDict, batchNorm: form } = args;
  const featureDim = plan.featureDim;
  if (depth === 'neck') {
    return {
      depth,
      frozen: args.featuresOf,
      forward: (cached) => tf.reshape(cached, [cached.shape[0]!, featureDim]),
      variables: [],
      stateDictEntries: () => new Map(),
      dispose: () => {},
    };
  }
  if (!plan.geometry.useLastConv) {
    throw new OptionsError(`depth '${depth}' trains last_conv, which this model does not have; train the neck only`);
  }
  const dropoutScale = 1 - plan.geometry.dropoutProb;
  const trainedCount = TRAINED_BLOCKS[depth];
  const firstTrained = plan.blocks.length - trainedCount;
  const frozenBlocks = plan.blocks.slice(0, firstTrained);
  const stem = folded(stateDict, 'backbone.conv1', form);
  const frozenUnits = frozenBlocks.map((b) => {
    const p = `backbone.${b.name}`;
    return {
      b,
      dw: folded(stateDict, `${p}.dw_conv`, form),
      pw: folded(stateDict, `${p}.pw_conv`, form),
      se: b.seChannels > 0 ? seWeights(stateDict, p, b) : undefined,
    };
  });

  // The trained part's variables, initialised from the folded state dict.
  const trained: TrainedBlock[] = plan.blocks.slice(firstTrained).map((b) => {
    const p = `backbone.${b.name}`;
    const dw = folded(stateDict, `${p}.dw_conv`, form);
    const pw = folded(stateDict, `${p}.pw_conv`, form);
    const k = b.kernel;
    const vars = tf.tidy(() => [
      tf.variable(tf.tensor3d(dwToKkc(dw.weight.data, b.inChannels, k), [k, k, b.inChannels]), true),
      tf.variable(tf.tensor1d(dw.bias), true),
      ...(b.seChannels > 0
        ? (() => {
            const se = seWeights(stateDict, p, b);
            return [
              tf.variable(tf.tensor2d(se.w1, [b.inChannels, b.seChannels]), true),
              tf.variable(tf.tensor1d(se.b1), true),
              tf.variable(tf.tensor2d(se.w2, [b.seChannels, b.inChannels]), true),
              tf.variable(tf.tensor1d(se.b2), true),
            ];
          })()
        : []),
      tf.variable(
        tf.tensor2d(transpose2d(pw.weight.data, b.outChannels, b.inChannels), [b.inChannels, b.outChannels]),
        true,
      ),
      tf.variable(tf.tensor1d(pw.bias), true),
    ]);
    return { plan: b, vars };
  });
  const lastConv = tf.tidy(() =>
    tf.variable(
      tf.tensor2d(transpose2d(get(stateDict, 'backbone.last_conv.weight').data, featureDim, plan.lastConvIn), [
        plan.lastConvIn,
        featureDim,
      ]),
      true,
    ),
  );

  const frozen = (x: tf.Tensor4D): tf.Tensor =>
    tf.tidy(() => {
      let h = frozenConv(x, stem, plan.stemStride, false);
      for (const u of frozenUnits) {
        h = frozenConv(h, u.dw, u.b.stride, true);
        if (u.se)
          h = runSe(
            h,
            tf.tensor(u.se.w1, [u.b.inChannels, u.b.seChannels]),
            tf.tensor(u.se.b1),
            tf.tensor(u.se.w2, [u.b.seChannels, u.b.inChannels]),
            tf.tensor(u.se.b2),
          );
        h = frozenConv(h, u.pw, [1, 1], false);
      }
      return trainedCount === 0 ? tf.mean(h, [1, 2]) : h;
    });

  const forward = (cached: tf.Tensor): tf.Tensor2D =>
    tf.tidy(() => {
      let pooled: tf.Tensor2D;
      if (trainedCount === 0) {
        pooled = cached as tf.Tensor2D;
      } else {
        let h = cached as tf.Tensor4D;
        for (const { plan: b, vars } of trained) {
          const [dwW, dwB] = vars;
          h = hardSwish(trainableDepthwise(h, dwW!, dwB!, b.kernel, b.stride)) as tf.Tensor4D;
          if (b.seChannels > 0) h = runSe(h, vars[2]!, vars[3]!, vars[4]!, vars[5]!);
          h = hardSwish(pointwise(h, vars.at(-2)!, vars.at(-1)!)) as tf.Tensor4D;
        }
        pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      }
      return tf.mul(hardSwish(tf.matMul(pooled, lastConv)), dropoutScale) as tf.Tensor2D;
    });

  const variables = [...trained.flatMap((t) => t.vars), lastConv];

  const stateDictEntries = (values: readonly Float32Array[]): StateDict => {
    const out: StateDict = new Map();
    let i = 0;
    const next = () => values[i++]!;
    // A trained conv is a folded conv with a bias: written as such ('folded'), or ('separate') as the conv with an
    // identity BatchNorm (scale 1, shift = the bias, mean 0, variance 1 - eps) that folds back to the same bits:
    // 1 / sqrt(fround(1 - eps) + eps) is within 1e-8 of 1, under half a float32 step.
    const conv = (prefix: string, shape: number[], weight: Float32Array, bias: Float32Array) => {
      out.set(`${prefix}.conv.weight`, { shape, data: weight });
      const c = bias.length;
      if (form === 'folded') {
        out.set(`${prefix}.conv.bias`, { shape: [c], data: bias });
      } else {
        out.set(`${prefix}.bn.weight`, { shape: [c], data: new Float32Array(c).fill(1) });
        out.set(`${prefix}.bn.bias`, { shape: [c], data: bias });
        out.set(`${prefix}.bn._mean`, { shape: [c], data: new Float32Array(c) });
        out.set(`${prefix}.bn._variance`, { shape: [c], data: new Float32Array(c).fill(1 - BN_EPSILON) });
      }
    };
    for (const { plan: b } of trained) {
      const p = `backbone.${b.name}`;
      const k = b.kernel;
      const dwW = next();
      conv(`${p}.dw_conv`, [b.inChannels, 1, k, k], kkcToDw(dwW, b.inChannels, k), next());
      if (b.seChannels > 0) {
        const [c, s] = [b.inChannels, b.seChannels];
        out.set(`${p}.se.conv1.weight`, { shape: [s, c, 1, 1], data: transpose2d(next(), c, s) });
        out.set(`${p}.se.conv1.bias`, { shape: [s], data: next() });
        out.set(`${p}.se.conv2.weight`, { shape: [c, s, 1, 1], data: transpose2d(next(), s, c) });
        out.set(`${p}.se.conv2.bias`, { shape: [c], data: next() });
      }
      const pwW = next();
      conv(`${p}.pw_conv`, [b.outChannels, b.inChannels, 1, 1], transpose2d(pwW, b.inChannels, b.outChannels), next());
    }
    out.set('backbone.last_conv.weight', {
      shape: [featureDim, plan.lastConvIn, 1, 1],
      data: transpose2d(next(), plan.lastConvIn, featureDim),
    });
    return out;
  };

  return {
    depth,
    frozen,
    forward,
    variables,
    stateDictEntries,
    dispose: () => tf.dispose(variables),
  };
}
