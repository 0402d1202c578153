/**
 * The independent runtime: ONNX Runtime Web (wasm execution provider) in Node, on float NCHW input
 * (normaliseNchw in synthetic-pixels.ts, separate from src/model/preprocess.ts).
 */
import * as ort from 'onnxruntime-web';

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
