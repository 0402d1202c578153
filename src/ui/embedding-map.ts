/**
 * The embedding map: every embedded image of this visit in 2-D, by PCA (exact, at once) or UMAP (seeded, in a
 * worker, with progress; cancelled when the images change), coloured by label or, without one, by the class
 * the gallery recognises. Thumbnails up to THUMBNAIL_LIMIT images, dots past that. Hover names an image, a
 * click selects its card, a lasso selects many, and a label typed then goes to all of them (and, on the page,
 * into the gallery and so into fine-tuning).
 * Test hooks: data-testid="embedding-map" (data-layout, data-state "computing" | "ready", data-count) holding
 * one `li` per image with data-name, data-x, data-y (the layout's coordinates) and data-label.
 */
import { h } from './dom.ts';
import { MapCanvas } from './embedding-map-canvas.ts';
import { mapColours, UNLABELLED_COLOUR, type MapColours } from './embedding-map-colours.ts';
import { mapSliced, writePointHooks } from './embedding-map-points.ts';
import { MapSelectionBar } from './embedding-map-selection.ts';
import { nextTask, type InsightsCompute, type MapLayout } from './report-compute.ts';
import { SettledRuns } from './report-schedule.ts';
import type { Card, Session } from './session.ts';
import { loadMapThumbnails } from './embedding-map-thumbnails.ts';

export const THUMBNAIL_LIMIT = 300;
/** The layout waits this long after the last change (images arrive a chunk at a time)… */
const SETTLE_MS = 300;
/** …but no longer than this while they keep arriving. */
const MAX_WAIT_MS = 2000;
export const UMAP_SEED = 42;
const LABEL_SLICE = 25;

export type MapMethod = 'pca' | 'umap';

export interface EmbeddingMapOptions {
  /** The class a card is coloured by (default: its label). */
  readonly classOf?: (card: Card) => string | undefined;
  /** Gives the lasso's cards a label; `toGallery`: the person asked to add them to the gallery too. */
  readonly onLabel?: (cards: readonly Card[], label: string, toGallery: boolean) => void;
  /** Offers "add them to the gallery" next to the label. */
  readonly gallery?: boolean;
}

export class EmbeddingMap {
  private readonly hooks = h('ol', { class: 'map-points', hidden: true });
  private readonly frame: HTMLElement;
  private readonly canvas: MapCanvas;
  private readonly tooltip = h('div', { class: 'map-tooltip', role: 'tooltip', hidden: true });
  private readonly method = h('select', { 'aria-label': 'Layout', 'data-testid': 'map-layout' });
  private readonly status = h('p', { class: 'hint', role: 'status', 'data-testid': 'map-status' });
  private readonly progress = h('progress', { max: 1, value: 0, hidden: true, 'data-testid': 'map-progress' });
  private readonly cancel = h('button', { type: 'button', class: 'link', text: 'stop', hidden: true });
  private readonly legend = h('ul', { class: 'map-legend', 'data-testid': 'map-legend' });
  private readonly bar: MapSelectionBar;
  private cards: Card[] = [];
  private rows: Float32Array[] = [];
  private pca: (MapLayout & { explained: readonly [number, number] }) | undefined;
  private umap: MapLayout | undefined;
  private colours: MapColours = mapColours([]);
  private classes: (string | undefined)[] = [];
  private selection = new Set<number>();
  private generation = 0;
  private readonly runs = new SettledRuns(() => this.layOut(), SETTLE_MS, MAX_WAIT_MS);
  private hookToken = 0;

  constructor(
    root: HTMLElement,
    private readonly session: Session,
    private readonly compute: InsightsCompute,
    private readonly options: EmbeddingMapOptions = {},
  ) {
    this.method.append(h('option', { value: 'pca', text: 'PCA (exact)' }));
    if (compute.umap) this.method.append(h('option', { value: 'umap', text: 'UMAP (neighbourhoods)' }));
    this.method.addEventListener('change', () => this.showLayout());
    this.cancel.addEventListener('click', () => {
      this.compute.umap?.cancel();
      this.method.value = 'pca';
      this.showLayout();
    });
    this.canvas = new MapCanvas({
      hover: (i, cx, cy) => this.hover(i, cx, cy),
      pick: (i) => this.cards[i] && this.session.has(this.cards[i]) && this.session.select(this.cards[i]),
      lasso: (indices, add) => this.select(add ? [...this.selection, ...indices] : indices),
    });
    this.bar = new MapSelectionBar(!!options.gallery, {
      apply: (label, toGallery) => void this.applyLabel(label, toGallery),
      clear: () => this.select([]),
    });
    this.frame = h(
      'div',
      {
        class: 'map-frame',
        'data-testid': 'embedding-map',
        'data-state': 'ready',
        'data-count': 0,
        'data-layout': 'pca',
      },
      this.canvas.element,
      this.tooltip,
      this.hooks,
    );
    root.append(
      h('div', { class: 'row' }, h('label', { text: 'Layout ' }, this.method), this.progress, this.cancel),
      this.status,
      this.frame,
      this.legend,
      this.bar.element,
    );
    session.subscribe((e) => {
      if (e.type === 'selected') this.markCurrent();
      else if (e.type === 'cleared') this.reset();
      else this.changed();
    });
    this.render();
    // Made after images arrived (an element's part shown late): lay them out now.
    if (session.done().length > 0) this.changed();
  }

