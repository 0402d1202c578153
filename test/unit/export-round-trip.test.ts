/**
 * A model exported for PaddleClas / ONNX Runtime (src/model/export/export-model.ts) computes what the project
 * computes: the ONNX file in onnxruntime-web (wasm, in Node) against the tfjs builder, and the Paddle inference
 * model read back by the project's importer. Random weights at x0.25, plain and fine-tuned-style (a new neck and
 * an ArcMargin head in the manifest, which stays out of the files).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as ort from 'onnxruntime-web';
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEAD_TENSOR, validateManifest, type WeightManifest } from '../../src/core/manifest.ts';
import { validatePreprocess, type PreprocessOptions } from '../../src/core/options.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import { buildPPLCNet } from '../../src/model/builder.ts';
import { readInferenceConfig } from '../../src/model/convert/inference-config.ts';
import { importModelFiles } from '../../src/model/convert/import-files.ts';
import { exportManifestModel, type NamedFile } from '../../src/model/export/export-model.ts';
import { writeInferenceYml } from '../../src/model/export/inference-yml.ts';
import { decodeManifest, encodeManifest, networkOf } from '../../src/model/weights/manifest-codec.ts';
import { randomStateDict } from '../support/random-weights.ts';

// Node has no cross-origin isolation, so ORT's threaded wasm would only warn and fall back: ask for one thread.
ort.env.wasm.numThreads = 1;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const S = 224;
const DIM = 512;
const COUNT = 3;

/** Normalised NCHW inputs: smooth patterns plus noise, unlike each other. */
const noise = normalSampler(5);
const INPUT = Float32Array.from({ length: COUNT * 3 * S * S }, (_, i) => {
  const x = i % S;
  const y = Math.floor(i / S) % S;
  const c = Math.floor(i / (S * S)) % 3;
  const n = Math.floor(i / (3 * S * S));
  return Math.sin(0.04 * (n + 1) * x + 0.03 * (c + 1) * y) + 0.4 * noise();
});

interface Stored {
  readonly manifest: WeightManifest;
  readonly stateDict: StateDict;
}

/** Through the manifest codec, as the worker reads a stored model. */
async function store(
  id: string,
  stateDict: StateDict,
  options: { head?: Parameters<typeof encodeManifest>[0]['head']; batchNorm?: 'separate' | 'folded' } = {},
): Promise<Stored> {
  const encoded = await encodeManifest({
    modelId: id,
    scale: 0.25,
    embeddingDim: DIM,
    batchNorm: options.batchNorm ?? 'separate',
    stateDict,
    provenance: 'random weights (export-round-trip.test.ts)',
    license: 'CC0-1.0',
    ...(options.head ? { head: options.head } : {}),
  });
  const manifest = encoded.manifest;
  return {
    manifest,
    stateDict: await decodeManifest(
      manifest,
      encoded.shards.map((s) => s.bytes),
    ),
  };
}

/** The project's embedding (the tfjs builder, not normalised), one row per image. */
function projectEmbeddings(m: Stored): Float32Array {
  const own: StateDict = new Map([...m.stateDict].filter(([name]) => name !== HEAD_TENSOR));
  const model = buildPPLCNet(own, networkOf(m.manifest));
  try {
    return tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(INPUT, [COUNT, 3, S, S]), [0, 2, 3, 1]) as tf.Tensor4D;
      return model.embed(x, false).dataSync() as Float32Array;
    });
  } finally {
    model.dispose();
  }
}

