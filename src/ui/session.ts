/**
 * The page's state: the images of this visit (cards) and which one is selected. Views subscribe and redraw;
 * nothing here touches the DOM, so the state rules are tested in Node.
 */

export type CardStatus = 'queued' | 'embedding' | 'done' | 'error';

export interface Card {
  /** Position in drop order; stable for the card's life and never reused (the matrix's data-i / data-j). */
  readonly index: number;
  readonly file: Blob;
  readonly name: string;
  label: string;
  status: CardStatus;
  embedding?: Float32Array;
  /** With a fine-tuned model: the head's nearest class and its cosine. */
  prediction?: { readonly label: string; readonly score: number };
  error?: string;
  /** Add to the gallery as soon as the embedding exists (images dropped in gallery mode). */
  toGallery: boolean;
  /** The gallery entry made from this image: it is not its own match, and a new embedding updates it. */
  galleryId?: string;
}

export type SessionEvent =
  | { readonly type: 'added'; readonly cards: readonly Card[] }
  | { readonly type: 'updated'; readonly cards: readonly Card[] }
  | { readonly type: 'selected'; readonly card: Card | undefined }
  /** Taken off the page (near-duplicates' "remove the others"); emitted after `cards` no longer holds them. */
  | { readonly type: 'removed'; readonly cards: readonly Card[] }
  | { readonly type: 'cleared' };

export class Session {
  readonly cards: Card[] = [];
  selected: Card | undefined;
  private readonly byIndex = new Map<number, Card>();
  /** Indices are never reused, so a late reply for a removed card cannot land on a newer one. */
  private nextIndex = 0;
  private readonly listeners = new Set<(e: SessionEvent) => void>();

  subscribe(fn: (e: SessionEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: SessionEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  add(items: readonly { file: Blob; name: string; label: string; toGallery?: boolean }[]): Card[] {
    const added = items.map((it, k): Card => ({
      index: this.nextIndex + k,
      file: it.file,
      name: it.name,
      label: it.label,
      status: 'queued',
      toGallery: it.toGallery ?? false,
    }));
    this.nextIndex += added.length;
    this.cards.push(...added);
    for (const c of added) this.byIndex.set(c.index, c);
    if (added.length > 0) this.emit({ type: 'added', cards: added });
    return added;
  }

  update(cards: readonly Card[]): void {
    if (cards.length > 0) this.emit({ type: 'updated', cards });
  }

  select(card: Card | undefined): void {
    this.selected = card;
    this.emit({ type: 'selected', card });
  }

  /** The card with this index (a data-index, or an id given to the worker), if it is still on the page. */
  card(index: number): Card | undefined {
    return this.byIndex.get(index);
  }

  has(card: Card): boolean {
    return this.byIndex.get(card.index) === card;
  }

  /**
   * Takes cards off the page. The selection moves to the next card left in drop order (else the one before),
   * so the panels keep showing something when the selected image goes.
   */
  remove(cards: readonly Card[]): void {
    const gone = [...new Set(cards)].filter((c) => this.has(c));
    if (gone.length === 0) return;
    const set = new Set(gone);
    const selected = this.selected && set.has(this.selected) ? this.selected : undefined;
    for (const c of gone) this.byIndex.delete(c.index);
    const kept = this.cards.filter((c) => !set.has(c));
    this.cards.splice(0, this.cards.length, ...kept);
    this.emit({ type: 'removed', cards: gone });
    if (selected) {
      // Cards stay in drop order (index order).
      const after = this.cards.find((c) => c.index > selected.index);
      this.select(after ?? this.cards.at(-1));
    }
  }

  /** Cards with an embedding, in card order. */
  done(): Card[] {
    return this.cards.filter((c) => c.status === 'done' && c.embedding);
  }

  /** Every card goes back to the queue (after a model change: old embeddings are not comparable). */
  requeueAll(): Card[] {
    const requeued = this.cards.filter((c) => c.status !== 'queued');
    for (const c of requeued) {
      c.status = 'queued';
      c.embedding = undefined;
      c.prediction = undefined;
      c.error = undefined;
    }
    this.update(requeued);
    return requeued;
  }

  clear(): void {
    this.cards.length = 0;
    this.byIndex.clear();
    this.selected = undefined;
    this.emit({ type: 'cleared' });
  }
}
