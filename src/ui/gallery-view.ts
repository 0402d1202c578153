/**
 * The gallery, as PP-ShiTu uses one: labelled images whose embeddings a query is searched against.
 * It lives in IndexedDB (gallery-store.ts: compact int8 embeddings, images and thumbnails apart) and travels
 * as one file (export / import). Entries are keyed by the SHA-256 of their image, so the same photo dropped
 * again is not added twice. Searches go through the page's vector index (gallery-index.ts: exact below 200k
 * entries, IVF above, built a slice at a time), so a gallery of tens of thousands of entries loads and grows
 * without a long task. Each entry keeps its image, so when the model changes the gallery embeds itself again
 * with the new one (embeddings of different models are not comparable) instead of piling up stale entries.
 * Entries that came from a gallery file have no image: made with another model, they can only be listed.
 */
import { GalleryFormatError } from '../core/errors.ts';
import { decodeGalleryFile, GalleryFileError, type GalleryItem } from '../core/gallery-file.ts';
import { recognise, type GallerySearchResult } from '../core/gallery-search.ts';
import { labelOrStem } from '../core/labels.ts';
import { h } from './dom.ts';
import { GalleryEntries, type GalleryEntry, type GalleryWrite } from './gallery-entries.ts';
import { contentHash } from './gallery-hash.ts';
import { firstInOrder, gallerySummary, LIST_LIMIT, listItem, listOrder } from './gallery-list.ts';
import { reembedEntries, type GalleryEmbed } from './gallery-reembed.ts';
import {
  exchangeImport,
  exportGallery,
  exportGalleryAs,
  GALLERY_EXPORT_FORMATS,
  importMessage,
  importWrites,
  type GalleryExportFormat,
} from './gallery-transfer.ts';
import type { GalleryStore } from './gallery-store.ts';
import type { Card } from './session.ts';
import { ThresholdControl } from './threshold-control.ts';
import { thumbnailDataUrl } from './thumbnails.ts';

export type { GalleryEmbed } from './gallery-reembed.ts';

export class GalleryView {
  modelId = '';
  /** The model's embedding size, to check imported vectors against (unknown until a model is set). */
  private embeddingDim: number | undefined;
  private readonly exportFormat: HTMLSelectElement;
  private readonly entries: GalleryEntries;
  private embed: GalleryEmbed | undefined;
  /** Bumped on every model change: a re-embedding pass for an older model stops. */
  private generation = 0;
  private reembedding: { done: number; total: number } | undefined;
  /** Entries read so far while the stored gallery loads. */
  private loading: number | undefined;
  /** Thumbnails asked for by item() and not read yet: read together, then the views redraw once. */
  private wantedThumbs = new Set<string>();
  /** The entries listed. */
  private shown: GalleryEntry[] = [];
  private readonly thresholdControl: ThresholdControl;
  private readonly list = h('ul', { class: 'gallery-list', 'data-testid': 'gallery-list' });
  private readonly count = h('p', { class: 'hint', 'data-testid': 'gallery-count', role: 'status' });
  private readonly importInput = h('input', {
    type: 'file',
    // This page's JSON file; or PP-ShiTu's vector.index + id_map.pkl picked together; or JSON Lines.
    accept: '.json,application/json,.jsonl,.index,.pkl',
    multiple: true,
    class: 'visually-hidden',
    id: 'gallery-import',
    'data-testid': 'gallery-import',
  });
  private readonly message = h('p', { class: 'message', role: 'alert', 'data-testid': 'gallery-message' });

