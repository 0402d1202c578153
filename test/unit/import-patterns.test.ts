/**
 * Every fixture pattern through the importer: the ONNX spellings of opsets 7 to 21, several scales, stride
 * lists, with and without last_conv, PP-ShiTu necks and classifiers (the same CASES that
 * export-patterns.test.ts runs in ONNX Runtime), and the Paddle forms (ProgramDesc 2.x and 3.0, PIR json).
 * Each import is built by the one builder and must compute the reference function: the embedding, and a
 * classifier's probabilities or logits from its head.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPPLCNet } from '../../src/model/builder.ts';
import type { ImportedModel } from '../../src/model/convert/imported-model.ts';
import { importOnnx } from '../../src/model/convert/onnx/onnx-import.ts';
import { importPaddleInference, importPaddleProgram } from '../../src/model/convert/paddle/paddle-import.ts';
import { parsePirProgram } from '../../src/model/convert/paddle/pir-program.ts';
import { writePPLCNetOnnx } from '../../src/model/export/onnx-export.ts';
import { buildPaddleInference, writePaddleInference } from '../../src/model/export/paddle-export.ts';
import { CASES, fixture, images, reference, type Fixture, type FixtureName } from '../support/pattern-fixtures.ts';
import { writePirProgram } from '../support/pir-program-writer.ts';
import type { FeatureMap } from '../support/reference-forward.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** The import's output per image: the embedding, or the classifier head's logits / probabilities. */
function run(imported: ImportedModel, imgs: readonly FeatureMap[], softmax: boolean): Float32Array[] {
  const model = buildPPLCNet(imported.stateDict, imported.network);
  try {
    return imgs.map((im) =>
      tf.tidy(() => {
        const x = tf.transpose(tf.tensor4d(im.data, [1, 3, im.height, im.width]), [0, 2, 3, 1]) as tf.Tensor4D;
        let y = model.embed(x, false);
        const c = imported.classifier;
        if (c) {
          y = tf.add(tf.matMul(y, tf.tensor2d(c.weight, [y.shape[1], c.classes])), tf.tensor1d(c.bias));
          if (softmax) y = tf.softmax(y);
        }
        return y.dataSync() as Float32Array;
      }),
    );
  } finally {
    model.dispose();
  }
}

function expectReference(imported: ImportedModel, f: Fixture, size: [number, number], softmax: boolean): void {
  const imgs = images(size[0], size[1]);
  const want = reference(f, imgs, softmax);
  const got = run(imported, imgs, softmax);
  const flat = want.flatMap((v) => Array.from(v));
  expect(
    maxAbsDiff(
      got.flatMap((v) => Array.from(v)),
      flat,
    ),
  ).toBeLessThan(2e-5 * Math.max(1, maxAbs(flat)));
}

describe('ONNX fixtures of every pattern import to the reference function', () => {
  it.each(CASES)('%s', (_label, name, options, runSize) => {
    const f = fixture(name);
    const softmax = options.softmax !== undefined && options.softmax !== 'none';
    const bytes = writePPLCNetOnnx(
      { network: f.network, stateDict: f.stateDict, classifier: f.classifier },
      { inputSize: f.inputSize, ...options },
    );
    // A file ending in a linear layer without softmax is ambiguous: a classifier's logits are read as one when asked.
    const imported = importOnnx(bytes, { role: f.classifier ? 'classifier' : 'embedder' });
    expect(imported.network.geometry.strideList).toEqual(f.network.geometry.strideList);
    expect(imported.network.geometry.useLastConv).toBe(f.network.geometry.useLastConv);
    expect(imported.network.geometry.scale).toBe(f.network.geometry.scale);
    expect(imported.classifier?.classes).toBe(f.classifier?.classes);
    if (f.classifier) expect(imported.classifier!.softmax).toBe(softmax);
    if (!options.dynamicShape) expect(imported.inputSize).toEqual(f.inputSize);
    expectReference(imported, f, runSize ?? f.inputSize, softmax);
  });

  it('reads a classifier ending in a softmax as one without being told', () => {
    const f = fixture('textline');
    const imported = importOnnx(
      writePPLCNetOnnx(
        { network: f.network, stateDict: f.stateDict, classifier: f.classifier },
        { inputSize: f.inputSize, softmax: 1 },
      ),
    );
    expect(imported.classifier?.classes).toBe(2);
    expect(imported.embeddingDim).toBe(128);
  });
});

const PADDLE_CASES: [string, FixtureName, 2 | 3][] = [
  ['PP-ShiTu x0.25, Paddle 2.x', 'shitu', 2],
  ['PP-ShiTu x0.25 folded BatchNorm, Paddle 3.0', 'shituFolded', 3],
  ['text-line classifier (no last_conv, [1, 2] / [2, 1] strides), Paddle 2.x', 'textline', 2],
  ['text-line classifier, Paddle 3.0', 'textline', 3],
  ['x0.5 [2, 1] strides, last_conv, 10 classes, Paddle 3.0', 'tall', 3],
  ['x1.0 no last_conv + neck, Paddle 2.x', 'wideNeck', 2],
];

describe('Paddle fixtures (ProgramDesc and PIR) import to the reference function', () => {
  it.each(PADDLE_CASES)('%s', (_label, name, programVersion) => {
    const f = fixture(name);
    const softmax = f.classifier !== undefined;
    const model = {
      network: f.network,
      stateDict: f.stateDict,
      ...(f.classifier ? { classifier: { ...f.classifier, softmax } } : {}),
    };
    const options = { programVersion, inputSize: f.inputSize, softmax };
    const files = writePaddleInference(model, options);
    const fromProgramDesc = importPaddleInference(files.pdmodel, files.pdiparams);
    expect(fromProgramDesc.network.geometry.strideList).toEqual(f.network.geometry.strideList);
    expect(fromProgramDesc.classifier?.classes).toBe(f.classifier?.classes);
    expect(fromProgramDesc.inputSize).toEqual(f.inputSize);
    expectReference(fromProgramDesc, f, f.inputSize, softmax);
    // The same model as Paddle 3's PIR program reads to the same tensors.
    const pir = parsePirProgram(writePirProgram(buildPaddleInference(model, options).program));
    const fromPir = importPaddleProgram(pir, files.pdiparams, { file: 'inference.json' });
    expect([...fromPir.stateDict.keys()]).toEqual([...fromProgramDesc.stateDict.keys()]);
    for (const [k, t] of fromProgramDesc.stateDict)
      expect(maxAbsDiff(fromPir.stateDict.get(k)!.data, t.data), k).toBe(0);
    expect(fromPir.network).toEqual(fromProgramDesc.network);
  });
});
