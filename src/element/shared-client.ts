/**
 * One embedder per (model, backend) for the whole page: every <shitu-embedder> asking for the same model
 * shares its worker and its loaded weights. Reference-counted: the last element to let go disposes it.
 */
import type { BackendChoice, EmbedderInfo, Progress } from '../core/embedder-api.ts';
import { createEmbedder, type Embedder } from '../worker/client.ts';

interface Entry {
  readonly ready: Promise<Embedder>;
  users: number;
  /** Progress listeners of the elements still waiting for this load. */
  readonly listeners: Set<(p: Progress) => void>;
}

const shared = new Map<string, Entry>();

export interface SharedEmbedder {
  readonly embedder: Embedder;
  readonly info: EmbedderInfo;
  release(): void;
}

/** Workers currently alive for elements (for tests and diagnostics). */
export function sharedEmbedderCount(): number {
  return shared.size;
}

export async function acquireEmbedder(
  model: string,
  backend: BackendChoice,
  onProgress?: (p: Progress) => void,
): Promise<SharedEmbedder> {
  const key = `${backend} ${model}`;
  let entry = shared.get(key);
  if (!entry) {
    const listeners = new Set<(p: Progress) => void>();
    // `auto` workers: a large drop is shared between cores on WASM (one worker on a GPU backend).
    const ready = createEmbedder({
      model,
      backend,
      workers: 'auto',
      onProgress: (p) => listeners.forEach((fn) => fn(p)),
    });
    entry = { ready, users: 0, listeners };
    shared.set(key, entry);
    // A failed load is not cached: the next element (or a retry) starts afresh.
    ready.catch(() => shared.get(key) === entry && shared.delete(key));
  }
  const e = entry;
  e.users++;
  if (onProgress) e.listeners.add(onProgress);
  let embedder: Embedder;
  try {
    embedder = await e.ready;
  } catch (err) {
    e.users--;
    throw err;
  } finally {
    if (onProgress) e.listeners.delete(onProgress);
  }
  const info = await embedder.info();
  let released = false;
  return {
    embedder,
    info,
    release() {
      if (released) return;
      released = true;
      if (--e.users === 0 && shared.get(key) === e) {
        shared.delete(key);
        void embedder.dispose();
      }
    },
  };
}
