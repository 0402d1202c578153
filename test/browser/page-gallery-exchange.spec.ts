/**
 * Leaving the browser: the page's gallery exported as PP-ShiTu's vector.index + id_map.pkl is searched by
 * faiss (scripts/check-faiss-gallery.py, as PaddleClas's predict_system.py reads them) with the same top 5 as
 * the page; imported back, it recognises the same query. Skipped where python3-faiss is missing (CI installs it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { writeNpyFloat32 } from '../../src/core/gallery-formats/index.ts';
import { PNG } from 'pngjs';
import { mulberry32 } from '../support/random-weights.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

// Debian's python3 (python3-faiss); another python3 on PATH (pyenv) usually lacks faiss.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasFaiss = spawnSync(PYTHON, ['-c', 'import faiss, numpy'], { stdio: 'ignore' }).status === 0;

function noisePng(seed: number): Buffer {
  const rand = mulberry32(seed);
  const png = new PNG({ width: 96, height: 96 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i & 3) === 3 ? 255 : Math.floor(rand() * 256);
  return PNG.sync.write(png);
}

async function matches(page: Page): Promise<{ name: string; label: string; score: number }[]> {
  const items = page.getByTestId('gallery-matches').locator('li');
  await expect(items.first()).toBeVisible();
  return items.evaluateAll((els) =>
    els.map((e) => {
      const d = (e as HTMLElement).dataset;
      return { name: d.name!, label: d.label!, score: Number(d.score) };
    }),
  );
}

test('the gallery exported for PP-ShiTu gives faiss the page top 5, and comes back', async ({ page }) => {
  test.skip(!hasFaiss, `${PYTHON} cannot import faiss and numpy (Debian: apt-get install python3-faiss)`);
  const dir = await mkdtemp(join(tmpdir(), 'shitu-exchange-'));
  const root = join(dir, 'my gallery');
  for (const [label, file] of [
    ['cat', 'cat-view-1.jpg'],
    ['coffee', 'coffee.jpg'],
    ['rocket', 'rocket.jpg'],
    ['astronaut', 'astronaut.jpg'],
  ] as const) {
    await mkdir(join(root, label), { recursive: true });
    await copyFile(photo(file), join(root, label, file));
  }
  // Two more distinct images (a gallery keys images by their bytes), so the top 5 is a real choice of 6.
  await mkdir(join(root, 'noise'));
  for (const seed of [1, 2]) await writeFile(join(root, 'noise', `noise-${seed}.png`), noisePng(seed));
  await openPage(page);
  await page.getByTestId('to-gallery').check();
  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, 6);
  await page.getByTestId('to-gallery').uncheck();
  await page.getByTestId('file-input').setInputFiles(photo('cat-view-2.jpg'));
  await waitSettled(page, 7);
  await page.locator('[data-testid="image-card"][data-name="cat-view-2.jpg"]').click();
  const inPage = await matches(page);
  expect(inPage).toHaveLength(5);

  // The query's embedding, from the page's own export.
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const rows = JSON.parse(await readFile((await json.path())!, 'utf8')) as {
    embeddings: { name: string; embedding: number[] }[];
  };
  const query = rows.embeddings.find((r) => r.name === 'cat-view-2.jpg')!.embedding;
  await writeFile(join(dir, 'queries.npy'), writeNpyFloat32(Float32Array.from(query), 1, query.length));

  await page.getByTestId('gallery-export-format').selectOption('ppshitu');
  const downloads: string[] = [];
  const saved = new Promise<void>((resolve) => {
    page.on('download', async (d) => {
      await d.saveAs(join(dir, d.suggestedFilename()));
      downloads.push(d.suggestedFilename());
      if (downloads.length === 2) resolve();
    });
  });
  await page.getByTestId('gallery-export').click();
  await saved;
  expect(downloads.sort()).toEqual(['id_map.pkl', 'vector.index']);
  await expect(page.getByTestId('gallery-message')).toContainText("Exported 6 gallery images as PP-ShiTu's");

  const faiss = JSON.parse(
    execFileSync(PYTHON, ['scripts/check-faiss-gallery.py', dir, join(dir, 'queries.npy')], { encoding: 'utf8' }),
  ) as { ids: number[][]; scores: number[][]; labels: string[][] };
  const idMap = JSON.parse(
    execFileSync(
      PYTHON,
      [
        '-c',
        `import pickle,json,sys; print(json.dumps({int(k): v for k, v in pickle.load(open(sys.argv[1], 'rb')).items()}))`,
        join(dir, 'id_map.pkl'),
      ],
      { encoding: 'utf8' },
    ),
  ) as Record<string, string>;
  const faissTop = faiss.ids[0]!.map((id, k) => ({
    name: idMap[id]!.split('\t')[0]!,
    label: faiss.labels[0]![k]!,
    score: faiss.scores[0]![k]!,
  }));
  expect(faissTop.map((m) => [m.name, m.label])).toEqual(inPage.map((m) => [m.name, m.label]));
  // The page scores int8 codes; faiss the floats they decode to: equal within the quantisation step.
  for (let k = 0; k < 5; k++) expect(Math.abs(faissTop[k]!.score - inPage[k]!.score)).toBeLessThan(2e-3);

  // Back in: empty the gallery, import the two files, the query finds the same five.
  page.once('dialog', (d) => void d.accept());
  await page.getByTestId('gallery-clear').click();
  await expect(page.getByTestId('gallery-item')).toHaveCount(0);
  await page.getByTestId('gallery-import').setInputFiles([join(dir, 'vector.index'), join(dir, 'id_map.pkl')]);
  await expect(page.getByTestId('gallery-message')).toContainText(
    'Imported 6 gallery entries from vector.index + id_map.pkl',
  );
  await expect(page.getByTestId('gallery-item')).toHaveCount(6);
  await page.locator('[data-testid="image-card"][data-name="cat-view-2.jpg"]').click();
  const back = await matches(page);
  expect(back.map((m) => [m.name, m.label])).toEqual(inPage.map((m) => [m.name, m.label]));
});
