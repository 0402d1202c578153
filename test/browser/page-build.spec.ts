/** `npm run build`'s page works from any path: built once, served under a deep sub-path by a plain server. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { build } from 'vite';
import { startStaticServer, type StaticServer } from '../support/static-server.ts';
import { photo, waitSettled } from './support/page.ts';

let server: StaticServer;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  const outDir = join(await mkdtemp(join(tmpdir(), 'shitu-app-')), 'app');
  await build({ logLevel: 'error', build: { outDir, sourcemap: false } });
  server = await startStaticServer(outDir, { mount: '/some/deep/path/' });
});

test.afterAll(async () => server?.close());

test('the static build loads its embedded model and embeds images from a sub-path', async ({ page }) => {
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(server.url);
  await expect(page.getByTestId('model-status')).toContainText('pplcnet-x1_0-distilled-caltech60', { timeout: 90_000 });
  await page.getByTestId('file-input').setInputFiles([photo('cat-view-1.jpg'), photo('cat-view-2.jpg')]);
  await waitSettled(page, 2);
  await expect(page.locator('[data-testid="image-card"][data-status="done"]')).toHaveCount(2);
  const http = requests.filter((u) => u.startsWith('http'));
  expect(http.every((u) => u.startsWith(server.url))).toBe(true);
  expect(http.some((u) => u.endsWith('/some/deep/path/models/default/manifest.json'))).toBe(true);
});
