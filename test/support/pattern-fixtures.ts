/**
 * The fixture patterns the importer must read, shared by test/unit/export-patterns.test.ts (each fixture runs
 * in ONNX Runtime and computes the reference function) and test/unit/import-patterns.test.ts (each fixture's
 * import computes it too): networks of several scales, stride lists, with and without last_conv, PP-ShiTu
 * necks and classifiers, and the ONNX spellings of each opset.
 */
import { normalSampler } from '../../src/core/seeded-random.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import { DEFAULT_STRIDE_LIST, planPPLCNet, standardGeometry, type StrideHW } from '../../src/model/architecture.ts';
import type { NetworkSpec } from '../../src/model/parameters.ts';
import type { ExportClassifier, OnnxExportOptions } from '../../src/model/export/onnx-export.ts';
import { randomNetworkStateDict } from './random-weights.ts';
import { referenceClassifier, referenceForward, type FeatureMap } from './reference-forward.ts';

/** PaddleOCR's text-line orientation models: the Paddle file's stride list (the ONNX one has a [2, 2] stem). */
export const TEXTLINE_STRIDES: readonly StrideHW[] = [
  [1, 2],
  [2, 1],
  [2, 1],
  [2, 1],
  [2, 1],
];
export const TALL_STRIDES: readonly StrideHW[] = [
  [2, 2],
  [2, 1],
  [2, 1],
  [2, 1],
  [2, 1],
];

export interface Fixture {
  readonly network: NetworkSpec;
  readonly stateDict: StateDict;
  readonly classifier?: ExportClassifier;
  readonly inputSize: [number, number];
}

export const network = (
  scale: number,
  strideList: readonly StrideHW[],
  useLastConv: boolean,
  neckDim?: number,
  folded = false,
): NetworkSpec => ({
  geometry: { ...standardGeometry(scale), strideList, useLastConv },
  batchNorm: folded ? 'folded' : 'separate',
  ...(neckDim === undefined ? {} : { neckDim }),
});

export function classifierFor(net: NetworkSpec, classes: number, seed: number): ExportClassifier {
  const featureDim = planPPLCNet(net.geometry).featureDim;
  const normal = normalSampler(seed);
  // Logits of a few units: probabilities neither flat nor saturated.
  const weight = Float32Array.from({ length: featureDim * classes }, () => (3 / Math.sqrt(featureDim)) * normal());
  return { weight, bias: Float32Array.from({ length: classes }, () => 0.1 * normal()), classes };
}

export type FixtureName = 'shitu' | 'shituFolded' | 'textline' | 'tall' | 'wideNeck';
interface FixtureSpec {
  readonly network: NetworkSpec;
  readonly classes?: number;
  readonly size: [number, number];
}

export const FIXTURE_SPECS: Record<FixtureName, () => FixtureSpec> = {
  shitu: () => ({ network: network(0.25, DEFAULT_STRIDE_LIST, true, 64), size: [64, 64] }),
  shituFolded: () => ({ network: network(0.25, DEFAULT_STRIDE_LIST, true, 64, true), size: [64, 64] }),
  textline: () => ({ network: network(0.25, TEXTLINE_STRIDES, false), classes: 2, size: [80, 160] }),
  tall: () => ({ network: network(0.5, TALL_STRIDES, true), classes: 10, size: [64, 64] }),
  wideNeck: () => ({ network: network(1.0, DEFAULT_STRIDE_LIST, false, 32, true), size: [64, 64] }),
};

/** Random weights are calibrated per network (seconds at x1.0): each fixture is made once, when first used. */
const fixtures = new Map<FixtureName, Fixture>();
export function fixture(name: FixtureName): Fixture {
  if (!fixtures.has(name)) {
    const s = FIXTURE_SPECS[name]();
    const stateDict = randomNetworkStateDict(s.network, 17);
    const classifier = s.classes === undefined ? undefined : classifierFor(s.network, s.classes, 23);
    fixtures.set(name, { network: s.network, stateDict, classifier, inputSize: s.size });
  }
  return fixtures.get(name)!;
}

function image(h: number, w: number, f: (c: number, y: number, x: number) => number): FeatureMap {
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = f(c, y, x);
  return { channels: 3, height: h, width: w, data };
}

/**
 * Two unlike images: mosaics of 2 x 2 tiles, each a smooth pattern with its own brightness, colour cast,
 * contrast and noise (the statistics random-weights.ts calibrates on). Gentler images barely move these small
 * random networks' outputs at other geometries and sizes, so a test could not tell a wrong layer from noise.
 */
export function images(h: number, w: number): FeatureMap[] {
  return [3, 4].map((seed) => {
    const normal = normalSampler(seed);
    const tiles = Array.from({ length: 4 }, () => ({
      offset: [0.7 * normal(), 0.7 * normal(), 0.7 * normal()],
      contrast: 0.3 + 1.5 * Math.abs(normal()),
      fx: 0.02 + 0.3 * Math.abs(normal()),
      fy: 0.02 + 0.3 * Math.abs(normal()),
      noise: 0.5 * Math.abs(normal()),
    }));
    return image(h, w, (c, y, x) => {
      const t = tiles[Math.floor((2 * y) / h) * 2 + Math.floor((2 * x) / w)]!;
      const pattern = Math.sin(t.fx * x * (c + 1) + t.fy * y) + 0.5 * Math.cos(t.fy * (x - y) * (3 - c));
      return t.offset[c]! + t.contrast * pattern + t.noise * normal();
    });
  });
}

