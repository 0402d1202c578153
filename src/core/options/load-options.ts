/**
 * Loading a model and embedding with it: the options, their defaults (DEFAULT_LOAD_OPTIONS) and the
 * validators that fill defaults and throw OptionsError listing the valid values. The engine, the worker, the
 * page and the element all read these.
 */
import { OptionsError } from '../errors.ts';
import { MAX_PIXELS_DEFAULT } from '../image-sniff.ts';
import type { PreprocessOptions } from './preprocess-options.ts';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', ...BACKEND_NAMES];

/**
 * Where the embedded default model's manifest sits, relative to the app's base (the page) or to the library
 * module (dist/lib). src/worker/client.ts resolves it to DEFAULT_MODEL_URL.
 */
export const DEFAULT_MODEL_PATH = 'models/default/manifest.json';

export interface LoadOptions {
  /** URL of a weight manifest (models/<id>/manifest.json). Default: the embedded default model (DEFAULT_MODEL_PATH). */
  readonly model?: string;
  /**
   * Where the files the manifest names are, when they are not beside it (file name -> URL): an app's bundler
   * renames the library's default model files. Unset: each file is looked up beside the manifest.
   */
  readonly modelFiles?: Readonly<Record<string, string>>;
  /** 'auto' (default): WebGPU on a real GPU, else the fastest other backend that works. */
  readonly backend?: BackendChoice;
  /** Images per forward pass, from 1 to MAX_BATCH_SIZE. Default 8. */
  readonly batchSize?: number;
  /** L2-normalise embeddings (PaddleClas's feature_normalize). Default true. */
  readonly normalize?: boolean;
  /** Images with more pixels than this are refused before decoding. Default MAX_PIXELS_DEFAULT (50 MP). */
  readonly maxPixels?: number;
  /** Overrides the manifest's preprocessing (e.g. { mode: 'resize-short-crop' }). */
  readonly preprocess?: Partial<PreprocessOptions>;
}

/** Per call; each field defaults to the value the model was loaded with. */
export interface EmbedOptions {
  readonly batchSize?: number;
  readonly normalize?: boolean;
}

/** The load options every loaded model has a value for (`model` and `preprocess` come from elsewhere). */
export type ResolvedLoadOptions = Required<Pick<LoadOptions, 'backend' | 'batchSize' | 'normalize' | 'maxPixels'>>;

export const DEFAULT_LOAD_OPTIONS: ResolvedLoadOptions = Object.freeze({
  backend: 'auto',
  batchSize: 8,
  normalize: true,
  maxPixels: MAX_PIXELS_DEFAULT,
});

export const MAX_BATCH_SIZE = 256;

export function validateBackendChoice(choice: unknown): BackendChoice {
  if (!BACKEND_CHOICES.includes(choice as BackendChoice)) {
    throw new OptionsError(`backend must be one of ${BACKEND_CHOICES.join(', ')}; got ${JSON.stringify(choice)}`);
  }
  return choice as BackendChoice;
}

export function validateBatchSize(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_BATCH_SIZE) {
    throw new OptionsError(`batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}; got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export function validateNormalize(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new OptionsError(`normalize must be true or false; got ${JSON.stringify(v)}`);
  return v;
}

export function validateMaxPixels(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new OptionsError(`maxPixels must be a positive integer; got ${JSON.stringify(v)}`);
  return v as number;
}

/** Fills the defaults of backend, batchSize, normalize and maxPixels and checks them. */
export function validateLoadOptions(options: LoadOptions = {}): ResolvedLoadOptions {
  return {
    backend: validateBackendChoice(options.backend ?? DEFAULT_LOAD_OPTIONS.backend),
    batchSize: validateBatchSize(options.batchSize ?? DEFAULT_LOAD_OPTIONS.batchSize),
    normalize: validateNormalize(options.normalize ?? DEFAULT_LOAD_OPTIONS.normalize),
    maxPixels: validateMaxPixels(options.maxPixels ?? DEFAULT_LOAD_OPTIONS.maxPixels),
  };
}

/** Fills an embed() call's options from the loaded model's and checks them. */
export function validateEmbedOptions(options: EmbedOptions, loaded: Required<EmbedOptions>): Required<EmbedOptions> {
  return {
    batchSize: validateBatchSize(options.batchSize ?? loaded.batchSize),
    normalize: validateNormalize(options.normalize ?? loaded.normalize),
  };
}

/**
 * How to read a model's last linear layer on import. `auto`: a classifier's fc when the file ends in a softmax
 * or its inference.yml lists labels, else a PP-ShiTu neck. A linear layer with neither is ambiguous: say which.
 */
export type ModelImportRole = 'auto' | 'embedder' | 'classifier';
export const MODEL_IMPORT_ROLES: readonly ModelImportRole[] = ['auto', 'embedder', 'classifier'];

export interface ModelImportOptions {
  /** Default 'auto'. */
  readonly role?: ModelImportRole;
}

export const DEFAULT_MODEL_IMPORT_OPTIONS: Required<ModelImportOptions> = Object.freeze({ role: 'auto' });

export function validateModelImportOptions(options: ModelImportOptions = {}): Required<ModelImportOptions> {
  const role = options.role ?? DEFAULT_MODEL_IMPORT_OPTIONS.role;
  if (!MODEL_IMPORT_ROLES.includes(role))
    throw new OptionsError(`role must be one of ${MODEL_IMPORT_ROLES.join(', ')}; got ${JSON.stringify(role)}`);
  return { role };
}
