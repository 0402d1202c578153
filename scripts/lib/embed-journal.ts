/**
 * `npm run embed`'s records on disk: the --json output, and the journal (JSON Lines) a run appends each finished
 * batch to, so that an interrupted run (Ctrl-C, a kill, a crash) continues with --resume. A record is reused
 * when its file's SHA-256 and the model's manifest SHA-256 and backend are the same; the output of a resumed run
 * is byte for byte that of an uninterrupted one (embeddings do not depend on which batch an image was in).
 */
import { createReadStream, existsSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { EmbedRecord } from './embed-engine.ts';

export const JOURNAL_FORMAT = 'shitu-web/embed-journal';
export const JOURNAL_VERSION = 1;

/** What a record was made with: records of another model or backend are not reused. */
export interface RunKey {
  readonly model: string;
  readonly modelSha256: string;
  readonly backend: string;
}

/** One record as the JSON the output and the journal hold (embedding as plain numbers: float32 round-trips). */
export function recordToJson(r: EmbedRecord): object {
  const hash = r.sha256 === undefined ? {} : { sha256: r.sha256 };
  if (!r.ok) return { name: r.name, ok: false, ...hash, error: { code: r.error.code, message: r.error.message } };
  return {
    name: r.name,
    ok: true,
    ...hash,
    embedding: Array.from(r.embedding),
    ...(r.prediction ? { prediction: r.prediction } : {}),
  };
}

function recordFromJson(x: unknown): EmbedRecord | undefined {
  const r = x as {
    name?: unknown;
    ok?: unknown;
    sha256?: unknown;
    embedding?: unknown;
    prediction?: { label: string; score: number };
    error?: { code: never; message: string };
  } | null;
  if (typeof r?.name !== 'string' || typeof r.sha256 !== 'string') return undefined;
  if (r.ok === true && Array.isArray(r.embedding)) {
    return {
      name: r.name,
      ok: true,
      sha256: r.sha256,
      embedding: Float32Array.from(r.embedding as number[]),
      ...(r.prediction ? { prediction: r.prediction } : {}),
    };
  }
  if (r.ok === false && r.error) return { name: r.name, ok: false, sha256: r.sha256, error: r.error };
  return undefined;
}

function sameKey(a: Partial<RunKey>, b: RunKey): boolean {
  return a.modelSha256 === b.modelSha256 && a.backend === b.backend;
}

/** Where a run's journal goes: beside the --json file, else in the gallery folder. */
export function journalPathFor(outputs: { json?: string; galleryOut?: string }): string | undefined {
  if (outputs.json) return `${outputs.json}.partial.jsonl`;
  if (outputs.galleryOut) return join(outputs.galleryOut, 'gallery.partial.jsonl');
  return undefined;
}

export interface DoneRecords {
  /** By file name: the last record of each. */
  readonly records: Map<string, EmbedRecord>;
  /** Each file read, with what it gave or why it gave nothing. */
  readonly notes: string[];
}

/** A file's lines, streamed: a journal of 100,000 images (about 1 GB) is longer than a string can be. */
async function* linesOf(path: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  try {
    yield* lines;
  } finally {
    lines.close();
  }
}

/** A line as JSON, or undefined (a line a kill cut short, or the output's `]}`). */
function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Records a resumed run may reuse: the journal's (a truncated last line, from a kill, is ignored) and those of a
 * finished --json output (as writeJsonOutput writes it: the header on the first line, then one result a line),
 * when made with the same model and backend.
 */
export async function readDoneRecords(sources: { journal?: string; json?: string }, key: RunKey): Promise<DoneRecords> {
  const records = new Map<string, EmbedRecord>();
  const notes: string[] = [];
  const read = async (path: string, headerOf: (line: string) => unknown, recordLine: (line: string) => string) => {
    type Header = Partial<RunKey> & { format?: unknown };
    let header: Header | undefined;
    let n = 0;
    for await (const line of linesOf(path)) {
      if (header === undefined) {
        header = (headerOf(line) ?? {}) as Header;
        if (sameKey(header, key)) continue;
        const made = (k: Partial<RunKey> | undefined) =>
          `manifest ${k?.modelSha256?.slice(0, 12) ?? '?'} on ${k?.backend ?? '?'}`;
        notes.push(
          `${path}: made with ${header.model ?? 'an unknown model'} (${made(header)}), this run ${made(key)}: not reused`,
        );
        return;
      }
      const r = recordFromJson(parseLine(recordLine(line)));
      if (r) {
        records.set(r.name, r);
        n++;
      }
    }
    notes.push(`${path}: ${n} records`);
  };
  if (sources.json && existsSync(sources.json)) {
    // `{"model":...,"results":[` closed by hand: the header without the results.
    await read(
      sources.json,
      (line) => parseLine(`${line}]}`),
      (line) => line.replace(/,$/, ''),
    );
  }
  if (sources.journal && existsSync(sources.journal)) {
    const header = (line: string) => {
      const h = parseLine(line) as { format?: unknown } | undefined;
      return h?.format === JOURNAL_FORMAT ? h : undefined;
    };
    await read(sources.journal, header, (line) => line);
  }
  return { records, notes };
}

export interface JournalWriter {
  readonly path: string;
  /** Queues a batch's records; written in the order given. */
  append(records: readonly EmbedRecord[]): void;
  /** Waits for every queued write (and rejects with the first write error). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Closes and deletes the journal: the run's outputs are complete. */
  remove(): Promise<void>;
}

/** A journal's header and whether its last line is whole, read without reading it all. */
async function journalEnds(
  path: string,
): Promise<{ header?: Partial<RunKey> & { format?: unknown }; endsLine: boolean }> {
  if (!existsSync(path)) return { endsLine: true };
  let header: (Partial<RunKey> & { format?: unknown }) | undefined;
  for await (const line of linesOf(path)) {
    header = parseLine(line) as typeof header;
    break;
  }
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const last = Buffer.alloc(1);
    if (size > 0) await handle.read(last, 0, 1, size - 1);
    return { ...(header ? { header } : {}), endsLine: size === 0 || last[0] === 0x0a };
  } finally {
    await handle.close();
  }
}

