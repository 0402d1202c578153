/**
 * The TFLite operators a MobileNet uses, as tfjs kernels, in float mode: quantised weights and biases are
 * dequantised once when the kernel is prepared, activations stay float, and QUANTIZE / DEQUANTIZE pass their
 * input through. Convolutions use tfjs's fused conv (bias + activation in one kernel on every backend);
 * tfjs's 'same' padding is TensorFlow's (an odd total goes to the bottom / right), which is what TFLite means.
 *
 * Each kernel checks what it can against the tensors' declared shapes when it is prepared, so a file the
 * kernels cannot run is refused at load time with the operator and tensor named.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TfliteFormatError, TfliteUnsupportedError } from './errors.ts';
import {
  constantInts,
  constantValues,
  type Activation,
  type TfliteModel,
  type TfliteOp,
  type TfliteTensor,
} from './model.ts';

export interface Kernel {
  /** The non-constant tensors the kernel reads when it runs (its graph dependencies). */
  readonly reads: readonly number[];
  /** Computes the op's output from the values of `reads` (call inside tf.tidy). */
  run(value: (tensor: number) => tf.Tensor): tf.Tensor;
  /** Frees the dequantised weights. */
  dispose(): void;
}

type FusedActivation = 'linear' | 'relu' | 'relu6';
const FUSED: Readonly<Record<Activation, FusedActivation>> = {
  NONE: 'linear',
  RELU: 'relu',
  RELU6: 'relu6',
  RELU_N1_TO_1: 'linear',
};

function activate(x: tf.Tensor, a: Activation): tf.Tensor {
  switch (a) {
    case 'NONE':
      return x;
    case 'RELU':
      return tf.relu(x);
    case 'RELU6':
      return tf.relu6(x);
    case 'RELU_N1_TO_1':
      return tf.clipByValue(x, -1, 1);
  }
}

/** The op's tensors, checked: the first input an activation, the named others constants (or -1 if optional). */
class OpTensors {
  readonly where: string;
  constructor(
    readonly model: TfliteModel,
    readonly op: TfliteOp,
  ) {
    this.where = `${model.source}: operator ${op.index} (${op.op})`;
  }

  input(slot: number): TfliteTensor {
    const i = this.op.inputs[slot];
    const t = i === undefined || i < 0 ? undefined : this.model.tensors[i];
    if (!t) throw new TfliteFormatError(`${this.where}: input ${slot} is missing`);
    return t;
  }

  activation(slot: number): TfliteTensor {
    const t = this.input(slot);
    if (t.data)
      throw new TfliteUnsupportedError(
        `${this.where}: input ${slot} ("${t.name}") is a constant; expected a computed tensor`,
      );
    return t;
  }

  constant(slot: number): TfliteTensor {
    const t = this.input(slot);
    if (!t.data)
      throw new TfliteUnsupportedError(
        `${this.where}: input ${slot} ("${t.name}") is computed; this runner needs it constant`,
      );
    return t;
  }

  optionalConstant(slot: number): TfliteTensor | undefined {
    const i = this.op.inputs[slot];
    return i === undefined || i < 0 ? undefined : this.constant(slot);
  }

  output(): TfliteTensor {
    return this.model.tensors[this.op.outputs[0]!]!;
  }

  /** [H, W, C] of a declared NHWC shape. */
  nhwc(t: TfliteTensor): [number, number, number] {
    if (t.shape.length !== 4)
      throw new TfliteUnsupportedError(`${this.where}: "${t.name}" has shape [${t.shape.join(', ')}]; expected NHWC`);
    return [t.shape[1]!, t.shape[2]!, t.shape[3]!];
  }

  fail(what: string): never {
    throw new TfliteUnsupportedError(`${this.where}: ${what}`);
  }
}

/** Prepares one operator: dequantises and lays out its constants, checks its shapes. */
export function prepareKernel(model: TfliteModel, op: TfliteOp): Kernel {
  const t = new OpTensors(model, op);
  switch (op.op) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D':
      return convKernel(t, op);
    case 'ADD':
      return addKernel(t, op.activation);
    case 'AVERAGE_POOL_2D':
      return averagePoolKernel(t, op);
    case 'MEAN': {
      const x = t.activation(0);
      const axes = constantInts(model, t.constant(1));
      return simple(x.index, (v) => tf.mean(v, axes, op.keepDims));
    }
    case 'RESHAPE':
      return reshapeKernel(t, op.newShape);
    case 'SOFTMAX': {
      const beta = op.beta;
      if (!(beta > 0)) t.fail(`beta ${beta}; expected a positive value`);
      return simple(t.activation(0).index, (v) => tf.softmax(beta === 1 ? v : tf.mul(v, beta)));
    }
    case 'QUANTIZE':
    case 'DEQUANTIZE':
      // Float mode: the value a quantised tensor stands for is the value itself. A clone, so that disposing the
      // input after its last use leaves this output alive.
      return simple(t.activation(0).index, (v) => tf.clone(v));
  }
}

function simple(read: number, f: (x: tf.Tensor) => tf.Tensor): Kernel {
  return { reads: [read], run: (value) => f(value(read)), dispose: () => {} };
}

