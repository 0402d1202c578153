/** Preprocessing: how an image becomes the network's input. Its default, DEFAULT_PREPROCESS, and validator. */
import { OptionsError } from '../errors.ts';

/** ImageNet statistics, as PaddleClas's NormalizeImage uses them (on x * scale, scale = 1 / 255). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * `resize`: PaddleClas's recognition inference config (deploy/configs/inference_rec.yaml): a direct
 * resize to width x height, no aspect kept, no crop. `resize-short-crop`: the classification configs' resize of
 * the short side to `resizeShort`, then a centre crop of width x height.
 */
export type ResizeMode = 'resize' | 'resize-short-crop';

export interface PreprocessOptions {
  readonly mode: ResizeMode;
  /** Network input width: the resize target for `resize`, the crop's width for `resize-short-crop`. */
  readonly width: number;
  /** Network input height, likewise. */
  readonly height: number;
  /**
   * Square shorthand, kept for old manifests and callers: `size: n` means width = height = n, and wins over
   * width and height when both are given (`{ ...validated, size: 256 }` means 256 x 256).
   *
   * Validated options carry it, equal to width, only when width === height, and not enumerable: a spread or
   * JSON of validated options never holds a size that would later override a new width and height
   * (`{ ...validated, width: 160, height: 80 }` must mean 160 x 80). Read width and height, not this.
   */
  readonly size?: number;
  /** Short side before the crop, for `resize-short-crop`. */
  readonly resizeShort: number;
  /** NormalizeImage's scale: each 8-bit value is multiplied by it before mean and std apply. */
  readonly scale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export const DEFAULT_PREPROCESS: PreprocessOptions = Object.freeze(
  withSize({
    mode: 'resize',
    width: 224,
    height: 224,
    resizeShort: 256,
    scale: 1 / 255,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  }),
);

export const RESIZE_MODES: readonly ResizeMode[] = ['resize', 'resize-short-crop'];

const MAX_SIDE = 4096;

/** Adds the non-enumerable `size` (see PreprocessOptions.size) when the input is square. */
function withSize(o: Omit<PreprocessOptions, 'size'>): PreprocessOptions {
  if (o.width === o.height) Object.defineProperty(o, 'size', { value: o.width, enumerable: false });
  return o;
}

function side(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
    throw new OptionsError(`preprocess.${key} must be an integer from 1 to ${MAX_SIDE}; got ${String(v)}`);
  }
  return v;
}

/** Fills defaults and checks every field; `size`, when given, sets width and height. */
export function validatePreprocess(options: Partial<PreprocessOptions> = {}): PreprocessOptions {
  const { size, ...rest } = options;
  const o = { ...DEFAULT_PREPROCESS, ...rest };
  if (!RESIZE_MODES.includes(o.mode)) {
    throw new OptionsError(`preprocess.mode must be one of ${RESIZE_MODES.join(', ')}; got "${String(o.mode)}"`);
  }
  if (size !== undefined) side('size', size);
  const width = side('width', size ?? o.width);
  const height = side('height', size ?? o.height);
  const resizeShort = side('resizeShort', o.resizeShort);
  if (o.mode === 'resize-short-crop' && resizeShort < Math.max(width, height)) {
    // The short side becomes resizeShort and the long side at least that: a crop no larger always fits.
    throw new OptionsError(
      `preprocess.resizeShort (${resizeShort}) must be at least the crop's width and height (${width} x ${height})`,
    );
  }
  if (typeof o.scale !== 'number' || !Number.isFinite(o.scale) || o.scale <= 0) {
    throw new OptionsError(`preprocess.scale must be a positive finite number; got ${String(o.scale)}`);
  }
  for (const key of ['mean', 'std'] as const) {
    const v = o[key];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new OptionsError(`preprocess.${key} must be three finite numbers (R, G, B)`);
    }
  }
  if (o.std.some((x) => x === 0)) throw new OptionsError('preprocess.std must not contain 0');
  return withSize({ mode: o.mode, width, height, resizeShort, scale: o.scale, mean: o.mean, std: o.std });
}
