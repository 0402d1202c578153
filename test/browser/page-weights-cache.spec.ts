/**
 * A second visit loads the default model's weights from Cache Storage: no request for its shards, and the
 * embeddings are the same as on the first visit.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { openPage, photo, waitSettled } from './support/page.ts';

async function firstVector(page: Page): Promise<number[]> {
  await page.getByTestId('file-input').setInputFiles([photo('coffee.jpg')]);
  await waitSettled(page, 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const path = await download.path();
  const json = JSON.parse(await readFile(path, 'utf8')) as { embeddings: { embedding: number[] }[] };
  return json.embeddings[0]!.embedding;
}

test('a second visit takes the weight shards from Cache Storage', async ({ page, context }) => {
  const shardRequests: string[] = [];
  context.on('request', (r) => {
    if (/\/models\/default\/[^/]+\.bin$/.test(new URL(r.url()).pathname)) shardRequests.push(r.url());
  });
  await openPage(page);
  const first = shardRequests.length;
  expect(first).toBeGreaterThan(0);
  const before = await firstVector(page);

  await page.reload();
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-backend', /.+/, { timeout: 90_000 });
  expect(shardRequests.length).toBe(first);
  const cached = await page.evaluate(async () => (await (await caches.open('shitu-web-shards-v1')).keys()).length);
  expect(cached).toBe(first);
  expect(await firstVector(page)).toEqual(before);
});
