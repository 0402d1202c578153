/**
 * Backend choice, in one place. `auto` walks AUTO_ORDER and takes the first backend that is usable *and*
 * not software-emulated; a software WebGPU/WebGL (SwiftShader, llvmpipe) is slower than WASM's SIMD kernels
 * on the same CPU, so it is only used when asked for by name. Every backend's reason is kept for info().
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../core/errors.ts';
import type { BackendChoice, BackendName } from '../core/options.ts';

/** Fastest first, for a real GPU; software renderers are skipped by `auto`. */
export const AUTO_ORDER: readonly BackendName[] = Object.freeze(['webgpu', 'webgl', 'wasm', 'cpu']);

export interface BackendProbe {
  /** Why the backend cannot run here, or undefined if it can. */
  unavailable(): Promise<string | undefined>;
  /** Why `auto` should pass over it although it runs (software emulation), or undefined. */
  software(): Promise<string | undefined>;
}

export type BackendProbes = Readonly<Record<BackendName, BackendProbe>>;

export interface BackendSelection {
  readonly backend: BackendName;
  readonly reasons: Record<BackendName, string>;
}

/** Sets a backend and proves it works: tfjs falls back silently when a backend fails to initialise. */
export async function activateBackend(name: BackendName): Promise<string | undefined> {
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (!ok || tf.getBackend() !== name) return `tfjs could not initialise it (running "${tf.getBackend()}" instead)`;
    const probe = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1));
    const values = await probe.data();
    probe.dispose();
    if (values[0] !== 2 || values[1] !== 3) return 'a test computation gave a wrong result';
    return undefined;
  } catch (e) {
    return `initialisation failed: ${(e as Error).message}`;
  }
}

export async function selectBackend(choice: BackendChoice, probes: BackendProbes): Promise<BackendSelection> {
  const reasons = {} as Record<BackendName, string>;
  const candidates = choice === 'auto' ? AUTO_ORDER : [choice];
  for (const name of AUTO_ORDER) if (!candidates.includes(name)) reasons[name] = `not requested (backend: "${choice}")`;
  let chosen: BackendName | undefined;
  for (const name of candidates) {
    if (chosen) {
      reasons[name] = `not needed: ${chosen} was chosen first`;
      continue;
    }
    const missing = await probes[name].unavailable();
    if (missing) {
      reasons[name] = `unavailable: ${missing}`;
      continue;
    }
    const software = choice === 'auto' ? await probes[name].software() : undefined;
    if (software) {
      reasons[name] = `skipped by auto: ${software}`;
      continue;
    }
    const failure = await activateBackend(name);
    if (failure) {
      reasons[name] = `failed: ${failure}`;
      continue;
    }
    chosen = name;
    reasons[name] =
      choice === 'auto' ? 'chosen: first usable backend in order webgpu > webgl > wasm > cpu' : 'chosen: requested';
  }
  if (!chosen) {
    throw new BackendError(`no backend could run (${candidates.map((n) => `${n}: ${reasons[n]}`).join('; ')})`);
  }
  return { backend: chosen, reasons };
}
