/**
 * The gallery as JSON Lines: one `{"id", "path", "label", "embedding": [...]}` object per line, id being the
 * entry's position. A format any language reads line by line (`pandas.read_json(f, lines=True)`, `jq`).
 */
import { GalleryFormatError } from '../errors.ts';
import { checkEntries, isFloat32, type ExchangeEntry } from './entries.ts';

/** The float32 value of `v`, printed with the 9 significant digits that always read back to the same float32. */
const float32Json = (v: number): number => Number(Math.fround(v).toPrecision(9));

export function galleryJsonl(entries: readonly ExchangeEntry[]): string {
  checkEntries(entries, 'gallery.jsonl', false);
  return entries
    .map(
      (e, id) =>
        `${JSON.stringify({ id, path: e.path, label: e.label, embedding: Array.from(e.embedding, float32Json) })}\n`,
    )
    .join('');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Entries in line order (blank lines skipped), embeddings as Float32Array; throws GalleryFormatError naming the
 * line (counted from 1) and what is wrong. "id" may be absent; when present it is a whole number, unique.
 */
export function readGalleryJsonl(text: string): ExchangeEntry[] {
  const entries: ExchangeEntry[] = [];
  const ids = new Set<number>();
  let dim = -1;
  text.split('\n').forEach((raw, i) => {
    const where = `gallery.jsonl line ${i + 1}`;
    if (raw.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new GalleryFormatError(`${where}: not JSON (${(e as Error).message})`);
    }
    if (!isObject(json)) throw new GalleryFormatError(`${where}: not a JSON object`);
    const { id, path, label, embedding } = json;
    if (typeof path !== 'string') throw new GalleryFormatError(`${where}: "path" must be a string`);
    if (typeof label !== 'string') throw new GalleryFormatError(`${where}: "label" must be a string`);
    if (id !== undefined) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new GalleryFormatError(`${where}: "id" must be a whole number >= 0, not ${JSON.stringify(id)}`);
      }
      if (ids.has(id)) throw new GalleryFormatError(`${where}: id ${id} was already given to an earlier line`);
      ids.add(id);
    }
    if (!Array.isArray(embedding) || embedding.length === 0) {
      throw new GalleryFormatError(`${where}: "embedding" must be a non-empty array of numbers`);
    }
    const bad = embedding.findIndex((v) => !isFloat32(v));
    if (bad >= 0) {
      throw new GalleryFormatError(
        `${where}: embedding value ${bad} is ${JSON.stringify(embedding[bad])}, not a finite float32`,
      );
    }
    if (dim >= 0 && embedding.length !== dim) {
      throw new GalleryFormatError(
        `${where}: the embedding has ${embedding.length} values, the first line's has ${dim}`,
      );
    }
    dim = embedding.length;
    entries.push({ path, label, embedding: Float32Array.from(embedding as number[]) });
  });
  return entries;
}
