import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PREPROCESS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  validatePreprocess,
  type PreprocessOptions,
} from '../../src/core/options.ts';
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
function opencvBilinear(
  img: ReturnType<typeof testCard>,
  outW: number,
  outH: number,
  c: number,
  x: number,
  y: number,
): number {
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
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [100, 37],
      [223, 223],
    ] as const) {
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
    const toPixel = (i: number) =>
      Math.round(v[i]! * DEFAULT_PREPROCESS.std[i % 3]! * 255 + DEFAULT_PREPROCESS.mean[i % 3]! * 255);
    let worst = 0;
    for (let y = 0; y < 224; y += 7) {
      for (let x = 0; x < 224; x += 5) {
        for (let c = 0; c < 3; c++) {
          worst = Math.max(
            worst,
            Math.abs(toPixel((y * 224 + x) * 3 + c) - Math.round(opencvBilinear(img, 224, 224, c, x, y))),
          );
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

  /** Our output -> the 8-bit value before normalisation, under the given options. */
  const toPixelWith = (v: Float32Array, o: PreprocessOptions) => (i: number) =>
    Math.round((v[i]! * o.std[i % 3]! + o.mean[i % 3]!) / o.scale);

  it.each([
    [640, 480, 160, 80],
    [100, 150, 160, 80],
    [37, 23, 48, 96],
    [160, 80, 160, 80],
  ])('resizes %i x %i directly to a non-square %i x %i as OpenCV INTER_LINEAR', async (w, h, outW, outH) => {
    const img = testCard(w, h);
    const options = validatePreprocess({ width: outW, height: outH });
    const out = preprocessToTensor(img, options);
    expect(out.shape).toEqual([outH, outW, 3]);
    const toPixel = toPixelWith((await out.data()) as Float32Array, options);
    out.dispose();
    let worst = 0;
    for (let y = 0; y < outH; y++)
      for (let x = 0; x < outW; x++)
        for (let c = 0; c < 3; c++)
          worst = Math.max(
            worst,
            Math.abs(toPixel((y * outW + x) * 3 + c) - Math.round(opencvBilinear(img, outW, outH, c, x, y))),
          );
    expect(worst).toBe(0);
  });

  it.each([
    [300, 200, 100, 96, 64],
    [200, 301, 100, 64, 96],
    [513, 257, 256, 224, 160],
    [50, 40, 64, 64, 33],
  ])(
    'resize-short-crop: %i x %i, short side %i, then a non-square centre crop %i x %i, as ResizeImage + CropImage',
    (w, h, short, cropW, cropH) => {
      const img = testCard(w, h);
      const options = validatePreprocess({
        mode: 'resize-short-crop',
        resizeShort: short,
        width: cropW,
        height: cropH,
      });
      const v = preprocessPixels(img, options);
      expect(v.length).toBe(cropW * cropH * 3);
      // Written from PaddleClas's description: int(round(side * short / min(w, h))), Python's round taking ties
      // to even (200 x 301 -> 100 x 150.5 -> 150), then a crop from ((W - w) // 2, (H - h) // 2).
      const pyRound = (x: number) => (x % 1 === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
      const resizedW = pyRound(w * (short / Math.min(w, h)));
      const resizedH = pyRound(h * (short / Math.min(w, h)));
      const left = Math.floor((resizedW - cropW) / 2);
      const top = Math.floor((resizedH - cropH) / 2);
      const toPixel = toPixelWith(v, options);
      let worst = 0;
      for (let y = 0; y < cropH; y++)
        for (let x = 0; x < cropW; x++)
          for (let c = 0; c < 3; c++) {
            const want = Math.round(opencvBilinear(img, resizedW, resizedH, c, x + left, y + top));
            worst = Math.max(worst, Math.abs(toPixel((y * cropW + x) * 3 + c) - want));
          }
      expect(worst).toBe(0);
    },
  );

  it('applies NormalizeImage scale: (x * scale - mean) / std', () => {
    const img = testCard(64, 48);
    const raw = validatePreprocess({ width: 64, height: 48, scale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
    const rawValues = preprocessPixels(img, raw);
    // Same size: no resampling, so the raw values are the pixels.
    for (const [x, y] of [
      [0, 0],
      [63, 47],
      [10, 20],
    ] as const)
      for (let c = 0; c < 3; c++) expect(rawValues[(y * 64 + x) * 3 + c]).toBe(img.data[(y * 64 + x) * 4 + c]);
    const custom = validatePreprocess({ width: 64, height: 48, scale: 2 / 255, mean: [1, 0.5, 0], std: [0.5, 2, 1] });
    const v = preprocessPixels(img, custom);
    rawValues.forEach((x, i) =>
      expect(v[i]).toBeCloseTo((x * (2 / 255) - custom.mean[i % 3]!) / custom.std[i % 3]!, 5),
    );
    // The default scale is 1 / 255, as before the option existed.
    const byDefault = preprocessPixels(img, validatePreprocess({ width: 64, height: 48 }));
    rawValues.forEach((x, i) =>
      expect(byDefault[i]).toBeCloseTo((x / 255 - IMAGENET_MEAN[i % 3]!) / IMAGENET_STD[i % 3]!, 5),
    );
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
    expect(() => validatePreprocess({ width: 0 })).toThrow('preprocess.width must be an integer from 1 to 4096; got 0');
    expect(() => validatePreprocess({ height: 4097 })).toThrow(
      'preprocess.height must be an integer from 1 to 4096; got 4097',
    );
    expect(() => validatePreprocess({ width: 1.5 })).toThrow(
      'preprocess.width must be an integer from 1 to 4096; got 1.5',
    );
    expect(() => validatePreprocess({ size: 224.5, width: 224 })).toThrow(
      'preprocess.size must be an integer from 1 to 4096; got 224.5',
    );
    expect(() => validatePreprocess({ scale: 0 })).toThrow('preprocess.scale must be a positive finite number; got 0');
    expect(() => validatePreprocess({ scale: Number.NaN })).toThrow(
      'preprocess.scale must be a positive finite number; got NaN',
    );
    expect(() => validatePreprocess({ scale: '1/255' as never })).toThrow(
      'preprocess.scale must be a positive finite number; got 1/255',
    );
    expect(() => validatePreprocess({ mode: 'resize-short-crop', resizeShort: 256, width: 300, height: 200 })).toThrow(
      new OptionsError("preprocess.resizeShort (256) must be at least the crop's width and height (300 x 200)"),
    );
  });
});

describe('preprocessing options: width, height and the size shorthand', () => {
  it('defaults: 224 x 224 direct resize, x / 255, ImageNet mean / std', () => {
    expect(DEFAULT_PREPROCESS).toEqual({
      mode: 'resize',
      width: 224,
      height: 224,
      resizeShort: 256,
      scale: 1 / 255,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    });
    expect(DEFAULT_PREPROCESS.size).toBe(224);
    expect(validatePreprocess()).toEqual(DEFAULT_PREPROCESS);
  });

  it('size is the square shorthand: width = height = size', () => {
    const o = validatePreprocess({ size: 256 });
    expect([o.width, o.height, o.size]).toEqual([256, 256, 256]);
    // An old manifest's block reads as before, with the default scale.
    const old = {
      mode: 'resize-short-crop',
      size: 224,
      resizeShort: 256,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    } as const;
    expect(validatePreprocess(old)).toEqual({ ...old, size: undefined, width: 224, height: 224, scale: 1 / 255 });
  });

  it('non-square options carry no size; square ones carry it without writing it to JSON or spreads', () => {
    const wide = validatePreprocess({ width: 160, height: 80 });
    expect(wide.size).toBeUndefined();
    expect(JSON.parse(JSON.stringify(wide))).toEqual({
      mode: 'resize',
      width: 160,
      height: 80,
      resizeShort: 256,
      scale: 1 / 255,
      mean: [...IMAGENET_MEAN],
      std: [...IMAGENET_STD],
    });
    const square = validatePreprocess({ size: 96 });
    expect(Object.keys(square)).not.toContain('size');
    expect('size' in { ...square }).toBe(false);
  });

  it('an override merged over validated options means what it says, whichever form either side uses', () => {
    const square = validatePreprocess({ size: 224 });
    const wide = validatePreprocess({ width: 160, height: 80 });
    const sides = (o: PreprocessOptions) => [o.width, o.height];
    expect(sides(validatePreprocess({ ...square, width: 160, height: 80 }))).toEqual([160, 80]);
    expect(sides(validatePreprocess({ ...wide, size: 256 }))).toEqual([256, 256]);
    expect(sides(validatePreprocess({ ...square, size: 256 }))).toEqual([256, 256]);
    expect(sides(validatePreprocess({ ...wide, height: 96 }))).toEqual([160, 96]);
    expect(sides(validatePreprocess({ ...DEFAULT_PREPROCESS, width: 160, height: 80 }))).toEqual([160, 80]);
    // Given together, size wins: it is how an old caller's { size } override reaches a new manifest's options.
    expect(sides(validatePreprocess({ size: 128, width: 160, height: 80 }))).toEqual([128, 128]);
  });
});

describe('preprocessing into a batch slot', () => {
  it('writes the same values into the given array, and refuses one of the wrong length', () => {
    const data = new Uint8ClampedArray(50 * 40 * 4).map((_, i) => (i * 37) % 256);
    const pixels = { data, width: 50, height: 40 };
    const options = DEFAULT_PREPROCESS;
    const stride = options.height * options.width * 3;
    const batch = new Float32Array(2 * stride);
    const written = preprocessPixels(pixels, options, batch.subarray(stride, 2 * stride));
    expect(written.buffer).toBe(batch.buffer);
    expect(batch.subarray(stride)).toEqual(preprocessPixels(pixels, options));
    expect(batch.subarray(0, stride).every((v) => v === 0)).toBe(true);
    expect(() => preprocessPixels(pixels, options, new Float32Array(stride - 1))).toThrow(RangeError);
  });
});
