/**
 * A model change: the gallery's entries made with another model are embedded again from their stored
 * images, a chunk at a time (embeddings of different models are not comparable). Entries removed meanwhile
 * are skipped; a newer model change stops the pass, its own pass takes over.
 */
import type { EmbeddingResult } from '../core/embedder-api.ts';
import type { GalleryEntries, GalleryEntry, GalleryWrite } from './gallery-entries.ts';

export type GalleryEmbed = (images: { id: string; name: string; image: Blob }[]) => Promise<EmbeddingResult[]>;

const CHUNK = 8;

export interface ReembedResult {
  /** Entries whose image could not be read or embedded. */
  readonly failed: number;
  /** The embedder refused the whole pass (the message), e.g. the worker stopped. */
  readonly error?: string;
  /** `current()` turned false: the pass stopped where it was. */
  readonly stopped: boolean;
}

export async function reembedEntries(
  entries: GalleryEntries,
  stale: readonly GalleryEntry[],
  embed: GalleryEmbed,
  modelId: string,
  hooks: {
    readonly current: () => boolean;
    readonly save: (writes: GalleryWrite[]) => Promise<void>;
    readonly progress: (p: { done: number; total: number }) => void;
  },
): Promise<ReembedResult> {
  const total = stale.length;
  let failed = 0;
  for (let next = 0; next < total; next += CHUNK) {
    if (!hooks.current()) return { failed, stopped: true };
    const chunk = stale.slice(next, next + CHUNK);
    let results: EmbeddingResult[];
    try {
      const images = await Promise.all(chunk.map(async (g) => ({ g, image: await entries.image(g.id) })));
      const ready = images.filter((x) => x.image);
      failed += images.length - ready.length;
      results = await embed(ready.map(({ g, image }) => ({ id: g.id, name: g.name, image: image! })));
    } catch (e) {
      return { failed, error: (e as Error).message, stopped: false };
    }
    if (!hooks.current()) return { failed, stopped: true };
    const writes: GalleryWrite[] = [];
    for (const r of results) {
      const g = entries.get(r.id);
      if (!g) continue; // removed meanwhile
      if (r.ok) writes.push({ entry: { ...g, modelId }, vector: r.embedding });
      else failed++;
    }
    await hooks.save(writes);
    hooks.progress({ done: Math.min(next + chunk.length, total), total });
  }
  return { failed, stopped: false };
}
