/**
 * Preprocessing as PaddleClas's inference pipeline (deploy/python/preprocess.py) does it, on decoded RGBA
 * pixels: RGB, resize (bilinear with OpenCV's INTER_LINEAR rule: half-pixel centres, clamped at the borders),
 * optionally a centre crop, then NormalizeImage: (x * scale - mean) / std, by default x / 255 and ImageNet's
 * mean / std. Output is HWC (tfjs's NHWC) rather than Paddle's CHW; the builder's filters are transposed to match.
 *
 * Done in plain JavaScript on the 8-bit pixels, straight to the network's input (224 x 224 by default, any
 * width x height): a 12-megapixel photo never becomes a 12-megapixel tensor (no 144 MB int32 upload to the GPU),
 * and every backend gets identical input.
 *
 * Departure from PaddleClas, kept small on purpose: OpenCV resizes uint8 images with 11-bit fixed-point
 * weights; we interpolate in float64 and round to the nearest integer (OpenCV's uint8 output is rounded too),
 * so the two agree to within one grey level at a few pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PreprocessOptions } from '../core/options.ts';

/** Decoded pixels: RGBA, row-major, 8 bits a channel (ImageData's layout). */
export interface RgbaPixels {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** The resized size before the crop: PaddleClas ResizeImage(resize_short). */
export function shortSideSize(width: number, height: number, resizeShort: number): { width: number; height: number } {
  const percent = resizeShort / Math.min(width, height);
  return { width: roundHalfEven(width * percent), height: roundHalfEven(height * percent) };
}

/** Python's round() rounds half to even; the sizes involved make a tie rare, but match it anyway. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Taps {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly frac: Float64Array;
}

/**
 * OpenCV INTER_LINEAR source taps for `count` output samples starting at `offset`, out of a resize from
 * `inSize` to `outSize`.
 */
function taps(inSize: number, outSize: number, offset: number, count: number): Taps {
  const scale = inSize / outSize;
  const lo = new Int32Array(count);
  const hi = new Int32Array(count);
  const frac = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const f = (i + offset + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let t = f - s;
    if (s < 0) [s, t] = [0, 0];
    if (s >= inSize - 1) [s, t] = [inSize - 1, 0];
    lo[i] = s;
    hi[i] = Math.min(s + 1, inSize - 1);
    frac[i] = t;
  }
  return { lo, hi, frac };
}

/**
 * RGBA pixels -> [height, width, 3] float32 (options.height x options.width), HWC, normalised, as PaddleClas's
 * inference preprocessing. Writes into `out` when given (a batch's slot: the batch is then uploaded in one piece,
 * with no per-image tensor to stack).
 */
export function preprocessPixels(pixels: RgbaPixels, options: PreprocessOptions, out?: Float32Array): Float32Array {
  const { width, height, data } = pixels;
  const { width: outW, height: outH } = options;
  // The resized image, of which the output is the centre (all of it, for a direct resize).
  let resizedW = outW;
  let resizedH = outH;
  let left = 0;
  let top = 0;
  if (options.mode === 'resize-short-crop') {
    const s = shortSideSize(width, height, options.resizeShort);
    resizedW = s.width;
    resizedH = s.height;
    // PaddleClas CropImage: w_start = (img_w - w) // 2, h_start = (img_h - h) // 2.
    left = Math.floor((resizedW - outW) / 2);
    top = Math.floor((resizedH - outH) / 2);
  }
  const xs = taps(width, resizedW, left, outW);
  const ys = taps(height, resizedH, top, outH);
  // (x * scale - mean) / std, as one multiply-add per value.
  const scale = [0, 1, 2].map((c) => options.scale / options.std[c]!);
  const shift = [0, 1, 2].map((c) => options.mean[c]! / options.std[c]!);
  const length = outW * outH * 3;
  if (out && out.length !== length)
    throw new RangeError(`preprocessPixels: out holds ${out.length} values, not ${length}`);
  const target = out ?? new Float32Array(length);
  for (let y = 0; y < outH; y++) {
    const row0 = ys.lo[y]! * width * 4;
    const row1 = ys.hi[y]! * width * 4;
    const fy = ys.frac[y]!;
    for (let x = 0; x < outW; x++) {
      const c0 = xs.lo[x]! * 4;
      const c1 = xs.hi[x]! * 4;
      const fx = xs.frac[x]!;
      const o = (y * outW + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top0 = data[row0 + c0 + c]! + (data[row0 + c1 + c]! - data[row0 + c0 + c]!) * fx;
        const bottom = data[row1 + c0 + c]! + (data[row1 + c1 + c]! - data[row1 + c0 + c]!) * fx;
        const v = Math.round(top0 + (bottom - top0) * fy);
        target[o + c] = v * scale[c]! - shift[c]!;
      }
    }
  }
  return target;
}

/** The same, as a tensor ready to stack into a batch. */
export function preprocessToTensor(pixels: RgbaPixels, options: PreprocessOptions): tf.Tensor3D {
  return tf.tensor3d(preprocessPixels(pixels, options), [options.height, options.width, 3]);
}
