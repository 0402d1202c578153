/** Writes an encoded model (manifest.json + shards) into a folder, for the converter, tests and training. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodedModel } from '../../src/model/weights/manifest-codec.ts';

export const MANIFEST_FILE = 'manifest.json';

export async function writeModelFiles(dir: string, encoded: EncodedModel): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const s of encoded.shards) await writeFile(join(dir, s.file), s.bytes);
  const path = join(dir, MANIFEST_FILE);
  await writeFile(path, `${JSON.stringify(encoded.manifest, null, 2)}\n`);
  return path;
}
