import { planPPLCNet } from '../../src/model/architecture.ts';
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/core/errors.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import { modelParameters, type BatchNormForm } from '../../src/model/parameters.ts';
import { importPaddleInference } from '../../src/model/convert/paddle/paddle-import.ts';
import { writePaddleInference, type PaddleExportOptions } from '../../src/model/export/paddle-export.ts';
import { readPaddleParams } from '../../src/model/convert/paddle/paddle-params.ts';
import { writePaddleParams } from '../../src/model/export/paddle-params-writer.ts';
import {
  fromBfloat16Bits,
  fromFloat16Bits,
  toBfloat16Bits,
  toFloat16Bits,
} from '../../src/model/convert/wire/float16.ts';
import {
  parsePaddleProgram,
  savedVarNames,
  type PaddleOp,
  type PaddleProgram,
} from '../../src/model/convert/paddle/paddle-program.ts';
import { attrs, writePaddleProgram } from '../../src/model/export/paddle-program-writer.ts';
import { ProtoWriter } from '../../src/model/convert/wire/protobuf.ts';
import { VAR_TYPE_CODE } from '../../src/model/convert/paddle/paddle-proto.ts';

/** mulberry32: deterministic weights without depending on another module. */
function randomStateDict(scale: number, dim: number, form: BatchNormForm = 'separate', seed = 1): StateDict {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return new Map(
    modelParameters(scale, dim, form).map((spec) => {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const positive = spec.name.endsWith('_variance');
      return [
        spec.name,
        { shape: spec.shape, data: Float32Array.from({ length: n }, () => (positive ? 0.5 + rnd() : rnd() * 2 - 1)) },
      ];
    }),
  );
}

function expectSameStateDict(got: StateDict, want: StateDict, close?: (want: number) => number): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [name, w] of want) {
    const g = got.get(name)!;
    expect(g.shape, name).toEqual(w.shape);
    for (let i = 0; i < w.data.length; i++) {
      const expected = close ? close(w.data[i]!) : w.data[i]!;
      if (Math.abs(g.data[i]! - expected) > (close ? 1e-6 * Math.max(1, Math.abs(expected)) : 0)) {
        expect.fail(`${name}[${i}] = ${g.data[i]}, expected ${expected}`);
      }
    }
  }
}

const importError = (fn: () => unknown, message: RegExp): void => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ImportError);
  expect((error as Error).message).toMatch(message);
};

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((pos, p) => (out.set(p, pos), pos + p.length), 0);
  return out;
};

/** Edits a fixture's program through the parser and writer, as a user's odd export would differ. */
function editProgram(
  pdmodel: Uint8Array,
  edit: (ops: PaddleOp[], program: PaddleProgram) => PaddleProgram | void,
): Uint8Array {
  const program = parsePaddleProgram(pdmodel);
  const ops = [...program.blocks[0]!.ops];
  const edited = edit(ops, program) ?? { ...program, blocks: [{ ...program.blocks[0]!, ops }] };
  return writePaddleProgram(edited);
}

const SMALL = { scale: 0.25, embeddingDim: 64 };
const small = { ...SMALL, stateDict: randomStateDict(0.25, 64) };
const smallFiles = writePaddleInference(small);

