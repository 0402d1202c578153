import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { hardSwishScalar, hardSwishTimesSix, paddleHardSigmoidScalar } from '../../src/model/activations.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const xs = [-10, -3, -2.5, -1, -0.5, 0, 0.5, 1, 2.5, 3, 4, 10];

describe("Paddle's activations", () => {
  it('hardswish is x * relu6(x + 3) / 6', () => {
    const want = [0, 0, -0.208333, -0.333333, -0.208333, 0, 0.291667, 0.666667, 2.291667, 3, 4, 10];
    xs.forEach((x, i) => expect(hardSwishScalar(x)).toBeCloseTo(want[i]!, 5));
  });

  it('hardSwishTimesSix is 6 x hardswish (the builder moves the 1/6 into the next layer), and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d(xs);
    const y = hardSwishTimesSix(x);
    const got = await y.data();
    tf.dispose([x, y]);
    xs.forEach((v, i) => expect(got[i]).toBeCloseTo(6 * hardSwishScalar(v), 5));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("hardsigmoid is Paddle's clip(x / 6 + 0.5, 0, 1), which is relu6(x + 3) / 6 (the builder's SE gate, times 6)", () => {
    xs.forEach((x) => expect(paddleHardSigmoidScalar(x)).toBeCloseTo(Math.min(Math.max(x + 3, 0), 6) / 6, 12));
    expect(paddleHardSigmoidScalar(1)).toBeCloseTo(0.666667, 6);
  });

  it('differs from the Keras-style 0.2 x + 0.5 (the trap the reference warns of)', () => {
    const keras = (x: number) => Math.min(Math.max(0.2 * x + 0.5, 0), 1);
    expect(Math.abs(paddleHardSigmoidScalar(1) - keras(1))).toBeGreaterThan(0.03);
  });
});
