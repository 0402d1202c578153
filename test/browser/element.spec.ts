/**
 * <shitu-embedder> from the built library (dist/lib, built once here), as another site uses it: the bundle is
 * served from one origin (with CORS) and examples/embed.html from another.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect, test, type Page } from '@playwright/test';
import { startStaticServer, type StaticServer } from '../support/static-server.ts';
import { CLASSIFIER_MANIFEST_DIR } from '../support/fixture-models.ts';
import { photo } from './support/page.ts';

let libDir: string;
let lib: StaticServer;
let site: StaticServer;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  libDir = join(await mkdtemp(join(tmpdir(), 'shitu-lib-')), 'lib');
  execFileSync(
    'npx',
    ['vite', 'build', '-c', 'vite.lib.config.ts', '--mode', 'lib', '--outDir', libDir, '--logLevel', 'error'],
    { stdio: 'inherit' },
  );
  lib = await startStaticServer(libDir, { cors: true });
  const siteDir = await mkdtemp(join(tmpdir(), 'shitu-site-'));
  const html = (await readFile('examples/embed.html', 'utf8')).replace(
    '../dist/lib/shitu-web.js',
    `${lib.url}shitu-web.js`,
  );
  expect(html).toContain(lib.url);
  await writeFile(join(siteDir, 'embed.html'), html);
  site = await startStaticServer(siteDir);
});

test.afterAll(async () => {
  await lib?.close();
  await site?.close();
});

/** Collects the element's events (bubbling and composed, so the document sees them) into window.__events. */
async function recordEvents(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as {
      __events: { type: string; target: string; name?: string; length?: number; values?: number[]; code?: string }[];
    };
    w.__events = [];
    for (const type of ['shitu-ready', 'shitu-progress', 'shitu-embedding', 'shitu-error']) {
      document.addEventListener(type, (e) => {
        const d = (e as CustomEvent).detail as {
          name?: string;
          embedding?: Float32Array;
          code?: string;
          info?: { backend: string };
        };
        w.__events.push({
          type,
          target: (e.target as HTMLElement).id,
          name: d.name ?? d.info?.backend,
          length: d.embedding?.length,
          values: d.embedding && Array.from(d.embedding),
          code: d.code,
        });
      });
    }
  });
}

const events = (page: Page) =>
  page.evaluate(
    () =>
      (
        window as unknown as {
          __events: {
            type: string;
            target: string;
            name?: string;
            length?: number;
            values?: number[];
            code?: string;
          }[];
        }
      ).__events,
  );

