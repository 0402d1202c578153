/**
 * ONNX -> ImportedModel: a PP-LCNet exported by paddle2onnx (or anything computing the same graph), mapped onto
 * this project's parameter table by graph structure and checked tensor by tensor.
 *
 * What is accepted: opsets 7-21; weights as initializers or Constant nodes, FLOAT / FLOAT16 / DOUBLE, raw_data
 * or typed fields; Identity and Dropout nodes anywhere (skipped); Conv + BatchNormalization or BatchNorm folded
 * into the conv bias; conv biases as the Conv's third input or a following Add of a [1, C, 1, 1] constant; any
 * spelling of hardswish and hardsigmoid (see onnx-elementwise.ts); the dropout scale as a Mul or nothing;
 * Flatten / Reshape (constant or computed shape) / Squeeze; MatMul + Add or Gemm; then a Softmax, a scalar
 * scale, and outputs derived from the scores (ArgMax, TopK, Cast), which are ignored. The geometry (strides,
 * last_conv, class_expand, dropout) is read from the graph; a linear layer followed by a Softmax is a
 * classifier's fc, otherwise a PP-ShiTu neck (ImportOptions.role decides when the caller knows better).
 */
import { ImportError } from '../../../core/errors.ts';
import { DEFAULT_MODEL_IMPORT_OPTIONS } from '../../../core/options.ts';
import type { StateDict } from '../../../core/state-dict.ts';
import {
  BN_EPSILON,
  describeStride,
  planPPLCNet,
  PPLCNET_SCALES,
  standardGeometry,
  type PPLCNetGeometry,
  type PPLCNetPlan,
  type StrideHW,
} from '../../architecture.ts';
import { networkParameters, type BatchNormForm, type NetworkSpec } from '../../parameters.ts';
import type { ImportedModel, ImportOptions } from '../imported-model.ts';
import { decodeOnnxModel, type OnnxNode } from './onnx-decode.ts';
import { GraphView, SHAPE_OPS } from './onnx-elementwise.ts';
import { MAX_OPSET, MIN_OPSET } from './onnx-proto.ts';
import { IGNORED_TAIL_OPS, KNOWN_OPS, PPLCNetWalker, type ConvFound, type WalkResult } from './onnx-walk.ts';

export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): ImportedModel {
  const graph = decodeOnnxModel(bytes);
  const view = new GraphView(graph);
  rejectUnknownOps(view);
  const walk = new PPLCNetWalker(view).walk();
  const notes = [`ONNX opset ${graph.opset}${graph.producer ? `, produced by ${graph.producer}` : ''}`];
  if (graph.opset < MIN_OPSET || graph.opset > MAX_OPSET)
    notes.push(`opset ${graph.opset} is outside the tested range ${MIN_OPSET}-${MAX_OPSET}`);
  for (const [op, n] of view.removed)
    notes.push(`${n} ${op} node${n === 1 ? '' : 's'} skipped (no computation at inference)`);
  notes.push(...walk.notes);

  const role = options.role ?? DEFAULT_MODEL_IMPORT_OPTIONS.role;
  const classifier = role === 'classifier' || (role === 'auto' && walk.softmax);
  const read = readGeometry(walk, classifier, notes);
  const linearScale = read.linearScale;
  const plan = planFor(walk, read.geometry);
  const geometry = plan.geometry;
  if (!(PPLCNET_SCALES as readonly number[]).includes(geometry.scale)) {
    notes.push(
      `channel counts of PP-LCNet x${geometry.scale}, not one of the published scales (${PPLCNET_SCALES.join(', ')})`,
    );
  }
  const convs = convBnLayers(walk, plan);
  // 'separate' only when every layer has its BatchNorm and the epsilon difference keeps every variance >= 0.
  const batchNorm: BatchNormForm = convs.every(
    ([, c]) => c.bn && c.bn.variance.every((v) => v + c.bn!.epsilon - BN_EPSILON >= 0),
  )
    ? 'separate'
    : 'folded';
  const withBn = convs.filter(([, c]) => c.bn).length;
  if (batchNorm === 'folded' && withBn > 0)
    notes.push(
      `${withBn} of ${convs.length} convs had a BatchNormalization node; folded into the conv weights and bias`,
    );

  const sd: StateDict = new Map();
  const set = (name: string, shape: readonly number[], data: Float32Array): void => void sd.set(name, { shape, data });
  for (const [prefix, c] of convs) {
    if (batchNorm === 'separate') putSeparate(set, prefix, c, notes);
    else putFolded(set, prefix, c);
  }
  for (const [i, b] of walk.blocks.entries()) {
    if (!b.se) continue;
    const p = `backbone.${plan.blocks[i]!.name}.se`;
    for (const [k, conv] of [
      ['conv1', b.se.conv1],
      ['conv2', b.se.conv2],
    ] as const) {
      set(`${p}.${k}.weight`, conv.weight.dims, conv.weight.data);
      set(`${p}.${k}.bias`, [conv.outChannels], conv.bias ?? new Float32Array(conv.outChannels));
    }
  }
  if (walk.lastConv) set('backbone.last_conv.weight', walk.lastConv.weight.dims, walk.lastConv.weight.data);

  const linearWeight = linearScale === 1 ? walk.linearWeight : walk.linearWeight.map((w) => w * linearScale);
  const network: NetworkSpec = { geometry, batchNorm, ...(classifier ? {} : { neckDim: walk.outputDim }) };
  if (classifier) {
    notes.push(
      `a classifier (${walk.outputDim} classes${walk.softmax ? ', softmax' : ''}): the embedding is the ${walk.featureDim}-d feature that feeds its fc`,
    );
  } else {
    set('neck.fc.weight', [walk.featureDim, walk.outputDim], linearWeight);
    set('neck.fc.bias', [walk.outputDim], walk.linearBias);
    if (walk.softmax)
      notes.push(
        'the file ends in a Softmax but was imported as an embedder (role "embedder"): the Softmax is left out',
      );
  }
  checkAgainstTable(sd, network);
  const [, , h, w] = graph.inputDims;
  return {
    network,
    scale: geometry.scale,
    embeddingDim: classifier ? walk.featureDim : walk.outputDim,
    batchNorm,
    stateDict: sd,
    ...(classifier
      ? { classifier: { weight: linearWeight, bias: walk.linearBias, classes: walk.outputDim, softmax: walk.softmax } }
      : {}),
    ...(h && w ? { inputSize: [h, w] as const } : {}),
    notes,
  };
}

