/**
 * `auto`'s choice by measurement. The order webgpu > webgl > wasm is a guess about the device: WebGPU can be
 * slower than WASM or WebGL for a small CNN on some GPUs. So on the first load of a model on a device, `auto`
 * times each candidate backend on the actual model (warm-up, then a few runs of one batch, within a budget),
 * keeps the fastest, and remembers the verdict for that device and model; a later load uses it at once.
 *
 * Candidates: the backends that run and are not software emulations (a software WebGPU / WebGL is skipped by
 * `auto` as before: on SwiftShader its shader compilation alone takes seconds, and WASM's SIMD kernels beat
 * it on the same CPU, `npm run bench`), and cpu only when WASM cannot run (pure JavaScript; it never wins
 * against WASM). With one candidate there is nothing to time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../core/options.ts';
import { AUTO_ORDER, activateBackend, type BackendProbes } from './backend-select.ts';

/** What `auto` decided for one device and model, and the figures it decided on. */
export interface BackendVerdict {
  readonly backend: BackendName;
  /** Median milliseconds per image at the trial's batch, per backend timed. */
  readonly msPerImage: Partial<Record<BackendName, number>>;
  /** Why a candidate has no figure (failed, or its warm-up alone used up the budget). */
  readonly notes: Partial<Record<BackendName, string>>;
  readonly batch: number;
  /** ISO date of the measurement. */
  readonly measuredAt: string;
}

/** Where verdicts are kept between visits (the browser worker: IndexedDB). */
export interface BackendMemory {
  get(key: string): Promise<BackendVerdict | undefined>;
  put(key: string, verdict: BackendVerdict): Promise<void>;
}

/** Time for all trials together, warm-ups included; a backend whose warm-up alone uses its share is not run further. */
export const TRIAL_BUDGET_MS = 2500;
/** Timed runs per backend at most (after the warm-up). */
export const TRIAL_RUNS = 3;
export const TRIAL_BATCH = 4;

export interface ProbedBackend {
  readonly name: BackendName;
  readonly runs: boolean;
  readonly software: boolean;
}

export async function probeBackends(probes: BackendProbes): Promise<ProbedBackend[]> {
  const out: ProbedBackend[] = [];
  for (const name of AUTO_ORDER) {
    const runs = !(await probes[name].unavailable());
    out.push({ name, runs, software: runs && !!(await probes[name].software()) });
  }
  return out;
}

/** The default rule for which backends are worth timing (see the file's comment). */
export function trialCandidates(probed: readonly ProbedBackend[]): BackendName[] {
  const usable = probed.filter((p) => p.runs && !p.software).map((p) => p.name);
  return usable.includes('wasm') ? usable.filter((n) => n !== 'cpu') : usable;
}

/**
 * One backend's trial: switch to it, build the model there, warm it up, time up to TRIAL_RUNS runs of `batch`
 * images while its share of the budget lasts. `build` returns a forward pass and a dispose.
 */
async function timeOne(
  name: BackendName,
  build: () => { run: (batch: number) => tf.Tensor; dispose: () => void },
  shareMs: number,
  now: () => number,
): Promise<{ msPerImage?: number; note?: string }> {
  const failure = await activateBackend(name);
  if (failure) return { note: failure };
  const start = now();
  let model: ReturnType<typeof build> | undefined;
  try {
    model = build();
    const once = async () => {
      const y = model!.run(TRIAL_BATCH);
      await y.data();
      y.dispose();
    };
    await once(); // warm-up: compilation, allocation
    if (now() - start > shareMs) return { note: `its warm-up alone took ${Math.round(now() - start)} ms` };
    const times: number[] = [];
    while (times.length < TRIAL_RUNS && (times.length === 0 || now() - start < shareMs)) {
      const t0 = now();
      await once();
      times.push((now() - t0) / TRIAL_BATCH);
    }
    times.sort((a, b) => a - b);
    return { msPerImage: times[Math.floor(times.length / 2)]! };
  } catch (e) {
    return { note: `failed: ${(e as Error).message}` };
  } finally {
    model?.dispose();
  }
}

/** Times every candidate and names the fastest; leaves no backend active that matters (the caller activates). */
export async function measureBackends(
  candidates: readonly BackendName[],
  build: () => { run: (batch: number) => tf.Tensor; dispose: () => void },
  now: () => number,
  budgetMs = TRIAL_BUDGET_MS,
): Promise<BackendVerdict | undefined> {
  const msPerImage: Partial<Record<BackendName, number>> = {};
  const notes: Partial<Record<BackendName, string>> = {};
  for (const name of candidates) {
    const r = await timeOne(name, build, budgetMs / candidates.length, now);
    if (r.msPerImage !== undefined) msPerImage[name] = r.msPerImage;
    if (r.note) notes[name] = r.note;
  }
  const timed = (Object.entries(msPerImage) as [BackendName, number][]).sort((a, b) => a[1] - b[1]);
  if (timed.length === 0) return undefined;
  return { backend: timed[0]![0], msPerImage, notes, batch: TRIAL_BATCH, measuredAt: new Date().toISOString() };
}

/** The verdict in words, for info().backendReasons. */
export function describeVerdict(v: BackendVerdict, remembered: boolean): string {
  const figures = (Object.entries(v.msPerImage) as [BackendName, number][])
    .map(([n, ms]) => `${n} ${ms.toFixed(1)} ms/image`)
    .join(', ');
  return `${remembered ? 'chosen: remembered' : 'chosen: measured'} fastest on this device for this model (${figures}; batch ${v.batch}, ${v.measuredAt.slice(0, 10)})`;
}
