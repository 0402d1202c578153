/** The page as `npm start` serves it: the embedded default model loads, and picked files get cards. */
import { expect, test } from '@playwright/test';

test('the page loads the default model and embeds picked files, bad ones on their own card', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('model-status')).toContainText('pplcnet-x1_0-distilled-caltech60', { timeout: 60_000 });
  await expect(page.getByTestId('model-status')).toContainText('512-d');
  await page.locator('#file-input').setInputFiles(['test/fixtures/images/gradient.jpg', 'test/fixtures/images/not-an-image.jpg']);
  const cards = page.getByTestId('image-card');
  await expect(cards).toHaveCount(2);
  await expect(page.locator('[data-testid="image-card"][data-name="gradient.jpg"]')).toHaveAttribute('data-status', 'done');
  await expect(page.locator('[data-testid="image-card"][data-name="gradient.jpg"]')).toContainText('512-d, norm 1.0000');
  await expect(page.locator('[data-testid="image-card"][data-name="not-an-image.jpg"]')).toHaveAttribute('data-status', 'error');
  await expect(page.locator('[data-testid="image-card"][data-name="not-an-image.jpg"]')).toContainText('not an image');
});