  /** The classes may have changed (the gallery or its threshold did): recolour without a new layout. */
  recolour(): void {
    void this.colour(this.generation);
  }

  private reset(): void {
    this.compute.umap?.cancel();
    this.generation++;
    this.cards = [];
    this.rows = [];
    this.pca = undefined;
    this.umap = undefined;
    this.selection.clear();
    this.render();
  }

  /** Images were added or embedded, or labels changed: lay out again once they settle. */
  private changed(): void {
    this.frame.dataset.state = 'computing';
    this.runs.changed();
  }

  private async layOut(): Promise<void> {
    const cards = this.session.done();
    const same = cards.length === this.cards.length && cards.every((c, i) => c.embedding === this.rows[i]);
    if (same) return this.colour(this.generation);
    this.compute.umap?.cancel();
    const generation = ++this.generation;
    this.cards = cards;
    this.rows = cards.map((c) => c.embedding!);
    this.umap = undefined;
    this.pca = undefined;
    this.selection.clear();
    this.bar.show(0);
    if (cards.length === 0) return this.render();
    this.frame.dataset.state = 'computing';
    this.status.textContent = `Laying out ${cards.length} images…`;
    try {
      const pca = await this.compute.pca(this.rows);
      if (generation !== this.generation) return;
      this.pca = pca;
    } catch (e) {
      if (generation === this.generation) this.status.textContent = `No map: ${(e as Error).message}`;
      return;
    }
    await this.colour(generation);
    this.showLayout();
  }

  private showLayout(): void {
    if (this.method.value === 'umap' && !this.umap && this.rows.length > 0) void this.runUmap(this.generation);
    if (this.method.value === 'pca') {
      this.compute.umap?.cancel();
      this.progress.hidden = this.cancel.hidden = true;
    }
    this.render();
  }

  private async runUmap(generation: number): Promise<void> {
    const umap = this.compute.umap;
    if (!umap) return;
    this.progress.hidden = this.cancel.hidden = false;
    this.progress.removeAttribute('value');
    const start = performance.now();
    // Progress comes through a port of its own: its last messages may arrive after the result.
    let finished = false;
    try {
      const layout = await umap.run(this.rows, { seed: UMAP_SEED }, (p) => {
        if (generation !== this.generation || finished) return;
        if (p.stage === 'layout') this.progress.value = p.done / p.total;
        this.status.textContent =
          p.stage === 'neighbours'
            ? `UMAP: finding each image's neighbours (${this.rows.length} images)…`
            : `UMAP: epoch ${p.done} of ${p.total}…`;
      });
      if (generation !== this.generation) return;
      this.umap = layout;
      this.frame.dataset.umapMs = String(Math.round(performance.now() - start));
    } catch (e) {
      if (generation !== this.generation || (e as Error).name === 'UmapCancelledError') return;
      this.status.textContent = `UMAP failed: ${(e as Error).message}`;
      return;
    } finally {
      finished = true;
      if (generation === this.generation) this.progress.hidden = this.cancel.hidden = true;
    }
    this.render();
  }

  /** Each image's class (the gallery may be searched for it), a slice per task, then the colours. */
  private async colour(generation: number): Promise<void> {
    const classOf = this.options.classOf ?? ((c: Card) => c.label || undefined);
    const classes = await mapSliced(this.cards, classOf, () => generation === this.generation);
    if (!classes) return;
    this.classes = classes;
    this.colours = mapColours(classes);
    this.render();
  }

