/**
 * Paddle's ProgramDesc (`inference.pdmodel`) as plain typed objects, and the writer the tests use to make
 * fixtures. Field numbers: ./paddle-proto.ts (framework.proto).
 *
 * A .pdmodel has no magic number, so "is this a ProgramDesc?" is answered by the schema: valid protobuf, the
 * right wire type for every known field, and the proto2 `required` fields present. Random bytes or an ONNX
 * ModelProto fail one of those with a message that says which.
 */
import { ImportError } from '../../../core/errors.ts';
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
import { ProtoReader, WIRE_FIXED64, WIRE_LENGTH_DELIMITED } from '../wire/protobuf.ts';

export interface PaddleVar {
  readonly name: string;
  /** VarType.Type of the variable itself (LOD_TENSOR, FEED_MINIBATCH, ...). */
  readonly type: number;
  readonly persistable: boolean;
  /** For LOD_TENSOR vars: the element type and dims (-1 = unknown). */
  readonly dataType?: number;
  readonly dims?: readonly number[];
}

export type PaddleAttrValue =
  number | string | boolean | readonly number[] | readonly string[] | readonly boolean[] | null;

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
  return {
    name,
    type: kind,
    persistable,
    dataType: tensor.int(TENSOR_DESC.dataType),
    dims: tensor.ints(TENSOR_DESC.dims),
  };
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
    if (f.wire !== WIRE_FIXED64 && f.wire !== WIRE_LENGTH_DELIMITED)
      throw new ImportError(`Attr field ${field} is not a double`);
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
      case T.INT:
        return r.int(OP_ATTR.i);
      case T.FLOAT:
        return r.float(OP_ATTR.f);
      case T.STRING:
        return r.string(OP_ATTR.s);
      case T.INTS:
        return r.ints(OP_ATTR.ints);
      case T.FLOATS:
        return r.floats(OP_ATTR.floats);
      case T.STRINGS:
        return r.strings(OP_ATTR.strings);
      case T.BOOLEAN:
        return r.int(OP_ATTR.b) === undefined ? undefined : r.int(OP_ATTR.b) !== 0;
      case T.BOOLEANS:
        return r.ints(OP_ATTR.bools).map((b) => b !== 0);
      case T.BLOCK:
        return r.int(OP_ATTR.blockIdx);
      case T.LONG:
        return r.int(OP_ATTR.l);
      case T.BLOCKS:
        return r.ints(OP_ATTR.blocksIdx);
      case T.LONGS:
        return r.ints(OP_ATTR.longs);
      case T.FLOAT64S:
        return doubles(r, OP_ATTR.float64s);
      case T.VAR:
        return r.string(OP_ATTR.varName);
      case T.VARS:
        return r.strings(OP_ATTR.varsName);
      case T.FLOAT64:
        return doubles(r, OP_ATTR.float64).at(-1);
      default:
        return null;
    }
  })();
  return { name, type, value: value ?? null };
}
