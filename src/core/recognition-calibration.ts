/**
 * Open-set recognition, measured as PP-ShiTu is used: a gallery of a few images per known class, queries of
 * known classes (recognised when the top-1 gallery match has the right label and reaches the threshold) and of
 * unknown classes (rejected when their best score stays under it). Pure functions on L2-normalised
 * embeddings, shared by scripts/calibrate-threshold.ts (training classes) and scripts/recognition-eval.ts
 * (eval classes), so both run the very same protocol.
 */
import { mulberry32 } from './seeded-random.ts';

/** One draw of the protocol; every number is an index into the embeddings. */
export interface OpenSetTrial {
  /** The known classes, sorted by name. */
  readonly knownClasses: readonly string[];
  readonly unknownClasses: readonly string[];
  readonly gallery: readonly number[];
  /** The known classes' images not in the gallery. */
  readonly knownQueries: readonly number[];
  /** Every image of the unknown classes. */
  readonly unknownQueries: readonly number[];
}

export interface OpenSetTrialOptions {
  /** How many classes are known (in the gallery); the others are unknown. */
  readonly knownClasses: number;
  readonly galleryPerClass: number;
  readonly seed: number;
}

/** Fisher-Yates over a copy, driven by `rand` (mulberry32), so a seed always gives the same order. */
export function seededShuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Classes are sorted by name before the seeded draw, so a trial depends on the seed and the set of images, not
 * on the order of the split file. Throws a RangeError when a known class has no image left to query.
 */
export function openSetTrial(labels: readonly string[], options: OpenSetTrialOptions): OpenSetTrial {
  const { knownClasses: k, galleryPerClass: g, seed } = options;
  const byClass = new Map<string, number[]>();
  labels.forEach((l, i) => (byClass.get(l) ?? byClass.set(l, []).get(l)!).push(i));
  const classes = [...byClass.keys()].sort();
  if (!Number.isInteger(k) || k < 1 || k >= classes.length) {
    throw new RangeError(
      `openSetTrial: knownClasses must be an integer from 1 to ${classes.length - 1} (there are ${classes.length} classes); got ${k}`,
    );
  }
  if (!Number.isInteger(g) || g < 1)
    throw new RangeError(`openSetTrial: galleryPerClass must be a positive integer; got ${g}`);
  const rand = mulberry32(seed);
  const shuffled = seededShuffle(classes, rand);
  const known = shuffled.slice(0, k).sort();
  const unknown = shuffled.slice(k).sort();
  const gallery: number[] = [];
  const knownQueries: number[] = [];
  for (const c of known) {
    const images = seededShuffle(byClass.get(c)!, rand);
    if (images.length <= g) {
      throw new RangeError(
        `openSetTrial: class "${c}" has ${images.length} images; ${g} go to the gallery, so none would be left to query`,
      );
    }
    gallery.push(...images.slice(0, g));
    knownQueries.push(...images.slice(g));
  }
  const unknownQueries = unknown.flatMap((c) => byClass.get(c)!);
  return { knownClasses: known, unknownClasses: unknown, gallery, knownQueries, unknownQueries };
}

/** Each query's best gallery cosine; for known queries also whether that match has the query's label. */
export interface TrialScores {
  readonly known: readonly { readonly score: number; readonly correct: boolean }[];
  readonly unknown: readonly number[];
}

/** Rows must be L2-normalised (cosine = dot product) and of one length. */
export function scoreTrial(
  embeddings: readonly ArrayLike<number>[],
  labels: readonly string[],
  trial: OpenSetTrial,
): TrialScores {
  if (embeddings.length !== labels.length)
    throw new RangeError(`scoreTrial: ${embeddings.length} embeddings but ${labels.length} labels`);
  const dim = embeddings[0]?.length ?? 0;
  // The gallery packed into one array: the inner loop below is most of a calibration's time.
  const packed = new Float32Array(trial.gallery.length * dim);
  trial.gallery.forEach((idx, r) => {
    const v = embeddings[idx]!;
    if (v.length !== dim) throw new RangeError(`scoreTrial: embedding ${idx} has ${v.length} values, the first ${dim}`);
    for (let d = 0; d < dim; d++) packed[r * dim + d] = v[d]!;
  });
  const best = (q: number): { score: number; label: string } => {
    const v = embeddings[q]!;
    let top = -Infinity;
    let at = -1;
    for (let r = 0; r < trial.gallery.length; r++) {
      let s = 0;
      for (let d = 0, o = r * dim; d < dim; d++, o++) s += v[d]! * packed[o]!;
      if (s > top) {
        top = s;
        at = r;
      }
    }
    return { score: top, label: labels[trial.gallery[at]!]! };
  };
  return {
    known: trial.knownQueries.map((q) => {
      const b = best(q);
      return { score: b.score, correct: b.label === labels[q] };
    }),
    unknown: trial.unknownQueries.map((q) => best(q).score),
  };
}

export interface OpenSetRates {
  /** Known queries whose top-1 match has the right label and reaches the threshold. */
  readonly knownRight: number;
  /** Unknown queries whose best score stays under the threshold ("Unknown"). */
  readonly unknownRejected: number;
  /** Known queries whose top-1 match has the right label, whatever its score. */
  readonly knownTop1: number;
}

