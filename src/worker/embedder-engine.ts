/**
 * The embedder's implementation, free of any worker plumbing so Node scripts (eval, parity) and tests run the
 * very same code path as the page. Calls are serialised on one promise chain: tfjs backends are not
 * re-entrant across awaits, and a second load() must not swap the model under a running embed().
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  BackendMeasurement,
  BackendName,
  EmbedderApi,
  EmbedderInfo,
  EmbeddingResult,
  ImageInput,
  ImageSource,
  ProgressCallback,
} from '../core/embedder-api.ts';
import { asEmbedderError, DisposedError, EmbedderError, OptionsError } from '../core/errors.ts';
import type { FineTuneProgress, FineTuneSample } from '../core/fine-tune-api.ts';
import {
  validateEmbedOptions,
  validateLoadOptions,
  validatePreprocess,
  type EmbedOptions,
  type FineTuneOptions,
  type LoadOptions,
  type PreprocessOptions,
} from '../core/options.ts';
import { HEAD_BIAS_TENSOR, HEAD_TENSOR, type WeightManifest } from '../core/manifest.ts';
import { recommendedThreshold } from '../core/recognition-threshold.ts';
import type { StateDict } from '../core/state-dict.ts';
import { arcMarginCosine } from '../model/arc-margin.ts';
import { buildPPLCNet, l2Normalize, type PPLCNetModel } from '../model/builder.ts';
import type { BatchNormForm } from '../model/parameters.ts';
import { networkOf, type EncodedModel } from '../model/weights/manifest-codec.ts';
import { runFineTune } from './fine-tune-runner.ts';
import type { FineTuneResult } from '../core/worker-api.ts';
import { loadWeights, type FetchLike, type ShardCache } from '../model/weights/load-weights.ts';
import { preprocessPixels, type RgbaPixels } from '../model/preprocess.ts';
import { warmUp } from '../model/warm-up.ts';
import { activateBackend, selectBackend, type BackendProbes, type BackendSelection } from './backend-select.ts';
import {
  describeVerdict,
  measureBackends,
  probeBackends,
  trialCandidates,
  type BackendMemory,
  type ProbedBackend,
} from './backend-trial.ts';

export interface DecodedPixels {
  readonly pixels: RgbaPixels;
  readonly width: number;
  readonly height: number;
  readonly decodeMs: number;
}

/** What differs between a browser worker and Node. */
export interface EngineEnvironment {
  readonly probes: BackendProbes;
  readonly decode: (image: ImageSource, name: string, options: { maxPixels: number }) => Promise<DecodedPixels>;
  readonly fetch: FetchLike;
  readonly defaultModelUrl: string;
  /** Where a model's shards are kept between visits, if anywhere (the worker: Cache Storage). */
  readonly shardCache?: (manifestUrl: string) => ShardCache | undefined;
  readonly now?: () => number;
  /**
   * Where `auto` remembers the backend it measured fastest, per device and model (backend-trial.ts). Absent
   * (Node): `auto` follows the order rule alone.
   */
  readonly backendMemory?: BackendMemory;
  /** Describes the device for that memory's key: a new GPU, driver or browser measures again. */
  readonly deviceKey?: () => Promise<string>;
  /** Which backends `auto` times; default trialCandidates (hardware GPUs and WASM). */
  readonly trialCandidates?: (probed: readonly ProbedBackend[]) => BackendName[];
}

interface Loaded {
  readonly model: PPLCNetModel;
  readonly preprocess: PreprocessOptions;
  readonly info: EmbedderInfo;
  /** The model's own tensors as loaded (fine-tuning writes a new model from them). */
  readonly stateDict: StateDict;
  readonly batchNorm: BatchNormForm;
  /**
   * A head for predictions: a fine-tuned ArcMargin head (its columns are class centres: the nearest one and
   * its cosine), or an imported classifier's fc (the top label and its softmax probability).
   */
  readonly head?: LoadedHead;
}

interface LoadedHead {
  readonly type: 'ArcMargin' | 'Linear';
  readonly labels: readonly string[];
  readonly weight: tf.Tensor2D;
  readonly bias?: tf.Tensor1D;
}

/** Per image and label: the ArcMargin head's cosine, or the classifier's softmax probability. */
function headScores(head: LoadedHead, embedding: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    head.type === 'ArcMargin'
      ? arcMarginCosine(embedding, head.weight)
      : (tf.softmax(tf.add(tf.matMul(embedding, head.weight), head.bias!)) as tf.Tensor2D),
  );
}

