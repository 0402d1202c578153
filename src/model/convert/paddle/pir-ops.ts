/**
 * PIR op -> ProgramDesc op: the type name, a slot per operand and result, attribute renames.
 *
 * Operand and result order: each op's `args` / `output` in PaddlePaddle/Paddle paddle/phi/ops/yaml/ops.yaml
 * and paddle/fluid/pir/dialect/operator/ir/ops.yaml (the PIR op is built from that signature, so its
 * operands are its Tensor args in order, followed by IntArray / Scalar args that were given as values).
 * Slot and attribute names, and the ProgramDesc type: paddle/phi/ops/yaml/op_compat.yaml (`- op : add
 * (elementwise_add)`, `inputs: {x : X, y : Y}`, `attrs: {transpose_x : trans_x}`, `int_array` / `scalar`
 * with `tensor_name`). An IntArray or Scalar that arrives as an operand (pool2d's kernel_size, reshape's
 * shape, scale's scale, dropout's p, ...) becomes the attribute ProgramDesc records when a constant op
 * (pd_op.full_int_array / pd_op.full) produces it; otherwise the value goes in `slot`.
 */
import { ATTR_TYPE } from './paddle-proto.ts';
import type { PaddleAttr } from './paddle-program.ts';

export interface AttrOperand {
  /** The ProgramDesc attribute the constant becomes. */
  readonly attr: string;
  readonly kind: 'ints' | 'float' | 'int' | 'long';
  /** The input slot for a value that is not a constant. */
  readonly slot: string;
}

export interface PirOpSpec {
  /** ProgramDesc op type. */
  readonly type: string;
  /** One entry per operand, in PIR order. */
  readonly inputs: readonly (string | AttrOperand)[];
  /** One slot per result, in PIR order. */
  readonly outputs: readonly string[];
  /** PIR attribute name -> ProgramDesc name, where they differ. */
  readonly renames?: Readonly<Record<string, string>>;
  /** Attributes ProgramDesc records that the PIR op fixes in its kernel (hardswish's 6 / 6 / 3). */
  readonly defaults?: readonly PaddleAttr[];
}

const f = (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.FLOAT, value });
const i = (name: string, value: number): PaddleAttr => ({ name, type: ATTR_TYPE.INT, value });
const unary = (type: string, extra: Partial<PirOpSpec> = {}): PirOpSpec => ({
  type,
  inputs: ['X'],
  outputs: ['Out'],
  ...extra,
});
const binary = (type: string): PirOpSpec => ({ type, inputs: ['X', 'Y'], outputs: ['Out'], defaults: [i('axis', -1)] });
const conv = (type: string): PirOpSpec => ({ type, inputs: ['Input', 'Filter'], outputs: ['Output'] });
const batchNorm = (type: string): PirOpSpec => ({
  type,
  inputs: ['X', 'Mean', 'Variance', 'Scale', 'Bias'],
  outputs: ['Y', 'MeanOut', 'VarianceOut', 'SavedMean', 'SavedVariance', 'ReserveSpace'],
  renames: { data_format: 'data_layout' },
});
const ints = (attr: string, slot: string): AttrOperand => ({ attr, kind: 'ints', slot });

/**
 * Keyed by the full PIR name. Where two PIR ops give one ProgramDesc type, the first listed is what the
 * writer in test/support emits (batch_norm_ is what Paddle 3's inference export holds).
 */
