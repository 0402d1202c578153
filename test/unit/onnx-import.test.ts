import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/core/errors.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import type { BatchNormForm } from '../../src/model/parameters.ts';
import { modelParameters } from '../../src/model/parameters.ts';
import {
  encodeOnnxModel,
  type OnnxModelSpec,
  type OnnxNodeSpec,
  type OnnxTensorSpec,
} from '../../src/model/export/onnx-encode.ts';
import { buildPPLCNetOnnx, writePPLCNetOnnx, type OnnxExportOptions } from '../../src/model/export/onnx-export.ts';
import { importOnnx } from '../../src/model/convert/onnx/onnx-import.ts';
import { DATA_TYPE, MODEL } from '../../src/model/convert/onnx/onnx-proto.ts';
import { ProtoWriter } from '../../src/model/convert/wire/protobuf.ts';
import { mulberry32, randomStateDict } from '../support/random-weights.ts';

const DIM = 512;
const cache = new Map<string, StateDict>();
function weights(scale: number, form: BatchNormForm): StateDict {
  const key = `${scale}/${form}`;
  if (!cache.has(key)) cache.set(key, randomStateDict(scale, DIM, form, 7));
  return cache.get(key)!;
}
const model = (scale: number, form: BatchNormForm = 'separate') => ({
  scale,
  embeddingDim: DIM,
  batchNorm: form,
  stateDict: weights(scale, form),
});

/** Largest |a - b| / (1 + |b|) over every tensor; also checks names and shapes. */
function maxDifference(actual: StateDict, expected: StateDict, neckFactor = 1): number {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  let worst = 0;
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    expect(a.shape, name).toEqual(e.shape);
    const f = name === 'neck.fc.weight' ? neckFactor : 1;
    for (let i = 0; i < e.data.length; i++)
      worst = Math.max(worst, Math.abs(a.data[i]! - e.data[i]! * f) / (1 + Math.abs(e.data[i]! * f)));
  }
  return worst;
}

const VARIANTS: [string, BatchNormForm, OnnxExportOptions, number][] = [
  // [label, BatchNorm form, options, tolerance]
  ['defaults (opset 11, HardSigmoid-Mul)', 'separate', {}, 0],
  ['opset 17 (HardSwish)', 'separate', { opset: 17 }, 0],
  ['Constant-node weights', 'separate', { weights: 'constant' }, 0],
  ['Add-Clip-Mul-Div hardswish', 'separate', { hardswish: 'Add-Clip-Mul-Div' }, 0],
  ['Relu6-form hardswish, opset 17', 'separate', { hardswish: 'Relu6-form', opset: 17 }, 0],
  [
    'HardSwish op at opset 14, constant weights',
    'separate',
    { hardswish: 'HardSwish', opset: 14, weights: 'constant' },
    0,
  ],
  ['Add-Clip-Div hardsigmoid', 'separate', { hardsigmoid: 'Add-Clip-Div' }, 0],
  ['folded BatchNorm', 'folded', {}, 0],
  ['folded BatchNorm, opset 17, constants', 'folded', { opset: 17, weights: 'constant' }, 0],
  ['Gemm neck', 'separate', { neck: 'Gemm' }, 0],
  ['dropout folded into the neck', 'separate', { dropout: 'none' }, 1e-6],
  ['ReduceMean pool, Reshape flatten', 'separate', { pool: 'ReduceMean', flatten: 'Reshape' }, 0],
];

describe('importOnnx: round trip of writePPLCNetOnnx', () => {
  for (const scale of [0.25, 0.5, 1.0]) {
    it.each(VARIANTS)(`x${scale}: %s`, (_label, form, options, tolerance) => {
      const m = model(scale, form);
      const imported = importOnnx(writePPLCNetOnnx(m, options));
      expect(imported.scale).toBe(scale);
      expect(imported.embeddingDim).toBe(DIM);
      expect(imported.batchNorm).toBe(form);
      expect(maxDifference(imported.stateDict, m.stateDict)).toBeLessThanOrEqual(tolerance);
    });
  }

  it('x2.5, the PP-ShiTu v1 backbone', () => {
    const m = model(2.5);
    const imported = importOnnx(writePPLCNetOnnx(m));
    expect(imported.scale).toBe(2.5);
    expect(imported.stateDict.size).toBe(modelParameters(2.5, DIM, 'separate').length);
    expect(maxDifference(imported.stateDict, m.stateDict)).toBe(0);
  });

  it.each([12, 13, 15, 16])('opset %i', (opset) => {
    expect(maxDifference(importOnnx(writePPLCNetOnnx(model(0.25), { opset })).stateDict, model(0.25).stateDict)).toBe(
      0,
    );
  });
});

