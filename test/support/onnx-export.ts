/**
 * Writes a PP-LCNet + linear-neck model as the ONNX graph paddle2onnx makes of PP-ShiTu's inference model:
 * input `x` float32 [N, 3, 224, 224], output the neck's [N, D] embedding (not L2-normalised; the caller
 * normalises, as deploy/python/predict_rec.py does).
 *
 * Why write ONNX at all: the importer must be tested against every way a real export spells the same graph
 * (opsets, weights as initializers or Constant nodes, the hardswish / hardsigmoid decompositions), and no real
 * export can be downloaded here. The options below are those spellings; each one is the same function.
 */
import { OptionsError, WeightsError } from '../../src/core/errors.ts';
import type { StateDict } from '../../src/core/state-dict.ts';
import { BN_EPSILON, INFERENCE_DROPOUT_SCALE, INPUT_SIZE, planPPLCNet } from '../../src/model/architecture.ts';
import { modelParameters } from '../../src/model/parameters.ts';
import type { ImportedModel } from '../../src/model/convert/imported-model.ts';
import { encodeOnnxModel, type OnnxModelSpec } from './onnx-encode.ts';
import { irVersionForOpset, MAX_OPSET, MIN_OPSET } from '../../src/model/convert/onnx/onnx-proto.ts';
import { OnnxGraphBuilder } from './onnx-graph-builder.ts';

export const HARDSWISH_FORMS = ['HardSwish', 'HardSigmoid-Mul', 'Add-Clip-Mul-Div', 'Relu6-form'] as const;
export const HARDSIGMOID_FORMS = ['HardSigmoid', 'Add-Clip-Div'] as const;
export type HardswishForm = (typeof HARDSWISH_FORMS)[number];
export type HardsigmoidForm = (typeof HARDSIGMOID_FORMS)[number];

export interface OnnxExportOptions {
  /** ONNX opset, an integer in 11..17. Default 11, paddle2onnx's default. */
  readonly opset?: number;
  /** Where parameters go: `initializer` (graph initializers) or `constant` (Constant nodes). Default `initializer`. */
  readonly weights?: 'initializer' | 'constant';
  /**
   * How hardswish is spelled. Default: `HardSwish` at opset >= 14 (the op exists from 14), else
   * `HardSigmoid-Mul`, x * HardSigmoid(alpha=1/6, beta=0.5)(x), which is what paddle2onnx writes at opset 11.
   * `Add-Clip-Mul-Div`: x * Clip(x + 3, 0, 6) / 6. `Relu6-form`: x * Min(Relu(x + 3), 6) * (1/6).
   */
  readonly hardswish?: HardswishForm;
  /** The SE gate, Paddle's clip(x/6 + 0.5, 0, 1): `HardSigmoid` (alpha=1/6) or `Add-Clip-Div`. Default `HardSigmoid`. */
  readonly hardsigmoid?: HardsigmoidForm;
  /** The neck: `MatMul-Add` (paddle2onnx's matmul_v2 + elementwise_add) or `Gemm`. Default `MatMul-Add`. */
  readonly neck?: 'MatMul-Add' | 'Gemm';
  /** Dropout at inference: `Mul` by 0.8, or `none` with the 0.8 folded into the neck weight. Default `Mul`. */
  readonly dropout?: 'Mul' | 'none';
  /** Global average pooling: `GlobalAveragePool` or `ReduceMean` over axes [2, 3]. Default `GlobalAveragePool`. */
  readonly pool?: 'GlobalAveragePool' | 'ReduceMean';
  /** [N, 1280, 1, 1] -> [N, 1280]: `Flatten` (axis 1) or `Reshape` to [0, -1]. Default `Flatten`. */
  readonly flatten?: 'Flatten' | 'Reshape';
}

export type ResolvedOnnxExportOptions = Required<OnnxExportOptions>;

export const DEFAULT_ONNX_EXPORT_OPTIONS = {
  opset: 11,
  weights: 'initializer',
  hardsigmoid: 'HardSigmoid',
  neck: 'MatMul-Add',
  dropout: 'Mul',
  pool: 'GlobalAveragePool',
  flatten: 'Flatten',
} as const satisfies Omit<ResolvedOnnxExportOptions, 'hardswish'>;

/** What the exporter needs of a model: an ImportedModel without its notes. */
export type OnnxExportModel = Pick<ImportedModel, 'scale' | 'embeddingDim' | 'batchNorm' | 'stateDict'>;