test('cross-origin: the element embeds dropped images exactly as createEmbedder() does; two elements share one worker', async ({
  page,
}) => {
  await recordEvents(page);
  await page.goto(`${site.url}embed.html`);
  await expect
    .poll(
      async () =>
        (await events(page))
          .filter((e) => e.type === 'shitu-ready')
          .map((e) => e.target)
          .sort(),
      { timeout: 90_000 },
    )
    .toEqual(['headless', 'main']);
  // Two elements, one model: one worker.
  expect(page.workers()).toHaveLength(1);
  const libUrl = `${lib.url}shitu-web.js`;
  expect(await page.evaluate(async (u) => (await import(u)).sharedEmbedderCount(), libUrl)).toBe(1);
  // Registering again (a second import, or an explicit call) is harmless.
  expect(
    await page.evaluate(async (u) => {
      const m = await import(u);
      m.defineShituEmbedder();
      return customElements.get('shitu-embedder') === m.ShituEmbedderElement;
    }, libUrl),
  ).toBe(true);

  await page
    .locator('#main')
    .locator('input[type="file"]')
    .setInputFiles([photo('cat-view-1.jpg'), photo('coffee.jpg')]);
  await expect
    .poll(async () => (await events(page)).filter((e) => e.type === 'shitu-embedding').length, { timeout: 60_000 })
    .toBe(2);
  const got = (await events(page)).filter((e) => e.type === 'shitu-embedding');
  expect(got.map((e) => [e.target, e.name, e.length])).toEqual([
    ['main', 'cat-view-1.jpg', 512],
    ['main', 'coffee.jpg', 512],
  ]);
  await expect(page.locator('#main').locator('[data-testid="image-card"][data-status="done"]')).toHaveCount(2);

  // The same images through the library's createEmbedder: the same vectors.
  const photos = await Promise.all(['cat-view-1.jpg', 'coffee.jpg'].map(async (f) => [...(await readFile(photo(f)))]));
  const reference = await page.evaluate(
    async ({ u, bytes }) => {
      const m = await import(u);
      const embedder = await m.createEmbedder();
      const results = await embedder.embed(
        bytes.map((b: number[]) => new Blob([new Uint8Array(b)], { type: 'image/jpeg' })),
      );
      await embedder.dispose();
      return results.map((r: { embedding: Float32Array }) => Array.from(r.embedding));
    },
    { u: libUrl, bytes: photos },
  );
  reference.forEach((vector: number[], i: number) => {
    const diff = Math.max(...vector.map((v: number, k: number) => Math.abs(v - got[i]!.values![k]!)));
    expect(diff).toBeLessThan(1e-6);
  });

  // The headless element's API: embed() returns plain results; similarity and search use them.
  const api = await page.evaluate(async (bytes) => {
    const el = document.querySelector('#headless') as HTMLElement & {
      embed(f: File[]): Promise<{ ok: boolean; name: string; embedding?: Float32Array }[]>;
      similarity(a: number, b: number): number;
      search(q: number, k: number): { label?: string; matches: { label: string }[] };
      gallery: { id: string; label: string; embedding: Float32Array }[];
      embeddings: { name: string }[];
    };
    const files = bytes.map(
      (b: number[], i: number) => new File([new Uint8Array(b)], ['cat.jpg', 'coffee.jpg'][i]!, { type: 'image/jpeg' }),
    );
    const results = await el.embed(files);
    el.gallery = [{ id: 'g1', label: 'cat', embedding: results[0]!.embedding! }];
    return {
      names: el.embeddings.map((e) => e.name),
      self: el.similarity(0, 0),
      cross: el.similarity(0, 1),
      label: el.search(0, 1).label,
    };
  }, photos);
  expect(api.names).toEqual(['cat.jpg', 'coffee.jpg']);
  expect(api.self).toBeCloseTo(1, 5);
  expect(api.cross).toBeLessThan(0.9);
  expect(api.label).toBe('cat');
  expect(page.workers()).toHaveLength(1);

  // Removing both elements releases the shared worker.
  await page.evaluate(() => document.querySelectorAll('shitu-embedder').forEach((e) => e.remove()));
  await expect.poll(() => page.evaluate(async (u) => (await import(u)).sharedEmbedderCount(), libUrl)).toBe(0);
  await expect.poll(() => page.workers().length).toBe(0);
});

test('bad files give shitu-error with their name; the other images are still embedded', async ({ page }) => {
  await recordEvents(page);
  await page.goto(`${site.url}embed.html`);
  await expect
    .poll(async () => (await events(page)).filter((e) => e.type === 'shitu-ready').length, { timeout: 90_000 })
    .toBe(2);
  await page
    .locator('#main')
    .locator('input[type="file"]')
    .setInputFiles([photo('rocket.jpg'), 'test/fixtures/images/not-an-image.jpg', photo('coffee.jpg')]);
  await expect
    .poll(
      async () => (await events(page)).filter((e) => e.type === 'shitu-embedding' || e.type === 'shitu-error').length,
      { timeout: 60_000 },
    )
    .toBe(3);
  const all = await events(page);
  // Picked files are taken in natural name order, whatever order the picker gives them in.
  expect(all.filter((e) => e.type === 'shitu-embedding').map((e) => e.name)).toEqual(['coffee.jpg', 'rocket.jpg']);
  const errors = all.filter((e) => e.type === 'shitu-error');
  expect(errors.map((e) => [e.name, e.code])).toEqual([['not-an-image.jpg', 'image-format']]);
  await expect(page.locator('#main').locator('[data-testid="image-card"][data-status="error"]')).toContainText(
    'not an image',
  );
});

