/** ArcMargin against hand-computed values (both branches, easy_margin, eval mode) and finite differences. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARC_MARGIN } from '../../src/core/options.ts';
import { arcMarginLogits, arcMarginLoss } from '../../src/model/arc-margin.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const logits = (x: number[][], w: number[][], labels: number[] | undefined, o = DEFAULT_ARC_MARGIN) =>
  tf.tidy(() => arcMarginLogits(tf.tensor2d(x), tf.tensor2d(w), labels && tf.tensor1d(labels, 'int32'), o).arraySync());

// W's columns are the class centres: here e1 and e2 (times 2, to check the column normalisation).
const W = [
  [2, 0],
  [0, 2],
];

describe('ArcMargin forward', () => {
  it('eval mode (no labels) returns the unscaled cosines', () => {
    const out = logits([[3, 4]], W, undefined);
    expect(out[0]![0]).toBeCloseTo(0.6, 6);
    expect(out[0]![1]).toBeCloseTo(0.8, 6);
  });

  it('training, cos > th: the target gets s * (cos cos m - sin sin m), the others s * cos', () => {
    // cos = 0.8 for class 1: sin = sqrt(1 - 0.64 + 1e-6); phi = 0.8 cos 0.2 - sin sin 0.2 = 0.664851498
    const out = logits([[3, 4]], W, [1]);
    expect(out[0]![1]).toBeCloseTo(30 * 0.6648514982, 4);
    expect(out[0]![0]).toBeCloseTo(30 * 0.6, 4);
  });

  it('training, cos <= th = cos(pi - m): the target gets s * (cos - sin(pi - m) m)', () => {
    // cos = -0.99995 < th = -0.980067; mm = sin(0.2) * 0.2 = 0.039733866
    const out = logits([[-1, 0.01]], W, [0]);
    expect(out[0]![0]).toBeCloseTo(30 * -1.0396838699, 3);
    expect(out[0]![1]).toBeCloseTo(30 * 0.0099995, 4);
  });

  it('easy_margin: cos <= 0 keeps cos; cos > 0 takes the margin', () => {
    const easy = { ...DEFAULT_ARC_MARGIN, easyMargin: true };
    expect(logits([[-1, 0.01]], W, [0], easy)[0]![0]).toBeCloseTo(30 * -0.99995, 3);
    expect(logits([[3, 4]], W, [1], easy)[0]![1]).toBeCloseTo(30 * 0.6648514982, 4);
  });

  it('scale and margin are the options: s = 80, m = 0.5 (the class defaults)', () => {
    const o = { scale: 80, margin: 0.5, easyMargin: false };
    const sin = Math.sqrt(1 - 0.64 + 1e-6);
    expect(logits([[3, 4]], W, [1], o)[0]![1]).toBeCloseTo(80 * (0.8 * Math.cos(0.5) - sin * Math.sin(0.5)), 3);
  });

  it('the loss is softmax cross-entropy of those logits', () => {
    const l = tf.tidy(() =>
      arcMarginLoss(tf.tensor2d([[3, 4]]), tf.tensor2d(W), tf.tensor1d([1], 'int32')).arraySync(),
    );
    const a = 30 * 0.6;
    const b = 30 * 0.6648514982;
    expect(l).toBeCloseTo(-(b - Math.log(Math.exp(a) + Math.exp(b))), 3);
  });
});

describe('ArcMargin gradient', () => {
  it('matches central finite differences for x and W, on both branches', () => {
    const x0 = [
      [0.3, -0.2, 0.5],
      [0.7, -0.3, -0.19], // against W's column 1: cos = -0.99 < th = cos(pi - 0.3) = -0.955, the other branch
    ];
    const w0 = [
      [0.4, -0.7, 0.2, 0.1],
      [0.1, 0.3, -0.5, 0.6],
      [0.6, 0.2, 0.3, -0.4],
    ];
    const labels = [0, 1];
    const o = { scale: 4, margin: 0.3, easyMargin: false };
    const cos = tf.tidy(() => arcMarginLogits(tf.tensor2d(x0), tf.tensor2d(w0), undefined).arraySync() as number[][]);
    expect(cos[0]![0]).toBeGreaterThan(Math.cos(Math.PI - 0.3));
    expect(cos[1]![1]).toBeLessThan(Math.cos(Math.PI - 0.3));
    const f = (x: number[][], w: number[][]) =>
      tf.tidy(
        () => arcMarginLoss(tf.tensor2d(x), tf.tensor2d(w), tf.tensor1d(labels, 'int32'), o).arraySync() as number,
      );
    const [gx, gw] = tf.tidy(() =>
      tf
        .grads((x: tf.Tensor, w: tf.Tensor) =>
          arcMarginLoss(x as tf.Tensor2D, w as tf.Tensor2D, tf.tensor1d(labels, 'int32'), o),
        )([tf.tensor2d(x0), tf.tensor2d(w0)])
        .map((g) => g.arraySync() as number[][]),
    );
    const eps = 1e-2;
    const check = (which: 'x' | 'w', analytic: number[][], base: number[][]) => {
      base.forEach((row, i) =>
        row.forEach((_, j) => {
          const plus = base.map((r) => [...r]);
          const minus = base.map((r) => [...r]);
          plus[i]![j]! += eps;
          minus[i]![j]! -= eps;
          const numeric =
            which === 'x' ? (f(plus, w0) - f(minus, w0)) / (2 * eps) : (f(x0, plus) - f(x0, minus)) / (2 * eps);
          expect(Math.abs(numeric - analytic[i]![j]!)).toBeLessThan(2e-3 + 0.02 * Math.abs(numeric));
        }),
      );
    };
    check('x', gx!, x0);
    check('w', gw!, w0);
  });
});
