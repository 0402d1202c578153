/**
 * The gallery's exchange formats: PaddleClas PP-ShiTu's faiss gallery (vector.index + id_map.pkl), NumPy
 * (embeddings.npy + labels.txt) and JSON Lines. Pure functions from entries to file contents and back; the page
 * and the scripts add reading and writing files. docs/gallery-formats.md says how to use each.
 */
export type { ExchangeEntry } from './entries.ts';
export { ppshituGalleryFiles, readPpshituGallery } from './ppshitu-gallery.ts';
export { ppshituToken } from './python-text.ts';
export { galleryNpy, readGalleryNpy } from './gallery-npy.ts';
export { galleryJsonl, readGalleryJsonl } from './jsonl.ts';
export { readFaissIndex } from './faiss-read.ts';
export { writeFaissIdMap2FlatIp, type FaissIndexContents } from './faiss-index.ts';
export { readIdMapPickle, writeIdMapPickle } from './pickle.ts';
export { readNpyFloat32, writeNpyFloat32, type NpyMatrix } from './npy.ts';
