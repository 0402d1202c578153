/**
 * The library build: `vite build -c vite.lib.config.ts --mode lib` writes dist/lib/shitu-web.js (the element,
 * defineShituEmbedder, createEmbedder), its worker chunk and wasm files, and the default model, all found
 * relative to the module's own URL. Type declarations come from tsconfig.lib.json.
 */
import { defineConfig } from 'vite';
import { copyDefaultModel } from './scripts/lib/vite-plugins.ts';

export default defineConfig({
  base: './',
  publicDir: false,
  plugins: [copyDefaultModel()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist/lib',
    emptyOutDir: false, // the type declarations are written next to the bundle
    sourcemap: true,
    assetsInlineLimit: 0,
    lib: { entry: 'src/lib.ts', formats: ['es'], fileName: () => 'shitu-web.js' },
  },
});
