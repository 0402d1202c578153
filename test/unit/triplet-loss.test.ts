/** The optional batch-hard triplet term against a plain loop, and against central finite differences. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import { batchHardTripletLoss } from '../../src/model/triplet-loss.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The definition, written as loops: cosine distance, hardest positive and negative per anchor. */
function reference(x: number[][], labels: number[], margin: number): number {
  const unit = x.map((r) => {
    const n = Math.hypot(...r);
    return r.map((v) => v / n);
  });
  const d = (i: number, j: number) => 1 - unit[i]!.reduce((s, v, k) => s + v * unit[j]![k]!, 0);
  let sum = 0;
  let anchors = 0;
  labels.forEach((li, i) => {
    const pos = labels.flatMap((lj, j) => (j !== i && lj === li ? [d(i, j)] : []));
    const neg = labels.flatMap((lj, j) => (lj !== li ? [d(i, j)] : []));
    if (pos.length === 0 || neg.length === 0) return;
    anchors++;
    sum += Math.max(0, Math.max(...pos) - Math.min(...neg) + margin);
  });
  return anchors === 0 ? 0 : sum / anchors;
}

const loss = (x: number[][], labels: number[], margin: number) =>
  tf.tidy(() => batchHardTripletLoss(tf.tensor2d(x), tf.tensor1d(labels, 'int32'), margin).dataSync()[0]!);

function randomRows(n: number, dim: number, seed: number): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => r() - 0.5));
}

describe('batch-hard triplet loss', () => {
  it('equals the definition on random batches, with labels that have one image (no positive) left out', () => {
    const labels = [0, 1, 0, 2, 1, 1, 3];
    for (const seed of [1, 2, 3]) {
      const x = randomRows(labels.length, 5, seed);
      expect(loss(x, labels, 0.5)).toBeCloseTo(reference(x, labels, 0.5), 5);
      expect(loss(x, labels, 0)).toBeCloseTo(reference(x, labels, 0), 5);
    }
  });

  it('is zero for well separated labels, and for a batch where no anchor has a positive', () => {
    const x = [
      [1, 0],
      [0.99, 0.01],
      [0, 1],
      [0.01, 0.99],
    ];
    expect(loss(x, [0, 0, 1, 1], 0.5)).toBe(0);
    expect(loss(x, [0, 1, 2, 3], 0.5)).toBe(0);
    // Margin 0.5 against these distances (positives ~0, negatives ~1): still zero; margin 1.5: 1.5 - ~1.
    expect(loss(x, [0, 0, 1, 1], 1.5)).toBeCloseTo(reference(x, [0, 0, 1, 1], 1.5), 5);
  });

  it('matches central finite differences', () => {
    const labels = [0, 0, 1, 1, 2, 2];
    const x0 = randomRows(labels.length, 4, 7);
    const grad = tf.tidy(
      () =>
        tf
          .grad((x: tf.Tensor) => batchHardTripletLoss(x as tf.Tensor2D, tf.tensor1d(labels, 'int32'), 0.8))(
            tf.tensor2d(x0),
          )
          .arraySync() as number[][],
    );
    const h = 1e-3;
    x0.forEach((row, i) =>
      row.forEach((_, k) => {
        const up = x0.map((r) => [...r]);
        const down = x0.map((r) => [...r]);
        up[i]![k]! += h;
        down[i]![k]! -= h;
        const numeric = (reference(up, labels, 0.8) - reference(down, labels, 0.8)) / (2 * h);
        expect(grad[i]![k]!).toBeCloseTo(numeric, 3);
      }),
    );
  });
});
