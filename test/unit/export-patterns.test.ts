/**
 * Every spelling the fixture writers produce, checked where it can be: ONNX fixtures run in onnxruntime-web
 * (wasm, in Node) against the plain TypeScript reference forward pass, at several scales, stride lists, with
 * and without last_conv, as PP-ShiTu feature extractors and as classifiers, at opsets 7 to 21; the op forms
 * each opset needs checked on the graph data; Paddle programs (2.x and 3.0) parsed back.
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/core/errors.ts';
import { planPPLCNet } from '../../src/model/architecture.ts';
import { DATA_TYPE } from '../../src/model/convert/onnx/onnx-proto.ts';
import {
  attr,
  parsePaddleProgram,
  savedVarNames,
  type PaddleOp,
} from '../../src/model/convert/paddle/paddle-program.ts';
import { readPaddleParams } from '../../src/model/convert/paddle/paddle-params.ts';
import type { OnnxModelSpec, OnnxNodeSpec } from '../../src/model/export/onnx-encode.ts';
import {
  buildPPLCNetOnnx,
  writePPLCNetOnnx,
  type OnnxExportModel,
  type OnnxExportOptions,
} from '../../src/model/export/onnx-export.ts';
import {
  buildPaddleInference,
  PADDLE_3_PROGRAM_VERSION,
  writePaddleInference,
} from '../../src/model/export/paddle-export.ts';
import { randomStateDict } from '../support/random-weights.ts';
import { referenceForward, type FeatureMap } from '../support/reference-forward.ts';
import {
  CASES,
  fixture,
  images,
  network,
  reference,
  TEXTLINE_STRIDES,
  type Fixture,
  type FixtureName,
} from '../support/pattern-fixtures.ts';

// Node has no cross-origin isolation, so ORT's threaded wasm would only warn and fall back: ask for one thread.
ort.env.wasm.numThreads = 1;

async function runOnnx(
  bytes: Uint8Array,
  imgs: readonly FeatureMap[],
): Promise<{ names: readonly string[]; outputs: Record<string, ort.Tensor> }> {
  const [h, w] = [imgs[0]!.height, imgs[0]!.width];
  const batch = new Float32Array(imgs.length * 3 * h * w);
  imgs.forEach((im, i) => batch.set(im.data, i * im.data.length));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const outputs = await session.run({ x: new ort.Tensor('float32', batch, [imgs.length, 3, h, w]) });
    return { names: session.outputNames, outputs };
  } finally {
    await session.release();
  }
}

const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const argmax = (a: ArrayLike<number>): number =>
  Array.from(a).reduce((best, v, i, all) => (v > all[best]! ? i : best), 0);

describe('ONNX fixtures run in onnxruntime-web and compute the reference function', () => {
  it.each(CASES)('%s', async (_label, name, options, runSize) => {
    const f = fixture(name);
    const [h, w] = runSize ?? f.inputSize;
    const imgs = images(h, w);
    const softmax = options.softmax !== undefined && options.softmax !== 'none';
    const want = reference(f, imgs, softmax);
    const model: OnnxExportModel = { network: f.network, stateDict: f.stateDict, classifier: f.classifier };
    const { names, outputs } = await runOnnx(writePPLCNetOnnx(model, { inputSize: f.inputSize, ...options }), imgs);
    const out = outputs[names[0]!]!;
    const dim = want[0]!.length;
    expect(out.dims).toEqual([2, dim]);
    const got = out.data as Float32Array;
    const flat = Float32Array.from(want.flatMap((v) => Array.from(v)));
    expect(got.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(got, flat)).toBeLessThan(2e-5 * Math.max(1, maxAbs(flat)));
    // Informative: the two unlike images give clearly different outputs.
    expect(maxAbsDiff(want[0]!, want[1]!)).toBeGreaterThan(0.01 * maxAbs(flat));

    if (options.extraOutputs === 'ArgMax-Cast') {
      expect(names).toHaveLength(2);
      expect(Array.from(outputs[names[1]!]!.data as Int32Array)).toEqual(want.map(argmax));
    } else if (options.extraOutputs === 'TopK') {
      expect(names).toHaveLength(3);
      expect(
        maxAbsDiff(
          outputs[names[1]!]!.data as Float32Array,
          want.map((v) => Math.max(...v)),
        ),
      ).toBeLessThan(1e-5);
      expect(Array.from(outputs[names[2]!]!.data as BigInt64Array, Number)).toEqual(want.map(argmax));
    } else {
      expect(names).toHaveLength(1);
    }
  });

  it('writes the standard PP-ShiTu model from the scale / embeddingDim / batchNorm form (x1.0, opset 17)', async () => {
    const model = {
      scale: 1,
      embeddingDim: 32,
      batchNorm: 'separate' as const,
      stateDict: randomStateDict(1, 32, 'separate', 5),
    };
    const imgs = images(64, 64);
    const want = referenceForward(model, imgs).flatMap((v) => Array.from(v));
    const { names, outputs } = await runOnnx(writePPLCNetOnnx(model, { opset: 17, inputSize: [64, 64] }), imgs);
    expect(maxAbsDiff(outputs[names[0]!]!.data as Float32Array, want)).toBeLessThan(2e-5 * Math.max(1, maxAbs(want)));
  });
});

const nodesOf = (s: OnnxModelSpec, opType: string): OnnxNodeSpec[] => s.nodes.filter((n) => n.opType === opType);
const attrOf = (n: OnnxNodeSpec, name: string): unknown =>
  (n.attributes?.[name] as { value: unknown } | undefined)?.value;
const spec = (name: FixtureName, options: OnnxExportOptions): OnnxModelSpec => {
  const f = fixture(name);
  return buildPPLCNetOnnx({ network: f.network, stateDict: f.stateDict, classifier: f.classifier }, options);
};

describe('ONNX fixtures spell each op as their opset requires', () => {
  it('Clip bounds: attributes before opset 11, inputs from 11', () => {
    const form = { hardswish: 'Add-Clip-Mul-Div', hardsigmoid: 'Add-Clip-Div' } as const;
    for (const clip of nodesOf(spec('shitu', { ...form, opset: 10 }), 'Clip')) {
      expect([clip.inputs.length, attrOf(clip, 'min'), attrOf(clip, 'max')]).toEqual([1, 0, 6]);
    }
    for (const clip of nodesOf(spec('shitu', { ...form, opset: 11 }), 'Clip'))
      expect([clip.inputs.length, clip.attributes]).toEqual([3, undefined]);
  });

  it('axes: Squeeze / Unsqueeze attributes before 13, ReduceMean before 18; inputs after', () => {
    const axes = (s: OnnxModelSpec, op: string): [number, unknown] => [
      nodesOf(s, op)[0]!.inputs.length,
      attrOf(nodesOf(s, op)[0]!, 'axes'),
    ];
    expect(axes(spec('shitu', { opset: 12, flatten: 'Squeeze' }), 'Squeeze')).toEqual([1, [2, 3]]);
    expect(axes(spec('shitu', { opset: 13, flatten: 'Squeeze' }), 'Squeeze')).toEqual([2, undefined]);
    const gather = 'Shape-Gather-Unsqueeze-Concat-Reshape';
    expect(axes(spec('shitu', { opset: 12, flatten: gather }), 'Unsqueeze')).toEqual([1, [0]]);
    expect(axes(spec('shitu', { opset: 13, flatten: gather }), 'Unsqueeze')).toEqual([2, undefined]);
    expect(axes(spec('shitu', { opset: 17, pool: 'ReduceMean' }), 'ReduceMean')).toEqual([1, [2, 3]]);
    expect(axes(spec('shitu', { opset: 18, pool: 'ReduceMean' }), 'ReduceMean')).toEqual([2, undefined]);
  });

  it('Slice, Dropout and TopK switch from attributes to inputs at 10, 12 and 10; Reshape gains allowzero at 14', () => {
    const slice = 'Shape-Slice-Concat-Reshape';
    expect(nodesOf(spec('shitu', { opset: 9, flatten: slice }), 'Slice')[0]!.inputs).toHaveLength(1);
    expect(nodesOf(spec('shitu', { opset: 10, flatten: slice }), 'Slice')[0]!.inputs).toHaveLength(4);
    expect(attrOf(nodesOf(spec('shitu', { opset: 11, dropout: 'Dropout-Mul' }), 'Dropout')[0]!, 'ratio')).toBeCloseTo(
      0.2,
      6,
    );
    expect(nodesOf(spec('shitu', { opset: 12, dropout: 'Dropout-Mul' }), 'Dropout')[0]!.inputs).toHaveLength(2);
    expect(attrOf(nodesOf(spec('textline', { opset: 9, extraOutputs: 'TopK' }), 'TopK')[0]!, 'k')).toBe(1);
    expect(nodesOf(spec('textline', { opset: 10, extraOutputs: 'TopK' }), 'TopK')[0]!.inputs).toHaveLength(2);
    expect(
      attrOf(nodesOf(spec('shitu', { opset: 13, flatten: 'Reshape' }), 'Reshape')[0]!, 'allowzero'),
    ).toBeUndefined();
    expect(attrOf(nodesOf(spec('shitu', { opset: 14, flatten: 'Reshape' }), 'Reshape')[0]!, 'allowzero')).toBe(0);
  });

  it('IR 3 (opsets 7-8): initializers are graph inputs too, and no int64 Constant node (Constant-1 is float only)', () => {
    const s = spec('shituFolded', { opset: 8, convBias: 'Reshape-Add', weights: 'constant' });
    expect(s.irVersion).toBe(3);
    expect(s.inputs.map((i) => i.name)).toEqual(['x', ...s.initializers.map((t) => t.name)]);
    expect(s.initializers.length).toBeGreaterThan(0);
    expect(s.initializers.every((t) => t.dataType === DATA_TYPE.INT64)).toBe(true);
    expect(
      nodesOf(s, 'Constant').every((n) => (attrOf(n, 'value') as { dataType: number }).dataType === DATA_TYPE.FLOAT),
    ).toBe(true);
    expect(spec('shitu', { opset: 9 }).inputs).toHaveLength(1);
  });

  it('stride lists become Conv strides [h, w]; no last_conv means pool -> flatten -> fc', () => {
    const s = spec('textline', { inputSize: [80, 160] });
    const strided = nodesOf(s, 'Conv')
      .map((n) => attrOf(n, 'strides') as number[])
      .filter(([sh, sw]) => sh !== 1 || sw !== 1);
    expect(strided).toEqual(TEXTLINE_STRIDES);
    expect(s.inputs[0]!.dims).toEqual(['N', 3, 80, 160]);
    const tail = s.nodes
      .filter((n) => n.opType !== 'Constant')
      .slice(-4)
      .map((n) => n.opType);
    expect(tail).toEqual(['GlobalAveragePool', 'Flatten', 'MatMul', 'Add']);
  });

  it('PIR-era naming: p2o / helper / deepcopy names, constants as initializers, fetch_name_0, symbolic dims', () => {
    const s = spec('textline', {
      naming: 'pir',
      identity: 'elementwise',
      convBias: 'Add',
      flatten: 'Shape-Slice-Concat-Reshape',
      softmax: 1,
      dynamicShape: true,
    });
    expect(nodesOf(s, 'Constant')).toHaveLength(0);
    expect(s.outputs[0]!.name).toBe('fetch_name_0');
    expect(s.inputs[0]!.dims).toEqual(['DynamicDimension.0', 3, 'DynamicDimension.1', 'DynamicDimension.2']);
    expect(
      s.initializers
        .map((t) => t.name)
        .filter((n) => !/_deepcopy_\d+$|^helper\.constant\.\d+$|^p2o\.pd_op\.reshape\.\d+\.0$/.test(n)),
    ).toEqual([]);
    // SE: Conv -> Add([1, C, 1, 1]) -> Identity, as in the real file.
    const seAdd = s.nodes.find((n) => n.opType === 'Add' && n.inputs[1]!.startsWith('p2o.pd_op.reshape'))!;
    expect(s.initializers.find((t) => t.name === seAdd.inputs[1])!.dims).toEqual([1, 16, 1, 1]);
    expect(s.nodes[s.nodes.indexOf(seAdd) + 1]!).toMatchObject({ opType: 'Identity', inputs: seAdd.outputs });
    expect(s.nodes.slice(-5).map((n) => n.opType)).toEqual(['Reshape', 'MatMul', 'Add', 'Identity', 'Softmax']);
  });

  it('rejects options an opset or a model cannot have, naming the valid ones', () => {
    const build = (name: FixtureName, options: OnnxExportOptions) => () => spec(name, options);
    expect(build('shitu', { opset: 6 })).toThrow(OptionsError);
    expect(build('shitu', { opset: 22 })).toThrow(/from 7 to 21/);
    expect(build('shitu', { opset: 13, hardswish: 'HardSwish' })).toThrow(/needs opset 14/);
    expect(build('shitu', { opset: 7, hardswish: 'Relu6-form' })).toThrow(/needs opset 8/);
    expect(build('shitu', { softmax: 1 })).toThrow(/classifier only/);
    expect(build('shitu', { flatten: 'View' as never })).toThrow(/flatten must be one of "Flatten", "Reshape"/);
    const backbone = fixture('textline');
    const noHead = {
      network: { ...backbone.network, geometry: { ...backbone.network.geometry, useLastConv: true } },
      stateDict: fixture('tall').stateDict,
    };
    expect(() => buildPPLCNetOnnx(noHead, {})).toThrow(/state dict has no|has shape/);
  });
});

describe('Paddle fixtures: the text-line classifier without last_conv parses back as written', () => {
  const f = (): Fixture => {
    const t = fixture('textline');
    return { ...t, classifier: { ...t.classifier!, softmax: true } };
  };
  const model = () => ({ network: f().network, stateDict: f().stateDict, classifier: f().classifier });
  const plan = planPPLCNet(network(0.25, TEXTLINE_STRIDES, false).geometry);

  /** The op types PaddleClas's PPLCNet (no last_conv) + fc + softmax records, block by block. */
  function expectedOps(version: 2 | 3): string[] {
    const bias = version === 2 ? ['elementwise_add'] : ['reshape2', 'elementwise_add'];
    const convBn = (type: string): string[] => [type, 'batch_norm', 'hard_swish'];
    const ops = ['feed', ...convBn('conv2d')];
    for (const b of plan.blocks) {
      ops.push(...convBn('depthwise_conv2d'));
      if (b.seChannels > 0)
        ops.push('pool2d', 'conv2d', ...bias, 'relu', 'conv2d', ...bias, 'hard_sigmoid', 'elementwise_mul');
      ops.push(...convBn('conv2d'));
    }
    ops.push(
      'pool2d',
      'flatten_contiguous_range',
      'matmul_v2',
      'elementwise_add',
      'softmax',
      ...(version === 2 ? ['scale'] : []),
      'fetch',
    );
    return ops;
  }

  for (const version of [2, 3] as const) {
    it(`Paddle ${version}: ops, strides, dims, version and parameters`, () => {
      const files = writePaddleInference(model(), { programVersion: version, inputSize: [80, 160] });
      const program = parsePaddleProgram(files.pdmodel);
      const block = program.blocks[0]!;
      expect(program.version).toBe(version === 3 ? PADDLE_3_PROGRAM_VERSION : undefined);
      expect(block.ops.map((op) => op.type)).toEqual(expectedOps(version));

      const dims = new Map(block.vars.map((v) => [v.name, v.dims]));
      const convs = block.ops.filter((op) => op.type === 'conv2d' || op.type === 'depthwise_conv2d');
      const strided = convs.map((op) => attr(op, 'strides') as number[]).filter(([h, w]) => h !== 1 || w !== 1);
      expect(strided).toEqual(TEXTLINE_STRIDES);
      expect(dims.get('x')).toEqual([-1, 3, 80, 160]);
      const out = (op: PaddleOp): readonly number[] | undefined => dims.get(op.outputs.Output![0]!);
      expect(out(convs[0]!)).toEqual([-1, 8, 80, 80]);
      // The last stage: 128 channels at 5 x 80, as in the real file.
      const lastPool = block.ops.filter((op) => op.type === 'pool2d').at(-1)!;
      expect(dims.get(lastPool.inputs.X![0]!)).toEqual([-1, 128, 5, 80]);
      expect(dims.get(block.ops.find((op) => op.type === 'softmax')!.outputs.Out![0]!)).toEqual([-1, 2]);

      const adds = block.ops.filter((op) => op.type === 'elementwise_add').map((op) => attr(op, 'axis'));
      expect(new Set(adds)).toEqual(new Set([version === 2 ? 1 : -1]));
      if (version === 3) {
        const reshape = block.ops.find((op) => op.type === 'reshape2')!;
        expect(attr(reshape, 'shape')).toEqual([1, 16, 1, 1]);
        expect(block.vars.slice(-2).map((v) => v.name)).toEqual(['feed', 'fetch']);
        expect(savedVarNames(program).every((n) => /_deepcopy_\d+$/.test(n))).toBe(true);
      }

      // The parameters: as many records as saved vars, in their order, holding the model's numbers.
      const names = savedVarNames(program);
      const tensors = readPaddleParams(files.pdiparams, { names });
      const fcWeight = tensors[names.findIndex((n) => n.startsWith('linear_0.w_0'))]!;
      expect(fcWeight.dims).toEqual([128, 2]);
      expect(Array.from(fcWeight.data)).toEqual(Array.from(f().classifier!.weight));
      expect(names.some((n) => n.startsWith('conv2d_') && n.includes('.b_0'))).toBe(true);
    });
  }

  it('dynamic shape: -1 for H and W in x and after it', () => {
    const program = parsePaddleProgram(
      writePaddleInference(model(), { programVersion: 3, dynamicShape: true }).pdmodel,
    );
    const dims = new Map(program.blocks[0]!.vars.map((v) => [v.name, v.dims]));
    expect(dims.get('x')).toEqual([-1, 3, -1, -1]);
    const conv = program.blocks[0]!.ops.find((op) => op.type === 'conv2d')!;
    expect(dims.get(conv.outputs.Output![0]!)).toEqual([-1, 8, -1, -1]);
  });

  it('buildPaddleInference returns the program and parameters the files hold', () => {
    const { program, params } = buildPaddleInference(model(), { programVersion: 3, inputSize: [80, 160] });
    const files = writePaddleInference(model(), { programVersion: 3, inputSize: [80, 160] });
    const parsed = parsePaddleProgram(files.pdmodel);
    expect(parsed.blocks[0]!.ops.map((op) => op.type)).toEqual(program.blocks[0]!.ops.map((op) => op.type));
    expect(parsed.blocks[0]!.vars.map((v) => v.name)).toEqual(program.blocks[0]!.vars.map((v) => v.name));
    expect([...params.keys()]).toEqual(savedVarNames(parsed));
    const read = readPaddleParams(files.pdiparams, { names: [...params.keys()] });
    [...params.values()].forEach((t, i) => expect(read[i]!.dims).toEqual(t.dims));
  });

  it('without softmax the fc output is fetched (through scale(1.0) in Paddle 2)', () => {
    const logits = { ...model(), classifier: { ...f().classifier!, softmax: false } };
    const tail = (version: 2 | 3): string[] =>
      parsePaddleProgram(writePaddleInference(logits, { programVersion: version }).pdmodel)
        .blocks[0]!.ops.slice(-4)
        .map((op) => op.type);
    expect(tail(2)).toEqual(['matmul_v2', 'elementwise_add', 'scale', 'fetch']);
    expect(tail(3)).toEqual(['flatten_contiguous_range', 'matmul_v2', 'elementwise_add', 'fetch']);
  });

  it('a PP-ShiTu network with last_conv still writes its neck (Paddle 3)', () => {
    const s = fixture('shitu');
    const program = parsePaddleProgram(
      writePaddleInference({ network: s.network, stateDict: s.stateDict }, { programVersion: 3 }).pdmodel,
    );
    const types = program.blocks[0]!.ops.map((op) => op.type);
    expect(types.slice(-8)).toEqual([
      'pool2d',
      'conv2d',
      'hard_swish',
      'dropout',
      'flatten_contiguous_range',
      'matmul_v2',
      'elementwise_add',
      'fetch',
    ]);
  });
});
