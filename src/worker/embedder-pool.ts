/**
 * Several workers behind one Embedder. tfjs's WASM backend runs one thread per worker here: its own threads
 * need a cross-origin-isolated page and are capped at half the cores (docs/speed.md, "Every core"), so
 * parallelism comes from workers, which need neither. The first worker does everything a single one does
 * (load, fine-tuning, import, export); the others only embed, and start when a call brings more than one
 * batch of images, loading the model's shards from Cache Storage where the first left them.
 *
 * A large call is cut into chunks of at most one batch, handed out in order to whichever worker is free (a
 * slower or later-starting worker takes fewer), and the results are put back in the caller's order. Images
 * keep the names one worker would have given them (the client names each by its place in the whole call).
 */
import type { EmbedderInfo, EmbeddingResult, ProgressCallback } from '../core/embedder-api.ts';
import type { EmbedOptions, LoadOptions } from '../core/options.ts';
import type { ClientImage, Embedder } from './embedder-types.ts';

/** One worker: an Embedder that can embed a slice of a larger call, naming images by their place in it. */
export interface PoolMember extends Embedder {
  embedSlice(
    images: readonly ClientImage[],
    firstIndex: number,
    options?: EmbedOptions,
    onProgress?: ProgressCallback,
  ): Promise<EmbeddingResult[]>;
}

export type StartMember = (load: LoadOptions) => Promise<PoolMember>;

export class EmbedderPool implements Embedder {
  /** Workers beyond the first, started or starting; emptied when the model changes. */
  private helpers: Promise<PoolMember | undefined>[] = [];
  private readonly ready = new Set<PoolMember>();
  /** A helper failed to start (memory, a worker refused): the pool goes on with the workers it has. */
  private startFailed = false;
  private loadOptions: LoadOptions;
  private disposed = false;

  constructor(
    private readonly first: PoolMember,
    /** What the first worker's load returned: its batch size and chosen backend, asked once, not per call. */
    private loaded: Pick<EmbedderInfo, 'batchSize' | 'backend'>,
    load: LoadOptions,
    /** The most workers that may run, the first included. */
    private readonly max: number,
    private readonly start: StartMember,
  ) {
    this.loadOptions = load;
  }

  async load(options: LoadOptions = {}, onProgress?: ProgressCallback): Promise<EmbedderInfo> {
    const info = await this.first.load(options, onProgress);
    this.loadOptions = options;
    this.loaded = info;
    // Other weights or another backend: the helpers restart with the new model when a large call needs them.
    await this.stopHelpers();
    return this.describe(info);
  }

  async info(): Promise<EmbedderInfo> {
    return this.describe(await this.first.info());
  }

  async embed(
    images: readonly ClientImage[],
    options: EmbedOptions = {},
    onProgress?: ProgressCallback,
  ): Promise<EmbeddingResult[]> {
    if (this.max === 1 || !Array.isArray(images)) return this.first.embed(images, options, onProgress);
    // Helpers are worth their memory from the model's own batch size up (a drop of 3 stays on one worker);
    // a call's larger batchSize still shares: 32 images at batch 32 go out as 2 x 16 on two workers.
    const loaded = this.loaded.batchSize;
    if (images.length <= loaded) return this.first.embed(images, options, onProgress);
    const batch = options.batchSize ?? loaded;
    // Chunks of at most one batch, and at least as many chunks as workers, so every worker gets a share.
    const size = Math.max(1, Math.min(batch, Math.ceil(images.length / this.max)));
    const chunks: { start: number; end: number }[] = [];
    for (let start = 0; start < images.length; start += size)
      chunks.push({ start, end: Math.min(images.length, start + size) });
    const results: EmbeddingResult[] = new Array(images.length);
    const doneIn = new Array<number>(chunks.length).fill(0);
    let next = 0;
    const report = () =>
      onProgress?.({ stage: 'embed', done: doneIn.reduce((a, b) => a + b, 0), total: images.length });
    const work = async (member: PoolMember) => {
      while (next < chunks.length && !this.disposed) {
        const i = next++;
        const { start, end } = chunks[i]!;
        const cb = onProgress
          ? (p: { done: number }) => {
              doneIn[i] = p.done;
              report();
            }
          : undefined;
        const out = await member.embedSlice(images.slice(start, end), start, options, cb);
        out.forEach((r, k) => (results[start + k] = r));
        doneIn[i] = end - start;
        report();
      }
    };
    this.grow();
    // A helper still starting joins when it is ready, if chunks are left; the call never waits for a start.
    const active = [work(this.first)];
    for (const h of this.helpers) void h.then((m) => m && next < chunks.length && active.push(work(m)));
    for (let settled = 0; settled < active.length;) {
      settled = active.length;
      await Promise.all(active);
    }
    if (this.disposed) throw new Error('the embedder was disposed during the call');
    return results;
  }

  fineTune: Embedder['fineTune'] = (samples, options, onProgress) => this.first.fineTune(samples, options, onProgress);
  stopFineTune: Embedder['stopFineTune'] = () => this.first.stopFineTune();
  exportModel: Embedder['exportModel'] = (url, format) => this.first.exportModel(url, format);
  importModel: Embedder['importModel'] = (files, options) => this.first.importModel(files, options);

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([this.first.dispose(), this.stopHelpers()]);
  }

  private describe(info: EmbedderInfo): EmbedderInfo {
    return { ...info, workers: { max: this.max, running: 1 + this.ready.size } };
  }

  /** Starts the missing helpers, each with the first worker's backend (already chosen: no second probing). */
  private grow(): void {
    const want = this.max - 1 - this.helpers.length;
    if (want <= 0 || this.startFailed) return;
    const load = { ...this.loadOptions, backend: this.loaded.backend };
    for (let k = 0; k < want; k++) {
      const helper = this.start(load).then(
        async (member) => {
          // Disposed or reloaded while it started: it is no longer wanted.
          if (this.disposed || !this.helpers.includes(helper)) {
            await member.dispose();
            return undefined;
          }
          this.ready.add(member);
          return member;
        },
        (e: unknown) => {
          this.startFailed = true;
          console.warn(`shitu-web: a pool worker could not start (${(e as Error).message}); going on without it`);
          return undefined;
        },
      );
      this.helpers.push(helper);
    }
  }

  private async stopHelpers(): Promise<void> {
    const helpers = this.helpers;
    this.helpers = [];
    this.ready.clear();
    await Promise.allSettled(helpers.map(async (h) => (await h)?.dispose()));
  }
}
