/** "Load a PaddleClas model": the two inference files are converted in the worker, cached and selectable later. */
import { expect, test } from '@playwright/test';
import { PADDLE_FIXTURE_DIR } from '../support/fixture-models.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

test('a Paddle inference model is imported, used, and still offered after a reload', async ({ page }) => {
  await openPage(page);
  await page.getByTestId('file-input').setInputFiles([photo('coffee.jpg'), photo('rocket.jpg')]);
  await waitSettled(page, 2);

  // One file alone is refused with what to do.
  await page.getByTestId('model-import').setInputFiles(`${PADDLE_FIXTURE_DIR}/inference.pdmodel`);
  await expect(page.getByTestId('model-status')).toContainText('needs its weights file (.pdiparams)');

  await page.getByTestId('model-import').setInputFiles([`${PADDLE_FIXTURE_DIR}/inference.pdmodel`, `${PADDLE_FIXTURE_DIR}/inference.pdiparams`]);
  await expect(page.getByTestId('model-status')).toContainText(/inference-[0-9a-f]{8}: PP-LCNet x0.25, 512-d/, { timeout: 90_000 });
  // The images were embedded again with the new model.
  await waitSettled(page, 2);
  await expect(page.locator('[data-testid="image-card"][data-status="done"]')).toHaveCount(2);
  await page.locator('[data-testid="image-card"][data-index="0"]').click();
  await expect(page.getByTestId('vector-stats')).toContainText('512 values');

  await page.reload();
  await openPage(page);
  const imported = page.getByTestId('model-select').locator('option', { hasText: '(imported, x0.25, 512-d)' });
  await expect(imported).toHaveCount(1);
  await page.getByTestId('model-select').selectOption({ index: 1 });
  await expect(page.getByTestId('model-status')).toContainText('PP-LCNet x0.25', { timeout: 90_000 });
});
