import type { ModelImportRole } from '../../core/embedder-api.ts';
import type { StateDict } from '../../core/state-dict.ts';
import type { BatchNormForm, NetworkSpec } from '../parameters.ts';

/** An imported classifier's fc: logits = feature x weight + bias, over the backbone feature. */
export interface ImportedClassifier {
  /** [featureDim, classes], Paddle's Linear layout, with any factor the graph applied after the fc folded in. */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly classes: number;
  /** Whether the file ended in a Softmax (ignored for the numbers: predictions are softmax probabilities). */
  readonly softmax: boolean;
}

/**
 * What an importer (ONNX, Paddle ProgramDesc, Paddle PIR) produces: a PP-LCNet network of some geometry under
 * this project's parameter table (src/model/parameters.ts), ready to be written as a weight manifest.
 *
 * Two kinds: a feature extractor (PP-ShiTu: backbone + linear neck; the neck's output is the embedding), or a
 * classifier (backbone + fc to N classes): no neck, the embedding is the pooled backbone feature that feeds
 * the fc, and the fc is kept as `classifier`.
 */
export interface ImportedModel {
  readonly network: NetworkSpec;
  /** network.geometry.scale: the PP-LCNet scale inferred from the channel counts. */
  readonly scale: number;
  /** Width of the embedding: the neck's output, or the feature of a classifier. */
  readonly embeddingDim: number;
  readonly batchNorm: BatchNormForm;
  /** Names and layouts of src/model/parameters.ts; exactly networkParameters(network). */
  readonly stateDict: StateDict;
  readonly classifier?: ImportedClassifier;
  /** [height, width] of the file's image input, when the file fixes it. */
  readonly inputSize?: readonly [number, number];
  /** What the importer had to interpret (e.g. "dropout scale 0.8 found as Mul"), for the manifest's provenance. */
  readonly notes: readonly string[];
}

/**
 * How to read the last linear layer. `auto`: a classifier when the file ends in a Softmax (or the caller knows
 * labels), else a PP-ShiTu neck. A file with a linear layer and no softmax is ambiguous by structure alone.
 */
export type ImportRole = ModelImportRole;

export interface ImportOptions {
  readonly role?: ImportRole;
}
