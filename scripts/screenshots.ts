/**
 * npm run screenshots [-- --out docs/screenshots]
 *
 * Drives the page through its states with the shipped test photographs and saves one screenshot per view:
 * the README and the issue notes show these. Uses the same headless Chromium as the tests.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { openBrowserSession } from './lib/browser-session.ts';

const PHOTOS = 'test/fixtures/photos';
const FILES = ['cat-view-1.jpg', 'cat-view-2.jpg', 'coffee.jpg', 'rocket.jpg', 'astronaut.jpg'].map((f) => join(PHOTOS, f));

async function waitAllDone(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (count) => {
      const cards = [...document.querySelectorAll('[data-testid="image-card"]')];
      return cards.length >= count && cards.every((c) => ['done', 'error'].includes((c as HTMLElement).dataset.status ?? ''));
    },
    n,
    { timeout: 300_000 },
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/screenshots' } } });
  const out = values.out!;
  await mkdir(out, { recursive: true });
  const session = await openBrowserSession();
  try {
    const page = await session.newPage('/');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForSelector('[data-testid="model-status"][data-backend]', { timeout: 300_000 });
    await page.screenshot({ path: join(out, '1-start.jpg'), type: 'jpeg', quality: 80, fullPage: true });

    await page.setInputFiles('[data-testid="file-input"]', [...FILES, 'test/fixtures/images/not-an-image.jpg']);
    await waitAllDone(page, FILES.length + 1);
    await page.locator('[data-testid="image-card"]').first().click();
    await page.screenshot({ path: join(out, '2-images-and-vector.jpg'), type: 'jpeg', quality: 80, fullPage: true });

    await page.locator('[data-testid="similarity-matrix"] .matrix-cell[data-i="0"][data-j="1"]').hover();
    await page.locator('[data-testid="similarity-matrix"]').screenshot({ path: join(out, '3-similarity-matrix.jpg'), type: 'jpeg', quality: 80 });
    await page.locator('[data-testid="similarity-matrix"] .matrix-cell[data-i="0"][data-j="1"]').click();
    await page.screenshot({ path: join(out, '4-compare-pair.jpg'), type: 'jpeg', quality: 80 });
    await page.locator('[data-testid="compare-close"]').click();

    // A gallery from the first cat view and the unrelated photos; the second cat view is the query.
    for (const i of [0, 2, 3, 4]) {
      await page.locator(`[data-testid="image-card"][data-index="${i}"]`).click();
      await page.locator('[data-testid="add-label"]').fill(i === 0 ? 'cat' : ['', '', 'coffee', 'rocket', 'astronaut'][i]!);
      await page.locator('[data-testid="add-to-gallery"]').click();
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="gallery-item"]').length >= n, [0, 2, 3, 4].indexOf(i) + 1);
    }
    await page.locator('[data-testid="image-card"][data-index="1"]').click();
    await page.screenshot({ path: join(out, '5-gallery-search.jpg'), type: 'jpeg', quality: 80, fullPage: true });

    // Fine-tuning: the two cat views against the rest, a few epochs.
    for (const [i, label] of [[0, 'cat'], [1, 'cat'], [2, 'other'], [3, 'other'], [4, 'other']] as const) {
      await page.locator(`[data-testid="image-card"][data-index="${i}"]`).click();
      await page.locator('[data-testid="add-label"]').fill(label);
      await page.locator('[data-testid="add-label"]').dispatchEvent('change');
    }
    await page.locator('#ft-epochs').fill('12');
    await page.locator('#ft-val').fill('0.5');
    await page.locator('[data-testid="train-start"]').click();
    await page.waitForSelector('[data-testid="train-status"]:has-text("Done:")', { timeout: 300_000 });
    await page.locator('.training-section').screenshot({ path: join(out, '7-fine-tune.jpg'), type: 'jpeg', quality: 80 });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(out, '6-phone.jpg'), type: 'jpeg', quality: 80, fullPage: false });
    console.log(`screenshots in ${out}`);
  } finally {
    await session.close();
  }
}

await main();
