/**
 * The `.pdiparams` tensor stream that Paddle's save_combine op writes: one record per variable, no names.
 *
 * Layout, little-endian (PaddlePaddle/Paddle paddle/phi/core/framework/dense_tensor_serialize.cc
 * SerializeToStream, then paddle/phi/core/framework/dense_tensor_tostream.cc TensorToStream; formerly
 * paddle/fluid/framework/lod_tensor.cc and tensor_util.cc):
 *   uint32 version (0) | uint64 lod_level | per level: uint64 byte size + that many bytes (size_t offsets)
 *   | uint32 tensor version (0) | int32 TensorDesc size | TensorDesc protobuf | numel x element size bytes.
 *
 * The file comes from the user, so every declared size is checked against the bytes that remain BEFORE
 * anything is allocated: a corrupt header must produce an ImportError, not a multi-gigabyte allocation.
 */
import { ImportError } from '../../../core/errors.ts';
import { TENSOR_DESC, VAR_TYPE_CODE, varTypeName } from './paddle-proto.ts';
import { ProtoReader } from '../wire/protobuf.ts';
import { fromBfloat16Bits, fromFloat16Bits } from '../wire/float16.ts';

export type PaddleFloatType = 'fp32' | 'fp16' | 'bf16' | 'fp64';

export const FLOAT_TYPES = {
  fp32: { code: VAR_TYPE_CODE.FP32, bytes: 4 },
  fp16: { code: VAR_TYPE_CODE.FP16, bytes: 2 },
  bf16: { code: VAR_TYPE_CODE.BF16, bytes: 2 },
  fp64: { code: VAR_TYPE_CODE.FP64, bytes: 8 },
} as const satisfies Record<PaddleFloatType, { code: number; bytes: number }>;

const BY_CODE = new Map<number, PaddleFloatType>(
  (Object.keys(FLOAT_TYPES) as PaddleFloatType[]).map((k) => [FLOAT_TYPES[k].code, k]),
);

/** One record of the stream, widened to float32 (the precision the builder runs in). */
export interface PaddleTensor {
  readonly dims: readonly number[];
  /** The stored element type. */
  readonly dataType: PaddleFloatType;
  readonly data: Float32Array;
}

export interface ReadPaddleParamsOptions {
  /**
   * The variables the program says were saved, in the saver's order. When given, exactly this many records
   * are read, their names appear in messages, and bytes left over are an error.
   */
  readonly names?: readonly string[];
  /** File name for messages. */
  readonly file?: string;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** A TensorDesc is a type and a few dims; anything larger is not a TensorDesc. */
const MAX_TENSOR_DESC_BYTES = 1 << 16;

export function readPaddleParams(bytes: Uint8Array, options: ReadPaddleParamsOptions = {}): PaddleTensor[] {
  const file = options.file ?? 'inference.pdiparams';
  const names = options.names;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: PaddleTensor[] = [];
  let pos = 0;
  while (names ? out.length < names.length : pos < bytes.length) {
    const index = out.length;
    const label = names ? `tensor ${index + 1} of ${names.length} (${names[index]})` : `tensor ${index + 1}`;
    const fail = (what: string): never => {
      throw new ImportError(`${file}: ${label} at byte ${pos}: ${what}`);
    };
    const need = (n: number | bigint, what: string): number => {
      const remaining = bytes.length - pos;
      if (BigInt(n) > BigInt(remaining)) {
        fail(`${what} needs ${n} bytes but only ${remaining} remain (file truncated or not a Paddle params file)`);
      }
      return Number(n);
    };
    if (pos >= bytes.length && names) {
      fail(`the file ends after ${index} tensors but the program declares ${names.length} persistable variables`);
    }
    need(4, 'the record version');
    const version = view.getUint32(pos, true);
    if (version !== 0) fail(`record version ${version}, expected 0 (not a Paddle save_combine file?)`);
    pos += 4;
    need(8, 'the LoD level count');
    const lodLevel = view.getBigUint64(pos, true);
    pos += 8;
    // Each level costs at least its 8-byte size: bound the count by the bytes left before looping.
    need(lodLevel * 8n, `${lodLevel} LoD levels`);
    for (let level = 0n; level < lodLevel; level++) {
      need(8, 'a LoD level size');
      const size = view.getBigUint64(pos, true);
      pos += 8;
      pos += need(size, `LoD level ${level}`);
    }
    need(4, 'the tensor version');
    const tensorVersion = view.getUint32(pos, true);
    if (tensorVersion !== 0) fail(`tensor version ${tensorVersion}, expected 0`);
    pos += 4;
    need(4, 'the TensorDesc size');
    const descSize = view.getInt32(pos, true);
    if (descSize < 0 || descSize > MAX_TENSOR_DESC_BYTES) fail(`TensorDesc size ${descSize} is not plausible`);
    pos += 4;
    need(descSize, 'the TensorDesc');
    const desc = new ProtoReader(bytes.subarray(pos, pos + descSize), `${file}: ${label} TensorDesc`);
    pos += descSize;
    const code = desc.int(TENSOR_DESC.dataType);
    if (code === undefined) fail('TensorDesc has no data_type');
    const dataType = BY_CODE.get(code!);
    if (!dataType)
      fail(`element type ${varTypeName(code!)} is not a float type this importer reads (FP32, FP16, BF16, FP64)`);
    const dims = desc.ints(TENSOR_DESC.dims);
    if (dims.some((d) => d < 0)) fail(`TensorDesc dims [${dims.join(', ')}] contain a negative size`);
    const numel = dims.reduce((a, d) => a * BigInt(d), 1n);
    const elementBytes = FLOAT_TYPES[dataType!].bytes;
    const byteLength = need(numel * BigInt(elementBytes), `dims [${dims.join(', ')}] of ${dataType}`);
    out.push({ dims, dataType: dataType!, data: decode(bytes.subarray(pos, pos + byteLength), dataType!) });
    pos += byteLength;
  }
  if (pos !== bytes.length) {
    throw new ImportError(
      `${file}: ${bytes.length - pos} trailing bytes after the ${out.length} tensors the program declares ` +
        '(the params file does not belong to this program, or it is corrupt)',
    );
  }
  return out;
}

function decode(raw: Uint8Array, type: PaddleFloatType): Float32Array {
  const n = raw.length / FLOAT_TYPES[type].bytes;
  // A copy into a fresh buffer: `slice()` of a Node Buffer is a view of the shared pool, not a copy.
  if (type === 'fp32' && LITTLE_ENDIAN_HOST) return new Float32Array(Uint8Array.from(raw).buffer);
  const out = new Float32Array(n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (type === 'fp32') for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  else if (type === 'fp64') for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  else if (type === 'fp16') for (let i = 0; i < n; i++) out[i] = fromFloat16Bits(view.getUint16(i * 2, true));
  else for (let i = 0; i < n; i++) out[i] = fromBfloat16Bits(view.getUint16(i * 2, true));
  return out;
}
