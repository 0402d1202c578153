/**
 * `npm run embed`'s pool: N lanes, each holding the model once, that take batches from one shared queue (an
 * idle lane takes the next batch, so a slow batch never holds the others up). A lane is a worker thread
 * (scripts/lib/embed-worker.ts) or, for `--workers 1`, the command's own thread: same engine, same records,
 * no thread to start. The pool is closed on finish, on error and on abort; an aborted or failed pool
 * terminates its workers at once.
 */
import { availableParallelism, freemem } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EmbedderInfo } from '../../src/core/embedder-api.ts';
import { restoreError } from '../../src/core/errors.ts';
import type { NodeWasmFeatures } from '../../src/worker/node-environment.ts';
import type { EmbedRecord, EmbedTask, LaneLoadOptions } from './embed-engine.ts';
import type { ModelBytes } from './embed-model.ts';

/** Parent -> worker. */
export type ToWorker =
  | { readonly type: 'load'; readonly model: ModelBytes; readonly options: LaneLoadOptions }
  | { readonly type: 'embed'; readonly task: EmbedTask }
  | { readonly type: 'close' };

/** Worker -> parent. */
export type FromWorker =
  | { readonly type: 'loaded'; readonly info: EmbedderInfo; readonly wasm: NodeWasmFeatures | undefined }
  | { readonly type: 'embedded'; readonly records: EmbedRecord[] }
  | { readonly type: 'failed'; readonly error: { name: string; message: string; stack: string } };

interface Lane {
  readonly info: EmbedderInfo;
  readonly wasm: NodeWasmFeatures | undefined;
  run(task: EmbedTask): Promise<EmbedRecord[]>;
  /** Lets the lane finish and free its model. */
  close(): Promise<void>;
  /** Stops it now: a worker is terminated mid-batch; the in-process lane just takes no more work. */
  kill(): Promise<void>;
}

async function inProcessLane(model: ModelBytes, options: LaneLoadOptions): Promise<Lane> {
  // Imported here, not at the top: the parent of a worker pool never loads tfjs (260 ms it would spend
  // while its workers start).
  const { embedTask, loadLaneEngine } = await import('./embed-engine.ts');
  const { engine, info, wasm } = await loadLaneEngine(model, options);
  return {
    info,
    wasm,
    run: (task) => embedTask(engine, task),
    close: () => engine.dispose(),
    kill: () => engine.dispose(),
  };
}

/** Resolves after `ms`, without keeping the process alive for it. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

const WORKER_ENTRY = new URL('./embed-worker.ts', import.meta.url).href;

/**
 * The worker's first lines: register tsx, then import the .ts entry. Node 20 does not apply `--import tsx` given
 * in a Worker's execArgv (nodejs/node#47747), so `new Worker(new URL('./embed-worker.ts', import.meta.url))`
 * fails with ERR_UNKNOWN_FILE_EXTENSION even when the parent runs under tsx. tsx's API is found from here, not
 * from the working directory, so the command runs from any folder.
 */
