/**
 * Fine-tuning's plain-data side: the labelled samples, the stratified train / validation split, and the
 * progress and report records that cross the worker boundary. The options, their defaults and validator live
 * in options.ts; what the worker's fineTune() returns (FineTuneResult: this report and the stored model) in
 * worker-api.ts.
 */
import type { ImageSource } from './embedder-api.ts';
import { OptionsError } from './errors.ts';
import { mulberry32 } from './seeded-random.ts';

export interface FineTuneSample {
  readonly image: ImageSource;
  /** Any text; images with an empty label are left out (and listed in the report). */
  readonly label: string;
  readonly name?: string;
}

/** Leave-one-out retrieval on the validation images (src/core/retrieval-metrics.ts). */
export interface RetrievalScore {
  readonly recallAt1: number;
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

/** What a fine-tuning run did: the data it used, validation before and after, the history per epoch. */
export interface FineTuneReport {
  /** The new model's id (the base's id + "-ft-" + a time stamp). */
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
    throw new OptionsError(
      `fine-tuning needs at least 2 labels; all ${labels.length} images are labelled "${labels[0]}"`,
    );
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
  const notes =
    single.length > 0
      ? [
          `${single.length} label(s) have a single image, used for training only: ${single
            .slice(0, 5)
            .map((s) => JSON.stringify(s))
            .join(', ')}${single.length > 5 ? ', …' : ''}`,
        ]
      : [];
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b), notes };
}