function isNamed(input: ImageInput): input is Exclude<ImageInput, ImageSource> {
  return typeof input === 'object' && input !== null && 'image' in input;
}

function describe(input: ImageInput, index: number): { id: string; name: string; image: ImageSource } {
  if (isNamed(input)) {
    const name = input.name ?? input.id ?? `image-${index + 1}`;
    return { id: input.id ?? name, name, image: input.image };
  }
  const fileName = (input as { name?: unknown }).name;
  const name = typeof fileName === 'string' && fileName !== '' ? fileName : `image-${index + 1}`;
  return { id: name, name, image: input };
}

function nearestClass(scores: Float32Array, labels: readonly string[]): { label: string; score: number } {
  let best = 0;
  for (let c = 1; c < scores.length; c++) if (scores[c]! > scores[best]!) best = c;
  return { label: labels[best]!, score: scores[best]! };
}

export class EmbedderEngine implements EmbedderApi {
  private queue: Promise<unknown> = Promise.resolve();
  private loaded: Loaded | undefined;
  private disposed = false;
  private stopRequested = false;
  private readonly now: () => number;

  constructor(private readonly env: EngineEnvironment) {
    this.now = env.now ?? (() => performance.now());
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.disposed) throw new DisposedError('this embedder was disposed; create a new one');
      return task();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  load(options: LoadOptions = {}, onProgress?: ProgressCallback): Promise<EmbedderInfo> {
    return this.serial(() => this.doLoad(options, onProgress));
  }

  embed(
    images: readonly ImageInput[],
    options: EmbedOptions = {},
    onProgress?: ProgressCallback,
  ): Promise<EmbeddingResult[]> {
    return this.serial(() => this.doEmbed(images, options, onProgress));
  }

  info(): Promise<EmbedderInfo> {
    return this.serial(async () => {
      const { numTensors, numBytes } = tf.memory();
      return { ...this.requireLoaded().info, memory: { numTensors, numBytes } };
    });
  }

  dispose(): Promise<void> {
    return this.serial(async () => {
      this.unload();
      this.disposed = true;
    });
  }

  /**
   * Fine-tunes the neck and an ArcMargin head on labelled images (src/worker/fine-tune-runner.ts). The
   * loaded model is not changed: the result's `model` is a new, encoded model for the caller to store and load.
   */
  fineTune(
    samples: readonly FineTuneSample[],
    options: FineTuneOptions = {},
    onProgress?: (p: FineTuneProgress) => void,
  ): Promise<FineTuneResult<EncodedModel>> {
    this.stopRequested = false;
    return this.serial(async () => {
      const l = this.requireLoaded();
      // tfjs-core ships its gradients apart; only training needs them, so they load on first use.
      await import('@tensorflow/tfjs-core/dist/register_all_gradients');
      return runFineTune(
        {
          model: l.model,
          preprocess: l.preprocess,
          info: l.info,
          stateDict: l.stateDict,
          batchNorm: l.batchNorm,
          decode: (image, name) => this.env.decode(image, name, { maxPixels: l.info.maxPixels }),
          now: this.now,
        },
        samples,
        options,
        onProgress,
        () => this.stopRequested,
      );
    });
  }

  /** Ends a running fineTune() after its current batch; it keeps the best epoch so far. Not queued. */
  stopFineTune(): void {
    this.stopRequested = true;
  }

  private unload(): void {
    this.loaded?.model.dispose();
    this.loaded?.head?.weight.dispose();
    this.loaded?.head?.bias?.dispose();
    this.loaded = undefined;
  }

  /** The loaded model, for in-process callers (fine-tuning, tests). */
  get model(): PPLCNetModel {
    return this.requireLoaded().model;
  }

  private requireLoaded(): Loaded {
    if (!this.loaded) throw new EmbedderError('no model loaded: call load() first');
    return this.loaded;
  }

