/**
 * The page with a first-time user's folder: 150 labelled images (10 folders of 15), every one also in the
 * gallery. Measured, at desktop and phone width: the selected image's panel is in view after a click on any
 * card, nothing is wider than a phone, the page stays a few screens tall, names keep their distinguishing end.
 */
import { expect, test, type Page } from '@playwright/test';
import { writeLabelledFolder } from './support/labelled-folder.ts';
import { openPage, waitSettled } from './support/page.ts';

const LABELS = [
  'bibimbap',
  'caesar_salad',
  'chocolate_cake',
  'dumplings',
  'french_fries',
  'margherita_pizza',
  'pad_thai',
  'ramen',
  'sushi',
  'tacos',
];
const PER_LABEL = 15;
const COUNT = LABELS.length * PER_LABEL;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
// Page height bounds: the page before this layout was 11,300 px (desktop) with 150 images and no gallery.
// Four desktop screens hold the model, a bounded image grid beside the selected image, one matrix block,
// fine-tuning and a bounded gallery; a phone stacks the same in one column.
const MAX_SCREENS = { desktop: 4, phone: 8 };

async function pageHeight(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollHeight);
}

/** Scrolls the window (not the card box) so `y` is the page's top edge, then clicks the card after scrolling it into its box. */
async function selectAt(page: Page, index: number, windowY: number): Promise<void> {
  await page.evaluate((y) => window.scrollTo(0, y), windowY);
  const card = page.locator(`[data-testid="image-card"][data-index="${index}"]`);
  await card.scrollIntoViewIfNeeded();
  await card.click();
  await expect(card).toHaveAttribute('aria-selected', 'true');
  const name = (await card.getAttribute('data-name'))!;
  // What the user must see after the click: which image is selected, and its vector or matches below that.
  const panel = page.locator('.selected-panel');
  await expect(panel.locator('.selected-name')).toContainText(name);
  await expect(
    panel.locator('.selected-name'),
    `selected name in view after a click on ${name} at y=${windowY}`,
  ).toBeInViewport({ ratio: 1 });
  // Its vector too: at least 40 % of the screen's height of the panel (or all of it) is on screen.
  await expect
    .poll(
      () =>
        panel.evaluate((el) => {
          const box = el.getBoundingClientRect();
          const shown = Math.min(box.bottom, innerHeight) - Math.max(box.top, 0);
          return shown >= Math.min(box.height, 0.4 * innerHeight) - 1;
        }),
      { message: `selected panel in view after a click on ${name} at y=${windowY}` },
    )
    .toBe(true);
}

/** Cards whose file name's end is cut, outside the card, or not the name's end. */
function cutNames(page: Page): Promise<(string | undefined)[]> {
  return page.getByTestId('image-card').evaluateAll((els) =>
    els
      .filter((li) => {
        const tail = li.querySelector<HTMLElement>('.name-tail');
        if (!tail) return true;
        const box = tail.getBoundingClientRect();
        const card = li.getBoundingClientRect();
        return (
          tail.scrollWidth > tail.clientWidth ||
          box.right > card.right ||
          box.width === 0 ||
          !(li as HTMLElement).dataset.name!.endsWith(tail.textContent!)
        );
      })
      .map((li) => (li as HTMLElement).dataset.name),
  );
}

test('at start, before the model is ready and with no image, only what applies is shown', async ({ page }) => {
  await page.goto('/');
  const notYet = [
    '#vector-view',
    '#topk-view',
    '#query-view',
    '[data-testid="export-json"]',
    '#clear-images',
    '[data-testid="matrix-legend"]',
    '[data-testid="similarity-matrix"]',
  ];
  const shown = () =>
    page.evaluate(
      (sels) =>
        sels.filter((s) => {
          const el = document.querySelector<HTMLElement>(s);
          return el !== null && el.checkVisibility();
        }),
      notYet,
    );
  expect(await shown()).toEqual([]);
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-backend', /.+/, { timeout: 90_000 });
  expect(await shown()).toEqual([]);
  await expect(page.locator('#selected-hint')).toBeVisible();
});

test('150 labelled images and a 150-entry gallery: bounded page, selection in view, phone width', async ({ page }) => {
  test.setTimeout(400_000);
  const folder = await writeLabelledFolder(LABELS, PER_LABEL);
  await page.setViewportSize(DESKTOP);
  await openPage(page);
  await page.getByTestId('to-gallery').check();
  await page.getByTestId('folder-input').setInputFiles(folder.root);
  await waitSettled(page, COUNT, 300_000);
  await expect(page.getByTestId('gallery-item')).toHaveCount(COUNT, { timeout: 60_000 });

  // (f) A folder pick is listed in natural path order (image_2 before image_10), whatever the picker's order.
  const order = await page
    .getByTestId('image-card')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name));
  expect(order).toEqual(folder.names);

  // (d) The matrix has a colour legend with its numbers.
  const legend = page.getByTestId('matrix-legend');
  await expect(legend).toBeVisible();
  await expect(legend).toContainText('1');
  await expect(legend).toContainText('0');

  // (e) The file name's end (which image of the folder) is never cut, however narrow the card.
  expect(await cutNames(page), 'cards whose file name end is cut or missing').toEqual([]);

  // (a) Desktop: the selected panel is in view after a click at the end, the middle and the start of the grid,
  // from any window scroll position.
  for (const [index, y] of [
    [COUNT - 1, 0],
    [COUNT - 1, 400],
    [75, 10_000],
    [3, 200],
  ] as const)
    await selectAt(page, index, y);

  // (c) Desktop height.
  const desktopHeight = await pageHeight(page);
  console.log(
    `desktop ${DESKTOP.width}x${DESKTOP.height}: page height ${desktopHeight} px with ${COUNT} images and ${COUNT} gallery entries`,
  );
  expect(desktopHeight).toBeLessThanOrEqual(MAX_SCREENS.desktop * DESKTOP.height);

  // Phone.
  await page.setViewportSize(PHONE);
  expect(await cutNames(page), 'cards whose file name end is cut or missing, phone').toEqual([]);
  for (const [index, y] of [
    [COUNT - 1, 0],
    [COUNT - 2, 900],
    [70, 10_000],
  ] as const)
    await selectAt(page, index, y);
  // (b) Nothing is wider than the phone, with the selected card's gallery matches and nearest images shown.
  await expect(page.getByTestId('gallery-matches').locator('li')).not.toHaveCount(0);
  const widths = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  console.log(`phone ${PHONE.width}x${PHONE.height}: scrollWidth ${widths.scroll}, clientWidth ${widths.client}`);
  expect(widths.scroll).toBeLessThanOrEqual(PHONE.width);
  // The match scores are shown whole, inside the screen.
  for (const list of ['gallery-matches', 'topk-list']) {
    const scores = page.getByTestId(list).locator('.match-score');
    expect(await scores.count()).toBeGreaterThan(0);
    for (const box of await scores.evaluateAll((els) =>
      els.map((e) => ({
        right: e.getBoundingClientRect().right,
        cut: e.scrollWidth > e.clientWidth,
        text: e.textContent,
      })),
    )) {
      expect(box.right, `${list} score ${box.text}`).toBeLessThanOrEqual(PHONE.width);
      expect(box.cut, `${list} score ${box.text} cut`).toBe(false);
      expect(box.text).toMatch(/^-?\d\.\d{3}$/);
    }
  }
  const phoneHeight = await pageHeight(page);
  console.log(`phone ${PHONE.width}x${PHONE.height}: page height ${phoneHeight} px`);
  expect(phoneHeight).toBeLessThanOrEqual(MAX_SCREENS.phone * PHONE.height);
});
