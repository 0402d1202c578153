/**
 * The bar under the embedding map while a lasso holds images: how many, a label for all of them, and (on the
 * page) whether they go into the gallery as well. A label given here is each card's own label, so it feeds
 * fine-tuning like a folder name does.
 */
import { h } from './dom.ts';

export class MapSelectionBar {
  readonly element: HTMLElement;
  private readonly count = h('span', { 'data-testid': 'map-selected-count' });
  private readonly label = h('input', {
    id: 'map-label',
    placeholder: 'label',
    'data-testid': 'map-label',
    title: 'The label every selected image gets',
  });
  private readonly toGallery = h('input', { type: 'checkbox', checked: true, 'data-testid': 'map-to-gallery' });

  constructor(gallery: boolean, actions: { apply(label: string, toGallery: boolean): void; clear(): void }) {
    const apply = h('button', { type: 'button', text: 'Label them', 'data-testid': 'map-apply-label' });
    const clear = h('button', { type: 'button', class: 'link', text: 'clear the selection' });
    const go = () => {
      const label = this.label.value.trim();
      if (!label) return this.label.focus();
      actions.apply(label, gallery && this.toGallery.checked);
      this.label.value = '';
    };
    apply.addEventListener('click', go);
    this.label.addEventListener('keydown', (e) => e.key === 'Enter' && go());
    clear.addEventListener('click', () => actions.clear());
    this.element = h(
      'div',
      { class: 'row map-selection', 'data-testid': 'map-selection', hidden: true },
      this.count,
      h('label', { for: 'map-label', text: 'Label' }),
      this.label,
      gallery ? h('label', {}, this.toGallery, ' and add them to the gallery') : null,
      apply,
      clear,
    );
  }

  show(selected: number): void {
    this.element.hidden = selected === 0;
    this.count.textContent = `${selected} image${selected === 1 ? '' : 's'} selected.`;
  }
}
