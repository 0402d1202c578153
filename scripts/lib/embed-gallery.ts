/**
 * `npm run embed -- --gallery-out <dir> <folder>`: a PP-ShiTu gallery from a folder with one subfolder per label,
 * as PaddleClas's build_gallery writes one (vector.index, id_map.pkl; id_map values "relative/path<TAB>label"),
 * and the exchange formats beside it (gallery.jsonl; embeddings.npy + labels.txt). The file formats are
 * src/core/gallery-formats; this file only picks labels and writes files.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  galleryJsonl,
  galleryNpy,
  ppshituGalleryFiles,
  type ExchangeEntry,
} from '../../src/core/gallery-formats/index.ts';
import type { EmbedRecord } from './embed-engine.ts';

export type GalleryFormat = 'faiss' | 'jsonl' | 'npy';
export const GALLERY_FORMATS: readonly GalleryFormat[] = ['faiss', 'jsonl', 'npy'];
export const DEFAULT_GALLERY_FORMATS: readonly GalleryFormat[] = ['faiss'];

/** "faiss,npy" -> ['faiss', 'npy']; undefined for a name not in GALLERY_FORMATS. */
export function parseGalleryFormats(text: string): GalleryFormat[] | undefined {
  const names = [...new Set(text.split(',').map((s) => s.trim()))];
  if (names.some((n) => !GALLERY_FORMATS.includes(n as GalleryFormat)) || names.length === 0) return undefined;
  return names as GalleryFormat[];
}

export interface GalleryImage {
  /** The path the command reads. */
  readonly file: string;
  /** Relative to the gallery folder, with '/' (what id_map.pkl records). */
  readonly path: string;
  /** The first folder under the gallery folder. */
  readonly label: string;
}

/** Images under a label subfolder get that label; those directly in the gallery folder have none. */
export function labelImages(root: string, files: readonly string[]): { images: GalleryImage[]; unlabelled: string[] } {
  const images: GalleryImage[] = [];
  const unlabelled: string[] = [];
  for (const file of files) {
    const parts = relative(root, file).split(sep);
    if (parts.length < 2 || parts[0] === '..') unlabelled.push(file);
    else images.push({ file, path: parts.join('/'), label: parts[0]! });
  }
  return { images, unlabelled };
}

/** The file names each format writes. */
export const GALLERY_FILES: Readonly<Record<GalleryFormat, readonly string[]>> = {
  faiss: ['vector.index', 'id_map.pkl'],
  jsonl: ['gallery.jsonl'],
  npy: ['embeddings.npy', 'labels.txt'],
};

/**
 * Writes the gallery of the images that embedded (failed ones are left out and returned). The engine's
 * embeddings are L2-normalised (its default), as PaddleClas's build_gallery feeds faiss's inner-product index.
 */
export async function writeGallery(
  dir: string,
  formats: readonly GalleryFormat[],
  images: readonly GalleryImage[],
  records: readonly EmbedRecord[],
): Promise<{ written: string[]; left: EmbedRecord[]; entries: number }> {
  const entries: ExchangeEntry[] = [];
  const left: EmbedRecord[] = [];
  images.forEach((image, i) => {
    const r = records[i]!;
    if (r.ok) entries.push({ path: image.path, label: image.label, embedding: r.embedding });
    else left.push(r);
  });
  const files: Record<string, Uint8Array | string> = {};
  if (formats.includes('faiss')) Object.assign(files, ppshituGalleryFiles(entries));
  if (formats.includes('jsonl')) files['gallery.jsonl'] = galleryJsonl(entries);
  if (formats.includes('npy')) Object.assign(files, galleryNpy(entries));
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    // Each file appears whole or not at all.
    const path = join(dir, name);
    await writeFile(`${path}.tmp-${process.pid}`, content);
    await rename(`${path}.tmp-${process.pid}`, path);
    written.push(path);
  }
  return { written, left, entries: entries.length };
}
