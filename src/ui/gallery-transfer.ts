/**
 * The gallery as one file (gallery-file.ts): export writes every entry's label, float embedding (read back
 * from its int8 form: each value within 1/254 of its vector's largest) and thumbnail; import merges a file
 * into the gallery by id, so importing the same file twice changes nothing and an entry keeps its image.
 */
import { encodeGalleryFile, type GalleryItem } from '../core/gallery-file.ts';
import { download } from './dom.ts';
import type { GalleryEntries, GalleryEntry, GalleryWrite } from './gallery-entries.ts';

/** Downloads the gallery file; returns what to tell the person. */
export async function exportGallery(entries: GalleryEntries): Promise<string> {
  const items = await entries.toItems();
  download(`shitu-gallery-${new Date().toISOString().slice(0, 10)}.json`, encodeGalleryFile(items), 'application/json');
  return `Exported ${items.length} gallery images (labels, embeddings and thumbnails; not the images).`;
}

/** The writes that merge a file's items into the gallery. */
export function importWrites(incoming: readonly GalleryItem[], entries: GalleryEntries): GalleryWrite[] {
  return incoming.map((g) => {
    const here = entries.get(g.id);
    const entry: GalleryEntry = {
      id: g.id,
      ...(here?.hash ? { hash: here.hash } : {}),
      name: g.name,
      label: g.label,
      modelId: g.modelId,
      addedAt: g.addedAt,
      imageBytes: here?.imageBytes ?? 0,
    };
    return { entry, vector: g.embedding, ...(g.thumbnail ? { thumbnail: g.thumbnail } : {}) };
  });
}

export function importMessage(fileName: string, writes: readonly GalleryWrite[], modelId: string): string {
  const foreign = writes.filter((w) => w.entry.modelId !== modelId && w.entry.imageBytes === 0).length;
  return (
    `Imported ${writes.length} gallery images from ${fileName}.` +
    (foreign
      ? ` ${foreign} were made with another model and are not searched with this one (a gallery file holds no images to embed again).`
      : '')
  );
}
