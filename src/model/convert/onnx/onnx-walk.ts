/**
 * Walks an ONNX graph from its image input along PP-LCNet's chain and collects each layer's tensors.
 *
 * Tensors are found by their place in the graph, never by name: exporters name them `conv2d_12.w_0`,
 * `onnx::Conv_431` or anything else. Every step checks that the graph is what PP-LCNet has there (conv
 * geometry, channel flow, activation function) and says where it is not. The walk visits each node at most
 * once, so a malformed graph (a cycle, a branch) ends in an error, never a loop.
 */
import { ImportError } from '../../../core/errors.ts';
import { INPUT_SIZE, type StrideHW } from '../../architecture.ts';
import type { OnnxNode, OnnxTensor } from './onnx-decode.ts';
import { DATA_TYPE } from './onnx-proto.ts';
import {
  ELEMENTWISE,
  GraphView,
  readActivation,
  SHAPE_OPS,
  type Activation,
  type ActivationKind,
} from './onnx-elementwise.ts';

export interface BatchNormFound {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly epsilon: number;
}

export interface ConvFound {
  readonly node: OnnxNode;
  /** OIHW, as Paddle stores it. */
  readonly weight: OnnxTensor & { readonly data: Float32Array };
  readonly bias?: Float32Array;
  readonly bn?: BatchNormFound;
  readonly stride: StrideHW;
  readonly group: number;
  readonly kernel: number;
  readonly outChannels: number;
  /** The value after the conv (and its BatchNorm, if any). */
  readonly output: string;
}

export interface BlockFound {
  readonly dw: ConvFound;
  readonly se?: { readonly conv1: ConvFound; readonly conv2: ConvFound };
  readonly pw: ConvFound;
}

export interface WalkResult {
  readonly stem: ConvFound;
  readonly blocks: readonly BlockFound[];
  /** Absent for PaddleClas's use_last_conv=False: pool -> flatten -> fc. */
  readonly lastConv?: ConvFound;
  /** The constant in front of hardswish at the tail: 0.8 when the graph has the dropout scale, 1 when it has none. */
  readonly tailFactor: number;
  /** The backbone feature's width: last_conv's output channels, else the last block's. */
  readonly featureDim: number;
  /** [featureDim, D], Paddle's Linear layout, with Gemm's alpha / transB and any factor after it applied. */
  readonly linearWeight: Float32Array;
  readonly linearBias: Float32Array;
  readonly outputDim: number;
  /** Whether a Softmax follows the linear layer. */
  readonly softmax: boolean;
  /** The value the linear layer reads (the [N, featureDim] feature), e.g. to expose it as an output. */
  readonly featureValue: string;
  readonly notes: string[];
}

const POOL_OPS = new Set(['GlobalAveragePool', 'ReduceMean', 'AveragePool']);
/** Read after the output (argmax labels, top-k, casts of them): ignored, the import keeps the scores. */
export const IGNORED_TAIL_OPS = new Set([
  'ArgMax',
  'TopK',
  'Cast',
  'ReduceMax',
  'Unsqueeze',
  'Squeeze',
  'Reshape',
  'Flatten',
]);
export const KNOWN_OPS = new Set([
  ...ELEMENTWISE,
  ...SHAPE_OPS,
  ...POOL_OPS,
  'Conv',
  'BatchNormalization',
  'MatMul',
  'Gemm',
  'Softmax',
]);

export class PPLCNetWalker {
  readonly notes: string[] = [];
  private readonly seen = new Set<OnnxNode>();
  /** Spatial size [H, W] of the current value (from the input's declared dims, else 224 x 224): an AveragePool must cover all of it. */
  private spatial: [number, number];

  constructor(private readonly view: GraphView) {
    const [, , h, w] = view.graph.inputDims;
    this.spatial = [h ?? INPUT_SIZE, w ?? INPUT_SIZE];
  }

