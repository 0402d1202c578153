/**
 * Recognises activations by what they compute, not by how they are spelled.
 *
 * Exporters write hardswish as HardSwish, as x * HardSigmoid(x), as x * Clip(x + 3, 0, 6) / 6, as
 * x * Min(Relu(x + 3), 6) * (1/6), ... and more spellings will come. Matching each pattern is brittle; instead
 * we take the elementwise subgraph that hangs off one value (nodes whose other inputs are scalar constants),
 * evaluate it on sample points, and compare the result with hardswish, Paddle's hardsigmoid, ReLU and the
 * identity, up to a constant factor (the dropout scale rides along at the tail). A wrong constant, such as
 * tfjs's hardsigmoid slope 0.2 instead of 1/6, shows up as a wrong value and is rejected.
 */
import { ImportError } from '../../../core/errors.ts';
import type { OnnxGraph, OnnxNode, OnnxTensor } from './onnx-decode.ts';
import { hardSwishScalar, paddleHardSigmoidScalar } from '../../activations.ts';

/** Ops that act on each element alone (with scalar constants). */
export const ELEMENTWISE = new Set([
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Clip',
  'Relu',
  'HardSigmoid',
  'HardSwish',
  'Min',
  'Max',
  'Neg',
  'Identity',
  'Dropout',
]);
/** Ops that move no values, only change the shape: transparent at the tail, between last_conv and the neck. */
export const SHAPE_OPS = new Set(['Flatten', 'Reshape', 'Squeeze']);

/** Ops that compute nothing at inference: Identity, and Dropout (its first output is its input). */
const PASS_THROUGH = new Set(['Identity', 'Dropout']);

/**
 * Consumers and constants of a decoded graph, with the pass-through ops taken out: exporters put Identity
 * nodes anywhere (PIR-era paddle2onnx after every Add and Mul, legacy paddle2onnx as the final `scale` op) and
 * Dropout nodes where the model had one. Each reader of such an op's output reads its input instead; a graph
 * output written by one is its input.
 */
export class GraphView {
  readonly graph: OnnxGraph;
  /** How many pass-through nodes were taken out, by op type (for the import's notes). */
  readonly removed = new Map<string, number>();
  private readonly consumerMap = new Map<string, OnnxNode[]>();
  private readonly outputSet: ReadonlySet<string>;

  constructor(original: OnnxGraph) {
    const alias = new Map<string, string>();
    for (const n of original.nodes) {
      if (!PASS_THROUGH.has(n.opType) || (n.domain !== '' && n.domain !== 'ai.onnx') || !n.inputs[0] || !n.outputs[0])
        continue;
      alias.set(n.outputs[0], n.inputs[0]);
      this.removed.set(n.opType, (this.removed.get(n.opType) ?? 0) + 1);
    }
    // Chains of aliases resolve to their root; the step bound makes a cycle of Identities end, not loop.
    const resolve = (v: string): string => {
      let r = v;
      for (let steps = 0; alias.has(r) && steps <= alias.size; steps++) r = alias.get(r)!;
      return r;
    };
    const nodes = original.nodes
      .filter((n) => !(n.outputs[0] !== undefined && alias.has(n.outputs[0]) && PASS_THROUGH.has(n.opType)))
      .map((n) => ({ ...n, inputs: n.inputs.map((i) => (i === '' ? i : resolve(i))) }));
    const constants = new Map(original.constants);
    for (const [from] of alias) {
      const c = original.constants.get(resolve(from));
      if (c) constants.set(from, c);
    }
    // Shape ops on constants (paddle2onnx reshapes a [C] bias to [1, C, 1, 1] before adding it) are folded
    // into constants; their values do not change, only their dims.
    const kept = nodes.filter((n) => {
      const folded = foldShapeOp(n, constants);
      if (folded) constants.set(n.outputs[0]!, folded);
      return !folded;
    });
    this.graph = { ...original, nodes: kept, constants, outputs: original.outputs.map(resolve) };
    for (const n of this.graph.nodes) {
      for (const i of new Set(n.inputs)) {
        if (!this.consumerMap.has(i)) this.consumerMap.set(i, []);
        this.consumerMap.get(i)!.push(n);
      }
    }
    this.outputSet = new Set(this.graph.outputs);
  }

  /** Nodes reading `value`, except Shape nodes: reading a shape is not a use of the values. */
  consumers(value: string): OnnxNode[] {
    return (this.consumerMap.get(value) ?? []).filter((n) => n.opType !== 'Shape');
  }

  constant(name: string): OnnxTensor | undefined {
    return this.graph.constants.get(name);
  }

  isGraphOutput(value: string): boolean {
    return this.outputSet.has(value);
  }
}

