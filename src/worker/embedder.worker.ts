/**
 * The worker entry: one EmbedderEngine behind comlink. All tfjs work happens here, off the main thread.
 */
import * as Comlink from 'comlink';
import type { EmbedderApi, EmbedOptions, ImageInput, LoadOptions, ProgressCallback } from '../core/embedder-api.ts';
import { BROWSER_PROBES } from './browser-backends.ts';
import { decodeImage } from './decode-image.ts';
import { EmbedderEngine } from './embedder-engine.ts';

const engine = new EmbedderEngine({
  probes: BROWSER_PROBES,
  decode: decodeImage,
  fetch: (url) => fetch(url),
  // The client always passes a model URL resolved against the page; this is only a last resort.
  defaultModelUrl: new URL('/models/default/manifest.json', self.location.origin).href,
});

const api: EmbedderApi = {
  load: (options?: LoadOptions, onProgress?: ProgressCallback) => engine.load(options, onProgress),
  async embed(images: readonly ImageInput[], options?: EmbedOptions, onProgress?: ProgressCallback) {
    const results = await engine.embed(images, options, onProgress);
    // Hand the vectors over instead of copying them: each was sliced into its own buffer.
    return Comlink.transfer(
      results,
      results.flatMap((r) => (r.ok ? [r.embedding.buffer as ArrayBuffer] : [])),
    );
  },
  info: () => engine.info(),
  dispose: () => engine.dispose(),
};

Comlink.expose(api);
