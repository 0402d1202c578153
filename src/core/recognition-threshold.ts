/**
 * Which recognition threshold applies: the user's, else the model's recommended one (its manifest's
 * `recognition`), else PaddleClas's 0.5. One place, so the engine's info(), the page and the element agree.
 */
import { DEFAULT_SCORE_THRESHOLD } from './gallery-search.ts';
import type { ManifestRecognition } from './manifest.ts';

/**
 * Where a model's recommended threshold comes from. 'manifest': its manifest's `recognition` (calibrated for
 * it, or carried over from its PaddleClas config); 'paddleclas-default': none given, PaddleClas's 0.5
 * (IndexProcess.score_thres of deploy/configs/inference_general.yaml), not calibrated for this model.
 */
export type RecognitionThresholdSource = 'manifest' | 'paddleclas-default';

export interface RecommendedThreshold {
  readonly threshold: number;
  readonly source: RecognitionThresholdSource;
  /** One line for people: how it was set. */
  readonly note: string;
}

export function recommendedThreshold(recognition: ManifestRecognition | undefined): RecommendedThreshold {
  if (!recognition) {
    return {
      threshold: DEFAULT_SCORE_THRESHOLD,
      source: 'paddleclas-default',
      note: `PaddleClas's default score_thres ${DEFAULT_SCORE_THRESHOLD}; not calibrated for this model`,
    };
  }
  const far =
    recognition.falseAcceptRate === undefined ? '' : `; false-accept rate ${formatShare(recognition.falseAcceptRate)}`;
  return { threshold: recognition.threshold, source: 'manifest', note: `${recognition.calibration}${far}` };
}

/**
 * A `threshold` attribute's value when it is a number from 0 to 1, else the model's recommended threshold,
 * else PaddleClas's 0.5 (no model loaded yet).
 */
export function effectiveThreshold(attribute: string | null, recommended: number | undefined): number {
  const t = attribute === null || attribute.trim() === '' ? Number.NaN : Number(attribute);
  if (t >= 0 && t <= 1) return t;
  return recommended ?? DEFAULT_SCORE_THRESHOLD;
}

function formatShare(x: number): string {
  return `${Number((x * 100).toFixed(2))}%`;
}
