/**
 * What `npm run embed` says: the setup lines on stderr (model, backend and why, workers and why), one line per
 * image on stdout in input order however the workers finish, and the gallery's summary.
 */
import type { BackendChoice, EmbedderInfo } from '../../src/core/embedder-api.ts';
import type { NodeWasmFeatures } from '../../src/worker/node-environment.ts';
import type { EmbedRecord } from './embed-engine.ts';
import { writeGallery, type GalleryFormat, type GalleryImage } from './embed-gallery.ts';
import type { EmbedPool, WorkerCountInput } from './embed-pool.ts';
import type { CliOutput } from './embed-progress.ts';

export function describeBackend(info: EmbedderInfo, choice: BackendChoice, wasm: NodeWasmFeatures | undefined): string {
  const features = wasm
    ? ` (SIMD ${wasm.simd ? 'on' : 'off'}, ${wasm.threads} thread${wasm.threads === 1 ? ': tfjs keeps WASM single-threaded in Node' : 's'})`
    : '';
  if (choice !== 'auto') return `${info.backend}${features}: requested with --backend ${choice}`;
  if (info.backend === 'wasm') return `wasm${features}: auto tries wasm first in Node, then cpu`;
  return `${info.backend}: auto fell back to it, wasm ${info.backendReasons.wasm}`;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** One result as a line of text: name, ok, size, norm, top label; or the error's code and reason. */
export function resultLine(r: EmbedRecord, width: number): string {
  const name = r.name.padEnd(width);
  if (!r.ok) {
    const reason = r.error.message.startsWith(`${r.name}: `)
      ? r.error.message.slice(r.name.length + 2)
      : r.error.message;
    return `${name}  failed  ${r.error.code}  ${reason}`;
  }
  const prediction = r.prediction ? `  ${r.prediction.label} ${r.prediction.score.toFixed(3)}` : '';
  return `${name}  ok  ${r.embedding.length}-d  norm ${norm(r.embedding).toFixed(3)}${prediction}`;
}

/** The model, backend and worker lines. */
export function describeSetup(
  pool: EmbedPool,
  manifest: string,
  choice: { backend: BackendChoice; workers: 'auto' | number },
  auto: WorkerCountInput,
): string {
  const { info } = pool;
  const head = info.classes
    ? `, a head of ${info.classes.length} classes (${info.classes.slice(0, 3).join(', ')}${info.classes.length > 3 ? ', ...' : ''})`
    : '';
  const MiB = 2 ** 20;
  const batches = plural(auto.batches, 'batch', 'batches');
  const why =
    choice.workers === 'auto'
      ? `auto: ${auto.cores} cores, ${(auto.freeBytes / 1024 / MiB).toFixed(1)} GiB free for workers of about ${(auto.workerBytes / MiB).toFixed(0)} MiB, ${batches}`
      : `--workers ${choice.workers}${choice.workers > pool.size ? `, ${batches}` : ''}`;
  return (
    `model: ${info.modelId} (${manifest}): PP-LCNet x${info.scale}, ${info.embeddingDim}-d embeddings${head}\n` +
    `backend: ${describeBackend(info, choice.backend, pool.wasm)}; model loaded and warmed up in ${info.loadMs.toFixed(0)} ms\n` +
    (pool.size === 1
      ? `workers: 1, this thread (${why})\n`
      : `workers: ${pool.size} threads, each with the model, started in ${pool.startupMs.toFixed(0)} ms (${why})\n`)
  );
}

/** Prints each record's line once all before it are printed: stdout stays in input order. */
export function orderedPrinter(names: readonly string[], stdout: CliOutput) {
  const results: (EmbedRecord | undefined)[] = new Array(names.length);
  const width = Math.min(
    60,
    names.reduce((w, n) => Math.max(w, n.length), 0),
  );
  let printed = 0;
  return {
    results,
    set(index: number, record: EmbedRecord) {
      results[index] = record;
    },
    flush() {
      let text = '';
      for (; printed < names.length && results[printed]; printed++) text += `${resultLine(results[printed]!, width)}\n`;
      if (text) stdout.write(text);
    },
  };
}

export async function reportGallery(
  dir: string,
  formats: readonly GalleryFormat[],
  images: readonly GalleryImage[],
  records: readonly EmbedRecord[],
  stderr: CliOutput,
): Promise<void> {
  const { written, left, entries } = await writeGallery(dir, formats, images, records);
  const labels = new Set(images.filter((_, i) => records[i]!.ok).map((g) => g.label)).size;
  stderr.write(`gallery: ${entries} images of ${labels} labels in ${written.join(', ')}\n`);
  if (left.length > 0) {
    stderr.write(`gallery: ${left.length} failed image(s) left out:\n`);
    stderr.write(left.map((r) => `  ${r.name}  ${r.ok ? '' : r.error.code}\n`).join(''));
  }
}
