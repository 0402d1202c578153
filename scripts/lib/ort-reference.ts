/**
 * The independent runtime: ONNX Runtime Web (wasm execution provider) in Node, on float NCHW input
 * normalised by a plain loop written here, separate from src/model/preprocess.ts.
 */
import * as ort from 'onnxruntime-web';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/core/options.ts';

/** 224 x 224 RGBA images -> [N, 3, 224, 224] float32, (x / 255 - mean) / std. */
export function normaliseNchw(images: readonly { data: ArrayLike<number>; width: number; height: number }[]): Float32Array {
  const size = 224;
  const out = new Float32Array(images.length * 3 * size * size);
  images.forEach((im, n) => {
    if (im.width !== size || im.height !== size) throw new Error('the ORT reference takes 224 x 224 images');
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < size * size; p++) {
        out[((n * 3 + c) * size * size) + p] = (im.data[p * 4 + c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
      }
  });
  return out;
}

/** Runs the model; returns each image's output row, L2-normalised in float64. */
export async function runOrt(onnx: Uint8Array, input: Float32Array, count: number): Promise<Float64Array[]> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, [count, 3, 224, 224]) };
    const out = (await session.run(feeds))[session.outputNames[0]!]!;
    const data = out.data as Float32Array;
    const dim = data.length / count;
    return Array.from({ length: count }, (_, i) => {
      const row = Float64Array.from(data.subarray(i * dim, (i + 1) * dim));
      const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      return row.map((v) => v / norm);
    });
  } finally {
    await session.release();
  }
}
