/**
 * npm run export-trained -- <training out dir> --out models/<id> [--id <id>] [--dtype fp16|fp32]
 *
 * Takes what training/distill.py wrote (student.json + student.bin: canonical tensors, float32), writes it as
 * a paddle2onnx-style ONNX file, and converts that file with the project's own importer, so shipped weights
 * pass the same path as any user's model. Then checks the result against ONNX Runtime on the ONNX file:
 * fp32 max |diff| <= 1e-4, and fp16 cosine >= 0.9999 against fp32.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { WeightDtype } from '../src/core/manifest.ts';
import type { StateDict } from '../src/core/state-dict.ts';
import { writePPLCNetOnnx } from '../src/model/export/onnx-export.ts';
import { mulberry32 } from '../test/support/random-weights.ts';
import { EmbedderEngine } from '../src/worker/embedder-engine.ts';
import { nodeEnvironment } from '../src/worker/node-environment.ts';
import { convert } from './convert.ts';
import { runOrt } from './lib/ort-reference.ts';
import { normaliseNchw } from './lib/synthetic-pixels.ts';
import { isMain } from './lib/run-main.ts';

interface StudentTensor {
  name: string;
  shape: number[];
}

interface StudentFile {
  architecture: string;
  scale: number;
  embeddingDim: number;
  seed: number;
  config: Record<string, unknown>;
  trainingSeconds: number;
  epochs: number;
  imagesSeen: number;
  tensors: StudentTensor[];
  provenance?: { teacher?: string; data?: string };
}

export async function readStudent(dir: string): Promise<{ meta: StudentFile; stateDict: StateDict }> {
  const meta = JSON.parse(await readFile(join(dir, 'student.json'), 'utf8')) as StudentFile;
  const bytes = await readFile(join(dir, 'student.bin'));
  const stateDict: StateDict = new Map();
  let offset = 0;
  for (const t of meta.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (offset + count * 4 > bytes.byteLength) throw new Error(`student.bin ends inside tensor ${t.name}`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = bytes.readFloatLE(offset + i * 4);
    stateDict.set(t.name, { shape: t.shape, data });
    offset += count * 4;
  }
  if (offset !== bytes.byteLength)
    throw new Error(`student.bin has ${bytes.byteLength - offset} bytes past its last tensor`);
  return { meta, stateDict };
}

function checkImages(count: number) {
  return Array.from({ length: count }, (_, n) => {
    const rand = mulberry32(77 + n);
    const data = new Uint8ClampedArray(224 * 224 * 4).map((_, i) => ((i & 3) === 3 ? 255 : Math.floor(rand() * 256)));
    return { data, width: 224, height: 224 };
  });
}

async function embed(manifestPath: string, images: ReturnType<typeof checkImages>): Promise<Float32Array[]> {
  const engine = new EmbedderEngine(nodeEnvironment());
  await engine.load({ model: pathToFileURL(manifestPath).href, backend: 'cpu' });
  const results = await engine.embed(images.map((im) => im as unknown as ImageData));
  await engine.dispose();
  return results.map((r) => {
    if (!r.ok) throw new Error(r.error.message);
    return r.embedding;
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      id: { type: 'string' },
      dtype: { type: 'string', default: 'fp16' },
      license: { type: 'string' },
    },
  });
  const dir = positionals[0];
  if (!dir || !values.out) {
    console.error(
      'usage: npm run export-trained -- <training out dir> --out models/<id> [--id <id>] [--dtype fp16|fp32]',
    );
    process.exit(2);
  }
  const { meta, stateDict } = await readStudent(dir);
  const onnxPath = join(dir, 'student.onnx');
  const onnx = writePPLCNetOnnx({
    scale: meta.scale,
    embeddingDim: meta.embeddingDim,
    batchNorm: 'separate',
    stateDict,
  });
  await writeFile(onnxPath, onnx);
  // The recipe without machine-specific paths: enough to rerun it from training/README.md.
  const keep = [
    'minutes',
    'batch',
    'lr',
    'weight_decay',
    'warmup',
    'sim_weight',
    'image_size',
    'teacher_size',
    'crop_scale',
    'jitter',
    'mixup',
    'seed',
  ];
  const recipe = {
    config: Object.fromEntries(keep.filter((k) => k in meta.config).map((k) => [k, meta.config[k]])),
    trainingSeconds: meta.trainingSeconds,
    epochs: meta.epochs,
    imagesSeen: meta.imagesSeen,
  };
  const teacher =
    meta.provenance?.teacher ?? 'Keras Applications MobileNetV2 alpha 0.35 ImageNet weights (TF.js export)';
  const data = meta.provenance?.data ?? 'Caltech-101 (Fei-Fei, Fergus, Perona), CC BY 4.0';
  const provenance =
    `Trained by this project (ShiTu Web): PP-LCNet x${meta.scale} + linear neck to ${meta.embeddingDim}, distilled from ${teacher} ` +
    `on images of ${data}; never trained on the eval or fine-tune splits. Not PaddleClas's PP-ShiTu weights. ` +
    `Recipe: training/distill.py ${JSON.stringify(recipe)}`;
  const license =
    values.license ??
    `Weights: Apache-2.0 (this project). Made from images of ${data}, and a teacher with ImageNet weights ` +
      '(Apache-2.0 code and weights; ImageNet terms apply to the data).';
  const fp32 = await convert([onnxPath], join(dir, 'fp32-check'), {
    id: 'fp32-check',
    dtype: 'fp32',
    provenance,
    license,
  });
  const shipped = await convert([onnxPath], values.out, {
    ...(values.id ? { id: values.id } : {}),
    dtype: values.dtype as WeightDtype,
    provenance,
    license,
  });
  const images = checkImages(4);
  const reference = await runOrt(onnx, normaliseNchw(images), images.length);
  const a = await embed(fp32.manifestPath, images);
  const b = await embed(shipped.manifestPath, images);
  let maxAbsDiff = 0;
  let minCosine = 1;
  a.forEach((v, i) => {
    let dot = 0;
    v.forEach((x, k) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x - reference[i]![k]!));
      dot += x * b[i]![k]!;
    });
    minCosine = Math.min(minCosine, dot);
  });
  const bytes = shipped.encoded.shards.reduce((n, s) => n + s.bytes.byteLength, 0);
  console.log(`wrote ${shipped.manifestPath} (${(bytes / 1048576).toFixed(2)} MiB, ${values.dtype})`);
  console.log(
    `fp32 import vs ONNX Runtime: max |diff| ${maxAbsDiff.toExponential(2)}; ${values.dtype} vs fp32: min cosine ${minCosine.toFixed(7)}`,
  );
  if (maxAbsDiff > 1e-4 || minCosine < 0.9999) {
    console.error('export-trained: the exported model misses the parity bar');
    process.exit(1);
  }
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
