/**
 * The gallery as one file a person can keep or move to another browser: JSON with each entry's label,
 * name, embedding (base64 of little-endian float32) and an optional thumbnail (a data: URL).
 * Pure code: the page adds reading and writing files.
 */

export const GALLERY_FORMAT = 'shitu-web/gallery';
export const GALLERY_VERSION = 1;

export interface GalleryItem {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  /** The model that made the embedding: embeddings of different models are not comparable. */
  readonly modelId: string;
  readonly embedding: Float32Array;
  /** A small JPEG as a data: URL, or '' when there is none. */
  readonly thumbnail: string;
  readonly addedAt: number;
  /**
   * The image itself, as it was added, so the gallery can be embedded again when the model changes. Kept in
   * the browser only: gallery files carry embeddings and thumbnails, not images.
   */
  readonly image?: Blob;
}

export class GalleryFileError extends Error {
  override readonly name = 'GalleryFileError';
}

function toBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string, where: string): Float32Array {
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    throw new GalleryFileError(`${where}: the embedding is not valid base64`);
  }
  if (raw.length % 4 !== 0)
    throw new GalleryFileError(`${where}: the embedding has ${raw.length} bytes, not a multiple of 4`);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  // Stored little-endian; every platform a browser runs on is little-endian, as Float32Array assumes here.
  return new Float32Array(bytes.buffer);
}

export function encodeGalleryFile(items: readonly GalleryItem[]): string {
  return JSON.stringify({
    format: GALLERY_FORMAT,
    formatVersion: GALLERY_VERSION,
    items: items.map((g) => ({
      id: g.id,
      name: g.name,
      label: g.label,
      modelId: g.modelId,
      addedAt: g.addedAt,
      embedding: toBase64(g.embedding),
      thumbnail: g.thumbnail,
    })),
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks a gallery file; throws GalleryFileError saying which entry is wrong and how. */
export function decodeGalleryFile(text: string): GalleryItem[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GalleryFileError(`not a gallery file: it is not JSON (${(e as Error).message})`);
  }
  if (!isObject(json) || json.format !== GALLERY_FORMAT)
    throw new GalleryFileError(`not a gallery file: "format" is not "${GALLERY_FORMAT}"`);
  if (json.formatVersion !== GALLERY_VERSION) {
    throw new GalleryFileError(
      `gallery file version ${String(json.formatVersion)} is not supported (this page reads version ${GALLERY_VERSION})`,
    );
  }
  if (!Array.isArray(json.items)) throw new GalleryFileError('gallery file: "items" must be an array');
  return json.items.map((raw, i): GalleryItem => {
    const where = `gallery item ${i + 1}`;
    if (!isObject(raw)) throw new GalleryFileError(`${where} is not an object`);
    for (const key of ['id', 'name', 'label', 'modelId', 'embedding'] as const) {
      if (typeof raw[key] !== 'string') throw new GalleryFileError(`${where}: "${key}" must be a string`);
    }
    const thumbnail = typeof raw.thumbnail === 'string' && raw.thumbnail.startsWith('data:image/') ? raw.thumbnail : '';
    const embedding = fromBase64(raw.embedding as string, `${where} ("${String(raw.name)}")`);
    if (embedding.length === 0 || embedding.some((v) => !Number.isFinite(v))) {
      throw new GalleryFileError(
        `${where} ("${String(raw.name)}"): the embedding is empty or holds a non-finite value`,
      );
    }
    return {
      id: raw.id as string,
      name: raw.name as string,
      label: raw.label as string,
      modelId: raw.modelId as string,
      embedding,
      thumbnail,
      addedAt: typeof raw.addedAt === 'number' ? raw.addedAt : 0,
    };
  });
}
