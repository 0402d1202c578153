/**
 * Fine-tuning's options: their defaults (DEFAULT_FINE_TUNE_OPTIONS), their valid ranges (FINE_TUNE_LIMITS,
 * which the training panel's inputs also use) and validateFineTuneOptions, which fills the defaults and throws
 * OptionsError naming the valid values.
 */
import { OptionsError } from '../errors.ts';

export type FineTuneOptimizer = 'momentum' | 'adam';
export const FINE_TUNE_OPTIMIZERS: readonly FineTuneOptimizer[] = ['adam', 'momentum'];

/**
 * How deep training reaches into the network. 'neck': the neck (and head) on cached 1280-d features;
 * 'last-conv': also last_conv (1280 x C, on the pooled last stage); 'last-block': also the last block of the
 * last stage (blocks6.1 at the default geometry: 5x5 depthwise, SE, pointwise); 'last-stage': also the stage's
 * first block (blocks6.0). What lies below the trained part runs once per image (and view) and is cached.
 */
export type FineTuneDepth = 'neck' | 'last-conv' | 'last-block' | 'last-stage';
export const FINE_TUNE_DEPTHS: readonly FineTuneDepth[] = ['neck', 'last-conv', 'last-block', 'last-stage'];

export interface ArcMarginSettings {
  /** s: logits scale. PP-ShiTu v1: 30. */
  readonly scale: number;
  /** m: additive angular margin (radians). PP-ShiTu v1: 0.2. */
  readonly margin: number;
  readonly easyMargin: boolean;
}

/** PP-ShiTu v1's head: s = 30, m = 0.2 (PaddleClas's ArcMargin class itself defaults to 80 and 0.5). */
export const DEFAULT_ARC_MARGIN: ArcMarginSettings = Object.freeze({ scale: 30, margin: 0.2, easyMargin: false });

export interface FineTuneOptions {
  /** Passes over the training images. Default 40. */
  readonly epochs?: number;
  /** Default 32. */
  readonly batchSize?: number;
  /**
   * 'adam' (default) or 'momentum' (SGD, momentum 0.9, as PaddleClas). The README's fine-tuning section
   * compares the two.
   */
  readonly optimizer?: FineTuneOptimizer;
  /** Peak learning rate after the warm-up. Default DEFAULT_LEARNING_RATE[optimizer]: 0.001 for adam, 0.05 for momentum. */
  readonly learningRate?: number;
  /** Linear warm-up epochs before the cosine decay. Default 2. */
  readonly warmupEpochs?: number;
  /** L2 weight decay (PaddleClas's L2 regulariser). Default 1e-5. */
  readonly weightDecay?: number;
  /** Train the neck (Linear 1280 -> D) with the head; false trains the head alone. Default true. */
  readonly trainNeck?: boolean;
  /** Share of each label's images held out for validation. Default 0.2. */
  readonly validationFraction?: number;
  /** Random crop and flip of the training images each epoch (features recomputed: slower). Default false. */
  readonly augment?: boolean;
  /** Default DEFAULT_ARC_MARGIN (PP-ShiTu v1's). */
  readonly arcMargin?: Partial<ArcMarginSettings>;
  /**
   * Weight of a batch-hard triplet term (cosine distance) added to ArcMargin's loss. Default 1, chosen on
   * finetune-train's validation share together with the head's scale 16 (docs/fine-tuning.md); 0 trains with
   * ArcMargin alone, as PP-ShiTu v1 does.
   */
  readonly tripletWeight?: number;
  /** The triplet term's margin, in cosine distance. Default 0.5. */
  readonly tripletMargin?: number;
  /**
   * How deep training reaches (FineTuneDepth). Default 'last-conv': on finetune-train's validation share it
   * scored highest of the depths that fit the 5-minute budget on WASM (docs/fine-tuning.md, "Depth"). Deeper than the neck, BatchNorm stays folded into its conv and frozen
   * as such: the conv's weight and bias train, not BatchNorm's statistics (PaddleClas trains BatchNorm).
   */
  readonly depth?: FineTuneDepth;
  /**
   * Views of each training image computed up front (the image itself, then random crops and flips): each
   * epoch takes one at random. Default 1. The cache grows with it (docs/fine-tuning.md, "Depth").
   */
  readonly views?: number;
  /**
   * The trained backbone layers' learning rate, as a share of learningRate (layer-wise rates). Default 1: for
   * 'last-conv', 1 scored higher on the validation share than 0.1 (docs/fine-tuning.md, "Depth"); lower it for
   * the deeper depths.
   */
  readonly backboneLearningRateFactor?: number;
  /** Seeds the split, the initialisation and the batch order. Default 0. */
  readonly seed?: number;
}

export type ResolvedFineTuneOptions = Required<Omit<FineTuneOptions, 'arcMargin'>> & {
  readonly arcMargin: ArcMarginSettings;
};

/** The default peak learning rate of each optimizer (PaddleClas's 0.05 for momentum SGD). */
export const DEFAULT_LEARNING_RATE: Readonly<Record<FineTuneOptimizer, number>> = Object.freeze({
  adam: 0.001,
  momentum: 0.05,
});

