/** The page's model import, in Node: which files make a model, and the result equals `npm run convert`'s. */
import { describe, expect, it } from 'vitest';
import { decodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { importModelFiles, modelIdFrom } from '../../src/model/convert/import-files.ts';
import { writePPLCNetOnnx } from '../support/onnx-export.ts';
import { writePaddleInference } from '../support/paddle-export.ts';
import { randomStateDict } from '../support/random-weights.ts';

const stateDict = randomStateDict(0.25, 64, 'separate', 3);
const model = { scale: 0.25, embeddingDim: 64, batchNorm: 'separate' as const, stateDict };

describe('importModelFiles', () => {
  it('imports a Paddle pair into an exact fp32 manifest', async () => {
    const paddle = writePaddleInference(model);
    const { encoded, imported } = await importModelFiles([
      { name: 'inference.pdiparams', bytes: paddle.pdiparams },
      { name: 'inference.pdmodel', bytes: paddle.pdmodel },
    ]);
    expect(imported).toMatchObject({ scale: 0.25, embeddingDim: 64 });
    expect(encoded.manifest.modelId).toMatch(/^inference-[0-9a-f]{8}$/);
    expect(encoded.manifest.dtype).toBe('fp32');
    const back = await decodeManifest(encoded.manifest, encoded.shards.map((s) => s.bytes));
    for (const [name, t] of stateDict) expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
  });

  it('imports one .onnx', async () => {
    const { encoded } = await importModelFiles([{ name: 'My Model (v2).onnx', bytes: writePPLCNetOnnx(model) }]);
    expect(encoded.manifest.modelId).toMatch(/^My-Model-v2-[0-9a-f]{8}$/);
  });

  it('says which file is missing or why the set makes no model', async () => {
    await expect(importModelFiles([{ name: 'inference.pdmodel', bytes: new Uint8Array(1) }])).rejects.toThrow('inference.pdmodel needs its weights file (inference.pdiparams)');
    await expect(importModelFiles([{ name: 'x.pdiparams', bytes: new Uint8Array(1) }])).rejects.toThrow('x.pdiparams needs its program (inference.pdmodel or inference.json)');
    await expect(importModelFiles([{ name: 'photo.jpg', bytes: new Uint8Array(1) }])).rejects.toThrow('cannot tell what model these files are (photo.jpg)');
    await expect(importModelFiles([])).rejects.toThrow('(no files)');
    await expect(importModelFiles([{ name: 'm.onnx', bytes: new Uint8Array([1, 2, 3]) }])).rejects.toThrow();
  });

  it('model ids keep to a URL- and manifest-safe alphabet', () => {
    expect(modelIdFrom('../../évil name.pdmodel', 'abcdef0123')).toBe('vil-name-abcdef01');
    expect(modelIdFrom('.onnx', '12345678')).toBe('model-12345678');
  });
});
