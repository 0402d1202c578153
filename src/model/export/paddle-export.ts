/**
 * Writes a PP-LCNet network as a Paddle inference model (`inference.pdmodel` + `inference.pdiparams`), shaped
 * like what PaddleClas's export (paddle.jit.save -> save_inference_model) produces: PP-ShiTu's feature
 * extractor (backbone + linear neck) or a classifier (backbone + fc, optionally + softmax), at any geometry
 * (scale, stride list, with or without last_conv). The same op types, slots and attributes, static-graph
 * parameter names, parameters in the saver's sorted-name order, as Paddle 2.x writes them or as Paddle 3.0
 * does (`programVersion: 3`, checked against the real PP-LCNet_x0_25_textline_ori inference.pdmodel).
 * Two jobs: the product's export of a fine-tuned model (export-model.ts, the defaults: Paddle 2.x) and the
 * importer's fixtures (every option). It is not a Paddle runtime: only Paddle itself can confirm a file runs.
 */
import { WeightsError } from '../../core/errors.ts';
import type { NamedTensor, StateDict } from '../../core/state-dict.ts';
import { BN_EPSILON, INPUT_SIZE, planPPLCNet, type StrideHW } from '../architecture.ts';
import { networkParameters, standardNetwork, type BatchNormForm, type NetworkSpec } from '../parameters.ts';
import type { PaddleFloatType } from '../convert/paddle/paddle-params.ts';
import { writePaddleParams } from './paddle-params-writer.ts';
import type { ExportClassifier } from './onnx-export.ts';
import {
  savedVarNames,
  type PaddleAttr,
  type PaddleOp,
  type PaddleProgram,
  type PaddleVar,
} from '../convert/paddle/paddle-program.ts';
import { attrs, writePaddleProgram } from './paddle-program-writer.ts';
import { ATTR_TYPE, VAR_TYPE_CODE } from '../convert/paddle/paddle-proto.ts';

export interface PaddleExportOptions {
  /** The last linear layer as Paddle 2.x F.linear writes it (matmul_v2 + elementwise_add), as fluid did (matmul), or fused (fc). */
  readonly neckOp?: 'matmul_v2' | 'matmul' | 'fc';
  /** Store the last linear layer's weight as [out, in] and set trans_y / transpose_Y (not with 'fc'). */
  readonly transposeNeck?: boolean;
  /** Element type of the params stream and of the program's vars. */
  readonly dataType?: PaddleFloatType;
  /**
   * `downgrade_in_infer`: PaddleClas's Dropout(mode="downscale_in_infer") as the op records it; `scale`: a scale
   * op of 0.8 instead (what Paddle Inference's dropout passes leave); `upscale_in_train` / `none`: no factor in
   * the graph, so the written fc weight carries the 0.8 to keep the same function. Ignored without last_conv.
   */
  readonly dropout?: 'downgrade_in_infer' | 'upscale_in_train' | 'scale' | 'none';
  /** Paddle picks depthwise_conv2d or conv2d for grouped convs depending on the build (cuDNN, ROCm, NPU). */
  readonly depthwiseOp?: 'depthwise_conv2d' | 'conv2d';
  /** nn.AdaptiveAvgPool2D(1) (pool2d), or PaddleClas's NPU path (reduce_mean + reshape2). */
  readonly pool?: 'pool2d' | 'reduce_mean';
  /**
   * 2: a Paddle 2.x ProgramDesc (no version recorded; conv biases elementwise_add(axis=1) of the [C] parameter;
   * a scale(1.0) op before fetch). 3: Paddle 3.0's (version 3000000; conv biases reshape2 to [1, C, 1, 1] then
   * elementwise_add(axis=-1); `_deepcopy_<n>` parameter names; no scale op before fetch).
   */
  readonly programVersion?: 2 | 3;
  /** [height, width] of the feed var `x`. Default [224, 224]. */
  readonly inputSize?: readonly [number, number];
  /** -1 for H and W in `x` and every var after it (the batch is always -1). Default false. */
  readonly dynamicShape?: boolean;
  /** A classifier's softmax op before fetch. Default: the classifier's `softmax`, else false. */
  readonly softmax?: boolean;
}

