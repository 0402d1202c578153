/**
 * Writes FlatBuffers and tiny TFLite models, for the tests of scripts/lib/tflite (independent of the reader under
 * test): children are laid out after their parent, so every uoffset points forward as the format requires.
 */
// ---------------------------------------------------------------------------------------------------------
// A FlatBuffers writer: children are laid out after their parent, so every uoffset points forward as the
// format requires; vtables sit just before their table (a positive soffset).

export type FbValue =
  | { readonly t: 'i8' | 'u8'; readonly v: number }
  | { readonly t: 'i32' | 'u32' | 'f32'; readonly v: number }
  | { readonly t: 'table'; readonly v: FbTable }
  | { readonly t: 'tables'; readonly v: readonly FbTable[] }
  | { readonly t: 'string'; readonly v: string }
  | { readonly t: 'i32s' | 'f32s' | 'i64s'; readonly v: readonly number[] }
  | { readonly t: 'bytes'; readonly v: Uint8Array };
export type FbTable = readonly (FbValue | undefined)[];

export const i8 = (v: number): FbValue => ({ t: 'i8', v });
export const i32 = (v: number): FbValue => ({ t: 'i32', v });
export const u32 = (v: number): FbValue => ({ t: 'u32', v });
export const f32 = (v: number): FbValue => ({ t: 'f32', v });
export const str = (v: string): FbValue => ({ t: 'string', v });
export const table = (v: FbTable): FbValue => ({ t: 'table', v });
export const tables = (v: readonly FbTable[]): FbValue => ({ t: 'tables', v });
export const i32s = (v: readonly number[]): FbValue => ({ t: 'i32s', v });
export const f32s = (v: readonly number[]): FbValue => ({ t: 'f32s', v });
export const i64s = (v: readonly number[]): FbValue => ({ t: 'i64s', v });
export const bytes = (v: Uint8Array): FbValue => ({ t: 'bytes', v });

export function writeFlatBuffer(root: FbTable, identifier: string): Uint8Array {
  const out: number[] = [];
  const le = (n: number, size: number, float = false) => {
    const b = new DataView(new ArrayBuffer(size));
    if (float) b.setFloat32(0, n, true);
    else if (size === 8) b.setBigInt64(0, BigInt(n), true);
    else if (size === 4) b.setUint32(0, n >>> 0, true);
    else b.setUint16(0, n, true);
    out.push(...new Uint8Array(b.buffer));
  };
  const patch32 = (at: number, n: number) => {
    for (let k = 0; k < 4; k++) out[at + k] = (n >>> (8 * k)) & 255;
  };
  const alignFor = (count: number, align: number) => {
    while ((out.length + count) % align) out.push(0);
  };

  function writeTable(t: FbTable): number {
    alignFor(0, 4);
    const vt = out.length;
    le(4 + 2 * t.length, 2);
    le(4 + 4 * t.filter(Boolean).length, 2);
    for (let i = 0; i < t.length; i++) le(0, 2);
    alignFor(0, 4);
    const at = out.length;
    le(at - vt, 4);
    const pending: [number, FbValue][] = [];
    t.forEach((f, i) => {
      if (!f) return;
      const rel = out.length - at;
      out[vt + 4 + 2 * i] = rel & 255;
      out[vt + 5 + 2 * i] = rel >> 8;
      if (f.t === 'i8' || f.t === 'u8') out.push(f.v & 255, 0, 0, 0);
      else if (f.t === 'i32' || f.t === 'u32') le(f.v, 4);
      else if (f.t === 'f32') le(f.v, 4, true);
      else {
        pending.push([out.length, f]);
        le(0, 4);
      }
    });
    for (const [field, f] of pending) patch32(field, writeChild(f) - field);
    return at;
  }

  function writeChild(f: FbValue): number {
    if (f.t === 'table') return writeTable(f.v);
    const elementAlign = f.t === 'i64s' ? 8 : f.t === 'bytes' ? 16 : 4;
    alignFor(4, elementAlign);
    const at = out.length;
    switch (f.t) {
      case 'string': {
        const b = new TextEncoder().encode(f.v);
        le(b.length, 4);
        out.push(...b, 0);
        break;
      }
      case 'bytes':
        le(f.v.length, 4);
        for (const b of f.v) out.push(b);
        break;
      case 'i32s':
      case 'f32s':
      case 'i64s':
        le(f.v.length, 4);
        for (const n of f.v) le(n, f.t === 'i64s' ? 8 : 4, f.t === 'f32s');
        break;
      case 'tables': {
        le(f.v.length, 4);
        const slots = f.v.map(() => {
          le(0, 4);
          return out.length - 4;
        });
        f.v.forEach((t, k) => patch32(slots[k]!, writeTable(t) - slots[k]!));
        break;
      }
      default:
        throw new Error(`not a child: ${f.t}`);
    }
    return at;
  }

  le(0, 4);
  out.push(...new TextEncoder().encode(identifier));
  patch32(0, writeTable(root));
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------------------
// Tiny TFLite files.

export const TYPE = { FLOAT32: 0, INT32: 2, UINT8: 3, INT64: 4, INT8: 9 } as const;
export const OP = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  RESHAPE: 22,
  SOFTMAX: 25,
  MEAN: 40,
  QUANTIZE: 114,
} as const;
export const OPTIONS = {
  CONV_2D: 1,
  DEPTHWISE_CONV_2D: 2,
  AVERAGE_POOL_2D: 5,
  SOFTMAX: 9,
  ADD: 11,
  RESHAPE: 17,
  MEAN: 27,
} as const;
export const ACT = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;
export const SAME = 0;
export const VALID = 1;

