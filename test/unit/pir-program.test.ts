import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ImportError } from '../../src/core/errors.ts';
import { ATTR_TYPE, VAR_TYPE_CODE } from '../../src/model/convert/paddle/paddle-proto.ts';
import {
  parsePaddleProgram,
  savedVarNames,
  type PaddleAttr,
  type PaddleOp,
  type PaddleProgram,
  type PaddleVar,
} from '../../src/model/convert/paddle/paddle-program.ts';
import { readPaddleParams } from '../../src/model/convert/paddle/paddle-params.ts';
import { parsePirProgram } from '../../src/model/convert/paddle/pir-program.ts';
import { attrs } from '../../src/model/export/paddle-program-writer.ts';
import { writePaddleParams } from '../../src/model/export/paddle-params-writer.ts';
import { writePirProgram } from '../support/pir-program-writer.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REAL = path.resolve(repoRoot, '../shared/models/real/pp-lcnet-x0_25-textline-ori');
const hasReal =
  existsSync(path.join(REAL, 'paddle-pir/inference.json')) && existsSync(path.join(REAL, 'paddle/inference.pdmodel'));

const FP32 = VAR_TYPE_CODE.FP32;
const long = (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.LONG, value });

/**
 * A small PP-LCNet-shaped program in the form Paddle 3 exports (SE biases reshaped before their add), or with
 * one bias in the older ProgramDesc form (elementwise_add axis=1 of the [C] bias).
 */
