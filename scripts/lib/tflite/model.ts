/**
 * A TFLite file (schema version 3, file identifier "TFL3") as plain data: the main subgraph's tensors, with
 * constant tensors' bytes and quantisation, and its operators in execution order with their options decoded.
 * No tfjs here: graph.ts turns this into a runnable graph.
 *
 * Only the operators a quantised or float MobileNet uses are decoded; anything else is refused here, by name,
 * so a file the runner cannot execute fails when it is loaded rather than halfway through an image.
 * Field numbers are the declaration order in tensorflow/lite/schema/schema.fbs (a union takes two: its type
 * byte, then the table).
 */
import { FlatBuffer, type Table } from './flatbuffers.ts';
import { TfliteFormatError, TfliteUnsupportedError } from './errors.ts';

export type TensorTypeName =
  'FLOAT32' | 'FLOAT16' | 'INT32' | 'UINT8' | 'INT64' | 'STRING' | 'BOOL' | 'INT16' | 'COMPLEX64' | 'INT8';
const TENSOR_TYPES: readonly TensorTypeName[] = [
  'FLOAT32',
  'FLOAT16',
  'INT32',
  'UINT8',
  'INT64',
  'STRING',
  'BOOL',
  'INT16',
  'COMPLEX64',
  'INT8',
];

/** BuiltinOperator codes this runner executes, and the BuiltinOptions union member each expects (0: none). */
export const SUPPORTED_OPS = Object.freeze({
  ADD: { code: 0, options: 11 },
  AVERAGE_POOL_2D: { code: 1, options: 5 },
  CONV_2D: { code: 3, options: 1 },
  DEPTHWISE_CONV_2D: { code: 4, options: 2 },
  DEQUANTIZE: { code: 6, options: 0 },
  RESHAPE: { code: 22, options: 17 },
  SOFTMAX: { code: 25, options: 9 },
  MEAN: { code: 40, options: 27 },
  QUANTIZE: { code: 114, options: 0 },
} as const);
export type OpName = keyof typeof SUPPORTED_OPS;

/** Names of other common builtins, only to say which one a refused file uses. */
const OTHER_OP_NAMES: Readonly<Record<number, string>> = {
  2: 'CONCATENATION',
  5: 'DEPTH_TO_SPACE',
  9: 'FULLY_CONNECTED',
  14: 'LOGISTIC',
  17: 'MAX_POOL_2D',
  18: 'MUL',
  19: 'RELU',
  20: 'RELU_N1_TO_1',
  21: 'RELU6',
  23: 'RESIZE_BILINEAR',
  28: 'TANH',
  32: 'CUSTOM',
  34: 'PAD',
  39: 'TRANSPOSE',
  41: 'SUB',
  43: 'SQUEEZE',
  45: 'STRIDED_SLICE',
  49: 'SPLIT',
  53: 'CAST',
  54: 'PRELU',
  60: 'PADV2',
  74: 'SUM',
  83: 'PACK',
  97: 'RESIZE_NEAREST_NEIGHBOR',
  98: 'LEAKY_RELU',
  117: 'HARD_SWISH',
};

export type Activation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6';
const ACTIVATIONS: readonly (Activation | 'TANH' | 'SIGN_BIT')[] = [
  'NONE',
  'RELU',
  'RELU_N1_TO_1',
  'RELU6',
  'TANH',
  'SIGN_BIT',
];
export type Padding = 'SAME' | 'VALID';

export interface TfliteQuantization {
  readonly scale: readonly number[];
  readonly zeroPoint: readonly number[];
  /** The dimension that per-channel scales run along (quantized_dimension). */
  readonly axis: number;
}

export interface TfliteTensor {
  readonly index: number;
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: TensorTypeName;
  /** The constant's raw little-endian bytes (a view into the file), or undefined for an activation. */
  readonly data?: Uint8Array;
  readonly quantization?: TfliteQuantization;
}

interface OpBase {
  readonly index: number;
  /** Tensor indices; -1 marks an optional input left out (a convolution without bias). */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}
