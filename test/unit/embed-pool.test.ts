/**
 * `npm run embed`'s pool (scripts/lib/embed-pool.ts): worker threads started under tsx, batches handed out to
 * whichever lane is idle, records kept with their task (and, in the command, printed in input order), per-image
 * errors crossing the worker boundary, load errors restored to their class; and how `--workers auto` counts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmbedTask } from '../../scripts/lib/embed-engine.ts';
import { readModelBytes, type ModelBytes } from '../../scripts/lib/embed-model.ts';
import { autoWorkerCount, createEmbedPool, estimateWorkerBytes } from '../../scripts/lib/embed-pool.ts';
import { syntheticImages } from '../../scripts/lib/synthetic-pixels.ts';
import { runEmbedCli } from '../support/embed-cli.ts';
import { FIXTURE_MODELS, writeFixtureModel } from '../support/fixture-models.ts';

let manifest = '';
let model: ModelBytes;
let work = '';

beforeAll(async () => {
  manifest = await writeFixtureModel(FIXTURE_MODELS.small);
  model = await readModelBytes(manifest);
  work = await mkdtemp(join(tmpdir(), 'shitu-embed-pool-'));
});

/** The process's threads (Linux; 0 elsewhere): a worker that was not stopped would still be one. */
function threadCount(): number {
  return existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : 0;
}

describe('the embedding pool', () => {
  it('hands batches to idle workers, keeps each record with its batch however they finish, and closes', async () => {
    const threads = threadCount();
    const pool = await createEmbedPool({ workers: 2, model, load: { backend: 'wasm', batchSize: 16 } });
    try {
      expect(pool.size).toBe(2);
      if (threads > 0) expect(threadCount()).toBeGreaterThanOrEqual(threads + 2);
      expect(pool.info).toMatchObject({ backend: 'wasm', modelId: FIXTURE_MODELS.small.id });
      // Batch 0 is 16 images, the others 1: the second worker finishes batches 1.. while the first is on 0.
      const pixels = syntheticImages(19);
      const sizes = [16, 1, 1, 1];
      let first = 0;
      const tasks = sizes.map((n) => {
        const names = Array.from({ length: n }, (_, k) => `s-${first + k}`);
        const task = { names, pixels: pixels.slice(first, first + n) };
        first += n;
        return task;
      });
      const finished: number[] = [];
      const records: string[][] = [];
      await pool.run(tasks, (index, batch) => {
        finished.push(index);
        records[index] = batch.map((r) => `${r.name} ${r.ok && r.embedding.length}`);
      });
      expect([...finished].sort()).toEqual([0, 1, 2, 3]);
      expect(finished).not.toEqual([0, 1, 2, 3]);
      expect(records).toEqual(tasks.map((t) => t.names.map((n) => `${n} 512`)));
    } finally {
      await pool.close();
    }
    expect(threadCount()).toBe(threads);
  });

  it('keeps per-image errors across the worker boundary, with their codes and messages', async () => {
    const pool = await createEmbedPool({ workers: 2, model, load: { backend: 'wasm', batchSize: 2 } });
    const got: { name: string; ok: boolean; code?: string; sha256?: string }[][] = [];
    try {
      const paths = [
        'test/fixtures/images/empty.jpg',
        'test/fixtures/images/shapes.png',
        'test/fixtures/images/truncated.jpg',
        join(work, 'missing.png'),
      ];
      await pool.run([{ paths: paths.slice(0, 2) }, { paths: paths.slice(2) }], (index, batch) => {
        got[index] = batch.map((r) => ({ name: r.name, ok: r.ok, ...(r.ok ? {} : { code: r.error.code }) }));
        if (index === 0) expect(batch[0]).toMatchObject({ error: { message: expect.stringContaining('empty') } });
      });
    } finally {
      await pool.close();
    }
    expect(got).toEqual([
      [
        { name: 'test/fixtures/images/empty.jpg', ok: false, code: 'image-empty' },
        { name: 'test/fixtures/images/shapes.png', ok: true },
      ],
      [
        { name: 'test/fixtures/images/truncated.jpg', ok: false, code: 'image-decode' },
        { name: join(work, 'missing.png'), ok: false, code: 'image-decode' },
      ],
    ]);
  });

  it('stops every worker when one fails mid-run, and rejects with its error', async () => {
    const threads = threadCount();
    const pool = await createEmbedPool({ workers: 2, model, load: { backend: 'wasm', batchSize: 2 } });
    // A batch the worker cannot even read (no paths, no pixels): the whole batch fails, not one image.
    const broken = { paths: null } as unknown as EmbedTask;
    const run = pool.run([{ paths: ['test/fixtures/images/shapes.png'] }, broken, broken, broken], () => undefined);
    await expect(run).rejects.toMatchObject({ name: 'InternalError' });
    await pool.close();
    expect(threadCount()).toBe(threads);
  });

  it("rejects with the workers' load error, restored to its class, and leaves no worker running", async () => {
    const broken = join(work, 'broken-manifest.json');
    await writeFile(broken, '{"format": "something else"}');
    const threads = threadCount();
    const start = createEmbedPool({
      workers: 2,
      model: await readModelBytes(broken),
      load: { backend: 'wasm', batchSize: 8 },
    });
    await expect(start).rejects.toMatchObject({ name: 'WeightsError', message: expect.stringMatching(/manifest/) });
    expect(threadCount()).toBe(threads);
  });

  it('prints and writes the same in input order with 2 workers (batch 1) as on one thread', async () => {
    const inputs = ['test/fixtures/photos', 'test/fixtures/images', 'test/fixtures/textlines'];
    const one = join(work, 'one.json');
    const two = join(work, 'two.json');
    const a = await runEmbedCli(['--model', manifest, '--workers', '1', '--json', one, ...inputs]);
    const b = await runEmbedCli(['--model', manifest, '--workers', '2', '--batch', '1', '--json', two, ...inputs]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/^workers: 2 threads, each with the model, started in \d+ ms \(--workers 2\)$/m);
    expect(a.stderr).toMatch(/^workers: 1, this thread \(--workers 1\)$/m);
    expect(b.stdout).toBe(a.stdout);
    expect(await readFile(two, 'utf8')).toBe(await readFile(one, 'utf8'));
    const names = a.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/)[0]);
    expect(names).toHaveLength(26);
    expect(names.slice(0, 3)).toEqual([
      'test/fixtures/photos/astronaut.jpg',
      'test/fixtures/photos/cat-view-1.jpg',
      'test/fixtures/photos/cat-view-2.jpg',
    ]);
    expect(a.stdout).toMatch(/^test\/fixtures\/images\/truncated\.jpg +failed {2}image-decode /m);
  });
});

