/**
 * `npm run bench -- --profile BACKEND [--scales S]`: where one batch-1 embedding spends its time on a backend,
 * from tf.profile's kernels (GPU timestamp queries on WebGPU), summed by kernel name, plus the slowest calls.
 */
import type { BackendName } from '../../src/core/embedder-api.ts';
import { ensureBenchModel } from './bench-models.ts';
import { openBrowserSession } from './browser-session.ts';

export async function profileBackend(backend: BackendName, scale: number) {
  const model = await ensureBenchModel(scale);
  const session = await openBrowserSession();
  try {
    const page = await session.browser.newPage();
    await page.goto(new URL('/scripts/pages/bench.html', session.baseUrl).href);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    return {
      scale,
      ...(await page.evaluate((c) => window.benchApi.profileKernels(c), { backend, modelUrl: model.manifestPath })),
    };
  } finally {
    await session.close();
  }
}

export function formatProfile(p: Awaited<ReturnType<typeof profileBackend>>): string {
  const total = p.kernels.reduce((n, k) => n + k.ms, 0);
  return [
    `Profile: one batch-1 embedding, x${p.scale}, ${p.backend}: ${p.wallMs.toFixed(1)} ms wall, ${total.toFixed(1)} ms in kernels${p.note ? ` (${p.note})` : ''}`,
    '',
    '| kernel | calls | ms | share |',
    '|---|---|---|---|',
    ...p.kernels.map(
      (k) =>
        `| ${k.name} | ${k.count} | ${k.ms.toFixed(2)} | ${total > 0 ? ((100 * k.ms) / total).toFixed(1) : '-'} % |`,
    ),
    '',
    'Slowest calls:',
    '',
    '| kernel | input shapes | ms |',
    '|---|---|---|',
    ...p.slowest.map((k) => `| ${k.name} | ${k.inputShapes} | ${k.ms.toFixed(2)} |`),
  ].join('\n');
}
