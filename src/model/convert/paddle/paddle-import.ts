/**
 * Imports a Paddle inference model of PP-LCNet into this project's parameter table: `inference.pdmodel`
 * (ProgramDesc, Paddle 2.x and 3.x) or `inference.json` (Paddle 3's PIR program, translated to the same ops by
 * ./pir-program.ts), with `inference.pdiparams`. Either a PP-ShiTu feature extractor (+ linear neck) or a
 * classifier (fc, usually + softmax); any geometry PaddleClas's PPLCNet constructor makes (strides, last_conv).
 *
 * Tensors are named by the program's saved variables in the saver's order (./paddle-program.ts
 * savedVarNames), then mapped onto PP-LCNet by following the op chain from the feed op, never by variable
 * names: names depend on Paddle's unique_name counters and on which layer class made them, the graph does
 * not. The scale is inferred afterwards by checking every tensor against modelParameters().
 */
import { ImportError } from '../../../core/errors.ts';
import { DEFAULT_MODEL_IMPORT_OPTIONS } from '../../../core/options.ts';
import type { NamedTensor, StateDict } from '../../../core/state-dict.ts';
import {
  BN_EPSILON,
  describeStride,
  planPPLCNet,
  PPLCNET_SCALES,
  standardGeometry,
  type PPLCNetGeometry,
  type StrideHW,
} from '../../architecture.ts';
import { networkParameters, type BatchNormForm, type NetworkSpec } from '../../parameters.ts';
import type { ImportedModel, ImportOptions } from '../imported-model.ts';
import { readPaddleParams, type PaddleTensor } from './paddle-params.ts';
import {
  attr,
  parsePaddleProgram,
  savedVarNames,
  type PaddleOp,
  type PaddleProgram,
  type PaddleVar,
} from './paddle-program.ts';

export interface PaddleImportOptions extends ImportOptions {
  /** The PP-LCNet scale the caller expects; a model of another scale is an error instead of a surprise. */
  readonly scale?: number;
  /** The program file's name, for messages (inference.pdmodel or inference.json). */
  readonly file?: string;
}

const CONV = ['conv2d', 'depthwise_conv2d'];
const POOL = ['pool2d', 'reduce_mean'];
const RESHAPE = ['flatten_contiguous_range', 'flatten2', 'flatten', 'reshape2', 'reshape', 'squeeze2', 'unsqueeze2'];
const NECK = ['matmul_v2', 'matmul', 'mul', 'fc'];
/** Post-processing of the scores that classification exports may carry; the import keeps the scores. */
const IGNORED_TAIL = new Set(['arg_max', 'argmax', 'top_k', 'top_k_v2', 'topk', 'cast', 'arg_min']);
const KNOWN = new Set([
  ...CONV,
  ...POOL,
  ...RESHAPE,
  ...NECK,
  ...IGNORED_TAIL,
  'feed',
  'fetch',
  'batch_norm',
  'sync_batch_norm',
  'hard_swish',
  'hardswish',
  'hard_sigmoid',
  'hardsigmoid',
  'relu',
  'elementwise_add',
  'elementwise_mul',
  'dropout',
  'scale',
  'softmax',
]);
const LAYOUTS: readonly unknown[] = [undefined, null, 'NCHW', 'AnyLayout'];
let FILE = 'inference.pdmodel';

const same = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);
const close = (a: unknown, b: number): boolean =>
  typeof a === 'number' && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
const num = (op: PaddleOp, name: string, fallback: number): number => {
  const v = attr(op, name);
  return typeof v === 'number' ? v : fallback;
};
const nums = (op: PaddleOp, name: string): readonly number[] => {
  const v = attr(op, name);
  return Array.isArray(v) ? (v as number[]) : [];
};
const fail = (msg: string): never => {
  throw new ImportError(`${FILE}: ${msg}`);
};

/** x -> scale * x + shift, composed from dropout and scale ops. */
type Affine = readonly [scale: number, shift: number];