  walk(): WalkResult {
    const stem = this.convBnHardswish(this.view.graph.input, 'stem conv (conv1)');
    const blocks: BlockFound[] = [];
    let value = stem.output;
    let channels = stem.outChannels;
    // A block consumes at least two nodes, so the graph's size bounds the loop.
    for (let i = 1; i <= this.view.graph.nodes.length; i++) {
      const readers = this.view.consumers(value);
      if (readers.length === 1 && POOL_OPS.has(readers[0]!.opType)) break;
      const block = this.block(value, channels, `block ${i}`);
      blocks.push(block);
      value = block.pw.output;
      channels = block.pw.outChannels;
    }
    const pool = this.next(value, 'after the last block', 'global average pool');
    this.checkPool(pool, 'the tail');
    const pooled = pool.outputs[0]!;
    const afterPool = this.view.consumers(pooled);
    let lastConv: ConvFound | undefined;
    let featureDim = channels;
    let feature: Activation;
    if (afterPool.length === 1 && afterPool[0]!.opType === 'Conv') {
      lastConv = this.conv(pooled, 'last_conv', channels);
      if (lastConv.kernel !== 1 || lastConv.group !== 1) {
        throw new ImportError(
          `last_conv (Conv "${lastConv.node.name}") is ${lastConv.kernel} x ${lastConv.kernel}, group ${lastConv.group}; PP-LCNet's last_conv is 1 x 1.`,
        );
      }
      if (lastConv.bias && lastConv.bias.some((b) => b !== 0)) {
        throw new ImportError(
          `last_conv (Conv "${lastConv.node.name}") has a non-zero bias; PP-LCNet's last_conv has none.`,
        );
      }
      featureDim = lastConv.outChannels;
      feature = this.activation(lastConv.output, 'after last_conv', 'hardswish', true);
    } else {
      // PaddleClas's use_last_conv=False: the pooled last stage goes straight through flatten to the fc.
      feature = readActivation(this.view, pooled, 'after the global pool (no last_conv)', true);
      if (feature.kind !== 'identity') {
        throw new ImportError(
          `after the global pool: expected last_conv (a 1 x 1 Conv) or a flatten, found ${feature.kind} (${describe(feature.nodes)}).`,
        );
      }
      feature.nodes.forEach((n) => this.visit(n));
      this.notes.push('no last_conv: the feature is the pooled last stage (PaddleClas use_last_conv=False)');
    }
    const reshapes = feature.nodes.filter((n) => SHAPE_OPS.has(n.opType));
    if (reshapes.length === 0) {
      const found = describe(this.view.consumers(feature.output));
      throw new ImportError(
        `Between the pool and the linear layer there is no Flatten, Reshape or Squeeze to make [N, ${featureDim}, 1, 1] into [N, ${featureDim}]${found ? `; found ${found}` : ''}.`,
      );
    }
    reshapes.forEach((n) => this.checkFlatten(n, featureDim));
    const linear = this.linear(feature.output, featureDim);
    return {
      stem,
      blocks,
      ...(lastConv ? { lastConv } : {}),
      tailFactor: feature.factor,
      featureDim,
      featureValue: feature.output,
      ...linear,
      notes: this.notes,
    };
  }

