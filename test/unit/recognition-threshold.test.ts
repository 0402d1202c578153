/**
 * A model's recommended recognition threshold: the manifest field (validation, round trips), what info()
 * reports, how the element picks a threshold, and what a PaddleClas config carries into an import.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../src/core/errors.ts';
import { DEFAULT_SCORE_THRESHOLD } from '../../src/core/gallery-search.ts';
import { validateManifest, validateRecognition, type WeightManifest } from '../../src/core/manifest.ts';
import { effectiveThreshold, recommendedThreshold } from '../../src/core/recognition-threshold.ts';
import { importModelFiles } from '../../src/model/convert/import-files.ts';
import { readInferenceConfig } from '../../src/model/convert/inference-config.ts';
import { encodeManifest, type EncodeManifestOptions } from '../../src/model/weights/manifest-codec.ts';
import { loadWeights } from '../../src/model/weights/load-weights.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { fetchOrRead, nodeEnvironment } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';
import { writePaddleInference } from '../../src/model/export/paddle-export.ts';
import { randomStateDict } from '../support/random-weights.ts';

const CALIBRATED = { threshold: 0.37, falseAcceptRate: 0.05, calibration: 'train.txt, 50 trials' };

const options = (extra: Partial<EncodeManifestOptions> = {}): EncodeManifestOptions => ({
  modelId: 'recognition-test',
  scale: 0.25,
  embeddingDim: 32,
  batchNorm: 'separate',
  stateDict: randomStateDict(0.25, 32, 'separate', 4),
  provenance: 'random weights for tests',
  license: 'CC0',
  ...extra,
});

let plain: WeightManifest;
beforeAll(async () => {
  plain = (await encodeManifest(options())).manifest;
});

describe("the manifest's recognition field", () => {
  it('is optional, and kept as given when valid (falseAcceptRate may be absent)', () => {
    expect(validateManifest(plain).recognition).toBeUndefined();
    expect(validateManifest({ ...plain, recognition: CALIBRATED }).recognition).toEqual(CALIBRATED);
    const fromConfig = { threshold: 0.5, calibration: 'IndexProcess.score_thres of inference_general.yaml' };
    expect(validateManifest({ ...plain, recognition: fromConfig }).recognition).toEqual(fromConfig);
    expect(validateRecognition({ ...CALIBRATED, threshold: -1, falseAcceptRate: 0 })).toMatchObject({ threshold: -1 });
  });

  it.each([
    [0.5, 'recognition must be an object { threshold, falseAcceptRate?, calibration }; got 0.5'],
    [{ ...CALIBRATED, threshold: 1.2 }, 'recognition.threshold must be a cosine, a number from -1 to 1; got 1.2'],
    [{ ...CALIBRATED, threshold: '0.4' }, 'recognition.threshold must be a cosine, a number from -1 to 1; got "0.4"'],
    [
      { ...CALIBRATED, threshold: undefined },
      'recognition.threshold must be a cosine, a number from -1 to 1; got undefined',
    ],
    [
      { ...CALIBRATED, falseAcceptRate: 5 },
      'recognition.falseAcceptRate must be a share from 0 to 1 (or absent); got 5',
    ],
    [
      { ...CALIBRATED, falseAcceptRate: null },
      'recognition.falseAcceptRate must be a share from 0 to 1 (or absent); got null',
    ],
    [
      { ...CALIBRATED, calibration: ' ' },
      'recognition.calibration must say on what data the threshold was set (a non-empty string)',
    ],
  ])('refuses %j, saying which field and why', (recognition, message) => {
    expect(() => validateManifest({ ...plain, recognition }, 'models/x/manifest.json')).toThrow(
      new WeightsError(`models/x/manifest.json: ${message}`),
    );
  });

  it('goes through encode, files and load unchanged; a model encoded without one (fine-tuned) has none', async () => {
    const encoded = await encodeManifest(options({ recognition: CALIBRATED }));
    expect(encoded.manifest.recognition).toEqual(CALIBRATED);
    const path = await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-recognition-')), encoded);
    expect((await loadWeights(pathToFileURL(path).href, fetchOrRead)).manifest.recognition).toEqual(CALIBRATED);
    expect('recognition' in plain).toBe(false);
  });
});

describe('which threshold applies', () => {
  it("the manifest's, else PaddleClas's 0.5, with where it came from", () => {
    expect(recommendedThreshold(CALIBRATED)).toEqual({
      threshold: 0.37,
      source: 'manifest',
      note: 'train.txt, 50 trials; false-accept rate 5%',
    });
    expect(recommendedThreshold({ threshold: 0.6, calibration: 'from inference_general.yaml' }).note).toBe(
      'from inference_general.yaml',
    );
    expect(recommendedThreshold(undefined)).toMatchObject({
      threshold: DEFAULT_SCORE_THRESHOLD,
      source: 'paddleclas-default',
    });
  });

  it("the element: its threshold attribute when it is a number from 0 to 1, else the model's, else 0.5", () => {
    expect(effectiveThreshold('0.7', 0.37)).toBe(0.7);
    expect(effectiveThreshold('0', 0.37)).toBe(0);
    expect(effectiveThreshold(null, 0.37)).toBe(0.37);
    expect(effectiveThreshold('', 0.37)).toBe(0.37);
    expect(effectiveThreshold('high', 0.37)).toBe(0.37);
    expect(effectiveThreshold('1.5', 0.37)).toBe(0.37);
    expect(effectiveThreshold(null, undefined)).toBe(DEFAULT_SCORE_THRESHOLD);
  });
});

describe("the engine's info()", () => {
  async function infoOf(recognition?: typeof CALIBRATED) {
    const encoded = await encodeManifest(options(recognition ? { recognition } : {}));
    const path = await writeModelFiles(await mkdtemp(join(tmpdir(), 'shitu-recognition-')), encoded);
    const engine = new EmbedderEngine(nodeEnvironment());
    try {
      await engine.load({ model: pathToFileURL(path).href });
      return await engine.info();
    } finally {
      await engine.dispose();
    }
  }

  it("reports the manifest's threshold, or PaddleClas's 0.5 when it has none", async () => {
    expect(await infoOf(CALIBRATED)).toMatchObject({
      recognitionThreshold: 0.37,
      recognitionThresholdSource: 'manifest',
      recognitionThresholdNote: 'train.txt, 50 trials; false-accept rate 5%',
    });
    expect(await infoOf()).toMatchObject({
      recognitionThreshold: 0.5,
      recognitionThresholdSource: 'paddleclas-default',
    });
  });
});

describe("a PaddleClas config's IndexProcess.score_thres", () => {
  const general = (index: string) => `RecPreProcess:
  transform_ops:
    - ResizeImage: {size: 224}
    - NormalizeImage: {scale: 0.00392157, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: ''}
    - ToCHWImage:
RecPostProcess: null
IndexProcess:
${index}`;

  it('is read as a cosine when dist_type is IP (or absent); otherwise left out, with a note', () => {
    expect(
      readInferenceConfig(general('  dist_type: "IP"\n  return_k: 5\n  score_thres: 0.6\n'), 'inference_general.yaml')
        .scoreThreshold,
    ).toBe(0.6);
    expect(readInferenceConfig(general('  score_thres: 0.45\n')).scoreThreshold).toBe(0.45);
    const hamming = readInferenceConfig(general('  dist_type: hamming\n  hamming_radius: 100\n  score_thres: 0.5\n'));
    expect(hamming.scoreThreshold).toBeUndefined();
    expect(hamming.notes).toContain(
      'IndexProcess.score_thres 0.5 is for dist_type "hamming", not a cosine (dist_type IP); not used.',
    );
    const odd = readInferenceConfig(general('  score_thres: "high"\n'));
    expect(odd.scoreThreshold).toBeUndefined();
    expect(odd.notes).toContain('IndexProcess.score_thres must be a cosine from -1 to 1; got "high"; not used.');
    expect(readInferenceConfig('PreProcess:\n  transform_ops: []\n').scoreThreshold).toBeUndefined();
  });

  it("goes into the imported model's manifest; without it the manifest has none (readers use 0.5)", async () => {
    const paddle = writePaddleInference({
      scale: 0.25,
      embeddingDim: 32,
      stateDict: randomStateDict(0.25, 32, 'separate', 4),
    });
    const files = [
      { name: 'inference.pdmodel', bytes: paddle.pdmodel },
      { name: 'inference.pdiparams', bytes: paddle.pdiparams },
    ];
    const yaml = {
      name: 'inference_general.yaml',
      bytes: new TextEncoder().encode(general('  dist_type: IP\n  score_thres: 0.62\n')),
    };
    const withConfig = await importModelFiles([...files, yaml], { role: 'embedder' });
    expect(withConfig.encoded.manifest.recognition).toEqual({
      threshold: 0.62,
      calibration: 'IndexProcess.score_thres of inference_general.yaml (the PaddleClas config given with the model)',
    });
    expect(withConfig.notes).toContain(
      'recognition threshold 0.62 from inference_general.yaml (IndexProcess.score_thres)',
    );
    const without = await importModelFiles(files, { role: 'embedder' });
    expect(without.encoded.manifest.recognition).toBeUndefined();
  });
});