/** Follows PP-LCNet's op chain; `cur` is the variable the next op must consume. */
class Walker {
  readonly bound = new Map<string, NamedTensor>();
  readonly forms = new Set<BatchNormForm>();
  readonly notes: string[] = [];
  readonly used = new Set<string>();
  section = 'the backbone';
  cur: string;
  private where = 'the feed op';
  private readonly consumers = new Map<string, PaddleOp[]>();
  private readonly producers = new Map<string, PaddleOp>();
  readonly input: string;

  constructor(
    ops: readonly PaddleOp[],
    private readonly params: ReadonlyMap<string, PaddleTensor>,
  ) {
    for (const op of ops) {
      for (const v of new Set(Object.values(op.inputs).flat()))
        this.consumers.set(v, [...(this.consumers.get(v) ?? []), op]);
      for (const v of Object.values(op.outputs).flat()) if (!this.producers.has(v)) this.producers.set(v, op);
    }
    const feeds = ops.filter((o) => o.type === 'feed');
    if (feeds.length !== 1) fail(`expected one feed op (one image input), found ${feeds.length}`);
    this.cur = this.out(feeds[0]!, 'Out');
    this.input = this.cur;
  }

  after(): string {
    return `in ${this.section} after ${this.where}`;
  }
  /** The ops reading `cur`, without the scores' post-processing (argmax, top_k) that may sit beside fetch. */
  readers(): PaddleOp[] {
    const ops = this.consumers.get(this.cur) ?? [];
    const useful = ops.filter((o) => !IGNORED_TAIL.has(o.type));
    if (useful.length < ops.length && !this.ignoredNoted) {
      this.ignoredNoted = true;
      this.notes.push(
        `post-processing ops (${ops
          .filter((o) => IGNORED_TAIL.has(o.type))
          .map((o) => o.type)
          .join(', ')}) after the scores ignored`,
      );
    }
    return this.section === 'the head' ? useful : ops;
  }
  private ignoredNoted = false;

  next(types: readonly string[], what = types[0]!): PaddleOp {
    const ops = this.readers();
    if (ops.length === 0) fail(`the graph ends ${this.after()} (expected ${what})`);
    const list = ops.map((o) => o.type).join(', ');
    if (ops.length > 1) fail(`${this.cur} feeds ${ops.length} ops (${list}) ${this.after()}; expected one ${what}`);
    const op = ops[0]!;
    if (!types.includes(op.type))
      fail(`${KNOWN.has(op.type) ? 'unexpected' : 'unknown'} op "${op.type}" ${this.after()} (expected ${what})`);
    return op;
  }
  /** Checks that `op` reads `cur` from `inSlot` and moves `cur` to its output. */
  advance(op: PaddleOp, inSlot: string, outSlot: string): PaddleOp {
    if (!op.inputs[inSlot]?.includes(this.cur))
      fail(`${op.type} does not read ${this.cur} as ${inSlot} ${this.after()}`);
    this.cur = this.out(op, outSlot);
    return op;
  }
  step(types: readonly string[], inSlot: string, outSlot: string, what?: string): PaddleOp {
    return this.advance(this.next(types, what), inSlot, outSlot);
  }
  out(op: PaddleOp, slot: string): string {
    return op.outputs[slot]?.[0] ?? fail(`${op.type} has no ${slot} output ${this.after()}`);
  }
  param(op: PaddleOp, slot: string): PaddleTensor {
    const name = op.inputs[slot]?.[0] ?? '(none)';
    const t = this.params.get(name) ?? fail(`${op.type} ${slot} ${name} is not a saved parameter ${this.after()}`);
    this.used.add(name);
    return t;
  }
  bind(name: string, t: { readonly dims: readonly number[]; readonly data: Float32Array }): void {
    this.bound.set(name, { shape: t.dims, data: t.data });
  }

