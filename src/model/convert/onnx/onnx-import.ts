/**
 * ONNX -> ImportedModel: a PP-ShiTu feature extractor exported by paddle2onnx (or anything computing the same
 * graph), mapped onto this project's parameter table by graph structure and checked tensor by tensor.
 *
 * What is accepted: opsets 11-17 (others are tried, with a note); weights as initializers or Constant nodes,
 * FLOAT / FLOAT16 / DOUBLE, raw_data or typed fields; Conv + BatchNormalization or BatchNorm already folded
 * into the conv bias; any spelling of hardswish and hardsigmoid (see onnx-elementwise.ts); the dropout scale
 * as a Mul, a Dropout op or nothing; Flatten / Reshape / Squeeze; MatMul + Add or Gemm.
 */
import { ImportError } from '../../../core/errors.ts';
import type { StateDict } from '../../../core/state-dict.ts';
import { BN_EPSILON, CLASS_EXPAND, INFERENCE_DROPOUT_SCALE, PPLCNET_SCALES, planPPLCNet, type PPLCNetPlan } from '../../architecture.ts';
import { modelParameters, type BatchNormForm } from '../../parameters.ts';
import type { ImportedModel } from '../imported-model.ts';
import { decodeOnnxModel, type OnnxNode } from './onnx-decode.ts';
import { GraphView } from './onnx-elementwise.ts';
import { MAX_OPSET, MIN_OPSET } from './onnx-proto.ts';
import { KNOWN_OPS, PPLCNetWalker, type ConvFound, type WalkResult } from './onnx-walk.ts';

export function importOnnx(bytes: Uint8Array): ImportedModel {
  const graph = decodeOnnxModel(bytes);
  const view = new GraphView(graph);
  rejectUnknownOps(view);
  const walk = new PPLCNetWalker(view).walk();
  const scale = inferScale(walk);
  const notes = [`ONNX opset ${graph.opset}${graph.producer ? `, produced by ${graph.producer}` : ''}`, ...walk.notes];
  if (graph.opset < MIN_OPSET || graph.opset > MAX_OPSET) notes.push(`opset ${graph.opset} is outside the tested range ${MIN_OPSET}-${MAX_OPSET}`);

  const convs = convBnLayers(walk, scale);
  // 'separate' only when every layer has its BatchNorm and the epsilon difference keeps every variance >= 0.
  const batchNorm: BatchNormForm = convs.every(([, c]) => c.bn && c.bn.variance.every((v) => v + c.bn!.epsilon - BN_EPSILON >= 0)) ? 'separate' : 'folded';
  const withBn = convs.filter(([, c]) => c.bn).length;
  if (batchNorm === 'folded' && withBn > 0) notes.push(`${withBn} of ${convs.length} convs had a BatchNormalization node; folded into the conv weights and bias`);

  const sd: StateDict = new Map();
  const set = (name: string, shape: readonly number[], data: Float32Array): void => void sd.set(name, { shape, data });
  for (const [prefix, c] of convs) {
    if (batchNorm === 'separate') putSeparate(set, prefix, c, notes);
    else putFolded(set, prefix, c);
  }
  for (const [i, b] of walk.blocks.entries()) {
    if (!b.se) continue;
    const p = `backbone.${planPPLCNet(scale).blocks[i]!.name}.se`;
    for (const [k, conv] of [['conv1', b.se.conv1], ['conv2', b.se.conv2]] as const) {
      set(`${p}.${k}.weight`, conv.weight.dims, conv.weight.data);
      set(`${p}.${k}.bias`, [conv.outChannels], conv.bias ?? new Float32Array(conv.outChannels));
    }
  }
  set('backbone.last_conv.weight', walk.lastConv.weight.dims, walk.lastConv.weight.data);

  // The model's forward multiplies by 0.8 itself, so whatever factor the graph had goes into the neck as factor / 0.8.
  let factor = walk.tailFactor;
  if (Math.abs(factor - INFERENCE_DROPOUT_SCALE) <= 1e-6) factor = INFERENCE_DROPOUT_SCALE;
  else if (Math.abs(factor - 1) <= 1e-6) factor = 1;
  const fold = factor / INFERENCE_DROPOUT_SCALE;
  notes.push(
    fold === 1
      ? `dropout scale ${INFERENCE_DROPOUT_SCALE} found after last_conv's hardswish`
      : `the graph scales last_conv's hardswish by ${factor} instead of ${INFERENCE_DROPOUT_SCALE}; folded ${fold} into neck.fc.weight`,
  );
  set('neck.fc.weight', [CLASS_EXPAND, walk.embeddingDim], fold === 1 ? walk.neckWeight : walk.neckWeight.map((w) => w * fold));
  set('neck.fc.bias', [walk.embeddingDim], walk.neckBias);

  checkAgainstTable(sd, scale, walk.embeddingDim, batchNorm);
  return { scale, embeddingDim: walk.embeddingDim, batchNorm, stateDict: sd, notes };
}

