import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WeightsError } from '../../src/core/errors.ts';
import { validateManifest } from '../../src/core/manifest.ts';
import { decodeFloat16, encodeFloat16, fromFloat16Bits, toFloat16Bits } from '../../src/model/convert/wire/float16.ts';
import { decodeManifest, encodeManifest, networkOf } from '../../src/model/weights/manifest-codec.ts';
import { standardGeometry } from '../../src/model/architecture.ts';
import { randomNetworkStateDict, randomStateDict } from '../support/random-weights.ts';
import { sha256Hex, sha256Portable } from '../../src/model/weights/sha256.ts';
import { loadWeights } from '../../src/model/weights/load-weights.ts';
import { fetchOrRead } from '../../src/worker/node-environment.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';

const base = {
  modelId: 'test-x025',
  scale: 0.25,
  embeddingDim: 32,
  batchNorm: 'separate' as const,
  provenance: 'random weights for tests',
  license: 'CC0',
};

describe('float16', () => {
  it('rounds to nearest even and handles the edges', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(5.960464477539063e-8)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
    const xs = Float32Array.from([0, 0.1, -3.14159, 1e-5, 123.456]);
    const back = decodeFloat16(encodeFloat16(xs));
    xs.forEach((x, i) => expect(Math.abs(back[i]! - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -24));
  });
});

describe('sha256', () => {
  it('WebCrypto and the portable fallback agree with node:crypto', async () => {
    for (const n of [0, 3, 55, 56, 64, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31) % 256);
      const want = createHash('sha256').update(bytes).digest('hex');
      expect(await sha256Hex(bytes)).toBe(want);
      expect(Buffer.from(sha256Portable(bytes)).toString('hex')).toBe(want);
    }
  });
});

describe('the weight manifest', () => {
  it.each(['fp32', 'fp16'] as const)('round-trips a model through files (%s), in several shards', async (dtype) => {
    const stateDict = randomStateDict(0.25, 32, 'separate', 3);
    const encoded = await encodeManifest({ ...base, dtype, stateDict, shardBytes: 256 * 1024 });
    expect(encoded.shards.length).toBeGreaterThan(1);
    const dir = await mkdtemp(join(tmpdir(), 'shitu-manifest-'));
    const path = await writeModelFiles(dir, encoded);
    const loaded = await loadWeights(pathToFileURL(path).href, fetchOrRead);
    expect(loaded.manifest.modelId).toBe('test-x025');
    for (const [name, t] of stateDict) {
      const got = loaded.stateDict.get(name)!;
      expect(got.shape).toEqual(t.shape);
      // fp16 keeps 11 significant bits: a relative error of at most 2^-11.
      const tol = dtype === 'fp32' ? 0 : 2 ** -11;
      let worst = 0;
      t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(got.data[i]! - v) / Math.max(Math.abs(v), 2 ** -14))));
      expect(worst, name).toBeLessThanOrEqual(tol);
    }
  });

  it('refuses a truncated shard before reading its body, naming the file and both sizes', async () => {
    const encoded = await encodeManifest({ ...base, stateDict: randomStateDict(0.25, 32, 'separate', 3) });
    const dir = await mkdtemp(join(tmpdir(), 'shitu-manifest-'));
    const path = await writeModelFiles(dir, encoded);
    const shard = encoded.shards[0]!;
    await writeFile(join(dir, shard.file), shard.bytes.subarray(0, 1000));
    await expect(loadWeights(pathToFileURL(path).href, fetchOrRead)).rejects.toThrow(
      new WeightsError(
        `test-x025: shard "${shard.file}" is 1000 bytes, the manifest declares ${shard.bytes.byteLength} (truncated or wrong file?)`,
      ),
    );
  });

  it('refuses a corrupted shard by its checksum', async () => {
    const encoded = await encodeManifest({ ...base, stateDict: randomStateDict(0.25, 32, 'separate', 3) });
    const bad = encoded.shards.map((s) => Uint8Array.from(s.bytes));
    bad[0]![10]! ^= 0xff;
    await expect(decodeManifest(encoded.manifest, bad)).rejects.toThrow(
      /has SHA-256 [0-9a-f]{64}, the manifest declares .* \(corrupted download\?\)/,
    );
  });

  it('names the first tensor that does not fit the architecture', async () => {
    const encoded = await encodeManifest({ ...base, stateDict: randomStateDict(0.25, 32, 'separate', 3) });
    const wrongScale = { ...encoded.manifest, architecture: { ...encoded.manifest.architecture, scale: 0.5 } };
    await expect(
      decodeManifest(
        wrongScale,
        encoded.shards.map((s) => s.bytes),
      ),
    ).rejects.toThrow(
      'test-x025 (PP-LCNet x0.5, 32-d): tensor "backbone.blocks2.0.pw_conv.conv.weight" has shape [8, 8, 1, 1], expected [16, 8, 1, 1]',
    );
  });

  it('checks the structure and declared sizes before any shard is fetched', async () => {
    const encoded = await encodeManifest({ ...base, stateDict: randomStateDict(0.25, 32, 'separate', 3) });
    const m = JSON.parse(JSON.stringify(encoded.manifest));
    expect(() => validateManifest({ ...m, format: 'tfjs' })).toThrow(
      'manifest: format is "tfjs", expected "shitu-web/weights"',
    );
    expect(() => validateManifest({ ...m, formatVersion: 2 })).toThrow('formatVersion 2 is not supported');
    expect(() => validateManifest({ ...m, dtype: 'int8' })).toThrow('dtype must be one of fp32, fp16');
    const grown = { ...m, shards: [{ ...m.shards[0], byteLength: m.shards[0].byteLength + 4 }, ...m.shards.slice(1)] };
    expect(() => validateManifest(grown)).toThrow(/shards\[0\] declares \d+ bytes but its tensors' shapes need \d+/);
    const escape = { ...m, shards: [{ ...m.shards[0], file: '../../etc/passwd' }, ...m.shards.slice(1)] };
    expect(() => validateManifest(escape)).toThrow("shards[0].file must be a plain file name in the manifest's folder");
    const dup = { ...m, tensors: [m.tensors[0], ...m.tensors] };
    expect(() => validateManifest(dup)).toThrow('is listed twice');
  });

  it('says which URL failed when a file is missing', async () => {
    await expect(loadWeights(pathToFileURL('/nonexistent/manifest.json').href, fetchOrRead)).rejects.toThrow(
      'could not fetch weight manifest file:///nonexistent/manifest.json: HTTP 404',
    );
    const dir = await mkdtemp(join(tmpdir(), 'shitu-manifest-'));
    await writeFile(join(dir, 'manifest.json'), '{not json');
    await expect(loadWeights(pathToFileURL(join(dir, 'manifest.json')).href, fetchOrRead)).rejects.toThrow(
      /is not valid JSON/,
    );
    const htmlFallback = async () =>
      new Response('<!doctype html><p>app</p>', { headers: { 'content-type': 'text/html' } });
    await expect(loadWeights('http://localhost/models/default/manifest.json', htmlFallback)).rejects.toThrow(
      'no weight manifest at http://localhost/models/default/manifest.json: the server sent an HTML page instead (wrong path, or no model installed there)',
    );
  });
});