function fixture(paddle3 = true): PaddleProgram {
  const vars: PaddleVar[] = [
    { name: 'feed', type: VAR_TYPE_CODE.FEED_MINIBATCH, persistable: true },
    { name: 'fetch', type: VAR_TYPE_CODE.FETCH_LIST, persistable: true },
  ];
  const ops: PaddleOp[] = [];
  const v = (name: string, dims: readonly number[], persistable = false, dataType: number = FP32): string => {
    vars.push({ name, type: VAR_TYPE_CODE.LOD_TENSOR, persistable, dataType, dims });
    return name;
  };
  const op = (type: string, inputs: PaddleOp['inputs'], outputs: PaddleOp['outputs'], a: PaddleAttr[] = []): void => {
    ops.push({ type, inputs, outputs, attrs: a });
  };
  const convAttrs = (stride: number[], groups: number): PaddleAttr[] => [
    attrs.ints('strides', stride),
    attrs.ints('paddings', [1, 1]),
    attrs.string('padding_algorithm', 'EXPLICIT'),
    attrs.ints('dilations', [1, 1]),
    attrs.int('groups', groups),
    attrs.string('data_format', 'NCHW'),
  ];
  const x = v('x', [-1, 3, 32, 64]);
  op('feed', { X: ['feed'] }, { Out: [x] }, [attrs.int('col', 0)]);
  op(
    'conv2d',
    { Input: [x], Filter: [v('conv2d_0.w_0', [8, 3, 3, 3], true)] },
    { Output: [v('c0', [-1, 8, 16, 32])] },
    convAttrs([2, 2], 1),
  );
  const bn = ['w_0', 'b_0', 'w_1', 'w_2'].map((s) => v(`batch_norm2d_0.${s}`, [8], true));
  op(
    'batch_norm',
    { X: ['c0'], Scale: [bn[0]!], Bias: [bn[1]!], Mean: [bn[2]!], Variance: [bn[3]!] },
    {
      Y: [v('b0', [-1, 8, 16, 32])],
      MeanOut: [bn[2]!],
      VarianceOut: [bn[3]!],
      SavedMean: [v('sm', [8])],
      SavedVariance: [v('sv', [8])],
    },
    [
      attrs.bool('is_test', true),
      attrs.float('momentum', 0.9),
      attrs.float('epsilon', 1e-5),
      attrs.string('data_layout', 'NCHW'),
      attrs.bool('use_global_stats', true),
      attrs.bool('trainable_statistics', false),
    ],
  );
  op('hard_swish', { X: ['b0'] }, { Out: [v('h0', [-1, 8, 16, 32])] }, [
    attrs.float('threshold', 6),
    attrs.float('scale', 6),
    attrs.float('offset', 3),
  ]);
  op(
    'depthwise_conv2d',
    { Input: ['h0'], Filter: [v('conv2d_1.w_0', [8, 1, 3, 3], true)] },
    { Output: [v('d0', [-1, 8, 16, 32])] },
    convAttrs([2, 1], 8),
  );
  op('pool2d', { X: ['d0'] }, { Out: [v('p0', [-1, 8, 1, 1])] }, [
    attrs.ints('strides', [1, 1]),
    attrs.ints('paddings', [0, 0]),
    attrs.bool('ceil_mode', false),
    attrs.bool('exclusive', true),
    attrs.string('data_format', 'NCHW'),
    attrs.string('pooling_type', 'avg'),
    attrs.bool('global_pooling', false),
    attrs.bool('adaptive', true),
    attrs.string('padding_algorithm', 'EXPLICIT'),
    attrs.ints('ksize', [1, 1]),
  ]);
  op(
    'conv2d',
    { Input: ['p0'], Filter: [v('conv2d_2.w_0', [2, 8, 1, 1], true)] },
    { Output: [v('s0', [-1, 2, 1, 1])] },
    convAttrs([1, 1], 1),
  );
  op('reshape2', { X: [v('conv2d_2.b_0', [2], true)] }, { Out: [v('rb', [1, 2, 1, 1])] }, [
    attrs.ints('shape', [1, -1, 1, 1]),
  ]);
  op('elementwise_add', { X: ['s0'], Y: ['rb'] }, { Out: [v('s1', [-1, 2, 1, 1])] }, [attrs.int('axis', -1)]);
  op('relu', { X: ['s1'] }, { Out: [v('s2', [-1, 2, 1, 1])] });
  op(
    'conv2d',
    { Input: ['s2'], Filter: [v('conv2d_3.w_0', [8, 2, 1, 1], true)] },
    { Output: [v('s3', [-1, 8, 1, 1])] },
    convAttrs([1, 1], 1),
  );
  const bias = v('conv2d_3.b_0', [8], true);
  if (paddle3) {
    op('reshape2', { X: [bias] }, { Out: [v('rb2', [1, 8, 1, 1])] }, [attrs.ints('shape', [1, -1, 1, 1])]);
    op('elementwise_add', { X: ['s3'], Y: ['rb2'] }, { Out: [v('s4', [-1, 8, 1, 1])] }, [attrs.int('axis', -1)]);
  } else {
    op('elementwise_add', { X: ['s3'], Y: [bias] }, { Out: [v('s4', [-1, 8, 1, 1])] }, [attrs.int('axis', 1)]);
  }
  op('hard_sigmoid', { X: ['s4'] }, { Out: [v('g', [-1, 8, 1, 1])] }, [
    attrs.float('slope', 0.1666667),
    attrs.float('offset', 0.5),
  ]);
  op('elementwise_mul', { X: ['d0'], Y: ['g'] }, { Out: [v('m', [-1, 8, 16, 32])] }, [attrs.int('axis', -1)]);
  op(
    'dropout',
    { X: ['m'] },
    { Out: [v('dr', [-1, 8, 16, 32])], Mask: [v('mask', [-1, 8, 16, 32], false, VAR_TYPE_CODE.UINT8)] },
    [
      attrs.float('dropout_prob', 0.2),
      attrs.bool('is_test', true),
      attrs.string('dropout_implementation', 'downgrade_in_infer'),
      attrs.bool('fix_seed', false),
      attrs.int('seed', 0),
    ],
  );
  op('flatten_contiguous_range', { X: ['dr'] }, { Out: [v('f', [-1, 4096])], XShape: [v('fx', [0, -1, 8, 16, 32])] }, [
    attrs.int('start_axis', 1),
    attrs.int('stop_axis', 3),
  ]);
  op('matmul_v2', { X: ['f'], Y: [v('linear_0.w_0', [4096, 4], true)] }, { Out: [v('mm', [-1, 4])] }, [
    attrs.bool('trans_x', false),
    attrs.bool('trans_y', false),
  ]);
  op('elementwise_add', { X: ['mm'], Y: [v('linear_0.b_0', [4], true)] }, { Out: [v('lo', [-1, 4])] }, [
    attrs.int('axis', -1),
  ]);
  op('scale', { X: ['lo'] }, { Out: [v('sc', [-1, 4])] }, [
    attrs.float('scale', 2),
    attrs.float('bias', 0.5),
    attrs.bool('bias_after_scale', true),
  ]);
  op('softmax', { X: ['sc'] }, { Out: [v('sm2', [-1, 4])] }, [attrs.int('axis', -1)]);
  op('arg_max', { X: ['sm2'] }, { Out: [v('am', [-1], false, VAR_TYPE_CODE.INT64)] }, [
    attrs.bool('keepdims', false),
    attrs.bool('flatten', false),
    attrs.int('dtype', VAR_TYPE_CODE.INT64),
    long('axis', 1),
  ]);
  op('cast', { X: ['am'] }, { Out: [v('cf', [-1])] }, [
    attrs.int('out_dtype', FP32),
    attrs.int('in_dtype', VAR_TYPE_CODE.INT64),
  ]);
  op('fetch', { X: ['cf'] }, { Out: ['fetch'] }, [attrs.int('col', 0)]);
  return { blocks: [{ idx: 0, parentIdx: -1, vars, ops }] };
}

