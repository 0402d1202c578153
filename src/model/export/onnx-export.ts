/**
 * Writes a PP-LCNet network as the ONNX graph paddle2onnx makes of a PaddleClas inference model: PP-ShiTu's
 * feature extractor (backbone + linear neck; output the [N, D] embedding, not L2-normalised) or a classifier
 * (backbone + fc, optionally + Softmax), at any geometry (scale, stride list, with or without last_conv).
 * Input `x` float32 [N, 3, H, W].
 *
 * Two jobs. The product exports a fine-tuned model with the defaults (export-model.ts): opset 11 as
 * paddle2onnx writes it. And the importer must be tested against every way a real export spells the same graph
 * (opsets 7-21, weights as initializers or Constant nodes, activation decompositions, Identity nodes, bias
 * placement, flatten and dropout forms, value naming of two paddle2onnx generations), and no real export can
 * be shipped with the tests. The options below are those spellings; each one computes the same function.
 */
import { OptionsError, WeightsError } from '../../core/errors.ts';
import type { StateDict } from '../../core/state-dict.ts';
import { BN_EPSILON, INPUT_SIZE, planPPLCNet, type StrideHW } from '../architecture.ts';
import { networkParameters, standardNetwork, type BatchNormForm, type NetworkSpec } from '../parameters.ts';
import type { ImportedClassifier } from '../convert/imported-model.ts';
import { encodeOnnxModel, type OnnxModelSpec, type OnnxValueInfoSpec } from './onnx-encode.ts';
import { DATA_TYPE, irVersionForOpset, MAX_OPSET, MIN_OPSET } from '../convert/onnx/onnx-proto.ts';
import { OnnxGraphBuilder, type OnnxNaming, type TensorValues } from './onnx-graph-builder.ts';

export const HARDSWISH_FORMS = ['HardSwish', 'HardSigmoid-Mul', 'Add-Clip-Mul-Div', 'Relu6-form'] as const;
export const HARDSIGMOID_FORMS = ['HardSigmoid', 'Add-Clip-Div'] as const;
export const DROPOUT_FORMS = ['Mul', 'none', 'Dropout-Mul', 'Mul-Add'] as const;
export const FLATTEN_FORMS = [
  'Flatten',
  'Reshape',
  'Shape-Slice-Concat-Reshape',
  'Shape-Gather-Unsqueeze-Concat-Reshape',
  'Squeeze',
] as const;
export const IDENTITY_FORMS = ['none', 'elementwise', 'output', 'elementwise+output'] as const;
export const CONV_BIAS_FORMS = ['input', 'Add', 'Reshape-Add'] as const;
export const SOFTMAX_FORMS = ['none', 1, -1] as const;
export const EXTRA_OUTPUT_FORMS = ['none', 'ArgMax-Cast', 'TopK'] as const;
export type HardswishForm = (typeof HARDSWISH_FORMS)[number];
export type HardsigmoidForm = (typeof HARDSIGMOID_FORMS)[number];
export type DropoutForm = (typeof DROPOUT_FORMS)[number];
export type FlattenForm = (typeof FLATTEN_FORMS)[number];
export type IdentityForm = (typeof IDENTITY_FORMS)[number];
export type ConvBiasForm = (typeof CONV_BIAS_FORMS)[number];
export type SoftmaxForm = (typeof SOFTMAX_FORMS)[number];
export type ExtraOutputForm = (typeof EXTRA_OUTPUT_FORMS)[number];

