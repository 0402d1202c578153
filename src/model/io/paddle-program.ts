/**
 * Paddle's ProgramDesc (`inference.pdmodel`) as plain typed objects, and the writer the tests use to make
 * fixtures. Field numbers: ./paddle-proto.ts (framework.proto).
 *
 * A .pdmodel has no magic number, so "is this a ProgramDesc?" is answered by the schema: valid protobuf, the
 * right wire type for every known field, and the proto2 `required` fields present. Random bytes or an ONNX
 * ModelProto fail one of those with a message that says which.
 */
import { ImportError } from '../../core/errors.ts';
import {
  ATTR_TYPE,
  BLOCK_DESC,
  LOD_TENSOR_DESC,
  NOT_SAVED_VAR_TYPES,
  OP_ATTR,
  OP_DESC,
  OP_VAR,
  PROGRAM_DESC,
  PROGRAM_DESC_FIELDS,
  TENSOR_DESC,
  VAR_DESC,
  VAR_TYPE,
  VERSION,
  type AttrTypeCode,
} from './paddle-proto.ts';
import { ProtoReader, ProtoWriter, WIRE_FIXED64, WIRE_LENGTH_DELIMITED } from './protobuf.ts';
import { concatBytes } from './bytes.ts';

export interface PaddleVar {
  readonly name: string;
  /** VarType.Type of the variable itself (LOD_TENSOR, FEED_MINIBATCH, ...). */
  readonly type: number;
  readonly persistable: boolean;
  /** For LOD_TENSOR vars: the element type and dims (-1 = unknown). */
  readonly dataType?: number;
  readonly dims?: readonly number[];
}

export type PaddleAttrValue = number | string | boolean | readonly number[] | readonly string[] | readonly boolean[] | null;

export interface PaddleAttr {
  readonly name: string;
  readonly type: AttrTypeCode;
  /** null for an attribute type this reader does not decode. */
  readonly value: PaddleAttrValue;
}

export interface PaddleOp {
  readonly type: string;
  /** Slot name (e.g. `Filter`) -> variable names. */
  readonly inputs: Readonly<Record<string, readonly string[]>>;
  readonly outputs: Readonly<Record<string, readonly string[]>>;
  readonly attrs: readonly PaddleAttr[];
}

export interface PaddleBlock {
  readonly idx: number;
  readonly parentIdx: number;
  readonly vars: readonly PaddleVar[];
  readonly ops: readonly PaddleOp[];
}

export interface PaddleProgram {
  readonly blocks: readonly PaddleBlock[];
  /** Paddle's program version (e.g. 2005002 for 2.5.2), when recorded. */
  readonly version?: number;
}

export function attr(op: PaddleOp, name: string): PaddleAttrValue | undefined {
  return op.attrs.find((a) => a.name === name)?.value;
}

/**
 * The variables `.pdiparams` holds, in the order save_combine wrote them: every persistable var of every
 * block except feed/fetch/reader/raw, by name as Python's sorted() orders str (python/paddle/static/io.py
 * save_vars: `for name in sorted(save_var_map.keys())`).
 */
