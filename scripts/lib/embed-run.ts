/**
 * One run of `npm run embed`, once its options are parsed (scripts/embed.ts): the inputs, what --resume can
 * reuse, the pool, the lines on stdout in input order, the progress, the journal, and the outputs.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import type { BackendChoice } from '../../src/core/embedder-api.ts';
import type { EmbedRecord, EmbedTask } from './embed-engine.ts';
import { readModelBytes, sha256Hex } from './embed-model.ts';
import { labelImages, type GalleryFormat } from './embed-gallery.ts';
import { collectImages, listSome, resolveManifest, UsageError } from './embed-inputs.ts';
import {
  journalPathFor,
  openJournal,
  readDoneRecords,
  writeJsonOutput,
  type JournalWriter,
  type RunKey,
} from './embed-journal.ts';
import {
  autoWorkerCount,
  createEmbedPool,
  defaultWorkerCountInput,
  estimateWorkerBytes,
  type EmbedPool,
} from './embed-pool.ts';
import { createProgress, type CliOutput, type ProgressReporter } from './embed-progress.ts';
import { describeSetup, orderedPrinter, plural, reportGallery } from './embed-report.ts';
import { syntheticImages, type Pixels } from './synthetic-pixels.ts';

export interface EmbedRunOptions {
  readonly model: string;
  readonly backend: BackendChoice;
  readonly json?: string;
  readonly batchSize: number;
  readonly workers: 'auto' | number;
  readonly resume: boolean;
  /** A PP-ShiTu gallery of the one folder given, written here in `formats`. */
  readonly galleryOut?: string;
  readonly formats?: readonly GalleryFormat[];
  /** Embed this many generated images instead of files. */
  readonly synthetic?: number;
  readonly inputs: readonly string[];
}

/** What the caller needs after a failed or interrupted run: how far it got and where that is kept. */
export interface RunState {
  pool?: EmbedPool;
  journal?: JournalWriter;
  progress?: ProgressReporter;
  done: number;
  total: number;
}

/** The work: file names (or synthetic ones) and, for a gallery, their labels. */
async function planInputs(options: EmbedRunOptions, stderr: CliOutput) {
  if (options.synthetic) {
    const names = Array.from({ length: options.synthetic }, (_, i) => `synthetic-${String(i + 1).padStart(3, '0')}`);
    return { names, skipped: [] as string[], gallery: undefined };
  }
  const { files, skipped } = await collectImages(options.inputs);
  if (skipped.length > 0)
    stderr.write(`note: skipped ${skipped.length} file(s) without an image extension: ${listSome(skipped)}\n`);
  if (options.galleryOut === undefined) return { names: files, skipped, gallery: undefined };
  const root = options.inputs[0]!;
  const { images, unlabelled } = labelImages(root, files);
  if (unlabelled.length > 0)
    stderr.write(
      `note: ${unlabelled.length} image(s) directly in ${root}, not in a label subfolder, are left out of the gallery: ${listSome(unlabelled)}\n`,
    );
  return { names: images.map((g) => g.file), skipped, gallery: images };
}

/** Records of a resumed run's journal / output that still hold: same file bytes, same model and backend. */
async function reusable(
  names: readonly string[],
  sources: { journal?: string; json?: string },
  key: RunKey,
  stderr: CliOutput,
): Promise<{ reused: (EmbedRecord | undefined)[]; changed: number }> {
  const done = await readDoneRecords(sources, key);
  for (const note of done.notes) stderr.write(`resume: ${note}\n`);
  let changed = 0;
  const reused: (EmbedRecord | undefined)[] = new Array(names.length);
  // 32 files at a time: a folder of 100,000 images must not open them all at once.
  for (let first = 0; first < names.length; first += 32) {
    await Promise.all(
      names.slice(first, first + 32).map(async (name, k) => {
        const r = done.records.get(name);
        if (!r) return;
        const bytes = await readFile(name).catch(() => undefined);
        if (bytes && sha256Hex(bytes) === r.sha256) reused[first + k] = r;
        else changed++;
      }),
    );
  }
  return { reused, changed };
}

/**
 * The batches to hand out: each keeps the place it has in an uninterrupted run, less the images already done
 * (embeddings do not depend on a batch's other images, so a resumed run's output is the same either way).
 */
function planBatches(
  names: readonly string[],
  batchSize: number,
  reused: readonly (EmbedRecord | undefined)[],
  pixels: readonly Pixels[],
): { indices: number[]; task: EmbedTask }[] {
  const tasks: { indices: number[]; task: EmbedTask }[] = [];
  for (let first = 0; first < names.length; first += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, names.length - first) }, (_, k) => first + k).filter(
      (i) => !reused[i],
    );
    if (indices.length === 0) continue;
    const task: EmbedTask =
      pixels.length > 0
        ? { names: indices.map((i) => names[i]!), pixels: indices.map((i) => pixels[i]!) }
        : { paths: indices.map((i) => names[i]!) };
    tasks.push({ indices, task });
  }
  return tasks;
}

