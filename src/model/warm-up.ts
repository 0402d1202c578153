/**
 * The load-time warm-up: the first run of a model compiles every shader (WebGPU, WebGL) or allocates every
 * buffer. On the GPU backends the shaders are first compiled in parallel (tfjs's compile-only mode: programs
 * are created asynchronously and nothing is executed), then the model runs once for real, so the first
 * embedding a user asks for is not the one that pays for compilation.
 */
import * as tf from '@tensorflow/tfjs-core';

/** tfjs's compile-only flag per backend; backends without one just run. */
const COMPILE_ONLY_FLAG: Readonly<Record<string, string>> = {
  webgpu: 'WEBGPU_ENGINE_COMPILE_ONLY',
  webgl: 'ENGINE_COMPILE_ONLY',
};

interface ParallelCompiling {
  checkCompileCompletionAsync(): Promise<unknown>;
  /** WebGL: looks the uniforms up once every program is linked. */
  getUniformLocations?(): void;
}

export interface WarmUpOptions {
  /** Compile shaders in parallel before the first real run (GPU backends). Default true. */
  readonly parallelCompile?: boolean;
}

/** Runs `model` once on the active backend; `model` must return a new tensor each call. */
export async function warmUp(model: () => tf.Tensor, options: WarmUpOptions = {}): Promise<void> {
  const backendName = tf.getBackend();
  const flag = COMPILE_ONLY_FLAG[backendName];
  const backend = tf.backend() as unknown as Partial<ParallelCompiling>;
  if ((options.parallelCompile ?? true) && flag && typeof backend.checkCompileCompletionAsync === 'function') {
    tf.env().set(flag, true);
    try {
      tf.dispose(model());
    } finally {
      tf.env().set(flag, false);
    }
    await backend.checkCompileCompletionAsync();
    backend.getUniformLocations?.();
  }
  const out = model();
  await out.data();
  out.dispose();
}
