/**
 * The page `npm run bench` drives, one case per fresh browser context so every cold start is cold. Our
 * model runs through EmbedderEngine, the code the worker runs, here on the page's thread so tf.profile can
 * see its tensors; ONNX Runtime Web runs the same model exported to ONNX. Both get the same 224 x 224 RGBA
 * pixels and both return embeddings in JS memory, so each figure includes preprocessing and read-back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type * as Ort from 'onnxruntime-web';
import { BROWSER_PROBES } from '../../src/worker/browser-backends.ts';
import { decodeImage } from '../../src/worker/decode-image.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { createEmbedder } from '../../src/worker/client.ts';
import { measureLoaded, quantile, timeRuns, type BenchCase, type CaseResult } from '../lib/bench-protocol.ts';
import { normaliseNchw, syntheticImages } from '../lib/synthetic-pixels.ts';

const SIZE = 224;
const now = () => performance.now();

/** The parity script's synthetic pixels as ImageData; the model's speed does not depend on them. */
function syntheticImageData(count: number): ImageData[] {
  return syntheticImages(count).map((p) => new ImageData(p.data, p.width, p.height));
}

/** The worker's engine, on this page's thread, loading over the network (no shard cache: a first visit). */
function newEngine(modelUrl: string): EmbedderEngine {
  return new EmbedderEngine({
    probes: BROWSER_PROBES,
    decode: decodeImage,
    fetch: (u) => fetch(u),
    defaultModelUrl: modelUrl,
  });
}

async function runShitu(c: BenchCase): Promise<CaseResult> {
  const images = syntheticImageData(Math.max(...c.batches, 1));
  // tfjs's own threads (a cross-origin-isolated page only) when the case asks for them; else one thread, as
  // in the product's workers on a page that is not isolated.
  if (c.threads !== undefined) setThreadsCount(c.threads);
  else tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const t0 = now();
  const engine = newEngine(c.modelUrl);
  // Where the cold start goes: backend set-up and weights, then building + warm-up (shader compilation), then
  // the first embedding itself.
  let compileStart = Number.NaN;
  const info = await engine.load({ model: c.modelUrl, backend: c.backend, batchSize: 32 }, (p) => {
    if (p.stage === 'compile' && p.done === 0) compileStart = now();
  });
  const loaded = now();
  await engine.embed([images[0]!]);
  const coldStartMs = now() - t0;
  const coldStartParts = {
    setupAndWeightsMs: compileStart - t0,
    buildAndWarmUpMs: loaded - compileStart,
    firstEmbeddingMs: t0 + coldStartMs - loaded,
  };
  const run = async (batch: number) => {
    const r = await engine.embed(images.slice(0, batch), { batchSize: batch });
    if (!r.every((x) => x.ok)) throw new Error('an embedding failed');
  };
  const measured = await measureLoaded(run, c, now);
  const profile = await tf.profile(() => run(Math.min(8, images.length)));
  await engine.dispose();
  const notes =
    info.backend === 'wasm'
      ? [
          `tfjs wasm: ${getThreadsCount()} thread(s), SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}, multithread support ${tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')}`,
        ]
      : [];
  return { backend: info.backend, coldStartMs, coldStartParts, ...measured, peakBytes: profile.peakBytes, notes };
}

/**
 * Where one batch-1 embedding spends its time on a backend: tf.profile's kernels, summed by kernel name
 * (kernel times come from the backend: GPU timestamp queries on WebGPU where the adapter has them).
 */
async function profileKernels(c: Pick<BenchCase, 'backend' | 'modelUrl'>): Promise<{
  backend: string;
  wallMs: number;
  kernels: { name: string; count: number; ms: number }[];
  slowest: { name: string; inputShapes: string; ms: number }[];
  note?: string;
}> {
  const [image] = syntheticImageData(1);
  const engine = newEngine(c.modelUrl);
  const info = await engine.load({ model: c.modelUrl, backend: c.backend });
  await engine.embed([image!]);
  const t0 = now();
  const profile = await tf.profile(async () => void (await engine.embed([image!])));
  const wallMs = now() - t0;
  await engine.dispose();
  const sums = new Map<string, { count: number; ms: number }>();
  let timed = true;
  // tfjs records each op's wrapper scope ("fusedConv2d__op") next to its kernel: count the kernels only.
  const kernelsOnly = profile.kernels.filter((k) => !k.name.endsWith('__op'));
  for (const k of kernelsOnly) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN;
    if (Number.isNaN(ms)) timed = false;
    const s = sums.get(k.name) ?? { count: 0, ms: 0 };
    sums.set(k.name, { count: s.count + 1, ms: s.ms + (Number.isNaN(ms) ? 0 : ms) });
  }
  const kernels = [...sums].map(([name, s]) => ({ name, ...s })).sort((a, b) => b.ms - a.ms);
  const slowest = kernelsOnly
    .map((k) => ({
      name: k.name,
      inputShapes: k.inputShapes.map((sh) => (sh ? `[${sh.join(',')}]` : '?')).join(' '),
      ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN,
    }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10);
  return {
    backend: info.backend,
    wallMs,
    kernels,
    slowest,
    ...(timed ? {} : { note: `kernel times unavailable: ${JSON.stringify(profile.kernels[0]?.kernelTimeMs)}` }),
  };
}