  private block(input: string, channels: number, where: string): BlockFound {
    const dw = this.convBnHardswish(input, `${where}: depthwise conv`, channels);
    if (dw.group !== channels || dw.weight.dims[1] !== 1 || dw.outChannels !== channels) {
      throw new ImportError(
        `${where}: Conv "${dw.node.name}" should be depthwise (group = ${channels} channels, weight [${channels}, 1, k, k]); ` +
          `found group ${dw.group}, weight [${dw.weight.dims.join(', ')}].`,
      );
    }
    let value = dw.output;
    let se: BlockFound['se'];
    const readers = this.view.consumers(value);
    if (readers.length === 2) {
      const pool = readers.find((n) => POOL_OPS.has(n.opType));
      const mul = readers.find((n) => n.opType === 'Mul');
      if (!pool || !mul) {
        throw new ImportError(
          `${where}: after the depthwise conv, ${describe(readers)} read the activation; expected an SE module (a pool and a Mul).`,
        );
      }
      this.visit(pool);
      const spatial: [number, number] = [...this.spatial];
      this.checkPool(pool, `${where} SE`);
      const conv1 = this.conv(pool.outputs[0]!, `${where}: SE conv1`, channels);
      const relu = this.activation(conv1.output, `${where}: after SE conv1`, 'relu');
      const conv2 = this.conv(relu.output, `${where}: SE conv2`, conv1.outChannels);
      const gate = this.activation(conv2.output, `${where}: after SE conv2`, 'hardsigmoid');
      this.spatial = spatial; // the SE's 1 x 1 convs do not change the block's size
      if (conv2.outChannels !== channels || !mul.inputs.includes(gate.output) || !mul.inputs.includes(value)) {
        throw new ImportError(
          `${where}: the SE gate (${conv2.outChannels} channels) does not multiply the block's ${channels}-channel activation.`,
        );
      }
      this.visit(mul);
      value = mul.outputs[0]!;
      se = { conv1, conv2 };
    } else if (readers.length !== 1) {
      throw new ImportError(
        `${where}: the depthwise conv's activation is read by ${describe(readers)}; expected one pointwise Conv, or an SE module.`,
      );
    }
    const pw = this.convBnHardswish(value, `${where}: pointwise conv`, channels);
    if (pw.kernel !== 1 || pw.group !== 1) {
      throw new ImportError(
        `${where}: Conv "${pw.node.name}" should be pointwise (1 x 1, group 1); found ${pw.kernel} x ${pw.kernel}, group ${pw.group}.`,
      );
    }
    return { dw, se, pw };
  }

  /** Conv, then optionally BatchNormalization, then hardswish. */
  private convBnHardswish(input: string, where: string, channels = 3): ConvFound {
    const conv = this.conv(input, where, channels);
    const readers = this.view.consumers(conv.output);
    let found = conv;
    if (readers.length === 1 && readers[0]!.opType === 'BatchNormalization' && readers[0]!.inputs[0] === conv.output) {
      const bnNode = this.visit(readers[0]!);
      const n = conv.outChannels;
      const param = (k: number, what: string): Float32Array =>
        this.floatConstant(bnNode.inputs[k], `${where}: BatchNormalization "${bnNode.name}" ${what}`, [n]).data;
      if (bnNode.attributes.get('training_mode')?.i === 1) {
        throw new ImportError(
          `${where}: BatchNormalization "${bnNode.name}" is in training mode; export the inference model.`,
        );
      }
      const bn = {
        gamma: param(1, 'scale'),
        beta: param(2, 'bias'),
        mean: param(3, 'mean'),
        variance: param(4, 'variance'),
        epsilon: bnNode.attributes.get('epsilon')?.f ?? 1e-5,
      };
      found = { ...conv, bn, output: bnNode.outputs[0]! };
    }
    const act = this.activation(found.output, `${where}: after Conv "${conv.node.name}"`, 'hardswish');
    return { ...found, output: act.output };
  }

