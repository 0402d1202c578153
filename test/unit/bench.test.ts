import { describe, expect, it } from 'vitest';
import {
  measureLoaded,
  quantile,
  timeRuns,
  type BenchBudget,
  type CaseResult,
} from '../../scripts/lib/bench-protocol.ts';
import {
  benchRatios,
  checkQuick,
  formatReport,
  resultRows,
  type BenchReport,
  type BenchRow,
} from '../../scripts/lib/bench-report.ts';

/** A clock the measured function advances: each run "takes" what the script says. */
function fakeClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const budget: BenchBudget = { latencyReps: 10, latencyMs: 100, throughputReps: 3, throughputMs: 1000, maxRunMs: 500 };

describe('bench protocol', () => {
  it('quantile interpolates between closest ranks', () => {
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20], 0.95)).toBeCloseTo(19.5);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('timeRuns stops at maxReps or the budget, never below minReps', async () => {
    const clock = fakeClock();
    expect(await timeRuns(async () => clock.advance(10), 5, 1000, 1, clock.now)).toHaveLength(5);
    expect(await timeRuns(async () => clock.advance(40), 50, 100, 1, clock.now)).toHaveLength(3);
    expect(await timeRuns(async () => clock.advance(400), 50, 100, 3, clock.now)).toEqual([400, 400, 400]);
  });

  it('measureLoaded: throughput from the median run, a warm-up before each batch, slow batches skipped', async () => {
    const clock = fakeClock();
    const calls: number[] = [];
    // 10 ms per image, plus 100 ms the first time a batch size is seen (shader compilation).
    const seen = new Set<number>([1]); // batch 1 was compiled by the cold start
    const run = async (batch: number) => {
      calls.push(batch);
      clock.advance(10 * batch + (seen.has(batch) ? 0 : 100));
      seen.add(batch);
    };
    const m = await measureLoaded(run, { batches: [8, 64], budget }, clock.now);
    expect(m.latencyRuns).toBe(10);
    expect(m.p50Ms).toBe(10);
    expect(m.throughput[0]).toEqual({ batch: 8, imagesPerSecond: 100, runs: 3 });
    expect(m.throughput[1]!.imagesPerSecond).toBeNull();
    expect(m.throughput[1]!.skipped).toMatch(/about 1 s/);
    expect(calls.filter((b) => b === 64)).toHaveLength(0);
    expect(calls.filter((b) => b === 8)).toHaveLength(4); // one warm-up + three timed
  });
});

const caseResult = (backend: string, p50: number, b8: number, cold: number): CaseResult => ({
  backend,
  coldStartMs: cold,
  p50Ms: p50,
  p95Ms: p50 * 1.2,
  latencyRuns: 10,
  throughput: [{ batch: 8, imagesPerSecond: b8, runs: 3 }],
  peakBytes: null,
  notes: [],
});

function report(cases: BenchRow[], autoBackend: string): BenchReport {
  const results = resultRows(cases);
  const cold = { backend: autoBackend, coldStartMs: 100 };
  return {
    date: '2026-11-27T00:00:00Z',
    quick: true,
    budget,
    machine: {},
    cases,
    results,
    ratios: benchRatios(results),
    productColdStart: { wasm: cold, wasmSecondVisit: cold, auto: cold },
    seconds: 1,
  };
}

describe('bench report', () => {
  const ours = (backend: string, p50: number, b8: number): BenchRow => ({
    runtime: 'shitu',
    requested: backend,
    scale: 1,
    ...caseResult(backend, p50, b8, 200),
  });
  const ort = (backend: string, p50: number, b8: number): BenchRow => ({
    runtime: 'ort',
    requested: backend,
    scale: 1,
    ...caseResult(backend, p50, b8, 800),
  });

  it('pairs each of our rows with ORT on the same backend, scale and batch', () => {
    const r = report([ours('wasm', 10, 90), ours('cpu', 300, 3), ort('wasm', 20, 60)], 'wasm');
    expect(r.results.map((x) => `${x.runtime} ${x.backend} b${x.batch}`)).toEqual([
      'shitu wasm b1',
      'shitu wasm b8',
      'shitu cpu b1',
      'shitu cpu b8',
      'ort wasm b1',
      'ort wasm b8',
    ]);
    expect(r.ratios).toEqual([
      { backend: 'wasm', scale: 1, batch: 1, oursOverOrt: 2, coldStartOursOverOrt: 0.25 },
      { backend: 'wasm', scale: 1, batch: 8, oursOverOrt: 1.5, coldStartOursOverOrt: 0.25 },
    ]);
    expect(checkQuick(r)).toEqual([]);
  });

  it('--quick fails when wasm falls well behind ORT, when auto misses the fastest backend, or when a case failed', () => {
    expect(checkQuick(report([ours('wasm', 10, 30), ort('wasm', 20, 60)], 'wasm'))[0]).toMatch(
      /wasm x1 batch 8: ours \/ ORT = 0.50/,
    );
    expect(checkQuick(report([ours('wasm', 10, 90), ours('cpu', 300, 3), ort('wasm', 20, 60)], 'cpu'))[0]).toMatch(
      /auto chose cpu/,
    );
    const failed: BenchRow = { runtime: 'shitu', requested: 'webgl', scale: 1, error: 'no context' };
    expect(checkQuick(report([ours('wasm', 10, 90), failed, ort('wasm', 20, 60)], 'wasm'))).toEqual([
      'webgl x1 failed: no context',
    ]);
  });
  it('--quick checks the worker pool against one worker, and leaves a one-core machine alone', () => {
    const pool = (workers: number, poolOverOne: number | null) => ({
      kind: 'pool' as const,
      backend: 'wasm' as const,
      scale: 1,
      batch: 32,
      workers,
      poolOverOne,
      poolOverOrtThreads: 1.1,
      tfjsThreadsOverOne: 1,
      imagesPerSecond: { oneWorker: 50, pool: 50 * (poolOverOne ?? 0), ortThreads: 80, tfjsThreads: 50 },
      notes: ['wasm, 2 worker(s) running'],
    });
    const base = report([ours('wasm', 10, 90), ort('wasm', 20, 60)], 'wasm');
    const withPool = (p: ReturnType<typeof pool>) => ({ ...base, ratios: [...base.ratios, p] });
    expect(checkQuick(withPool(pool(2, 1.8)))).toEqual([]);
    expect(checkQuick(withPool(pool(2, 1.1)))[0]).toMatch(/^pool of 2 \/ 1 worker = 1.10 \(< 1.3\)/);
    expect(checkQuick(withPool(pool(2, null)))[0]).toMatch(/^pool of 2 \/ 1 worker = - /);
    expect(checkQuick(withPool(pool(1, 1)))).toEqual([]);
    expect(formatReport(withPool(pool(2, 1.8)))).toMatch(/Pool \/ 1 worker 1.80; pool \/ ORT 2 threads 1.10/);
  });
});
