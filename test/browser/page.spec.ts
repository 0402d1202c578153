/**
 * The page as `npm start` serves it, with real photographs: cards and their states, the vector view,
 * the similarity matrix (and its pair view), top-k, bad files on their own cards, keyboard use.
 */
import { expect, test } from '@playwright/test';
import { matrixValue, openPage, photo, PHOTOS, waitSettled } from './support/page.ts';

test('photos are embedded: 512-d vectors, two views of the cat closer than anything else', async ({ page }) => {
  await openPage(page);
  await expect(page.getByTestId('model-status')).toContainText('pplcnet-x1_0-distilled-caltech60');
  await page.getByTestId('file-input').setInputFiles(PHOTOS.map(photo));
  await waitSettled(page, PHOTOS.length);
  await expect(page.locator('[data-testid="image-card"][data-status="done"]')).toHaveCount(PHOTOS.length);

  // The first card is selected on arrival: its vector is drawn with its statistics, and can be copied.
  await expect(page.getByTestId('vector-stats')).toContainText('512 values · norm 1.0000');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByTestId('copy-vector').click();
  await expect(page.getByText('Copied 512 values.')).toBeVisible();
  const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText())) as number[];
  expect(copied).toHaveLength(512);
  expect(Math.hypot(...copied)).toBeCloseTo(1, 4);

  // Picked files are taken in name order: astronaut, the two cat views (1 and 2), coffee, rocket.
  const index = async (name: string) =>
    Number(await page.locator(`[data-testid="image-card"][data-name="${name}"]`).getAttribute('data-index'));
  const [a, b] = [await index('cat-view-1.jpg'), await index('cat-view-2.jpg')];
  expect([a, b]).toEqual([1, 2]);
  const cats = await matrixValue(page, a, b);
  expect(await matrixValue(page, b, a)).toBeCloseTo(cats, 6);
  expect(await matrixValue(page, a, a)).toBeCloseTo(1, 5);
  for (const other of [0, 3, 4]) {
    expect(cats).toBeGreaterThan(await matrixValue(page, a, other));
    expect(cats).toBeGreaterThan(await matrixValue(page, b, other));
  }
  // Top-k of the first cat starts with the other cat.
  await page.locator(`[data-testid="image-card"][data-index="${a}"]`).click();
  await expect(page.getByTestId('topk-list').locator('li').first()).toHaveAttribute('data-index', String(b));

  // Hover names the pair; a click shows both images side by side.
  const cell = page.locator(`[data-testid="similarity-matrix"] [data-i="${a}"][data-j="${b}"]`);
  await cell.hover();
  await expect(page.getByTestId('matrix-tooltip')).toContainText(`cat-view-1.jpg × cat-view-2.jpg: ${cats.toFixed(3)}`);
  await cell.click();
  await expect(page.getByTestId('compare-dialog')).toBeVisible();
  await expect(page.getByTestId('compare-dialog').locator('img')).toHaveCount(2);
  await page.getByTestId('compare-close').click();
  await expect(page.getByTestId('compare-dialog')).toBeHidden();
});

test('bad files show their error on their own card; the others are embedded', async ({ page }) => {
  await openPage(page);
  const bad = ['not-an-image.jpg', 'truncated.jpg', 'empty.jpg'];
  await page
    .getByTestId('file-input')
    .setInputFiles([photo('coffee.jpg'), ...bad.map((f) => `test/fixtures/images/${f}`), photo('rocket.jpg')]);
  await waitSettled(page, 5);
  for (const name of ['coffee.jpg', 'rocket.jpg']) {
    await expect(page.locator(`[data-testid="image-card"][data-name="${name}"]`)).toHaveAttribute(
      'data-status',
      'done',
    );
  }
  for (const name of bad) {
    const card = page.locator(`[data-testid="image-card"][data-name="${name}"]`);
    await expect(card).toHaveAttribute('data-status', 'error');
    await expect(card).toContainText('Error:');
  }
  await expect(page.locator('[data-testid="image-card"][data-name="not-an-image.jpg"]')).toContainText('not an image');
  // The matrix holds only the embedded images: cards 0 (coffee) and 3 (rocket), in name order.
  expect(await matrixValue(page, 0, 3)).toBeLessThan(1);
  await expect(page.locator('[data-testid="similarity-matrix"] [data-i="1"]')).toHaveCount(0);
});

test('keyboard: cards are selected with Enter, the matrix is walked with arrow keys', async ({ page }) => {
  await openPage(page);
  await page
    .getByTestId('file-input')
    .setInputFiles([photo('cat-view-1.jpg'), photo('coffee.jpg'), photo('rocket.jpg')]);
  await waitSettled(page, 3);
  const second = page.locator('[data-testid="image-card"][data-index="1"]');
  await second.focus();
  await page.keyboard.press('Enter');
  await expect(second).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByText('coffee.jpg', { exact: true }).last()).toBeVisible();

  await expect(page.locator('[data-testid="similarity-matrix"] .matrix-cell')).toHaveCount(9);
  await page.getByTestId('similarity-matrix').focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  await expect(page.getByTestId('matrix-tooltip')).toContainText('coffee.jpg × coffee.jpg: 1.000');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('matrix-tooltip')).toContainText('coffee.jpg × rocket.jpg');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('compare-dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('compare-dialog')).toBeHidden();
});

test('a drop anywhere on the page and a paste add images; pasted screenshots get distinct names', async ({ page }) => {
  await openPage(page);
  await page.evaluate(async () => {
    const file = async (path: string, name: string) =>
      new File([await (await fetch(path)).blob()], name, { type: 'image/jpeg' });
    const drop = new DataTransfer();
    drop.items.add(await file('/test/fixtures/photos/coffee.jpg', 'coffee.jpg'));
    drop.items.add(await file('/test/fixtures/photos/rocket.jpg', 'rocket.jpg'));
    document
      .querySelector('main')!
      .dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
    const paste = new DataTransfer();
    paste.items.add(await file('/test/fixtures/photos/astronaut.jpg', 'image.png'));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
  });
  await waitSettled(page, 3);
  await expect(page.locator('[data-testid="image-card"][data-name="coffee.jpg"]')).toHaveAttribute(
    'data-status',
    'done',
  );
  await expect(page.locator('[data-testid="image-card"][data-name="rocket.jpg"]')).toHaveAttribute(
    'data-status',
    'done',
  );
  await expect(page.locator('[data-testid="image-card"][data-name^="pasted-"]')).toHaveAttribute('data-status', 'done');
});
