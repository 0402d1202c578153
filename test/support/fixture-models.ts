/**
 * Random-weight models the tests make for themselves (no weights can be downloaded here): written as real
 * weight manifests so the page, the worker and Node load them exactly as they load any model.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { writePaddleInference } from './paddle-export.ts';
import { randomStateDict } from './random-weights.ts';
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
  const files = writePaddleInference({ scale: m.scale, embeddingDim: m.embeddingDim, stateDict: randomStateDict(m.scale, m.embeddingDim, 'separate', m.seed) });
  await mkdir(PADDLE_FIXTURE_DIR, { recursive: true });
  await writeFile(join(PADDLE_FIXTURE_DIR, 'inference.pdmodel'), files.pdmodel);
  await writeFile(join(PADDLE_FIXTURE_DIR, 'inference.pdiparams'), files.pdiparams);
}

export async function writeAllFixtureModels(): Promise<void> {
  for (const m of Object.values(FIXTURE_MODELS)) await writeFixtureModel(m);
  await writePaddleFixture();
}
