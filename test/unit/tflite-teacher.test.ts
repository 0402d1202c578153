/**
 * scripts/lib/tflite: the FlatBuffers reader, the TFLite reader and each operator against tiny flatbuffers
 * written here (a forward-layout FlatBuffers writer and float64 reference kernels, independent of the code
 * under test), so the tests mean something on a fresh clone. With ../shared beside the checkout, the real
 * MobileNetV2 1.0 teacher is also read, and, where Debian's PyTorch is installed, its pooled feature and
 * probabilities are compared with tflite_teacher.py's float mode on the same uint8 pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREPROCESS } from '../../src/core/options.ts';
import { preprocessPixels } from '../../src/model/preprocess.ts';
import { decodeImageBytes } from '../../scripts/lib/node-image-decode.ts';
import { TfliteFormatError, TfliteUnsupportedError } from '../../scripts/lib/tflite/errors.ts';
import {
  createTfliteFeatureExtractor,
  findGlobalPool,
  loadTfliteFeatureExtractor,
} from '../../scripts/lib/tflite/feature-extractor.ts';
import { FlatBuffer } from '../../scripts/lib/tflite/flatbuffers.ts';
import { createTfliteGraph } from '../../scripts/lib/tflite/graph.ts';
import { constantValues, readTfliteModel } from '../../scripts/lib/tflite/model.ts';
import { mulberry32 } from '../../src/core/seeded-random.ts';
import {
  i8,
  i32,
  u32,
  f32,
  str,
  table,
  tables,
  i32s,
  i64s,
  bytes,
  TYPE,
  OP,
  OPTIONS,
  ACT,
  SAME,
  VALID,
  f32Bytes,
  i32Bytes,
  writeFlatBuffer,
  tfliteFile,
  type TensorSpec,
  type OpSpec,
} from '../support/tflite-writer.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rand = mulberry32(7);
const uniform = (n: number, lo = -1, hi = 1) => Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());
const uint8s = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));

// ---------------------------------------------------------------------------------------------------------
// Float64 reference kernels on NHWC arrays, written from TensorFlow's definitions.

interface Nd {
  data: Float64Array;
  shape: number[];
}
const actRef = (v: number, a: number) =>
  a === ACT.RELU6
    ? Math.min(Math.max(v, 0), 6)
    : a === ACT.RELU
      ? Math.max(v, 0)
      : a === ACT.RELU_N1_TO_1
        ? Math.min(Math.max(v, -1), 1)
        : v;

/** TensorFlow SAME: out = ceil(in / s); the total padding's odd pixel goes after (bottom / right). */
function window1d(size: number, k: number, s: number, padding: number): { out: number; before: number } {
  if (padding === VALID) return { out: Math.floor((size - k) / s) + 1, before: 0 };
  const out = Math.ceil(size / s);
  return { out, before: Math.floor(Math.max((out - 1) * s + k - size, 0) / 2) };
}

/** conv (depthwise: filter [1, kh, kw, C*M], else [O, kh, kw, I]) + bias + activation. */
function convRef(
  x: Nd,
  w: Nd,
  bias: ArrayLike<number> | undefined,
  s: number,
  padding: number,
  act: number,
  depthwise: boolean,
): Nd {
  const [n, h, wd, c] = x.shape as [number, number, number, number];
  const [o0, kh, kw, o3] = w.shape as [number, number, number, number];
  const outC = depthwise ? o3 : o0;
  const ry = window1d(h, kh, s, padding);
  const rx = window1d(wd, kw, s, padding);
  const out = new Float64Array(n * ry.out * rx.out * outC);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < ry.out; oy++)
      for (let ox = 0; ox < rx.out; ox++)
        for (let oc = 0; oc < outC; oc++) {
          let acc = bias ? bias[oc]! : 0;
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * s + ky - ry.before;
              const ix = ox * s + kx - rx.before;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              const px = ((b * h + iy) * wd + ix) * c;
              if (depthwise) acc += x.data[px + Math.floor(oc / (o3 / c))]! * w.data[(ky * kw + kx) * o3 + oc]!;
              else
                for (let ic = 0; ic < c; ic++) acc += x.data[px + ic]! * w.data[((oc * kh + ky) * kw + kx) * c + ic]!;
            }
          out[((b * ry.out + oy) * rx.out + ox) * outC + oc] = actRef(acc, act);
        }
  return { data: out, shape: [n, ry.out, rx.out, outC] };
}

function meanHwRef(x: Nd): Nd {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = new Float64Array(n * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h * w; i++)
      for (let k = 0; k < c; k++) out[b * c + k]! += x.data[(b * h * w + i) * c + k]! / (h * w);
  return { data: out, shape: [n, 1, 1, c] };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  expect(worst / scale).toBeLessThan(tol);
}

