/**
 * `auto`'s verdicts kept between visits (backend-trial.ts): one IndexedDB store keyed by device and model.
 * IndexedDB because the worker has no localStorage. A browser that refuses storage just measures again.
 */
import type { BackendMemory, BackendVerdict } from './backend-trial.ts';

const DB_NAME = 'shitu-web-backends';
const STORE = 'verdicts';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

let db: Promise<IDBDatabase> | undefined;
function open(): Promise<IDBDatabase> {
  if (typeof indexedDB === 'undefined') return Promise.reject(new Error('no IndexedDB here'));
  db ??= (() => {
    const r = indexedDB.open(DB_NAME, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    return request(r);
  })();
  return db;
}

export const INDEXED_DB_BACKEND_MEMORY: BackendMemory = {
  async get(key) {
    const store = (await open()).transaction(STORE).objectStore(STORE);
    return (await request(store.get(key) as IDBRequest<BackendVerdict | undefined>)) ?? undefined;
  },
  async put(key, verdict) {
    const tx = (await open()).transaction(STORE, 'readwrite');
    await request(tx.objectStore(STORE).put(verdict, key));
  },
};
