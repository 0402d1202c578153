/**
 * Fine-tuning's plain-data side: options with defaults and validation, the labelled-sample rules, the
 * stratified train / validation split, and the progress and result records that cross the worker boundary.
 */
import type { ImageSource } from './embedder-api.ts';
import { OptionsError } from './errors.ts';
import { mulberry32 } from './seeded-random.ts';

export type FineTuneOptimizer = 'momentum' | 'adam';

export interface ArcMarginSettings {
  /** s: logits scale. PP-ShiTu v1: 30. */
  readonly scale: number;
  /** m: additive angular margin (radians). PP-ShiTu v1: 0.2. */
  readonly margin: number;
  readonly easyMargin: boolean;
}

export interface FineTuneOptions {
  /** Passes over the training images. Default 40. */
  readonly epochs?: number;
  /** Default 32. */
  readonly batchSize?: number;
  /**
   * 'adam' (default) or 'momentum' (SGD, momentum 0.9, as PaddleClas). Adam is the default because it scored
   * higher on the validation share of finetune-train.txt (mAP 0.727 against 0.719 for momentum lr 0.05).
   */
  readonly optimizer?: FineTuneOptimizer;
  /** Peak learning rate after the warm-up. Default 0.05 for momentum, 0.001 for adam. */
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
  readonly arcMargin?: Partial<ArcMarginSettings>;
  /**
   * Weight of a batch-hard triplet term (cosine distance) added to ArcMargin's loss; 0 (default) trains with
   * ArcMargin alone, as PP-ShiTu v1. On finetune-train's validation share, 1 raised mAP from 0.724 to 0.774.
   */
  readonly tripletWeight?: number;
  /** The triplet term's margin, in cosine distance. Default 0.5. */
  readonly tripletMargin?: number;
  /** Seeds the split, the initialisation and the batch order. Default 0. */
  readonly seed?: number;
}

export type ResolvedFineTuneOptions = Required<Omit<FineTuneOptions, 'arcMargin'>> & { readonly arcMargin: ArcMarginSettings };

export const DEFAULT_ARC_MARGIN_SETTINGS: ArcMarginSettings = Object.freeze({ scale: 30, margin: 0.2, easyMargin: false });

export function resolveFineTuneOptions(o: FineTuneOptions = {}): ResolvedFineTuneOptions {
  const optimizer = o.optimizer ?? 'adam';
  if (optimizer !== 'momentum' && optimizer !== 'adam') throw new OptionsError(`optimizer must be "momentum" or "adam"; got ${JSON.stringify(optimizer)}`);
  const r: ResolvedFineTuneOptions = {
    epochs: o.epochs ?? 40,
    batchSize: o.batchSize ?? 32,
    optimizer,
    learningRate: o.learningRate ?? (optimizer === 'adam' ? 0.001 : 0.05),
    warmupEpochs: o.warmupEpochs ?? 2,
    weightDecay: o.weightDecay ?? 1e-5,
    trainNeck: o.trainNeck ?? true,
    validationFraction: o.validationFraction ?? 0.2,
    augment: o.augment ?? false,
    tripletWeight: o.tripletWeight ?? 0,
    tripletMargin: o.tripletMargin ?? 0.5,
    seed: o.seed ?? 0,
    arcMargin: { ...DEFAULT_ARC_MARGIN_SETTINGS, ...o.arcMargin },
  };
  const int = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new OptionsError(`${name} must be an integer from ${min} to ${max}; got ${v}`);
  };
  const num = (name: string, v: number, min: number, max: number) => {
    if (typeof v !== 'number' || !(v >= min && v <= max)) throw new OptionsError(`${name} must be a number from ${min} to ${max}; got ${v}`);
  };
  int('epochs', r.epochs, 1, 1000);
  int('batchSize', r.batchSize, 1, 1024);
  num('learningRate', r.learningRate, 1e-7, 10);
  num('warmupEpochs', r.warmupEpochs, 0, r.epochs);
  num('weightDecay', r.weightDecay, 0, 1);
  num('validationFraction', r.validationFraction, 0, 0.9);
  num('tripletWeight', r.tripletWeight, 0, 100);
  num('tripletMargin', r.tripletMargin, 0, 2);
  num('arcMargin.scale', r.arcMargin.scale, 1e-3, 1000);
  num('arcMargin.margin', r.arcMargin.margin, 0, Math.PI / 2);
  int('seed', r.seed, 0, 2 ** 31 - 1);
  return r;
}

export interface FineTuneSample {
  readonly image: ImageSource;
  /** Any text; images with an empty label are left out (and listed in the result). */
  readonly label: string;
  readonly name?: string;
}

export interface RetrievalScore {
  readonly recall_at_1: number;
  readonly map: number;
}

export interface FineTuneEpoch {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  /** Validation: the head's accuracy (eval mode: nearest class centre by cosine) and retrieval of the embeddings. */
  readonly valAccuracy: number;
  readonly valRecallAt1: number;
  readonly valMap: number;
  readonly seconds: number;
}

export interface FineTuneProgress {
  readonly phase: 'features' | 'train';
  readonly done: number;
  readonly total: number;
  readonly epoch?: FineTuneEpoch;
  /** Estimated time left in this phase. */
  readonly etaMs?: number;
}

export interface FineTuneResult {
  readonly modelId: string;
  readonly classes: readonly string[];
  readonly trainImages: number;
  readonly validationImages: number;
  /** Images left out, each with why. */
  readonly skipped: readonly { readonly name: string; readonly reason: string }[];
  /** Validation retrieval with the starting neck, and with the kept (best) weights. */
  readonly before: RetrievalScore;
  readonly after: RetrievalScore;
  readonly history: readonly FineTuneEpoch[];
  /** The epoch whose weights were kept (best validation mAP), 0 = the starting weights. */
  readonly bestEpoch: number;
  readonly stopped: boolean;
  readonly seconds: number;
  readonly notes: readonly string[];
}

export interface SplitPlan {
  readonly train: number[];
  readonly validation: number[];
  readonly notes: string[];
}

/**
 * Holds out `fraction` of each label's images (at least one when the label has two or more, none when it has
 * one: that image must train). Throws when the samples cannot train a classifier.
 */
export function planSplit(labels: readonly string[], fraction: number, seed: number): SplitPlan {
  if (labels.length === 0) throw new OptionsError('fine-tuning needs labelled images: none were given');
  const byLabel = new Map<string, number[]>();
  labels.forEach((l, i) => byLabel.set(l, [...(byLabel.get(l) ?? []), i]));
  if (byLabel.size < 2) {
    throw new OptionsError(`fine-tuning needs at least 2 labels; all ${labels.length} images are labelled "${labels[0]}"`);
  }
  const random = mulberry32(seed);
  const train: number[] = [];
  const validation: number[] = [];
  const single: string[] = [];
  for (const [label, idx] of byLabel) {
    const shuffled = [...idx];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    if (idx.length < 2) single.push(label);
    const held = fraction > 0 && idx.length >= 2 ? Math.max(1, Math.round(idx.length * fraction)) : 0;
    validation.push(...shuffled.slice(0, Math.min(held, idx.length - 1)));
    train.push(...shuffled.slice(Math.min(held, idx.length - 1)));
  }
  const notes = single.length > 0 ? [`${single.length} label(s) have a single image, used for training only: ${single.slice(0, 5).map((s) => JSON.stringify(s)).join(', ')}${single.length > 5 ? ', …' : ''}`] : [];
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b), notes };
}
