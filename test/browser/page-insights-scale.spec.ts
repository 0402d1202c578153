/**
 * The embedding map with 5,000 images stays smooth: no main-thread task reaches 100 ms while the map lays them
 * out (PCA in the insights worker), draws them as dots, writes its 5,000 hooks, answers hover and a lasso and
 * labels what the lasso holds, nor while UMAP runs in its own worker. The 5,000 images are tiny distinct PNGs
 * whose vectors the gallery already holds (seeded in IndexedDB under their SHA-256, in 50 clusters): dropping
 * them takes the stored vectors, as a re-dropped folder does, so the test needs no 5,000 forward passes.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { LONG_TASK_LIMIT_MS, longest, longTasksSince, pageNow, recordLongTasks } from './support/long-tasks.ts';
import { openPage, waitSettled } from './support/page.ts';

// A long-task bar on a 2-core machine: one other process's burst can push a task past 100 ms (seen in CI: 106
// and 122 ms against 0-56 ms in quiet runs). One retry; a page that is really slow fails both.
test.describe.configure({ retries: 1 });

// MAP_SCALE_N=500 for a quick look (the UMAP time of 500 images); the check is made at 5,000.
const N = Number(process.env.MAP_SCALE_N ?? 5000);
const LABELS = 50;
const DIM = 512;

/** N 4 x 4 PNGs, each with its index in its pixels, in LABELS folders. */
async function tinyImages(): Promise<{ root: string; items: { name: string; label: string; hash: string }[] }> {
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-map-scale-')), 'images');
  const items: { name: string; label: string; hash: string }[] = [];
  for (let i = 0; i < N; i++) {
    const label = `class-${String(i % LABELS).padStart(2, '0')}`;
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(255);
    png.data[0] = i & 255;
    png.data[1] = (i >> 8) & 255;
    png.data[2] = i % LABELS;
    const bytes = PNG.sync.write(png);
    if (i < LABELS) await mkdir(join(root, label), { recursive: true });
    const file = `${i}.png`;
    await writeFile(join(root, label, file), bytes);
    items.push({ name: `${label}/${file}`, label, hash: createHash('sha256').update(bytes).digest('hex') });
  }
  return { root, items };
}

test('5,000 images on the map: no main-thread task over 100 ms', async ({ page }) => {
  test.setTimeout(600_000);
  const { root, items } = await tinyImages();
  await recordLongTasks(page);
  await openPage(page);
  await page.evaluate(
    async ({ items, dim, labels }) => {
      const manifest = (await (await fetch('/models/default/manifest.json')).json()) as { modelId: string };
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('shitu-web');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      let seed = 7;
      const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const centres = Array.from({ length: labels }, () => Float32Array.from({ length: dim }, random));
      const tx = db.transaction('entries', 'readwrite');
      items.forEach((item, i) => {
        const centre = centres[i % labels]!;
        const v = Float32Array.from(centre, (c) => c + 0.9 * random());
        const max = Math.max(...v.map(Math.abs));
        tx.objectStore('entries').put({
          id: item.hash,
          hash: item.hash,
          name: item.name,
          label: item.label,
          modelId: manifest.modelId,
          addedAt: i,
          code: Int8Array.from(v, (x) => Math.round((x / max) * 127)),
          scale: max / 127,
          imageBytes: 0,
        });
      });
      await new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    },
    { items, dim: DIM, labels: LABELS },
  );
  await page.reload();
  await openPage(page);
  await expect(page.getByTestId('gallery-count')).toContainText(`${N} images`, { timeout: 120_000 });

  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, N, 400_000);
  // From here on the page is only asked cheap questions (one element's attributes): Playwright's own locator
  // polling over 5,000 elements runs on the page's main thread and would be counted as the map's long tasks.
  const mapIs = (layout: string, count: number, timeout = 120_000) =>
    page.waitForFunction(
      ([layout, count]) => {
        const d = document.querySelector<HTMLElement>('[data-testid="embedding-map"]')!.dataset;
        return d.layout === layout && d.count === String(count) && d.state === 'ready';
      },
      [layout, count] as const,
      { timeout },
    );
  const start = await pageNow(page);
  await mapIs('pca', N);
  const laidOut = (await pageNow(page)) - start;

  // Hover and a lasso round the middle of the map; label what it holds (cards only: no gallery change).
  await page.getByTestId('insights-toggle').click(); // the panel is folded until opened
  const canvas = page.locator('[data-testid="embedding-map"] canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  for (let k = 0; k < 20; k++) await page.mouse.move(box.x + (box.width * k) / 20, box.y + box.height / 2);
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.4);
  await page.mouse.down();
  for (const [fx, fy] of [
    [0.6, 0.4],
    [0.6, 0.6],
    [0.4, 0.6],
    [0.4, 0.41],
  ])
    await page.mouse.move(box.x + box.width * fx!, box.y + box.height * fy!, { steps: 5 });
  await page.mouse.up();
  const selected = Number((await page.getByTestId('map-selected-count').textContent())!.split(' ')[0]);
  expect(selected).toBeGreaterThan(0);
  await page.getByTestId('map-to-gallery').uncheck();
  await page.getByTestId('map-label').fill('middle');
  await page.getByTestId('map-apply-label').click();
  await mapIs('pca', N); // relabelled a slice per task, then recoloured
  const interacting = await longTasksSince(page, start);

  // UMAP in its worker: the page stays responsive while it runs.
  const umapStart = await pageNow(page);
  await page.getByTestId('map-layout').selectOption('umap');
  await mapIs('umap', N, 580_000 - laidOut);
  const umapMs = Number(await page.getByTestId('embedding-map').getAttribute('data-umap-ms'));
  const umapTasks = await longTasksSince(page, umapStart);
  const whole = await longTasksSince(page, 0);

  // Now the heavier checks: every image has its hook, the lasso's images their label.
  const hooks = page.locator('[data-testid="embedding-map"] li[data-name]');
  await expect(hooks).toHaveCount(N);
  expect(Number.isFinite(Number(await hooks.first().getAttribute('data-x')))).toBe(true);
  expect(await page.locator('[data-testid="embedding-map"] li[data-label="middle"]').count()).toBe(selected);

  const line = `map of ${N}: laid out and hooked in ${laidOut.toFixed(0)} ms; longest task after the drop ${longest(interacting).toFixed(0)} ms (${interacting.length} over 50 ms), during UMAP ${longest(umapTasks).toFixed(0)} ms; UMAP ${(umapMs / 1000).toFixed(1)} s; longest task of the whole visit ${longest(whole).toFixed(0)} ms`;
  console.log(line);
  test.info().annotations.push({ type: 'map scale', description: line });
  expect(longest(interacting)).toBeLessThan(LONG_TASK_LIMIT_MS);
  expect(longest(umapTasks)).toBeLessThan(LONG_TASK_LIMIT_MS);
});
