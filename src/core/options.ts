/**
 * Options shared by every layer, with their defaults in one place and validators that fill defaults and
 * throw OptionsError listing the valid values.
 */
import { OptionsError } from './errors.ts';

/** ImageNet statistics, as PaddleClas's NormalizeImage uses them (on x / 255). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * `resize`: PaddleClas's recognition inference config (deploy/configs/inference_rec.yaml): a direct
 * resize to size x size, no aspect kept, no crop. `resize-short-crop`: the classification configs' resize of
 * the short side to `resizeShort`, then a centre crop of size x size.
 */
export type ResizeMode = 'resize' | 'resize-short-crop';

export interface PreprocessOptions {
  readonly mode: ResizeMode;
  /** Network input side. */
  readonly size: number;
  /** Short side before the crop, for `resize-short-crop`. */
  readonly resizeShort: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export const DEFAULT_PREPROCESS: PreprocessOptions = Object.freeze({
  mode: 'resize',
  size: 224,
  resizeShort: 256,
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
});

export const RESIZE_MODES: readonly ResizeMode[] = ['resize', 'resize-short-crop'];

export function validatePreprocess(options: Partial<PreprocessOptions> = {}): PreprocessOptions {
  const o = { ...DEFAULT_PREPROCESS, ...options };
  if (!RESIZE_MODES.includes(o.mode)) {
    throw new OptionsError(`preprocess.mode must be one of ${RESIZE_MODES.join(', ')}; got "${String(o.mode)}"`);
  }
  for (const key of ['size', 'resizeShort'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1 || o[key] > 4096) {
      throw new OptionsError(`preprocess.${key} must be an integer from 1 to 4096; got ${String(o[key])}`);
    }
  }
  if (o.mode === 'resize-short-crop' && o.resizeShort < o.size) {
    throw new OptionsError(`preprocess.resizeShort (${o.resizeShort}) must be at least size (${o.size})`);
  }
  for (const key of ['mean', 'std'] as const) {
    const v = o[key];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new OptionsError(`preprocess.${key} must be three finite numbers (R, G, B)`);
    }
  }
  if (o.std.some((x) => x === 0)) throw new OptionsError('preprocess.std must not contain 0');
  return o;
}
