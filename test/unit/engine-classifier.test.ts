/**
 * An imported classifier in the engine: a PP-LCNet of text-line geometry (stride-[2, 1] stages, no last_conv,
 * 80 x 160 input) with an fc head. The embedding is the pooled feature that feeds the fc; each image gets the
 * top label and its softmax probability, both checked against the plain-loop reference forward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardGeometry } from '../../src/model/architecture.ts';
import type { NetworkSpec } from '../../src/model/parameters.ts';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';
import { mulberry32, randomNetworkStateDict } from '../support/random-weights.ts';
import { referenceForward } from '../support/reference-forward.ts';

const network: NetworkSpec = {
  geometry: {
    ...standardGeometry(0.25),
    strideList: [
      [1, 2],
      [2, 1],
      [2, 1],
      [2, 1],
      [2, 1],
    ],
    useLastConv: false,
  },
  batchNorm: 'separate',
};
const [H, W, CLASSES] = [80, 160, 3];
const LABELS = ['0_degree', '180_degree', 'other'];
const stateDict = randomNetworkStateDict(network, 11);
const rand = mulberry32(5);
const headWeight = Float32Array.from({ length: 128 * CLASSES }, () => (rand() - 0.5) * 0.6);
const headBias = Float32Array.from({ length: CLASSES }, () => (rand() - 0.5) * 0.2);

let modelUrl = '';
let engine: EmbedderEngine;

beforeAll(async () => {
  const encoded = await encodeManifest({
    modelId: 'classifier-test',
    scale: 0.25,
    embeddingDim: 128,
    batchNorm: 'separate',
    network,
    stateDict,
    dtype: 'fp32',
    preprocessing: {
      mode: 'resize',
      width: W,
      height: H,
      resizeShort: 256,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      scale: 1 / 255,
    },
    provenance: 'random weights for tests',
    license: 'CC0',
    head: { settings: { type: 'Linear', labels: LABELS, softmax: true }, weight: headWeight, bias: headBias },
  });
  modelUrl = pathToFileURL(await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-classifier-')), encoded)).href;
  engine = new EmbedderEngine(nodeEnvironment());
});

afterAll(async () => engine.dispose());

/** RGBA at the model's own size, so the resize is the identity and the reference sees the same values. */
function image(seed: number): { rgba: Uint8ClampedArray; chw: Float32Array } {
  const r = mulberry32(seed);
  const rgba = new Uint8ClampedArray(W * H * 4);
  const chw = new Float32Array(3 * H * W);
  const [mean, std] = [
    [0.485, 0.456, 0.406],
    [0.229, 0.224, 0.225],
  ];
  for (let p = 0; p < W * H; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.floor(
        128 + 100 * Math.sin((p % W) / (5 + seed) + c) * Math.cos(Math.floor(p / W) / 7) + 20 * (r() - 0.5),
      );
      rgba[p * 4 + c] = v;
      chw[c * H * W + p] = (Math.min(255, Math.max(0, v)) / 255 - mean[c]!) / std[c]!;
    }
    rgba[p * 4 + 3] = 255;
  }
  return { rgba, chw };
}

describe('an imported classifier in the engine', () => {
  it("says it is a classifier, embeds the fc's input feature and predicts the top label with its softmax probability", async () => {
    const info = await engine.load({ model: modelUrl, backend: 'cpu', normalize: false });
    expect(info).toMatchObject({ embeddingDim: 128, classes: LABELS, headType: 'Linear' });
    expect(info.preprocessing).toMatchObject({ width: W, height: H });
    const images = [1, 2, 3].map(image);
    const results = await engine.embed(
      images.map((im, i) => ({
        name: `line-${i}.png`,
        image: { data: im.rgba, width: W, height: H } as unknown as ImageData,
      })),
    );
    const wanted = referenceForward(
      { scale: 0.25, embeddingDim: 0, batchNorm: 'separate', stateDict, network },
      images.map((im) => ({ channels: 3, height: H, width: W, data: im.chw })),
    );
    results.forEach((r, i) => {
      if (!r.ok) throw new Error(r.error.message);
      const feature = wanted[i]!;
      const scale = Math.max(...feature.map(Math.abs));
      expect(Math.max(...Array.from(r.embedding, (v, k) => Math.abs(v - feature[k]!))) / scale).toBeLessThan(1e-4);
      const logits = Array.from(
        { length: CLASSES },
        (_, c) => headBias[c]! + feature.reduce((s, v, k) => s + v * headWeight[k * CLASSES + c]!, 0),
      );
      const e = logits.map((z) => Math.exp(z - Math.max(...logits)));
      const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
      const top = p.indexOf(Math.max(...p));
      expect(r.prediction?.label).toBe(LABELS[top]);
      expect(r.prediction?.score).toBeCloseTo(p[top]!, 4);
    });
  });

  it('normalises the embedding when asked but predicts from the raw feature, leaving no tensor behind', async () => {
    await engine.load({ model: modelUrl, backend: 'cpu', normalize: true });
    const im = image(7);
    const input = [{ name: 'a', image: { data: im.rgba, width: W, height: H } as unknown as ImageData }];
    const before = tf.memory().numTensors;
    const [normalised] = await engine.embed(input);
    const [raw] = await engine.embed(input, { normalize: false });
    expect(tf.memory().numTensors).toBe(before);
    if (!normalised?.ok || !raw?.ok) throw new Error('embedding failed');
    expect(Math.hypot(...normalised.embedding)).toBeCloseTo(1, 5);
    expect(normalised.prediction).toEqual(raw.prediction);
  });

  it('refuses to fine-tune a model without a neck, saying why', async () => {
    await engine.load({ model: modelUrl, backend: 'cpu' });
    const im = image(3);
    const sample = (label: string) => ({
      name: label,
      label,
      image: { data: im.rgba, width: W, height: H } as unknown as ImageData,
    });
    await expect(engine.fineTune([sample('a'), sample('b')])).rejects.toThrow(/has no neck \(an imported classifier/);
  });
});