export interface TensorSpec {
  name: string;
  shape: number[];
  type?: number;
  data?: Uint8Array;
  quant?: { scale: number[]; zeroPoint: number[]; axis?: number };
}
export interface OpSpec {
  code: number;
  inputs: number[];
  outputs: number[];
  optionsType?: number;
  options?: FbTable;
}

export function tfliteFile(m: {
  tensors: TensorSpec[];
  inputs: number[];
  outputs: number[];
  ops: OpSpec[];
  identifier?: string;
  version?: number;
}): Uint8Array {
  const codes = [...new Set(m.ops.map((o) => o.code))];
  const buffers: FbTable[] = [[]];
  const tensors = m.tensors.map((t): FbTable => {
    let buffer = 0;
    if (t.data) buffer = buffers.push([bytes(t.data)]) - 1;
    const q = t.quant
      ? table([
          undefined,
          undefined,
          f32s(t.quant.scale),
          i64s(t.quant.zeroPoint),
          undefined,
          undefined,
          i32(t.quant.axis ?? 0),
        ])
      : undefined;
    return [i32s(t.shape), i8(t.type ?? TYPE.FLOAT32), u32(buffer), str(t.name), q];
  });
  const ops = m.ops.map((o): FbTable => [
    u32(codes.indexOf(o.code)),
    i32s(o.inputs),
    i32s(o.outputs),
    o.options ? { t: 'u8', v: o.optionsType ?? 0 } : undefined,
    o.options ? table(o.options) : undefined,
  ]);
  return writeFlatBuffer(
    [
      u32(m.version ?? 3),
      // Codes above 127 go in builtin_code (field 3); the deprecated byte holds 127 then.
      tables(codes.map((c) => [i8(Math.min(c, 127)), undefined, i32(1), i32(c)])),
      tables([[tables(tensors), i32s(m.inputs), i32s(m.outputs), tables(ops)]]),
      str('a tiny test model'),
      tables(buffers),
    ],
    m.identifier ?? 'TFL3',
  );
}

export const f32Bytes = (v: ArrayLike<number>) => new Uint8Array(Float32Array.from(v).buffer);
export const i32Bytes = (v: ArrayLike<number>) => new Uint8Array(Int32Array.from(v).buffer);
