/** `npm run eval`'s code path on a tiny split of the shipped fixtures, for our model and the same path's errors. */
import { expect, test } from '@playwright/test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '../../scripts/eval.ts';
import { readSplit } from '../../scripts/lib/split.ts';
import { FIXTURE_MODELS, fixtureManifestPath } from '../support/fixture-models.ts';

test('eval embeds a split through the worker and reports retrieval figures', async () => {
  const report = await evaluate({
    data: 'test/fixtures/images',
    split: 'test/fixtures/splits/tiny.txt',
    model: fixtureManifestPath(FIXTURE_MODELS.small),
    backend: 'wasm',
    log: () => undefined,
  });
  expect(report).toMatchObject({ model: FIXTURE_MODELS.small.id, images: 4, failed: 0, backend: 'wasm' });
  for (const k of ['recall_at_1', 'recall_at_5', 'map'] as const) {
    expect(report[k]).toBeGreaterThanOrEqual(0);
    expect(report[k]).toBeLessThanOrEqual(1);
  }
  // With two images per label and four images, recall@5 sees everything.
  expect(report.recall_at_5).toBe(1);
  expect(report.images_per_second).toBeGreaterThan(0);
});

test('split files are checked line by line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shitu-split-'));
  await writeFile(join(dir, 'bad.txt'), 'a.jpg\tcat\nno-label-here\n');
  await expect(readSplit(join(dir, 'bad.txt'))).rejects.toThrow(
    `${join(dir, 'bad.txt')}:2: expected "path<TAB>label", got "no-label-here"`,
  );
  await writeFile(join(dir, 'escape.txt'), '../../etc/passwd\tx\n');
  await expect(readSplit(join(dir, 'escape.txt'))).rejects.toThrow(
    'path must be relative and stay inside the data folder',
  );
});
