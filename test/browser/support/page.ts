/** Shared steps of the page's browser tests: open it with the model loaded, drop files, wait for cards. */
import { expect, type Page } from '@playwright/test';

export const PHOTOS_DIR = 'test/fixtures/photos';
export const PHOTOS = ['cat-view-1.jpg', 'cat-view-2.jpg', 'coffee.jpg', 'rocket.jpg', 'astronaut.jpg'];
export const photo = (name: string) => `${PHOTOS_DIR}/${name}`;

export async function openPage(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-backend', /.+/, { timeout: 90_000 });
}

/** Waits until `count` cards exist and none is queued or embedding. */
export async function waitSettled(page: Page, count: number, timeout = 120_000): Promise<void> {
  await expect(page.getByTestId('image-card')).toHaveCount(count, { timeout });
  await expect(
    page.locator(
      '[data-testid="image-card"][data-status="queued"], [data-testid="image-card"][data-status="embedding"]',
    ),
  ).toHaveCount(0, { timeout });
}

export async function matrixValue(page: Page, i: number, j: number): Promise<number> {
  const cell = page.locator(`[data-testid="similarity-matrix"] [data-i="${i}"][data-j="${j}"]`);
  await expect(cell).toHaveCount(1);
  return Number(await cell.getAttribute('data-value'));
}