/** A Reshape / Unsqueeze / Squeeze / Flatten of a constant, as a constant of the new dims; else undefined. */
function foldShapeOp(n: OnnxNode, constants: ReadonlyMap<string, OnnxTensor>): OnnxTensor | undefined {
  const x = n.inputs[0] ? constants.get(n.inputs[0]) : undefined;
  const out = n.outputs[0];
  if (!x || !out || (!SHAPE_OPS.has(n.opType) && n.opType !== 'Unsqueeze')) return undefined;
  const ints = (k: number, attr: string): number[] | undefined => {
    const fromAttr = n.attributes.get(attr)?.ints;
    if (fromAttr) return [...fromAttr];
    const t = n.inputs[k] ? constants.get(n.inputs[k]) : undefined;
    return t ? Array.from(t.data) : undefined;
  };
  const count = x.data.length;
  let dims: number[] | undefined;
  if (n.opType === 'Reshape') {
    const shape = ints(1, 'shape');
    if (!shape) return undefined;
    const copied = shape.map((d, i) => (d === 0 ? (x.dims[i] ?? 1) : d));
    const known = copied.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    dims = copied.map((d) => (d === -1 ? count / Math.max(known, 1) : d));
  } else if (n.opType === 'Unsqueeze') {
    const axes = ints(1, 'axes');
    if (!axes) return undefined;
    const rank = x.dims.length + axes.length;
    const at = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
    const rest = [...x.dims];
    dims = Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : (rest.shift() ?? 1)));
  } else if (n.opType === 'Squeeze') {
    const axes = ints(1, 'axes')?.map((a) => (a < 0 ? a + x.dims.length : a));
    dims = x.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  } else {
    const axis = n.attributes.get('axis')?.i ?? 1;
    const a = axis < 0 ? axis + x.dims.length : axis;
    dims = [x.dims.slice(0, a).reduce((p, q) => p * q, 1), x.dims.slice(a).reduce((p, q) => p * q, 1)];
  }
  if (dims.some((d) => !Number.isInteger(d) || d < 0) || dims.reduce((p, q) => p * q, 1) !== count) return undefined;
  return { ...x, name: out, dims };
}

export type ActivationKind = 'identity' | 'relu' | 'hardswish' | 'hardsigmoid';

export interface Activation {
  readonly kind: ActivationKind;
  /** The constant factor in front: 1 for a plain activation, 0.8 for hardswish + inference dropout. */
  readonly factor: number;
  /** The value the activation ends in. */
  readonly output: string;
  readonly nodes: readonly OnnxNode[];
}

const SAMPLES = Float64Array.from([
  -10, -7, -6, -5, -4, -3.5, -3, -2.5, -2, -1.5, -1, -0.75, -0.5, -0.25, -0.1, 0, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5,
  3, 3.5, 4, 5, 6, 7, 10,
]);
/** Relative tolerance: accepts HardSigmoid alpha = 1/6 +- ~1e-6 (float32 rounding of 1/6 is 5e-9), rejects 0.2. */
const TOLERANCE = 4e-6;

const BASES: readonly [ActivationKind, (x: number) => number][] = [
  ['identity', (x) => x],
  ['relu', (x) => Math.max(x, 0)],
  ['hardswish', hardSwishScalar],
  ['hardsigmoid', paddleHardSigmoidScalar],
];

/**
 * The elementwise subgraph starting at `start` and what it computes. `where` names the place for messages.
 * With `shapeOps`, Flatten / Reshape / Squeeze are passed through (the tail's flatten).
 */
export function readActivation(view: GraphView, start: string, where: string, shapeOps = false): Activation {
  const nodes = collectRegion(view, start, shapeOps);
  const inRegion = new Set(nodes);
  const values = new Set([start, ...nodes.map((n) => n.outputs[0]!)]);
  const exits = [...values].filter((v) => view.isGraphOutput(v) || view.consumers(v).some((c) => !inRegion.has(c)));
  if (exits.length !== 1) {
    const ops = nodes.map((n) => `${n.opType} "${n.name}"`).join(', ');
    throw new ImportError(
      `${where}: the activation (${ops || 'no nodes'}) branches into ${exits.length} outputs; PP-LCNet has a single chain here.`,
    );
  }
  const output = exits[0]!;
  const y = evaluate(view, nodes, start, output, where);
  for (const [kind, f] of BASES) {
    const h = Array.from(SAMPLES, f);
    let num = 0;
    let den = 0;
    h.forEach((hv, i) => {
      num += y[i]! * hv;
      den += hv * hv;
    });
    const k = num / den;
    if (h.every((hv, i) => Math.abs(y[i]! - k * hv) <= TOLERANCE * (1 + Math.abs(k * hv)))) {
      return { kind, factor: k, output, nodes };
    }
  }
  const ops = nodes.map((n) => n.opType).join(' -> ') || 'nothing';
  const at = (x: number): string => (y[SAMPLES.indexOf(x)] ?? NaN).toPrecision(6);
  throw new ImportError(
    `${where}: the activation (${ops}) is none of hardswish, Paddle's hardsigmoid clip(x/6 + 0.5, 0, 1), ReLU or the identity: ` +
      `it maps -1 -> ${at(-1)}, 1 -> ${at(1)}, 2 -> ${at(2)} (hardswish: -0.333333, 0.666667, 1.66667; hardsigmoid: 0.333333, 0.666667, 0.833333).`,
  );
}

