/**
 * The page's state as a first-time user meets it (issue 14): model files go to the importer whichever way they
 * come, refusals are plain and apart from the model line, the gallery follows the model instead of piling up
 * stale entries, the chosen model and the gallery's labels survive a reload, and nothing stale is left shown.
 */
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { CLASSIFIER_FIXTURE_DIR, PADDLE_FIXTURE_DIR } from '../support/fixture-models.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

test('a Paddle 3 folder picked as files imports; a refusal is plain, apart, and gone after a model change', async ({
  page,
}) => {
  await openPage(page);
  const inUse = (await page.getByTestId('model-status').textContent())!;
  // Garbage named like a model: refused in plain words; the exact reason is one click away.
  await page.getByTestId('model-import').setInputFiles({
    name: 'model.onnx',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('not a protobuf at all, just text'),
  });
  const error = page.getByTestId('model-import-error');
  await expect(error).toBeVisible();
  await expect(error.locator('strong')).toHaveText(/^Not imported: (A file could not be read|This model's network)/);
  await expect(error.locator('details')).not.toHaveAttribute('open', '');
  await expect(page.getByTestId('model-status')).toHaveText(inUse);
  await expect(page.getByTestId('image-card')).toHaveCount(0);

  // inference.json (Paddle 3 PIR) with its weights and yml, through the files picker.
  await page
    .getByTestId('model-import')
    .setInputFiles(
      ['inference.json', 'inference.pdiparams', 'inference.yml'].map((f) => `${CLASSIFIER_FIXTURE_DIR}/${f}`),
    );
  await expect(page.getByTestId('model-status')).toContainText('classifier of 2 labels (0_degree, 180_degree)', {
    timeout: 90_000,
  });
  await expect(error).toBeHidden();

  // A refusal, then a model chosen in the menu: the refusal was about the previous attempt and goes.
  await page.getByTestId('model-import').setInputFiles(`${PADDLE_FIXTURE_DIR}/inference.pdmodel`);
  await expect(error).toContainText('inference.pdmodel is not a complete model');
  await page.getByTestId('model-select').selectOption({ index: 0 });
  await expect(page.getByTestId('model-status')).toContainText('PP-LCNet x1.0', { timeout: 90_000 });
  await expect(error).toBeHidden();
});

test('the gallery follows the model, the choice survives a reload, and the gallery feeds fine-tuning', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-state-')), 'shop');
  for (const [label, files] of [
    ['cat', ['cat-view-1.jpg', 'cat-view-2.jpg']],
    ['things', ['coffee.jpg', 'rocket.jpg']],
  ] as const) {
    await mkdir(join(root, label), { recursive: true });
    for (const f of files) await copyFile(photo(f), join(root, label, f));
  }
  await openPage(page);
  await page.getByTestId('to-gallery').check();
  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, 4);
  await expect(page.getByTestId('gallery-item')).toHaveCount(4);

  // A gallery image is not its own match: the cat's other view is.
  await page.locator('[data-testid="image-card"][data-name="cat/cat-view-1.jpg"]').click();
  await expect(page.getByTestId('query-label')).toContainText('Its own gallery entry is left out');
  const matches = page.getByTestId('gallery-matches').locator('li');
  await expect(matches).toHaveCount(3);
  expect(Number(await matches.first().getAttribute('data-score'))).toBeLessThan(0.999);
  await expect(page.locator('[data-testid="image-card"][data-name="cat/cat-view-1.jpg"]')).not.toContainText('1.00');

  // A query outside the gallery: its label box never holds its file name.
  await page.getByTestId('to-gallery').uncheck();
  await page.getByTestId('file-input').setInputFiles({
    name: 'q_astronaut.jpg',
    mimeType: 'image/jpeg',
    buffer: await import('node:fs').then((fs) => fs.readFileSync(photo('astronaut.jpg'))),
  });
  await waitSettled(page, 5);
  await page.locator('[data-testid="image-card"][data-name="q_astronaut.jpg"]').click();
  const box = page.getByTestId('add-label');
  await expect(box).not.toHaveValue(/q_astronaut/);

  // Another model: the same 4 entries, embedded again with it; none stale, none doubled.
  await page
    .getByTestId('model-import')
    .setInputFiles([`${PADDLE_FIXTURE_DIR}/inference.pdmodel`, `${PADDLE_FIXTURE_DIR}/inference.pdiparams`]);
  await expect(page.getByTestId('model-status')).toContainText('PP-LCNet x0.25', { timeout: 90_000 });
  await waitSettled(page, 5);
  await expect(page.locator('[data-testid="gallery-item"][data-current="true"]')).toHaveCount(4, { timeout: 60_000 });
  await expect(page.getByTestId('gallery-item')).toHaveCount(4);
  await expect(page.getByTestId('gallery-count')).not.toContainText('another model');

  // A reload keeps the imported model, and the gallery's labelled images are ready for fine-tuning.
  await page.reload();
  await openPage(page);
  await expect(page.getByTestId('model-status')).toContainText('PP-LCNet x0.25');
  await expect(page.getByTestId('model-select').locator('option:checked')).toContainText('(imported, x0.25, 512-d');
  await expect(page.locator('[data-testid="gallery-item"][data-current="true"]')).toHaveCount(4);
  await expect(page.getByTestId('training-summary')).toContainText(
    '4 labelled images from the gallery, 2 labels: cat (2), things (2)',
  );
  await expect(page.getByTestId('train-start')).toBeEnabled();
});

