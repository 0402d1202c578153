/**
 * npm run eval -- --data <folder> --split <file>
 *                 [--model models/<id> | --random [--scale 1.0] | --tfjs-layers-model <model.json> | --teacher-tflite <file.tflite>]
 *                 [--backend auto] [--batch 16] [--json FILE]
 *
 * Embeds every image of a split in headless Chromium (the product's worker, decoder and preprocessing) and
 * reports leave-one-out retrieval over cosine similarity: recall@1, recall@5, mAP, plus images per second
 * and the backend. The teachers and a random-weight PP-LCNet go through the same code path: the same decoder
 * and direct resize; a teacher scales pixels to [-1, 1]. A TFLite teacher (e.g. the quantised MobileNetV2 1.0)
 * runs in float mode through scripts/lib/tflite, and its feature is its global average pool.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../src/core/embedder-api.ts';
import { leaveOneOutRetrieval } from '../src/core/retrieval-metrics.ts';
import { writeFixtureModel } from '../test/support/fixture-models.ts';
import { openBrowserSession } from './lib/browser-session.ts';
import { embedEntries, routeFolder } from './lib/eval-page-client.ts';
import { readSplit } from './lib/split.ts';
import { isMain } from './lib/run-main.ts';

export interface EvalReport {
  model: string;
  images: number;
  failed: number;
  recall_at_1: number;
  recall_at_5: number;
  map: number;
  images_per_second: number;
  backend: string;
}

function manifestOf(model: string): string {
  const path = existsSync(model) && statSync(model).isDirectory() ? join(model, 'manifest.json') : model;
  if (!existsSync(path)) throw new Error(`no weight manifest at ${path}`);
  return resolve(path);
}

export async function evaluate(options: {
  data: string;
  split: string;
  model?: string;
  random?: boolean;
  scale?: number;
  /** A TF.js layers model.json (Teachable Machine MobileNetV2 export). */
  teacher?: string;
  /** A .tflite image classifier; its global average pool is the feature. */
  teacherTflite?: string;
  backend?: BackendChoice;
  batch?: number;
  log?: (s: string) => void;
}): Promise<EvalReport> {
  const log = options.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const chosen = [
    options.model !== undefined,
    options.random === true,
    options.teacher !== undefined,
    options.teacherTflite !== undefined,
  ];
  if (options.teacherTflite !== undefined && chosen.filter(Boolean).length > 1) {
    throw new Error('give one of --model, --random, --tfjs-layers-model and --teacher-tflite');
  }
  if (
    options.teacherTflite !== undefined &&
    !(existsSync(options.teacherTflite) && statSync(options.teacherTflite).isFile())
  ) {
    throw new Error(`no TFLite file at ${options.teacherTflite}`);
  }
  const entries = await readSplit(options.split);
  const session = await openBrowserSession();
  try {
    const page = await session.browser.newPage();
    await routeFolder(page, 'data', options.data);
    let modelUrl: string | undefined;
    let modelName: string;
    if (options.teacher) {
      const dir = dirname(resolve(options.teacher));
      await routeFolder(page, 'teacher', dir);
      modelName = `teacher:${basename(dir)}`;
    } else if (options.teacherTflite) {
      await routeFolder(page, 'teacher', dirname(resolve(options.teacherTflite)));
      modelName = `teacher-tflite:${basename(options.teacherTflite)}`;
    } else {
      let manifest: string;
      if (options.random) {
        const scale = options.scale ?? 1.0;
        manifest = resolve(await writeFixtureModel({ id: `random-x${scale}-eval`, scale, embeddingDim: 512, seed: 1 }));
        modelName = `random-x${scale}`;
      } else {
        manifest = manifestOf(options.model ?? 'models/default');
        modelName = basename(dirname(manifest));
      }
      const rel = relative(process.cwd(), manifest);
      if (!isAbsolute(rel) && !rel.startsWith('..')) modelUrl = `/${rel}`;
      else {
        const dir = dirname(manifest);
        await routeFolder(page, 'model', dir);
        modelUrl = `/__eval/model/${basename(manifest)}`;
      }
    }
    await page.goto(new URL('/scripts/pages/eval.html', session.baseUrl).href);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    const backend = options.backend ?? 'auto';
    let loaded: { backend: string };
    if (options.teacher) {
      loaded = await page.evaluate(([u, b]) => window.evalApi.loadTeacher(u, b), [
        `/__eval/teacher/${basename(options.teacher)}`,
        backend,
      ] as [string, BackendChoice]);
    } else if (options.teacherTflite) {
      const url = `/__eval/teacher/${encodeURIComponent(basename(options.teacherTflite))}`;
      const t = await page.evaluate(([u, b]) => window.evalApi.loadTfliteTeacher(u, b), [url, backend] as [
        string,
        BackendChoice,
      ]);
      log(`${modelName}: feature "${t.feature}" (${t.dim}-d), float mode`);
      loaded = t;
    } else {
      const model = await page.evaluate(([u, b, n]) => window.evalApi.loadModel(u, b, n), [
        modelUrl!,
        backend,
        options.batch ?? 16,
      ] as [string, BackendChoice, number]);
      if (!options.random) modelName = model.modelId;
      loaded = model;
    }
    log(`${modelName} on ${loaded.backend}: embedding ${entries.length} images of ${options.split}`);
    const { vectors, labels, failed, ms } = await embedEntries(page, entries, log);
    const m = leaveOneOutRetrieval(vectors, labels);
    return {
      model: modelName,
      images: vectors.length,
      failed,
      recall_at_1: m.recallAt1,
      recall_at_5: m.recallAt5,
      map: m.map,
      images_per_second: (vectors.length / ms) * 1000,
      backend: loaded.backend,
    };
  } finally {
    await session.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      split: { type: 'string' },
      model: { type: 'string' },
      random: { type: 'boolean' },
      scale: { type: 'string' },
      'tfjs-layers-model': { type: 'string' },
      'teacher-tflite': { type: 'string' },
      backend: { type: 'string' },
      batch: { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (!values.data || !values.split) {
    console.error(
      'usage: npm run eval -- --data <folder> --split <file> [--model models/<id> | --random [--scale 1.0] | --tfjs-layers-model <model.json> | ' +
        '--teacher-tflite <file.tflite>] [--backend auto] [--batch 16] [--json FILE]',
    );
    process.exit(2);
  }
  const report = await evaluate({
    data: values.data,
    split: values.split,
    ...(values.model ? { model: values.model } : {}),
    ...(values.random ? { random: true } : {}),
    ...(values.scale ? { scale: Number(values.scale) } : {}),
    ...(values['tfjs-layers-model'] ? { teacher: values['tfjs-layers-model'] } : {}),
    ...(values['teacher-tflite'] ? { teacherTflite: values['teacher-tflite'] } : {}),
    ...(values.backend ? { backend: values.backend as BackendChoice } : {}),
    ...(values.batch ? { batch: Number(values.batch) } : {}),
  });
  console.log(
    `${report.model}: ${report.images} images, recall@1 ${report.recall_at_1.toFixed(4)}, recall@5 ${report.recall_at_5.toFixed(4)}, ` +
      `mAP ${report.map.toFixed(4)}, ${report.images_per_second.toFixed(1)} images/s on ${report.backend}`,
  );
  if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`eval: ${(e as Error).message ?? e}`);
    process.exit(1);
  });
}
