/**
 * The cards: one per image, in drop order, each with its thumbnail, its file name and one line of verdict:
 * the given label as a tag, the gallery's or the classifier's label with its score, a check mark when the
 * two agree. Keyboard: every card is a button-like element (Tab, Enter / Space selects).
 * Test hooks: data-testid="image-card", data-status, data-name, data-index, data-predicted (the classifier's
 * label), data-match (the gallery's label, '' below the threshold).
 */
import { h } from './dom.ts';
import type { Card, Session } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

const RENDER_SLICE = 50;
const STATUS_TEXT = { queued: 'Queued', embedding: 'Embedding…', done: 'Done', error: 'Error' } as const;
/**
 * The end of a file name kept whole when the card is too narrow: from its last number ("ima…0012.jpg" still
 * says which image) when that is at most NAME_TAIL_MAX characters from the end, else the last NAME_TAIL.
 */
const NAME_TAIL = 10;
const NAME_TAIL_MAX = 14;
/** How much of the selected image's panel a pick brings into view when it is off screen (a phone's one column). */
const REVEAL_SHARE = 0.45;

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
      else if (e.type === 'removed') {
        for (const c of e.cards) {
          this.items.get(c)?.remove();
          this.items.delete(c);
        }
      } else if (e.type === 'cleared') {
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
    // A card removed before its slice's turn is not drawn.
    const slice = cards.slice(0, RENDER_SLICE).filter((c) => this.session.has(c));
    this.list.append(...slice.map((c) => this.render(c)));
    if (cards.length > RENDER_SLICE) setTimeout(() => this.append(cards.slice(RENDER_SLICE), generation), 0);
  }

  private pick(target: EventTarget | null): void {
    const li = (target as HTMLElement | null)?.closest<HTMLLIElement>('[data-testid="image-card"]');
    if (!li) return;
    const card = this.session.card(Number(li.dataset.index));
    if (!card) return;
    this.session.select(card);
    this.reveal();
  }

  /**
   * The list's aria-controls names the panel that shows the selection. Where that panel is off screen (one
   * column: it sits below the grid) the page scrolls just enough to show its top, so the grid stays above.
   * Side by side (sticky) it is already in view and nothing moves.
   */
  private reveal(): void {
    const id = this.list.getAttribute('aria-controls');
    const root = this.list.getRootNode() as Document | ShadowRoot;
    const panel = id ? root.getElementById(id) : null;
    if (!panel) return;
    const box = panel.getBoundingClientRect();
    const view = window.innerHeight;
    const want = Math.min(box.height, view * REVEAL_SHARE);
    if (box.top >= 0 && box.top + want <= view) return;
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    window.scrollBy({ top: box.top < 0 ? box.top : box.top + want - view, behavior: smooth ? 'smooth' : 'auto' });
  }

  private render(card: Card): HTMLLIElement {
    const li = h(
      'li',
      {
        'data-testid': 'image-card',
        'data-index': card.index,
        'data-name': card.name,
        tabindex: 0,
        class: 'card',
        'aria-selected': 'false',
      },
      h('img', {
        src: this.thumbs.get(card.file),
        alt: '',
        loading: 'lazy',
        decoding: 'async',
        width: 120,
        height: 120,
      }),
      cardName(card.name),
      h('span', { class: 'card-label' }),
      h('span', { class: 'card-status', role: 'status' }),
    );
    // A file the browser cannot show: keep the card (its error says why), without a broken-image icon.
    li.querySelector('img')!.addEventListener('error', (e) => (e.target as HTMLElement).classList.add('broken'), {
      once: true,
    });
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
    const match = card.status === 'done' ? this.predict(card) : undefined;
    li.dataset.predicted = card.prediction?.label ?? '';
    li.dataset.match = match?.label ?? '';
    const verdict = cardVerdict(card.label, [
      ...(card.prediction ? [{ source: 'class' as const, ...card.prediction }] : []),
      ...(match ? [{ source: 'gallery' as const, label: match.label, score: match.score }] : []),
    ]);
    li.querySelector('.card-label')!.replaceChildren(...verdict.nodes);
    const name = li.querySelector<HTMLElement>('.card-name')!;
    name.querySelector<HTMLElement>('.card-folder')!.hidden = name.dataset.folder === card.label;
    li.setAttribute('aria-label', [card.name, status.textContent, ...verdict.spoken].join(', '));
  }

  private markSelected(card: Card | undefined): void {
    for (const [c, li] of this.items) {
      li.classList.toggle('selected', c === card);
      li.setAttribute('aria-selected', String(c === card));
    }
  }
}