  private conv(input: string, where: string, inChannels: number): ConvFound {
    const node = this.next(input, where, 'Conv');
    if (node.opType !== 'Conv')
      throw new ImportError(`${where}: expected a Conv node, found ${node.opType} "${node.name}".`);
    const weight = this.floatConstant(node.inputs[1], `${where}: Conv "${node.name}" weight`);
    const [outChannels, perGroup, kh, kw] = weight.dims;
    const a = node.attributes;
    const group = a.get('group')?.i ?? 1;
    if (
      weight.dims.length !== 4 ||
      kh !== kw ||
      kh === undefined ||
      outChannels === undefined ||
      perGroup === undefined
    ) {
      throw new ImportError(
        `${where}: Conv "${node.name}" weight has dims [${weight.dims.join(', ')}]; expected [out, in / group, k, k].`,
      );
    }
    if (perGroup * group !== inChannels) {
      throw new ImportError(
        `${where}: Conv "${node.name}" reads ${perGroup * group} channels (weight [${weight.dims.join(', ')}], group ${group}), but the previous layer makes ${inChannels}.`,
      );
    }
    const strides = a.get('strides')?.ints ?? [1, 1];
    const pads = a.get('pads')?.ints ?? [0, 0, 0, 0];
    const autoPad = a.get('auto_pad')?.s ?? 'NOTSET';
    const dilations = a.get('dilations')?.ints ?? [1, 1];
    const kernelShape = a.get('kernel_shape')?.ints;
    const stride: StrideHW = [strides[0] ?? 1, strides[1] ?? strides[0] ?? 1];
    const p = (kh - 1) / 2;
    const padsOk =
      autoPad === 'NOTSET' || autoPad === ''
        ? pads.length === 4 && pads.every((x) => x === p)
        : (autoPad === 'VALID' && kh === 1) || (autoPad.startsWith('SAME') && stride[0] === 1 && stride[1] === 1);
    if (
      strides.length > 2 ||
      stride.some((v) => !(v >= 1 && v <= 4)) ||
      dilations.some((d) => d !== 1) ||
      !padsOk ||
      (kernelShape && kernelShape.some((k) => k !== kh))
    ) {
      throw new ImportError(
        `${where}: Conv "${node.name}" (kernel ${kh}) has strides [${strides}], pads [${pads}], auto_pad ${autoPad}, dilations [${dilations}]; ` +
          `PP-LCNet convs pad (k - 1) / 2 = ${p} on every side, with strides of 1 to 4 and no dilation.`,
      );
    }
    const biasName = node.inputs[2];
    let bias = biasName
      ? this.floatConstant(biasName, `${where}: Conv "${node.name}" bias`, [outChannels]).data
      : undefined;
    let output = node.outputs[0]!;
    // A bias written as a separate Add of a [1, C, 1, 1] (or [C, 1, 1]) constant, as PIR-era paddle2onnx does.
    const added = this.biasAdd(output, outChannels);
    if (added) {
      if (bias) bias = bias.map((b, i) => b + added.bias[i]!);
      else bias = added.bias;
      output = added.output;
    }
    this.spatial = [
      Math.floor((this.spatial[0] + 2 * p - kh) / stride[0]) + 1,
      Math.floor((this.spatial[1] + 2 * p - kh) / stride[1]) + 1,
    ];
    return { node, weight, bias, stride, group, kernel: kh, outChannels, output };
  }

  /** `value` + a per-channel constant in NCHW broadcasting ([1, C, 1, 1] or [C, 1, 1]), when that is its one reader. */
  private biasAdd(value: string, channels: number): { bias: Float32Array; output: string } | undefined {
    const readers = this.view.consumers(value);
    const add = readers.length === 1 && readers[0]!.opType === 'Add' ? readers[0]! : undefined;
    if (!add || add.inputs.length !== 2) return undefined;
    const other = add.inputs[0] === value ? add.inputs[1]! : add.inputs[0]!;
    const c = this.view.constant(other);
    if (!c || !(c.data instanceof Float32Array)) return undefined;
    const dims = [...c.dims];
    while (dims.length > 0 && dims[0] === 1 && dims.length > 3) dims.shift();
    const perChannel =
      (dims.length === 3 && dims[0] === channels && dims[1] === 1 && dims[2] === 1) ||
      (channels === 1 && c.data.length === 1);
    if (!perChannel) return undefined;
    this.visit(add);
    return { bias: Float32Array.from(c.data), output: add.outputs[0]! };
  }

