/**
 * npm run screenshots [-- --data ../shared/data/caltech101-80 --split splits/eval.txt] [--out docs/screenshots]
 *                     [--only insights]
 *
 * Drives the page as a first-time user with a real set of photos would, and saves one screenshot per view,
 * at desktop width (1280) and phone width (390): the README and the issue notes show these.
 * With --data: 10 classes (the split's first 10 by name), 15 photos each as the labelled gallery (150 images,
 * dropped as one folder), and one more photo of each class as a query. Without it: the shipped test photos.
 * Then "See the embeddings": the map (PCA, then UMAP), the gallery report and the near-duplicates, as PNGs.
 * --only insights: those four alone (no fine-tuning, no phone), into the same folder.
 * Uses the same headless Chromium as the tests; touches only the page's own test hooks (data-testid).
 */
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { openBrowserSession } from './lib/browser-session.ts';
import { readSplit } from './lib/split.ts';

const PHOTOS = 'test/fixtures/photos';
const CLASSES = 10;
const GALLERY_PER_CLASS = 15;

interface Scenario {
  /** A folder of labelled subfolders: the gallery. */
  readonly galleryDir: string;
  readonly galleryCount: number;
  /** Query photos, named q_<label>.<ext>. */
  readonly queries: string[];
}

async function scenarioFromSplit(data: string, split: string): Promise<Scenario> {
  const entries = await readSplit(join(data, split));
  const byLabel = new Map<string, string[]>();
  for (const e of entries) byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), e.path]);
  const labels = [...byLabel.keys()].sort().slice(0, CLASSES);
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-shots-')), 'gallery');
  const queryDir = join(root, '..', 'queries');
  await mkdir(queryDir, { recursive: true });
  const queries: string[] = [];
  for (const label of labels) {
    const paths = byLabel.get(label)!.sort();
    await mkdir(join(root, label), { recursive: true });
    for (const p of paths.slice(0, GALLERY_PER_CLASS)) await copyFile(join(data, p), join(root, label, basename(p)));
    const q = paths[GALLERY_PER_CLASS];
    if (q) {
      const to = join(queryDir, `q_${label}${q.slice(q.lastIndexOf('.'))}`);
      await copyFile(join(data, q), to);
      queries.push(to);
    }
  }
  return { galleryDir: root, galleryCount: labels.length * GALLERY_PER_CLASS, queries };
}

async function scenarioFromShippedPhotos(): Promise<Scenario> {
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-shots-')), 'gallery');
  for (const [label, file] of [
    ['cat', 'cat-view-1.jpg'],
    ['coffee', 'coffee.jpg'],
    ['rocket', 'rocket.jpg'],
  ] as const) {
    await mkdir(join(root, label), { recursive: true });
    await copyFile(join(PHOTOS, file), join(root, label, file));
  }
  return {
    galleryDir: root,
    galleryCount: 3,
    queries: [join(PHOTOS, 'cat-view-2.jpg'), join(PHOTOS, 'astronaut.jpg')],
  };
}

async function waitAllDone(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (count) => {
      const cards = [...document.querySelectorAll('[data-testid="image-card"]')];
      return (
        cards.length >= count && cards.every((c) => ['done', 'error'].includes((c as HTMLElement).dataset.status ?? ''))
      );
    },
    n,
    { timeout: 600_000 },
  );
}

async function shoot(page: Page, out: string, name: string, fullPage: boolean): Promise<void> {
  await page.screenshot({ path: join(out, `${name}.jpg`), type: 'jpeg', quality: 70, fullPage });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  console.log(`${name}.jpg: page height ${height} px`);
}

