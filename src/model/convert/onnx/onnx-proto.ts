/**
 * ONNX protobuf field numbers and enums: the subset the importer reads and the exporter writes.
 *
 * Checked against onnx/onnx `onnx/onnx.proto` (proto2, "automatically generated from onnx.in.proto"). Field
 * numbers never change once published, so the IR version a file declares does not matter to the reader.
 * Kept as plain constants because protobuf.ts is schema-less: every reader names the field it wants.
 */

/** message ModelProto */
export const MODEL = {
  irVersion: 1,
  producerName: 2,
  producerVersion: 3,
  domain: 4,
  modelVersion: 5,
  docString: 6,
  graph: 7,
  opsetImport: 8,
  metadataProps: 14,
} as const;

/** message OperatorSetIdProto */
export const OPSET_ID = {
  domain: 1,
  version: 2,
} as const;

/** message GraphProto */
export const GRAPH = {
  node: 1,
  name: 2,
  initializer: 5,
  docString: 10,
  input: 11,
  output: 12,
  valueInfo: 13,
  sparseInitializer: 15,
} as const;

/** message NodeProto */
export const NODE = {
  input: 1,
  output: 2,
  name: 3,
  opType: 4,
  attribute: 5,
  docString: 6,
  domain: 7,
} as const;

/** message AttributeProto */
export const ATTRIBUTE = {
  name: 1,
  f: 2,
  i: 3,
  s: 4,
  t: 5,
  g: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  tensors: 10,
  graphs: 11,
  type: 20,
} as const;

/** enum AttributeProto.AttributeType */
export const ATTRIBUTE_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

/** message TensorProto */
export const TENSOR = {
  dims: 1,
  dataType: 2,
  segment: 3,
  floatData: 4,
  int32Data: 5,
  stringData: 6,
  int64Data: 7,
  name: 8,
  rawData: 9,
  doubleData: 10,
  uint64Data: 11,
  docString: 12,
  externalData: 13,
  dataLocation: 14,
} as const;

/** enum TensorProto.DataLocation: EXTERNAL means the bytes live in another file, which a browser import lacks. */
export const DATA_LOCATION_EXTERNAL = 1;

/** enum TensorProto.DataType (the values this project reads or writes). */
export const DATA_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

export const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED',
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  4: 'UINT16',
  5: 'INT16',
  6: 'INT32',
  7: 'INT64',
  8: 'STRING',
  9: 'BOOL',
  10: 'FLOAT16',
  11: 'DOUBLE',
  12: 'UINT32',
  13: 'UINT64',
  14: 'COMPLEX64',
  15: 'COMPLEX128',
  16: 'BFLOAT16',
};

/** message ValueInfoProto */
export const VALUE_INFO = {
  name: 1,
  type: 2,
  docString: 3,
} as const;

/** message TypeProto (oneof value: tensor_type = 1) and TypeProto.Tensor */
export const TYPE = {
  tensorType: 1,
  denotation: 6,
} as const;
export const TENSOR_TYPE = {
  elemType: 1,
  shape: 2,
} as const;

/** message TensorShapeProto and TensorShapeProto.Dimension (oneof dim_value = 1 | dim_param = 2) */
export const SHAPE = {
  dim: 1,
} as const;
export const DIMENSION = {
  dimValue: 1,
  dimParam: 2,
  denotation: 3,
} as const;

/** message StringStringEntryProto */
export const STRING_ENTRY = {
  key: 1,
  value: 2,
} as const;

/**
 * The IR version each supported opset first shipped with (onnx/onnx docs/Versioning.md: opsets 7-8 came with
 * IR 3, 9 with IR 4, 10 with IR 5, 11 with IR 6, 12-14 with IR 7, 15-18 with IR 8, 19-20 with IR 9, 21 with
 * IR 10). Writing the oldest matching IR keeps the files loadable by older runtimes; paddle2onnx's
 * ModelExporter::GetIRVersion uses the same table, and its range is opset 7 to 21.
 */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 11) return opset - 5;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}