/**
 * Ops with their non-persistable names replaced by first-use order, so two programs that name values
 * differently compare equal. Outputs in `skip` (unused results, in-place statistics) are left out.
 */
const SKIP = new Set(['XShape', 'MeanOut', 'VarianceOut', 'SavedMean', 'SavedVariance', 'ReserveSpace', 'Mask']);
function canon(p: PaddleProgram, attrNames?: ReadonlySet<string>): unknown[] {
  const persistable = new Set(p.blocks[0]!.vars.filter((v) => v.persistable).map((v) => v.name));
  const ids = new Map<string, string>();
  const c = (n: string): string =>
    persistable.has(n) ? n : (ids.get(n) ?? (ids.set(n, `v${ids.size}`), `v${ids.size - 1}`));
  const slots = (s: PaddleOp['inputs'], skip: ReadonlySet<string>): [string, string[]][] =>
    Object.entries(s)
      .filter(([k, v]) => v.length > 0 && !skip.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, v.map(c)]);
  return p.blocks[0]!.ops.map((op) => ({
    type: op.type,
    inputs: slots(op.inputs, new Set()),
    outputs: slots(op.outputs, SKIP),
    attrs: Object.fromEntries(
      op.attrs
        .filter((a) => !attrNames || attrNames.has(a.name))
        .map((a) => [a.name, a.value])
        .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)),
    ),
  }));
}

function importError(fn: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ImportError);
  expect((error as Error).message).toMatch(message);
}

const pir = (ops: unknown[]): string =>
  JSON.stringify({
    base_code: { magic: 'pir', trainable: true, version: 1 },
    program: { regions: [{ '#': 'region_0', blocks: [{ '#': 'block_0', args: [], ops }] }] },
  });
const tensor = (dims: number[], dtype = '0.t_f32'): unknown => ({
  '#': '0.t_dtensor',
  D: [{ '#': dtype }, dims, 'NCHW', [], 0],
});
const param = (id: number, name: string, dims: number[]): unknown => ({
  '#': 'p',
  A: [0, 1, 1, name],
  DA: [],
  O: { '%': id, TT: tensor(dims) },
  OA: [1, 0, 1],
  QA: [],
});
const op = (name: string, inputs: number[], outputs: number[], a: unknown[] = []): unknown => ({
  '#': name,
  A: a,
  I: inputs.map((i) => ({ '%': i })),
  O: outputs.map((o) => ({ '%': o, TT: tensor([-1, 4]) })),
  OA: [],
});
const ints64 = (name: string, values: number[]): unknown => ({
  AT: { '#': '0.a_array', D: values.map((d) => ({ '#': '0.a_i64', D: d })) },
  N: name,
});

