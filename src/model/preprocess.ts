/**
 * Preprocessing as PaddleClas's inference pipeline (deploy/python/preprocess.py) does it, on decoded RGBA
 * pixels: RGB, resize (bilinear, OpenCV's half-pixel centres), x / 255, ImageNet mean / std. Output is NHWC
 * (tfjs's layout) rather than Paddle's CHW; the builder's filters are transposed to match.
 *
 * Departure from PaddleClas, kept small on purpose: OpenCV resizes uint8 images with 11-bit fixed-point
 * weights; we resize in float32 and round to the nearest integer, as OpenCV's uint8 output is rounded, so the
 * two agree to within one grey level at a few pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PreprocessOptions } from '../core/options.ts';

/** Decoded pixels: RGBA, row-major, 8 bits a channel (ImageData's layout). */
export interface RgbaPixels {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/** RGBA bytes -> an int32 [H, W, 3] tensor; alpha is dropped, as cv2.imread drops it. */
export function rgbaToTensor(pixels: RgbaPixels): tf.Tensor3D {
  const { data, width, height } = pixels;
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height * 4; i += 4, j += 3) {
    rgb[j] = data[i]!;
    rgb[j + 1] = data[i + 1]!;
    rgb[j + 2] = data[i + 2]!;
  }
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

/** The resized (and, in crop mode, cropped) size before the crop: PaddleClas ResizeImage(resize_short). */
export function shortSideSize(width: number, height: number, resizeShort: number): { width: number; height: number } {
  const percent = resizeShort / Math.min(width, height);
  // Python's round() rounds half to even; the sizes involved make a tie vanishingly rare, but match anyway.
  return { width: roundHalfEven(width * percent), height: roundHalfEven(height * percent) };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function resizeRounded(x: tf.Tensor3D, height: number, width: number): tf.Tensor3D {
  if (x.shape[0] === height && x.shape[1] === width) return tf.cast(x, 'float32');
  return tf.tidy(() => tf.clipByValue(tf.round(tf.image.resizeBilinear(x, [height, width], false, true)), 0, 255));
}

/** [H, W, 3] pixel values 0..255 (any dtype) -> [size, size, 3] float32, normalised. */
export function preprocessTensor(image: tf.Tensor3D, options: PreprocessOptions): tf.Tensor3D {
  return tf.tidy(() => {
    const [height, width] = image.shape;
    let resized: tf.Tensor3D;
    if (options.mode === 'resize') {
      resized = resizeRounded(image, options.size, options.size);
    } else {
      const s = shortSideSize(width, height, options.resizeShort);
      const full = resizeRounded(image, s.height, s.width);
      // PaddleClas CenterCrop: w_start = (w - size) // 2.
      const top = Math.floor((s.height - options.size) / 2);
      const left = Math.floor((s.width - options.size) / 2);
      resized = tf.slice(full, [top, left, 0], [options.size, options.size, 3]);
    }
    const scaled = tf.div(tf.cast(resized, 'float32'), 255);
    return tf.div(tf.sub(scaled, tf.tensor1d([...options.mean])), tf.tensor1d([...options.std])) as tf.Tensor3D;
  });
}
