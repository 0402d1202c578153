/**
 * The gallery: a folder drop labels images by subfolder, a query is recognised, the gallery survives a
 * reload, and it travels as one file (export, empty, import).
 */
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { openPage, photo, waitSettled } from './support/page.ts';

test('folder drop builds a labelled gallery that recognises a query, survives reload, exports and imports', async ({
  page,
}) => {
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-gallery-')), 'my-gallery');
  for (const [label, file] of [
    ['cat', 'cat-view-1.jpg'],
    ['coffee', 'coffee.jpg'],
    ['rocket', 'rocket.jpg'],
  ] as const) {
    await mkdir(join(root, label), { recursive: true });
    await copyFile(photo(file), join(root, label, file));
  }
  await openPage(page);
  await page.getByTestId('to-gallery').check();
  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, 3);
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
  expect(
    await page
      .getByTestId('gallery-item')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.label).sort()),
  ).toEqual(['cat', 'coffee', 'rocket']);
  await expect(page.locator('[data-testid="image-card"][data-name="cat/cat-view-1.jpg"]')).toBeVisible();

  // A query: the other view of the cat, not added to the gallery.
  await page.getByTestId('to-gallery').uncheck();
  await page.getByTestId('file-input').setInputFiles(photo('cat-view-2.jpg'));
  await waitSettled(page, 4);
  await page.locator('[data-testid="image-card"][data-name="cat-view-2.jpg"]').click();
  await expect(page.getByTestId('query-label')).toHaveAttribute('data-label', 'cat');
  await expect(page.getByTestId('gallery-matches').locator('li').first()).toHaveAttribute('data-label', 'cat');
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);

  // A threshold above every score leaves the query unknown.
  await page.getByTestId('gallery-threshold').fill('0.99');
  await page.getByTestId('gallery-threshold').dispatchEvent('change');
  await expect(page.getByTestId('query-label')).toHaveAttribute('data-label', '');
  await expect(page.getByTestId('query-label')).toContainText('Unknown');

  await page.reload();
  await openPage(page);
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
  await expect(page.getByTestId('gallery-threshold')).toHaveValue('0.99');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('gallery-export').click()]);
  const file = (await download.path())!;
  const saved = JSON.parse(await readFile(file, 'utf8')) as {
    format: string;
    items: { label: string; embedding: string; thumbnail: string }[];
  };
  expect(saved.format).toBe('shitu-web/gallery');
  expect(saved.items.map((i) => i.label).sort()).toEqual(['cat', 'coffee', 'rocket']);
  for (const item of saved.items) {
    expect(Buffer.from(item.embedding, 'base64').length).toBe(512 * 4);
    expect(item.thumbnail.startsWith('data:image/jpeg;base64,')).toBe(true);
  }

  page.once('dialog', (d) => void d.accept());
  await page.getByTestId('gallery-clear').click();
  await expect(page.getByTestId('gallery-item')).toHaveCount(0);
  await page.getByTestId('gallery-import').setInputFiles(file);
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
  await expect(page.getByTestId('gallery-message')).toContainText('Imported 3 gallery images');

  // A file that is not a gallery is refused with a message; the gallery is untouched.
  await page
    .getByTestId('gallery-import')
    .setInputFiles({ name: 'nope.json', mimeType: 'application/json', buffer: Buffer.from('{"format":"other"}') });
  await expect(page.getByTestId('gallery-message')).toContainText('not a gallery file');
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
});
