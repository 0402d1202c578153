/**
 * Test input shared by the scripts (parity, bench), and the independent NCHW normalisation ONNX Runtime gets.
 * No Node or DOM APIs: the benchmark page imports it too.
 */
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/core/options.ts';
import { mulberry32 } from '../../src/core/seeded-random.ts';

export interface Pixels {
  readonly data: Uint8ClampedArray<ArrayBuffer>;
  readonly width: number;
  readonly height: number;
}

/**
 * Deterministic RGBA images (224 x 224 unless said): smooth gradients plus noise, so the network has structure
 * to work on. At the model's own input size the preprocessing's resize is the identity, so ONNX Runtime and
 * the engine see the same values.
 */
export function syntheticImages(count: number, width = 224, height = 224): Pixels[] {
  return Array.from({ length: count }, (_, n) => {
    const rand = mulberry32(1000 + n);
    const data = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      const x = p % width;
      const y = Math.floor(p / width);
      for (let c = 0; c < 3; c++)
        data[p * 4 + c] =
          128 + 90 * Math.sin((x * (c + 1) + n * 17) / 13) * Math.cos((y + c * 5) / (9 + n)) + 30 * (rand() - 0.5);
      data[p * 4 + 3] = 255;
    }
    return { data, width, height };
  });
}

/**
 * RGBA images, all of one size -> [N, 3, H, W] float32, (x / 255 - mean) / std: PaddleClas's NormalizeImage +
 * ToCHW, written here apart from src/model/preprocess.ts so ONNX Runtime's input is independent of ours.
 */
export function normaliseNchw(
  images: readonly { data: ArrayLike<number>; width: number; height: number }[],
): Float32Array {
  const width = images[0]?.width ?? 224;
  const height = images[0]?.height ?? 224;
  const plane = width * height;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((im, n) => {
    if (im.width !== width || im.height !== height) throw new Error('the ORT reference takes images of one size');
    for (let c = 0; c < 3; c++) {
      const base = (n * 3 + c) * plane;
      for (let p = 0; p < plane; p++)
        out[base + p] = (im.data[p * 4 + c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
    }
  });
  return out;
}