describe('PIR writer -> reader round trip', () => {
  const program = fixture();
  const json = writePirProgram(program);
  const parsed = parsePirProgram(json);

  it('gives back the same ops, slots and attributes', () => {
    expect(canon(parsed.program)).toEqual(canon(program));
    expect(parsed.program.blocks[0]!.ops).toHaveLength(program.blocks[0]!.ops.length);
  });

  it('writes a ProgramDesc conv bias (elementwise_add axis=1) as reshape2 [1, -1, 1, 1] + add, as Paddle 3 does', () => {
    const desc = fixture(false);
    const got = parsePirProgram(writePirProgram(desc)).program;
    expect(canon(got)).toEqual(canon(program));
    expect(canon(desc)).not.toEqual(canon(program));
  });

  it('declares every parameter persistable with its VarType and dims, and orders paramNames as save_combine does', () => {
    const params = (p: PaddleProgram): PaddleVar[] =>
      p.blocks[0]!.vars.filter((v) => v.persistable && v.type === VAR_TYPE_CODE.LOD_TENSOR).sort((a, b) =>
        a.name < b.name ? -1 : 1,
      );
    expect(params(parsed.program)).toEqual(params(program));
    expect(parsed.paramNames).toEqual(savedVarNames(program));
    for (const order of ['declared', 'reverse', [...savedVarNames(program)].reverse()] as const) {
      expect(parsePirProgram(writePirProgram(program, order)).paramNames).toEqual(savedVarNames(program));
    }
  });

  it('reads a .pdiparams stream with paramNames into the tensors save_combine wrote', () => {
    const vars = new Map(program.blocks[0]!.vars.map((v) => [v.name, v]));
    const tensors = savedVarNames(program).map((n, i) => {
      const dims = vars.get(n)!.dims!;
      return { dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, j) => i + j / 1000) };
    });
    const read = readPaddleParams(writePaddleParams(tensors), { names: parsed.paramNames });
    read.forEach((t, i) => {
      expect(t.dims).toEqual(vars.get(parsed.paramNames[i]!)!.dims);
      expect(t.data).toEqual(tensors[i]!.data);
    });
  });

  it('writes the format Paddle writes: p ops first, compressed names, ids from 1, constants before their consumer', () => {
    const top = JSON.parse(json) as {
      base_code: unknown;
      program: { regions: { blocks: { ops: Record<string, unknown>[] }[] }[] };
    };
    expect(top.base_code).toEqual({ magic: 'pir', trainable: true, version: 1 });
    const ops = top.program.regions[0]!.blocks[0]!.ops;
    const names = ops.map((o) => o['#']);
    const nParams = savedVarNames(program).length;
    expect(names.slice(0, nParams).every((n) => n === 'p')).toBe(true);
    expect(names.slice(nParams, nParams + 3)).toEqual(['1.data', '1.conv2d', '1.batch_norm_']);
    expect(names[names.indexOf('1.pool2d') - 1]).toBe('1.full_int_array');
    expect(names[names.indexOf('1.scale') - 1]).toBe('1.full');
    expect(names[names.indexOf('1.dropout') - 1]).toBe('1.full');
    expect(names.filter((n) => n === '1.reshape')).toHaveLength(2);
    expect(names.filter((n) => n === '1.full_int_array')).toHaveLength(3);
    expect(Object.keys(ops[0]!)).toEqual(['#', 'A', 'DA', 'O', 'OA', 'QA']);
    expect(Object.keys(ops[nParams]!)).toEqual(['#', 'A', 'I', 'O', 'OA']);
    const ids = ops
      .flatMap((o) => (Array.isArray(o.O) ? o.O : [o.O]) as { '%': number }[])
      .map((v) => v['%'])
      .filter((id) => id !== 0);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const pool = ops[names.indexOf('1.full_int_array')]!;
    expect((pool.A as { N: string; AT: unknown }[])[0]).toEqual(ints64('value', [1, 1]));
    expect(parsed.notes.join('\n')).toMatch(/constant ops .* folded/);
  });

  it('keeps an op it does not know under its PIR name with operands in0, in1, and a constant that feeds it', () => {
    const json2 = pir([
      param(1, 'w', [4, 4]),
      op('1.data', [], [2], [{ AT: { '#': '0.a_str', D: 'x' }, N: 'name' }]),
      op('1.full_int_array', [], [3], [ints64('value', [2, 2])]),
      op('1.foo', [2, 1, 3, 0], [4, 5], [{ AT: { '#': '0.a_i32', D: 7 }, N: 'k' }]),
      op('1.reshape', [4, 3], [6]),
      op('1.scale', [6, 5], [7], [{ AT: { '#': '0.a_f32', D: 0 }, N: 'bias' }]),
    ]);
    const ops = parsePirProgram(json2).program.blocks[0]!.ops;
    expect(ops.map((o) => o.type)).toEqual(['feed', 'assign_value', 'pd_op.foo', 'reshape2', 'scale']);
    expect(ops[2]!.inputs).toEqual({ in0: ['x'], in1: ['w'], in2: ['pir_%3'] });
    expect(ops[2]!.outputs).toEqual({ out0: ['pir_%4'], out1: ['pir_%5'] });
    expect(ops[2]!.attrs).toEqual([attrs.int('k', 7)]);
    expect(ops[3]!.attrs).toContainEqual({ name: 'shape', type: ATTR_TYPE.INTS, value: [2, 2] });
    expect(ops[4]!.inputs).toEqual({ X: ['pir_%6'], ScaleTensor: ['pir_%5'] });
    expect(parsePirProgram(json2).notes.join('\n')).toMatch(/pd_op\.foo x1/);
    // And the writer writes it back.
    expect(canon(parsePirProgram(writePirProgram(parsePirProgram(json2).program)).program)).toEqual(
      canon(parsePirProgram(json2).program),
    );
  });
});

