/**
 * The page `npm run eval` drives. Our models run through the product's own path (createEmbedder: the worker,
 * its decoder and preprocessing); the teachers (a TF.js layers model, or a TFLite MobileNet run by
 * scripts/lib/tflite in float mode) run here with the same decoder and resize and their own scaling to
 * [-1, 1]. Every vector comes back L2-normalised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import type { BackendChoice } from '../../src/core/embedder-api.ts';
import type { FineTuneReport } from '../../src/core/fine-tune-api.ts';
import { DEFAULT_PREPROCESS, type FineTuneOptions } from '../../src/core/options.ts';
import { l2Normalize } from '../../src/model/builder.ts';
import { preprocessToTensor } from '../../src/model/preprocess.ts';
import { BROWSER_PROBES } from '../../src/worker/browser-backends.ts';
import { selectBackend } from '../../src/worker/backend-select.ts';
import { decodeImage } from '../../src/worker/decode-image.ts';
import { createEmbedder, type Embedder } from '../../src/worker/client.ts';
import { loadTfliteFeatureExtractor, type TfliteFeatureExtractor } from '../lib/tflite/feature-extractor.ts';

/** Keras MobileNetV2's preprocess_input: x / 127.5 - 1, after the same direct 224 x 224 resize. */
const TEACHER_PREPROCESS = { ...DEFAULT_PREPROCESS, mean: [0.5, 0.5, 0.5] as const, std: [0.5, 0.5, 0.5] as const };
/**
 * The TFLite teacher runs in slices of this many images: its graph keeps a couple of full-resolution activation
 * maps alive (112 x 112 x 96 floats, 4.8 MB an image), and WASM's heap is limited.
 */
const TFLITE_SLICE = 8;

/** A teacher: the batch's preprocessing and its forward pass to a pooled [N, C] feature. */
interface Teacher {
  readonly preprocess: typeof TEACHER_PREPROCESS;
  readonly slice: number;
  forward(batch: tf.Tensor4D): tf.Tensor2D;
}

let embedder: Embedder | undefined;
let teacher: Teacher | undefined;
let tfliteTeacher: TfliteFeatureExtractor | undefined;
let backendName = '';

async function fetchFile(url: string): Promise<File> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new File([await r.blob()], url.split('/').pop()!);
}

