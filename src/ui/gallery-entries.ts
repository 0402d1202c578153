/**
 * The gallery in memory, kept in step with its store: each entry's label, name and model (a few hundred
 * bytes), its vector in the search index (int8, gallery-index.ts), and, loaded only when needed, its image and
 * thumbnail. Large galleries load a batch at a time and persist one changed entry at a time.
 */
import type { GalleryItem } from '../core/gallery-file.ts';
import { contentHash } from './gallery-hash.ts';
import { GalleryIndex } from './gallery-index.ts';
import type { GalleryStore, StoredGalleryEntry, StoredGalleryMedia } from './gallery-store.ts';

/** An entry as the page keeps it: the stored fields less the codes (the vectors live in the index). */
export interface GalleryEntry extends Omit<StoredGalleryEntry, 'code' | 'scale'> {
  /** The image, once read (entries with imageBytes 0 have none). */
  image?: Blob;
}

/** An entry to write: its vector as floats (quantised here) or as the stored int8 codes. */
export interface GalleryWrite {
  readonly entry: GalleryEntry;
  readonly vector?: ArrayLike<number>;
  readonly code?: { readonly code: ArrayLike<number>; readonly scale: number };
  readonly image?: Blob;
  readonly thumbnail?: string;
}

const strip = ({ image: _image, ...rest }: GalleryEntry & { code?: unknown; scale?: unknown }): GalleryEntry => {
  const { code: _code, scale: _scale, ...entry } = rest;
  return entry;
};

export class GalleryEntries {
  readonly index = new GalleryIndex();
  private readonly byId = new Map<string, GalleryEntry>();
  private readonly byHash = new Map<string, string>();
  private readonly thumbs = new Map<string, string>();

  constructor(private readonly store: GalleryStore | undefined) {}

  get size(): number {
    return this.byId.size;
  }

  values(): IterableIterator<GalleryEntry> {
    return this.byId.values();
  }

  get(id: string): GalleryEntry | undefined {
    return this.byId.get(id);
  }

  /** The entry holding an image with these bytes. */
  withHash(hash: string): GalleryEntry | undefined {
    const id = this.byHash.get(hash);
    return id === undefined ? undefined : this.byId.get(id);
  }

  vector(id: string): Float32Array | undefined {
    const e = this.byId.get(id);
    return e && this.index.vector(e.modelId, e.id);
  }

  thumbnail(id: string): string | undefined {
    return this.thumbs.get(id);
  }

  /** Reads the whole gallery, a batch per task; `onBatch` after each (with the count so far). */
  async load(onBatch: (count: number) => void = () => undefined): Promise<void> {
    if (!this.store) return;
    // One approximate build after the last batch, not one per threshold crossed on the way.
    const release = this.index.holdBuilds();
    try {
      for await (const batch of this.store.entries()) {
        for (const row of batch) {
          this.remember(strip(row));
          this.indexed(() => this.index.addCode(row.modelId, row.id, row.code, row.scale));
        }
        onBatch(this.byId.size);
      }
    } finally {
      release();
    }
  }

  /** Reads every stored image's handle (the bytes stay on disk), a batch per task. */
  async loadImages(): Promise<void> {
    if (!this.store) return;
    for await (const batch of this.store.images()) {
      for (const { id, image } of batch) {
        const e = this.byId.get(id);
        if (e && !e.image) e.image = image;
      }
    }
  }

  /**
   * Entries stored before images were keyed by content (IndexedDB version 1) get their image's hash, so
   * the same photo dropped again is recognised. A batch of writes per 100 entries.
   */
  async hashUnhashed(): Promise<void> {
    let rows: StoredGalleryEntry[] = [];
    for (const e of [...this.byId.values()]) {
      if (e.hash || !e.image) continue;
      const hash = await contentHash(e.image);
      if (!hash) return;
      const next = { ...e, hash };
      if (this.byId.get(e.id) !== e) continue; // changed meanwhile
      this.remember(next);
      const row = this.stored(next);
      if (row) rows.push(row);
      if (rows.length >= 100) {
        await this.store?.put(rows);
        rows = [];
      }
    }
    await this.store?.put(rows);
  }

