/**
 * Accumulates an ONNX graph's nodes and tensors, named as one of two paddle2onnx generations names them, and
 * spells the ops whose form changed between opsets (Clip, Squeeze, Unsqueeze, ReduceMean, Slice, Reshape,
 * Dropout, TopK) as the builder's opset requires. The names are realistic but meaningless to the importer,
 * which maps tensors by graph structure: tests therefore never depend on them.
 *
 * - `legacy` naming (paddle2onnx on Paddle 2.x programs): parameters `conv2d_3.w_0`, `batch_norm_3.w_1`; a
 *   Paddle op's output `conv2d_3.tmp_0`; invented nodes `mul_7` -> `mul_7.tmp_0`; invented constants are
 *   Constant nodes.
 * - `pir` naming (paddle2onnx on Paddle 3 PIR programs, as in the real PP-LCNet_x0_25_textline_ori.onnx):
 *   parameters `conv2d_3.w_0_deepcopy_15`, `batch_norm2d_3.w_1_deepcopy_18`; a Paddle op's output
 *   `p2o.pd_op.conv2d.3.0`; invented nodes `Mul.4` -> `Mul.5` (node and value names share one counter per op
 *   type, as MapperHelper::GenName does); invented constants are initializers `helper.constant.<n>`.
 */
import { DATA_TYPE } from '../convert/onnx/onnx-proto.ts';
import type { OnnxAttributeValue, OnnxNodeSpec, OnnxTensorDataType, OnnxTensorSpec } from './onnx-encode.ts';

export interface TensorValues {
  readonly dims: readonly number[];
  readonly values: ArrayLike<number>;
}

export type OnnxNaming = 'legacy' | 'pir';

export interface OnnxGraphBuilderOptions {
  /** `initializer`: parameters are graph initializers; `constant`: each is the output of a Constant node. */
  readonly weights: 'initializer' | 'constant';
  readonly opset: number;
  readonly naming: OnnxNaming;
}

/** Paddle 3 names a BatchNorm2D layer's parameters after the class (`batch_norm2d_0`), Paddle 2 programs after the op. */
const PIR_LAYER_NAMES: Readonly<Record<string, string>> = { batch_norm: 'batch_norm2d' };

export class OnnxGraphBuilder {
  readonly nodes: OnnxNodeSpec[] = [];
  readonly initializers: OnnxTensorSpec[] = [];
  readonly opset: number;
  private readonly counts = new Map<string, number>();
  private readonly layerCounts = new Map<string, number>();
  private paramCount = 0;

  constructor(private readonly options: OnnxGraphBuilderOptions) {
    this.opset = options.opset;
  }

  /** A parameter of the current `kind` layer (`conv2d`, `batch_norm`, `linear`), named as Paddle names it. */
  param(kind: string, suffix: string, t: TensorValues): string {
    return this.weight(this.paramName(kind, suffix), t);
  }

  /** The name `param` would give; it uses up the PIR-era `_deepcopy_<n>` number even when the tensor is written under another name. */
  paramName(kind: string, suffix: string): string {
    const layer = this.layerCounts.get(kind) ?? 0;
    return this.options.naming === 'pir'
      ? `${PIR_LAYER_NAMES[kind] ?? kind}_${layer}.${suffix}_deepcopy_${this.paramCount++}`
      : `${kind}_${layer}.${suffix}`;
  }

  /** A float tensor of the model's (a parameter, or one derived from it), placed where `weights` says. */
  weight(name: string, t: TensorValues): string {
    const tensor: OnnxTensorSpec = { name, dims: t.dims, dataType: DATA_TYPE.FLOAT, values: t.values };
    if (this.options.weights === 'initializer') this.initializers.push(tensor);
    else this.constantNode(tensor);
    return name;
  }

  /** Moves on to the next layer of `kind`, so its parameters get the next index. */
  nextLayer(kind: string): void {
    this.layerCounts.set(kind, (this.layerCounts.get(kind) ?? 0) + 1);
  }