  private async doLoad(options: LoadOptions, onProgress?: ProgressCallback): Promise<EmbedderInfo> {
    const start = this.now();
    const { backend: backendChoice, batchSize, normalize, maxPixels } = validateLoadOptions(options);
    // The old model goes first: its tensors live on the old backend, which may be switched below.
    this.unload();

    let selection = await selectBackend(backendChoice, this.env.probes);
    const url = options.model ?? this.env.defaultModelUrl;
    const { manifest, stateDict } = await loadWeights(
      url,
      this.env.fetch,
      (done, total) => onProgress?.({ stage: 'download', done, total }),
      this.env.shardCache?.(url),
      options.modelFiles,
    );
    const preprocess = validatePreprocess({ ...manifest.preprocessing, ...options.preprocess });
    const headTensor = manifest.head ? stateDict.get(HEAD_TENSOR) : undefined;
    const headBias = manifest.head ? stateDict.get(HEAD_BIAS_TENSOR) : undefined;
    stateDict.delete(HEAD_TENSOR);
    stateDict.delete(HEAD_BIAS_TENSOR);
    onProgress?.({ stage: 'compile', done: 0, total: 1 });
    const measured =
      backendChoice === 'auto' ? await this.chooseByMeasurement(manifest, stateDict, preprocess, selection) : undefined;
    if (measured) selection = measured.selection;
    const model = buildPPLCNet(stateDict, networkOf(manifest));
    // Warm-up: the first run compiles shaders / kernels; doing it here keeps the first embed() honest.
    // Parallel compilation only on a hardware GPU: on SwiftShader it made the cold start slower, not faster
    // (npm run bench, webgpu x1.0: 6.1 s without, 7.4 s and 7.5 s with), as its compiler does not run in parallel.
    const software = await this.env.probes[selection.backend].software();
    await warmUp(() => tf.tidy(() => model.embed(tf.zeros([1, preprocess.height, preprocess.width, 3]), normalize)), {
      parallelCompile: !software,
    });
    onProgress?.({ stage: 'compile', done: 1, total: 1 });
    const recognition = recommendedThreshold(manifest.recognition);
    const info: EmbedderInfo = {
      backend: selection.backend,
      backendReasons: selection.reasons,
      ...(measured ? { backendMeasurement: measured.measurement } : {}),
      modelId: manifest.modelId,
      scale: manifest.architecture.scale,
      embeddingDim: manifest.embeddingDim,
      dtype: manifest.dtype,
      normalize,
      batchSize,
      maxPixels,
      preprocessing: preprocess,
      provenance: manifest.provenance,
      license: manifest.license,
      loadMs: this.now() - start,
      memory: { numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes },
      ...(manifest.head ? { classes: manifest.head.labels, headType: manifest.head.type } : {}),
      recognitionThreshold: recognition.threshold,
      recognitionThresholdSource: recognition.source,
      recognitionThresholdNote: recognition.note,
    };
    const head: LoadedHead | undefined =
      manifest.head && headTensor
        ? {
            type: manifest.head.type,
            labels: manifest.head.labels,
            weight: tf.tensor2d(headTensor.data, [headTensor.shape[0]!, headTensor.shape[1]!]),
            ...(headBias ? { bias: tf.tensor1d(headBias.data) } : {}),
          }
        : undefined;
    this.loaded = {
      model,
      preprocess,
      info,
      stateDict,
      batchNorm: manifest.architecture.batchNorm,
      ...(head ? { head } : {}),
    };
    return info;
  }

  /**
   * `auto` on a device with more than one candidate backend: the verdict remembered for this device and model,
   * else the candidates timed on the model now (and remembered). Undefined: keep the order rule's choice.
   */
  private async chooseByMeasurement(
    manifest: WeightManifest,
    stateDict: StateDict,
    preprocess: PreprocessOptions,
    rule: BackendSelection,
  ): Promise<{ selection: BackendSelection; measurement: BackendMeasurement } | undefined> {
    const memory = this.env.backendMemory;
    if (!memory) return undefined;
    const candidates = (this.env.trialCandidates ?? trialCandidates)(await probeBackends(this.env.probes));
    if (candidates.length < 2) return undefined;
    const device = (await this.env.deviceKey?.()) ?? 'this device';
    const key = `${device} | ${manifest.modelId} x${manifest.architecture.scale} ${preprocess.height}x${preprocess.width}`;
    let verdict = await memory.get(key).catch(() => undefined);
    const remembered = verdict !== undefined && candidates.includes(verdict.backend);
    if (!remembered) {
      const { height, width } = preprocess;
      verdict = await measureBackends(
        candidates,
        () => {
          const m = buildPPLCNet(stateDict, networkOf(manifest));
          return {
            run: (b) => tf.tidy(() => m.embed(tf.zeros([b, height, width, 3]), true)),
            dispose: () => m.dispose(),
          };
        },
        this.now,
      );
      if (verdict) await memory.put(key, verdict).catch(() => undefined);
    }
    if (!verdict || (await activateBackend(verdict.backend))) {
      await activateBackend(rule.backend);
      return undefined;
    }
    const reasons = { ...rule.reasons };
    for (const name of candidates) {
      const ms = verdict.msPerImage[name];
      reasons[name] =
        name === verdict.backend
          ? describeVerdict(verdict, remembered)
          : ms !== undefined
            ? `measured slower: ${ms.toFixed(1)} ms/image`
            : `not chosen: ${verdict.notes[name] ?? 'not measured'}`;
    }
    return {
      selection: { backend: verdict.backend, reasons },
      measurement: {
        source: remembered ? 'remembered' : 'measured',
        msPerImage: verdict.msPerImage,
        batch: verdict.batch,
        measuredAt: verdict.measuredAt,
      },
    };
  }