  act(type: 'hard_swish' | 'hard_sigmoid' | 'relu'): void {
    const op = this.step(type === 'relu' ? ['relu'] : [type, type.replace('_', '')], 'X', 'Out', type);
    const bad = (name: string, want: number): boolean => attr(op, name) != null && !close(attr(op, name), want);
    if (type === 'hard_swish' && (bad('threshold', 6) || bad('scale', 6) || bad('offset', 3))) {
      fail(`hard_swish ${this.after()} is not nn.Hardswish (threshold 6, scale 6, offset 3)`);
    }
    // TF.js's hardSigmoid has slope 0.2: a graph using it would run differently in our builder.
    if (type === 'hard_sigmoid' && (bad('slope', 1 / 6) || bad('offset', 0.5))) {
      const got = `slope ${String(attr(op, 'slope'))}, offset ${String(attr(op, 'offset'))}`;
      fail(`hard_sigmoid ${this.after()} has ${got}; nn.Hardsigmoid is slope 1/6, offset 0.5`);
    }
  }

  /** A conv at `cur`; `stride` is what PP-LCNet has there, or 'any' where PaddleClas's stride_list may set it. */
  conv(weightName: string, stride: StrideHW | 'any', depthwise: boolean): StrideHW {
    const op = this.step(CONV, 'Input', 'Output', 'conv2d');
    const w = this.param(op, 'Filter');
    const where = (this.where = weightName.replace(/\.(conv\.)?weight$/, ''));
    if (w.dims.length !== 4) fail(`${where}: filter dims [${w.dims.join(', ')}] are not OIHW`);
    const groups = num(op, 'groups', 1);
    if (groups !== (depthwise ? w.dims[0] : 1))
      fail(`${where}: groups ${groups}, expected ${depthwise ? 'one per channel' : 1}`);
    const strides = nums(op, 'strides');
    const got: StrideHW = [strides[0] ?? 1, strides[1] ?? strides[0] ?? 1];
    if (strides.length > 2 || got.some((v) => !(Number.isInteger(v) && v >= 1 && v <= 4)))
      fail(`${where}: strides [${strides.join(', ')}] are not 1-4 along H and W`);
    if (stride !== 'any' && (got[0] !== stride[0] || got[1] !== stride[1])) {
      fail(
        `${where}: strides [${strides.join(', ')}], expected ${describeStride(stride)} (PaddleClas's stride_list sets only conv1 and the first block of blocks3-6)`,
      );
    }
    if (nums(op, 'dilations').some((d) => d !== 1)) fail(`${where}: dilated convolution`);
    const pad = (w.dims[2]! - 1) / 2;
    const algo = attr(op, 'padding_algorithm') ?? 'EXPLICIT';
    const explicitOff = algo === 'EXPLICIT' && nums(op, 'paddings').some((p) => p !== pad);
    if (explicitOff || (algo === 'VALID' && pad !== 0)) fail(`${where}: paddings differ from (k - 1) / 2 = ${pad}`);
    if (!LAYOUTS.includes(attr(op, 'data_format'))) fail(`${where}: data_format ${String(attr(op, 'data_format'))}`);
    this.bind(weightName, w);
    return got;
  }

