import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREPROCESS, validatePreprocess } from '../../src/core/options.ts';
import { OptionsError } from '../../src/core/errors.ts';
import { preprocessPixels, preprocessToTensor, shortSideSize } from '../../src/model/preprocess.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A fixed test card: each channel a different function of (x, y), so transposes and flips show. */
function testCard(width: number, height: number) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i] = (x * 37 + y * 11) % 256;
      data[i + 1] = (y * 53 + 7) % 256;
      data[i + 2] = (x * y * 5) % 256;
      data[i + 3] = x % 2 ? 0 : 255; // alpha must be ignored
    }
  return { data, width, height };
}

/** OpenCV's INTER_LINEAR coordinate rule (half-pixel centres, clamped at the borders), written independently. */
function opencvBilinear(img: ReturnType<typeof testCard>, outW: number, outH: number, c: number, x: number, y: number): number {
  const coord = (d: number, scale: number, size: number): [number, number, number] => {
    let f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    f -= s;
    if (s < 0) [s, f] = [0, 0];
    if (s >= size - 1) [s, f] = [size - 1, 0];
    return [s, Math.min(s + 1, size - 1), f];
  };
  const [x0, x1, fx] = coord(x, img.width / outW, img.width);
  const [y0, y1, fy] = coord(y, img.height / outH, img.height);
  const p = (xx: number, yy: number) => img.data[(yy * img.width + xx) * 4 + c]!;
  return (p(x0, y0) * (1 - fx) + p(x1, y0) * fx) * (1 - fy) + (p(x0, y1) * (1 - fx) + p(x1, y1) * fx) * fy;
}

describe('preprocessing', () => {
  it('normalises an image that is already 224 x 224 exactly: (x / 255 - mean) / std, RGB order, alpha dropped', async () => {
    const img = testCard(224, 224);
    const out = preprocessToTensor(img, DEFAULT_PREPROCESS);
    expect(out.shape).toEqual([224, 224, 3]);
    const v = await out.data();
    for (const [x, y] of [[0, 0], [1, 0], [100, 37], [223, 223]] as const) {
      for (let c = 0; c < 3; c++) {
        const raw = img.data[(y * 224 + x) * 4 + c]!;
        const want = (raw / 255 - DEFAULT_PREPROCESS.mean[c]!) / DEFAULT_PREPROCESS.std[c]!;
        expect(v[(y * 224 + x) * 3 + c]).toBeCloseTo(want, 5);
      }
    }
    out.dispose();
  });

  it.each([
    [640, 480],
    [100, 150],
    [225, 224],
  ])('resizes %i x %i directly to 224 x 224 as OpenCV INTER_LINEAR, rounded to 8 bits', async (w, h) => {
    const img = testCard(w, h);
    const v = preprocessPixels(img, DEFAULT_PREPROCESS);
    const toPixel = (i: number) => Math.round(v[i]! * DEFAULT_PREPROCESS.std[i % 3]! * 255 + DEFAULT_PREPROCESS.mean[i % 3]! * 255);
    let worst = 0;
    for (let y = 0; y < 224; y += 7) {
      for (let x = 0; x < 224; x += 5) {
        for (let c = 0; c < 3; c++) {
          worst = Math.max(worst, Math.abs(toPixel((y * 224 + x) * 3 + c) - Math.round(opencvBilinear(img, 224, 224, c, x, y))));
        }
      }
    }
    expect(worst).toBe(0);
    // And against tfjs's own resizeBilinear (half-pixel centres), an independent implementation: it works out
    // coordinates and weights in float32, so values near .5 may round the other way, never by more than one
    // grey level (measured: 2.7% of values at 640 x 480, none at 225 x 224).
    const rgb = tf.tensor3d(Int32Array.from(img.data.filter((_, i) => i % 4 !== 3)), [h, w, 3], 'int32');
    const ref = tf.round(tf.image.resizeBilinear(rgb, [224, 224], false, true));
    const refValues = await ref.data();
    let off = 0;
    refValues.forEach((r, i) => {
      const d = Math.abs(r - toPixel(i));
      expect(d).toBeLessThanOrEqual(1);
      off += d;
    });
    expect(off / refValues.length).toBeLessThan(0.05);
    tf.dispose([rgb, ref]);
  });

  it('resize-short-crop: short side to 256, centre crop 224, as PaddleClas ResizeImage + CenterCrop', async () => {
    expect(shortSideSize(640, 480, 256)).toEqual({ width: 341, height: 256 });
    expect(shortSideSize(100, 150, 256)).toEqual({ width: 256, height: 384 });
    const img = testCard(512, 256);
    const out = preprocessToTensor(img, { ...DEFAULT_PREPROCESS, mode: 'resize-short-crop' });
    expect(out.shape).toEqual([224, 224, 3]);
    // 512 x 256 already has a 256 short side: the crop starts at ((512 - 224) // 2, (256 - 224) // 2) = (144, 16).
    const v = await out.data();
    const raw = img.data[(16 * 512 + 144) * 4]!;
    expect(v[0]).toBeCloseTo((raw / 255 - 0.485) / 0.229, 5);
    out.dispose();
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    preprocessToTensor(testCard(50, 40), DEFAULT_PREPROCESS).dispose();
    preprocessToTensor(testCard(50, 40), { ...DEFAULT_PREPROCESS, mode: 'resize-short-crop' }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad options with the valid values', () => {
    expect(() => validatePreprocess({ mode: 'crop' as never })).toThrow(
      new OptionsError('preprocess.mode must be one of resize, resize-short-crop; got "crop"'),
    );
    expect(() => validatePreprocess({ size: 0 })).toThrow('preprocess.size must be an integer from 1 to 4096; got 0');
    expect(() => validatePreprocess({ std: [1, 0, 1] })).toThrow('preprocess.std must not contain 0');
  });
});

describe('preprocessing into a batch slot', () => {
  it('writes the same values into the given array, and refuses one of the wrong length', () => {
    const data = new Uint8ClampedArray(50 * 40 * 4).map((_, i) => (i * 37) % 256);
    const pixels = { data, width: 50, height: 40 };
    const options = DEFAULT_PREPROCESS;
    const stride = options.size * options.size * 3;
    const batch = new Float32Array(2 * stride);
    const written = preprocessPixels(pixels, options, batch.subarray(stride, 2 * stride));
    expect(written.buffer).toBe(batch.buffer);
    expect(batch.subarray(stride)).toEqual(preprocessPixels(pixels, options));
    expect(batch.subarray(0, stride).every((v) => v === 0)).toBe(true);
    expect(() => preprocessPixels(pixels, options, new Float32Array(stride - 1))).toThrow(RangeError);
  });
});
