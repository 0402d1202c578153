/**
 * A worker thread of `npm run embed`'s pool (scripts/lib/embed-pool.ts): loads the model once from the bytes the
 * parent sends, then embeds one batch per message until told to close. Started by the pool's bootstrap, which
 * registers tsx first (a .ts worker entry does not load otherwise under Node 20).
 */
import { parentPort } from 'node:worker_threads';
import type { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import { embedTask, loadLaneEngine } from './embed-engine.ts';
import type { FromWorker, ToWorker } from './embed-pool.ts';

const port = parentPort;
if (!port) throw new Error('scripts/lib/embed-worker.ts runs as a worker thread of scripts/lib/embed-pool.ts');

let engine: EmbedderEngine | undefined;

function send(message: FromWorker): void {
  // The embeddings' buffers move to the parent instead of being copied.
  const transfer =
    message.type === 'embedded' ? message.records.flatMap((r) => (r.ok ? [r.embedding.buffer] : [])) : [];
  port!.postMessage(message, transfer as ArrayBuffer[]);
}

function failure(e: unknown): FromWorker {
  const error = e as { name?: unknown; message?: unknown; stack?: unknown } | null;
  return {
    type: 'failed',
    error: { name: String(error?.name ?? 'Error'), message: String(error?.message ?? e), stack: String(error?.stack) },
  };
}

port.on('message', (message: ToWorker) => {
  void (async () => {
    try {
      if (message.type === 'load') {
        const lane = await loadLaneEngine(message.model, message.options);
        engine = lane.engine;
        send({ type: 'loaded', info: lane.info, wasm: lane.wasm });
      } else if (message.type === 'embed') {
        send({ type: 'embedded', records: await embedTask(engine!, message.task) });
      } else {
        await engine?.dispose();
        port.close();
      }
    } catch (e) {
      send(failure(e));
    }
  })();
});
