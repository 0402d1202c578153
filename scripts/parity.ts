/**
 * npm run parity -- [--json FILE] [--scales 0.5,1,2.5] [--backends cpu,webgpu,wasm,webgl] [--images N]
 * npm run parity -- --onnx <file> [--input-size HxW] [--json FILE] [--backends ...] [--images N]
 *
 * With --onnx: the user's own file in ONNX Runtime against its import (scripts/lib/onnx-file-parity.ts): the
 * embedding of a PP-ShiTu neck; for a classifier its probabilities or logits and the pooled feature.
 *
 * Builds a random-weight PP-LCNet + neck as a paddle2onnx-style ONNX file, runs it in ONNX Runtime (the
 * independent reference), imports the same file with this project's converter (fp32 and fp16), embeds the
 * same pixels on every backend (Node cpu; webgpu, wasm, webgl in Chromium's worker) and reports, on the
 * L2-normalised embeddings, the largest absolute difference and the lowest cosine.
 * Bar: fp32 maxAbsDiff <= 1e-4; fp16 minCosine >= 0.9999. Exits 1 if any row misses it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/core/embedder-api.ts';
import type { WeightDtype } from '../src/core/manifest.ts';
import { writePPLCNetOnnx } from '../src/model/export/onnx-export.ts';
import { randomStateDict } from '../test/support/random-weights.ts';
import { EmbedderEngine } from '../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../src/worker/node-environment.ts';
import { convert } from './convert.ts';
import { openBrowserSession, type BrowserSession } from './lib/browser-session.ts';
import { runOrt } from './lib/ort-reference.ts';
import { normaliseNchw, syntheticImages, type Pixels } from './lib/synthetic-pixels.ts';
import { headScores, normalised, onnxInputSize, runOrtOnFile } from './lib/onnx-file-parity.ts';
import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { isMain } from './lib/run-main.ts';

export interface ParityRow {
  scale: number;
  backend: BackendName;
  /** Asked for; `stored` says what the converter kept (fp32 when fp16 would miss cosine 0.9999). */
  dtype: WeightDtype;
  stored?: WeightDtype;
  /** The ONNX file, with --onnx. */
  model?: string;
  /** What is compared: the embedding (neck), or a classifier's feature and its probabilities / logits. */
  output?: 'embedding' | 'feature' | 'probabilities' | 'logits';
  maxAbsDiff: number;
  minCosine: number;
  images: number;
  error?: string;
}

const OUT_DIR = 'test/fixtures/generated/parity';
const BAR = { fp32MaxAbsDiff: 1e-4, fp16MinCosine: 0.9999 };

/** Largest |got - want| (divided by `unit`, e.g. the largest |logit|) and the lowest cosine, row by row. */
function compare(got: ArrayLike<number>[], want: Float64Array[], unit = 1): { maxAbsDiff: number; minCosine: number } {
  let maxAbsDiff = 0;
  let minCosine = 1;
  got.forEach((g, i) => {
    const w = want[i]!;
    let dot = 0;
    let ng = 0;
    let nw = 0;
    for (let k = 0; k < w.length; k++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(g[k]! - w[k]!) / unit);
      dot += g[k]! * w[k]!;
      ng += g[k]! * g[k]!;
      nw += w[k]! * w[k]!;
    }
    minCosine = Math.min(minCosine, dot / Math.sqrt(ng * nw));
  });
  return { maxAbsDiff, minCosine };
}

async function embedInNode(manifestPath: string, images: Pixels[], normalize = true): Promise<Float32Array[]> {
  const engine = new EmbedderEngine(nodeEnvironment());
  await engine.load({ model: pathToFileURL(manifestPath).href, backend: 'cpu', normalize });
  const results = await engine.embed(
    images.map((im) => im as unknown as ImageData),
    { batchSize: images.length },
  );
  await engine.dispose();
  return results.map((r) => {
    if (!r.ok) throw new Error(r.error.message);
    return r.embedding;
  });
}

/** One backend's run may take minutes on a software GPU, but never forever. */
const BROWSER_RUN_LIMIT_MS = 10 * 60 * 1000;

function withLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

