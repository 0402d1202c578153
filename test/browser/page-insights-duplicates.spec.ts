/**
 * Near-duplicates on the page: photos with planted copies (a byte copy, a JPEG re-encoding, a brightened and a
 * shrunk copy; the fixtures' two cat views are two crops of one photo, one mirrored) form exactly the planted
 * groups, and the distinct images beside them (two fixture images, two drawn ones) are in none; "keep" marks
 * one member and the exports list the groups with that choice; "remove the others" takes them off the page and
 * out of the gallery (a byte copy's shared entry stays with the image kept), and the export still lists them.
 */
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import jpeg from 'jpeg-js';
import { writeLabelledFolder } from './support/labelled-folder.ts';
import { openPage, PHOTOS, photo, waitSettled } from './support/page.ts';

type Pixels = { width: number; height: number; data: Uint8Array };

async function variant(from: string, to: string, change: (p: Pixels) => Pixels, quality = 90): Promise<void> {
  const decoded = jpeg.decode(await readFile(from), { useTArray: true });
  await writeFile(to, jpeg.encode(change(decoded), quality).data);
}

const brighter = (p: Pixels): Pixels => ({
  ...p,
  data: p.data.map((v, i) => (i % 4 === 3 ? v : Math.min(255, v * 1.08))),
});

/** Every second pixel of every second row: half the size. */
function half(p: Pixels): Pixels {
  const width = Math.floor(p.width / 2);
  const height = Math.floor(p.height / 2);
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.set(p.data.subarray((2 * y * p.width + 2 * x) * 4, (2 * y * p.width + 2 * x) * 4 + 4), (y * width + x) * 4);
  return { width, height, data };
}

