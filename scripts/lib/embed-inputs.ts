/**
 * What `npm run embed` is asked to work on: the model's manifest (a raw Paddle / ONNX model gets the convert
 * command to run) and the image files under the paths given.
 */
import { existsSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { IMAGE_EXTENSIONS } from './node-image-decode.ts';

/** A mistake in the command line: printed with a pointer to --help, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Model folder or manifest -> the manifest's path; a raw Paddle / ONNX model gets the convert command. */
export async function resolveManifest(model: string): Promise<string> {
  const info = await stat(model).catch(() => undefined);
  if (!info) throw new UsageError(`--model ${model}: no such file or folder`);
  const RAW = /\.(onnx|pdmodel|pdiparams)$|^inference\.json$/;
  const convertAdvice = (folder: string, found: string[]) => {
    const leaf = basename(resolve(folder));
    const id = /^(paddle|onnx|inference|model)$/i.test(leaf) ? basename(dirname(resolve(folder))) : leaf;
    return new UsageError(
      `${model} holds a Paddle / ONNX model (${found.join(', ')}), not a converted one (no manifest.json). Convert it first:\n` +
        `  npm run convert -- ${folder} --out models/${id}\nthen: npm run embed -- --model models/${id} <images...>`,
    );
  };
  if (info.isFile()) {
    if (RAW.test(basename(model))) throw convertAdvice(dirname(model), [basename(model)]);
    return model;
  }
  const manifest = join(model, 'manifest.json');
  if (existsSync(manifest)) return manifest;
  const raw = (await readdir(model)).filter((f) => RAW.test(f)).sort();
  if (raw.length > 0) throw convertAdvice(model, raw);
  throw new UsageError(`--model ${model}: the folder has no manifest.json (a model converted by npm run convert)`);
}

/** The image files named or found under the folders named (sorted, each once), and the files skipped. */
export async function collectImages(inputs: readonly string[]): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    const key = resolve(path);
    if (!seen.has(key)) {
      files.push(path);
      seen.add(key);
    }
  };
  const visited = new Set<string>();
  const walk = async (folder: string): Promise<void> => {
    // Symlinked folders are followed, each real folder once (a link to a parent would loop).
    const real = await realpath(folder);
    if (visited.has(real)) return;
    visited.add(real);
    const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(folder, e.name);
      const target = e.isSymbolicLink() ? await stat(path).catch(() => undefined) : e;
      if (target?.isDirectory()) await walk(path);
      // Not a FIFO, socket or device even with an image's name: reading one may never end.
      else if (target?.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) add(path);
      else skipped.push(path);
    }
  };
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw new UsageError(`${input}: no such file or folder`);
    if (info.isDirectory()) await walk(input);
    else if (info.isFile())
      add(input); // named explicitly: tried whatever its extension, so a wrong one gets a clear error
    else throw new UsageError(`${input}: not a file or folder (a FIFO, socket or device)`);
  }
  return { files, skipped };
}

/** "a.png, b.png, c.png, and 12 more". */
export function listSome(items: readonly string[], shown = 5): string {
  return items.slice(0, shown).join(', ') + (items.length > shown ? `, and ${items.length - shown} more` : '');
}
