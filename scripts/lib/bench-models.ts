/**
 * The benchmark's models: for each scale, one random-weight PP-LCNet + neck (fp32) written twice, as our
 * weight manifest and as the ONNX file ONNX Runtime Web loads. Same weights, same graph; speed does not depend
 * on the values. Written once into .cache/bench (ignored by git).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { writePPLCNetOnnx } from '../../src/model/export/onnx-export.ts';
import { randomStateDict } from '../../test/support/random-weights.ts';
import { writeModelFiles } from './model-files.ts';

export const BENCH_MODEL_DIR = '.cache/bench';

export interface BenchModel {
  readonly scale: number;
  /** URL paths under the dev server's root. */
  readonly manifestPath: string;
  readonly onnxPath: string;
}

export async function ensureBenchModel(scale: number): Promise<BenchModel> {
  const id = `bench-x${String(scale).replace('.', '_')}`;
  const dir = join(BENCH_MODEL_DIR, id);
  const onnxFile = join(dir, 'model.onnx');
  if (!existsSync(onnxFile)) {
    const stateDict = randomStateDict(scale, 512, 'separate', 7);
    const encoded = await encodeManifest({
      modelId: id,
      scale,
      embeddingDim: 512,
      batchNorm: 'separate',
      dtype: 'fp32',
      stateDict,
      provenance: 'random weights for npm run bench (scripts/lib/bench-models.ts)',
      license: 'CC0-1.0',
    });
    await writeModelFiles(dir, encoded);
    await writeFile(onnxFile, writePPLCNetOnnx({ scale, embeddingDim: 512, batchNorm: 'separate', stateDict }));
  }
  return { scale, manifestPath: `/${dir}/manifest.json`, onnxPath: `/${dir}/model.onnx` };
}
