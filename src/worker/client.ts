/**
 * The main-thread side: starts the worker, wraps it with comlink, restores typed errors, and turns DOM-only
 * inputs (image and canvas elements) into ImageBitmaps, which can cross into the worker.
 */
import * as Comlink from 'comlink';
import type { EmbedderInfo, ImageInput, ImageSource, NamedImage, ProgressCallback } from '../core/embedder-api.ts';
import * as errors from '../core/errors.ts';
import {
  DEFAULT_MODEL_PATH,
  DEFAULT_WORKERS,
  resolveWorkers,
  validateWorkers,
  type LoadOptions,
  type WorkersChoice,
} from '../core/options.ts';
import type { EmbedderWorkerApi } from '../core/worker-api.ts';
import { EmbedderPool, type PoolMember } from './embedder-pool.ts';
import type { ClientImage, Embedder } from './embedder-types.ts';
import workerUrl from './embedder.worker.ts?worker&url';

export { deleteStoredModel, listStoredModels, readStoredModelFiles } from './model-store.ts';

export type { ClientImage, Embedder } from './embedder-types.ts';

export interface CreateEmbedderOptions extends LoadOptions {
  /** Called with download / compile progress while the model loads. */
  readonly onProgress?: ProgressCallback;
  /**
   * How many workers may embed at once (default 1). `auto`: one per logical core, bounded by the device's
   * memory, and 1 on a GPU backend (core/options/worker-options.ts). The first worker loads the model; the
   * others start when a call brings more than one batch of images, and load it from Cache Storage.
   */
  readonly workers?: WorkersChoice;
}

const MODEL_PATH = DEFAULT_MODEL_PATH;

/**
 * The library build (scripts/lib/vite-plugins.ts defaultModelUrls) replaces this with the default model's
 * files, `{ 'manifest.json': new URL('./models/default/manifest.json', import.meta.url).href, … }`, so an
 * app's bundler emits each of them and says where it put it.
 */
declare const __SHITU_DEFAULT_MODEL_FILES__: Readonly<Record<string, string>>;
const LIB_MODEL_FILES: Readonly<Record<string, string>> | undefined =
  import.meta.env.MODE === 'lib' ? __SHITU_DEFAULT_MODEL_FILES__ : undefined;

/**
 * The embedded default model. The page resolves it against its own base (a build works from any path);
 * the library (built with --mode lib) against its module's URL, since it sits next to dist/lib/models.
 */
export const DEFAULT_MODEL_URL = LIB_MODEL_FILES?.['manifest.json'] ?? `${import.meta.env.BASE_URL}${MODEL_PATH}`;

/**
 * What the worker is asked to load. An app's bundler emits the library's default model files under new names
 * (Vite and webpack add content hashes), so the manifest's shard names no longer lead to them: the worker
 * gets each file's URL as well (`modelFiles`: file name in the manifest -> URL).
 */

function withModel(options: LoadOptions): LoadOptions {
  const model = new URL(options.model ?? DEFAULT_MODEL_URL, location.href).href;
  if (!LIB_MODEL_FILES || model !== new URL(DEFAULT_MODEL_URL, location.href).href) return { ...options, model };
  const modelFiles = Object.fromEntries(
    Object.entries(LIB_MODEL_FILES).map(([file, url]) => [file, new URL(url, location.href).href]),
  );
  return { ...options, model, modelFiles };
}

/**
 * A module worker must come from the page's origin. When this module is served from another origin (the
 * library on a CDN), a same-origin blob: module imports the real worker script, which needs CORS there and
 * `worker-src blob:` under a Content-Security-Policy.
 */
function startWorker(): Worker {
  const url = new URL(workerUrl, import.meta.url);
  const options: WorkerOptions = { type: 'module', name: 'shitu-embedder' };
  if (url.origin === location.origin) return new Worker(url, options);
  const shim = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' }));
  return new Worker(shim, options);
}

/** comlink sends errors as { name, message }: restoreError rebuilds the typed class (or an InternalError). */
async function typed<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw errors.restoreError(e);
  }
}

/**
 * `index` is the image's place in the caller's whole call (the pool sends slices of it), so unnamed images
 * get the names one worker would have given them.
 */
