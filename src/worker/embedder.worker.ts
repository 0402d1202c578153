/**
 * The worker entry: one EmbedderEngine behind comlink. All tfjs work happens here, off the main thread,
 * and so does converting a user's PaddleClas / ONNX model, which can take seconds on a large file.
 */
import * as Comlink from 'comlink';
import { MODEL_IMPORT_ROLES, type EmbedderWorkerApi, type EmbedOptions, type ImageInput, type LoadOptions, type ModelFileInput, type ModelImportOptions, type ProgressCallback } from '../core/embedder-api.ts';
import { OptionsError } from '../core/errors.ts';
import type { FineTuneOptions, FineTuneProgress, FineTuneSample } from '../core/finetune-api.ts';
import { importModelFiles } from '../model/convert/import-files.ts';
import { BROWSER_PROBES } from './browser-backends.ts';
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
  defaultModelUrl: new URL('/models/default/manifest.json', self.location.origin).href,
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
    const role = options?.role ?? 'auto';
    if (!MODEL_IMPORT_ROLES.includes(role)) throw new OptionsError(`role must be one of ${MODEL_IMPORT_ROLES.join(', ')}; got ${JSON.stringify(role)}`);
    const { encoded } = await importModelFiles(files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })), { role });
    return storeModel(encoded, { kind: 'imported' });
  },
  async fineTune(samples: readonly FineTuneSample[], options?: FineTuneOptions, onProgress?: (p: FineTuneProgress) => void) {
    const run = await engine.fineTune(samples, options, onProgress);
    // Stored in one step after training: a reload during training leaves no half-written model behind.
    if (!run.encoded) return { result: run.result };
    return { result: run.result, model: await storeModel(run.encoded, { kind: 'fine-tuned', base: (await engine.info()).modelId }) };
  },
  async stopFineTune() {
    engine.stopFineTune();
  },
};

Comlink.expose(api);
