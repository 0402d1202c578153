/**
 * One near-duplicate group as the duplicates view shows it: its members side by side, each with "keep this one",
 * and "remove the others" once one is kept.
 */
import { formatScore, h } from './dom.ts';
import { decision, type DuplicateGroupChoice } from './duplicates-export.ts';
import type { Card } from './session.ts';
import type { ThumbnailUrls } from './thumbnails.ts';

/** A group found now: its choice, and its members as cards in drop order. */
export type ShownGroup = DuplicateGroupChoice & { readonly cards: readonly Card[] };

/**
 * A group linked through a chain (A~B~C with A and C under the threshold): some of its members are not copies
 * of each other, so no member is kept for it in bulk.
 */
export const isChain = (g: ShownGroup, threshold: number) => g.minScore < threshold;

export function groupElement(
  g: ShownGroup,
  i: number,
  thumbs: ThumbnailUrls,
  threshold: number,
  /** galleryHolders() of the page's cards. */
  holders: ReadonlyMap<string, number>,
): HTMLElement {
  const score =
    g.minScore === g.maxScore ? formatScore(g.minScore) : `${formatScore(g.minScore)} to ${formatScore(g.maxScore)}`;
  const chain = isChain(g, threshold)
    ? `: a chain (some pairs under ${threshold}), so not all copies of each other; look before removing `
    : ' ';
  return h(
    'li',
    {
      class: 'duplicate-group',
      'data-testid': 'duplicate-group',
      'data-min-score': g.minScore,
      'data-max-score': g.maxScore,
      'data-chain': String(isChain(g, threshold)),
    },
    h(
      'p',
      { class: 'hint' },
      `${g.names.length} images, cosine ${score}${chain}`,
      g.keep === undefined ? '' : removeButton(g, i, holders),
    ),
    h(
      'div',
      { class: 'duplicate-members' },
      ...g.cards.map((c, m) => {
        const d = decision(g, m);
        return h(
          'figure',
          { 'data-name': c.name, 'data-decision': d, class: d ? `member ${d}` : 'member' },
          h('img', { src: thumbs.get(c.file), alt: '', loading: 'lazy', decoding: 'async' }),
          h('figcaption', { title: c.name, text: c.name }),
          h('button', {
            type: 'button',
            class: 'link',
            'data-group': i,
            'data-keep': m,
            text: d === 'keep' ? 'kept (undo)' : d === 'remove' ? 'to remove: keep this instead' : 'keep this one',
          }),
        );
      }),
    ),
  );
}

function removeButton(g: ShownGroup, i: number, holders: ReadonlyMap<string, number>): HTMLElement {
  const others = g.cards.filter((_, m) => m !== g.keep);
  const inGallery = galleryEntriesLeaving(others, holders).length;
  return h('button', {
    type: 'button',
    'data-remove': i,
    'data-testid': 'duplicate-remove',
    text:
      `Remove the other${others.length === 1 ? '' : ` ${others.length}`}` +
      (inGallery === 0
        ? ''
        : others.length === 1
          ? ' (and its gallery entry)'
          : ` (and ${inGallery} gallery entr${inGallery === 1 ? 'y' : 'ies'})`),
  });
}

/** How many of `cards` hold each gallery entry (a byte copy shares the entry of the image it copies). */
export function galleryHolders(cards: readonly Card[]): Map<string, number> {
  const holders = new Map<string, number>();
  for (const c of cards) if (c.galleryId) holders.set(c.galleryId, (holders.get(c.galleryId) ?? 0) + 1);
  return holders;
}

/**
 * The gallery entries that leave with `leaving`: theirs that no other card holds (`holders` counts every card
 * on the page, `leaving` included). The page removes exactly these; the buttons count them.
 */
export function galleryEntriesLeaving(leaving: readonly Card[], holders: ReadonlyMap<string, number>): string[] {
  return [...galleryHolders(leaving)].filter(([id, n]) => holders.get(id) === n).map(([id]) => id);
}

/** A group's identity across searches: its cards. */
export const membersKey = (cards: readonly Card[]) => cards.map((c) => c.index).join(' ');
