/**
 * Runs exported graphs in onnxruntime-web (wasm, in Node): every spelling of the graph must compute the same
 * function, and that function must be the one the reference document describes (reference-forward.ts).
 */
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePPLCNetOnnx, type OnnxExportModel, type OnnxExportOptions } from '../../src/model/export/onnx-export.ts';
import { importOnnx } from '../../src/model/convert/onnx/onnx-import.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';
import { randomStateDict } from '../support/random-weights.ts';
import { referenceForward, type FeatureMap } from '../support/reference-forward.ts';

// Node has no cross-origin isolation, so ORT's threaded wasm would only warn and fall back: ask for one thread.
ort.env.wasm.numThreads = 1;

const S = 224;
const DIM = 512;

function image(f: (c: number, y: number, x: number) => number): FeatureMap {
  const data = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) data[(c * S + y) * S + x] = f(c, y, x);
  return { channels: 3, height: S, width: S, data };
}

const noise = normalSampler(11);
const IMAGES = [
  // A smooth, photo-like pattern and a half-and-half colour field with noise: very unlike each other.
  image((c, y, x) => Math.sin(0.05 * x * (c + 1) + 0.03 * y) + 0.3 * Math.cos(0.02 * (x + 2 * y))),
  image((c, _y, x) => (x < S / 2 ? [1.5, -0.5, 0.2][c]! : -0.8) + 0.3 * noise()),
];
const batch = new Float32Array(2 * 3 * S * S);
batch.set(IMAGES[0]!.data, 0);
batch.set(IMAGES[1]!.data, 3 * S * S);

async function run(bytes: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({ x: new ort.Tensor('float32', batch, [2, 3, S, S]) });
    const y = out[session.outputNames[0]!]!;
    expect(y.dims).toEqual([2, DIM]);
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const rms = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);

const VARIANTS: [string, OnnxExportOptions][] = [
  ['opset 11 defaults (HardSigmoid-Mul, initializers)', {}],
  ['opset 11, Constant-node weights', { weights: 'constant' }],
  ['Add-Clip-Mul-Div', { hardswish: 'Add-Clip-Mul-Div' }],
  ['Add-Clip-Mul-Div, Constant-node weights', { hardswish: 'Add-Clip-Mul-Div', weights: 'constant' }],
  ['Relu6-form', { hardswish: 'Relu6-form' }],
  ['Relu6-form, Constant-node weights', { hardswish: 'Relu6-form', weights: 'constant' }],
  ['HardSwish op, opset 14', { hardswish: 'HardSwish', opset: 14 }],
  ['HardSwish op, opset 17, Constant-node weights', { opset: 17, weights: 'constant' }],
  ['Add-Clip-Div hardsigmoid', { hardsigmoid: 'Add-Clip-Div' }],
  ['Gemm neck, dropout folded', { neck: 'Gemm', dropout: 'none' }],
  ['ReduceMean pool, Reshape flatten', { pool: 'ReduceMean', flatten: 'Reshape' }],
];

describe('onnxruntime-web runs the exported x0.25 graph', () => {
  const model: OnnxExportModel = {
    scale: 0.25,
    embeddingDim: DIM,
    batchNorm: 'separate',
    stateDict: randomStateDict(0.25, DIM, 'separate', 3),
  };
  let reference: Float32Array;
  let baseline: Float32Array;

  beforeAll(async () => {
    reference = Float32Array.from(referenceForward(model, IMAGES).flatMap((v) => Array.from(v)));
    baseline = await run(writePPLCNetOnnx(model));
  });

  it('matches the TypeScript reference forward pass, with outputs that are finite and informative', () => {
    expect(baseline.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(baseline, reference)).toBeLessThan(1e-5);
    const [a, b] = [baseline.subarray(0, DIM), baseline.subarray(DIM)];
    // Not collapsed: the values spread across dimensions, and unlike images give clearly unlike embeddings.
    expect(rms(a)).toBeGreaterThan(0.05);
    expect(Math.max(...a) - Math.min(...a)).toBeGreaterThan(0.2);
    expect(rms(a.map((v, i) => v - b[i]!)) / rms(a)).toBeGreaterThan(0.1);
  });

  it.each(VARIANTS)('%s computes the same embedding', async (_label, options) => {
    const out = await run(writePPLCNetOnnx(model, options));
    expect(out.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(out, baseline)).toBeLessThan(1e-5);
  });

  it('folded BatchNorm computes the same embedding', async () => {
    const folded: OnnxExportModel = {
      ...model,
      batchNorm: 'folded',
      stateDict: randomStateDict(0.25, DIM, 'folded', 3),
    };
    const out = await run(writePPLCNetOnnx(folded, { hardswish: 'Add-Clip-Mul-Div', weights: 'constant' }));
    expect(maxAbsDiff(out, baseline)).toBeLessThan(1e-5);
  });

  it('import then export again computes the same embedding (dropout folded into the neck on the way in)', async () => {
    const imported = importOnnx(writePPLCNetOnnx(model, { neck: 'Gemm', dropout: 'none', opset: 17 }));
    const out = await run(writePPLCNetOnnx(imported));
    expect(maxAbsDiff(out, baseline)).toBeLessThan(1e-5);
  });
});