describe('paddle params stream', () => {
  it('converts half and bfloat16 exactly at known points', () => {
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000].map(fromFloat16Bits)).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      Infinity,
      -0,
    ]);
    // 1e6 overflows to Infinity; 1 + 2^-11 is a tie that rounds to even (down), 1 + 3 * 2^-11 rounds up.
    const values = [1, -2, 65504, 2 ** -24, 1e6, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    expect(values.map(toFloat16Bits)).toEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3c00, 0x3c02]);
    expect(fromBfloat16Bits(toBfloat16Bits(1.5))).toBe(1.5);
  });

  it('reads what it writes in every float type, skipping LoD', () => {
    const t = { dims: [2, 3], data: [0.5, -1.25, 3, 1e-3, 65504, -7] };
    for (const type of ['fp32', 'fp16', 'bf16', 'fp64'] as const) {
      const [got] = readPaddleParams(writePaddleParams([t], type));
      expect(got!.dims).toEqual([2, 3]);
      expect(got!.dataType).toBe(type);
      const rounded = (v: number): number =>
        type === 'fp16'
          ? fromFloat16Bits(toFloat16Bits(v))
          : type === 'bf16'
            ? fromBfloat16Bits(toBfloat16Bits(v))
            : Math.fround(v);
      expect(Array.from(got!.data)).toEqual(t.data.map(rounded));
    }
    // A record with one LoD level of two size_t offsets.
    const plain = writePaddleParams([t]);
    const lod = new DataView(new ArrayBuffer(12 + 8 + 16));
    lod.setBigUint64(4, 1n, true);
    lod.setBigUint64(12, 16n, true);
    const withLod = concat(new Uint8Array(lod.buffer), plain.subarray(12));
    expect(Array.from(readPaddleParams(withLod)[0]!.data)).toEqual(t.data.map(Math.fround));
  });

  it('checks a declared size against the bytes left before allocating', () => {
    const desc = new ProtoWriter().varint(1, VAR_TYPE_CODE.FP32).packedVarints(2, [100000, 100000, 100000]).finish();
    const head = new DataView(new ArrayBuffer(20));
    head.setInt32(16, desc.length, true);
    const huge = concat(new Uint8Array(head.buffer), desc, new Uint8Array(8));
    const start = performance.now();
    importError(
      () => readPaddleParams(huge),
      /tensor 1 .*dims \[100000, 100000, 100000\] of fp32 needs 4000000000000000 bytes but only 8 remain/,
    );
    expect(performance.now() - start).toBeLessThan(100);
    importError(() => readPaddleParams(new Uint8Array([1, 0, 0, 0])), /record version 1, expected 0/);
    head.setInt32(16, -5, true);
    importError(() => readPaddleParams(new Uint8Array(head.buffer)), /TensorDesc size -5 is not plausible/);
    const lod = new DataView(new ArrayBuffer(12));
    lod.setBigUint64(4, 2n ** 60n, true);
    importError(() => readPaddleParams(new Uint8Array(lod.buffer)), /LoD levels needs \d+ bytes but only 0 remain/);
  });
});

describe('paddle program', () => {
  it('round-trips attributes of every kind it writes, negative ints and doubles included', () => {
    const op: PaddleOp = {
      type: 'flatten_contiguous_range',
      inputs: { X: ['a'] },
      outputs: { Out: ['b'], XShape: ['c'] },
      attrs: [
        attrs.int('stop_axis', -1),
        attrs.float('f', 0.25),
        attrs.string('s', 'x'),
        attrs.bool('b', true),
        attrs.ints('i', [1, -2]),
        attrs.float64('d', 0.1),
      ],
    };
    const a = {
      name: 'a',
      type: VAR_TYPE_CODE.LOD_TENSOR,
      persistable: true,
      dataType: VAR_TYPE_CODE.FP32,
      dims: [-1, 4],
    };
    const program: PaddleProgram = { blocks: [{ idx: 0, parentIdx: -1, vars: [a], ops: [op] }], version: 2005002 };
    expect(parsePaddleProgram(writePaddleProgram(program))).toEqual(program);
  });

  it('lists saved vars as Python sorted() does, without feed and fetch', () => {
    const names = savedVarNames(parsePaddleProgram(smallFiles.pdmodel));
    expect(names).not.toContain('feed');
    expect(names).not.toContain('fetch');
    expect(names.indexOf('conv2d_10.w_0')).toBeLessThan(names.indexOf('conv2d_2.w_0'));
    expect(names).toEqual([...names].sort());
  });
});