export const ONNX_INPUT_NAME = 'x';
/** The output name paddle2onnx gives a PaddleClas inference model's feature. */
export const ONNX_OUTPUT_NAME = 'save_infer_model/scale_0.tmp_1';

const choices = <T extends string>(key: string, value: unknown, valid: readonly T[]): T => {
  if (!valid.includes(value as T)) {
    throw new OptionsError(`OnnxExportOptions.${key} must be one of ${valid.map((v) => `'${v}'`).join(', ')}; got ${JSON.stringify(value)}.`);
  }
  return value as T;
};

export function validateOnnxExportOptions(options: OnnxExportOptions = {}): ResolvedOnnxExportOptions {
  const d = DEFAULT_ONNX_EXPORT_OPTIONS;
  const opset = options.opset ?? d.opset;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OptionsError(`OnnxExportOptions.opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}; got ${opset}.`);
  }
  const hardswish = choices('hardswish', options.hardswish ?? (opset >= 14 ? 'HardSwish' : 'HardSigmoid-Mul'), HARDSWISH_FORMS);
  if (hardswish === 'HardSwish' && opset < 14) {
    throw new OptionsError(`OnnxExportOptions.hardswish 'HardSwish' needs opset 14 or later (got opset ${opset}); use 'HardSigmoid-Mul'.`);
  }
  return {
    opset,
    hardswish,
    weights: choices('weights', options.weights ?? d.weights, ['initializer', 'constant']),
    hardsigmoid: choices('hardsigmoid', options.hardsigmoid ?? d.hardsigmoid, HARDSIGMOID_FORMS),
    neck: choices('neck', options.neck ?? d.neck, ['MatMul-Add', 'Gemm']),
    dropout: choices('dropout', options.dropout ?? d.dropout, ['Mul', 'none']),
    pool: choices('pool', options.pool ?? d.pool, ['GlobalAveragePool', 'ReduceMean']),
    flatten: choices('flatten', options.flatten ?? d.flatten, ['Flatten', 'Reshape']),
  };
}

/** The ONNX file's bytes. */
export function writePPLCNetOnnx(model: OnnxExportModel, options: OnnxExportOptions = {}): Uint8Array {
  return encodeOnnxModel(buildPPLCNetOnnx(model, options));
}