describe('the manifest of other geometries and of classifiers', () => {
  const textLine = {
    ...standardGeometry(0.25),
    strideList: [
      [1, 2],
      [2, 1],
      [2, 1],
      [2, 1],
      [2, 1],
    ] as const,
    useLastConv: false,
  };
  const network = { geometry: textLine, batchNorm: 'folded' as const };
  const classifier = async () =>
    encodeManifest({
      ...base,
      embeddingDim: 128,
      batchNorm: 'folded',
      network,
      stateDict: randomNetworkStateDict(network, 2),
      dtype: 'fp32',
      head: {
        settings: { type: 'Linear', labels: ['0_degree', '180_degree'], softmax: true },
        weight: new Float32Array(256).fill(0.5),
        bias: Float32Array.of(1, -1),
      },
    });

  it('writes the geometry and the head, and reads them back exactly', async () => {
    const encoded = await classifier();
    expect(encoded.manifest.architecture).toEqual({
      name: 'PPLCNet',
      scale: 0.25,
      batchNorm: 'folded',
      strideList: [
        [1, 2],
        [2, 1],
        [2, 1],
        [2, 1],
        [2, 1],
      ],
      useLastConv: false,
      classExpand: 1280,
      dropoutProb: 0.2,
      neck: 'none',
    });
    expect(networkOf(encoded.manifest)).toEqual(network);
    const sd = await decodeManifest(
      encoded.manifest,
      encoded.shards.map((s) => s.bytes),
    );
    expect(Array.from(sd.get('head.bias')!.data)).toEqual([1, -1]);
    expect(sd.has('neck.fc.weight')).toBe(false);
  });

  it("leaves PaddleClas's defaults out, so a standard model's manifest is as before", async () => {
    const encoded = await encodeManifest({ ...base, stateDict: randomStateDict(0.25, 32, 'separate', 1) });
    expect(encoded.manifest.architecture).toEqual({ name: 'PPLCNet', scale: 0.25, batchNorm: 'separate' });
  });

  it('names what is wrong in a hand-edited manifest', async () => {
    const m = (await classifier()).manifest;
    const edit = (over: Record<string, unknown>) => () => validateManifest({ ...m, ...over });
    expect(edit({ architecture: { ...m.architecture, strideList: [[2, 2]] } })).toThrow(
      'architecture.strideList must be 5 [h, w] pairs',
    );
    expect(edit({ architecture: { ...m.architecture, neck: 'mlp' } })).toThrow(
      'architecture.neck must be "linear" or "none"',
    );
    expect(edit({ head: { ...m.head, type: 'Softmax' } })).toThrow('head.type must be "ArcMargin" or "Linear"');
    expect(edit({ tensors: m.tensors.filter((t) => t.name !== 'head.bias') })).toThrow();
    expect(edit({ head: { type: 'Linear', labels: ['a', 'b'] } })).toThrow('a Linear head needs softmax (boolean)');
  });
});
