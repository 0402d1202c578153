/** What the main thread holds: the embedder's interface as the client (one worker or a pool) offers it. */
import type { EmbeddingResult, ImageInput, ProgressCallback, StoredModelInfo } from '../core/embedder-api.ts';
import type { EmbedOptions, ModelImportOptions } from '../core/options.ts';
import type { EmbedderWorkerApi } from '../core/worker-api.ts';

/** Anything `embed` accepts on the main thread. */
export type ClientImage = ImageInput | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas;

export interface Embedder extends Omit<EmbedderWorkerApi, 'embed' | 'importModel'> {
  embed(
    images: readonly ClientImage[],
    options?: EmbedOptions,
    onProgress?: ProgressCallback,
  ): Promise<EmbeddingResult[]>;
  /**
   * Converts a model's files in the worker (a folder's worth: inference.pdmodel or inference.json +
   * inference.pdiparams + inference.yml, or one .onnx) and stores it.
   */
  importModel(files: readonly File[], options?: ModelImportOptions): Promise<StoredModelInfo>;
}
