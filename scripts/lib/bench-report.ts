/**
 * The benchmark's report: flat result rows (the JSON the issue asks for), ratios ours / ORT for each pair,
 * a Markdown table, and the --quick checks (ratios with generous margins; never absolute times).
 */
import type { PoolRatioRow } from './bench-pool.ts';
import type { BenchBudget, CaseResult } from './bench-protocol.ts';

export type BenchRow = { runtime: 'shitu' | 'ort'; requested: string; scale: number } & (
  CaseResult | { error: string }
);

export interface ResultRow {
  readonly runtime: 'shitu' | 'ort';
  readonly backend: string;
  readonly scale: number;
  /** 1 = the latency loop (images/s = 1000 / p50). */
  readonly batch: number;
  readonly imagesPerSecond: number | null;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly coldStartMs: number;
  readonly peakBytes: number | null;
  readonly skipped?: string;
}

export interface RatioRow {
  readonly backend: string;
  readonly scale: number;
  readonly batch: number;
  /** Throughput ours / ORT's: above 1, we are faster. */
  readonly oursOverOrt: number | null;
  /** Cold start ours / ORT's: below 1, we start faster. */
  readonly coldStartOursOverOrt: number | null;
}

export interface ColdStart {
  readonly backend: string;
  readonly coldStartMs: number;
  /** Requests for the model's weight shards during that load (a second visit served from Cache Storage makes none). */
  readonly shardRequests?: number;
}

export interface BenchReport {
  readonly date: string;
  readonly quick: boolean;
  readonly budget: BenchBudget;
  readonly machine: Record<string, unknown>;
  readonly cases: readonly BenchRow[];
  readonly results: readonly ResultRow[];
  /** Ours / ORT per backend, scale and batch; then the worker pool's row (`kind: 'pool'`). */
  readonly ratios: readonly (RatioRow | PoolRatioRow)[];
  /** createEmbedder() to the first embedding with the default model: first visit, a second visit (same browser profile), and `auto`. */
  readonly productColdStart: {
    readonly wasm: ColdStart;
    readonly wasmSecondVisit: ColdStart;
    readonly auto: ColdStart;
  };
  readonly seconds: number;
}

export function resultRows(cases: readonly BenchRow[]): ResultRow[] {
  return cases.flatMap((c) => {
    if ('error' in c) return [];
    const common = {
      runtime: c.runtime,
      backend: c.requested,
      scale: c.scale,
      p50Ms: c.p50Ms,
      p95Ms: c.p95Ms,
      coldStartMs: c.coldStartMs,
      peakBytes: c.peakBytes,
    };
    return [
      { ...common, batch: 1, imagesPerSecond: 1000 / c.p50Ms },
      ...c.throughput.map((t) => ({
        ...common,
        batch: t.batch,
        imagesPerSecond: t.imagesPerSecond,
        ...(t.skipped ? { skipped: t.skipped } : {}),
      })),
    ];
  });
}

export function isRuntimeRatio(r: RatioRow | PoolRatioRow): r is RatioRow {
  return !('kind' in r);
}

export function isPoolRatio(r: RatioRow | PoolRatioRow): r is PoolRatioRow {
  return 'kind' in r && r.kind === 'pool';
}

export function benchRatios(results: readonly ResultRow[]): RatioRow[] {
  const ours = results.filter((r) => r.runtime === 'shitu');
  return ours.flatMap((o) => {
    const ort = results.find(
      (r) => r.runtime === 'ort' && r.backend === o.backend && r.scale === o.scale && r.batch === o.batch,
    );
    if (!ort) return [];
    return [
      {
        backend: o.backend,
        scale: o.scale,
        batch: o.batch,
        oursOverOrt:
          o.imagesPerSecond !== null && ort.imagesPerSecond !== null ? o.imagesPerSecond / ort.imagesPerSecond : null,
        coldStartOursOverOrt: o.coldStartMs / ort.coldStartMs,
      },
    ];
  });
}

const f = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits);

