import { defineConfig } from 'vite';

export default defineConfig({
  // Relative asset URLs: the static build works from any path.
  base: './',
  worker: {
    // Module workers: the embedder worker imports tfjs and comlink as ES modules.
    format: 'es',
  },
  build: {
    target: 'es2022',
    outDir: 'dist/app',
    sourcemap: true,
  },
  server: {
    port: 5173,
  },
});
