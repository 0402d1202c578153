/**
 * The gallery's count line and list on the page. The list: searchable entries first, by label, then the ones made with another
 * model. A gallery of 50k entries lists its first LIST_LIMIT in that order (found in one pass, without
 * sorting them all) and the count line says how many more there are; thumbnails are read from storage only
 * for the entries listed.
 */
import { h } from './dom.ts';
import type { GalleryEntries, GalleryEntry } from './gallery-entries.ts';

/** Entries listed at most: a list of thousands of thumbnails helps no one and costs a long task to build. */
export const LIST_LIMIT = 500;

const collator = new Intl.Collator();

/** The first `n` items in `compare` order, in one pass (insertion into a short sorted array). */
export function firstInOrder<T>(items: Iterable<T>, n: number, compare: (a: T, b: T) => number): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length === n && compare(item, out[n - 1]!) >= 0) continue;
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(item, out[mid]!) < 0) hi = mid;
      else lo = mid + 1;
    }
    out.splice(lo, 0, item);
    if (out.length > n) out.pop();
  }
  return out;
}

export function listOrder(modelId: string): (a: GalleryEntry, b: GalleryEntry) => number {
  return (a, b) =>
    Number(a.modelId !== modelId) - Number(b.modelId !== modelId) ||
    collator.compare(a.label, b.label) ||
    a.addedAt - b.addedAt;
}

export function listItem(g: GalleryEntry, modelId: string, thumbnail: string | undefined): HTMLLIElement {
  const current = g.modelId === modelId;
  return h(
    'li',
    {
      'data-testid': 'gallery-item',
      'data-label': g.label,
      'data-name': g.name,
      'data-current': String(current),
      class: current ? '' : 'foreign',
    },
    thumbnail ? h('img', { src: thumbnail, alt: '' }) : h('span', { class: 'no-thumb', text: '?' }),
    h('input', { value: g.label, 'data-relabel': g.id, 'aria-label': `Label of ${g.name}` }),
    h('span', {
      class: 'match-name',
      title: current ? g.name : `${g.name}: made with ${g.modelId}`,
      text: g.name.slice(g.name.lastIndexOf('/') + 1),
    }),
    h('button', { type: 'button', 'data-remove': g.id, 'aria-label': `Remove ${g.name} from the gallery`, text: '×' }),
  );
}

/** The count line: entries, labels, storage, how search runs, and what is not searchable. */
export function gallerySummary(
  entries: GalleryEntries,
  modelId: string,
  reembedding: { readonly done: number; readonly total: number } | undefined,
): string {
  const n = entries.size;
  if (n === 0)
    return 'No gallery yet: tick "add to gallery" before dropping a folder (one subfolder per label), or add the selected image.';
  const labels = new Set<string>();
  let bytes = 0;
  let unsearchable = 0;
  for (const g of entries.values()) {
    labels.add(g.label);
    bytes += g.imageBytes;
    if (g.modelId !== modelId && g.imageBytes === 0) unsearchable++;
  }
  const stats = entries.index.stats(modelId);
  const parts = [
    `${n} images, ${labels.size} labels; ${(bytes / 2 ** 20).toFixed(1)} MiB of images kept in this browser to embed them again when the model changes.`,
    stats?.approximate
      ? `Searched through an approximate index (${stats.nlist} lists, ${stats.nprobe} probed per query).`
      : '',
    reembedding ? `Embedding the gallery with this model: ${reembedding.done} of ${reembedding.total}…` : '',
    unsearchable
      ? `${unsearchable} came from a gallery file made with another model: not searched (no image to embed again).`
      : '',
    n > LIST_LIMIT ? `The list shows the first ${LIST_LIMIT}.` : '',
  ];
  return parts.filter(Boolean).join(' ');
}
