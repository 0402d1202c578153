/**
 * Embeds every image of a split in Node with the product's engine (src/worker/embedder-engine.ts on tfjs's
 * WASM backend, JPEG / PNG decoded as npm run embed does), for the recognition scripts. Embeddings are kept in
 * .cache/embeddings/, keyed by what decides them (the shards' SHA-256, the preprocessing, the split's text),
 * so calibrating and measuring again costs seconds, and a changed model or split is embedded afresh.
 */
import { createHash } from 'node:crypto';
import { existsSync, openAsBlob, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EmbedderInfo } from '../../src/core/embedder-api.ts';
import { validateManifest, type WeightManifest } from '../../src/core/manifest.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { decodeImageBlob } from './node-image-decode.ts';
import { readSplit } from './split.ts';

export const DEFAULT_EMBEDDING_CACHE = '.cache/embeddings';

export interface SplitEmbeddings {
  readonly modelId: string;
  readonly paths: readonly string[];
  readonly labels: readonly string[];
  /** L2-normalised, one per path. */
  readonly vectors: readonly Float32Array[];
  /** Images that failed to decode (left out of the three lists above). */
  readonly failed: readonly string[];
}

export interface EmbedSplitOptions {
  /** A model folder or its manifest.json. */
  readonly model: string;
  readonly data: string;
  readonly split: string;
  readonly batch?: number;
  /** Where embeddings are kept; null: never read or written. */
  readonly cacheDir?: string | null;
  readonly log?: (line: string) => void;
}

/** A model folder or manifest.json -> the manifest's path. */
export function manifestPath(model: string): string {
  const path = existsSync(model) && statSync(model).isDirectory() ? join(model, 'manifest.json') : model;
  if (!existsSync(path)) throw new Error(`no weight manifest at ${path} (give a model folder, e.g. models/default)`);
  return resolve(path);
}

export async function readManifest(path: string): Promise<WeightManifest> {
  return validateManifest(JSON.parse(await readFile(path, 'utf8')), path);
}

/** What the embeddings depend on; the recognition field (written by calibration) is not part of it. */
function cacheKey(manifest: WeightManifest, splitText: string): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      shards: manifest.shards.map((s) => s.sha256),
      preprocessing: manifest.preprocessing,
      dtype: manifest.dtype,
    }),
  );
  h.update(splitText);
  return h.digest('hex').slice(0, 20);
}

interface CacheFile {
  modelId: string;
  paths: string[];
  labels: string[];
  failed: string[];
  dim: number;
  /** Base64 of the vectors' float32 bytes, row after row. */
  vectors: string;
}

export async function embedSplit(options: EmbedSplitOptions): Promise<SplitEmbeddings> {
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const path = manifestPath(options.model);
  const manifest = await readManifest(path);
  const splitText = await readFile(options.split, 'utf8');
  const cacheDir = options.cacheDir === undefined ? DEFAULT_EMBEDDING_CACHE : options.cacheDir;
  const cacheFile = cacheDir
    ? join(cacheDir, `${manifest.modelId}-${basename(options.split, '.txt')}-${cacheKey(manifest, splitText)}.json`)
    : undefined;
  if (cacheFile && existsSync(cacheFile)) {
    const c = JSON.parse(await readFile(cacheFile, 'utf8')) as CacheFile;
    const flat = new Float32Array(new Uint8Array(Buffer.from(c.vectors, 'base64')).buffer);
    log(`${manifest.modelId}: ${c.paths.length} embeddings of ${options.split} from ${cacheFile}`);
    return {
      modelId: c.modelId,
      paths: c.paths,
      labels: c.labels,
      failed: c.failed,
      vectors: c.paths.map((_, i) => flat.slice(i * c.dim, (i + 1) * c.dim)),
    };
  }

  const entries = await readSplit(options.split);
  const engine = new EmbedderEngine(nodeEnvironment(path, { wasm: true, decodeBlob: decodeImageBlob }));
  let info: EmbedderInfo;
  const paths: string[] = [];
  const labels: string[] = [];
  const vectors: Float32Array[] = [];
  const failed: string[] = [];
  try {
    info = await engine.load({ model: pathToFileURL(path).href, backend: 'auto', batchSize: options.batch ?? 16 });
    log(`${info.modelId} on ${info.backend}: embedding ${entries.length} images of ${options.split}`);
    const started = performance.now();
    const chunk = 64;
    for (let first = 0; first < entries.length; first += chunk) {
      const part = entries.slice(first, first + chunk);
      const images = await Promise.all(
        part.map(async (e) => ({ name: e.path, image: await openAsBlob(join(options.data, e.path)) })),
      );
      const results = await engine.embed(images);
      results.forEach((r, k) => {
        if (!r.ok) return void failed.push(`${part[k]!.path}: ${r.error.message}`);
        paths.push(part[k]!.path);
        labels.push(part[k]!.label);
        vectors.push(r.embedding);
      });
      const done = Math.min(first + chunk, entries.length);
      if (done % 512 < chunk || done === entries.length) {
        log(`  ${done} / ${entries.length} (${(done / ((performance.now() - started) / 1000)).toFixed(1)} images/s)`);
      }
    }
  } finally {
    await engine.dispose();
  }
  for (const f of failed) log(`  failed: ${f}`);
  if (cacheFile) {
    const dim = vectors[0]?.length ?? 0;
    const flat = new Float32Array(vectors.length * dim);
    vectors.forEach((v, i) => flat.set(v, i * dim));
    const body: CacheFile = {
      modelId: info.modelId,
      paths,
      labels,
      failed,
      dim,
      vectors: Buffer.from(flat.buffer).toString('base64'),
    };
    await mkdir(cacheDir!, { recursive: true });
    // Written aside then renamed: an interrupted run never leaves a half file that a later run would trust.
    await writeFile(`${cacheFile}.tmp`, JSON.stringify(body));
    await rename(`${cacheFile}.tmp`, cacheFile);
  }
  return { modelId: info.modelId, paths, labels, vectors, failed };
}