/** A match is accepted when its score is at least the threshold, as in searchGallery(). */
export function openSetRates(scores: TrialScores, threshold: number): OpenSetRates {
  const share = (n: number, of: number) => (of === 0 ? Number.NaN : n / of);
  return {
    knownRight: share(scores.known.filter((q) => q.correct && q.score >= threshold).length, scores.known.length),
    unknownRejected: share(scores.unknown.filter((s) => s < threshold).length, scores.unknown.length),
    knownTop1: share(scores.known.filter((q) => q.correct).length, scores.known.length),
  };
}

/**
 * The lowest threshold that accepts at most `far` of the unknown scores: midway between the largest score it
 * must reject and the next higher one, so that a small drift of the scores does not cross it.
 */
export function thresholdAtFalseAcceptRate(unknownScores: readonly number[], far: number): number {
  if (!(far >= 0 && far <= 1)) throw new RangeError(`thresholdAtFalseAcceptRate: far must be from 0 to 1; got ${far}`);
  if (unknownScores.length === 0) throw new RangeError('thresholdAtFalseAcceptRate: no unknown scores');
  const sorted = [...unknownScores].sort((a, b) => b - a);
  // Up to `allowed` scores may pass; the next one (sorted[allowed]) must not. The 1e-9 absorbs far * n's rounding.
  const allowed = Math.floor(far * sorted.length + 1e-9);
  if (allowed >= sorted.length) return Math.min(sorted[sorted.length - 1]!, -1);
  const reject = sorted[allowed]!;
  let above = allowed - 1;
  while (above >= 0 && sorted[above] === reject) above--;
  return above >= 0 ? (reject + sorted[above]!) / 2 : reject + 1e-6;
}

export interface CalibrationRow {
  /** The false-accept rate asked for. */
  readonly far: number;
  /** Mean over trials of each trial's threshold at `far`. */
  readonly threshold: number;
  /** Standard deviation of the trials' thresholds. */
  readonly thresholdSd: number;
  /** Mean over trials of the rates at the mean threshold (the value that would be written). */
  readonly rates: OpenSetRates;
}

/** Per false-accept rate: each trial's threshold, their mean, and every trial's rates at that mean. */
export function calibrateThreshold(trials: readonly TrialScores[], fars: readonly number[]): CalibrationRow[] {
  if (trials.length === 0) throw new RangeError('calibrateThreshold: no trials');
  return fars.map((far) => {
    const ts = trials.map((t) => thresholdAtFalseAcceptRate(t.unknown, far));
    const threshold = mean(ts);
    const thresholdSd = Math.sqrt(mean(ts.map((t) => (t - threshold) ** 2)));
    return { far, threshold, thresholdSd, rates: meanRates(trials.map((t) => openSetRates(t, threshold))) };
  });
}

/**
 * The false-accept rate at which a known query fails (missed or mislabelled) as often as an unknown one is
 * accepted: the balanced operating point, found by bisection (the known error falls as the rate rises).
 */
export function equalErrorPoint(trials: readonly TrialScores[]): CalibrationRow {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    const row = calibrateThreshold(trials, [mid])[0]!;
    if (1 - row.rates.knownRight > mid) lo = mid;
    else hi = mid;
  }
  return calibrateThreshold(trials, [(lo + hi) / 2])[0]!;
}

export function meanRates(rates: readonly OpenSetRates[]): OpenSetRates {
  return {
    knownRight: mean(rates.map((r) => r.knownRight)),
    unknownRejected: mean(rates.map((r) => r.unknownRejected)),
    knownTop1: mean(rates.map((r) => r.knownTop1)),
  };
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export interface LeaveLabelOutCalibration {
  readonly threshold: number;
  readonly falseAcceptRate: number;
  /** At `threshold`: queries whose best match has their label and reaches it. */
  readonly knownRight: number;
  /** At `threshold`: queries whose best match among the other labels' entries stays under it. */
  readonly unknownRejected: number;
  readonly queries: number;
}

/**
 * A threshold from one labelled gallery and labelled queries of the same labels (a fine-tuning run's training
 * and validation shares), when no images of unseen classes are at hand: each query is once a known query (the
 * whole gallery) and once an unknown one (the gallery without its label's entries, as if its class had never
 * been added). The threshold accepts `far` of those unknown queries. Undefined with fewer than 2 labels.
 */
export function leaveLabelOutThreshold(
  gallery: readonly { readonly embedding: ArrayLike<number>; readonly label: string }[],
  queries: readonly { readonly embedding: ArrayLike<number>; readonly label: string }[],
  far: number,
): LeaveLabelOutCalibration | undefined {
  if (new Set(gallery.map((g) => g.label)).size < 2 || queries.length === 0) return undefined;
  const known: { score: number; correct: boolean }[] = [];
  const unknown: number[] = [];
  for (const q of queries) {
    let best = -Infinity;
    let bestLabel = '';
    let bestOther = -Infinity;
    for (const g of gallery) {
      let s = 0;
      for (let i = 0; i < q.embedding.length; i++) s += q.embedding[i]! * g.embedding[i]!;
      if (s > best) [best, bestLabel] = [s, g.label];
      if (g.label !== q.label && s > bestOther) bestOther = s;
    }
    known.push({ score: best, correct: bestLabel === q.label });
    unknown.push(bestOther);
  }
  const threshold = thresholdAtFalseAcceptRate(unknown, far);
  const rates = openSetRates({ known, unknown }, threshold);
  return {
    threshold,
    falseAcceptRate: far,
    knownRight: rates.knownRight,
    unknownRejected: rates.unknownRejected,
    queries: queries.length,
  };
}
