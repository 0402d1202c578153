/**
 * The `inference.yml` written beside an exported Paddle model: PaddleX's form (`Global.model_name`,
 * `PreProcess.transform_ops`), holding only the model's preprocessing, which is all a PaddleClas recognition
 * config needs of it (deploy/configs/inference_rec.yaml's RecPreProcess has the same ops). The project's own
 * reader (convert/inference-config.ts) reads it back to the same preprocessing.
 *
 * No labels: a config that lists them makes the importer (and PaddleX) read the model as a classifier, and the
 * exported graph ends at the embedding.
 */
import { validatePreprocess, type PreprocessOptions } from '../../core/options.ts';

/** A float as PyYAML's YAML 1.1 resolver reads one: an exponent needs a dot before it (`1.0e-07`, not `1e-7`). */
function yamlFloat(v: number): string {
  const s = String(v);
  return /e/.test(s) && !s.includes('.') ? s.replace('e', '.0e') : s;
}

const list = (values: readonly number[]): string => `[${values.map(yamlFloat).join(', ')}]`;

export function writeInferenceYml(preprocessing: Partial<PreprocessOptions>, modelName?: string): string {
  const p = validatePreprocess(preprocessing);
  // ResizeImage and CropImage take `size` as [width, height] (PaddleClas's preprocess.py).
  const size = list([p.width, p.height]);
  const resize =
    p.mode === 'resize'
      ? ['  - ResizeImage:', `      size: ${size}`]
      : ['  - ResizeImage:', `      resize_short: ${p.resizeShort}`, '  - CropImage:', `      size: ${size}`];
  return [
    // A JSON string is a YAML double-quoted scalar: any model id is written safely.
    ...(modelName ? ['Global:', `  model_name: ${JSON.stringify(modelName)}`] : []),
    'PreProcess:',
    '  transform_ops:',
    ...resize,
    '  - NormalizeImage:',
    '      channel_num: 3',
    `      mean: ${list(p.mean)}`,
    `      std: ${list(p.std)}`,
    `      scale: ${yamlFloat(p.scale)}`,
    "      order: ''",
    '  - ToCHWImage: null',
    '',
  ].join('\n');
}
