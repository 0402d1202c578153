/**
 * An ONNX model as plain data, and its protobuf encoding.
 *
 * The exporter builds an `OnnxModelSpec` first and encodes it last, so tests can edit the graph (insert an
 * unexpected op, cut a tensor short, change a data type) before encoding. The encoder therefore writes what
 * it is given without checking it: producing malformed files on purpose is part of its job (the product's
 * export checks the model before it builds the spec: onnx-export.ts).
 */
import { ProtoWriter } from '../convert/wire/protobuf.ts';
import { toFloat16Bits } from '../convert/wire/float16.ts';
import {
  ATTRIBUTE,
  ATTRIBUTE_TYPE,
  DATA_TYPE,
  DIMENSION,
  GRAPH,
  MODEL,
  NODE,
  OPSET_ID,
  SHAPE,
  TENSOR,
  TENSOR_TYPE,
  TYPE,
  VALUE_INFO,
} from '../convert/onnx/onnx-proto.ts';

export type OnnxTensorDataType =
  typeof DATA_TYPE.FLOAT | typeof DATA_TYPE.FLOAT16 | typeof DATA_TYPE.DOUBLE | typeof DATA_TYPE.INT64;

export interface OnnxTensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: OnnxTensorDataType;
  /** Row-major values; their count is written as given, even when it disagrees with `dims`. */
  readonly values: ArrayLike<number>;
  /** `raw` (raw_data, what paddle2onnx writes) or `typed` (float_data / int32_data / double_data / int64_data). */
  readonly storage?: 'raw' | 'typed';
}

export type OnnxAttributeValue =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'tensor'; readonly value: OnnxTensorSpec };

export interface OnnxNodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attributes?: Readonly<Record<string, OnnxAttributeValue>>;
}

/** A graph input or output with the given dims; a string dim is symbolic (dim_param). */
export interface OnnxValueInfoSpec {
  readonly name: string;
  readonly dims: readonly (number | string)[];
  /** TensorProto.DataType of the elements; default FLOAT. */
  readonly dataType?: number;
}

export interface OnnxModelSpec {
  readonly opset: number;
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graphName: string;
  readonly nodes: readonly OnnxNodeSpec[];
  readonly initializers: readonly OnnxTensorSpec[];
  readonly inputs: readonly OnnxValueInfoSpec[];
  readonly outputs: readonly OnnxValueInfoSpec[];
}

export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of spec.nodes) graph.message(GRAPH.node, encodeNode(n));
  graph.string(GRAPH.name, spec.graphName);
  for (const t of spec.initializers) graph.message(GRAPH.initializer, encodeTensor(t));
  for (const v of spec.inputs) graph.message(GRAPH.input, encodeValueInfo(v));
  for (const v of spec.outputs) graph.message(GRAPH.output, encodeValueInfo(v));

  const model = new ProtoWriter()
    .varint(MODEL.irVersion, spec.irVersion)
    .string(MODEL.producerName, spec.producerName)
    .string(MODEL.producerVersion, spec.producerVersion)
    .message(MODEL.graph, graph)
    .message(MODEL.opsetImport, new ProtoWriter().string(OPSET_ID.domain, '').varint(OPSET_ID.version, spec.opset));
  return model.finish();
}

function encodeNode(n: OnnxNodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(NODE.input, i);
  for (const o of n.outputs) w.string(NODE.output, o);
  if (n.name !== undefined) w.string(NODE.name, n.name);
  w.string(NODE.opType, n.opType);
  for (const [name, a] of Object.entries(n.attributes ?? {})) w.message(NODE.attribute, encodeAttribute(name, a));
  return w;
}

function encodeAttribute(name: string, a: OnnxAttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(ATTRIBUTE.name, name);
  switch (a.type) {
    case 'float':
      return w.float(ATTRIBUTE.f, a.value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.FLOAT);
    case 'int':
      return w.varint(ATTRIBUTE.i, a.value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.INT);
    case 'string':
      return w.string(ATTRIBUTE.s, a.value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.STRING);
    case 'floats':
      return w.packedFloats(ATTRIBUTE.floats, a.value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.FLOATS);
    case 'ints':
      return w.packedVarints(ATTRIBUTE.ints, a.value).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.INTS);
    case 'tensor':
      return w.message(ATTRIBUTE.t, encodeTensor(a.value)).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.TENSOR);
  }
}

const ELEMENT_BYTES: Record<OnnxTensorDataType, number> = {
  [DATA_TYPE.FLOAT]: 4,
  [DATA_TYPE.FLOAT16]: 2,
  [DATA_TYPE.DOUBLE]: 8,
  [DATA_TYPE.INT64]: 8,
};

export function encodeTensor(t: OnnxTensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  w.packedVarints(TENSOR.dims, t.dims);
  w.varint(TENSOR.dataType, t.dataType);
  w.string(TENSOR.name, t.name);
  if (t.storage === 'typed') return writeTypedData(w, t);
  const raw = new Uint8Array(t.values.length * ELEMENT_BYTES[t.dataType]);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < t.values.length; i++) {
    const v = t.values[i]!;
    switch (t.dataType) {
      case DATA_TYPE.FLOAT:
        view.setFloat32(i * 4, v, true);
        break;
      case DATA_TYPE.FLOAT16:
        view.setUint16(i * 2, toFloat16Bits(v), true);
        break;
      case DATA_TYPE.DOUBLE:
        view.setFloat64(i * 8, v, true);
        break;
      case DATA_TYPE.INT64:
        view.setBigInt64(i * 8, BigInt(Math.trunc(v)), true);
        break;
    }
  }
  return w.bytes(TENSOR.rawData, raw);
}

function writeTypedData(w: ProtoWriter, t: OnnxTensorSpec): ProtoWriter {
  const values = Array.from(t.values);
  switch (t.dataType) {
    case DATA_TYPE.FLOAT:
      return w.packedFloats(TENSOR.floatData, values);
    case DATA_TYPE.FLOAT16:
      // onnx.proto: float16 goes bit-wise into int32_data.
      return w.packedVarints(TENSOR.int32Data, values.map(toFloat16Bits));
    case DATA_TYPE.INT64:
      return w.packedVarints(
        TENSOR.int64Data,
        values.map((v) => BigInt(Math.trunc(v))),
      );
    case DATA_TYPE.DOUBLE: {
      const b = new Uint8Array(values.length * 8);
      const view = new DataView(b.buffer);
      values.forEach((v, i) => view.setFloat64(i * 8, v, true));
      return w.bytes(TENSOR.doubleData, b);
    }
  }
}

function encodeValueInfo(v: OnnxValueInfoSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim =
      typeof d === 'string'
        ? new ProtoWriter().string(DIMENSION.dimParam, d)
        : new ProtoWriter().varint(DIMENSION.dimValue, d);
    shape.message(SHAPE.dim, dim);
  }
  const tensorType = new ProtoWriter()
    .varint(TENSOR_TYPE.elemType, v.dataType ?? DATA_TYPE.FLOAT)
    .message(TENSOR_TYPE.shape, shape);
  return new ProtoWriter()
    .string(VALUE_INFO.name, v.name)
    .message(VALUE_INFO.type, new ProtoWriter().message(TYPE.tensorType, tensorType));
}
