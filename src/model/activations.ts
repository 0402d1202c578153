/**
 * PaddlePaddle's activations, which PP-LCNet uses and tfjs either lacks or defines differently.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The one-pass GPU kernel's name (src/worker/gpu-kernels.ts registers it for WebGPU and WebGL). */
export const HARDSWISH_TIMES_SIX_KERNEL = 'ShituHardSwishTimesSix';

/**
 * 6 x Paddle's hardswish, x * relu6(x + 3): the builder divides the next layer's weights by 6 instead. One
 * kernel where the active backend has it registered, else the composite of tfjs ops.
 */
export function hardSwishTimesSix<T extends tf.Tensor>(x: T): T {
  if (tf.getKernel(HARDSWISH_TIMES_SIX_KERNEL, tf.getBackend())) {
    return tf.engine().runKernel(HARDSWISH_TIMES_SIX_KERNEL, { x }) as T;
  }
  return tf.tidy(() => tf.mul(x, tf.relu6(tf.add(x, 3)))) as T;
}

/**
 * Paddle's definitions as plain numbers, for tests. hardswish: x * relu6(x + 3) / 6. nn.Hardsigmoid:
 * clip(x / 6 + 0.5, 0, 1) = relu6(x + 3) / 6, not Keras' clip(0.2 x + 0.5, 0, 1). The builder computes both
 * times 6 (hardSwishTimesSix; the SE gate as a fused relu6 on its conv with the bias + 3).
 */
export const hardSwishScalar = (x: number): number => (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
export const paddleHardSigmoidScalar = (x: number): number => Math.min(Math.max(x / 6 + 0.5, 0), 1);
