/** Vite plugins shared by the page build (vite.config.ts) and the library build (vite.lib.config.ts). */
import { existsSync, readdirSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Plugin } from 'vite';

const MODEL_DIR = 'models/default';

/** Both builds carry the embedded default model, found relative to the page or to the module. */
export function copyDefaultModel(): Plugin {
  return {
    name: 'shitu-copy-default-model',
    apply: 'build',
    async writeBundle(options) {
      if (options.dir && existsSync(MODEL_DIR)) {
        await cp(MODEL_DIR, join(options.dir, MODEL_DIR), { recursive: true });
      }
    },
  };
}

/** The placeholder src/worker/client.ts reads in the library build. */
export const MODEL_FILES_PLACEHOLDER = '__SHITU_DEFAULT_MODEL_FILES__';

/**
 * The library build: replaces the placeholder in each chunk with the default model's files, each written as
 * `new URL('./models/default/<file>', import.meta.url).href` relative to that chunk. An app's bundler (Vite,
 * webpack 5, Rollup, esbuild's loaders) recognises that pattern, emits every file and rewrites the URL to
 * the file's new (often hashed) name; client.ts then points the manifest at the shards wherever they went.
 * Done after bundling, since Vite's own library build would inline these files as data: URLs.
 */
export function defaultModelUrls(): Plugin {
  const files = existsSync(MODEL_DIR)
    ? readdirSync(MODEL_DIR)
        .filter((f) => f === 'manifest.json' || f.endsWith('.bin'))
        .sort()
    : [];
  return {
    name: 'shitu-default-model-urls',
    apply: 'build',
    renderChunk(code, chunk) {
      if (!code.includes(MODEL_FILES_PLACEHOLDER)) return null;
      if (!files.includes('manifest.json'))
        this.error(`${MODEL_DIR}/manifest.json is missing: the library needs its default model`);
      const up = posix.relative(dirname(chunk.fileName), '.') || '.';
      const entries = files.map(
        (f) => `${JSON.stringify(f)}: new URL(${JSON.stringify(`${up}/${MODEL_DIR}/${f}`)}, import.meta.url).href`,
      );
      return { code: code.replaceAll(MODEL_FILES_PLACEHOLDER, `{ ${entries.join(', ')} }`), map: null };
    },
  };
}