  /**
   * An elementwise_add of a saved per-channel tensor right after a conv (or the neck): its bias. Paddle 2.x adds
   * a [C] parameter with axis 1; Paddle 3 reshapes the parameter to [1, C, 1, 1] first (reshape2) and adds with
   * axis -1. A [C] tensor with axis -1 on a 4-D value would broadcast along W: not a bias, so not taken.
   */
  bias(name: string, required: boolean, rank: 2 | 4 = 4): boolean {
    const ops = this.consumers.get(this.cur) ?? [];
    const op = ops.length === 1 && ops[0]!.type === 'elementwise_add' ? ops[0]! : undefined;
    const y = op?.inputs.Y?.[0];
    const reshaped = y === undefined || this.params.has(y) ? undefined : this.reshapedParam(y);
    const source = reshaped?.name ?? y;
    const t = source === undefined ? undefined : this.params.get(source);
    const dims = reshaped?.dims ?? t?.dims ?? [];
    const axis = op ? num(op, 'axis', -1) : -1;
    const ones = dims.filter((d) => d !== 1).length <= 1;
    const channelAxisOk =
      t !== undefined && ones && (rank === 2 || dims.length >= 3 || axis === 1 || (dims.length === 1 && dims[0] === 1));
    if (!op || !t || source === undefined || !channelAxisOk)
      return required
        ? fail(`expected a bias add (elementwise_add of a per-channel parameter) ${this.after()}`)
        : false;
    this.advance(op, 'X', 'Out');
    this.used.add(source);
    this.bind(name, { dims: [t.data.length], data: t.data });
    return true;
  }

  /** `v` made by reshape2 / reshape of a saved parameter (values unchanged): that parameter and the new dims. */
  private reshapedParam(v: string): { name: string; dims: readonly number[] } | undefined {
    const op = this.producers.get(v);
    if (!op || !['reshape2', 'reshape'].includes(op.type)) return undefined;
    const x = op.inputs.X?.[0];
    const t = x === undefined ? undefined : this.params.get(x);
    if (!t || op.inputs.Shape?.length || op.inputs.ShapeTensor?.length) return undefined;
    const shape = nums(op, 'shape');
    // Paddle's reshape: 0 copies the input's dim, -1 is inferred; a per-channel bias has one dim that is not 1.
    const dims = shape.map((d, i) =>
      d === 0
        ? (t.dims[i] ?? 1)
        : d === -1
          ? t.data.length /
            Math.max(
              1,
              shape.filter((e) => e > 0).reduce((p, q) => p * q, 1),
            )
          : d,
    );
    return { name: x!, dims };
  }

  convBn(prefix: string, stride: StrideHW | 'any', depthwise: boolean): StrideHW {
    const got = this.conv(`${prefix}.conv.weight`, stride, depthwise);
    if (this.bias(`${prefix}.conv.bias`, false)) this.forms.add('folded');
    else {
      const op = this.step(['batch_norm', 'sync_batch_norm'], 'X', 'Y', 'batch_norm');
      if (!LAYOUTS.includes(attr(op, 'data_layout')))
        fail(`${prefix}: batch_norm data_layout ${String(attr(op, 'data_layout'))}`);
      const variance = this.param(op, 'Variance');
      const eps = num(op, 'epsilon', BN_EPSILON);
      let v = variance.data;
      // The builder uses BN_EPSILON; another epsilon carries over exactly as variance + eps - BN_EPSILON.
      if (!close(eps, BN_EPSILON)) {
        v = variance.data.map((x) => x + eps - BN_EPSILON);
        if (v.some((x) => x < 0)) fail(`${prefix}: batch_norm epsilon ${eps} cannot be carried into the variance`);
        this.notes.push(
          `${prefix}: batch_norm epsilon ${eps} folded into the variance (the builder uses ${BN_EPSILON})`,
        );
      }
      this.bind(`${prefix}.bn.weight`, this.param(op, 'Scale'));
      this.bind(`${prefix}.bn.bias`, this.param(op, 'Bias'));
      this.bind(`${prefix}.bn._mean`, this.param(op, 'Mean'));
      this.bind(`${prefix}.bn._variance`, { dims: variance.dims, data: v });
      this.forms.add('separate');
    }
    this.act('hard_swish');
    return got;
  }

