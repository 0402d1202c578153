import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSource } from '../../src/core/embedder-api.ts';
import { DisposedError, EmbedderError, OptionsError } from '../../src/core/errors.ts';
import { cosineSimilarity } from '../../src/core/similarity.ts';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { mulberry32, randomStateDict } from '../support/random-weights.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';

let modelUrl = '';

beforeAll(async () => {
  const encoded = await encodeManifest({
    modelId: 'engine-test',
    scale: 0.25,
    embeddingDim: 48,
    batchNorm: 'separate',
    stateDict: randomStateDict(0.25, 48, 'separate', 5),
    provenance: 'random weights for tests',
    license: 'CC0',
  });
  const dir = await mkdtemp(join(tmpdir(), 'shitu-engine-'));
  modelUrl = pathToFileURL(await writeModelFiles(dir, encoded)).href;
});

function pixels(width: number, height: number, seed: number): ImageSource {
  const rand = mulberry32(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { data, width, height } as unknown as ImageData;
}

async function loadedEngine(options = {}) {
  const engine = new EmbedderEngine(nodeEnvironment());
  const info = await engine.load({ model: modelUrl, ...options });
  return { engine, info };
}

describe('the embedder engine (Node, cpu backend)', () => {
  it('loads, reports what runs and why, and embeds to unit vectors of the model width', async () => {
    const { engine, info } = await loadedEngine();
    expect(info).toMatchObject({
      backend: 'cpu',
      modelId: 'engine-test',
      scale: 0.25,
      embeddingDim: 48,
      normalize: true,
      batchSize: 8,
    });
    expect(info.backendReasons.webgpu).toBe('unavailable: not available in Node (browser only)');
    expect(info.backendReasons.cpu).toMatch(/^chosen/);
    const [r] = await engine.embed([{ name: 'a.png', image: pixels(64, 48, 1) }]);
    expect(r!.ok).toBe(true);
    if (!r?.ok) throw new Error('embedding failed');
    expect(r.name).toBe('a.png');
    expect(r.id).toBe('a.png');
    expect(r.embedding).toBeInstanceOf(Float32Array);
    expect(r.embedding.length).toBe(48);
    expect(Math.hypot(...r.embedding)).toBeCloseTo(1, 5);
    expect(r.timings.inferenceMs).toBeGreaterThan(0);
    await engine.dispose();
  });

  it('gives the same vector for an image whatever batch it is in', async () => {
    const { engine } = await loadedEngine();
    const images = Array.from({ length: 5 }, (_, i) => pixels(40 + i, 30, 10 + i));
    const one = await engine.embed(images, { batchSize: 1 });
    const all = await engine.embed(images, { batchSize: 5 });
    for (let i = 0; i < 5; i++) {
      const a = one[i]!;
      const b = all[i]!;
      if (!a.ok || !b.ok) throw new Error('embedding failed');
      expect(cosineSimilarity(a.embedding, b.embedding)).toBeGreaterThan(0.99999);
    }
    await engine.dispose();
  });

  it('embeds 100 images with no tensor left behind', async () => {
    const { engine } = await loadedEngine({ batchSize: 16 });
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const results = await engine.embed(
      Array.from({ length: 100 }, (_, i) => pixels(32, 32, i)),
      {},
      (p) => progress.push(p.done),
    );
    expect(results.filter((r) => r.ok).length).toBe(100);
    expect(tf.memory().numTensors).toBe(before);
    expect(progress.at(-1)).toBe(100);
    await engine.dispose();
  }, 300_000);

  it('fails only the bad image, names it, and stays usable', async () => {
    const { engine } = await loadedEngine();
    const before = tf.memory().numTensors;
    const results = await engine.embed([
      { name: 'good-1', image: pixels(20, 20, 1) },
      { name: 'broken.bin', image: { data: new Uint8Array(3), width: 5, height: 5 } as unknown as ImageData },
      { name: 'good-2', image: pixels(20, 20, 2) },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const bad = results[1]!;
    if (bad.ok) throw new Error('expected a failure');
    expect(bad.error.code).toBe('image-format');
    expect(bad.error.message).toMatch(/^broken\.bin: /);
    expect(tf.memory().numTensors).toBe(before);
    expect((await engine.embed([pixels(8, 8, 3)]))[0]!.ok).toBe(true);
    await engine.dispose();
  });

  it('rejects bad options with the valid values', async () => {
    const engine = new EmbedderEngine(nodeEnvironment());
    await expect(engine.load({ model: modelUrl, backend: 'cuda' as never })).rejects.toThrow(
      new OptionsError('backend must be one of auto, webgpu, webgl, wasm, cpu; got "cuda"'),
    );
    await expect(engine.load({ model: modelUrl, batchSize: 0 })).rejects.toThrow(
      'batchSize must be an integer from 1 to 256; got 0',
    );
    await expect(engine.load({ model: modelUrl, backend: 'webgpu' })).rejects.toThrow(
      /no backend could run \(webgpu: unavailable/,
    );
    await expect(engine.embed([pixels(8, 8, 1)])).rejects.toThrow(
      new EmbedderError('no model loaded: call load() first'),
    );
  });

  it('serialises concurrent calls and refuses calls after dispose()', async () => {
    const { engine } = await loadedEngine();
    const [a, b] = await Promise.all([engine.embed([pixels(16, 16, 1)]), engine.embed([pixels(16, 16, 2)])]);
    expect(a[0]!.ok && b[0]!.ok).toBe(true);
    await engine.dispose();
    await expect(engine.embed([pixels(16, 16, 1)])).rejects.toBeInstanceOf(DisposedError);
  });
});
