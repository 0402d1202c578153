/** The page's model import, in Node: which files make a model, and the result equals `npm run convert`'s. */
import { describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import { decodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importModelFiles, modelIdFrom, type ModelFile } from '../../src/model/convert/import-files.ts';
import { parsePaddleProgram } from '../../src/model/convert/paddle/paddle-program.ts';
import { writePirProgram } from '../support/pir-program-writer.ts';
import { writePPLCNetOnnx } from '../../src/model/export/onnx-export.ts';
import { writePaddleInference } from '../../src/model/export/paddle-export.ts';
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
    const back = await decodeManifest(
      encoded.manifest,
      encoded.shards.map((s) => s.bytes),
    );
    for (const [name, t] of stateDict) expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
  });

  it('imports one .onnx', async () => {
    const { encoded } = await importModelFiles([{ name: 'My Model (v2).onnx', bytes: writePPLCNetOnnx(model) }]);
    expect(encoded.manifest.modelId).toMatch(/^My-Model-v2-[0-9a-f]{8}$/);
  });

  it('says which file is missing or why the set makes no model', async () => {
    await expect(importModelFiles([{ name: 'inference.pdmodel', bytes: new Uint8Array(1) }])).rejects.toThrow(
      'inference.pdmodel needs its weights file (inference.pdiparams)',
    );
    await expect(importModelFiles([{ name: 'x.pdiparams', bytes: new Uint8Array(1) }])).rejects.toThrow(
      'x.pdiparams needs its program (inference.pdmodel or inference.json)',
    );
    await expect(importModelFiles([{ name: 'photo.jpg', bytes: new Uint8Array(1) }])).rejects.toThrow(
      'cannot tell what model these files are (photo.jpg)',
    );
    await expect(importModelFiles([])).rejects.toThrow('(no files)');
    await expect(importModelFiles([{ name: 'm.onnx', bytes: new Uint8Array([1, 2, 3]) }])).rejects.toThrow();
  });

  it('model ids keep to a URL- and manifest-safe alphabet', () => {
    expect(modelIdFrom('../../évil name.pdmodel', 'abcdef0123')).toBe('vil-name-abcdef01');
    expect(modelIdFrom('.onnx', '12345678')).toBe('model-12345678');
  });
});

