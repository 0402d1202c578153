/**
 * The fine-tuning panel: labelled folders train a neck + ArcMargin head in the worker; the result is saved,
 * used at once (cards get a predicted class), and gives identical embeddings after a reload.
 */
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Download, type Page } from '@playwright/test';
import { pathToFileURL } from 'node:url';
import { importModelFiles } from '../../src/model/convert/import-files.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../../src/worker/node-environment.ts';
import { decodeImageBytes } from '../../scripts/lib/node-image-decode.ts';
import { writeModelFiles } from '../../scripts/lib/model-files.ts';
import { openPage, photo, waitSettled } from './support/page.ts';

async function labelledFolder(labels: Record<string, string[]>): Promise<string> {
  const root = join(await mkdtemp(join(tmpdir(), 'shitu-ft-')), 'photos');
  for (const [label, files] of Object.entries(labels)) {
    await mkdir(join(root, label), { recursive: true });
    for (const [i, f] of files.entries()) await copyFile(photo(f), join(root, label, `${i + 1}-${f}`));
  }
  return root;
}

const TWO_LABELS = {
  cat: ['cat-view-1.jpg', 'cat-view-2.jpg', 'cat-view-1.jpg'],
  other: ['coffee.jpg', 'rocket.jpg', 'astronaut.jpg'],
};

async function exportJson(page: Page): Promise<{ name: string; embedding: number[] }[]> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  return (
    JSON.parse(await readFile((await download.path())!, 'utf8')) as {
      embeddings: { name: string; embedding: number[] }[];
    }
  ).embeddings;
}

test('fine-tuning on labelled folders: curves, before / after, a saved model that reloads identically', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const root = await labelledFolder(TWO_LABELS);
  await openPage(page);
  const baseModel = await page.getByTestId('model-status').textContent();
  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, 6);
  await expect(page.getByTestId('training-summary')).toContainText(
    '6 labelled images of this visit, 2 labels: cat (3), other (3)',
  );
  await page.locator('#ft-epochs').fill('6');
  // With the optional triplet term, so the worker's training path with it runs here too.
  await page.locator('#ft-triplet').fill('1');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-status')).toContainText('Done:', { timeout: 180_000 });
  await expect(page.getByTestId('train-table')).toContainText('recall@1');
  await expect(page.getByTestId('train-report')).toContainText('4 training images, 2 labels');
  // The page switched to the fine-tuned model and re-embedded every card with it.
  await expect(page.getByTestId('model-status')).toContainText('-ft-', { timeout: 60_000 });
  expect(await page.getByTestId('model-status').textContent()).not.toBe(baseModel);
  await waitSettled(page, 6);
  const predicted = await page
    .getByTestId('image-card')
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.predicted));
  expect(predicted.every((p) => p === 'cat' || p === 'other')).toBe(true);
  const tuned = await exportJson(page);
  // The model's files download in the manifest format.
  const [first] = await Promise.all([page.waitForEvent('download'), page.getByTestId('train-download').click()]);
  expect(first.suggestedFilename()).toBe('manifest.json');
  const manifest = JSON.parse(await readFile((await first.path())!, 'utf8')) as {
    format: string;
    head: { labels: string[] };
    provenance: string;
  };
  expect(manifest.format).toBe('shitu-web/weights');
  expect(manifest.provenance).toContain('triplet term weight 1');
  expect(manifest.head.labels).toEqual(['cat', 'other']);
  const modelText = (await page.getByTestId('model-status').textContent())!;
  const modelId = modelText.split(':')[0]!;

  // The model goes back to PaddleClas / ONNX Runtime: an .onnx, and inference.pdmodel + .pdiparams + .yml. Each
  // imports back (in Node) to the same network, and the ONNX one embeds a PNG (decoded alike in Chromium and
  // Node) as the page does, within 1e-4.
  // `accept`: the model download above may still be delivering its last shards when the next button is clicked.
  const downloads = async (testId: string, count: number, accept: RegExp) => {
    const got: { name: string; bytes: Uint8Array }[] = [];
    const each = (d: Download) =>
      accept.test(d.suggestedFilename()) &&
      void d
        .path()
        .then(async (p) => got.push({ name: d.suggestedFilename(), bytes: new Uint8Array(await readFile(p)) }));
    page.on('download', each);
    await page.getByTestId(testId).click();
    await expect.poll(() => got.length, { timeout: 60_000 }).toBe(count);
    page.off('download', each);
    return got;
  };
  const onnx = await downloads('train-download-onnx', 1, /\.onnx$/);
  expect(onnx[0]!.name).toBe(`${modelId}.onnx`);
  const paddle = await downloads('train-download-paddle', 3, /^inference\./);
  expect(paddle.map((f) => f.name).sort()).toEqual(['inference.pdiparams', 'inference.pdmodel', 'inference.yml']);
  const fromOnnx = await importModelFiles(onnx, { modelId: 'exported-onnx' });
  const fromPaddle = await importModelFiles(paddle);
  expect(fromPaddle.imported.network).toEqual(fromOnnx.imported.network);
  for (const [name, t] of fromOnnx.imported.stateDict)
    expect(fromPaddle.imported.stateDict.get(name)!.data).toEqual(t.data);
  await page.getByTestId('file-input').setInputFiles(['test/fixtures/images/shapes.png']);
  await waitSettled(page, 7);
  const inPage = (await exportJson(page)).find((e) => e.name === 'shapes.png')!.embedding;
  const dir = await mkdtemp(join(tmpdir(), 'shitu-export-'));
  const engine = new EmbedderEngine(nodeEnvironment());
  await engine.load({ model: pathToFileURL(await writeModelFiles(dir, fromOnnx.encoded)).href });
  const png = decodeImageBytes(
    new Uint8Array(await readFile('test/fixtures/images/shapes.png')),
    'shapes.png',
    1 << 26,
  );
  const [r] = await engine.embed([png as unknown as ImageData]);
  await engine.dispose();
  if (!r?.ok) throw new Error('Node could not embed shapes.png');
  const diff = inPage.reduce((m, v, i) => Math.max(m, Math.abs(v - r.embedding[i]!)), 0);
  console.log(`exported ONNX in Node vs the page: max |diff| ${diff.toExponential(2)}`);
  expect(diff).toBeLessThanOrEqual(1e-4);

  // After a reload the page is still on the fine-tuned model, listed by its base and date; it gives the same
  // embeddings, bit for bit.
  await page.reload();
  await openPage(page);
  await expect(page.getByTestId('model-status')).toContainText(modelId, { timeout: 60_000 });
  const option = page.getByTestId('model-select').locator('option:checked');
  await expect(option).toHaveAttribute('data-kind', 'fine-tuned');
  await expect(option).toContainText(/^Fine-tuned from the default model, .*\d{4}.* \(x1\.0, 512-d, 2 labels\)$/);
  await page.getByTestId('folder-input').setInputFiles(root);
  await waitSettled(page, 6);
  const reloaded = await exportJson(page);
  expect(reloaded.map((e) => e.name)).toEqual(tuned.map((e) => e.name));
  reloaded.forEach((e, i) => expect(e.embedding).toEqual(tuned[i]!.embedding));
});