const evalApi = {
  async loadModel(
    model: string,
    backend: BackendChoice,
    batchSize: number,
  ): Promise<{ backend: string; modelId: string; scale: number }> {
    embedder = await createEmbedder({ model, backend, batchSize });
    const info = await embedder.info();
    backendName = info.backend;
    return { backend: info.backend, modelId: info.modelId, scale: info.scale };
  },

  async loadTeacher(url: string, backend: BackendChoice): Promise<{ backend: string }> {
    backendName = (await selectBackend(backend, BROWSER_PROBES)).backend;
    const full = await loadLayersModel(url);
    // A Teachable Machine export: Sequential[ sequential_5 [ model2 (MobileNetV2 trunk, 7x7x1280), GAP ], head ].
    // The first sub-model is the ImageNet feature: 1280-d after global average pooling.
    const trunk = full.layers[0] as unknown as LayersModel;
    const shape = trunk.outputs[0]!.shape;
    if (shape.length !== 2 || shape[1] !== 1280)
      throw new Error(`the teacher's first sub-model outputs [${shape.join(', ')}], expected [null, 1280]`);
    tfliteTeacher?.dispose();
    tfliteTeacher = undefined;
    teacher = {
      preprocess: TEACHER_PREPROCESS,
      slice: Infinity,
      forward: (batch) => trunk.predict(batch) as tf.Tensor2D,
    };
    return { backend: backendName };
  },

  /** A TFLite image classifier (e.g. MobileNetV2 1.0 quantised), run in float mode; its feature is the global average pool. */
  async loadTfliteTeacher(
    url: string,
    backend: BackendChoice,
  ): Promise<{ backend: string; feature: string; dim: number }> {
    backendName = (await selectBackend(backend, BROWSER_PROBES)).backend;
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    tfliteTeacher?.dispose();
    const extractor = await loadTfliteFeatureExtractor(new Uint8Array(await r.arrayBuffer()), {
      source: url.split('/').pop()!,
    });
    tfliteTeacher = extractor;
    const [height, width, channels] = extractor.inputShape;
    if (channels !== 3) throw new Error(`the TFLite teacher takes ${channels}-channel images; expected RGB`);
    teacher = {
      preprocess: { ...TEACHER_PREPROCESS, width, height },
      slice: TFLITE_SLICE,
      forward: (batch) => extractor.extract(batch),
    };
    return { backend: backendName, feature: extractor.featureName, dim: extractor.featureDim };
  },

  /** Embeds a chunk of files; returns base64 of each L2-normalised Float32Array (fast to pass out). */
  async embed(urls: string[]): Promise<{ vectors: string[]; errors: string[]; ms: number }> {
    const files = await Promise.all(urls.map(fetchFile));
    const t0 = performance.now();
    let vectors: Float32Array[];
    const errors: string[] = [];
    if (embedder) {
      const results = await embedder.embed(files);
      vectors = results.map((r) => {
        if (!r.ok) errors.push(r.error.message);
        return r.ok ? r.embedding : new Float32Array(0);
      });
    } else if (teacher) {
      const model = teacher;
      const inputs: tf.Tensor3D[] = [];
      for (const f of files) {
        const decoded = await decodeImage(f, f.name, { maxPixels: 50_000_000 });
        inputs.push(preprocessToTensor(decoded.pixels, model.preprocess));
      }
      vectors = [];
      for (let start = 0; start < inputs.length; start += model.slice) {
        const slice = inputs.slice(start, start + model.slice);
        const out = tf.tidy(() => l2Normalize(model.forward(tf.stack(slice) as tf.Tensor4D)));
        const flat = (await out.data()) as Float32Array;
        const dim = out.shape[1]!;
        out.dispose();
        vectors.push(...slice.map((_, i) => flat.slice(i * dim, (i + 1) * dim)));
      }
      tf.dispose(inputs);
    } else {
      throw new Error('load a model or the teacher first');
    }
    const ms = performance.now() - t0;
    const b64 = (v: Float32Array) => {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      let s = '';
      for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
      return btoa(s);
    };
    return { vectors: vectors.map(b64), errors, ms };
  },

  /**
   * Fine-tunes the loaded model on labelled files (the page's worker API: the same code path as the page's
   * training panel), then loads the result so later embed() calls use it.
   */
  async fineTune(
    urls: string[],
    labels: string[],
    options: FineTuneOptions,
  ): Promise<{ report: FineTuneReport; modelId: string }> {
    if (!embedder) throw new Error('load a model first');
    const files = await Promise.all(urls.map(fetchFile));
    const { report, model } = await embedder.fineTune(
      files.map((image, i) => ({ image, label: labels[i]!, name: urls[i]! })),
      options,
      (p) => {
        if (p.phase === 'train' && p.epoch) {
          const e = p.epoch;
          console.log(
            `epoch ${e.epoch}/${p.total}: loss ${e.trainLoss.toFixed(4)}, train acc ${e.trainAccuracy.toFixed(3)}, val acc ${e.valAccuracy.toFixed(3)}, val recall@1 ${e.valRecallAt1.toFixed(3)}, val mAP ${e.valMap.toFixed(3)} (${e.seconds.toFixed(1)} s)`,
          );
        } else if (p.phase === 'features' && (p.done % 128 < 8 || p.done === p.total)) {
          console.log(`features ${p.done}/${p.total}`);
        }
      },
    );
    if (!model) throw new Error('fine-tuning stopped before its first epoch');
    await embedder.load({ model: model.url });
    return { report, modelId: model.id };
  },
};

declare global {
  interface Window {
    evalApi: typeof evalApi;
  }
}
window.evalApi = evalApi;
document.body.dataset.ready = 'true';
