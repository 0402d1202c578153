/**
 * The embedder's public interface: the one typed boundary between the page / element / apps and the worker.
 * Everything crossing it is plain, structured-cloneable data.
 */
import type { EmbedderErrorCode } from './errors.ts';
import type { PreprocessOptions } from './options.ts';
import type { RecognitionThresholdSource } from './recognition-threshold.ts';

// The options' types live beside their defaults and validators (options.ts); the API names them too.
export {
  BACKEND_CHOICES,
  BACKEND_NAMES,
  MODEL_IMPORT_ROLES,
  type BackendChoice,
  type BackendName,
  type EmbedOptions,
  type LoadOptions,
  type ModelImportOptions,
  type ModelImportRole,
} from './options.ts';
import type { BackendName, EmbedOptions, LoadOptions } from './options.ts';

/** What `embed` takes per image. Image and canvas elements are turned into ImageBitmaps by the client. */
export type ImageSource = Blob | ImageBitmap | ImageData;

export interface NamedImage {
  /** Returned as the result's `id`; defaults to the name, else the index. */
  readonly id?: string;
  readonly name?: string;
  readonly image: ImageSource;
}

export type ImageInput = ImageSource | NamedImage;

export interface EmbeddingTimings {
  readonly decodeMs: number;
  readonly preprocessMs: number;
  /** This image's share of its batch's forward pass. */
  readonly inferenceMs: number;
}

export interface EmbeddingSuccess {
  readonly ok: true;
  readonly id: string;
  readonly name: string;
  readonly embedding: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly timings: EmbeddingTimings;
  /**
   * Only with a head: an imported classifier's top label and its softmax probability, or a fine-tuned head's
   * nearest class centre and its cosine.
   */
  readonly prediction?: { readonly label: string; readonly score: number };
}

export interface EmbeddingFailure {
  readonly ok: false;
  readonly id: string;
  readonly name: string;
  readonly error: { readonly code: EmbedderErrorCode; readonly message: string };
}

export type EmbeddingResult = EmbeddingSuccess | EmbeddingFailure;

export type ProgressStage = 'download' | 'compile' | 'embed';

export interface Progress {
  readonly stage: ProgressStage;
  /** Units done and total: bytes for 'download', images for 'embed', steps for 'compile'. */
  readonly done: number;
  readonly total: number;
}

export type ProgressCallback = (progress: Progress) => void;

/** How `auto` chose by timing the backends on the model (first load on a device), or reused that verdict. */
export interface BackendMeasurement {
  readonly source: 'measured' | 'remembered';
  /** Median milliseconds per image at `batch`, per backend timed. */
  readonly msPerImage: Readonly<Partial<Record<BackendName, number>>>;
  readonly batch: number;
  /** ISO date of the measurement. */
  readonly measuredAt: string;
}

export interface EmbedderInfo {
  readonly backend: BackendName;
  /** Why each backend was or was not chosen. */
  readonly backendReasons: Readonly<Record<BackendName, string>>;
  /** Present when `auto` chose by measurement: the figures, and whether they were measured on this load. */
  readonly backendMeasurement?: BackendMeasurement;
  readonly modelId: string;
  readonly scale: number;
  readonly embeddingDim: number;
  readonly dtype: string;
  readonly normalize: boolean;
  readonly batchSize: number;
  readonly maxPixels: number;
  readonly preprocessing: PreprocessOptions;
  readonly provenance: string;
  readonly license: string;
  readonly loadMs: number;
  /** The class names of the model's head, when it has one. */
  readonly classes?: readonly string[];
  /** 'Linear': an imported classifier's fc (predictions are softmax probabilities); 'ArcMargin': a fine-tuned head. */
  readonly headType?: 'Linear' | 'ArcMargin';
  /**
   * The cosine from which the best gallery match's label is given (searchGallery's threshold), recommended for
   * this model: its manifest's calibrated value, else PaddleClas's 0.5. Callers use it unless the user sets one.
   */
  readonly recognitionThreshold: number;
  /** Where recognitionThreshold comes from: the model's manifest, or PaddleClas's default (not calibrated). */
  readonly recognitionThresholdSource: RecognitionThresholdSource;
  /** How recognitionThreshold was set, in words (data, protocol, false-accept rate), for display. */
  readonly recognitionThresholdNote: string;
  /** tfjs's live tensors and bytes at the time of the call (for leak checks and diagnostics). */
  readonly memory: { readonly numTensors: number; readonly numBytes: number };
  /**
   * The client's worker pool (createEmbedder's `workers`): how many workers may embed at once, and how many
   * run now (the others start when a call has more than one batch of images). Absent inside a worker.
   */
  readonly workers?: { readonly max: number; readonly running: number };
}

/** One file of a model to import (bytes transferred into the worker). */
export interface ModelFileInput {
  readonly name: string;
  readonly bytes: ArrayBuffer;
}

/** A model converted in the browser and kept in Cache Storage; load it with `load({ model: url })`. */
export interface StoredModelInfo {
  readonly id: string;
  /** A virtual URL of this origin, served from Cache Storage (never from the network). */
  readonly url: string;
  readonly scale: number;
  readonly embeddingDim: number;
  /** How many labels its head has (an imported classifier or a fine-tuned head). */
  readonly classes?: number;
  readonly provenance: string;
  /** Converted from a user's PaddleClas / ONNX files, or made by fine-tuning in this browser. */
  readonly kind: StoredModelKind;
  /** When it was stored (ms since 1970); absent for models stored before this was recorded. */
  readonly createdAt?: number;
  /** A fine-tuned model: the modelId of the model it was fine-tuned from. */
  readonly base?: string;
}

export type StoredModelKind = 'imported' | 'fine-tuned';

/** What the worker records beside a stored model's manifest. */
export interface StoredModelOrigin {
  readonly kind: StoredModelKind;
  readonly base?: string;
}

export interface EmbedderApi {
  load(options?: LoadOptions, onProgress?: ProgressCallback): Promise<EmbedderInfo>;
  embed(
    images: readonly ImageInput[],
    options?: EmbedOptions,
    onProgress?: ProgressCallback,
  ): Promise<EmbeddingResult[]>;
  info(): Promise<EmbedderInfo>;
  dispose(): Promise<void>;
}