  /** Global average pooling: pool2d (adaptive 1x1 or global) or reduce_mean over H, W (+ a reshape back). */
  pool(given?: PaddleOp): void {
    const op = this.advance(given ?? this.next(POOL, 'pool2d'), 'X', 'Out');
    if (op.type === 'pool2d') {
      const global =
        attr(op, 'global_pooling') === true || (attr(op, 'adaptive') === true && same(nums(op, 'ksize'), [1, 1]));
      if (attr(op, 'pooling_type') !== 'avg' || !global) fail(`pool2d ${this.after()} is not a global average pool`);
    } else {
      const dims = nums(op, 'dim')
        .map((d) => (d < 0 ? d + 4 : d))
        .sort();
      if (!same(dims, [2, 3]) && attr(op, 'reduce_all') !== true)
        fail(`reduce_mean ${this.after()} does not average over H, W`);
      const ops = this.consumers.get(this.cur) ?? [];
      if (ops.length === 1 && RESHAPE.includes(ops[0]!.type)) this.advance(ops[0]!, 'X', 'Out');
    }
  }

  se(prefix: string): void {
    const identity = this.cur;
    const ops = this.consumers.get(identity) ?? [];
    const poolOp = ops.find((o) => POOL.includes(o.type));
    const mul = ops.find((o) => o.type === 'elementwise_mul');
    if (ops.length !== 2 || !poolOp || !mul) {
      const found = ops.map((o) => o.type).join(', ') || 'nothing';
      fail(`expected the SE branch (pool2d + elementwise_mul) ${this.after()}, found ${found}`);
    }
    this.pool(poolOp);
    this.conv(`${prefix}.conv1.weight`, [1, 1], false);
    this.bias(`${prefix}.conv1.bias`, true);
    this.act('relu');
    this.conv(`${prefix}.conv2.weight`, [1, 1], false);
    this.bias(`${prefix}.conv2.bias`, true);
    this.act('hard_sigmoid');
    const op = this.next(['elementwise_mul']);
    const factors = [op.inputs.X?.[0], op.inputs.Y?.[0]];
    if (op !== mul || !factors.includes(identity) || !factors.includes(this.cur)) {
      fail(`the SE gate ${this.after()} does not multiply the block's input`);
    }
    this.cur = this.out(op, 'Out');
    this.where = prefix;
  }

  /** The next op's type, if exactly one op reads `cur`. */
  peek(): string | undefined {
    const ops = this.readers();
    return ops.length === 1 ? ops[0]!.type : undefined;
  }

  /** Dropout, scale and reshapes up to the linear layer (neck or fc); returns that op and what the ops apply. */
  toNeck(): [PaddleOp, Affine] {
    let [a, c] = [1, 0];
    for (;;) {
      const op = this.next([...NECK, ...RESHAPE, 'dropout', 'scale'], 'the linear layer (matmul_v2)');
      if (NECK.includes(op.type)) return [op, [a, c]];
      this.advance(op, 'X', 'Out');
      if (op.type === 'dropout') {
        const p = num(op, 'dropout_prob', 0.5);
        const mode = attr(op, 'dropout_implementation') ?? 'downgrade_in_infer';
        // Paddle's Python API says downscale_in_infer and records downgrade_in_infer on the op.
        if (mode === 'downgrade_in_infer' || mode === 'downscale_in_infer') [a, c] = [a * (1 - p), c * (1 - p)];
        else if (mode !== 'upscale_in_train') fail(`dropout_implementation "${String(mode)}" ${this.after()}`);
        this.notes.push(`dropout ${String(mode)} p=${+p.toPrecision(7)} found before the linear layer`);
      } else if (op.type === 'scale') {
        const [s, t] = this.scaleOp(op);
        [a, c] = [a * s, c * s + t];
      }
    }
  }

  scaleOp(op: PaddleOp): Affine {
    if (op.inputs.ScaleTensor?.length) fail(`scale ${this.after()} takes its factor from a tensor`);
    const [s, bias] = [num(op, 'scale', 1), num(op, 'bias', 0)];
    return attr(op, 'bias_after_scale') === false ? [s, s * bias] : [s, bias];
  }
}

/** A parsed program and the names of its saved parameters in .pdiparams order. */
export interface PaddleProgramSource {
  readonly program: PaddleProgram;
  readonly paramNames: readonly string[];
}

