/**
 * Deterministic random parameters for a PP-LCNet + linear-neck model, for tests and converter fixtures:
 * no pretrained weights can be downloaded on the build machines.
 *
 * The magnitudes imitate a trained network so that a forward pass stays informative through all ~30 conv
 * layers. Plain He init with BatchNorm statistics that ignore the real activations fails both ways (measured
 * at x0.25 with onnxruntime): hardswish shrinks the signal at every layer until the output barely depends on
 * the image (0.08% change between two very different images), so a parity test could not see a wrong layer;
 * calibrating BatchNorm on real activations with zero-mean or blur-like 3x3/5x5 filters instead amplifies
 * any input unlike the calibration images (10^3 to 10^9 growth). What is stable: spatial filters that are
 * mostly their centre tap plus noise, and BatchNorm statistics taken from a forward pass over a small batch
 * of synthetic images (as running statistics are taken from data), with each channel's rescaling capped.
 * Result at x0.25 / x1 / x2.5: BatchNorm inputs at 0.3 to 1 standard deviations in every layer, outputs of
 * rms ~0.2 to 0.4 that differ by 15% to 85% between unlike images.
 */
import type { StateDict } from '../../src/core/state-dict.ts';
import {
  networkParameters,
  standardNetwork,
  type BatchNormForm,
  type NetworkSpec,
} from '../../src/model/parameters.ts';
import { referenceForward, type FeatureMap } from './reference-forward.ts';
import { foldStateDict } from '../../src/model/fold-batch-norm.ts';
import { mulberry32, normalSampler } from '../../src/core/seeded-random.ts';

/** Big enough that the last stage keeps 3 x 3 positions; x2.5 calibrates in about 2 s. */
const CALIBRATION_SIZE = 96;
const CALIBRATION_BATCH = 4;
/** The most a channel's weights are scaled by calibration: an uncapped gain on a near-flat channel is what explodes. */
const MAX_CALIBRATION_GAIN = 3;

export { mulberry32 };

/**
 * Every tensor of modelParameters(scale, embeddingDim, batchNorm), filled deterministically from `seed`.
 * The `folded` form is the `separate` one with its BatchNorm folded into the conv, as an exporter would.
 */
export function randomStateDict(
  scale: number,
  embeddingDim: number,
  batchNorm: BatchNormForm,
  seed: number,
): StateDict {
  return randomNetworkStateDict(standardNetwork(scale, embeddingDim, batchNorm), seed);
}

/** The same for any network (geometry, neck or none), in `network.batchNorm`'s form. */
export function randomNetworkStateDict(network: NetworkSpec, seed: number): StateDict {
  const normal = normalSampler(seed);
  const uniform = mulberry32(seed ^ 0x9e3779b9);
  const fill = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n }, f);
  const out: StateDict = new Map();
  for (const spec of networkParameters({ ...network, batchNorm: 'separate' })) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const name = spec.name;
    let data: Float32Array;
    if (name.endsWith('.bn.weight')) data = fill(n, () => 1 + 0.1 * normal());
    else if (name.endsWith('.bn.bias')) data = fill(n, () => 0.1 * normal());
    else if (name.endsWith('.bn._mean')) data = fill(n, () => 0.05 * normal());
    else if (name.endsWith('.bn._variance')) data = fill(n, () => 0.5 + uniform());
    else if (name === 'neck.fc.weight') {
      // XavierNormal, as ppcls/arch/gears/fc.py initialises it.
      const std = Math.sqrt(2 / (spec.shape[0]! + spec.shape[1]!));
      data = fill(n, () => std * normal());
    } else if (name.endsWith('.bias')) data = fill(n, () => 0.05 * normal());
    else if (name.endsWith('se.conv2.weight')) {
      // Modest, so hardsigmoid(.) sits near 0.5 +- 0.1: the gate matters but neither closes nor saturates.
      data = fill(n, () => (1.5 / Math.sqrt(spec.shape[1]!)) * normal());
    } else if (spec.shape[2]! > 1) {
      data = spatialFilters(spec.shape, name.includes('dw_conv'), normal);
    } else {
      // He normal over the fan-in.
      const std = Math.sqrt(2 / spec.shape[1]!);
      data = fill(n, () => std * normal());
    }
    out.set(name, { shape: spec.shape, data });
  }
  calibrate(out, network, normal);
  return network.batchNorm === 'folded' ? foldStateDict(out, network) : out;
}

