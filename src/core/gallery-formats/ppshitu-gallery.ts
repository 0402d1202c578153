/**
 * PaddleClas PP-ShiTu's gallery files, as deploy/python/build_gallery.py writes them and predict_system.py reads
 * them: `vector.index` (faiss.write_index of an IndexIDMap2 around the index) and `id_map.pkl` (a pickled dict
 * from each faiss id to its gallery list line, "path<TAB>label"). predict_system searches the index and takes the
 * best match's label as `id_map[id].split()[1]`, so neither path nor label may hold whitespace.
 */
import { GalleryFormatError } from '../errors.ts';
import { checkEntries, entryName, packRows, type ExchangeEntry } from './entries.ts';
import { writeFaissIdMap2FlatIp } from './faiss-index.ts';
import { readFaissIndex } from './faiss-read.ts';
import { readIdMapPickle, writeIdMapPickle } from './pickle.ts';
import { ppshituToken, pythonSplit } from './python-text.ts';

const FORMAT = 'PP-ShiTu gallery (vector.index, id_map.pkl)';

/**
 * PaddleClas build_gallery's two files, Flat inner-product index (exact search: a deployment finds what the browser
 * found). Entry i gets faiss id i and the id_map line "path<TAB>label".
 *
 * Whitespace: predict_system splits the line on whitespace and takes field 1 as the label, so a label "red apple"
 * would come out as "apple" (or a path "IMG 1.jpg" would make the label "1.jpg"). The writer therefore drops
 * leading and trailing whitespace from both and replaces each inner whitespace run with '_' ("red apple" is
 * exported as "red_apple"; ppshituToken() gives the exported form, for a page to show). It refuses, naming the
 * entries, an empty path or label (predict_system would fail on the line) and two different labels that would
 * become one ("red apple" and "red_apple"), since that would merge two classes without a word.
 */
export function ppshituGalleryFiles(entries: readonly ExchangeEntry[]): {
  'vector.index': Uint8Array;
  'id_map.pkl': Uint8Array;
} {
  const dim = checkEntries(entries, FORMAT, true);
  const lines = new Map<number, string>();
  const labelFrom = new Map<string, { label: string; i: number }>();
  entries.forEach((e, i) => {
    const path = ppshituToken(e.path);
    const label = ppshituToken(e.label);
    if (path === '' || label === '') {
      throw new GalleryFormatError(
        `${FORMAT}: ${entryName(i, e.path)} has an empty ${path === '' ? 'path' : 'label'}; predict_system reads ` +
          'each id_map line as "path label" and fails on a line with fewer than two fields',
      );
    }
    const earlier = labelFrom.get(label);
    if (earlier && earlier.label !== e.label) {
      throw new GalleryFormatError(
        `${FORMAT}: the labels "${earlier.label}" (entry ${earlier.i}) and "${e.label}" (entry ${i}) would both be ` +
          `exported as "${label}", since predict_system's labels cannot hold whitespace; rename one of them`,
      );
    }
    labelFrom.set(label, { label: e.label, i });
    lines.set(i, `${path}\t${label}`);
  });
  return {
    'vector.index': writeFaissIdMap2FlatIp(packRows(entries, dim), dim, [...lines.keys()]),
    'id_map.pkl': writeIdMapPickle(lines),
  };
}

/**
 * Reads them back, whatever index type readFaissIndex supports (Flat, HNSW, IVF-Flat, with or without IDMap):
 * entries in id order, path and label the id_map line's first and second whitespace-separated fields, exactly as
 * predict_system splits it. Throws GalleryFormatError when an id of the index has no line, or a line no label;
 * lines of ids the index does not hold are ignored, as predict_system never looks them up.
 */
export function readPpshituGallery(files: { index: Uint8Array; idMap: Uint8Array }): {
  path: string;
  label: string;
  embedding: Float32Array;
}[] {
  const index = readFaissIndex(files.index, 'vector.index');
  const lines = readIdMapPickle(files.idMap, 'id_map.pkl');
  const { dim, ids, vectors } = index;
  const rows = ids.map((id, row) => ({ id, row })).sort((a, b) => a.id - b.id);
  return rows.map(({ id, row }) => {
    const line = lines.get(id);
    if (line === undefined) {
      throw new GalleryFormatError(
        `id_map.pkl has no line for id ${id} of vector.index (the index holds ${ids.length} vectors, ` +
          `id_map.pkl ${lines.size} lines): the two files are not from the same gallery`,
      );
    }
    const fields = pythonSplit(line);
    if (fields.length < 2) {
      throw new GalleryFormatError(
        `id_map.pkl: the line of id ${id}, ${JSON.stringify(line)}, has ${fields.length} whitespace-separated ` +
          'field(s); predict_system takes the label from the second',
      );
    }
    return { path: fields[0]!, label: fields[1]!, embedding: vectors.slice(row * dim, (row + 1) * dim) };
  });
}
