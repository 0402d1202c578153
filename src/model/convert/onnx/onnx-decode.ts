/**
 * Reads an ONNX ModelProto into plain data: the nodes in file order, every constant tensor (initializers and
 * Constant nodes) decoded to numbers, the graph's one data input and its outputs.
 *
 * Every tensor is decoded and length-checked up front, so a damaged file fails here, naming the tensor,
 * rather than later as a wrong number in the model.
 */
import { ImportError } from '../../../core/errors.ts';
import { ProtoReader } from '../wire/protobuf.ts';
import { fromFloat16Bits } from '../wire/float16.ts';
import {
  ATTRIBUTE,
  DATA_LOCATION_EXTERNAL,
  DATA_TYPE,
  DATA_TYPE_NAMES,
  GRAPH,
  MODEL,
  NODE,
  OPSET_ID,
  TENSOR,
  VALUE_INFO,
  TYPE,
  TENSOR_TYPE,
  SHAPE,
  DIMENSION,
} from './onnx-proto.ts';

export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  /** Float types as float32 (the precision the model runs at); integer types exactly, as float64. */
  readonly data: Float32Array | Float64Array;
}

export interface OnnxAttribute {
  readonly f?: number;
  readonly i?: number;
  readonly s?: string;
  readonly floats?: readonly number[];
  readonly ints?: readonly number[];
  readonly t?: OnnxTensor;
}

