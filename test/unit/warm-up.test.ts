import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { warmUp } from '../../src/model/warm-up.ts';

describe('warmUp', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs the model once for real on a backend without a compile-only mode, and leaks nothing', async () => {
    let runs = 0;
    const before = tf.memory().numTensors;
    await warmUp(() => {
      runs++;
      return tf.tidy(() => tf.relu(tf.zeros([2, 3])));
    });
    expect(runs).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });
});