export function importPaddleInference(
  pdmodel: Uint8Array,
  pdiparams: Uint8Array,
  options: PaddleImportOptions = {},
): ImportedModel {
  const program = parsePaddleProgram(pdmodel, options.file ?? 'inference.pdmodel');
  return importPaddleProgram({ program, paramNames: savedVarNames(program) }, pdiparams, {
    file: 'inference.pdmodel',
    ...options,
  });
}

/** The importer proper, for a program read from either format. */
export function importPaddleProgram(
  source: PaddleProgramSource,
  pdiparams: Uint8Array,
  options: PaddleImportOptions = {},
): ImportedModel {
  const previous = FILE;
  FILE = options.file ?? 'inference.pdmodel';
  try {
    return importProgram(source, pdiparams, options);
  } finally {
    FILE = previous;
  }
}

function importProgram(
  { program, paramNames: names }: PaddleProgramSource,
  pdiparams: Uint8Array,
  options: PaddleImportOptions,
): ImportedModel {
  const declared = new Map<string, PaddleVar>(program.blocks.flatMap((b) => b.vars.map((v) => [v.name, v] as const)));
  const tensors = readPaddleParams(pdiparams, { names, file: 'inference.pdiparams' });
  const params = new Map<string, PaddleTensor>();
  names.forEach((name, i) => {
    const t = tensors[i]!;
    const dims = declared.get(name)?.dims;
    if (dims && !same(dims, t.dims)) {
      throw new ImportError(
        `inference.pdiparams: ${name} has shape [${t.dims.join(', ')}] but ${FILE} declares ` +
          `[${dims.join(', ')}]: the two files come from different models (e.g. different PP-LCNet scales)`,
      );
    }
    params.set(name, t);
  });

  const w = new Walker(program.blocks[0]!.ops, params);
  // PaddleClas's stride_list sets conv1's stride and that of the first block of blocks3-6; the rest are 1.
  const strideList: StrideHW[] = [w.convBn('backbone.conv1', 'any', false)];
  for (const b of planPPLCNet(1).blocks) {
    // kernels and SE placement do not depend on the scale
    const settable = b.name.endsWith('.0') && b.name !== 'blocks2.0';
    const stride = w.convBn(`backbone.${b.name}.dw_conv`, settable ? 'any' : [1, 1], true);
    if (settable) strideList.push(stride);
    if (b.seChannels > 0) w.se(`backbone.${b.name}.se`);
    w.convBn(`backbone.${b.name}.pw_conv`, [1, 1], false);
  }
  w.pool();
  const useLastConv = w.peek() === 'conv2d' || w.peek() === 'depthwise_conv2d';
  if (useLastConv) {
    w.conv('backbone.last_conv.weight', [1, 1], false);
    if (w.bias('backbone.last_conv.bias', false)) fail('last_conv has a bias; PP-LCNet (V1) has none');
    w.act('hard_swish');
  } else {
    w.notes.push('no last_conv: the feature is the pooled last stage (PaddleClas use_last_conv=False)');
  }
  const [linear, beforeLinear] = w.toNeck();
  let [a, c] = beforeLinear;

  w.section = 'the linear layer';
  const isFc = linear.type === 'fc';
  w.advance(linear, isFc ? 'Input' : 'X', 'Out');
  const weight = w.param(linear, isFc ? 'W' : 'Y');
  if (weight.dims.length !== 2) fail(`the linear layer's weight has dims [${weight.dims.join(', ')}], expected 2-D`);
  if (attr(linear, 'trans_x') === true || attr(linear, 'transpose_X') === true)
    fail(`${linear.type} transposes the feature`);
  // Some Paddle 2.x F.linear versions put matmul's attribute names on matmul_v2: accept either spelling.
  const transpose = attr(linear, 'trans_y') === true || attr(linear, 'transpose_Y') === true;
  if (linear.type === 'matmul') [a, c] = [a * num(linear, 'alpha', 1), c * num(linear, 'alpha', 1)];
  if (isFc && (attr(linear, 'activation_type') ?? '') !== '')
    fail(`the fc has activation ${String(attr(linear, 'activation_type'))}`);
  const [fin, D] = transpose ? [weight.dims[1]!, weight.dims[0]!] : [weight.dims[0]!, weight.dims[1]!];
  let bias = isFc && linear.inputs.Bias?.length ? w.param(linear, 'Bias').data : undefined;
  if (!isFc && w.bias('linear.bias', false, 2)) bias = w.bound.get('linear.bias')!.data;
  w.bound.delete('linear.bias');
  if (!bias) w.notes.push('the linear layer has no bias: zeros used');
  w.section = 'the head';
  let [s, t] = [1, 0];
  let softmax = false;
  for (;;) {
    const op = w.next(['scale', 'softmax', 'fetch'], 'fetch');
    if (op.type === 'fetch') break;
    if (op.type === 'softmax') {
      if (softmax) fail(`two softmax ops ${w.after()}`);
      const axis = num(op, 'axis', -1);
      if (axis !== -1 && axis !== 1) fail(`softmax ${w.after()} has axis ${axis}; expected the class axis (-1 or 1)`);
      w.step(['softmax'], 'X', 'Out');
      softmax = true;
      continue;
    }
    const [s2, t2] = w.scaleOp(w.step(['scale'], 'X', 'Out'));
    // Paddle 2.x's save_inference_model ends every program in a scale(1, 0) op, after the softmax too.
    if (softmax && (s2 !== 1 || t2 !== 0))
      fail(
        `a scale op of ${s2} x + ${t2} after the softmax ${w.after()}: the probabilities would not be probabilities`,
      );
    [s, t] = [s * s2, t * s2 + t2];
  }

  // The feature the model computes: (1 - dropout_prob) x hardswish(last_conv) with last_conv, else the pool.
  // What this graph applies instead (a x + c before the linear layer, s y + t after it) folds into W and b. A
  // PP-ShiTu model keeps dropout_prob 0.2 (its neck takes any other factor); a classifier's feature is the
  // embedding, so it keeps the graph's own factor as its dropout_prob.
  const classifier =
    options.role === 'classifier' || ((options.role ?? DEFAULT_MODEL_IMPORT_OPTIONS.role) === 'auto' && softmax);
  let dropoutProb = standardGeometry(1).dropoutProb;
  let keep = 1;
  if (useLastConv && !classifier) {
    keep = 1 - dropoutProb;
  } else if (useLastConv && c === 0 && a > 0 && a <= 1 + 1e-6) {
    keep = Math.abs(a - 0.8) < 1e-6 ? 0.8 : Math.abs(a - 1) < 1e-6 ? 1 : a;
    dropoutProb = +(1 - keep).toPrecision(7);
  } else if (useLastConv) {
    dropoutProb = 0;
  }
  let factor = (a * s) / keep;
  if (Math.abs(factor - 1) < 1e-6)
    factor = 1; // 0.2 stored as float32 is not exactly 0.2
  else
    w.notes.push(
      `linear weight scaled by ${+factor.toPrecision(7)} (the graph applies ${+(a * s).toPrecision(7)}, the model's feature ${keep})`,
    );
  const W = new Float32Array(fin * D);
  const colSums = new Float64Array(D); // (a x + c) W = a x W + c * column sums of W
  for (let i = 0; i < fin; i++) {
    for (let j = 0; j < D; j++) {
      const v = weight.data[transpose ? j * fin + i : i * D + j]!;
      W[i * D + j] = factor === 1 ? v : v * factor;
      colSums[j] = colSums[j]! + v;
    }
  }
  const b = Float32Array.from(colSums, (sum, j) => s * ((c === 0 ? 0 : c * sum) + (bias?.[j] ?? 0)) + t);
  const partial: PPLCNetGeometry = {
    scale: 1,
    strideList,
    useLastConv,
    classExpand: useLastConv ? w.bound.get('backbone.last_conv.weight')!.shape[0]! : standardGeometry(1).classExpand,
    dropoutProb,
  };
  if (!classifier) {
    w.bind('neck.fc.weight', { dims: [fin, D], data: W });
    w.bind('neck.fc.bias', { dims: [D], data: b });
  } else if (softmax) {
    w.notes.push(`a classifier (${D} classes, softmax): the embedding is the ${fin}-d feature that feeds its fc`);
  } else {
    w.notes.push(
      `a classifier (${D} classes, no softmax in the file): the embedding is the ${fin}-d feature that feeds its fc`,
    );
  }
  const feedVar = declared.get(w.input);
  const [, , h, wd] = feedVar?.dims ?? [];
  const model = toImportedModel(w, names, tensors, partial, classifier ? undefined : D, options);
  return {
    ...model,
    ...(classifier ? { classifier: { weight: W, bias: b, classes: D, softmax } } : {}),
    ...(h && wd && h > 0 && wd > 0 ? { inputSize: [h, wd] as const } : {}),
  };
}