describe('importPaddleInference: round trip', () => {
  for (const scale of [0.25, 0.5, 1.0, 2.5]) {
    it(`x${scale}: the imported state dict is the exported one`, () => {
      const stateDict = randomStateDict(scale, 512, 'separate', scale * 100);
      const { pdmodel, pdiparams } = writePaddleInference({ scale, embeddingDim: 512, stateDict });
      const model = importPaddleInference(pdmodel, pdiparams);
      expect(model.scale).toBe(scale);
      expect(model.embeddingDim).toBe(512);
      expect(model.batchNorm).toBe('separate');
      expectSameStateDict(model.stateDict, stateDict);
    }, 30_000);
  }

  const exact: [string, PaddleExportOptions][] = [
    ['matmul + transpose_Y', { neckOp: 'matmul', transposeNeck: true }],
    ['matmul_v2 + trans_y', { transposeNeck: true }],
    ['fused fc', { neckOp: 'fc' }],
    ['dropout as a scale op', { dropout: 'scale' }],
    ['grouped conv as conv2d', { depthwiseOp: 'conv2d' }],
    ['reduce_mean pooling', { pool: 'reduce_mean' }],
    ['fp64 stream', { dataType: 'fp64' }],
  ];
  for (const [name, options] of exact) {
    it(`variant: ${name}`, () => {
      const { pdmodel, pdiparams } = writePaddleInference(small, options);
      expectSameStateDict(importPaddleInference(pdmodel, pdiparams).stateDict, small.stateDict);
    });
  }

  it('variant: no 0.8 in the graph (upscale_in_train, no dropout) folds 1/0.8 into the neck', () => {
    for (const dropout of ['upscale_in_train', 'none'] as const) {
      const { pdmodel, pdiparams } = writePaddleInference(small, { dropout });
      const model = importPaddleInference(pdmodel, pdiparams);
      expectSameStateDict(model.stateDict, small.stateDict, (v) => v);
      expect(model.notes.join('\n')).toMatch(/linear weight scaled by 1\.25/);
    }
  });

  it('variant: fp16 and bf16 streams widen to float32', () => {
    const f16 = writePaddleInference(small, { dataType: 'fp16' });
    expectSameStateDict(importPaddleInference(f16.pdmodel, f16.pdiparams).stateDict, small.stateDict, (v) =>
      fromFloat16Bits(toFloat16Bits(v)),
    );
    const bf16 = writePaddleInference(small, { dataType: 'bf16' });
    expect(importPaddleInference(bf16.pdmodel, bf16.pdiparams).notes[0]).toMatch(/bf16/);
  });

  it('variant: BatchNorm folded into conv + elementwise_add', () => {
    const stateDict = randomStateDict(0.5, 32, 'folded', 7);
    const { pdmodel, pdiparams } = writePaddleInference({ scale: 0.5, embeddingDim: 32, stateDict });
    const model = importPaddleInference(pdmodel, pdiparams);
    expect(model.batchNorm).toBe('folded');
    expectSameStateDict(model.stateDict, stateDict);
  });

  it('variant: vars listed in any order (the importer sorts, it does not trust the file)', () => {
    const pdmodel = editProgram(smallFiles.pdmodel, (ops, p) => ({
      blocks: [{ ...p.blocks[0]!, vars: [...p.blocks[0]!.vars].reverse() }],
    }));
    expectSameStateDict(importPaddleInference(pdmodel, smallFiles.pdiparams).stateDict, small.stateDict);
  });

  it('variant: scale ops with a bias before and after the neck fold into its weight and bias', () => {
    const files = writePaddleInference(small, { dropout: 'scale' });
    let n = 0;
    const pdmodel = editProgram(files.pdmodel, (ops) => {
      ops.forEach((op, i) => {
        if (op.type !== 'scale') return;
        const [scale, bias] = n++ === 0 ? [0.8, 0.5] : [2, 1]; // 0.8 x + 0.5 before, 2 y + 1 after
        ops[i] = {
          ...op,
          attrs: [attrs.float('scale', scale), attrs.float('bias', bias), attrs.bool('bias_after_scale', true)],
        };
      });
    });
    const model = importPaddleInference(pdmodel, files.pdiparams);
    const W = small.stateDict.get('neck.fc.weight')!.data;
    const b = small.stateDict.get('neck.fc.bias')!.data;
    const D = SMALL.embeddingDim;
    const colSum = (j: number): number =>
      Array.from({ length: 1280 }, (_, i) => W[i * D + j]!).reduce((x, y) => x + y, 0);
    expect(model.stateDict.get('neck.fc.weight')!.data[5]).toBeCloseTo(2 * W[5]!, 6);
    expect(model.stateDict.get('neck.fc.bias')!.data[3]).toBeCloseTo(2 * (0.5 * colSum(3) + b[3]!) + 1, 4);
  });

  it('variant: another batch_norm epsilon is carried into the variance', () => {
    const pdmodel = editProgram(smallFiles.pdmodel, (ops) => {
      ops.forEach((op, i) => {
        if (op.type === 'batch_norm')
          ops[i] = { ...op, attrs: op.attrs.map((a) => (a.name === 'epsilon' ? attrs.float('epsilon', 1e-3) : a)) };
      });
    });
    const model = importPaddleInference(pdmodel, smallFiles.pdiparams);
    const got = model.stateDict.get('backbone.conv1.bn._variance')!.data;
    const want = small.stateDict.get('backbone.conv1.bn._variance')!.data;
    expect(got[0]).toBeCloseTo(want[0]! + Math.fround(1e-3) - 1e-5, 6);
    expect(model.notes.join('\n')).toMatch(/epsilon 0\.001/);
  });
});

