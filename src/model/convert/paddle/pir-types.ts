/**
 * The attribute and type JSON of Paddle 3's PIR program files (`inference.json`), decoded into the
 * ProgramDesc attribute types of ./paddle-proto.ts, so a PIR op reads like an OpDesc.
 *
 * Format, from PaddlePaddle/Paddle paddle/fluid/pir/serialize_deserialize/include/serialize_utils.h
 * (writer) and deserialize_utils.h (reader): an attribute or a type is `{"#": "<dialect id>.<name>"}`,
 * plus `"D"` (its data) when it has any. Dialect ids are DialectIdMap's (src/schema.cc): 0 builtin,
 * 1 pd_op, 2 cf, 3 custom_op. The names are each class's name() (paddle/pir/include/core/builtin_attribute.h,
 * builtin_type.h, paddle/fluid/pir/dialect/operator/ir/op_attribute.h):
 *   0.a_bool 0.a_i32 0.a_i64 0.a_index 0.a_f32 0.a_f64 0.a_str 0.a_tensorname 0.a_array (D: [attr...])
 *   1.a_intarray (D: [int...]) 1.a_dtype (D: "float32") 1.a_place (D: [type, device, ""]) 1.a_layout
 *   1.a_scalar (D: [dtype, value])
 *   0.t_f32 0.t_f16 0.t_bf16 0.t_f64 0.t_i8 0.t_ui8 0.t_i16 0.t_i32 0.t_i64 0.t_index 0.t_bool 0.t_c64 0.t_c128
 *   0.t_dtensor (D: [dtype, dims, layout, lod, offset]) 0.t_vec (D: [type...]); {"#": "NULL"} is a null one.
 * A float that is NaN or infinite has `"VD": "NaN" | "INF" | "-INF"` instead of `"D"`.
 */
import { ImportError } from '../../../core/errors.ts';
import { ATTR_TYPE, VAR_TYPE_CODE, type AttrTypeCode } from './paddle-proto.ts';
import type { PaddleAttr, PaddleAttrValue } from './paddle-program.ts';

/** DialectIdMap::DialectIdMap() in paddle/fluid/pir/serialize_deserialize/src/schema.cc. */
export const DIALECT_IDS: Readonly<Record<string, string>> = Object.freeze({
  '0': 'builtin',
  '1': 'pd_op',
  '2': 'cf',
  '3': 'custom_op',
});

/** Element type names (builtin_type.h) -> VarType codes. */
const ELEMENT_TYPES: Readonly<Record<string, number>> = {
  t_bool: VAR_TYPE_CODE.BOOL,
  t_i16: VAR_TYPE_CODE.INT16,
  t_i32: VAR_TYPE_CODE.INT32,
  t_i64: VAR_TYPE_CODE.INT64,
  t_index: VAR_TYPE_CODE.INT64,
  t_f16: VAR_TYPE_CODE.FP16,
  t_f32: VAR_TYPE_CODE.FP32,
  t_f64: VAR_TYPE_CODE.FP64,
  t_ui8: VAR_TYPE_CODE.UINT8,
  t_i8: VAR_TYPE_CODE.INT8,
  t_bf16: VAR_TYPE_CODE.BF16,
  t_c64: VAR_TYPE_CODE.COMPLEX64,
  t_c128: VAR_TYPE_CODE.COMPLEX128,
};
export const ELEMENT_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ELEMENT_TYPES)
    .filter(([k]) => k !== 't_index')
    .map(([k, v]) => [v, k]),
);

/** phi::DataTypeToString names (paddle/phi/common/data_type.h) -> VarType codes, for `1.a_dtype`. */
const DTYPES: Readonly<Record<string, number>> = {
  bool: VAR_TYPE_CODE.BOOL,
  int8: VAR_TYPE_CODE.INT8,
  uint8: VAR_TYPE_CODE.UINT8,
  int16: VAR_TYPE_CODE.INT16,
  int32: VAR_TYPE_CODE.INT32,
  int64: VAR_TYPE_CODE.INT64,
  float16: VAR_TYPE_CODE.FP16,
  bfloat16: VAR_TYPE_CODE.BF16,
  float32: VAR_TYPE_CODE.FP32,
  float64: VAR_TYPE_CODE.FP64,
  complex64: VAR_TYPE_CODE.COMPLEX64,
  complex128: VAR_TYPE_CODE.COMPLEX128,
};
export const DTYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(DTYPES).map(([k, v]) => [v, k]));

