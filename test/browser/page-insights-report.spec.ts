/**
 * The gallery report on the page scores the gallery as `npm run eval` scores a split: the same images and
 * labels (a folder with some labels swapped, so recall@1 is neither 0 nor 1), the same model and backend, the
 * same recall@1 and mAP. The histogram marks the threshold in use; "use" sets the suggested one. An imported
 * gallery (vectors, no images) is reported too, on a class-stratified sample once it passes 2,000 images.
 */
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { evaluate } from '../../scripts/eval.ts';
import { galleryReport } from '../../src/core/gallery-report.ts';
import { sampleForReport } from '../../src/core/gallery-report-sample.ts';
import { normalSampler } from '../../src/core/seeded-random.ts';
import { writeLabelledFolder } from './support/labelled-folder.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

/** Three drawn classes of five with one image of each moved to the next label, and the photos in two labels. */
async function labelledSet(): Promise<{ root: string; split: string; count: number }> {
  const drawn = await writeLabelledFolder(['apple', 'boat', 'cloud'], 5);
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-report-')), 'gallery');
  const lines: string[] = [];
  const place = async (from: string, label: string, file: string) => {
    await mkdir(join(root, label), { recursive: true });
    await copyFile(from, join(root, label, file));
    lines.push(`${label}/${file}\t${label}`);
  };
  const labels = ['apple', 'boat', 'cloud'];
  for (const [l, label] of labels.entries()) {
    for (let k = 1; k <= 5; k++) {
      const target = k === 5 ? labels[(l + 1) % 3]! : label; // image_5 goes to the next label
      await place(join(drawn.root, label, `image_${k}.png`), target, `${label}_${k}.png`);
    }
  }
  for (const [file, label] of [
    ['cat-view-1.jpg', 'cat'],
    ['cat-view-2.jpg', 'cat'],
    ['rocket.jpg', 'space'],
    ['astronaut.jpg', 'space'],
    ['coffee.jpg', 'cat'],
  ] as const)
    await place(photo(file), label, file);
  const split = join(root, '..', 'split.txt');
  await writeFile(split, `${lines.join('\n')}\n`);
  return { root, split, count: lines.length };
}

test("the report's recall@1 and mAP are npm run eval's on the same images", async ({ page }) => {
  test.setTimeout(400_000);
  const set = await labelledSet();
  const evaluated = await evaluate({
    data: set.root,
    split: set.split,
    model: 'models/default',
    backend: 'wasm',
    log: () => undefined,
  });
  expect(evaluated.images).toBe(set.count);
  expect(evaluated.recall_at_1).toBeGreaterThan(0);
  expect(evaluated.recall_at_1).toBeLessThan(1);

  // The page on the same backend, with the default model.
  await page.addInitScript(() => {
    if (!sessionStorage.getItem('set')) {
      sessionStorage.setItem('set', '1');
      const model = new URL('models/default/manifest.json', location.href).href;
      localStorage.setItem('shitu-web.model', JSON.stringify({ model, backend: 'wasm' }));
    }
  });
  await openPage(page);
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-backend', 'wasm');
  await page.getByTestId('to-gallery').check();
  await page.getByTestId('folder-input').setInputFiles(set.root);
  await waitSettled(page, set.count);
  await expect(page.getByTestId('gallery-item')).toHaveCount(set.count, { timeout: 60_000 });

  await page.getByTestId('insights-toggle').click(); // the panel is folded until opened
  await page.getByTestId('tab-report').click();
  const report = page.getByTestId('gallery-report');
  await expect(report).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  const recall = Number(await report.getAttribute('data-recall-at-1'));
  const map = Number(await report.getAttribute('data-map'));
  console.log(`report: recall@1 ${recall}, mAP ${map}; npm run eval: ${evaluated.recall_at_1}, ${evaluated.map}`);
  expect(recall).toBe(evaluated.recall_at_1);
  expect(map).toBeCloseTo(evaluated.map, 6);

  // The parts: per class (apple, boat, cat, cloud, space), the histogram with both marks, confusions.
  await expect(page.getByTestId('report-classes').locator('tbody tr')).toHaveCount(5);
  await expect(report.locator('svg').first()).toContainText('yours');
  await expect(report.locator('svg').first()).toContainText('suggested');
  await expect(page.getByTestId('report-confused').locator('li')).not.toHaveCount(0);

  // "Use" sets the suggested threshold as the gallery's own, and the report follows it.
  const suggested = Number(await report.getAttribute('data-suggested-threshold'));
  await page.getByTestId('use-suggested-threshold').click();
  await expect(page.getByTestId('gallery-threshold')).toHaveValue(String(Number(suggested.toFixed(2))));
  await expect(report).toHaveAttribute('data-state', 'ready');
  await expect(report.locator('svg').first()).toContainText(`yours ${suggested.toFixed(2)}`);
});

test('an imported gallery without images is reported; past 2,000 images, on a sample that says so', async ({
  page,
}) => {
  test.setTimeout(300_000);
  // 30 classes of 70 clustered 512-d vectors, as gallery.jsonl (the page's own exchange format).
  const normal = normalSampler(7);
  const centres = Array.from({ length: 30 }, () => Array.from({ length: 512 }, normal));
  const rows = Array.from({ length: 2100 }, (_, i) => {
    const v = centres[i % 30]!.map((c) => c + 4 * normal());
    const norm = Math.hypot(...v);
    return { path: `item_${i}.jpg`, label: `class_${i % 30}`, embedding: v.map((x) => Math.fround(x / norm)) };
  });
  const dir = await mkdtemp(join(tmpdir(), 'shitu-imported-'));
  const file = join(dir, 'gallery.jsonl');
  await writeFile(file, rows.map((r, id) => JSON.stringify({ id, ...r })).join('\n') + '\n');
  const expected = galleryReport(
    sampleForReport(rows.map((r) => ({ id: r.path, label: r.label, embedding: Float32Array.from(r.embedding) })))
      .entries,
  );
  expect(expected.recallAt1).toBeGreaterThan(0.3);
  expect(expected.recallAt1).toBeLessThan(0.95);

  await openPage(page);
  await page.getByTestId('gallery-import').setInputFiles(file);
  await expect(page.getByTestId('gallery-count')).toContainText('2100', { timeout: 60_000 });
  await page.getByTestId('insights-toggle').click();
  await page.getByTestId('tab-report').click();
  const report = page.getByTestId('gallery-report');
  await expect(report).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(report).toHaveAttribute('data-gallery-images', '2100');
  await expect(report).toHaveAttribute('data-images', '2000');
  await expect(page.getByTestId('report-status')).toContainText("On 2000 of the gallery's 2100 images");
  // The page scores the stored int8 vectors (rounding moves near ties): close to core's float figures.
  const recall = Number(await report.getAttribute('data-recall-at-1'));
  const map = Number(await report.getAttribute('data-map'));
  console.log(
    `imported report: recall@1 ${recall}, mAP ${map}; core on float32: ${expected.recallAt1}, ${expected.map}`,
  );
  expect(recall).toBeCloseTo(expected.recallAt1, 1);
  expect(map).toBeCloseTo(expected.map, 1);
});
