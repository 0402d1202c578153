/**
 * The Node side of scripts/pages/eval.html, shared by `npm run eval` and `npm run finetune-eval`: serving a
 * data folder to the page, and embedding a split's images through the page in chunks.
 */
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { SplitEntry } from './split.ts';

const CHUNK = 32;

/** Serves `folder` to the page under /__eval/<name>/ (data: split paths are relative to it; model; teacher). */
export async function routeFolder(page: Page, name: 'data' | 'model' | 'teacher', folder: string): Promise<void> {
  const root = resolve(folder);
  const prefix = `/__eval/${name}/`;
  await page.route(`**${prefix}**`, (route) =>
    route.fulfill({ path: join(root, decodeURIComponent(new URL(route.request().url()).pathname.split(prefix)[1]!)) }),
  );
}

export function dataUrl(e: SplitEntry): string {
  return `/__eval/data/${e.path.split('/').map(encodeURIComponent).join('/')}`;
}

function fromBase64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

export interface EmbeddedSplit {
  readonly vectors: Float32Array[];
  readonly labels: string[];
  readonly failed: number;
  /** Time spent embedding in the page (decode included), without the transfers. */
  readonly ms: number;
}

/** Embeds every entry with whatever the page has loaded; failed images are counted and logged, not returned. */
export async function embedEntries(
  page: Page,
  entries: readonly SplitEntry[],
  log?: (s: string) => void,
): Promise<EmbeddedSplit> {
  const out: EmbeddedSplit = { vectors: [], labels: [], failed: 0, ms: 0 };
  let failed = 0;
  let ms = 0;
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    const r = await page.evaluate((u) => window.evalApi.embed(u), chunk.map(dataUrl));
    ms += r.ms;
    r.vectors.forEach((b64, k) => {
      const v = fromBase64(b64);
      if (v.length === 0) failed++;
      else {
        out.vectors.push(v);
        out.labels.push(chunk[k]!.label);
      }
    });
    for (const e of r.errors) log?.(`  skipped: ${e}`);
    if (log && ((i / CHUNK) % 8 === 0 || i + CHUNK >= entries.length))
      log(`  ${Math.min(i + CHUNK, entries.length)} / ${entries.length}`);
  }
  return { ...out, failed, ms };
}
