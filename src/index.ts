/** The public API for apps with no UI: one ES module. */
export { createEmbedder, DEFAULT_MODEL_URL, type ClientImage, type CreateEmbedderOptions, type Embedder } from './worker/client.ts';
export { cosineSimilarity } from './core/similarity.ts';
export * from './core/embedder-api.ts';
export * from './core/errors.ts';
export { DEFAULT_PREPROCESS, type PreprocessOptions, type ResizeMode } from './core/options.ts';
export type { WeightManifest } from './core/manifest.ts';