let ortModule: typeof Ort | undefined;
async function loadOrt(): Promise<typeof Ort> {
  if (!ortModule) {
    ortModule = await import('onnxruntime-web');
    // Served by the dev server from node_modules; ORT would otherwise look next to Vite's pre-bundled copy.
    ortModule.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  }
  return ortModule;
}

async function runOrt(c: BenchCase): Promise<CaseResult> {
  const ort = await loadOrt();
  const images = syntheticImageData(Math.max(...c.batches, 1));
  // One thread unless the case asks for more (ORT would otherwise pick its own count on an isolated page).
  ort.env.wasm.numThreads = c.threads ?? 1;
  const notes: string[] = [
    `onnxruntime-web ${ort.env.versions.web ?? '?'}; wasm threads ${ort.env.wasm.numThreads} (crossOriginIsolated: ${self.crossOriginIsolated})`,
  ];
  const t0 = now();
  const session = await ort.InferenceSession.create(c.modelUrl, {
    executionProviders: [c.backend],
    graphOptimizationLevel: 'all',
  });
  const run = async (batch: number) => {
    const input = new ort.Tensor('float32', normaliseNchw(images.slice(0, batch)), [batch, 3, SIZE, SIZE]);
    const out = await session.run({ [session.inputNames[0]!]: input });
    const y = out[session.outputNames[0]!]!;
    const data = (await y.getData()) as Float32Array;
    // The same L2 normalisation our embed() returns.
    const dim = data.length / batch;
    for (let i = 0; i < batch; i++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += data[i * dim + k]! ** 2;
      const inv = 1 / Math.sqrt(s);
      for (let k = 0; k < dim; k++) data[i * dim + k]! *= inv;
    }
    input.dispose();
    y.dispose();
  };
  await run(1);
  const coldStartMs = now() - t0;
  const measured = await measureLoaded(run, c, now);
  await session.release();
  return { backend: c.backend, coldStartMs, ...measured, peakBytes: null, notes };
}

/**
 * The product's worker pool: createEmbedder({ workers }) on WASM, images/s for calls of `batch` images once
 * every worker runs (the second worker starts on the first large call). Each worker is one thread.
 */
async function runPool(c: {
  modelUrl: string;
  workers: number | 'auto';
  batch: number;
  budget: BenchCase['budget'];
}): Promise<{ workers: number; imagesPerSecond: number; runs: number; notes: string[] }> {
  const images = syntheticImageData(c.batch);
  const embedder = await createEmbedder({ backend: 'wasm', model: c.modelUrl, workers: c.workers });
  try {
    const run = async () => {
      const r = await embedder.embed(images, { batchSize: c.batch });
      if (!r.every((x) => x.ok)) throw new Error('an embedding failed');
    };
    await run();
    const deadline = now() + 60_000;
    const max = (await embedder.info()).workers?.max ?? 1;
    while (((await embedder.info()).workers?.running ?? 1) < max) {
      if (now() > deadline) throw new Error(`only ${(await embedder.info()).workers?.running} workers started in 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await run(); // every worker's first run at this batch size allocates: untimed
    const times = await timeRuns(run, c.budget.throughputReps + 1, c.budget.throughputMs, 2, now);
    const info = await embedder.info();
    return {
      workers: info.workers?.running ?? 1,
      imagesPerSecond: (c.batch * 1000) / quantile(times, 0.5),
      runs: times.length,
      notes: [`${info.backend}, ${info.workers?.running} worker(s) running`],
    };
  } finally {
    await embedder.dispose();
  }
}

/** The product's own cold start: createEmbedder() (worker, backend, the default model) to the first embedding. */
async function productColdStart(
  backend: BenchCase['backend'] | 'auto',
  modelUrl: string,
): Promise<{ backend: string; coldStartMs: number }> {
  const [image] = syntheticImageData(1);
  const t0 = now();
  const embedder = await createEmbedder({ backend, model: modelUrl });
  const [r] = await embedder.embed([image!]);
  const coldStartMs = now() - t0;
  if (!r?.ok) throw new Error('the first embedding failed');
  const info = await embedder.info();
  await embedder.dispose();
  return { backend: info.backend, coldStartMs };
}

async function machine() {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  const info = adapter ? ((adapter as unknown as { info?: Record<string, unknown> }).info ?? {}) : {};
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: self.crossOriginIsolated,
    gpuAdapter: adapter
      ? {
          vendor: info.vendor,
          architecture: info.architecture,
          device: info.device,
          description: info.description,
          shaderF16: adapter.features.has('shader-f16'),
        }
      : null,
  };
}

declare global {
  interface Window {
    benchApi: {
      run(c: BenchCase): Promise<CaseResult>;
      runPool: typeof runPool;
      productColdStart: typeof productColdStart;
      machine: typeof machine;
      profileKernels: typeof profileKernels;
    };
  }
}

window.benchApi = {
  run: (c) => (c.runtime === 'ort' ? runOrt(c) : runShitu(c)),
  runPool,
  productColdStart,
  machine,
  profileKernels,
};
document.body.dataset.ready = 'true';
