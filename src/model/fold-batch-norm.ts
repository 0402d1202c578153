/**
 * BatchNorm folding: conv(x) * gamma / sqrt(var + eps) + (beta - mean * gamma / sqrt(var + eps)) is one conv
 * with a bias. Done in float64 on plain arrays at load time, so every backend runs the same folded graph.
 */
import type { NamedTensor, StateDict } from '../core/state-dict.ts';
import { BN_EPSILON } from './architecture.ts';
import { networkParameters, type NetworkSpec } from './parameters.ts';

export interface FoldedConv {
  /** OIHW, Paddle layout. */
  readonly weight: NamedTensor;
  readonly bias: Float32Array;
}

export interface BatchNormParams {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

export function foldBatchNorm(weight: NamedTensor, bn: BatchNormParams, epsilon = BN_EPSILON): FoldedConv {
  const outChannels = weight.shape[0]!;
  const perOut = weight.data.length / outChannels;
  const folded = new Float32Array(weight.data.length);
  const bias = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const k = bn.gamma[o]! / Math.sqrt(bn.variance[o]! + epsilon);
    for (let i = 0; i < perOut; i++) folded[o * perOut + i] = weight.data[o * perOut + i]! * k;
    bias[o] = bn.beta[o]! - bn.mean[o]! * k;
  }
  return { weight: { shape: weight.shape, data: folded }, bias };
}

/** A whole `separate` state dict in its `folded` form, as an exporter that folds BatchNorm writes it. */
export function foldStateDict(separate: StateDict, network: NetworkSpec): StateDict {
  const out: StateDict = new Map();
  for (const spec of networkParameters({ ...network, batchNorm: 'folded' })) {
    if (!spec.name.endsWith('.conv.bias')) {
      if (!out.has(spec.name)) out.set(spec.name, separate.get(spec.name)!);
      continue;
    }
    const prefix = spec.name.slice(0, -'.conv.bias'.length);
    const bn = (s: string): Float32Array => separate.get(`${prefix}.bn.${s}`)!.data;
    const folded = foldBatchNorm(separate.get(`${prefix}.conv.weight`)!, {
      gamma: bn('weight'),
      beta: bn('bias'),
      mean: bn('_mean'),
      variance: bn('_variance'),
    });
    out.set(`${prefix}.conv.weight`, folded.weight);
    out.set(spec.name, { shape: spec.shape, data: folded.bias });
  }
  return out;
}
