import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../src/core/errors.ts';
import { buildPPLCNet } from '../../src/model/builder.ts';
import { standardGeometry, type PPLCNetGeometry } from '../../src/model/architecture.ts';
import { standardNetwork, type NetworkSpec } from '../../src/model/parameters.ts';
import { mulberry32, randomNetworkStateDict, randomStateDict } from '../support/random-weights.ts';
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
    const model = buildPPLCNet(
      form === 'folded' ? randomStateDict(scale, 64, 'folded', 7) : sd,
      standardNetwork(scale, 64, form),
    );
    const img = randomImage(size, size, 11);
    const [want] = referenceForward({ scale, embeddingDim: 64, batchNorm: 'separate', stateDict: sd }, [
      { channels: 3, height: size, width: size, data: img.chw },
    ]);
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

  // PaddleClas's constructor options: stride_list with [h, w] pairs, no last_conv, another class_expand and
  // dropout_prob, on non-square inputs (text-line models read 80 x 160).
  const geometry = (scale: number, over: Partial<PPLCNetGeometry>): PPLCNetGeometry => ({
    ...standardGeometry(scale),
    ...over,
  });
  it.each([
    [
      'text-line strides, no last_conv, no neck',
      {
        geometry: geometry(0.25, {
          strideList: [
            [1, 2],
            [2, 1],
            [2, 1],
            [2, 1],
            [2, 1],
          ],
          useLastConv: false,
        }),
        batchNorm: 'separate',
      },
      48,
      96,
      128,
    ],
    [
      'stride-[2, 1] stages, last_conv, neck',
      {
        geometry: geometry(0.35, {
          strideList: [
            [2, 2],
            [2, 1],
            [2, 1],
            [2, 1],
            [2, 1],
          ],
        }),
        batchNorm: 'folded',
        neckDim: 24,
      },
      40,
      80,
      24,
    ],
    [
      'class_expand 640, dropout 0, no neck',
      { geometry: geometry(0.5, { classExpand: 640, dropoutProb: 0 }), batchNorm: 'separate' },
      64,
      48,
      640,
    ],
    [
      'stride 1 at the end, square',
      {
        geometry: geometry(0.25, {
          strideList: [
            [2, 2],
            [2, 2],
            [2, 2],
            [2, 2],
            [1, 1],
          ],
        }),
        batchNorm: 'separate',
        neckDim: 16,
      },
      64,
      64,
      16,
    ],
  ] as [string, NetworkSpec, number, number, number][])('%s', async (_, network, h, w, dim) => {
    const sd = randomNetworkStateDict({ ...network, batchNorm: 'separate' }, 5);
    const model = buildPPLCNet(network.batchNorm === 'folded' ? randomNetworkStateDict(network, 5) : sd, network);
    const img = randomImage(h, w, 3);
    const [want] = referenceForward(
      {
        scale: 0,
        embeddingDim: 0,
        batchNorm: 'separate',
        stateDict: sd,
        network: { ...network, batchNorm: 'separate' },
      },
      [{ channels: 3, height: h, width: w, data: img.chw }],
    );
    const x = tf.tensor4d(img.nhwc, [1, h, w, 3]);
    const embedding = model.embed(x, false);
    expect(model.embeddingDim).toBe(dim);
    expect(embedding.shape).toEqual([1, dim]);
    expect(maxRelDiff(await embedding.data(), want!)).toBeLessThan(1e-4);
    expect(Math.max(...want!.map(Math.abs))).toBeGreaterThan(1e-3);
    tf.dispose([x, embedding]);
    model.dispose();
  });

  it('disposes every tensor it made', () => {
    const before = tf.memory().numTensors;
    const model = buildPPLCNet(randomStateDict(0.25, 32, 'separate', 1), standardNetwork(0.25, 32, 'separate'));
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    model.embed(x, true).dispose();
    x.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the first missing or misshapen tensor', () => {
    const sd = randomStateDict(0.25, 32, 'separate', 1);
    sd.delete('backbone.blocks5.3.dw_conv.bn._variance');
    expect(() => buildPPLCNet(sd, standardNetwork(0.25, 32, 'separate'))).toThrow(
      new WeightsError(
        'PP-LCNet x0.25 (embedding 32): missing tensor "backbone.blocks5.3.dw_conv.bn._variance" (expected shape [64])',
      ),
    );
    const sd2 = randomStateDict(0.25, 32, 'separate', 1);
    expect(() => buildPPLCNet(sd2, standardNetwork(0.5, 32, 'separate'))).toThrow(
      new WeightsError(
        'PP-LCNet x0.5 (embedding 32): tensor "backbone.blocks2.0.pw_conv.conv.weight" has shape [8, 8, 1, 1], expected [16, 8, 1, 1]',
      ),
    );
  });
});