/**
 * The name as folder (only where it is not the label, which the tag shows) and file name; the file name's
 * last characters never shrink, so a narrow card cuts "margherita_pizza/image_…" in the middle, not the end.
 */
function cardName(name: string): HTMLElement {
  const slash = name.lastIndexOf('/');
  const file = name.slice(slash + 1);
  const number = /\d+(?=\D*$)/.exec(file);
  const cut =
    number && file.length - number.index <= NAME_TAIL_MAX ? number.index : Math.max(0, file.length - NAME_TAIL);
  return h(
    'span',
    { class: 'card-name', title: name, 'data-folder': name.slice(0, Math.max(0, slash)) },
    h('span', { class: 'card-folder', text: name.slice(0, slash + 1) }),
    h(
      'span',
      { class: 'card-file' },
      h('span', { class: 'name-head', text: file.slice(0, cut) }),
      h('span', { class: 'name-tail', text: file.slice(cut) }),
    ),
  );
}

interface Guess {
  readonly source: 'class' | 'gallery';
  /** undefined: the gallery's best match is under the threshold. */
  readonly label: string | undefined;
  readonly score: number;
}

const SOURCE = { class: "the model's class", gallery: "the gallery's best match" } as const;

/**
 * One line: the given label as a tag; each guess as "≈ label 0.62", or, when it is the given label, the tag
 * itself with a check mark and the score (said once, not three times). `spoken` is the same for the card's
 * aria-label, with words for the symbols.
 */
export function cardVerdict(given: string, guesses: readonly Guess[]): { nodes: HTMLElement[]; spoken: string[] } {
  const agree = guesses.filter((g) => given && g.label === given);
  // Said once: a guess the given label or an earlier guess already says is left out.
  const other = guesses.filter((g, i) => !agree.includes(g) && !guesses.slice(0, i).some((e) => e.label === g.label));
  const nodes: HTMLElement[] = [];
  const spoken: string[] = [];
  const score = (g: Guess) => h('span', { class: 'card-score', text: g.score.toFixed(2) });
  if (given) {
    const best = agree[0];
    const tag = h('span', {
      class: `card-tag${best ? ' agree' : ''}`,
      title: best
        ? `the given label; ${agree.map((g) => SOURCE[g.source]).join(' and ')} agree${agree.length > 1 ? '' : 's'}`
        : 'the given label',
    });
    tag.append(best ? '✓ ' : '', given);
    nodes.push(tag);
    if (best) nodes.push(score(best));
    spoken.push(
      best ? `label ${given}, confirmed by ${SOURCE[best.source]} (${best.score.toFixed(2)})` : `label ${given}`,
    );
  }
  for (const g of other) {
    if (g.label === undefined) {
      nodes.push(
        h('span', { class: 'card-guess none', title: `${SOURCE[g.source]} is under the threshold`, text: 'no match' }),
      );
      spoken.push(`no gallery match above the threshold`);
    } else {
      const guess = h(
        'span',
        { class: `card-guess${given ? ' differs' : ''}`, title: SOURCE[g.source] },
        `≈ ${g.label} `,
        score(g),
      );
      nodes.push(guess);
      spoken.push(`${SOURCE[g.source]}: ${g.label} (${g.score.toFixed(2)})`);
    }
  }
  return { nodes, spoken };
}