/** What the model computes for each image: the neck's embedding, the feature, or the classifier's output. */
export function reference(f: Fixture, imgs: readonly FeatureMap[], softmax: boolean): Float32Array[] {
  const model = {
    scale: f.network.geometry.scale,
    embeddingDim: 0,
    batchNorm: f.network.batchNorm,
    stateDict: f.stateDict,
    network: f.network,
  };
  const features = referenceForward(model, imgs);
  return f.classifier ? features.map((v) => referenceClassifier(v, f.classifier!, softmax)) : features;
}

export type Case = [label: string, fixture: FixtureName, options: OnnxExportOptions, runSize?: [number, number]];

export const CASES: Case[] = [
  // PP-ShiTu, x0.25, default strides, last_conv + neck.
  ['defaults (opset 11, legacy names)', 'shitu', {}],
  [
    'opset 7 (IR 3): Clip, ReduceMean and Squeeze attributes, Dropout ratio attribute, Constant-node weights',
    'shitu',
    {
      opset: 7,
      hardswish: 'Add-Clip-Mul-Div',
      hardsigmoid: 'Add-Clip-Div',
      pool: 'ReduceMean',
      flatten: 'Squeeze',
      dropout: 'Dropout-Mul',
      weights: 'constant',
    },
  ],
  [
    'opset 9: Slice attributes in the computed flatten, Gemm, dropout folded, trailing Identity',
    'shitu',
    { opset: 9, flatten: 'Shape-Slice-Concat-Reshape', neck: 'Gemm', dropout: 'none', identity: 'output' },
  ],
  [
    'opset 18: ReduceMean and Unsqueeze axes inputs, scale-style dropout, PIR names, both Identity forms',
    'shitu',
    {
      opset: 18,
      pool: 'ReduceMean',
      flatten: 'Shape-Gather-Unsqueeze-Concat-Reshape',
      dropout: 'Mul-Add',
      naming: 'pir',
      identity: 'elementwise+output',
    },
  ],
  [
    'opset 21: HardSwish, Squeeze axes input, Dropout ratio input, dynamic H x W (run at 96 x 64)',
    'shitu',
    { opset: 21, flatten: 'Squeeze', dropout: 'Dropout-Mul', dynamicShape: true },
    [96, 64],
  ],
  // Folded BatchNorm: every conv has a bias.
  [
    'folded, opset 13: biases as Add of [1, C, 1, 1], Identity after Add / Mul, Relu6-form',
    'shituFolded',
    { opset: 13, convBias: 'Add', identity: 'elementwise', hardswish: 'Relu6-form', flatten: 'Squeeze' },
  ],
  [
    'folded, opset 17: biases as Reshape + Add, Constant-node weights, Reshape allowzero, PIR names',
    'shituFolded',
    { opset: 17, convBias: 'Reshape-Add', weights: 'constant', flatten: 'Reshape', naming: 'pir' },
  ],
  [
    'folded, opset 7: Reshape + Add biases with int64 initializers',
    'shituFolded',
    { opset: 7, convBias: 'Reshape-Add', hardswish: 'HardSigmoid-Mul' },
  ],
  [
    'folded, opset 9: Add biases, Constant-node weights',
    'shituFolded',
    { opset: 9, convBias: 'Add', weights: 'constant' },
  ],
  // The text-line classifier: x0.25, [1, 2] / [2, 1] strides, no last_conv, 2 classes, 80 x 160.
  [
    'text-line, like the real PIR-era file (opset 11, IR 10, Identity after Add / Mul, SE biases as Add, Shape-Slice-Concat-Reshape, Softmax)',
    'textline',
    {
      opset: 11,
      irVersion: 10,
      naming: 'pir',
      identity: 'elementwise',
      convBias: 'Add',
      flatten: 'Shape-Slice-Concat-Reshape',
      softmax: 1,
    },
  ],
  [
    'text-line, opset 7: Softmax axis -1, ArgMax -> Cast output, trailing Identity',
    'textline',
    { opset: 7, softmax: -1, extraOutputs: 'ArgMax-Cast', identity: 'output' },
  ],
  [
    'text-line, opset 9: TopK k attribute, PIR names',
    'textline',
    { opset: 9, softmax: 1, extraOutputs: 'TopK', naming: 'pir' },
  ],
  [
    'text-line, opset 21: logits, TopK K input, dynamic H x W (run at 48 x 96)',
    'textline',
    { opset: 21, extraOutputs: 'TopK', dynamicShape: true },
    [48, 96],
  ],
  // x0.5, [2, 1] strides after the stem, last_conv, 10 classes.
  [
    'x0.5 10 classes, opset 17: Softmax -1, Gemm fc, Dropout op with ratio input',
    'tall',
    { opset: 17, softmax: -1, neck: 'Gemm', dropout: 'Dropout-Mul' },
  ],
  [
    'x0.5 10 classes, opset 13: logits, dropout folded into the fc, Constant-node weights',
    'tall',
    { opset: 13, dropout: 'none', weights: 'constant' },
  ],
  [
    'x0.5 10 classes, opset 18: scale-style dropout, Shape-Gather flatten, Softmax, ArgMax -> Cast',
    'tall',
    {
      opset: 18,
      dropout: 'Mul-Add',
      flatten: 'Shape-Gather-Unsqueeze-Concat-Reshape',
      softmax: 1,
      extraOutputs: 'ArgMax-Cast',
    },
  ],
  // x1.0 without last_conv, neck over the 512-d last stage, folded BatchNorm.
  ['x1.0 no last_conv + neck, opset 11', 'wideNeck', {}],
  [
    'x1.0 no last_conv + neck, opset 21, PIR names, Add biases, Identity after Add / Mul',
    'wideNeck',
    { opset: 21, naming: 'pir', convBias: 'Add', identity: 'elementwise' },
  ],
];
