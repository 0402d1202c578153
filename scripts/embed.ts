/**
 * npm run embed -- [options] <images or folders...>
 *
 * Embeds image files from the command line with the engine the browser worker runs (src/worker/embedder-engine.ts),
 * on tfjs's WASM backend in Node (or its cpu backend), in a pool of worker threads (scripts/lib/embed-pool.ts):
 * WASM runs on one thread per worker in Node, so the pool is what uses every core. JPEG and PNG are decoded in
 * JavaScript (scripts/lib/node-image-decode.ts), one batch at a time; a bad file fails alone, with the page's
 * error codes. Every finished batch goes to a journal, so an interrupted run continues with --resume
 * (scripts/lib/embed-journal.ts). `--gallery-out` writes a PP-ShiTu gallery (scripts/lib/embed-gallery.ts).
 * `--synthetic N` embeds N generated 224 x 224 images instead, to measure throughput.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../src/core/embedder-api.ts';
import { EmbedderError } from '../src/core/errors.ts';
import { DEFAULT_GALLERY_FORMATS, GALLERY_FORMATS, parseGalleryFormats } from './lib/embed-gallery.ts';
import { UsageError } from './lib/embed-inputs.ts';
import type { CliOutput } from './lib/embed-progress.ts';
import { runEmbed, type EmbedRunOptions, type RunState } from './lib/embed-run.ts';
import { isMain } from './lib/run-main.ts';

export type { CliOutput } from './lib/embed-progress.ts';

const DEFAULT_MODEL = fileURLToPath(new URL('../models/default/manifest.json', import.meta.url));
const NODE_BACKENDS: readonly BackendChoice[] = ['auto', 'wasm', 'cpu'];
const MAX_WORKERS = 64;

export const USAGE = `usage: npm run embed -- [options] <images or folders...>
  --model <folder | manifest.json>  a converted model (npm run convert); default: models/default
  --backend auto|wasm|cpu           default auto: wasm (WebAssembly, SIMD), else cpu (pure JavaScript, far slower)
  --workers auto|N                  worker threads, each with its own copy of the model (default auto: one per
                                    core, as many as free memory holds, no more than batches); 1: no threads
  --json FILE                       also write {"model", "modelSha256", "backend", "skipped",
                                    "results": [{name, ok, sha256, embedding | error, prediction?}]}
  --gallery-out DIR                 write a PP-ShiTu gallery of <folder>, which holds one subfolder per label
  --format faiss,jsonl,npy          the gallery's files (default faiss: vector.index + id_map.pkl, as PaddleClas's
                                    build_gallery; jsonl: gallery.jsonl; npy: embeddings.npy + labels.txt)
  --resume                          continue an interrupted run from its journal (FILE.partial.jsonl, or
                                    DIR/gallery.partial.jsonl), and reuse a finished --json FILE: images whose
                                    SHA-256 is recorded for this model are not embedded again
  --batch N                         images per forward pass (default 8), and per hand-out to a worker
  --synthetic N                     embed N generated 224 x 224 images instead of files (throughput check)
  -h, --help                        this text

Folders are read recursively; files there without an image extension are skipped (with a note), hidden
entries (.name) are ignored. JPEG and PNG are decoded; other formats fail alone with code image-format.
Exit code: 0 when the run completed, even if some images failed; 1 on a usage or model error; 130 when
interrupted (Ctrl-C): the images done are kept in the journal for --resume.`;

export type EmbedCliOptions = EmbedRunOptions;

export const DEFAULT_EMBED_CLI_OPTIONS = Object.freeze({
  model: DEFAULT_MODEL,
  backend: 'auto',
  batchSize: 8,
  workers: 'auto',
  resume: false,
} as const);

function positiveInteger(flag: string, text: string | undefined, max = Infinity): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be an integer from 1${max < Infinity ? ` to ${max}` : ' up'}; got "${text}"`);
  return n;
}

/** The command line -> options with defaults filled in, or 'help'; throws a UsageError naming what is wrong. */
export function parseCliOptions(argv: readonly string[]): EmbedCliOptions | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'string' },
      batch: { type: 'string' },
      workers: { type: 'string' },
      resume: { type: 'boolean' },
      'gallery-out': { type: 'string' },
      format: { type: 'string' },
      synthetic: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const backend = (values.backend ?? DEFAULT_EMBED_CLI_OPTIONS.backend) as BackendChoice;
  if (!NODE_BACKENDS.includes(backend)) {
    throw new UsageError(
      `--backend must be one of ${NODE_BACKENDS.join(', ')} in Node (webgpu and webgl run in the page); got "${values.backend}"`,
    );
  }
  const batchSize = positiveInteger('--batch', values.batch, 256) ?? DEFAULT_EMBED_CLI_OPTIONS.batchSize;
  const workers =
    values.workers === undefined || values.workers === 'auto'
      ? DEFAULT_EMBED_CLI_OPTIONS.workers
      : positiveInteger('--workers', values.workers, MAX_WORKERS)!;
  const synthetic = positiveInteger('--synthetic', values.synthetic);
  const galleryOut = values['gallery-out'];
  const formats = values.format === undefined ? undefined : parseGalleryFormats(values.format);
  if (values.format !== undefined && !formats)
    throw new UsageError(
      `--format takes names from ${GALLERY_FORMATS.join(', ')}, joined by commas; got "${values.format}"`,
    );
  if (formats && galleryOut === undefined) throw new UsageError('--format chooses the files of --gallery-out DIR');
  if (synthetic !== undefined && positionals.length > 0) throw new UsageError('--synthetic takes no image files');
  if (synthetic !== undefined && (galleryOut !== undefined || values.resume))
    throw new UsageError('--synthetic images have no labels or files: no --gallery-out or --resume');
  if (synthetic === undefined && positionals.length === 0)
    throw new UsageError('no images given: name image files or folders');
  if (galleryOut !== undefined && positionals.length !== 1)
    throw new UsageError('--gallery-out takes one folder, with one subfolder of images per label');
  if (values.resume && values.json === undefined && galleryOut === undefined)
    throw new UsageError('--resume continues a run that wrote --json FILE or --gallery-out DIR');
  return {
    model: values.model ?? DEFAULT_EMBED_CLI_OPTIONS.model,
    backend,
    batchSize,
    workers,
    resume: values.resume ?? false,
    inputs: positionals,
    ...(values.json !== undefined ? { json: values.json } : {}),
    ...(galleryOut !== undefined ? { galleryOut, formats: formats ?? DEFAULT_GALLERY_FORMATS } : {}),
    ...(synthetic !== undefined ? { synthetic } : {}),
  };
}

