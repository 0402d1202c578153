/**
 * The engine's environment in Node (scripts, unit tests): tfjs's pure-JS cpu backend, optionally its WASM
 * backend, pixels given as ImageData-like objects (Node has no image decoder: a caller may plug one in for
 * files), and a fetch that also reads local files.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { ImageSource } from '../core/embedder-api.ts';
import { ImageTooLargeError, UnsupportedImageFormatError } from '../core/errors.ts';
import type { RgbaPixels } from '../model/preprocess.ts';
import type { BackendProbe, BackendProbes } from './backend-select.ts';
import type { DecodedPixels, EngineEnvironment } from './embedder-engine.ts';

const notInNode = { unavailable: async () => 'not available in Node (browser only)', software: async () => undefined };
const cpuProbe: BackendProbe = { unavailable: async () => undefined, software: async () => undefined };

/** cpu only: the reference the tests and parity compare against, and what `nodeEnvironment()` offers by default. */
export const NODE_PROBES: BackendProbes = Object.freeze({
  webgpu: notInNode,
  webgl: notInNode,
  wasm: notInNode,
  cpu: cpuProbe,
});

const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
let wasmModule: Promise<{ module?: WasmModule; missing?: string }> | undefined;

/**
 * Registers tfjs's WASM backend on first use, not at import: registering it makes it tfjs's default (priority 2
 * over cpu's 1), which callers that never asked for it must not get. Its .wasm files are read from
 * node_modules by path; tfjs would guess the same folder from __dirname, but a bundled script would break that.
 */
function loadWasmBackend(): Promise<{ module?: WasmModule; missing?: string }> {
  wasmModule ??= (async () => {
    if (typeof WebAssembly !== 'object') return { missing: 'WebAssembly is missing' };
    try {
      const module = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      const paths = Object.fromEntries(
        WASM_FILES.map((f) => [f, require.resolve(`@tensorflow/tfjs-backend-wasm/dist/${f}`)]),
      );
      module.setWasmPaths(paths);
      return { module };
    } catch (e) {
      return { missing: `@tensorflow/tfjs-backend-wasm could not be loaded (${(e as Error).message})` };
    }
  })();
  return wasmModule;
}

const wasmProbe: BackendProbe = {
  unavailable: async () => (await loadWasmBackend()).missing,
  software: async () => undefined,
};

/** cpu and wasm: `auto` takes wasm (XNNPACK, SIMD) and falls back to cpu if it fails to start. */
export const NODE_WASM_PROBES: BackendProbes = Object.freeze({
  webgpu: notInNode,
  webgl: notInNode,
  wasm: wasmProbe,
  cpu: cpuProbe,
});

export interface NodeWasmFeatures {
  readonly simd: boolean;
  /** Threads XNNPACK runs on: 1 in Node, where tfjs turns threads off (tensorflow/tfjs#3830: its pthread
   * workers are started from blob: URLs, which Node's worker_threads refuse). */
  readonly threads: number;
}

/** SIMD and threads of the running WASM backend, or undefined when wasm is not the active backend. */
export async function nodeWasmFeatures(): Promise<NodeWasmFeatures | undefined> {
  const { module } = wasmModule ? await wasmModule : {};
  if (!module || tf.getBackend() !== 'wasm') return undefined;
  return { simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), threads: module.getThreadsCount() };
}

function isPixels(x: unknown): x is RgbaPixels {
  const p = x as RgbaPixels;
  return (
    typeof p === 'object' &&
    p !== null &&
    Number.isInteger(p.width) &&
    Number.isInteger(p.height) &&
    (p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray) &&
    p.data.length === p.width * p.height * 4
  );
}

/** Decodes an encoded image (a file's bytes, as a Blob) to upright RGBA pixels, or throws an ImageError. */
export type NodeBlobDecoder = (blob: Blob, name: string, options: { maxPixels: number }) => Promise<DecodedPixels>;

function pixelDecoder(decodeBlob: NodeBlobDecoder | undefined): EngineEnvironment['decode'] {
  return async (image: ImageSource, name: string, options: { maxPixels: number }): Promise<DecodedPixels> => {
    if (decodeBlob && image instanceof Blob) return decodeBlob(image, name, options);
    if (!isPixels(image)) {
      throw new UnsupportedImageFormatError(
        name,
        `in Node, pass decoded RGBA pixels ({ data, width, height })${decodeBlob ? ' or a Blob' : ''}`,
      );
    }
    if (image.width * image.height > options.maxPixels) {
      throw new ImageTooLargeError(
        name,
        `${image.width} x ${image.height} is over the ${options.maxPixels}-pixel limit`,
      );
    }
    return { pixels: image, width: image.width, height: image.height, decodeMs: 0 };
  };
}

/** fetch() for http(s) URLs, file: URLs and plain paths. */
export async function fetchOrRead(url: string): Promise<Response> {
  if (/^https?:/.test(url)) return fetch(url);
  const path = url.startsWith('file:') ? new URL(url) : url;
  try {
    const bytes = await readFile(path);
    return new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.byteLength) } });
  } catch {
    return new Response(null, { status: 404 });
  }
}

export interface NodeEnvironmentOptions {
  /**
   * Offer tfjs's WASM backend (to `auto`, before cpu, and by name). Default false: the cpu backend alone, the
   * reference that tests and parity pin their numbers to.
   */
  readonly wasm?: boolean;
  /** Decodes images given as Blobs (e.g. `fs.openAsBlob(path)`); without it only RGBA pixels are accepted. */
  readonly decodeBlob?: NodeBlobDecoder;
}

export function nodeEnvironment(
  defaultModelPath = 'models/default/manifest.json',
  options: NodeEnvironmentOptions = {},
): EngineEnvironment {
  return {
    probes: options.wasm ? NODE_WASM_PROBES : NODE_PROBES,
    decode: pixelDecoder(options.decodeBlob),
    fetch: fetchOrRead,
    defaultModelUrl: pathToFileURL(defaultModelPath).href,
  };
}