async function toTransferable(
  input: ClientImage,
  index: number,
): Promise<{ value: ImageInput; transfer: Transferable[] }> {
  const asBitmap = async (el: HTMLImageElement | HTMLCanvasElement | OffscreenCanvas, name: string) => {
    if (typeof HTMLImageElement !== 'undefined' && el instanceof HTMLImageElement) await el.decode();
    // As decode-image.ts decodes files: stored colours under alpha, no colour management (OpenCV's behaviour).
    const bitmap = await createImageBitmap(el, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    return { value: { name, image: bitmap } satisfies NamedImage, transfer: [bitmap] };
  };
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement) {
    const file = decodeURIComponent(
      new URL(input.currentSrc || input.src, location.href).pathname.split('/').pop() ?? '',
    );
    return asBitmap(input, input.alt || file || `image-${index + 1}`);
  }
  if (typeof HTMLCanvasElement !== 'undefined' && input instanceof HTMLCanvasElement) {
    return asBitmap(input, input.id || `canvas-${index + 1}`);
  }
  if (typeof OffscreenCanvas !== 'undefined' && input instanceof OffscreenCanvas)
    return asBitmap(input, `canvas-${index + 1}`);
  // Blobs, ImageData and the caller's own ImageBitmaps are cloned, never transferred: they stay usable.
  const named = typeof input === 'object' && 'image' in input;
  const fileName = (input as { name?: unknown }).name;
  if (named || (typeof fileName === 'string' && fileName !== '')) return { value: input as ImageInput, transfer: [] };
  return { value: { name: `image-${index + 1}`, image: input as ImageSource }, transfer: [] };
}

/**
 * Starts the worker(s) and loads a model. Resolves once the first worker's model is warmed up; with
 * `workers` above 1, large calls are shared between workers (embedder-pool.ts).
 */
export async function createEmbedder(options: CreateEmbedderOptions = {}): Promise<Embedder> {
  const { workers, ...rest } = options;
  const choice = validateWorkers(workers ?? DEFAULT_WORKERS);
  const first = await startMember(rest);
  const loaded = await first.info();
  const nav = globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined;
  const max = resolveWorkers(choice, loaded.backend, { cores: nav?.hardwareConcurrency, memoryGiB: nav?.deviceMemory });
  return new EmbedderPool(first, loaded, rest, max, (load) => startMember(load));
}

/** One worker with a model loaded: what the pool is made of. */
async function startMember(options: Omit<CreateEmbedderOptions, 'workers'>): Promise<PoolMember> {
  const worker = startWorker();
  const remote = Comlink.wrap<EmbedderWorkerApi>(worker);
  const { onProgress, ...load } = options;
  const loadWith = (o: LoadOptions, cb?: ProgressCallback): Promise<EmbedderInfo> =>
    typed(remote.load(withModel(o), cb && Comlink.proxy(cb)));
  try {
    await loadWith(load, onProgress);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  let terminated = false;
  const embedSlice: PoolMember['embedSlice'] = async (images, firstIndex, embedOptions, cb) => {
    if (!Array.isArray(images)) throw new errors.OptionsError('embed() takes an array of images');
    const prepared = await Promise.all(images.map((img, i) => toTransferable(img, firstIndex + i)));
    return typed(
      remote.embed(
        Comlink.transfer(
          prepared.map((p) => p.value),
          prepared.flatMap((p) => p.transfer),
        ),
        embedOptions,
        cb && Comlink.proxy(cb),
      ),
    );
  };
  return {
    load: loadWith,
    embed: (images, embedOptions, cb) => embedSlice(images, 0, embedOptions, cb),
    embedSlice,
    info: () => typed(remote.info()),
    fineTune: (samples, options, cb) => typed(remote.fineTune(samples, options, cb && Comlink.proxy(cb))),
    stopFineTune: () => typed(remote.stopFineTune()),
    exportModel: (url, format) => typed(remote.exportModel(url, format)),
    async importModel(files, options) {
      const inputs = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
      return typed(
        remote.importModel(
          Comlink.transfer(
            inputs,
            inputs.map((i) => i.bytes),
          ),
          options,
        ),
      );
    },
    async dispose() {
      if (terminated) return;
      terminated = true;
      try {
        await typed(remote.dispose());
      } finally {
        remote[Comlink.releaseProxy]();
        worker.terminate();
      }
    },
  };
}