/** Runs the command's work; throws on a usage or model error, or with `signal`'s reason when aborted. */
export async function runEmbed(
  options: EmbedRunOptions,
  io: { stdout: CliOutput; stderr: CliOutput },
  signal: AbortSignal | undefined,
  state: RunState,
): Promise<void> {
  const { stdout, stderr } = io;
  const { backend, batchSize, synthetic } = options;
  const manifest = await resolveManifest(options.model);
  const { names, skipped, gallery } = await planInputs(options, stderr);
  const total = names.length;
  state.total = total;
  if (total === 0) throw new UsageError(`no image files found in ${options.inputs.join(', ')}`);
  const journalPath = journalPathFor(options);
  if (journalPath && existsSync(journalPath) && !options.resume)
    throw new UsageError(
      `${journalPath} holds an interrupted run: add --resume to continue it (changed files are embedded again), or delete it to start over`,
    );
  const model = await readModelBytes(manifest);

  // Reuse is decided before the pool starts (its size depends on the work left), for the backend auto will
  // take; if another one starts, nothing is reused.
  const expected = { model: '', modelSha256: model.sha256, backend: backend === 'auto' ? 'wasm' : backend };
  let { reused, changed } = options.resume
    ? await reusable(names, { journal: journalPath, json: options.json }, expected, stderr)
    : { reused: [] as (EmbedRecord | undefined)[], changed: 0 };
  const pixels = synthetic ? syntheticImages(synthetic) : [];
  let tasks = planBatches(names, batchSize, reused, pixels);
  const auto = defaultWorkerCountInput(tasks.length, estimateWorkerBytes(model.size, batchSize));
  const count =
    options.workers === 'auto' ? autoWorkerCount(auto) : Math.max(1, Math.min(options.workers, tasks.length));
  const pool = await createEmbedPool({
    workers: count,
    model,
    load: { backend, batchSize },
    log: (text) => stderr.write(text),
    ...(signal ? { signal } : {}),
  });
  state.pool = pool;
  const { info } = pool;
  const key: RunKey = { model: info.modelId, modelSha256: model.sha256, backend: info.backend };
  if (info.backend !== expected.backend && reused.some(Boolean)) {
    stderr.write(`resume: the records were made on ${expected.backend}, this run is on ${info.backend}: not reused\n`);
    reused = [];
    changed = 0;
    tasks = planBatches(names, batchSize, reused, pixels);
  }
  stderr.write(describeSetup(pool, manifest, options, auto));
  if (options.galleryOut) await mkdir(options.galleryOut, { recursive: true });
  const journal = journalPath ? await openJournal(journalPath, key) : undefined;
  state.journal = journal;
  const reusedCount = reused.filter(Boolean).length;
  if (options.resume)
    stderr.write(
      `resume: ${reusedCount} of ${total} images already done${changed ? `; ${changed} changed since, embedded again` : ''}\n`,
    );

  const printer = orderedPrinter(names, stdout);
  reused.forEach((r, i) => r && printer.set(i, r));
  printer.flush();
  let failed = reused.filter((r) => r && !r.ok).length;
  state.done = reusedCount;
  const progress = createProgress(stderr, { total, done: reusedCount });
  state.progress = progress;
  const started = performance.now();
  let embedded = 0;
  await pool.run(
    tasks.map((t) => t.task),
    (index, records) => {
      const { indices } = tasks[index]!;
      records.forEach((r, k) => printer.set(indices[k]!, r));
      journal?.append(records);
      state.done += records.length;
      failed += records.filter((r) => !r.ok).length;
      embedded += records.filter((r) => r.ok).length;
      progress.clear();
      printer.flush();
      progress.update(state.done, failed);
    },
  );
  await pool.close();
  progress.end();
  const seconds = (performance.now() - started) / 1000;
  const done = printer.results as EmbedRecord[];
  stderr.write(
    `embedded ${total - failed} of ${total} images${failed ? ` (${failed} failed)` : ''}${reusedCount ? `, ${reusedCount} of them done before (--resume) and ${total - reusedCount} now,` : ''} in ${seconds.toFixed(2)} s: ${(embedded / seconds).toFixed(1)} images/s on ${info.backend}, ${plural(pool.size, 'worker', 'workers')}\n`,
  );
  // Threads share the process: this is the command and all its workers (docs/embed-cli.md sizes a worker with it).
  stderr.write(`memory: peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
  await journal?.flush();
  if (options.json) {
    await writeJsonOutput(options.json, key, skipped, done);
    stderr.write(`wrote ${options.json}\n`);
  }
  if (options.galleryOut && gallery) await reportGallery(options.galleryOut, options.formats!, gallery, done, stderr);
  await journal?.remove();
}
