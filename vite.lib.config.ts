/**
 * The library build (`vite build -c vite.lib.config.ts --mode lib`), into dist/lib, the npm package's files:
 * - index.js: the `shitu-web` entry (createEmbedder, cosineSimilarity, no side effects);
 * - element.js: the `shitu-web/element` entry (registers <shitu-embedder>);
 * - shitu-web.js: both in one module, for a `<script type="module">` or a CDN;
 * - their shared chunk, the worker (one file: the wasm binaries inlined, no chunks of its own, so an app's
 *   bundler can copy it as an asset) and the default model in models/default/.
 * Everything is found with `new URL('./…', import.meta.url)`. Type declarations come from tsconfig.lib.json.
 */
import { defineConfig } from 'vite';
import { copyDefaultModel, defaultModelUrls } from './scripts/lib/vite-plugins.ts';

export default defineConfig({
  base: './',
  publicDir: false,
  plugins: [copyDefaultModel(), defaultModelUrls()],
  worker: {
    format: 'es',
    // The fine-tuning gradients stay lazily evaluated, but inside the worker file.
    rolldownOptions: { output: { codeSplitting: false } },
    // No map for the worker: it is almost all tfjs, and would add 15 MB to the package.
    plugins: () => [{ name: 'shitu-worker-no-sourcemap', outputOptions: (o) => ({ ...o, sourcemap: false }) }],
  },
  build: {
    target: 'es2022',
    outDir: 'dist/lib',
    emptyOutDir: true, // stale chunks of an earlier build would be packed too; tsc writes the types afterwards
    sourcemap: true,
    assetsInlineLimit: 0,
    lib: {
      entry: { index: 'src/index.ts', element: 'src/element/index.ts', 'shitu-web': 'src/lib.ts' },
      formats: ['es'],
      fileName: (_format, entryName) => `${entryName}.js`,
    },
    // Shared chunks beside the entries, so `./models/default/` and `./assets/` are the same for all.
    rolldownOptions: { output: { chunkFileNames: '[name]-[hash].js' } },
  },
});
