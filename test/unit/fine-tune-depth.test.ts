/**
 * Partial fine-tuning (options.depth): the split network computes the builder's features, its gradients match
 * finite differences, the written-back tensors fold to the trained values bit for bit, and a whole run trains
 * only what it says (the frozen part's tensors come back unchanged), leaves no tensor behind, and reloads to
 * the same embeddings.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSource } from '../../src/core/embedder-api.ts';
import { FINE_TUNE_DEPTHS, validateFineTuneOptions, type FineTuneDepth } from '../../src/core/options.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import { buildPPLCNet } from '../../src/model/builder.ts';
import { createTrainableBackbone } from '../../src/model/fine-tune-network.ts';
import { standardNetwork, type BatchNormForm } from '../../src/model/parameters.ts';
import { decodeManifest, encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';
import { mulberry32, randomStateDict } from '../support/random-weights.ts';

const SCALE = 0.25;
const EMBEDDING = 32;

function split(stateDict: StateDict, form: BatchNormForm, depth: FineTuneDepth) {
  const spec = standardNetwork(SCALE, EMBEDDING, form);
  const model = buildPPLCNet(stateDict, spec);
  const backbone = createTrainableBackbone({
    depth,
    plan: model.plan,
    stateDict,
    batchNorm: form,
    featuresOf: (x) => model.forwardFeatures(x),
  });
  return { model, backbone };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('the network split at a depth', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('validates the depth and the views, naming the valid values', () => {
    expect(validateFineTuneOptions()).toMatchObject({ depth: 'last-conv', views: 1, backboneLearningRateFactor: 1 });
    expect(() => validateFineTuneOptions({ depth: 'all' as never })).toThrow(
      'depth must be one of neck, last-conv, last-block, last-stage; got "all"',
    );
    expect(() => validateFineTuneOptions({ views: 0 })).toThrow('views must be an integer from 1 to 8; got 0');
  });

  for (const form of ['separate', 'folded'] as const) {
    it(`frozen part + trained part = the builder's backbone at every depth (${form} BatchNorm)`, () => {
      const stateDict = randomStateDict(SCALE, EMBEDDING, form, 5);
      const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      for (const depth of FINE_TUNE_DEPTHS) {
        const { model, backbone } = split(stateDict, form, depth);
        const before = tf.memory().numTensors;
        const [want, got] = tf.tidy(() => [
          model.forwardFeatures(x).dataSync(),
          backbone.forward(backbone.frozen(x)).dataSync(),
        ]);
        expect(tf.memory().numTensors).toBe(before);
        const scale = Math.max(...Array.from(want, Math.abs));
        expect(maxAbs(want, got) / scale, depth).toBeLessThan(1e-5);
        backbone.dispose();
        model.dispose();
      }
      x.dispose();
    });
  }

  it('written back in either BatchNorm form, the trained tensors fold to the same bits', () => {
    for (const form of ['separate', 'folded'] as const) {
      const stateDict = randomStateDict(SCALE, EMBEDDING, form, 6);
      const { model, backbone } = split(stateDict, form, 'last-stage');
      // Move every trained tensor, as training would, then write back and rebuild from the written state dict.
      const moved = backbone.variables.map((v, i) => {
        const data = (v.dataSync() as Float32Array).map((w, j) => w + 0.01 * Math.sin(i + j));
        v.assign(tf.tensor(data, v.shape));
        return data;
      });
      const written: StateDict = new Map(stateDict);
      for (const [name, t] of backbone.stateDictEntries(moved)) written.set(name, t);
      const again = createTrainableBackbone({
        depth: 'last-stage',
        plan: model.plan,
        stateDict: written,
        batchNorm: form,
        featuresOf: (x) => model.forwardFeatures(x),
      });
      again.variables.forEach((v, i) =>
        expect(Array.from(v.dataSync()), `${form} ${i}`).toEqual(Array.from(moved[i]!)),
      );
      [backbone, again, model].forEach((m) => m.dispose());
    }
  });

  it("the trained part's gradients match central finite differences (x0.25, a 4 x 4 map into the last stage)", () => {
    const stateDict = randomStateDict(SCALE, EMBEDDING, 'separate', 9);
    const { model, backbone } = split(stateDict, 'separate', 'last-stage');
    const [, h, w, c] = [2, 4, 4, model.plan.blocks.at(-2)!.inChannels];
    const x = tf.randomUniform([2, h!, w!, c], 0, 2, 'float32', 3);
    const r = tf.randomNormal([2, model.plan.featureDim], 0, 1, 'float32', 4);
    const loss = () => tf.sum(tf.mul(backbone.forward(x), r)) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, [...backbone.variables]);
    const random = mulberry32(11);
    const eps = 5e-3;
    backbone.variables.forEach((v) => {
      const g = grads[v.name]!.dataSync();
      const base = v.dataSync().slice() as Float32Array;
      const analytic: number[] = [];
      const numeric: number[] = [];
      // The 8 entries with the largest gradient, and 8 at random.
      const top = Array.from(g.keys())
        .sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!))
        .slice(0, 8);
      const picks = [...top, ...Array.from({ length: 8 }, () => Math.floor(random() * base.length))];
      for (const j of picks) {
        const at = (delta: number) => {
          const d = base.slice();
          d[j] = d[j]! + delta;
          v.assign(tf.tensor(d, v.shape));
          return tf.tidy(() => loss().dataSync()[0]!);
        };
        numeric.push((at(eps) - at(-eps)) / (2 * eps));
        analytic.push(g[j]!);
      }
      v.assign(tf.tensor(base, v.shape));
      const norm = Math.hypot(...analytic);
      expect(norm, v.name).toBeGreaterThan(0);
      expect(Math.hypot(...analytic.map((a, k) => a - numeric[k]!)) / norm, v.name).toBeLessThan(0.05);
    });
    tf.dispose([x, r, ...Object.values(grads)]);
    backbone.dispose();
    model.dispose();
  });
});

describe('a whole run trained to the last stage', () => {
  it('changes only the last stage, last_conv, the neck and the head; leaves no tensor; reloads identically', async () => {
    await tf.setBackend('cpu');
    const encoded = await encodeManifest({
      modelId: 'ft-depth-base',
      scale: SCALE,
      embeddingDim: EMBEDDING,
      batchNorm: 'separate',
      stateDict: randomStateDict(SCALE, EMBEDDING, 'separate', 8),
      provenance: 'random',
      license: 'CC0',
    });
    const url = pathToFileURL(await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-ftd-')), encoded)).href;
    // As stored (float16), which is what the engine loads and fine-tunes.
    const base = await decodeManifest(
      encoded.manifest,
      encoded.shards.map((s) => s.bytes),
    );
    const image = (seed: number, tint: number): ImageSource => {
      const rand = mulberry32(seed);
      const data = new Uint8ClampedArray(32 * 32 * 4);
      for (let i = 0; i < data.length; i += 4) {
        data[i] = tint;
        data[i + 1] = Math.floor(rand() * 64);
        data[i + 2] = 255 - tint;
        data[i + 3] = 255;
      }
      return { data, width: 32, height: 32 } as unknown as ImageData;
    };
    const engine = new EmbedderEngine(nodeEnvironment());
    await engine.load({ model: url });
    const samples = [1, 2, 3, 4, 5, 6].flatMap((s) => [
      { image: image(s, 230), label: 'red' },
      { image: image(s + 10, 20), label: 'blue' },
    ]);
    const tensors = tf.memory().numTensors;
    const run = await engine.fineTune(samples, {
      depth: 'last-stage',
      views: 2,
      epochs: 3,
      batchSize: 4,
      validationFraction: 0.34,
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(
      run.report.notes.some((n) => n.startsWith('Depth last-stage: 12 images (+ 1 views of each training image)')),
    ).toBe(true);
    const tuned = await decodeManifest(
      run.model!.manifest,
      run.model!.shards.map((s) => s.bytes),
    );
    const trained = /^(backbone\.blocks6\.|backbone\.last_conv\.|neck\.)/;
    for (const [name, t] of base) {
      const now = tuned.get(name)!;
      if (trained.test(name)) continue;
      expect(Array.from(now.data), name).toEqual(Array.from(t.data));
    }
    for (const name of [
      'backbone.blocks6.0.dw_conv.conv.weight',
      'backbone.blocks6.1.se.conv1.weight',
      'backbone.last_conv.weight',
    ]) {
      expect(Array.from(tuned.get(name)!.data), name).not.toEqual(Array.from(base.get(name)!.data));
    }
    const dir = pathToFileURL(await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-ftd-out-')), run.model!)).href;
    const [a, b] = [new EmbedderEngine(nodeEnvironment()), new EmbedderEngine(nodeEnvironment())];
    await a.load({ model: dir });
    await b.load({ model: dir });
    const probe = [image(40, 230), image(41, 20)];
    const [ra, rb] = [await a.embed(probe), await b.embed(probe)];
    ra.forEach((r, i) => {
      const s = rb[i]!;
      if (!r.ok || !s.ok) throw new Error('embedding failed');
      expect(Array.from(r.embedding)).toEqual(Array.from(s.embedding));
    });
    await Promise.all([engine.dispose(), a.dispose(), b.dispose()]);
  });
});