export interface OnnxExportOptions {
  /** ONNX opset, an integer in 7..21; every op is written in that opset's form. Default 11, paddle2onnx's default. */
  readonly opset?: number;
  /** The ModelProto's ir_version. Default: the IR the opset shipped with (the real PIR-era file writes 10 at opset 11). */
  readonly irVersion?: number;
  /** Where parameters go: `initializer` (graph initializers) or `constant` (Constant nodes). Default `initializer`. */
  readonly weights?: 'initializer' | 'constant';
  /**
   * How hardswish is spelled. Default: `HardSwish` at opset >= 14 (the op exists from 14), else
   * `HardSigmoid-Mul`, x * HardSigmoid(alpha=1/6, beta=0.5)(x), which is what paddle2onnx writes at opset 11.
   * `Add-Clip-Mul-Div`: x * Clip(x + 3, 0, 6) / 6. `Relu6-form`: x * Min(Relu(x + 3), 6) * (1/6) (opset >= 8).
   */
  readonly hardswish?: HardswishForm;
  /** The SE gate, Paddle's clip(x/6 + 0.5, 0, 1): `HardSigmoid` (alpha=1/6) or `Add-Clip-Div`. Default `HardSigmoid`. */
  readonly hardsigmoid?: HardsigmoidForm;
  /** The neck or classifier fc: `MatMul-Add` (paddle2onnx's matmul_v2 + elementwise_add) or `Gemm`. Default `MatMul-Add`. */
  readonly neck?: 'MatMul-Add' | 'Gemm';
  /**
   * Dropout after last_conv at inference (x (1 - p)): `Mul` by 0.8 (paddle2onnx's dropout mapper), `none` with
   * the factor folded into the next fc's weight, `Dropout-Mul` (an ONNX Dropout, an identity at inference, then
   * the Mul), or `Mul-Add` (a Paddle `scale` op as legacy paddle2onnx writes it: Mul 0.8, then Add 0).
   * Default `Mul`. Ignored without last_conv.
   */
  readonly dropout?: DropoutForm;
  /** Global average pooling: `GlobalAveragePool` or `ReduceMean` over axes [2, 3]. Default `GlobalAveragePool`. */
  readonly pool?: 'GlobalAveragePool' | 'ReduceMean';
  /**
   * [N, C, 1, 1] -> [N, C]: `Flatten` (axis 1), `Reshape` to the constant [0, -1], `Shape-Slice-Concat-Reshape`
   * (the computed shape of PIR-era paddle2onnx's flatten mapper), `Shape-Gather-Unsqueeze-Concat-Reshape` (the
   * legacy computed shape), or `Squeeze` of axes [2, 3]. Default `Flatten`.
   */
  readonly flatten?: FlattenForm;
  /**
   * Identity nodes: `elementwise` (after every Add / Mul that stands for a Paddle elementwise op, as PIR-era
   * paddle2onnx writes `Add -> Identity`), `output` (a trailing Identity writing the graph output, as legacy
   * paddle2onnx turns the program's final `scale` op into), both, or `none`. Default `none`.
   */
  readonly identity?: IdentityForm;
  /**
   * Bias of the folded-BatchNorm convs and of the SE convs: `input` (the Conv's third input), `Add` (a following
   * Add of a [1, C, 1, 1] constant, as PIR-era paddle2onnx writes the SE biases), or `Reshape-Add` (the [C]
   * bias reshaped to [1, C, 1, 1] in the graph, as paddle2onnx maps elementwise_add with axis 1). Default `input`.
   */
  readonly convBias?: ConvBiasForm;
  /** A classifier's Softmax after the fc: `none`, or its axis (1 or -1). Default: 1 when the classifier says softmax, else `none`. */
  readonly softmax?: SoftmaxForm;
  /** Extra graph outputs after a classifier's output that the importer must ignore. Default `none`. */
  readonly extraOutputs?: ExtraOutputForm;
  /** Value and parameter names of `legacy` or `pir`-era paddle2onnx (see onnx-graph-builder.ts). Default `legacy`. */
  readonly naming?: OnnxNaming;
  /** [height, width] of the declared input. Default [224, 224]. */
  readonly inputSize?: readonly [number, number];
  /** Symbolic H and W in the declared input (the batch is always symbolic). Default false. */
  readonly dynamicShape?: boolean;
}

export type ResolvedOnnxExportOptions = Required<Omit<OnnxExportOptions, 'softmax' | 'irVersion'>> & {
  readonly irVersion: number;
  readonly softmax: SoftmaxForm | undefined;
};

