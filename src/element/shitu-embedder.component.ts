/**
 * <shitu-embedder>: the embedder as one element. Attributes: model, backend, batch-size, normalize (defaults:
 * DEFAULT_LOAD_OPTIONS), threshold (default: the loaded model's recommended one, info.recognitionThreshold), view.
 * Images are embedded through the page's EmbedQueue: in chunks of batch-size, one chunk in flight, each card
 * marked as its chunk goes.
 * Properties: embeddings (read-only), gallery. Methods: embed, similarity, search, clear.
 * Events: shitu-ready, shitu-progress, shitu-embedding, shitu-error (ShituEventMap).
 * The class has no side effects; shitu-embedder.ts registers it.
 */
import type { EmbeddingResult, EmbeddingSuccess, NamedImage } from '../core/embedder-api.ts';
import { errorCodeOf, type EmbedderErrorCode } from '../core/errors.ts';
import { DEFAULT_TOP_K, searchGallery, type GalleryEntry, type GallerySearchResult } from '../core/gallery-search.ts';
import { BACKEND_CHOICES, DEFAULT_LOAD_OPTIONS, MAX_BATCH_SIZE, type BackendChoice } from '../core/options.ts';
import { effectiveThreshold } from '../core/recognition-threshold.ts';
import { cosineSimilarity } from '../core/similarity.ts';
import { filesFromDrop, filesFromInput } from '../ui/collect-files.ts';
import { h } from '../ui/dom.ts';
import { EmbedQueue, type SettledCard } from '../ui/embed-queue.ts';
import { ImageGrid } from '../ui/image-grid.ts';
import { INSIGHT_PARTS, InsightViews } from '../ui/report-views.ts';
import { Session, type Card } from '../ui/session.ts';
import { SimilarityView } from '../ui/similarity-view.ts';
import { ThumbnailUrls } from '../ui/thumbnails.ts';
import { VectorView } from '../ui/vector-view.ts';
import { DEFAULT_MODEL_URL, type ClientImage } from '../worker/client.ts';
import { shituEvent, type ShituEventMap } from './events.ts';
import { acquireEmbedder, type SharedEmbedder } from './shared-client.ts';
import { elementStyles } from './shitu-embedder.styles.ts';

export const VIEW_PARTS = ['drop', 'vectors', 'matrix', 'gallery', ...INSIGHT_PARTS] as const;
export type ViewPart = (typeof VIEW_PARTS)[number];
/** The parts shown without a `view` attribute: the map, report and duplicates are asked for by name. */
export const DEFAULT_VIEW: readonly ViewPart[] = ['drop', 'vectors', 'matrix', 'gallery'];

/** A vector, an index into `embeddings`, or a result. */
export type EmbeddingRef = Float32Array | number | EmbeddingSuccess;

/** A card queued by embed(): what the caller gave, and how to answer its call. */
interface PendingImage {
  /** Sent to the worker as given (a Blob goes with its card's name). */
  readonly input: ClientImage;
  /** The result's id when the worker never saw the image (the call failed): what the worker would have said. */
  readonly id: string;
  readonly resolve: (result: EmbeddingResult) => void;
  /** The worker's result, with the caller's id and name (the queue matches cards by their index instead). */
  result?: EmbeddingResult;
}

export class ShituEmbedderElement extends HTMLElement {
  static readonly observedAttributes = ['model', 'backend', 'batch-size', 'normalize', 'threshold', 'view'];