export interface EmbedControl {
  /** Aborting it stops the run as Ctrl-C does: workers terminated, the journal flushed, exit code 130. */
  readonly signal?: AbortSignal;
}

/** Runs the command; resolves to its exit code. */
export async function main(
  argv: readonly string[],
  io: { stdout: CliOutput; stderr: CliOutput } = process,
  control: EmbedControl = {},
): Promise<number> {
  const { stdout, stderr } = io;
  const { signal } = control;
  const state: RunState = { done: 0, total: 0 };
  try {
    const options = parseCliOptions(argv);
    if (options === 'help') {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    await runEmbed(options, io, signal, state);
    return 0;
  } catch (e) {
    state.progress?.end();
    const kept = state.journal && state.done > 0 ? state.journal.path : undefined;
    await state.journal?.flush().catch(() => undefined);
    if (signal?.aborted) {
      stderr.write(
        `embed: interrupted after ${state.done} of ${state.total} images${kept ? `; they are kept in ${kept}: run the same command with --resume to continue` : ''}\n`,
      );
      return 130;
    }
    const usage = e instanceof UsageError || String((e as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS');
    if (usage || e instanceof EmbedderError) {
      stderr.write(`embed: ${(e as Error).message}\n${usage ? 'run with --help for usage\n' : ''}`);
    } else {
      stderr.write(`embed: ${(e as Error)?.stack ?? String(e)}\n`);
    }
    if (kept) stderr.write(`embed: the ${state.done} images done are kept in ${kept}: run again with --resume\n`);
    return 1;
  } finally {
    await state.journal?.close();
    await state.pool?.close();
  }
}

if (isMain(import.meta.url)) {
  // Ctrl-C (or a kill's SIGTERM) stops the run cleanly once; a second Ctrl-C ends the process at once.
  const controller = new AbortController();
  const stop = (signal: string) => () => controller.abort(new Error(`stopped by ${signal}`));
  process.once('SIGINT', stop('SIGINT'));
  process.once('SIGTERM', stop('SIGTERM'));
  process.exitCode = await main(process.argv.slice(2), process, { signal: controller.signal });
}
