/**
 * The worker entry: one EmbedderEngine behind comlink. All tfjs work happens here, off the main thread,
 * and so does converting a user's PaddleClas / ONNX model, which can take seconds on a large file.
 */
import * as Comlink from 'comlink';
import type { ImageInput, ModelFileInput, ProgressCallback } from '../core/embedder-api.ts';
import type { FineTuneProgress, FineTuneSample } from '../core/fine-tune-api.ts';
import {
  DEFAULT_MODEL_PATH,
  validateModelImportOptions,
  type EmbedOptions,
  type FineTuneOptions,
  type LoadOptions,
  type ModelImportOptions,
} from '../core/options.ts';
import type { EmbedderWorkerApi, ModelExportFormat } from '../core/worker-api.ts';
import { importModelFiles } from '../model/convert/import-files.ts';
import { exportManifestModel } from '../model/export/export-model.ts';
import { loadWeights } from '../model/weights/load-weights.ts';
import { INDEXED_DB_BACKEND_MEMORY } from './backend-memory.ts';
import { BROWSER_PROBES, browserDeviceKey } from './browser-backends.ts';
import { decodeImage } from './decode-image.ts';
import { EmbedderEngine } from './embedder-engine.ts';
import { cachedFetch, isStoredModelUrl, storeModel } from './model-store.ts';
import { CACHE_STORAGE_SHARDS } from './shard-cache.ts';

const engine = new EmbedderEngine({
  probes: BROWSER_PROBES,
  decode: decodeImage,
  fetch: cachedFetch,
  // Served models keep their shards for the next visit; imported ones already live in Cache Storage.
  shardCache: (url) => (isStoredModelUrl(url) ? undefined : CACHE_STORAGE_SHARDS),
  // The client always passes a model URL resolved against the page; this is only a last resort.
  defaultModelUrl: new URL(`/${DEFAULT_MODEL_PATH}`, self.location.origin).href,
  // `auto` times the backends on a model's first load on this device and remembers the winner.
  backendMemory: INDEXED_DB_BACKEND_MEMORY,
  deviceKey: browserDeviceKey,
});

const api: EmbedderWorkerApi = {
  load: (options?: LoadOptions, onProgress?: ProgressCallback) => engine.load(options, onProgress),
  async embed(images: readonly ImageInput[], options?: EmbedOptions, onProgress?: ProgressCallback) {
    const results = await engine.embed(images, options, onProgress);
    // Hand the vectors over instead of copying them: each was sliced into its own buffer.
    return Comlink.transfer(
      results,
      results.flatMap((r) => (r.ok ? [r.embedding.buffer as ArrayBuffer] : [])),
    );
  },
  info: () => engine.info(),
  dispose: () => engine.dispose(),
  async importModel(files: readonly ModelFileInput[], options?: ModelImportOptions) {
    const { role } = validateModelImportOptions(options);
    const { encoded } = await importModelFiles(
      files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })),
      { role },
    );
    return storeModel(encoded, { kind: 'imported' });
  },
  async fineTune(
    samples: readonly FineTuneSample[],
    options?: FineTuneOptions,
    onProgress?: (p: FineTuneProgress) => void,
  ) {
    const { report, model } = await engine.fineTune(samples, options, onProgress);
    // Stored in one step after training: a reload during training leaves no half-written model behind.
    if (!model) return { report };
    return { report, model: await storeModel(model, { kind: 'fine-tuned', base: (await engine.info()).modelId }) };
  },
  async stopFineTune() {
    engine.stopFineTune();
  },
  async exportModel(url: string, format: ModelExportFormat) {
    // Read through the same checks as loading it (sizes, checksums, names and shapes), not the engine's copy.
    const { manifest, stateDict } = await loadWeights(url, cachedFetch);
    const files = exportManifestModel(manifest, stateDict, format).map((f) => ({
      name: f.name,
      bytes: f.bytes.buffer.slice(f.bytes.byteOffset, f.bytes.byteOffset + f.bytes.byteLength) as ArrayBuffer,
    }));
    return Comlink.transfer(
      files,
      files.map((f) => f.bytes),
    );
  },
};

Comlink.expose(api);
