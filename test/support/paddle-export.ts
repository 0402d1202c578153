/**
 * Writes a PP-LCNet + linear-neck model as a Paddle 2.x inference model (`inference.pdmodel` +
 * `inference.pdiparams`), shaped like what PaddleClas's export (paddle.jit.save -> save_inference_model)
 * produces: the same op types, slots and attributes, static-graph parameter names, parameters in the
 * saver's sorted-name order. Its job is fixtures for the importer at any scale, and the variants Paddle
 * versions and passes produce; it is not a Paddle runtime and only Paddle itself can confirm a fixture runs.
 */
import { WeightsError } from '../../src/core/errors.ts';
import type { NamedTensor, StateDict } from '../../src/core/state-dict.ts';
import { DROPOUT_P, INFERENCE_DROPOUT_SCALE, INPUT_SIZE, planPPLCNet, BN_EPSILON, CLASS_EXPAND } from '../../src/model/architecture.ts';
import { convBnLayers, modelParameters, type BatchNormForm } from '../../src/model/parameters.ts';
import type { PaddleFloatType } from '../../src/model/convert/paddle/paddle-params.ts';
import { writePaddleParams } from './paddle-params-writer.ts';
import { savedVarNames, type PaddleAttr, type PaddleOp, type PaddleVar } from '../../src/model/convert/paddle/paddle-program.ts';
import { attrs, writePaddleProgram } from './paddle-program-writer.ts';
import { VAR_TYPE_CODE } from '../../src/model/convert/paddle/paddle-proto.ts';

export interface PaddleExportOptions {
  /** The neck as Paddle 2.x F.linear writes it (matmul_v2 + elementwise_add), as fluid did (matmul), or fused (fc). */
  readonly neckOp?: 'matmul_v2' | 'matmul' | 'fc';
  /** Store the neck weight as [out, in] and set trans_y / transpose_Y (not with 'fc'). */
  readonly transposeNeck?: boolean;
  /** Element type of the params stream and of the program's vars. */
  readonly dataType?: PaddleFloatType;
  /**
   * `downgrade_in_infer`: PaddleClas's Dropout(mode="downscale_in_infer") as the op records it; `scale`: a scale
   * op of 0.8 instead (what Paddle Inference's dropout passes leave); `upscale_in_train` / `none`: no factor in
   * the graph, so the written neck weight carries the 0.8 to keep the same function.
   */
  readonly dropout?: 'downgrade_in_infer' | 'upscale_in_train' | 'scale' | 'none';
  /** Paddle picks depthwise_conv2d or conv2d for grouped convs depending on the build (cuDNN, ROCm, NPU). */
  readonly depthwiseOp?: 'depthwise_conv2d' | 'conv2d';
  /** nn.AdaptiveAvgPool2D(1) (pool2d), or PaddleClas's NPU path (reduce_mean + reshape2). */
  readonly pool?: 'pool2d' | 'reduce_mean';
}

export const DEFAULT_PADDLE_EXPORT_OPTIONS: Readonly<Required<PaddleExportOptions>> = Object.freeze({
  neckOp: 'matmul_v2',
  transposeNeck: false,
  dataType: 'fp32',
  dropout: 'downgrade_in_infer',
  depthwiseOp: 'depthwise_conv2d',
  pool: 'pool2d',
});

export interface PaddleExportModel {
  readonly scale: number;
  readonly embeddingDim: number;
  /** `separate` or `folded` BatchNorm (src/model/parameters.ts); folded convs are written conv + elementwise_add. */
  readonly stateDict: StateDict;
}

export interface PaddleInferenceFiles {
  readonly pdmodel: Uint8Array;
  readonly pdiparams: Uint8Array;
}

const FLOAT_CODE: Record<PaddleFloatType, number> = {
  fp32: VAR_TYPE_CODE.FP32,
  fp16: VAR_TYPE_CODE.FP16,
  bf16: VAR_TYPE_CODE.BF16,
  fp64: VAR_TYPE_CODE.FP64,
};

/** Names the way Paddle's unique_name does: `<layer>_<n>` per layer kind, `.w_0` / `.b_0` / `.tmp_0` after it. */
class ProgramBuilder {
  readonly vars = new Map<string, PaddleVar>();
  readonly ops: PaddleOp[] = [];
  readonly tensors = new Map<string, { dims: readonly number[]; data: ArrayLike<number> }>();
  private readonly counters = new Map<string, number>();
  constructor(private readonly dataType: number) {}