describe('--workers auto', () => {
  const MiB = 2 ** 20;

  it('takes one worker per core, as many as three quarters of free memory holds, no more than batches', () => {
    const worker = 200 * MiB;
    expect(autoWorkerCount({ cores: 8, freeBytes: 64e9, workerBytes: worker, batches: 100 })).toBe(8);
    expect(autoWorkerCount({ cores: 8, freeBytes: 1000 * MiB, workerBytes: worker, batches: 100 })).toBe(3);
    expect(autoWorkerCount({ cores: 8, freeBytes: 64e9, workerBytes: worker, batches: 2 })).toBe(2);
    expect(autoWorkerCount({ cores: 8, freeBytes: 10 * MiB, workerBytes: worker, batches: 100 })).toBe(1);
    expect(autoWorkerCount({ cores: 8, freeBytes: 64e9, workerBytes: worker, batches: 0 })).toBe(1);
  });

  it("estimates a worker's memory above what was measured on the default model, more with the batch", () => {
    const size = { weightBytes: 4_676_672, scale: 1, inputSize: 224 };
    // Measured peak RSS per worker (docs/embed-cli.md): up to 152 MiB at batch 1, 245 at 8, 452 at 32.
    expect(estimateWorkerBytes(size, 1) / MiB).toBeGreaterThan(152);
    expect(estimateWorkerBytes(size, 8) / MiB).toBeGreaterThan(245);
    expect(estimateWorkerBytes(size, 32) / MiB).toBeGreaterThan(452);
    expect(estimateWorkerBytes(size, 32) / MiB).toBeLessThan(452 * 1.25);
    expect(estimateWorkerBytes({ ...size, scale: 2.5 }, 8)).toBeGreaterThan(estimateWorkerBytes(size, 8));
  });
});
