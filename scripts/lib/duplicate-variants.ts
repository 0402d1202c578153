/**
 * Near-duplicates of a photo, for scripts/duplicate-threshold.ts: what a gallery really collects when one
 * picture arrives twice. Each variant's parameters are drawn from a seeded generator:
 *
 *   jpeg        re-encoded as JPEG at quality 60 to 90 (jpeg-js)
 *   resize      scaled to 50 to 80 % of each side (area averaging, as browsers and image tools downscale)
 *   crop        90 to 95 % of each side kept, at a random place
 *   brightness  every channel times 0.88 to 0.95 or 1.05 to 1.12
 *   combined    crop, then resize, then brightness, then JPEG: a photo saved again from a chat app
 *
 * Variants other than JPEG stay as pixels (lossless), so each kind measures its own change.
 */
import { encode as encodeJpegData } from 'jpeg-js';
import type { RgbaPixels } from '../../src/model/preprocess.ts';

export const VARIANT_KINDS = ['jpeg', 'resize', 'crop', 'brightness', 'combined'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

export interface Variant {
  readonly kind: VariantKind;
  /** The drawn parameters, in words, e.g. "quality 73". */
  readonly params: string;
  /** RGBA pixels, or the bytes of a JPEG file. */
  readonly image: RgbaPixels | Uint8Array;
}

const between = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand();

export function makeVariants(original: RgbaPixels, rand: () => number): Variant[] {
  const quality = Math.round(between(rand, 60, 90));
  const scale = between(rand, 0.5, 0.8);
  const keep = between(rand, 0.9, 0.95);
  const cropAt = [rand(), rand()] as const;
  const factor = (rand() < 0.5 ? -1 : 1) * between(rand, 0.05, 0.12) + 1;
  const resized = resizeArea(original, Math.round(original.width * scale), Math.round(original.height * scale));
  const cropped = cropFraction(original, keep, cropAt);
  const combined = encodeJpeg(
    scaleBrightness(resizeArea(cropped, Math.round(cropped.width * scale), Math.round(cropped.height * scale)), factor),
    quality,
  );
  return [
    { kind: 'jpeg', params: `quality ${quality}`, image: encodeJpeg(original, quality) },
    { kind: 'resize', params: `${pct(scale)} of each side`, image: resized },
    { kind: 'crop', params: `${pct(keep)} of each side`, image: cropped },
    { kind: 'brightness', params: `x ${factor.toFixed(3)}`, image: scaleBrightness(original, factor) },
    {
      kind: 'combined',
      params: `crop ${pct(keep)}, resize ${pct(scale)}, x ${factor.toFixed(3)}, quality ${quality}`,
      image: combined,
    },
  ];
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

export function encodeJpeg(image: RgbaPixels, quality: number): Uint8Array {
  const { data } = encodeJpegData({ data: image.data, width: image.width, height: image.height }, quality);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** `keep` of each side, the window placed at fractions `at` of the room left over. */
export function cropFraction(image: RgbaPixels, keep: number, at: readonly [number, number]): RgbaPixels {
  const w = Math.max(1, Math.round(image.width * keep));
  const h = Math.max(1, Math.round(image.height * keep));
  const x0 = Math.floor((image.width - w) * at[0]);
  const y0 = Math.floor((image.height - h) * at[1]);
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * image.width + x0) * 4;
    data.set(image.data.subarray(from, from + w * 4), y * w * 4);
  }
  return { data, width: w, height: h };
}

/** Every colour channel times `factor`, clamped; alpha kept. */
export function scaleBrightness(image: RgbaPixels, factor: number): RgbaPixels {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    data[i] = i % 4 === 3 ? image.data[i]! : Math.min(255, Math.max(0, Math.round(image.data[i]! * factor)));
  }
  return { data, width: image.width, height: image.height };
}

/**
 * Area-averaging resize (each output pixel the mean of the input area it covers, fractional pixels weighted),
 * done along x then y.
 */
export function resizeArea(image: RgbaPixels, width: number, height: number): RgbaPixels {
  const w = Math.max(1, width);
  const h = Math.max(1, height);
  const xs = areaWeights(image.width, w);
  const ys = areaWeights(image.height, h);
  const rows = new Float64Array(image.height * w * 4);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < w; x++) {
      for (const [sx, weight] of xs[x]!) {
        const from = (y * image.width + sx) * 4;
        const to = (y * w + x) * 4;
        for (let c = 0; c < 4; c++) rows[to + c]! += weight * image.data[from + c]!;
      }
    }
  }
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const to = (y * w + x) * 4;
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (const [sy, weight] of ys[y]!) s += weight * rows[(sy * w + x) * 4 + c]!;
        data[to + c] = Math.min(255, Math.max(0, Math.round(s)));
      }
    }
  }
  return { data, width: w, height: h };
}

/** For each of `to` output pixels, the input pixels it covers and their weights (summing to 1). */
function areaWeights(from: number, to: number): [number, number][][] {
  const step = from / to;
  return Array.from({ length: to }, (_, i) => {
    const lo = i * step;
    const hi = (i + 1) * step;
    const out: [number, number][] = [];
    for (let s = Math.floor(lo); s < Math.min(from, Math.ceil(hi)); s++) {
      const cover = Math.min(hi, s + 1) - Math.max(lo, s);
      if (cover > 0) out.push([s, cover / step]);
    }
    return out;
  });
}