/** What a value's type says: element type and dims for a dense tensor, nothing for other types. */
export interface PirType {
  readonly dataType?: number;
  readonly dims?: readonly number[];
}

export type Json = unknown;
const isObject = (x: Json): x is Record<string, Json> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: Json): x is number => typeof x === 'number' && Number.isInteger(x);

/** `0.a_i32` -> ['0', 'a_i32']; the id must be a string with a dot. */
export function splitId(json: Json, where: string): [dialect: string, name: string] {
  const id = isObject(json) ? json['#'] : undefined;
  if (typeof id !== 'string')
    throw new ImportError(`${where}: expected an object with a "#" string, found ${describe(json)}`);
  const dot = id.indexOf('.');
  return dot < 0 ? ['', id] : [id.slice(0, dot), id.slice(dot + 1)];
}

export function describe(x: Json): string {
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (x === null) return 'null';
  if (x === undefined) return 'missing';
  if (typeof x === 'object') return 'an object';
  const s = JSON.stringify(x) ?? String(x);
  return `${typeof x} ${s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

export function decodeType(json: Json, where: string, depth = 0): PirType {
  const [dialect, name] = splitId(json, where);
  if (dialect === '' && name === 'NULL') return {};
  const data = (json as Record<string, Json>).D;
  if (dialect === '0' && name in ELEMENT_TYPES) return { dataType: ELEMENT_TYPES[name] };
  if (dialect === '0' && name === 't_dtensor') {
    if (!Array.isArray(data) || data.length < 2)
      throw new ImportError(`${where}: 0.t_dtensor data is ${describe(data)}, expected [dtype, dims, ...]`);
    if (depth > 4) throw new ImportError(`${where}: types nested too deeply`);
    const element = decodeType(data[0], `${where} element type`, depth + 1);
    const dims = data[1];
    if (!Array.isArray(dims) || !dims.every(isInt))
      throw new ImportError(`${where}: 0.t_dtensor dims are ${describe(dims)}, expected integers`);
    return { dataType: element.dataType, dims: dims as number[] };
  }
  return {}; // vectors, tensor arrays, selected rows, dist tensors: no single element type and shape
}

type Decoded = { readonly type: AttrTypeCode; readonly value: PaddleAttrValue } | undefined;

export const SCALAR_OF: Readonly<Record<string, AttrTypeCode>> = {
  a_bool: ATTR_TYPE.BOOLEAN,
  a_i32: ATTR_TYPE.INT,
  a_i64: ATTR_TYPE.LONG,
  a_index: ATTR_TYPE.LONG,
  a_f32: ATTR_TYPE.FLOAT,
  a_f64: ATTR_TYPE.FLOAT64,
  a_str: ATTR_TYPE.STRING,
  a_tensorname: ATTR_TYPE.STRING,
};
export const ARRAY_OF: ReadonlyMap<AttrTypeCode, AttrTypeCode> = new Map<AttrTypeCode, AttrTypeCode>([
  [ATTR_TYPE.BOOLEAN, ATTR_TYPE.BOOLEANS],
  [ATTR_TYPE.INT, ATTR_TYPE.INTS],
  [ATTR_TYPE.LONG, ATTR_TYPE.LONGS],
  [ATTR_TYPE.FLOAT, ATTR_TYPE.FLOATS],
  [ATTR_TYPE.FLOAT64, ATTR_TYPE.FLOAT64S],
  [ATTR_TYPE.STRING, ATTR_TYPE.STRINGS],
]);
const VOID_DATA: Readonly<Record<string, number>> = { NaN: NaN, NAN: NaN, INF: Infinity, '-INF': -Infinity };

function scalar(type: AttrTypeCode, json: Record<string, Json>, where: string): PaddleAttrValue {
  const d = json.D;
  const bad = (want: string): never => {
    throw new ImportError(`${where}: ${String(json['#'])} data is ${describe(d)}, expected ${want}`);
  };
  if (type === ATTR_TYPE.BOOLEAN) return typeof d === 'boolean' ? d : bad('true or false');
  if (type === ATTR_TYPE.STRING) return typeof d === 'string' ? d : bad('a string');
  if (type === ATTR_TYPE.INT || type === ATTR_TYPE.LONG) return isInt(d) ? d : bad('an integer');
  if (d === undefined && typeof json.VD === 'string' && json.VD in VOID_DATA) return VOID_DATA[json.VD]!;
  return typeof d === 'number' ? d : bad('a number');
}

/**
 * One attribute as ProgramDesc would record it: int arrays as INTS, dtypes as VarType codes (INT), places
 * dropped (undefined), kinds this reader does not decode as { type: STRING, value: null }.
 */
export function decodeAttr(json: Json, where: string): Decoded {
  const [dialect, name] = splitId(json, where);
  const o = json as Record<string, Json>;
  if (dialect === '' && name === 'NULL') return undefined;
  if (dialect === '0' && name in SCALAR_OF)
    return { type: SCALAR_OF[name]!, value: scalar(SCALAR_OF[name]!, o, where) };
  if (dialect === '0' && name === 'a_array') {
    if (!Array.isArray(o.D)) throw new ImportError(`${where}: 0.a_array data is ${describe(o.D)}, expected an array`);
    // Elements are scalars in every op this reader maps; an array of arrays is kept undecoded, not recursed into.
    const items = o.D.map((item, i) => {
      const [d, n] = splitId(item, `${where}[${i}]`);
      return d === '0' && n in SCALAR_OF
        ? { type: SCALAR_OF[n]!, value: scalar(SCALAR_OF[n]!, item as Record<string, Json>, `${where}[${i}]`) }
        : undefined;
    });
    if (items.length === 0) return { type: ATTR_TYPE.INTS, value: [] };
    const type = items[0]?.type;
    if (type === undefined || items.some((x) => x?.type !== type)) return { type: ATTR_TYPE.STRING, value: null };
    return { type: ARRAY_OF.get(type)!, value: items.map((x) => x!.value) as number[] | string[] | boolean[] };
  }
  if (dialect === '1' && name === 'a_intarray') {
    if (!Array.isArray(o.D) || !o.D.every(isInt))
      throw new ImportError(`${where}: 1.a_intarray data is ${describe(o.D)}, expected integers`);
    return { type: ATTR_TYPE.INTS, value: o.D as number[] };
  }
  if (dialect === '1' && name === 'a_dtype') {
    if (typeof o.D !== 'string')
      throw new ImportError(`${where}: 1.a_dtype data is ${describe(o.D)}, expected a string`);
    const code = DTYPES[o.D];
    return code === undefined ? { type: ATTR_TYPE.STRING, value: o.D } : { type: ATTR_TYPE.INT, value: code };
  }
  if (dialect === '1' && name === 'a_layout')
    return { type: ATTR_TYPE.STRING, value: typeof o.D === 'string' ? o.D : null };
  if (dialect === '1' && name === 'a_place') return undefined;
  if (dialect === '1' && name === 'a_scalar') {
    const [dtype, value] = Array.isArray(o.D) ? o.D : [];
    if (typeof dtype !== 'string' || (typeof value !== 'number' && typeof value !== 'boolean')) {
      throw new ImportError(`${where}: 1.a_scalar data is ${describe(o.D)}, expected [dtype, value]`);
    }
    if (typeof value === 'boolean') return { type: ATTR_TYPE.BOOLEAN, value };
    const code = DTYPES[dtype];
    if (code === VAR_TYPE_CODE.FP32 || code === VAR_TYPE_CODE.FP16 || code === VAR_TYPE_CODE.BF16)
      return { type: ATTR_TYPE.FLOAT, value };
    if (code === VAR_TYPE_CODE.FP64) return { type: ATTR_TYPE.FLOAT64, value };
    return { type: code === VAR_TYPE_CODE.INT64 ? ATTR_TYPE.LONG : ATTR_TYPE.INT, value };
  }
  return { type: ATTR_TYPE.STRING, value: null };
}

/** `{"N": name, "AT": attr}` -> a PaddleAttr, or undefined for one ProgramDesc has no use for. */
export function decodeNamedAttr(json: Json, where: string): PaddleAttr | undefined {
  if (!isObject(json) || typeof json.N !== 'string')
    throw new ImportError(`${where}: expected {"N": name, "AT": attribute}, found ${describe(json)}`);
  if (!('AT' in json)) return undefined; // a patch deleted it (ir_deserialize.cc ReadAttributesMap)
  const d = decodeAttr(json.AT, `${where} "${json.N}"`);
  return d && { name: json.N, ...d };
}
