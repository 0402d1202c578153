/**
 * The worker pool (createEmbedder's `workers`): a large call shared between workers gives the same results,
 * in the same order, with the same names and per-image errors, as one worker; the model is downloaded once;
 * progress counts the whole call; dispose() ends every worker.
 */
import { expect, test, type Page } from '@playwright/test';
import { FIXTURE_MODELS, fixtureManifestPath } from '../support/fixture-models.ts';
import { mulberry32 } from '../support/random-weights.ts';

const HARNESS = '/test/browser/pages/embedder/index.html';
const MODEL = `/${fixtureManifestPath(FIXTURE_MODELS.small)}`;

async function openHarness(page: Page): Promise<void> {
  await page.goto(HARNESS);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

/** 21 small images (three chunks at batch 8): ImageData, unnamed, except a named fixture and a broken file. */
async function mixedImages(page: Page): Promise<unknown> {
  const seeds = Array.from({ length: 19 }, (_, i) => i + 1);
  const rgba = seeds.map((s) => {
    const rand = mulberry32(s);
    return Array.from({ length: 40 * 30 * 4 }, (_, i) => ((i & 3) === 3 ? 255 : Math.floor(rand() * 256)));
  });
  return page.evaluateHandle(async (all) => {
    const images: unknown[] = all.map((bytes) => window.harness.imageData(bytes, 40, 30));
    images.splice(5, 0, await window.harness.fixture('gradient.jpg'));
    images.splice(13, 0, await window.harness.fixture('not-an-image.jpg'));
    return images;
  }, rgba);
}

test("two workers give one worker's results, in order, with its names and errors; one download", async ({ page }) => {
  const shardRequests: string[] = [];
  page.on('request', (r) => void (/\.bin$/.test(new URL(r.url()).pathname) && shardRequests.push(r.url())));
  await openHarness(page);
  const images = await mixedImages(page);
  const [single, pooled] = await page.evaluate(
    async ([model, imgs]) => {
      const ids = [
        await window.harness.create({ model, backend: 'wasm' }),
        await window.harness.create({ model, backend: 'wasm', workers: 2 }),
      ] as const;
      // A first large call starts the second worker (the call itself does not wait for it).
      await window.harness.embed(ids[1], imgs as never);
      return ids;
    },
    [MODEL, images] as const,
  );
  await expect
    .poll(async () => (await page.evaluate((i) => window.harness.info(i), pooled)).workers)
    .toEqual({
      max: 2,
      running: 2,
    });
  const [one, pool] = await page.evaluate(
    async ([a, b, imgs]) =>
      [await window.harness.embed(a, imgs as never), await window.harness.embedWithProgress(b, imgs as never)] as const,
    [single, pooled, images] as const,
  );
  expect(pool.results.map((r) => [r.id, r.name, r.ok])).toEqual(one.map((r) => [r.id, r.name, r.ok]));
  expect(one.map((r) => r.name).slice(0, 3)).toEqual(['image-1', 'image-2', 'image-3']);
  expect(one[5]!.name).toBe('gradient.jpg');
  expect(one[20]!.name).toBe('image-21');
  const failed = pool.results.filter((r) => !r.ok);
  expect(failed.map((r) => [r.name, !r.ok && r.error.code])).toEqual([['not-an-image.jpg', 'image-format']]);
  for (let i = 0; i < one.length; i++) {
    const a = one[i]!;
    const b = pool.results[i]!;
    if (!a.ok || !b.ok) continue;
    expect(Math.max(...a.embedding.map((v, k) => Math.abs(v - b.embedding[k]!)))).toBeLessThan(1e-5);
  }
  const last = pool.progress.at(-1)!;
  expect(last).toEqual({ stage: 'embed', done: 21, total: 21 });
  // Never more done than total, and never going back.
  const dones = pool.progress.map((p) => p.done);
  expect(dones.every((d, i) => d <= 21 && (i === 0 || d >= dones[i - 1]!))).toBe(true);
  // Three embedders loaded the model (one single, two pooled); the shards crossed the network once for
  // each distinct file: later workers read them from Cache Storage.
  const distinct = new Set(shardRequests.map((u) => new URL(u).pathname));
  expect(shardRequests.length).toBe(distinct.size);
});

test('dispose() ends every worker of the pool; a small call stays on the first worker', async ({ page }) => {
  await openHarness(page);
  const id = await page.evaluate((model) => window.harness.create({ model, backend: 'wasm', workers: 2 }), MODEL);
  expect(page.workers().length).toBe(1);
  const small = await page.evaluate(async (i) => {
    const img = window.harness.imageData(new Array(8 * 8 * 4).fill(200), 8, 8);
    await window.harness.embed(i, [img, img]);
    return window.harness.info(i);
  }, id);
  expect(small.workers).toEqual({ max: 2, running: 1 });
  const tensorsBefore = small.memory.numTensors;
  const images = await mixedImages(page);
  const after = await page.evaluate(
    async ([i, imgs]) => {
      await window.harness.embed(i, imgs as never);
      return window.harness.info(i);
    },
    [id, images] as const,
  );
  expect(after.memory.numTensors).toBe(tensorsBefore);
  await expect.poll(async () => (await page.evaluate((i) => window.harness.info(i), id)).workers?.running).toBe(2);
  expect(page.workers().length).toBe(2);
  await page.evaluate((i) => window.harness.dispose(i), id);
  await expect.poll(() => page.workers().length).toBe(0);
});

test('workers: "auto" is one per core on WASM, and bad values are refused with the valid ones', async ({ page }) => {
  await openHarness(page);
  const r = await page.evaluate(async (model) => {
    const auto = await window.harness.create({ model, backend: 'wasm', workers: 'auto' });
    const info = await window.harness.info(auto);
    await window.harness.dispose(auto);
    const refused = await window.harness.create({ model, workers: 0 }).then(
      () => 'accepted',
      (e: Error) => `${e.name}: ${e.message}`,
    );
    const memoryGiB = (navigator as Navigator & { deviceMemory?: number }).deviceMemory ?? 4;
    return { workers: info.workers, cores: navigator.hardwareConcurrency, memoryGiB, refused };
  }, MODEL);
  // core/options/worker-options.ts resolveWorkers: cores, bounded by a quarter of the memory at 160 MiB each.
  expect(r.workers!.max).toBe(Math.min(r.cores, Math.floor((r.memoryGiB * 1024) / 4 / 160), 16));
  expect(r.refused).toBe('OptionsError: workers must be "auto" or an integer from 1 to 16; got 0');
});

test("auto's remembered backend verdicts survive a reload (IndexedDB, as the worker keeps them)", async ({ page }) => {
  await openHarness(page);
  const verdict = {
    backend: 'webgl',
    msPerImage: { webgl: 2.5, wasm: 9.1 },
    notes: {},
    batch: 4,
    measuredAt: '2026-11-30T00:00:00.000Z',
  } as const;
  const [before, after] = await page.evaluate(([v]) => window.harness.backendMemoryRoundTrip('k', v!), [verdict]);
  expect(before).toBeUndefined();
  expect(after).toEqual(verdict);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  const [again] = await page.evaluate(([v]) => window.harness.backendMemoryRoundTrip('k', v!), [verdict]);
  expect(again).toEqual(verdict);
});
