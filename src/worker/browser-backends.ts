/**
 * Feature detection for the browser (a worker or a page): registers tfjs's backends and says, for each,
 * whether it can run and whether it is a software emulation. The only file that knows about navigator.gpu
 * and WebGL renderer strings.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendProbes } from './backend-select.ts';
import { registerGpuKernels } from './gpu-kernels.ts';

// Vite fingerprints the .wasm files; tell tfjs where they are instead of letting it guess from its own URL.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlainUrl,
  'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
});

registerGpuKernels();

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|microsoft basic render/i;

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

let adapterPromise: Promise<GPUAdapter | null> | undefined;
function gpuAdapter(): Promise<GPUAdapter | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return Promise.resolve(null);
  adapterPromise ??= gpu.requestAdapter().catch(() => null);
  return adapterPromise;
}

let rendererMemo: { value: string | undefined } | undefined;
/** The WebGL renderer's name, asked once: each question would otherwise create and lose a WebGL context. */
function webglRenderer(): string | undefined {
  rendererMemo ??= { value: askWebglRenderer() };
  return rendererMemo.value;
}

function askWebglRenderer(): string | undefined {
  if (typeof OffscreenCanvas === 'undefined') return undefined;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2') ?? new OffscreenCanvas(1, 1).getContext('webgl');
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return String(renderer);
}

export const BROWSER_PROBES: BackendProbes = Object.freeze({
  webgpu: {
    async unavailable() {
      if (!(globalThis.navigator as Navigator | undefined)?.gpu)
        return 'navigator.gpu is missing (WebGPU not supported or not enabled)';
      return (await gpuAdapter()) ? undefined : 'requestAdapter() returned no adapter';
    },
    async software() {
      const adapter = await gpuAdapter();
      if (!adapter) return undefined;
      const info = ((adapter as unknown as { info?: AdapterInfoLike }).info ?? {}) as AdapterInfoLike;
      const fallback =
        info.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
      const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
      if (fallback) return `the adapter is a fallback (software) adapter${name ? ` (${name})` : ''}`;
      if (SOFTWARE_RENDERERS.test(name)) return `the adapter is a software renderer (${name})`;
      return undefined;
    },
  },
  webgl: {
    async unavailable() {
      return webglRenderer() === undefined ? 'no WebGL context (OffscreenCanvas WebGL unavailable)' : undefined;
    },
    async software() {
      const r = webglRenderer();
      return r && SOFTWARE_RENDERERS.test(r) ? `the WebGL renderer is software (${r})` : undefined;
    },
  },
  wasm: {
    async unavailable() {
      return typeof WebAssembly === 'object' ? undefined : 'WebAssembly is missing';
    },
    async software() {
      return undefined;
    },
  },
  cpu: {
    async unavailable() {
      return undefined;
    },
    async software() {
      return undefined;
    },
  },
});

/**
 * The device as far as backend speed goes, for `auto`'s remembered verdicts: the GPU adapter, the WebGL
 * renderer, the cores and the browser's version (a new driver or browser can change which backend wins).
 */
export async function browserDeviceKey(): Promise<string> {
  const adapter = await gpuAdapter();
  const info = ((adapter as unknown as { info?: AdapterInfoLike } | null)?.info ?? {}) as AdapterInfoLike;
  const gpu = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'none';
  const nav = globalThis.navigator as Navigator | undefined;
  const browser = /(Chrome|Firefox|Safari|Edg)\/[\d.]+/.exec(nav?.userAgent ?? '')?.[0] ?? 'unknown browser';
  return `webgpu ${gpu}; webgl ${webglRenderer() ?? 'none'}; ${nav?.hardwareConcurrency ?? '?'} cores; ${browser}`;
}