interface Window2D {
  readonly padding: Padding;
  readonly strideH: number;
  readonly strideW: number;
  readonly activation: Activation;
}
export type TfliteOp = OpBase &
  (
    | ({ readonly op: 'CONV_2D' } & Window2D)
    | ({ readonly op: 'DEPTHWISE_CONV_2D'; readonly depthMultiplier: number } & Window2D)
    | ({ readonly op: 'AVERAGE_POOL_2D'; readonly filterH: number; readonly filterW: number } & Window2D)
    | { readonly op: 'ADD'; readonly activation: Activation }
    | { readonly op: 'MEAN'; readonly keepDims: boolean }
    | { readonly op: 'RESHAPE'; readonly newShape?: readonly number[] }
    | { readonly op: 'SOFTMAX'; readonly beta: number }
    | { readonly op: 'QUANTIZE' | 'DEQUANTIZE' }
  );

export interface TfliteModel {
  readonly source: string;
  readonly version: number;
  readonly description?: string;
  readonly tensors: readonly TfliteTensor[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly ops: readonly TfliteOp[];
}

/** Reads a .tflite file's first subgraph. `source` names the file in error messages. */
export function readTfliteModel(bytes: Uint8Array, source = 'model.tflite'): TfliteModel {
  const fb = new FlatBuffer(bytes, source);
  const id = fb.identifier();
  if (id !== 'TFL3') {
    throw new TfliteFormatError(
      `${source}: file identifier ${JSON.stringify(id)}, expected "TFL3" (is it a TFLite model?)`,
    );
  }
  const root = fb.root();
  const version = root.uint32(0);
  if (version !== 3)
    throw new TfliteUnsupportedError(`${source}: TFLite schema version ${version}; this reader knows version 3`);
  const codes = root.tables(1).map((c) => ({
    // Codes above 127 live in builtin_code (field 3); older files only set the byte in field 0.
    code: Math.max(c.int8(0), c.int32(3)),
    custom: c.string(1),
  }));
  const subgraphs = root.tables(2);
  if (subgraphs.length === 0) throw new TfliteFormatError(`${source}: the model has no subgraph`);
  if (subgraphs.length > 1) {
    // Control flow (WHILE, IF) lives in further subgraphs; a feed-forward CNN has one.
    throw new TfliteUnsupportedError(
      `${source}: ${subgraphs.length} subgraphs; this runner executes single-subgraph models only`,
    );
  }
  const buffers = root.tables(4);
  const sg = subgraphs[0]!;
  const tensors = sg.tables(0).map((t, index) => readTensor(t, index, buffers, source));
  const ops = sg.tables(3).map((o, index) => readOp(o, index, codes, tensors.length, source));
  const description = root.string(3);
  return {
    source,
    version,
    ...(description !== undefined ? { description } : {}),
    tensors,
    inputs: sg.int32s(1),
    outputs: sg.int32s(2),
    ops,
  };
}

function readTensor(t: Table, index: number, buffers: readonly Table[], source: string): TfliteTensor {
  const name = t.string(3) ?? `tensor ${index}`;
  const typeCode = t.int8(1);
  const type = TENSOR_TYPES[typeCode];
  if (!type) throw new TfliteFormatError(`${source}: tensor "${name}" has unknown type ${typeCode}`);
  const shape = t.int32s(0);
  const bufferIndex = t.uint32(2);
  const buffer = buffers[bufferIndex];
  if (bufferIndex !== 0 && !buffer)
    throw new TfliteFormatError(`${source}: tensor "${name}" refers to buffer ${bufferIndex} of ${buffers.length}`);
  let data = buffer?.bytes(0);
  if (buffer && !data?.length && buffer.int64(1) > 1) {
    // Schema >= 2.14 stores buffers of models over 2 GB after the flatbuffer, at buffer.offset.
    throw new TfliteUnsupportedError(
      `${source}: tensor "${name}" keeps its data outside the flatbuffer (a model over 2 GB); not supported`,
    );
  }
  if (data?.length === 0) data = undefined;
  if (data) {
    const expected = shape.reduce((a, b) => a * b, 1) * (BYTES_PER_ELEMENT[type] ?? 0);
    if (data.length !== expected) {
      throw new TfliteFormatError(
        `${source}: constant "${name}" [${shape.join(', ')}] ${type} holds ${data.length} bytes, expected ${expected}`,
      );
    }
  }
  const quantization = readQuantization(t.table(4));
  return { index, name, shape, type, ...(data ? { data } : {}), ...(quantization ? { quantization } : {}) };
}

const BYTES_PER_ELEMENT: Partial<Record<TensorTypeName, number>> = {
  FLOAT32: 4,
  FLOAT16: 2,
  INT32: 4,
  UINT8: 1,
  INT64: 8,
  BOOL: 1,
  INT16: 2,
  INT8: 1,
};

function readQuantization(q: Table | undefined): TfliteQuantization | undefined {
  if (!q) return undefined;
  const scale = q.float32s(2);
  if (scale.length === 0) return undefined;
  const zp = q.int64s(3);
  return { scale, zeroPoint: zp.length ? zp : scale.map(() => 0), axis: q.int32(6) };
}

function opName(code: number, custom: string | undefined): string {
  if (code === 32 && custom) return `CUSTOM "${custom}"`;
  return (
    (Object.keys(SUPPORTED_OPS) as OpName[]).find((k) => SUPPORTED_OPS[k].code === code) ??
    OTHER_OP_NAMES[code] ??
    `builtin operator ${code}`
  );
}

function readOp(
  o: Table,
  index: number,
  codes: readonly { code: number; custom?: string | undefined }[],
  tensorCount: number,
  source: string,
): TfliteOp {
  const opcode = codes[o.uint32(0)];
  if (!opcode)
    throw new TfliteFormatError(
      `${source}: operator ${index} refers to operator code ${o.uint32(0)} of ${codes.length}`,
    );
  const name = opName(opcode.code, opcode.custom);
  const op = (Object.keys(SUPPORTED_OPS) as OpName[]).find((k) => SUPPORTED_OPS[k].code === opcode.code);
  if (!op) {
    throw new TfliteUnsupportedError(
      `${source}: operator ${index} is ${name}, which this runner does not execute (it runs ${Object.keys(SUPPORTED_OPS).join(', ')})`,
    );
  }
  const inputs = o.int32s(1);
  const outputs = o.int32s(2);
  for (const t of [...inputs, ...outputs]) {
    if (t < -1 || t >= tensorCount)
      throw new TfliteFormatError(`${source}: operator ${index} (${op}) refers to tensor ${t} of ${tensorCount}`);
  }
  if (outputs.length !== 1 || outputs[0]! < 0)
    throw new TfliteUnsupportedError(`${source}: operator ${index} (${op}) has ${outputs.length} outputs; expected 1`);
  const optionsType = o.uint8(3);
  const expectedType = SUPPORTED_OPS[op].options;
  const opt = o.table(4);
  if (opt && optionsType !== expectedType) {
    throw new TfliteFormatError(
      `${source}: operator ${index} (${op}) carries options of union type ${optionsType}, expected ${expectedType}`,
    );
  }
  const base = { index, inputs, outputs };
  const where = `${source}: operator ${index} (${op})`;
  const activation = (field: number): Activation => readActivation(opt, field, where);
  // A stride of 0 (absent: the schema's default) is meaningless; converters always write it. Read it as 1.
  const stride = (field: number) => Math.max(1, opt?.int32(field) ?? 1);
  switch (op) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const dw = op === 'DEPTHWISE_CONV_2D';
      const dilation = [opt?.int32(dw ? 5 : 4, 1) ?? 1, opt?.int32(dw ? 6 : 5, 1) ?? 1];
      if (dilation[0] !== 1 || dilation[1] !== 1)
        throw new TfliteUnsupportedError(`${where}: dilation ${dilation.join(' x ')}; only 1 is supported`);
      const window = {
        padding: readPadding(opt, where),
        strideW: stride(1),
        strideH: stride(2),
        activation: activation(dw ? 4 : 3),
      };
      // depth_multiplier is checked against the filter's shape in graph.ts; old converters wrote 0 here.
      return dw ? { ...base, op, ...window, depthMultiplier: opt?.int32(3) ?? 0 } : { ...base, op, ...window };
    }
    case 'AVERAGE_POOL_2D':
      return {
        ...base,
        op,
        padding: readPadding(opt, where),
        strideW: stride(1),
        strideH: stride(2),
        filterW: opt?.int32(3) ?? 0,
        filterH: opt?.int32(4) ?? 0,
        activation: activation(5),
      };
    case 'ADD':
      return { ...base, op, activation: activation(0) };
    case 'MEAN':
      return { ...base, op, keepDims: opt?.bool(0) ?? false };
    case 'RESHAPE': {
      const newShape = opt?.int32s(0);
      return newShape?.length ? { ...base, op, newShape } : { ...base, op };
    }
    case 'SOFTMAX':
      return { ...base, op, beta: opt?.float32(0) ?? 0 };
    case 'QUANTIZE':
    case 'DEQUANTIZE':
      return { ...base, op };
  }
}

