/** Registers <shitu-embedder>. Safe to call any number of times. */
import type { ShituEventMap } from './events.ts';
import { ShituEmbedderElement } from './shitu-embedder.component.ts';

export const TAG_NAME = 'shitu-embedder';

export function defineShituEmbedder(tagName = TAG_NAME): void {
  if (!customElements.get(tagName)) customElements.define(tagName, ShituEmbedderElement);
}

declare global {
  interface HTMLElementTagNameMap {
    'shitu-embedder': ShituEmbedderElement;
  }
  // Declaration merging needs an interface; it adds the element's events to every element's event map.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface HTMLElementEventMap extends ShituEventMap {}
}
