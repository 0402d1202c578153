/**
 * Accumulates an ONNX graph's nodes and tensors with paddle2onnx-like names (`conv2d_3.w_0`,
 * `batch_norm_3.w_1`, `hardsigmoid_7.tmp_0`). The names are realistic but meaningless to the importer,
 * which maps tensors by graph structure: tests therefore never depend on them.
 */
import { DATA_TYPE } from '../../src/model/convert/onnx/onnx-proto.ts';
import type { OnnxAttributeValue, OnnxNodeSpec, OnnxTensorSpec } from './onnx-encode.ts';

export interface TensorValues {
  readonly dims: readonly number[];
  readonly values: ArrayLike<number>;
}

export class OnnxGraphBuilder {
  readonly nodes: OnnxNodeSpec[] = [];
  readonly initializers: OnnxTensorSpec[] = [];
  private readonly opCounts = new Map<string, number>();
  private readonly layerCounts = new Map<string, number>();

  /** `initializer`: parameters are graph initializers; `constant`: each is the output of a Constant node. */
  constructor(private readonly weightsAs: 'initializer' | 'constant') {}

  /** A parameter of the current `kind` layer (`conv2d`, `batch_norm`, `linear`), named as Paddle names it. */
  param(kind: string, suffix: string, t: TensorValues): string {
    const name = `${kind}_${this.layerCounts.get(kind) ?? 0}.${suffix}`;
    const tensor: OnnxTensorSpec = { name, dims: t.dims, dataType: DATA_TYPE.FLOAT, values: t.values };
    if (this.weightsAs === 'initializer') this.initializers.push(tensor);
    else this.constantNode(tensor);
    return name;
  }

  /** Moves on to the next layer of `kind`, so its parameters get the next index. */
  nextLayer(kind: string): void {
    this.layerCounts.set(kind, (this.layerCounts.get(kind) ?? 0) + 1);
  }

  /**
   * A rank-0 float constant (an Add/Mul operand, a Clip bound). Always a Constant node, whatever `weightsAs`
   * says, because that is how paddle2onnx writes the scalars it invents.
   */
  scalar(value: number): string {
    return this.constantNode({ name: this.fresh('constant'), dims: [], dataType: DATA_TYPE.FLOAT, values: [value] });
  }

  /** A 1-D int64 constant (a Reshape target shape). */
  int64s(values: readonly number[]): string {
    return this.constantNode({ name: this.fresh('constant'), dims: [values.length], dataType: DATA_TYPE.INT64, values });
  }

  /** Appends one node and returns its (single) output's name. */
  op(opType: string, inputs: readonly string[], attributes?: Record<string, OnnxAttributeValue>, output?: string): string {
    const base = this.fresh(opType.toLowerCase());
    const out = output ?? `${base}.tmp_0`;
    this.nodes.push({ opType, name: base, inputs, outputs: [out], attributes });
    return out;
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

  private constantNode(tensor: OnnxTensorSpec): string {
    const out = tensor.name;
    this.nodes.push({ opType: 'Constant', name: this.fresh('Constant'), inputs: [], outputs: [out], attributes: { value: { type: 'tensor', value: tensor } } });
    return out;
  }

  private fresh(prefix: string): string {
    const n = this.opCounts.get(prefix) ?? 0;
    this.opCounts.set(prefix, n + 1);
    return `${prefix}_${n}`;
  }
}