function readPadding(opt: Table | undefined, where: string): Padding {
  const p = opt?.int8(0) ?? 0;
  if (p !== 0 && p !== 1) throw new TfliteFormatError(`${where}: padding ${p}, expected 0 (SAME) or 1 (VALID)`);
  return p === 0 ? 'SAME' : 'VALID';
}

function readActivation(opt: Table | undefined, field: number, where: string): Activation {
  const code = opt?.int8(field) ?? 0;
  const name = ACTIVATIONS[code];
  if (name === 'NONE' || name === 'RELU' || name === 'RELU_N1_TO_1' || name === 'RELU6') return name;
  throw new TfliteUnsupportedError(
    `${where}: fused activation ${name ?? code}; supported: NONE, RELU, RELU_N1_TO_1, RELU6`,
  );
}

/** A tensor by name (exact), for picking an intermediate output such as "MobilenetV2/Logits/AvgPool". */
export function tensorByName(model: TfliteModel, name: string): TfliteTensor {
  const t = model.tensors.find((x) => x.name === name);
  if (!t) throw new TfliteFormatError(`${model.source}: no tensor named "${name}"`);
  return t;
}

/**
 * A constant's values as float32: quantised integers become scale x (q - zero point), per tensor or per
 * channel along the quantised dimension (computed in float64, rounded once); FLOAT32 and integer constants
 * without quantisation are taken as they are.
 */
