/**
 * PP-LCNet (V1) as data: PaddleClas ppcls/arch/backbone/legendary_models/pp_lcnet.py, NET_CONFIG and
 * make_divisible, read by one builder (builder.ts) and one parameter table (parameters.ts).
 */

/** The eight scales PaddleClas publishes. */
export const PPLCNET_SCALES = [0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5] as const;
export type PPLCNetScale = (typeof PPLCNET_SCALES)[number];

/** One depthwise-separable block, channels before scaling (a NET_CONFIG row). */
export interface BlockRow {
  readonly kernel: 3 | 5;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: 1 | 2;
  readonly useSe: boolean;
}

const row = (kernel: 3 | 5, inChannels: number, outChannels: number, stride: 1 | 2, useSe: boolean): BlockRow => ({
  kernel,
  inChannels,
  outChannels,
  stride,
  useSe,
});

/** NET_CONFIG; the comments give each stage's input size for a 224 x 224 image. */
export const NET_CONFIG = {
  // 112 x 112 (after the stride-2 stem)
  blocks2: [row(3, 16, 32, 1, false)],
  // 112 x 112 -> 56 x 56
  blocks3: [row(3, 32, 64, 2, false), row(3, 64, 64, 1, false)],
  // 56 x 56 -> 28 x 28
  blocks4: [row(3, 64, 128, 2, false), row(3, 128, 128, 1, false)],
  // 28 x 28 -> 14 x 14
  blocks5: [
    row(3, 128, 256, 2, false),
    row(5, 256, 256, 1, false),
    row(5, 256, 256, 1, false),
    row(5, 256, 256, 1, false),
    row(5, 256, 256, 1, false),
    row(5, 256, 256, 1, false),
  ],
  // 14 x 14 -> 7 x 7, with squeeze-and-excitation
  blocks6: [row(5, 256, 512, 2, true), row(5, 512, 512, 1, true)],
} as const satisfies Record<string, readonly BlockRow[]>;

export type StageName = keyof typeof NET_CONFIG;
export const STAGE_NAMES = Object.keys(NET_CONFIG) as StageName[];

export const STEM_CHANNELS = 16;
export const STEM_KERNEL = 3;
export const LAST_CONV_IN = 512;
/** `class_expand`: the width of last_conv, hence of the backbone feature. Not scaled. */
export const CLASS_EXPAND = 1280;
/** SEModule's reduction. */
export const SE_REDUCTION = 4;
/** Dropout(p=0.2, mode="downscale_in_infer") multiplies by 1 - p at inference. */
export const DROPOUT_P = 0.2;
export const INFERENCE_DROPOUT_SCALE = 1 - DROPOUT_P;
/** Paddle's BatchNorm default epsilon. */
export const BN_EPSILON = 1e-5;
export const INPUT_SIZE = 224;

/** PaddleClas make_divisible, exactly (note `int(v + divisor / 2)` truncates, as Python's int does). */
export function makeDivisible(v: number, divisor = 8, minValue?: number): number {
  const floor = minValue ?? divisor;
  let next = Math.max(floor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (next < 0.9 * v) next += divisor;
  return next;
}

/** One scaled depthwise-separable block. */
export interface BlockPlan {
  /** State-dict prefix, e.g. `blocks5.3`. */
  readonly name: string;
  readonly kernel: 3 | 5;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: 1 | 2;
  /** SE bottleneck width (channels / 4), or 0 when the block has no SE. */
  readonly seChannels: number;
}

export interface PPLCNetPlan {
  readonly scale: number;
  readonly stemChannels: number;
  readonly blocks: readonly BlockPlan[];
  readonly lastConvIn: number;
  readonly featureDim: number;
}

export function isPPLCNetScale(scale: number): scale is PPLCNetScale {
  return (PPLCNET_SCALES as readonly number[]).includes(scale);
}

/** The scaled network for one scale. Any positive scale works; PaddleClas publishes PPLCNET_SCALES. */
export function planPPLCNet(scale: number): PPLCNetPlan {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`PP-LCNet scale must be a positive number, got ${scale}`);
  const blocks: BlockPlan[] = [];
  for (const stage of STAGE_NAMES) {
    NET_CONFIG[stage].forEach((r: BlockRow, i: number) => {
      const inChannels = makeDivisible(r.inChannels * scale);
      const outChannels = makeDivisible(r.outChannels * scale);
      blocks.push({
        name: `${stage}.${i}`,
        kernel: r.kernel,
        inChannels,
        outChannels,
        stride: r.stride,
        seChannels: r.useSe ? Math.floor(inChannels / SE_REDUCTION) : 0,
      });
    });
  }
  return {
    scale,
    stemChannels: makeDivisible(STEM_CHANNELS * scale),
    blocks,
    lastConvIn: makeDivisible(LAST_CONV_IN * scale),
    featureDim: CLASS_EXPAND,
  };
}
