import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../src/core/errors.ts';
import { buildPPLCNet } from '../../src/model/builder.ts';
import { mulberry32, randomStateDict } from '../support/random-weights.ts';
import { referenceForward } from '../support/reference-forward.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomImage(h: number, w: number, seed: number): { nhwc: Float32Array; chw: Float32Array } {
  const rand = mulberry32(seed);
  const nhwc = new Float32Array(h * w * 3);
  const chw = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const v = Math.fround((rand() - 0.5) * 4);
        nhwc[(y * w + x) * 3 + c] = v;
        chw[(c * h + y) * w + x] = v;
      }
  return { nhwc, chw };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d / scale;
}

// reference-forward.ts is the slow, obvious loop version written from the reference document (CHW, float64
// accumulation, BatchNorm applied as BatchNorm): an independent check of padding, folding, SE and the 0.8.
describe('the tfjs PP-LCNet builder against the plain-loop reference forward pass', () => {
  it.each([
    [0.25, 224, 'separate'],
    [0.35, 224, 'separate'],
    [1.0, 64, 'separate'],
    [0.5, 96, 'folded'],
  ] as const)('x%s at %i px (%s BatchNorm)', async (scale, size, form) => {
    const sd = randomStateDict(scale, 64, 'separate', 7);
    const model = buildPPLCNet(form === 'folded' ? randomStateDict(scale, 64, 'folded', 7) : sd, { scale, embeddingDim: 64, batchNorm: form });
    const img = randomImage(size, size, 11);
    const [want] = referenceForward({ scale, embeddingDim: 64, batchNorm: 'separate', stateDict: sd }, [{ channels: 3, height: size, width: size, data: img.chw }]);
    const x = tf.tensor4d(img.nhwc, [1, size, size, 3]);
    const features = model.forwardFeatures(x);
    const embedding = model.embed(x, false);
    const normalised = model.embed(x, true);
    expect(features.shape).toEqual([1, 1280]);
    expect(maxRelDiff(await embedding.data(), want!)).toBeLessThan(1e-4);
    const n = await normalised.data();
    expect(Math.hypot(...n)).toBeCloseTo(1, 5);
    // The random model must be informative, not collapsed to zeros.
    expect(Math.max(...want!.map(Math.abs))).toBeGreaterThan(0.01);
    tf.dispose([x, features, embedding, normalised]);
    model.dispose();
  });

  it('disposes every tensor it made', () => {
    const before = tf.memory().numTensors;
    const model = buildPPLCNet(randomStateDict(0.25, 32, 'separate', 1), { scale: 0.25, embeddingDim: 32, batchNorm: 'separate' });
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    model.embed(x, true).dispose();
    x.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the first missing or misshapen tensor', () => {
    const sd = randomStateDict(0.25, 32, 'separate', 1);
    sd.delete('backbone.blocks5.3.dw_conv.bn._variance');
    expect(() => buildPPLCNet(sd, { scale: 0.25, embeddingDim: 32, batchNorm: 'separate' })).toThrow(
      new WeightsError('PP-LCNet x0.25 (embedding 32): missing tensor "backbone.blocks5.3.dw_conv.bn._variance" (expected shape [64])'),
    );
    const sd2 = randomStateDict(0.25, 32, 'separate', 1);
    expect(() => buildPPLCNet(sd2, { scale: 0.5, embeddingDim: 32, batchNorm: 'separate' })).toThrow(
      new WeightsError('PP-LCNet x0.5 (embedding 32): tensor "backbone.blocks2.0.pw_conv.conv.weight" has shape [8, 8, 1, 1], expected [16, 8, 1, 1]'),
    );
  });
});
