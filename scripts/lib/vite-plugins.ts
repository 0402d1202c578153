/** Vite plugins shared by the page build (vite.config.ts) and the library build (vite.lib.config.ts). */
import { existsSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plugin } from 'vite';

/** Both builds carry the embedded default model, found relative to the page or to the module. */
export function copyDefaultModel(): Plugin {
  return {
    name: 'shitu-copy-default-model',
    apply: 'build',
    async writeBundle(options) {
      if (options.dir && existsSync('models/default')) {
        await cp('models/default', join(options.dir, 'models/default'), { recursive: true });
      }
    },
  };
}