export function savedVarNames(program: PaddleProgram): string[] {
  const names = new Set<string>();
  for (const block of program.blocks) {
    for (const v of block.vars) if (v.persistable && !NOT_SAVED_VAR_TYPES.has(v.type)) names.add(v.name);
  }
  // Code-point order, as Python compares str (localeCompare would not).
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function parsePaddleProgram(bytes: Uint8Array, file = 'inference.pdmodel'): PaddleProgram {
  const what = `${file} is not a Paddle ProgramDesc`;
  try {
    if (bytes.length === 0) throw new ImportError('the file is empty');
    const top = new ProtoReader(bytes, 'bad protobuf');
    // Every ProgramDesc field is a message; unknown fields are skipped, as protobuf readers do for newer writers.
    for (const f of top.fields) {
      if (PROGRAM_DESC_FIELDS.includes(f.field) && f.wire !== WIRE_LENGTH_DELIMITED) {
        throw new ImportError(`top-level field ${f.field} has wire type ${f.wire}`);
      }
    }
    const blocks = sub(top, PROGRAM_DESC.blocks, 'BlockDesc').map(parseBlock);
    if (blocks.length === 0) throw new ImportError('it has no blocks');
    const version = top.message(PROGRAM_DESC.version, 'Version')?.int(VERSION.version);
    return version === undefined ? { blocks } : { blocks, version };
  } catch (e) {
    if (e instanceof ImportError) throw new ImportError(`${what}: ${e.message}`);
    throw e;
  }
}

/** Length-delimited sub-messages only: a varint where a message belongs means this is another schema. */
function sub(r: ProtoReader, field: number, what: string): ProtoReader[] {
  return r.all(field).map((f) => {
    if (f.wire !== WIRE_LENGTH_DELIMITED) throw new ImportError(`${what} (field ${field}) has wire type ${f.wire}`);
    return new ProtoReader(f.bytes!, what);
  });
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ImportError(`${what} is missing`);
  return value;
}

function parseBlock(r: ProtoReader): PaddleBlock {
  return {
    idx: required(r.int(BLOCK_DESC.idx), 'BlockDesc.idx'),
    parentIdx: required(r.int(BLOCK_DESC.parentIdx), 'BlockDesc.parent_idx'),
    vars: sub(r, BLOCK_DESC.vars, 'VarDesc').map(parseVar),
    ops: sub(r, BLOCK_DESC.ops, 'OpDesc').map(parseOp),
  };
}

function parseVar(r: ProtoReader): PaddleVar {
  const name = required(r.string(VAR_DESC.name), 'VarDesc.name');
  const [type] = sub(r, VAR_DESC.type, `VarDesc ${name} type`);
  const kind = required(required(type, `VarDesc ${name} type`).int(VAR_TYPE.type), `VarDesc ${name} type.type`);
  const persistable = (r.int(VAR_DESC.persistable) ?? 0) !== 0;
  const lod = sub(type!, VAR_TYPE.lodTensor, `VarDesc ${name} lod_tensor`)[0];
  const tensor = lod && sub(lod, LOD_TENSOR_DESC.tensor, `VarDesc ${name} TensorDesc`)[0];
  if (!tensor) return { name, type: kind, persistable };
  return { name, type: kind, persistable, dataType: tensor.int(TENSOR_DESC.dataType), dims: tensor.ints(TENSOR_DESC.dims) };
}

function parseSlots(rs: ProtoReader[]): Record<string, string[]> {
  const slots: Record<string, string[]> = {};
  for (const v of rs) slots[required(v.string(OP_VAR.parameter), 'OpDesc.Var.parameter')] = v.strings(OP_VAR.arguments);
  return slots;
}

function parseOp(r: ProtoReader): PaddleOp {
  return {
    type: required(r.string(OP_DESC.type), 'OpDesc.type'),
    inputs: parseSlots(sub(r, OP_DESC.inputs, 'OpDesc.Var')),
    outputs: parseSlots(sub(r, OP_DESC.outputs, 'OpDesc.Var')),
    attrs: sub(r, OP_DESC.attrs, 'OpDesc.Attr').map(parseAttr),
  };
}

function doubles(r: ProtoReader, field: number): number[] {
  const out: number[] = [];
  for (const f of r.all(field)) {
    const b = f.bytes!;
    if (f.wire !== WIRE_FIXED64 && f.wire !== WIRE_LENGTH_DELIMITED) throw new ImportError(`Attr field ${field} is not a double`);
    if (b.length % 8 !== 0) throw new ImportError(`Attr field ${field}: ${b.length} bytes of doubles`);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < b.length; i += 8) out.push(view.getFloat64(i, true));
  }
  return out;
}

function parseAttr(r: ProtoReader): PaddleAttr {
  const name = required(r.string(OP_ATTR.name), 'OpDesc.Attr.name');
  const type = required(r.int(OP_ATTR.type), `Attr ${name} type`) as AttrTypeCode;
  const T = ATTR_TYPE;
  const value = ((): PaddleAttrValue | undefined => {
    switch (type) {
      case T.INT: return r.int(OP_ATTR.i);
      case T.FLOAT: return r.float(OP_ATTR.f);
      case T.STRING: return r.string(OP_ATTR.s);
      case T.INTS: return r.ints(OP_ATTR.ints);
      case T.FLOATS: return r.floats(OP_ATTR.floats);
      case T.STRINGS: return r.strings(OP_ATTR.strings);
      case T.BOOLEAN: return r.int(OP_ATTR.b) === undefined ? undefined : r.int(OP_ATTR.b) !== 0;
      case T.BOOLEANS: return r.ints(OP_ATTR.bools).map((b) => b !== 0);
      case T.BLOCK: return r.int(OP_ATTR.blockIdx);
      case T.LONG: return r.int(OP_ATTR.l);
      case T.BLOCKS: return r.ints(OP_ATTR.blocksIdx);
      case T.LONGS: return r.ints(OP_ATTR.longs);
      case T.FLOAT64S: return doubles(r, OP_ATTR.float64s);
      case T.VAR: return r.string(OP_ATTR.varName);
      case T.VARS: return r.strings(OP_ATTR.varsName);
      case T.FLOAT64: return doubles(r, OP_ATTR.float64).at(-1);
      default: return null;
    }
  })();
  return { name, type, value: value ?? null };
}

// ---- writer (fixtures) ----

export function writePaddleProgram(program: PaddleProgram): Uint8Array {
  const w = new ProtoWriter();
  for (const b of program.blocks) w.message(PROGRAM_DESC.blocks, writeBlock(b));
  if (program.version !== undefined) w.message(PROGRAM_DESC.version, new ProtoWriter().varint(VERSION.version, program.version));
  return w.finish();
}

