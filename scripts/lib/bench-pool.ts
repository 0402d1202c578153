/**
 * The bench's worker-pool rows: the product's createEmbedder({ workers }) on WASM with one worker and with the
 * pool (`auto`), against ONNX Runtime Web's WASM with as many threads as the pool has workers, and tfjs's own
 * WASM threads (setThreadsCount) in one worker, all at batch 32, in one cross-origin-isolated browser session
 * (ORT's and tfjs's threads need SharedArrayBuffer). Ratios only; never absolute times in a check.
 */
import type { Page } from 'playwright-core';
import { withTimeout, type BenchBudget, type BenchCase, type CaseResult } from './bench-protocol.ts';
import { openBrowserSession } from './browser-session.ts';

export interface PoolRatioRow {
  readonly kind: 'pool';
  readonly backend: 'wasm';
  readonly scale: number;
  readonly batch: number;
  /** The pool's size (`auto` on this machine). */
  readonly workers: number;
  /** Images/s of the pool over one worker. */
  readonly poolOverOne: number | null;
  /** Images/s of the pool over ONNX Runtime Web WASM with `workers` threads. */
  readonly poolOverOrtThreads: number | null;
  /** Images/s of one worker with tfjs's own `workers` WASM threads, over one worker without. */
  readonly tfjsThreadsOverOne: number | null;
  readonly imagesPerSecond: {
    readonly oneWorker: number | null;
    readonly pool: number | null;
    readonly ortThreads: number | null;
    readonly tfjsThreads: number | null;
  };
  /** What each runtime said it ran (threads actually used, workers running), and failures. */
  readonly notes: readonly string[];
}

const BATCH = 32;

type PoolResult = { workers: number; imagesPerSecond: number; runs: number; notes: string[] };

export async function benchPool(options: {
  scale: number;
  manifestPath: string;
  onnxPath: string;
  budget: BenchBudget;
  caseTimeoutMs: number;
  log: (s: string) => void;
}): Promise<PoolRatioRow> {
  const { log } = options;
  const session = await openBrowserSession({ crossOriginIsolated: true });
  const notes: string[] = [];
  try {
    const inFreshPage = async <T>(fn: (page: Page) => Promise<T>): Promise<T | undefined> => {
      const context = await session.browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(new URL('/scripts/pages/bench.html', session.baseUrl).href);
        await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
        return await withTimeout(
          fn(page),
          options.caseTimeoutMs,
          `did not finish in ${options.caseTimeoutMs / 1000} s`,
        );
      } catch (e) {
        notes.push(String((e as Error).message ?? e).split('\n')[0]!);
        return undefined;
      } finally {
        await context.close();
      }
    };
    const pool = (workers: number | 'auto') =>
      inFreshPage((p) =>
        p.evaluate((c) => window.benchApi.runPool(c), {
          modelUrl: options.manifestPath,
          workers,
          batch: BATCH,
          budget: options.budget,
        } as const),
      );
    const threaded = (runtime: BenchCase['runtime'], threads: number) =>
      inFreshPage((p) =>
        p.evaluate((c) => window.benchApi.run(c), {
          runtime,
          backend: 'wasm',
          scale: options.scale,
          modelUrl: runtime === 'ort' ? options.onnxPath : options.manifestPath,
          batches: [BATCH],
          budget: options.budget,
          threads,
        } satisfies BenchCase),
      );
    const one: PoolResult | undefined = await pool(1);
    const many: PoolResult | undefined = await pool('auto');
    const workers = many?.workers ?? 1;
    const ort: CaseResult | undefined = await threaded('ort', workers);
    const tfjs: CaseResult | undefined = await threaded('shitu', workers);
    const at32 = (r: CaseResult | undefined) => r?.throughput.find((t) => t.batch === BATCH)?.imagesPerSecond ?? null;
    const ips = {
      oneWorker: one?.imagesPerSecond ?? null,
      pool: many?.imagesPerSecond ?? null,
      ortThreads: at32(ort),
      tfjsThreads: at32(tfjs),
    };
    notes.push(...(many?.notes ?? []), ...(ort?.notes ?? []), ...(tfjs?.notes ?? []));
    const over = (a: number | null, b: number | null) => (a !== null && b !== null ? a / b : null);
    const row: PoolRatioRow = {
      kind: 'pool',
      backend: 'wasm',
      scale: options.scale,
      batch: BATCH,
      workers,
      poolOverOne: over(ips.pool, ips.oneWorker),
      poolOverOrtThreads: over(ips.pool, ips.ortThreads),
      tfjsThreadsOverOne: over(ips.tfjsThreads, ips.oneWorker),
      imagesPerSecond: ips,
      notes,
    };
    const n = (v: number | null) => (v === null ? '-' : v.toFixed(1));
    log(
      `pool x${options.scale} b${BATCH}: 1 worker ${n(ips.oneWorker)} img/s, ${workers} workers ${n(ips.pool)}, ORT wasm ${workers} threads ${n(ips.ortThreads)}, tfjs wasm ${workers} threads ${n(ips.tfjsThreads)}; ${notes.join('; ')}`,
    );
    return row;
  } finally {
    await session.close();
  }
}
