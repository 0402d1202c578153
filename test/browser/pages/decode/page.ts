/**
 * Test-only page: posts fixtures (or bitmaps, ImageData, raw bytes made here) to decode-worker.ts and keeps
 * the decoded pixels, so the Playwright test can ask for sizes, pixels and differences without moving whole
 * images through the DevTools protocol.
 */
import type { DecodeReply, DecodeRequest } from './decode-worker.ts';

export type DecodeSource =
  | { readonly fixture: string; readonly as?: 'blob' | 'bitmap' }
  | { readonly bytes: readonly number[] }
  | { readonly imageData: { readonly width: number; readonly height: number; readonly rgba: readonly number[] } };

export type DecodeSummary =
  Omit<Extract<DecodeReply, { ok: true }>, 'data' | 'id'> | Extract<DecodeReply, { ok: false }>;

export interface DecodeTestApi {
  /** Decodes `source` in the worker as file `name`, keeps the pixels under `name`. */
  decode(name: string, source: DecodeSource, maxPixels?: number): Promise<DecodeSummary>;
  pixel(name: string, x: number, y: number): number[];
  /** Mean absolute difference over R, G, B of two kept images of the same size. */
  meanAbsDiff(a: string, b: string): number;
}

declare global {
  interface Window {
    decodeTest: DecodeTestApi;
  }
}

const worker = new Worker(new URL('./decode-worker.ts', import.meta.url), { type: 'module' });
const pending = new Map<number, (reply: DecodeReply) => void>();
const kept = new Map<string, { width: number; height: number; data: Uint8ClampedArray }>();
let nextId = 0;
worker.addEventListener('message', (event: MessageEvent<DecodeReply>) => pending.get(event.data.id)?.(event.data));

async function inputOf(source: DecodeSource): Promise<Blob | ImageBitmap | ImageData> {
  if ('bytes' in source) return new Blob([Uint8Array.from(source.bytes)]);
  if ('imageData' in source) {
    const { width, height, rgba } = source.imageData;
    return new ImageData(Uint8ClampedArray.from(rgba), width, height);
  }
  const response = await fetch(`/test/fixtures/images/${source.fixture}`);
  if (!response.ok) throw new Error(`fixture ${source.fixture}: HTTP ${response.status}`);
  const blob = await response.blob();
  return source.as === 'bitmap' ? createImageBitmap(blob, { imageOrientation: 'from-image' }) : blob;
}

window.decodeTest = {
  async decode(name, source, maxPixels = 50_000_000) {
    const input = await inputOf(source);
    const id = nextId++;
    const reply = await new Promise<DecodeReply>((resolve) => {
      pending.set(id, resolve);
      const request: DecodeRequest = { id, name, input, maxPixels };
      worker.postMessage(request, input instanceof ImageBitmap ? [input] : []);
    });
    pending.delete(id);
    if (!reply.ok) return reply;
    const { data, id: _id, ...summary } = reply;
    kept.set(name, { width: reply.width, height: reply.height, data });
    return summary;
  },
  pixel(name, x, y) {
    const image = kept.get(name);
    if (!image) throw new Error(`no decoded image named ${name}`);
    const i = (y * image.width + x) * 4;
    return Array.from(image.data.subarray(i, i + 4));
  },
  meanAbsDiff(a, b) {
    const [p, q] = [kept.get(a), kept.get(b)];
    if (!p || !q || p.width !== q.width || p.height !== q.height)
      throw new Error(`${a} and ${b}: not two images of one size`);
    let sum = 0;
    for (let i = 0; i < p.data.length; i++) if (i % 4 !== 3) sum += Math.abs(p.data[i]! - q.data[i]!);
    return sum / ((p.data.length / 4) * 3);
  },
};