type Setter = (name: string, shape: readonly number[], data: Float32Array) => void;

function convBnLayers(walk: WalkResult, scale: number): [string, ConvFound][] {
  const plan = planPPLCNet(scale);
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
  if (shift !== 0 && prefix === 'backbone.conv1') notes.push(`BatchNorm epsilon ${bn.epsilon} moved into the variances (the model uses ${BN_EPSILON})`);
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

/** The unique published scale whose plan has exactly these layers. */
export function inferScale(walk: WalkResult): number {
  for (const scale of PPLCNET_SCALES) if (matchesPlan(walk, planPPLCNet(scale))) return scale;
  const found = describeWalk(walk);
  // Not a published scale: is it PP-LCNet at some other one? last_conv reads make_divisible(512 * scale).
  const guess = Math.round((walk.lastConv.weight.dims[1]! / 512) * 20) / 20;
  if (guess > 0 && matchesPlan(walk, planPPLCNet(guess))) {
    throw new ImportError(
      `The graph is PP-LCNet x${guess}, which is not one of the eight published scales (${PPLCNET_SCALES.join(', ')}); found ${found}.`,
    );
  }
  const closest = [...PPLCNET_SCALES].sort(
    (a, b) => Math.abs(planPPLCNet(a).lastConvIn - walk.lastConv.weight.dims[1]!) - Math.abs(planPPLCNet(b).lastConvIn - walk.lastConv.weight.dims[1]!),
  )[0]!;
  throw new ImportError(
    `The graph's layers match PP-LCNet at none of the scales ${PPLCNET_SCALES.join(', ')}: found ${found}. ` +
      `The closest, x${closest}, has ${describePlan(planPPLCNet(closest))}.`,
  );
}

function matchesPlan(walk: WalkResult, plan: PPLCNetPlan): boolean {
  if (walk.stem.outChannels !== plan.stemChannels || walk.stem.kernel !== 3 || walk.stem.stride !== 2) return false;
  if (walk.blocks.length !== plan.blocks.length) return false;
  const blocksOk = plan.blocks.every((p, i) => {
    const b = walk.blocks[i]!;
    return (
      b.dw.outChannels === p.inChannels &&
      b.dw.kernel === p.kernel &&
      b.dw.stride === p.stride &&
      b.pw.outChannels === p.outChannels &&
      (b.se?.conv1.outChannels ?? 0) === p.seChannels
    );
  });
  return blocksOk && walk.lastConv.weight.dims[1] === plan.lastConvIn && walk.lastConv.outChannels === plan.featureDim;
}

function describeWalk(walk: WalkResult): string {
  const blocks = walk.blocks.map((b) => `${b.dw.outChannels}->${b.pw.outChannels}${blockTags(b.dw.kernel, b.dw.stride, Boolean(b.se))}`);
  return `stem ${walk.stem.outChannels} channels, ${walk.blocks.length} blocks [${blocks.join(', ')}], last_conv ${walk.lastConv.weight.dims[1]}->${walk.lastConv.outChannels}`;
}

function describePlan(plan: PPLCNetPlan): string {
  const blocks = plan.blocks.map((b) => `${b.inChannels}->${b.outChannels}${blockTags(b.kernel, b.stride, b.seChannels > 0)}`);
  return `stem ${plan.stemChannels} channels, ${plan.blocks.length} blocks [${blocks.join(', ')}], last_conv ${plan.lastConvIn}->${plan.featureDim}`;
}

function blockTags(kernel: number, stride: number, se: boolean): string {
  return `${kernel === 5 ? ' k5' : ''}${stride === 2 ? ' s2' : ''}${se ? ' SE' : ''}`;
}

/** Every entry of the parameter table, with its shape, and nothing else: the contract ImportedModel promises. */
function checkAgainstTable(sd: StateDict, scale: number, dim: number, form: BatchNormForm): void {
  const specs = modelParameters(scale, dim, form);
  for (const spec of specs) {
    const t = sd.get(spec.name);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (!t || t.shape.join() !== spec.shape.join() || t.data.length !== n) {
      throw new ImportError(
        `Tensor for "${spec.name}" has shape [${t?.shape.join(', ') ?? 'missing'}]; PP-LCNet x${scale} needs [${spec.shape.join(', ')}].`,
      );
    }
  }
  if (sd.size !== specs.length) throw new ImportError(`The import produced ${sd.size} tensors; PP-LCNet x${scale} has ${specs.length}.`);
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
      if (!KNOWN_OPS.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx')) {
        const from = n.inputs.map((i) => producer.get(i)).find((p) => p);
        throw new ImportError(
          `Unsupported op ${n.domain ? `${n.domain}.` : ''}${n.opType} (node "${n.name}")${from ? ` after ${from.opType} "${from.name}"` : ''}: ` +
            'PP-LCNet + linear neck has no such op. Export the plain PP-ShiTu inference model.',
        );
      }
      queue.push(...n.outputs);
    }
  }
}
