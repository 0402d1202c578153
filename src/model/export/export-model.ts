/**
 * A model the project holds (its canonical state dict and NetworkSpec, as a weight manifest decodes them) as
 * files other runtimes read, so a model fine-tuned in the browser can go back into a PaddleClas / PP-ShiTu
 * pipeline:
 * - ONNX: the graph paddle2onnx writes of a PaddleClas recognition inference model (opset 11, input `x`
 *   [N, 3, H, W] normalised float32, output the [N, D] embedding);
 * - Paddle: a Paddle 2.x inference model, `inference.pdmodel` (ProgramDesc) + `inference.pdiparams`
 *   (save_combine), as PaddleClas's export_model.py writes it, and an `inference.yml` with the preprocessing.
 *
 * Both hold the backbone and the neck and end at the embedding, before L2 normalisation (PP-ShiTu normalises
 * in its post-processing). A head (a fine-tuned ArcMargin head, an imported classifier's fc) is not part of the
 * exported graph: PP-ShiTu's recognition model never runs one at inference.
 */
import { OptionsError } from '../../core/errors.ts';
import { HEAD_BIAS_TENSOR, HEAD_TENSOR, type WeightManifest } from '../../core/manifest.ts';
import { validatePreprocess, type PreprocessOptions } from '../../core/options.ts';
import type { StateDict } from '../../core/state-dict.ts';
import { MODEL_EXPORT_FORMATS, type ModelExportFormat } from '../../core/worker-api.ts';
import type { NetworkSpec } from '../parameters.ts';
import { networkOf } from '../weights/manifest-codec.ts';
import { writeInferenceYml } from './inference-yml.ts';
import { writePPLCNetOnnx } from './onnx-export.ts';
import { writePaddleInference } from './paddle-export.ts';

export interface ModelExportOptions {
  /** The model's preprocessing: its size sets the declared input, and the Paddle export's inference.yml. Default DEFAULT_PREPROCESS. */
  readonly preprocessing?: Partial<PreprocessOptions>;
  /** `Global.model_name` in inference.yml. Default: none written. */
  readonly modelName?: string;
}

export interface PaddleExportFiles {
  readonly pdmodel: Uint8Array;
  readonly pdiparams: Uint8Array;
  readonly yml: string;
}

export interface NamedFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Only the network's own tensors: the writers check each one's name and shape. */
function withoutHead(stateDict: StateDict): StateDict {
  return new Map([...stateDict].filter(([name]) => name !== HEAD_TENSOR && name !== HEAD_BIAS_TENSOR));
}

const inputSize = (options: ModelExportOptions): [number, number] => {
  const p = validatePreprocess(options.preprocessing);
  return [p.height, p.width];
};

/** The `.onnx` file's bytes. */
export function exportOnnx(stateDict: StateDict, network: NetworkSpec, options: ModelExportOptions = {}): Uint8Array {
  return writePPLCNetOnnx({ network, stateDict: withoutHead(stateDict) }, { inputSize: inputSize(options) });
}

/** `inference.pdmodel`, `inference.pdiparams` and `inference.yml`. */
export function exportPaddle(
  stateDict: StateDict,
  network: NetworkSpec,
  options: ModelExportOptions = {},
): PaddleExportFiles {
  const { pdmodel, pdiparams } = writePaddleInference(
    { network, stateDict: withoutHead(stateDict) },
    { inputSize: inputSize(options) },
  );
  return { pdmodel, pdiparams, yml: writeInferenceYml(options.preprocessing ?? {}, options.modelName) };
}

/** A decoded weight manifest's model as named files in `format`. */
export function exportManifestModel(
  manifest: WeightManifest,
  stateDict: StateDict,
  format: ModelExportFormat,
): NamedFile[] {
  const network = networkOf(manifest);
  const options: ModelExportOptions = { preprocessing: manifest.preprocessing, modelName: manifest.modelId };
  if (format === 'onnx') return [{ name: `${manifest.modelId}.onnx`, bytes: exportOnnx(stateDict, network, options) }];
  if (format === 'paddle') {
    const files = exportPaddle(stateDict, network, options);
    return [
      { name: 'inference.pdmodel', bytes: files.pdmodel },
      { name: 'inference.pdiparams', bytes: files.pdiparams },
      { name: 'inference.yml', bytes: new TextEncoder().encode(files.yml) },
    ];
  }
  throw new OptionsError(
    `export format must be one of ${MODEL_EXPORT_FORMATS.map((f) => `'${f}'`).join(', ')}; got ${JSON.stringify(format)}`,
  );
}
