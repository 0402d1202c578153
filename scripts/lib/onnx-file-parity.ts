/**
 * Parity of a user's own ONNX file: ONNX Runtime runs the file as it is; the engine runs its import. What is
 * compared is what the file outputs: the embedding for a PP-ShiTu neck; for a classifier, its probabilities
 * (or logits) against the imported head's, and the pooled feature that feeds the fc, which ONNX Runtime is made
 * to expose by adding that value to the graph's outputs.
 */
import * as ort from 'onnxruntime-web';
import { readFile } from 'node:fs/promises';
import { HEAD_BIAS_TENSOR, HEAD_TENSOR, type WeightManifest } from '../../src/core/manifest.ts';
import { decodeOnnxModel } from '../../src/model/convert/onnx/onnx-decode.ts';
import { GraphView } from '../../src/model/convert/onnx/onnx-elementwise.ts';
import { PPLCNetWalker } from '../../src/model/convert/onnx/onnx-walk.ts';
import { GRAPH, MODEL, VALUE_INFO } from '../../src/model/convert/onnx/onnx-proto.ts';
import { ProtoWriter, readMessage, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from '../../src/model/convert/wire/protobuf.ts';
import { concatBytes } from '../../src/model/convert/wire/bytes.ts';
import { decodeManifest } from '../../src/model/weights/manifest-codec.ts';

/** What ONNX Runtime computed on the file: its output rows and, for a classifier, the feature rows. */
export interface OrtFileRun {
  readonly kind: 'embedder' | 'classifier';
  /** The file's first output: the embedding, or the classifier's probabilities / logits. */
  readonly output: Float64Array[];
  readonly softmax: boolean;
  /** The value feeding the classifier's fc. */
  readonly feature?: Float64Array[];
  readonly inputSize: readonly [number, number];
}

/** The file's declared input [H, W] when fixed, else undefined. */
export function onnxInputSize(bytes: Uint8Array): [number, number] | undefined {
  const [, , h, w] = decodeOnnxModel(bytes).inputDims;
  return h && w ? [h, w] : undefined;
}

/** The ModelProto with `value` appended to the graph's outputs (re-encoding only the top level and the graph). */
export function exposeOutput(bytes: Uint8Array, value: string): Uint8Array {
  const out = new ProtoWriter();
  for (const f of readMessage(bytes, 'ONNX ModelProto')) {
    if (f.wire === WIRE_VARINT) out.varint(f.field, f.int!);
    else if (f.wire === WIRE_LENGTH_DELIMITED && f.field === MODEL.graph) {
      const extra = new ProtoWriter().message(GRAPH.output, new ProtoWriter().string(VALUE_INFO.name, value)).finish();
      out.bytes(f.field, concatBytes([f.bytes!, extra]));
    } else if (f.wire === WIRE_LENGTH_DELIMITED) out.bytes(f.field, f.bytes!);
    else throw new Error(`ModelProto field ${f.field} has wire type ${f.wire}, which this script does not copy`);
  }
  return out.finish();
}

export async function runOrtOnFile(
  file: string,
  input: Float32Array,
  count: number,
  inputSize: readonly [number, number],
  classifier: boolean,
): Promise<OrtFileRun> {
  const bytes = new Uint8Array(await readFile(file));
  const walk = new PPLCNetWalker(new GraphView(decodeOnnxModel(bytes))).walk();
  const model = classifier ? exposeOutput(bytes, walk.featureValue) : bytes;
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  try {
    const [h, w] = inputSize;
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [count, 3, h, w]) });
    const rows = (name: string): Float64Array[] => {
      const data = result[name]!.data as Float32Array;
      const dim = data.length / count;
      return Array.from({ length: count }, (_, i) => Float64Array.from(data.subarray(i * dim, (i + 1) * dim)));
    };
    const output = rows(session.outputNames[0]!);
    return {
      kind: classifier ? 'classifier' : 'embedder',
      output,
      softmax: walk.softmax,
      ...(classifier ? { feature: rows(walk.featureValue) } : {}),
      inputSize,
    };
  } finally {
    await session.release();
  }
}

/** The imported head's scores for raw (un-normalised) features: feature x W + b, softmax when the file had one. */
export async function headScores(
  manifest: WeightManifest,
  shards: readonly Uint8Array[],
  features: readonly ArrayLike<number>[],
  softmax: boolean,
): Promise<Float64Array[]> {
  const sd = await decodeManifest(manifest, shards);
  const w = sd.get(HEAD_TENSOR)!;
  const b = sd.get(HEAD_BIAS_TENSOR)!;
  const [dim, classes] = [w.shape[0]!, w.shape[1]!];
  return features.map((f) => {
    const z = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      let acc = b.data[c]!;
      for (let i = 0; i < dim; i++) acc += f[i]! * w.data[i * classes + c]!;
      z[c] = acc;
    }
    if (!softmax) return z;
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / sum);
  });
}

/** Rows divided by their L2 norm. */
export function normalised(rows: readonly ArrayLike<number>[]): Float64Array[] {
  return rows.map((r) => {
    const v = Float64Array.from(r);
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
    return v.map((x) => x / n);
  });
}
