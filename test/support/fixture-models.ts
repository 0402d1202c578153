/**
 * Random-weight models the tests make for themselves (no weights can be downloaded here): written as real
 * weight manifests so the page, the worker and Node load them exactly as they load any model.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { importModelFiles } from '../../src/model/convert/import-files.ts';
import { join } from 'node:path';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { buildPaddleInference, writePaddleInference } from '../../src/model/export/paddle-export.ts';
import { writePirProgram } from './pir-program-writer.ts';
import { mulberry32, randomNetworkStateDict, randomStateDict } from './random-weights.ts';
import { standardGeometry } from '../../src/model/architecture.ts';
import type { NetworkSpec } from '../../src/model/parameters.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';

export const GENERATED_DIR = 'test/fixtures/generated';

export interface FixtureModel {
  readonly id: string;
  readonly scale: number;
  readonly embeddingDim: number;
  readonly seed: number;
}

export const FIXTURE_MODELS = {
  small: { id: 'random-x0_25', scale: 0.25, embeddingDim: 512, seed: 25 },
  parity: { id: 'random-x0_5', scale: 0.5, embeddingDim: 512, seed: 50 },
} as const satisfies Record<string, FixtureModel>;

/** Folder-relative path of a fixture model's manifest (also its URL path under the dev server). */
export function fixtureManifestPath(m: FixtureModel): string {
  return `${GENERATED_DIR}/${m.id}/manifest.json`;
}

export async function writeFixtureModel(m: FixtureModel): Promise<string> {
  const path = fixtureManifestPath(m);
  if (existsSync(path)) return path;
  const encoded = await encodeManifest({
    modelId: m.id,
    scale: m.scale,
    embeddingDim: m.embeddingDim,
    batchNorm: 'separate',
    dtype: 'fp32',
    stateDict: randomStateDict(m.scale, m.embeddingDim, 'separate', m.seed),
    provenance: `random weights (seed ${m.seed}) made by test/support/fixture-models.ts; useless for retrieval, exact for parity`,
    license: 'CC0-1.0',
  });
  return writeModelFiles(join(GENERATED_DIR, m.id), encoded);
}

/** The small fixture model as a Paddle inference model (what a PaddleClas user has), for the page's import. */
export const PADDLE_FIXTURE_DIR = `${GENERATED_DIR}/paddle-${FIXTURE_MODELS.small.id}`;

export async function writePaddleFixture(): Promise<void> {
  const m = FIXTURE_MODELS.small;
  if (existsSync(join(PADDLE_FIXTURE_DIR, 'inference.pdiparams'))) return;
  const files = writePaddleInference({
    scale: m.scale,
    embeddingDim: m.embeddingDim,
    stateDict: randomStateDict(m.scale, m.embeddingDim, 'separate', m.seed),
  });
  await mkdir(PADDLE_FIXTURE_DIR, { recursive: true });
  await writeFile(join(PADDLE_FIXTURE_DIR, 'inference.pdmodel'), files.pdmodel);
  await writeFile(join(PADDLE_FIXTURE_DIR, 'inference.pdiparams'), files.pdiparams);
}

/**
 * A text-line orientation classifier in the form PaddleX exports PP-LCNet_x0_25_textline_ori (random weights):
 * PP-LCNet x0.25 with stride_list [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]], no last_conv, an fc to 2 classes
 * and a softmax; the folder holds the Paddle 3 ProgramDesc, the same program as PIR `inference.json`, the
 * weights and `inference.yml` (160 x 80 resize, labels 0_degree / 180_degree). Its predictions mean nothing;
 * the import, the head and the labels are what the tests check.
 */
export const CLASSIFIER_FIXTURE_DIR = `${GENERATED_DIR}/paddle-textline-classifier`;

export const CLASSIFIER_NETWORK: NetworkSpec = {
  geometry: {
    ...standardGeometry(0.25),
    strideList: [
      [1, 2],
      [2, 1],
      [2, 1],
      [2, 1],
      [2, 1],
    ],
    useLastConv: false,
  },
  batchNorm: 'separate',
};

export const CLASSIFIER_YML = `Global:
  model_name: PP-LCNet_x0_25_textline_ori
PreProcess:
  transform_ops:
  - ResizeImage:
      size:
      - 160
      - 80
  - NormalizeImage:
      channel_num: 3
      mean:
      - 0.485
      - 0.456
      - 0.406
      order: ''
      scale: 0.00392156862745098
      std:
      - 0.229
      - 0.224
      - 0.225
  - ToCHWImage: null
PostProcess:
  Topk:
    topk: 1
    label_list:
    - 0_degree
    - 180_degree
`;

export async function writeClassifierFixture(): Promise<void> {
  if (existsSync(join(CLASSIFIER_FIXTURE_DIR, 'inference.json'))) return;
  const rand = mulberry32(80);
  const classifier = {
    weight: Float32Array.from({ length: 128 * 2 }, () => (rand() - 0.5) * 0.5),
    bias: Float32Array.of(0.1, -0.1),
    classes: 2,
    softmax: true,
  };
  const model = { network: CLASSIFIER_NETWORK, stateDict: randomNetworkStateDict(CLASSIFIER_NETWORK, 80), classifier };
  const options = { programVersion: 3, inputSize: [80, 160], softmax: true } as const;
  const files = writePaddleInference(model, options);
  const { program } = buildPaddleInference(model, options);
  await mkdir(CLASSIFIER_FIXTURE_DIR, { recursive: true });
  await writeFile(join(CLASSIFIER_FIXTURE_DIR, 'inference.pdmodel'), files.pdmodel);
  await writeFile(join(CLASSIFIER_FIXTURE_DIR, 'inference.pdiparams'), files.pdiparams);
  await writeFile(join(CLASSIFIER_FIXTURE_DIR, 'inference.yml'), CLASSIFIER_YML);
  await writeFile(join(CLASSIFIER_FIXTURE_DIR, 'inference.json'), writePirProgram(program));
}

/** The same classifier converted (by the page's import path) into a weight manifest, for the element's tests. */
export const CLASSIFIER_MANIFEST_DIR = `${GENERATED_DIR}/textline-classifier`;

export async function writeClassifierManifest(): Promise<string> {
  await writeClassifierFixture();
  const path = join(CLASSIFIER_MANIFEST_DIR, 'manifest.json');
  if (existsSync(path)) return path;
  const names = ['inference.pdmodel', 'inference.pdiparams', 'inference.yml'];
  const files = await Promise.all(
    names.map(async (name) => ({ name, bytes: new Uint8Array(await readFile(join(CLASSIFIER_FIXTURE_DIR, name))) })),
  );
  const { encoded } = await importModelFiles(files, {
    modelId: 'textline-classifier',
    license: 'CC0-1.0',
    provenance: 'random weights made by test/support/fixture-models.ts',
  });
  return writeModelFiles(CLASSIFIER_MANIFEST_DIR, encoded);
}

export async function writeAllFixtureModels(): Promise<void> {
  for (const m of Object.values(FIXTURE_MODELS)) await writeFixtureModel(m);
  await writePaddleFixture();
  await writeClassifierManifest();
}
