/** For the selected image: the k most similar other images of this visit, with their cosine scores. */
import { formatScore, h } from './dom.ts';
import type { Card, Session } from './session.ts';
import { safeCosine } from '../core/similarity.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

export function topK(query: Card, cards: readonly Card[], k: number): { card: Card; score: number }[] {
  return cards
    .filter((c) => c !== query && c.embedding)
    .map((card) => ({ card, score: safeCosine(query.embedding!, card.embedding!) }))
    .filter((m) => !Number.isNaN(m.score))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

export class TopKView {
  private readonly k = h('input', { type: 'number', min: 1, max: 50, value: 5, id: 'topk-k', class: 'narrow' });
  private readonly list = h('ol', { class: 'match-list', 'data-testid': 'topk-list' });
  private readonly empty = h('p', { class: 'hint' });

  constructor(
    private readonly root: HTMLElement,
    private readonly session: Session,
    private readonly thumbs: ThumbnailUrls,
  ) {
    root.append(
      h(
        'div',
        { class: 'row' },
        h('h3', { text: 'Most similar images' }),
        h('label', { for: 'topk-k', text: 'k' }),
        this.k,
      ),
      this.empty,
      this.list,
    );
    this.show(undefined); // nothing is selected yet: no empty heading and k field at start
    this.k.addEventListener('input', () => this.show(this.session.selected));
    this.list.addEventListener('click', (e) => {
      const li = (e.target as HTMLElement).closest<HTMLElement>('[data-index]');
      const card = li && this.session.card(Number(li.dataset.index));
      if (card) this.session.select(card);
    });
  }

  show(card: Card | undefined): void {
    this.root.hidden = !card;
    const k = Math.max(1, Math.min(50, Math.round(Number(this.k.value)) || 5));
    const matches = card?.embedding ? topK(card, this.session.done(), k) : [];
    this.empty.textContent = !card?.embedding ? '' : matches.length === 0 ? 'No other embedded image yet.' : '';
    this.list.replaceChildren(
      ...matches.map((m) =>
        h(
          'li',
          { 'data-index': m.card.index, 'data-score': m.score.toFixed(6) },
          h(
            'button',
            {
              type: 'button',
              class: 'match',
              'aria-label': `${m.card.name}, similarity ${formatScore(m.score)}; select it`,
            },
            h('img', { src: this.thumbs.get(m.card.file), alt: '', loading: 'lazy' }),
            h('span', { class: 'match-name', text: m.card.name }),
            h('span', { class: 'match-score', text: formatScore(m.score) }),
          ),
        ),
      ),
    );
  }
}