for (const { csp, wasm } of [
  { csp: "script-src 'self'; worker-src 'self' blob:", wasm: false },
  // The one exception a dependency forces: compiling WebAssembly needs 'wasm-unsafe-eval' (not 'unsafe-eval').
  { csp: "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:", wasm: true },
]) {
  test(`under the Content-Security-Policy "${csp}" (on every response) the element works`, async ({ page }) => {
    const dir = await mkdtemp(join(tmpdir(), 'shitu-csp-'));
    await cp(libDir, join(dir, 'lib'), { recursive: true });
    await writeFile(
      join(dir, 'csp.html'),
      '<!doctype html><meta charset="utf-8"><title>CSP</title><script type="module" src="./lib/shitu-web.js"></script><shitu-embedder id="main"></shitu-embedder>',
    );
    const server = await startStaticServer(dir, { headers: { 'content-security-policy': csp } });
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    try {
      await recordEvents(page);
      await page.goto(`${server.url}csp.html`);
      await expect
        .poll(async () => (await events(page)).filter((e) => e.type === 'shitu-ready').length, { timeout: 90_000 })
        .toBe(1);
      const backend = (await events(page)).find((e) => e.type === 'shitu-ready')!.name;
      await page
        .locator('#main')
        .locator('input[type="file"]')
        .setInputFiles([photo('astronaut.jpg')]);
      await expect
        .poll(async () => (await events(page)).filter((e) => e.type === 'shitu-embedding').map((e) => e.length), {
          timeout: 120_000,
        })
        .toEqual([512]);
      console.log(`CSP ${csp}: backend ${backend}; ${violations.length} CSP console messages`);
      if (wasm) {
        expect(backend).toBe('wasm');
        expect(violations).toEqual([]);
      } else {
        // Only the WebAssembly compile is refused; the fallback chain carries on (here to cpu; webgpu or webgl on a real GPU).
        expect(backend).not.toBe('wasm');
        expect(violations.every((v) => /WebAssembly/.test(v))).toBe(true);
      }
    } finally {
      await server.close();
    }
  });
}

test('with an imported classifier, shitu-embedding carries the top label and the cards show it', async ({ page }) => {
  const dir = join(libDir, 'models', 'textline-classifier');
  await cp(CLASSIFIER_MANIFEST_DIR, dir, { recursive: true });
  await page.goto(`${site.url}embed.html`);
  const lines = await Promise.all(
    ['upright-01.png', 'rotated-01.png'].map(async (f) => [...(await readFile(`test/fixtures/textlines/${f}`))]),
  );
  const got = await page.evaluate(
    async ({ model, bytes }) => {
      const el = document.createElement('shitu-embedder') as HTMLElement & {
        embed(f: File[]): Promise<{ ok: boolean; prediction?: { label: string; score: number } }[]>;
      };
      el.setAttribute('model', model);
      const predicted: (string | undefined)[] = [];
      el.addEventListener('shitu-embedding', (e) => predicted.push((e as CustomEvent).detail.prediction?.label));
      const ready = new Promise((resolve) => el.addEventListener('shitu-ready', resolve, { once: true }));
      document.body.append(el);
      await ready;
      const files = bytes.map(
        (b: number[], i: number) => new File([new Uint8Array(b)], `line-${i}.png`, { type: 'image/png' }),
      );
      const results = await el.embed(files);
      return { results: results.map((r) => r.prediction), predicted };
    },
    { model: `${lib.url}models/textline-classifier/manifest.json`, bytes: lines },
  );
  expect(got.results).toHaveLength(2);
  for (const p of got.results) {
    expect(['0_degree', '180_degree']).toContain(p!.label);
    expect(p!.score).toBeGreaterThanOrEqual(0.5);
  }
  expect(got.predicted).toEqual(got.results.map((p) => p!.label));
  const cards = page.locator('shitu-embedder').last().locator('[data-testid="image-card"]');
  await expect(cards).toHaveCount(2);
  await expect(cards.first()).toHaveAttribute('data-predicted', /^(0|180)_degree$/);
  await expect(cards.first()).toContainText(/≈ (0|180)_degree/);
});

