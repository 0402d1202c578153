import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREPROCESS, validatePreprocess } from '../../src/core/options.ts';
import { OptionsError } from '../../src/core/errors.ts';
import { preprocessTensor, rgbaToTensor, shortSideSize } from '../../src/model/preprocess.ts';

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
    const out = preprocessTensor(rgbaToTensor(img), DEFAULT_PREPROCESS);
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
  ])('resizes %i x %i directly to 224 x 224 as OpenCV INTER_LINEAR, to within one grey level', async (w, h) => {
    const img = testCard(w, h);
    const out = preprocessTensor(rgbaToTensor(img), DEFAULT_PREPROCESS);
    const v = await out.data();
    let worst = 0;
    for (const [x, y] of [[0, 0], [223, 0], [0, 223], [111, 57], [223, 223], [17, 200]] as const) {
      for (let c = 0; c < 3; c++) {
        const pixel = v[(y * 224 + x) * 3 + c]! * DEFAULT_PREPROCESS.std[c]! * 255 + DEFAULT_PREPROCESS.mean[c]! * 255;
        worst = Math.max(worst, Math.abs(pixel - Math.round(opencvBilinear(img, 224, 224, c, x, y))));
      }
    }
    expect(worst).toBeLessThan(1.01);
    out.dispose();
  });

  it('resize-short-crop: short side to 256, centre crop 224, as PaddleClas ResizeImage + CenterCrop', async () => {
    expect(shortSideSize(640, 480, 256)).toEqual({ width: 341, height: 256 });
    expect(shortSideSize(100, 150, 256)).toEqual({ width: 256, height: 384 });
    const img = testCard(512, 256);
    const out = preprocessTensor(rgbaToTensor(img), { ...DEFAULT_PREPROCESS, mode: 'resize-short-crop' });
    expect(out.shape).toEqual([224, 224, 3]);
    // 512 x 256 already has a 256 short side: the crop starts at ((512 - 224) // 2, (256 - 224) // 2) = (144, 16).
    const v = await out.data();
    const raw = img.data[(16 * 512 + 144) * 4]!;
    expect(v[0]).toBeCloseTo((raw / 255 - 0.485) / 0.229, 5);
    out.dispose();
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const t = rgbaToTensor(testCard(50, 40));
    preprocessTensor(t, DEFAULT_PREPROCESS).dispose();
    preprocessTensor(t, { ...DEFAULT_PREPROCESS, mode: 'resize-short-crop' }).dispose();
    t.dispose();
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