export const DEFAULT_ONNX_EXPORT_OPTIONS = {
  opset: 11,
  weights: 'initializer',
  hardsigmoid: 'HardSigmoid',
  neck: 'MatMul-Add',
  dropout: 'Mul',
  pool: 'GlobalAveragePool',
  flatten: 'Flatten',
  identity: 'none',
  convBias: 'input',
  extraOutputs: 'none',
  naming: 'legacy',
  inputSize: [INPUT_SIZE, INPUT_SIZE],
  dynamicShape: false,
} as const satisfies Omit<ResolvedOnnxExportOptions, 'hardswish' | 'softmax' | 'irVersion'>;

/** A classifier's fc (Paddle Linear layout, weight [featureDim, classes]); `softmax` sets the default of the option. */
export type ExportClassifier = Pick<ImportedClassifier, 'weight' | 'bias' | 'classes'> & { readonly softmax?: boolean };

/**
 * What the writers need of a model: PP-ShiTu at PaddleClas's default geometry (`scale`, `embeddingDim`,
 * `batchNorm`), or any network, which without a neck may carry a classifier's fc. An ImportedModel is both.
 */
export type OnnxExportModel = StandardExportModel | NetworkExportModel;
export interface StandardExportModel {
  readonly scale: number;
  readonly embeddingDim: number;
  readonly batchNorm: BatchNormForm;
  readonly stateDict: StateDict;
}
export interface NetworkExportModel {
  readonly network: NetworkSpec;
  readonly stateDict: StateDict;
  readonly classifier?: ExportClassifier;
}

const isNetworkModel = (m: OnnxExportModel): m is NetworkExportModel => 'network' in m && m.network !== undefined;

export const ONNX_INPUT_NAME = 'x';
/** The output name legacy paddle2onnx gives a PaddleClas inference model's output. */
export const ONNX_OUTPUT_NAME = 'save_infer_model/scale_0.tmp_1';
/** The output name PIR-era paddle2onnx gives it. */
export const ONNX_PIR_OUTPUT_NAME = 'fetch_name_0';

const choices = <T extends string | number>(key: string, value: unknown, valid: readonly T[]): T => {
  if (!valid.includes(value as T)) {
    throw new OptionsError(
      `OnnxExportOptions.${key} must be one of ${valid.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(value)}.`,
    );
  }
  return value as T;
};

export function validateOnnxExportOptions(options: OnnxExportOptions = {}): ResolvedOnnxExportOptions {
  const d = DEFAULT_ONNX_EXPORT_OPTIONS;
  const opset = options.opset ?? d.opset;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OptionsError(
      `OnnxExportOptions.opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}; got ${opset}.`,
    );
  }
  const hardswish = choices(
    'hardswish',
    options.hardswish ?? (opset >= 14 ? 'HardSwish' : 'HardSigmoid-Mul'),
    HARDSWISH_FORMS,
  );
  if (hardswish === 'HardSwish' && opset < 14) {
    throw new OptionsError(
      `OnnxExportOptions.hardswish 'HardSwish' needs opset 14 or later (got opset ${opset}); use 'HardSigmoid-Mul'.`,
    );
  }
  if (hardswish === 'Relu6-form' && opset < 8) {
    throw new OptionsError(
      `OnnxExportOptions.hardswish 'Relu6-form' needs opset 8 or later (Min broadcasts from 8; got opset ${opset}).`,
    );
  }
  const irVersion = options.irVersion ?? irVersionForOpset(opset);
  if (!Number.isInteger(irVersion) || irVersion < 3)
    throw new OptionsError(`OnnxExportOptions.irVersion must be an integer >= 3; got ${irVersion}.`);
  const inputSize = options.inputSize ?? d.inputSize;
  if (inputSize.length !== 2 || !inputSize.every((v) => Number.isInteger(v) && v > 0)) {
    throw new OptionsError(
      `OnnxExportOptions.inputSize must be [height, width], positive integers; got ${JSON.stringify(inputSize)}.`,
    );
  }
  return {
    opset,
    irVersion,
    hardswish,
    weights: choices('weights', options.weights ?? d.weights, ['initializer', 'constant']),
    hardsigmoid: choices('hardsigmoid', options.hardsigmoid ?? d.hardsigmoid, HARDSIGMOID_FORMS),
    neck: choices('neck', options.neck ?? d.neck, ['MatMul-Add', 'Gemm']),
    dropout: choices('dropout', options.dropout ?? d.dropout, DROPOUT_FORMS),
    pool: choices('pool', options.pool ?? d.pool, ['GlobalAveragePool', 'ReduceMean']),
    flatten: choices('flatten', options.flatten ?? d.flatten, FLATTEN_FORMS),
    identity: choices('identity', options.identity ?? d.identity, IDENTITY_FORMS),
    convBias: choices('convBias', options.convBias ?? d.convBias, CONV_BIAS_FORMS),
    softmax: options.softmax === undefined ? undefined : choices('softmax', options.softmax, SOFTMAX_FORMS),
    extraOutputs: choices('extraOutputs', options.extraOutputs ?? d.extraOutputs, EXTRA_OUTPUT_FORMS),
    naming: choices('naming', options.naming ?? d.naming, ['legacy', 'pir']),
    inputSize: [inputSize[0], inputSize[1]],
    dynamicShape: options.dynamicShape ?? d.dynamicShape,
  };
}