  private readonly root: ShadowRoot;
  private readonly session = new Session();
  private readonly thumbs = new ThumbnailUrls();
  private readonly results: EmbeddingSuccess[] = [];
  private galleryEntries: readonly GalleryEntry[] = [];
  private shared: SharedEmbedder | undefined;
  private loading: Promise<SharedEmbedder> | undefined;
  private loadToken = 0;
  private readonly parts: Record<ViewPart, HTMLElement>;
  private readonly status: HTMLElement;
  private readonly grid: ImageGrid;
  private readonly vector: VectorView;
  private readonly queue: EmbedQueue;
  private readonly pending = new Map<Card, PendingImage>();
  /** Each card's entry in `results`, so a removed card's result can be found. */
  private readonly resultOf = new WeakMap<Card, EmbeddingSuccess>();
  private readonly insights: InsightViews;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.adoptedStyleSheets = [elementStyles()];
    const input = h('input', {
      type: 'file',
      accept: 'image/*',
      multiple: true,
      class: 'visually-hidden',
      part: 'file-input',
      'aria-label': 'Choose images',
    });
    const pick = h('button', { type: 'button', part: 'button', text: 'choose files' });
    pick.addEventListener('click', () => input.click());
    const slot = h(
      'slot',
      { name: 'drop-zone' },
      h('p', { class: 'drop-title', text: 'Drop images here' }),
      h('p', { class: 'hint' }, 'or ', pick),
    );
    const drop = h('div', { class: 'drop-zone part', part: 'drop-zone', 'data-testid': 'drop-zone' }, slot, input);
    input.addEventListener('change', () => {
      void this.embed(filesFromInput(input.files).map((p) => p.file));
      input.value = '';
    });
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('dragging');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('dragging');
      void filesFromDrop(e.dataTransfer).then((picked) => this.embed(picked.map((p) => p.file)));
    });
    this.status = h('p', { class: 'status hint', role: 'status', part: 'status' });
    const cards = h('ol', { class: 'cards', part: 'cards' });
    const vector = h('div', { class: 'part', part: 'vector' });
    const matrix = h('div', { class: 'part', part: 'matrix' });
    const gallery = h('p', { class: 'part hint', part: 'gallery' });
    const insightParts = {
      map: h('div', { class: 'part', part: 'map' }),
      report: h('div', { class: 'part', part: 'report' }),
      duplicates: h('div', { class: 'part', part: 'duplicates' }),
    };
    this.parts = { drop, vectors: h('div', {}, cards, vector), matrix, gallery, ...insightParts };
    this.root.append(drop, this.status, this.parts.vectors, matrix, gallery, ...Object.values(insightParts));
    this.grid = new ImageGrid(cards, this.session, this.thumbs);
    this.grid.predict = (card) => {
      const r = card.embedding && this.galleryEntries.length > 0 ? this.search(card.embedding, 1) : undefined;
      return r ? { label: r.label, score: r.score! } : undefined;
    };
    this.vector = new VectorView(vector, this.thumbs);
    new SimilarityView(matrix, this.session, this.thumbs);
    this.session.subscribe((e) => {
      if (e.type === 'selected') this.vector.show(e.card);
      if (e.type === 'removed') this.removed(e.cards);
    });
    this.queue = new EmbedQueue(
      this.session,
      // One batch per worker of the shared pool in flight (the pool hands each worker its share).
      () => this.batchSize * (this.shared?.info.workers?.max ?? 1),
      (p) => this.dispatchEvent(shituEvent('shitu-progress', { stage: 'embed', done: p.done, total: p.total })),
      () => undefined,
      (settled) => this.settle(settled),
    );
    this.insights = new InsightViews(insightParts, {
      session: this.session,
      thumbs: this.thumbs,
      gallery: () => this.galleryEntries,
      recognise: (card) =>
        card.embedding && this.galleryEntries.length > 0 ? this.search(card.embedding, 1).label : undefined,
      threshold: () => this.threshold,
      setThreshold: (t) => this.setAttribute('threshold', String(t)),
      addToGallery: (cards, label) => {
        // The lasso's cards by name: a card labelled again replaces its entry.
        const names = new Set(cards.map((c) => c.name));
        this.gallery = [
          ...this.galleryEntries.filter((g) => !names.has(g.id)),
          ...cards.flatMap((c) => (c.embedding ? [{ id: c.name, label, embedding: c.embedding }] : [])),
        ];
      },
    });
    this.applyView();
  }

  // ---- attributes -------------------------------------------------------------------------------------

  get model(): string {
    return this.getAttribute('model') || new URL(DEFAULT_MODEL_URL, location.href).href;
  }

  // An attribute outside its valid values falls back to the default, as HTML's own attributes do.

  get backend(): BackendChoice {
    const b = this.getAttribute('backend');
    return (BACKEND_CHOICES as readonly (string | null)[]).includes(b)
      ? (b as BackendChoice)
      : DEFAULT_LOAD_OPTIONS.backend;
  }

  /** Images per forward pass, and per call to the worker: from 1 to MAX_BATCH_SIZE. */
  get batchSize(): number {
    const n = Number(this.getAttribute('batch-size') ?? Number.NaN);
    return Number.isInteger(n) && n >= 1 && n <= MAX_BATCH_SIZE ? n : DEFAULT_LOAD_OPTIONS.batchSize;
  }

  /** The `normalize` attribute (a property of that name would shadow Node.normalize()): only "false" turns it off. */
  get normalizeEmbeddings(): boolean {
    const v = this.getAttribute('normalize');
    return v === null ? DEFAULT_LOAD_OPTIONS.normalize : v !== 'false';
  }

  /**
   * The cosine from which `search` (and the cards) give the best match's label: the `threshold` attribute when
   * it is a number from 0 to 1; else the loaded model's recommended threshold (info.recognitionThreshold: its
   * manifest's calibrated value, else PaddleClas's 0.5); before a model has loaded, 0.5.
   */
  get threshold(): number {
    return effectiveThreshold(this.getAttribute('threshold'), this.shared?.info.recognitionThreshold);
  }

  /**
   * Which built-in parts show, space-separated: drop, vectors, matrix, gallery (the default: these four), map,
   * report, duplicates; or 'none' (headless).
   */
  get view(): ViewPart[] {
    const v = (this.getAttribute('view') ?? DEFAULT_VIEW.join(' ')).trim().split(/[\s,]+/);
    return VIEW_PARTS.filter((p) => v.includes(p));
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value) return;
    if (name === 'view') this.applyView();
    if (name === 'threshold') {
      this.grid.refreshAll();
      this.insights.galleryChanged();
    }
    if ((name === 'model' || name === 'backend') && this.isConnected) this.reload();
  }

  private applyView(): void {
    const shown = this.view;
    for (const p of VIEW_PARTS) this.parts[p].hidden = !shown.includes(p);
    this.insights.show(shown);
  }

  // ---- life cycle -------------------------------------------------------------------------------------

  connectedCallback(): void {
    if (!this.shared && !this.loading) this.reload();
  }

  disconnectedCallback(): void {
    // Moving the element within the page disconnects and reconnects it in one task: keep the model then.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.loadToken++;
      this.queue.setTarget(undefined);
      this.failPending('disposed', '<shitu-embedder> was removed from the document before this image was embedded');
      this.shared?.release();
      this.shared = undefined;
      this.loading = undefined;
      this.thumbs.releaseAll();
    });
  }

  private reload(): void {
    const token = ++this.loadToken;
    // Chunks in flight for the old model come back to the queue; the new model embeds them.
    this.queue.setTarget(undefined);
    this.shared?.release();
    this.shared = undefined;
    this.status.textContent = 'Loading the model…';
    const loading = acquireEmbedder(this.model, this.backend, (p) =>
      this.dispatchEvent(shituEvent('shitu-progress', p)),
    );
    this.loading = loading;
    loading.then(
      (shared) => {
        if (token !== this.loadToken) return shared.release(); // superseded or removed meanwhile
        this.shared = shared;
        this.status.textContent = '';
        this.queue.setTarget({ embed: (images) => this.embedChunk(shared, images) });
        // Unless a threshold attribute is set, the new model's own threshold applies: relabel the cards.
        this.grid.refreshAll();
        this.insights.galleryChanged();
        this.dispatchEvent(shituEvent('shitu-ready', { info: shared.info }));
      },
      (e: Error & { code?: string }) => {
        if (token !== this.loadToken) return;
        this.loading = undefined;
        this.status.textContent = `The model could not be loaded: ${e.message}`;
        const code = errorCodeOf(e);
        this.dispatchEvent(shituEvent('shitu-error', { code, message: e.message }));
        this.failPending(code, `the model could not be loaded: ${e.message}`);
      },
    );
  }

  private async ready(): Promise<SharedEmbedder> {
    if (this.shared) return this.shared;
    if (!this.loading) throw new Error('<shitu-embedder> is not connected to a document');
    return this.loading;
  }

  // ---- the API ----------------------------------------------------------------------------------------

  /** Successful results so far, in order. */
  get embeddings(): readonly EmbeddingSuccess[] {
    return [...this.results];
  }

  /** Labelled vectors that `search` and the cards' predicted labels use. */
  get gallery(): readonly GalleryEntry[] {
    return this.galleryEntries;
  }

  set gallery(entries: readonly GalleryEntry[]) {
    this.galleryEntries = [...entries];
    this.grid.refreshAll();
    this.insights.galleryChanged();
  }

  /**
   * Embeds images (files, blobs, ImageBitmaps, ImageData, img / canvas elements): one result per image, in the
   * order given. Each gets a card at once; they are embedded through the queue a chunk at a time, behind any
   * images still queued, with shitu-embedding / shitu-error per image and shitu-progress per chunk. An image
   * whose call failed, or that was cleared or removed before its turn, resolves as a failure with that reason.
   */
  async embed(images: readonly (ClientImage | File)[]): Promise<EmbeddingResult[]> {
    if (!Array.isArray(images)) throw new TypeError('embed() takes an array of images');
    if (images.length === 0) return [];
    try {
      await this.ready();
    } catch (e) {
      this.dispatchEvent(shituEvent('shitu-error', { code: 'element', message: (e as Error).message }));
      throw e;
    }
    const first = this.session.cards.length;
    const names = images.map((img, i) => (img instanceof File ? img.name : `image-${first + i + 1}`));
    const answers: Promise<EmbeddingResult>[] = [];
    const cards = this.session.add(
      images.map((img, i) => ({ file: img instanceof Blob ? img : new Blob(), name: names[i]!, label: '' })),
    );
    cards.forEach((card, i) => {
      const img = images[i]!;
      // The id the worker gives: a Blob's is the name sent with it, a named image's its own id or name.
      const named =
        !(img instanceof Blob) && typeof img === 'object' && 'image' in img ? (img as NamedImage) : undefined;
      const id = img instanceof Blob ? names[i]! : (named?.id ?? named?.name ?? card.name);
      const input: ClientImage = img instanceof Blob ? { name: names[i]!, image: img } : img;
      answers.push(new Promise((resolve) => this.pending.set(card, { input, id, resolve })));
    });
    this.queue.kick();
    return Promise.all(answers);
  }

  /** One chunk of the queue: the cards' own inputs, sent as given; results go back matched by card index. */
  private async embedChunk(
    shared: SharedEmbedder,
    images: readonly { id: string; name: string; image: Blob }[],
  ): Promise<EmbeddingResult[]> {
    const pending = images.map((i) => {
      const card = this.session.card(Number(i.id));
      return card && this.pending.get(card);
    });
    const inputs = images.map((i, k): ClientImage => pending[k]?.input ?? { name: i.name, image: i.image });
    const results = await shared.embedder.embed(inputs, {
      batchSize: this.batchSize,
      normalize: this.normalizeEmbeddings,
    });
    // One result per input, in input order (the worker's contract).
    results.forEach((r, k) => {
      const p = pending[k];
      if (p) p.result = r;
    });
    return results.map((r, k) => ({ ...r, id: images[k]!.id }));
  }

  /** A chunk came back (the queue has updated its cards): events, then the callers' answers. */
  private settle(settled: readonly SettledCard[]): void {
    for (const { card, result } of settled) {
      const p = this.pending.get(card);
      // Without an answer from the worker (the call failed) the queue's result names the card by its index.
      const r = p?.result ?? { ...result, id: p?.id ?? card.name };
      if (r.ok) {
        this.results.push(r);
        this.resultOf.set(card, r);
        this.dispatchEvent(
          shituEvent('shitu-embedding', {
            index: this.results.length - 1,
            name: r.name,
            embedding: r.embedding,
            ...(r.prediction ? { prediction: r.prediction } : {}),
            result: r,
          }),
        );
      } else {
        this.dispatchEvent(shituEvent('shitu-error', { name: r.name, code: r.error.code, message: r.error.message }));
      }
      this.pending.delete(card);
      p?.resolve(r);
    }
    if (!this.session.selected) this.session.select(settled.find((s) => s.card.status === 'done')?.card);
  }

  /** Cards taken off by the duplicates view: their results leave `embeddings`, and the page is told. */
  private removed(cards: readonly Card[]): void {
    this.failPending('disposed', 'the image was removed before it was embedded', cards);
    const gone = cards.flatMap((c) => {
      const r = this.resultOf.get(c);
      return r ? [r] : [];
    });
    const set = new Set(gone);
    const kept = this.results.filter((r) => !set.has(r));
    this.results.splice(0, this.results.length, ...kept);
    this.dispatchEvent(shituEvent('shitu-removed', { names: cards.map((c) => c.name), results: gone }));
  }

  /** Answers the images still waiting (all, or these) with a failure (no event: the images were not at fault). */
  private failPending(
    code: EmbedderErrorCode,
    message: string,
    only: readonly Card[] = [...this.pending.keys()],
  ): void {
    const cards = only.filter((c) => this.pending.has(c));
    for (const card of cards) {
      const p = this.pending.get(card)!;
      this.pending.delete(card);
      card.status = 'error';
      card.error = message;
      p.resolve({ ok: false, id: p.id, name: card.name, error: { code, message } });
    }
    this.session.update(cards.filter((c) => this.session.has(c)));
  }

  private vectorOf(ref: EmbeddingRef): Float32Array {
    if (ref instanceof Float32Array) return ref;
    if (typeof ref === 'number') {
      const r = this.results[ref];
      if (!r) throw new RangeError(`no embedding at index ${ref} (this element has ${this.results.length})`);
      return r.embedding;
    }
    return ref.embedding;
  }

  /** Cosine similarity of two embeddings (vectors, indices into `embeddings`, or results). */
  similarity(a: EmbeddingRef, b: EmbeddingRef): number {
    return cosineSimilarity(this.vectorOf(a), this.vectorOf(b));
  }

  /** The query's top-k gallery entries, and the best one's label when it reaches `threshold`. */
  search(query: EmbeddingRef, k = DEFAULT_TOP_K): GallerySearchResult {
    return searchGallery(this.vectorOf(query), this.galleryEntries, k, this.threshold);
  }

  /** Forgets every result and card (the model stays loaded). */
  clear(): void {
    // Whatever is in flight belongs to cards that are about to go.
    this.queue.reset();
    this.failPending('disposed', 'clear() was called before this image was embedded');
    this.results.length = 0;
    this.session.clear();
    this.thumbs.releaseAll();
    this.vector.show(undefined);
  }

  override addEventListener<K extends keyof ShituEventMap>(
    type: K,
    listener: (this: ShituEmbedderElement, ev: ShituEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }
}