export const DEFAULT_PADDLE_EXPORT_OPTIONS = Object.freeze({
  neckOp: 'matmul_v2',
  transposeNeck: false,
  dataType: 'fp32',
  dropout: 'downgrade_in_infer',
  depthwiseOp: 'depthwise_conv2d',
  pool: 'pool2d',
  programVersion: 2,
  inputSize: [INPUT_SIZE, INPUT_SIZE],
  dynamicShape: false,
} as const satisfies Required<Omit<PaddleExportOptions, 'softmax'>>);

/** A classifier's fc: the same as the ONNX writer's. */
export type PaddleExportClassifier = ExportClassifier;

/**
 * PP-ShiTu at PaddleClas's default geometry (`separate` or `folded` BatchNorm, told apart by the state dict's
 * names; folded convs are written conv + elementwise_add), or any network, which without a neck may carry a
 * classifier's fc. An ImportedModel is both.
 */
export type PaddleExportModel = StandardPaddleModel | NetworkPaddleModel;
export interface StandardPaddleModel {
  readonly scale: number;
  readonly embeddingDim: number;
  readonly stateDict: StateDict;
}
export interface NetworkPaddleModel {
  readonly network: NetworkSpec;
  readonly stateDict: StateDict;
  readonly classifier?: PaddleExportClassifier;
}
const isNetworkModel = (m: PaddleExportModel): m is NetworkPaddleModel => 'network' in m && m.network !== undefined;

export interface PaddleInferenceFiles {
  readonly pdmodel: Uint8Array;
  readonly pdiparams: Uint8Array;
}

/** The model before serialisation: what another writer needs to write it in another format (Paddle 3 PIR json). */
export interface PaddleInferenceProgram {
  readonly program: PaddleProgram;
  /** Every persistable var's tensor, in `.pdiparams` order (savedVarNames). */
  readonly params: ReadonlyMap<string, { readonly dims: readonly number[]; readonly data: ArrayLike<number> }>;
}

const FLOAT_CODE: Record<PaddleFloatType, number> = {
  fp32: VAR_TYPE_CODE.FP32,
  fp16: VAR_TYPE_CODE.FP16,
  bf16: VAR_TYPE_CODE.BF16,
  fp64: VAR_TYPE_CODE.FP64,
};

/** The version Paddle 3.0.0 records in a ProgramDesc (the real text-line model's). */
export const PADDLE_3_PROGRAM_VERSION = 3000000;

/** Attributes Paddle 3's program translator gives every op (op_callstack, a Python traceback, left out). */
const PADDLE_3_COMMON_ATTRS: readonly PaddleAttr[] = [
  attrs.string('op_device', ''),
  attrs.string('op_namescope', '/'),
  attrs.int('op_role', 0),
  { name: 'op_role_var', type: ATTR_TYPE.STRINGS, value: [] },
];

type Dims = readonly number[];

/**
 * Names the way Paddle's unique_name does: `<layer>_<n>` per layer kind for parameters, `<op>_<n>.tmp_0` for
 * values. Paddle 2.x programs (as this writer has always written them) name a conv's output after its layer;
 * Paddle 3 counts op types apart from layers and suffixes parameters `_deepcopy_<n>`.
 */
class ProgramBuilder {
  readonly vars = new Map<string, PaddleVar>();
  readonly ops: PaddleOp[] = [];
  readonly tensors = new Map<string, { dims: readonly number[]; data: ArrayLike<number> }>();
  private readonly counters = new Map<string, number>();
  private readonly layerCounters = new Map<string, number>();
  private paramCount = 0;
  constructor(
    private readonly dataType: number,
    readonly version: 2 | 3,
  ) {}

