/**
 * A model's files as bytes, read once by `npm run embed`'s parent thread (no tfjs here: the parent of a pool
 * never loads the engine itself), and the SHA-256 that names them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

/**
 * A model's manifest and shards as bytes, read once by the parent and copied to each worker: every lane then
 * loads the very files the parent hashed, even if the folder changes during the run.
 */
export interface ModelBytes {
  readonly manifestUrl: string;
  /** file: URL -> bytes: the manifest and each shard it names that could be read. */
  readonly files: Readonly<Record<string, Uint8Array<ArrayBuffer>>>;
  /** SHA-256 of the manifest, which holds each shard's SHA-256: it names the weights (the --resume journal's key). */
  readonly sha256: string;
  /** What sizes a worker's memory (scripts/lib/embed-pool.ts), as far as the manifest says. */
  readonly size: { readonly weightBytes: number; readonly scale: number; readonly inputSize: number };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reads a manifest and the shards it names. Lenient on purpose: a manifest that is not JSON or a shard that is
 * missing is left for the engine's loader, whose errors say what is wrong with the model.
 */
export async function readModelBytes(manifestPath: string): Promise<ModelBytes> {
  const manifestUrl = pathToFileURL(manifestPath).href;
  const manifest = new Uint8Array(await readFile(manifestPath));
  const files: Record<string, Uint8Array<ArrayBuffer>> = { [manifestUrl]: manifest };
  let json: { shards?: unknown; architecture?: { scale?: unknown }; preprocessing?: { size?: unknown } } = {};
  try {
    json = JSON.parse(new TextDecoder().decode(manifest)) as typeof json;
  } catch {
    // not JSON: the engine says so
  }
  const shards = json?.shards;
  const number = (x: unknown, fallback: number) => (typeof x === 'number' && x > 0 ? x : fallback);
  for (const shard of Array.isArray(shards) ? shards : []) {
    const file = (shard as { file?: unknown } | null)?.file;
    if (typeof file !== 'string') continue;
    const url = new URL(file, manifestUrl);
    const bytes = await readFile(url).catch(() => undefined);
    if (bytes) files[url.href] = new Uint8Array(bytes);
  }
  const weightBytes = Object.values(files).reduce((n, b) => n + b.byteLength, 0) - manifest.byteLength;
  const size = {
    weightBytes,
    scale: number(json?.architecture?.scale, 1),
    inputSize: number(json?.preprocessing?.size, 224),
  };
  return { manifestUrl, files, sha256: sha256Hex(manifest), size };
}
