import { defineConfig } from 'vite';
import { copyDefaultModel } from './scripts/lib/vite-plugins.ts';

export default defineConfig({
  // Relative asset URLs: the static build works from any path.
  base: './',
  plugins: [copyDefaultModel()],
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
  optimizeDeps: {
    // Pre-bundled when the server starts: discovered later, they would make Vite reload a page mid-test.
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-layers',
      'comlink',
      // CommonJS, loaded only by the UMAP worker: found later, Vite would reload the page mid-session.
      'umap-js',
    ],
  },
});