/** The ONNX file's bytes. */
export function writePPLCNetOnnx(model: OnnxExportModel, options: OnnxExportOptions = {}): Uint8Array {
  return encodeOnnxModel(buildPPLCNetOnnx(model, options));
}

/** The network a model describes, its state dict checked against the parameter table. */
export function resolveExportModel(model: OnnxExportModel, who = 'Cannot export'): NetworkExportModel {
  const m: NetworkExportModel = isNetworkModel(model)
    ? { network: model.network, stateDict: model.stateDict, classifier: model.classifier }
    : { network: standardNetwork(model.scale, model.embeddingDim, model.batchNorm), stateDict: model.stateDict };
  checkStateDict(m.network, m.stateDict, who);
  const c = m.classifier;
  if (c) {
    if (m.network.neckDim !== undefined)
      throw new WeightsError(`${who}: a network with a neck cannot also have a classifier fc.`);
    const featureDim = planPPLCNet(m.network.geometry).featureDim;
    if (c.weight.length !== featureDim * c.classes || c.bias.length !== c.classes) {
      throw new WeightsError(
        `${who}: the classifier needs a [${featureDim}, ${c.classes}] weight and a [${c.classes}] bias; got ${c.weight.length} and ${c.bias.length} values.`,
      );
    }
  }
  return m;
}

