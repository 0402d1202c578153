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
// What the page's map, gallery report and near-duplicates views compute, for code without the UI
// (docs/insights.md). `report(gallery)` is galleryReport under the short name.
export {
  galleryReport,
  galleryReport as report,
  DEFAULT_GALLERY_REPORT_OPTIONS,
  SCORE_HISTOGRAM_BINS,
  type ClassGrowth,
  type ClassReport,
  type ConfusedPair,
  type ConfusionExample,
  type GalleryReportEntry,
  type GalleryReportOptions,
  type GalleryReportResult,
  type GrowthPoint,
  type ScoreHistograms,
  type ThresholdAdvice,
  type ThresholdRates,
} from './core/gallery-report.ts';
export {
  nearDuplicates,
  DEFAULT_DUPLICATE_THRESHOLD,
  type NearDuplicateCandidate,
  type NearDuplicateGroup,
} from './core/near-duplicates.ts';
export { pca2d, type Pca2dOptions, type Pca2dResult } from './core/embedding-map/pca.ts';
