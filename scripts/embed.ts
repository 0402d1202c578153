/**
 * npm run embed -- [--model <folder | manifest.json>] [--backend auto|wasm|cpu] [--json FILE] [--batch N] <images or folders...>
 *
 * Embeds image files from the command line with the engine the browser worker runs (src/worker/embedder-engine.ts),
 * on tfjs's WASM backend in Node (or its cpu backend). JPEG and PNG are decoded in JavaScript
 * (scripts/lib/node-image-decode.ts), one batch at a time; a bad file fails alone, with the page's error codes.
 * `--synthetic N` embeds N generated 224 x 224 images instead, to measure a backend's throughput.
 */
import { existsSync, openAsBlob } from 'node:fs';
import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type {
  BackendChoice,
  EmbedderInfo,
  EmbeddingFailure,
  EmbeddingResult,
  NamedImage,
} from '../src/core/embedder-api.ts';
import { EmbedderError, ImageDecodeError } from '../src/core/errors.ts';
import { EmbedderEngine } from '../src/worker/embedder-engine.ts';
import { nodeEnvironment, nodeWasmFeatures } from '../src/worker/node-environment.ts';
import { decodeImageBlob, IMAGE_EXTENSIONS } from './lib/node-image-decode.ts';
import { syntheticImages } from './lib/synthetic-pixels.ts';
import { isMain } from './lib/run-main.ts';

const DEFAULT_MODEL = fileURLToPath(new URL('../models/default/manifest.json', import.meta.url));
const NODE_BACKENDS: readonly BackendChoice[] = ['auto', 'wasm', 'cpu'];

export const USAGE = `usage: npm run embed -- [options] <images or folders...>
  --model <folder | manifest.json>  a converted model (npm run convert); default: models/default
  --backend auto|wasm|cpu           default auto: wasm (WebAssembly, SIMD), else cpu (pure JavaScript, far slower)
  --json FILE                       also write {"model", "backend", "results": [{name, ok, embedding | error, prediction?}]}
  --batch N                         images per forward pass (default 8)
  --synthetic N                     embed N generated 224 x 224 images instead of files (throughput check)
  -h, --help                        this text

Folders are read recursively; files there without an image extension are skipped (with a note), hidden
entries (.name) are ignored. JPEG and PNG are decoded; other formats fail alone with code image-format.
Exit code: 0 when the run completed, even if some images failed; 1 on a usage or model error.`;

/** Where the command writes: process.stdout / stderr, or a test's collector. */
export interface CliOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

class UsageError extends Error {}

/** Model folder or manifest -> the manifest's path; a raw Paddle / ONNX model gets the convert command. */
async function resolveManifest(model: string): Promise<string> {
  const info = await stat(model).catch(() => undefined);
  if (!info) throw new UsageError(`--model ${model}: no such file or folder`);
  const RAW = /\.(onnx|pdmodel|pdiparams)$|^inference\.json$/;
  const convertAdvice = (folder: string, found: string[]) => {
    const leaf = basename(resolve(folder));
    const id = /^(paddle|onnx|inference|model)$/i.test(leaf) ? basename(dirname(resolve(folder))) : leaf;
    return new UsageError(
      `${model} holds a Paddle / ONNX model (${found.join(', ')}), not a converted one (no manifest.json). Convert it first:\n` +
        `  npm run convert -- ${folder} --out models/${id}\nthen: npm run embed -- --model models/${id} <images...>`,
    );
  };
  if (info.isFile()) {
    if (RAW.test(basename(model))) throw convertAdvice(dirname(model), [basename(model)]);
    return model;
  }
  const manifest = join(model, 'manifest.json');
  if (existsSync(manifest)) return manifest;
  const raw = (await readdir(model)).filter((f) => RAW.test(f)).sort();
  if (raw.length > 0) throw convertAdvice(model, raw);
  throw new UsageError(`--model ${model}: the folder has no manifest.json (a model converted by npm run convert)`);
}

/** The image files named or found under the folders named (sorted, each once), and the files skipped. */
async function collectImages(inputs: readonly string[]): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    const key = resolve(path);
    if (!seen.has(key)) {
      files.push(path);
      seen.add(key);
    }
  };
  const walk = async (folder: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(folder, e.name);
      if (e.isDirectory()) await walk(path);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) add(path);
      else skipped.push(path);
    }
  };
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw new UsageError(`${input}: no such file or folder`);
    if (info.isDirectory()) await walk(input);
    else add(input); // named explicitly: tried whatever its extension, so a wrong one gets a clear error
  }
  return { files, skipped };
}