  constructor(
    root: HTMLElement,
    store: GalleryStore | undefined,
    private readonly onChange: () => void,
  ) {
    this.entries = new GalleryEntries(store);
    this.thresholdControl = new ThresholdControl(onChange, (t) => this.say(t));
    const exportButton = h('button', { type: 'button', text: 'Export gallery', 'data-testid': 'gallery-export' });
    exportButton.addEventListener('click', () => void this.export());
    const exportFormat = h(
      'select',
      { 'aria-label': 'Export format', 'data-testid': 'gallery-export-format' },
      ...GALLERY_EXPORT_FORMATS.map((f) => h('option', { value: f.value, text: f.text })),
    );
    this.exportFormat = exportFormat;
    const importLabel = h('label', { for: 'gallery-import', class: 'button', tabindex: 0, text: 'Import gallery' });
    importLabel.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.importInput.click();
      }
    });
    this.importInput.addEventListener('change', () => void this.importFiles([...(this.importInput.files ?? [])]));
    const clearButton = h('button', { type: 'button', text: 'Empty gallery', 'data-testid': 'gallery-clear' });
    clearButton.addEventListener('click', () => void this.clear());
    this.list.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-remove]');
      if (button) void this.remove([button.dataset.remove!]);
    });
    this.list.addEventListener('change', (e) => {
      const input = (e.target as HTMLElement).closest<HTMLInputElement>('input[data-relabel]');
      if (input) void this.relabel(input.dataset.relabel!, input.value);
    });
    root.append(
      h('div', { class: 'row' }, this.thresholdControl.element),
      h('div', { class: 'row' }, exportButton, exportFormat, importLabel, this.importInput, clearButton),
      this.count,
      this.message,
      this.list,
    );
    if (!store) this.say('The browser refused IndexedDB (private mode?): the gallery works but is lost on reload.');
  }

  get threshold(): number {
    return this.thresholdControl.value;
  }

  setRecommendedThreshold(value: number, from: string): void {
    this.thresholdControl.setRecommended(value, from);
  }

  private say(text: string): void {
    this.message.textContent = text;
  }

  /** Reads the stored gallery, a batch per task (the count line follows), then the images' handles. */
  async load(): Promise<void> {
    this.loading = 0;
    try {
      await this.entries.load((n) => {
        this.loading = n;
        this.count.textContent = this.summary();
      });
    } catch (e) {
      this.say(`Could not read the saved gallery: ${(e as Error).message}`);
    }
    this.loading = undefined;
    this.render();
    this.onChange();
    // Fine-tuning reads the images; the page is usable before they are all in hand.
    void this.entries
      .loadImages()
      .then(() => this.onChange())
      .then(() => this.entries.hashUnhashed())
      .catch(() => undefined);
  }

  /** The model in use, and how to embed with it: entries made with another model are embedded again. */
  setModel(modelId: string, embed: GalleryEmbed | undefined, embeddingDim?: number): void {
    this.modelId = modelId;
    this.embeddingDim = embeddingDim;
    this.embed = embed;
    this.generation++;
    this.render();
    void this.reembedStale();
  }

  private stale(): GalleryEntry[] {
    return [...this.entries.values()].filter((g) => g.modelId !== this.modelId && g.imageBytes > 0);
  }

  private async reembedStale(): Promise<void> {
    const generation = this.generation;
    const stale = this.stale();
    if (!this.embed || stale.length === 0) return;
    this.reembedding = { done: 0, total: stale.length };
    this.render();
    const result = await reembedEntries(this.entries, stale, this.embed, this.modelId, {
      current: () => generation === this.generation,
      save: (writes) => this.save(writes),
      progress: (p) => {
        this.reembedding = p;
        this.render();
      },
    });
    if (result.stopped) return; // another model meanwhile: its own pass takes over
    this.reembedding = undefined;
    if (result.error) this.say(`Could not embed the gallery with this model: ${result.error}`);
    else if (result.failed > 0)
      this.say(`${result.failed} gallery images could not be embedded with this model; they stay listed, unsearched.`);
    this.render();
    this.onChange();
  }

  /** The query's best matches; `exclude` is the query's own entry (an image is not evidence for itself). */
  search(embedding: Float32Array, k = 5, exclude?: string): GallerySearchResult | undefined {
    const found = this.entries.index.search(this.modelId, embedding, k, exclude);
    if (found.length === 0) return undefined;
    return recognise(
      found.map((m) => ({ id: m.id, label: this.entries.get(m.id)?.label ?? '', score: m.score })),
      this.threshold,
    );
  }

  /** An entry as a gallery file holds it; its thumbnail is read from storage the first time it is asked for. */
  item(id: string): GalleryItem | undefined {
    const g = this.entries.get(id);
    if (!g) return undefined;
    const thumbnail = this.entries.thumbnail(id);
    if (thumbnail === undefined) this.wantThumbnail(id);
    return this.asItem(g, thumbnail ?? '');
  }

  private asItem(g: GalleryEntry, thumbnail: string): GalleryItem {
    const entries = this.entries;
    return {
      id: g.id,
      name: g.name,
      label: g.label,
      modelId: g.modelId,
      addedAt: g.addedAt,
      thumbnail,
      ...(g.image ? { image: g.image } : {}),
      // Dequantised only when read: the training panel lists thousands of entries and reads none.
      get embedding() {
        return entries.vector(g.id) ?? new Float32Array(0);
      },
    };
  }

  private wantThumbnail(id: string): void {
    const first = this.wantedThumbs.size === 0;
    this.wantedThumbs.add(id);
    if (!first) return;
    queueMicrotask(() => {
      const ids = [...this.wantedThumbs];
      this.wantedThumbs = new Set();
      void this.entries.fetchThumbnails(ids).then((arrived) => arrived && this.onChange());
    });
  }

  /** Entries with a vector of the model in use, imported ones (no image) too, for the report (in gallery order). */
  ofModel(): GalleryItem[] {
    return [...this.entries.values()]
      .filter((g) => g.modelId === this.modelId)
      .sort((a, b) => a.addedAt - b.addedAt)
      .map((g) => this.asItem(g, ''));
  }

  /** Entries with their image, for fine-tuning (in gallery order). */
  withImages(): GalleryItem[] {
    return [...this.entries.values()]
      .filter((g) => g.image)
      .sort((a, b) => a.addedAt - b.addedAt)
      .map((g) => this.asItem(g, ''));
  }

  /**
   * Adds the cards' images, once each: a card already in the gallery updates its entry, and an image whose
   * bytes are already there (dropped again, under any name) is not added a second time.
   */
  async add(cards: readonly Card[], label: (c: Card) => string = labelOrStem): Promise<void> {
    const writes: GalleryWrite[] = [];
    const thisBatch = new Map<string, string>();
    let already = 0;
    for (const c of cards) {
      if (!c.embedding) continue;
      const name = label(c).trim() || labelOrStem(c);
      const linked = c.galleryId ? this.entries.get(c.galleryId) : undefined;
      if (linked) {
        writes.push({ entry: { ...linked, label: name, modelId: this.modelId }, vector: c.embedding });
        continue;
      }
      const hash = await contentHash(c.file);
      const same = hash ? (this.entries.withHash(hash)?.id ?? thisBatch.get(hash)) : undefined;
      if (same) {
        c.galleryId = same;
        already++;
        // Its vector with this model comes for free: an entry of an older model is brought up to date.
        const g = this.entries.get(same);
        if (g && g.modelId !== this.modelId)
          writes.push({ entry: { ...g, modelId: this.modelId }, vector: c.embedding });
        continue;
      }
      const id = hash ?? crypto.randomUUID();
      if (hash) thisBatch.set(hash, id);
      c.galleryId = id;
      writes.push({
        entry: {
          id,
          ...(hash ? { hash } : {}),
          name: c.name,
          label: name,
          modelId: this.modelId,
          addedAt: Date.now(),
          imageBytes: c.file.size,
        },
        vector: c.embedding,
        image: c.file,
        thumbnail: await thumbnailDataUrl(c.file),
      });
    }
    if (already > 0) {
      this.say(
        `${already} ${already === 1 ? 'image was' : 'images were'} already in the gallery (the same image bytes): not added again.`,
      );
    }
    if (writes.length === 0) return;
    await this.save(writes);
    this.render();
    this.onChange();
  }

  /**
   * The gallery's own vector for an image already in it (same bytes) made with the current model: what a
   * drop can use instead of embedding the image again. Undefined for an image the gallery does not hold.
   */
  async storedEmbedding(file: Blob): Promise<{ id: string; label: string; embedding: Float32Array } | undefined> {
    // Hashing every dropped image is only worth it when there is a gallery to find it in.
    if (this.entries.size === 0) return undefined;
    const hash = await contentHash(file);
    const g = hash ? this.entries.withHash(hash) : undefined;
    const embedding = g && g.modelId === this.modelId ? this.entries.vector(g.id) : undefined;
    return g && embedding && { id: g.id, label: g.label, embedding };
  }

  /** A card of this visit was embedded with the current model: its stale gallery entry takes that vector. */
  async refreshFrom(card: Card): Promise<void> {
    const g = card.galleryId && card.embedding ? this.entries.get(card.galleryId) : undefined;
    if (!g || g.modelId === this.modelId) return;
    await this.save([{ entry: { ...g, modelId: this.modelId }, vector: card.embedding! }]);
  }

  private async save(writes: GalleryWrite[]): Promise<void> {
    if (writes.length === 0) return;
    try {
      await this.entries.put(writes);
    } catch (e) {
      this.say(`Could not save to the browser's storage (${(e as Error).message}); the entries stay until reload.`);
    }
  }

  /** Removes these entries (those still there) and says how many went. */
  async remove(ids: readonly string[]): Promise<number> {
    const present = ids.filter((id) => this.entries.get(id));
    for (const id of present) await this.entries.remove(id);
    if (present.length > 0) {
      this.render();
      this.onChange();
    }
    return present.length;
  }

  private async relabel(id: string, label: string): Promise<void> {
    if (!this.entries.get(id) || !label.trim()) return this.render();
    await this.entries.relabel(id, label.trim());
    this.render();
    this.onChange();
  }

  private async clear(): Promise<void> {
    const n = this.entries.size;
    if (n === 0 || !confirm(`Remove all ${n} gallery images? Export first to keep them.`)) return;
    await this.entries.clear();
    this.say('');
    this.render();
    this.onChange();
  }

  private async export(): Promise<void> {
    if (this.entries.size === 0) return this.say('The gallery is empty: nothing to export.');
    const format = this.exportFormat.value as GalleryExportFormat;
    this.say(
      format === 'shitu'
        ? await exportGallery(this.entries)
        : await exportGalleryAs(format, this.entries, this.modelId),
    );
  }

  private async importFiles(files: readonly File[]): Promise<void> {
    this.importInput.value = '';
    const file = files[0];
    if (!file) return;
    try {
      const exchange = await exchangeImport(files, this.modelId, this.embeddingDim);
      if (exchange) {
        await this.save(exchange.writes);
        this.say(
          `Imported ${exchange.writes.length} gallery entries from ${exchange.source}, taken as made with this model (those files name no model; they hold no images, so a model change cannot embed them again).`,
        );
        this.render();
        this.onChange();
        return;
      }
      const writes = importWrites(decodeGalleryFile(await file.text()), this.entries);
      await this.save(writes);
      this.say(importMessage(file.name, writes, this.modelId));
      this.render();
      this.onChange();
      void this.reembedStale();
    } catch (e) {
      this.say(
        e instanceof GalleryFileError || e instanceof GalleryFormatError
          ? `${file.name}: ${e.message}`
          : `Could not import ${file.name}: ${(e as Error).message}`,
      );
    }
  }

  private summary(): string {
    if (this.loading !== undefined) return `Loading the gallery: ${this.loading} images read…`;
    return gallerySummary(this.entries, this.modelId, this.reembedding);
  }

  private render(): void {
    this.count.textContent = this.summary();
    this.shown = firstInOrder(this.entries.values(), LIST_LIMIT, listOrder(this.modelId));
    this.drawList();
    // Thumbnails live apart from the entries: read the ones on screen, then draw the list as it is by then.
    void this.entries
      .fetchThumbnails(this.shown.map((g) => g.id))
      .then((arrived) => arrived && this.drawList())
      .catch(() => undefined);
  }

  private drawList(): void {
    this.list.replaceChildren(...this.shown.map((g) => listItem(g, this.modelId, this.entries.thumbnail(g.id))));
  }
}
