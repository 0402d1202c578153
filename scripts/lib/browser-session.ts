/**
 * A Vite dev server and a headless Chromium for scripts (parity, benchmarks): both on this machine only,
 * both closed by `close()`.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumLaunchOptions } from '../../test/support/chromium.ts';

export interface BrowserSession {
  readonly baseUrl: string;
  readonly browser: Browser;
  readonly version: string;
  newPage(path: string): Promise<Page>;
  close(): Promise<void>;
}

/** The headers that make a page cross-origin isolated: SharedArrayBuffer, hence WASM threads, need them. */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
});

export async function openBrowserSession(options: { crossOriginIsolated?: boolean } = {}): Promise<BrowserSession> {
  const server: ViteDevServer = await createServer({
    logLevel: 'error',
    server: {
      port: 0,
      host: '127.0.0.1',
      ...(options.crossOriginIsolated ? { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } } : {}),
    },
    // The benchmark page imports ONNX Runtime Web lazily: pre-bundled up front, or Vite would find it mid-run
    // and reload the page. Its own cache folder, so the app's dev server keeps its pre-bundled set.
    optimizeDeps: { include: ['onnxruntime-web', 'umap-js'] },
    cacheDir: 'node_modules/.vite-scripts',
  });
  await server.listen();
  const baseUrl = server.resolvedUrls?.local[0];
  if (!baseUrl) throw new Error('the Vite dev server did not report its URL');
  let browser: Browser;
  try {
    browser = await chromium.launch(chromiumLaunchOptions());
  } catch (e) {
    await server.close();
    throw e;
  }
  return {
    baseUrl,
    browser,
    version: browser.version(),
    async newPage(path: string) {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') console.error(`[browser] ${m.text()}`);
      });
      await page.goto(new URL(path, baseUrl).href);
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
