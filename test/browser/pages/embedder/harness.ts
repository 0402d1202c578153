/**
 * Test-only page: exposes the public client API on window so Playwright can drive the real worker.
 * Results are turned into plain arrays on the way out (page.evaluate cannot return typed arrays).
 */
import type { EmbeddingResult, Progress } from '../../../../src/core/embedder-api.ts';
import {
  createEmbedder,
  type ClientImage,
  type CreateEmbedderOptions,
  type Embedder,
} from '../../../../src/worker/client.ts';

type PlainResult =
  | (Omit<Extract<EmbeddingResult, { ok: true }>, 'embedding'> & { embedding: number[] })
  | Extract<EmbeddingResult, { ok: false }>;

import { INDEXED_DB_BACKEND_MEMORY } from '../../../../src/worker/backend-memory.ts';
import type { BackendVerdict } from '../../../../src/worker/backend-trial.ts';

const embedders: Embedder[] = [];

function plain(results: EmbeddingResult[]): PlainResult[] {
  return results.map((r) => (r.ok ? { ...r, embedding: Array.from(r.embedding) } : r));
}

const harness = {
  async create(options: Omit<CreateEmbedderOptions, 'onProgress'>): Promise<number> {
    embedders.push(await createEmbedder(options));
    return embedders.length - 1;
  },
  info: (i: number) => embedders[i]!.info(),
  dispose: (i: number) => embedders[i]!.dispose(),
  async embed(i: number, images: ClientImage[], batchSize?: number): Promise<PlainResult[]> {
    return plain(await embedders[i]!.embed(images, batchSize ? { batchSize } : {}));
  },
  /** embed() with its progress reports kept. */
  async embedWithProgress(i: number, images: ClientImage[]): Promise<{ results: PlainResult[]; progress: Progress[] }> {
    const progress: Progress[] = [];
    const results = plain(await embedders[i]!.embed(images, {}, (p) => progress.push(p)));
    return { results, progress };
  },
  /** `auto`'s remembered verdicts, as the worker keeps them (IndexedDB). */
  async backendMemoryRoundTrip(key: string, verdict: BackendVerdict): Promise<[unknown, unknown]> {
    const before = await INDEXED_DB_BACKEND_MEMORY.get(key);
    await INDEXED_DB_BACKEND_MEMORY.put(key, verdict);
    return [before, await INDEXED_DB_BACKEND_MEMORY.get(key)];
  },
  /** RGBA bytes (as a plain array) -> ImageData. */
  imageData(bytes: number[], width: number, height: number): ImageData {
    return new ImageData(Uint8ClampedArray.from(bytes), width, height);
  },
  async fixture(name: string): Promise<File> {
    const r = await fetch(`/test/fixtures/images/${name}`);
    return new File([await r.blob()], name);
  },
};

declare global {
  interface Window {
    harness: typeof harness;
  }
}
window.harness = harness;
document.body.dataset.ready = 'true';
