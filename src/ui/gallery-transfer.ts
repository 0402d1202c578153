/**
 * The gallery as one file (gallery-file.ts): export writes every entry's label, float embedding (read back
 * from its int8 form: each value within 1/254 of its vector's largest) and thumbnail; import merges a file
 * into the gallery by id, so importing the same file twice changes nothing and an entry keeps its image.
 */
import { GalleryFormatError } from '../core/errors.ts';
import { encodeGalleryFile, type GalleryItem } from '../core/gallery-file.ts';
import {
  galleryJsonl,
  galleryNpy,
  ppshituGalleryFiles,
  readGalleryJsonl,
  readPpshituGallery,
} from '../core/gallery-formats/index.ts';
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

/** What "Export" writes: this page's own file, or a format other tools read (docs/gallery-formats.md). */
export type GalleryExportFormat = 'shitu' | 'ppshitu' | 'jsonl' | 'npy';

export const GALLERY_EXPORT_FORMATS: readonly { value: GalleryExportFormat; text: string }[] = [
  { value: 'shitu', text: 'this page (JSON, with thumbnails)' },
  { value: 'ppshitu', text: 'PP-ShiTu (faiss vector.index + id_map.pkl)' },
  { value: 'jsonl', text: 'JSON Lines' },
  { value: 'npy', text: 'NumPy (embeddings.npy + labels.txt)' },
];

/**
 * The entries made with `modelId`, as another tool's files: a PP-ShiTu deployment searches vector.index and
 * reads labels from id_map.pkl (PaddleClas's build_gallery.py); JSON Lines and .npy go to vector databases.
 * Entries of other models are left out: their vectors are not comparable.
 */
export async function exportGalleryAs(
  format: Exclude<GalleryExportFormat, 'shitu'>,
  entries: GalleryEntries,
  modelId: string,
): Promise<string> {
  const items = (await entries.toItems()).filter((g) => g.modelId === modelId && g.embedding.length > 0);
  if (items.length === 0) return 'No gallery image is embedded with this model yet: nothing to export.';
  const exchange = items.map((g) => ({ path: g.name, label: g.label, embedding: g.embedding }));
  const left = entries.size - items.length;
  const note = left > 0 ? ` ${left} made with another model were left out.` : '';
  if (format === 'ppshitu') {
    const files = ppshituGalleryFiles(exchange);
    download('vector.index', files['vector.index'] as Uint8Array<ArrayBuffer>, 'application/octet-stream');
    download('id_map.pkl', files['id_map.pkl'] as Uint8Array<ArrayBuffer>, 'application/octet-stream');
    return `Exported ${items.length} gallery images as PP-ShiTu's vector.index + id_map.pkl (faiss, inner product; whitespace in names and labels becomes _).${note}`;
  }
  if (format === 'jsonl') {
    download('gallery.jsonl', galleryJsonl(exchange), 'application/jsonl');
    return `Exported ${items.length} gallery images as gallery.jsonl.${note}`;
  }
  const files = galleryNpy(exchange);
  download('embeddings.npy', files['embeddings.npy'] as Uint8Array<ArrayBuffer>, 'application/octet-stream');
  download('labels.txt', files['labels.txt'], 'text/plain');
  return `Exported ${items.length} gallery images as embeddings.npy + labels.txt.${note}`;
}

/**
 * A PP-ShiTu gallery (vector.index + id_map.pkl, picked together) or a JSON Lines file, as gallery entries of
 * the model in use: those files name no model, so they are taken to come from this one (their dimension is
 * checked against it). They hold no images, so a later model change cannot embed them again.
 */
export async function exchangeImport(
  files: readonly File[],
  modelId: string,
  /** The model's embedding size; undefined: not checked (no model loaded yet). */
  dim: number | undefined,
): Promise<{ writes: GalleryWrite[]; source: string } | undefined> {
  const byName = (re: RegExp) => files.find((f) => re.test(f.name));
  const index = byName(/\.index$/i);
  const idMap = byName(/\.pkl$/i);
  const jsonl = byName(/\.jsonl$/i);
  let rows: { path: string; label: string; embedding: ArrayLike<number> }[];
  let source: string;
  if (index || idMap) {
    if (!index || !idMap)
      throw new GalleryFormatError(
        `a PP-ShiTu gallery is two files: pick vector.index and id_map.pkl together (got only ${(index ?? idMap)!.name})`,
      );
    rows = readPpshituGallery({
      index: new Uint8Array(await index.arrayBuffer()),
      idMap: new Uint8Array(await idMap.arrayBuffer()),
    });
    source = `${index.name} + ${idMap.name}`;
  } else if (jsonl) {
    rows = readGalleryJsonl(await jsonl.text());
    source = jsonl.name;
  } else return undefined;
  const wrongDim = dim === undefined ? undefined : rows.find((r) => r.embedding.length !== dim);
  if (wrongDim)
    throw new GalleryFormatError(
      `${source}: its vectors have ${wrongDim.embedding.length} values, this model's ${dim}: it was made with another model`,
    );
  const now = Date.now();
  const writes = rows.map((r, i): GalleryWrite => {
    const embedding = Float32Array.from(r.embedding);
    return {
      entry: {
        id: `import:${source}:${r.path}`,
        name: r.path,
        label: r.label,
        modelId,
        addedAt: now + i,
        imageBytes: 0,
      },
      vector: embedding,
    };
  });
  return { writes, source };
}
