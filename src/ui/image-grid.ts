/**
 * The cards: one per image, in drop order, each with its thumbnail, name, state and (once a gallery exists)
 * its predicted label. Keyboard: every card is a button-like element (Tab, Enter / Space selects).
 * Test hooks: data-testid="image-card", data-status, data-name, data-index.
 */
import { h } from './dom.ts';
import type { Card, Session } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

const RENDER_SLICE = 50;
const STATUS_TEXT = { queued: 'Queued', embedding: 'Embedding…', done: 'Done', error: 'Error' } as const;

export interface CardPrediction {
  readonly label: string | undefined;
  readonly score: number;
}

export class ImageGrid {
  private readonly items = new Map<Card, HTMLLIElement>();
  private generation = 0;
  predict: (card: Card) => CardPrediction | undefined = () => undefined;

  constructor(
    private readonly list: HTMLOListElement,
    private readonly session: Session,
    private readonly thumbs: ThumbnailUrls,
  ) {
    session.subscribe((e) => {
      if (e.type === 'added') this.append(e.cards);
      else if (e.type === 'updated') for (const c of e.cards) this.refresh(c);
      else if (e.type === 'selected') this.markSelected(e.card);
      else if (e.type === 'cleared') {
        this.generation++;
        this.items.clear();
        this.list.replaceChildren();
      }
    });
    list.addEventListener('click', (e) => this.pick(e.target));
    list.addEventListener('keydown', (e) => {
      if ((e.key === 'Enter' || e.key === ' ') && (e.target as HTMLElement).matches('[data-testid="image-card"]')) {
        e.preventDefault();
        this.pick(e.target);
      }
    });
  }

  /** Large drops are rendered a slice per task, so a drop of 1,000 images never blocks the page. */
  private append(cards: readonly Card[], generation = this.generation): void {
    if (generation !== this.generation) return; // cleared meanwhile
    const slice = cards.slice(0, RENDER_SLICE);
    this.list.append(...slice.map((c) => this.render(c)));
    if (cards.length > RENDER_SLICE) setTimeout(() => this.append(cards.slice(RENDER_SLICE), generation), 0);
  }

  private pick(target: EventTarget | null): void {
    const li = (target as HTMLElement | null)?.closest<HTMLLIElement>('[data-testid="image-card"]');
    if (!li) return;
    const card = this.session.cards[Number(li.dataset.index)];
    if (card) this.session.select(card);
  }

  private render(card: Card): HTMLLIElement {
    const li = h(
      'li',
      { 'data-testid': 'image-card', 'data-index': card.index, 'data-name': card.name, tabindex: 0, class: 'card', 'aria-selected': 'false' },
      h('img', { src: this.thumbs.get(card.file), alt: '', loading: 'lazy', decoding: 'async', width: 120, height: 120 }),
      h('span', { class: 'card-name', title: card.name, text: card.name }),
      h('span', { class: 'card-label' }),
      h('span', { class: 'card-status', role: 'status' }),
    );
    // A file the browser cannot show: keep the card (its error says why), without a broken-image icon.
    li.querySelector('img')!.addEventListener('error', (e) => (e.target as HTMLElement).classList.add('broken'), { once: true });
    this.items.set(card, li);
    this.fill(li, card);
    return li;
  }

  refresh(card: Card): void {
    const li = this.items.get(card);
    if (li) this.fill(li, card);
  }

  /** Redraw every card's predicted label (after the gallery or the threshold changed). */
  refreshAll(): void {
    for (const [card, li] of this.items) this.fill(li, card);
  }

  private fill(li: HTMLLIElement, card: Card): void {
    li.dataset.status = card.status;
    const status = li.querySelector('.card-status')!;
    status.textContent = card.status === 'error' ? `Error: ${card.error ?? 'unknown'}` : STATUS_TEXT[card.status];
    const label = li.querySelector<HTMLElement>('.card-label')!;
    const prediction = card.status === 'done' ? this.predict(card) : undefined;
    const parts = [
      card.label && `label: ${card.label}`,
      card.prediction && `class: ${card.prediction.label} (${card.prediction.score.toFixed(2)})`,
      prediction && (prediction.label ? `≈ ${prediction.label} (${prediction.score.toFixed(2)})` : 'no gallery match'),
    ];
    li.dataset.predicted = card.prediction?.label ?? '';
    label.textContent = parts.filter(Boolean).join(' · ');
    li.setAttribute('aria-label', `${card.name}, ${status.textContent}${label.textContent ? `, ${label.textContent}` : ''}`);
  }

  private markSelected(card: Card | undefined): void {
    for (const [c, li] of this.items) {
      li.classList.toggle('selected', c === card);
      li.setAttribute('aria-selected', String(c === card));
    }
  }
}
