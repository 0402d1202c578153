/**
 * The plain data every exchange format writes and reads, and the checks all writers share: the same number of
 * values in every embedding, at least one, all finite.
 */
import { GalleryFormatError } from '../errors.ts';

export interface ExchangeEntry {
  readonly path: string;
  readonly label: string;
  readonly embedding: ArrayLike<number>;
}

/** A number that stays finite as float32, the type every format stores (1e39 would become Infinity). */
export const isFloat32 = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(Math.fround(v));

/** How messages name an entry: its position (0-based, which is also its id in the files written) and path. */
export const entryName = (i: number, path: string): string => `entry ${i} ("${path}")`;

/**
 * The embeddings' common width, after checking every entry; throws GalleryFormatError naming the first bad entry.
 * An empty list is refused by formats that must state a width (`requireOne`), since there is nothing to take it from.
 */
export function checkEntries(entries: readonly ExchangeEntry[], format: string, requireOne: boolean): number {
  if (entries.length === 0) {
    if (requireOne) throw new GalleryFormatError(`${format}: the gallery is empty, there is nothing to write`);
    return 0;
  }
  const dim = entries[0]!.embedding.length;
  entries.forEach((e, i) => {
    if (typeof e.path !== 'string' || typeof e.label !== 'string') {
      throw new GalleryFormatError(`${format}: entry ${i}: "path" and "label" must be strings`);
    }
    const values = e.embedding;
    if (values.length === 0) throw new GalleryFormatError(`${format}: ${entryName(i, e.path)} has an empty embedding`);
    if (values.length !== dim) {
      throw new GalleryFormatError(
        `${format}: ${entryName(i, e.path)} has ${values.length} values, entry 0 has ${dim}: ` +
          'embeddings of one gallery must come from one model',
      );
    }
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      if (!isFloat32(v)) {
        throw new GalleryFormatError(`${format}: ${entryName(i, e.path)} has ${v} at index ${k}, not a finite float32`);
      }
    }
  });
  return dim;
}

/** The embeddings as float32 rows, one after another. */
export function packRows(entries: readonly ExchangeEntry[], dim: number): Float32Array {
  const out = new Float32Array(entries.length * dim);
  entries.forEach((e, i) => out.set(e.embedding, i * dim));
  return out;
}
