/**
 * `npm run embed --resume` (scripts/lib/embed-journal.ts): an interrupted run (an abort injected after K images,
 * Ctrl-C in the real command) leaves its journal; resuming skips the images whose bytes are unchanged, embeds
 * changed and new ones, survives a line a kill cut short, ignores another model's records, and ends with the
 * very output an uninterrupted run writes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runEmbedCli } from '../support/embed-cli.ts';
import { FIXTURE_MODELS, writeFixtureModel } from '../support/fixture-models.ts';

let modelDir = '';
let work = '';

beforeAll(async () => {
  modelDir = dirname(await writeFixtureModel(FIXTURE_MODELS.small));
  work = await mkdtemp(join(tmpdir(), 'shitu-embed-resume-'));
});

/** 12 text-line PNGs and a truncated JPEG (a failure that has a hash, so it is reused too), `copies` times. */
async function imageSet(name: string, copies = 1): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  for (let c = 0; c < copies; c++) {
    const prefix = copies > 1 ? `${c}-` : '';
    for (const f of readdirSync('test/fixtures/textlines').filter((f) => f.endsWith('.png')))
      await copyFile(join('test/fixtures/textlines', f), join(dir, `${prefix}${f}`));
    await copyFile('test/fixtures/images/truncated.jpg', join(dir, `${prefix}truncated.jpg`));
  }
  return dir;
}

const run = (args: string[], abortAfterLines?: number) => runEmbedCli(['--model', modelDir, ...args], abortAfterLines);

function journalRecords(text: string): { name: string; sha256: string; embedding?: number[] }[] {
  return text
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { name: string; sha256: string }];
      } catch {
        return [];
      }
    });
}

describe('npm run embed --resume', () => {
  it('continues an aborted run: done images skipped, a changed one embedded again, the output unchanged', async () => {
    const set = await imageSet('set');
    const out = join(work, 'out.json');
    const journal = `${out}.partial.jsonl`;
    const args = ['--workers', '2', '--batch', '2', '--json', out, set];

    const first = await run(args, 4);
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toMatch(
      new RegExp(
        `^embed: interrupted after \\d+ of 13 images; they are kept in ${journal}: run the same command with --resume to continue$`,
        'm',
      ),
    );
    expect(existsSync(out)).toBe(false);
    const header = JSON.parse((await readFile(journal, 'utf8')).split('\n')[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({
      format: 'shitu-web/embed-journal',
      model: FIXTURE_MODELS.small.id,
      backend: 'wasm',
    });
    expect(header.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    const kept = journalRecords(await readFile(journal, 'utf8'));
    expect(kept.length).toBeGreaterThanOrEqual(4);
    expect(kept.length).toBeLessThan(13);
    const changedName = join(set, 'rotated-01.png'); // first in name order: in batch 0, done
    const old = kept.find((r) => r.name === changedName)!;
    expect(old.embedding).toHaveLength(512);

    // Without --resume the journal is not overwritten.
    const refused = await run(args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${journal} holds an interrupted run: add --resume to continue it`);

    await copyFile('test/fixtures/textlines/upright-06.png', changedName);
    await appendFile(journal, '{"name":"cut short by a ki'); // what a kill can leave
    const resumed = await run(['--resume', ...args]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      new RegExp(`^resume: ${kept.length - 1} of 13 images already done; 1 changed since, embedded again$`, 'm'),
    );
    expect(resumed.stderr).toMatch(
      new RegExp(`^embedded 12 of 13 images \\(1 failed\\), ${kept.length - 1} of them done before`, 'm'),
    );
    expect(existsSync(journal)).toBe(false);

    const reference = join(work, 'reference.json');
    const fresh = await run(['--workers', '1', '--json', reference, set]);
    expect(resumed.stdout).toBe(fresh.stdout);
    const output = await readFile(out, 'utf8');
    expect(output).toBe(await readFile(reference, 'utf8'));
    const changed = (JSON.parse(output) as { results: { name: string; embedding: number[] }[] }).results.find(
      (r) => r.name === changedName,
    )!;
    expect(changed.embedding).not.toEqual(old.embedding);

    // A finished --json output is reused as well: only a new image is embedded.
    await copyFile('test/fixtures/images/shapes.png', join(set, 'zz-new.png'));
    const again = await run(['--resume', ...args]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^resume: 13 of 14 images already done$/m);
    expect(again.stderr).toMatch(/^workers: 1, this thread/m); // one batch of work left
  });

  it("does not reuse another model's records", async () => {
    const set = await imageSet('other-model');
    const out = join(work, 'other-model.json');
    const journal = `${out}.partial.jsonl`;
    const args = ['--workers', '1', '--batch', '4', '--json', out, set];
    expect((await run(args, 4)).code).toBe(130);
    const lines = (await readFile(journal, 'utf8')).split('\n');
    lines[0] = lines[0]!.replace(/"modelSha256":"[0-9a-f]+"/, `"modelSha256":"${'0'.repeat(64)}"`);
    await writeFile(journal, lines.join('\n'));
    const resumed = await run(['--resume', ...args]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /^resume: .*partial\.jsonl: made with random-x0_25 \(manifest 000000000000 on wasm\), this run manifest [0-9a-f]{12} on wasm: not reused$/m,
    );
    expect(resumed.stderr).toMatch(/^resume: 0 of 13 images already done$/m);
  });

  it('Ctrl-C in the command stops the workers, keeps the journal and exits 130; --resume completes it', async () => {
    const set = await imageSet('sigint', 4);
    const out = join(work, 'sigint.json');
    const args = ['--model', modelDir, '--workers', '2', '--batch', '2', '--json', out, set];
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/embed.ts', ...args]);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length > 4) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/^embed: interrupted after \d+ of 52 images; they are kept in /m);
    const kept = journalRecords(await readFile(`${out}.partial.jsonl`, 'utf8')).length;
    expect(kept).toBeLessThan(52);

    const resumed = await run(['--resume', '--workers', '2', '--batch', '2', '--json', out, set]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`^resume: ${kept} of 52 images already done$`, 'm'));
    const output = JSON.parse(await readFile(out, 'utf8')) as { results: { name: string; ok: boolean }[] };
    expect(output.results).toHaveLength(52);
    expect(output.results.filter((r) => !r.ok)).toHaveLength(4);
  });
});
