/**
 * A TFLite image classifier as a feature extractor: the output of its global average pooling (MobileNet's
 * `.../Logits/AvgPool`, before the classifier) as [N, C]. Only the operators up to the pooling run.
 *
 *   const extractor = await loadTfliteFeatureExtractor(bytes, { source: 'mobilenet_v2_1.0_224_quant.tflite' });
 *   const features = extractor.extract(batch);   // batch: float [N, 224, 224, 3] in [-1, 1] -> [N, 1280]
 */
import * as tf from '@tensorflow/tfjs-core';
import { TfliteFormatError } from './errors.ts';
import { createTfliteGraph } from './graph.ts';
import { constantInts, readTfliteModel, tensorByName, type TfliteModel } from './model.ts';

export interface TfliteFeatureExtractorOptions {
  /** Names the file in error messages. Default: 'model.tflite'. */
  source?: string;
  /** The tensor to output, by name. Default: the output of the last global average pooling (AVERAGE_POOL_2D or MEAN over H and W). */
  feature?: string;
}

export interface TfliteFeatureExtractor {
  readonly featureName: string;
  readonly featureDim: number;
  /** [height, width, channels] of one input image. */
  readonly inputShape: readonly [number, number, number];
  /** Float NHWC batch (in float mode: the real values, x / 127.5 - 1 for MobileNet) -> [N, featureDim]. */
  extract(batch: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/** The output tensor of the last operator that averages a whole NHWC map, or undefined. */
export function findGlobalPool(model: TfliteModel): number | undefined {
  for (let i = model.ops.length - 1; i >= 0; i--) {
    const op = model.ops[i]!;
    const x = model.tensors[op.inputs[0]!];
    if (!x || x.shape.length !== 4) continue;
    if (op.op === 'AVERAGE_POOL_2D' && op.filterH === x.shape[1] && op.filterW === x.shape[2]) return op.outputs[0];
    if (op.op === 'MEAN') {
      const axes = model.tensors[op.inputs[1]!];
      const values = axes?.data
        ? constantInts(model, axes)
            .map((a) => (a + 4) % 4)
            .sort()
        : [];
      if (values.length === 2 && values[0] === 1 && values[1] === 2) return op.outputs[0];
    }
  }
  return undefined;
}

export function createTfliteFeatureExtractor(
  model: TfliteModel,
  options: Omit<TfliteFeatureExtractorOptions, 'source'> = {},
): TfliteFeatureExtractor {
  const featureIndex =
    options.feature !== undefined ? tensorByName(model, options.feature).index : findGlobalPool(model);
  if (featureIndex === undefined) {
    throw new TfliteFormatError(
      `${model.source}: no global average pooling found; name the feature tensor (feature: '...')`,
    );
  }
  const feature = model.tensors[featureIndex]!;
  const featureDim = feature.shape.slice(1).reduce((a, b) => a * b, 1);
  const graph = createTfliteGraph(model);
  const s = graph.input.shape;
  if (s.length !== 4)
    throw new TfliteFormatError(
      `${model.source}: input "${graph.input.name}" has shape [${s.join(', ')}]; expected an NHWC image`,
    );
  return {
    featureName: feature.name,
    featureDim,
    inputShape: [s[1]!, s[2]!, s[3]!],
    extract(batch) {
      const [y] = graph.run(batch, [featureIndex]);
      const out = tf.reshape(y!, [batch.shape[0], featureDim]) as tf.Tensor2D;
      y!.dispose();
      return out;
    },
    dispose: () => graph.dispose(),
  };
}

/** Reads a .tflite file and returns its feature extractor, warmed up (one batch of zeros run and awaited). */
export async function loadTfliteFeatureExtractor(
  bytes: Uint8Array,
  options: TfliteFeatureExtractorOptions = {},
): Promise<TfliteFeatureExtractor> {
  const model = readTfliteModel(bytes, options.source);
  const extractor = createTfliteFeatureExtractor(
    model,
    options.feature !== undefined ? { feature: options.feature } : {},
  );
  const zeros = tf.zeros([1, ...extractor.inputShape]) as tf.Tensor4D;
  const y = extractor.extract(zeros);
  await y.data();
  tf.dispose([zeros, y]);
  return extractor;
}
