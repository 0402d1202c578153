/**
 * The two compact forms the gallery's vectors could take, both measured in docs/gallery-scale.md: int8 with
 * one scale per vector (the one kept: 516 bytes for 512 values, and integer dot products in the kernel) and
 * IEEE half floats (1,024 bytes; no half-float arithmetic in WebAssembly SIMD, so it would be widened first).
 */

/** The largest int8 code: symmetric, so -127..127 and 0 stays exact. */
export const INT8_MAX = 127;
/** The query's codes: int16, so its rounding is 250 times finer than the stored vectors'. */
export const INT16_MAX = 32767;

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m) m = a;
  }
  return m;
}

/**
 * Writes `v` as codes into `out` from `offset` and returns the scale: v[i] ~ codes[i] * scale, each value
 * off by at most scale / 2 = max|v| / 254. A zero vector has scale 0.
 */
export function quantizeInto(
  v: ArrayLike<number>,
  out: Int8Array | Int16Array,
  offset: number,
  max: number = out instanceof Int8Array ? INT8_MAX : INT16_MAX,
): number {
  const m = maxAbs(v);
  if (!(m > 0) || !Number.isFinite(m)) {
    out.fill(0, offset, offset + v.length);
    return 0;
  }
  const inv = max / m;
  for (let i = 0; i < v.length; i++) out[offset + i] = Math.round(v[i]! * inv);
  return m / max;
}

/** int8 codes and their scale for one vector. */
export function quantizeInt8(v: ArrayLike<number>): { code: Int8Array; scale: number } {
  const code = new Int8Array(v.length);
  return { code, scale: quantizeInto(v, code, 0) };
}

export function dequantizeInt8(
  code: ArrayLike<number>,
  scale: number,
  out = new Float32Array(code.length),
): Float32Array {
  for (let i = 0; i < code.length; i++) out[i] = code[i]! * scale;
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE 754 binary16 bits of x, rounded to nearest even (subnormals kept, overflow to infinity). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** `v` as it would read back from half-float storage. */
export function roundTripFloat16(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = fromFloat16Bits(toFloat16Bits(v[i]!));
  return out;
}
