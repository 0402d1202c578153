/**
 * `auto` by measurement (src/worker/backend-trial.ts): which backends are timed, the verdict is the fastest
 * timed one, it is remembered per device and model, a later load reuses it without timing, and a memory that
 * fails or names a backend that no longer runs does not stop a load.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeManifest } from '../../src/model/weights/manifest-codec.ts';
import { trialCandidates, type BackendMemory, type BackendVerdict } from '../../src/worker/backend-trial.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';
import { randomStateDict } from '../support/random-weights.ts';

let modelUrl = '';

beforeAll(async () => {
  const encoded = await encodeManifest({
    modelId: 'trial-test',
    scale: 0.25,
    embeddingDim: 48,
    batchNorm: 'separate',
    stateDict: randomStateDict(0.25, 48, 'separate', 7),
    provenance: 'random weights for tests',
    license: 'CC0',
  });
  const dir = await mkdtemp(join(tmpdir(), 'shitu-trial-'));
  modelUrl = pathToFileURL(await writeModelFiles(dir, encoded)).href;
});

function memory(): BackendMemory & { entries: Map<string, BackendVerdict>; puts: number } {
  const entries = new Map<string, BackendVerdict>();
  const m = {
    entries,
    puts: 0,
    get: async (key: string) => entries.get(key),
    put: async (key: string, v: BackendVerdict) => {
      m.puts++;
      entries.set(key, v);
    },
  };
  return m;
}

/** Node offers wasm and cpu; the test times both (the default rule would time wasm alone). */
function engine(mem: BackendMemory, device = 'test device') {
  return new EmbedderEngine({
    ...nodeEnvironment('unused', { wasm: true }),
    backendMemory: mem,
    deviceKey: async () => device,
    trialCandidates: () => ['wasm', 'cpu'],
  });
}

describe('trialCandidates', () => {
  const p = (name: 'webgpu' | 'webgl' | 'wasm' | 'cpu', runs: boolean, software = false) => ({ name, runs, software });
  it('times hardware GPUs and WASM; never software GPUs; cpu only without WASM', () => {
    expect(trialCandidates([p('webgpu', true), p('webgl', true), p('wasm', true), p('cpu', true)])).toEqual([
      'webgpu',
      'webgl',
      'wasm',
    ]);
    expect(trialCandidates([p('webgpu', true, true), p('webgl', true, true), p('wasm', true), p('cpu', true)])).toEqual(
      ['wasm'],
    );
    expect(trialCandidates([p('webgpu', false), p('webgl', true), p('wasm', false), p('cpu', true)])).toEqual([
      'webgl',
      'cpu',
    ]);
  });
});

describe('auto by measurement', () => {
  it('times the candidates on the model, keeps the fastest, and says so in info()', async () => {
    const mem = memory();
    const e = engine(mem);
    const info = await e.load({ model: modelUrl, backend: 'auto' });
    const m = info.backendMeasurement!;
    expect(m.source).toBe('measured');
    expect(Object.keys(m.msPerImage).sort()).toEqual(['cpu', 'wasm']);
    const fastest = Object.entries(m.msPerImage).sort((a, b) => a[1]! - b[1]!)[0]![0];
    expect(info.backend).toBe(fastest);
    expect(info.backendReasons[info.backend]).toMatch(/^chosen: measured fastest on this device for this model/);
    const other = info.backend === 'wasm' ? 'cpu' : 'wasm';
    expect(info.backendReasons[other]).toMatch(/^measured slower: [\d.]+ ms\/image$/);
    expect(mem.puts).toBe(1);
    expect([...mem.entries.keys()]).toEqual(['test device | trial-test x0.25 224x224']);
    // The trial's models are gone: only the loaded model's tensors remain, and an embedding works.
    const [r] = await e.embed([{ data: new Uint8ClampedArray(32 * 32 * 4), width: 32, height: 32 } as never]);
    expect(r!.ok).toBe(true);
    await e.dispose();
  });

  it('a later load on the same device and model reuses the verdict without timing', async () => {
    const mem = memory();
    const first = engine(mem);
    const a = await first.load({ model: modelUrl });
    await first.dispose();
    const second = engine(mem);
    const b = await second.load({ model: modelUrl });
    expect(b.backend).toBe(a.backend);
    expect(b.backendMeasurement).toEqual({ ...a.backendMeasurement, source: 'remembered' });
    expect(b.backendReasons[b.backend]).toMatch(/^chosen: remembered fastest/);
    expect(mem.puts).toBe(1);
    await second.dispose();
    // Another device measures again.
    const third = engine(mem, 'another device');
    expect((await third.load({ model: modelUrl })).backendMeasurement!.source).toBe('measured');
    expect(mem.puts).toBe(2);
    await third.dispose();
  });

  it('a verdict for a backend that is no longer a candidate is measured again; a failing memory is ignored', async () => {
    const mem = memory();
    mem.entries.set('test device | trial-test x0.25 224x224', {
      backend: 'webgpu',
      msPerImage: { webgpu: 0.1 },
      notes: {},
      batch: 4,
      measuredAt: '2026-01-01T00:00:00.000Z',
    });
    const e = engine(mem);
    const info = await e.load({ model: modelUrl });
    expect(info.backendMeasurement!.source).toBe('measured');
    expect(['wasm', 'cpu']).toContain(info.backend);
    await e.dispose();
    const broken: BackendMemory = {
      get: () => Promise.reject(new Error('quota')),
      put: () => Promise.reject(new Error('quota')),
    };
    const f = engine(broken);
    expect((await f.load({ model: modelUrl })).backendMeasurement!.source).toBe('measured');
    await f.dispose();
  });

  it('a named backend is never timed, and Node without a memory follows the order rule', async () => {
    const mem = memory();
    const named = engine(mem);
    const info = await named.load({ model: modelUrl, backend: 'cpu' });
    expect(info.backend).toBe('cpu');
    expect(info.backendMeasurement).toBeUndefined();
    expect(mem.puts).toBe(0);
    await named.dispose();
    const plain = new EmbedderEngine(nodeEnvironment('unused', { wasm: true }));
    const p = await plain.load({ model: modelUrl });
    expect(p.backend).toBe('wasm');
    expect(p.backendMeasurement).toBeUndefined();
    await plain.dispose();
  });
});