describe.skipIf(!hasReal)('the real PP-LCNet_x0_25_textline_ori export (../shared/models/real)', () => {
  const load = (p: string): Uint8Array => new Uint8Array(readFileSync(path.join(REAL, p)));
  const desc = hasReal ? parsePaddleProgram(load('paddle/inference.pdmodel')) : undefined!;
  const parsed = hasReal ? parsePirProgram(load('paddle-pir/inference.json')) : undefined!;
  const COMPARED = new Set([
    'strides',
    'paddings',
    'dilations',
    'groups',
    'padding_algorithm',
    'data_format',
    'data_layout',
    'epsilon',
    'momentum',
    'is_test',
    'use_global_stats',
    'threshold',
    'scale',
    'offset',
    'slope',
    'pooling_type',
    'adaptive',
    'global_pooling',
    'ksize',
    'exclusive',
    'ceil_mode',
    'start_axis',
    'stop_axis',
    'trans_x',
    'trans_y',
    'axis',
    'col',
  ]);

  it.skipIf(!hasReal)(
    'translates to the ProgramDesc version op for op: types, attributes, parameters in slots, data flow',
    () => {
      expect(canon(parsed.program, COMPARED)).toEqual(canon(desc, COMPARED));
      const convs = (p: PaddleProgram): unknown[] =>
        p.blocks[0]!.ops.filter((o) => o.type.includes('conv2d')).map((o) => [
          o.inputs.Filter,
          ...['strides', 'paddings', 'groups'].map((n) => o.attrs.find((a) => a.name === n)?.value),
        ]);
      expect(convs(parsed.program)).toEqual(convs(desc));
      expect(convs(desc).length).toBe(31);
    },
  );

  it.skipIf(!hasReal)(
    'folds the shape constants: reshape2 [1, -1, 1, 1] where the ProgramDesc says [1, C, 1, 1], ksize [1, 1]',
    () => {
      const shapes = (p: PaddleProgram): unknown[] =>
        p.blocks[0]!.ops.filter((o) => o.type === 'reshape2').map(
          (o) => o.attrs.find((a) => a.name === 'shape')?.value,
        );
      expect(shapes(parsed.program)).toEqual([
        [1, -1, 1, 1],
        [1, -1, 1, 1],
        [1, -1, 1, 1],
        [1, -1, 1, 1],
      ]);
      expect(shapes(desc).every((s) => (s as number[])[1]! > 0)).toBe(true);
      expect(parsed.notes).toContain('7 constant ops (pd_op.full_int_array / pd_op.full) folded into attributes');
    },
  );

  it.skipIf(!hasReal)(
    'the writer, given the ProgramDesc version, writes the real file: op names, value ids, attribute names, flags',
    () => {
      type Op = Record<string, unknown> & { '#': string; A: unknown[] };
      const opsOf = (json: string): Op[] =>
        (JSON.parse(json) as { program: { regions: { blocks: { ops: Op[] }[] }[] } }).program.regions[0]!.blocks[0]!
          .ops;
      const real = opsOf(readFileSync(path.join(REAL, 'paddle-pir/inference.json'), 'utf8'));
      const mine = opsOf(
        writePirProgram(
          desc,
          real.filter((o) => o['#'] === 'p').map((o) => o.A[3] as string),
        ),
      );
      const ids = (v: unknown): unknown => (Array.isArray(v) ? v.map(ids) : (v as { '%': number })['%']);
      const shape = (o: Op): unknown => [
        o['#'],
        Object.keys(o),
        ids(o.I ?? []),
        ids(o.O),
        o.OA,
        o['#'] === 'p'
          ? o.A
          : o.A.map((a) => (a as { N: string }).N)
              .filter((n) => n !== 'struct_name')
              .sort(),
      ];
      expect(mine.map(shape)).toEqual(real.map(shape));
    },
  );

  it.skipIf(!hasReal)('orders paramNames as .pdiparams stores them: by name, not in the JSON op order', () => {
    expect(parsed.paramNames).toEqual(savedVarNames(desc));
    const declared = new Map(parsed.program.blocks[0]!.vars.map((v) => [v.name, v]));
    const bytes = load('paddle-pir/inference.pdiparams');
    const tensors = readPaddleParams(bytes, { names: parsed.paramNames, file: 'inference.pdiparams' });
    const reference = readPaddleParams(load('paddle/inference.pdiparams'), { names: savedVarNames(desc) });
    const descVars = new Map(desc.blocks[0]!.vars.map((v) => [v.name, v]));
    parsed.paramNames.forEach((name, i) => {
      expect(tensors[i]!.dims, name).toEqual(declared.get(name)!.dims);
      expect(declared.get(name)).toMatchObject({
        persistable: true,
        dataType: descVars.get(name)!.dataType,
        dims: descVars.get(name)!.dims,
      });
      expect(tensors[i]!.data).toEqual(reference[savedVarNames(desc).indexOf(name)]!.data);
      if (name.includes('.w_2'))
        expect(
          tensors[i]!.data.every((x) => x > 0),
          `${name} is a variance`,
        ).toBe(true);
    });
    // The order the JSON lists its p ops in would pair most tensors with the wrong shape.
    const jsonOrder = parsed.program.blocks[0]!.vars.filter(
      (v) => v.persistable && v.type === VAR_TYPE_CODE.LOD_TENSOR,
    ).map((v) => v.name);
    const wrong = readPaddleParams(bytes, { names: jsonOrder }).filter(
      (t, i) => t.dims.join() !== declared.get(jsonOrder[i]!)!.dims!.join(),
    );
    expect(wrong.length).toBeGreaterThan(100);
  });
});