/**
 * Opens the journal: appended to when it already belongs to this model and backend (a resumed run), else
 * started anew with its header. Opened before the first batch, so an unwritable path fails at once.
 */
export async function openJournal(path: string, key: RunKey): Promise<JournalWriter> {
  let handle: FileHandle;
  let head = '';
  const { header, endsLine } = await journalEnds(path);
  if (header?.format === JOURNAL_FORMAT && sameKey(header, key)) {
    handle = await open(path, 'a');
    if (!endsLine) head = '\n'; // end the line a kill cut short, so the next record starts clean
  } else {
    handle = await open(path, 'w');
    head = `${JSON.stringify({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION, ...key })}\n`;
  }
  let chain: Promise<unknown> = head ? handle.write(head) : Promise.resolve();
  let failure: unknown;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await chain.catch(() => undefined);
    await handle.close();
  };
  return {
    path,
    append(records) {
      const text = records.map((r) => `${JSON.stringify(recordToJson(r))}\n`).join('');
      chain = chain.then(() => handle.write(text)).catch((e: unknown) => (failure ??= e));
    },
    async flush() {
      await chain;
      if (failure !== undefined) throw failure;
    },
    close,
    async remove() {
      await close();
      await rm(path, { force: true });
    },
  };
}

/**
 * Writes the --json output: `{"model", "modelSha256", "backend", "skipped", "results": [...]}`, one result a
 * line, to a temporary file renamed into place, so the path holds a complete output or none.
 */
export async function writeJsonOutput(
  path: string,
  key: RunKey,
  skipped: readonly string[],
  records: readonly EmbedRecord[],
): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(
      `{"model":${JSON.stringify(key.model)},"modelSha256":${JSON.stringify(key.modelSha256)},"backend":${JSON.stringify(key.backend)},"skipped":${JSON.stringify(skipped)},"results":[\n`,
    );
    // In slices, so a run of 100,000 images never builds one string of a gigabyte.
    for (let i = 0; i < records.length; i += 256) {
      const slice = records.slice(i, i + 256);
      await handle.write(slice.map((r, k) => `${i + k > 0 ? ',\n' : ''}${JSON.stringify(recordToJson(r))}`).join(''));
    }
    await handle.write('\n]}\n');
    await handle.close();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw e;
  }
  await rename(temporary, path);
}