describe('importPaddleInference: malformed input', () => {
  const { pdmodel, pdiparams } = smallFiles;

  it('rejects files that are not a ProgramDesc', () => {
    importError(
      () => importPaddleInference(new TextEncoder().encode('this is not a model'), pdiparams),
      /inference\.pdmodel is not a Paddle ProgramDesc/,
    );
    importError(
      () => importPaddleInference(new Uint8Array([0x50, 0x4b, 3, 4, 20, 0, 0, 0]), pdiparams),
      /not a Paddle ProgramDesc/,
    );
    importError(
      () => importPaddleInference(new Uint8Array(), pdiparams),
      /not a Paddle ProgramDesc: the file is empty/,
    );
    const onnxLike = new ProtoWriter().varint(1, 7).string(2, 'pytorch').finish();
    importError(
      () => importPaddleInference(onnxLike, pdiparams),
      /not a Paddle ProgramDesc: top-level field 1 has wire type 0/,
    );
  });

  it('rejects a truncated protobuf', () => {
    importError(
      () => importPaddleInference(pdmodel.subarray(0, pdmodel.length - 7), pdiparams),
      /not a Paddle ProgramDesc: bad protobuf: field 1 declares \d+ bytes but only \d+ remain/,
    );
  });

  it('rejects params truncated mid-tensor, short by a tensor, or with trailing bytes', () => {
    importError(
      () => importPaddleInference(pdmodel, pdiparams.subarray(0, pdiparams.length >> 1)),
      /inference\.pdiparams: tensor \d+ of \d+ \(.+\) at byte \d+: .* needs \d+ bytes but only \d+ remain/,
    );
    const tensors = readPaddleParams(pdiparams);
    const short = writePaddleParams(tensors.slice(0, -1));
    importError(
      () => importPaddleInference(pdmodel, short),
      new RegExp(`ends after ${tensors.length - 1} tensors but the program declares ${tensors.length}`),
    );
    importError(
      () => importPaddleInference(pdmodel, concat(pdiparams, new Uint8Array([1, 2, 3]))),
      /3 trailing bytes after the \d+ tensors/,
    );
    const badVersion = pdiparams.slice();
    badVersion[0] = 1;
    importError(
      () => importPaddleInference(pdmodel, badVersion),
      /tensor 1 of \d+ \(batch_norm_0\.b_0\) at byte 0: record version 1/,
    );
  });

  it('rejects a tensor whose dims claim more bytes than the file has, without allocating them', () => {
    const names = savedVarNames(parsePaddleProgram(pdmodel));
    const desc = new ProtoWriter()
      .varint(1, VAR_TYPE_CODE.FP32)
      .packedVarints(2, [1 << 30, 1 << 30])
      .finish();
    const head = new DataView(new ArrayBuffer(20));
    head.setInt32(16, desc.length, true);
    const lying = concat(new Uint8Array(head.buffer), desc, pdiparams.subarray(40));
    const first = names[0]!.replace('.', '\\.');
    importError(
      () => importPaddleInference(pdmodel, lying),
      new RegExp(`tensor 1 of ${names.length} \\(${first}\\).*needs 4611686018427387904 bytes`),
    );
  });

  it('names an unknown op in the backbone', () => {
    let seen = 0;
    const edited = editProgram(pdmodel, (ops) => {
      ops.forEach((op, i) => {
        if (op.type === 'hard_swish' && seen++ === 3) ops[i] = { ...op, type: 'swish_custom' };
      });
    });
    importError(
      () => importPaddleInference(edited, pdiparams),
      /unknown op "swish_custom" in the backbone after backbone\.blocks3\.0\.dw_conv \(expected hard_swish\)/,
    );
  });

  it('rejects a hard_sigmoid that is not nn.Hardsigmoid', () => {
    const edited = editProgram(pdmodel, (ops) => {
      ops.forEach((op, i) => {
        if (op.type === 'hard_sigmoid')
          ops[i] = { ...op, attrs: [attrs.float('slope', 0.2), attrs.float('offset', 0.5)] };
      });
    });
    importError(() => importPaddleInference(edited, pdiparams), /hard_sigmoid .*backbone\.blocks6\.0\.se.* slope 0\.2/);
  });

  it('rejects params of another scale, a scale PaddleClas does not publish, and an unexpected scale', () => {
    const other = writePaddleInference({ scale: 0.5, embeddingDim: 64, stateDict: randomStateDict(0.5, 64) });
    importError(
      () => importPaddleInference(other.pdmodel, pdiparams),
      /inference\.pdiparams: .+ has shape \[.+\] but inference\.pdmodel declares \[.+\]: the two files come from different models/,
    );
    // PaddleClas's constructor takes any scale: x0.3 is read (as the first scale with its channel counts).
    const odd = writePaddleInference({ scale: 0.3, embeddingDim: 64, stateDict: randomStateDict(0.3, 64) });
    const imported = importPaddleInference(odd.pdmodel, odd.pdiparams);
    expect(planPPLCNet(imported.scale).blocks.map((b) => b.outChannels)).toEqual(
      planPPLCNet(0.3).blocks.map((b) => b.outChannels),
    );
    expect(imported.notes.join('\n')).toMatch(/not one of the published scales/);
    importError(
      () => importPaddleInference(pdmodel, pdiparams, { scale: 2.5 }),
      /this is PP-LCNet x0\.25, not the x2\.5 asked for/,
    );
  });
});
