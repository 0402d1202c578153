/**
 * The builder: turns a PP-LCNet state dict (+ a linear neck, when the network has one) into tfjs tensors
 * (BatchNorm folded, layouts NHWC) and runs the forward pass. The network's shape comes from planPPLCNet and
 * the geometry (scale, strides, last_conv); nothing here hard-codes one.
 *
 * Split as PaddleClas's RecModel: forwardFeatures (backbone) / forwardNeck (linear -> D, or the identity when
 * the network has no neck) / normalise, so fine-tuning can train the neck on cached backbone features.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WeightsError } from '../core/errors.ts';
import type { NamedTensor, StateDict } from '../core/state-dict.ts';
import { planPPLCNet, type PPLCNetPlan, type StrideHW } from './architecture.ts';
import { hardSwishTimesSix } from './activations.ts';
import { foldBatchNorm } from './fold-batch-norm.ts';
import {
  assertMatchesParameters,
  embeddingDimOf,
  networkParameters,
  type BatchNormForm,
  type NetworkSpec,
} from './parameters.ts';

interface ConvUnit {
  /** HWIO for a dense conv, [kh, kw, C, 1] for a depthwise one. */
  readonly filter: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
  readonly stride: StrideHW;
  /**
   * Paddle's symmetric padding, (k - 1) / 2. TF's 'same' pads (0, 1) at stride 2: not the same. Explicit
   * [[0, 0], [p, p], [p, p], [0, 0]] when the strides differ: tfjs 4.22 sizes a numeric pad's output width with
   * the height's stride (conv_util getPadAndOutInfo), which is wrong for [2, 1] strides.
   */
  readonly pad: number | [[number, number], [number, number], [number, number], [number, number]];
  readonly depthwise: boolean;
}

interface SeUnit {
  readonly squeeze: tf.Tensor2D;
  readonly squeezeBias: tf.Tensor1D;
  readonly excite: tf.Tensor2D;
  /** The excite conv's bias + 3: its fused relu6 then gives 6 x Paddle's hardsigmoid in the same pass. */
  readonly exciteBiasPlusThree: tf.Tensor1D;
}

interface BlockUnit {
  readonly dw: ConvUnit;
  readonly se?: SeUnit;
  readonly pw: ConvUnit;
}

export interface PPLCNetModel {
  readonly spec: NetworkSpec;
  readonly plan: PPLCNetPlan;
  /** The embedding's width: the neck's, else the feature's. */
  readonly embeddingDim: number;
  /** Backbone: [N, H, W, 3] normalised NHWC -> [N, F] (1280 with last_conv, the dropout's 1 - p included). */
  forwardFeatures(x: tf.Tensor4D): tf.Tensor2D;
  /** Neck: [N, F] -> [N, D]; the identity when the network has no neck. */
  forwardNeck(features: tf.Tensor2D): tf.Tensor2D;
  /** Backbone + neck, then L2 normalisation when asked (PaddleClas's feature_normalize). */
  embed(x: tf.Tensor4D, normalize: boolean): tf.Tensor2D;
  /** The neck's weights as they are in the state dict ([F, D] and [D]), e.g. for fine-tuning; absent without a neck. */
  readonly neck?: { readonly weight: tf.Tensor2D; readonly bias: tf.Tensor1D };
  dispose(): void;
}

const OIHW_TO_HWIO = [2, 3, 1, 0];
const DEPTHWISE_OIHW_TO_HWC1 = [2, 3, 0, 1];

function get(stateDict: StateDict, name: string): NamedTensor {
  const t = stateDict.get(name);
  if (!t) throw new WeightsError(`missing tensor "${name}"`);
  return t;
}

/**
 * Speed: every hardswish here returns 6 x hardswish (x * relu6(x + 3), one pass fewer: no division), and the
 * layer that reads it has its weights divided by 6 instead: convs and the SE squeeze are linear in their input,
 * the SE gate multiplies its input, and the global pool is a mean, so each output is unchanged (to float
 * rounding). The stem reads the image, so only it keeps its weights. The 1280-d feature is exactly Paddle's:
 * the last hardswish's 1/6 joins the dropout's 0.8.
 */
