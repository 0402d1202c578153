/**
 * The page's side of the UMAP worker: one layout at a time, cancelled by terminating the worker (its work is
 * one long synchronous loop, which no message could interrupt); the next layout starts a fresh worker.
 */
import * as Comlink from 'comlink';
import type { UmapLayoutOptions, UmapLayoutResult, UmapProgress, UmapWorkerApi } from './umap-api.ts';
import workerUrl from './umap.worker.ts?worker&url';

export type { UmapLayoutOptions, UmapLayoutResult, UmapProgress } from './umap-api.ts';

/** Thrown (as the rejection) into a layout that was cancelled or superseded. */
export class UmapCancelledError extends Error {
  override readonly name = 'UmapCancelledError';
  constructor() {
    super('the UMAP layout was cancelled');
  }
}

export interface UmapLayout {
  /** Lays out `rows` (each of the same length); a call cancels the layout still running, if any. */
  run(
    rows: readonly ArrayLike<number>[],
    options?: UmapLayoutOptions,
    onProgress?: (p: UmapProgress) => void,
  ): Promise<UmapLayoutResult>;
  /** Stops the layout in progress (its promise rejects with UmapCancelledError). */
  cancel(): void;
  dispose(): void;
}

export function createUmapLayout(): UmapLayout {
  let current: { worker: Worker; reject: (e: Error) => void } | undefined;
  const cancel = () => {
    if (!current) return;
    current.worker.terminate();
    current.reject(new UmapCancelledError());
    current = undefined;
  };
  return {
    run(rows, options = {}, onProgress) {
      cancel();
      const n = rows.length;
      const d = rows[0]?.length ?? 0;
      const packed = new Float32Array(n * d);
      rows.forEach((r, i) => packed.set(r, i * d));
      const worker = new Worker(new URL(workerUrl, import.meta.url), { type: 'module', name: 'shitu-umap' });
      const remote = Comlink.wrap<UmapWorkerApi>(worker);
      return new Promise<UmapLayoutResult>((resolve, reject) => {
        const mine = { worker, reject };
        current = mine;
        remote
          .layout(Comlink.transfer(packed, [packed.buffer]), n, d, options, onProgress && Comlink.proxy(onProgress))
          .then(resolve, reject)
          .finally(() => {
            if (current !== mine) return;
            current = undefined;
            worker.terminate();
          });
      });
    },
    cancel,
    dispose: cancel,
  };
}