/**
 * Strides, last_conv and the dropout factor as the graph has them; the scale comes from planFor. A PP-ShiTu
 * model keeps PaddleClas's dropout_prob 0.2 and any other factor joins its neck (the embedding is the same, the
 * manifest stays standard); a classifier's feature is the embedding, so it keeps the graph's own factor.
 */
function readGeometry(
  walk: WalkResult,
  classifier: boolean,
  notes: string[],
): { geometry: PPLCNetGeometry; linearScale: number } {
  // PaddleClas sets strides only on conv1 and the first block of blocks3-6 (indices 1, 3, 5, 11 of the 13).
  const strideList: StrideHW[] = [
    walk.stem.stride,
    ...[1, 3, 5, 11].map((i) => walk.blocks[i]?.dw.stride ?? ([2, 2] as const)),
  ];
  let dropoutProb = standardGeometry(1).dropoutProb;
  let linearScale = 1;
  if (walk.lastConv && !classifier) {
    let factor = walk.tailFactor;
    if (Math.abs(factor - 0.8) <= 1e-6) factor = 0.8;
    linearScale = factor / 0.8;
    notes.push(
      linearScale === 1
        ? "dropout scale 0.8 found after last_conv's hardswish"
        : `the graph scales last_conv's hardswish by ${+factor.toPrecision(7)} instead of 0.8; folded ${+linearScale.toPrecision(7)} into neck.fc.weight`,
    );
  } else if (walk.lastConv) {
    // The graph's factor after last_conv's hardswish is Dropout(p)'s 1 - p; anything else (> 1) joins the linear layer.
    let factor = walk.tailFactor;
    if (Math.abs(factor - 0.8) <= 1e-6) factor = 0.8;
    else if (Math.abs(factor - 1) <= 1e-6) factor = 1;
    if (factor > 0 && factor <= 1) {
      dropoutProb = +(1 - factor).toPrecision(7); // 1 - 0.8 is 0.19999999999999996 in float64
      notes.push(
        factor === 1
          ? 'no dropout scale after last_conv (dropout_prob 0)'
          : `dropout scale ${+factor.toPrecision(7)} after last_conv (dropout_prob ${+dropoutProb.toPrecision(7)})`,
      );
    } else {
      dropoutProb = 0;
      linearScale = factor;
      notes.push(`the graph scales last_conv's hardswish by ${factor}; folded into the linear layer`);
    }
  } else {
    linearScale = walk.tailFactor;
  }
  const geometry: PPLCNetGeometry = {
    scale: 1,
    strideList,
    useLastConv: walk.lastConv !== undefined,
    classExpand: walk.lastConv?.outChannels ?? standardGeometry(1).classExpand,
    dropoutProb,
  };
  return { geometry, linearScale };
}