  unique(key: string): string {
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    return `${key}_${n}`;
  }
  param(name: string, t: { dims: readonly number[]; data: ArrayLike<number> }): string {
    this.vars.set(name, { name, type: VAR_TYPE_CODE.LOD_TENSOR, persistable: true, dataType: this.dataType, dims: t.dims });
    this.tensors.set(name, t);
    return name;
  }
  tmp(name: string, dims: readonly number[], dataType = this.dataType): string {
    this.vars.set(name, { name, type: VAR_TYPE_CODE.LOD_TENSOR, persistable: false, dataType, dims });
    return name;
  }
  op(type: string, inputs: PaddleOp['inputs'], outputs: PaddleOp['outputs'], opAttrs: PaddleAttr[] = []): void {
    this.ops.push({ type, inputs, outputs, attrs: opAttrs });
  }
  /** A one-input activation-like op; returns its output. */
  unary(type: string, key: string, x: string, dims: readonly number[], opAttrs: PaddleAttr[] = []): string {
    const out = this.tmp(`${this.unique(key)}.tmp_0`, dims);
    this.op(type, { X: [x] }, { Out: [out] }, opAttrs);
    return out;
  }
  add(x: string, y: string, axis: number, dims: readonly number[]): string {
    const out = this.tmp(`${this.unique('tmp')}`, dims);
    this.op('elementwise_add', { X: [x], Y: [y] }, { Out: [out] }, [attrs.int('axis', axis)]);
    return out;
  }
}

function checkStateDict(model: PaddleExportModel): BatchNormForm {
  const form: BatchNormForm = model.stateDict.has('backbone.conv1.bn.weight') ? 'separate' : 'folded';
  for (const spec of modelParameters(model.scale, model.embeddingDim, form)) {
    const t = model.stateDict.get(spec.name);
    if (!t) throw new WeightsError(`writePaddleInference: the state dict has no ${spec.name}`);
    if (t.shape.join() !== spec.shape.join()) {
      const want = spec.shape.join(', ');
      throw new WeightsError(`writePaddleInference: ${spec.name} has shape [${t.shape.join(', ')}], expected [${want}]`);
    }
  }
  return form;
}

const HARD_SWISH_ATTRS = [attrs.float('threshold', 6), attrs.float('scale', 6), attrs.float('offset', 3)];
const scaleAttrs = (scale: number): PaddleAttr[] => [attrs.float('scale', scale), attrs.float('bias', 0), attrs.bool('bias_after_scale', true)];