  private activation(value: string, where: string, expected: ActivationKind, tail = false): Activation {
    const act = readActivation(this.view, value, where, tail);
    const factorOk = tail ? act.factor > 0 : Math.abs(act.factor - 1) <= 1e-6;
    if (act.kind !== expected || !factorOk) {
      const then = describe(this.view.consumers(act.output));
      const what =
        act.kind === 'identity' && act.nodes.length === 0
          ? 'no activation'
          : `${act.kind}${act.factor !== 1 ? ` x ${act.factor}` : ''}`;
      throw new ImportError(`${where}: expected ${expected}, found ${what}${then ? `, followed by ${then}` : ''}.`);
    }
    act.nodes.forEach((n) => this.visit(n));
    return act;
  }

  private checkPool(node: OnnxNode, where: string): void {
    const a = node.attributes;
    let ok = node.opType === 'GlobalAveragePool';
    if (node.opType === 'ReduceMean') {
      // Opset 18 moved axes from an attribute to an input.
      const axesInput = node.inputs[1] ? this.view.constant(node.inputs[1]) : undefined;
      const axes = [...(a.get('axes')?.ints ?? Array.from(axesInput?.data ?? []))]
        .map((x) => (x < 0 ? x + 4 : x))
        .sort();
      ok = axes.join() === '2,3' && (a.get('keepdims')?.i ?? 1) === 1;
    } else if (node.opType === 'AveragePool') {
      const k = a.get('kernel_shape')?.ints ?? [];
      ok =
        k.length === 2 &&
        k[0] === this.spatial[0] &&
        k[1] === this.spatial[1] &&
        (a.get('pads')?.ints ?? []).every((x) => x === 0);
    }
    if (!ok) {
      throw new ImportError(
        `${where}: ${node.opType} "${node.name}" is not a global average pool over the ${this.spatial[0]} x ${this.spatial[1]} map ` +
          '(expected GlobalAveragePool, ReduceMean over axes [2, 3] with keepdims, or AveragePool with the whole map as kernel).',
      );
    }
    this.spatial = [1, 1];
  }

  /** The tail's shape op must give [N, features]: Flatten at axis 1, Squeeze of axes 2 and 3, Reshape to [0 | -1, -1 | features]. */
  private checkFlatten(node: OnnxNode, features: number): void {
    const a = node.attributes;
    const constant = (k: number): number[] | undefined => {
      const t = node.inputs[k] ? this.view.constant(node.inputs[k]) : undefined;
      return t ? Array.from(t.data) : undefined;
    };
    let ok = true;
    if (node.opType === 'Flatten') ok = (a.get('axis')?.i ?? 1) === 1;
    if (node.opType === 'Squeeze') {
      // Opset 13 moved axes from an attribute to an input; no axes squeezes every 1.
      const axes = a.get('axes')?.ints ?? constant(1);
      ok =
        axes === undefined ||
        [...axes]
          .map((x) => (x < 0 ? x + 4 : x))
          .sort()
          .join() === '2,3';
    }
    if (node.opType === 'Reshape') {
      // A computed shape (Shape -> Gather -> Concat) cannot be checked here; the neck's weight shape still is.
      const shape = constant(1);
      ok =
        shape === undefined ||
        (shape.length === 2 && [0, -1].includes(shape[0]!) && [-1, features].includes(shape[1]!));
    }
    if (!ok)
      throw new ImportError(
        `before the linear layer: ${node.opType} "${node.name}" does not turn [N, ${features}, 1, 1] into [N, ${features}].`,
      );
  }

