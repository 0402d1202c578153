/**
 * Small bitmaps of the map's images, decoded by the browser off the main thread (createImageBitmap with a
 * resize), once per image file, and only while the map is in its thumbnails mode (a few hundred images).
 */
import type { Card } from './session.ts';

const SIZE = 64;
const bitmaps = new WeakMap<Blob, ImageBitmap | null>();
const loading = new WeakSet<Blob>();

/** The bitmaps decoded so far (undefined where not yet); `onArrived` once after any new ones arrive. */
export function loadMapThumbnails(cards: readonly Card[], onArrived: () => void): (ImageBitmap | undefined)[] {
  let pending = 0;
  let arrived = false;
  for (const c of cards) {
    if (bitmaps.has(c.file) || loading.has(c.file)) continue;
    loading.add(c.file);
    pending++;
    createImageBitmap(c.file, { resizeWidth: SIZE, resizeQuality: 'medium' })
      .then(
        (b) => bitmaps.set(c.file, b),
        () => bitmaps.set(c.file, null),
      )
      .finally(() => {
        loading.delete(c.file);
        arrived = true;
        // One redraw per burst: the last of this call's decodes, or each tenth.
        if (--pending === 0 || pending % 10 === 0) {
          if (arrived) onArrived();
          arrived = false;
        }
      });
  }
  return cards.map((c) => bitmaps.get(c.file) ?? undefined);
}
