/**
 * A large gallery keeps the page responsive: 30,000 entries written straight into IndexedDB in the stored
 * format (gallery-store.ts, version 2), the page reloaded, and every main-thread task longer than 50 ms
 * recorded by a PerformanceObserver('longtask') from the first script on, while the gallery loads and while
 * images are added. None may reach 100 ms. The same photo dropped again is not added twice. And a gallery
 * stored by the previous version (IndexedDB version 1: whole items with float32 embeddings) is migrated.
 */
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { LONG_TASK_LIMIT_MS, longest, longTasksSince, pageNow, recordLongTasks } from './support/long-tasks.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

// A long-task bar on a 2-core machine: one other process's burst can push a task past 100 ms (seen in CI: 106
// and 122 ms against 0-56 ms in quiet runs). One retry; a page that is really slow fails both.
test.describe.configure({ retries: 1 });

const SEEDED = 30_000;
const DIM = 512;

test('a 30,000-entry gallery loads and grows with no main-thread task over 100 ms', async ({ page }) => {
  test.setTimeout(300_000);
  await recordLongTasks(page);
  await openPage(page);

  // The stored format: entries keyed by id, int8 codes with a scale, the model's id (so all are searchable).
  await page.evaluate(
    async ({ n, dim }) => {
      const manifest = (await (await fetch('/models/default/manifest.json')).json()) as { modelId: string };
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('shitu-web');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      let seed = 1;
      const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      for (let first = 0; first < n; first += 2000) {
        const tx = db.transaction('entries', 'readwrite');
        for (let i = first; i < Math.min(n, first + 2000); i++) {
          const code = new Int8Array(dim);
          for (let d = 0; d < dim; d++) code[d] = Math.round(random() * 127);
          tx.objectStore('entries').put({
            id: `seeded-${String(i).padStart(6, '0')}`,
            name: `seeded/${i}.jpg`,
            label: `label-${i % 500}`,
            modelId: manifest.modelId,
            addedAt: i,
            code,
            scale: 1 / (127 * Math.sqrt(dim / 3)),
            imageBytes: 0,
          });
        }
        await new Promise((resolve, reject) => {
          tx.oncomplete = resolve;
          tx.onerror = () => reject(tx.error);
        });
      }
      db.close();
    },
    { n: SEEDED, dim: DIM },
  );

  await page.reload();
  await openPage(page);
  await expect(page.getByTestId('gallery-count')).toContainText(`${SEEDED} images`, { timeout: 120_000 });
  const loading = await longTasksSince(page, 0);

  // Grow it: a folder of three labelled photos, then one of them again.
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-gallery-scale-')), 'drop');
  for (const [label, file] of [
    ['cat', 'cat-view-1.jpg'],
    ['coffee', 'coffee.jpg'],
    ['rocket', 'rocket.jpg'],
  ] as const) {
    await mkdir(join(root, label), { recursive: true });
    await copyFile(photo(file), join(root, label, file));
  }
  const addStart = await pageNow(page);
  await page.getByTestId('to-gallery').check();
  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, 3);
  await expect(page.getByTestId('gallery-count')).toContainText(`${SEEDED + 3} images`);
  await page.getByTestId('file-input').setInputFiles(photo('coffee.jpg'));
  await waitSettled(page, 4);
  // Its bytes are in the gallery for this model: the stored vector is used, the worker never sees it.
  await expect(page.getByTestId('batch-status')).toContainText(
    '1 was already in the gallery: its stored vector was used, not embedded again.',
  );
  await expect(page.getByTestId('gallery-count')).toContainText(`${SEEDED + 3} images`);
  const adding = await longTasksSince(page, addStart);

  // Search works against the whole gallery: the cat photo's own entry is left out, five matches remain.
  await page.locator('[data-testid="image-card"][data-name="cat/cat-view-1.jpg"]').click();
  await expect(page.getByTestId('gallery-matches').locator('li')).toHaveCount(5);
  await expect(page.getByTestId('gallery-item')).toHaveCount(500); // the list shows the first 500

  test
    .info()
    .annotations.push(
      { type: 'longest task while loading (ms)', description: longest(loading).toFixed(0) },
      { type: 'longest task while adding (ms)', description: longest(adding).toFixed(0) },
      { type: 'long tasks (>50 ms) while loading / adding', description: `${loading.length} / ${adding.length}` },
    );
  console.log(
    `gallery scale: longest task while loading ${longest(loading).toFixed(0)} ms (${loading.length} over 50 ms), while adding ${longest(adding).toFixed(0)} ms (${adding.length} over 50 ms)`,
  );
  expect(longest(loading)).toBeLessThan(LONG_TASK_LIMIT_MS);
  expect(longest(adding)).toBeLessThan(LONG_TASK_LIMIT_MS);

  // The observer does see long tasks: a 150 ms busy loop in a task of the page's own is recorded.
  const busy = await page.evaluate(() => {
    const t = performance.now();
    setTimeout(() => {
      while (performance.now() - t < 150);
    }, 0);
    return t;
  });
  await expect.poll(async () => longest(await longTasksSince(page, busy))).toBeGreaterThanOrEqual(140);
});

test('a version 1 gallery is migrated: every item kept and searchable, its image recognised when dropped again', async ({
  page,
}) => {
  const coffee = (await readFile(photo('coffee.jpg'))).toString('base64');
  // Any page of the origin that does not open the gallery: the database is created at version 1 first.
  await page.goto('/models/default/manifest.json');
  await page.evaluate(
    async ({ coffee, dim }) => {
      const manifest = (await (await fetch('/models/default/manifest.json')).json()) as { modelId: string };
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('shitu-web', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('gallery', { keyPath: 'id' });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const image = new Blob([Uint8Array.from(atob(coffee), (c) => c.charCodeAt(0))], { type: 'image/jpeg' });
      const tx = db.transaction('gallery', 'readwrite');
      ['mug', 'shoe', 'coffee'].forEach((label, i) => {
        const embedding = new Float32Array(dim);
        embedding[i] = 1;
        tx.objectStore('gallery').put({
          id: `old-${i}`,
          name: `${label}/${label}.jpg`,
          label,
          modelId: manifest.modelId,
          embedding,
          thumbnail: '',
          addedAt: i,
          ...(label === 'coffee' ? { image } : {}),
        });
      });
      await new Promise((resolve) => (tx.oncomplete = resolve));
      db.close();
    },
    { coffee, dim: DIM },
  );
  await openPage(page);
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
  expect(
    await page
      .getByTestId('gallery-item')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.label).sort()),
  ).toEqual(['coffee', 'mug', 'shoe']);
  await expect(page.getByTestId('gallery-count')).toContainText('3 images');

  await page.getByTestId('to-gallery').check();
  await page.getByTestId('file-input').setInputFiles(photo('coffee.jpg'));
  await waitSettled(page, 1);
  // Its bytes are in the gallery for this model: the stored vector is used, the worker never sees it.
  await expect(page.getByTestId('batch-status')).toContainText(
    '1 was already in the gallery: its stored vector was used, not embedded again.',
  );
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
  // Searchable: the photo's own entry (the migrated one) is left out; the two others are its matches.
  await page.locator('[data-testid="image-card"]').first().click();
  await expect(page.getByTestId('gallery-matches').locator('li')).toHaveCount(2);
});