/** The exported graph as data, edited before encoding. */
const spec = (options: OnnxExportOptions = {}, scale = 0.25): OnnxModelSpec => buildPPLCNetOnnx(model(scale), options);
const withInitializers = (s: OnnxModelSpec, f: (t: OnnxTensorSpec, i: number) => OnnxTensorSpec): OnnxModelSpec => ({
  ...s,
  initializers: s.initializers.map(f),
});
const attr = (n: OnnxNodeSpec, name: string): unknown =>
  (n.attributes?.[name] as { value: unknown } | undefined)?.value;
const depthwise = (s: OnnxModelSpec): OnnxNodeSpec[] =>
  s.nodes.filter((n) => n.opType === 'Conv' && (attr(n, 'group') as number) > 1);

describe('importOnnx: graphs written differently', () => {
  it('maps tensors by structure, not by name (renamed, shuffled initializers)', () => {
    const s = spec();
    const rename = new Map(s.initializers.map((t, i) => [t.name, `onnx::t${(i * 7919) % 1009}_${i}`]));
    const shuffled = [...s.initializers].sort((a, b) => rename.get(a.name)!.localeCompare(rename.get(b.name)!));
    const edited: OnnxModelSpec = {
      ...s,
      initializers: shuffled.map((t) => ({ ...t, name: rename.get(t.name)! })),
      nodes: s.nodes.map((n) => ({ ...n, inputs: n.inputs.map((i) => rename.get(i) ?? i) })),
    };
    expect(maxDifference(importOnnx(encodeOnnxModel(edited)).stateDict, model(0.25).stateDict)).toBe(0);
  });

  it('reads float_data, DOUBLE (double_data) and FLOAT16 (raw) weights', () => {
    const s = spec();
    const typed = withInitializers(s, (t) => ({ ...t, storage: 'typed' }));
    expect(maxDifference(importOnnx(encodeOnnxModel(typed)).stateDict, model(0.25).stateDict)).toBe(0);
    const doubles = withInitializers(s, (t) => ({ ...t, dataType: DATA_TYPE.DOUBLE, storage: 'typed' }));
    expect(maxDifference(importOnnx(encodeOnnxModel(doubles)).stateDict, model(0.25).stateDict)).toBe(0);
    const halves = withInitializers(s, (t) => ({ ...t, dataType: DATA_TYPE.FLOAT16 }));
    // binary16 keeps 11 significant bits: relative error <= 2^-11 (plus subnormal flushing near 0).
    expect(maxDifference(importOnnx(encodeOnnxModel(halves)).stateDict, model(0.25).stateDict)).toBeLessThan(6e-4);
  });

  it('honours Gemm transB, alpha and beta', () => {
    const s = spec({ neck: 'Gemm' });
    const gemm = s.nodes.find((n) => n.opType === 'Gemm')!;
    const [, bName, cName] = gemm.inputs;
    const edited = withInitializers(
      {
        ...s,
        nodes: s.nodes.map((n) =>
          n === gemm
            ? {
                ...n,
                attributes: {
                  alpha: { type: 'float', value: 2 },
                  beta: { type: 'float', value: 0.5 },
                  transB: { type: 'int', value: 1 },
                },
              }
            : n,
        ),
      },
      (t) => {
        if (t.name === cName) return { ...t, values: Array.from(t.values, (v) => v * 2) };
        if (t.name !== bName) return t;
        const [rows, cols] = [t.dims[0]!, t.dims[1]!];
        const transposed = new Float32Array(rows * cols);
        for (let i = 0; i < rows; i++)
          for (let o = 0; o < cols; o++) transposed[o * rows + i] = t.values[i * cols + o]! / 2;
        return { ...t, dims: [cols, rows], values: transposed };
      },
    );
    expect(maxDifference(importOnnx(encodeOnnxModel(edited)).stateDict, model(0.25).stateDict)).toBe(0);
  });

  it('folds a dropout scale other than 0.8 (a Dropout op, a Mul by 0.5) into the neck weight', () => {
    const s = spec();
    const mul = s.nodes.find(
      (n) =>
        n.opType === 'Mul' &&
        n.outputs[0] !== undefined &&
        s.nodes.some((f) => f.opType === 'Flatten' && f.inputs[0] === n.outputs[0]),
    )!;
    const asDropout = {
      ...s,
      nodes: s.nodes.map((n) => (n === mul ? { ...n, opType: 'Dropout', inputs: n.inputs.slice(0, 1) } : n)),
    };
    const imported = importOnnx(encodeOnnxModel(asDropout));
    expect(maxDifference(imported.stateDict, model(0.25).stateDict, 1 / 0.8)).toBeLessThan(1e-6);
    expect(imported.notes.join('\n')).toMatch(/by 1 instead of 0\.8; folded 1\.25 into neck\.fc\.weight/);

    const half = {
      ...s,
      nodes: s.nodes.map((n) =>
        n.outputs[0] === mul.inputs[1]
          ? {
              ...n,
              attributes: {
                value: {
                  type: 'tensor',
                  value: { name: mul.inputs[1]!, dims: [], dataType: DATA_TYPE.FLOAT, values: [0.5] },
                },
              },
            }
          : n,
      ),
    } as OnnxModelSpec;
    expect(maxDifference(importOnnx(encodeOnnxModel(half)).stateDict, model(0.25).stateDict, 0.5 / 0.8)).toBeLessThan(
      1e-6,
    );
  });

  it('reads AveragePool over the whole 7 x 7 map and Squeeze as the flatten; rejects a smaller AveragePool', () => {
    const s = spec();
    const pooled = (kernel: number): OnnxModelSpec => ({
      ...s,
      nodes: s.nodes.map((n) => {
        if (n.opType === 'GlobalAveragePool')
          return {
            ...n,
            opType: 'AveragePool',
            attributes: { kernel_shape: { type: 'ints', value: [kernel, kernel] } },
          };
        if (n.opType === 'Flatten')
          return { ...n, opType: 'Squeeze', attributes: { axes: { type: 'ints', value: [2, 3] } } };
        return n;
      }),
    });
    expect(maxDifference(importOnnx(encodeOnnxModel(pooled(7))).stateDict, model(0.25).stateDict)).toBe(0);
    expect(() => importOnnx(encodeOnnxModel(pooled(3)))).toThrow(
      /^block 12 SE: AveragePool "globalaveragepool_0" is not a global average pool over the 7 x 7 map/,
    );
  });

  it('moves a conv bias in front of a BatchNorm into its running mean', () => {
    const s = spec();
    const stem = s.nodes.find((n) => n.opType === 'Conv')!;
    const bias: OnnxTensorSpec = {
      name: 'stem_bias',
      dims: [8],
      dataType: DATA_TYPE.FLOAT,
      values: Float32Array.from({ length: 8 }, (_, i) => i / 4),
    };
    const edited = {
      ...s,
      initializers: [...s.initializers, bias],
      nodes: s.nodes.map((n) => (n === stem ? { ...n, inputs: [...n.inputs, 'stem_bias'] } : n)),
    };
    const imported = importOnnx(encodeOnnxModel(edited));
    const mean = model(0.25).stateDict.get('backbone.conv1.bn._mean')!.data;
    expect(Array.from(imported.stateDict.get('backbone.conv1.bn._mean')!.data)).toEqual(
      Array.from(mean, (m, i) => Math.fround(m - i / 4)),
    );
  });

  it('moves a BatchNorm epsilon other than 1e-5 into the variances', () => {
    const s = spec();
    const edited = {
      ...s,
      nodes: s.nodes.map((n) =>
        n.opType === 'BatchNormalization'
          ? { ...n, attributes: { ...n.attributes, epsilon: { type: 'float', value: 1e-3 } } }
          : n,
      ),
    } as OnnxModelSpec;
    const imported = importOnnx(encodeOnnxModel(edited));
    const v = imported.stateDict.get('backbone.conv1.bn._variance')!.data;
    const v0 = model(0.25).stateDict.get('backbone.conv1.bn._variance')!.data;
    expect(Math.abs(v[0]! - (v0[0]! + Math.fround(1e-3) - 1e-5))).toBeLessThan(1e-7);
  });
});

