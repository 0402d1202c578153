/**
 * A TFLite subgraph as a tfjs graph: every operator prepared once (weights dequantised onto the current
 * backend), then run in the file's execution order on a float NHWC batch. Only the operators a requested output
 * depends on run, and each intermediate is freed after its last reader, so a batch needs about two activation
 * maps of memory rather than all of them.
 *
 * Float mode: the input is the real value the (possibly quantised) input tensor stands for; for a uint8 input
 * with scale s and zero point z that is s x (q - z), e.g. x / 127.5 - 1 for MobileNet's pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TfliteFormatError, TfliteUnsupportedError } from './errors.ts';
import type { TfliteModel, TfliteTensor } from './model.ts';
import { prepareKernel, type Kernel } from './ops.ts';

export interface TfliteGraph {
  readonly model: TfliteModel;
  /** The subgraph's input tensor. */
  readonly input: TfliteTensor;
  /**
   * Runs the operators that `outputs` (tensor indices; default: the subgraph's outputs) depend on, on a float
   * batch [N, ...the input's declared shape without its batch]. Returns new tensors the caller disposes; the
   * input is not disposed.
   */
  run(input: tf.Tensor, outputs?: readonly number[]): tf.Tensor[];
  dispose(): void;
}

export function createTfliteGraph(model: TfliteModel): TfliteGraph {
  if (model.inputs.length !== 1)
    throw new TfliteUnsupportedError(
      `${model.source}: ${model.inputs.length} inputs; this runner takes models with one`,
    );
  const inputIndex = model.inputs[0]!;
  const input = model.tensors[inputIndex];
  if (!input)
    throw new TfliteFormatError(`${model.source}: the input refers to tensor ${inputIndex} of ${model.tensors.length}`);
  if (!['FLOAT32', 'UINT8', 'INT8'].includes(input.type))
    throw new TfliteUnsupportedError(
      `${model.source}: input "${input.name}" is ${input.type}; expected FLOAT32, UINT8 or INT8`,
    );

  const kernels: Kernel[] = [];
  const producer = new Map<number, number>();
  try {
    for (const op of model.ops) {
      const kernel = prepareKernel(model, op);
      kernels.push(kernel);
      for (const r of kernel.reads) {
        if (r !== inputIndex && !producer.has(r)) {
          throw new TfliteFormatError(
            `${model.source}: operator ${op.index} (${op.op}) reads "${model.tensors[r]!.name}" before any operator writes it`,
          );
        }
      }
      producer.set(op.outputs[0]!, op.index);
    }
  } catch (e) {
    for (const k of kernels) k.dispose();
    throw e;
  }
  let disposed = false;

  function run(x: tf.Tensor, outputs: readonly number[] = model.outputs): tf.Tensor[] {
    if (disposed) throw new Error(`${model.source}: the graph has been disposed`);
    const want = input!.shape.slice(1);
    if (x.rank !== input!.shape.length || want.some((d, i) => d !== x.shape[i + 1])) {
      throw new TfliteFormatError(
        `${model.source}: input of shape [${x.shape.join(', ')}]; the model takes [N, ${want.join(', ')}]`,
      );
    }
    for (const o of outputs) {
      if (o !== inputIndex && !producer.has(o))
        throw new TfliteFormatError(`${model.source}: no operator produces tensor ${o} ("${model.tensors[o]?.name}")`);
    }
    // Walk back from the outputs to the operators they need, then free each value after its last reader.
    const needed = new Set(outputs);
    const plan: number[] = [];
    for (let i = kernels.length - 1; i >= 0; i--) {
      if (!needed.has(model.ops[i]!.outputs[0]!)) continue;
      plan.unshift(i);
      for (const r of kernels[i]!.reads) needed.add(r);
    }
    const lastRead = new Map<number, number>();
    for (const i of plan) for (const r of kernels[i]!.reads) lastRead.set(r, i);
    const keep = new Set([inputIndex, ...outputs]);
    const values = new Map<number, tf.Tensor>([[inputIndex, x]]);
    const value = (t: number) => values.get(t)!;
    try {
      for (const i of plan) {
        const kernel = kernels[i]!;
        values.set(
          model.ops[i]!.outputs[0]!,
          tf.tidy(() => kernel.run(value)),
        );
        for (const r of new Set(kernel.reads)) {
          if (lastRead.get(r) === i && !keep.has(r)) {
            values.get(r)!.dispose();
            values.delete(r);
          }
        }
      }
      return outputs.map((o) => (o === inputIndex ? tf.clone(x) : values.get(o)!));
    } catch (e) {
      for (const [t, v] of values) if (t !== inputIndex) v.dispose();
      throw e;
    }
  }

  return {
    model,
    input,
    run,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const k of kernels) k.dispose();
    },
  };
}
