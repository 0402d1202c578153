/**
 * Embeddings as files a person or a program can take elsewhere: JSON, CSV and NumPy's .npy, each carrying
 * the image names beside the vectors. Pure functions over plain data; the page only adds the download.
 */

export interface NamedEmbedding {
  readonly name: string;
  readonly embedding: ArrayLike<number>;
}

function checkSameWidth(rows: readonly NamedEmbedding[]): number {
  const dim = rows[0]?.embedding.length ?? 0;
  rows.forEach((r, i) => {
    if (r.embedding.length !== dim) {
      throw new RangeError(`embedding ${i} ("${r.name}") has ${r.embedding.length} values, the first has ${dim}`);
    }
  });
  return dim;
}

/** `{ "model": ..., "dim": D, "embeddings": [{ "name", "embedding": [...] }] }`. */
export function embeddingsToJson(rows: readonly NamedEmbedding[], model: string): string {
  const dim = checkSameWidth(rows);
  return JSON.stringify({
    model,
    dim,
    embeddings: rows.map((r) => ({ name: r.name, embedding: Array.from(r.embedding) })),
  });
}

/** RFC 4180 CSV: a header `name,e0,...,e{D-1}`, then one row per image; names quoted when they need it. */
export function embeddingsToCsv(rows: readonly NamedEmbedding[]): string {
  const dim = checkSameWidth(rows);
  const quote = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const header = ['name', ...Array.from({ length: dim }, (_, i) => `e${i}`)].join(',');
  // Float32 values printed with 9 significant digits read back to the same float32.
  const lines = rows.map((r) => [quote(r.name), ...Array.from(r.embedding, (v) => Number(v.toPrecision(9)))].join(','));
  return `${[header, ...lines].join('\r\n')}\r\n`;
}

/**
 * A NumPy .npy file (format 1.0) holding one structured array:
 * dtype [('name', '<U{L}'), ('embedding', '<f4', (D,))], so `a['name']` and `a['embedding']` come back together.
 */
export function embeddingsToNpy(rows: readonly NamedEmbedding[]): Uint8Array {
  const dim = checkSameWidth(rows);
  const names = rows.map((r) => Array.from(r.name)); // code points, as NumPy's UTF-32 strings hold them
  const nameLen = Math.max(1, ...names.map((n) => n.length));
  const descr = `[('name', '<U${nameLen}'), ('embedding', '<f4', (${dim},))]`;
  let header = `{'descr': ${descr}, 'fortran_order': False, 'shape': (${rows.length},), }`;
  // Magic (6) + version (2) + length (2) + header must be a multiple of 64, the header ending in '\n'.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const recordBytes = nameLen * 4 + dim * 4;
  const out = new Uint8Array(10 + header.length + rows.length * recordBytes);
  const view = new DataView(out.buffer);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]); // \x93NUMPY v1.0
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  let pos = 10 + header.length;
  rows.forEach((r, i) => {
    names[i]!.forEach((ch, k) => view.setUint32(pos + k * 4, ch.codePointAt(0)!, true));
    pos += nameLen * 4;
    for (let k = 0; k < dim; k++) view.setFloat32(pos + k * 4, r.embedding[k]!, true);
    pos += dim * 4;
  });
  return out;
}