export interface OnnxNode {
  /** Position in the file, for messages and ordering. */
  readonly index: number;
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

export interface OnnxGraph {
  readonly opset: number;
  readonly producer: string;
  /** Every node except Constant nodes, whose outputs are in `constants`. */
  readonly nodes: readonly OnnxNode[];
  readonly constants: ReadonlyMap<string, OnnxTensor>;
  /** The graph input that is not an initializer: the image. */
  readonly input: string;
  /** The image input's declared dims (NCHW); undefined where symbolic ("N", "H") or not declared. */
  readonly inputDims: readonly (number | undefined)[];
  readonly outputs: readonly string[];
}

/** The largest tensor we accept (elements): far above PP-LCNet x2.5's largest (1280 x 1280), far below overflow. */
const MAX_ELEMENTS = 1 << 28;

export function decodeOnnxModel(bytes: Uint8Array): OnnxGraph {
  if (bytes.byteLength === 0) throw new ImportError('Not an ONNX model: the file is empty.');
  let model: ProtoReader;
  let graph: ProtoReader | undefined;
  try {
    model = new ProtoReader(bytes, 'ONNX ModelProto');
    graph = model.message(MODEL.graph, 'ONNX GraphProto');
  } catch (e) {
    if (!(e instanceof ImportError)) throw e;
    throw new ImportError(`Not an ONNX model, or a truncated one (${bytes.byteLength} bytes): ${e.message}.`);
  }
  if (!graph) {
    throw new ImportError('Not an ONNX model: the file has no graph (ModelProto field 7 is missing).');
  }
  const opset = readOpset(model);
  const producer = [model.string(MODEL.producerName), model.string(MODEL.producerVersion)].filter(Boolean).join(' ');

  const constants = new Map<string, OnnxTensor>();
  graph.messages(GRAPH.initializer, 'ONNX initializer').forEach((t, i) => {
    const tensor = decodeTensor(t, `initializer #${i}`);
    constants.set(tensor.name, tensor);
  });

  const nodes: OnnxNode[] = [];
  graph.messages(GRAPH.node, 'ONNX NodeProto').forEach((n, index) => {
    const node = decodeNode(n, index);
    if (node.opType === 'Constant' && node.domain === '') {
      const out = node.outputs[0];
      if (out === undefined) throw new ImportError(`Constant node "${node.name}" (#${index}) has no output.`);
      constants.set(out, constantValue(node, out));
    } else {
      nodes.push(node);
    }
  });

  const inputInfos = graph.messages(GRAPH.input, 'ONNX graph input');
  const inputs = inputInfos.map((v) => v.string(VALUE_INFO.name) ?? '');
  // Before IR 4 initializers were also listed as inputs: the image is the input no initializer names.
  const dataInputs = inputs.filter((name) => !constants.has(name));
  if (dataInputs.length !== 1) {
    throw new ImportError(
      `Expected exactly one graph input (the image, e.g. "x" [N,3,224,224]), found ${dataInputs.length}: ${JSON.stringify(dataInputs)}.`,
    );
  }
  const outputs = graph.messages(GRAPH.output, 'ONNX graph output').map((v) => v.string(VALUE_INFO.name) ?? '');
  if (outputs.length === 0) throw new ImportError('The ONNX graph declares no output.');
  const inputInfo = inputInfos[inputs.indexOf(dataInputs[0]!)]!;
  return { opset, producer, nodes, constants, input: dataInputs[0]!, inputDims: declaredDims(inputInfo), outputs };
}

/** ValueInfoProto -> TypeProto.tensor_type.shape.dim[].dim_value (undefined for dim_param or nothing). */
function declaredDims(info: ProtoReader): (number | undefined)[] {
  const shape = info
    .message(VALUE_INFO.type, 'ONNX input type')
    ?.message(TYPE.tensorType, 'ONNX tensor type')
    ?.message(TENSOR_TYPE.shape, 'ONNX input shape');
  if (!shape) return [];
  return shape.messages(SHAPE.dim, 'ONNX input dim').map((d) => {
    const v = d.int(DIMENSION.dimValue);
    return v !== undefined && v > 0 ? v : undefined;
  });
}

function readOpset(model: ProtoReader): number {
  for (const o of model.messages(MODEL.opsetImport, 'ONNX opset_import')) {
    const domain = o.string(OPSET_ID.domain) ?? '';
    if (domain === '' || domain === 'ai.onnx') {
      const v = o.int(OPSET_ID.version);
      if (v !== undefined) return v;
    }
  }
  throw new ImportError(
    'The ONNX model imports no version of the default operator set (opset_import for domain "" is missing).',
  );
}

function decodeNode(n: ProtoReader, index: number): OnnxNode {
  const opType = n.string(NODE.opType) ?? '';
  const name = n.string(NODE.name) ?? `${opType}#${index}`;
  const attributes = new Map<string, OnnxAttribute>();
  for (const a of n.messages(NODE.attribute, `attribute of node "${name}"`)) {
    const attrName = a.string(ATTRIBUTE.name) ?? '';
    const t = a.message(ATTRIBUTE.t, `tensor attribute "${attrName}" of node "${name}"`);
    attributes.set(attrName, {
      f: a.float(ATTRIBUTE.f),
      i: a.int(ATTRIBUTE.i),
      s: a.string(ATTRIBUTE.s),
      floats: a.has(ATTRIBUTE.floats) ? a.floats(ATTRIBUTE.floats) : undefined,
      ints: a.has(ATTRIBUTE.ints) ? a.ints(ATTRIBUTE.ints) : undefined,
      t: t ? decodeTensor(t, `attribute "${attrName}" of node "${name}"`) : undefined,
    });
  }
  return {
    index,
    opType,
    domain: n.string(NODE.domain) ?? '',
    name,
    inputs: n.strings(NODE.input),
    outputs: n.strings(NODE.output),
    attributes,
  };
}

/** Constant's value, in any of the forms opsets 9-17 allow. */
function constantValue(node: OnnxNode, out: string): OnnxTensor {
  const a = node.attributes;
  const t = a.get('value')?.t;
  if (t) return { ...t, name: out };
  const f = a.get('value_float')?.f;
  if (f !== undefined) return { name: out, dims: [], dataType: DATA_TYPE.FLOAT, data: Float32Array.of(f) };
  const fs = a.get('value_floats')?.floats;
  if (fs) return { name: out, dims: [fs.length], dataType: DATA_TYPE.FLOAT, data: Float32Array.from(fs) };
  const i = a.get('value_int')?.i;
  if (i !== undefined) return { name: out, dims: [], dataType: DATA_TYPE.INT64, data: Float64Array.of(i) };
  const is = a.get('value_ints')?.ints;
  if (is) return { name: out, dims: [is.length], dataType: DATA_TYPE.INT64, data: Float64Array.from(is) };
  throw new ImportError(
    `Constant node "${node.name}" has no value this importer reads (value, value_float(s), value_int(s)); found ${JSON.stringify([...a.keys()])}.`,
  );
}

const FLOAT_SIZES: Readonly<Record<number, number>> = {
  [DATA_TYPE.FLOAT]: 4,
  [DATA_TYPE.FLOAT16]: 2,
  [DATA_TYPE.DOUBLE]: 8,
  [DATA_TYPE.INT32]: 4,
  [DATA_TYPE.INT64]: 8,
};

export function decodeTensor(t: ProtoReader, where: string): OnnxTensor {
  const name = t.string(TENSOR.name) ?? '';
  const label = `Tensor "${name}" (${where})`;
  const dims = t.ints(TENSOR.dims);
  const dataType = t.int(TENSOR.dataType) ?? DATA_TYPE.UNDEFINED;
  const typeName = DATA_TYPE_NAMES[dataType] ?? `data type ${dataType}`;
  let count = 1;
  for (const d of dims) {
    if (d < 0) throw new ImportError(`${label} has a negative dimension: dims ${JSON.stringify(dims)}.`);
    count *= d;
    if (count > MAX_ELEMENTS) throw new ImportError(`${label} is too large: dims ${JSON.stringify(dims)}.`);
  }
  if (t.int(TENSOR.dataLocation) === DATA_LOCATION_EXTERNAL || t.has(TENSOR.externalData)) {
    throw new ImportError(
      `${label} keeps its data in an external file; re-save the model with all tensors inside the .onnx file.`,
    );
  }
  if (t.has(TENSOR.segment))
    throw new ImportError(`${label} is a segment of a chunked tensor, which is not supported.`);
  const size = FLOAT_SIZES[dataType];
  if (size === undefined) {
    throw new ImportError(`${label} has type ${typeName}; expected FLOAT, FLOAT16, DOUBLE, INT32 or INT64.`);
  }
  const shapeText = `dims ${JSON.stringify(dims)} (${count} x ${typeName})`;
  const raw = t.bytes(TENSOR.rawData);
  if (raw !== undefined) {
    if (raw.byteLength !== count * size) {
      throw new ImportError(`${label}: raw_data has ${raw.byteLength} bytes, but ${shapeText} needs ${count * size}.`);
    }
    return { name, dims, dataType, data: decodeRaw(raw, dataType, count) };
  }
  const typed = typedValues(t, dataType);
  if (typed.length !== count) {
    throw new ImportError(`${label}: holds ${typed.length} values (no raw_data), but ${shapeText} needs ${count}.`);
  }
  const isFloat = dataType === DATA_TYPE.FLOAT || dataType === DATA_TYPE.FLOAT16 || dataType === DATA_TYPE.DOUBLE;
  return { name, dims, dataType, data: isFloat ? Float32Array.from(typed) : Float64Array.from(typed) };
}

function decodeRaw(raw: Uint8Array, dataType: number, count: number): Float32Array | Float64Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dataType) {
    case DATA_TYPE.FLOAT: {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case DATA_TYPE.FLOAT16: {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = fromFloat16Bits(view.getUint16(i * 2, true));
      return out;
    }
    case DATA_TYPE.DOUBLE: {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case DATA_TYPE.INT32: {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    default: {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return out;
    }
  }
}

/** The type-specific repeated field onnx.proto assigns to each data type. */
function typedValues(t: ProtoReader, dataType: number): number[] {
  switch (dataType) {
    case DATA_TYPE.FLOAT:
      return t.floats(TENSOR.floatData);
    case DATA_TYPE.FLOAT16:
      return t.ints(TENSOR.int32Data).map((bits) => fromFloat16Bits(bits & 0xffff));
    case DATA_TYPE.INT32:
      return t.ints(TENSOR.int32Data);
    case DATA_TYPE.INT64:
      return t.ints(TENSOR.int64Data);
    default:
      return readDoubles(t);
  }
}

function readDoubles(t: ProtoReader): number[] {
  const out: number[] = [];
  for (const f of t.all(TENSOR.doubleData)) {
    const b = f.bytes ?? new Uint8Array();
    if (b.byteLength % 8 !== 0)
      throw new ImportError(`${t.what}: double_data of ${b.byteLength} bytes is not a whole number of doubles.`);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < b.byteLength; i += 8) out.push(view.getFloat64(i, true));
  }
  return out;
}