/** Grows the region to a fixed point: a node joins when every input is in the region or a constant. */
function collectRegion(view: GraphView, start: string, shapeOps: boolean): OnnxNode[] {
  const values = new Set([start]);
  const nodes: OnnxNode[] = [];
  const taken = new Set<OnnxNode>();
  const queue = [start];
  // Each value enters the queue once and each node joins once: bounded by the graph's size.
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const c of view.consumers(v)) {
      if (taken.has(c) || c.outputs.length === 0) continue;
      const isShape = shapeOps && SHAPE_OPS.has(c.opType);
      if (!isShape && !ELEMENTWISE.has(c.opType)) continue;
      // A shape op's extra inputs (target shape, axes) may be computed; an elementwise op's must be constants.
      const operands = isShape ? c.inputs.slice(0, 1) : c.inputs;
      if (!operands.every((i) => i === '' || values.has(i) || view.constant(i) !== undefined)) continue;
      if (!operands.some((i) => values.has(i))) continue;
      taken.add(c);
      nodes.push(c);
      const out = c.outputs[0]!;
      if (!values.has(out)) {
        values.add(out);
        queue.push(out);
      }
    }
  }
  return nodes;
}

/** Runs the region on SAMPLES (float64), in dependency order. */
function evaluate(
  view: GraphView,
  nodes: readonly OnnxNode[],
  start: string,
  output: string,
  where: string,
): Float64Array {
  const env = new Map<string, Float64Array>([[start, SAMPLES]]);
  const pending = [...nodes];
  // Each pass evaluates at least one node or stops: at most nodes.length passes.
  for (let pass = 0; pending.length > 0 && pass <= nodes.length; pass++) {
    for (let i = 0; i < pending.length;) {
      const n = pending[i]!;
      // A shape op needs only its data input: its target shape may be computed (Shape -> Slice -> Concat).
      const operands = SHAPE_OPS.has(n.opType) ? n.inputs.slice(0, 1) : n.inputs;
      const ready = operands.every((x) => x === '' || env.has(x) || view.constant(x) !== undefined);
      if (!ready) {
        i++;
        continue;
      }
      env.set(n.outputs[0]!, applyOp(view, n, env, where));
      pending.splice(i, 1);
    }
  }
  if (pending.length > 0) {
    const n = pending[0]!;
    const missing = n.inputs.find((x) => x !== '' && !env.has(x) && view.constant(x) === undefined);
    throw new ImportError(
      `${where}: ${n.opType} "${n.name}" reads "${missing ?? '?'}", which this activation never computes (a cycle, or an input from elsewhere).`,
    );
  }
  return env.get(output)!;
}

function applyOp(view: GraphView, n: OnnxNode, env: Map<string, Float64Array>, where: string): Float64Array {
  // A shape op moves no values; its other inputs are shapes and axes, not operands.
  if (SHAPE_OPS.has(n.opType)) return env.get(n.inputs[0]!)!;
  const len = SAMPLES.length;
  const arg = (k: number): Float64Array | undefined => {
    const name = n.inputs[k];
    if (name === undefined || name === '') return undefined;
    const v = env.get(name);
    if (v) return v;
    const c = view.constant(name)!;
    const first = c.data[0];
    if (first === undefined || !c.data.every((x) => x === first)) {
      throw new ImportError(
        `${where}: ${n.opType} node "${n.name}" uses the constant "${name}" (dims [${c.dims.join(', ')}]) with differing values; ` +
          'a PP-LCNet activation only has scalar constants.',
      );
    }
    return new Float64Array(len).fill(first);
  };
  const x = arg(0) ?? new Float64Array(len);
  const y = arg(1);
  const z = arg(2);
  const all = n.opType === 'Min' || n.opType === 'Max' ? n.inputs.map((_, k) => arg(k)) : [];
  const attr = (name: string, fallback: number): number => n.attributes.get(name)?.f ?? fallback;
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    const a = x[i]!;
    const b = y?.[i] ?? NaN;
    switch (n.opType) {
      case 'Add':
        out[i] = a + b;
        break;
      case 'Sub':
        out[i] = a - b;
        break;
      case 'Mul':
        out[i] = a * b;
        break;
      case 'Div':
        out[i] = a / b;
        break;
      case 'Clip': {
        // Opset 11+: bounds are inputs 1 and 2; before 11 they were attributes.
        const lo = y?.[i] ?? attr('min', -Infinity);
        const hi = z?.[i] ?? attr('max', Infinity);
        out[i] = Math.min(Math.max(a, lo), hi);
        break;
      }
      case 'Relu':
        out[i] = Math.max(a, 0);
        break;
      case 'HardSigmoid':
        out[i] = Math.min(Math.max(attr('alpha', 0.2) * a + attr('beta', 0.5), 0), 1);
        break;
      case 'HardSwish':
        out[i] = a * Math.min(Math.max(a / 6 + 0.5, 0), 1);
        break;
      case 'Min':
      case 'Max': {
        const vs = all.map((v) => v?.[i] ?? NaN);
        out[i] = n.opType === 'Min' ? Math.min(...vs) : Math.max(...vs);
        break;
      }
      case 'Neg':
        out[i] = -a;
        break;
      default:
        // Identity, Dropout (an identity at inference) and the shape ops.
        out[i] = a;
    }
  }
  return out;
}