async function runOnnx(bytes: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', INPUT, [COUNT, 3, S, S]) });
    const y = out[session.outputNames[0]!]!;
    expect(y.dims).toEqual([COUNT, DIM]);
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** A fine-tuned model's manifest: the base backbone, a new neck, and an ArcMargin head over 3 labels. */
async function fineTuned(base: StateDict): Promise<Stored> {
  const normal = normalSampler(77);
  const sd: StateDict = new Map(base);
  const w = base.get('neck.fc.weight')!;
  const std = Math.sqrt(2 / (w.shape[0]! + w.shape[1]!));
  sd.set('neck.fc.weight', { shape: w.shape, data: Float32Array.from(w.data, () => std * normal()) });
  sd.set('neck.fc.bias', { shape: [DIM], data: Float32Array.from({ length: DIM }, () => 0.02 * normal()) });
  const labels = ['cat', 'dog', 'owl'];
  const head = {
    settings: { type: 'ArcMargin' as const, labels, scale: 30, margin: 0.15, easyMargin: false },
    weight: Float32Array.from({ length: DIM * labels.length }, () => 0.05 * normal()),
  };
  return store('fine-tuned-x0_25', sd, { head });
}

const files = (named: NamedFile[]) => named.map((f) => ({ name: f.name, bytes: f.bytes }));

/** The network's own tensors (the head stays out of the export). */
function expectSameTensors(got: StateDict, want: StateDict): void {
  const names = [...want.keys()].filter((n) => n !== HEAD_TENSOR).sort();
  expect([...got.keys()].sort()).toEqual(names);
  for (const name of names) {
    expect(got.get(name)!.shape, name).toEqual(want.get(name)!.shape);
    expect(maxAbsDiff(got.get(name)!.data, want.get(name)!.data), name).toBe(0);
  }
}

describe('export round trips', () => {
  let plain: Stored;
  let tuned: Stored;

  beforeAll(async () => {
    plain = await store('random-x0_25', randomStateDict(0.25, DIM, 'separate', 31));
    tuned = await fineTuned(plain.stateDict);
  });

  it.each([
    ['plain', () => plain],
    ['fine-tuned (new neck, ArcMargin head left out)', () => tuned],
  ])('ONNX (%s) runs in ONNX Runtime to the project embeddings within 1e-4', async (_label, get) => {
    const m = get();
    const [onnx] = exportManifestModel(m.manifest, m.stateDict, 'onnx');
    expect(onnx!.name).toBe(`${m.manifest.modelId}.onnx`);
    const want = projectEmbeddings(m);
    const got = await runOnnx(onnx!.bytes);
    const diff = maxAbsDiff(got, want);
    console.log(`ONNX round trip (${_label}): max |diff| ${diff.toExponential(2)} over ${COUNT} x ${DIM} values`);
    expect(want.every(Number.isFinite)).toBe(true);
    expect(diff).toBeLessThanOrEqual(1e-4);
  });

  it('the two models differ (the export carries the fine-tuned neck)', () => {
    expect(maxAbsDiff(projectEmbeddings(plain), projectEmbeddings(tuned))).toBeGreaterThan(0.05);
  });

  it.each([
    ['plain', () => plain],
    ['fine-tuned (new neck, ArcMargin head left out)', () => tuned],
  ])('Paddle inference model (%s) imports back to identical tensors and preprocessing', async (_label, get) => {
    const m = get();
    const named = exportManifestModel(m.manifest, m.stateDict, 'paddle');
    expect(named.map((f) => f.name)).toEqual(['inference.pdmodel', 'inference.pdiparams', 'inference.yml']);
    const { imported, encoded } = await importModelFiles(files(named));
    expect(imported.network).toEqual(networkOf(m.manifest));
    expect(encoded.manifest.head).toBeUndefined();
    expect(encoded.manifest.preprocessing).toEqual(m.manifest.preprocessing);
    expectSameTensors(imported.stateDict, m.stateDict);
    const diff = maxAbsDiff(
      projectEmbeddings({ manifest: encoded.manifest, stateDict: imported.stateDict }),
      projectEmbeddings(m),
    );
    console.log(`Paddle round trip (${_label}): max |diff| of embeddings ${diff}`);
    expect(diff).toBe(0);
  });

  it('the ONNX file imports back to identical tensors too', async () => {
    const { imported } = await importModelFiles(files(exportManifestModel(tuned.manifest, tuned.stateDict, 'onnx')));
    expectSameTensors(imported.stateDict, tuned.stateDict);
  });

  it('folded BatchNorm exports and imports back to identical tensors', async () => {
    const folded = await store('folded-x0_25', randomStateDict(0.25, DIM, 'folded', 31), { batchNorm: 'folded' });
    const { imported } = await importModelFiles(
      files(exportManifestModel(folded.manifest, folded.stateDict, 'paddle')),
    );
    expect(imported.network.batchNorm).toBe('folded');
    expectSameTensors(imported.stateDict, folded.stateDict);
  });

  it('the shipped default model (x1.0, fp16 manifest) exports within 1e-4 (ONNX) and identically (Paddle)', async () => {
    const dir = 'models/default/';
    const manifest = validateManifest(JSON.parse(await readFile(`${dir}manifest.json`, 'utf8')));
    const shards = await Promise.all(manifest.shards.map(async (s) => new Uint8Array(await readFile(dir + s.file))));
    const m = { manifest, stateDict: await decodeManifest(manifest, shards) };
    const diff = maxAbsDiff(
      await runOnnx(exportManifestModel(m.manifest, m.stateDict, 'onnx')[0]!.bytes),
      projectEmbeddings(m),
    );
    console.log(`ONNX round trip (default model): max |diff| ${diff.toExponential(2)} over ${COUNT} x ${DIM} values`);
    expect(diff).toBeLessThanOrEqual(1e-4);
    const { imported } = await importModelFiles(files(exportManifestModel(m.manifest, m.stateDict, 'paddle')));
    expectSameTensors(imported.stateDict, m.stateDict);
  }, 60_000);

  it('refuses an unknown format, naming the valid ones', () => {
    expect(() => exportManifestModel(plain.manifest, plain.stateDict, 'tflite' as 'onnx')).toThrow(
      `export format must be one of 'onnx', 'paddle'; got "tflite"`,
    );
  });
});

describe('inference.yml', () => {
  it.each<[string, Partial<PreprocessOptions>]>([
    ['the default', {}],
    [
      'resize-short-crop, 160 x 80, other statistics',
      {
        mode: 'resize-short-crop',
        width: 160,
        height: 80,
        resizeShort: 192,
        mean: [0.5, 0.5, 0.5],
        std: [0.5, 0.25, 0.125],
        scale: 1 / 255,
      },
    ],
  ])('reads back to the same preprocessing (%s)', (_label, p) => {
    const text = writeInferenceYml(p, 'my model: tuned');
    const config = readInferenceConfig(text);
    expect(validatePreprocess(config.preprocessing)).toEqual(validatePreprocess(p));
    expect(config.modelName).toBe('my model: tuned');
    expect(config.labels).toBeUndefined();
    expect(config.notes).toEqual([]);
  });
});