  /** The canvas and legend only (a thumbnail arrived, the selection moved). */
  private draw(): void {
    const layout = this.shown();
    const n = layout ? this.cards.length : 0;
    const thumbs = n > 0 && n <= THUMBNAIL_LIMIT ? loadMapThumbnails(this.cards, () => this.draw()) : undefined;
    this.canvas.setPoints({
      x: layout?.x ?? new Float32Array(0),
      y: layout?.y ?? new Float32Array(0),
      colours: this.colours.colours.length === n ? this.colours.colours : new Array<string>(n).fill(UNLABELLED_COLOUR),
      ...(thumbs ? { images: thumbs } : {}),
    });
    this.canvas.element.setAttribute('aria-label', `Embedding map of ${n} images: hover or click a point`);
    this.markCurrent();
    this.renderLegend();
  }

  private shown(): MapLayout | undefined {
    return this.method.value === 'umap' && this.umap ? this.umap : this.pca;
  }

  /** The canvas, the status line and the test hooks. */
  private render(): void {
    this.draw();
    const layout = this.shown();
    const n = layout ? this.cards.length : 0;
    const umap = layout !== undefined && layout === this.umap;
    this.frame.dataset.layout = umap ? 'umap' : 'pca';
    this.frame.dataset.count = String(n);
    if (this.progress.hidden) {
      this.status.textContent =
        n === 0
          ? 'The map shows every embedded image once there are some.'
          : umap
            ? `UMAP of ${n} images (seed ${UMAP_SEED}): near points are near neighbours; distances between clusters mean little.`
            : `PCA of ${n} images: the two axes hold ${percent(this.pca!.explained[0])} and ${percent(this.pca!.explained[1])} of the variance.` +
              (n > THUMBNAIL_LIMIT ? ` Dots past ${THUMBNAIL_LIMIT} images.` : '');
    }
    void this.writeHooks(layout);
  }

  private async writeHooks(layout: MapLayout | undefined): Promise<void> {
    const token = ++this.hookToken;
    this.frame.dataset.state = 'computing';
    const points = layout
      ? this.cards.map((c, i) => ({
          name: c.name,
          index: c.index,
          x: layout.x[i]!,
          y: layout.y[i]!,
          label: this.classes[i] ?? '',
        }))
      : [];
    const done = await writePointHooks(this.hooks, points, () => token === this.hookToken);
    if (done && token === this.hookToken && !this.runs.due) this.frame.dataset.state = 'ready';
  }

  private renderLegend(): void {
    const { legend, others, unlabelled } = this.colours;
    const swatch = (colour: string) => {
      const s = h('span', { class: 'swatch' });
      s.style.background = colour; // CSSOM, not a style attribute: allowed under a strict style-src
      return s;
    };
    const items = legend.map((e) => h('li', {}, swatch(e.colour), `${e.label} (${e.count})`));
    if (others > 0) items.push(h('li', {}, `${others} more in other labels`));
    if (unlabelled > 0) items.push(h('li', {}, swatch(UNLABELLED_COLOUR), `no label (${unlabelled})`));
    this.legend.replaceChildren(...items);
  }

  private hover(i: number | undefined, clientX: number, clientY: number): void {
    const card = i === undefined ? undefined : this.cards[i];
    this.tooltip.hidden = !card;
    if (!card) return;
    const label = this.classes[i!];
    this.tooltip.textContent = label ? `${card.name} · ${label}` : card.name;
    const r = this.frame.getBoundingClientRect();
    // A transform moves it without a layout.
    this.tooltip.style.transform = `translate(${Math.min(clientX - r.left + 12, r.width - 160)}px, ${clientY - r.top + 12}px)`;
  }

  private select(indices: readonly number[]): void {
    this.selection = new Set(indices);
    this.bar.show(this.selection.size);
    this.markCurrent();
  }

  private markCurrent(): void {
    const selected = this.session.selected;
    const at = selected ? this.cards.indexOf(selected) : -1;
    this.canvas.setSelection(this.selection, at < 0 ? undefined : at);
  }

  /** The views that redraw a card run per updated card: a few dozen cards per task keep each task short. */
  private async applyLabel(label: string, toGallery: boolean): Promise<void> {
    const cards = [...this.selection].map((i) => this.cards[i]!).filter(Boolean);
    if (cards.length === 0 || !label) return;
    this.select([]);
    for (const c of cards) c.label = label;
    for (let i = 0; i < cards.length; i += LABEL_SLICE) {
      if (i > 0) await nextTask();
      this.session.update(cards.slice(i, i + LABEL_SLICE));
    }
    this.options.onLabel?.(cards, label, toGallery);
  }
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
