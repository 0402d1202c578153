/**
 * Downloads a weight manifest and its shards, with progress, checking each shard's declared size against the
 * response before reading its body, then its checksum, names and shapes (manifest-codec.ts).
 */
import { WeightsError } from '../../core/errors.ts';
import { validateManifest, type WeightManifest } from '../../core/manifest.ts';
import type { StateDict } from '../../core/state-dict.ts';
import { checkShardHash, checkShardLength, decodeManifest, shardHashMatches } from './manifest-codec.ts';
import { concatBytes } from '../convert/wire/bytes.ts';

export type FetchLike = (url: string) => Promise<Response>;

/** Shards by SHA-256, kept between visits (src/worker/shard-cache.ts); every method may fail softly. */
export interface ShardCache {
  get(sha256: string): Promise<Uint8Array | undefined>;
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  delete(sha256: string): Promise<void>;
}

export interface LoadedWeights {
  readonly manifest: WeightManifest;
  readonly stateDict: StateDict;
}

async function fetchOk(fetchFn: FetchLike, url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch (e) {
    throw new WeightsError(`could not fetch ${what} ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new WeightsError(`could not fetch ${what} ${url}: HTTP ${response.status}`);
  return response;
}

async function readBody(response: Response, onBytes: (n: number) => void): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.byteLength);
  }
  return concatBytes(chunks);
}

/** A cached shard, if it is there and still has the declared hash; a damaged entry is dropped. */
async function cachedShard(
  cache: ShardCache | undefined,
  manifest: WeightManifest,
  index: number,
): Promise<Uint8Array | undefined> {
  const sha256 = manifest.shards[index]!.sha256;
  const bytes = await cache?.get(sha256).catch(() => undefined);
  if (!bytes) return undefined;
  if (await shardHashMatches(manifest, index, bytes)) return bytes;
  await cache!.delete(sha256).catch(() => undefined);
  return undefined;
}

export async function loadWeights(
  manifestUrl: string,
  fetchFn: FetchLike,
  onProgress?: (loadedBytes: number, totalBytes: number) => void,
  cache?: ShardCache,
  files?: Readonly<Record<string, string>>,
): Promise<LoadedWeights> {
  const response = await fetchOk(fetchFn, manifestUrl, 'weight manifest');
  // Dev servers and single-page hosts answer a missing file with their index page, status 200.
  if (response.headers.get('content-type')?.includes('text/html')) {
    throw new WeightsError(
      `no weight manifest at ${manifestUrl}: the server sent an HTML page instead (wrong path, or no model installed there)`,
    );
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch (e) {
    throw new WeightsError(`weight manifest ${manifestUrl} is not valid JSON: ${(e as Error).message}`);
  }
  const manifest = validateManifest(json, manifestUrl);
  const total = manifest.shards.reduce((n, s) => n + s.byteLength, 0);
  let loaded = 0;
  onProgress?.(0, total);
  const shards: Uint8Array[] = [];
  for (const [i, shard] of manifest.shards.entries()) {
    // Every shard's checksum is checked once, here, whether it comes from the cache or the network.
    const kept = await cachedShard(cache, manifest, i);
    if (kept) {
      loaded += kept.byteLength;
      onProgress?.(loaded, total);
      shards.push(kept);
      continue;
    }
    const url = new URL(files?.[shard.file] ?? shard.file, new URL(manifestUrl, globalThis.location?.href)).href;
    const r = await fetchOk(fetchFn, url, 'weight shard');
    const declared = r.headers.get('content-length');
    // Refuse a wrong-sized file before reading its body (compressed transfers carry no usable length).
    if (declared !== null && !r.headers.get('content-encoding')) checkShardLength(manifest, i, Number(declared));
    const bytes = await readBody(r, (n) => {
      loaded += n;
      onProgress?.(loaded, total);
    });
    checkShardLength(manifest, i, bytes.byteLength);
    await checkShardHash(manifest, i, bytes);
    await cache?.put(shard.sha256, bytes).catch(() => undefined);
    shards.push(bytes);
  }
  return { manifest, stateDict: await decodeManifest(manifest, shards, { checksumsVerified: true }) };
}
