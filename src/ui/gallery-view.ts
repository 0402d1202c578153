/**
 * The gallery, as PP-ShiTu uses one: labelled images whose embeddings a query is searched against.
 * It lives in IndexedDB (survives reloads) and travels as one file (export / import). Each entry keeps its
 * image, so when the model changes the gallery embeds itself again with the new one (embeddings of
 * different models are not comparable) instead of piling up stale entries. Entries that came from a gallery
 * file have no image: made with another model, they can only be listed, not searched.
 */
import type { EmbeddingResult } from '../core/embedder-api.ts';
import { decodeGalleryFile, encodeGalleryFile, GalleryFileError, type GalleryItem } from '../core/gallery-file.ts';
import { searchGallery, type GallerySearchResult } from '../core/gallery-search.ts';
import { labelOrStem } from '../core/labels.ts';
import { download, h } from './dom.ts';
import type { GalleryStore } from './gallery-store.ts';
import type { Card } from './session.ts';
import { ThresholdControl } from './threshold-control.ts';
import { thumbnailDataUrl } from './thumbnails.ts';

export type GalleryEmbed = (images: { id: string; name: string; image: Blob }[]) => Promise<EmbeddingResult[]>;

const REEMBED_CHUNK = 8;

export class GalleryView {
  items: GalleryItem[] = [];
  modelId = '';
  private embed: GalleryEmbed | undefined;
  /** Bumped on every model change: a re-embedding pass for an older model stops. */
  private generation = 0;
  private reembedding: { done: number; total: number } | undefined;
  private readonly thresholdControl: ThresholdControl;
  private readonly list = h('ul', { class: 'gallery-list', 'data-testid': 'gallery-list' });
  private readonly count = h('p', { class: 'hint', 'data-testid': 'gallery-count', role: 'status' });
  private readonly importInput = h('input', {
    type: 'file',
    accept: '.json,application/json',
    class: 'visually-hidden',
    id: 'gallery-import',
    'data-testid': 'gallery-import',
  });
  private readonly message = h('p', { class: 'message', role: 'alert', 'data-testid': 'gallery-message' });

