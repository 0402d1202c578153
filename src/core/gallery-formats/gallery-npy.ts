/**
 * The gallery as NumPy data: `embeddings.npy`, an (n, d) float32 matrix (`np.load`), and `labels.txt`, row i's
 * "path<TAB>label" on line i — the gallery list format PaddleClas's build_gallery.py reads (delimiter "\t").
 */
import { GalleryFormatError } from '../errors.ts';
import { checkEntries, entryName, packRows, type ExchangeEntry } from './entries.ts';
import { readNpyFloat32, writeNpyFloat32 } from './npy.ts';

export function galleryNpy(entries: readonly ExchangeEntry[]): { 'embeddings.npy': Uint8Array; 'labels.txt': string } {
  const dim = checkEntries(entries, 'embeddings.npy', true);
  // A tab or line break inside a field would shift every field or line after it.
  entries.forEach((e, i) => {
    for (const [what, text] of [
      ['path', e.path],
      ['label', e.label],
    ] as const) {
      if (/[\t\r\n]/.test(text)) {
        throw new GalleryFormatError(
          `labels.txt: ${entryName(i, e.path)} has a tab or line break in its ${what}, which would break the ` +
            '"path<TAB>label" line',
        );
      }
    }
  });
  return {
    'embeddings.npy': writeNpyFloat32(packRows(entries, dim), entries.length, dim),
    'labels.txt': entries.map((e) => `${e.path}\t${e.label}\n`).join(''),
  };
}

/** Reads the pair back: row i of the matrix with line i of labels.txt (split at its first tab). */
export function readGalleryNpy(files: { npy: Uint8Array; labels: string }): ExchangeEntry[] {
  const { rows, cols, data } = readNpyFloat32(files.npy);
  const lines = files.labels.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length !== rows) {
    throw new GalleryFormatError(`labels.txt has ${lines.length} lines for the ${rows} rows of embeddings.npy`);
  }
  return lines.map((line, i) => {
    const tab = line.indexOf('\t');
    if (tab < 0) throw new GalleryFormatError(`labels.txt line ${i + 1}: no tab between path and label`);
    return { path: line.slice(0, tab), label: line.slice(tab + 1), embedding: data.slice(i * cols, (i + 1) * cols) };
  });
}
