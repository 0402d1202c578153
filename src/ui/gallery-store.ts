/**
 * The gallery's persistence in IndexedDB, compact and incremental. Version 2 keeps three object stores,
 * all keyed by the entry's id (for entries added since: the SHA-256 of the image's bytes):
 *   entries  what search needs, read in full at load: label, name, model, the embedding as int8 codes with
 *            one scale (516 bytes for 512 values, a quarter of float32)
 *   images   the image itself, read only to embed it again (a model change) or to fine-tune
 *   thumbs   the small JPEG data URL, read only for the entries on screen
 * Each write is its own transaction touching only the entries it changes, so adding to a gallery of 50k
 * entries never rewrites the others, and a reload mid-way keeps every entry that was acknowledged.
 * Version 1 (one store of whole items with float32 embeddings) is migrated on open, keeping every item.
 */
import type { GalleryItem } from '../core/gallery-file.ts';
import { quantizeInt8 } from '../core/vector-index/quantize.ts';

const DB_NAME = 'shitu-web';
const DB_VERSION = 2;
const V1_STORE = 'gallery';
const ENTRIES = 'entries';
const IMAGES = 'images';
const THUMBS = 'thumbs';

/** One gallery entry as stored (and as the page keeps it in memory, less the codes). */
export interface StoredGalleryEntry {
  readonly id: string;
  /** SHA-256 of the image's bytes, hex; absent for entries that came from a gallery file or from version 1. */
  readonly hash?: string;
  readonly name: string;
  readonly label: string;
  readonly modelId: string;
  readonly addedAt: number;
  /** The embedding as int8 codes: value i ~ code[i] * scale. */
  readonly code: Int8Array;
  readonly scale: number;
  /** Size of the stored image in bytes; 0 when there is none (entries from a gallery file). */
  readonly imageBytes: number;
}

export interface StoredGalleryMedia {
  readonly id: string;
  readonly image?: Blob;
  readonly thumbnail?: string;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/** A version 1 item in the version 2 form. */
export function toStoredEntry(item: GalleryItem, hash?: string): StoredGalleryEntry {
  const { code, scale } = quantizeInt8(item.embedding);
  return {
    id: item.id,
    ...(hash ? { hash } : {}),
    name: item.name,
    label: item.label,
    modelId: item.modelId,
    addedAt: item.addedAt,
    code,
    scale,
    imageBytes: item.image?.size ?? 0,
  };
}

function upgrade(db: IDBDatabase, tx: IDBTransaction): void {
  for (const name of [ENTRIES, IMAGES, THUMBS])
    if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath: 'id' });
  if (!db.objectStoreNames.contains(V1_STORE)) return;
  // Runs inside the version change: every write below commits together with the new stores, or none does.
  const cursor = tx.objectStore(V1_STORE).openCursor();
  cursor.onsuccess = () => {
    const c = cursor.result;
    if (!c) {
      db.deleteObjectStore(V1_STORE);
      return;
    }
    const item = c.value as GalleryItem;
    tx.objectStore(ENTRIES).put(toStoredEntry(item));
    if (item.image) tx.objectStore(IMAGES).put({ id: item.id, image: item.image });
    if (item.thumbnail) tx.objectStore(THUMBS).put({ id: item.id, thumbnail: item.thumbnail });
    c.continue();
  };
}

export class GalleryStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<GalleryStore> {
    const open = indexedDB.open(DB_NAME, DB_VERSION);
    open.onupgradeneeded = () => upgrade(open.result, open.transaction!);
    return new GalleryStore(await request(open));
  }

  /** Every entry, `batch` at a time in key order: each batch is one short read, so loading never blocks long. */
  async *entries(batch = 1000): AsyncGenerator<StoredGalleryEntry[]> {
    let after: IDBValidKey | undefined;
    for (;;) {
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
      const store = this.db.transaction(ENTRIES).objectStore(ENTRIES);
      const rows = await request(store.getAll(range, batch) as IDBRequest<StoredGalleryEntry[]>);
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Writes entries and, where given, their image and thumbnail: one transaction. */
  async put(entries: readonly StoredGalleryEntry[], media: readonly StoredGalleryMedia[] = []): Promise<void> {
    if (entries.length === 0 && media.length === 0) return;
    const tx = this.db.transaction([ENTRIES, IMAGES, THUMBS], 'readwrite');
    for (const e of entries) tx.objectStore(ENTRIES).put(e);
    for (const m of media) {
      if (m.image) tx.objectStore(IMAGES).put({ id: m.id, image: m.image });
      if (m.thumbnail) tx.objectStore(THUMBS).put({ id: m.id, thumbnail: m.thumbnail });
    }
    await done(tx);
  }

  async image(id: string): Promise<Blob | undefined> {
    const row = await request(
      this.db.transaction(IMAGES).objectStore(IMAGES).get(id) as IDBRequest<StoredGalleryMedia>,
    );
    return row?.image;
  }

  /** The thumbnails of `ids` that exist: one read transaction. */
  async thumbnails(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const store = this.db.transaction(THUMBS).objectStore(THUMBS);
    const rows = await Promise.all(ids.map((id) => request(store.get(id) as IDBRequest<StoredGalleryMedia>)));
    for (const r of rows) if (r?.thumbnail) out.set(r.id, r.thumbnail);
    return out;
  }

  /** Every stored image, `batch` at a time (fine-tuning's samples). */
  async *images(batch = 200): AsyncGenerator<{ id: string; image: Blob }[]> {
    let after: IDBValidKey | undefined;
    for (;;) {
      const range = after === undefined ? undefined : IDBKeyRange.lowerBound(after, true);
      const store = this.db.transaction(IMAGES).objectStore(IMAGES);
      const rows = await request(store.getAll(range, batch) as IDBRequest<{ id: string; image: Blob }[]>);
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction([ENTRIES, IMAGES, THUMBS], 'readwrite');
    for (const name of [ENTRIES, IMAGES, THUMBS]) tx.objectStore(name).delete(id);
    await done(tx);
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction([ENTRIES, IMAGES, THUMBS], 'readwrite');
    for (const name of [ENTRIES, IMAGES, THUMBS]) tx.objectStore(name).clear();
    await done(tx);
  }
}
