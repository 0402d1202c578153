/**
 * Writes a `.pdiparams` stream exactly as save_combine does: the inverse of
 * src/model/convert/paddle/paddle-params.ts's reader. The product's Paddle export and the tests' fixtures use it.
 */
import { TENSOR_DESC } from '../convert/paddle/paddle-proto.ts';
import { FLOAT_TYPES, type PaddleFloatType } from '../convert/paddle/paddle-params.ts';
import { ProtoWriter } from '../convert/wire/protobuf.ts';
import { toBfloat16Bits, toFloat16Bits } from '../convert/wire/float16.ts';
import { concatBytes } from '../convert/wire/bytes.ts';

export interface PaddleTensorInput {
  readonly dims: readonly number[];
  readonly data: ArrayLike<number>;
}

/** Writes records exactly as save_combine does (no LoD), all in one element type. */
export function writePaddleParams(
  tensors: readonly PaddleTensorInput[],
  dataType: PaddleFloatType = 'fp32',
): Uint8Array {
  const { code, bytes: size } = FLOAT_TYPES[dataType];
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    const numel = t.dims.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length)
      throw new RangeError(`dims [${t.dims.join(', ')}] hold ${numel} values, data has ${t.data.length}`);
    const desc = new ProtoWriter().varint(TENSOR_DESC.dataType, code);
    for (const d of t.dims) desc.varint(TENSOR_DESC.dims, d); // proto2 repeated int64: unpacked, as Paddle's C++ writes it
    const descBytes = desc.finish();
    const head = new DataView(new ArrayBuffer(20));
    head.setUint32(0, 0, true); // record version
    head.setBigUint64(4, 0n, true); // lod_level
    head.setUint32(12, 0, true); // tensor version
    head.setInt32(16, descBytes.length, true);
    const body = new DataView(new ArrayBuffer(numel * size));
    for (let i = 0; i < numel; i++) {
      const v = t.data[i]!;
      if (dataType === 'fp32') body.setFloat32(i * 4, v, true);
      else if (dataType === 'fp64') body.setFloat64(i * 8, v, true);
      else if (dataType === 'fp16') body.setUint16(i * 2, toFloat16Bits(v), true);
      else body.setUint16(i * 2, toBfloat16Bits(v), true);
    }
    parts.push(new Uint8Array(head.buffer), descBytes, new Uint8Array(body.buffer));
  }
  return concatBytes(parts);
}
