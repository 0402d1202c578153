/**
 * The npm package as an app gets it: `npm pack` (its prepack runs `npm run build`), a new project in a temp
 * folder installs the tarball, imports `shitu-web` and `shitu-web/element`, and embeds images under Vite's dev
 * server and from its production build. The project has no Vite config: nothing is copied, nothing set.
 * Vite is the repository's own (its JavaScript API with `root` at the project), so nothing is downloaded.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { build, createServer, type ViteDevServer } from 'vite';
import { startStaticServer, type StaticServer } from '../support/static-server.ts';

const PHOTOS = ['cat-view-1.jpg', 'coffee.jpg'];

const MAIN_JS = `
import { createEmbedder, cosineSimilarity } from 'shitu-web';
// Only for its side effect, which package.json's sideEffects must keep through the app's bundler.
import 'shitu-web/element';

const out = document.getElementById('out');
try {
  const blobs = await Promise.all(${JSON.stringify(PHOTOS)}.map(async (f) => (await fetch(f)).blob()));
  const embedder = await createEmbedder();
  const [a, b] = await embedder.embed(blobs);
  await embedder.dispose();
  const element = document.querySelector('shitu-embedder');
  const [fromElement] = await element.embed([new File([blobs[0]], 'cat.jpg', { type: 'image/jpeg' })]);
  out.textContent = JSON.stringify({
    vectors: [a, b].map((r) => Array.from(r.embedding)),
    cosine: cosineSimilarity(a.embedding, b.embedding),
    registered: customElements.get('shitu-embedder') === element.constructor,
    element: fromElement.ok ? Array.from(fromElement.embedding) : fromElement,
  });
} catch (e) {
  out.textContent = 'error: ' + (e && e.stack || e);
}
`;

const INDEX_HTML = `<!doctype html>
<meta charset="utf-8">
<title>shitu-web consumer</title>
<shitu-embedder></shitu-embedder>
<pre id="out">pending</pre>
<script type="module" src="./main.js"></script>
`;

let consumer: string;

test.beforeAll(async () => {
  test.setTimeout(240_000);
  const dir = await mkdtemp(join(tmpdir(), 'shitu-consumer-'));
  const { name, version } = JSON.parse(await readFile('package.json', 'utf8')) as { name: string; version: string };
  execFileSync('npm', ['pack', '--pack-destination', dir, '--loglevel', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = join(dir, `${name}-${version}.tgz`);

  consumer = join(dir, 'app');
  await mkdir(join(consumer, 'public'), { recursive: true });
  await writeFile(
    join(consumer, 'package.json'),
    JSON.stringify(
      { name: 'consumer', private: true, type: 'module', dependencies: { [name]: `file:${tarball}` } },
      null,
      2,
    ),
  );
  await writeFile(join(consumer, 'index.html'), INDEX_HTML);
  await writeFile(join(consumer, 'main.js'), MAIN_JS);
  for (const f of PHOTOS) await cp(resolve('test/fixtures/photos', f), join(consumer, 'public', f));
  // The package has no dependencies of its own (its bundle carries them): nothing to download.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel', 'error'], {
    cwd: consumer,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
});

interface Output {
  vectors: number[][];
  cosine: number;
  registered: boolean;
  element: number[] | { error: string };
}

async function embedIn(page: Page, url: string): Promise<{ out: Output; requests: string[] }> {
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  await expect(page.locator('#out')).not.toHaveText('pending', { timeout: 90_000 });
  const text = (await page.locator('#out').textContent()) ?? '';
  expect(text).not.toMatch(/^error/);
  return { out: JSON.parse(text) as Output, requests };
}

function checkEmbeddings(out: Output): void {
  for (const v of out.vectors) {
    expect(v).toHaveLength(512);
    expect(Math.hypot(...v)).toBeCloseTo(1, 4);
  }
  expect(out.cosine).toBeLessThan(0.9);
  expect(out.registered).toBe(true);
  // The element runs the same model on the same image: the same vector.
  expect(Array.isArray(out.element)).toBe(true);
  const element = out.element as number[];
  expect(element).toHaveLength(512);
  expect(Math.max(...element.map((x, i) => Math.abs(x - out.vectors[0]![i]!)))).toBeLessThan(1e-5);
}

test("Vite's dev server, no config: the worker, the wasm files and the default model come from the package", async ({
  page,
}) => {
  let server: ViteDevServer | undefined;
  try {
    server = await createServer({
      root: consumer,
      configFile: false,
      logLevel: 'error',
      server: { port: 5400, host: '127.0.0.1' },
    });
    await server.listen();
    const url = server.resolvedUrls!.local[0]!;
    const { out, requests } = await embedIn(page, url);
    checkEmbeddings(out);
    expect(
      requests.some((u) => /\/node_modules\/shitu-web\/dist\/lib\/models\/default\/weights-001-of-002\.bin$/.test(u)),
    ).toBe(true);
  } finally {
    await server?.close();
  }
});

test("Vite's production build, no config: the bundler emits the worker and the model's files, renamed", async ({
  page,
}) => {
  const outDir = join(consumer, 'dist');
  await build({ root: consumer, configFile: false, logLevel: 'error', build: { outDir } });
  const site: StaticServer = await startStaticServer(outDir);
  try {
    const { out, requests } = await embedIn(page, site.url);
    checkEmbeddings(out);
    const http = requests.filter((u) => u.startsWith('http'));
    expect(http.every((u) => u.startsWith(site.url))).toBe(true);
    // Content-hashed names: the manifest's own shard names would not find them.
    expect(http.some((u) => /\/assets\/weights-001-of-002-[\w-]+\.bin$/.test(u))).toBe(true);
    expect(http.some((u) => /\/assets\/embedder\.worker-[\w-]+\.js$/.test(u))).toBe(true);
  } finally {
    await site.close();
  }
});
