/**
 * fp16 that is never worse than it claims: an imported model is stored in fp16 only when its embeddings stay
 * within cosine 0.9999 of fp32's on the imported weights themselves.
 *
 * BatchNorm is folded in fp32 first (rounding gamma / sqrt(var + eps) and the conv weight apart, then
 * multiplying them at load, loses more than rounding their product once). The check runs both models on a few
 * deterministic images with structure (gradients, stripes, noise), at the model's own input size, on whatever
 * tfjs backend is active (cpu in Node, the worker's in the browser).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../../core/state-dict.ts';
import { mulberry32 } from '../../core/seeded-random.ts';
import { buildPPLCNet } from '../builder.ts';
import { foldStateDict } from '../fold-batch-norm.ts';
import type { NetworkSpec } from '../parameters.ts';
import { decodeFloat16, encodeFloat16 } from './wire/float16.ts';

/** The bar: below it the weights are kept in fp32. */
export const FP16_MIN_COSINE = 0.9999;
const CHECK_IMAGES = 4;

export interface Fp16Check {
  /** The smallest cosine between an image's fp16 and fp32 embeddings. */
  readonly minCosine: number;
  readonly ok: boolean;
  /** The network and weights to store: BatchNorm folded in fp32 (whatever the dtype chosen). */
  readonly network: NetworkSpec;
  readonly stateDict: StateDict;
}

/** Folds BatchNorm in fp32, then measures what rounding the folded weights to fp16 does to the embeddings. */
export function checkFp16(network: NetworkSpec, stateDict: StateDict, inputSize: readonly [number, number]): Fp16Check {
  const folded: NetworkSpec = { ...network, batchNorm: 'folded' };
  const foldedDict = network.batchNorm === 'folded' ? stateDict : foldStateDict(stateDict, network);
  const rounded: StateDict = new Map(
    [...foldedDict].map(([name, t]) => [name, { shape: t.shape, data: decodeFloat16(encodeFloat16(t.data)) }]),
  );
  const [h, w] = inputSize;
  const full = buildPPLCNet(foldedDict, folded);
  const half = buildPPLCNet(rounded, folded);
  try {
    const cosines = tf.tidy(() => {
      const x = tf.tensor4d(checkImages(h, w), [CHECK_IMAGES, h, w, 3]);
      const a = full.embed(x, true);
      const b = half.embed(x, true);
      return tf.sum(tf.mul(a, b), 1);
    });
    const minCosine = Math.min(...(cosines.dataSync() as Float32Array));
    cosines.dispose();
    return { minCosine, ok: minCosine >= FP16_MIN_COSINE, network: folded, stateDict: foldedDict };
  } finally {
    full.dispose();
    half.dispose();
  }
}

/** NHWC, already normalised (roughly zero mean, unit variance, as ImageNet mean / std make photos). */
function checkImages(h: number, w: number): Float32Array {
  const out = new Float32Array(CHECK_IMAGES * h * w * 3);
  for (let n = 0; n < CHECK_IMAGES; n++) {
    const rand = mulberry32(4242 + n);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          const smooth = Math.sin((x * (c + 1) + n * 17) / (7 + 3 * n)) * Math.cos((y + c * 5) / (5 + n));
          const stripes = (Math.floor((x + 2 * y) / (4 + n)) % 2) - 0.5;
          out[((n * h + y) * w + x) * 3 + c] = 1.2 * smooth + 0.8 * stripes + 0.4 * (rand() - 0.5);
        }
      }
    }
  }
  return out;
}
