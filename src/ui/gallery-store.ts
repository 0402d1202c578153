/**
 * The gallery's persistence: one IndexedDB object store keyed by item id. Each write is its own
 * transaction, so a reload mid-way keeps every item that was acknowledged and none half-written.
 */
import type { GalleryItem } from '../core/gallery-file.ts';

const DB_NAME = 'shitu-web';
const DB_VERSION = 1;
const STORE = 'gallery';

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

export class GalleryStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<GalleryStore> {
    const open = indexedDB.open(DB_NAME, DB_VERSION);
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE, { keyPath: 'id' });
    };
    return new GalleryStore(await request(open));
  }

  async all(): Promise<GalleryItem[]> {
    const items = await request(this.db.transaction(STORE).objectStore(STORE).getAll() as IDBRequest<GalleryItem[]>);
    return items.sort((a, b) => a.addedAt - b.addedAt);
  }

  async put(items: readonly GalleryItem[]): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    for (const item of items) tx.objectStore(STORE).put(item);
    await done(tx);
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).delete(id);
    await done(tx);
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).clear();
    await done(tx);
  }
}