  private async doEmbed(
    images: readonly ImageInput[],
    options: EmbedOptions,
    onProgress?: ProgressCallback,
  ): Promise<EmbeddingResult[]> {
    const { model, preprocess, info, head } = this.requireLoaded();
    if (!Array.isArray(images)) throw new OptionsError('embed() takes an array of images');
    const { batchSize, normalize } = validateEmbedOptions(options, info);
    const results: EmbeddingResult[] = new Array(images.length);
    let done = 0;
    onProgress?.({ stage: 'embed', done, total: images.length });
    const stride = preprocess.height * preprocess.width * 3;
    // Decode one batch at a time so a drop of 1,000 photos never holds 1,000 decoded images in memory. Each
    // image is preprocessed straight into its slot of one batch array, uploaded once.
    for (let first = 0; first < images.length; first += batchSize) {
      const input = new Float32Array(Math.min(batchSize, images.length - first) * stride);
      const batch: {
        index: number;
        id: string;
        name: string;
        width: number;
        height: number;
        decodeMs: number;
        preprocessMs: number;
      }[] = [];
      for (let index = first; index < Math.min(first + batchSize, images.length); index++) {
        const { id, name, image } = describe(images[index]!, index);
        try {
          let decoded: DecodedPixels;
          try {
            decoded = await this.env.decode(image, name, { maxPixels: info.maxPixels });
          } finally {
            // Bitmaps arrive here as clones the worker owns: free their memory as soon as they are read.
            if (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) image.close();
          }
          const t0 = this.now();
          preprocessPixels(
            decoded.pixels,
            preprocess,
            input.subarray(batch.length * stride, (batch.length + 1) * stride),
          );
          batch.push({
            index,
            id,
            name,
            width: decoded.width,
            height: decoded.height,
            decodeMs: decoded.decodeMs,
            preprocessMs: this.now() - t0,
          });
        } catch (e) {
          const err = asEmbedderError(e);
          results[index] = { ok: false, id, name, error: { code: err.code, message: err.message } };
          onProgress?.({ stage: 'embed', done: ++done, total: images.length });
        }
      }
      if (batch.length === 0) continue;
      const t0 = this.now();
      const output = tf.tidy(() =>
        model.embed(
          tf.tensor4d(input.subarray(0, batch.length * stride), [batch.length, preprocess.height, preprocess.width, 3]),
          false,
        ),
      );
      const returned = normalize ? l2Normalize(output) : output;
      const flat = (await returned.data()) as Float32Array;
      // With a head: the nearest class centre (ArcMargin's eval-mode cosine) or the classifier's softmax, on
      // the un-normalised embedding (the classifier's fc reads the raw feature; the cosine does not care).
      const scoreTensor = head ? headScores(head, output) : undefined;
      const scores = scoreTensor ? ((await scoreTensor.data()) as Float32Array) : undefined;
      tf.dispose([scoreTensor, returned, output].filter((t) => t !== undefined) as tf.Tensor[]);
      const inferenceMs = (this.now() - t0) / batch.length;
      const dim = info.embeddingDim;
      batch.forEach((b, k) => {
        results[b.index] = {
          ok: true,
          id: b.id,
          name: b.name,
          embedding: flat.slice(k * dim, (k + 1) * dim),
          width: b.width,
          height: b.height,
          timings: { decodeMs: b.decodeMs, preprocessMs: b.preprocessMs, inferenceMs },
          ...(head && scores
            ? {
                prediction: nearestClass(
                  scores.subarray(k * head.labels.length, (k + 1) * head.labels.length),
                  head.labels,
                ),
              }
            : {}),
        };
      });
      done += batch.length;
      onProgress?.({ stage: 'embed', done, total: images.length });
    }
    return results;
  }
}