async function embedInBrowser(
  session: BrowserSession,
  manifestPath: string,
  backend: BackendName,
  images: Pixels[],
  normalize = true,
): Promise<number[][]> {
  const page = await session.newPage('/test/browser/pages/embedder/index.html');
  try {
    await page.waitForSelector('body[data-ready="true"]');
    return await withLimit(
      page.evaluate(
        async ({ url, backend, images, normalize }) => {
          const h = window.harness;
          const id = await h.create({ model: url, backend, batchSize: images.length, normalize });
          const results = await h.embed(
            id,
            images.map((im) => h.imageData(im.bytes, im.width, im.height)),
          );
          await h.dispose(id);
          return results.map((r) => {
            if (!r.ok) throw new Error(r.error.message);
            return r.embedding;
          });
        },
        {
          url: `/${manifestPath}`,
          backend,
          normalize,
          images: images.map((im) => ({ bytes: Array.from(im.data), width: im.width, height: im.height })),
        },
      ),
      BROWSER_RUN_LIMIT_MS,
      `${backend} in Chromium`,
    );
  } finally {
    await page.close();
  }
}

export async function runParity(options: {
  scales: number[];
  backends: BackendName[];
  images: number;
  log?: (line: string) => void;
}): Promise<ParityRow[]> {
  const log = options.log ?? console.log;
  const images = syntheticImages(options.images);
  const input = normaliseNchw(images);
  const rows: ParityRow[] = [];
  const browserBackends = options.backends.filter((b) => b !== 'cpu');
  const session = browserBackends.length > 0 ? await openBrowserSession() : undefined;
  try {
    for (const scale of options.scales) {
      const stateDict = randomStateDict(scale, 512, 'separate', Math.round(scale * 100));
      const onnx = writePPLCNetOnnx({ scale, embeddingDim: 512, batchNorm: 'separate', stateDict });
      const dir = join(OUT_DIR, `x${scale}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'model.onnx'), onnx);
      const reference = await runOrt(onnx, input, images.length);
      for (const dtype of ['fp32', 'fp16'] as const) {
        const { manifestPath } = await convert([join(dir, 'model.onnx')], join(dir, dtype), {
          id: `parity-x${scale}-${dtype}`,
          dtype,
          license: 'CC0-1.0',
        });
        for (const backend of options.backends) {
          const row: ParityRow = {
            scale,
            backend,
            dtype,
            maxAbsDiff: Number.NaN,
            minCosine: Number.NaN,
            images: images.length,
          };
          try {
            const got =
              backend === 'cpu'
                ? await embedInNode(manifestPath, images)
                : await embedInBrowser(session!, relative('.', manifestPath), backend, images);
            Object.assign(row, compare(got, reference));
          } catch (e) {
            row.error = (e as Error).message.split('\n')[0]!;
          }
          rows.push(row);
          log(formatRow(row));
        }
      }
    }
  } finally {
    await session?.close();
  }
  return rows;
}

/** The user's ONNX file against its import, on every backend, fp32 and fp16 (as the converter stores it). */
export async function runFileParity(options: {
  file: string;
  inputSize?: [number, number];
  backends: BackendName[];
  images: number;
  log?: (line: string) => void;
}): Promise<ParityRow[]> {
  const log = options.log ?? console.log;
  const bytes = new Uint8Array(await readFile(options.file));
  const [h, w] = options.inputSize ?? onnxInputSize(bytes) ?? [224, 224];
  const images = syntheticImages(options.images, w, h);
  const input = normaliseNchw(images);
  const rows: ParityRow[] = [];
  const browserBackends = options.backends.filter((b) => b !== 'cpu');
  const session = browserBackends.length > 0 ? await openBrowserSession() : undefined;
  const name = basename(options.file)
    .replace(/\.onnx$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-');
  log(`${options.file}: input ${w} x ${h} (w x h), ${images.length} images`);
  try {
    let reference: Awaited<ReturnType<typeof runOrtOnFile>> | undefined;
    for (const dtype of ['fp32', 'fp16'] as const) {
      const dir = join(OUT_DIR, `file-${name}`, dtype);
      const converted = await convert([options.file], dir, {
        id: `parity-${name}-${dtype}`,
        dtype,
        license: 'as the file',
      });
      const { imported, encoded, manifestPath } = converted;
      const classifier = imported.classifier !== undefined;
      reference ??= await runOrtOnFile(options.file, input, images.length, [h, w], classifier);
      const ref = reference;
      if (dtype === 'fp32')
        log(
          `  ${classifier ? `classifier, ${imported.classifier!.classes} classes${ref.softmax ? ' + softmax' : ''}` : `embedder, ${imported.embeddingDim}-d`}, PP-LCNet x${imported.scale}`,
        );
      for (const backend of options.backends) {
        const base = {
          scale: imported.scale,
          backend,
          dtype,
          stored: encoded.manifest.dtype,
          model: options.file,
          images: images.length,
        };
        const outputs = classifier
          ? (['feature', ref.softmax ? 'probabilities' : 'logits'] as const)
          : (['embedding'] as const);
        let raw: ArrayLike<number>[] | undefined;
        let error: string | undefined;
        try {
          raw =
            backend === 'cpu'
              ? await embedInNode(manifestPath, images, false)
              : await embedInBrowser(session!, relative('.', manifestPath), backend, images, false);
        } catch (e) {
          error = (e as Error).message.split('\n')[0]!;
        }
        for (const output of outputs) {
          const row: ParityRow = { ...base, output, maxAbsDiff: Number.NaN, minCosine: Number.NaN };
          if (error || !raw) row.error = error ?? 'no result';
          else if (output === 'embedding') Object.assign(row, compare(normalised(raw), normalised(ref.output)));
          else if (output === 'feature') Object.assign(row, compare(normalised(raw), normalised(ref.feature!)));
          else {
            const scores = await headScores(
              encoded.manifest,
              encoded.shards.map((s) => s.bytes),
              raw,
              ref.softmax,
            );
            // Logits have no fixed scale: their differences are taken relative to the largest |logit|.
            const unit = output === 'logits' ? Math.max(...ref.output.flatMap((r) => Array.from(r, Math.abs))) : 1;
            Object.assign(row, compare(scores, ref.output, unit));
          }
          rows.push(row);
          log(formatRow(row));
        }
      }
    }
  } finally {
    await session?.close();
  }
  return rows;
}

export function meetsBar(row: ParityRow): boolean {
  if (row.error) return false;
  return (row.stored ?? row.dtype) === 'fp32'
    ? row.maxAbsDiff <= BAR.fp32MaxAbsDiff
    : row.minCosine >= BAR.fp16MinCosine;
}

function formatRow(r: ParityRow): string {
  const where = r.backend === 'cpu' ? 'node' : 'chromium';
  const figures = r.error
    ? `error: ${r.error}`
    : `maxAbsDiff ${r.maxAbsDiff.toExponential(2)}  minCosine ${r.minCosine.toFixed(7)}`;
  const dtype = r.stored && r.stored !== r.dtype ? `${r.dtype} (kept ${r.stored})` : r.dtype;
  const output = r.output ? ` ${r.output.padEnd(13)}` : '';
  return `x${String(r.scale).padEnd(4)} ${r.backend.padEnd(6)} (${where.padEnd(8)}) ${dtype}${output}  ${figures}  ${meetsBar(r) ? 'ok' : 'MISSES THE BAR'}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      scales: { type: 'string', default: '0.5,1,2.5' },
      backends: { type: 'string', default: 'cpu,webgpu,wasm,webgl' },
      images: { type: 'string', default: '3' },
      onnx: { type: 'string' },
      'input-size': { type: 'string' },
    },
  });
  const backends = values.backends!.split(',') as BackendName[];
  let inputSize: [number, number] | undefined;
  if (values['input-size']) {
    const m = /^(\d+)x(\d+)$/i.exec(values['input-size']);
    if (!m) throw new Error(`--input-size must be HxW, e.g. 80x160; got "${values['input-size']}"`);
    inputSize = [Number(m[1]), Number(m[2])];
  }
  const rows = values.onnx
    ? await runFileParity({
        file: values.onnx,
        ...(inputSize ? { inputSize } : {}),
        backends,
        images: Number(values.images),
      })
    : await runParity({ scales: values.scales!.split(',').map(Number), backends, images: Number(values.images) });
  if (values.json) await writeFile(values.json, `${JSON.stringify({ results: rows }, null, 2)}\n`);
  const failed = rows.filter((r) => !meetsBar(r));
  console.log(
    `${rows.length - failed.length} of ${rows.length} rows meet the bar (fp32 maxAbsDiff <= ${BAR.fp32MaxAbsDiff}, fp16 minCosine >= ${BAR.fp16MinCosine})`,
  );
  process.exit(failed.length === 0 ? 0 : 1);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
