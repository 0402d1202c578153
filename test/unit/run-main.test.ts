import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isMain } from '../../scripts/lib/run-main.ts';

describe('isMain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'a folder with spaces & #hash-'));
  const file = join(dir, 'script.ts');
  writeFileSync(
    file,
    `import { isMain } from ${JSON.stringify(resolve('scripts/lib/run-main.ts'))};\nconsole.log(isMain(import.meta.url) ? 'main' : 'imported');\n`,
  );

  it('matches the module node runs, also under a path with a space and a #', () => {
    expect(isMain(pathToFileURL(file).href, file)).toBe(true);
    // The comparison it replaces fails on such a path.
    expect(pathToFileURL(file).href === `file://${file}`).toBe(false);
    expect(isMain(pathToFileURL(file).href, join(dir, 'other.ts'))).toBe(false);
    expect(isMain(pathToFileURL(file).href, undefined)).toBe(false);
  });

  it('a script under such a path runs its main when node is asked to run it', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: process.cwd() });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('main');
  });
});