/** Runs the import and returns its error, checking it is a quick ImportError. */
function importError(bytes: Uint8Array): ImportError {
  const start = performance.now();
  let error: unknown;
  try {
    importOnnx(bytes);
  } catch (e) {
    error = e;
  }
  expect(performance.now() - start).toBeLessThan(2000);
  expect(error).toBeInstanceOf(ImportError);
  return error as ImportError;
}

describe('importOnnx: malformed and foreign input', () => {
  it('rejects an empty file', () => {
    expect(importError(new Uint8Array()).message).toBe('Not an ONNX model: the file is empty.');
  });

  it('rejects random bytes', () => {
    const rand = mulberry32(1);
    for (let trial = 0; trial < 20; trial++) {
      const bytes = Uint8Array.from({ length: 64 + trial * 200 }, () => Math.floor(rand() * 256));
      expect(importError(bytes).message).toMatch(/^Not an ONNX model/);
    }
  });

  it('rejects a protobuf message that has no graph', () => {
    const bytes = new ProtoWriter().varint(MODEL.irVersion, 8).string(MODEL.producerName, 'x').finish();
    expect(importError(bytes).message).toBe(
      'Not an ONNX model: the file has no graph (ModelProto field 7 is missing).',
    );
  });

  it('rejects a model cut in half', () => {
    const bytes = writePPLCNetOnnx(model(0.25));
    expect(importError(bytes.subarray(0, bytes.length >> 1)).message).toMatch(
      /^Not an ONNX model, or a truncated one \(\d+ bytes\): ONNX ModelProto: field 7 declares \d+ bytes but only \d+ remain\.$/,
    );
  });

  it('rejects a tensor whose raw_data is shorter than its dims', () => {
    const s = spec();
    const bad = s.initializers[0]!;
    const edited = withInitializers(s, (t) =>
      t === bad ? { ...t, values: t.values instanceof Float32Array ? t.values.subarray(0, 10) : [] } : t,
    );
    const n = bad.dims.reduce((a, b) => a * b, 1);
    expect(importError(encodeOnnxModel(edited)).message).toBe(
      `Tensor "${bad.name}" (initializer #0): raw_data has 40 bytes, but dims ${JSON.stringify(bad.dims)} (${n} x FLOAT) needs ${n * 4}.`,
    );
  });

  it('names an op PP-LCNet does not have (a Sigmoid inside a block)', () => {
    const s = spec();
    // The pointwise conv of block 3: the first Conv after its depthwise one.
    const pw = s.nodes.slice(s.nodes.indexOf(depthwise(s)[2]!) + 1).find((n) => n.opType === 'Conv')!;
    const sigmoid: OnnxNodeSpec = {
      opType: 'Sigmoid',
      name: 'inserted_sigmoid',
      inputs: [pw.inputs[0]!],
      outputs: ['sigmoid_out'],
    };
    const edited = {
      ...s,
      nodes: s.nodes.flatMap((n) =>
        n === pw ? [sigmoid, { ...n, inputs: ['sigmoid_out', ...n.inputs.slice(1)] }] : [n],
      ),
    };
    expect(importError(encodeOnnxModel(edited)).message).toMatch(
      /^Unsupported op Sigmoid \(node "inserted_sigmoid"\) after Mul "mul_\d+": PP-LCNet \(with a linear neck or an fc\) has no such op/,
    );
  });

  it("rejects tfjs's hardsigmoid (slope 0.2) where Paddle's (1/6) belongs", () => {
    const s = spec();
    const edited = {
      ...s,
      nodes: s.nodes.map((n) =>
        n.opType === 'HardSigmoid'
          ? { ...n, attributes: { alpha: { type: 'float', value: 0.2 }, beta: { type: 'float', value: 0.5 } } }
          : n,
      ),
    } as OnnxModelSpec;
    expect(importError(encodeOnnxModel(edited)).message).toMatch(
      /^stem conv \(conv1\): after Conv "conv_0": the activation \(HardSigmoid -> Mul\) is none of hardswish/,
    );
  });

  it("reads PP-LCNet at a scale that is not one of the eight (x3), as PaddleClas's constructor takes any", () => {
    // The values do not matter here, only the shapes: zeros skip the random model's calibration pass.
    const stateDict: StateDict = new Map(
      modelParameters(3, 64, 'folded').map((p) => [
        p.name,
        { shape: p.shape, data: new Float32Array(p.shape.reduce((a, b) => a * b, 1)) },
      ]),
    );
    const m = { scale: 3, embeddingDim: 64, batchNorm: 'folded' as const, stateDict };
    const imported = importOnnx(writePPLCNetOnnx(m));
    expect(imported.scale).toBe(3);
    expect(imported.notes.join('\n')).toMatch(/channel counts of PP-LCNet x3, not one of the published scales/);
  });

  it('rejects channel counts that fit no scale (a block removed), listing what it found', () => {
    const s = spec();
    // blocks5.1 (64 -> 64 at x0.25): its neighbours still fit each other without it.
    const [dw5, dw6] = [depthwise(s)[6]!, depthwise(s)[7]!];
    const [from, to] = [s.nodes.indexOf(dw5), s.nodes.indexOf(dw6)];
    const nodes = s.nodes
      .filter((n, i) => i < from || i >= to || n.opType === 'Constant')
      .map((n) => (n === dw6 ? { ...n, inputs: [dw5.inputs[0]!, ...n.inputs.slice(1)] } : n));
    expect(importError(encodeOnnxModel({ ...s, nodes })).message).toMatch(
      /^The graph is not PP-LCNet at any scale: found stem 8 channels stride 2, 12 blocks \[8->8, 8->16 s2, .*, 64->128 k5 s2 SE, 128->128 k5 SE\], last_conv 128->1280\. The closest, x0\.25 with these strides, has stem 8 channels stride 2, 13 blocks/,
    );
  });

  it('fails with ImportError, quickly, on damaged copies of a model (1,000 random byte edits)', () => {
    const sd = randomStateDict(0.25, 16, 'separate', 1);
    const m = { scale: 0.25, embeddingDim: 16, batchNorm: 'separate' as const, stateDict: sd };
    const originals = [
      writePPLCNetOnnx(m, { weights: 'constant', hardswish: 'Add-Clip-Mul-Div' }),
      writePPLCNetOnnx(m, { neck: 'Gemm' }),
    ];
    const rand = mulberry32(2024);
    const start = performance.now();
    for (let trial = 0; trial < 1000; trial++) {
      const bytes = Uint8Array.from(originals[trial % 2]!);
      for (let k = 0; k <= trial % 4; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        importOnnx(bytes); // most edits land in weight data and import fine
      } catch (e) {
        expect(e).toBeInstanceOf(ImportError);
      }
    }
    expect(performance.now() - start).toBeLessThan(30_000);
  });

  it('rejects an L2-normalised output', () => {
    const s = spec();
    const out = s.outputs[0]!.name;
    const nodes: OnnxNodeSpec[] = [
      ...s.nodes.map((n) => (n.outputs[0] === out ? { ...n, outputs: ['raw'] } : n)),
      {
        opType: 'ReduceL2',
        name: 'norm',
        inputs: ['raw'],
        outputs: ['norm_out'],
        attributes: { axes: { type: 'ints', value: [1] } },
      },
      { opType: 'Div', name: 'normalise', inputs: ['raw', 'norm_out'], outputs: [out] },
    ];
    expect(importError(encodeOnnxModel({ ...s, nodes })).message).toMatch(
      /^Unsupported op ReduceL2 \(node "norm"\) after Add/,
    );
  });
});
