/**
 * The engine's environment in Node (scripts, unit tests): tfjs's pure-JS cpu backend, pixels given as
 * ImageData-like objects (Node has no image decoder), and a fetch that also reads local files.
 */
import '@tensorflow/tfjs-backend-cpu';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { ImageSource } from '../core/embedder-api.ts';
import { ImageTooLargeError, UnsupportedImageFormatError } from '../core/errors.ts';
import type { RgbaPixels } from '../model/preprocess.ts';
import type { BackendProbes } from './backend-select.ts';
import type { DecodedPixels, EngineEnvironment } from './embedder-engine.ts';

const notInNode = { unavailable: async () => 'not available in Node (browser only)', software: async () => undefined };

export const NODE_PROBES: BackendProbes = Object.freeze({
  webgpu: notInNode,
  webgl: notInNode,
  wasm: notInNode,
  cpu: { unavailable: async () => undefined, software: async () => undefined },
});

function isPixels(x: unknown): x is RgbaPixels {
  const p = x as RgbaPixels;
  return (
    typeof p === 'object' && p !== null && Number.isInteger(p.width) && Number.isInteger(p.height) &&
    (p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray) && p.data.length === p.width * p.height * 4
  );
}

async function decodePixels(image: ImageSource, name: string, options: { maxPixels: number }): Promise<DecodedPixels> {
  if (!isPixels(image)) throw new UnsupportedImageFormatError(name, 'in Node, pass decoded RGBA pixels ({ data, width, height })');
  if (image.width * image.height > options.maxPixels) {
    throw new ImageTooLargeError(name, `${image.width} x ${image.height} is over the ${options.maxPixels}-pixel limit`);
  }
  return { pixels: image, width: image.width, height: image.height, decodeMs: 0 };
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

export function nodeEnvironment(defaultModelPath = 'models/default/manifest.json'): EngineEnvironment {
  return {
    probes: NODE_PROBES,
    decode: decodePixels,
    fetch: fetchOrRead,
    defaultModelUrl: pathToFileURL(defaultModelPath).href,
  };
}
