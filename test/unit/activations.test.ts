import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { hardSwish, hardSwishScalar, hardSwishTimesSix, paddleHardSigmoid, paddleHardSigmoidScalar } from '../../src/model/activations.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const xs = [-10, -3, -2.5, -1, -0.5, 0, 0.5, 1, 2.5, 3, 4, 10];

describe("Paddle's activations", () => {
  it('hardswish is x * relu6(x + 3) / 6', async () => {
    const got = await hardSwish(tf.tensor1d(xs)).data();
    const want = [0, 0, -0.208333, -0.333333, -0.208333, 0, 0.291667, 0.666667, 2.291667, 3, 4, 10];
    xs.forEach((_, i) => expect(got[i]).toBeCloseTo(want[i]!, 5));
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(hardSwishScalar(x), 6));
  });

  it('hardSwishTimesSix is 6 x hardswish (the builder moves the 1/6 into the next layer)', async () => {
    const got = await hardSwishTimesSix(tf.tensor1d(xs)).data();
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(6 * hardSwishScalar(x), 5));
  });

  it("hardsigmoid is Paddle's clip(x / 6 + 0.5, 0, 1)", async () => {
    const got = await paddleHardSigmoid(tf.tensor1d(xs)).data();
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(Math.min(Math.max(x / 6 + 0.5, 0), 1), 6));
    expect(paddleHardSigmoidScalar(1)).toBeCloseTo(0.666667, 6);
  });

  it("differs from the Keras-style 0.2 x + 0.5 (the trap the reference warns of)", () => {
    const keras = (x: number) => Math.min(Math.max(0.2 * x + 0.5, 0), 1);
    expect(Math.abs(paddleHardSigmoidScalar(1) - keras(1))).toBeGreaterThan(0.03);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d(xs);
    hardSwish(x).dispose();
    paddleHardSigmoid(x).dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
