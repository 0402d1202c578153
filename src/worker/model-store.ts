/**
 * Models the user imported, kept in Cache Storage under virtual URLs of this origin
 * (`<origin>/__shitu-models/<id>/manifest.json` and its shards). The engine loads them through `cachedFetch`,
 * exactly as it loads a served model, so an imported model is "a manifest URL" everywhere else.
 * Cache Storage works in windows and workers alike; nothing here touches the DOM.
 */
import type { StoredModelInfo } from '../core/embedder-api.ts';
import type { WeightManifest } from '../core/manifest.ts';
import { validateManifest } from '../core/manifest.ts';
import type { EncodedModel } from '../model/weights/manifest-codec.ts';

export const MODEL_CACHE = 'shitu-web-models-v1';
const PREFIX = '/__shitu-models/';

export type StoredModel = StoredModelInfo;

export function storedModelUrl(id: string, origin = self.location.origin): string {
  return `${origin}${PREFIX}${encodeURIComponent(id)}/manifest.json`;
}

export function isStoredModelUrl(url: string): boolean {
  return new URL(url, self.location.href).pathname.startsWith(PREFIX);
}

/** Serves stored models from the cache; anything else goes to the network as usual. */
export async function cachedFetch(url: string): Promise<Response> {
  if (typeof caches !== 'undefined' && isStoredModelUrl(url)) {
    const hit = await (await caches.open(MODEL_CACHE)).match(url);
    // Never ask the server for a virtual URL: say what happened instead.
    return hit ?? new Response('this imported model is no longer in the browser cache: import it again', { status: 404, statusText: 'Not in cache' });
  }
  return fetch(url);
}

export async function storeModel(encoded: EncodedModel): Promise<StoredModel> {
  const cache = await caches.open(MODEL_CACHE);
  const url = storedModelUrl(encoded.manifest.modelId);
  // Shards first, manifest last: a manifest in the cache means its shards are there too.
  for (const shard of encoded.shards) {
    await cache.put(new URL(shard.file, url).href, new Response(shard.bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }));
  }
  await cache.put(url, new Response(JSON.stringify(encoded.manifest), { headers: { 'content-type': 'application/json' } }));
  return describe(encoded.manifest, url);
}

function describe(m: WeightManifest, url: string): StoredModel {
  return { id: m.modelId, url, scale: m.architecture.scale, embeddingDim: m.embeddingDim, ...(m.head ? { classes: m.head.labels.length } : {}), provenance: m.provenance };
}

export async function listStoredModels(): Promise<StoredModel[]> {
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(MODEL_CACHE);
  const out: StoredModel[] = [];
  for (const request of await cache.keys()) {
    if (!request.url.endsWith('/manifest.json')) continue;
    try {
      const manifest = validateManifest(await (await cache.match(request))!.json(), request.url);
      out.push(describe(manifest, request.url));
    } catch {
      // A damaged entry is skipped here and reported when someone tries to load it.
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

export async function deleteStoredModel(id: string): Promise<void> {
  const cache = await caches.open(MODEL_CACHE);
  const base = storedModelUrl(id).replace(/manifest\.json$/, '');
  for (const request of await cache.keys()) if (request.url.startsWith(base)) await cache.delete(request);
}

/** A stored model's files (manifest.json and its shards), e.g. to download them. */
export async function readStoredModelFiles(url: string): Promise<[string, Blob][]> {
  const manifest = validateManifest(await (await cachedFetch(url)).json(), url);
  const files: [string, Blob][] = [['manifest.json', new Blob([JSON.stringify(manifest, null, 2)], { type: 'application/json' })]];
  for (const shard of manifest.shards) {
    const r = await cachedFetch(new URL(shard.file, url).href);
    if (!r.ok) throw new Error(`${shard.file} is missing from the browser cache`);
    files.push([shard.file, new Blob([await r.arrayBuffer()], { type: 'application/octet-stream' })]);
  }
  return files;
}