function convKernel(t: OpTensors, op: Extract<TfliteOp, { op: 'CONV_2D' | 'DEPTHWISE_CONV_2D' }>): Kernel {
  const x = t.activation(0);
  const w = t.constant(1);
  const b = t.optionalConstant(2);
  const [, , inC] = t.nhwc(x);
  if (w.shape.length !== 4) t.fail(`filter "${w.name}" has shape [${w.shape.join(', ')}]; expected 4 dimensions`);
  const [d0, kh, kw, d3] = w.shape as [number, number, number, number];
  const values = constantValues(t.model, w);
  let filter: tf.Tensor4D;
  let outC: number;
  if (op.op === 'CONV_2D') {
    // TFLite [O, kh, kw, I] -> tfjs [kh, kw, I, O].
    if (d3 !== inC)
      t.fail(`filter [${w.shape.join(', ')}] for ${inC} input channels (grouped convolution is not supported)`);
    outC = d0;
    filter = tf.tidy(() => tf.transpose(tf.tensor4d(values, [d0, kh, kw, d3]), [1, 2, 3, 0]));
  } else {
    // TFLite [1, kh, kw, C x M], output channel c x M + m: the same order as tfjs's [kh, kw, C, M].
    if (d0 !== 1 || d3 % inC !== 0) t.fail(`filter [${w.shape.join(', ')}] for ${inC} input channels`);
    const multiplier = d3 / inC;
    if (op.depthMultiplier !== 0 && op.depthMultiplier !== multiplier)
      t.fail(`depth_multiplier ${op.depthMultiplier} but the filter implies ${multiplier}`);
    outC = d3;
    filter = tf.tensor4d(values, [kh, kw, inC, multiplier]);
  }
  let bias: tf.Tensor1D | undefined;
  if (b) {
    if (b.shape.length !== 1 || b.shape[0] !== outC)
      t.fail(`bias "${b.name}" has shape [${b.shape.join(', ')}], expected [${outC}]`);
    bias = tf.tensor1d(constantValues(t.model, b));
  }
  const out = t.output();
  if (out.shape.length === 4 && out.shape[3] !== outC)
    t.fail(`output "${out.name}" has ${out.shape[3]} channels, the filter gives ${outC}`);
  const args = {
    strides: [op.strideH, op.strideW] as [number, number],
    pad: op.padding === 'SAME' ? ('same' as const) : ('valid' as const),
    ...(bias ? { bias } : {}),
    activation: FUSED[op.activation],
  };
  const clip = op.activation === 'RELU_N1_TO_1';
  return {
    reads: [x.index],
    run(value) {
      const input = value(x.index) as tf.Tensor4D;
      const y =
        op.op === 'CONV_2D'
          ? tf.fused.conv2d({ x: input, filter, ...args })
          : tf.fused.depthwiseConv2d({ x: input, filter, ...args });
      return clip ? activate(y, 'RELU_N1_TO_1') : y;
    },
    dispose: () => tf.dispose([filter, ...(bias ? [bias] : [])]),
  };
}

function addKernel(t: OpTensors, activation: Activation): Kernel {
  // Either operand may be a constant (a bias folded into an ADD); both are usually computed.
  const operands = [t.input(0), t.input(1)].map((x) => ({
    index: x.index,
    constant: x.data ? tf.tensor(constantValues(t.model, x), [...x.shape]) : undefined,
  }));
  return {
    reads: operands.filter((o) => !o.constant).map((o) => o.index),
    run: (value) =>
      activate(
        tf.add(operands[0]!.constant ?? value(operands[0]!.index), operands[1]!.constant ?? value(operands[1]!.index)),
        activation,
      ),
    dispose: () => tf.dispose(operands.flatMap((o) => (o.constant ? [o.constant] : []))),
  };
}

function averagePoolKernel(t: OpTensors, op: Extract<TfliteOp, { op: 'AVERAGE_POOL_2D' }>): Kernel {
  const x = t.activation(0);
  const [h, w] = t.nhwc(x);
  if (op.filterH === h && op.filterW === w) {
    // Global pooling (MobileNet's AvgPool): the mean over the whole map, whatever the padding says.
    return simple(x.index, (v) => activate(tf.mean(v, [1, 2], true), op.activation));
  }
  if (op.padding !== 'VALID') {
    // TensorFlow's SAME average pooling divides by the in-bounds count only; not needed for MobileNet.
    t.fail(
      `a ${op.filterH} x ${op.filterW} window on a ${h} x ${w} map with SAME padding; only global or VALID pooling is supported`,
    );
  }
  const filter: [number, number] = [op.filterH, op.filterW];
  const strides: [number, number] = [op.strideH, op.strideW];
  return simple(x.index, (v) => activate(tf.avgPool(v as tf.Tensor4D, filter, strides, 'valid'), op.activation));
}

function reshapeKernel(t: OpTensors, newShape: readonly number[] | undefined): Kernel {
  const x = t.activation(0);
  const declared = t.output().shape;
  const shapeInput = t.op.inputs[1] !== undefined && t.op.inputs[1] >= 0 ? t.input(1) : undefined;
  const target = declared.length
    ? [...declared]
    : newShape
      ? [...newShape]
      : shapeInput?.data
        ? constantInts(t.model, shapeInput)
        : undefined;
  if (!target) t.fail('the output shape is not declared and not constant');
  const batch = x.shape[0];
  return {
    reads: [x.index],
    run(value) {
      const v = value(x.index);
      // The file is written for batch 1; a batch of N keeps N in front when the declared shape starts with it.
      const shape = v.shape[0] !== batch && target[0] === batch ? [v.shape[0]!, ...target.slice(1)] : target;
      return tf.reshape(v, shape);
    },
    dispose: () => {},
  };
}