/** Picks the scale whose parameter table every bound tensor matches (published scales first). */
function toImportedModel(
  w: Walker,
  names: readonly string[],
  tensors: readonly PaddleTensor[],
  partial: PPLCNetGeometry,
  neckDim: number | undefined,
  options: PaddleImportOptions,
): ImportedModel {
  const unused = names.filter((n) => !w.used.has(n));
  if (unused.length > 0)
    w.notes.push(`${unused.length} saved tensors are not used by the mapped graph: ${unused.slice(0, 5).join(', ')}`);
  if (w.forms.size !== 1) fail('some convs have BatchNorm and others have it folded: not one PaddleClas model');
  const form = [...w.forms][0]!;
  let closest: { scale: number; diffs: string[] } | undefined;
  const candidates = [...PPLCNET_SCALES, ...Array.from({ length: 400 }, (_, k) => (k + 1) / 100)];
  for (const scale of candidates) {
    const network: NetworkSpec = {
      geometry: { ...partial, scale },
      batchNorm: form,
      ...(neckDim === undefined ? {} : { neckDim }),
    };
    const specs = networkParameters(network);
    const diffs = specs.flatMap((spec) => {
      const got = w.bound.get(spec.name)?.shape;
      if (got && same(got, spec.shape)) return [];
      return [`${spec.name} is [${got?.join(', ') ?? 'missing'}], x${scale} needs [${spec.shape.join(', ')}]`];
    });
    if (diffs.length > 0) {
      if ((PPLCNET_SCALES as readonly number[]).includes(scale) && (!closest || diffs.length < closest.diffs.length))
        closest = { scale, diffs };
      continue;
    }
    if (options.scale !== undefined && options.scale !== scale)
      fail(`this is PP-LCNet x${scale}, not the x${options.scale} asked for`);
    const stateDict: StateDict = new Map(
      specs.map((spec) => [spec.name, { shape: spec.shape, data: w.bound.get(spec.name)!.data }]),
    );
    const types = [...new Set(tensors.map((x) => x.dataType))].join(', ');
    const notes = [`${tensors.length} saved tensors (${types})`, ...w.notes];
    if (!(PPLCNET_SCALES as readonly number[]).includes(scale))
      notes.push(`channel counts of PP-LCNet x${scale}, not one of the published scales`);
    const embeddingDim = neckDim ?? planPPLCNet(network.geometry).featureDim;
    return { network, scale, embeddingDim, batchNorm: form, stateDict, notes };
  }
  return fail(
    `the network has PP-LCNet's structure but its channel counts match no scale; ` +
      `closest x${closest!.scale}: ${closest!.diffs.length} tensors differ, first ${closest!.diffs[0]}`,
  );
}