type Setter = (name: string, shape: readonly number[], data: Float32Array) => void;

function convBnLayers(walk: WalkResult, plan: PPLCNetPlan): [string, ConvFound][] {
  const out: [string, ConvFound][] = [['backbone.conv1', walk.stem]];
  walk.blocks.forEach((b, i) => {
    const name = plan.blocks[i]!.name;
    out.push([`backbone.${name}.dw_conv`, b.dw], [`backbone.${name}.pw_conv`, b.pw]);
  });
  return out;
}

/** BN(conv(x) + b) with epsilon e equals BN'(conv(x)) with mean - b and variance + e - 1e-5: exact, no refit. */
function putSeparate(set: Setter, prefix: string, c: ConvFound, notes: string[]): void {
  const bn = c.bn!;
  set(`${prefix}.conv.weight`, c.weight.dims, c.weight.data);
  const n = [c.outChannels];
  set(`${prefix}.bn.weight`, n, bn.gamma);
  set(`${prefix}.bn.bias`, n, bn.beta);
  set(`${prefix}.bn._mean`, n, c.bias ? bn.mean.map((m, i) => m - c.bias![i]!) : bn.mean);
  // Attributes are float32: an epsilon of 1e-5 arrives as 9.99999974738e-6 and is no difference.
  const shift = Math.fround(bn.epsilon) === Math.fround(BN_EPSILON) ? 0 : bn.epsilon - BN_EPSILON;
  set(`${prefix}.bn._variance`, n, shift === 0 ? bn.variance : bn.variance.map((v) => v + shift));
  if (shift !== 0 && prefix === 'backbone.conv1')
    notes.push(`BatchNorm epsilon ${bn.epsilon} moved into the variances (the model uses ${BN_EPSILON})`);
}

function putFolded(set: Setter, prefix: string, c: ConvFound): void {
  const n = c.outChannels;
  const bias = c.bias ? Float32Array.from(c.bias) : new Float32Array(n);
  let weight = c.weight.data;
  if (c.bn) {
    const { gamma, beta, mean, variance, epsilon } = c.bn;
    const perOut = weight.length / n;
    weight = weight.map((w, i) => {
      const o = Math.floor(i / perOut);
      return w * (gamma[o]! / Math.sqrt(variance[o]! + epsilon));
    });
    for (let o = 0; o < n; o++) {
      const k = gamma[o]! / Math.sqrt(variance[o]! + epsilon);
      bias[o] = (bias[o]! - mean[o]!) * k + beta[o]!;
    }
  }
  set(`${prefix}.conv.weight`, c.weight.dims, weight);
  set(`${prefix}.conv.bias`, [n], bias);
}

/**
 * The geometry with the scale whose plan has exactly these layers: a published scale when one matches, else
 * any scale that gives the same channel counts (PaddleClas takes any float; make_divisible makes many equal).
 */
export function planFor(walk: WalkResult, partial: PPLCNetGeometry): PPLCNetPlan {
  const candidates = [...PPLCNET_SCALES, ...Array.from({ length: 400 }, (_, k) => (k + 1) / 100)];
  for (const scale of candidates) {
    const plan = planPPLCNet({ ...partial, scale });
    if (matchesPlan(walk, plan)) return plan;
  }
  const found = describeWalk(walk);
  const last = walk.blocks.at(-1)?.pw.outChannels ?? 0;
  const closest = [...PPLCNET_SCALES].sort(
    (a, b) =>
      Math.abs(planPPLCNet({ ...partial, scale: a }).lastConvIn - last) -
      Math.abs(planPPLCNet({ ...partial, scale: b }).lastConvIn - last),
  )[0]!;
  throw new ImportError(
    `The graph is not PP-LCNet at any scale: found ${found}. ` +
      `The closest, x${closest} with these strides, has ${describePlan(planPPLCNet({ ...partial, scale: closest }))}.`,
  );
}

