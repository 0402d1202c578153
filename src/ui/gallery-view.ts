/**
 * The gallery, as PP-ShiTu uses one: labelled images whose embeddings a query is searched against.
 * It lives in IndexedDB (survives reloads) and travels as one file (export / import). Entries made with
 * another model are kept but not searched: embeddings of different models are not comparable.
 */
import { decodeGalleryFile, encodeGalleryFile, GalleryFileError, type GalleryItem } from '../core/gallery-file.ts';
import { DEFAULT_SCORE_THRESHOLD, searchGallery, type GallerySearchResult } from '../core/gallery-search.ts';
import { download, h } from './dom.ts';
import type { GalleryStore } from './gallery-store.ts';
import type { Card } from './session.ts';
import { thumbnailDataUrl } from './thumbnails.ts';

const THRESHOLD_KEY = 'shitu-web.threshold';

export function labelOrStem(card: Card): string {
  return card.label || card.name.replace(/\.[^.]*$/, '');
}

function newId(): string {
  return crypto.randomUUID();
}

export class GalleryView {
  items: GalleryItem[] = [];
  modelId = '';
  threshold: number;
  private readonly list = h('ul', { class: 'gallery-list', 'data-testid': 'gallery-list' });
  private readonly count = h('p', { class: 'hint', 'data-testid': 'gallery-count', role: 'status' });
  private readonly thresholdInput: HTMLInputElement;
  private readonly importInput = h('input', { type: 'file', accept: '.json,application/json', class: 'visually-hidden', id: 'gallery-import', 'data-testid': 'gallery-import' });
  private readonly message = h('p', { class: 'message', role: 'alert', 'data-testid': 'gallery-message' });

  constructor(
    root: HTMLElement,
    private readonly store: GalleryStore | undefined,
    private readonly onChange: () => void,
  ) {
    const saved = Number(localStorage.getItem(THRESHOLD_KEY));
    this.threshold = saved > 0 && saved <= 1 ? saved : DEFAULT_SCORE_THRESHOLD;
    this.thresholdInput = h('input', { type: 'number', min: 0, max: 1, step: 0.05, value: this.threshold, id: 'gallery-threshold', class: 'narrow', 'data-testid': 'gallery-threshold' });
    this.thresholdInput.addEventListener('change', () => this.setThreshold(Number(this.thresholdInput.value)));
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
      h('div', { class: 'row' },
        h('label', { for: 'gallery-threshold', text: 'Label threshold (cosine)' }), this.thresholdInput,
        exportButton, importLabel, this.importInput, clearButton),
      this.count,
      this.message,
      this.list,
    );
    if (!store) this.say('The browser refused IndexedDB (private mode?): the gallery works but is lost on reload.');
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
  }

  setModel(modelId: string): void {
    this.modelId = modelId;
    this.render();
  }

  setThreshold(v: number): void {
    if (!(v >= 0 && v <= 1)) {
      this.say('The threshold is a cosine similarity between 0 and 1.');
      this.thresholdInput.value = String(this.threshold);
      return;
    }
    this.threshold = v;
    localStorage.setItem(THRESHOLD_KEY, String(v));
    this.onChange();
  }

  /** Searchable entries: made by the current model. */
  private usable(dim: number): GalleryItem[] {
    return this.items.filter((g) => g.modelId === this.modelId && g.embedding.length === dim);
  }

  search(embedding: Float32Array, k = 5): GallerySearchResult | undefined {
    const pool = this.usable(embedding.length);
    if (pool.length === 0) return undefined;
    return searchGallery(embedding, pool.map((g) => ({ id: g.id, label: g.label, embedding: g.embedding })), k, this.threshold);
  }

  item(id: string): GalleryItem | undefined {
    return this.items.find((g) => g.id === id);
  }

  async add(cards: readonly Card[], label: (c: Card) => string = labelOrStem): Promise<void> {
    const fresh: GalleryItem[] = [];
    for (const c of cards) {
      if (!c.embedding) continue;
      fresh.push({
        id: newId(),
        name: c.name,
        label: label(c).trim() || labelOrStem(c),
        modelId: this.modelId,
        embedding: c.embedding,
        thumbnail: await thumbnailDataUrl(c.file),
        addedAt: Date.now(),
      });
    }
    if (fresh.length === 0) return;
    await this.save(fresh);
    this.items.push(...fresh);
    this.render();
    this.onChange();
  }

  private async save(items: GalleryItem[]): Promise<void> {
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
    this.onChange();
  }

  private async clear(): Promise<void> {
    if (this.items.length === 0 || !confirm(`Remove all ${this.items.length} gallery images? Export first to keep them.`)) return;
    await this.store?.clear();
    this.items = [];
    this.render();
    this.onChange();
  }

  private export(): void {
    if (this.items.length === 0) return this.say('The gallery is empty: nothing to export.');
    download(`shitu-gallery-${new Date().toISOString().slice(0, 10)}.json`, encodeGalleryFile(this.items), 'application/json');
    this.say(`Exported ${this.items.length} gallery images.`);
  }

  private async importFile(file: File | undefined): Promise<void> {
    this.importInput.value = '';
    if (!file) return;
    try {
      const incoming = decodeGalleryFile(await file.text());
      const byId = new Map(this.items.map((g) => [g.id, g]));
      for (const g of incoming) byId.set(g.id, g); // importing the same file twice changes nothing
      await this.save(incoming);
      this.items = [...byId.values()].sort((a, b) => a.addedAt - b.addedAt);
      const foreign = incoming.filter((g) => g.modelId !== this.modelId).length;
      this.say(`Imported ${incoming.length} gallery images from ${file.name}.` + (foreign ? ` ${foreign} were made with another model and are not searched with this one.` : ''));
      this.render();
      this.onChange();
    } catch (e) {
      this.say(e instanceof GalleryFileError ? `${file.name}: ${e.message}` : `Could not import ${file.name}: ${(e as Error).message}`);
    }
  }

  private render(): void {
    const labels = new Set(this.items.map((g) => g.label));
    const other = this.items.filter((g) => g.modelId !== this.modelId).length;
    this.count.textContent =
      this.items.length === 0
        ? 'No gallery yet: tick "add to gallery" before dropping a folder (one subfolder per label), or add the selected image.'
        : `${this.items.length} images, ${labels.size} labels.` + (other ? ` ${other} made with another model (not searched).` : '');
    this.list.replaceChildren(
      ...this.items.map((g) =>
        h('li', { 'data-testid': 'gallery-item', 'data-label': g.label, 'data-name': g.name, class: g.modelId === this.modelId ? '' : 'foreign' },
          g.thumbnail ? h('img', { src: g.thumbnail, alt: '' }) : h('span', { class: 'no-thumb', text: '?' }),
          h('input', { value: g.label, 'data-relabel': g.id, 'aria-label': `Label of ${g.name}` }),
          h('span', { class: 'match-name', title: `${g.name} (${g.modelId})`, text: g.name }),
          h('button', { type: 'button', 'data-remove': g.id, 'aria-label': `Remove ${g.name} from the gallery`, text: '×' })),
      ),
    );
  }
}