async function groups(page: Page): Promise<string[][]> {
  await expect(page.getByTestId('duplicates')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  return page
    .getByTestId('duplicate-group')
    .evaluateAll((els) =>
      els.map((g) => [...g.querySelectorAll<HTMLElement>('[data-name]')].map((m) => m.dataset.name!).sort()),
    );
}

test('planted copies are grouped, distinct photos are not; keep one, export, remove the others', async ({ page }) => {
  test.setTimeout(300_000);
  const dir = await mkdtemp(join(tmpdir(), 'shitu-dups-'));
  const drawn = await writeLabelledFolder(['apple', 'boat'], 1);
  const distinct = [
    'test/fixtures/images/gradient.jpg',
    'test/fixtures/images/shapes.png',
    join(drawn.root, 'apple', 'image_1.png'),
    join(drawn.root, 'boat', 'image_1.png'),
  ];
  const files = [...PHOTOS.map(photo), ...distinct];
  await copyFile(photo('coffee.jpg'), join(dir, 'coffee-copy.jpg'));
  await variant(photo('rocket.jpg'), join(dir, 'rocket-q60.jpg'), (p) => p, 60);
  await variant(photo('astronaut.jpg'), join(dir, 'astronaut-bright.jpg'), brighter);
  await variant(photo('astronaut.jpg'), join(dir, 'astronaut-half.jpg'), half);
  const planted = ['coffee-copy.jpg', 'rocket-q60.jpg', 'astronaut-bright.jpg', 'astronaut-half.jpg'];
  await openPage(page);
  await page.getByTestId('to-gallery').check(); // into the gallery too: removal takes their entries out
  await page.getByTestId('file-input').setInputFiles([...files, ...planted.map((f) => join(dir, f))]);
  await waitSettled(page, files.length + planted.length);
  await page.getByTestId('insights-toggle').click(); // the panel is folded until opened
  await page.getByTestId('tab-duplicates').click();

  const found = await groups(page);
  // Largest first: the astronaut and its two copies, then the pairs (by their first name).
  expect(found).toEqual([
    ['astronaut-bright.jpg', 'astronaut-half.jpg', 'astronaut.jpg'],
    ['cat-view-1.jpg', 'cat-view-2.jpg'],
    ['coffee-copy.jpg', 'coffee.jpg'],
    ['rocket-q60.jpg', 'rocket.jpg'],
  ]);
  const scores = await page
    .getByTestId('duplicate-group')
    .evaluateAll((els) => els.map((g) => Number((g as HTMLElement).dataset.maxScore)));
  expect(scores[2]).toBeCloseTo(1, 6); // the byte copy
  await expect(page.getByTestId('duplicates-evidence')).toContainText('0.85');

  // Keep one: the others are marked for removal, and the exports say so.
  const group = page.getByTestId('duplicate-group').first();
  await group.locator('[data-name="astronaut.jpg"] button').click();
  await expect(group.locator('[data-decision="keep"]')).toHaveAttribute('data-name', 'astronaut.jpg');
  await expect(group.locator('[data-decision="remove"]')).toHaveCount(2);
  const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('duplicates-export-json').click()]);
  const parsed = JSON.parse(await readFile((await json.path())!, 'utf8')) as {
    threshold: number;
    groups: { keep: string | null; members: { name: string; decision: string | null }[] }[];
  };
  expect(parsed.threshold).toBe(0.85);
  expect(parsed.groups).toHaveLength(4);
  expect(parsed.groups[0]!.keep).toBe('astronaut.jpg');
  expect(
    parsed.groups[0]!.members.filter((m) => m.decision === 'remove')
      .map((m) => m.name)
      .sort(),
  ).toEqual(['astronaut-bright.jpg', 'astronaut-half.jpg']);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('duplicates-export-csv').click()]);
  const lines = (await readFile((await csv.path())!, 'utf8')).trimEnd().split('\r\n');
  expect(lines[0]).toBe('group,name,decision,min_score,max_score');
  expect(lines).toHaveLength(1 + 9);
  expect(lines.filter((l) => l.includes(',remove,'))).toHaveLength(2);

  // A stricter threshold still groups the byte copy.
  const threshold = page.getByTestId('duplicate-threshold');
  await threshold.fill('0.999');
  await threshold.dispatchEvent('change');
  const strict = await groups(page);
  expect(strict).toContainEqual(['coffee-copy.jpg', 'coffee.jpg']);
  // A chain: the astronaut's three pairs scored (from the page's own export), and a threshold between the second
  // and the lowest links all three through two pairs only. "Keep the first" marks the groups of copies, not it.
  const [exported] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  const rows = (
    JSON.parse(await readFile((await exported.path())!, 'utf8')) as {
      embeddings: { name: string; embedding: number[] }[];
    }
  ).embeddings;
  const vec = (name: string) => rows.find((r) => r.name === name)!.embedding;
  const cos = (a: number[], b: number[]) =>
    a.reduce((s, v, k) => s + v * b[k]!, 0) / Math.hypot(...a) / Math.hypot(...b);
  const trio = ['astronaut.jpg', 'astronaut-bright.jpg', 'astronaut-half.jpg'].map(vec);
  const pairs = [cos(trio[0]!, trio[1]!), cos(trio[0]!, trio[2]!), cos(trio[1]!, trio[2]!)].sort((a, b) => b - a);
  const chainAt = ((pairs[1]! + pairs[2]!) / 2).toFixed(4);
  await threshold.fill(chainAt);
  await threshold.dispatchEvent('change');
  const linked = await groups(page);
  expect(linked).toContainEqual(
    expect.arrayContaining(['astronaut-bright.jpg', 'astronaut-half.jpg', 'astronaut.jpg']),
  );
  await page.getByTestId('duplicates-keep-first').click();
  const marks = await page
    .getByTestId('duplicate-group')
    .evaluateAll((els) =>
      els.map((g) => [
        (g as HTMLElement).dataset.chain,
        [...g.querySelectorAll<HTMLElement>('[data-name]')].map((m) => m.dataset.name).join(' '),
        g.querySelectorAll('[data-decision="keep"]').length,
      ]),
    );
  console.log(`at ${chainAt}: ${JSON.stringify(marks)} ([chain, members, kept] per group)`);
  expect(marks.filter(([chain]) => chain === 'true').length).toBeGreaterThan(0);
  for (const [chain, , kept] of marks) expect(kept).toBe(chain === 'true' ? 0 : 1);
  await expect(page.getByTestId('duplicates-status')).toContainText('"keep the first" leaves');
  await threshold.fill('0.85');
  await threshold.dispatchEvent('change');
  expect(await groups(page)).toHaveLength(4);

  // Remove the others: off the page and out of the gallery.
  const cards = page.getByTestId('image-card');
  const entries = page.getByTestId('gallery-item');
  const n = files.length + planted.length;
  await expect(cards).toHaveCount(n);
  await expect(entries).toHaveCount(n - 1); // the byte copy shares the entry of the image it copies
  const astronauts = page.getByTestId('duplicate-group').first();
  // The choice went with the 0.999 search, which did not find this group.
  await expect(astronauts.locator('[data-decision="keep"]')).toHaveCount(0);
  await astronauts.locator('[data-name="astronaut.jpg"] button').click();
  await expect(astronauts.getByTestId('duplicate-remove')).toHaveText('Remove the other 2 (and 2 gallery entries)');
  await astronauts.getByTestId('duplicate-remove').click();
  await expect(cards).toHaveCount(n - 2);
  await expect(page.locator('[data-testid="image-card"][data-name^="astronaut-"]')).toHaveCount(0);
  await expect(entries).toHaveCount(n - 3);
  expect(await groups(page)).toEqual([
    ['cat-view-1.jpg', 'cat-view-2.jpg'],
    ['coffee-copy.jpg', 'coffee.jpg'],
    ['rocket-q60.jpg', 'rocket.jpg'],
  ]);
  await expect(page.getByTestId('duplicates')).toHaveAttribute('data-removed', '2');

  // Every group at once: the first dropped of each is kept (a file input lists its files by name).
  await page.getByTestId('duplicates-keep-first').click();
  await expect(page.getByTestId('duplicates-remove-marked')).toHaveText('Remove the 3 marked');
  await page.getByTestId('duplicates-remove-marked').click();
  expect(await groups(page)).toEqual([]);
  await expect(cards).toHaveCount(n - 5);
  await expect(entries).toHaveCount(n - 5); // coffee.jpg's entry is its copy's too: it stays
  await expect(page.getByTestId('duplicates-status')).toContainText(
    'Removed 3 images from the page and 2 from the gallery',
  );
  const kept = await cards.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name));
  expect(kept).toEqual(
    expect.arrayContaining(['astronaut.jpg', 'cat-view-1.jpg', 'coffee-copy.jpg', 'rocket-q60.jpg']),
  );
  expect(kept).toHaveLength(n - 5);
  const [after] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('duplicates-export-json').click(),
  ]);
  const removed = JSON.parse(await readFile((await after.path())!, 'utf8')) as typeof parsed;
  expect(removed.groups.map((g) => g.keep)).toEqual([
    'astronaut.jpg',
    'cat-view-1.jpg',
    'coffee-copy.jpg',
    'rocket-q60.jpg',
  ]);
  expect(removed.groups.flatMap((g) => g.members.filter((m) => m.decision === 'removed').map((m) => m.name))).toEqual([
    'astronaut-bright.jpg',
    'astronaut-half.jpg',
    'cat-view-2.jpg',
    'coffee.jpg',
    'rocket.jpg',
  ]);
});
