/**
 * The embedding map: one hook per embedded image whose data-x / data-y are PCA's coordinates (checked against
 * a PCA computed here another way: the Gram matrix and power iteration, from the exported embeddings); hover
 * names an image, a click selects its card, a lasso labels several at once (and puts them in the gallery);
 * UMAP lays the same images out in its worker.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { writeLabelledFolder } from './support/labelled-folder.ts';
import { openPage, PHOTOS, photo, waitSettled } from './support/page.ts';

interface Hook {
  name: string;
  x: number;
  y: number;
  label: string;
}

async function hooks(page: Page, layout = 'pca'): Promise<Hook[]> {
  const map = page.getByTestId('embedding-map');
  await expect(map).toHaveAttribute('data-layout', layout, { timeout: 120_000 });
  await expect(map).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  return map.locator('li[data-name]').evaluateAll((els) =>
    els.map((e) => {
      const d = (e as HTMLElement).dataset;
      return { name: d.name!, x: Number(d.x), y: Number(d.y), label: d.label! };
    }),
  );
}

/** PCA another way: centre, Gram matrix X Xᵀ, power iteration with deflation, axis Xᵀ u, sign by its largest component. */
function referencePca(rows: number[][]): { x: number[]; y: number[] } {
  const n = rows.length;
  const d = rows[0]!.length;
  const mean = Array.from({ length: d }, (_, k) => rows.reduce((s, r) => s + r[k]!, 0) / n);
  const c = rows.map((r) => r.map((v, k) => v - mean[k]!));
  const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);
  const g = c.map((a) => c.map((b) => dot(a, b)));
  const coords: number[][] = [];
  for (let comp = 0; comp < 2; comp++) {
    let u = Array.from({ length: n }, (_, i) => 1 + i / n);
    let lambda = 0;
    for (let it = 0; it < 5000; it++) {
      const w = g.map((row) => dot(row, u));
      lambda = Math.hypot(...w);
      u = w.map((v) => v / lambda);
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i]![j]! -= lambda * u[i]! * u[j]!;
    const axis = Array.from({ length: d }, (_, k) => c.reduce((s, row, i) => s + row[k]! * u[i]!, 0));
    const norm = Math.hypot(...axis);
    let at = 0;
    for (let k = 1; k < d; k++) if (Math.abs(axis[k]!) > Math.abs(axis[at]!)) at = k;
    const sign = axis[at]! < 0 ? -1 : 1;
    coords.push(c.map((row) => (sign * dot(row, axis)) / norm));
  }
  return { x: coords[0]!, y: coords[1]! };
}

/** The canvas's own fit (embedding-map-canvas.ts): 24 px of padding plus half a 34 px thumbnail. */
async function screenPoint(page: Page, all: Hook[], name: string): Promise<{ x: number; y: number }> {
  const box = (await page.getByTestId('embedding-map').locator('canvas').boundingBox())!;
  const pad = 24 + 17;
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const p = all.find((h) => h.name === name)!;
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return {
    x: box.x + pad + ((p.x - minX) / (maxX - minX)) * (box.width - 2 * pad),
    y: box.y + pad + ((maxY - p.y) / (maxY - minY)) * (box.height - 2 * pad),
  };
}

test('the map places every image by PCA, names it on hover, selects it on click, labels a lasso', async ({ page }) => {
  test.setTimeout(300_000);
  const folder = await writeLabelledFolder(['apple', 'boat', 'cloud'], 4);
  await openPage(page);
  await page.getByTestId('insights-toggle').click(); // the panel is folded until opened
  await page.getByTestId('folder-input').setInputFiles(folder.root);
  await page.getByTestId('file-input').setInputFiles(PHOTOS.map(photo));
  const count = folder.names.length + PHOTOS.length;
  await waitSettled(page, count);

  // (1) Positions: PCA of the exported embeddings, computed here.
  const all = await hooks(page);
  expect(all).toHaveLength(count);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as {
    embeddings: { name: string; embedding: number[] }[];
  };
  const ref = referencePca(exported.embeddings.map((e) => e.embedding.map((v) => Math.fround(v))));
  const spread = Math.max(...ref.x.map(Math.abs));
  exported.embeddings.forEach((e, i) => {
    const hook = all.find((h) => h.name === e.name)!;
    expect(hook, e.name).toBeDefined();
    expect(Math.abs(hook.x - ref.x[i]!), `${e.name} x`).toBeLessThan(1e-4 * spread + 1e-6);
    expect(Math.abs(hook.y - ref.y[i]!), `${e.name} y`).toBeLessThan(1e-4 * spread + 1e-6);
  });
  // Coloured by label: the folder's labels, no label for the loose photos (the gallery is empty).
  expect(all.filter((h) => h.label === 'apple')).toHaveLength(4);
  await expect(page.getByTestId('map-legend')).toContainText('apple (4)');

  // (2) Hover names the image; a click selects its card.
  const target = PHOTOS[2]!;
  await page.getByTestId('embedding-map').locator('canvas').scrollIntoViewIfNeeded();
  const at = await screenPoint(page, all, target);
  await page.mouse.move(at.x, at.y);
  await expect(page.locator('.map-tooltip')).toContainText(target);
  await page.mouse.click(at.x, at.y);
  await expect(page.locator(`[data-testid="image-card"][data-name="${target}"]`)).toHaveAttribute(
    'aria-selected',
    'true',
  );

  // (3) A lasso round the three leftmost points labels them, and adds them to the gallery.
  const points = await Promise.all(all.map(async (h) => ({ name: h.name, ...(await screenPoint(page, all, h.name)) })));
  points.sort((a, b) => a.x - b.x);
  const left = points.slice(0, 3);
  const cut = (points[2]!.x + points[3]!.x) / 2;
  const box = (await page.getByTestId('embedding-map').locator('canvas').boundingBox())!;
  test.skip(points[3]!.x - points[2]!.x < 1, 'two points share an x: no clean cut');
  await page.mouse.move(box.x + 1, box.y + 1);
  await page.mouse.down();
  for (const [x, y] of [
    [cut, box.y + 1],
    [cut, box.y + box.height - 1],
    [box.x + 1, box.y + box.height - 1],
    [box.x + 1, box.y + 2],
  ])
    await page.mouse.move(x!, y!, { steps: 4 });
  await page.mouse.up();
  await expect(page.getByTestId('map-selected-count')).toHaveText('3 images selected.');
  await page.getByTestId('map-label').fill('lassoed');
  await page.getByTestId('map-apply-label').click();
  const labelled = await hooks(page);
  expect(
    labelled
      .filter((h) => h.label === 'lassoed')
      .map((h) => h.name)
      .sort(),
  ).toEqual(left.map((p) => p.name).sort());
  await expect(page.getByTestId('gallery-item')).toHaveCount(3);
  for (const p of left)
    await expect(page.locator(`[data-testid="image-card"][data-name="${p.name}"]`)).toContainText('lassoed');

  // (4) UMAP, in its worker, with progress; positions are finite and differ from PCA's.
  await page.getByTestId('map-layout').selectOption('umap');
  const umap = await hooks(page, 'umap');
  expect(umap).toHaveLength(count);
  for (const h of umap) expect(Number.isFinite(h.x) && Number.isFinite(h.y)).toBe(true);
  await expect(page.getByTestId('map-status')).toContainText('UMAP of 17 images');
});