describe('malformed input', () => {
  const valid = writePirProgram(fixture());

  it('rejects what is not PIR JSON, naming the file and what is wrong', () => {
    importError(() => parsePirProgram('', 'model.json'), /^model\.json is not a Paddle PIR program: the file is empty/);
    importError(
      () => parsePirProgram('{"base_code": {"magic": "pir"'),
      /inference\.json is not a Paddle PIR program: it is not valid JSON/,
    );
    importError(() => parsePirProgram(valid.slice(0, valid.length / 2)), /not valid JSON/);
    importError(() => parsePirProgram(new Uint8Array([0x0a, 0xff, 0xfe, 0x00])), /not UTF-8 text .*ProgramDesc/);
    importError(() => parsePirProgram('[1, 2]'), /top level is an array of 2/);
    importError(() => parsePirProgram('null'), /top level is null/);
    importError(() => parsePirProgram('{"graph": {"node": []}}'), /base_code\.magic is not "pir"/);
    importError(
      () => parsePirProgram('{"base_code": {"magic": "pir"}, "program": {}}'),
      /program\.regions is missing, expected one region/,
    );
    importError(
      () => parsePirProgram('{"base_code": {"magic": "pir"}, "program": {"regions": [{"blocks": []}]}}'),
      /no block with an "ops" array/,
    );
    importError(() => parsePirProgram('['.repeat(200_000)), /not valid JSON/);
  });

  it('rejects a graph that reads a value no op defines, or reads one before it is defined (a cycle)', () => {
    importError(
      () => parsePirProgram(pir([param(1, 'w', [4]), op('1.relu', [99], [2])])),
      /inference\.json: op 1 \(pd_op\.relu\) reads value %99 as operand 0, which no op defines/,
    );
    importError(
      () => parsePirProgram(pir([op('1.relu', [3], [2]), op('1.relu', [2], [3])])),
      /op 0 \(pd_op\.relu\) reads value %3 .* which op 1 \(pd_op\.relu\) defines later: a cycle/,
    );
    importError(() => parsePirProgram(pir([op('1.relu', [2], [2])])), /reads value %2 .* defines later: a cycle/);
    importError(() => parsePirProgram(pir([param(1, 'w', [4]), op('1.relu', [1], [1])])), /value %1 is defined twice/);
  });

  it('rejects ops, values and attributes of the wrong shape', () => {
    importError(() => parsePirProgram(pir([42])), /op 0 is number 42, not an object with a "#" op name/);
    importError(
      () => parsePirProgram(pir([{ '#': '1.relu', I: [], O: [] }])),
      /op 0 \(1\.relu\): "A" is missing, expected an array/,
    );
    importError(
      () => parsePirProgram(pir([{ '#': 'p', A: [0, 1, 1], O: { '%': 1 } }])),
      /op 0 \(p\): A is an array of 3/,
    );
    importError(
      () => parsePirProgram(pir([op('1.relu', [], [2]), { '#': '1.relu', A: [], I: [{ x: 2 }], O: [] }])),
      /op 1 \(1\.relu\) I\[0\]: expected \{"%": integer id\}/,
    );
    importError(
      () => parsePirProgram(pir([op('1.conv2d', [], [2], [{ AT: { '#': '0.a_i32', D: 'x' }, N: 'groups' }])])),
      /A\[0\] "groups": 0\.a_i32 data is string "x", expected an integer/,
    );
    let deep: unknown = { '#': '0.t_f32' };
    for (let k = 0; k < 50; k++) deep = { '#': '0.t_dtensor', D: [deep, [1], 'NCHW', [], 0] };
    importError(
      () => parsePirProgram(pir([{ '#': '1.relu', A: [], I: [], O: [{ '%': 1, TT: deep }] }])),
      /types nested too deeply/,
    );
  });
});
