/**
 * Weight shards kept in Cache Storage, keyed by their SHA-256 (the manifest declares it), so a second visit
 * loads a model without downloading its weights again. The manifest itself is always fetched: it is small,
 * and a new model version names new hashes, which miss the cache and are downloaded. Content-addressed
 * entries cannot be stale; a damaged one fails its checksum and is replaced from the network.
 */
import type { ShardCache } from '../model/weights/load-weights.ts';

export const SHARD_CACHE = 'shitu-web-shards-v1';

function keyOf(sha256: string): string {
  return new URL(`/__shitu-shards/${sha256}`, self.location.origin).href;
}

async function open(): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined;
  try {
    return await caches.open(SHARD_CACHE);
  } catch {
    // Opaque origins and some private modes refuse Cache Storage: load from the network as before.
    return undefined;
  }
}

export const CACHE_STORAGE_SHARDS: ShardCache = {
  async get(sha256) {
    const hit = await (await open())?.match(keyOf(sha256));
    return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
  },
  async put(sha256, bytes) {
    try {
      await (await open())?.put(keyOf(sha256), new Response(bytes as Uint8Array<ArrayBuffer>));
    } catch {
      // Quota exceeded or storage refused: the model still loads, it is only not kept.
    }
  },
  async delete(sha256) {
    await (await open())?.delete(keyOf(sha256));
  },
};