function describeBackend(
  info: EmbedderInfo,
  choice: BackendChoice,
  wasm: Awaited<ReturnType<typeof nodeWasmFeatures>>,
): string {
  const features = wasm
    ? ` (SIMD ${wasm.simd ? 'on' : 'off'}, ${wasm.threads} thread${wasm.threads === 1 ? ': tfjs keeps WASM single-threaded in Node' : 's'})`
    : '';
  if (choice !== 'auto') return `${info.backend}${features}: requested with --backend ${choice}`;
  if (info.backend === 'wasm') return `wasm${features}: auto tries wasm first in Node, then cpu`;
  return `${info.backend}: auto fell back to it, wasm ${info.backendReasons.wasm}`;
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** One result as a line of text: name, ok, size, norm, top label; or the error's code and reason. */
function resultLine(r: EmbeddingResult, width: number): string {
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

function resultJson(r: EmbeddingResult): object {
  if (!r.ok) return { name: r.name, ok: false, error: { code: r.error.code, message: r.error.message } };
  return {
    name: r.name,
    ok: true,
    embedding: Array.from(r.embedding),
    ...(r.prediction ? { prediction: r.prediction } : {}),
  };
}

/** "embedded 40 / 120 (3 failed)" on stderr: rewritten in place on a terminal, else a line at most every second. */
function progressReporter(stderr: CliOutput, total: number) {
  let shown = false;
  let lastLine = 0;
  return {
    update(done: number, failed: number) {
      const text = `embedded ${done} / ${total}${failed ? ` (${failed} failed)` : ''}`;
      if (stderr.isTTY) {
        stderr.write(`\r\x1b[2K${text}`);
        shown = true;
      } else if (done === total || performance.now() - lastLine > 1000) {
        stderr.write(`${text}\n`);
        lastLine = performance.now();
      }
    },
    /** Clears the in-place line before other output, so the two never mix on one terminal line. */
    clear() {
      if (shown) stderr.write('\r\x1b[2K');
      shown = false;
    },
    end() {
      if (shown) stderr.write('\n');
      shown = false;
    },
  };
}

/**
 * Embeds files: each is opened as a Blob (openAsBlob reads nothing yet), so the engine reads and decodes them
 * batch by batch; one that cannot even be opened fails alone, as a decode error.
 */
async function embedFiles(engine: EmbedderEngine, paths: readonly string[]): Promise<EmbeddingResult[]> {
  const opened = await Promise.all(
    paths.map(async (name): Promise<NamedImage | EmbeddingFailure> => {
      try {
        return { name, image: await openAsBlob(name) };
      } catch (e) {
        const error = new ImageDecodeError(name, `the file could not be opened (${(e as Error).message})`);
        return { ok: false, id: name, name, error: { code: error.code, message: error.message } };
      }
    }),
  );
  const isFailure = (x: NamedImage | EmbeddingFailure): x is EmbeddingFailure => 'ok' in x;
  const embedded = await engine.embed(opened.filter((x): x is NamedImage => !isFailure(x)));
  let next = 0;
  return opened.map((x) => (isFailure(x) ? x : embedded[next++]!));
}

export interface EmbedCliOptions {
  readonly model: string;
  readonly backend: BackendChoice;
  readonly json?: string;
  readonly batchSize: number;
  /** Embed this many generated images instead of files. */
  readonly synthetic?: number;
  readonly inputs: readonly string[];
}

export const DEFAULT_EMBED_CLI_OPTIONS = Object.freeze({
  model: DEFAULT_MODEL,
  backend: 'auto',
  batchSize: 8,
} as const);

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
  const batchSize = values.batch === undefined ? DEFAULT_EMBED_CLI_OPTIONS.batchSize : Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 256)
    throw new UsageError(`--batch must be an integer from 1 to 256; got "${values.batch}"`);
  const synthetic = values.synthetic === undefined ? undefined : Number(values.synthetic);
  if (synthetic !== undefined && (!Number.isInteger(synthetic) || synthetic < 1))
    throw new UsageError(`--synthetic must be a positive integer; got "${values.synthetic}"`);
  if (synthetic !== undefined && positionals.length > 0) throw new UsageError('--synthetic takes no image files');
  if (synthetic === undefined && positionals.length === 0)
    throw new UsageError('no images given: name image files or folders');
  return {
    model: values.model ?? DEFAULT_EMBED_CLI_OPTIONS.model,
    backend,
    batchSize,
    inputs: positionals,
    ...(values.json !== undefined ? { json: values.json } : {}),
    ...(synthetic !== undefined ? { synthetic } : {}),
  };
}