  /** Reads the thumbnails of `ids` not in memory yet; true when any arrived. */
  async fetchThumbnails(ids: readonly string[]): Promise<boolean> {
    const missing = ids.filter((id) => !this.thumbs.has(id));
    if (!this.store || missing.length === 0) return false;
    const found = await this.store.thumbnails(missing);
    for (const id of missing) this.thumbs.set(id, found.get(id) ?? '');
    return found.size > 0;
  }

  async image(id: string): Promise<Blob | undefined> {
    const e = this.byId.get(id);
    if (!e || e.imageBytes === 0) return undefined;
    e.image ??= await this.store?.image(id);
    return e.image;
  }

  /**
   * A vector whose length is not its model's (a gallery file claiming a model it was not made with) is left
   * out of the index: the entry stays listed, unsearchable, and is not stored without its vector.
   */
  private indexed(add: () => void): void {
    try {
      add();
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }

  private remember(e: GalleryEntry): void {
    const old = this.byId.get(e.id);
    if (old && old.modelId !== e.modelId) this.index.remove(old.modelId, e.id);
    if (old?.image && !e.image) e.image = old.image;
    this.byId.set(e.id, e);
    if (e.hash) this.byHash.set(e.hash, e.id);
  }

  /** The entry as stored: its codes from the index. */
  private stored(e: GalleryEntry): StoredGalleryEntry | undefined {
    const c = this.index.code(e.modelId, e.id);
    return c && { ...strip(e), code: c.code, scale: c.scale };
  }

  /** Adds or replaces entries (index and memory at once), then persists them with their media. */
  async put(writes: readonly GalleryWrite[]): Promise<void> {
    const media: StoredGalleryMedia[] = [];
    for (const w of writes) {
      this.remember({ ...w.entry, ...(w.image ? { image: w.image } : {}) });
      const { vector, code } = w;
      if (vector) this.indexed(() => this.index.add(w.entry.modelId, w.entry.id, vector));
      else if (code) this.indexed(() => this.index.addCode(w.entry.modelId, w.entry.id, code.code, code.scale));
      if (w.thumbnail !== undefined) this.thumbs.set(w.entry.id, w.thumbnail);
      if (w.image || w.thumbnail) media.push({ id: w.entry.id, image: w.image, thumbnail: w.thumbnail });
    }
    const rows = writes.map((w) => this.stored(this.byId.get(w.entry.id)!)).filter((r) => r !== undefined);
    await this.store?.put(rows, media);
  }

  /** Changes an entry's label (its vector stays). */
  async relabel(id: string, label: string): Promise<void> {
    const e = this.byId.get(id);
    if (!e) return;
    const next = { ...e, label };
    this.byId.set(id, next);
    const row = this.stored(next);
    if (row) await this.store?.put([row]);
  }

  async remove(id: string): Promise<void> {
    const e = this.byId.get(id);
    if (!e) return;
    this.byId.delete(id);
    if (e.hash) this.byHash.delete(e.hash);
    this.thumbs.delete(id);
    this.index.remove(e.modelId, id);
    await this.store?.delete(id);
  }

  async clear(): Promise<void> {
    await this.store?.clear();
    this.byId.clear();
    this.byHash.clear();
    this.thumbs.clear();
    this.index.clear();
  }

  /** Every entry with its float vector and thumbnail, for a gallery file (reads the thumbnails it lacks). */
  async toItems(): Promise<GalleryItem[]> {
    // An entry without a vector (see indexed()) has nothing a gallery file could carry.
    const entries = [...this.byId.values()]
      .filter((e) => this.index.code(e.modelId, e.id))
      .sort((a, b) => a.addedAt - b.addedAt);
    await this.fetchThumbnails(entries.map((e) => e.id));
    return entries.map((e) => ({
      id: e.id,
      name: e.name,
      label: e.label,
      modelId: e.modelId,
      addedAt: e.addedAt,
      embedding: this.vector(e.id) ?? new Float32Array(0),
      thumbnail: this.thumbs.get(e.id) ?? '',
    }));
  }
}
