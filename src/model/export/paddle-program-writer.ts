/**
 * Writes a Paddle ProgramDesc (`inference.pdmodel`): the inverse of src/model/convert/paddle/paddle-program.ts's
 * parser. The product's Paddle export and the tests' fixtures use it.
 */
import {
  ATTR_TYPE,
  BLOCK_DESC,
  LOD_TENSOR_DESC,
  OP_ATTR,
  OP_DESC,
  OP_VAR,
  PROGRAM_DESC,
  TENSOR_DESC,
  VAR_DESC,
  VAR_TYPE,
  VERSION,
} from '../convert/paddle/paddle-proto.ts';
import type { PaddleAttr, PaddleBlock, PaddleOp, PaddleProgram, PaddleVar } from '../convert/paddle/paddle-program.ts';
import { ProtoWriter, WIRE_FIXED64 } from '../convert/wire/protobuf.ts';
import { concatBytes } from '../convert/wire/bytes.ts';

export function writePaddleProgram(program: PaddleProgram): Uint8Array {
  const w = new ProtoWriter();
  for (const b of program.blocks) w.message(PROGRAM_DESC.blocks, writeBlock(b));
  if (program.version !== undefined)
    w.message(PROGRAM_DESC.version, new ProtoWriter().varint(VERSION.version, program.version));
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
    type.message(
      VAR_TYPE.lodTensor,
      new ProtoWriter().message(LOD_TENSOR_DESC.tensor, tensor).varint(LOD_TENSOR_DESC.lodLevel, 0),
    );
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
    case T.INT:
      return w.varint(OP_ATTR.i, v as number).finish();
    case T.FLOAT:
      return w.float(OP_ATTR.f, v as number).finish();
    case T.STRING:
      return w.string(OP_ATTR.s, v as string).finish();
    case T.INTS:
      nums.forEach((x) => w.varint(OP_ATTR.ints, x));
      return w.finish();
    case T.FLOATS:
      nums.forEach((x) => w.float(OP_ATTR.floats, x));
      return w.finish();
    case T.STRINGS:
      (v as readonly string[]).forEach((x) => w.string(OP_ATTR.strings, x));
      return w.finish();
    case T.BOOLEAN:
      return w.varint(OP_ATTR.b, v as boolean).finish();
    case T.BOOLEANS:
      (v as readonly boolean[]).forEach((x) => w.varint(OP_ATTR.bools, x));
      return w.finish();
    case T.BLOCK:
      return w.varint(OP_ATTR.blockIdx, v as number).finish();
    case T.LONG:
      return w.varint(OP_ATTR.l, v as number).finish();
    case T.BLOCKS:
      nums.forEach((x) => w.varint(OP_ATTR.blocksIdx, x));
      return w.finish();
    case T.LONGS:
      nums.forEach((x) => w.varint(OP_ATTR.longs, x));
      return w.finish();
    case T.VAR:
      return w.string(OP_ATTR.varName, v as string).finish();
    case T.VARS:
      (v as readonly string[]).forEach((x) => w.string(OP_ATTR.varsName, x));
      return w.finish();
    // ProtoWriter has no fixed64 writer: append key + 8 little-endian bytes by hand.
    case T.FLOAT64:
      return concatBytes([w.finish(), fixed64(OP_ATTR.float64, v as number)]);
    case T.FLOAT64S:
      return concatBytes([w.finish(), ...nums.map((x) => fixed64(OP_ATTR.float64s, x))]);
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

// ---- small constructors for programs ----

export const attrs = {
  int: (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.INT, value }),
  float: (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.FLOAT, value }),
  string: (name: string, value: string): PaddleAttr => ({ name, type: ATTR_TYPE.STRING, value }),
  bool: (name: string, value: boolean): PaddleAttr => ({ name, type: ATTR_TYPE.BOOLEAN, value }),
  ints: (name: string, value: readonly number[]): PaddleAttr => ({ name, type: ATTR_TYPE.INTS, value }),
  float64: (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.FLOAT64, value }),
};