/** The map (PCA, UMAP), the gallery report and the near-duplicates, each its tab panel whole. */
async function shootInsights(page: Page, out: string): Promise<void> {
  // The tab panels scroll inside a bounded box on the page; here each is shot whole.
  const whole = await page.addStyleTag({ content: '.tab-panel { max-height: none !important; }' });
  const panel = page.locator('#insights-panel');
  if (!(await panel.evaluate((d) => (d as HTMLDetailsElement).open)))
    await page.locator('[data-testid="insights-toggle"]').click();
  const map = '[data-testid="embedding-map"]';
  await page.waitForSelector(`${map}[data-state="ready"]:not([data-count="0"])`, { timeout: 120_000 });
  await panel.scrollIntoViewIfNeeded();
  await page.waitForTimeout(500); // thumbnails decode off the main thread
  await panel.screenshot({ path: join(out, '9-map-pca.png') });
  await page.locator('[data-testid="map-layout"]').selectOption('umap');
  await page.waitForSelector(`${map}[data-layout="umap"][data-state="ready"]`, { timeout: 600_000 });
  await page.waitForTimeout(300);
  await panel.screenshot({ path: join(out, '10-map-umap.png') });
  console.log(`UMAP of the map: ${await page.locator(map).getAttribute('data-umap-ms')} ms`);
  await page.locator('[data-testid="tab-report"]').click();
  // The shipped photos' gallery has one image per label: the report says what it needs instead of figures.
  await page.waitForSelector(
    '[data-testid="gallery-report"]:is([data-state="ready"][data-recall-at-1], [data-state="empty"])',
    { timeout: 120_000, state: 'attached' },
  );
  await panel.screenshot({ path: join(out, '11-gallery-report.png') });
  const report = page.locator('[data-testid="gallery-report"]');
  console.log(
    `gallery report: recall@1 ${await report.getAttribute('data-recall-at-1')}, mAP ${await report.getAttribute('data-map')}`,
  );
  await page.locator('[data-testid="tab-duplicates"]').click();
  await page.waitForSelector('[data-testid="duplicates"][data-state="ready"]', { timeout: 120_000 });
  // The choice made, not carried out: the shots after this one show every image still there.
  const keepFirst = page.locator('[data-testid="duplicates-keep-first"]');
  if (await keepFirst.isEnabled()) await keepFirst.click();
  await page.waitForTimeout(300);
  await panel.screenshot({ path: join(out, '12-near-duplicates.png') });
  console.log(
    `near-duplicates: ${await page.locator('[data-testid="duplicate-group"]').count()} groups; ${await page.locator('[data-testid="duplicates-remove-marked"]').textContent()}`,
  );
  // The page as it was for the shots that follow: the map's tab, the panel folded, the boxes bounded.
  await page.locator('[data-testid="tab-map"]').click();
  await page.locator('[data-testid="insights-toggle"]').click();
  await whole.evaluate((style) => (style as Element).remove());
  console.log('9-map-pca.png, 10-map-umap.png, 11-gallery-report.png, 12-near-duplicates.png');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'docs/screenshots' },
      data: { type: 'string' },
      split: { type: 'string', default: 'splits/eval.txt' },
      only: { type: 'string' },
    },
  });
  if (values.only !== undefined && values.only !== 'insights') throw new Error('--only takes "insights"');
  const out = values.out!;
  await mkdir(out, { recursive: true });
  const scenario = values.data
    ? await scenarioFromSplit(values.data, values.split!)
    : await scenarioFromShippedPhotos();
  const total = scenario.galleryCount + scenario.queries.length;
  const session = await openBrowserSession();
  try {
    const page = await session.newPage('/');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForSelector('[data-testid="model-status"][data-backend]', { timeout: 300_000 });
    if (!values.only) await shoot(page, out, '1-start', true);

    await page.locator('[data-testid="to-gallery"]').check();
    await page.setInputFiles('[data-testid="folder-input"]', scenario.galleryDir);
    await waitAllDone(page, scenario.galleryCount);
    await page.locator('[data-testid="to-gallery"]').uncheck();
    await page.setInputFiles('[data-testid="file-input"]', scenario.queries);
    await waitAllDone(page, total);
    if (values.only) {
      await shootInsights(page, out);
      return;
    }
    // The last query: far down the list of cards, where a panel out of view used to change unseen.
    const last = page.locator('[data-testid="image-card"]').last();
    await last.scrollIntoViewIfNeeded();
    await last.click();
    await page.waitForTimeout(500);
    await shoot(page, out, '2-query-selected', false);
    await shoot(page, out, '3-whole-page', true);
    const matrix = page.locator('[data-testid="similarity-matrix"]');
    await matrix.scrollIntoViewIfNeeded();
    await matrix.screenshot({ path: join(out, '4-similarity-matrix.jpg'), type: 'jpeg', quality: 70 });

    await shootInsights(page, out);

    await page.locator('#ft-epochs').fill('10');
    await page.locator('[data-testid="train-start"]').click();
    await page.waitForSelector('[data-testid="train-status"]:has-text("Done:")', { timeout: 600_000 });
    await waitAllDone(page, total);
    await page
      .locator('.training-section')
      .screenshot({ path: join(out, '5-fine-tune.jpg'), type: 'jpeg', quality: 70 });
    await page.locator('.gallery-panel').scrollIntoViewIfNeeded();
    await shoot(page, out, '6-after-fine-tune', false);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shoot(page, out, '7-phone', true);
    await page.locator('[data-testid="image-card"]').last().scrollIntoViewIfNeeded();
    await page.locator('[data-testid="image-card"]').last().click();
    await page.waitForTimeout(500);
    await shoot(page, out, '8-phone-selected', false);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    console.log(`phone: document width ${overflow} px at a 390 px viewport`);
    console.log(`screenshots in ${out}`);
  } finally {
    await session.close();
  }
}

await main();