export function formatReport(r: BenchReport): string {
  const lines = [
    `# npm run bench${r.quick ? ' --quick' : ''}, ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${String(r.machine.cpu)}, ${String(r.machine.hardwareConcurrency)} threads; ${String(r.machine.browser)}; GPU adapter ${JSON.stringify(r.machine.gpuAdapter)}; crossOriginIsolated ${String(r.machine.crossOriginIsolated)}.`,
    `Repetitions: batch 1 up to ${r.budget.latencyReps} runs or ${r.budget.latencyMs / 1000} s; batch 8 / 32 one warm-up then up to ${r.budget.throughputReps} runs or ${r.budget.throughputMs / 1000} s; a batch expected to take over ${r.budget.maxRunMs / 1000} s per run is skipped.`,
    '',
    '| runtime | backend | scale | cold start ms | p50 ms | p95 ms | img/s b8 | img/s b32 | peak MiB |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of r.cases) {
    if ('error' in c) {
      lines.push(`| ${c.runtime} | ${c.requested} | ${c.scale} | failed: ${c.error.replace(/\|/g, '/')} | | | | | |`);
      continue;
    }
    const tp = (b: number) => {
      const t = c.throughput.find((x) => x.batch === b);
      if (t?.imagesPerSecond) return t.skipped ? `${f(t.imagesPerSecond)} (warm-up run only)` : f(t.imagesPerSecond);
      return t?.skipped ? 'skipped' : '-';
    };
    const ran = c.backend === c.requested ? c.backend : `${c.requested} (ran ${c.backend})`;
    lines.push(
      `| ${c.runtime === 'shitu' ? 'ShiTu Web' : 'ORT Web'} | ${ran} | ${c.scale} | ${f(c.coldStartMs, 0)} | ${f(c.p50Ms)} | ${f(c.p95Ms)} | ${tp(8)} | ${tp(32)} | ${c.peakBytes === null ? '-' : f(c.peakBytes / 2 ** 20)} |`,
    );
  }
  lines.push(
    '',
    '| backend | scale | batch | throughput ours / ORT | cold start ours / ORT |',
    '|---|---|---|---|---|',
  );
  for (const q of r.ratios.filter(isRuntimeRatio))
    lines.push(`| ${q.backend} | ${q.scale} | ${q.batch} | ${f(q.oursOverOrt, 2)} | ${f(q.coldStartOursOverOrt, 2)} |`);
  for (const p of r.ratios.filter(isPoolRatio)) {
    const i = p.imagesPerSecond;
    lines.push(
      '',
      `Worker pool, wasm x${p.scale}, calls of ${p.batch} images (images/s): 1 worker ${f(i.oneWorker)}; pool of ${p.workers} ${f(i.pool)}; ORT Web WASM with ${p.workers} threads ${f(i.ortThreads)}; 1 worker with tfjs's own ${p.workers} WASM threads ${f(i.tfjsThreads)}.`,
      `Pool / 1 worker ${f(p.poolOverOne, 2)}; pool / ORT ${p.workers} threads ${f(p.poolOverOrtThreads, 2)}; tfjs threads / 1 worker ${f(p.tfjsThreadsOverOne, 2)}. ${p.notes.join('; ')}`,
    );
  }
  lines.push(
    '',
    `Product cold start (createEmbedder(): worker, backend, default model, first embedding; after the page has loaded): wasm ${f(r.productColdStart.wasm.coldStartMs, 0)} ms; a second visit ${f(r.productColdStart.wasmSecondVisit.coldStartMs, 0)} ms (weight shard requests: ${r.productColdStart.wasm.shardRequests ?? '-'} on the first visit, ${r.productColdStart.wasmSecondVisit.shardRequests ?? '-'} on the second). \`auto\` chose ${r.productColdStart.auto.backend} (${f(r.productColdStart.auto.coldStartMs, 0)} ms).`,
    `Whole run: ${f(r.seconds, 0)} s.`,
  );
  return lines.join('\n');
}

/** The backend with the highest batch-8 throughput among ours, at the given scale. */
export function fastestBackend(results: readonly ResultRow[], scale: number): ResultRow | undefined {
  return results
    .filter((r) => r.runtime === 'shitu' && r.scale === scale && r.batch === 8 && r.imagesPerSecond !== null)
    .sort((a, b) => b.imagesPerSecond! - a.imagesPerSecond!)[0];
}

/** The pool must beat one worker by this much in CI (target 1.6x on 2 cores; margin for a loaded runner). */
export const QUICK_POOL_OVER_ONE = 1.3;

/**
 * CI's checks, with margins wide enough for a loaded 2-core runner: every one of our cases ran; wasm batch 8
 * is at least 0.7x ORT's WASM (target 1.0x); `auto` picked a backend within 0.7x of the fastest measured;
 * with two or more workers, the pool is at least QUICK_POOL_OVER_ONE x one worker.
 */
export function checkQuick(r: BenchReport): string[] {
  const failures: string[] = [];
  for (const c of r.cases)
    if (c.runtime === 'shitu' && 'error' in c) failures.push(`${c.requested} x${c.scale} failed: ${c.error}`);
  for (const p of r.ratios.filter(isPoolRatio)) {
    if (p.workers < 2) continue; // one core: nothing to share
    if (p.poolOverOne === null || p.poolOverOne < QUICK_POOL_OVER_ONE)
      failures.push(
        `pool of ${p.workers} / 1 worker = ${f(p.poolOverOne, 2)} (< ${QUICK_POOL_OVER_ONE}): ${p.notes.join('; ')}`,
      );
  }
  for (const q of r.ratios.filter(isRuntimeRatio).filter((x) => x.backend === 'wasm' && x.batch === 8)) {
    if (q.oursOverOrt === null || q.oursOverOrt < 0.7)
      failures.push(`wasm x${q.scale} batch 8: ours / ORT = ${f(q.oursOverOrt, 2)} (< 0.7)`);
  }
  const scale = r.results.find((x) => x.runtime === 'shitu')?.scale;
  const best = scale === undefined ? undefined : fastestBackend(r.results, scale);
  const auto = r.results.find(
    (x) => x.runtime === 'shitu' && x.scale === scale && x.batch === 8 && x.backend === r.productColdStart.auto.backend,
  );
  if (
    best &&
    auto &&
    best.imagesPerSecond &&
    auto.imagesPerSecond &&
    auto.imagesPerSecond < 0.7 * best.imagesPerSecond
  ) {
    failures.push(
      `auto chose ${auto.backend} (${f(auto.imagesPerSecond)} img/s at batch 8) but ${best.backend} measured ${f(best.imagesPerSecond)}`,
    );
  }
  return failures;
}
