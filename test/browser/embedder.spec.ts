/**
 * The real worker in Chromium: WebGPU and WebGL (SwiftShader here) against Node's cpu backend on the same pixels,
 * backend choice and its reasons, every kind of input, and bad files.
 */
import { expect, test, type Page } from '@playwright/test';
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../support/random-weights.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { FIXTURE_MODELS, fixtureManifestPath } from '../support/fixture-models.ts';

const HARNESS = '/test/browser/pages/embedder/index.html';
const modelUrl = (m: (typeof FIXTURE_MODELS)[keyof typeof FIXTURE_MODELS]) => `/${fixtureManifestPath(m)}`;

function pixels(width: number, height: number, seed: number): number[] {
  const rand = mulberry32(seed);
  // Smooth structure plus noise, so resizing and the network both have something to work on.
  return Array.from({ length: width * height * 4 }, (_, i) => {
    const p = i >> 2;
    const x = p % width;
    const y = Math.floor(p / width);
    return (i & 3) === 3
      ? 255
      : Math.floor((128 + 100 * Math.sin((x + seed) / 7 + (i & 3)) * Math.cos(y / 9) + 20 * rand()) & 255);
  });
}

async function openHarness(page: Page): Promise<void> {
  await page.goto(HARNESS);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

async function nodeEmbeddings(manifestPath: string, images: { bytes: number[]; width: number; height: number }[]) {
  const engine = new EmbedderEngine(nodeEnvironment());
  await engine.load({ model: pathToFileURL(manifestPath).href });
  const results = await engine.embed(
    images.map(
      (im) => ({ data: Uint8ClampedArray.from(im.bytes), width: im.width, height: im.height }) as unknown as ImageData,
    ),
  );
  await engine.dispose();
  return results.map((r) => {
    if (!r.ok) throw new Error(r.error.message);
    return Array.from(r.embedding);
  });
}

function maxAbsDiff(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

// WebGPU and WebGL run this project's one-pass hardswish kernels (src/worker/gpu-kernels.ts); Node's cpu
// backend runs the composite of tfjs ops: equal embeddings check the kernels too.
for (const backend of ['webgpu', 'webgl'] as const) {
  test(`${backend} in the worker equals Node cpu within 1e-4 on the same ImageData`, async ({ page }) => {
    const images = [
      { bytes: pixels(224, 224, 1), width: 224, height: 224 },
      { bytes: pixels(300, 200, 2), width: 300, height: 200 },
      { bytes: pixels(97, 131, 3), width: 97, height: 131 },
    ];
    const m = FIXTURE_MODELS.parity;
    const want = await nodeEmbeddings(fixtureManifestPath(m), images);
    await openHarness(page);
    const got = await page.evaluate(
      async ({ url, images, backend }) => {
        const h = window.harness;
        const id = await h.create({ model: url, backend });
        const info = await h.info(id);
        const results = await h.embed(
          id,
          images.map((im) => h.imageData(im.bytes, im.width, im.height)),
        );
        return { backend: info.backend, results };
      },
      { url: modelUrl(m), images, backend },
    );
    expect(got.backend).toBe(backend);
    got.results.forEach((r, i) => {
      if (!r.ok) throw new Error(r.error.message);
      expect(r.embedding.length).toBe(512);
      const d = maxAbsDiff(r.embedding, want[i]!);
      console.log(`image ${i}: ${backend} vs node cpu max |diff| = ${d.toExponential(2)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
    });
  });
}

test('auto passes over a software WebGPU adapter and says why', async ({ page }) => {
  await openHarness(page);
  const info = await page.evaluate(async (url) => {
    const h = window.harness;
    return h.info(await h.create({ model: url }));
  }, modelUrl(FIXTURE_MODELS.small));
  // These machines have no GPU: Chromium's WebGPU adapter is SwiftShader, a CPU emulation.
  expect(info.backend).toBe('wasm');
  expect(info.backendReasons.webgpu).toMatch(/^skipped by auto: the adapter is a (fallback|software)/);
  expect(info.backendReasons.webgl).toMatch(/^(skipped by auto: the WebGL renderer is software|unavailable)/);
  expect(info.backendReasons.wasm).toMatch(/^chosen/);
  expect(info.backendReasons.cpu).toMatch(/^not needed/);
});

test('every input kind gives the same embedding for the same pixels', async ({ page }) => {
  await openHarness(page);
  const results = await page.evaluate(async (url) => {
    const h = window.harness;
    const id = await h.create({ model: url, backend: 'wasm' });
    const file = await h.fixture('shapes.png');
    const bitmap = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    const img = document.querySelector<HTMLImageElement>('#img')!;
    img.src = URL.createObjectURL(file);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const imageData = ctx.getImageData(0, 0, canvas.width, canvas.height);
    return h.embed(id, [file, new Blob([await file.arrayBuffer()], { type: 'image/png' }), bitmap, imageData, img]);
  }, modelUrl(FIXTURE_MODELS.small));
  const [first, ...rest] = results;
  if (!first?.ok) throw new Error('the File failed');
  expect(first.name).toBe('shapes.png');
  for (const r of rest) {
    if (!r.ok) throw new Error(`${r.name}: ${r.error.message}`);
    const d = maxAbsDiff(r.embedding, first.embedding);
    console.log(`${r.name}: max |diff| vs the File = ${d.toExponential(2)}`);
    expect(d, r.name).toBeLessThanOrEqual(1e-6);
  }
  // An image element keeps its alt text as the name.
  expect(results[4]!.name).toBe('shapes.png');
});

test('an EXIF-rotated JPEG embeds like the upright one', async ({ page }) => {
  await openHarness(page);
  const [upright, rotated] = await page.evaluate(async (url) => {
    const h = window.harness;
    const id = await h.create({ model: url, backend: 'wasm' });
    return h.embed(id, [await h.fixture('gradient.jpg'), await h.fixture('gradient-exif6.jpg')]);
  }, modelUrl(FIXTURE_MODELS.small));
  if (!upright?.ok || !rotated?.ok) throw new Error('decode failed');
  expect([rotated.width, rotated.height]).toEqual([upright.width, upright.height]);
  const dot = upright.embedding.reduce((s, v, i) => s + v * rotated.embedding[i]!, 0);
  expect(dot).toBeGreaterThan(0.99);
});

test('bad files fail alone, with the file and the reason, and the worker stays usable', async ({ page }) => {
  await openHarness(page);
  const { results, after, memory } = await page.evaluate(async (url) => {
    const h = window.harness;
    const id = await h.create({ model: url, backend: 'wasm', maxPixels: 100_000_000 });
    const names = [
      'gradient.jpg',
      'not-an-image.jpg',
      'truncated.jpg',
      'empty.jpg',
      'huge-declared.png',
      'vector.svg',
      'shapes.png',
    ];
    const results = await h.embed(id, await Promise.all(names.map((n) => h.fixture(n))));
    const after = await h.embed(id, [await h.fixture('gradient.jpg')]);
    return { results, after, memory: (await h.info(id)).memory };
  }, modelUrl(FIXTURE_MODELS.small));
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  expect(byName['gradient.jpg']!.ok).toBe(true);
  expect(byName['shapes.png']!.ok).toBe(true);
  const failure = (name: string) => {
    const r = byName[name]!;
    if (r.ok) throw new Error(`${name} should have failed`);
    expect(r.error.message.startsWith(`${name}: `)).toBe(true);
    return r.error;
  };
  expect(failure('not-an-image.jpg').code).toBe('image-format');
  expect(failure('truncated.jpg').code).toBe('image-decode');
  expect(failure('empty.jpg').code).toBe('image-empty');
  expect(failure('huge-declared.png').code).toBe('image-too-large');
  expect(failure('vector.svg').code).toBe('image-format');
  expect(failure('vector.svg').message).toMatch(/SVG/);
  expect(after[0]!.ok).toBe(true);
  expect(memory.numTensors).toBeGreaterThan(0);
});

test('100 images in the worker leave no tensor behind', async ({ page }) => {
  await openHarness(page);
  const { before, after, ok } = await page.evaluate(async (url) => {
    const h = window.harness;
    const id = await h.create({ model: url, backend: 'wasm', batchSize: 16 });
    const before = (await h.info(id)).memory.numTensors;
    const images = Array.from({ length: 100 }, (_, i) => {
      const d = new Uint8ClampedArray(48 * 40 * 4).map((_, k) => (k * (i + 3)) & 255);
      return new ImageData(d, 48, 40);
    });
    const results = await h.embed(id, images);
    const after = (await h.info(id)).memory.numTensors;
    return { before, after, ok: results.filter((r) => r.ok).length };
  }, modelUrl(FIXTURE_MODELS.small));
  expect(ok).toBe(100);
  expect(after).toBe(before);
});
