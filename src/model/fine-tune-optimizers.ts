/**
 * Fine-tuning's optimizers, as Paddle's: Momentum and Adam with L2 decay added to the gradient, one learning
 * rate per parameter (layer-wise rates), and the warm-up + cosine schedule.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then cosine to zero. */
export function learningRateAt(step: number, total: number, warmup: number, peak: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const p = (step - warmup) / Math.max(1, total - warmup);
  return peak * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, p)));
}

export interface Optimizer {
  /** One learning rate per parameter: layer-wise rates. */
  step(params: tf.Variable[], grads: tf.Tensor[], lrs: readonly number[]): void;
  dispose(): void;
}

/** Paddle's Momentum: v = mu v + (g + wd w); w -= lr v. */
export function momentum(mu: number, wd: number): Optimizer {
  const state = new Map<tf.Variable, tf.Variable>();
  return {
    step(params, grads, lrs) {
      params.forEach((p, i) => {
        let v = state.get(p);
        if (!v) state.set(p, (v = tf.tidy(() => tf.variable(tf.zerosLike(p), false))));
        tf.tidy(() => {
          const g = tf.add(grads[i]!, tf.mul(p, wd));
          v!.assign(tf.add(tf.mul(v!, mu), g));
          p.assign(tf.sub(p, tf.mul(v!, lrs[i]!)));
        });
      });
    },
    dispose: () => state.forEach((v) => v.dispose()),
  };
}

/** Adam (beta 0.9 / 0.999, eps 1e-8, bias-corrected) with L2 decay added to the gradient, as Paddle's L2Decay. */
export function adam(wd: number): Optimizer {
  const state = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>();
  let t = 0;
  return {
    step(params, grads, lrs) {
      t++;
      const c1 = 1 - 0.9 ** t;
      const c2 = 1 - 0.999 ** t;
      params.forEach((p, i) => {
        let s = state.get(p);
        if (!s)
          state.set(
            p,
            (s = tf.tidy(() => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }))),
          );
        tf.tidy(() => {
          const g = tf.add(grads[i]!, tf.mul(p, wd));
          s!.m.assign(tf.add(tf.mul(s!.m, 0.9), tf.mul(g, 0.1)));
          s!.v.assign(tf.add(tf.mul(s!.v, 0.999), tf.mul(tf.square(g), 0.001)));
          const update = tf.div(tf.div(s!.m, c1), tf.add(tf.sqrt(tf.div(s!.v, c2)), 1e-8));
          p.assign(tf.sub(p, tf.mul(update, lrs[i]!)));
        });
      });
    },
    dispose: () => state.forEach((s) => tf.dispose([s.m, s.v])),
  };
}
