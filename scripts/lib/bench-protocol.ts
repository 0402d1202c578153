/**
 * The benchmark's protocol, shared by both runtimes so they are measured the same way: what one case is,
 * how many repetitions a measurement gets (bounded by a time budget, so slow backends finish), and the
 * statistics reported. Runs in the page; no DOM, no tfjs.
 */

export interface BenchBudget {
  /** Repetitions of the batch-1 latency loop: at most `latencyReps`, fewer when `latencyMs` runs out (at least 3). */
  readonly latencyReps: number;
  readonly latencyMs: number;
  /** Timed runs per throughput batch: at most `throughputReps`, fewer when `throughputMs` runs out (at least 1). */
  readonly throughputReps: number;
  readonly throughputMs: number;
  /** A batch whose one untimed warm-up run is expected to take longer than this is skipped, with the reason. */
  readonly maxRunMs: number;
}

export const FULL_BUDGET: BenchBudget = {
  latencyReps: 30,
  latencyMs: 4000,
  throughputReps: 5,
  throughputMs: 6000,
  maxRunMs: 20_000,
};
export const QUICK_BUDGET: BenchBudget = {
  latencyReps: 8,
  latencyMs: 1200,
  throughputReps: 2,
  throughputMs: 1500,
  maxRunMs: 8000,
};

export interface BenchCase {
  readonly runtime: 'shitu' | 'ort';
  /** shitu: a tfjs backend; ort: an execution provider. */
  readonly backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
  readonly scale: number;
  /** shitu: the weight manifest's URL; ort: the .onnx file's URL. */
  readonly modelUrl: string;
  readonly batches: readonly number[];
  readonly budget: BenchBudget;
  /** tfjs WASM / ORT WASM threads (a cross-origin-isolated page only); default: each runtime's own choice. */
  readonly threads?: number;
}

export interface ThroughputFigure {
  readonly batch: number;
  /** Batch size over the median time of the timed runs; null when skipped. */
  readonly imagesPerSecond: number | null;
  readonly runs: number;
  readonly skipped?: string;
}

export interface CaseResult {
  /** The backend that actually ran (tfjs can fall back), or the provider ORT reported. */
  readonly backend: string;
  /** From the start of loading (backend, weights, graph) to the first embedding in hand. */
  readonly coldStartMs: number;
  /** Ours only: the cold start split into backend set-up + weights, build + warm-up (compilation), first embedding. */
  readonly coldStartParts?: {
    readonly setupAndWeightsMs: number;
    readonly buildAndWarmUpMs: number;
    readonly firstEmbeddingMs: number;
  };
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly latencyRuns: number;
  readonly throughput: readonly ThroughputFigure[];
  /** tfjs's peak tensor bytes over one batch-8 run (tf.profile); null for ORT, which does not expose it. */
  readonly peakBytes: number | null;
  readonly notes: readonly string[];
}

/** The q-quantile (0..1) of the values, by linear interpolation between closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * Runs `once` until `maxReps` runs are done or `budgetMs` is spent (at least `minReps`), and returns each run's
 * milliseconds.
 */
export async function timeRuns(
  once: () => Promise<void>,
  maxReps: number,
  budgetMs: number,
  minReps: number,
  now: () => number,
): Promise<number[]> {
  const times: number[] = [];
  const started = now();
  while (times.length < maxReps && (times.length < minReps || now() - started < budgetMs)) {
    const t0 = now();
    await once();
    times.push(now() - t0);
  }
  return times;
}

/** Latency and throughput of a loaded runtime, by the shared protocol. `run(batch)` embeds that many images and reads the result back. */
export async function measureLoaded(
  run: (batch: number) => Promise<void>,
  c: Pick<BenchCase, 'batches' | 'budget'>,
  now: () => number,
): Promise<Pick<CaseResult, 'p50Ms' | 'p95Ms' | 'latencyRuns' | 'throughput'>> {
  const b = c.budget;
  const latency = await timeRuns(() => run(1), b.latencyReps, b.latencyMs, 3, now);
  const single = quantile(latency, 0.5);
  const throughput: ThroughputFigure[] = [];
  for (const batch of c.batches) {
    const expected = single * batch;
    if (expected > b.maxRunMs) {
      throughput.push({
        batch,
        imagesPerSecond: null,
        runs: 0,
        skipped: `one run would take about ${(expected / 1000).toFixed(0)} s (batch 1 x ${batch})`,
      });
      continue;
    }
    // Untimed first run at this batch size: new shapes compile new shaders / allocate new buffers.
    const t0 = now();
    await run(batch);
    const warm = now() - t0;
    const times =
      warm > b.maxRunMs ? [warm] : await timeRuns(() => run(batch), b.throughputReps, b.throughputMs, 1, now);
    throughput.push({
      batch,
      imagesPerSecond: (batch * 1000) / quantile(times, 0.5),
      runs: times.length,
      ...(warm > b.maxRunMs ? { skipped: 'only the warm-up run was timed (slow)' } : {}),
    });
  }
  return { p50Ms: single, p95Ms: quantile(latency, 0.95), latencyRuns: latency.length, throughput };
}

/** `p`, or a rejection with `message` after `ms`: a case that hangs (a software GPU can stall) must not stop the run. */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]).finally(() => clearTimeout(timer));
}