export const PIR_OPS: ReadonlyMap<string, PirOpSpec> = new Map<string, PirOpSpec>([
  ['pd_op.conv2d', conv('conv2d')],
  ['pd_op.depthwise_conv2d', conv('depthwise_conv2d')],
  ['pd_op.batch_norm_', batchNorm('batch_norm')],
  ['pd_op.batch_norm', batchNorm('batch_norm')],
  ['pd_op.sync_batch_norm_', batchNorm('sync_batch_norm')],
  ['pd_op.hardswish', unary('hard_swish', { defaults: [f('threshold', 6), f('scale', 6), f('offset', 3)] })],
  ['pd_op.hardsigmoid', unary('hard_sigmoid')],
  ['pd_op.relu', unary('relu')],
  ['pd_op.relu6', unary('relu6', { defaults: [f('threshold', 6)] })],
  ['pd_op.sigmoid', unary('sigmoid')],
  ['pd_op.tanh', unary('tanh')],
  ['pd_op.gelu', unary('gelu')],
  ['pd_op.swish', unary('swish', { defaults: [f('beta', 1)] })],
  ['pd_op.silu', unary('silu')],
  ['pd_op.leaky_relu', unary('leaky_relu', { renames: { negative_slope: 'alpha' } })],
  ['pd_op.softmax', unary('softmax')],
  ['pd_op.cast', unary('cast', { renames: { dtype: 'out_dtype' } })],
  ['pd_op.flatten', { type: 'flatten_contiguous_range', inputs: ['X'], outputs: ['Out', 'XShape'] }],
  ['pd_op.reshape', { type: 'reshape2', inputs: ['X', ints('shape', 'Shape')], outputs: ['Out', 'XShape'] }],
  ['pd_op.squeeze', { type: 'squeeze2', inputs: ['X', ints('axes', 'axis')], outputs: ['Out', 'XShape'] }],
  ['pd_op.unsqueeze', { type: 'unsqueeze2', inputs: ['X', ints('axes', 'AxesTensor')], outputs: ['Out', 'XShape'] }],
  ['pd_op.transpose', { type: 'transpose2', inputs: ['X'], outputs: ['Out', 'XShape'], renames: { perm: 'axis' } }],
  ['pd_op.pool2d', { type: 'pool2d', inputs: ['X', ints('ksize', 'kernel_size')], outputs: ['Out'] }],
  [
    'pd_op.mean',
    { type: 'reduce_mean', inputs: ['X', ints('dim', 'axis')], outputs: ['Out'], renames: { keepdim: 'keep_dim' } },
  ],
  [
    'pd_op.sum',
    {
      type: 'reduce_sum',
      inputs: ['X', ints('dim', 'axis')],
      outputs: ['Out'],
      renames: { keepdim: 'keep_dim', dtype: 'out_dtype' },
    },
  ],
  ['pd_op.add', binary('elementwise_add')],
  ['pd_op.subtract', binary('elementwise_sub')],
  ['pd_op.multiply', binary('elementwise_mul')],
  ['pd_op.divide', binary('elementwise_div')],
  [
    'pd_op.matmul',
    {
      type: 'matmul_v2',
      inputs: ['X', 'Y'],
      outputs: ['Out'],
      renames: { transpose_x: 'trans_x', transpose_y: 'trans_y' },
    },
  ],
  ['pd_op.fc', { type: 'fc', inputs: ['Input', 'W', 'Bias'], outputs: ['Out'] }],
  [
    'pd_op.scale',
    { type: 'scale', inputs: ['X', { attr: 'scale', kind: 'float', slot: 'ScaleTensor' }], outputs: ['Out'] },
  ],
  [
    'pd_op.dropout',
    {
      type: 'dropout',
      inputs: ['X', 'Seed', { attr: 'dropout_prob', kind: 'float', slot: 'p' }],
      outputs: ['Out', 'Mask'],
      renames: { mode: 'dropout_implementation' },
    },
  ],
  ['pd_op.argmax', { type: 'arg_max', inputs: ['X', { attr: 'axis', kind: 'long', slot: 'axis' }], outputs: ['Out'] }],
  [
    'pd_op.topk',
    { type: 'top_k_v2', inputs: ['X', { attr: 'k', kind: 'int', slot: 'K' }], outputs: ['Out', 'Indices'] },
  ],
  ['pd_op.full', { type: 'fill_constant', inputs: [], outputs: ['Out'] }],
  ['pd_op.full_int_array', { type: 'assign_value', inputs: [], outputs: ['Out'], renames: { value: 'int64_values' } }],
]);

/** The spec of `name`, or of the op it is the in-place form of (`pd_op.relu_` -> `pd_op.relu`). */
export function pirOpSpec(name: string): PirOpSpec | undefined {
  return PIR_OPS.get(name) ?? (name.endsWith('_') ? PIR_OPS.get(name.slice(0, -1)) : undefined);
}
