/**
 * How many workers embed in parallel (createEmbedder's `workers`), its default and its validator, and the
 * rule `auto` follows. Pure: the client hands in what the browser says about the machine.
 */
import { OptionsError } from '../errors.ts';
import type { BackendName } from './load-options.ts';

export type WorkersChoice = 'auto' | number;

/** One worker unless asked: each worker holds its own copy of the model and tfjs's memory. */
export const DEFAULT_WORKERS: WorkersChoice = 1;
export const MAX_WORKERS = 16;

/**
 * What one worker holds at batch 8 on WASM at scale x1.0 (tf.profile's peak tensor bytes, 98 MB in
 * `npm run bench`), rounded up for the wasm heap's growth and the model: used to bound `auto` by memory.
 */
export const WORKER_MEMORY_MIB = 160;

export function validateWorkers(v: unknown): WorkersChoice {
  if (v === 'auto') return v;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_WORKERS) {
    throw new OptionsError(`workers must be "auto" or an integer from 1 to ${MAX_WORKERS}; got ${JSON.stringify(v)}`);
  }
  return v as number;
}

export interface MachineFacts {
  /** navigator.hardwareConcurrency: logical cores. */
  readonly cores: number | undefined;
  /** navigator.deviceMemory (GiB, Chromium only, rounded and capped at 8 by the browser). */
  readonly memoryGiB: number | undefined;
}

/**
 * `auto`: one worker per logical core (the page's own thread mostly waits), bounded so the workers' memory
 * stays under a quarter of the device's, and one worker on a GPU backend: the GPU is one device, and a second
 * worker would only queue behind the first (and hold a second copy of the weights in GPU memory).
 */
export function resolveWorkers(choice: WorkersChoice, backend: BackendName, machine: MachineFacts): number {
  if (choice !== 'auto') return choice;
  if (backend === 'webgpu' || backend === 'webgl') return 1;
  const cores = Math.max(1, Math.floor(machine.cores ?? 1));
  const byMemory = Math.max(1, Math.floor(((machine.memoryGiB ?? 4) * 1024) / 4 / WORKER_MEMORY_MIB));
  return Math.min(cores, byMemory, MAX_WORKERS);
}