test('failed images are not counted as embedded, and the counts follow the cards', async ({ page }) => {
  await openPage(page);
  await page
    .getByTestId('file-input')
    .setInputFiles(['test/fixtures/images/not-an-image.jpg', 'test/fixtures/images/empty.jpg']);
  await waitSettled(page, 2);
  await expect(page.getByTestId('batch-status')).toHaveText(
    '2 images: 0 embedded, 2 could not be read (see their cards).',
  );
  await page.getByTestId('file-input').setInputFiles(photo('coffee.jpg'));
  await waitSettled(page, 3);
  await expect(page.getByTestId('batch-status')).toHaveText(
    '3 images: 1 embedded, 2 could not be read (see their cards).',
  );
  // The first card (selected on the drop) failed: its panel says why, not "not embedded yet".
  await page.locator('[data-testid="image-card"][data-status="error"]').first().click();
  await expect(page.getByTestId('vector-stats')).toContainText('No vector:');
  await page.getByTestId('file-input').setInputFiles(photo('rocket.jpg'));
  await waitSettled(page, 4);
  await page.locator('[data-testid="similarity-matrix"] .matrix-cell').first().hover();
  await expect(page.getByTestId('matrix-tooltip')).not.toBeEmpty();
  await page.getByTestId('clear-images').click();
  await expect(page.getByTestId('image-card')).toHaveCount(0);
  await expect(page.getByTestId('matrix-tooltip')).toBeEmpty();
  await expect(page.getByTestId('batch-status')).toBeEmpty();
});

test("the threshold is the model's calibrated one until the user sets theirs, which 'use the model's' hands back", async ({
  page,
}) => {
  const manifest = JSON.parse(
    await import('node:fs').then((fs) => fs.readFileSync('models/default/manifest.json', 'utf8')),
  ) as { recognition?: { threshold: number } };
  const recommended = manifest.recognition?.threshold ?? 0.5;
  await openPage(page);
  const input = page.getByTestId('gallery-threshold');
  await expect(input).toHaveValue(String(recommended));
  await expect(page.getByTestId('threshold-source')).toContainText(
    manifest.recognition ? 'calibrated for this model' : "PaddleClas's default",
  );
  await expect(page.getByTestId('threshold-reset')).toBeHidden();
  await input.fill('0.7');
  await input.dispatchEvent('change');
  await expect(page.getByTestId('threshold-source')).toContainText(`yours; the model recommends ${recommended}`);
  await page.reload();
  await openPage(page);
  await expect(input).toHaveValue('0.7');
  await page.getByTestId('threshold-reset').click();
  await expect(input).toHaveValue(String(recommended));
  await page.reload();
  await openPage(page);
  await expect(input).toHaveValue(String(recommended));
});
