/**
 * Fine-tuning in Node: the options and split rules, the training loop on separable features, and the engine's
 * whole run: the saved model (with its head) reloads to identical embeddings and predicts classes.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSource } from '../../src/core/embedder-api.ts';
import { planSplit } from '../../src/core/fine-tune-api.ts';
import { validateFineTuneOptions } from '../../src/core/options.ts';
import { validateManifest } from '../../src/core/manifest.ts';
import { FEATURE_DIM, learningRateAt, trainArcMarginHead, xavierNormal } from '../../src/model/fine-tune.ts';
import { decodeManifest, encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { mulberry32, randomStateDict } from '../support/random-weights.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';

describe('fine-tuning options and split', () => {
  it('fills PP-ShiTu-like defaults and names what is wrong', () => {
    const o = validateFineTuneOptions();
    expect(o).toMatchObject({
      optimizer: 'adam',
      learningRate: 0.001,
      trainNeck: true,
      arcMargin: { scale: 16, margin: 0.2, easyMargin: false },
      tripletWeight: 1,
    });
    expect(validateFineTuneOptions({ optimizer: 'momentum' }).learningRate).toBe(0.05);
    expect(() => validateFineTuneOptions({ epochs: 0 })).toThrow('epochs must be an integer from 1 to 1000; got 0');
    expect(() => validateFineTuneOptions({ optimizer: 'sgd' as never })).toThrow(
      'optimizer must be one of adam, momentum; got "sgd"',
    );
    expect(() => validateFineTuneOptions({ validationFraction: 1 })).toThrow(
      'validationFraction must be a number from 0 to 0.9',
    );
  });

  it('holds out a share of every label, never a single image, and refuses what cannot train', () => {
    const labels = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'c', 'ü "odd" / label'];
    const plan = planSplit(labels, 0.2, 1);
    expect([...plan.train, ...plan.validation].sort((x, y) => x - y)).toEqual(labels.map((_, i) => i));
    const held = (l: string) => plan.validation.filter((i) => labels[i] === l).length;
    expect([held('a'), held('b'), held('c'), held('ü "odd" / label')]).toEqual([1, 1, 0, 0]);
    expect(plan.notes[0]).toContain('2 label(s) have a single image');
    expect(planSplit(labels, 0.2, 1)).toEqual(plan);
    expect(() => planSplit([], 0.2, 0)).toThrow('fine-tuning needs labelled images: none were given');
    expect(() => planSplit(['x', 'x'], 0.2, 0)).toThrow(
      'fine-tuning needs at least 2 labels; all 2 images are labelled "x"',
    );
  });

  it('warms up linearly, then decays along a cosine to zero', () => {
    expect(learningRateAt(0, 100, 10, 1)).toBeCloseTo(0.1);
    expect(learningRateAt(9, 100, 10, 1)).toBeCloseTo(1);
    expect(learningRateAt(55, 100, 10, 1)).toBeCloseTo(0.5);
    expect(learningRateAt(100, 100, 10, 1)).toBeCloseTo(0);
  });

  it('XavierNormal has the right spread', () => {
    const w = xavierNormal(512, 200, 3);
    const sd = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(sd).toBeCloseTo(Math.sqrt(2 / 712), 3);
  });
});

describe('trainArcMarginHead', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // Three classes, each a noisy copy of its own random non-negative prototype, through a random neck.
  function data(perClass: number, seed: number) {
    const shared = mulberry32(100); // the same prototypes for every set; only the noise differs
    const protos = Array.from({ length: 3 }, () => Float32Array.from({ length: FEATURE_DIM }, () => shared()));
    const rand = mulberry32(seed);
    const features = new Float32Array(3 * perClass * FEATURE_DIM);
    const labels = new Int32Array(3 * perClass);
    for (let i = 0; i < 3 * perClass; i++) {
      labels[i] = i % 3;
      for (let k = 0; k < FEATURE_DIM; k++) features[i * FEATURE_DIM + k] = protos[i % 3]![k]! + 1.5 * (rand() - 0.5);
    }
    return { features, labels };
  }
  const neck = { weight: xavierNormal(FEATURE_DIM, 16, 9), bias: new Float32Array(16) };

  it('learns separable classes, keeps the best epoch, and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const out = await trainArcMarginHead({
      train: data(12, 1),
      validation: data(4, 2),
      classes: 3,
      neck,
      options: validateFineTuneOptions({ epochs: 8, batchSize: 8, seed: 4, optimizer: 'momentum' }),
      onEpoch: (e) => epochs.push(e.epoch),
    });
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const last = out.history.at(-1)!;
    expect(last.trainAccuracy).toBe(1);
    expect(last.valAccuracy).toBe(1);
    expect(out.history[out.bestEpoch - 1]!.valMap).toBe(Math.max(...out.history.map((e) => e.valMap)));
    expect(out.head.length).toBe(16 * 3);
    expect(out.neck.weight).not.toEqual(neck.weight);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with the triplet term: learns the same classes, and leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    const out = await trainArcMarginHead({
      train: data(12, 1),
      validation: data(4, 2),
      classes: 3,
      neck,
      options: validateFineTuneOptions({ epochs: 8, batchSize: 8, seed: 4, optimizer: 'momentum', tripletWeight: 1 }),
    });
    expect(out.history.at(-1)!.valAccuracy).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    // The same run without the term ends elsewhere: the term does take part in training.
    const plain = await trainArcMarginHead({
      train: data(12, 1),
      validation: data(4, 2),
      classes: 3,
      neck,
      options: validateFineTuneOptions({ epochs: 8, batchSize: 8, seed: 4, optimizer: 'momentum', tripletWeight: 0 }),
    });
    expect(plain.neck.weight).not.toEqual(out.neck.weight);
    expect(() => validateFineTuneOptions({ tripletWeight: -1 })).toThrow(
      'tripletWeight must be a number from 0 to 100; got -1',
    );
    expect(() => validateFineTuneOptions({ tripletMargin: 3 })).toThrow(
      'tripletMargin must be a number from 0 to 2; got 3',
    );
  });

  it('a frozen neck stays as it was; a stop before the first epoch keeps nothing', async () => {
    const frozen = await trainArcMarginHead({
      train: data(6, 3),
      validation: data(2, 4),
      classes: 3,
      neck,
      options: validateFineTuneOptions({ epochs: 2, trainNeck: false }),
    });
    expect(frozen.neck.weight).toEqual(neck.weight);
    const stopped = await trainArcMarginHead({
      train: data(6, 3),
      validation: data(2, 4),
      classes: 3,
      neck,
      options: validateFineTuneOptions({ epochs: 5 }),
      shouldStop: () => true,
    });
    expect(stopped).toMatchObject({ bestEpoch: 0, stopped: true, history: [] });
  });
});

describe('the engine fine-tunes; the saved model reloads identically', () => {
  let modelUrl = '';

  beforeAll(async () => {
    const encoded = await encodeManifest({
      modelId: 'ft-base',
      scale: 0.25,
      embeddingDim: 32,
      batchNorm: 'separate',
      stateDict: randomStateDict(0.25, 32, 'separate', 8),
      provenance: 'random',
      license: 'CC0',
    });
    modelUrl = pathToFileURL(await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-ft-')), encoded)).href;
  });

  const image = (seed: number, tint: number): ImageSource => {
    const rand = mulberry32(seed);
    const data = new Uint8ClampedArray(48 * 48 * 4);
    for (let i = 0; i < data.length; i += 4) {
      data[i] = tint;
      data[i + 1] = Math.floor(rand() * 64);
      data[i + 2] = 255 - tint;
      data[i + 3] = 255;
    }
    return { data, width: 48, height: 48 } as unknown as ImageData;
  };

  it('returns a model with the head, whose embeddings are the same after a round trip', async () => {
    const engine = new EmbedderEngine(nodeEnvironment());
    await engine.load({ model: modelUrl });
    const samples = [
      ...[1, 2, 3, 4].map((s) => ({ image: image(s, 230), label: 'red', name: `r${s}` })),
      ...[5, 6, 7, 8].map((s) => ({ image: image(s, 20), label: 'blue', name: `b${s}` })),
      { image: image(9, 20), label: '  ', name: 'unlabelled' },
    ];
    const phases = new Set<string>();
    const tensorsBefore = tf.memory().numTensors;
    const run = await engine.fineTune(samples, { epochs: 4, batchSize: 4, validationFraction: 0.25 }, (p) =>
      phases.add(p.phase),
    );
    expect([...phases]).toEqual(['features', 'train']);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(run.report).toMatchObject({
      classes: ['blue', 'red'],
      trainImages: 6,
      validationImages: 2,
      skipped: [{ name: 'unlabelled', reason: 'no label' }],
    });
    expect(run.report.modelId).toMatch(/^ft-base-ft-[a-z0-9]+$/);
    const encoded = run.model!;
    expect(validateManifest(JSON.parse(JSON.stringify(encoded.manifest))).head).toMatchObject({
      type: 'ArcMargin',
      labels: ['blue', 'red'],
      scale: 16,
      margin: 0.2,
    });
    const dir = await mkdtemp(join(tmpdir(), 'shitu-ft-out-'));
    const url = pathToFileURL(await writeModelFiles(dir, encoded)).href;
    // The neck in the file is the trained one (fp32, exact): decode it back.
    const decoded = await decodeManifest(
      encoded.manifest,
      encoded.shards.map((s) => s.bytes),
    );
    expect(decoded.get('head.weight')!.shape).toEqual([32, 2]);

    const a = new EmbedderEngine(nodeEnvironment());
    const b = new EmbedderEngine(nodeEnvironment());
    const infoA = await a.load({ model: url });
    await b.load({ model: url });
    expect(infoA.classes).toEqual(['blue', 'red']);
    const probe = [image(11, 230), image(12, 20)];
    const [ra, rb] = [await a.embed(probe), await b.embed(probe)];
    ra.forEach((r, i) => {
      if (!r.ok || !rb[i]!.ok) throw new Error('embedding failed');
      expect(Array.from(r.embedding)).toEqual(Array.from((rb[i] as typeof r).embedding));
      expect(r.prediction?.label).toMatch(/^(blue|red)$/);
    });
    // 2 validation images are too few to set a recognition threshold: the model keeps PaddleClas's 0.5.
    expect(encoded.manifest.recognition).toBeUndefined();
    expect(infoA.recognitionThresholdSource).toBe('paddleclas-default');
    await Promise.all([engine.dispose(), a.dispose(), b.dispose()]);
  });

  it('sets the fine-tuned model its own recognition threshold from the validation share', async () => {
    const engine = new EmbedderEngine(nodeEnvironment());
    await engine.load({ model: modelUrl });
    const samples = [
      ...Array.from({ length: 10 }, (_, s) => ({ image: image(100 + s, 230), label: 'red', name: `r${s}` })),
      ...Array.from({ length: 10 }, (_, s) => ({ image: image(200 + s, 20), label: 'blue', name: `b${s}` })),
    ];
    const run = await engine.fineTune(samples, { epochs: 3, batchSize: 8, validationFraction: 0.5 });
    expect(run.report.validationImages).toBe(10);
    const recognition = run.model!.manifest.recognition!;
    expect(recognition.falseAcceptRate).toBe(0.1);
    expect(recognition.threshold).toBeGreaterThanOrEqual(-1);
    expect(recognition.threshold).toBeLessThanOrEqual(1);
    expect(recognition.calibration).toContain("fine-tuning's validation share: 10 images");
    expect(
      run.report.notes.some((n) => n.startsWith(`Recognition threshold for this model: ${recognition.threshold}`)),
    ).toBe(true);
    const tuned = new EmbedderEngine(nodeEnvironment());
    const url = pathToFileURL(await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-ft-rec-')), run.model!)).href;
    const info = await tuned.load({ model: url });
    expect(info.recognitionThreshold).toBe(recognition.threshold);
    expect(info.recognitionThresholdSource).toBe('manifest');
    await Promise.all([engine.dispose(), tuned.dispose()]);
  });
});