test('fine-tuning refuses one label, and a stop at once leaves the model unchanged', async ({ page }) => {
  const oneLabel = await labelledFolder({ cat: ['cat-view-1.jpg', 'cat-view-2.jpg'] });
  await openPage(page);
  const baseModel = await page.getByTestId('model-status').textContent();
  await page.getByTestId('folder-input').setInputFiles(oneLabel);
  await waitSettled(page, 2);
  await expect(page.getByTestId('training-summary')).toContainText('Fine-tuning needs at least 2 labels');
  await expect(page.getByTestId('train-start')).toBeDisabled();

  await page.getByTestId('folder-input').setInputFiles(await labelledFolder(TWO_LABELS));
  await waitSettled(page, 8);
  await page.locator('#ft-epochs').fill('500');
  await page.getByTestId('train-start').click();
  await page.getByTestId('train-stop').click();
  await expect(page.getByTestId('train-status')).toContainText(/stopped|Stopped/, { timeout: 120_000 });
  await expect(page.getByTestId('train-start')).toBeEnabled();
  const status = await page.getByTestId('train-status').textContent();
  if (/nothing (was changed|saved)/.test(status!))
    expect(await page.getByTestId('model-status').textContent()).toBe(baseModel);
  else await expect(page.getByTestId('train-report')).toContainText('Stopped by you');

  // A reload in the middle of training saves nothing half-done: the model list is as before.
  const models = await page.getByTestId('model-select').locator('option').count();
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-status')).toContainText('Epoch', { timeout: 120_000 });
  await page.reload();
  await openPage(page);
  await expect(page.getByTestId('model-select').locator('option')).toHaveCount(models);
});
