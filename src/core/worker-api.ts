/**
 * What the browser worker offers: the embedder (embedder-api.ts) plus converting a PaddleClas / ONNX model
 * and fine-tuning (fine-tune-api.ts). It sits apart from both so that neither imports the other.
 */
import type { EmbedderApi, ModelFileInput, ModelImportOptions, StoredModelInfo } from './embedder-api.ts';
import type { FineTuneProgress, FineTuneReport, FineTuneSample } from './fine-tune-api.ts';
import type { FineTuneOptions } from './options.ts';

/**
 * What fineTune() returns: the run's report, and the model it made. `Model` is the stored model's
 * description across the worker boundary; inside the worker (EmbedderEngine) it is the encoded weights.
 */
export interface FineTuneResult<Model = StoredModelInfo> {
  readonly report: FineTuneReport;
  /** The fine-tuned model (stored like an imported one); absent when the run stopped before one epoch ended. */
  readonly model?: Model;
}

/** What a stored model can be exported as: a paddle2onnx-style `.onnx`, or a Paddle 2.x inference model. */
export type ModelExportFormat = 'onnx' | 'paddle';
export const MODEL_EXPORT_FORMATS: readonly ModelExportFormat[] = ['onnx', 'paddle'];

/** One exported file; `bytes` is transferred across the worker boundary, not copied. */
export interface ExportedModelFile {
  readonly name: string;
  readonly bytes: ArrayBuffer;
}

export interface EmbedderWorkerApi extends EmbedderApi {
  /**
   * Converts a model's files (a folder's worth: `inference.pdmodel` or `inference.json` + `inference.pdiparams`
   * + `inference.yml`, or one `.onnx`), stores it, and returns where it is.
   */
  importModel(files: readonly ModelFileInput[], options?: ModelImportOptions): Promise<StoredModelInfo>;
  /** Fine-tunes the loaded model's neck + an ArcMargin head; stores the result (load it to use it). */
  fineTune(
    samples: readonly FineTuneSample[],
    options?: FineTuneOptions,
    onProgress?: (p: FineTuneProgress) => void,
  ): Promise<FineTuneResult>;
  /** Stops a running fineTune() after its current batch, keeping its best epoch. */
  stopFineTune(): Promise<void>;
  /**
   * A model (its manifest URL, e.g. a fine-tuned one's) as files PaddleClas / PP-ShiTu and ONNX Runtime read:
   * `onnx`: `<modelId>.onnx`; `paddle`: `inference.pdmodel`, `inference.pdiparams` and `inference.yml`. The
   * backbone and neck only: the output is the embedding, before L2 normalisation; a head stays behind.
   */
  exportModel(url: string, format: ModelExportFormat): Promise<ExportedModelFile[]>;
}