  unique(key: string): string {
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    return `${key}_${n}`;
  }
  /** A layer's name (`conv2d_3`, `batch_norm2d_3` in Paddle 3), for its parameters. */
  layer(kind: string): string {
    if (this.version === 2) return this.unique(kind);
    const key = kind === 'batch_norm' ? 'batch_norm2d' : kind;
    const n = this.layerCounters.get(key) ?? 0;
    this.layerCounters.set(key, n + 1);
    return `${key}_${n}`;
  }
  param(layer: string, suffix: string, t: { dims: readonly number[]; data: ArrayLike<number> }): string {
    const name = this.version === 2 ? `${layer}.${suffix}` : `${layer}.${suffix}_deepcopy_${this.paramCount++}`;
    this.vars.set(name, {
      name,
      type: VAR_TYPE_CODE.LOD_TENSOR,
      persistable: true,
      dataType: this.dataType,
      dims: t.dims,
    });
    this.tensors.set(name, t);
    return name;
  }
  tmp(name: string, dims: Dims, dataType = this.dataType): string {
    this.vars.set(name, { name, type: VAR_TYPE_CODE.LOD_TENSOR, persistable: false, dataType, dims });
    return name;
  }
  op(type: string, inputs: PaddleOp['inputs'], outputs: PaddleOp['outputs'], opAttrs: PaddleAttr[] = []): void {
    this.ops.push({
      type,
      inputs,
      outputs,
      attrs: this.version === 3 ? [...opAttrs, ...PADDLE_3_COMMON_ATTRS] : opAttrs,
    });
  }
  /** A one-input activation-like op; returns its output. */
  unary(type: string, key: string, x: string, dims: Dims, opAttrs: PaddleAttr[] = []): string {
    const out = this.tmp(`${this.unique(key)}.tmp_0`, dims);
    this.op(type, { X: [x] }, { Out: [out] }, opAttrs);
    return out;
  }
  add(x: string, y: string, axis: number, dims: Dims, out = `${this.unique('tmp')}`): string {
    this.tmp(out, dims);
    this.op('elementwise_add', { X: [x], Y: [y] }, { Out: [out] }, [attrs.int('axis', axis)]);
    return out;
  }
}

function resolveModel(model: PaddleExportModel): NetworkPaddleModel {
  if (isNetworkModel(model)) {
    checkStateDict(model.network, model.stateDict);
    const c = model.classifier;
    if (c) {
      const featureDim = planPPLCNet(model.network.geometry).featureDim;
      if (model.network.neckDim !== undefined)
        throw new WeightsError('writePaddleInference: a network with a neck cannot also have a classifier fc');
      if (c.weight.length !== featureDim * c.classes || c.bias.length !== c.classes) {
        throw new WeightsError(
          `writePaddleInference: the classifier needs a [${featureDim}, ${c.classes}] weight and a [${c.classes}] bias`,
        );
      }
    }
    return { network: model.network, stateDict: model.stateDict, classifier: c };
  }
  const form: BatchNormForm = model.stateDict.has('backbone.conv1.bn.weight') ? 'separate' : 'folded';
  const network = standardNetwork(model.scale, model.embeddingDim, form);
  checkStateDict(network, model.stateDict);
  return { network, stateDict: model.stateDict };
}

function checkStateDict(network: NetworkSpec, sd: StateDict): void {
  for (const spec of networkParameters(network)) {
    const t = sd.get(spec.name);
    if (!t) throw new WeightsError(`writePaddleInference: the state dict has no ${spec.name}`);
    if (t.shape.join() !== spec.shape.join()) {
      const want = spec.shape.join(', ');
      throw new WeightsError(
        `writePaddleInference: ${spec.name} has shape [${t.shape.join(', ')}], expected [${want}]`,
      );
    }
  }
}

const HARD_SWISH_ATTRS = [attrs.float('threshold', 6), attrs.float('scale', 6), attrs.float('offset', 3)];
const scaleAttrs = (scale: number): PaddleAttr[] => [
  attrs.float('scale', scale),
  attrs.float('bias', 0),
  attrs.bool('bias_after_scale', true),
];