/** Runs a one-input file on `x` and returns its first output's values; checks no tensor leaks. */
async function runFile(
  file: Uint8Array,
  x: Nd,
  outputs?: number[],
): Promise<{ data: Float32Array; shape: number[] }[]> {
  const graph = createTfliteGraph(readTfliteModel(file, 'tiny.tflite'));
  const input = tf.tensor(Float32Array.from(x.data), x.shape);
  const before = tf.memory().numTensors;
  const ys = graph.run(input, outputs);
  const out = await Promise.all(ys.map(async (y) => ({ data: (await y.data()) as Float32Array, shape: y.shape })));
  tf.dispose(ys);
  expect(tf.memory().numTensors).toBe(before);
  input.dispose();
  graph.dispose();
  return out;
}

/** One operator from tensor 0 (the input) to the last tensor. */
function oneOp(tensors: TensorSpec[], op: Omit<OpSpec, 'outputs'>): Uint8Array {
  return tfliteFile({
    tensors,
    inputs: [0],
    outputs: [tensors.length - 1],
    ops: [{ ...op, outputs: [tensors.length - 1] }],
  });
}

// ---------------------------------------------------------------------------------------------------------

describe('the FlatBuffers reader', () => {
  const file = writeFlatBuffer(
    [
      i8(-3),
      undefined,
      i32(-123456),
      f32(0.5),
      str('héllo'),
      i32s([1, -2, 3]),
      i64s([2 ** 40, -5]),
      table([u32(7)]),
      tables([[i8(1)], [i8(2)]]),
      bytes(Uint8Array.of(9, 8, 7)),
    ],
    'TEST',
  );

  it('reads scalars, defaults for absent fields, strings, vectors and nested tables', () => {
    const fb = new FlatBuffer(file, 'test.bin');
    expect(fb.identifier()).toBe('TEST');
    const t = fb.root();
    expect(t.int8(0)).toBe(-3);
    expect(t.has(1)).toBe(false);
    expect(t.int32(1, 42)).toBe(42);
    expect(t.int32(99, 5)).toBe(5); // beyond the vtable: a field added to the schema later
    expect(t.int32(2)).toBe(-123456);
    expect(t.float32(3)).toBe(0.5);
    expect(t.string(4)).toBe('héllo');
    expect(t.int32s(5)).toEqual([1, -2, 3]);
    expect(t.int64s(6)).toEqual([2 ** 40, -5]);
    expect(t.table(7)!.uint32(0)).toBe(7);
    expect(t.tables(8).map((x) => x.int8(0))).toEqual([1, 2]);
    expect([...t.bytes(9)!]).toEqual([9, 8, 7]);
    expect(t.tables(1)).toEqual([]);
    expect(t.table(1)).toBeUndefined();
  });

  it('fails with a message, not garbage, on a truncated buffer', () => {
    const cut = new FlatBuffer(file.subarray(0, file.length - 40), 'cut.bin');
    expect(() => cut.root().bytes(9)).toThrow(/cut\.bin: .* outside the .*-byte buffer \(the file is truncated/);
  });
});

describe('the TFLite reader', () => {
  const tiny = () =>
    oneOp(
      [
        { name: 'x', shape: [1, 4, 4, 2], type: TYPE.UINT8, quant: { scale: [1 / 128], zeroPoint: [128] } },
        {
          name: 'w',
          shape: [3, 1, 1, 2],
          type: TYPE.UINT8,
          data: Uint8Array.of(0, 255, 10, 20, 128, 129),
          quant: { scale: [0.5, 0.25, 2], zeroPoint: [128, 0, 128] },
        },
        {
          name: 'b',
          shape: [3],
          type: TYPE.INT32,
          data: i32Bytes([-4, 0, 1000]),
          quant: { scale: [0.01, 0.02, 0.03], zeroPoint: [0, 0, 0] },
        },
        { name: 'y', shape: [1, 4, 4, 3] },
      ],
      {
        code: OP.CONV_2D,
        inputs: [0, 1, 2],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i8(ACT.RELU6)],
      },
    );

  it('reads tensors, quantisation and operators', () => {
    const m = readTfliteModel(tiny(), 'tiny.tflite');
    expect(m.description).toBe('a tiny test model');
    expect(m.tensors.map((t) => [t.name, t.type, t.shape])).toEqual([
      ['x', 'UINT8', [1, 4, 4, 2]],
      ['w', 'UINT8', [3, 1, 1, 2]],
      ['b', 'INT32', [3]],
      ['y', 'FLOAT32', [1, 4, 4, 3]],
    ]);
    expect(m.tensors[0]!.quantization).toEqual({ scale: [Math.fround(1 / 128)], zeroPoint: [128], axis: 0 });
    expect(m.tensors[0]!.data).toBeUndefined();
    expect(m.ops).toEqual([
      {
        index: 0,
        inputs: [0, 1, 2],
        outputs: [3],
        op: 'CONV_2D',
        padding: 'SAME',
        strideW: 1,
        strideH: 1,
        activation: 'RELU6',
      },
    ]);
  });

  it('dequantises per channel along the quantised dimension, and int32 biases', () => {
    const m = readTfliteModel(tiny());
    // Channel c of the [3, 1, 1, 2] filter: (q - zero point[c]) x scale[c].
    expect([...constantValues(m, m.tensors[1]!)]).toEqual([-64, 63.5, 2.5, 5, 0, 2]);
    const bias = constantValues(m, m.tensors[2]!);
    [-0.04, 0, 30].forEach((v, i) => expect(bias[i]).toBeCloseTo(v, 6));
  });

  it('dequantises along the last dimension and reads int8 and float32 constants', () => {
    const m = readTfliteModel(
      oneOp(
        [
          { name: 'x', shape: [1, 1, 1, 2] },
          {
            name: 'w',
            shape: [1, 1, 1, 2],
            type: TYPE.INT8,
            data: Uint8Array.of(0xff, 0x80),
            quant: { scale: [2, 3], zeroPoint: [1, 0], axis: 3 },
          },
          { name: 'c', shape: [2], data: f32Bytes([1.5, -2]) },
          { name: 'y', shape: [1, 1, 1, 2] },
        ],
        {
          code: OP.DEPTHWISE_CONV_2D,
          inputs: [0, 1, 2],
          optionsType: OPTIONS.DEPTHWISE_CONV_2D,
          options: [i8(VALID), i32(1), i32(1), i32(1), i8(ACT.NONE)],
        },
      ),
    );
    expect([...constantValues(m, m.tensors[1]!)]).toEqual([(-1 - 1) * 2, -128 * 3]);
    expect([...constantValues(m, m.tensors[2]!)]).toEqual([1.5, -2]);
  });

  it('refuses files that are not TFLite, and operators, activations and options it does not run, by name', () => {
    expect(() => readTfliteModel(Uint8Array.of(1, 2, 3), 'short.bin')).toThrow(TfliteFormatError);
    const base = {
      tensors: [
        { name: 'x', shape: [1, 2] },
        { name: 'y', shape: [1, 2] },
      ],
      inputs: [0],
      outputs: [1],
    };
    expect(() => readTfliteModel(tfliteFile({ ...base, ops: [], identifier: 'ONNX' }), 'a.onnx')).toThrow(
      'a.onnx: file identifier "ONNX", expected "TFL3"',
    );
    expect(() =>
      readTfliteModel(
        tfliteFile({ ...base, ops: [{ code: OP.FULLY_CONNECTED, inputs: [0], outputs: [1] }] }),
        'fc.tflite',
      ),
    ).toThrow(
      'fc.tflite: operator 0 is FULLY_CONNECTED, which this runner does not execute (it runs ADD, AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, DEQUANTIZE, RESHAPE, SOFTMAX, MEAN, QUANTIZE)',
    );
    expect(() => readTfliteModel(tfliteFile({ ...base, ops: [{ code: 150, inputs: [0], outputs: [1] }] }))).toThrow(
      /operator 0 is builtin operator 150, which/,
    );
    const add = (act: number, type: number = OPTIONS.ADD) =>
      tfliteFile({
        ...base,
        ops: [{ code: OP.ADD, inputs: [0, 0], outputs: [1], optionsType: type, options: [i8(act)] }],
      });
    expect(() => readTfliteModel(add(ACT.TANH), 't.tflite')).toThrow(TfliteUnsupportedError);
    expect(() => readTfliteModel(add(ACT.TANH), 't.tflite')).toThrow(
      't.tflite: operator 0 (ADD): fused activation TANH; supported: NONE, RELU, RELU_N1_TO_1, RELU6',
    );
    expect(() => readTfliteModel(add(ACT.NONE, OPTIONS.CONV_2D), 't.tflite')).toThrow(
      'operator 0 (ADD) carries options of union type 1, expected 11',
    );
    expect(() => readTfliteModel(tfliteFile({ ...base, ops: [], version: 2 }), 'v2.tflite')).toThrow(
      'v2.tflite: TFLite schema version 2',
    );
    const dilated = oneOp(
      [
        { name: 'x', shape: [1, 4, 4, 1] },
        { name: 'w', shape: [1, 3, 3, 1], data: f32Bytes(new Float32Array(9)) },
        { name: 'y', shape: [1, 4, 4, 1] },
      ],
      {
        code: OP.CONV_2D,
        inputs: [0, 1, -1],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i8(0), i32(2), i32(2)],
      },
    );
    expect(() => readTfliteModel(dilated)).toThrow('operator 0 (CONV_2D): dilation 2 x 2; only 1 is supported');
  });
});