/** Runs the command; resolves to its exit code. */
export async function main(
  argv: readonly string[],
  io: { stdout: CliOutput; stderr: CliOutput } = process,
): Promise<number> {
  const { stdout, stderr } = io;
  let engine: EmbedderEngine | undefined;
  let json: FileHandle | undefined;
  let jsonPath: string | undefined;
  try {
    const options = parseCliOptions(argv);
    if (options === 'help') {
      stdout.write(`${USAGE}\n`);
      return 0;
    }
    const { backend, batchSize, synthetic, inputs } = options;

    const manifest = await resolveManifest(options.model);
    const { files, skipped } = synthetic ? { files: [], skipped: [] } : await collectImages(inputs);
    if (skipped.length > 0) {
      const shown = skipped.slice(0, 5).join(', ') + (skipped.length > 5 ? `, and ${skipped.length - 5} more` : '');
      stderr.write(`note: skipped ${skipped.length} file(s) without an image extension: ${shown}\n`);
    }
    const total = synthetic ?? files.length;
    if (total === 0) throw new UsageError(`no image files found in ${inputs.join(', ')}`);
    // Opened before the run so that an unwritable path fails now, not after an hour of embedding.
    jsonPath = options.json;
    if (options.json)
      json = await open(options.json, 'w').catch((e: Error) =>
        Promise.reject(new UsageError(`--json ${options.json}: ${e.message}`)),
      );

    engine = new EmbedderEngine(nodeEnvironment(DEFAULT_MODEL, { wasm: true, decodeBlob: decodeImageBlob }));
    const info = await engine.load({ model: pathToFileURL(resolve(manifest)).href, backend, batchSize });
    const head = info.classes
      ? `, a head of ${info.classes.length} classes (${info.classes.slice(0, 3).join(', ')}${info.classes.length > 3 ? ', ...' : ''})`
      : '';
    stderr.write(
      `model: ${info.modelId} (${manifest}): PP-LCNet x${info.scale}, ${info.embeddingDim}-d embeddings${head}\n`,
    );
    stderr.write(
      `backend: ${describeBackend(info, backend, await nodeWasmFeatures())}; model loaded and warmed up in ${info.loadMs.toFixed(0)} ms\n`,
    );
    await json?.write(
      `{"model":${JSON.stringify(info.modelId)},"backend":${JSON.stringify(info.backend)},"skipped":${JSON.stringify(skipped)},"results":[\n`,
    );

    const names = synthetic
      ? Array.from({ length: synthetic }, (_, i) => `synthetic-${String(i + 1).padStart(3, '0')}`)
      : files;
    const pixels = synthetic ? syntheticImages(synthetic) : [];
    const width = Math.min(
      60,
      names.reduce((w, n) => Math.max(w, n.length), 0),
    );
    const progress = progressReporter(stderr, total);
    const started = performance.now();
    let failed = 0;
    for (let first = 0; first < total; first += batchSize) {
      const chunk = names.slice(first, first + batchSize);
      const results = synthetic
        ? await engine.embed(chunk.map((name, k) => ({ name, image: pixels[first + k] as unknown as ImageData })))
        : await embedFiles(engine, chunk);
      failed += results.filter((r) => !r.ok).length;
      progress.clear();
      stdout.write(results.map((r) => `${resultLine(r, width)}\n`).join(''));
      await json?.write(
        results.map((r, k) => `${first + k > 0 ? ',\n' : ''}${JSON.stringify(resultJson(r))}`).join(''),
      );
      progress.update(Math.min(first + batchSize, total), failed);
    }
    progress.end();
    const seconds = (performance.now() - started) / 1000;
    const embedded = total - failed;
    stderr.write(
      `embedded ${embedded} of ${total} images${failed ? ` (${failed} failed)` : ''} in ${seconds.toFixed(2)} s: ${(embedded / seconds).toFixed(1)} images/s on ${info.backend}\n`,
    );
    if (json) {
      await json.write('\n]}\n');
      await json.close();
      json = undefined;
      stderr.write(`wrote ${options.json}\n`);
    }
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError || String((e as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS');
    if (usage || e instanceof EmbedderError) {
      stderr.write(`embed: ${(e as Error).message}\n${usage ? 'run with --help for usage\n' : ''}`);
    } else {
      stderr.write(`embed: ${(e as Error)?.stack ?? String(e)}\n`);
    }
    return 1;
  } finally {
    // A --json file still open here belongs to a run that did not complete: no half-written results are left.
    if (json) await json.close().then(() => rm(jsonPath!, { force: true }));
    await engine?.dispose();
  }
}

if (isMain(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