/** The ONNX model as data, before encoding (tests edit it to make malformed files). */
export function buildPPLCNetOnnx(model: OnnxExportModel, options: OnnxExportOptions = {}): OnnxModelSpec {
  const o = validateOnnxExportOptions(options);
  const m = resolveExportModel(model);
  const { network, stateDict: sd, classifier } = m;
  const plan = planPPLCNet(network.geometry);
  const useLastConv = network.geometry.useLastConv;
  const keep = 1 - network.geometry.dropoutProb;
  const softmax = o.softmax ?? (classifier?.softmax ? 1 : 'none');
  const hasLinear = classifier !== undefined || network.neckDim !== undefined;
  if (!classifier && (softmax !== 'none' || o.extraOutputs !== 'none')) {
    throw new OptionsError(
      'OnnxExportOptions.softmax and extraOutputs apply to a classifier only; this model has no classifier fc.',
    );
  }
  if (useLastConv && o.dropout === 'none' && !hasLinear) {
    throw new OptionsError(
      `OnnxExportOptions.dropout 'none' folds the dropout factor into the next fc, and this network has none.`,
    );
  }

  const g = new OnnxGraphBuilder({ weights: o.weights, opset: o.opset, naming: o.naming });
  const pir = o.naming === 'pir';
  const identityAfterElementwise = o.identity === 'elementwise' || o.identity === 'elementwise+output';
  const t = (name: string): TensorValues => ({ dims: sd.get(name)!.shape, values: sd.get(name)!.data });

  /** An Add or Mul standing for a Paddle elementwise op; PIR-era paddle2onnx follows each with an Identity. */
  const elementwise = (opType: 'Add' | 'Mul', inputs: readonly string[], paddleOp: string): string =>
    identityAfterElementwise
      ? g.op('Identity', [g.op(opType, inputs)], undefined, g.value(paddleOp))
      : g.op(opType, inputs, undefined, g.value(paddleOp));

  const hardswish = (x: string): string => {
    const out = g.value('hardswish');
    switch (o.hardswish) {
      case 'HardSwish':
        return g.op('HardSwish', [x], undefined, out);
      case 'HardSigmoid-Mul': {
        const gate = g.op('HardSigmoid', [x], { alpha: g.float(1 / 6), beta: g.float(0.5) });
        // The real PIR-era file multiplies HardSigmoid(x) by x; older exports x by HardSigmoid(x).
        return g.op('Mul', pir ? [gate, x] : [x, gate], undefined, out);
      }
      case 'Add-Clip-Mul-Div': {
        const clipped = g.clip(g.op('Add', [x, g.scalar(3)]), 0, 6);
        return g.op('Div', [g.op('Mul', [x, clipped]), g.scalar(6)], undefined, out);
      }
      case 'Relu6-form': {
        const relu6 = g.op('Min', [g.op('Relu', [g.op('Add', [x, g.scalar(3)])]), g.scalar(6)]);
        return g.op('Mul', [g.op('Mul', [x, relu6]), g.scalar(1 / 6)], undefined, out);
      }
    }
  };
  const hardsigmoid = (x: string): string => {
    const out = g.value('hardsigmoid');
    // Paddle's nn.Hardsigmoid records slope 0.1666667, which the PIR-era file carries; older files write 1/6.
    if (o.hardsigmoid === 'HardSigmoid')
      return g.op('HardSigmoid', [x], { alpha: g.float(pir ? 0.1666667 : 1 / 6), beta: g.float(0.5) }, out);
    return g.op('Div', [g.clip(g.op('Add', [x, g.scalar(3)]), 0, 6), g.scalar(6)], undefined, out);
  };
  const pool = (x: string): string =>
    o.pool === 'GlobalAveragePool'
      ? g.op('GlobalAveragePool', [x], undefined, g.value('pool2d'))
      : g.reduceMean(x, [2, 3], true, g.value('pool2d'));
  const conv = (x: string, weight: string, bias: string | undefined, stride: StrideHW, group: number): string => {
    const k = sd.get(weight)!.shape[2]!;
    const p = (k - 1) / 2;
    const inputs = [x, g.param('conv2d', 'w_0', t(weight))];
    let biasTerm: string | undefined;
    if (bias) {
      const b = sd.get(bias)!.data;
      if (o.convBias === 'input') inputs.push(g.param('conv2d', 'b_0', t(bias)));
      else if (o.convBias === 'Reshape-Add')
        biasTerm = g.reshape(g.param('conv2d', 'b_0', t(bias)), g.int64s([1, b.length, 1, 1]));
      else {
        // PIR-era paddle2onnx folds Paddle 3's reshape of the bias into a [1, C, 1, 1] constant named after the
        // reshape; the parameter's own name still uses up its _deepcopy_ number.
        const name = g.paramName('conv2d', 'b_0');
        biasTerm = g.weight(pir ? g.value('reshape') : name, { dims: [1, b.length, 1, 1], values: b });
      }
    }
    g.nextLayer('conv2d');
    const y = g.op(
      'Conv',
      inputs,
      {
        dilations: g.ints([1, 1]),
        group: g.int(group),
        kernel_shape: g.ints([k, k]),
        pads: g.ints([p, p, p, p]),
        strides: g.ints(stride),
      },
      g.value(group > 1 ? 'depthwise_conv2d' : 'conv2d'),
    );
    return biasTerm === undefined ? y : elementwise('Add', [y, biasTerm], 'add');
  };
  const convBnHardswish = (x: string, prefix: string, stride: StrideHW, group: number): string => {
    if (network.batchNorm === 'folded')
      return hardswish(conv(x, `${prefix}.conv.weight`, `${prefix}.conv.bias`, stride, group));
    const c = conv(x, `${prefix}.conv.weight`, undefined, stride, group);
    // Paddle's parameter names: w_0 scale, b_0 shift, w_1 running mean, w_2 running variance.
    const bn = ['weight', 'bias', '_mean', '_variance'].map((s, i) =>
      g.param('batch_norm', ['w_0', 'b_0', 'w_1', 'w_2'][i]!, t(`${prefix}.bn.${s}`)),
    );
    g.nextLayer('batch_norm');
    return hardswish(
      g.op(
        'BatchNormalization',
        [c, ...bn],
        { epsilon: g.float(BN_EPSILON), momentum: g.float(0.9) },
        g.value('batch_norm_'),
      ),
    );
  };
  const dropout = (x: string): string => {
    switch (o.dropout) {
      case 'none':
        return x;
      case 'Mul':
        // paddle2onnx's dropout mapper: Constant({1}, 1 - p); older exports a rank-0 scalar.
        return g.op('Mul', [x, g.scalar(keep, pir ? [1] : [])], undefined, g.value('dropout'));
      case 'Dropout-Mul':
        return g.op('Mul', [g.dropout(x, network.geometry.dropoutProb), g.scalar(keep)], undefined, g.value('dropout'));
      case 'Mul-Add':
        // Legacy paddle2onnx's scale mapper: Mul by [scale], then Add [bias] (here 0).
        return elementwise('Add', [g.op('Mul', [x, g.scalar(keep, [1])]), g.scalar(0, [1])], 'scale');
    }
  };
  const flatten = (x: string): string => {
    const out = g.value('flatten');
    switch (o.flatten) {
      case 'Flatten':
        return g.op('Flatten', [x], { axis: g.int(1) }, out);
      case 'Reshape':
        return g.reshape(x, g.int64s([0, -1]), out);
      case 'Squeeze':
        return g.squeeze(x, [2, 3], out);
      case 'Shape-Slice-Concat-Reshape': {
        // FlattenMapper (start_axis 1, stop_axis -1): Concat(Slice(Shape(x), axes [0], starts [0], ends [1]), [-1]).
        const minusOne = g.int64s([-1]);
        const batch = g.slice(g.op('Shape', [x]), [0], [1], [0]);
        return g.reshape(x, g.op('Concat', [batch, minusOne], { axis: g.int(0) }), out);
      }
      case 'Shape-Gather-Unsqueeze-Concat-Reshape': {
        const batch = g.op('Gather', [g.op('Shape', [x]), g.int64s([0], [])], { axis: g.int(0) });
        return g.reshape(x, g.op('Concat', [g.unsqueeze(batch, [0]), g.int64s([-1])], { axis: g.int(0) }), out);
      }
    }
  };
  /** x W + b with W [in, out] (Paddle's Linear layout), scaled by `factor` (the folded dropout). */
  const linear = (x: string, weight: TensorValues, bias: TensorValues, factor: number): string => {
    const w = g.param(
      'linear',
      'w_0',
      factor === 1 ? weight : { dims: weight.dims, values: Array.from(weight.values, (v) => v * factor) },
    );
    const b = g.param('linear', 'b_0', bias);
    g.nextLayer('linear');
    if (o.neck === 'Gemm')
      return g.op('Gemm', [x, w, b], { alpha: g.float(1), beta: g.float(1), transB: g.int(0) }, g.value('linear'));
    return elementwise('Add', [g.op('MatMul', [x, w], undefined, g.value('matmul')), b], 'add');
  };

  let x = convBnHardswish(ONNX_INPUT_NAME, 'backbone.conv1', plan.stemStride, 1);
  for (const b of plan.blocks) {
    const p = `backbone.${b.name}`;
    x = convBnHardswish(x, `${p}.dw_conv`, b.stride, b.inChannels);
    if (b.seChannels > 0) {
      const squeezed = conv(pool(x), `${p}.se.conv1.weight`, `${p}.se.conv1.bias`, [1, 1], 1);
      const relu = g.op('Relu', [squeezed], undefined, g.value('relu'));
      const gate = hardsigmoid(conv(relu, `${p}.se.conv2.weight`, `${p}.se.conv2.bias`, [1, 1], 1));
      x = elementwise('Mul', [x, gate], 'multiply');
    }
    x = convBnHardswish(x, `${p}.pw_conv`, [1, 1], 1);
  }
  x = pool(x);
  if (useLastConv) x = dropout(hardswish(conv(x, 'backbone.last_conv.weight', undefined, [1, 1], 1)));
  x = flatten(x);

  const factor = useLastConv && o.dropout === 'none' ? keep : 1;
  let outDim = plan.featureDim;
  if (network.neckDim !== undefined) {
    x = linear(x, t('neck.fc.weight'), t('neck.fc.bias'), factor);
    outDim = network.neckDim;
  } else if (classifier) {
    x = linear(
      x,
      { dims: [plan.featureDim, classifier.classes], values: classifier.weight },
      { dims: [classifier.classes], values: classifier.bias },
      factor,
    );
    if (softmax !== 'none') x = g.op('Softmax', [x], { axis: g.int(softmax) }, g.value('softmax'));
    outDim = classifier.classes;
  }
  const output = pir ? ONNX_PIR_OUTPUT_NAME : ONNX_OUTPUT_NAME;
  if (o.identity === 'output' || o.identity === 'elementwise+output') g.op('Identity', [x], undefined, output);
  else g.rename(x, output);

  const batch = pir ? 'DynamicDimension.0' : 'N';
  const outputs: OnnxValueInfoSpec[] = [{ name: output, dims: [batch, outDim] }];
  if (o.extraOutputs === 'ArgMax-Cast') {
    const label = g.op('Cast', [g.op('ArgMax', [output], { axis: g.int(1), keepdims: g.int(0) })], {
      to: g.int(DATA_TYPE.INT32),
    });
    outputs.push({ name: label, dims: [batch], dataType: DATA_TYPE.INT32 });
  } else if (o.extraOutputs === 'TopK') {
    const [values, indices] = g.topK(output, 1);
    outputs.push({ name: values, dims: [batch, 1] }, { name: indices, dims: [batch, 1], dataType: DATA_TYPE.INT64 });
  }

  const [h, w] = o.inputSize;
  const spatial = o.dynamicShape ? (pir ? ['DynamicDimension.1', 'DynamicDimension.2'] : ['H', 'W']) : [h, w];
  const inputs: OnnxValueInfoSpec[] = [{ name: ONNX_INPUT_NAME, dims: [batch, 3, ...spatial] }];
  // Before IR 4 every initializer had to be a graph input too (onnx IR.md; the checker enforces it).
  if (o.irVersion < 4)
    for (const i of g.initializers) inputs.push({ name: i.name, dims: i.dims, dataType: i.dataType });

  return {
    opset: o.opset,
    irVersion: o.irVersion,
    producerName: pir ? '' : 'shitu-web',
    producerVersion: pir ? '' : '0.1.0',
    graphName: pir
      ? 'PaddlePaddle Graph in PIR mode'
      : classifier
        ? 'pp_lcnet_classifier'
        : 'pp_shitu_feature_extractor',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs,
    outputs,
  };
}

/** Every tensor the parameter table names, with its shape: a missing one would otherwise export a broken graph. */
function checkStateDict(network: NetworkSpec, sd: StateDict, who: string): void {
  for (const spec of networkParameters(network)) {
    const tensor = sd.get(spec.name);
    if (!tensor)
      throw new WeightsError(`${who}: the state dict has no "${spec.name}" (batchNorm '${network.batchNorm}').`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (tensor.shape.join() !== spec.shape.join() || tensor.data.length !== n) {
      throw new WeightsError(
        `${who}: "${spec.name}" has shape [${tensor.shape.join(', ')}] (${tensor.data.length} values); expected [${spec.shape.join(', ')}].`,
      );
    }
  }
}
