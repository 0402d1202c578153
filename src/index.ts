/** The `shitu-web` entry (dist/lib/index.js): the API for apps, with no UI and no side effects. */
export {
  createEmbedder,
  DEFAULT_MODEL_URL,
  type ClientImage,
  type CreateEmbedderOptions,
  type Embedder,
} from './worker/client.ts';
export { cosineSimilarity } from './core/similarity.ts';
export * from './core/embedder-api.ts';
export type { EmbedderWorkerApi, FineTuneResult } from './core/worker-api.ts';
export * from './core/errors.ts';
export { DEFAULT_PREPROCESS, type PreprocessOptions, type ResizeMode } from './core/options.ts';
export type { WeightManifest } from './core/manifest.ts';