  constructor(
    root: HTMLElement,
    private readonly store: GalleryStore | undefined,
    private readonly onChange: () => void,
  ) {
    this.thresholdControl = new ThresholdControl(onChange, (t) => this.say(t));
    const exportButton = h('button', { type: 'button', text: 'Export gallery', 'data-testid': 'gallery-export' });
    exportButton.addEventListener('click', () => this.export());
    const importLabel = h('label', { for: 'gallery-import', class: 'button', tabindex: 0, text: 'Import gallery' });
    importLabel.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.importInput.click();
      }
    });
    this.importInput.addEventListener('change', () => void this.importFile(this.importInput.files?.[0]));
    const clearButton = h('button', { type: 'button', text: 'Empty gallery', 'data-testid': 'gallery-clear' });
    clearButton.addEventListener('click', () => void this.clear());
    this.list.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-remove]');
      if (button) void this.remove(button.dataset.remove!);
    });
    this.list.addEventListener('change', (e) => {
      const input = (e.target as HTMLElement).closest<HTMLInputElement>('input[data-relabel]');
      if (input) void this.relabel(input.dataset.relabel!, input.value);
    });
    root.append(
      h('div', { class: 'row' }, this.thresholdControl.element),
      h('div', { class: 'row' }, exportButton, importLabel, this.importInput, clearButton),
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

  async load(): Promise<void> {
    try {
      this.items = this.store ? await this.store.all() : [];
    } catch (e) {
      this.say(`Could not read the saved gallery: ${(e as Error).message}`);
    }
    this.render();
    this.onChange();
  }

  /** The model in use, and how to embed with it: entries made with another model are embedded again. */
  setModel(modelId: string, embed: GalleryEmbed | undefined): void {
    this.modelId = modelId;
    this.embed = embed;
    this.generation++;
    this.render();
    void this.reembedStale();
  }

  private stale(): GalleryItem[] {
    return this.items.filter((g) => g.modelId !== this.modelId && g.image);
  }

  private async reembedStale(): Promise<void> {
    const generation = this.generation;
    const embed = this.embed;
    const total = this.stale().length;
    if (!embed || total === 0) return;
    let done = 0;
    let failed = 0;
    this.reembedding = { done, total };
    this.render();
    for (;;) {
      if (generation !== this.generation) return; // another model meanwhile: its own pass takes over
      const chunk = this.stale().slice(failed, failed + REEMBED_CHUNK);
      if (chunk.length === 0) break;
      let results: EmbeddingResult[];
      try {
        results = await embed(chunk.map((g) => ({ id: g.id, name: g.name, image: g.image! })));
      } catch (e) {
        this.say(`Could not embed the gallery with this model: ${(e as Error).message}`);
        break;
      }
      if (generation !== this.generation) return;
      const fresh: GalleryItem[] = [];
      for (const r of results) {
        const i = this.items.findIndex((g) => g.id === r.id);
        if (i < 0) continue; // removed meanwhile
        if (!r.ok) {
          failed++;
          continue;
        }
        this.items[i] = { ...this.items[i]!, embedding: r.embedding, modelId: this.modelId };
        fresh.push(this.items[i]!);
      }
      await this.save(fresh);
      done += chunk.length;
      this.reembedding = { done: Math.min(done, total), total };
      this.render();
    }
    this.reembedding = undefined;
    if (failed > 0)
      this.say(`${failed} gallery images could not be embedded with this model; they stay listed, unsearched.`);
    this.render();
    this.onChange();
  }

  /** Searchable entries: made by the current model. */
  private usable(dim: number): GalleryItem[] {
    return this.items.filter((g) => g.modelId === this.modelId && g.embedding.length === dim);
  }

  /** The query's best matches; `exclude` is the query's own entry (an image is not evidence for itself). */
  search(embedding: Float32Array, k = 5, exclude?: string): GallerySearchResult | undefined {
    const pool = this.usable(embedding.length).filter((g) => g.id !== exclude);
    if (pool.length === 0) return undefined;
    return searchGallery(
      embedding,
      pool.map((g) => ({ id: g.id, label: g.label, embedding: g.embedding })),
      k,
      this.threshold,
    );
  }

  item(id: string): GalleryItem | undefined {
    return this.items.find((g) => g.id === id);
  }

  /** Entries with their image, for fine-tuning (in gallery order). */
  withImages(): GalleryItem[] {
    return this.items.filter((g) => g.image);
  }

  /** Adds the cards' images (once each: a card already in the gallery updates its entry instead). */
  async add(cards: readonly Card[], label: (c: Card) => string = labelOrStem): Promise<void> {
    const fresh: GalleryItem[] = [];
    for (const c of cards) {
      if (!c.embedding) continue;
      const existing = c.galleryId ? this.items.findIndex((g) => g.id === c.galleryId) : -1;
      const name = label(c).trim() || labelOrStem(c);
      if (existing >= 0) {
        this.items[existing] = { ...this.items[existing]!, label: name, embedding: c.embedding, modelId: this.modelId };
        fresh.push(this.items[existing]!);
        continue;
      }
      const item: GalleryItem = {
        id: crypto.randomUUID(),
        name: c.name,
        label: name,
        modelId: this.modelId,
        embedding: c.embedding,
        thumbnail: await thumbnailDataUrl(c.file),
        addedAt: Date.now(),
        image: c.file,
      };
      c.galleryId = item.id;
      this.items.push(item);
      fresh.push(item);
    }
    if (fresh.length === 0) return;
    await this.save(fresh);
    this.render();
    this.onChange();
  }

  /** A card of this visit was embedded with the current model: its stale gallery entry takes that vector. */
  async refreshFrom(card: Card): Promise<void> {
    const i = card.galleryId && card.embedding ? this.items.findIndex((g) => g.id === card.galleryId) : -1;
    if (i < 0 || this.items[i]!.modelId === this.modelId) return;
    this.items[i] = { ...this.items[i]!, embedding: card.embedding!, modelId: this.modelId };
    await this.save([this.items[i]!]);
  }

  private async save(items: GalleryItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.store?.put(items);
    } catch (e) {
      this.say(`Could not save to the browser's storage (${(e as Error).message}); the entries stay until reload.`);
    }
  }

  private async remove(id: string): Promise<void> {
    await this.store?.delete(id);
    this.items = this.items.filter((g) => g.id !== id);
    this.render();
    this.onChange();
  }

  private async relabel(id: string, label: string): Promise<void> {
    const i = this.items.findIndex((g) => g.id === id);
    if (i < 0 || !label.trim()) return this.render();
    this.items[i] = { ...this.items[i]!, label: label.trim() };
    await this.save([this.items[i]!]);
    this.render();
    this.onChange();
  }

  private async clear(): Promise<void> {
    if (
      this.items.length === 0 ||
      !confirm(`Remove all ${this.items.length} gallery images? Export first to keep them.`)
    )
      return;
    await this.store?.clear();
    this.items = [];
    this.say('');
    this.render();
    this.onChange();
  }

  private export(): void {
    if (this.items.length === 0) return this.say('The gallery is empty: nothing to export.');
    download(
      `shitu-gallery-${new Date().toISOString().slice(0, 10)}.json`,
      encodeGalleryFile(this.items),
      'application/json',
    );
    this.say(`Exported ${this.items.length} gallery images (labels, embeddings and thumbnails; not the images).`);
  }

  private async importFile(file: File | undefined): Promise<void> {
    this.importInput.value = '';
    if (!file) return;
    try {
      const incoming = decodeGalleryFile(await file.text());
      const byId = new Map(this.items.map((g) => [g.id, g]));
      // Importing the same file twice changes nothing; an entry that has its image here keeps it.
      for (const g of incoming) byId.set(g.id, byId.get(g.id)?.image ? { ...g, image: byId.get(g.id)!.image } : g);
      const merged = incoming.map((g) => byId.get(g.id)!);
      await this.save(merged);
      this.items = [...byId.values()].sort((a, b) => a.addedAt - b.addedAt);
      const foreign = merged.filter((g) => g.modelId !== this.modelId && !g.image).length;
      this.say(
        `Imported ${incoming.length} gallery images from ${file.name}.` +
          (foreign
            ? ` ${foreign} were made with another model and are not searched with this one (a gallery file holds no images to embed again).`
            : ''),
      );
      this.render();
      this.onChange();
      void this.reembedStale();
    } catch (e) {
      this.say(
        e instanceof GalleryFileError
          ? `${file.name}: ${e.message}`
          : `Could not import ${file.name}: ${(e as Error).message}`,
      );
    }
  }

  private summary(): string {
    if (this.items.length === 0)
      return 'No gallery yet: tick "add to gallery" before dropping a folder (one subfolder per label), or add the selected image.';
    const labels = new Set(this.items.map((g) => g.label));
    const bytes = this.items.reduce((s, g) => s + (g.image?.size ?? 0), 0);
    const unsearchable = this.items.filter((g) => g.modelId !== this.modelId && !g.image).length;
    const parts = [
      `${this.items.length} images, ${labels.size} labels; ${(bytes / 2 ** 20).toFixed(1)} MiB of images kept in this browser to embed them again when the model changes.`,
      this.reembedding
        ? `Embedding the gallery with this model: ${this.reembedding.done} of ${this.reembedding.total}…`
        : '',
      unsearchable
        ? `${unsearchable} came from a gallery file made with another model: not searched (no image to embed again).`
        : '',
    ];
    return parts.filter(Boolean).join(' ');
  }

  private render(): void {
    this.count.textContent = this.summary();
    // Searchable entries first, by label; the unsearchable ones last.
    const ordered = [...this.items].sort(
      (a, b) =>
        Number(a.modelId !== this.modelId) - Number(b.modelId !== this.modelId) ||
        a.label.localeCompare(b.label) ||
        a.addedAt - b.addedAt,
    );
    this.list.replaceChildren(
      ...ordered.map((g) =>
        h(
          'li',
          {
            'data-testid': 'gallery-item',
            'data-label': g.label,
            'data-name': g.name,
            'data-current': String(g.modelId === this.modelId),
            class: g.modelId === this.modelId ? '' : 'foreign',
          },
          g.thumbnail ? h('img', { src: g.thumbnail, alt: '' }) : h('span', { class: 'no-thumb', text: '?' }),
          h('input', { value: g.label, 'data-relabel': g.id, 'aria-label': `Label of ${g.name}` }),
          h('span', {
            class: 'match-name',
            title: g.modelId === this.modelId ? g.name : `${g.name}: made with ${g.modelId}`,
            text: g.name.slice(g.name.lastIndexOf('/') + 1),
          }),
          h('button', {
            type: 'button',
            'data-remove': g.id,
            'aria-label': `Remove ${g.name} from the gallery`,
            text: '×',
          }),
        ),
      ),
    );
  }
}
