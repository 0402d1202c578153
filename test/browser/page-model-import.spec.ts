/**
 * Importing a model in the page: files or a whole folder (picked, or dropped anywhere on the page) are converted
 * in the worker, cached and selectable later; a refusal says why without hiding which model is in use; an
 * imported classifier names its labels and puts its top label on every card.
 */
import { expect, test, type Page } from '@playwright/test';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePPLCNetOnnx } from '../../src/model/export/onnx-export.ts';
import { fixture } from '../support/pattern-fixtures.ts';
import { CLASSIFIER_FIXTURE_DIR, PADDLE_FIXTURE_DIR } from '../support/fixture-models.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

test('a Paddle inference model is imported, used, and still offered after a reload', async ({ page }) => {
  await openPage(page);
  await page.getByTestId('file-input').setInputFiles([photo('coffee.jpg'), photo('rocket.jpg')]);
  await waitSettled(page, 2);
  const inUse = (await page.getByTestId('model-status').textContent())!;

  // One file alone is refused with what to do, apart from the line saying which model is in use.
  await page.getByTestId('model-import').setInputFiles(`${PADDLE_FIXTURE_DIR}/inference.pdmodel`);
  await expect(page.getByTestId('model-import-error')).toContainText(
    'inference.pdmodel needs its weights file (inference.pdiparams)',
  );
  await expect(page.getByTestId('model-status')).toHaveText(inUse);

  await page
    .getByTestId('model-import')
    .setInputFiles([`${PADDLE_FIXTURE_DIR}/inference.pdmodel`, `${PADDLE_FIXTURE_DIR}/inference.pdiparams`]);
  await expect(page.getByTestId('model-status')).toContainText(/inference-[0-9a-f]{8}: PP-LCNet x0.25, 512-d/, {
    timeout: 90_000,
  });
  await expect(page.getByTestId('model-import-error')).toBeHidden();
  // The images were embedded again with the new model.
  await waitSettled(page, 2);
  await expect(page.locator('[data-testid="image-card"][data-status="done"]')).toHaveCount(2);
  await page.locator('[data-testid="image-card"][data-index="0"]').click();
  await expect(page.getByTestId('vector-stats')).toContainText('512 values');

  await page.reload();
  await openPage(page);
  const imported = page.getByTestId('model-select').locator('option', { hasText: '(imported, x0.25, 512-d;' });
  await expect(imported).toHaveCount(1);
  await page.getByTestId('model-select').selectOption({ index: 1 });
  await expect(page.getByTestId('model-status')).toContainText('PP-LCNet x0.25', { timeout: 90_000 });
});

const TEXT_LINES = ['upright-01.png', 'rotated-01.png'].map((f) => `test/fixtures/textlines/${f}`);

async function expectClassifierInUse(page: Page): Promise<void> {
  await expect(page.getByTestId('model-status')).toContainText(
    /PP-LCNet x0.25, 128-d, input 160 x 80, classifier of 2 labels \(0_degree, 180_degree\)/,
    { timeout: 90_000 },
  );
  await waitSettled(page, 2);
  for (const card of await page.getByTestId('image-card').all()) {
    await expect(card).toHaveAttribute('data-predicted', /^(0|180)_degree$/);
    await expect(card).toContainText(/≈ (0|180)_degree \d\.\d\d/);
  }
}

test('a classifier folder (Paddle 3 program, weights, inference.yml) picked as a folder: labels on the cards', async ({
  page,
}) => {
  await openPage(page);
  await page.getByTestId('file-input').setInputFiles(TEXT_LINES);
  await waitSettled(page, 2);
  await page.getByTestId('model-import-folder').setInputFiles(CLASSIFIER_FIXTURE_DIR);
  await expectClassifierInUse(page);
});

test('a model folder dropped on the page is imported, not turned into image cards', async ({ page }) => {
  await openPage(page);
  await page.getByTestId('file-input').setInputFiles(TEXT_LINES);
  await waitSettled(page, 2);
  const files = ['inference.pdmodel', 'inference.pdiparams', 'inference.yml'].map((name) => ({
    name,
    bytes: [...readFileSync(`${CLASSIFIER_FIXTURE_DIR}/${name}`)],
  }));
  await page.evaluate((list) => {
    const data = new DataTransfer();
    for (const f of list) data.items.add(new File([new Uint8Array(f.bytes)], f.name));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, files);
  await expectClassifierInUse(page);
  await expect(page.getByTestId('image-card')).toHaveCount(2);
});

test('an fc without softmax or labels is ambiguous: the last-layer choice reads it as a classifier', async ({
  page,
}) => {
  const dir = mkdtempSync(join(tmpdir(), 'shitu-logits-'));
  const t = fixture('textline');
  const file = join(dir, 'textline-logits.onnx');
  writeFileSync(
    file,
    writePPLCNetOnnx(
      { network: t.network, stateDict: t.stateDict, classifier: t.classifier },
      { inputSize: t.inputSize },
    ),
  );
  await openPage(page);
  await page.getByTestId('file-input').setInputFiles(TEXT_LINES);
  await waitSettled(page, 2);
  // auto: read as a PP-ShiTu neck (a 2-d embedding, no labels).
  await page.getByTestId('model-import').setInputFiles(file);
  await expect(page.getByTestId('model-status')).toContainText(/PP-LCNet x0.25, 2-d, input 160 x 80, fp32/, {
    timeout: 90_000,
  });
  await page.getByTestId('model-import-role').selectOption('classifier');
  await page.getByTestId('model-import').setInputFiles(file);
  await expect(page.getByTestId('model-status')).toContainText(
    /PP-LCNet x0.25, 128-d, input 160 x 80, classifier of 2 labels \(class_0, class_1\)/,
    { timeout: 90_000 },
  );
  await waitSettled(page, 2);
  for (const card of await page.getByTestId('image-card').all())
    await expect(card).toHaveAttribute('data-predicted', /^class_[01]$/);
});

// The real PP-LCNet_x0_25_textline_ori exports (../shared/models/real, absent on a fresh clone): each of the
// three must read clearly rendered text lines right way up as 0_degree and turned by 180 degrees as 180_degree.
const REAL = '../shared/models/real/pp-lcnet-x0_25-textline-ori';
const LINES = ['01', '02', '03', '04', '05', '06'].flatMap((n) => [
  `test/fixtures/textlines/upright-${n}.png`,
  `test/fixtures/textlines/rotated-${n}.png`,
]);
for (const form of ['onnx', 'paddle', 'paddle-pir']) {
  test(`the real text-line classifier (${form}) reads upright and upside-down lines`, async ({ page }) => {
    test.skip(!existsSync(REAL), 'needs ../shared/models/real');
    await openPage(page);
    await page.getByTestId('file-input').setInputFiles(LINES);
    await waitSettled(page, LINES.length);
    await page.getByTestId('model-import-folder').setInputFiles(`${REAL}/${form}`);
    await expect(page.getByTestId('model-status')).toContainText('PP-LCNet x0.25', { timeout: 90_000 });
    await waitSettled(page, LINES.length);
    for (const line of LINES) {
      // The ONNX file comes without its inference.yml: its labels are class_0 / class_1 (the same order).
      const want = line.includes('upright')
        ? form === 'onnx'
          ? 'class_0'
          : '0_degree'
        : form === 'onnx'
          ? 'class_1'
          : '180_degree';
      const card = page.locator(`[data-testid="image-card"][data-name="${line.slice(line.lastIndexOf('/') + 1)}"]`);
      await expect(card, line).toHaveAttribute('data-predicted', want);
    }
  });
}