  /** The name of the value a Paddle op (`conv2d`, `batch_norm_`, `hardswish`, `add`...) produces. */
  value(paddleOp: string): string {
    if (this.options.naming === 'pir') return `p2o.pd_op.${paddleOp}.${this.next(`value:${paddleOp}`)}.0`;
    // One counter with the nodes' (`relu_3` may name a node or a value's prefix), so no two values collide.
    return `${paddleOp}_${this.next(paddleOp)}.tmp_0`;
  }

  /** A float constant paddle2onnx invents (an Add/Mul operand, a Clip bound); rank 0 unless `dims` says. */
  scalar(value: number, dims: readonly number[] = []): string {
    return this.constant(dims, DATA_TYPE.FLOAT, [value]);
  }

  /** An int64 constant (a shape, axes, an index); 1-D unless `dims` says (`[]`: a scalar). */
  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(dims, DATA_TYPE.INT64, values);
  }

  /** Appends one node and returns its (single) output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes?: Record<string, OnnxAttributeValue>,
    output?: string,
  ): string {
    return this.opOutputs(opType, inputs, 1, attributes, output === undefined ? undefined : [output])[0]!;
  }

  /** Appends one node with `count` outputs (named for it unless given) and returns their names. */
  opOutputs(
    opType: string,
    inputs: readonly string[],
    count: number,
    attributes?: Record<string, OnnxAttributeValue>,
    outputs?: readonly string[],
  ): string[] {
    const pir = this.options.naming === 'pir';
    const lower = opType.toLowerCase();
    const name = pir ? `${opType}.${this.next(opType)}` : `${lower}_${this.next(lower)}`;
    const outs = outputs
      ? [...outputs]
      : Array.from({ length: count }, (_, i) => (pir ? `${opType}.${this.next(opType)}` : `${name}.tmp_${i}`));
    this.nodes.push({ opType, name, inputs, outputs: outs, attributes });
    return outs;
  }

  /** Renames a value everywhere it appears (the graph's last value becomes the declared output). */
  rename(from: string, to: string): void {
    const swap = (names: readonly string[]): string[] => names.map((n) => (n === from ? to : n));
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      this.nodes[i] = { ...n, inputs: swap(n.inputs), outputs: swap(n.outputs) };
    }
  }

  // ---- ops whose spelling depends on the opset (paddle2onnx's OnnxHelper does the same switches) ----

  /** Clip: bounds are attributes before opset 11, rank-0 inputs from 11. */
  clip(x: string, min: number, max: number, output = this.helperOutput('Clip')): string {
    if (this.opset < 11) return this.op('Clip', [x], { min: this.float(min), max: this.float(max) }, output);
    return this.op('Clip', [x, this.scalar(min), this.scalar(max)], undefined, output);
  }

  /** Squeeze: axes an attribute before opset 13, an int64 input from 13. */
  squeeze(x: string, axes: readonly number[], output = this.helperOutput('Squeeze')): string {
    return this.axesOp('Squeeze', 13, x, axes, {}, output);
  }

  /** Unsqueeze: axes an attribute before opset 13, an int64 input from 13. */
  unsqueeze(x: string, axes: readonly number[], output = this.helperOutput('Unsqueeze')): string {
    return this.axesOp('Unsqueeze', 13, x, axes, {}, output);
  }

  /** ReduceMean: axes an attribute before opset 18, an int64 input from 18. */
  reduceMean(x: string, axes: readonly number[], keepdims: boolean, output?: string): string {
    return this.axesOp('ReduceMean', 18, x, axes, { keepdims: this.int(keepdims ? 1 : 0) }, output);
  }

  /** Slice: starts / ends / axes attributes before opset 10, inputs (data, starts, ends, axes) from 10. */
  slice(
    x: string,
    starts: readonly number[],
    ends: readonly number[],
    axes: readonly number[],
    output = this.helperOutput('Slice'),
  ): string {
    if (this.opset < 10)
      return this.op('Slice', [x], { axes: this.ints(axes), starts: this.ints(starts), ends: this.ints(ends) }, output);
    // OnnxHelper::Slice makes the axes constant first, then starts and ends.
    const a = this.int64s(axes);
    const s = this.int64s(starts);
    const e = this.int64s(ends);
    return this.op('Slice', [x, s, e, a], undefined, output);
  }

  /** Reshape to a shape tensor; from opset 14 paddle2onnx also writes allowzero = 0 (the default). */
  reshape(x: string, shape: string, output = this.helperOutput('Reshape')): string {
    return this.op('Reshape', [x, shape], this.opset >= 14 ? { allowzero: this.int(0) } : undefined, output);
  }

  /** Dropout, an identity at inference, with its unused mask output: ratio an attribute before opset 12, an input from 12. */
  dropout(x: string, ratio: number): string {
    const [y] =
      this.opset < 12
        ? this.opOutputs('Dropout', [x], 2, { ratio: this.float(ratio) })
        : this.opOutputs('Dropout', [x, this.scalar(ratio)], 2);
    return y!;
  }

  /** TopK over the last axis: k an attribute before opset 10, an int64 [1] input from 10. Returns [values, indices]. */
  topK(x: string, k: number): [string, string] {
    const [values, indices] =
      this.opset < 10
        ? this.opOutputs('TopK', [x], 2, { k: this.int(k), axis: this.int(-1) })
        : this.opOutputs('TopK', [x, this.int64s([k])], 2, { axis: this.int(-1) });
    return [values!, indices!];
  }

  float(value: number): OnnxAttributeValue {
    return { type: 'float', value };
  }

  int(value: number): OnnxAttributeValue {
    return { type: 'int', value };
  }

  ints(value: readonly number[]): OnnxAttributeValue {
    return { type: 'ints', value };
  }

  /** PIR-era OnnxHelper names the outputs of the ops it spells `helper.slice.0`, ...; legacy names them after the node. */
  private helperOutput(opType: string): string | undefined {
    if (this.options.naming !== 'pir') return undefined;
    const key = `helper.${opType.toLowerCase()}`;
    return `${key}.${this.next(key)}`;
  }

  private axesOp(
    opType: string,
    axesInputFrom: number,
    x: string,
    axes: readonly number[],
    attributes: Record<string, OnnxAttributeValue>,
    output?: string,
  ): string {
    if (this.opset < axesInputFrom) return this.op(opType, [x], { axes: this.ints(axes), ...attributes }, output);
    return this.op(opType, [x, this.int64s(axes)], attributes, output);
  }

  /**
   * Legacy: a Constant node, except int64 ones before opset 9 (Constant-1 allows only float types), which become
   * initializers. PIR era: always an initializer, as in the real file.
   */
  private constant(dims: readonly number[], dataType: OnnxTensorDataType, values: readonly number[]): string {
    const pir = this.options.naming === 'pir';
    const name = pir ? `helper.constant.${this.next('helper.constant')}` : `constant_${this.next('constant')}`;
    const tensor: OnnxTensorSpec = { name, dims, dataType, values };
    if (pir || (dataType === DATA_TYPE.INT64 && this.opset < 9)) this.initializers.push(tensor);
    else this.constantNode(tensor);
    return name;
  }

  private constantNode(tensor: OnnxTensorSpec): string {
    const out = tensor.name;
    const name =
      this.options.naming === 'pir' ? `Constant.${this.next('Constant')}` : `Constant_${this.next('Constant')}`;
    this.nodes.push({
      opType: 'Constant',
      name,
      inputs: [],
      outputs: [out],
      attributes: { value: { type: 'tensor', value: tensor } },
    });
    return out;
  }

  private next(key: string): number {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    return n;
  }
}