/** The ONNX model as data, before encoding (tests edit it to make malformed files). */
export function buildPPLCNetOnnx(model: OnnxExportModel, options: OnnxExportOptions = {}): OnnxModelSpec {
  const o = validateOnnxExportOptions(options);
  checkStateDict(model);
  const sd = model.stateDict;
  const t = (name: string): { dims: readonly number[]; values: Float32Array } => ({ dims: sd.get(name)!.shape, values: sd.get(name)!.data });
  const g = new OnnxGraphBuilder(o.weights);
  const plan = planPPLCNet(model.scale);

  const hardswish = (x: string): string => {
    switch (o.hardswish) {
      case 'HardSwish':
        return g.op('HardSwish', [x]);
      case 'HardSigmoid-Mul':
        return g.op('Mul', [x, g.op('HardSigmoid', [x], { alpha: g.float(1 / 6), beta: g.float(0.5) })]);
      case 'Add-Clip-Mul-Div': {
        const clipped = g.op('Clip', [g.op('Add', [x, g.scalar(3)]), g.scalar(0), g.scalar(6)]);
        return g.op('Div', [g.op('Mul', [x, clipped]), g.scalar(6)]);
      }
      case 'Relu6-form': {
        const relu6 = g.op('Min', [g.op('Relu', [g.op('Add', [x, g.scalar(3)])]), g.scalar(6)]);
        return g.op('Mul', [g.op('Mul', [x, relu6]), g.scalar(1 / 6)]);
      }
    }
  };
  const hardsigmoid = (x: string): string =>
    o.hardsigmoid === 'HardSigmoid'
      ? g.op('HardSigmoid', [x], { alpha: g.float(1 / 6), beta: g.float(0.5) })
      : g.op('Div', [g.op('Clip', [g.op('Add', [x, g.scalar(3)]), g.scalar(0), g.scalar(6)]), g.scalar(6)]);
  const pool = (x: string): string =>
    o.pool === 'GlobalAveragePool'
      ? g.op('GlobalAveragePool', [x])
      : g.op('ReduceMean', [x], { axes: g.ints([2, 3]), keepdims: g.int(1) });
  const conv = (x: string, weight: string, bias: string | undefined, stride: number, group: number): string => {
    const k = sd.get(weight)!.shape[2]!;
    const p = (k - 1) / 2;
    const inputs = [x, g.param('conv2d', 'w_0', t(weight))];
    if (bias) inputs.push(g.param('conv2d', 'b_0', t(bias)));
    g.nextLayer('conv2d');
    return g.op('Conv', inputs, {
      dilations: g.ints([1, 1]),
      group: g.int(group),
      kernel_shape: g.ints([k, k]),
      pads: g.ints([p, p, p, p]),
      strides: g.ints([stride, stride]),
    });
  };
  const convBnHardswish = (x: string, prefix: string, stride: number, group: number): string => {
    if (model.batchNorm === 'folded') return hardswish(conv(x, `${prefix}.conv.weight`, `${prefix}.conv.bias`, stride, group));
    const c = conv(x, `${prefix}.conv.weight`, undefined, stride, group);
    // Paddle's parameter names: w_0 scale, b_0 shift, w_1 running mean, w_2 running variance.
    const bn = ['weight', 'bias', '_mean', '_variance'].map((s, i) =>
      g.param('batch_norm', ['w_0', 'b_0', 'w_1', 'w_2'][i]!, t(`${prefix}.bn.${s}`)),
    );
    g.nextLayer('batch_norm');
    return hardswish(g.op('BatchNormalization', [c, ...bn], { epsilon: g.float(BN_EPSILON), momentum: g.float(0.9) }));
  };

  let x = convBnHardswish(ONNX_INPUT_NAME, 'backbone.conv1', 2, 1);
  for (const b of plan.blocks) {
    const p = `backbone.${b.name}`;
    x = convBnHardswish(x, `${p}.dw_conv`, b.stride, b.inChannels);
    if (b.seChannels > 0) {
      const squeezed = conv(pool(x), `${p}.se.conv1.weight`, `${p}.se.conv1.bias`, 1, 1);
      const gate = hardsigmoid(conv(g.op('Relu', [squeezed]), `${p}.se.conv2.weight`, `${p}.se.conv2.bias`, 1, 1));
      x = g.op('Mul', [x, gate]);
    }
    x = convBnHardswish(x, `${p}.pw_conv`, 1, 1);
  }
  x = hardswish(conv(pool(x), 'backbone.last_conv.weight', undefined, 1, 1));
  if (o.dropout === 'Mul') x = g.op('Mul', [x, g.scalar(INFERENCE_DROPOUT_SCALE)]);
  x = o.flatten === 'Flatten' ? g.op('Flatten', [x], { axis: g.int(1) }) : g.op('Reshape', [x, g.int64s([0, -1])]);

  const neckWeight = t('neck.fc.weight');
  const factor = o.dropout === 'none' ? INFERENCE_DROPOUT_SCALE : 1;
  const weight = g.param('linear', 'w_0', { dims: neckWeight.dims, values: neckWeight.values.map((v) => v * factor) });
  const bias = g.param('linear', 'b_0', t('neck.fc.bias'));
  if (o.neck === 'Gemm') {
    g.op('Gemm', [x, weight, bias], { alpha: g.float(1), beta: g.float(1), transB: g.int(0) }, ONNX_OUTPUT_NAME);
  } else {
    g.op('Add', [g.op('MatMul', [x, weight]), bias], undefined, ONNX_OUTPUT_NAME);
  }

  return {
    opset: o.opset,
    irVersion: irVersionForOpset(o.opset),
    producerName: 'shitu-web',
    producerVersion: '0.1.0',
    graphName: 'pp_shitu_feature_extractor',
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: ONNX_INPUT_NAME, dims: ['N', 3, INPUT_SIZE, INPUT_SIZE] }],
    outputs: [{ name: ONNX_OUTPUT_NAME, dims: ['N', model.embeddingDim] }],
  };
}

/** Every tensor the parameter table names, with its shape: a missing one would otherwise export a broken graph. */
function checkStateDict(model: OnnxExportModel): void {
  const sd: StateDict = model.stateDict;
  for (const spec of modelParameters(model.scale, model.embeddingDim, model.batchNorm)) {
    const tensor = sd.get(spec.name);
    if (!tensor) throw new WeightsError(`Cannot export: the state dict has no "${spec.name}" (batchNorm '${model.batchNorm}').`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (tensor.shape.join() !== spec.shape.join() || tensor.data.length !== n) {
      throw new WeightsError(
        `Cannot export: "${spec.name}" has shape [${tensor.shape.join(', ')}] (${tensor.data.length} values); expected [${spec.shape.join(', ')}].`,
      );
    }
  }
}
