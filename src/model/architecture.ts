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

/** A stride as Paddle writes it: [along H, along W]. PaddleClas's `stride_list` takes ints or [h, w] pairs. */
export type StrideHW = readonly [number, number];

/**
 * Everything PaddleClas's PPLCNet constructor takes that changes the network (pp_lcnet.py PPLCNetBaseNet):
 * `scale`, `stride_list` (the stem and the first block of blocks3-6; text-line models use [2, 1] strides),
 * `use_last_conv`, `class_expand` and `dropout_prob`. The input size is not here: the network is fully
 * convolutional up to the global pool, so it comes from the preprocessing.
 */
export interface PPLCNetGeometry {
  readonly scale: number;
  /** Five strides: conv1, then the first block of blocks3, blocks4, blocks5 and blocks6. */
  readonly strideList: readonly StrideHW[];
  /** false: pool -> flatten -> fc straight from the last stage (no last_conv, no hardswish, no dropout). */
  readonly useLastConv: boolean;
  /** last_conv's width, hence the feature's, when useLastConv. Not scaled. */
  readonly classExpand: number;
  /** Dropout(p, mode="downscale_in_infer") multiplies by 1 - p at inference (after last_conv only). */
  readonly dropoutProb: number;
}

export const DEFAULT_STRIDE_LIST: readonly StrideHW[] = Object.freeze([
  [2, 2],
  [2, 2],
  [2, 2],
  [2, 2],
  [2, 2],
] as const);
const STRIDED_STAGES = ['blocks3', 'blocks4', 'blocks5', 'blocks6'] as const;

/** PaddleClas's defaults at a scale: what PP-ShiTu and the ImageNet models use. */
export function standardGeometry(scale: number): PPLCNetGeometry {
  return {
    scale,
    strideList: DEFAULT_STRIDE_LIST,
    useLastConv: true,
    classExpand: CLASS_EXPAND,
    dropoutProb: DROPOUT_P,
  };
}

export function isStandardGeometry(g: PPLCNetGeometry): boolean {
  const s = standardGeometry(g.scale);
  return (
    g.useLastConv === s.useLastConv &&
    g.classExpand === s.classExpand &&
    Math.abs(g.dropoutProb - s.dropoutProb) < 1e-7 &&
    g.strideList.every((st, i) => st[0] === s.strideList[i]![0] && st[1] === s.strideList[i]![1])
  );
}

/** `2` -> [2, 2]; `[2, 1]` stays. */
export function toStrideHW(stride: number | readonly number[]): StrideHW {
  if (typeof stride === 'number') return [stride, stride];
  if (stride.length === 1) return [stride[0]!, stride[0]!];
  return [stride[0]!, stride[1]!];
}

/** Checks a geometry (from a manifest or an importer); throws RangeError naming the bad field. */
export function validateGeometry(g: PPLCNetGeometry): PPLCNetGeometry {
  if (!(g.scale > 0) || !Number.isFinite(g.scale))
    throw new RangeError(`PP-LCNet scale must be a positive number, got ${g.scale}`);
  if (g.strideList.length !== 5)
    throw new RangeError(`stride_list must have 5 entries (conv1, blocks3-6), got ${g.strideList.length}`);
  for (const s of g.strideList) {
    if (s.length !== 2 || !s.every((v) => Number.isInteger(v) && v >= 1 && v <= 4)) {
      throw new RangeError(`stride_list entries must be 1-4 or [h, w] pairs of 1-4, got [${s.join(', ')}]`);
    }
  }
  if (!Number.isInteger(g.classExpand) || g.classExpand < 1)
    throw new RangeError(`class_expand must be a positive integer, got ${g.classExpand}`);
  if (!(g.dropoutProb >= 0 && g.dropoutProb < 1))
    throw new RangeError(`dropout_prob must be in [0, 1), got ${g.dropoutProb}`);
  return g;
}

/** One scaled depthwise-separable block. */
export interface BlockPlan {
  /** State-dict prefix, e.g. `blocks5.3`. */
  readonly name: string;
  readonly kernel: 3 | 5;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: StrideHW;
  /** SE bottleneck width (channels / 4), or 0 when the block has no SE. */
  readonly seChannels: number;
}

export interface PPLCNetPlan {
  readonly geometry: PPLCNetGeometry;
  readonly scale: number;
  readonly stemChannels: number;
  readonly stemStride: StrideHW;
  readonly blocks: readonly BlockPlan[];
  /** Channels of the last stage (last_conv's input, or the feature without last_conv). */
  readonly lastConvIn: number;
  /** The backbone feature's width: class_expand with last_conv, else the last stage's channels. */
  readonly featureDim: number;
}

export function isPPLCNetScale(scale: number): scale is PPLCNetScale {
  return (PPLCNET_SCALES as readonly number[]).includes(scale);
}

/** The scaled network for a scale (PaddleClas's defaults) or a whole geometry. Any positive scale works. */
export function planPPLCNet(scaleOrGeometry: number | PPLCNetGeometry): PPLCNetPlan {
  const geometry = validateGeometry(
    typeof scaleOrGeometry === 'number' ? standardGeometry(scaleOrGeometry) : scaleOrGeometry,
  );
  const scale = geometry.scale;
  const blocks: BlockPlan[] = [];
  for (const stage of STAGE_NAMES) {
    const strided = (STRIDED_STAGES as readonly string[]).indexOf(stage);
    NET_CONFIG[stage].forEach((r: BlockRow, i: number) => {
      const inChannels = makeDivisible(r.inChannels * scale);
      const outChannels = makeDivisible(r.outChannels * scale);
      blocks.push({
        name: `${stage}.${i}`,
        kernel: r.kernel,
        inChannels,
        outChannels,
        // PaddleClas overwrites NET_CONFIG's stride of each stage's first block with stride_list[1:].
        stride: i === 0 && strided >= 0 ? geometry.strideList[strided + 1]! : toStrideHW(r.stride),
        seChannels: r.useSe ? Math.floor(inChannels / SE_REDUCTION) : 0,
      });
    });
  }
  const lastConvIn = makeDivisible(LAST_CONV_IN * scale);
  return {
    geometry,
    scale,
    stemChannels: makeDivisible(STEM_CHANNELS * scale),
    stemStride: geometry.strideList[0]!,
    blocks,
    lastConvIn,
    featureDim: geometry.useLastConv ? geometry.classExpand : lastConvIn,
  };
}

/** A stride for messages: `2`, or `[2, 1]` when H and W differ. */
export function describeStride(s: StrideHW): string {
  return s[0] === s[1] ? String(s[0]) : `[${s[0]}, ${s[1]}]`;
}