/**
 * One calibration image: a mosaic of 2 x 2 tiles, each a smooth pattern with its own brightness, colour cast,
 * contrast and noise. The statistics must cover the variation *between* images: calibrated on one image, a
 * channel that happens to be flat there gets a huge gain and the next image's offset explodes (measured).
 */
function calibrationImage(normal: () => number): FeatureMap {
  const size = CALIBRATION_SIZE;
  const tile = size / 2;
  const tiles = Array.from({ length: 4 }, () => ({
    offset: [normal(), normal(), normal()].map((v) => 0.7 * v),
    contrast: 0.3 + 1.5 * Math.abs(normal()),
    fx: 0.02 + 0.3 * Math.abs(normal()),
    fy: 0.02 + 0.3 * Math.abs(normal()),
    noise: 0.5 * Math.abs(normal()),
  }));
  const data = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const t = tiles[Math.floor(y / tile) * 2 + Math.floor(x / tile)]!;
        const pattern = Math.sin(t.fx * x * (c + 1) + t.fy * y) + 0.5 * Math.cos(t.fy * (x - y) * (3 - c));
        data[(c * size + y) * size + x] = t.offset[c]! + t.contrast * pattern + t.noise * normal();
      }
    }
  }
  return { channels: 3, height: size, width: size, data };
}

/**
 * k x k filters: the centre tap (1 for depthwise, a random colour mix for the stem) plus noise of half its
 * size on every tap, over sqrt(fan-in channels). Trained depthwise filters are centre-heavy too; filters without
 * that centre were unstable (see the file comment).
 */
function spatialFilters(shape: readonly number[], depthwise: boolean, normal: () => number): Float32Array {
  const [outC, inC, k] = [shape[0]!, shape[1]!, shape[2]!];
  const area = k * k;
  const centre = (area - 1) / 2;
  const out = new Float32Array(outC * inC * area);
  for (let oi = 0; oi < outC * inC; oi++) {
    const tap = depthwise ? 1 : normal();
    for (let j = 0; j < area; j++) out[oi * area + j] = ((j === centre ? tap : 0) + 0.5 * normal()) / Math.sqrt(inC);
  }
  return out;
}

/** Rescales every ConvBN layer's output channels to its BatchNorm's running variance; sets the running means. */
function calibrate(sd: StateDict, network: NetworkSpec, normal: () => number): void {
  const images = Array.from({ length: CALIBRATION_BATCH }, () => calibrationImage(normal));
  const separate = { ...network, batchNorm: 'separate' as const };
  referenceForward(
    { scale: network.geometry.scale, embeddingDim: 0, batchNorm: 'separate', stateDict: sd, network: separate },
    images,
    (prefix, ys) => {
      const weight = sd.get(`${prefix}.conv.weight`)!.data;
      const variance = sd.get(`${prefix}.bn._variance`)!.data;
      const mean = sd.get(`${prefix}.bn._mean`)!.data;
      const channels = ys[0]!.channels;
      const n = ys[0]!.height * ys[0]!.width;
      const perOut = weight.length / channels;
      for (let c = 0; c < channels; c++) {
        // Statistics over the batch and all positions, as BatchNorm's running statistics are.
        let s = 0;
        let s2 = 0;
        for (const y of ys) {
          for (let i = c * n; i < (c + 1) * n; i++) {
            s += y.data[i]!;
            s2 += y.data[i]! ** 2;
          }
        }
        const m = s / (n * ys.length);
        const v = s2 / (n * ys.length) - m * m;
        // A channel that is constant on these images keeps its weights (dividing by ~0 would blow it up).
        const g = v > 1e-12 ? Math.min(MAX_CALIBRATION_GAIN, Math.sqrt(variance[c]! / v)) : 1;
        for (let i = c * perOut; i < (c + 1) * perOut; i++) weight[i]! *= g;
        for (const y of ys) for (let i = c * n; i < (c + 1) * n; i++) y.data[i]! *= g;
        mean[c] = m * g + 0.05 * normal();
      }
    },
  );
}