  /** The neck or the classifier's fc (MatMul + Add, or Gemm), then what follows it up to the graph's output. */
  private linear(
    value: string,
    features: number,
  ): Pick<WalkResult, 'linearWeight' | 'linearBias' | 'outputDim' | 'softmax'> {
    const where = 'the linear layer (neck or fc)';
    const node = this.next(value, where, 'MatMul or Gemm');
    let weight: Float32Array;
    let bias: Float32Array | undefined;
    let dim: number;
    let out = node.outputs[0]!;
    if (node.opType === 'MatMul' && node.inputs[0] === value) {
      const w = this.floatConstant(node.inputs[1], `${where}: MatMul "${node.name}" weight`);
      dim = w.dims[1] ?? 0;
      if (w.dims.length !== 2 || w.dims[0] !== features) {
        throw new ImportError(
          `${where}: MatMul "${node.name}" weight has dims [${w.dims.join(', ')}]; expected [${features}, D] for the ${features}-d feature.`,
        );
      }
      weight = w.data;
      const readers = this.view.consumers(out);
      const add = readers.length === 1 && readers[0]!.opType === 'Add' ? readers[0]! : undefined;
      const biasName = add?.inputs.find((i) => i !== out);
      const biasConstant = biasName ? this.view.constant(biasName) : undefined;
      if (add && biasConstant && biasConstant.data.length === dim) {
        this.visit(add);
        bias = this.floatConstant(biasName, `${where}: Add "${add.name}" bias`).data;
        out = add.outputs[0]!;
      }
    } else if (node.opType === 'Gemm' && node.inputs[0] === value) {
      const a = node.attributes;
      if ((a.get('transA')?.i ?? 0) !== 0)
        throw new ImportError(`${where}: Gemm "${node.name}" has transA = 1; the features must be A as they are.`);
      const transB = (a.get('transB')?.i ?? 0) === 1;
      const alpha = a.get('alpha')?.f ?? 1;
      const beta = a.get('beta')?.f ?? 1;
      const b = this.floatConstant(node.inputs[1], `${where}: Gemm "${node.name}" B`);
      const [rows, cols] = transB ? [b.dims[1], b.dims[0]] : [b.dims[0], b.dims[1]];
      if (b.dims.length !== 2 || rows !== features || cols === undefined) {
        throw new ImportError(
          `${where}: Gemm "${node.name}" B has dims [${b.dims.join(', ')}] with transB ${transB ? 1 : 0}; expected ${features} input features.`,
        );
      }
      dim = cols;
      weight = new Float32Array(features * dim);
      for (let i = 0; i < features; i++)
        for (let o = 0; o < dim; o++) weight[i * dim + o] = alpha * b.data[transB ? o * features + i : i * dim + o]!;
      if (node.inputs[2])
        bias = this.floatConstant(node.inputs[2], `${where}: Gemm "${node.name}" C`).data.map((v) => beta * v);
      if (alpha !== 1 || beta !== 1 || transB)
        this.notes.push(`Gemm with alpha ${alpha}, beta ${beta}, transB ${transB ? 1 : 0} applied to the weights`);
    } else {
      throw new ImportError(
        `${where}: expected MatMul or Gemm reading the [N, ${features}] feature, found ${node.opType} "${node.name}".`,
      );
    }
    if (bias && bias.length !== dim)
      throw new ImportError(`${where}: the bias has ${bias.length} values for a ${dim}-wide output.`);
    if (!bias) this.notes.push('the linear layer has no bias; imported as zeros');
    bias ??= new Float32Array(dim);
    const after = this.afterLinear(out);
    if (after.factor !== 1) {
      weight = weight.map((v) => v * after.factor);
      bias = bias.map((v) => v * after.factor);
      this.notes.push(`the output is scaled by ${+after.factor.toPrecision(7)} after the linear layer; folded into it`);
    }
    return { linearWeight: weight, linearBias: bias, outputDim: dim, softmax: after.softmax };
  }

