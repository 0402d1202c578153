/**
 * Imports a Paddle 2.x inference model (`inference.pdmodel` + `inference.pdiparams`) of PP-LCNet + linear
 * neck into this project's parameter table.
 *
 * Tensors are named by the program's saved variables in the saver's order (./paddle-program.ts
 * savedVarNames), then mapped onto PP-LCNet by following the op chain from the feed op, never by variable
 * names: names depend on Paddle's unique_name counters and on which layer class made them, the graph does
 * not. The scale is inferred afterwards by checking every tensor against modelParameters().
 */
import { ImportError } from '../../../core/errors.ts';
import type { NamedTensor, StateDict } from '../../../core/state-dict.ts';
import { BN_EPSILON, CLASS_EXPAND, INFERENCE_DROPOUT_SCALE, planPPLCNet, PPLCNET_SCALES } from '../../architecture.ts';
import { modelParameters, type BatchNormForm } from '../../parameters.ts';
import type { ImportedModel } from '../imported-model.ts';
import { readPaddleParams, type PaddleTensor } from './paddle-params.ts';
import { attr, parsePaddleProgram, savedVarNames, type PaddleOp, type PaddleVar } from './paddle-program.ts';

export interface PaddleImportOptions {
  /** The PP-LCNet scale the caller expects; a model of another scale is an error instead of a surprise. */
  readonly scale?: number;
}

const CONV = ['conv2d', 'depthwise_conv2d'];
const POOL = ['pool2d', 'reduce_mean'];
const RESHAPE = ['flatten_contiguous_range', 'flatten2', 'flatten', 'reshape2', 'reshape', 'squeeze2', 'unsqueeze2'];
const NECK = ['matmul_v2', 'matmul', 'mul', 'fc'];
const KNOWN = new Set([...CONV, ...POOL, ...RESHAPE, ...NECK, 'feed', 'fetch', 'batch_norm', 'sync_batch_norm',
  'hard_swish', 'hardswish', 'hard_sigmoid', 'hardsigmoid', 'relu', 'elementwise_add', 'elementwise_mul', 'dropout', 'scale']);
