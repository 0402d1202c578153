/**
 * Field numbers and enum values of Paddle's program format, from PaddlePaddle/Paddle
 * `paddle/fluid/framework/framework.proto` (proto2, package paddle.framework.proto; read at commit
 * 88e44017e4bf0faede62923663caaf3615fd506d, cross-checked with an older revision whose numbers agree).
 * Kept as plain constants because the importer reads the wire format with src/model/io/protobuf.ts
 * instead of generated classes.
 */

/** message ProgramDesc { repeated BlockDesc blocks = 1; reserved 2, 3; optional Version version = 4; optional OpVersionMap op_version_map = 5; } */
export const PROGRAM_DESC = { blocks: 1, opCompatibleMap: 3, version: 4, opVersionMap: 5 } as const;
/** Field 3 held OpCompatibleMap in Paddle 1.x/2.0 and is reserved now: both must still parse. */
export const PROGRAM_DESC_FIELDS: readonly number[] = [1, 3, 4, 5];

/** message Version { optional int64 version = 1; } */
export const VERSION = { version: 1 } as const;

/** message BlockDesc { idx = 1; parent_idx = 2; repeated VarDesc vars = 3; repeated OpDesc ops = 4; forward_block_idx = 5; } */
export const BLOCK_DESC = { idx: 1, parentIdx: 2, vars: 3, ops: 4, forwardBlockIdx: 5 } as const;

/** message VarDesc { name = 1; VarType type = 2; persistable = 3; need_check_feed = 4; is_parameter = 5; stop_gradient = 6; repeated Attr attrs = 7; } */
export const VAR_DESC = {
  name: 1,
  type: 2,
  persistable: 3,
  needCheckFeed: 4,
  isParameter: 5,
  stopGradient: 6,
} as const;

/** message VarType { required Type type = 1; TensorDesc selected_rows = 2; LoDTensorDesc lod_tensor = 3; LoDTensorArrayDesc tensor_array = 4; ... } */
export const VAR_TYPE = { type: 1, selectedRows: 2, lodTensor: 3, tensorArray: 4 } as const;
/** message VarType.TensorDesc { required Type data_type = 1; repeated int64 dims = 2; } (-1 = unknown) */
export const TENSOR_DESC = { dataType: 1, dims: 2 } as const;
/** message VarType.LoDTensorDesc { required TensorDesc tensor = 1; optional int32 lod_level = 2; } */
export const LOD_TENSOR_DESC = { tensor: 1, lodLevel: 2 } as const;

/** message OpDesc { repeated Var inputs = 1; repeated Var outputs = 2; required string type = 3; repeated Attr attrs = 4; is_target = 5; } */
export const OP_DESC = { inputs: 1, outputs: 2, type: 3, attrs: 4, isTarget: 5 } as const;
/** message OpDesc.Var { required string parameter = 1; repeated string arguments = 2; } */
export const OP_VAR = { parameter: 1, arguments: 2 } as const;
/** message OpDesc.Attr: which field carries the value depends on `type` (AttrType). Field 9 is unused. */
export const OP_ATTR = {
  name: 1,
  type: 2,
  i: 3,
  f: 4,
  s: 5,
  ints: 6,
  floats: 7,
  strings: 8,
  b: 10,
  bools: 11,
  blockIdx: 12,
  l: 13,
  blocksIdx: 14,
  longs: 15,
  float64s: 16,
  varName: 17,
  varsName: 18,
  float64: 19,
} as const;

/** enum AttrType. FLOAT64S..FLOAT64 (12-15) appeared in Paddle 2.4+. */
export const ATTR_TYPE = {
  INT: 0,
  FLOAT: 1,
  STRING: 2,
  INTS: 3,
  FLOATS: 4,
  STRINGS: 5,
  BOOLEAN: 6,
  BOOLEANS: 7,
  BLOCK: 8,
  LONG: 9,
  BLOCKS: 10,
  LONGS: 11,
  FLOAT64S: 12,
  VAR: 13,
  VARS: 14,
  FLOAT64: 15,
} as const;
export type AttrTypeCode = (typeof ATTR_TYPE)[keyof typeof ATTR_TYPE];

/**
 * enum VarType.Type: the element types (0-6, 19-24) and the variable kinds (7-18, 25-30) share one enum.
 * FETCH_VAR_LIST = 16 existed in old revisions and is gone now; nothing here depends on it.
 */
export const VAR_TYPE_CODE = {
  BOOL: 0,
  INT16: 1,
  INT32: 2,
  INT64: 3,
  FP16: 4,
  FP32: 5,
  FP64: 6,
  LOD_TENSOR: 7,
  SELECTED_ROWS: 8,
  FEED_MINIBATCH: 9,
  FETCH_LIST: 10,
  STEP_SCOPES: 11,
  LOD_RANK_TABLE: 12,
  LOD_TENSOR_ARRAY: 13,
  PLACE_LIST: 14,
  READER: 15,
  RAW: 17,
  TUPLE: 18,
  SIZE_T: 19,
  UINT8: 20,
  INT8: 21,
  BF16: 22,
  COMPLEX64: 23,
  COMPLEX128: 24,
  STRING: 25,
  STRINGS: 26,
  VOCAB: 27,
  FEED_LIST: 28,
  PSTRING: 29,
  SPARSE_COO: 30,
} as const;

const CODE_NAMES = new Map<number, string>(Object.entries(VAR_TYPE_CODE).map(([k, v]) => [v, k]));

/** `FP16 (4)`, or `type 99` for a code this table does not know: for error messages. */
export function varTypeName(code: number): string {
  const name = CODE_NAMES.get(code);
  return name === undefined ? `type ${code}` : `${name} (${code})`;
}

/**
 * Variable kinds the savers never write to `.pdiparams`: is_persistable() in python/paddle/static/io.py
 * (and paddle/framework/io_utils.py) drops FEED_MINIBATCH, FETCH_LIST and READER; save_vars and
 * _serialize_persistables also skip RAW.
 */
export const NOT_SAVED_VAR_TYPES: ReadonlySet<number> = new Set([
  VAR_TYPE_CODE.FEED_MINIBATCH,
  VAR_TYPE_CODE.FETCH_LIST,
  VAR_TYPE_CODE.READER,
  VAR_TYPE_CODE.RAW,
]);
