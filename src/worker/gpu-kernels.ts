/**
 * Hardswish in one GPU pass. tfjs has no hardswish kernel and cannot fuse one into its convolutions, so the
 * composite x * relu6(x + 3) costs three passes over every activation map (add, relu6, multiply). These
 * kernels do it in one, as tfjs's own unary programs are written, on WebGPU (WGSL) and WebGL (GLSL, packed
 * textures: the layout tfjs's convolutions produce). Registered for the browser only; other backends keep
 * the composite (activations.ts). The value is 6 x hardswish: see builder.ts for where the 1/6 went.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HARDSWISH_TIMES_SIX_KERNEL } from '../model/activations.ts';

interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

interface WebGlBackendLike {
  runWebGLProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType): tf.TensorInfo;
}

const WORKGROUP = 128;

function webgpuProgram(shape: number[]) {
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    variableNames: ['A'],
    outputShape: shape,
    // A flat dispatch over every element; tfjs reshapes it when it exceeds the per-dimension limit.
    dispatchLayout: { x: shape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1] as [number, number, number],
    workgroupSize: [WORKGROUP, 1, 1] as [number, number, number],
    size: true,
    shaderKey: 'shitu_hardswish_times_six',
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let a = getAByOutputIndex(index);
          setOutputAtIndex(index, a * clamp(a + 3.0, 0.0, 6.0));
        }
      }`,
  };
}

function webglProgram(shape: number[]) {
  return {
    variableNames: ['A'],
    outputShape: shape,
    packedInputs: true,
    packedOutput: true,
    userCode: `
      void main() {
        vec4 a = getAAtOutCoords();
        setOutput(a * clamp(a + 3.0, 0.0, 6.0));
      }`,
  };
}

/** How each GPU backend runs its program on one input. */
const RUNNERS: Readonly<Record<string, (backend: unknown, x: tf.TensorInfo) => tf.TensorInfo>> = {
  webgpu: (backend, x) => (backend as WebGpuBackendLike).runWebGPUProgram(webgpuProgram([...x.shape]), [x], 'float32'),
  webgl: (backend, x) => (backend as WebGlBackendLike).runWebGLProgram(webglProgram([...x.shape]), [x], 'float32'),
};

let registered = false;

/** Registers the kernels once; harmless to call again. */
export function registerGpuKernels(): void {
  if (registered) return;
  registered = true;
  for (const [backendName, run] of Object.entries(RUNNERS)) {
    tf.registerKernel({
      kernelName: HARDSWISH_TIMES_SIX_KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend }) => run(backend, inputs.x as tf.TensorInfo),
    });
  }
}