const HARDSWISH_SCALE = 1 / 6;
/** The same for the SE gate's hardsigmoid (runSe). */
const HARDSIGMOID_SCALE = 1 / 6;

function scaled(data: Float32Array, factor: number): Float32Array {
  return factor === 1 ? data : data.map((v) => v * factor);
}

function convUnit(
  stateDict: StateDict,
  prefix: string,
  form: BatchNormForm,
  stride: StrideHW,
  depthwise: boolean,
  inputScale: number,
): ConvUnit {
  const raw = get(stateDict, `${prefix}.conv.weight`);
  const folded =
    form === 'folded'
      ? { weight: raw, bias: get(stateDict, `${prefix}.conv.bias`).data }
      : foldBatchNorm(raw, {
          gamma: get(stateDict, `${prefix}.bn.weight`).data,
          beta: get(stateDict, `${prefix}.bn.bias`).data,
          mean: get(stateDict, `${prefix}.bn._mean`).data,
          variance: get(stateDict, `${prefix}.bn._variance`).data,
        });
  const kernel = raw.shape[2]!;
  const filter = tf.tidy(
    () =>
      tf.transpose(
        tf.tensor4d(scaled(folded.weight.data, inputScale), raw.shape as [number, number, number, number]),
        depthwise ? DEPTHWISE_OIHW_TO_HWC1 : OIHW_TO_HWIO,
      ) as tf.Tensor4D,
  );
  const p = (kernel - 1) / 2;
  const pad: ConvUnit['pad'] =
    stride[0] === stride[1]
      ? p
      : [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ];
  return { filter, bias: tf.tensor1d(folded.bias), stride, pad, depthwise };
}

/** A 1x1 conv's OIHW weight [O, I, 1, 1] as a matmul weight [I, O]. */
function pointwiseAsMatrix(t: NamedTensor, inputScale = 1): tf.Tensor2D {
  return tf.tidy(
    () => tf.transpose(tf.tensor2d(scaled(t.data, inputScale), [t.shape[0]!, t.shape[1]!])) as tf.Tensor2D,
  );
}

function runConv(x: tf.Tensor4D, c: ConvUnit): tf.Tensor4D {
  return tf.tidy(() => {
    const y = c.depthwise
      ? // tfjs's fused depthwise op declares only numeric pads but computes explicit ones like conv2d (computeConv2DInfo).
        tf.fused.depthwiseConv2d({
          x,
          filter: c.filter,
          strides: [c.stride[0], c.stride[1]],
          pad: c.pad as number,
          bias: c.bias,
        })
      : tf.fused.conv2d({ x, filter: c.filter, strides: [c.stride[0], c.stride[1]], pad: c.pad, bias: c.bias });
    return hardSwishTimesSix(y);
  });
}

/**
 * Squeeze-and-excite in four passes: pool, squeeze (+ bias, relu), excite (+ bias + 3, relu6 = 6 x Paddle's
 * hardsigmoid relu6(z + 3) / 6), scale. Its output is 6 x Paddle's; the next conv's weights carry the 1/6.
 */
function runSe(x: tf.Tensor4D, se: SeUnit): tf.Tensor4D {
  return tf.tidy(() => {
    const pooled = tf.mean(x, [1, 2]) as tf.Tensor2D;
    const squeezed = tf.fused.matMul({ a: pooled, b: se.squeeze, bias: se.squeezeBias, activation: 'relu' });
    const gate = tf.fused.matMul({ a: squeezed, b: se.excite, bias: se.exciteBiasPlusThree, activation: 'relu6' });
    const [n, , , c] = x.shape;
    return tf.mul(x, tf.reshape(gate, [n, 1, 1, c])) as tf.Tensor4D;
  });
}