function matchesPlan(walk: WalkResult, plan: PPLCNetPlan): boolean {
  const same = (a: StrideHW, b: StrideHW) => a[0] === b[0] && a[1] === b[1];
  if (walk.stem.outChannels !== plan.stemChannels || walk.stem.kernel !== 3 || !same(walk.stem.stride, plan.stemStride))
    return false;
  if (walk.blocks.length !== plan.blocks.length) return false;
  const blocksOk = plan.blocks.every((p, i) => {
    const b = walk.blocks[i]!;
    return (
      b.dw.outChannels === p.inChannels &&
      b.dw.kernel === p.kernel &&
      same(b.dw.stride, p.stride) &&
      b.pw.outChannels === p.outChannels &&
      (b.se?.conv1.outChannels ?? 0) === p.seChannels
    );
  });
  const last = walk.blocks.at(-1)?.pw.outChannels;
  return blocksOk && last === plan.lastConvIn && walk.featureDim === plan.featureDim;
}

function describeWalk(walk: WalkResult): string {
  const blocks = walk.blocks.map(
    (b) => `${b.dw.outChannels}->${b.pw.outChannels}${blockTags(b.dw.kernel, b.dw.stride, Boolean(b.se))}`,
  );
  const tail = walk.lastConv
    ? `last_conv ${walk.lastConv.weight.dims[1]}->${walk.lastConv.outChannels}`
    : 'no last_conv';
  return `stem ${walk.stem.outChannels} channels stride ${describeStride(walk.stem.stride)}, ${walk.blocks.length} blocks [${blocks.join(', ')}], ${tail}`;
}

function describePlan(plan: PPLCNetPlan): string {
  const blocks = plan.blocks.map(
    (b) => `${b.inChannels}->${b.outChannels}${blockTags(b.kernel, b.stride, b.seChannels > 0)}`,
  );
  const tail = plan.geometry.useLastConv ? `last_conv ${plan.lastConvIn}->${plan.featureDim}` : 'no last_conv';
  return `stem ${plan.stemChannels} channels stride ${describeStride(plan.stemStride)}, ${plan.blocks.length} blocks [${blocks.join(', ')}], ${tail}`;
}

function blockTags(kernel: number, stride: StrideHW, se: boolean): string {
  const s = stride[0] === 1 && stride[1] === 1 ? '' : ` s${describeStride(stride)}`;
  return `${kernel === 5 ? ' k5' : ''}${s}${se ? ' SE' : ''}`;
}

/** Every entry of the parameter table, with its shape, and nothing else: the contract ImportedModel promises. */
function checkAgainstTable(sd: StateDict, network: NetworkSpec): void {
  const specs = networkParameters(network);
  const scale = network.geometry.scale;
  for (const spec of specs) {
    const t = sd.get(spec.name);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (!t || t.shape.join() !== spec.shape.join() || t.data.length !== n) {
      throw new ImportError(
        `Tensor for "${spec.name}" has shape [${t?.shape.join(', ') ?? 'missing'}]; PP-LCNet x${scale} needs [${spec.shape.join(', ')}].`,
      );
    }
  }
  if (sd.size !== specs.length)
    throw new ImportError(`The import produced ${sd.size} tensors; PP-LCNet x${scale} has ${specs.length}.`);
}

/** Names the first op reachable from the image that PP-LCNet does not have, and what feeds it. */
function rejectUnknownOps(view: GraphView): void {
  const producer = new Map<string, OnnxNode>();
  for (const n of view.graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const seen = new Set<OnnxNode>();
  const queue = [view.graph.input];
  // Each node is queued at most once: bounded by the graph's size.
  while (queue.length > 0) {
    for (const n of view.consumers(queue.shift()!)) {
      if (seen.has(n)) continue;
      seen.add(n);
      // The scores' own post-processing (ArgMax, TopK, Cast): not followed here; the walk says where it sits if not
      // after the scores.
      if (IGNORED_TAIL_OPS.has(n.opType) && !SHAPE_OPS.has(n.opType)) continue;
      if (!KNOWN_OPS.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx')) {
        const from = n.inputs.map((i) => producer.get(i)).find((p) => p);
        throw new ImportError(
          `Unsupported op ${n.domain ? `${n.domain}.` : ''}${n.opType} (node "${n.name}")${from ? ` after ${from.opType} "${from.name}"` : ''}: ` +
            'PP-LCNet (with a linear neck or an fc) has no such op. Export the plain PaddleClas / PaddleX inference model' +
            (n.domain === 'com.microsoft'
              ? " (this op comes from onnxruntime's extended optimisations: save with the basic level, or export again)"
              : '') +
            '.',
        );
      }
      queue.push(...n.outputs);
    }
  }
}
