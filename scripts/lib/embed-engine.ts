/**
 * What one embedding lane runs, in a worker thread (scripts/lib/embed-worker.ts) or in the command's own thread
 * (`--workers 1`): the product's engine (src/worker/embedder-engine.ts) loaded from model bytes the parent read,
 * and a batch of files read, hashed (SHA-256, for --resume) and embedded. One code path for both, so a run
 * gives the same records whatever the worker count.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BackendChoice, EmbedderInfo } from '../../src/core/embedder-api.ts';
import { ImageDecodeError, type EmbedderErrorCode } from '../../src/core/errors.ts';
import { EmbedderEngine } from '../../src/worker/embedder-engine.ts';
import {
  fetchOrRead,
  nodeEnvironment,
  nodeWasmFeatures,
  type NodeWasmFeatures,
} from '../../src/worker/node-environment.ts';
import { decodeImageBlob } from './node-image-decode.ts';
import { sha256Hex, type ModelBytes } from './embed-model.ts';
import type { Pixels } from './synthetic-pixels.ts';

export interface LaneLoadOptions {
  readonly backend: BackendChoice;
  readonly batchSize: number;
}

export interface LoadedLane {
  readonly engine: EmbedderEngine;
  readonly info: EmbedderInfo;
  readonly wasm: NodeWasmFeatures | undefined;
}

/** The engine on Node's backends (wasm, else cpu), loaded from the bytes in hand and warmed up. */
export async function loadLaneEngine(model: ModelBytes, options: LaneLoadOptions): Promise<LoadedLane> {
  const env = nodeEnvironment(fileURLToPath(model.manifestUrl), { wasm: true, decodeBlob: decodeImageBlob });
  const engine = new EmbedderEngine({
    ...env,
    fetch: async (url) => {
      const bytes = model.files[url];
      if (!bytes) return fetchOrRead(url);
      return new Response(bytes, { status: 200, headers: { 'content-length': String(bytes.byteLength) } });
    },
  });
  try {
    const info = await engine.load({ model: model.manifestUrl, ...options });
    return { engine, info, wasm: await nodeWasmFeatures() };
  } catch (e) {
    await engine.dispose();
    throw e;
  }
}

/** A batch of work: files by path, or generated pixels (`--synthetic`). */
export type EmbedTask =
  { readonly paths: readonly string[] } | { readonly names: readonly string[]; readonly pixels: readonly Pixels[] };

/** One image's outcome, as plain data that crosses a worker boundary and goes into the JSON output unchanged. */
export type EmbedRecord =
  | {
      readonly name: string;
      readonly ok: true;
      /** SHA-256 of the file's bytes (files only): what --resume compares. */
      readonly sha256?: string;
      readonly embedding: Float32Array;
      readonly prediction?: { readonly label: string; readonly score: number };
    }
  | {
      readonly name: string;
      readonly ok: false;
      /** Absent when the file could not even be read: such a failure is tried again on --resume. */
      readonly sha256?: string;
      readonly error: EmbedRecordError;
    };

export interface EmbedRecordError {
  readonly code: EmbedderErrorCode;
  readonly message: string;
}

/** Reads, hashes and embeds one batch; a file that fails fails alone, with the page's error codes. */
export async function embedTask(engine: EmbedderEngine, task: EmbedTask): Promise<EmbedRecord[]> {
  if ('pixels' in task) {
    const images = task.names.map((name, k) => ({ name, image: task.pixels[k] as unknown as ImageData }));
    return (await engine.embed(images)).map((r) => toRecord(r));
  }
  type Read = { name: string; sha256: string; image: Blob } | { name: string; error: EmbedRecordError };
  const read = await Promise.all(
    task.paths.map(async (name): Promise<Read> => {
      try {
        const bytes = await readFile(name);
        return { name, sha256: sha256Hex(bytes), image: new Blob([bytes]) };
      } catch (e) {
        const error = new ImageDecodeError(name, `the file could not be opened (${(e as Error).message})`);
        return { name, error: { code: error.code, message: error.message } };
      }
    }),
  );
  const readable = read.flatMap((x) => ('image' in x ? [{ name: x.name, image: x.image }] : []));
  const embedded = await engine.embed(readable);
  let next = 0;
  return read.map((x): EmbedRecord => {
    if (!('image' in x)) return { name: x.name, ok: false, error: x.error };
    return toRecord(embedded[next++]!, x.sha256);
  });
}

function toRecord(r: Awaited<ReturnType<EmbedderEngine['embed']>>[number], sha256?: string): EmbedRecord {
  const hash = sha256 === undefined ? {} : { sha256 };
  if (!r.ok) return { name: r.name, ok: false, ...hash, error: { code: r.error.code, message: r.error.message } };
  return {
    name: r.name,
    ok: true,
    ...hash,
    embedding: r.embedding,
    ...(r.prediction ? { prediction: { label: r.prediction.label, score: r.prediction.score } } : {}),
  };
}