  /**
   * After the linear layer: an optional scalar affine (legacy paddle2onnx writes the program's final `scale` op),
   * an optional Softmax, and the graph's output; outputs computed from it (ArgMax, TopK, Cast) are ignored.
   */
  private afterLinear(value: string): { factor: number; softmax: boolean } {
    let out = value;
    let factor = 1;
    let softmax = false;
    // Each step visits a new node: bounded by the graph's size.
    for (let step = 0; step <= this.view.graph.nodes.length; step++) {
      const readers = this.view.consumers(out).filter((n) => !this.ignoreTail(n));
      if (readers.length === 0) break;
      const r = readers[0]!;
      if (readers.length === 1 && r.opType === 'Softmax' && !softmax) {
        const axis = r.attributes.get('axis')?.i ?? (this.view.graph.opset >= 13 ? -1 : 1);
        if (axis !== 1 && axis !== -1)
          throw new ImportError(
            `Softmax "${r.name}" after the linear layer has axis ${axis}; expected the class axis (1 or -1).`,
          );
        this.visit(r);
        softmax = true;
        out = r.outputs[0]!;
        continue;
      }
      if (readers.length === 1 && ELEMENTWISE.has(r.opType) && !softmax) {
        const act = readActivation(this.view, out, 'after the linear layer');
        if (act.kind === 'identity' && act.nodes.length > 0) {
          act.nodes.forEach((n) => this.visit(n));
          factor *= act.factor;
          out = act.output;
          continue;
        }
      }
      throw new ImportError(
        `After the linear layer, ${describe(readers)} read its output; expected the graph's output, a Softmax, or outputs derived from it (ArgMax, TopK, Cast).`,
      );
    }
    if (!this.view.isGraphOutput(out)) {
      throw new ImportError(
        `The linear layer's result "${out}" is not a graph output (outputs: ${this.view.graph.outputs.join(', ')}).`,
      );
    }
    const ignored = this.view.graph.outputs.filter((o) => o !== out);
    if (ignored.length > 0) this.notes.push(`graph outputs ${ignored.join(', ')} (derived from the scores) ignored`);
    return { factor, softmax };
  }

  /** ArgMax / TopK / Cast ... of the scores: the file's own post-processing, which the import does not need. */
  private ignoreTail(node: OnnxNode): boolean {
    return IGNORED_TAIL_OPS.has(node.opType);
  }

  /** The one node reading `value`: PP-LCNet is a chain. */
  private next(value: string, where: string, expected: string): OnnxNode {
    const readers = this.view.consumers(value);
    if (readers.length !== 1) {
      throw new ImportError(
        `${where}: expected one ${expected} to read "${value}", found ${readers.length ? describe(readers) : 'none'}.`,
      );
    }
    return this.visit(readers[0]!);
  }

  private visit(node: OnnxNode): OnnxNode {
    if (this.seen.has(node))
      throw new ImportError(`The graph loops back to node "${node.name}" (${node.opType}); PP-LCNet is a chain.`);
    this.seen.add(node);
    return node;
  }

  private floatConstant(
    name: string | undefined,
    what: string,
    dims?: readonly number[],
  ): OnnxTensor & { data: Float32Array } {
    const t = name ? this.view.constant(name) : undefined;
    if (!t) throw new ImportError(`${what}: "${name ?? ''}" is not a constant (an initializer or a Constant node).`);
    if (
      !(t.data instanceof Float32Array) ||
      ![DATA_TYPE.FLOAT, DATA_TYPE.FLOAT16, DATA_TYPE.DOUBLE].includes(t.dataType as 1)
    ) {
      throw new ImportError(`${what}: tensor "${name}" is not floating point (data type ${t.dataType}).`);
    }
    // A [1, D] bias is a [D] bias; only the element count matters where dims are not given.
    if (dims && t.data.length !== dims.reduce((x, y) => x * y, 1)) {
      throw new ImportError(
        `${what}: tensor "${name}" has dims [${t.dims.join(', ')}]; expected [${dims.join(', ')}].`,
      );
    }
    return t as OnnxTensor & { data: Float32Array };
  }
}

function describe(nodes: readonly OnnxNode[]): string {
  return nodes.map((n) => `${n.opType} "${n.name}"`).join(', ');
}