test('view="map report duplicates": the element maps its images by PCA, reports on its gallery, groups copies', async ({
  page,
}) => {
  const { pca2d } = await import('../../src/core/embedding-map/pca.ts');
  const { galleryReport } = await import('../../src/core/gallery-report.ts');
  await page.goto(`${site.url}embed.html`);
  const main = page.locator('#main');
  await expect(main.getByTestId('embedding-map')).toHaveCount(0); // not made until asked for
  await main.evaluate((el) => el.setAttribute('view', 'drop map report duplicates'));
  await expect(main.locator('[part="matrix"]')).toBeHidden();
  const dir = await mkdtemp(join(tmpdir(), 'shitu-element-copies-'));
  await cp(photo('coffee.jpg'), join(dir, 'coffee-copy.jpg'));
  const files = ['cat-view-1.jpg', 'rocket.jpg', 'coffee.jpg', 'astronaut.jpg'].map(photo);
  await main.locator('input[type="file"]').setInputFiles([...files, join(dir, 'coffee-copy.jpg')]);
  await expect(main.locator('[data-testid="image-card"][data-status="done"]')).toHaveCount(5, { timeout: 90_000 });

  // The map: PCA of the element's own embeddings.
  const map = main.getByTestId('embedding-map');
  await expect(map).toHaveAttribute('data-count', '5', { timeout: 30_000 });
  await expect(map).toHaveAttribute('data-state', 'ready');
  const embeddings = await main.evaluate((el) =>
    (el as unknown as { embeddings: { name: string; embedding: Float32Array }[] }).embeddings.map((e) => ({
      name: e.name,
      embedding: Array.from(e.embedding),
    })),
  );
  const ref = pca2d(embeddings.map((e) => Float32Array.from(e.embedding)));
  for (const [i, e] of embeddings.entries()) {
    const hook = map.locator(`li[data-name="${e.name}"]`);
    expect(Number(await hook.getAttribute('data-x'))).toBeCloseTo(ref.x[i]!, 5);
    expect(Number(await hook.getAttribute('data-y'))).toBeCloseTo(ref.y[i]!, 5);
  }

  // Duplicates: the byte copy and its original, nothing else.
  const groups = main.getByTestId('duplicate-group');
  await expect(groups).toHaveCount(1, { timeout: 30_000 });
  expect(
    (await groups.locator('[data-name]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name))).sort(),
  ).toEqual(['coffee-copy.jpg', 'coffee.jpg']);

  // The report over the element's `gallery` property, at its threshold: core's figures on the same entries.
  const labels: Record<string, string> = {
    'cat-view-1.jpg': 'a',
    'rocket.jpg': 'a',
    'coffee.jpg': 'b',
    'coffee-copy.jpg': 'b',
    'astronaut.jpg': 'b',
  };
  await main.evaluate((el, labels) => {
    const e = el as unknown as {
      embeddings: { name: string; embedding: Float32Array }[];
      gallery: { id: string; label: string; embedding: Float32Array }[];
    };
    e.gallery = e.embeddings.map((r) => ({ id: r.name, label: labels[r.name]!, embedding: r.embedding }));
  }, labels);
  const report = main.getByTestId('gallery-report');
  await expect(report).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  const expected = galleryReport(
    embeddings.map((e) => ({ id: e.name, label: labels[e.name]!, embedding: Float32Array.from(e.embedding) })),
    { threshold: 0.5 },
  );
  expect(Number(await report.getAttribute('data-recall-at-1'))).toBe(expected.recallAt1);
  expect(Number(await report.getAttribute('data-map'))).toBeCloseTo(expected.map, 10);
  // "Use" sets the element's threshold attribute.
  await main.getByTestId('use-suggested-threshold').click();
  await expect(main).toHaveAttribute(
    'threshold',
    expected.threshold.suggestedThreshold.toFixed(2).replace(/0+$/, '').replace(/\.$/, ''),
  );

  // Keep one, remove the other: the card and its result go, and the page hears which (its gallery is its own).
  const removed = main.evaluate(
    (el) =>
      new Promise<{ names: string[]; results: string[] }>((resolve) =>
        el.addEventListener(
          'shitu-removed',
          (e) => {
            const d = (e as CustomEvent<{ names: string[]; results: { name: string }[] }>).detail;
            resolve({ names: [...d.names], results: d.results.map((r) => r.name) });
          },
          { once: true },
        ),
      ),
  );
  await groups.first().locator('[data-name="coffee.jpg"] button').click();
  await groups.first().getByTestId('duplicate-remove').click();
  expect(await removed).toEqual({ names: ['coffee-copy.jpg'], results: ['coffee-copy.jpg'] });
  await expect(main.getByTestId('image-card')).toHaveCount(4);
  await expect(groups).toHaveCount(0);
  const left = await main.evaluate((el) => ({
    embeddings: (el as unknown as { embeddings: { name: string }[] }).embeddings.map((e) => e.name),
    gallery: (el as unknown as { gallery: unknown[] }).gallery.length,
  }));
  expect(left.embeddings).not.toContain('coffee-copy.jpg');
  expect(left.embeddings).toHaveLength(4);
  expect(left.gallery).toBe(5);
});