describe('the operators, against float64 references', () => {
  it.each([
    // [H, W, kernel, stride, padding]: odd and even sizes, so SAME's odd padding pixel must go bottom / right.
    [7, 6, 3, 2, SAME, ACT.RELU6],
    [8, 8, 3, 2, SAME, ACT.RELU6],
    [5, 5, 3, 1, SAME, ACT.NONE],
    [6, 7, 3, 2, VALID, ACT.RELU],
    [4, 4, 1, 1, SAME, ACT.RELU_N1_TO_1],
  ])(
    'CONV_2D %i x %i, kernel %i, stride %i, padding %i, activation %i (uint8 weights per channel, int32 bias)',
    async (h, w, k, s, padding, act) => {
      const inC = 3;
      const outC = 4;
      const q = uint8s(outC * k * k * inC);
      const scale = [0.02, 0.01, 0.03, 0.015];
      const zp = [128, 100, 140, 120];
      const wRef = Float64Array.from(
        q,
        (v, i) => (v - zp[Math.floor(i / (k * k * inC))]!) * Math.fround(scale[Math.floor(i / (k * k * inC))]!),
      );
      const biasQ = [500, -300, 0, 1200];
      const biasRef = biasQ.map((b) => b * Math.fround(0.001));
      const x = { data: uniform(2 * h * w * inC), shape: [2, h, w, inC] };
      const ref = convRef(x, { data: wRef, shape: [outC, k, k, inC] }, biasRef, s, padding, act, false);
      const file = oneOp(
        [
          { name: 'x', shape: [1, h, w, inC] },
          { name: 'w', shape: [outC, k, k, inC], type: TYPE.UINT8, data: q, quant: { scale, zeroPoint: zp } },
          {
            name: 'b',
            shape: [outC],
            type: TYPE.INT32,
            data: i32Bytes(biasQ),
            quant: { scale: [0.001], zeroPoint: [0] },
          },
          { name: 'y', shape: [1, ...ref.shape.slice(1)] },
        ],
        {
          code: OP.CONV_2D,
          inputs: [0, 1, 2],
          optionsType: OPTIONS.CONV_2D,
          options: [i8(padding), i32(s), i32(s), i8(act)],
        },
      );
      const [y] = await runFile(file, x);
      expect(y!.shape).toEqual(ref.shape);
      expectClose(y!.data, ref.data);
    },
  );

  it.each([
    [7, 7, 2, 1, SAME],
    [6, 5, 2, 1, SAME],
    [6, 6, 1, 1, SAME],
    [5, 6, 1, 2, SAME],
    [6, 6, 2, 2, VALID],
  ])(
    'DEPTHWISE_CONV_2D %i x %i, stride %i, multiplier %i, padding %i, RELU6, float weights, no bias',
    async (h, w, s, m, padding) => {
      const c = 3;
      const wRef = uniform(9 * c * m);
      const x = { data: uniform(h * w * c, -3, 3), shape: [1, h, w, c] };
      const ref = convRef(x, { data: wRef, shape: [1, 3, 3, c * m] }, undefined, s, padding, ACT.RELU6, true);
      const file = oneOp(
        [
          { name: 'x', shape: [1, h, w, c] },
          { name: 'w', shape: [1, 3, 3, c * m], data: f32Bytes(wRef) },
          { name: 'y', shape: ref.shape },
        ],
        {
          code: OP.DEPTHWISE_CONV_2D,
          inputs: [0, 1, -1],
          optionsType: OPTIONS.DEPTHWISE_CONV_2D,
          options: [i8(padding), i32(s), i32(s), i32(m), i8(ACT.RELU6)],
        },
      );
      const [y] = await runFile(file, { ...x, data: Float64Array.from(x.data, (v) => Math.fround(v)) });
      expectClose(y!.data, ref.data);
    },
  );

  it('ADD with RELU6, of two computed tensors and of a constant', async () => {
    const x = { data: uniform(2 * 2 * 2 * 3, -8, 8), shape: [2, 2, 2, 3] };
    const c = [0.5, -1, 7];
    const file = tfliteFile({
      tensors: [
        { name: 'x', shape: [1, 2, 2, 3] },
        { name: 'c', shape: [3], data: f32Bytes(c) },
        { name: 'xx', shape: [1, 2, 2, 3] },
        { name: 'y', shape: [1, 2, 2, 3] },
      ],
      inputs: [0],
      outputs: [3],
      ops: [
        { code: OP.ADD, inputs: [0, 0], outputs: [2], optionsType: OPTIONS.ADD, options: [i8(ACT.NONE)] },
        { code: OP.ADD, inputs: [2, 1], outputs: [3], optionsType: OPTIONS.ADD, options: [i8(ACT.RELU6)] },
      ],
    });
    const [y] = await runFile(file, x);
    expectClose(
      y!.data,
      Array.from(x.data, (v, i) => actRef(Math.fround(v) * 2 + c[i % 3]!, ACT.RELU6)),
    );
  });

  it('AVERAGE_POOL_2D (global, and a VALID 2 x 2 window) and MEAN over H and W', async () => {
    const x = { data: uniform(2 * 4 * 4 * 3), shape: [2, 4, 4, 3] };
    const globalRef = meanHwRef(x).data;
    const pool = (fh: number, s: number, padding: number, shape: number[]) =>
      oneOp(
        [
          { name: 'x', shape: [1, 4, 4, 3] },
          { name: 'y', shape },
        ],
        {
          code: OP.AVERAGE_POOL_2D,
          inputs: [0],
          optionsType: OPTIONS.AVERAGE_POOL_2D,
          options: [i8(padding), i32(s), i32(s), i32(fh), i32(fh), i8(ACT.NONE)],
        },
      );
    expectClose((await runFile(pool(4, 2, SAME, [1, 1, 1, 3]), x))[0]!.data, globalRef);
    const local = (await runFile(pool(2, 2, VALID, [1, 2, 2, 3]), x))[0]!;
    expect(local.shape).toEqual([2, 2, 2, 3]);
    const at = (b: number, y: number, xx: number, c: number) => x.data[((b * 4 + y) * 4 + xx) * 3 + c]!;
    expect(local.data[((1 * 2 + 1) * 2 + 0) * 3 + 2]).toBeCloseTo(
      (at(1, 2, 0, 2) + at(1, 2, 1, 2) + at(1, 3, 0, 2) + at(1, 3, 1, 2)) / 4,
      5,
    );
    for (const keep of [true, false]) {
      const mean = oneOp(
        [
          { name: 'x', shape: [1, 4, 4, 3] },
          { name: 'axes', shape: [2], type: TYPE.INT32, data: i32Bytes([1, 2]) },
          { name: 'y', shape: keep ? [1, 1, 1, 3] : [1, 3] },
        ],
        { code: OP.MEAN, inputs: [0, 1], optionsType: OPTIONS.MEAN, options: [i8(keep ? 1 : 0)] },
      );
      const [y] = await runFile(mean, x);
      expect(y!.shape).toEqual(keep ? [2, 1, 1, 3] : [2, 3]);
      expectClose(y!.data, globalRef);
    }
    const sameWindow = pool(2, 1, SAME, [1, 4, 4, 3]);
    expect(() => createTfliteGraph(readTfliteModel(sameWindow, 'p.tflite'))).toThrow(
      'p.tflite: operator 0 (AVERAGE_POOL_2D): a 2 x 2 window on a 4 x 4 map with SAME padding',
    );
  });

  it('RESHAPE keeps the batch, SOFTMAX applies beta, QUANTIZE / DEQUANTIZE pass values through', async () => {
    const x = { data: uniform(3 * 5, -4, 4), shape: [3, 1, 1, 5] };
    const file = tfliteFile({
      tensors: [
        { name: 'x', shape: [1, 1, 1, 5] },
        { name: 'q', shape: [1, 1, 1, 5], type: TYPE.UINT8, quant: { scale: [0.1], zeroPoint: [128] } },
        { name: 'd', shape: [1, 1, 1, 5] },
        { name: 'shape', shape: [2], type: TYPE.INT32, data: i32Bytes([1, 5]) },
        { name: 'flat', shape: [1, 5] },
        { name: 'p', shape: [1, 5] },
      ],
      inputs: [0],
      outputs: [5],
      ops: [
        { code: OP.QUANTIZE, inputs: [0], outputs: [1] },
        { code: OP.DEQUANTIZE, inputs: [1], outputs: [2] },
        { code: OP.RESHAPE, inputs: [2, 3], outputs: [4], optionsType: OPTIONS.RESHAPE, options: [i32s([1, 5])] },
        { code: OP.SOFTMAX, inputs: [4], outputs: [5], optionsType: OPTIONS.SOFTMAX, options: [f32(0.5)] },
      ],
    });
    const [flat, p] = await runFile(file, x, [4, 5]);
    expect(flat!.shape).toEqual([3, 5]);
    expectClose(flat!.data, Float32Array.from(x.data));
    const want = [0, 1, 2].flatMap((b) => {
      const row = Array.from(x.data.subarray(b * 5, b * 5 + 5), (v) => Math.exp(0.5 * Math.fround(v)));
      const sum = row.reduce((a, v) => a + v, 0);
      return row.map((v) => v / sum);
    });
    expectClose(p!.data, want);
  });
});