describe('importModelFiles: folders, configs, both Paddle forms, fp16', () => {
  const paddle = writePaddleInference(model);
  const program = parsePaddleProgram(paddle.pdmodel);
  const yml = (labels: string) => `PreProcess:
  transform_ops:
  - ResizeImage: {size: [96, 48]}
  - NormalizeImage: {mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], scale: 1.0/255.0, order: ''}
  - ToCHWImage: null
PostProcess:
  Topk: {topk: 1, label_list: [${labels}]}
`;
  const text = (s: string) => new TextEncoder().encode(s);

  it('reads a dropped folder: the PIR program, its weights and inference.yml (preprocessing), ignoring the rest', async () => {
    const { encoded, notes } = await importModelFiles(
      [
        { name: 'my_model/inference.json', bytes: text(writePirProgram(program)) },
        { name: 'my_model/inference.pdiparams', bytes: paddle.pdiparams },
        {
          name: 'my_model/inference.yml',
          bytes: text('PreProcess:\n  transform_ops:\n  - ResizeImage: {size: [96, 48]}\n'),
        },
        { name: 'my_model/README.md', bytes: text('# notes') },
      ],
      { role: 'embedder' },
    );
    expect(encoded.manifest.preprocessing).toMatchObject({ mode: 'resize', width: 96, height: 48 });
    expect(notes).toContain('not read: README.md');
    const back = await decodeManifest(
      encoded.manifest,
      encoded.shards.map((s) => s.bytes),
    );
    for (const [name, t] of stateDict) expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
  });

  it('takes labels from inference.yml; a list of the wrong length gives class_N names, with a note', async () => {
    // The fixture ends in a 64-wide linear layer: with labels in the config it is read as a 64-class classifier.
    const labels = Array.from({ length: 64 }, (_, i) => `c${i}`).join(', ');
    const files = (config: string): ModelFile[] => [
      { name: 'inference.pdmodel', bytes: paddle.pdmodel },
      { name: 'inference.pdiparams', bytes: paddle.pdiparams },
      { name: 'inference.yml', bytes: text(config) },
    ];
    const good = await importModelFiles(files(yml(labels)));
    expect(good.encoded.manifest.head).toMatchObject({ type: 'Linear', softmax: false });
    expect(good.encoded.manifest.head!.labels.slice(0, 2)).toEqual(['c0', 'c1']);
    expect(good.encoded.manifest.embeddingDim).toBe(1280);
    const short = await importModelFiles(files(yml('a, b')));
    expect(short.encoded.manifest.head!.labels[5]).toBe('class_5');
    expect(short.notes.join('\n')).toMatch(/lists 2 labels for 64 classes/);
  });

  it('stores fp16 only when it holds cosine 0.9999, BatchNorm folded in fp32 first; else keeps fp32 and says so', async () => {
    const fine = await importModelFiles([{ name: 'm.onnx', bytes: writePPLCNetOnnx(model) }], { dtype: 'fp16' });
    expect(fine.encoded.manifest.dtype).toBe('fp16');
    expect(fine.encoded.manifest.architecture.batchNorm).toBe('folded');
    expect(fine.notes.join('\n')).toMatch(
      /fp16: BatchNorm folded in fp32, then rounded; min cosine to fp32 0\.9999\d+/,
    );
    // A neck whose weights lie below fp16's smallest value (6e-8) and no bias: fp16 would embed every image as
    // zeros. The check sees it and fp32 is kept.
    const fragile = new Map(stateDict);
    const w = stateDict.get('neck.fc.weight')!;
    fragile.set('neck.fc.weight', { shape: w.shape, data: w.data.map((v) => v * 1e-9) });
    fragile.set('neck.fc.bias', { shape: [64], data: new Float32Array(64) });
    const kept = await importModelFiles(
      [{ name: 'm.onnx', bytes: writePPLCNetOnnx({ ...model, stateDict: fragile }) }],
      { dtype: 'fp16' },
    );
    expect(kept.encoded.manifest.dtype).toBe('fp32');
    expect(kept.notes.join('\n')).toMatch(
      /kept in fp32: fp16 gave a min cosine of 0\.\d+ to fp32 over the check images, under the bar 0\.9999/,
    );
  });

  it('the same file read another way is another model, with another id', async () => {
    const files = [{ name: 'm.onnx', bytes: writePPLCNetOnnx(model) }];
    const auto = await importModelFiles(files);
    const asClassifier = await importModelFiles(files, { role: 'classifier' });
    expect(auto.encoded.manifest.head).toBeUndefined();
    expect(asClassifier.encoded.manifest.head).toMatchObject({ type: 'Linear', softmax: false });
    expect(asClassifier.encoded.manifest.modelId).toMatch(/^m-classifier-[0-9a-f]{8}$/);
    expect(asClassifier.encoded.manifest.modelId).not.toBe(auto.encoded.manifest.modelId);
  });

  it('refuses two models at once, naming them', async () => {
    await expect(
      importModelFiles([
        { name: 'a.onnx', bytes: writePPLCNetOnnx(model) },
        { name: 'b.onnx', bytes: writePPLCNetOnnx(model) },
      ]),
    ).rejects.toThrow('these files hold 2 models (a.onnx, b.onnx)');
  });
});

// The real files PaddleX / paddle2onnx wrote (../shared/models/real; absent on a fresh clone).
const REAL = resolve(
  fileURLToPath(new URL('../../../shared/models/real/pp-lcnet-x0_25-textline-ori', import.meta.url)),
);
const readFolder = (dir: string): ModelFile[] =>
  readdirSync(join(REAL, dir)).map((f) => ({
    name: `${dir}/${f}`,
    bytes: new Uint8Array(readFileSync(join(REAL, dir, f))),
  }));

describe.skipIf(!existsSync(REAL))('the real PP-LCNet_x0_25_textline_ori files', () => {
  it('all three import as 2-class text-line classifiers with their geometry', async () => {
    const onnxModel = await importModelFiles(readFolder('onnx'));
    expect(onnxModel.imported.network.geometry).toMatchObject({
      scale: 0.25,
      useLastConv: true,
      strideList: [
        [2, 2],
        [2, 1],
        [2, 1],
        [2, 1],
        [2, 1],
      ],
    });
    expect(onnxModel.imported.inputSize).toEqual([80, 160]);
    for (const dir of ['paddle', 'paddle-pir']) {
      const { encoded, imported } = await importModelFiles(readFolder(dir));
      expect(imported.network.geometry).toMatchObject({
        scale: 0.25,
        useLastConv: false,
        strideList: [
          [1, 2],
          [2, 1],
          [2, 1],
          [2, 1],
          [2, 1],
        ],
      });
      expect(encoded.manifest.head).toMatchObject({
        type: 'Linear',
        labels: ['0_degree', '180_degree'],
        softmax: true,
      });
      expect(encoded.manifest.preprocessing).toMatchObject({ mode: 'resize', width: 160, height: 80 });
    }
  });

  it('the ProgramDesc and the PIR program give the same tensors, bit for bit', async () => {
    const a = await importModelFiles(readFolder('paddle'));
    const b = await importModelFiles(readFolder('paddle-pir'));
    expect(b.encoded.manifest.tensors).toEqual(a.encoded.manifest.tensors);
    expect(b.encoded.manifest.shards.map((s) => s.sha256)).toEqual(a.encoded.manifest.shards.map((s) => s.sha256));
  });
});
