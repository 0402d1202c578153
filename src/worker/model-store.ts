/**
 * Models the user imported, kept in Cache Storage under virtual URLs of this origin
 * (`<origin>/__shitu-models/<id>/manifest.json` and its shards). The engine loads them through `cachedFetch`,
 * exactly as it loads a served model, so an imported model is "a manifest URL" everywhere else.
 * Cache Storage works in windows and workers alike; nothing here touches the DOM.
 */
import type { StoredModelInfo, StoredModelOrigin } from '../core/embedder-api.ts';
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
    return (
      hit ??
      new Response('this imported model is no longer in the browser cache: import it again', {
        status: 404,
        statusText: 'Not in cache',
      })
    );
  }
  return fetch(url);
}

/** Beside each manifest: how the model came to be and when (the manifest itself stays the weights' format). */
const ORIGIN_FILE = 'origin.json';

interface OriginRecord extends StoredModelOrigin {
  readonly createdAt: number;
}

export async function storeModel(encoded: EncodedModel, origin: StoredModelOrigin): Promise<StoredModel> {
  const cache = await caches.open(MODEL_CACHE);
  const url = storedModelUrl(encoded.manifest.modelId);
  // Shards first, manifest last: a manifest in the cache means its shards are there too.
  for (const shard of encoded.shards) {
    await cache.put(
      new URL(shard.file, url).href,
      new Response(shard.bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }),
    );
  }
  const record: OriginRecord = { ...origin, createdAt: Date.now() };
  await cache.put(
    new URL(ORIGIN_FILE, url).href,
    new Response(JSON.stringify(record), { headers: { 'content-type': 'application/json' } }),
  );
  await cache.put(
    url,
    new Response(JSON.stringify(encoded.manifest), { headers: { 'content-type': 'application/json' } }),
  );
  return describe(encoded.manifest, url, record);
}

function describe(m: WeightManifest, url: string, origin: Partial<OriginRecord>): StoredModel {
  return {
    id: m.modelId,
    url,
    scale: m.architecture.scale,
    embeddingDim: m.embeddingDim,
    ...(m.head ? { classes: m.head.labels.length } : {}),
    provenance: m.provenance,
    kind: origin.kind === 'fine-tuned' ? 'fine-tuned' : 'imported',
    ...(typeof origin.createdAt === 'number' ? { createdAt: origin.createdAt } : {}),
    ...(typeof origin.base === 'string' ? { base: origin.base } : {}),
  };
}

async function readOrigin(cache: Cache, manifestUrl: string): Promise<Partial<OriginRecord>> {
  try {
    const hit = await cache.match(new URL(ORIGIN_FILE, manifestUrl).href);
    const value: unknown = hit ? await hit.json() : {};
    return typeof value === 'object' && value !== null ? (value as Partial<OriginRecord>) : {};
  } catch {
    return {}; // models stored before origins were recorded: listed as imported, undated
  }
}

export async function listStoredModels(): Promise<StoredModel[]> {
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(MODEL_CACHE);
  const out: StoredModel[] = [];
  for (const request of await cache.keys()) {
    if (!request.url.endsWith('/manifest.json')) continue;
    try {
      const manifest = validateManifest(await (await cache.match(request))!.json(), request.url);
      out.push(describe(manifest, request.url, await readOrigin(cache, request.url)));
    } catch {
      // A damaged entry is skipped here and reported when someone tries to load it.
    }
  }
  // Newest first: the model just imported or fine-tuned is the one a person looks for.
  return out.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0) || a.id.localeCompare(b.id));
}

export async function deleteStoredModel(id: string): Promise<void> {
  const cache = await caches.open(MODEL_CACHE);
  const base = storedModelUrl(id).replace(/manifest\.json$/, '');
  for (const request of await cache.keys()) if (request.url.startsWith(base)) await cache.delete(request);
}

/** A stored model's files (manifest.json and its shards), e.g. to download them. */
export async function readStoredModelFiles(url: string): Promise<[string, Blob][]> {
  const manifest = validateManifest(await (await cachedFetch(url)).json(), url);
  const files: [string, Blob][] = [
    ['manifest.json', new Blob([JSON.stringify(manifest, null, 2)], { type: 'application/json' })],
  ];
  for (const shard of manifest.shards) {
    const r = await cachedFetch(new URL(shard.file, url).href);
    if (!r.ok) throw new Error(`${shard.file} is missing from the browser cache`);
    files.push([shard.file, new Blob([await r.arrayBuffer()], { type: 'application/octet-stream' })]);
  }
  return files;
}