const LAYOUTS: readonly unknown[] = [undefined, null, 'NCHW', 'AnyLayout'];
const FILE = 'inference.pdmodel';

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const close = (a: unknown, b: number): boolean => typeof a === 'number' && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
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

  constructor(ops: readonly PaddleOp[], private readonly params: ReadonlyMap<string, PaddleTensor>) {
    for (const op of ops) {
      for (const v of new Set(Object.values(op.inputs).flat())) this.consumers.set(v, [...(this.consumers.get(v) ?? []), op]);
    }
    const feeds = ops.filter((o) => o.type === 'feed');
    if (feeds.length !== 1) fail(`expected one feed op (one image input), found ${feeds.length}`);
    this.cur = this.out(feeds[0]!, 'Out');
  }

  after(): string {
    return `in ${this.section} after ${this.where}`;
  }
  next(types: readonly string[], what = types[0]!): PaddleOp {
    const ops = this.consumers.get(this.cur) ?? [];
    if (ops.length === 0) fail(`the graph ends ${this.after()} (expected ${what})`);
    const list = ops.map((o) => o.type).join(', ');
    if (ops.length > 1) fail(`${this.cur} feeds ${ops.length} ops (${list}) ${this.after()}; expected one ${what}`);
    const op = ops[0]!;
    if (!types.includes(op.type)) fail(`${KNOWN.has(op.type) ? 'unexpected' : 'unknown'} op "${op.type}" ${this.after()} (expected ${what})`);
    return op;
  }
  /** Checks that `op` reads `cur` from `inSlot` and moves `cur` to its output. */
  advance(op: PaddleOp, inSlot: string, outSlot: string): PaddleOp {
    if (!op.inputs[inSlot]?.includes(this.cur)) fail(`${op.type} does not read ${this.cur} as ${inSlot} ${this.after()}`);
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

  conv(weightName: string, stride: number, depthwise: boolean): void {
    const op = this.step(CONV, 'Input', 'Output', 'conv2d');
    const w = this.param(op, 'Filter');
    const where = (this.where = weightName.replace(/\.(conv\.)?weight$/, ''));
    if (w.dims.length !== 4) fail(`${where}: filter dims [${w.dims.join(', ')}] are not OIHW`);
    const groups = num(op, 'groups', 1);
    if (groups !== (depthwise ? w.dims[0] : 1)) fail(`${where}: groups ${groups}, expected ${depthwise ? 'one per channel' : 1}`);
    if (nums(op, 'strides').some((s) => s !== stride)) fail(`${where}: strides [${nums(op, 'strides').join(', ')}], expected ${stride}`);
    if (nums(op, 'dilations').some((d) => d !== 1)) fail(`${where}: dilated convolution`);
    const pad = (w.dims[2]! - 1) / 2;
    const algo = attr(op, 'padding_algorithm') ?? 'EXPLICIT';
    const explicitOff = algo === 'EXPLICIT' && nums(op, 'paddings').some((p) => p !== pad);
    if (explicitOff || (algo === 'VALID' && pad !== 0)) fail(`${where}: paddings differ from (k - 1) / 2 = ${pad}`);
    if (!LAYOUTS.includes(attr(op, 'data_format'))) fail(`${where}: data_format ${String(attr(op, 'data_format'))}`);
    this.bind(weightName, w);
  }

  /** An elementwise_add of a saved [C] (or [1, C, 1, 1]) tensor right after a conv: its bias. */
  bias(name: string, required: boolean): boolean {
    const ops = this.consumers.get(this.cur) ?? [];
    const op = ops.length === 1 && ops[0]!.type === 'elementwise_add' ? ops[0]! : undefined;
    const y = op?.inputs.Y?.[0];
    if (!op || y === undefined || !this.params.has(y)) return required ? fail(`expected a bias add (elementwise_add) ${this.after()}`) : false;
    const t = this.param(this.advance(op, 'X', 'Out'), 'Y');
    this.bind(name, { dims: [t.data.length], data: t.data });
    return true;
  }

  convBn(prefix: string, stride: number, depthwise: boolean): void {
    this.conv(`${prefix}.conv.weight`, stride, depthwise);
    if (this.bias(`${prefix}.conv.bias`, false)) this.forms.add('folded');
    else {
      const op = this.step(['batch_norm', 'sync_batch_norm'], 'X', 'Y', 'batch_norm');
      if (!LAYOUTS.includes(attr(op, 'data_layout'))) fail(`${prefix}: batch_norm data_layout ${String(attr(op, 'data_layout'))}`);
      const variance = this.param(op, 'Variance');
      const eps = num(op, 'epsilon', BN_EPSILON);
      let v = variance.data;
      // The builder uses BN_EPSILON; another epsilon carries over exactly as variance + eps - BN_EPSILON.
      if (!close(eps, BN_EPSILON)) {
        v = variance.data.map((x) => x + eps - BN_EPSILON);
        if (v.some((x) => x < 0)) fail(`${prefix}: batch_norm epsilon ${eps} cannot be carried into the variance`);
        this.notes.push(`${prefix}: batch_norm epsilon ${eps} folded into the variance (the builder uses ${BN_EPSILON})`);
      }
      this.bind(`${prefix}.bn.weight`, this.param(op, 'Scale'));
      this.bind(`${prefix}.bn.bias`, this.param(op, 'Bias'));
      this.bind(`${prefix}.bn._mean`, this.param(op, 'Mean'));
      this.bind(`${prefix}.bn._variance`, { dims: variance.dims, data: v });
      this.forms.add('separate');
    }
    this.act('hard_swish');
  }

  /** Global average pooling: pool2d (adaptive 1x1 or global) or reduce_mean over H, W (+ a reshape back). */
  pool(given?: PaddleOp): void {
    const op = this.advance(given ?? this.next(POOL, 'pool2d'), 'X', 'Out');
    if (op.type === 'pool2d') {
      const global = attr(op, 'global_pooling') === true || (attr(op, 'adaptive') === true && same(nums(op, 'ksize'), [1, 1]));
      if (attr(op, 'pooling_type') !== 'avg' || !global) fail(`pool2d ${this.after()} is not a global average pool`);
    } else {
      const dims = nums(op, 'dim').map((d) => (d < 0 ? d + 4 : d)).sort();
      if (!same(dims, [2, 3]) && attr(op, 'reduce_all') !== true) fail(`reduce_mean ${this.after()} does not average over H, W`);
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
    this.conv(`${prefix}.conv1.weight`, 1, false);
    this.bias(`${prefix}.conv1.bias`, true);
    this.act('relu');
    this.conv(`${prefix}.conv2.weight`, 1, false);
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

  /** Dropout, scale and reshapes up to the op that is the neck; returns that op and what the ops apply. */
  toNeck(): [PaddleOp, Affine] {
    let [a, c] = [1, 0];
    for (;;) {
      const op = this.next([...NECK, ...RESHAPE, 'dropout', 'scale'], 'the neck (matmul_v2)');
      if (NECK.includes(op.type)) return [op, [a, c]];
      this.advance(op, 'X', 'Out');
      if (op.type === 'dropout') {
        const p = num(op, 'dropout_prob', 0.5);
        const mode = attr(op, 'dropout_implementation') ?? 'downgrade_in_infer';
        // Paddle's Python API says downscale_in_infer and records downgrade_in_infer on the op.
        if (mode === 'downgrade_in_infer' || mode === 'downscale_in_infer') [a, c] = [a * (1 - p), c * (1 - p)];
        else if (mode !== 'upscale_in_train') fail(`dropout_implementation "${String(mode)}" ${this.after()}`);
        this.notes.push(`dropout ${String(mode)} p=${+p.toPrecision(7)} found after last_conv`);
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

export function importPaddleInference(
  pdmodel: Uint8Array,
  pdiparams: Uint8Array,
  options: PaddleImportOptions = {},
): ImportedModel {
  const program = parsePaddleProgram(pdmodel, FILE);
  const names = savedVarNames(program);
  const declared = new Map<string, PaddleVar>(program.blocks.flatMap((b) => b.vars.map((v) => [v.name, v] as const)));
  const tensors = readPaddleParams(pdiparams, { names, file: 'inference.pdiparams' });
  const params = new Map<string, PaddleTensor>();
  names.forEach((name, i) => {
    const t = tensors[i]!;
    const dims = declared.get(name)?.dims;
    if (dims && !same(dims, t.dims)) {
      throw new ImportError(`inference.pdiparams: ${name} has shape [${t.dims.join(', ')}] but ${FILE} declares ` +
        `[${dims.join(', ')}]: the two files come from different models (e.g. different PP-LCNet scales)`);
    }
    params.set(name, t);
  });

  const w = new Walker(program.blocks[0]!.ops, params);
  w.convBn('backbone.conv1', 2, false);
  for (const b of planPPLCNet(1).blocks) { // strides, kernels and SE placement do not depend on the scale
    w.convBn(`backbone.${b.name}.dw_conv`, b.stride, true);
    if (b.seChannels > 0) w.se(`backbone.${b.name}.se`);
    w.convBn(`backbone.${b.name}.pw_conv`, 1, false);
  }
  w.pool();
  w.conv('backbone.last_conv.weight', 1, false);
  if (w.bias('backbone.last_conv.bias', false)) fail('last_conv has a bias; PP-LCNet (V1) has none');
  w.act('hard_swish');
  const [neck, beforeNeck] = w.toNeck();
  let [a, c] = beforeNeck;

  w.section = 'the neck';
  const isFc = neck.type === 'fc';
  w.advance(neck, isFc ? 'Input' : 'X', 'Out');
  const weight = w.param(neck, isFc ? 'W' : 'Y');
  if (weight.dims.length !== 2) fail(`the neck weight has dims [${weight.dims.join(', ')}], expected 2-D`);
  if (attr(neck, 'trans_x') === true || attr(neck, 'transpose_X') === true) fail(`${neck.type} transposes the feature`);
  // Some Paddle 2.x F.linear versions put matmul's attribute names on matmul_v2: accept either spelling.
  const transpose = attr(neck, 'trans_y') === true || attr(neck, 'transpose_Y') === true;
  if (neck.type === 'matmul') [a, c] = [a * num(neck, 'alpha', 1), c * num(neck, 'alpha', 1)];
  if (isFc && (attr(neck, 'activation_type') ?? '') !== '') fail(`the fc neck has activation ${String(attr(neck, 'activation_type'))}`);
  const [fin, D] = transpose ? [weight.dims[1]!, weight.dims[0]!] : [weight.dims[0]!, weight.dims[1]!];
  let bias = isFc && neck.inputs.Bias?.length ? w.param(neck, 'Bias').data : undefined;
  if (!isFc && w.bias('neck.fc.bias', false)) bias = w.bound.get('neck.fc.bias')!.data;
  if (!bias) w.notes.push('the neck has no bias: zeros used');
  let [s, t] = [1, 0];
  while (w.next(['scale', 'fetch'], 'fetch').type === 'scale') {
    const [s2, t2] = w.scaleOp(w.step(['scale'], 'X', 'Out'));
    [s, t] = [s * s2, t * s2 + t2];
  }

  // The builder computes 0.8 * feature @ W + b; fold what this graph does instead into W and b.
  let factor = (a * s) / INFERENCE_DROPOUT_SCALE;
  if (Math.abs(factor - 1) < 1e-6) factor = 1; // 0.2 stored as float32 is not exactly 0.2
  else w.notes.push(`neck weight scaled by ${+factor.toPrecision(7)} (the graph applies ${+a.toPrecision(7)}, the builder ${INFERENCE_DROPOUT_SCALE})`);
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
  w.bind('neck.fc.weight', { dims: [fin, D], data: W });
  w.bind('neck.fc.bias', { dims: [D], data: b });
  return toImportedModel(w, names, tensors, D, options);
}

/** Picks the scale whose parameter table every bound tensor matches. */
function toImportedModel(
  w: Walker,
  names: readonly string[],
  tensors: readonly PaddleTensor[],
  D: number,
  options: PaddleImportOptions,
): ImportedModel {
  const unused = names.filter((n) => !w.used.has(n));
  if (unused.length > 0) w.notes.push(`${unused.length} saved tensors are not used by the mapped graph: ${unused.slice(0, 5).join(', ')}`);
  if (w.forms.size !== 1) fail('some convs have BatchNorm and others have it folded: not one PaddleClas model');
  const form = [...w.forms][0]!;
  const fin = w.bound.get('neck.fc.weight')!.shape[0];
  if (fin !== CLASS_EXPAND) fail(`the neck takes ${fin} features, PP-LCNet gives ${CLASS_EXPAND}`);
  let closest: { scale: number; diffs: string[] } | undefined;
  for (const scale of PPLCNET_SCALES) {
    const specs = modelParameters(scale, D, form);
    const diffs = specs.flatMap((spec) => {
      const got = w.bound.get(spec.name)?.shape;
      if (got && same(got, spec.shape)) return [];
      return [`${spec.name} is [${got?.join(', ') ?? 'missing'}], x${scale} needs [${spec.shape.join(', ')}]`];
    });
    if (diffs.length > 0) {
      if (!closest || diffs.length < closest.diffs.length) closest = { scale, diffs };
      continue;
    }
    if (options.scale !== undefined && options.scale !== scale) fail(`this is PP-LCNet x${scale}, not the x${options.scale} asked for`);
    const stateDict: StateDict = new Map(specs.map((spec) => [spec.name, { shape: spec.shape, data: w.bound.get(spec.name)!.data }]));
    const types = [...new Set(tensors.map((x) => x.dataType))].join(', ');
    const notes = [`${tensors.length} saved tensors (${types})`, ...w.notes];
    return { scale, embeddingDim: D, batchNorm: form, stateDict, notes };
  }
  return fail(`the network has PP-LCNet's structure but its channel counts match no scale (${PPLCNET_SCALES.join(', ')}); ` +
    `closest x${closest!.scale}: ${closest!.diffs.length} tensors differ, first ${closest!.diffs[0]}`);
}