function bootstrap(): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_ENTRY)}); })`;
}

async function workerLane(model: ModelBytes, options: LaneLoadOptions, log: (text: string) => void): Promise<Lane> {
  // execArgv [] : the parent's own flags (--import tsx among them) mean nothing to the worker; stdout and stderr
  // are piped so that whatever tfjs prints in a worker lands on the command's stderr, never among its results.
  const worker = new Worker(bootstrap(), { eval: true, execArgv: [], stdout: true, stderr: true });
  worker.stdout.on('data', (d: Buffer) => log(d.toString()));
  worker.stderr.on('data', (d: Buffer) => log(d.toString()));
  let pending: { resolve: (m: FromWorker) => void; reject: (e: unknown) => void } | undefined;
  let dead: unknown;
  const fail = (e: unknown) => {
    dead ??= e;
    pending?.reject(e);
    pending = undefined;
  };
  worker.on('message', (m: FromWorker) => {
    const p = pending;
    pending = undefined;
    if (m.type === 'failed') p?.reject(restoreError(m.error));
    else p?.resolve(m);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`an embedding worker stopped (exit code ${code})`)));
  const request = (message: ToWorker): Promise<FromWorker> => {
    if (dead !== undefined) return Promise.reject(dead);
    return new Promise((resolve, reject) => {
      pending = { resolve, reject };
      worker.postMessage(message);
    });
  };
  const loaded = await request({ type: 'load', model, options }).catch(async (e: unknown) => {
    await worker.terminate();
    throw e;
  });
  if (loaded.type !== 'loaded') throw new Error(`an embedding worker answered ${loaded.type} to load`);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    info: loaded.info,
    wasm: loaded.wasm,
    run: async (task) => {
      const m = await request({ type: 'embed', task });
      if (m.type !== 'embedded') throw new Error(`an embedding worker answered ${m.type} to embed`);
      return m.records;
    },
    close: async () => {
      if (dead === undefined) worker.postMessage({ type: 'close' } satisfies ToWorker);
      // A worker that does not wind down within a second is stopped.
      if ((await Promise.race([exited.then(() => true), delay(1000)])) !== true)
        await Promise.race([worker.terminate(), delay(1000)]);
    },
    kill: async () => {
      // terminate() waits for the worker's pending file reads, which may never end (a dead network share): after
      // a second the command goes on without it, so the journal is flushed and the interruption reported.
      await Promise.race([worker.terminate(), delay(1000)]);
    },
  };
}

/**
 * A worker's memory, from the growth of the command's peak RSS (its `memory:` line) from 1 to 2 to 3 workers on
 * the default model (PP-LCNet x1.0, 224 x 224, wasm): 137–152 MiB at batch 1, 209–245 at batch 8, 377–452 at
 * batch 32 (docs/embed-cli.md): about 145 MiB for the thread, tfjs, the WASM heap and the weights, and 7–9 MiB
 * per image of a batch. Rounded up here, and scaled with the network's width and input area for other models.
 */
export function estimateWorkerBytes(size: ModelBytes['size'], batchSize: number): number {
  const MiB = 2 ** 20;
  const perImage = 9 * MiB * Math.max(0.25, size.scale) * (size.inputSize / 224) ** 2;
  return 170 * MiB + 2 * size.weightBytes + batchSize * perImage;
}

export interface WorkerCountInput {
  readonly cores: number;
  readonly freeBytes: number;
  /** Estimated memory of one worker with this model and batch size. */
  readonly workerBytes: number;
  readonly batches: number;
}

/**
 * `--workers auto`: one per core, as many as free memory holds (leaving a quarter of it free), never more
 * than there are batches; at least one.
 */
export function autoWorkerCount({ cores, freeBytes, workerBytes, batches }: WorkerCountInput): number {
  const byMemory = Math.floor((freeBytes * 0.75) / workerBytes);
  return Math.max(1, Math.min(cores, byMemory, batches));
}

export function defaultWorkerCountInput(batches: number, workerBytes: number): WorkerCountInput {
  return { cores: availableParallelism(), freeBytes: freemem(), workerBytes, batches };
}

export interface EmbedPoolOptions {
  /** 1: the command's own thread; more: worker threads. */
  readonly workers: number;
  readonly model: ModelBytes;
  readonly load: LaneLoadOptions;
  /** Where the workers' own console output goes (stderr). */
  readonly log?: (text: string) => void;
  readonly signal?: AbortSignal;
}

export interface EmbedPool {
  /** The first lane's model and backend (all lanes load the same bytes). */
  readonly info: EmbedderInfo;
  readonly wasm: NodeWasmFeatures | undefined;
  readonly size: number;
  readonly startupMs: number;
  /**
   * Embeds every task; `onBatch` gets each batch's records as soon as a lane finishes it (in completion order,
   * with the task's index). Rejects on the first lane failure or on abort, after stopping every lane.
   */
  run(tasks: readonly EmbedTask[], onBatch: (index: number, records: EmbedRecord[]) => void): Promise<void>;
  /** Closes the lanes (after run, or instead of it). */
  close(): Promise<void>;
}

function abortPromise(signal: AbortSignal | undefined): { promise: Promise<never>; dispose: () => void } {
  if (!signal) return { promise: new Promise<never>(() => undefined), dispose: () => undefined };
  let onAbort = () => undefined as void;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

export async function createEmbedPool(options: EmbedPoolOptions): Promise<EmbedPool> {
  const { workers, model, load, log = () => undefined, signal } = options;
  const started = performance.now();
  const starting =
    workers <= 1 ? [inProcessLane(model, load)] : Array.from({ length: workers }, () => workerLane(model, load, log));
  const abort = abortPromise(signal);
  let lanes: Lane[];
  try {
    lanes = await Promise.race([Promise.all(starting), abort.promise]);
  } catch (e) {
    // Lanes that did start are stopped; those that failed have stopped already.
    await Promise.all(
      starting.map((s) =>
        s.then(
          (lane) => lane.kill(),
          () => undefined,
        ),
      ),
    );
    throw e;
  } finally {
    abort.dispose();
  }
  const startupMs = performance.now() - started;
  let closed = false;
  const stopAll = async (graceful: boolean) => {
    if (closed) return;
    closed = true;
    await Promise.all(lanes.map((lane) => (graceful ? lane.close() : lane.kill()).catch(() => undefined)));
  };

  return {
    info: lanes[0]!.info,
    wasm: lanes[0]!.wasm,
    size: lanes.length,
    startupMs,
    async run(tasks, onBatch) {
      let next = 0;
      let stopped = false;
      const work = async (lane: Lane) => {
        while (!stopped && next < tasks.length) {
          const index = next++;
          const records = await lane.run(tasks[index]!);
          if (stopped) return;
          onBatch(index, records);
        }
      };
      const abortRun = abortPromise(signal);
      try {
        await Promise.race([Promise.all(lanes.map(work)), abortRun.promise]);
      } catch (e) {
        stopped = true;
        await stopAll(false);
        throw e;
      } finally {
        abortRun.dispose();
      }
    },
    close: () => stopAll(true),
  };
}
