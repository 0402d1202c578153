import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { randomStateDict } from '../support/random-weights.ts';
import { loadWeights, type ShardCache } from '../../src/model/weights/load-weights.ts';
import { fetchOrRead } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';

function memoryCache(): ShardCache & { entries: Map<string, Uint8Array> } {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    get: async (sha) => entries.get(sha)?.slice(),
    put: async (sha, bytes) => void entries.set(sha, bytes.slice()),
    delete: async (sha) => void entries.delete(sha),
  };
}

async function writeModel(): Promise<string> {
  const encoded = await encodeManifest({
    modelId: 'cache-x025',
    scale: 0.25,
    embeddingDim: 32,
    batchNorm: 'separate',
    dtype: 'fp32',
    stateDict: randomStateDict(0.25, 32, 'separate', 3),
    provenance: 'random weights for tests',
    license: 'CC0',
    shardBytes: 64 * 1024,
  });
  const dir = await mkdtemp(join(tmpdir(), 'shitu-shards-'));
  return pathToFileURL(await writeModelFiles(dir, encoded)).href;
}

describe('loadWeights with a shard cache', () => {
  it('keeps every shard on the first load and downloads none on the second', async () => {
    const url = await writeModel();
    const cache = memoryCache();
    const first = await loadWeights(url, fetchOrRead, undefined, cache);
    expect(cache.entries.size).toBe(first.manifest.shards.length);
    expect(first.manifest.shards.length).toBeGreaterThan(1);
    const fetched: string[] = [];
    const counting = (u: string) => {
      fetched.push(u);
      return fetchOrRead(u);
    };
    const progress: number[] = [];
    const second = await loadWeights(url, counting, (done) => progress.push(done), cache);
    expect(fetched).toEqual([url]); // the manifest only
    expect(progress.at(-1)).toBe(first.manifest.shards.reduce((n, s) => n + s.byteLength, 0));
    for (const [name, t] of first.stateDict) expect(second.stateDict.get(name)!.data).toEqual(t.data);
  });

  it('drops a damaged entry and downloads that shard again', async () => {
    const url = await writeModel();
    const cache = memoryCache();
    const first = await loadWeights(url, fetchOrRead, undefined, cache);
    const sha = first.manifest.shards[0]!.sha256;
    const damaged = cache.entries.get(sha)!;
    damaged[10] = damaged[10]! ^ 0xff;
    cache.entries.set(sha, damaged);
    const fetched: string[] = [];
    const again = await loadWeights(url, (u) => (fetched.push(u), fetchOrRead(u)), undefined, cache);
    expect(fetched).toHaveLength(2); // the manifest and the damaged shard
    expect(fetched[1]).toContain(first.manifest.shards[0]!.file);
    expect(cache.entries.get(sha)).not.toEqual(damaged);
    for (const [name, t] of first.stateDict) expect(again.stateDict.get(name)!.data).toEqual(t.data);
  });

  it('still loads when the cache fails', async () => {
    const url = await writeModel();
    const broken: ShardCache = {
      get: () => Promise.reject(new Error('storage refused')),
      put: () => Promise.reject(new Error('quota')),
      delete: () => Promise.reject(new Error('storage refused')),
    };
    const loaded = await loadWeights(url, fetchOrRead, undefined, broken);
    expect(loaded.manifest.modelId).toBe('cache-x025');
  });
});