/** Builds the model from a state dict; checks every name and shape first. */
export function buildPPLCNet(stateDict: StateDict, spec: NetworkSpec): PPLCNetModel {
  const plan = planPPLCNet(spec.geometry);
  const embeddingDim = embeddingDimOf(spec);
  assertMatchesParameters(
    stateDict,
    networkParameters(spec),
    (m) => new WeightsError(`PP-LCNet x${plan.scale} (embedding ${embeddingDim}): ${m}`),
  );
  const form = spec.batchNorm;
  const stem = convUnit(stateDict, 'backbone.conv1', form, plan.stemStride, false, 1);
  const blocks: BlockUnit[] = plan.blocks.map((b) => {
    const p = `backbone.${b.name}`;
    const se: SeUnit | undefined =
      b.seChannels > 0
        ? {
            squeeze: pointwiseAsMatrix(get(stateDict, `${p}.se.conv1.weight`), HARDSWISH_SCALE),
            squeezeBias: tf.tensor1d(get(stateDict, `${p}.se.conv1.bias`).data),
            excite: pointwiseAsMatrix(get(stateDict, `${p}.se.conv2.weight`)),
            exciteBiasPlusThree: tf.tensor1d(get(stateDict, `${p}.se.conv2.bias`).data.map((v) => v + 3)),
          }
        : undefined;
    return {
      dw: convUnit(stateDict, `${p}.dw_conv`, form, b.stride, true, HARDSWISH_SCALE),
      ...(se ? { se } : {}),
      // After an SE block the input carries two factors of 6 (hardswish's and hardsigmoid's).
      pw: convUnit(
        stateDict,
        `${p}.pw_conv`,
        form,
        [1, 1],
        false,
        se ? HARDSWISH_SCALE * HARDSIGMOID_SCALE : HARDSWISH_SCALE,
      ),
    };
  });
  const lastConv = plan.geometry.useLastConv
    ? pointwiseAsMatrix(get(stateDict, 'backbone.last_conv.weight'), HARDSWISH_SCALE)
    : undefined;
  const inferenceDropoutScale = 1 - plan.geometry.dropoutProb;
  let neck: PPLCNetModel['neck'];
  if (spec.neckDim !== undefined) {
    const neckWeight = get(stateDict, 'neck.fc.weight');
    neck = {
      weight: tf.tensor2d(neckWeight.data, [neckWeight.shape[0]!, neckWeight.shape[1]!]),
      bias: tf.tensor1d(get(stateDict, 'neck.fc.bias').data),
    };
  }

  const forwardFeatures = (x: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      let h = runConv(x, stem);
      for (const b of blocks) {
        h = runConv(h, b.dw);
        if (b.se) h = runSe(h, b.se);
        h = runConv(h, b.pw);
      }
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      // Without last_conv, the pool is the feature: only the last hardswish's 1/6 is left to apply.
      if (!lastConv) return tf.mul(pooled, HARDSWISH_SCALE) as tf.Tensor2D;
      // Dropout(p, mode="downscale_in_infer") scales by 1 - p (0.8) at inference; kept explicit (not folded
      // into the neck) so the feature equals Paddle's exported backbone output. The 1/6 is hardswish's.
      return tf.mul(
        hardSwishTimesSix(tf.matMul(pooled, lastConv)),
        inferenceDropoutScale * HARDSWISH_SCALE,
      ) as tf.Tensor2D;
    });

  const forwardNeck = (features: tf.Tensor2D): tf.Tensor2D =>
    neck ? tf.tidy(() => tf.add(tf.matMul(features, neck.weight), neck.bias) as tf.Tensor2D) : tf.clone(features);

  const all: tf.Tensor[] = [
    stem.filter,
    stem.bias,
    ...blocks.flatMap((b) => [
      b.dw.filter,
      b.dw.bias,
      b.pw.filter,
      b.pw.bias,
      ...(b.se ? [b.se.squeeze, b.se.squeezeBias, b.se.excite, b.se.exciteBiasPlusThree] : []),
    ]),
    ...(lastConv ? [lastConv] : []),
    ...(neck ? [neck.weight, neck.bias] : []),
  ];

  return {
    spec,
    plan,
    embeddingDim,
    forwardFeatures,
    forwardNeck,
    ...(neck ? { neck } : {}),
    embed: (x, normalize) =>
      tf.tidy(() => {
        const e = forwardNeck(forwardFeatures(x));
        return normalize ? l2Normalize(e) : e;
      }),
    dispose: () => tf.dispose(all),
  };
}

/** Rows divided by their L2 norm (PaddleClas divides without an epsilon; this one keeps zero rows at zero). */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}
