/** Split files: one image a line, `relative/path<TAB>label`, paths relative to the data folder. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/**
 * eval.txt and finetune-*.txt are kept for measuring: a script that chooses something (a threshold, a default)
 * or only studies the product refuses them, so no choice is tuned on the split that reports it.
 */
export function isMeasuringSplit(file: string): boolean {
  return /^(eval|finetune-.*)\.txt$/.test(basename(file));
}

export interface SplitEntry {
  readonly path: string;
  readonly label: string;
}

export async function readSplit(file: string): Promise<SplitEntry[]> {
  const text = await readFile(file, 'utf8');
  const entries: SplitEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) return;
    const [path, label, ...rest] = line.split('\t');
    if (!path || !label || rest.length > 0) {
      throw new Error(`${file}:${i + 1}: expected "path<TAB>label", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (path.startsWith('/') || path.split('/').includes('..'))
      throw new Error(`${file}:${i + 1}: path must be relative and stay inside the data folder`);
    entries.push({ path, label });
  });
  if (entries.length === 0) throw new Error(`${file}: no images listed`);
  return entries;
}
