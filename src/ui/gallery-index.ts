/**
 * The gallery's search index on the page: one VectorIndex per model (embeddings of different models are
 * not comparable), searched synchronously on the main thread (an exact scan of 100k int8 rows takes a few
 * milliseconds; the IVF index past that, well under one). What takes seconds, building the IVF index, runs
 * a step at a time between the page's other tasks, each slice a few milliseconds long, so the page stays
 * responsive while a large gallery loads or grows; searches meanwhile use the exact scan or the last index.
 */
import {
  VectorIndex,
  type VectorIndexOptions,
  type VectorIndexStats,
  type VectorMatch,
} from '../core/vector-index/vector-index.ts';

/** Work per slice of a build: well under the 50 ms that makes a task "long". */
const SLICE_MS = 12;

/** Lets the browser run other tasks (input, rendering) before the next slice. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    // A MessageChannel message is a new task without setTimeout's 4 ms clamp.
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}

/** Runs a generator in slices of about `sliceMs`, each slice its own task. */
export async function runSliced(steps: Generator<unknown, unknown>, sliceMs = SLICE_MS): Promise<void> {
  for (;;) {
    const start = performance.now();
    while (performance.now() - start < sliceMs) if (steps.next().done) return;
    await nextTask();
  }
}

export class GalleryIndex {
  private readonly byModel = new Map<string, VectorIndex>();
  private holds = 0;
  private building: Promise<void> | undefined;

  constructor(private readonly options: Omit<VectorIndexOptions, 'dim'> = {}) {}

  private forModel(modelId: string, dim: number): VectorIndex {
    let index = this.byModel.get(modelId);
    if (!index || (index.size === 0 && index.dim !== dim)) {
      index = new VectorIndex({ ...this.options, dim });
      this.byModel.set(modelId, index);
    }
    return index;
  }

  /** Adds or replaces `id`'s vector for `modelId` (a vector of another length than the model's is refused). */
  add(modelId: string, id: string, vector: ArrayLike<number>): void {
    this.forModel(modelId, vector.length).add(id, vector);
    this.changed();
  }

  /** Adds a stored int8 row (what `code` gave) without requantising it. */
  addCode(modelId: string, id: string, code: ArrayLike<number>, scale: number): void {
    this.forModel(modelId, code.length).addCode(id, code, scale);
    this.changed();
  }

  remove(modelId: string, id: string): void {
    const index = this.byModel.get(modelId);
    if (index?.remove(id) && index.size === 0) this.byModel.delete(modelId);
  }

  clear(): void {
    this.byModel.clear();
  }

  size(modelId: string): number {
    return this.byModel.get(modelId)?.size ?? 0;
  }

  code(modelId: string, id: string): { code: Int8Array; scale: number } | undefined {
    return this.byModel.get(modelId)?.code(id);
  }

  vector(modelId: string, id: string): Float32Array | undefined {
    return this.byModel.get(modelId)?.vector(id);
  }

  /** The k best matches for `modelId`'s vectors; none when the query's length is not the model's. */
  search(modelId: string, query: ArrayLike<number>, k: number, exclude?: string): VectorMatch[] {
    const index = this.byModel.get(modelId);
    if (!index || index.dim !== query.length) return [];
    return index.search(query, k, exclude);
  }

  /** A full exact scan whatever the size (the benchmark's comparison). */
  searchExact(modelId: string, query: ArrayLike<number>, k: number): VectorMatch[] {
    const index = this.byModel.get(modelId);
    return index && index.dim === query.length ? index.searchExact(query, k) : [];
  }

  /** Overrides the calibrated nprobe of `modelId`'s approximate index (the benchmark's sweep). */
  setNprobe(modelId: string, nprobe: number): void {
    const index = this.byModel.get(modelId);
    if (index) index.nprobe = nprobe;
  }

  stats(modelId: string): VectorIndexStats | undefined {
    return this.byModel.get(modelId)?.stats();
  }

  /**
   * Holds approximate builds back while many vectors arrive (a gallery loading from storage): one build at
   * the end instead of one at every threshold crossed. Call the returned function when done.
   */
  holdBuilds(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.changed();
    };
  }

  /** Resolves when no build is running or due. */
  async idle(): Promise<void> {
    while (this.building) await this.building;
  }

  private changed(): void {
    if (this.holds > 0 || this.building) return;
    const due = [...this.byModel.values()].find((i) => i.needsBuild);
    if (!due) return;
    this.building = (async () => {
      await nextTask(); // after the caller's own task: a burst of adds starts one build, not many
      await runSliced(due.build());
    })().finally(() => {
      this.building = undefined;
      this.changed();
    });
  }
}