export function writePaddleInference(model: PaddleExportModel, options: PaddleExportOptions = {}): PaddleInferenceFiles {
  const o = { ...DEFAULT_PADDLE_EXPORT_OPTIONS, ...options };
  if (o.neckOp === 'fc' && o.transposeNeck) throw new RangeError('writePaddleInference: the fc op has no transposed weight');
  const form = checkStateDict(model);
  const get = (name: string): NamedTensor => model.stateDict.get(name)!;
  const plan = planPPLCNet(model.scale);
  const b = new ProgramBuilder(FLOAT_CODE[o.dataType]);
  let size = INPUT_SIZE;

  b.vars.set('feed', { name: 'feed', type: VAR_TYPE_CODE.FEED_MINIBATCH, persistable: true });
  b.vars.set('fetch', { name: 'fetch', type: VAR_TYPE_CODE.FETCH_LIST, persistable: true });
  let x = b.tmp('x', [-1, 3, INPUT_SIZE, INPUT_SIZE], VAR_TYPE_CODE.FP32);
  b.op('feed', { X: ['feed'] }, { Out: [x] }, [attrs.int('col', 0)]);

  const conv = (input: string, weight: NamedTensor, stride: number, groups: number, bias?: NamedTensor): string => {
    const layer = b.unique('conv2d');
    const [c, , k] = weight.shape as [number, number, number];
    const pad = (k - 1) / 2;
    size = Math.ceil(size / stride);
    const w = b.param(`${layer}.w_0`, { dims: weight.shape, data: weight.data });
    let out = b.tmp(`${layer}.tmp_0`, [-1, c, size, size]);
    const type = groups > 1 && o.depthwiseOp === 'depthwise_conv2d' ? 'depthwise_conv2d' : 'conv2d';
    b.op(type, { Input: [input], Filter: [w] }, { Output: [out] }, [
      attrs.ints('strides', [stride, stride]),
      attrs.ints('paddings', [pad, pad]),
      attrs.ints('dilations', [1, 1]),
      attrs.int('groups', groups),
      attrs.string('padding_algorithm', 'EXPLICIT'),
      attrs.string('data_format', 'NCHW'),
    ]);
    // F.conv2d adds its bias with elementwise_add(axis=1); conv_bn_fuse_pass leaves the same pattern.
    if (bias) out = b.add(out, b.param(`${layer}.b_0`, { dims: bias.shape, data: bias.data }), 1, [-1, c, size, size]);
    return out;
  };
  const convBn = (input: string, prefix: string, stride: number, groups: number): string => {
    const weight = get(`${prefix}.conv.weight`);
    const c = weight.shape[0]!;
    const swish = (v: string): string => b.unary('hard_swish', 'hardswish', v, [-1, c, size, size], HARD_SWISH_ATTRS);
    if (form === 'folded') return swish(conv(input, weight, stride, groups, get(`${prefix}.conv.bias`)));
    const y = conv(input, weight, stride, groups);
    const bn = b.unique('batch_norm');
    const p = (suffix: string, stat: string): string =>
      b.param(`${bn}.${suffix}`, { dims: [c], data: get(`${prefix}.bn.${stat}`).data });
    const [scale, bias, mean, variance] = [p('w_0', 'weight'), p('b_0', 'bias'), p('w_1', '_mean'), p('w_2', '_variance')];
    const saved = [b.tmp(`${bn}.tmp_0`, [c]), b.tmp(`${bn}.tmp_1`, [c])];
    const out = b.tmp(`${bn}.tmp_2`, [-1, c, size, size]);
    b.op(
      'batch_norm',
      { X: [y], Scale: [scale], Bias: [bias], Mean: [mean], Variance: [variance] },
      { Y: [out], MeanOut: [mean], VarianceOut: [variance], SavedMean: [saved[0]!], SavedVariance: [saved[1]!] },
      [
        attrs.float('epsilon', BN_EPSILON),
        attrs.float('momentum', 0.9),
        attrs.string('data_layout', 'NCHW'),
        attrs.bool('is_test', true),
        attrs.bool('use_global_stats', false),
        attrs.bool('trainable_statistics', false),
      ],
    );
    return swish(out);
  };
  const pool = (input: string, c: number): string => {
    size = 1;
    if (o.pool === 'pool2d') {
      return b.unary('pool2d', 'pool2d', input, [-1, c, 1, 1], [
        attrs.string('pooling_type', 'avg'),
        attrs.ints('ksize', [1, 1]),
        attrs.bool('adaptive', true),
        attrs.bool('global_pooling', false),
        attrs.ints('strides', [1, 1]),
        attrs.ints('paddings', [0, 0]),
        attrs.bool('exclusive', true),
        attrs.string('data_format', 'NCHW'),
      ]);
    }
    const mean = b.unary('reduce_mean', 'mean', input, [-1, c], [
      attrs.ints('dim', [2, 3]),
      attrs.bool('keep_dim', false),
      attrs.bool('reduce_all', false),
    ]);
    const out = b.tmp(`${b.unique('reshape2')}.tmp_0`, [-1, c, 1, 1]);
    const xshape = b.tmp(`${out}.xshape`, [0, -1, c]);
    b.op('reshape2', { X: [mean] }, { Out: [out], XShape: [xshape] }, [attrs.ints('shape', [-1, c, 1, 1])]);
    return out;
  };

  const layers = new Map(convBnLayers(plan).map((l) => [l.prefix, l]));
  x = convBn(x, 'backbone.conv1', 2, 1);
  for (const blk of plan.blocks) {
    x = convBn(x, `backbone.${blk.name}.dw_conv`, blk.stride, layers.get(`backbone.${blk.name}.dw_conv`)!.shape[0]);
    if (blk.seChannels > 0) {
      const se = `backbone.${blk.name}.se`;
      const keep = size;
      let s = pool(x, blk.inChannels);
      s = conv(s, get(`${se}.conv1.weight`), 1, 1, get(`${se}.conv1.bias`));
      s = b.unary('relu', 'relu', s, [-1, blk.seChannels, 1, 1]);
      s = conv(s, get(`${se}.conv2.weight`), 1, 1, get(`${se}.conv2.bias`));
      // nn.Hardsigmoid's defaults, as F.hardsigmoid records them.
      const gate = [attrs.float('slope', 0.1666667), attrs.float('offset', 0.5)];
      s = b.unary('hard_sigmoid', 'hardsigmoid', s, [-1, blk.inChannels, 1, 1], gate);
      size = keep;
      const out = b.tmp(`${b.unique('tmp')}`, [-1, blk.inChannels, size, size]);
      b.op('elementwise_mul', { X: [x], Y: [s] }, { Out: [out] }, [attrs.int('axis', -1)]);
      x = out;
    }
    x = convBn(x, `backbone.${blk.name}.pw_conv`, 1, 1);
  }
  x = pool(x, plan.lastConvIn);
  const feature = [-1, CLASS_EXPAND, 1, 1];
  x = b.unary('hard_swish', 'hardswish', conv(x, get('backbone.last_conv.weight'), 1, 1), feature, HARD_SWISH_ATTRS);
  if (o.dropout === 'downgrade_in_infer' || o.dropout === 'upscale_in_train') {
    const out = b.tmp(`${b.unique('dropout')}.tmp_0`, feature);
    const mask = b.tmp(`${out.slice(0, -1)}1`, feature, VAR_TYPE_CODE.UINT8);
    b.op('dropout', { X: [x] }, { Out: [out], Mask: [mask] }, [
      attrs.float('dropout_prob', DROPOUT_P), attrs.bool('is_test', true), attrs.string('dropout_implementation', o.dropout),
      attrs.bool('fix_seed', false), attrs.int('seed', 0),
    ]);
    x = out;
  } else if (o.dropout === 'scale') {
    x = b.unary('scale', 'scale', x, feature, scaleAttrs(INFERENCE_DROPOUT_SCALE));
  }
  const flat = b.tmp(`${b.unique('flatten')}.tmp_0`, [-1, CLASS_EXPAND]);
  b.op('flatten_contiguous_range', { X: [x] }, { Out: [flat], XShape: [b.tmp(`${flat}.xshape`, [0, ...feature])] }, [
    attrs.int('start_axis', 1),
    attrs.int('stop_axis', -1),
  ]);

  // The graph must compute what the model does: with no 0.8 in the graph, the weight carries it.
  const graphFactor = o.dropout === 'downgrade_in_infer' || o.dropout === 'scale' ? INFERENCE_DROPOUT_SCALE : 1;
  const D = model.embeddingDim;
  const w = get('neck.fc.weight').data;
  const factor = INFERENCE_DROPOUT_SCALE / graphFactor;
  const neckW = new Float32Array(w.length);
  for (let i = 0; i < CLASS_EXPAND; i++) {
    for (let j = 0; j < D; j++) {
      const v = w[i * D + j]!;
      neckW[o.transposeNeck ? j * CLASS_EXPAND + i : i * D + j] = factor === 1 ? v : v * factor;
    }
  }
  // PPLCNet builds its own fc (linear_0) before stop_after("flatten") drops it, so RecModel's neck is linear_1.
  const weight = b.param('linear_1.w_0', { dims: o.transposeNeck ? [D, CLASS_EXPAND] : [CLASS_EXPAND, D], data: neckW });
  const bias = b.param('linear_1.b_0', { dims: [D], data: get('neck.fc.bias').data });
  let emb: string;
  if (o.neckOp === 'fc') {
    emb = b.tmp('linear_1.tmp_1', [-1, D]);
    b.op('fc', { Input: [flat], W: [weight], Bias: [bias] }, { Out: [emb] }, [
      attrs.int('in_num_col_dims', 1),
      attrs.string('activation_type', ''),
    ]);
  } else {
    const mm = b.tmp('linear_1.tmp_0', [-1, D]);
    const t = o.transposeNeck;
    b.op(o.neckOp, { X: [flat], Y: [weight] }, { Out: [mm] }, o.neckOp === 'matmul_v2'
      ? [attrs.bool('trans_x', false), attrs.bool('trans_y', t)]
      : [attrs.bool('transpose_X', false), attrs.bool('transpose_Y', t), attrs.float('alpha', 1)]);
    emb = b.add(mm, bias, 1, [-1, D]);
  }
  // normalize_program() appends scale(1.0) named save_infer_model/scale_<i> before each fetch target.
  const out = b.tmp('save_infer_model/scale_0.tmp_0', [-1, D]);
  b.op('scale', { X: [emb] }, { Out: [out] }, scaleAttrs(1));
  b.op('fetch', { X: [out] }, { Out: ['fetch'] }, [attrs.int('col', 0)]);

  // Paddle's BlockDesc has held vars in a std::map (sorted) in some versions and an unordered_map in others,
  // so files differ; write them sorted, and the importer sorts for itself.
  const vars = [...b.vars.values()].sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
  const program = { blocks: [{ idx: 0, parentIdx: -1, vars, ops: b.ops }] };
  const pdiparams = writePaddleParams(savedVarNames(program).map((n) => b.tensors.get(n)!), o.dataType);
  return { pdmodel: writePaddleProgram(program), pdiparams };
}
