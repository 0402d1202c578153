/**
 * The selected image as a gallery query: its top matches with scores and, when the best score passes the
 * threshold, its label (PP-ShiTu's recognition step). Also where one image is added to the gallery.
 */
import { formatScore, h } from './dom.ts';
import { labelOrStem } from '../core/labels.ts';
import type { GalleryView } from './gallery-view.ts';
import type { Card } from './session.ts';

/** The file's own name: its folder is the label, already shown. */
const fileName = (name: string) => name.slice(name.lastIndexOf('/') + 1);

export class QueryView {
  private readonly verdict = h('p', { class: 'verdict', 'data-testid': 'query-label', role: 'status' });
  private readonly list = h('ol', { class: 'match-list', 'data-testid': 'gallery-matches' });
  private readonly label = h('input', {
    id: 'add-label',
    placeholder: 'label',
    'data-testid': 'add-label',
    title: "This image's label: for the gallery and for fine-tuning",
  });
  private readonly add = h('button', { type: 'button', text: 'Add to gallery', 'data-testid': 'add-to-gallery' });
  private current: Card | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly gallery: GalleryView,
    private readonly onLabel: (card: Card, label: string) => void,
  ) {
    root.append(
      h('h3', { text: 'Gallery search' }),
      this.verdict,
      this.list,
      h('div', { class: 'row' }, h('label', { for: 'add-label', text: 'Label' }), this.label, this.add),
    );
    // The label is the card's: it also feeds fine-tuning.
    this.label.addEventListener('change', () => this.current && this.onLabel(this.current, this.label.value.trim()));
    this.add.addEventListener('click', () => {
      const card = this.current;
      if (!card?.embedding) return;
      const label = this.label.value.trim();
      if (!label) {
        this.verdict.textContent = 'Type a label first: the gallery recognises images by their labels.';
        this.label.focus();
        return;
      }
      if (card.label !== label) this.onLabel(card, label);
      void this.gallery.add([card], () => label);
    });
  }

  show(card: Card | undefined): void {
    this.current = card;
    this.root.hidden = !card;
    this.add.disabled = !card?.embedding;
    const result = card?.embedding && this.gallery.search(card.embedding, 5, card.galleryId);
    // The box holds a label the person gave, else what the gallery recognised; never a file name, which one
    // click would turn into a wrong label.
    if (card && document.activeElement !== this.label) this.label.value = card.label || result?.label || '';
    this.label.placeholder = card && !card.label && !result?.label ? `label (e.g. ${labelOrStem(card)})` : 'label';
    if (!card?.embedding) {
      this.verdict.textContent = '';
      this.list.replaceChildren();
      return;
    }
    if (!result) {
      this.verdict.dataset.label = '';
      this.verdict.textContent = card.galleryId
        ? 'This image is the only one in the gallery: add other labelled images to recognise it against.'
        : 'The gallery is empty (for this model): add labelled images to recognise this one.';
      this.list.replaceChildren();
      return;
    }
    this.verdict.dataset.label = result.label ?? '';
    const self = card.galleryId ? ' Its own gallery entry is left out.' : '';
    this.verdict.textContent =
      (result.label
        ? `Recognised as “${result.label}” (score ${formatScore(result.score!)}).`
        : `Unknown: the best score ${formatScore(result.score!)} is below the threshold ${this.gallery.threshold}.`) +
      self;
    this.list.replaceChildren(
      ...result.matches.map((m) => {
        const item = this.gallery.item(m.id);
        return h(
          'li',
          { 'data-label': m.label, 'data-name': item?.name ?? '', 'data-score': m.score.toFixed(6) },
          h(
            'span',
            { class: 'match' },
            item?.thumbnail ? h('img', { src: item.thumbnail, alt: '' }) : null,
            h('span', {
              class: 'match-name',
              title: item?.name ?? '',
              text: `${m.label} · ${fileName(item?.name ?? '')}`,
            }),
            h('span', { class: 'match-score', text: formatScore(m.score) }),
          ),
        );
      }),
    );
  }
}
