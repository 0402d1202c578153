/**
 * npm run finetune-eval -- --data <folder> --train <split> --test <split> [--model models/default]
 *                          [--epochs N] [--optimizer momentum|adam] [--lr X] [--augment] [--frozen-neck] [--margin M]
 *                          [--weight-decay X] [--scale S] [--triplet W] [--depth neck|last-conv|last-block|last-stage]
 *                          [--views N] [--backbone-lr F] [--batch N] [--val X] [--seed N] [--json FILE]
 *
 * Fine-tunes a model (to --depth: the neck, or also last_conv, the last block, the last stage) + ArcMargin head on the train split in headless Chromium, through the page's
 * worker API (the code path of the training panel), and reports leave-one-out recall@1 and mAP on the test
 * split before and after. The test split is only measured; model selection uses a validation share of the
 * train split.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { RetrievalScore } from '../src/core/fine-tune-api.ts';
import type { FineTuneDepth, FineTuneOptions } from '../src/core/options.ts';
import { leaveOneOutRetrieval } from '../src/core/retrieval-metrics.ts';
import { openBrowserSession } from './lib/browser-session.ts';
import { dataUrl, embedEntries, routeFolder } from './lib/eval-page-client.ts';
import { readSplit } from './lib/split.ts';
import { isMain } from './lib/run-main.ts';

export async function fineTuneEval(options: {
  data: string;
  train: string;
  test: string;
  model?: string;
  fineTune: FineTuneOptions;
  log?: (s: string) => void;
}) {
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const started = performance.now();
  const [train, test] = [await readSplit(options.train), await readSplit(options.test)];
  const trainPaths = new Set(train.map((e) => e.path));
  if (test.some((e) => trainPaths.has(e.path))) throw new Error('the train and test splits share images');
  const session = await openBrowserSession();
  try {
    const page = await session.browser.newPage();
    page.on('console', (m) => log(`  ${m.text()}`));
    await routeFolder(page, 'data', options.data);
    await page.goto(new URL('/scripts/pages/eval.html', session.baseUrl).href);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    const model = `/${(options.model ?? 'models/default').replace(/\/?$/, '/')}manifest.json`;
    const loaded = await page.evaluate(([u]) => window.evalApi.loadModel(u!, 'auto', 16), [model]);
    log(`${loaded.modelId} on ${loaded.backend}: ${train.length} training images, ${test.length} test images`);

    // The JSON report keeps snake_case keys (as npm run eval's), whatever the API's field names.
    const snake = (s: RetrievalScore) => ({ recall_at_1: s.recallAt1, map: s.map });
    const measure = async () => {
      const { vectors, labels } = await embedEntries(page, test);
      const m = leaveOneOutRetrieval(vectors, labels);
      return { recall_at_1: m.recallAt1, map: m.map };
    };
    const before = await measure();
    log(`before: recall@1 ${before.recall_at_1.toFixed(4)}, mAP ${before.map.toFixed(4)}`);
    const t0 = performance.now();
    const tuned = await page.evaluate(([u, l, o]) => window.evalApi.fineTune(u, l, o), [
      train.map(dataUrl),
      train.map((e) => e.label),
      options.fineTune,
    ] as const);
    const fineTuneSeconds = (performance.now() - t0) / 1000;
    const after = await measure();
    tuned.report.notes.forEach((n) => log(`  ${n}`));
    log(
      `validation: recall@1 ${tuned.report.before.recallAt1.toFixed(4)} -> ${tuned.report.after.recallAt1.toFixed(4)}, ` +
        `mAP ${tuned.report.before.map.toFixed(4)} -> ${tuned.report.after.map.toFixed(4)}`,
    );
    log(
      `after (${tuned.modelId}, epoch ${tuned.report.bestEpoch} kept): recall@1 ${after.recall_at_1.toFixed(4)}, mAP ${after.map.toFixed(4)}`,
    );
    return {
      model: loaded.modelId,
      backend: loaded.backend,
      before,
      after,
      seconds: (performance.now() - started) / 1000,
      fine_tune_seconds: fineTuneSeconds,
      train_images: tuned.report.trainImages,
      validation_images: tuned.report.validationImages,
      best_epoch: tuned.report.bestEpoch,
      classes: tuned.report.classes.length,
      validation: { before: snake(tuned.report.before), after: snake(tuned.report.after) },
    };
  } finally {
    await session.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      train: { type: 'string' },
      test: { type: 'string' },
      model: { type: 'string' },
      epochs: { type: 'string' },
      optimizer: { type: 'string' },
      lr: { type: 'string' },
      augment: { type: 'boolean' },
      'frozen-neck': { type: 'boolean' },
      margin: { type: 'string' },
      'weight-decay': { type: 'string' },
      scale: { type: 'string' },
      triplet: { type: 'string' },
      depth: { type: 'string' },
      views: { type: 'string' },
      'backbone-lr': { type: 'string' },
      batch: { type: 'string' },
      val: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (!values.data || !values.train || !values.test) {
    console.error(
      'usage: npm run finetune-eval -- --data <folder> --train <split> --test <split> [--model models/default] [--epochs N] [--optimizer momentum|adam] [--lr X] [--augment] [--frozen-neck] [--margin M] [--weight-decay X] [--scale S] [--triplet W] [--depth neck|last-conv|last-block|last-stage] [--views N] [--backbone-lr F] [--batch N] [--val X] [--seed N] [--json FILE]',
    );
    process.exit(2);
  }
  const fineTune: FineTuneOptions = {
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
    ...(values.optimizer ? { optimizer: values.optimizer as 'momentum' | 'adam' } : {}),
    ...(values.lr ? { learningRate: Number(values.lr) } : {}),
    ...(values.augment ? { augment: true } : {}),
    ...(values['frozen-neck'] ? { trainNeck: false } : {}),
    ...(values.margin || values.scale
      ? {
          arcMargin: {
            ...(values.margin ? { margin: Number(values.margin) } : {}),
            ...(values.scale ? { scale: Number(values.scale) } : {}),
          },
        }
      : {}),
    ...(values.triplet ? { tripletWeight: Number(values.triplet) } : {}),
    ...(values['weight-decay'] ? { weightDecay: Number(values['weight-decay']) } : {}),
    // Checked by the worker's validateFineTuneOptions, which names the valid values.
    ...(values.depth ? { depth: values.depth as FineTuneDepth } : {}),
    ...(values.views ? { views: Number(values.views) } : {}),
    ...(values['backbone-lr'] ? { backboneLearningRateFactor: Number(values['backbone-lr']) } : {}),
    ...(values.batch ? { batchSize: Number(values.batch) } : {}),
    ...(values.val ? { validationFraction: Number(values.val) } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
  };
  const report = await fineTuneEval({
    data: values.data,
    train: values.train,
    test: values.test,
    ...(values.model ? { model: values.model } : {}),
    fineTune,
  });
  const pct = (v: number) => (100 * v).toFixed(1);
  console.log(
    `${report.model} on ${report.backend}: recall@1 ${pct(report.before.recall_at_1)} -> ${pct(report.after.recall_at_1)}, ` +
      `mAP ${pct(report.before.map)} -> ${pct(report.after.map)}; ${report.seconds.toFixed(0)} s in all (fine-tuning ${report.fine_tune_seconds.toFixed(0)} s)`,
  );
  if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`finetune-eval: ${(e as Error).message ?? e}`);
    process.exit(1);
  });
}