export function constantValues(model: TfliteModel, tensor: TfliteTensor): Float32Array {
  const { data, type, shape, quantization: q } = tensor;
  if (!data) throw new TfliteFormatError(`${model.source}: tensor "${tensor.name}" is not a constant`);
  const raw = rawValues(data, type, `${model.source}: constant "${tensor.name}"`);
  const out = new Float32Array(raw.length);
  if (!q || type === 'FLOAT32') {
    for (let i = 0; i < raw.length; i++) out[i] = raw[i]!;
    return out;
  }
  if (q.scale.length === 1) {
    const s = q.scale[0]!;
    const zp = q.zeroPoint[0]!;
    for (let i = 0; i < raw.length; i++) out[i] = (raw[i]! - zp) * s;
    return out;
  }
  const axis = q.axis;
  if (shape[axis] !== q.scale.length) {
    throw new TfliteFormatError(
      `${model.source}: constant "${tensor.name}" [${shape.join(', ')}] has ${q.scale.length} scales along dimension ${axis}`,
    );
  }
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < raw.length; i++) {
    const c = Math.floor(i / inner) % q.scale.length;
    out[i] = (raw[i]! - q.zeroPoint[c]!) * q.scale[c]!;
  }
  return out;
}

/** A constant's integer values (shape tensors, reduction axes), unquantised. */
export function constantInts(model: TfliteModel, tensor: TfliteTensor): number[] {
  if (!tensor.data) throw new TfliteFormatError(`${model.source}: tensor "${tensor.name}" is not a constant`);
  return Array.from(rawValues(tensor.data, tensor.type, `${model.source}: constant "${tensor.name}"`));
}

/** Copies, so the values are aligned whatever the file's alignment; little-endian as the schema says. */
function rawValues(data: Uint8Array, type: TensorTypeName, what: string): ArrayLike<number> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (type) {
    case 'UINT8':
      return data;
    case 'INT8':
      return new Int8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'INT32':
      return Int32Array.from({ length: data.length / 4 }, (_, i) => view.getInt32(4 * i, true));
    case 'FLOAT32':
      return Float32Array.from({ length: data.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
    case 'INT64':
      return Float64Array.from({ length: data.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
    default:
      throw new TfliteUnsupportedError(
        `${what} is ${type}; constants of type UINT8, INT8, INT32, INT64 and FLOAT32 are supported`,
      );
  }
}
