/**
 * An optional metric-learning term for fine-tuning, added to ArcMargin's cross-entropy: batch-hard triplet
 * loss on cosine distance. For every anchor in the batch: the farthest image of its label and the nearest
 * image of another label, loss = relu(d(anchor, hardest positive) - d(anchor, hardest negative) + margin),
 * averaged over the anchors that have both. Distances are 1 - cosine of L2-normalised embeddings, in [0, 2].
 * Not part of PP-ShiTu v1 (ArcMargin alone); measured on finetune-train's validation share in the README.
 */
import * as tf from '@tensorflow/tfjs-core';

export function batchHardTripletLoss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, margin: number): tf.Scalar {
  return tf.tidy(() => {
    const n = embeddings.shape[0];
    const unit = tf.div(embeddings, tf.sqrt(tf.sum(tf.square(embeddings), 1, true)));
    const distance = tf.sub(1, tf.matMul(unit, unit, false, true));
    const l = tf.cast(labels, 'float32');
    const same = tf.cast(tf.equal(tf.reshape(l, [n, 1]), tf.reshape(l, [1, n])), 'float32');
    const positives = tf.sub(same, tf.eye(n));
    const negatives = tf.sub(1, same);
    // Distances are >= 0, so masking with zeros keeps the largest positive; negatives: +4 pushes same-label
    // pairs beyond any real distance (at most 2) before the minimum.
    const hardestPositive = tf.max(tf.mul(distance, positives), 1);
    const hardestNegative = tf.min(tf.add(distance, tf.mul(same, 4)), 1);
    const valid = tf.mul(tf.step(tf.sub(tf.sum(positives, 1), 0.5)), tf.step(tf.sub(tf.sum(negatives, 1), 0.5)));
    const perAnchor = tf.mul(tf.relu(tf.add(tf.sub(hardestPositive, hardestNegative), margin)), valid);
    return tf.div(tf.sum(perAnchor), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}
