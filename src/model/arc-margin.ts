/**
 * PaddleClas's ArcMargin head (ppcls/arch/gears/arcmargin.py), the head PP-ShiTu trains its neck with.
 * Weight W is [embedding, classes]. Rows of x and columns of W are L2-normalised (no epsilon, as Paddle);
 * cos = x_hat . W_hat. In eval mode, or without labels, the head returns cos unscaled. In training:
 *   sin = sqrt(1 - cos^2 + 1e-6); phi = cos cos(m) - sin sin(m)
 *   th = cos(pi - m); mm = sin(pi - m) m
 *   easy_margin: phi = cos > 0 ? phi : cos;  else phi = cos > th ? phi : cos - mm
 *   logits = s (onehot phi + (1 - onehot) cos)
 * PP-ShiTu v1 trains with s = 30, m = 0.2 (the class's own defaults are 80 and 0.5).
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_ARC_MARGIN, type ArcMarginSettings } from '../core/options.ts';

/** x_hat . W_hat: [N, D] x [D, C] -> [N, C], the head's eval-mode output. */
export function arcMarginCosine(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const xHat = tf.div(x, tf.sqrt(tf.sum(tf.square(x), 1, true)));
    const wHat = tf.div(weight, tf.sqrt(tf.sum(tf.square(weight), 0, true)));
    return tf.matMul(xHat, wHat) as tf.Tensor2D;
  });
}

/** Training-mode logits for integer labels [N]; without labels, the eval-mode cosines. */
export function arcMarginLogits(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  labels: tf.Tensor1D | undefined,
  o: ArcMarginSettings = DEFAULT_ARC_MARGIN,
): tf.Tensor2D {
  return tf.tidy(() => {
    const cos = arcMarginCosine(x, weight);
    if (!labels) return cos;
    const m = o.margin;
    const sin = tf.sqrt(tf.add(tf.sub(1, tf.square(cos)), 1e-6));
    const phi = tf.sub(tf.mul(cos, Math.cos(m)), tf.mul(sin, Math.sin(m)));
    const th = Math.cos(Math.PI - m);
    const mm = Math.sin(Math.PI - m) * m;
    // The branch as a 0/1 mask from tf.step (x > 0 -> 1), whose gradient is defined (zero); tf.where over
    // tf.greater would leave the backward pass without a gradient for the comparison.
    const mask = tf.step(tf.sub(cos, o.easyMargin ? 0 : th));
    const otherwise = o.easyMargin ? cos : tf.sub(cos, mm);
    const chosen = tf.add(tf.mul(mask, phi), tf.mul(tf.sub(1, mask), otherwise));
    const onehot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), weight.shape[1]), 'float32');
    return tf.mul(tf.add(tf.mul(onehot, chosen), tf.mul(tf.sub(1, onehot), cos)), o.scale) as tf.Tensor2D;
  });
}

/** Mean softmax cross-entropy of the training-mode logits (PaddleClas's CELoss on the head's output). */
export function arcMarginLoss(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  labels: tf.Tensor1D,
  o: ArcMarginSettings = DEFAULT_ARC_MARGIN,
): tf.Scalar {
  return tf.tidy(() => {
    const logits = arcMarginLogits(x, weight, labels, o);
    const onehot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), weight.shape[1]), 'float32');
    const logProb = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProb), 1))) as tf.Scalar;
  });
}