function writeBlock(b: PaddleBlock): ProtoWriter {
  const w = new ProtoWriter().varint(BLOCK_DESC.idx, b.idx).varint(BLOCK_DESC.parentIdx, b.parentIdx);
  for (const v of b.vars) w.message(BLOCK_DESC.vars, writeVar(v));
  for (const op of b.ops) w.message(BLOCK_DESC.ops, writeOp(op));
  return w;
}

function writeVar(v: PaddleVar): ProtoWriter {
  const type = new ProtoWriter().varint(VAR_TYPE.type, v.type);
  if (v.dataType !== undefined) {
    const tensor = new ProtoWriter().varint(TENSOR_DESC.dataType, v.dataType);
    for (const d of v.dims ?? []) tensor.varint(TENSOR_DESC.dims, d); // unpacked, as proto2 C++ writes it
    type.message(VAR_TYPE.lodTensor, new ProtoWriter().message(LOD_TENSOR_DESC.tensor, tensor).varint(LOD_TENSOR_DESC.lodLevel, 0));
  }
  const w = new ProtoWriter().string(VAR_DESC.name, v.name).message(VAR_DESC.type, type);
  return v.persistable ? w.varint(VAR_DESC.persistable, true) : w;
}

function writeOp(op: PaddleOp): ProtoWriter {
  const w = new ProtoWriter();
  const slots = (field: number, s: Readonly<Record<string, readonly string[]>>): void => {
    for (const [name, args] of Object.entries(s)) {
      const v = new ProtoWriter().string(OP_VAR.parameter, name);
      for (const a of args) v.string(OP_VAR.arguments, a);
      w.message(field, v);
    }
  };
  slots(OP_DESC.inputs, op.inputs);
  slots(OP_DESC.outputs, op.outputs);
  w.string(OP_DESC.type, op.type);
  for (const a of op.attrs) w.bytes(OP_DESC.attrs, writeAttr(a));
  return w;
}

function writeAttr(a: PaddleAttr): Uint8Array {
  const w = new ProtoWriter().string(OP_ATTR.name, a.name).varint(OP_ATTR.type, a.type);
  const v = a.value;
  const nums = (v ?? []) as readonly number[];
  const T = ATTR_TYPE;
  switch (a.type) {
    case T.INT: return w.varint(OP_ATTR.i, v as number).finish();
    case T.FLOAT: return w.float(OP_ATTR.f, v as number).finish();
    case T.STRING: return w.string(OP_ATTR.s, v as string).finish();
    case T.INTS: nums.forEach((x) => w.varint(OP_ATTR.ints, x)); return w.finish();
    case T.FLOATS: nums.forEach((x) => w.float(OP_ATTR.floats, x)); return w.finish();
    case T.STRINGS: (v as readonly string[]).forEach((x) => w.string(OP_ATTR.strings, x)); return w.finish();
    case T.BOOLEAN: return w.varint(OP_ATTR.b, v as boolean).finish();
    case T.BOOLEANS: (v as readonly boolean[]).forEach((x) => w.varint(OP_ATTR.bools, x)); return w.finish();
    case T.BLOCK: return w.varint(OP_ATTR.blockIdx, v as number).finish();
    case T.LONG: return w.varint(OP_ATTR.l, v as number).finish();
    case T.BLOCKS: nums.forEach((x) => w.varint(OP_ATTR.blocksIdx, x)); return w.finish();
    case T.LONGS: nums.forEach((x) => w.varint(OP_ATTR.longs, x)); return w.finish();
    case T.VAR: return w.string(OP_ATTR.varName, v as string).finish();
    case T.VARS: (v as readonly string[]).forEach((x) => w.string(OP_ATTR.varsName, x)); return w.finish();
    // ProtoWriter has no fixed64 writer: append key + 8 little-endian bytes by hand.
    case T.FLOAT64: return concatBytes([w.finish(), fixed64(OP_ATTR.float64, v as number)]);
    case T.FLOAT64S: return concatBytes([w.finish(), ...nums.map((x) => fixed64(OP_ATTR.float64s, x))]);
  }
}

function fixed64(field: number, value: number): Uint8Array {
  const out = new Uint8Array(10);
  // The double fields are 16 and 19: keys 129 and 153, always a 2-byte varint.
  const key = (field << 3) | WIRE_FIXED64;
  out[0] = (key & 0x7f) | 0x80;
  out[1] = key >> 7;
  new DataView(out.buffer).setFloat64(2, value, true);
  return out;
}

// ---- small constructors for fixture programs ----

export const attrs = {
  int: (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.INT, value }),
  float: (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.FLOAT, value }),
  string: (name: string, value: string): PaddleAttr => ({ name, type: ATTR_TYPE.STRING, value }),
  bool: (name: string, value: boolean): PaddleAttr => ({ name, type: ATTR_TYPE.BOOLEAN, value }),
  ints: (name: string, value: readonly number[]): PaddleAttr => ({ name, type: ATTR_TYPE.INTS, value }),
  float64: (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.FLOAT64, value }),
};