/** Every default but learningRate, which depends on the optimizer (DEFAULT_LEARNING_RATE). */
export const DEFAULT_FINE_TUNE_OPTIONS: Omit<ResolvedFineTuneOptions, 'learningRate'> = Object.freeze({
  epochs: 40,
  batchSize: 32,
  optimizer: 'adam',
  warmupEpochs: 2,
  weightDecay: 1e-5,
  trainNeck: true,
  validationFraction: 0.2,
  augment: false,
  // Not PP-ShiTu v1's recipe (ArcMargin alone, s = 30): a triplet term and s = 16 scored best on the validation
  // share of finetune-train (docs/fine-tuning.md, "Choosing the defaults").
  tripletWeight: 1,
  tripletMargin: 0.5,
  depth: 'last-conv',
  views: 1,
  backboneLearningRateFactor: 1,
  seed: 0,
  arcMargin: Object.freeze({ ...DEFAULT_ARC_MARGIN, scale: 16 }),
});

interface Limit {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
}

/** The valid range of each numeric option (warmupEpochs is further bounded by epochs). */
export const FINE_TUNE_LIMITS = Object.freeze({
  epochs: { min: 1, max: 1000, integer: true },
  batchSize: { min: 1, max: 1024, integer: true },
  learningRate: { min: 1e-7, max: 10, integer: false },
  warmupEpochs: { min: 0, max: 1000, integer: false },
  weightDecay: { min: 0, max: 1, integer: false },
  validationFraction: { min: 0, max: 0.9, integer: false },
  tripletWeight: { min: 0, max: 100, integer: false },
  tripletMargin: { min: 0, max: 2, integer: false },
  views: { min: 1, max: 8, integer: true },
  backboneLearningRateFactor: { min: 0, max: 10, integer: false },
  seed: { min: 0, max: 2 ** 31 - 1, integer: true },
  'arcMargin.scale': { min: 1e-3, max: 1000, integer: false },
  'arcMargin.margin': { min: 0, max: Math.PI / 2, integer: false },
} satisfies Record<string, Limit>);

function check(name: string, v: unknown, limit: Limit): void {
  const { min, max, integer } = limit;
  const ok = typeof v === 'number' && (integer ? Number.isInteger(v) : Number.isFinite(v)) && v >= min && v <= max;
  if (!ok)
    throw new OptionsError(
      `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}; got ${JSON.stringify(v)}`,
    );
}

function checkBoolean(name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new OptionsError(`${name} must be true or false; got ${JSON.stringify(v)}`);
}

/** Fills the defaults and checks every option. */
export function validateFineTuneOptions(o: FineTuneOptions = {}): ResolvedFineTuneOptions {
  const d = DEFAULT_FINE_TUNE_OPTIONS;
  const optimizer = o.optimizer ?? d.optimizer;
  if (!FINE_TUNE_OPTIMIZERS.includes(optimizer)) {
    throw new OptionsError(
      `optimizer must be one of ${FINE_TUNE_OPTIMIZERS.join(', ')}; got ${JSON.stringify(optimizer)}`,
    );
  }
  const depth = o.depth ?? d.depth;
  if (!FINE_TUNE_DEPTHS.includes(depth)) {
    throw new OptionsError(`depth must be one of ${FINE_TUNE_DEPTHS.join(', ')}; got ${JSON.stringify(depth)}`);
  }
  const r: ResolvedFineTuneOptions = {
    epochs: o.epochs ?? d.epochs,
    batchSize: o.batchSize ?? d.batchSize,
    optimizer,
    learningRate: o.learningRate ?? DEFAULT_LEARNING_RATE[optimizer],
    warmupEpochs: o.warmupEpochs ?? d.warmupEpochs,
    weightDecay: o.weightDecay ?? d.weightDecay,
    trainNeck: o.trainNeck ?? d.trainNeck,
    validationFraction: o.validationFraction ?? d.validationFraction,
    augment: o.augment ?? d.augment,
    tripletWeight: o.tripletWeight ?? d.tripletWeight,
    tripletMargin: o.tripletMargin ?? d.tripletMargin,
    depth,
    views: o.views ?? d.views,
    backboneLearningRateFactor: o.backboneLearningRateFactor ?? d.backboneLearningRateFactor,
    seed: o.seed ?? d.seed,
    arcMargin: { ...d.arcMargin, ...o.arcMargin },
  };
  const L = FINE_TUNE_LIMITS;
  check('epochs', r.epochs, L.epochs);
  check('batchSize', r.batchSize, L.batchSize);
  check('learningRate', r.learningRate, L.learningRate);
  check('warmupEpochs', r.warmupEpochs, { ...L.warmupEpochs, max: r.epochs });
  check('weightDecay', r.weightDecay, L.weightDecay);
  check('validationFraction', r.validationFraction, L.validationFraction);
  check('tripletWeight', r.tripletWeight, L.tripletWeight);
  check('tripletMargin', r.tripletMargin, L.tripletMargin);
  check('arcMargin.scale', r.arcMargin.scale, L['arcMargin.scale']);
  check('arcMargin.margin', r.arcMargin.margin, L['arcMargin.margin']);
  check('views', r.views, L.views);
  check('backboneLearningRateFactor', r.backboneLearningRateFactor, L.backboneLearningRateFactor);
  check('seed', r.seed, L.seed);
  checkBoolean('trainNeck', r.trainNeck);
  checkBoolean('augment', r.augment);
  checkBoolean('arcMargin.easyMargin', r.arcMargin.easyMargin);
  return r;
}