/** The `inference.pdmodel` and `inference.pdiparams` bytes. */
export function writePaddleInference(
  model: PaddleExportModel,
  options: PaddleExportOptions = {},
): PaddleInferenceFiles {
  const { program, params } = buildPaddleInference(model, options);
  const dataType = options.dataType ?? DEFAULT_PADDLE_EXPORT_OPTIONS.dataType;
  return { pdmodel: writePaddleProgram(program), pdiparams: writePaddleParams([...params.values()], dataType) };
}

/** The same model before serialisation: the ProgramDesc as data and each saved tensor by name. */
export function buildPaddleInference(
  model: PaddleExportModel,
  options: PaddleExportOptions = {},
): PaddleInferenceProgram {
  const o = { ...DEFAULT_PADDLE_EXPORT_OPTIONS, ...options };
  if (o.neckOp === 'fc' && o.transposeNeck)
    throw new RangeError('writePaddleInference: the fc op has no transposed weight');
  if (o.programVersion !== 2 && o.programVersion !== 3)
    throw new RangeError(`writePaddleInference: programVersion must be 2 or 3, got ${o.programVersion}`);
  const { network, stateDict, classifier } = resolveModel(model);
  const softmax = options.softmax ?? classifier?.softmax ?? false;
  if (softmax && !classifier) throw new RangeError('writePaddleInference: softmax applies to a classifier only');
  const v3 = o.programVersion === 3;
  const form = network.batchNorm;
  const geometry = network.geometry;
  const get = (name: string): NamedTensor => stateDict.get(name)!;
  const plan = planPPLCNet(geometry);
  const b = new ProgramBuilder(FLOAT_CODE[o.dataType], o.programVersion);
  const dyn = o.dynamicShape;
  /** [h, w] of the current feature map; -1 when the input's are. */
  let hw: [number, number] = dyn ? [-1, -1] : [o.inputSize[0], o.inputSize[1]];
  const nchw = (c: number): Dims => [-1, c, ...hw];

  b.vars.set('feed', { name: 'feed', type: VAR_TYPE_CODE.FEED_MINIBATCH, persistable: true });
  b.vars.set('fetch', { name: 'fetch', type: VAR_TYPE_CODE.FETCH_LIST, persistable: true });
  let x = b.tmp('x', [-1, 3, ...hw], VAR_TYPE_CODE.FP32);
  b.op('feed', { X: ['feed'] }, { Out: [x] }, [attrs.int('col', 0)]);

  /** A conv bias: Paddle 2 adds the [C] parameter with axis=1; Paddle 3 reshapes it to [1, C, 1, 1] first. */
  const addBias = (y: string, layer: string, bias: NamedTensor, c: number): string => {
    const param = b.param(layer, 'b_0', { dims: bias.shape, data: bias.data });
    if (!v3) return b.add(y, param, 1, nchw(c));
    const r = b.unique('reshape2');
    const reshaped = b.tmp(`${r}.tmp_0`, [1, c, 1, 1]);
    b.op(
      'reshape2',
      { Shape: [], ShapeTensor: [], X: [param] },
      { Out: [reshaped], XShape: [b.tmp(`${r}.tmp_1`, [0, c])] },
      [attrs.ints('shape', [1, c, 1, 1])],
    );
    return b.add(y, reshaped, -1, nchw(c), y.replace(/\.tmp_0$/, '.tmp_1'));
  };
  const conv = (input: string, weight: NamedTensor, stride: StrideHW, groups: number, bias?: NamedTensor): string => {
    const layer = b.layer('conv2d');
    const [c, , k] = weight.shape as [number, number, number];
    const pad = (k - 1) / 2;
    if (!dyn) hw = [Math.floor((hw[0] - 1) / stride[0]) + 1, Math.floor((hw[1] - 1) / stride[1]) + 1];
    const w = b.param(layer, 'w_0', { dims: weight.shape, data: weight.data });
    const type = groups > 1 && o.depthwiseOp === 'depthwise_conv2d' ? 'depthwise_conv2d' : 'conv2d';
    const out = b.tmp(v3 ? `${b.unique(type)}.tmp_0` : `${layer}.tmp_0`, nchw(c));
    b.op(type, { Input: [input], Filter: [w] }, { Output: [out] }, [
      attrs.ints('strides', stride),
      attrs.ints('paddings', [pad, pad]),
      attrs.ints('dilations', [1, 1]),
      attrs.int('groups', groups),
      attrs.string('padding_algorithm', 'EXPLICIT'),
      attrs.string('data_format', 'NCHW'),
    ]);
    // F.conv2d adds its bias after the conv op; conv_bn_fuse_pass leaves the same pattern.
    return bias ? addBias(out, layer, bias, c) : out;
  };
  const hardSwish = (v: string, c: number): string => b.unary('hard_swish', 'hardswish', v, nchw(c), HARD_SWISH_ATTRS);
  const convBn = (input: string, prefix: string, stride: StrideHW, groups: number): string => {
    const weight = get(`${prefix}.conv.weight`);
    const c = weight.shape[0]!;
    if (form === 'folded') return hardSwish(conv(input, weight, stride, groups, get(`${prefix}.conv.bias`)), c);
    const y = conv(input, weight, stride, groups);
    const layer = b.layer('batch_norm');
    const p = (suffix: string, stat: string): string =>
      b.param(layer, suffix, { dims: [c], data: get(`${prefix}.bn.${stat}`).data });
    const [scale, bias, mean, variance] = [
      p('w_0', 'weight'),
      p('b_0', 'bias'),
      p('w_1', '_mean'),
      p('w_2', '_variance'),
    ];
    const bn = v3 ? b.unique('batch_norm') : layer;
    // Paddle 3 records the saved statistics without dims.
    const saved = [b.tmp(`${bn}.tmp_0`, v3 ? [] : [c]), b.tmp(`${bn}.tmp_1`, v3 ? [] : [c])];
    const out = b.tmp(`${bn}.tmp_2`, nchw(c));
    b.op(
      'batch_norm',
      {
        X: [y],
        Scale: [scale],
        Bias: [bias],
        Mean: [mean],
        Variance: [variance],
        ...(v3 ? { MomentumTensor: [] } : {}),
      },
      { Y: [out], MeanOut: [mean], VarianceOut: [variance], SavedMean: [saved[0]!], SavedVariance: [saved[1]!] },
      [
        attrs.float('epsilon', BN_EPSILON),
        attrs.float('momentum', 0.9),
        attrs.string('data_layout', 'NCHW'),
        attrs.bool('is_test', true),
        attrs.bool('use_global_stats', v3),
        attrs.bool('trainable_statistics', false),
      ],
    );
    return hardSwish(out, c);
  };
  const pool = (input: string, c: number): string => {
    hw = [1, 1];
    if (o.pool === 'pool2d') {
      const v3Attrs = v3
        ? [
            attrs.bool('ceil_mode', false),
            attrs.string('padding_algorithm', 'EXPLICIT'),
            attrs.bool('use_cudnn', false),
          ]
        : [];
      return b.unary(
        'pool2d',
        'pool2d',
        input,
        [-1, c, 1, 1],
        [
          attrs.string('pooling_type', 'avg'),
          attrs.ints('ksize', [1, 1]),
          attrs.bool('adaptive', true),
          attrs.bool('global_pooling', false),
          attrs.ints('strides', [1, 1]),
          attrs.ints('paddings', [0, 0]),
          attrs.bool('exclusive', true),
          attrs.string('data_format', 'NCHW'),
          ...v3Attrs,
        ],
      );
    }
    const mean = b.unary(
      'reduce_mean',
      'mean',
      input,
      [-1, c],
      [attrs.ints('dim', [2, 3]), attrs.bool('keep_dim', false), attrs.bool('reduce_all', false)],
    );
    const out = b.tmp(`${b.unique('reshape2')}.tmp_0`, [-1, c, 1, 1]);
    const xshape = b.tmp(`${out}.xshape`, [0, -1, c]);
    b.op('reshape2', { X: [mean] }, { Out: [out], XShape: [xshape] }, [attrs.ints('shape', [-1, c, 1, 1])]);
    return out;
  };

  x = convBn(x, 'backbone.conv1', plan.stemStride, 1);
  for (const blk of plan.blocks) {
    x = convBn(x, `backbone.${blk.name}.dw_conv`, blk.stride, blk.inChannels);
    if (blk.seChannels > 0) {
      const se = `backbone.${blk.name}.se`;
      const keep = hw;
      let s = pool(x, blk.inChannels);
      s = conv(s, get(`${se}.conv1.weight`), [1, 1], 1, get(`${se}.conv1.bias`));
      s = b.unary('relu', 'relu', s, [-1, blk.seChannels, 1, 1]);
      s = conv(s, get(`${se}.conv2.weight`), [1, 1], 1, get(`${se}.conv2.bias`));
      // nn.Hardsigmoid's defaults, as F.hardsigmoid records them.
      const gate = [attrs.float('slope', 0.1666667), attrs.float('offset', 0.5)];
      s = b.unary('hard_sigmoid', 'hardsigmoid', s, [-1, blk.inChannels, 1, 1], gate);
      hw = keep;
      const out = b.tmp(v3 ? b.unique('elementwise_mul') : b.unique('tmp'), nchw(blk.inChannels));
      b.op('elementwise_mul', { X: [x], Y: [s] }, { Out: [out] }, [attrs.int('axis', -1)]);
      x = out;
    }
    x = convBn(x, `backbone.${blk.name}.pw_conv`, [1, 1], 1);
  }
  x = pool(x, plan.lastConvIn);
  const featureDim = plan.featureDim;
  const feature = [-1, featureDim, 1, 1];
  const keep = 1 - geometry.dropoutProb;
  let graphFactor = 1;
  if (geometry.useLastConv) {
    x = b.unary(
      'hard_swish',
      'hardswish',
      conv(x, get('backbone.last_conv.weight'), [1, 1], 1),
      feature,
      HARD_SWISH_ATTRS,
    );
    if (o.dropout === 'downgrade_in_infer' || o.dropout === 'upscale_in_train') {
      const out = b.tmp(`${b.unique('dropout')}.tmp_0`, feature);
      const mask = b.tmp(`${out.slice(0, -1)}1`, feature, VAR_TYPE_CODE.UINT8);
      b.op('dropout', { X: [x] }, { Out: [out], Mask: [mask] }, [
        attrs.float('dropout_prob', geometry.dropoutProb),
        attrs.bool('is_test', true),
        attrs.string('dropout_implementation', o.dropout),
        attrs.bool('fix_seed', false),
        attrs.int('seed', 0),
      ]);
      x = out;
    } else if (o.dropout === 'scale') {
      x = b.unary('scale', 'scale', x, feature, scaleAttrs(keep));
    }
    graphFactor = o.dropout === 'downgrade_in_infer' || o.dropout === 'scale' ? keep : 1;
  }
  const flatKey = b.unique('flatten');
  const flat = b.tmp(`${flatKey}.tmp_0`, [-1, featureDim]);
  if (v3) {
    // Paddle 3 records the normalised stop_axis and keeps the XShape var without writing it.
    b.tmp(`${flatKey}.tmp_1`, [0, ...feature]);
    b.op('flatten_contiguous_range', { X: [x] }, { Out: [flat] }, [
      attrs.int('start_axis', 1),
      attrs.int('stop_axis', 3),
    ]);
  } else {
    b.op('flatten_contiguous_range', { X: [x] }, { Out: [flat], XShape: [b.tmp(`${flat}.xshape`, [0, ...feature])] }, [
      attrs.int('start_axis', 1),
      attrs.int('stop_axis', -1),
    ]);
  }
  x = flat;

  /** The last linear layer; with no dropout factor in the graph, the weight carries it. */
  const linear = (layer: string, w: ArrayLike<number>, bias: ArrayLike<number>, outDim: number): string => {
    const factor = geometry.useLastConv ? keep / graphFactor : 1;
    const data = new Float32Array(w.length);
    for (let i = 0; i < featureDim; i++) {
      for (let j = 0; j < outDim; j++)
        data[o.transposeNeck ? j * featureDim + i : i * outDim + j] =
          factor === 1 ? w[i * outDim + j]! : w[i * outDim + j]! * factor;
    }
    const weight = b.param(layer, 'w_0', { dims: o.transposeNeck ? [outDim, featureDim] : [featureDim, outDim], data });
    const biasVar = b.param(layer, 'b_0', { dims: [outDim], data: bias });
    if (o.neckOp === 'fc') {
      const out = b.tmp(`${layer}.tmp_1`, [-1, outDim]);
      b.op('fc', { Input: [x], W: [weight], Bias: [biasVar] }, { Out: [out] }, [
        attrs.int('in_num_col_dims', 1),
        attrs.string('activation_type', ''),
      ]);
      return out;
    }
    const mm = b.tmp(`${layer}.tmp_0`, [-1, outDim]);
    const t = o.transposeNeck;
    b.op(
      o.neckOp,
      { X: [x], Y: [weight] },
      { Out: [mm] },
      o.neckOp === 'matmul_v2'
        ? [attrs.bool('trans_x', false), attrs.bool('trans_y', t)]
        : [attrs.bool('transpose_X', false), attrs.bool('transpose_Y', t), attrs.float('alpha', 1)],
    );
    // F.linear adds the bias with axis = rank - 1 (1 here); Paddle 3's translator records -1.
    return v3 ? b.add(mm, biasVar, -1, [-1, outDim], `${layer}.tmp_1`) : b.add(mm, biasVar, 1, [-1, outDim]);
  };
  let outDim = featureDim;
  if (network.neckDim !== undefined) {
    // PPLCNet builds its own fc (linear_0) before stop_after("flatten") drops it, so RecModel's neck is linear_1.
    x = linear('linear_1', get('neck.fc.weight').data, get('neck.fc.bias').data, network.neckDim);
    outDim = network.neckDim;
  } else if (classifier) {
    x = linear('linear_0', classifier.weight, classifier.bias, classifier.classes);
    outDim = classifier.classes;
    // PaddleClas's ExportModel appends nn.Softmax(axis=-1) when infer_add_softmax.
    if (softmax) x = b.unary('softmax', 'softmax', x, [-1, outDim], [attrs.int('axis', -1)]);
  }
  if (!v3) {
    // normalize_program() appends scale(1.0) named save_infer_model/scale_<i> before each fetch target.
    const out = b.tmp('save_infer_model/scale_0.tmp_0', [-1, outDim]);
    b.op('scale', { X: [x] }, { Out: [out] }, scaleAttrs(1));
    x = out;
  }
  b.op('fetch', { X: [x] }, { Out: ['fetch'] }, [attrs.int('col', 0)]);

  // Paddle's BlockDesc has held vars in a std::map (sorted) in some versions and an unordered_map in others,
  // so files differ; write them sorted (Paddle 3.0: sorted, then feed and fetch), and the importer sorts for itself.
  const byName = (p: PaddleVar, q: PaddleVar): number => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0);
  const all = [...b.vars.values()];
  const isFeedFetch = (v: PaddleVar): boolean => v.name === 'feed' || v.name === 'fetch';
  const vars = v3 ? [...all.filter((v) => !isFeedFetch(v)).sort(byName), ...all.filter(isFeedFetch)] : all.sort(byName);
  const block = { idx: 0, parentIdx: -1, vars, ops: b.ops };
  const program: PaddleProgram = v3 ? { blocks: [block], version: PADDLE_3_PROGRAM_VERSION } : { blocks: [block] };
  const params = new Map(savedVarNames(program).map((n) => [n, b.tensors.get(n)!] as const));
  return { program, params };
}
