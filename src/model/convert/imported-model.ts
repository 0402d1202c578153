import type { StateDict } from '../../core/state-dict.ts';
import type { BatchNormForm } from '../parameters.ts';

/**
 * What an importer (ONNX, Paddle inference) produces: a PP-LCNet + linear-neck model under this project's
 * parameter table (src/model/parameters.ts), ready to be written as a weight manifest.
 */
export interface ImportedModel {
  /** The PP-LCNet scale inferred from the channel counts and checked against every tensor's shape. */
  readonly scale: number;
  /** Width of the neck's output (the embedding). */
  readonly embeddingDim: number;
  readonly batchNorm: BatchNormForm;
  /** Names and layouts of src/model/parameters.ts; every entry of modelParameters(scale, dim, batchNorm). */
  readonly stateDict: StateDict;
  /** What the importer had to interpret (e.g. "dropout scale 0.8 found as Mul"), for the manifest's provenance. */
  readonly notes: readonly string[];
}