describe('a tiny MobileNetV2-like network', () => {
  // uint8 input (scale 1/128, zero point 128) -> conv 3x3 s2 RELU6 -> [expand 1x1 RELU6 -> dw 3x3 RELU6 ->
  // project 1x1] + residual -> conv 1x1 RELU6 -> global average pool (the feature) -> conv 1x1 -> reshape -> softmax
  const C = 4;
  const weights = {
    stem: uniform(C * 9 * 3, -0.5, 0.5),
    expand: uniform(8 * C, -0.5, 0.5),
    dw: uniform(9 * 8),
    project: uniform(C * 8, -0.5, 0.5),
    head: uniform(6 * C, -0.5, 0.5),
    logits: uniform(5 * 6),
    bias: uniform(6),
  };
  const w32 = (v: Float64Array) => Float64Array.from(v, (x) => Math.fround(x));
  const file = tfliteFile({
    tensors: [
      { name: 'input', shape: [1, 9, 9, 3], type: TYPE.UINT8, quant: { scale: [1 / 128], zeroPoint: [128] } },
      { name: 'stem/w', shape: [C, 3, 3, 3], data: f32Bytes(weights.stem) },
      { name: 'stem', shape: [1, 5, 5, C] },
      { name: 'expand/w', shape: [8, 1, 1, C], data: f32Bytes(weights.expand) },
      { name: 'expand', shape: [1, 5, 5, 8] },
      { name: 'dw/w', shape: [1, 3, 3, 8], data: f32Bytes(weights.dw) },
      { name: 'dw', shape: [1, 5, 5, 8] },
      { name: 'project/w', shape: [C, 1, 1, 8], data: f32Bytes(weights.project) },
      { name: 'project', shape: [1, 5, 5, C] },
      { name: 'add', shape: [1, 5, 5, C] },
      { name: 'head/w', shape: [6, 1, 1, C], data: f32Bytes(weights.head) },
      { name: 'head/b', shape: [6], data: f32Bytes(weights.bias) },
      { name: 'head', shape: [1, 5, 5, 6] },
      { name: 'Logits/AvgPool', shape: [1, 1, 1, 6] },
      { name: 'logits/w', shape: [5, 1, 1, 6], data: f32Bytes(weights.logits) },
      { name: 'logits', shape: [1, 1, 1, 5] },
      { name: 'squeeze', shape: [1, 5] },
      { name: 'probs', shape: [1, 5] },
    ],
    inputs: [0],
    outputs: [17],
    ops: [
      {
        code: OP.CONV_2D,
        inputs: [0, 1, -1],
        outputs: [2],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(2), i32(2), i8(ACT.RELU6)],
      },
      {
        code: OP.CONV_2D,
        inputs: [2, 3, -1],
        outputs: [4],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i8(ACT.RELU6)],
      },
      {
        code: OP.DEPTHWISE_CONV_2D,
        inputs: [4, 5, -1],
        outputs: [6],
        optionsType: OPTIONS.DEPTHWISE_CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i32(1), i8(ACT.RELU6)],
      },
      {
        code: OP.CONV_2D,
        inputs: [6, 7, -1],
        outputs: [8],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i8(ACT.NONE)],
      },
      { code: OP.ADD, inputs: [2, 8], outputs: [9], optionsType: OPTIONS.ADD, options: [i8(ACT.NONE)] },
      {
        code: OP.CONV_2D,
        inputs: [9, 10, 11],
        outputs: [12],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i8(ACT.RELU6)],
      },
      {
        code: OP.AVERAGE_POOL_2D,
        inputs: [12],
        outputs: [13],
        optionsType: OPTIONS.AVERAGE_POOL_2D,
        options: [i8(VALID), i32(2), i32(2), i32(5), i32(5), i8(ACT.NONE)],
      },
      {
        code: OP.CONV_2D,
        inputs: [13, 14, -1],
        outputs: [15],
        optionsType: OPTIONS.CONV_2D,
        options: [i8(SAME), i32(1), i32(1), i8(ACT.NONE)],
      },
      { code: OP.RESHAPE, inputs: [15], outputs: [16], optionsType: OPTIONS.RESHAPE, options: [i32s([1, 5])] },
      { code: OP.SOFTMAX, inputs: [16], outputs: [17], optionsType: OPTIONS.SOFTMAX, options: [f32(1)] },
    ],
  });
  const pixels = uint8s(2 * 9 * 9 * 3);
  const x = { data: Float64Array.from(pixels, (v) => Math.fround(v / 127.5 - 1)), shape: [2, 9, 9, 3] };

  function reference(): { pooled: Float64Array; probs: number[] } {
    const stem = convRef(x, { data: w32(weights.stem), shape: [C, 3, 3, 3] }, undefined, 2, SAME, ACT.RELU6, false);
    const expand = convRef(
      stem,
      { data: w32(weights.expand), shape: [8, 1, 1, C] },
      undefined,
      1,
      SAME,
      ACT.RELU6,
      false,
    );
    const dw = convRef(expand, { data: w32(weights.dw), shape: [1, 3, 3, 8] }, undefined, 1, SAME, ACT.RELU6, true);
    const project = convRef(
      dw,
      { data: w32(weights.project), shape: [C, 1, 1, 8] },
      undefined,
      1,
      SAME,
      ACT.NONE,
      false,
    );
    const add = { data: stem.data.map((v, i) => v + project.data[i]!), shape: stem.shape };
    const head = convRef(
      add,
      { data: w32(weights.head), shape: [6, 1, 1, C] },
      w32(weights.bias),
      1,
      SAME,
      ACT.RELU6,
      false,
    );
    const pooled = meanHwRef(head);
    const logits = convRef(
      pooled,
      { data: w32(weights.logits), shape: [5, 1, 1, 6] },
      undefined,
      1,
      SAME,
      ACT.NONE,
      false,
    );
    const probs = [0, 1].flatMap((b) => {
      const e = Array.from(logits.data.subarray(b * 5, b * 5 + 5), Math.exp);
      const sum = e.reduce((a, v) => a + v, 0);
      return e.map((v) => v / sum);
    });
    return { pooled: pooled.data, probs };
  }

  it("gives the reference network's probabilities and pooled feature", async () => {
    const ref = reference();
    const [probs, pooled] = await runFile(file, x, [17, 13]);
    expectClose(probs!.data, ref.probs);
    expectClose(pooled!.data, ref.pooled);
  });

  it('as a feature extractor: finds the global pool, runs only what it needs, leaks nothing', async () => {
    const model = readTfliteModel(file);
    expect(model.tensors[findGlobalPool(model)!]!.name).toBe('Logits/AvgPool');
    const extractor = createTfliteFeatureExtractor(model);
    expect([extractor.featureName, extractor.featureDim, extractor.inputShape]).toEqual([
      'Logits/AvgPool',
      6,
      [9, 9, 3],
    ]);
    const input = tf.tensor4d(Float32Array.from(x.data), [2, 9, 9, 3]);
    const before = tf.memory().numTensors;
    const y = extractor.extract(input);
    expect(y.shape).toEqual([2, 6]);
    expectClose(await y.data(), reference().pooled);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => extractor.extract(tf.zeros([1, 8, 9, 3]) as tf.Tensor4D)).toThrow(
      'model.tflite: input of shape [1, 8, 9, 3]; the model takes [N, 9, 9, 3]',
    );
    input.dispose();
    extractor.dispose();
    const named = await loadTfliteFeatureExtractor(file, { feature: 'add', source: 'tiny.tflite' });
    expect([named.featureName, named.featureDim]).toEqual(['add', 5 * 5 * C]);
    named.dispose();
    await expect(loadTfliteFeatureExtractor(file, { feature: 'nope', source: 'tiny.tflite' })).rejects.toThrow(
      'tiny.tflite: no tensor named "nope"',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// The real teacher (../shared: beside the checkout on developers' machines, absent on a fresh clone).

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TEACHER_DIR = resolve(ROOT, '../shared/models/teacher-mobilenetv2-100');
const TFLITE = join(TEACHER_DIR, 'mobilenet_v2_1.0_224_quant.tflite');
const DATA = resolve(ROOT, '../shared/data/caltech101-80');
const IMAGES = ['images/sunflower/image_0001.jpg', 'images/soccer_ball/image_0001.jpg', 'images/barrel/image_0001.jpg'];
const hasTeacher = existsSync(TFLITE) && IMAGES.every((p) => existsSync(join(DATA, p)));
const PYTHON = '/usr/bin/python3';
const hasTorch = hasTeacher && spawnSync(PYTHON, ['-c', 'import numpy, torch'], { stdio: 'ignore' }).status === 0;

/** The images as uint8 [N, 224, 224, 3], decoded and resized as the eval page does (direct bilinear, rounded). */
function teacherPixels(): Uint8Array {
  const size = 224 * 224 * 3;
  const out = new Uint8Array(IMAGES.length * size);
  const asIs = { ...DEFAULT_PREPROCESS, scale: 1, mean: [0, 0, 0] as const, std: [1, 1, 1] as const };
  IMAGES.forEach((p, i) =>
    out.set(preprocessPixels(decodeImageBytes(readFileSync(join(DATA, p)), p, 50_000_000), asIs), i * size),
  );
  return out;
}

describe.skipIf(!hasTeacher)('the real MobileNetV2 1.0 teacher (../shared/models/teacher-mobilenetv2-100)', () => {
  it('reads as 66 supported operators with the 1280-d AvgPool feature and a uint8 224 x 224 input', () => {
    const model = readTfliteModel(readFileSync(TFLITE), 'mobilenet_v2_1.0_224_quant.tflite');
    expect(model.ops.length).toBe(66);
    const input = model.tensors[model.inputs[0]!]!;
    expect([input.type, input.shape, input.quantization?.zeroPoint]).toEqual(['UINT8', [1, 224, 224, 3], [128]]);
    const pool = model.tensors[findGlobalPool(model)!]!;
    expect([pool.name, pool.shape]).toEqual(['MobilenetV2/Logits/AvgPool', [1, 1, 1, 1280]]);
  });

  it.skipIf(!hasTorch)(
    "matches tflite_teacher.py's float mode on the same uint8 pixels (pooled feature and probabilities)",
    async () => {
      const pixels = teacherPixels();
      const n = IMAGES.length;
      const model = readTfliteModel(readFileSync(TFLITE), 'mobilenet_v2_1.0_224_quant.tflite');
      const graph = createTfliteGraph(model);
      const pool = findGlobalPool(model)!;
      const x = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(Float32Array.from(pixels), [n, 224, 224, 3]), 127.5), 1));
      const [pooled, probs] = graph.run(x, [pool, model.outputs[0]!]);
      const ours = { pooled: (await pooled!.data()) as Float32Array, probs: (await probs!.data()) as Float32Array };
      tf.dispose([x, pooled!, probs!]);
      graph.dispose();

      const dir = mkdtempSync(join(tmpdir(), 'tflite-parity-'));
      try {
        writeFileSync(join(dir, 'pixels.u8'), pixels);
        const script = [
          'import sys, numpy as np, torch',
          'from tflite_teacher import TFLiteNet',
          'd = sys.argv[1]',
          `net = TFLiteNet(${JSON.stringify(TFLITE)})`,
          'x = torch.from_numpy(np.fromfile(d + "/pixels.u8", np.uint8).reshape(-1, 224, 224, 3).copy()).permute(0, 3, 1, 2).contiguous()',
          'pooled, probs = net.forward(x)',
          'pooled.numpy().astype(np.float32).tofile(d + "/pooled.f32")',
          'probs.numpy().astype(np.float32).tofile(d + "/probs.f32")',
        ].join('\n');
        // Run from the temporary folder so nothing (e.g. __pycache__) is written beside the reference.
        const r = spawnSync(PYTHON, ['-B', '-c', script, dir], {
          cwd: dir,
          env: { ...process.env, PYTHONPATH: TEACHER_DIR },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        const f32 = (name: string) => new Float32Array(readFileSync(join(dir, name)).buffer.slice(0));
        const ref = { pooled: f32('pooled.f32'), probs: f32('probs.f32') };
        expect(ref.pooled.length).toBe(n * 1280);
        expectClose(ours.pooled, ref.pooled, 2e-5);
        expectClose(ours.probs, ref.probs, 2e-5);
        // ImageNet has no sunflower; the README's daisy it is.
        const labels = readFileSync(join(TEACHER_DIR, 'imagenet_labels.txt'), 'utf8').split('\n');
        const top = (p: Float32Array, i: number) =>
          labels[p.subarray(i * 1001, (i + 1) * 1001).reduce((best, v, k, a) => (v > a[best]! ? k : best), 0)];
        expect(top(ours.probs, 0)).toBe('daisy');
        expect([0, 1, 2].map((i) => top(ours.probs, i))).toEqual([0, 1, 2].map((i) => top(ref.probs, i)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
